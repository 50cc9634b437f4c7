#pragma once
// CLIP ViT vision encoder (pre-LN transformer with a class token), as CLIPVisionModel.
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/io/model_config.h"
#include "core/model/layers.h"

namespace dqa::model {

struct ClipLayer {
  LayerNorm norm1, norm2;
  Linear q, k, v, out;
  Linear fc1, fc2;
};

class ClipVisionEncoder {
 public:
  // `prefix` is where "embeddings." lives: "" for CLIPVisionModel files,
  // "vision_tower." or "vision_tower.vision_model." inside LLaVA.
  static Result<ClipVisionEncoder> load(const LoadContext& ctx, const io::VisionConfig& config,
                                        const std::string& prefix);

  const io::VisionConfig& config() const { return config_; }

  struct Output {
    std::vector<at::Tensor> hiddenStates;  // [embeddings(after pre-LN), layer1..N], each [B, 1+N, D]
    at::Tensor lastHidden;                 // [B, 1+N, D]
    at::Tensor pooled;                     // [B, D], post-LN class token
  };
  // pixels [B, C, H, W] with H, W multiples of the patch size. Position embeddings
  // are bicubically interpolated when the grid differs from the trained one.
  Output forward(const at::Tensor& pixels, bool keepAllHiddenStates = false) const;

  // The projector's input as the config selects it: hidden state `featureLayer`
  // (negative: from the end), CLS dropped or kept. [B, tokens, D]
  at::Tensor features(const at::Tensor& pixels) const;

  NamedParameters namedParameters(const std::string& prefix);

 private:
  at::Tensor embeddings(const at::Tensor& pixels) const;
  at::Tensor positionEmbeddings(int64_t gridH, int64_t gridW) const;
  at::Tensor layer(const ClipLayer& L, const at::Tensor& x) const;
  io::VisionConfig config_;
  at::Tensor classEmbedding;     // [D]
  at::Tensor patchWeight;        // [D, C, P, P]
  at::Tensor positionEmbedding;  // [1 + n*n, D]
  LayerNorm preNorm, postNorm;
  std::vector<ClipLayer> layers_;
};

}  // namespace dqa::model
