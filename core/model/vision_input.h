#pragma once
// The encoder's input tensor: the image and, with early fusion, features of how it
// differs from its reference, stacked as channels in the order config.json lists them.
#include <ATen/ATen.h>

#include <vector>

#include "core/image/preprocess.h"
#include "core/io/model_config.h"

namespace dqa::model {

// image: [N, 3, H, W] normalised pixels; reference: [N, 3, H, W] or an undefined
// tensor (no reference, or the image is the reference: the differences are zero).
// Returns [N, 3 * features.size(), H, W].
at::Tensor encoderInput(const at::Tensor& image, const at::Tensor& reference,
                        const std::vector<io::VisionInputFeature>& features);

// What the encoder of the model `cfg` describes sees of `image` [N, 3, H, W]: the image
// itself, or with early fusion its features against `reference` (as above).
at::Tensor encoderInput(const io::ModelConfig& cfg, const at::Tensor& image, const at::Tensor& reference);

// A preprocessed image as a float tensor [3, H, W] (a copy: the buffer stays the caller's).
at::Tensor pixelTensor(const image::PreprocessedImage& p);

}  // namespace dqa::model
