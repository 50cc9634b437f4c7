#include "core/data/photographic_distortions.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/data/distortion_ops.h"
#include "core/data/distortions.h"

namespace dqa::data {

using namespace ops;

namespace photographic {
namespace {

// One channel scaled by `factor` about the image centre (bilinear, reflected borders).
Mat magnified(const Mat& channel, double factor) {
  const cv::Point2f centre((channel.cols - 1) / 2.0f, (channel.rows - 1) / 2.0f);
  const Mat m = cv::getRotationMatrix2D(centre, 0.0, factor);
  Mat out;
  cv::warpAffine(channel, out, m, channel.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  return out;
}

// RGGB: which channel the sensor sampled at (x, y).
int bayerChannel(int x, int y) { return (y % 2 == 0) ? (x % 2 == 0 ? 0 : 1) : (x % 2 == 0 ? 1 : 2); }

}  // namespace

Mat lateralChromaticAberration(const Mat& rgb8, double shift) {
  std::vector<Mat> ch;
  cv::split(toFloat(rgb8), ch);
  const double cornerRadius = 0.5 * std::hypot(double(rgb8.cols), double(rgb8.rows));
  const double k = shift / std::max(cornerRadius, 1.0);
  ch[0] = magnified(ch[0], 1.0 + k);
  ch[2] = magnified(ch[2], 1.0 - k);
  Mat f;
  cv::merge(ch, f);
  return toU8(clip01(f));
}

Mat demosaicedSensorNoise(const Mat& rgb8, double var, cv::RNG& rng) {
  const Mat f = toFloat(rgb8);
  // The mosaic's noise: each site one channel, variance by that channel's signal.
  std::vector<Mat> sparse(3);
  for (auto& s : sparse) s = Mat::zeros(f.size(), CV_32F);
  double power = 0;
  for (int y = 0; y < f.rows; ++y) {
    const cv::Vec3f* px = f.ptr<cv::Vec3f>(y);
    for (int x = 0; x < f.cols; ++x) {
      const int c = bayerChannel(x, y);
      const double v = std::max(var, 0.0) * (0.2 + 1.6 * px[x][c]);
      const double n = rng.gaussian(std::sqrt(v));
      sparse[c].at<float>(y, x) = float(n);
      power += n * n;
    }
  }
  // Bilinear demosaicing of the noise alone (demosaicing is linear: the clean image's own
  // interpolation is not part of the distortion).
  const Mat green = (cv::Mat_<float>(3, 3) << 0, 0.25f, 0, 0.25f, 1, 0.25f, 0, 0.25f, 0);
  const Mat redBlue = (cv::Mat_<float>(3, 3) << 0.25f, 0.5f, 0.25f, 0.5f, 1, 0.5f, 0.25f, 0.5f, 0.25f);
  std::vector<Mat> noise(3);
  for (int c = 0; c < 3; ++c)
    cv::filter2D(sparse[c], noise[c], CV_32F, c == 1 ? green : redBlue, {-1, -1}, 0, cv::BORDER_REFLECT_101);
  Mat field;
  cv::merge(noise, field);
  // Interpolated sites are averages (lower variance): back to the mosaic's power.
  const double fieldPower = field.dot(field) / 3.0;
  if (fieldPower > 0) field *= std::sqrt(power / fieldPower);
  return toU8(clip01(f + field));
}

Mat chromaBlotches(const Mat& rgb8, double var, cv::RNG& rng) {
  Mat ycc;
  cv::cvtColor(toFloat(rgb8), ycc, cv::COLOR_RGB2YCrCb);
  std::vector<Mat> ch;
  cv::split(ycc, ch);
  const double sd = std::sqrt(1.5 * std::max(var, 0.0));  // Y's share moved into Cr and Cb
  for (int c = 1; c < 3; ++c) ch[c] += correlatedNoise(rgb8.size(), 1, sd, 2.0, rng);
  cv::merge(ch, ycc);
  Mat f;
  cv::cvtColor(ycc, f, cv::COLOR_YCrCb2RGB);
  return toU8(clip01(f));
}

Mat nonLocalMeansSmearing(const Mat& rgb8, double var, cv::RNG& rng) {
  const double sd = std::sqrt(std::max(var, 0.0));
  const Mat noisy = toU8(clip01(toFloat(rgb8) + gaussianNoise(rgb8.size(), 3, sd, rng)));
  const float h = float(std::min(255.0, 0.9 * sd * 255.0));
  Mat out;
  cv::fastNlMeansDenoisingColored(noisy, out, h, h, 7, 21);
  return out;
}

Mat wideHalos(const Mat& rgb8, double amount) {
  Mat lab, blurred;
  cv::cvtColor(toFloat(rgb8), lab, cv::COLOR_RGB2Lab);
  std::vector<Mat> ch;
  cv::split(lab, ch);
  cv::GaussianBlur(ch[0], blurred, {0, 0}, 3.0, 3.0, cv::BORDER_REFLECT);
  ch[0] = ch[0] + 0.5 * amount * (ch[0] - blurred);
  cv::max(ch[0], 0.0, ch[0]);
  cv::min(ch[0], 100.0, ch[0]);
  cv::merge(ch, lab);
  Mat f;
  cv::cvtColor(lab, f, cv::COLOR_Lab2RGB);
  return toU8(clip01(f));
}

}  // namespace photographic

namespace {

// The one list of photographic variants: each type's (one) variant, its name and maker.
struct PhotographicVariant {
  int type;
  const char* name;
  Mat (*apply)(const Mat& rgb8, double p, cv::RNG& rng);
};

const PhotographicVariant kPhotographicVariants[] = {
    {5, "lateral_chromatic_aberration",
     [](const Mat& rgb8, double p, cv::RNG&) { return photographic::lateralChromaticAberration(rgb8, p); }},
    {11, "demosaiced_sensor_noise", photographic::demosaicedSensorNoise},
    {12, "chroma_blotches", photographic::chromaBlotches},
    {15, "nonlocal_means_smearing", photographic::nonLocalMeansSmearing},
    {24, "wide_halos", [](const Mat& rgb8, double p, cv::RNG&) { return photographic::wideHalos(rgb8, p); }},
};

const PhotographicVariant* photographicVariantOf(int type) {
  for (const auto& v : kPhotographicVariants)
    if (v.type == type) return &v;
  return nullptr;
}

}  // namespace

int photographicVariantCount(int type) { return photographicVariantOf(type) ? 1 : 0; }

const char* photographicVariantName(int type) {
  const PhotographicVariant* v = photographicVariantOf(type);
  return v ? v->name : "";
}

Mat applyPhotographicVariant(const Mat& rgb8, int type, double p, cv::RNG& rng) {
  const PhotographicVariant* v = photographicVariantOf(type);
  return v ? v->apply(rgb8, p, rng) : rgb8.clone();
}

}  // namespace dqa::data
