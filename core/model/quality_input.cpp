#include "core/model/quality_input.h"

#include <ATen/ATen.h>

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

// Gradient magnitudes of the luminance at scales 1, 1/2, 1/4: {[N, 1, H/s, W/s]}.
std::vector<at::Tensor> gradientPyramid(const at::Tensor& x) {
  const at::Tensor l = luma(x);
  std::vector<at::Tensor> out;
  for (int scale : {1, 2, 4}) out.push_back(gradientMagnitude(scale > 1 ? at::avg_pool2d(l, {scale, scale}) : l));
  return out;
}

// A per-scale map of two pyramids, each upsampled back to full size: [N, 3, H, W].
template <typename F>
at::Tensor combine(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b, int64_t H, int64_t W, F f) {
  std::vector<at::Tensor> maps;
  for (size_t i = 0; i < a.size(); ++i) {
    at::Tensor d = f(a[i], b[i]);
    if (i > 0) d = at::upsample_nearest2d(d, {H, W});
    maps.push_back(d);
  }
  return at::cat(maps, 1);
}

// 1 - gradient-magnitude similarity of two luminances' gradient magnitudes: 0 where the
// structure is identical.
at::Tensor dissimilarity(const at::Tensor& ma, const at::Tensor& mb) {
  return 1.0 - (2.0 * ma * mb + kGmsConstant) / (ma * ma + mb * mb + kGmsConstant);
}

// Negative where the first image lost structure that the second has.
at::Tensor ratio(const at::Tensor& ma, const at::Tensor& mb) { return (ma - mb) / (ma + mb + 0.02); }

at::Tensor highpass(const at::Tensor& x) {
  return (x - at::avg_pool2d(at::replication_pad2d(x, {1, 1, 1, 1}), {3, 3}, {1, 1})).abs();
}

}  // namespace

at::Tensor padReplicate(const at::Tensor& x, int multiple) {
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t padH = (multiple - H % multiple) % multiple, padW = (multiple - W % multiple) % multiple;
  if (padH == 0 && padW == 0) return x;
  return at::replication_pad2d(x, {0, padW, 0, padH});
}

at::Tensor qualityEncoderInput(const io::VisionConfig& config, const QualityView& view) {
  using Q = io::QualityInput;
  const at::Tensor& x = view.image;  // [N, 3, H, W]
  const bool hasRef = view.reference.defined(), hasOther = view.other.defined();
  const int64_t N = x.size(0), H = x.size(2), W = x.size(3);
  auto zeros = [&](int64_t c) { return at::zeros({N, c, H, W}, x.options()); };
  auto flag = [&](bool on) { return at::full({N, 1, H, W}, on ? 1.0 : 0.0, x.options()); };
  // Gradient pyramids are shared by the similarity and ratio features.
  std::vector<at::Tensor> px, pr, po;
  auto pyramid = [](std::vector<at::Tensor>& p, const at::Tensor& t) -> const std::vector<at::Tensor>& {
    if (p.empty()) p = gradientPyramid(t);
    return p;
  };
  std::vector<at::Tensor> channels;
  for (size_t i = 0; i < config.qualityInputs.size(); ++i) {
    at::Tensor c;
    switch (config.qualityInputs[i]) {
      case Q::Image:
        c = x - 0.5;
        break;
      case Q::RefDiff:
        c = hasRef ? x - view.reference : zeros(3);
        break;
      case Q::RefAbsDiff:
        c = hasRef ? (x - view.reference).abs() : zeros(3);
        break;
      case Q::RefGms:
        c = hasRef ? combine(pyramid(px, x), pyramid(pr, view.reference), H, W, dissimilarity) : zeros(3);
        break;
      case Q::Highpass:
        c = highpass(x);
        break;
      case Q::OtherDiff:
        c = hasOther ? x - view.other : zeros(3);
        break;
      case Q::OtherAbsDiff:
        c = hasOther ? (x - view.other).abs() : zeros(3);
        break;
      case Q::OtherGms:
        c = hasOther ? combine(pyramid(px, x), pyramid(po, view.other), H, W, dissimilarity) : zeros(3);
        break;
      case Q::Flags:
        c = at::cat({flag(hasRef), flag(hasOther)}, 1);
        break;
      case Q::RefGradRatio:
        c = hasRef ? combine(pyramid(px, x), pyramid(pr, view.reference), H, W, ratio) : zeros(3);
        break;
      case Q::OtherGradRatio:
        c = hasOther ? combine(pyramid(px, x), pyramid(po, view.other), H, W, ratio) : zeros(3);
        break;
      case Q::OtherHighpass:
        c = hasOther ? highpass(view.other) : zeros(3);
        break;
    }
    const float scale = i < config.inputScales.size() ? config.inputScales[i] : 1.f;
    channels.push_back(scale == 1.f ? c : c * scale);
  }
  return at::cat(channels, 1);  // [N, C, H, W]
}

}  // namespace dqa::model
