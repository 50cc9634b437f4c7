#include "core/data/datasets/split.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

namespace dqa::data {
namespace {

using nlohmann::json;
constexpr const char* kFormat = "depictqa-split/1";

std::vector<std::string> referenceIds(const Dataset& d) {
  std::set<std::string> ids;
  for (const auto& r : d.images) ids.insert(r.referenceId);
  for (const auto& p : d.pairs) ids.insert(p.referenceId);
  return {ids.begin(), ids.end()};
}

}  // namespace

Result<Split> makeSplit(const Dataset& dataset, double evalFraction, uint64_t seed) {
  if (!(evalFraction > 0 && evalFraction < 1)) return makeError("the evaluation fraction must lie between 0 and 1");
  std::vector<std::string> ids = referenceIds(dataset);
  if (ids.size() < 2)
    return makeError(dataset.name + ": only " + std::to_string(ids.size()) +
                     " reference image(s); a split needs two or more");
  std::mt19937_64 rng(seed);
  std::shuffle(ids.begin(), ids.end(), rng);  // from the sorted list: the same seed gives the same split
  const size_t n = ids.size();
  const size_t nEval = std::clamp<size_t>(size_t(std::lround(evalFraction * double(n))), 1, n - 1);
  Split s;
  s.dataset = dataset.name;
  s.seed = seed;
  s.evalFraction = evalFraction;
  s.eval.insert(ids.begin(), ids.begin() + long(nEval));
  s.train.insert(ids.begin() + long(nEval), ids.end());
  return s;
}

Status writeSplit(const Split& s, const std::string& path) {
  const json j = {{"format", kFormat}, {"dataset", s.dataset}, {"seed", s.seed}, {"eval_fraction", s.evalFraction},
                  {"train", s.train},  {"eval", s.eval}};
  std::ofstream out(path);
  if (!out) return makeError(path + ": cannot write the split file");
  out << j.dump(1) << "\n";
  if (!out) return makeError(path + ": writing the split file failed (disk full?)");
  return Ok{};
}

Result<Split> readSplit(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(path + ": cannot open the split file");
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return makeError(path + ": not a JSON split file");
  if (j.value("format", "") != kFormat)
    return makeError(path + ": not a split file of this program (\"format\" is not \"" + std::string(kFormat) + "\")");
  Split s;
  try {
    s.dataset = j.at("dataset").get<std::string>();
    s.seed = j.at("seed").get<uint64_t>();
    s.evalFraction = j.at("eval_fraction").get<double>();
    s.train = j.at("train").get<std::set<std::string>>();
    s.eval = j.at("eval").get<std::set<std::string>>();
  } catch (const json::exception& e) { return makeError(path + ": " + e.what()); }
  for (const auto& id : s.eval)
    if (s.train.count(id)) return makeError(path + ": reference \"" + id + "\" is listed in both train and eval");
  return s;
}

Status applySplit(const Split& split, SplitSide side, Dataset& d) {
  if (split.dataset != d.name)
    return makeError("the split was made for " + split.dataset + ", not " + d.name + "; make one with --write-split");
  const auto& keep = side == SplitSide::Eval ? split.eval : split.train;
  auto check = [&](const std::string& id, const std::string& source) -> Status {
    if (!split.eval.count(id) && !split.train.count(id))
      return makeError(source + ": reference \"" + id +
                       "\" is in neither side of the split (made from another copy of " + d.name +
                       "?); make a new split with --write-split");
    return Ok{};
  };
  std::vector<IqaRecord> images;
  for (auto& r : d.images) {
    if (auto s = check(r.referenceId, r.source); !s) return s;
    if (keep.count(r.referenceId)) images.push_back(std::move(r));
  }
  std::vector<PairRecord> pairs;
  for (auto& p : d.pairs) {
    if (auto s = check(p.referenceId, p.source); !s) return s;
    if (keep.count(p.referenceId)) pairs.push_back(std::move(p));
  }
  d.images = std::move(images);
  d.pairs = std::move(pairs);
  return Ok{};
}

}  // namespace dqa::data
