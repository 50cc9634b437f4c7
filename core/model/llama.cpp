#include "core/model/llama.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace dqa::model {
namespace {

// RoPE tables for positions [start, start+T), computed in float32 as the reference.
std::pair<at::Tensor, at::Tensor> ropeTables(int64_t start, int64_t length, int64_t headDim, double theta,
                                             at::Device device, at::ScalarType dtype) {
  auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  at::Tensor invFreq =
      1.0 / at::pow(theta, at::arange(0, headDim, 2, f32.dtype(at::kLong)).to(at::kFloat) / double(headDim));
  at::Tensor pos = at::arange(start, start + length, f32.dtype(at::kLong)).to(at::kFloat);
  at::Tensor freqs = at::outer(pos, invFreq.to(device));  // [T, D/2]
  at::Tensor emb = at::cat({freqs, freqs}, -1);           // [T, D]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor rotateHalf(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

at::Tensor applyRope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  // x [B, H, T, D], cos/sin [T, D]
  return x * cos + rotateHalf(x) * sin;
}

}  // namespace

Result<LlamaDecoder> LlamaDecoder::load(const LoadContext& ctx, const io::TextConfig& c, const std::string& prefix,
                                        const std::string& lmHead) {
  LlamaDecoder d;
  d.config_ = c;
  const int64_t H = c.hiddenSize, I = c.intermediateSize;
  const int64_t qDim = int64_t(c.numHeads) * c.headDim, kvDim = int64_t(c.numKvHeads) * c.headDim;
  auto embed = ctx.store->get(prefix + "embed_tokens.weight", ctx.dtype, ctx.device, {c.vocabSize, H});
  if (!embed) return embed.error();
  d.embed_ = embed.value();
  for (int i = 0; i < c.numLayers; ++i) {
    const std::string p = prefix + "layers." + std::to_string(i) + ".";
    LlamaLayer L;
    auto in = loadRMSNorm(ctx, p + "input_layernorm.weight", H, c.rmsNormEps);
    auto post = loadRMSNorm(ctx, p + "post_attention_layernorm.weight", H, c.rmsNormEps);
    auto q = loadLinear(ctx, p + "self_attn.q_proj", H, qDim, c.attentionBias);
    auto k = loadLinear(ctx, p + "self_attn.k_proj", H, kvDim, c.attentionBias);
    auto v = loadLinear(ctx, p + "self_attn.v_proj", H, kvDim, c.attentionBias);
    auto o = loadLinear(ctx, p + "self_attn.o_proj", qDim, H, c.attentionBias);
    auto g = loadLinear(ctx, p + "mlp.gate_proj", H, I, false);
    auto u = loadLinear(ctx, p + "mlp.up_proj", H, I, false);
    auto dn = loadLinear(ctx, p + "mlp.down_proj", I, H, false);
    if (auto err = firstError(in, post, q, k, v, o, g, u, dn)) return *err;
    L.inputNorm = in.value();
    L.postAttentionNorm = post.value();
    L.q = q.value();
    L.k = k.value();
    L.v = v.value();
    L.o = o.value();
    L.gate = g.value();
    L.up = u.value();
    L.down = dn.value();
    d.layers_.push_back(std::move(L));
  }
  auto norm = loadRMSNorm(ctx, prefix + "norm.weight", H, c.rmsNormEps);
  if (!norm) return norm.error();
  d.norm_ = norm.value();
  if (ctx.store->has(lmHead)) {
    auto head = ctx.store->get(lmHead, ctx.dtype, ctx.device, {c.vocabSize, H});
    if (!head) return head.error();
    d.lmHead_ = head.value();
  } else if (c.tieWordEmbeddings) {
    d.lmHead_ = d.embed_;
  } else {
    return makeError("weight '" + lmHead + "' is missing and tie_word_embeddings is false");
  }
  return d;
}

at::Tensor LlamaDecoder::embed(const at::Tensor& ids) const { return at::embedding(embed_, ids.to(embed_.device())); }

void LlamaDecoder::reserve(KVCache& cache, int64_t batch, int64_t capacity) const {
  cache.keys.resize(layers_.size());
  cache.values.resize(layers_.size());
  auto opts = embed_.options();
  for (size_t i = 0; i < layers_.size(); ++i) {
    at::Tensor& k = cache.keys[i];
    if (k.defined() && k.size(2) >= capacity) continue;
    at::Tensor nk = at::zeros({batch, config_.numKvHeads, capacity, config_.headDim}, opts);
    at::Tensor nv = at::zeros_like(nk);
    if (k.defined() && cache.length > 0) {
      nk.narrow(2, 0, cache.length).copy_(k.narrow(2, 0, cache.length));
      nv.narrow(2, 0, cache.length).copy_(cache.values[i].narrow(2, 0, cache.length));
    }
    cache.keys[i] = nk;
    cache.values[i] = nv;
  }
}

at::Tensor LlamaDecoder::attention(const LlamaLayer& L, int layerIndex, const at::Tensor& x, const at::Tensor& cos,
                                   const at::Tensor& sin, KVCache* cache, int64_t start,
                                   AttentionCapture* capture) const {
  const int64_t B = x.size(0), T = x.size(1), D = config_.headDim;
  const int64_t nH = config_.numHeads, nKV = config_.numKvHeads;
  at::Tensor q = L.q(x).view({B, T, nH, D}).transpose(1, 2);   // [B, H, T, D]
  at::Tensor k = L.k(x).view({B, T, nKV, D}).transpose(1, 2);  // [B, KV, T, D]
  at::Tensor v = L.v(x).view({B, T, nKV, D}).transpose(1, 2);
  q = applyRope(q, cos, sin);
  k = applyRope(k, cos, sin);
  if (cache) {
    if (static_cast<int64_t>(cache->keys.size()) <= layerIndex || !cache->keys[layerIndex].defined() ||
        cache->keys[layerIndex].size(2) < start + T)
      reserve(*cache, B, std::max<int64_t>(start + T, 2 * (start + T)));
    cache->keys[layerIndex].narrow(2, start, T).copy_(k);
    cache->values[layerIndex].narrow(2, start, T).copy_(v);
    k = cache->keys[layerIndex].narrow(2, 0, start + T);  // [B, KV, S, D]
    v = cache->values[layerIndex].narrow(2, 0, start + T);
  }
  const int64_t S = k.size(2);
  if (nKV != nH) {  // grouped-query attention: each KV head serves nH/nKV query heads
    k = k.repeat_interleave(nH / nKV, 1);
    v = v.repeat_interleave(nH / nKV, 1);
  }
  at::Tensor scores = at::matmul(q, k.transpose(2, 3)) * (1.0 / std::sqrt(double(D)));  // [B, H, T, S]
  if (T > 1) {
    // Query i sits at position start+i and may see keys 0..start+i.
    at::Tensor qpos = at::arange(start, start + T, at::TensorOptions().dtype(at::kLong).device(x.device()));
    at::Tensor kpos = at::arange(0, S, qpos.options());
    at::Tensor future = kpos.unsqueeze(0) > qpos.unsqueeze(1);  // [T, S]
    scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  }
  at::Tensor probs = softmaxFloat(scores);
  if (capture && capture->layers.count(layerIndex)) capture->probs.push_back(probs.to(at::kFloat));
  at::Tensor out = at::matmul(probs, v);  // [B, H, T, D]
  out = out.transpose(1, 2).reshape({B, T, nH * D});
  return L.o(out);
}

at::Tensor LlamaDecoder::forward(const at::Tensor& embeds, KVCache* cache, AttentionCapture* capture) const {
  const int64_t T = embeds.size(1);
  const int64_t start = cache ? cache->length : 0;
  auto [cos, sin] = ropeTables(start, T, config_.headDim, config_.ropeTheta, embeds.device(), embeds.scalar_type());
  if (capture) capture->probs.clear();
  at::Tensor h = embeds.to(embed_.scalar_type());
  for (size_t i = 0; i < layers_.size(); ++i) {
    const LlamaLayer& L = layers_[i];
    h = h + attention(L, static_cast<int>(i), L.inputNorm(h), cos, sin, cache, start, capture);
    at::Tensor x = L.postAttentionNorm(h);
    h = h + L.down(at::silu(L.gate(x)) * L.up(x));
  }
  if (cache) cache->length = start + T;
  return norm_(h);
}

at::Tensor LlamaDecoder::logits(const at::Tensor& hidden) const { return at::linear(hidden, lmHead_).to(at::kFloat); }

NamedParameters LlamaDecoder::namedParameters(const std::string& prefix, const std::string& lmHead) {
  NamedParameters out;
  out.emplace_back(prefix + "embed_tokens.weight", &embed_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = prefix + "layers." + std::to_string(i) + ".";
    LlamaLayer& L = layers_[i];
    out.emplace_back(p + "input_layernorm.weight", &L.inputNorm.weight);
    out.emplace_back(p + "post_attention_layernorm.weight", &L.postAttentionNorm.weight);
    appendLinear(out, p + "self_attn.q_proj", L.q);
    appendLinear(out, p + "self_attn.k_proj", L.k);
    appendLinear(out, p + "self_attn.v_proj", L.v);
    appendLinear(out, p + "self_attn.o_proj", L.o);
    appendLinear(out, p + "mlp.gate_proj", L.gate);
    appendLinear(out, p + "mlp.up_proj", L.up);
    appendLinear(out, p + "mlp.down_proj", L.down);
  }
  out.emplace_back(prefix + "norm.weight", &norm_.weight);
  if (!lmHead_.is_same(embed_)) out.emplace_back(lmHead, &lmHead_);
  return out;
}

NamedParameters LlamaDecoder::loraParameters(const std::string& loraPrefix) {
  NamedParameters out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    LlamaLayer& L = layers_[i];
    std::pair<const char*, Linear*> targets[] = {
        {"q_proj", &L.q}, {"k_proj", &L.k}, {"v_proj", &L.v}, {"o_proj", &L.o}};
    for (auto& [name, lin] : targets) {
      if (!lin->loraA.defined()) continue;
      const std::string base = loraPrefix + "layers." + std::to_string(i) + ".self_attn." + name;
      out.emplace_back(base + ".lora_A.weight", &lin->loraA);
      out.emplace_back(base + ".lora_B.weight", &lin->loraB);
    }
  }
  return out;
}

void LlamaDecoder::addLora(int rank, double alpha, uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  for (auto& L : layers_) {
    for (Linear* lin : {&L.q, &L.k, &L.v, &L.o}) {
      const double bound = 1.0 / std::sqrt(double(lin->inFeatures()));  // kaiming-uniform(a=sqrt(5)) as peft
      lin->loraA = at::empty({rank, lin->inFeatures()}, lin->weight.options()).uniform_(-bound, bound, gen);
      lin->loraB = at::zeros({lin->outFeatures(), rank}, lin->weight.options());
      lin->loraScaling = alpha / rank;
    }
  }
}

void LlamaDecoder::mergeLora() {
  for (auto& L : layers_)
    for (Linear* lin : {&L.q, &L.k, &L.v, &L.o}) lin->mergeLora();
}

Status LlamaDecoder::applyLora(const WeightStore& adapter, const io::LoraConfig& cfg, bool merge) {
  // peft names: base_model.model.<decoder prefix>layers.N.self_attn.q_proj.lora_A.weight.
  // The decoder prefix differs between LlamaForCausalLM ("model.") and LLaVA
  // ("language_model.model." / "model.language_model."), so find it from the names.
  std::string prefix;
  for (const auto& n : adapter.names()) {
    auto pos = n.find("layers.0.self_attn.");
    if (pos != std::string::npos && n.find("lora_A") != std::string::npos) {
      prefix = n.substr(0, pos);
      break;
    }
  }
  if (prefix.empty()) return makeError("the adapter has no LoRA weights for layer 0's attention");
  const double scaling = cfg.scaling();
  const LoadContext ctx{&adapter, embed_.scalar_type(), embed_.device()};
  int applied = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    LlamaLayer& L = layers_[i];
    std::pair<const char*, Linear*> targets[] = {{"q_proj", &L.q},      {"k_proj", &L.k},       {"v_proj", &L.v},
                                                 {"o_proj", &L.o},      {"gate_proj", &L.gate}, {"up_proj", &L.up},
                                                 {"down_proj", &L.down}};
    for (auto& [name, lin] : targets) {
      const std::string sub =
          std::string(name) == "gate_proj" || std::string(name) == "up_proj" || std::string(name) == "down_proj"
              ? "mlp."
              : "self_attn.";
      const std::string base = prefix + "layers." + std::to_string(i) + "." + sub + name;
      // peft 0.3 saved "lora_A.weight"; newer versions may add the adapter name.
      std::string aName = base + ".lora_A.weight", bName = base + ".lora_B.weight";
      if (!adapter.has(aName) && adapter.has(base + ".lora_A.default.weight")) {
        aName = base + ".lora_A.default.weight";
        bName = base + ".lora_B.default.weight";
      }
      if (!adapter.has(aName)) continue;
      auto a = adapter.get(aName, ctx.dtype, ctx.device, {cfg.rank, lin->inFeatures()});
      if (!a) return a.error();
      auto b = adapter.get(bName, ctx.dtype, ctx.device, {lin->outFeatures(), cfg.rank});
      if (!b) return b.error();
      lin->loraA = a.value();
      lin->loraB = b.value();
      lin->loraScaling = scaling;
      if (merge) lin->mergeLora();
      ++applied;
    }
  }
  if (applied == 0) return makeError("no LoRA weight of the adapter matched a decoder layer");
  if (!adapter.unusedNames().empty())
    return makeError("the adapter holds weights this decoder does not have, e.g. '" + adapter.unusedNames().front() +
                     "'; it was made for another model");
  return Ok{};
}

}  // namespace dqa::model
