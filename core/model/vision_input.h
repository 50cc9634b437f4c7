#pragma once
// The encoder's input tensor: the image and, with early fusion, features of how it
// differs from its reference, stacked as channels in the order config.json lists them.
#include <ATen/ATen.h>

#include <vector>

#include "core/io/model_config.h"

namespace dqa::model {

// image: [N, 3, H, W] normalised pixels; reference: [N, 3, H, W] or an undefined
// tensor (no reference, or the image is the reference: the differences are zero).
// Returns [N, 3 * features.size(), H, W].
at::Tensor encoderInput(const at::Tensor& image, const at::Tensor& reference,
                        const std::vector<io::VisionInputFeature>& features);

}  // namespace dqa::model
