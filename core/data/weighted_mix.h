#pragma once
// Mixing training datasets by weight, reproducibly: draw g of the training run (g = 0,
// 1, 2, ...) comes from source s with probability weight_s / sum(weights), decided by a
// hash of (seed, g) alone; within a source the draws walk through a fresh permutation
// every epoch. So the examples of a run are a pure function of (seed, weights, sizes)
// and a resumed run sees what an uninterrupted one would have seen. With one source this
// is exactly the trainer's former epoch shuffle.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/common/result.h"

namespace dqa::data {

class WeightedMix {
 public:
  // One weight (> 0) and one size (> 0) per source.
  static Result<WeightedMix> make(const std::vector<double>& weights, const std::vector<size_t>& sizes, uint64_t seed);

  struct Pick {
    size_t source = 0;
    size_t index = 0;  // into that source
  };
  // Draw `position`. Cheapest for increasing positions; asking for an earlier one
  // replays the draws from 0 (a hash each).
  Pick at(uint64_t position);
  // The source draw `position` comes from (a pure function).
  size_t sourceOf(uint64_t position) const;
  size_t sources() const { return sizes_.size(); }

 private:
  WeightedMix() = default;
  const std::vector<size_t>& permutation(size_t source, uint64_t epoch);

  std::vector<double> cumulative_;  // normalised, last = 1
  std::vector<size_t> sizes_;
  uint64_t seed_ = 0;
  uint64_t cursor_ = 0;            // draws [0, cursor_) are counted in drawn_
  std::vector<uint64_t> drawn_;    // per source
  std::vector<uint64_t> epochOf_;  // per source: the epoch `orders_` holds
  std::vector<std::vector<size_t>> orders_;
};

}  // namespace dqa::data
