#include "core/train/optimizer.h"

#include <cmath>
#include <cstdlib>

#include "core/io/safetensors.h"
#include "core/model/weights.h"

namespace dqa::train {

double scheduledLearningRate(int step, int steps, int warmup, double peak, double floorRatio) {
  if (step < warmup) return peak * (step + 1) / warmup;
  const double t = double(step - warmup) / std::max(1, steps - warmup);
  const double cosine = 0.5 * (1 + std::cos(M_PI * std::min(1.0, t)));
  return peak * (floorRatio + (1 - floorRatio) * cosine);
}

void AdamW::add(const std::string& name, at::Tensor* tensor, bool decay) {
  tensor->requires_grad_(true);
  slots_.push_back({name, tensor, at::zeros_like(*tensor), at::zeros_like(*tensor), decay});
}

std::vector<at::Tensor*> AdamW::parameters() const {
  std::vector<at::Tensor*> out;
  for (const auto& s : slots_) out.push_back(s.tensor);
  return out;
}

std::vector<at::Tensor> AdamW::moments() const {
  std::vector<at::Tensor> out;
  for (const auto& s : slots_) {
    out.push_back(s.m);
    out.push_back(s.v);
  }
  return out;
}

double AdamW::clipGradients(double maxNorm) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> norms;
  for (auto& s : slots_)
    if (s.tensor->grad().defined()) norms.push_back(s.tensor->grad().norm().view({1}));
  if (norms.empty()) return 0;
  const double norm = at::cat(norms).norm().item<double>();
  if (std::isfinite(norm) && norm > maxNorm)
    for (auto& s : slots_)
      if (s.tensor->grad().defined()) s.tensor->mutable_grad().mul_(maxNorm / norm);
  return norm;
}

void AdamW::step(double lr) {
  at::NoGradGuard noGrad;
  ++steps_;
  const double c1 = 1 - std::pow(beta1_, steps_), c2 = 1 - std::pow(beta2_, steps_);
  for (auto& s : slots_) {
    at::Tensor& w = *s.tensor;
    if (!w.grad().defined()) continue;
    const at::Tensor g = w.grad();
    s.m.mul_(beta1_).add_(g, 1 - beta1_);
    s.v.mul_(beta2_).addcmul_(g, g, 1 - beta2_);
    if (s.decay && weightDecay_ > 0) w.mul_(1 - lr * weightDecay_);
    w.addcdiv_(s.m / c1, (s.v / c2).sqrt_().add_(eps_), -lr);
    w.mutable_grad().zero_();
  }
}

Status AdamW::save(const std::string& path) const {
  std::vector<io::TensorToWrite> out;
  std::vector<at::Tensor> keep;
  for (const auto& s : slots_)
    for (auto [suffix, t] : {std::pair{".m", &s.m}, std::pair{".v", &s.v}}) {
      keep.push_back(t->to(at::kFloat).contiguous());
      out.push_back({s.name + suffix, io::DType::F32, keep.back().sizes().vec(), keep.back().data_ptr(),
                     size_t(keep.back().nbytes())});
    }
  return io::writeSafetensors(path, out, {{"adam_steps", std::to_string(steps_)}});
}

Status AdamW::load(const std::string& path) {
  auto store = model::WeightStore::open({path});
  if (!store) return store.error();
  at::NoGradGuard noGrad;
  for (auto& s : slots_) {
    auto m = store->get(s.name + ".m", at::kFloat, at::kCPU, s.m.sizes().vec());
    auto v = store->get(s.name + ".v", at::kFloat, at::kCPU, s.v.sizes().vec());
    if (!m || !v)
      return makeError(path + ": the optimizer state lacks " + s.name + "; delete the checkpoint to start over");
    s.m.copy_(m.value());
    s.v.copy_(v.value());
  }
  auto file = io::SafetensorsFile::open(path);
  if (!file) return file.error();
  auto it = (*file)->metadata().find("adam_steps");
  steps_ = it == (*file)->metadata().end() ? 0 : std::atoi(it->second.c_str());
  return Ok{};
}

}  // namespace dqa::train
