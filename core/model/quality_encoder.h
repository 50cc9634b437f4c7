#pragma once
// DepictQA desktop's vision encoder (config vision_config.model_type
// "depictqa_quality_encoder"): a small convolutional network trained to see distortions,
// in place of CLIP, whose features normalise the amount of a distortion away.
//
//   input [N, C, H, W]  (quality_input.h; H, W multiples of 16)
//   space-to-depth 4x4, 1x1 conv -> stage 0 (1/4):  residual 3x3 blocks, width w0
//   3x3 conv stride 2            -> stage 1 (1/8):  blocks, width w1
//   3x3 conv stride 2            -> stage 2 (1/16): blocks, width w2
//   1x1 conv                     -> stage 3 (1/16): blocks, width w3 = token width
//   feature map [N, w3, H/16, W/16]: one spatial token per 16x16 pixels
//
// GELU activations, no normalisation layers: the error energy of a distortion must
// survive to the output (a LayerNorm after a linear patch embedding erased it in the
// first bundled model). Residual blocks: x + conv(gelu(conv(x))).
// Heads on the pooled map (mean and mean of the top quarter of each channel, so a local
// distortion counts and the pooling does not depend on the image size): a score (the
// mean opinion score minus 3), per-aspect severity logits [5 aspects x 3 levels] and the
// dominant distortion type's logits, and (config aspect_scores) each aspect's own score,
// read from the shared layer or (aspect_score_width) from a layer of its own.
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/io/model_config.h"
#include "core/model/layers.h"

namespace dqa::model {

struct Conv2d {
  at::Tensor weight;  // [out, in, k, k]
  at::Tensor bias;    // [out]
  int stride = 1;
  at::Tensor operator()(const at::Tensor& x) const;
};

struct ResidualBlock {
  Conv2d first, second;  // 3x3, width -> width
};

struct QualityHeads {
  at::Tensor hidden;            // [N, headWidth] the shared layer (GELU)
  at::Tensor score;             // [N] predicted MOS - 3
  at::Tensor aspects;           // [N, 5, 3] logits: undistorted / mild / severe per aspect
  at::Tensor types;             // [N, T] logits over config.distortionTypes
  at::Tensor aspectScores;      // [N, 5] each aspect's MOS - 3 (config aspect_scores; else undefined)
  double mos(int64_t i) const;  // score + 3, clamped to the 1..5 scale
};

class QualityEncoder {
 public:
  // `prefix` is where "stem.weight" lives ("vision_tower." inside a model directory).
  static Result<QualityEncoder> load(const LoadContext& ctx, const io::VisionConfig& config, const std::string& prefix);

  const io::VisionConfig& config() const { return config_; }
  static constexpr int kStride = 16;

  // [N, C, H, W] -> [N, tokenWidth, H/16, W/16]
  at::Tensor featureMap(const at::Tensor& input) const;
  // [N, D, h, w] -> [N, 2D]: per channel the mean and the mean of the largest quarter.
  static at::Tensor pool(const at::Tensor& map);
  QualityHeads heads(const at::Tensor& pooled) const;

  NamedParameters namedParameters(const std::string& prefix);
  // Names and shapes of every weight, in the order namedParameters() lists them (for
  // writing a new model).
  static std::vector<std::pair<std::string, std::vector<int64_t>>> weightShapes(const io::VisionConfig& config);

 private:
  io::VisionConfig config_;
  Conv2d stem_;                      // 1x1 after 4x4 space-to-depth (run as a 4x4 stride-4 conv)
  std::vector<Conv2d> transitions_;  // into stages 1, 2 (3x3 stride 2) and 3 (1x1)
  std::vector<std::vector<ResidualBlock>> stages_;
  Linear headHidden_, headScore_, headAspects_, headTypes_, headAspectScores_;
  Linear headAspectScoresHidden_;  // config aspect_score_width > 0: the aspect-score head's own layer
};

}  // namespace dqa::model
