#pragma once
// Vision-to-language projector: one linear layer (DepictQA) or linear-GELU-linear (LLaVA).
#include <ATen/ATen.h>

#include "core/io/model_config.h"
#include "core/model/layers.h"

namespace dqa::model {

class Projector {
 public:
  // prefix e.g. "multi_modal_projector." (LLaVA) ; Linear kind uses "linear_1" only.
  static Result<Projector> load(const LoadContext& ctx, const io::ProjectorConfig& config,
                                int64_t visionWidth, int64_t textWidth, const std::string& prefix);
  at::Tensor operator()(const at::Tensor& features) const;  // [.., visionWidth] -> [.., textWidth]
  NamedParameters namedParameters(const std::string& prefix);

 private:
  io::ProjectorKind kind_ = io::ProjectorKind::Linear;
  Linear first_, second_;
};

}  // namespace dqa::model
