#pragma once
// AdamW with decoupled weight decay, global gradient-norm clipping, and the learning-rate
// schedule every stage uses (linear warm-up, cosine decay to a floor). State is saved
// by parameter name, so a checkpoint survives a reordering of the parameter list.
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::train {

double scheduledLearningRate(int step, int steps, int warmup, double peak, double floorRatio);

class AdamW {
 public:
  AdamW(double beta1 = 0.9, double beta2 = 0.95, double eps = 1e-8, double weightDecay = 0.01)
      : beta1_(beta1), beta2_(beta2), eps_(eps), weightDecay_(weightDecay) {}

  // `decay`: apply weight decay (matrices; not biases, norms, embeddings).
  void add(const std::string& name, at::Tensor* tensor, bool decay);
  // Scales every gradient so that their joint L2 norm is at most maxNorm; returns the
  // norm before clipping (NaN/Inf when a gradient is not finite: nothing is changed).
  double clipGradients(double maxNorm);
  void step(double learningRate);  // and zeroes the gradients

  int steps() const { return steps_; }
  void setSteps(int steps) { steps_ = steps; }
  // The tensors trained, in the order they were added, and their moments (m then v of
  // each): what a data-parallel run sums the gradients of and copies from rank 0.
  std::vector<at::Tensor*> parameters() const;
  std::vector<at::Tensor> moments() const;
  // Moments as "<name>.m" / "<name>.v" float32 tensors, plus the step count.
  Status save(const std::string& path) const;
  Status load(const std::string& path);

 private:
  struct Slot {
    std::string name;
    at::Tensor* tensor;
    at::Tensor m, v;
    bool decay;
  };
  std::vector<Slot> slots_;
  double beta1_, beta2_, eps_, weightDecay_;
  int steps_ = 0;
};

}  // namespace dqa::train
