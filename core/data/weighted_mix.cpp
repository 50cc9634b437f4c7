#include "core/data/weighted_mix.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "core/data/distortions.h"

namespace dqa::data {

Result<WeightedMix> WeightedMix::make(const std::vector<double>& weights, const std::vector<size_t>& sizes,
                                      uint64_t seed) {
  if (weights.empty() || weights.size() != sizes.size())
    return makeError("a dataset mix needs one weight per dataset and at least one dataset");
  WeightedMix m;
  double total = 0;
  for (size_t s = 0; s < weights.size(); ++s) {
    if (!(weights[s] > 0) || !std::isfinite(weights[s]))
      return makeError("dataset " + std::to_string(s + 1) + " of the mix has weight " + std::to_string(weights[s]) +
                       "; weights must be positive numbers");
    if (sizes[s] == 0) return makeError("dataset " + std::to_string(s + 1) + " of the mix has no records");
    total += weights[s];
    m.cumulative_.push_back(total);
  }
  for (double& c : m.cumulative_) c /= total;
  m.cumulative_.back() = 1.0;
  m.sizes_ = sizes;
  m.seed_ = seed;
  m.drawn_.assign(sizes.size(), 0);
  m.epochOf_.assign(sizes.size(), UINT64_MAX);
  m.orders_.resize(sizes.size());
  return m;
}

size_t WeightedMix::sourceOf(uint64_t position) const {
  if (sizes_.size() == 1) return 0;
  const double u = double(mixSeed(seed_ ^ 0x3c1e5a, position) >> 11) * 0x1.0p-53;  // [0, 1)
  return size_t(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
}

const std::vector<size_t>& WeightedMix::permutation(size_t source, uint64_t epoch) {
  std::vector<size_t>& order = orders_[source];
  if (epochOf_[source] != epoch) {
    order.resize(sizes_[source]);
    std::iota(order.begin(), order.end(), size_t(0));
    std::mt19937_64 shuffler(seed_ + epoch + source * 0x9E3779B97F4A7C15ULL);
    std::shuffle(order.begin(), order.end(), shuffler);
    epochOf_[source] = epoch;
  }
  return order;
}

WeightedMix::Pick WeightedMix::at(uint64_t position) {
  if (position < cursor_) {
    cursor_ = 0;
    std::fill(drawn_.begin(), drawn_.end(), 0);
  }
  if (sizes_.size() > 1)
    for (; cursor_ < position; ++cursor_) ++drawn_[sourceOf(cursor_)];
  else
    drawn_[0] += position - cursor_;
  const size_t s = sourceOf(position);
  const uint64_t k = drawn_[s]++;
  cursor_ = position + 1;
  const uint64_t n = sizes_[s];
  return {s, permutation(s, k / n)[size_t(k % n)]};
}

}  // namespace dqa::data
