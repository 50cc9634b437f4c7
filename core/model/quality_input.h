#pragma once
// The quality encoder's input: an image in linear [0,1] pixel values (no CLIP
// normalisation, which would rescale the very errors being judged) stacked with how it
// differs from its reference and, in a comparison, from the other image. Structure-aware
// channels (gradient-magnitude similarity, as in GMSD, at three scales) and the natural-
// scene statistics of BRISQUE give the network the priors that the classical metrics
// have; it learns the rest.
#include <ATen/ATen.h>

#include <map>
#include <tuple>
#include <vector>

#include "core/io/model_config.h"

namespace dqa::model {

// What one image is judged against. Undefined tensors are "not given": their channels
// are zero and the flags say so. All tensors [N, 3, H, W] float in [0,1], same size.
struct QualityView {
  at::Tensor image;
  at::Tensor reference;
  at::Tensor other;
};

// Per-image intermediate results (gradient pyramids, high-pass maps, scene statistics) shared by the views
// of one comparison: A against B and B against A need the same ones. An image is known by
// its tensor's data pointer, shape and strides, so crops of one image at one place share
// them. Keep one only while those tensors live.
class QualityInputCache {
 public:
  const std::vector<at::Tensor>& pyramid(const at::Tensor& image);  // {[N, 1, H/s, W/s]} s = 1, 2, 4
  const at::Tensor& highpass(const at::Tensor& image);              // [N, 3, H, W]
  const at::Tensor& sceneStatistics(const at::Tensor& image);       // [N, 4, H, W]

 private:
  using Key = std::tuple<const void*, std::vector<int64_t>, std::vector<int64_t>>;
  static Key keyOf(const at::Tensor& t);
  std::map<Key, std::vector<at::Tensor>> pyramids_;
  std::map<Key, at::Tensor> highpass_;
  std::map<Key, at::Tensor> sceneStatistics_;
};

// [N, sum of qualityInputChannels, H, W], each feature multiplied by its scale.
// H and W must be multiples of 4 (the gradient similarity is also taken at 1/2 and 1/4).
// `cache` (optional) shares the per-image work with other views of the same images.
at::Tensor qualityEncoderInput(const io::VisionConfig& config, const QualityView& view,
                               QualityInputCache* cache = nullptr);
// The same written into `out` ([N, C, H, W], e.g. one view's slice of a batch), so that
// several views become one batch without another copy.
void writeQualityEncoderInput(const io::VisionConfig& config, const QualityView& view, QualityInputCache* cache,
                              at::Tensor out);
int64_t qualityEncoderInputChannels(const io::VisionConfig& config);  // C

// Pads [N, C, H, W] on the right and bottom by repeating the last row/column, up to
// multiples of `multiple`: repeated pixels add no false edge (black padding would).
at::Tensor padReplicate(const at::Tensor& x, int multiple);

}  // namespace dqa::model
