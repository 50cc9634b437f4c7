#include "core/model/projector.h"

namespace dqa::model {

Result<Projector> Projector::load(const LoadContext& ctx, const io::ProjectorConfig& c, int64_t visionWidth,
                                  int64_t textWidth, const std::string& prefix, int64_t qualityFeatures) {
  Projector p;
  p.kind_ = c.kind;
  auto first = loadLinear(ctx, prefix + "linear_1", visionWidth, textWidth, c.bias);
  if (!first) return first.error();
  p.first_ = first.value();
  if (c.kind == io::ProjectorKind::MlpGelu) {
    auto second = loadLinear(ctx, prefix + "linear_2", textWidth, textWidth, c.bias);
    if (!second) return second.error();
    p.second_ = second.value();
  }
  if (qualityFeatures > 0) {
    auto q = loadLinear(ctx, prefix + "quality_token", qualityFeatures, textWidth, true);
    if (!q) return q.error();
    p.qualityToken_ = q.value();
  }
  return p;
}

NamedParameters Projector::namedParameters(const std::string& prefix) {
  NamedParameters out;
  appendLinear(out, prefix + "linear_1", first_);
  if (kind_ == io::ProjectorKind::MlpGelu) appendLinear(out, prefix + "linear_2", second_);
  if (hasQualityToken()) appendLinear(out, prefix + "quality_token", qualityToken_);
  return out;
}

at::Tensor Projector::qualityToken(const at::Tensor& x) const { return qualityToken_(x); }

at::Tensor Projector::operator()(const at::Tensor& x) const {
  at::Tensor h = first_(x);
  if (kind_ == io::ProjectorKind::MlpGelu) h = second_(geluErf(h));
  return h;
}

}  // namespace dqa::model
