#pragma once
// The quality encoder's input: an image in linear [0,1] pixel values (no CLIP
// normalisation, which would rescale the very errors being judged) stacked with how it
// differs from its reference and, in a comparison, from the other image. Structure-aware
// channels (gradient-magnitude similarity, as in GMSD, at three scales) give the network
// the prior that the classical metrics have; it learns the rest.
#include <ATen/ATen.h>

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

// [N, sum of qualityInputChannels, H, W], each feature multiplied by its scale.
// H and W must be multiples of 4 (the gradient similarity is also taken at 1/2 and 1/4).
at::Tensor qualityEncoderInput(const io::VisionConfig& config, const QualityView& view);

// Pads [N, C, H, W] on the right and bottom by repeating the last row/column, up to
// multiples of `multiple`: repeated pixels add no false edge (black padding would).
at::Tensor padReplicate(const at::Tensor& x, int multiple);

}  // namespace dqa::model
