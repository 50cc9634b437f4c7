#include "core/model/quality_input.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace dqa::model {
namespace {

// Rec. 601 luma, as GMSD: [N, 3, H, W] -> [N, 1, H, W].
at::Tensor luma(const at::Tensor& x) {
  return 0.299 * x.narrow(1, 0, 1) + 0.587 * x.narrow(1, 1, 1) + 0.114 * x.narrow(1, 2, 1);
}

// Prewitt gradient magnitude with replicated borders: [N, 1, H, W] -> [N, 1, H, W]. The
// 3x3 kernel is separable (a 3-tap box across, a difference along), computed with shifted
// slices: single-channel convolutions are slow in oneDNN.
at::Tensor gradientMagnitude(const at::Tensor& y) {
  const int64_t H = y.size(2), W = y.size(3);
  const at::Tensor p = at::replication_pad2d(y, {1, 1, 1, 1});                           // [N, 1, H+2, W+2]
  const at::Tensor columns = p.narrow(2, 0, H) + p.narrow(2, 1, H) + p.narrow(2, 2, H);  // [N, 1, H, W+2]
  const at::Tensor rows = p.narrow(3, 0, W) + p.narrow(3, 1, W) + p.narrow(3, 2, W);     // [N, 1, H+2, W]
  const at::Tensor gx = (columns.narrow(3, 0, W) - columns.narrow(3, 2, W)) * (1.0 / 3.0);
  const at::Tensor gy = (rows.narrow(2, 0, H) - rows.narrow(2, 2, H)) * (1.0 / 3.0);
  return at::sqrt(gx * gx + gy * gy + 1e-12);
}

// GMSD's stability constant for images in [0,1] (170 for [0,255]).
constexpr double kGmsConstant = 170.0 / (255.0 * 255.0);

// Luminance at scales 1, 1/2, 1/4: {[N, 1, H/s, W/s]}.
std::vector<at::Tensor> lumaPyramid(const at::Tensor& x) {
  const at::Tensor l = luma(x);
  return {l, at::avg_pool2d(l, {2, 2}), at::avg_pool2d(l, {4, 4})};
}

// Gradient magnitudes of the luminance at scales 1, 1/2, 1/4: {[N, 1, H/s, W/s]}.
std::vector<at::Tensor> gradientPyramid(const at::Tensor& x) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& l : lumaPyramid(x)) out.push_back(gradientMagnitude(l));
  return out;
}

// The k x k box mean (k odd) with replicated borders: [N, C, H, W] -> [N, C, H, W]. The box
// sum is separable, taken with shifted slices (about twice as fast as avg_pool2d here).
at::Tensor boxMean(const at::Tensor& x, int k) {
  const int64_t H = x.size(2), W = x.size(3), r = k / 2;
  const at::Tensor p = at::replication_pad2d(x, {r, r, r, r});  // [N, C, H+k-1, W+k-1]
  at::Tensor rows = p.narrow(2, 0, H);                          // [N, C, H, W+k-1]
  for (int i = 1; i < k; ++i) rows = rows + p.narrow(2, i, H);
  at::Tensor box = rows.narrow(3, 0, W);  // [N, C, H, W]
  for (int i = 1; i < k; ++i) box = box + rows.narrow(3, i, W);
  return box * (1.0 / double(k * k));
}

// out = c * scale: one feature written into its channels of the encoder's input.
void store(at::Tensor out, const at::Tensor& c, float scale) {
  if (scale == 1.f)
    out.copy_(c);
  else
    at::mul_out(out, c, at::scalar_tensor(scale, c.options()));
}

// A per-scale map of two pyramids, each upsampled back to full size, into `out` [N, 3, H, W].
template <typename F>
void combine(at::Tensor out, const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b, float scale, F f) {
  const int64_t H = out.size(2), W = out.size(3);
  for (size_t i = 0; i < a.size(); ++i) {
    at::Tensor d = f(a[i], b[i]);                      // [N, 1, H/s, W/s]
    if (i > 0) d = at::upsample_nearest2d(d, {H, W});  // [N, 1, H, W]
    store(out.narrow(1, int64_t(i), 1), d, scale);
  }
}

// 1 - SSIM of two luminances (Wang et al. 2004, constants for [0,1] images, a 7x7 box
// window): 0 where the local means, contrasts and structure agree.
at::Tensor ssimDissimilarity(const at::Tensor& a, const at::Tensor& b) {
  constexpr double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  const at::Tensor ma = boxMean(a, 7), mb = boxMean(b, 7);
  const at::Tensor va = boxMean(a * a, 7) - ma * ma, vb = boxMean(b * b, 7) - mb * mb,
                   cov = boxMean(a * b, 7) - ma * mb;
  return 1.0 - (2.0 * ma * mb + c1) * (2.0 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
}

// 1 - gradient-magnitude similarity of two luminances' gradient magnitudes: 0 where the
// structure is identical.
at::Tensor dissimilarity(const at::Tensor& ma, const at::Tensor& mb) {
  return 1.0 - (2.0 * ma * mb + kGmsConstant) / (ma * ma + mb * mb + kGmsConstant);
}

// Negative where the first image lost structure that the second has.
at::Tensor ratio(const at::Tensor& ma, const at::Tensor& mb) { return (ma - mb) / (ma + mb + 0.02); }

// |x - 3x3 box mean of x| with replicated borders: [N, C, H, W] -> [N, C, H, W].
at::Tensor highpassOf(const at::Tensor& x) { return (x - boxMean(x, 3)).abs(); }

// BRISQUE's window: a 7-tap Gaussian (sigma 7/6) summing to 1, applied across and along.
// (Weights that do not sum to 1 would shift E[y^2] - E[y]^2.)
const cv::Mat& brisqueWindow() {
  static const cv::Mat window = [] {
    constexpr int kTaps = 7;
    constexpr double kSigma = 7.0 / 6.0;
    cv::Mat w(kTaps, 1, CV_64F);
    for (int k = 0; k < kTaps; ++k) w.at<double>(k) = std::exp(-(k - 3) * (k - 3) / (2 * kSigma * kSigma));
    return cv::Mat(w / cv::sum(w)[0]);
  }();
  return window;
}

// Runs body(begin, end) over [0, count) on at most as many of OpenCV's threads as libtorch
// may use (the user's --threads). Nested calls run in the caller's thread.
template <typename F>
void inParallel(int count, const F& body) {
  const int stripes = std::min(count, at::get_num_threads());
  // OpenCV marks even a one-stripe call a parallel region, which would serialise the
  // bands of a lone image.
  if (stripes <= 1) return body(0, count);
  cv::parallel_for_(
      cv::Range(0, count), [&](const cv::Range& r) { body(r.start, r.end); }, double(stripes));
}

// (y - local mean) / (local deviation + 1/255) of one luma plane (CV_64F), the window's
// borders replicated. In bands of rows across threads: each band is filtered with the 3
// rows beyond it that the window reaches, so the result does not depend on the bands.
// OpenCV's separable filter in double is about 6x faster than the same passes as tensor
// slices.
cv::Mat contrastNormalised(const cv::Mat& y) {
  constexpr int kReach = 3, kBandRows = 64;
  cv::Mat out(y.size(), CV_64F);
  inParallel((y.rows + kBandRows - 1) / kBandRows, [&](int firstBand, int endBand) {
    const int r0 = firstBand * kBandRows, r1 = std::min(y.rows, endBand * kBandRows);
    const int a = std::max(0, r0 - kReach), b = std::min(y.rows, r1 + kReach);
    const cv::Mat band = y.rowRange(a, b);
    const cv::Mat& w = brisqueWindow();
    cv::Mat mean, meanOfSquares;
    const int border = cv::BORDER_REPLICATE | cv::BORDER_ISOLATED;  // a band's own edges hold real rows
    cv::sepFilter2D(band, mean, CV_64F, w, w, cv::Point(-1, -1), 0, border);
    cv::sepFilter2D(band.mul(band), meanOfSquares, CV_64F, w, w, cv::Point(-1, -1), 0, border);
    for (int r = r0; r < r1; ++r) {
      const double *py = y.ptr<double>(r), *pm = mean.ptr<double>(r - a), *ps = meanOfSquares.ptr<double>(r - a);
      double* po = out.ptr<double>(r);
      for (int c = 0; c < y.cols; ++c)
        po[c] = (py[c] - pm[c]) / (std::sqrt(std::abs(ps[c] - pm[c] * pm[c])) + 1.0 / 255.0);
    }
  });
  return out;
}

// The 2x2 means of a plane with even sides (as avg_pool2d): H x W -> H/2 x W/2.
cv::Mat halved(const cv::Mat& y) {
  cv::Mat out(y.rows / 2, y.cols / 2, CV_64F);
  for (int r = 0; r < out.rows; ++r) {
    const double *top = y.ptr<double>(2 * r), *bottom = y.ptr<double>(2 * r + 1);
    double* po = out.ptr<double>(r);
    for (int c = 0; c < out.cols; ++c) po[c] = (top[2 * c] + top[2 * c + 1] + bottom[2 * c] + bottom[2 * c + 1]) / 4.0;
  }
  return out;
}

// One luma plane's statistics into `out` (4 planes of H x W floats): the contrast-
// normalised luma at scales 1 and 1/2 (each coarse value repeated over its 2x2 block), and
// at scale 1 its products with the right and the lower neighbour (the last column or row
// pairs with itself).
void sceneStatisticsOfPlane(const cv::Mat& y, float* out) {
  const cv::Mat fine = contrastNormalised(y), coarse = contrastNormalised(halved(y));
  const int H = y.rows, W = y.cols;
  const int64_t plane = int64_t(H) * W;
  for (int r = 0; r < H; ++r) {
    const double *f = fine.ptr<double>(r), *below = fine.ptr<double>(std::min(r + 1, H - 1));
    const double* half = coarse.ptr<double>(r / 2);
    float* o = out + int64_t(r) * W;
    for (int c = 0; c < W; ++c) {
      const double right = f[std::min(c + 1, W - 1)];
      o[c] = float(f[c]);
      o[plane + c] = float(half[c / 2]);
      o[2 * plane + c] = float(f[c] * right);
      o[3 * plane + c] = float(f[c] * below[c]);
    }
  }
}

// The natural-scene statistics BRISQUE builds on: [N, 3, H, W] (H, W even) -> [N, 4, H, W],
// see sceneStatisticsOfPlane. In double: the local variance E[y^2] - E[y]^2 cancels in flat
// regions, and 1/(deviation + 1/255) magnifies float rounding there up to 1e-3, enough
// that a batch and its views alone, or the trainer and the app, would see different inputs.
at::Tensor sceneStatisticsOf(const at::Tensor& x) {
  const int64_t N = x.size(0), H = x.size(2), W = x.size(3);
  TORCH_CHECK(H % 2 == 0 && W % 2 == 0, "scene statistics need even image sides, got ", H, "x", W);
  // On the CPU whatever the model's device: OpenCV filters host memory.
  const at::Tensor y = luma(x).to(at::kCPU, at::kDouble).contiguous();  // [N, 1, H, W]
  at::Tensor out = at::empty({N, 4, H, W}, at::TensorOptions().dtype(at::kFloat));
  const double* planes = y.data_ptr<double>();
  float* outPlanes = out.data_ptr<float>();
  inParallel(int(N), [&](int begin, int end) {  // an image's bands then run in this thread
    for (int64_t n = begin; n < end; ++n) {
      const cv::Mat plane(int(H), int(W), CV_64F, const_cast<double*>(planes + n * H * W));
      sceneStatisticsOfPlane(plane, outPlanes + n * 4 * H * W);
    }
  });
  return out.to(x.options());
}

}  // namespace

QualityInputCache::Key QualityInputCache::keyOf(const at::Tensor& t) {
  return {t.data_ptr(), t.sizes().vec(), t.strides().vec()};
}

const std::vector<at::Tensor>& QualityInputCache::pyramid(const at::Tensor& image) {
  auto [it, added] = pyramids_.try_emplace(keyOf(image));
  if (added) it->second = gradientPyramid(image);
  return it->second;
}

const at::Tensor& QualityInputCache::highpass(const at::Tensor& image) {
  auto [it, added] = highpass_.try_emplace(keyOf(image));
  if (added) it->second = highpassOf(image);
  return it->second;
}

const at::Tensor& QualityInputCache::sceneStatistics(const at::Tensor& image) {
  auto [it, added] = sceneStatistics_.try_emplace(keyOf(image));
  if (added) it->second = sceneStatisticsOf(image);
  return it->second;
}

at::Tensor padReplicate(const at::Tensor& x, int multiple) {
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t padH = (multiple - H % multiple) % multiple, padW = (multiple - W % multiple) % multiple;
  if (padH == 0 && padW == 0) return x;
  return at::replication_pad2d(x, {0, padW, 0, padH});
}

void writeQualityEncoderInput(const io::VisionConfig& config, const QualityView& view, QualityInputCache* cache,
                              at::Tensor out) {
  using Q = io::QualityInput;
  const at::Tensor& x = view.image;  // [N, 3, H, W]
  const bool hasRef = view.reference.defined(), hasOther = view.other.defined();
  // Gradient pyramids are shared by the similarity and ratio features (and, through
  // `cache`, by the other views of these images).
  QualityInputCache local;
  QualityInputCache& shared = cache ? *cache : local;
  const at::Tensor &ref = view.reference, &other = view.other;
  int64_t offset = 0;
  for (size_t i = 0; i < config.qualityInputs.size(); ++i) {
    const io::QualityInput kind = config.qualityInputs[i];
    const float scale = i < config.inputScales.size() ? config.inputScales[i] : 1.f;
    at::Tensor slot = out.narrow(1, offset, io::qualityInputChannels(kind));  // [N, 3 or 2, H, W]
    offset += slot.size(1);
    const bool needsRef = kind == Q::RefDiff || kind == Q::RefAbsDiff || kind == Q::RefGms || kind == Q::RefGradRatio ||
                          kind == Q::RefSsim;
    const bool needsOther = kind == Q::OtherDiff || kind == Q::OtherAbsDiff || kind == Q::OtherGms ||
                            kind == Q::OtherGradRatio || kind == Q::OtherHighpass || kind == Q::OtherMscn;
    if ((needsRef && !hasRef) || (needsOther && !hasOther)) {
      slot.zero_();  // a channel without a source
      continue;
    }
    switch (kind) {
      case Q::Image:
        store(slot, x - 0.5, scale);
        break;
      case Q::RefDiff:
        store(slot, x - ref, scale);
        break;
      case Q::RefAbsDiff:
        store(slot, (x - ref).abs(), scale);
        break;
      case Q::RefGms:
        combine(slot, shared.pyramid(x), shared.pyramid(ref), scale, dissimilarity);
        break;
      case Q::Highpass:
        store(slot, shared.highpass(x), scale);
        break;
      case Q::OtherDiff:
        store(slot, x - other, scale);
        break;
      case Q::OtherAbsDiff:
        store(slot, (x - other).abs(), scale);
        break;
      case Q::OtherGms:
        combine(slot, shared.pyramid(x), shared.pyramid(other), scale, dissimilarity);
        break;
      case Q::Flags:
        slot.narrow(1, 0, 1).fill_(hasRef ? scale : 0.0);
        slot.narrow(1, 1, 1).fill_(hasOther ? scale : 0.0);
        break;
      case Q::RefGradRatio:
        combine(slot, shared.pyramid(x), shared.pyramid(ref), scale, ratio);
        break;
      case Q::OtherGradRatio:
        combine(slot, shared.pyramid(x), shared.pyramid(other), scale, ratio);
        break;
      case Q::OtherHighpass:
        store(slot, shared.highpass(other), scale);
        break;
      case Q::Mscn:
        store(slot, shared.sceneStatistics(x), scale);
        break;
      case Q::OtherMscn:
        store(slot, shared.sceneStatistics(other), scale);
        break;
      case Q::RefSsim:
        combine(slot, lumaPyramid(x), lumaPyramid(ref), scale, ssimDissimilarity);
        break;
    }
  }
}

int64_t qualityEncoderInputChannels(const io::VisionConfig& config) {
  int64_t channels = 0;
  for (io::QualityInput kind : config.qualityInputs) channels += io::qualityInputChannels(kind);
  return channels;
}

at::Tensor qualityEncoderInput(const io::VisionConfig& config, const QualityView& view, QualityInputCache* cache) {
  const at::Tensor& x = view.image;  // [N, 3, H, W]
  at::Tensor out = at::empty({x.size(0), qualityEncoderInputChannels(config), x.size(2), x.size(3)}, x.options());
  writeQualityEncoderInput(config, view, cache, out);
  return out;  // [N, C, H, W]
}

}  // namespace dqa::model
