#pragma once
// Weight averaging of fine-tunings ("model soup", Wortsman et al. 2022): the element-wise
// mean of several model directories trained from one starting point with different seeds.
// The recipe's last decoder stage is noisy from seed to seed in how its reasonings are
// worded; the mean of two runs keeps what they agree on. And the mean of one run's weights
// at several of its late steps (tail averaging, as in stochastic weight averaging,
// Izmailov et al. 2018), which stage 1 can write instead of its last step's weights.
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "core/common/result.h"
#include "core/model/layers.h"

namespace dqa::train {

// Writes to `outDirectory` (replaced only once complete) a model directory whose every
// weight is the mean of the same weight in `directories` (two or more), with the first
// directory's config.json and tokenizer.model. The directories must be float32
// safetensors (as depictqa-train writes them) with identical config.json, tokenizer and
// tensor names and shapes; otherwise an error says which differs.
Status averageModelDirectories(const std::vector<std::string>& directories, const std::string& outDirectory);

// The running mean of one set of weights over the steps at which add() is called; sums kept
// in float64, so the mean of float32 snapshots is exact to float32 rounding.
class RunningWeightMean {
 public:
  // Adds the weights' current values; an error where they are not the names and shapes
  // of the first call.
  Status add(const model::NamedParameters& weights);
  int count() const { return count_; }
  // Writes the mean into `weights` (those passed to add()); an error if they differ.
  Status copyMeanInto(const model::NamedParameters& weights) const;
  // The sums and the count, to resume a run (safetensors, float64).
  Status save(const std::string& path) const;
  // Reads what save() wrote; `weights` name the sums to expect and their shapes.
  Status load(const std::string& path, const model::NamedParameters& weights);

 private:
  std::vector<std::pair<std::string, at::Tensor>> sums_;  // each [weight's shape], float64
  int count_ = 0;
};

}  // namespace dqa::train
