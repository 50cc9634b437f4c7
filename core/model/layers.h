#pragma once
// Small building blocks shared by the vision encoder, projector and decoder.
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/model/weights.h"

namespace dqa::model {

struct LoadContext {
  const WeightStore* store = nullptr;
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
};

// y = x W^T + b, plus an optional low-rank update (LoRA): y += s * (x A^T) B^T.
struct Linear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined
  at::Tensor loraA;   // [r, in] or undefined
  at::Tensor loraB;   // [out, r]
  double loraScaling = 0;

  at::Tensor operator()(const at::Tensor& x) const;
  // Folds the LoRA update into the weight (faster inference, no way back).
  void mergeLora();
  int64_t outFeatures() const { return weight.size(0); }
  int64_t inFeatures() const { return weight.size(1); }
};

Result<Linear> loadLinear(const LoadContext& ctx, const std::string& prefix, int64_t in, int64_t out, bool bias);

struct LayerNorm {
  at::Tensor weight, bias;  // [dim]
  double eps = 1e-5;
  at::Tensor operator()(const at::Tensor& x) const;
};
Result<LayerNorm> loadLayerNorm(const LoadContext& ctx, const std::string& prefix, int64_t dim, double eps);

struct RMSNorm {
  at::Tensor weight;  // [dim]
  double eps = 1e-6;
  at::Tensor operator()(const at::Tensor& x) const;
};
Result<RMSNorm> loadRMSNorm(const LoadContext& ctx, const std::string& name, int64_t dim, double eps);

at::Tensor quickGelu(const at::Tensor& x);
at::Tensor geluErf(const at::Tensor& x);

// Parameters by Hugging Face name (relative to a module prefix), for training and
// saving. Pointers stay valid while the owning module lives.
using NamedParameters = std::vector<std::pair<std::string, at::Tensor*>>;
void appendLinear(NamedParameters& out, const std::string& prefix, Linear& l);
void appendLayerNorm(NamedParameters& out, const std::string& prefix, LayerNorm& n);

// Softmax in float32 whatever the compute dtype, as the reference does.
at::Tensor softmaxFloat(const at::Tensor& scores);

}  // namespace dqa::model
