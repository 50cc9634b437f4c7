#include "core/model/vision_input.h"

namespace dqa::model {

at::Tensor encoderInput(const at::Tensor& image, const at::Tensor& reference,
                        const std::vector<io::VisionInputFeature>& features) {
  using F = io::VisionInputFeature;
  const bool haveReference = reference.defined() && reference.sizes() == image.sizes();
  at::Tensor difference;  // [N, 3, H, W]
  auto differenceToReference = [&]() -> const at::Tensor& {
    if (!difference.defined()) difference = haveReference ? image - reference : at::zeros_like(image);
    return difference;
  };
  std::vector<at::Tensor> channels;
  for (F feature : features) {
    switch (feature) {
      case F::Image:
        channels.push_back(image);
        break;
      case F::Difference:
        channels.push_back(differenceToReference());
        break;
      case F::AbsDifference:
        channels.push_back(differenceToReference().abs());
        break;
      case F::HighpassMagnitude:
        // 3x3 box blur with edge-aware averaging, so the image border is not an edge.
        channels.push_back((image - at::avg_pool2d(image, {3, 3}, {1, 1}, {1, 1}, false, false)).abs());
        break;
    }
  }
  if (channels.size() == 1) return channels[0];
  return at::cat(channels, 1);  // [N, 3F, H, W]
}

at::Tensor encoderInput(const io::ModelConfig& cfg, const at::Tensor& image, const at::Tensor& reference) {
  if (!cfg.visionEarlyFusion) return image;  // [N, 3, H, W]
  return encoderInput(image, reference, cfg.visionInputFeatures);
}

at::Tensor pixelTensor(const image::PreprocessedImage& p) {
  return at::from_blob(const_cast<float*>(p.chw.data()), {3, p.height, p.width}, at::kFloat).clone();
}

}  // namespace dqa::model
