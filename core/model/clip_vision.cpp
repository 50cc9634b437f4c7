#include "core/model/clip_vision.h"

#include <cmath>

namespace dqa::model {

Result<ClipVisionEncoder> ClipVisionEncoder::load(const LoadContext& ctx, const io::VisionConfig& c,
                                                  const std::string& prefix) {
  ClipVisionEncoder e;
  e.config_ = c;
  const int64_t D = c.hiddenSize, I = c.intermediateSize, P = c.patchSize;
  const int64_t grid = c.imageSize / c.patchSize;
  auto cls = ctx.store->get(prefix + "embeddings.class_embedding", ctx.dtype, ctx.device, {D});
  if (!cls) return cls.error();
  auto patch =
      ctx.store->get(prefix + "embeddings.patch_embedding.weight", ctx.dtype, ctx.device, {D, c.numChannels, P, P});
  if (!patch) return patch.error();
  auto pos =
      ctx.store->get(prefix + "embeddings.position_embedding.weight", ctx.dtype, ctx.device, {1 + grid * grid, D});
  if (!pos) return pos.error();
  e.classEmbedding = cls.value();
  e.patchWeight = patch.value();
  e.positionEmbedding = pos.value();
  auto pre = loadLayerNorm(ctx, prefix + "pre_layrnorm", D, c.layerNormEps);
  if (!pre) return pre.error();
  e.preNorm = pre.value();
  // LLaVA checkpoints may omit the unused post-LN; keep it optional.
  if (ctx.store->has(prefix + "post_layernorm.weight")) {
    auto post = loadLayerNorm(ctx, prefix + "post_layernorm", D, c.layerNormEps);
    if (!post) return post.error();
    e.postNorm = post.value();
  }
  for (int i = 0; i < c.numLayers; ++i) {
    const std::string p = prefix + "encoder.layers." + std::to_string(i) + ".";
    ClipLayer L;
    auto n1 = loadLayerNorm(ctx, p + "layer_norm1", D, c.layerNormEps);
    auto n2 = loadLayerNorm(ctx, p + "layer_norm2", D, c.layerNormEps);
    auto q = loadLinear(ctx, p + "self_attn.q_proj", D, D, true);
    auto k = loadLinear(ctx, p + "self_attn.k_proj", D, D, true);
    auto v = loadLinear(ctx, p + "self_attn.v_proj", D, D, true);
    auto o = loadLinear(ctx, p + "self_attn.out_proj", D, D, true);
    auto f1 = loadLinear(ctx, p + "mlp.fc1", D, I, true);
    auto f2 = loadLinear(ctx, p + "mlp.fc2", I, D, true);
    if (auto err = firstError(n1, n2, q, k, v, o, f1, f2)) return *err;
    L.norm1 = n1.value();
    L.norm2 = n2.value();
    L.q = q.value();
    L.k = k.value();
    L.v = v.value();
    L.out = o.value();
    L.fc1 = f1.value();
    L.fc2 = f2.value();
    e.layers_.push_back(std::move(L));
  }
  return e;
}

at::Tensor ClipVisionEncoder::positionEmbeddings(int64_t gridH, int64_t gridW) const {
  const int64_t positions = positionEmbedding.size(0) - 1;
  const int64_t D = positionEmbedding.size(1);
  // Same condition as transformers: interpolate unless the grid is the trained square.
  if (gridH * gridW == positions && gridH == gridW) return positionEmbedding.unsqueeze(0);
  const int64_t side = static_cast<int64_t>(std::lround(std::sqrt(double(positions))));
  at::Tensor cls = positionEmbedding.narrow(0, 0, 1).unsqueeze(0);  // [1, 1, D]
  at::Tensor grid =
      positionEmbedding.narrow(0, 1, positions).reshape({1, side, side, D}).permute({0, 3, 1, 2});  // [1, D, n, n]
  at::Tensor resized = at::upsample_bicubic2d(grid.to(at::kFloat), {gridH, gridW}, /*align_corners=*/false)
                           .to(grid.scalar_type());  // [1, D, gh, gw]
  at::Tensor patches = resized.permute({0, 2, 3, 1}).reshape({1, gridH * gridW, D});
  return at::cat({cls, patches}, 1);  // [1, 1+gh*gw, D]
}

at::Tensor ClipVisionEncoder::embeddings(const at::Tensor& pixels) const {
  const int64_t B = pixels.size(0);
  at::Tensor x =
      at::conv2d(pixels.to(patchWeight.scalar_type()), patchWeight, {}, config_.patchSize);  // [B, D, gh, gw]
  const int64_t gh = x.size(2), gw = x.size(3);
  x = x.flatten(2).transpose(1, 2);  // [B, gh*gw, D]
  at::Tensor cls = classEmbedding.view({1, 1, -1}).expand({B, 1, classEmbedding.size(0)});
  x = at::cat({cls, x}, 1);  // [B, 1+N, D]
  return x + positionEmbeddings(gh, gw);
}

at::Tensor ClipVisionEncoder::layer(const ClipLayer& L, const at::Tensor& x) const {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  const int64_t nH = config_.numHeads, hd = D / nH;
  at::Tensor h = L.norm1(x);
  at::Tensor q = L.q(h).view({B, T, nH, hd}).transpose(1, 2);  // [B, H, T, hd]
  at::Tensor k = L.k(h).view({B, T, nH, hd}).transpose(1, 2);
  at::Tensor v = L.v(h).view({B, T, nH, hd}).transpose(1, 2);
  at::Tensor probs = softmaxFloat(at::matmul(q, k.transpose(2, 3)) * (1.0 / std::sqrt(double(hd))));
  at::Tensor a = at::matmul(probs, v).transpose(1, 2).reshape({B, T, D});
  at::Tensor y = x + L.out(a);
  at::Tensor m = L.fc1(L.norm2(y));
  m = config_.hiddenAct == "gelu" ? geluErf(m) : quickGelu(m);
  return y + L.fc2(m);
}

ClipVisionEncoder::Output ClipVisionEncoder::forward(const at::Tensor& pixels, bool keepAll) const {
  Output out;
  at::Tensor h = preNorm(embeddings(pixels));
  if (keepAll) out.hiddenStates.push_back(h);
  for (const auto& L : layers_) {
    h = layer(L, h);
    if (keepAll) out.hiddenStates.push_back(h);
  }
  out.lastHidden = h;
  if (postNorm.weight.defined()) out.pooled = postNorm(h.select(1, 0));
  return out;
}

NamedParameters ClipVisionEncoder::namedParameters(const std::string& prefix) {
  NamedParameters out;
  out.emplace_back(prefix + "embeddings.class_embedding", &classEmbedding);
  out.emplace_back(prefix + "embeddings.patch_embedding.weight", &patchWeight);
  out.emplace_back(prefix + "embeddings.position_embedding.weight", &positionEmbedding);
  appendLayerNorm(out, prefix + "pre_layrnorm", preNorm);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = prefix + "encoder.layers." + std::to_string(i) + ".";
    ClipLayer& L = layers_[i];
    appendLayerNorm(out, p + "layer_norm1", L.norm1);
    appendLayerNorm(out, p + "layer_norm2", L.norm2);
    appendLinear(out, p + "self_attn.q_proj", L.q);
    appendLinear(out, p + "self_attn.k_proj", L.k);
    appendLinear(out, p + "self_attn.v_proj", L.v);
    appendLinear(out, p + "self_attn.out_proj", L.out);
    appendLinear(out, p + "mlp.fc1", L.fc1);
    appendLinear(out, p + "mlp.fc2", L.fc2);
  }
  if (postNorm.weight.defined()) appendLayerNorm(out, prefix + "post_layernorm", postNorm);
  return out;
}

at::Tensor ClipVisionEncoder::features(const at::Tensor& pixels) const {
  // Hidden state index counted from the end: -1 is the last layer's output. Only the
  // layers needed are run.
  const int64_t total = int64_t(layers_.size()) + 1;  // embeddings + every layer
  const int64_t want = total + config_.featureLayer;  // index into [emb, l1..lN]
  at::Tensor h = preNorm(embeddings(pixels));
  for (int64_t i = 0; i < want; ++i) h = layer(layers_[static_cast<size_t>(i)], h);
  if (config_.dropClassToken) h = h.narrow(1, 1, h.size(1) - 1);
  return h;
}

}  // namespace dqa::model
