#pragma once
// LLaMA-family decoder: RMSNorm, RoPE, SwiGLU, grouped-query attention, KV cache,
// optional LoRA on q/k/v/o, opt-in capture of attention probabilities.
#include <ATen/ATen.h>

#include <set>
#include <string>
#include <vector>

#include "core/io/model_config.h"
#include "core/model/layers.h"

namespace dqa::model {

// Keys and values of every layer for the tokens seen so far.
struct KVCache {
  std::vector<at::Tensor> keys;  // per layer [B, kvHeads, capacity, headDim]
  std::vector<at::Tensor> values;
  int64_t length = 0;  // tokens stored
  void clear() {
    keys.clear();
    values.clear();
    length = 0;
  }
};

// Which layers' attention probabilities to keep during a forward pass.
struct AttentionCapture {
  std::set<int> layers;           // empty: none
  std::vector<at::Tensor> probs;  // per captured layer (ordered as `layers`): [B, H, T, S]
};

struct LlamaLayer {
  RMSNorm inputNorm, postAttentionNorm;
  Linear q, k, v, o;
  Linear gate, up, down;
};

class LlamaDecoder {
 public:
  // `prefix` is where the decoder's "model." lives, e.g. "model." for LlamaForCausalLM
  // or "language_model.model." inside LLaVA; `lmHead` names the output projection.
  static Result<LlamaDecoder> load(const LoadContext& ctx, const io::TextConfig& config, const std::string& prefix,
                                   const std::string& lmHead);

  const io::TextConfig& config() const { return config_; }
  at::ScalarType dtype() const { return embed_.scalar_type(); }
  at::Device device() const { return embed_.device(); }

  at::Tensor embed(const at::Tensor& ids) const;  // [B, T] -> [B, T, hidden]
  // Runs the layers over `embeds` [B, T, hidden] placed after the tokens already in
  // `cache` (or at 0 without a cache); returns the final-normed hidden [B, T, hidden].
  at::Tensor forward(const at::Tensor& embeds, KVCache* cache = nullptr, AttentionCapture* capture = nullptr) const;
  at::Tensor logits(const at::Tensor& hidden) const;  // [B, T, vocab], float32

  // LoRA (peft layout) applied at run time, or merged into the weights.
  Status applyLora(const WeightStore& adapter, const io::LoraConfig& config, bool merge);

  // Pre-sizes the cache so that decoding does not reallocate every token.
  void reserve(KVCache& cache, int64_t batch, int64_t capacity) const;

  // Base weights by HF name under `prefix`, and (separately) the LoRA matrices in peft
  // layout ("<loraPrefix>layers.N.self_attn.q_proj.lora_A.weight").
  NamedParameters namedParameters(const std::string& prefix, const std::string& lmHead);
  NamedParameters loraParameters(const std::string& loraPrefix);
  // Adds fresh LoRA matrices (A random, B zero, as peft) of `rank` on q/k/v/o.
  void addLora(int rank, double alpha, uint64_t seed);
  // Folds every LoRA into its base weight (W += B A * scaling) and drops the matrices.
  void mergeLora();

 private:
  at::Tensor attention(const LlamaLayer& layer, int layerIndex, const at::Tensor& x, const at::Tensor& cos,
                       const at::Tensor& sin, KVCache* cache, int64_t start, AttentionCapture* capture) const;
  io::TextConfig config_;
  at::Tensor embed_;  // [vocab, hidden]
  std::vector<LlamaLayer> layers_;
  RMSNorm norm_;
  at::Tensor lmHead_;  // [vocab, hidden]
};

}  // namespace dqa::model
