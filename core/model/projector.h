#pragma once
// Vision-to-language projector: one linear layer (DepictQA) or linear-GELU-linear (LLaVA).
#include <ATen/ATen.h>

#include "core/io/model_config.h"
#include "core/model/layers.h"

namespace dqa::model {

class Projector {
 public:
  // prefix e.g. "multi_modal_projector." (LLaVA) ; Linear kind uses "linear_1" only.
  // `qualityFeatures` > 0 (quality encoder models): also the "quality_token" linear
  // layer that turns the heads' judgement of an image into its first visual token.
  static Result<Projector> load(const LoadContext& ctx, const io::ProjectorConfig& config, int64_t visionWidth,
                                int64_t textWidth, const std::string& prefix, int64_t qualityFeatures = 0);
  at::Tensor operator()(const at::Tensor& features) const;  // [.., visionWidth] -> [.., textWidth]
  bool hasQualityToken() const { return qualityToken_.weight.defined(); }
  at::Tensor qualityToken(const at::Tensor& features) const;  // [.., qualityFeatures] -> [.., textWidth]
  NamedParameters namedParameters(const std::string& prefix);

 private:
  io::ProjectorKind kind_ = io::ProjectorKind::Linear;
  Linear first_, second_, qualityToken_;
};

}  // namespace dqa::model
