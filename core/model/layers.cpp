#include "core/model/layers.h"

namespace dqa::model {

at::Tensor Linear::operator()(const at::Tensor& x) const {
  at::Tensor y = at::linear(x, weight, bias);
  if (loraA.defined()) y = y + at::linear(at::linear(x, loraA), loraB) * loraScaling;
  return y;
}

void Linear::mergeLora() {
  if (!loraA.defined()) return;
  // W' = W + s * B A, computed in float32 so that bf16 weights do not lose the update.
  at::Tensor delta = at::matmul(loraB.to(at::kFloat), loraA.to(at::kFloat)) * loraScaling;
  weight = (weight.to(at::kFloat) + delta).to(weight.scalar_type());
  loraA = at::Tensor();
  loraB = at::Tensor();
  loraScaling = 0;
}

Result<Linear> loadLinear(const LoadContext& ctx, const std::string& prefix, int64_t in, int64_t out, bool bias) {
  Linear l;
  auto w = ctx.store->get(prefix + ".weight", ctx.dtype, ctx.device, {out, in});
  if (!w) return w.error();
  l.weight = w.value();
  if (bias) {
    auto b = ctx.store->get(prefix + ".bias", ctx.dtype, ctx.device, {out});
    if (!b) return b.error();
    l.bias = b.value();
  }
  return l;
}

at::Tensor LayerNorm::operator()(const at::Tensor& x) const {
  return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

Result<LayerNorm> loadLayerNorm(const LoadContext& ctx, const std::string& prefix, int64_t dim, double eps) {
  LayerNorm n;
  n.eps = eps;
  auto w = ctx.store->get(prefix + ".weight", ctx.dtype, ctx.device, {dim});
  if (!w) return w.error();
  auto b = ctx.store->get(prefix + ".bias", ctx.dtype, ctx.device, {dim});
  if (!b) return b.error();
  n.weight = w.value();
  n.bias = b.value();
  return n;
}

at::Tensor RMSNorm::operator()(const at::Tensor& x) const {
  // As LlamaRMSNorm: normalise in float32, cast back, then scale.
  at::Tensor h = x.to(at::kFloat);
  at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * at::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

Result<RMSNorm> loadRMSNorm(const LoadContext& ctx, const std::string& name, int64_t dim, double eps) {
  RMSNorm n;
  n.eps = eps;
  auto w = ctx.store->get(name, ctx.dtype, ctx.device, {dim});
  if (!w) return w.error();
  n.weight = w.value();
  return n;
}

void appendLinear(NamedParameters& out, const std::string& prefix, Linear& l) {
  out.emplace_back(prefix + ".weight", &l.weight);
  if (l.bias.defined()) out.emplace_back(prefix + ".bias", &l.bias);
}

void appendLayerNorm(NamedParameters& out, const std::string& prefix, LayerNorm& n) {
  out.emplace_back(prefix + ".weight", &n.weight);
  out.emplace_back(prefix + ".bias", &n.bias);
}

at::Tensor quickGelu(const at::Tensor& x) { return x * at::sigmoid(x * 1.702); }
at::Tensor geluErf(const at::Tensor& x) { return at::gelu(x); }

at::Tensor softmaxFloat(const at::Tensor& scores) {
  return at::softmax(scores, -1, at::kFloat).to(scores.scalar_type());
}

}  // namespace dqa::model
