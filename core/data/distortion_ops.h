#pragma once
// Internal to core/data: the building blocks of the 25 distortion types
// (distortions.cpp): float/8-bit conversion, blur kernels, colour helpers, codec round
// trips and a wavelet codec, noise fields, tone curves, colour palettes. All take and
// return cv::Mat; "rgb8" is CV_8UC3, "f" CV_32FC3 in [0, 1].
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace dqa::data::ops {

using Mat = cv::Mat;

Mat toFloat(const Mat& rgb8);  // CV_8UC3 -> CV_32FC3 in [0, 1]
Mat toU8(const Mat& f);        // rounded and saturated back to CV_8UC3
Mat clip01(Mat f);
int oddAtLeast(double v);

// ---------------------------------------------------------------- kernels (blur)
Mat filterWith(const Mat& rgb8, const Mat& kernel);
// Antialiased aperture kernels: coverage by 4x4 supersampling.
Mat apertureKernel(double radius, int shape, double rotation);
Mat motionKernel(double length, int variant, cv::RNG& rng);

// ---------------------------------------------------------------- colour helpers
Mat gaussianChannelBlur(const Mat& ch, double sigma, bool box);
// Saturation scale around a per-pixel grey value: c' = g + s (c - g).
Mat scaleAroundGrey(const Mat& f, double s, int greyKind);

// ---------------------------------------------------------------- codecs
Mat codecRoundTrip(const Mat& rgb8, const std::string& ext, const std::vector<int>& params);
// Our own JPEG2000-like codec (CDF 5/3 wavelet on YCrCb), for when OpenCV has none.
Mat waveletCompress(const Mat& rgb8, double ratio);

// ---------------------------------------------------------------- noise
Mat gaussianNoise(cv::Size size, int channels, double sd, cv::RNG& rng);
Mat correlatedNoise(cv::Size size, int channels, double sd, double sigma, cv::RNG& rng);
Mat expandToChannels(const Mat& single);

// ---------------------------------------------------------------- tone curves
Mat applyLut(const Mat& rgb8, const std::vector<double>& curve01);
// Applies a curve on a luminance-like channel and keeps hue: HSV V (scale RGB by V'/V)
// or Lab L.
Mat curveOnValue(const Mat& rgb8, const std::vector<double>& curve01, bool lab);
std::vector<double> gammaCurve(double gamma);
// Monotone cubic (Fritsch-Carlson) through the given knots, sampled at 256 points.
std::vector<double> pchipCurve(const std::vector<double>& xs, const std::vector<double>& ys);

// ---------------------------------------------------------------- colour quantisation
struct Palette {
  std::vector<cv::Vec3f> colors;
};
Palette kmeansPalette(const Mat& f, int k, cv::RNG& rng);
Mat mapToPalette(const Mat& f, const Palette& pal, double ditherAmp);

}  // namespace dqa::data::ops
