#include "core/data/distortions.h"

#include "core/data/distortion_ops.h"
#include "core/data/photographic_distortions.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace dqa::data {

namespace {

constexpr double kKadidArea = 512.0 * 384.0;  // KADID-10k images are 512x384

using Mat = cv::Mat;
using namespace ops;

// ---------------------------------------------------------------- the 25 types

Mat gaussianBlur(const Mat& img, double sigma, int variant, cv::RNG& rng) {
  if (sigma < 0.05) return img.clone();
  Mat out;
  if (variant == 1 && sigma >= 0.6) {
    // Three box passes approximate a Gaussian of the same variance.
    double perPass = sigma * sigma / 3.0;
    int w = oddAtLeast(std::sqrt(12.0 * perPass + 1.0));
    out = img.clone();
    for (int i = 0; i < 3; ++i) cv::blur(out, out, {w, w}, {-1, -1}, cv::BORDER_REFLECT);
    return out;
  }
  if (variant == 2) {
    double a = rng.uniform(1.0, 1.4);
    double sx = sigma * a, sy = sigma / a;
    if (rng.uniform(0, 2)) std::swap(sx, sy);
    cv::GaussianBlur(img, out, {oddAtLeast(6 * sx), oddAtLeast(6 * sy)}, sx, sy, cv::BORDER_REFLECT);
    return out;
  }
  int ks = 2 * static_cast<int>(std::ceil(2 * sigma)) + 1;  // KADID's kernel support
  cv::GaussianBlur(img, out, {ks, ks}, sigma, sigma, cv::BORDER_REFLECT);
  return out;
}

Mat lensBlur(const Mat& img, double radius, int variant, cv::RNG& rng) {
  if (radius < 0.3) return img.clone();
  return filterWith(img, apertureKernel(radius, variant, rng.uniform(0.0, CV_PI / 3)));
}

Mat motionBlur(const Mat& img, double length, int variant, cv::RNG& rng) {
  if (length < 0.3) return img.clone();
  return filterWith(img, motionKernel(length, variant, rng));
}

Mat colorDiffusion(const Mat& img, double p, int variant) {
  double sigma = 1.5 * p + 2.0;
  Mat f = toFloat(img), c;
  cv::cvtColor(f, c, variant == 1 ? cv::COLOR_RGB2YCrCb : cv::COLOR_RGB2Lab);
  std::vector<Mat> ch;
  cv::split(c, ch);
  ch[1] = gaussianChannelBlur(ch[1], sigma, variant == 2);
  ch[2] = gaussianChannelBlur(ch[2], sigma, variant == 2);
  cv::merge(ch, c);
  cv::cvtColor(c, f, variant == 1 ? cv::COLOR_YCrCb2RGB : cv::COLOR_Lab2RGB);
  return toU8(clip01(f));
}

Mat colorShift(const Mat& img, double p, int variant, cv::RNG& rng) {
  Mat grey, gx, gy;
  cv::cvtColor(img, grey, cv::COLOR_RGB2GRAY);
  cv::Sobel(grey, gx, CV_32F, 1, 0);
  cv::Sobel(grey, gy, CV_32F, 0, 1);
  double sxx = gx.dot(gx), syy = gy.dot(gy), sxy = gx.dot(gy);
  double theta = 0.5 * std::atan2(2 * sxy, sxx - syy);  // dominant gradient direction
  double dx = p * std::cos(theta), dy = p * std::sin(theta);
  if (variant == 0) {
    dx = std::round(dx);
    dy = std::round(dy);
  }
  Mat M = (cv::Mat_<double>(2, 3) << 1, 0, dx, 0, 1, dy);
  if (variant == 2) {  // shift a chroma channel of Lab instead of an RGB primary
    Mat f = toFloat(img), lab;
    cv::cvtColor(f, lab, cv::COLOR_RGB2Lab);
    std::vector<Mat> ch;
    cv::split(lab, ch);
    int c = 1 + rng.uniform(0, 2);
    Mat moved;
    cv::warpAffine(ch[c], moved, M, ch[c].size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
    ch[c] = moved;
    cv::merge(ch, lab);
    cv::cvtColor(lab, f, cv::COLOR_Lab2RGB);
    return toU8(clip01(f));
  }
  std::vector<Mat> ch;
  cv::split(img, ch);
  int c = rng.uniform(0, 3);
  Mat moved;
  cv::warpAffine(ch[c], moved, M, ch[c].size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  ch[c] = moved;
  Mat out;
  cv::merge(ch, out);
  return out;
}

Mat colorQuantization(const Mat& img, double p, int variant, cv::RNG& rng) {
  int k = std::max(2, static_cast<int>(std::lround(p)));
  Mat f = toFloat(img);
  if (variant == 1) {
    // Uniform palette: n levels per channel with n^3 close to k.
    int n = std::max(2, static_cast<int>(std::lround(std::cbrt(double(k)))));
    Mat out;
    f.convertTo(out, CV_32FC3, n - 1);
    out.forEach<cv::Vec3f>([&](cv::Vec3f& v, const int*) {
      for (int i = 0; i < 3; ++i) v[i] = std::round(v[i]) / float(n - 1);
    });
    return toU8(out);
  }
  Palette pal = kmeansPalette(f, k, rng);
  double dither = variant == 2 ? 0.6 / std::cbrt(double(k)) : 0.0;
  return toU8(clip01(mapToPalette(f, pal, dither)));
}

Mat saturationHsv(const Mat& img, double p, int variant) {
  return toU8(scaleAroundGrey(toFloat(img), p, variant == 1 ? 1 : 0));
}

Mat saturationLab(const Mat& img, double p, int variant) {
  Mat f = toFloat(img);
  if (variant == 2) return toU8(scaleAroundGrey(f, p, 0));
  Mat c;
  cv::cvtColor(f, c, variant == 1 ? cv::COLOR_RGB2YCrCb : cv::COLOR_RGB2Lab);
  const float centre = variant == 1 ? 0.5f : 0.f;
  c.forEach<cv::Vec3f>([&](cv::Vec3f& v, const int*) {
    v[1] = centre + float(p) * (v[1] - centre);
    v[2] = centre + float(p) * (v[2] - centre);
  });
  cv::cvtColor(c, f, variant == 1 ? cv::COLOR_YCrCb2RGB : cv::COLOR_Lab2RGB);
  return toU8(clip01(f));
}

Mat jpeg2000(const Mat& img, double ratio, int variant) {
  // OpenJPEG needs about 64 px for its default number of resolutions.
  if (variant == 0 && jpeg2000Available() && std::min(img.rows, img.cols) >= 64) {
    int x1000 = std::clamp(static_cast<int>(std::lround(1000.0 / ratio)), 1, 1000);
    return codecRoundTrip(img, ".jp2", {cv::IMWRITE_JPEG2000_COMPRESSION_X1000, x1000});
  }
  return waveletCompress(img, ratio);
}

Mat jpeg(const Mat& img, double q, int variant) {
  int quality = std::clamp(static_cast<int>(std::lround(q)), 1, 100);
  if (variant == 1)  // stronger chroma compression than luma
    return codecRoundTrip(img, ".jpg",
                          {cv::IMWRITE_JPEG_QUALITY, quality, cv::IMWRITE_JPEG_LUMA_QUALITY, quality,
                           cv::IMWRITE_JPEG_CHROMA_QUALITY, std::max(1, quality / 2)});
  if (variant == 2) {  // WebP (lossy VP8 intra): a different block codec
    int wq = std::clamp(static_cast<int>(std::lround(q * 0.6)), 1, 100);
    return codecRoundTrip(img, ".webp", {cv::IMWRITE_WEBP_QUALITY, wq});
  }
  return codecRoundTrip(img, ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality});
}

Mat whiteNoise(const Mat& img, double var, int variant, cv::RNG& rng) {
  double sd = std::sqrt(std::max(var, 0.0));
  Mat f = toFloat(img), n;
  switch (variant) {
    case 1:
      n = expandToChannels(gaussianNoise(img.size(), 1, sd, rng));
      break;
    case 2:
      n = correlatedNoise(img.size(), 3, sd, 0.8, rng);
      break;
    case 3: {
      n = Mat(img.size(), CV_32FC3);
      double a = sd * std::sqrt(3.0);
      rng.fill(n, cv::RNG::UNIFORM, -a, a);
      break;
    }
    default:
      n = gaussianNoise(img.size(), 3, sd, rng);
  }
  return toU8(clip01(f + n));
}

Mat colorComponentNoise(const Mat& img, double var, int variant, cv::RNG& rng) {
  double sd = std::sqrt(std::max(var, 0.0));
  Mat f = toFloat(img), c;
  if (variant == 1) {
    // Lab: L in 0..100, a/b in about -100..100; same noise power relative to range.
    cv::cvtColor(f, c, cv::COLOR_RGB2Lab);
    Mat n = gaussianNoise(img.size(), 3, sd * 100.0, rng);
    c += n;
    cv::cvtColor(c, f, cv::COLOR_Lab2RGB);
    return toU8(clip01(f));
  }
  cv::cvtColor(f, c, cv::COLOR_RGB2YCrCb);
  Mat n = variant == 2 ? correlatedNoise(img.size(), 3, sd, 0.8, rng) : gaussianNoise(img.size(), 3, sd, rng);
  c += n;
  cv::cvtColor(c, f, cv::COLOR_YCrCb2RGB);
  return toU8(clip01(f));
}

Mat impulseNoise(const Mat& img, double density, int variant, cv::RNG& rng) {
  Mat out = img.clone();
  for (int y = 0; y < out.rows; ++y) {
    cv::Vec3b* p = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < out.cols; ++x) {
      if (variant == 0) {  // per element, as MATLAB's imnoise on an RGB array
        for (int c = 0; c < 3; ++c)
          if (rng.uniform(0.0, 1.0) < density) p[x][c] = rng.uniform(0, 2) ? 255 : 0;
      } else if (rng.uniform(0.0, 1.0) < density) {
        if (variant == 1) {
          uchar v = rng.uniform(0, 2) ? 255 : 0;
          p[x] = cv::Vec3b(v, v, v);
        } else {  // random-valued impulses
          p[x] = cv::Vec3b(uchar(rng.uniform(0, 256)), uchar(rng.uniform(0, 256)), uchar(rng.uniform(0, 256)));
        }
      }
    }
  }
  return out;
}

Mat multiplicativeNoise(const Mat& img, double var, int variant, cv::RNG& rng) {
  Mat f = toFloat(img), n;
  double sd = std::sqrt(std::max(var, 0.0));
  if (variant == 1) {
    n = gaussianNoise(img.size(), 3, sd, rng);
  } else if (variant == 2) {
    n = expandToChannels(gaussianNoise(img.size(), 1, sd, rng));
  } else {  // MATLAB speckle: uniform, zero mean, variance var
    n = Mat(img.size(), CV_32FC3);
    double a = sd * std::sqrt(3.0);
    rng.fill(n, cv::RNG::UNIFORM, -a, a);
  }
  return toU8(clip01(f + f.mul(n)));
}

Mat denoise(const Mat& img, double var, int variant, cv::RNG& rng) {
  double sd = std::sqrt(std::max(var, 0.0));
  Mat noisy = toU8(clip01(toFloat(img) + gaussianNoise(img.size(), 3, sd, rng)));
  Mat out;
  if (variant == 1) {
    cv::medianBlur(noisy, out, var >= 0.04 ? 5 : 3);
    cv::GaussianBlur(out, out, {3, 3}, 0.7, 0.7, cv::BORDER_REFLECT);
    return out;
  }
  if (variant == 2) {
    double sc = std::min(255.0, 2.5 * sd * 255.0);
    cv::bilateralFilter(noisy, out, 7, sc, 3.0, cv::BORDER_REFLECT);
    return out;
  }
  // Adaptive Wiener filter (as MATLAB's wiener2), 5x5 window, noise power known.
  Mat f = toFloat(noisy), mean, sq, var2;
  cv::blur(f, mean, {5, 5}, {-1, -1}, cv::BORDER_REFLECT);
  cv::blur(f.mul(f), sq, {5, 5}, {-1, -1}, cv::BORDER_REFLECT);
  var2 = sq - mean.mul(mean);
  Mat result(f.size(), CV_32FC3);
  const float nv = float(var);
  for (int y = 0; y < f.rows; ++y) {
    const cv::Vec3f* fp = f.ptr<cv::Vec3f>(y);
    const cv::Vec3f* mp = mean.ptr<cv::Vec3f>(y);
    const cv::Vec3f* vp = var2.ptr<cv::Vec3f>(y);
    cv::Vec3f* rp = result.ptr<cv::Vec3f>(y);
    for (int x = 0; x < f.cols; ++x)
      for (int c = 0; c < 3; ++c) {
        float v = std::max(vp[x][c], nv);
        rp[x][c] = mp[x][c] + (v - nv) / v * (fp[x][c] - mp[x][c]);
      }
  }
  return toU8(clip01(result));
}

Mat brightnessCurve(const Mat& img, double gamma, int variant) {
  auto curve = gammaCurve(gamma);
  if (variant == 1) return applyLut(img, curve);  // per RGB channel
  return curveOnValue(img, curve, variant == 2);
}

Mat meanShift(const Mat& img, double p, int variant) {
  if (variant == 1) {
    Mat f = toFloat(img), lab;
    cv::cvtColor(f, lab, cv::COLOR_RGB2Lab);
    lab.forEach<cv::Vec3f>([&](cv::Vec3f& v, const int*) { v[0] += float(100.0 * p); });
    cv::cvtColor(lab, f, cv::COLOR_Lab2RGB);
    return toU8(clip01(f));
  }
  Mat out;
  img.convertTo(out, CV_8UC3, 1.0, p * 255.0);
  return out;
}

Mat jitter(const Mat& img, double p, int variant, cv::RNG& rng) {
  const double maxDisp = 4.0 * p;  // pixels scattered by up to 4p px
  Mat mx(img.size(), CV_32F), my(img.size(), CV_32F);
  const int block = variant == 2 ? 2 : 1;
  for (int y = 0; y < img.rows; y += block)
    for (int x = 0; x < img.cols; x += block) {
      float dx, dy;
      if (variant == 1) {
        dx = float(rng.gaussian(maxDisp / 2));
        dy = float(rng.gaussian(maxDisp / 2));
      } else {
        dx = float(rng.uniform(-maxDisp, maxDisp));
        dy = float(rng.uniform(-maxDisp, maxDisp));
      }
      for (int by = y; by < std::min(y + block, img.rows); ++by)
        for (int bx = x; bx < std::min(x + block, img.cols); ++bx) {
          mx.at<float>(by, bx) = bx + dx;
          my.at<float>(by, bx) = by + dy;
        }
    }
  Mat out;
  cv::remap(img, out, mx, my, variant == 1 ? cv::INTER_LINEAR : cv::INTER_NEAREST, cv::BORDER_REFLECT);
  return out;
}

// Number of KADID-scale events (patches, blocks) for an image of this size: KADID's
// count is per 512x384 image; keep the density, at least one event.
int scaledCount(double p, cv::Size size, cv::RNG& rng) {
  double n = p * size.area() / kKadidArea;
  int whole = static_cast<int>(std::floor(n));
  if (rng.uniform(0.0, 1.0) < n - whole) ++whole;
  return std::max(1, whole);
}

Mat nonEccentricity(const Mat& img, double p, int variant, cv::RNG& rng) {
  Mat out = img.clone();
  int n = scaledCount(p, img.size(), rng);
  for (int i = 0; i < n; ++i) {
    int s = variant == 1 ? rng.uniform(8, 25) : 16;
    s = std::min({s, img.cols / 2, img.rows / 2});
    if (s < 2) break;
    int sx = rng.uniform(0, img.cols - s + 1), sy = rng.uniform(0, img.rows - s + 1);
    int dx, dy;
    do {
      dx = rng.uniform(-16, 17);
      dy = rng.uniform(-16, 17);
    } while (std::abs(dx) + std::abs(dy) < 4);
    int tx = std::clamp(sx + dx, 0, img.cols - s), ty = std::clamp(sy + dy, 0, img.rows - s);
    img(cv::Rect(sx, sy, s, s)).copyTo(out(cv::Rect(tx, ty, s, s)));
  }
  return out;
}

Mat pixelate(const Mat& img, double p, int variant, cv::RNG& rng) {
  double z = std::clamp(0.95 - std::pow(std::max(p, 0.0), 0.6), 0.02, 1.0);
  if (variant == 2) {  // block-average mosaic on a grid with a random phase
    int b = std::max(1, static_cast<int>(std::lround(1.0 / z)));
    if (b == 1) return img.clone();
    Mat out = img.clone();
    int ox = rng.uniform(0, b), oy = rng.uniform(0, b);
    for (int y = -oy; y < img.rows; y += b)
      for (int x = -ox; x < img.cols; x += b) {
        cv::Rect r = cv::Rect(x, y, b, b) & cv::Rect(0, 0, img.cols, img.rows);
        if (r.empty()) continue;
        out(r).setTo(cv::mean(img(r)));
      }
    return out;
  }
  cv::Size small(std::max(1, static_cast<int>(std::lround(img.cols * z))),
                 std::max(1, static_cast<int>(std::lround(img.rows * z))));
  Mat down, out;
  cv::resize(img, down, small, 0, 0, variant == 1 ? cv::INTER_NEAREST : cv::INTER_AREA);
  cv::resize(down, out, img.size(), 0, 0, cv::INTER_NEAREST);
  return out;
}

Mat quantization(const Mat& img, double p, int variant) {
  int levels = std::max(2, static_cast<int>(std::lround(p)));
  std::vector<double> thresholds;  // levels-1 thresholds on 0..255
  std::vector<double> values(levels);
  if (variant == 1) {
    for (int i = 1; i < levels; ++i) thresholds.push_back(255.0 * i / levels);
    for (int i = 0; i < levels; ++i) values[i] = 255.0 * (i + 0.5) / levels;
  } else {
    // Thresholds from the histogram of all channels: equal-population classes (a fast
    // stand-in for MATLAB's multithresh), each class mapped to its mean.
    std::vector<double> hist(256, 0);
    const uchar* d = img.ptr<uchar>(0);
    Mat cont = img.isContinuous() ? img : img.clone();
    d = cont.ptr<uchar>(0);
    for (size_t i = 0; i < cont.total() * 3; ++i) hist[d[i]] += 1;
    double total = cont.total() * 3.0, acc = 0;
    int next = 1;
    for (int v = 0; v < 256 && next < levels; ++v) {
      acc += hist[v];
      while (next < levels && acc >= total * next / levels) {
        thresholds.push_back(v + 0.5);
        ++next;
      }
    }
    while (static_cast<int>(thresholds.size()) < levels - 1) thresholds.push_back(255.5);
    for (int i = 0; i < levels; ++i) {
      double lo = i == 0 ? -1 : thresholds[i - 1], hi = i == levels - 1 ? 256 : thresholds[i];
      double s = 0, c = 0;
      for (int v = 0; v < 256; ++v)
        if (v > lo && v < hi) {
          s += v * hist[v];
          c += hist[v];
        }
      values[i] = c > 0 ? s / c : 0.5 * (std::max(lo, 0.0) + std::min(hi, 255.0));
    }
  }
  Mat lut(1, 256, CV_8U);
  for (int v = 0; v < 256; ++v) {
    int cls = 0;
    while (cls < levels - 1 && v > thresholds[cls]) ++cls;
    lut.at<uchar>(v) = cv::saturate_cast<uchar>(values[cls]);
  }
  Mat out;
  cv::LUT(img, lut, out);
  return out;
}

Mat colorBlock(const Mat& img, double p, int variant, cv::RNG& rng) {
  Mat out = img.clone();
  int n = scaledCount(p, img.size(), rng);
  for (int i = 0; i < n; ++i) {
    int s = variant == 1 ? rng.uniform(16, 41) : 32;
    s = std::min({s, img.cols / 2, img.rows / 2});
    if (s < 2) break;
    int x = rng.uniform(0, img.cols - s + 1), y = rng.uniform(0, img.rows - s + 1);
    cv::Scalar colour(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
    out(cv::Rect(x, y, s, s)).setTo(colour);
  }
  return out;
}

Mat highSharpen(const Mat& img, double amount, int variant) {
  Mat f = toFloat(img);
  if (variant == 0) {  // unsharp mask on Lab L, radius 1 (as MATLAB's imsharpen)
    Mat lab, blurred;
    cv::cvtColor(f, lab, cv::COLOR_RGB2Lab);
    std::vector<Mat> ch;
    cv::split(lab, ch);
    cv::GaussianBlur(ch[0], blurred, {5, 5}, 1.0, 1.0, cv::BORDER_REFLECT);
    ch[0] = ch[0] + amount * (ch[0] - blurred);
    cv::max(ch[0], 0.0, ch[0]);
    cv::min(ch[0], 100.0, ch[0]);
    cv::merge(ch, lab);
    cv::cvtColor(lab, f, cv::COLOR_Lab2RGB);
    return toU8(clip01(f));
  }
  Mat blurred;
  if (variant == 1)
    cv::GaussianBlur(f, blurred, {5, 5}, 1.0, 1.0, cv::BORDER_REFLECT);
  else
    cv::blur(f, blurred, {3, 3}, {-1, -1}, cv::BORDER_REFLECT);  // Laplacian-like
  return toU8(clip01(f + amount * (f - blurred)));
}

Mat contrastChange(const Mat& img, double p, int variant) {
  auto curve = pchipCurve({0.0, 0.25, 0.75, 1.0}, {0.0, 0.25 - p / 4, 0.75 + p / 4, 1.0});
  if (variant == 1) return curveOnValue(img, curve, true);
  return applyLut(img, curve);
}

Mat applyType(const Mat& img, int type, double p, int variant, cv::RNG& rng) {
  // The photographic variants are numbered after a type's KADID variants.
  if (variant >= typeInfo(type).numVariants) return applyPhotographicVariant(img, type, p, rng);
  switch (type) {
    case 1:
      return gaussianBlur(img, p, variant, rng);
    case 2:
      return lensBlur(img, p, variant, rng);
    case 3:
      return motionBlur(img, p, variant, rng);
    case 4:
      return colorDiffusion(img, p, variant);
    case 5:
      return colorShift(img, p, variant, rng);
    case 6:
      return colorQuantization(img, p, variant, rng);
    case 7:
      return saturationHsv(img, p, variant);
    case 8:
      return saturationLab(img, p, variant);
    case 9:
      return jpeg2000(img, p, variant);
    case 10:
      return jpeg(img, p, variant);
    case 11:
      return whiteNoise(img, p, variant, rng);
    case 12:
      return colorComponentNoise(img, p, variant, rng);
    case 13:
      return impulseNoise(img, p, variant, rng);
    case 14:
      return multiplicativeNoise(img, p, variant, rng);
    case 15:
      return denoise(img, p, variant, rng);
    case 16:
      return brightnessCurve(img, 1.0 / (1.0 + p), variant);
    case 17:
      return brightnessCurve(img, 1.0 + 2.0 * p, variant);
    case 18:
      return meanShift(img, p, variant);
    case 19:
      return jitter(img, p, variant, rng);
    case 20:
      return nonEccentricity(img, p, variant, rng);
    case 21:
      return pixelate(img, p, variant, rng);
    case 22:
      return quantization(img, p, variant);
    case 23:
      return colorBlock(img, p, variant, rng);
    case 24:
      return highSharpen(img, p, variant);
    case 25:
      return contrastChange(img, p, variant);
    default:
      return img.clone();
  }
}

const char* kVariantNames[kNumTypes][4] = {
    {"gaussian_kadid_support", "three_box_passes", "anisotropic_gaussian", ""},
    {"disk", "hexagonal_aperture", "disk_bright_rim", ""},
    {"straight_line", "camera_shake_path", "accelerating_line", ""},
    {"lab_gaussian", "ycrcb_gaussian", "lab_box", ""},
    {"rgb_channel_integer", "rgb_channel_subpixel", "lab_chroma_channel", ""},
    {"kmeans_palette", "uniform_palette", "kmeans_ordered_dither", ""},
    {"hsv_value_axis", "hsi_intensity_axis", "", ""},
    {"lab_ab_scale", "ycrcb_chroma_scale", "hsv_clipped", ""},
    {"openjpeg", "cdf53_wavelet_own", "", ""},
    {"libjpeg_420", "libjpeg_weak_chroma", "webp", ""},
    {"gaussian_rgb", "gaussian_luma", "correlated_gaussian", "uniform_rgb"},
    {"ycbcr_gaussian", "lab_gaussian", "ycbcr_correlated", ""},
    {"salt_pepper_per_element", "salt_pepper_per_pixel", "random_valued", ""},
    {"speckle_uniform", "speckle_gaussian", "speckle_luma", ""},
    {"wiener5", "median_then_gaussian", "bilateral", ""},
    {"gamma_hsv_value", "gamma_rgb", "gamma_lab_l", ""},
    {"gamma_hsv_value", "gamma_rgb", "gamma_lab_l", ""},
    {"rgb_offset", "lab_l_offset", "", ""},
    {"uniform_nearest", "gaussian_bilinear", "uniform_2x2_blocks", ""},
    {"patch16", "patch8to24", "", ""},
    {"area_nearest", "nearest_nearest", "grid_mosaic", ""},
    {"equal_population_thresholds", "uniform_thresholds", "", ""},
    {"block32", "block16to40", "", ""},
    {"unsharp_lab_l", "unsharp_rgb", "box_laplacian_rgb", ""},
    {"pchip_rgb", "pchip_lab_l", "", ""},
};

}  // namespace

std::uint64_t mixSeed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

bool jpeg2000Available() {
  static const bool available = [] {
    try {
      Mat probe(96, 96, CV_8UC3, cv::Scalar(40, 120, 200));
      std::vector<uchar> buf;
      if (!cv::imencode(".jp2", probe, buf, {cv::IMWRITE_JPEG2000_COMPRESSION_X1000, 100})) return false;
      return !cv::imdecode(buf, cv::IMREAD_COLOR).empty();
    } catch (const cv::Exception&) { return false; }
  }();
  return available;
}

int resolveVariant(int type, int variant) {
  const auto& info = typeInfo(type);
  variant = std::clamp(variant, 0, info.numVariants + photographicVariantCount(type) - 1);
  if (type == 9 && variant == 0 && !jpeg2000Available()) variant = 1;
  return variant;
}

bool cellOverlapsRegion(int cell, int gridWidth, int cellSize, const int region[4], double scale) {
  const double x0 = region[0] * scale, y0 = region[1] * scale;
  const double x1 = x0 + region[2] * scale, y1 = y0 + region[3] * scale;
  const double px = double(cell % gridWidth) * cellSize, py = double(cell / gridWidth) * cellSize;
  return px < x1 && px + cellSize > x0 && py < y1 && py + cellSize > y0;
}

std::string variantName(int type, int variant) {
  type = std::clamp(type, 1, kNumTypes);
  variant = resolveVariant(type, variant);
  if (variant >= typeInfo(type).numVariants) return photographicVariantName(type);
  return kVariantNames[type - 1][variant];
}

cv::Mat applyDistortion(const cv::Mat& rgb, const Distortion& d, std::uint64_t seed) {
  if (rgb.empty() || rgb.type() != CV_8UC3 || d.type < 1 || d.type > kNumTypes) return {};
  cv::RNG rng(mixSeed(seed, static_cast<std::uint64_t>(d.type)));
  const double level = std::clamp(d.level, 0.0, 5.0);
  Mat out = applyType(rgb, d.type, paramAtLevel(d.type, level), resolveVariant(d.type, d.variant), rng);
  if (out.size() != rgb.size() || out.type() != rgb.type()) return rgb.clone();
  if (level < 1.0) cv::addWeighted(rgb, 1.0 - level, out, level, 0.0, out);
  cv::Rect region = d.region & cv::Rect(0, 0, rgb.cols, rgb.rows);
  if (!d.region.empty() && !region.empty() && region != cv::Rect(0, 0, rgb.cols, rgb.rows)) {
    Mat mask(rgb.size(), CV_32F, cv::Scalar(0));
    mask(region).setTo(1.0);
    cv::GaussianBlur(mask, mask, {5, 5}, 1.0, 1.0, cv::BORDER_REPLICATE);
    Mat m3 = expandToChannels(mask);
    Mat a = toFloat(rgb), b = toFloat(out);
    out = toU8(a + m3.mul(b - a));
  }
  return out;
}

cv::Mat applyDistortions(const cv::Mat& rgb, const std::vector<Distortion>& ds, std::uint64_t seed) {
  Mat cur = rgb;
  std::uint64_t i = 0;
  for (const auto& d : ds) cur = applyDistortion(cur, d, mixSeed(seed, 1000 + i++));
  return cur.empty() ? cur : (cur.data == rgb.data ? rgb.clone() : cur);
}

}  // namespace dqa::data
