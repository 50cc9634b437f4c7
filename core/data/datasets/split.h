#pragma once
// A train/evaluation split by source content (IqaRecord::referenceId): every distorted
// version of one reference lands on the same side, so nothing the model was trained on
// is evaluated. Written once to a JSON file that depictqa-eval (and later the trainer)
// reads:
//   {"format": "depictqa-split/1", "dataset": "kadid10k", "seed": 1,
//    "eval_fraction": 0.2, "train": ["I01", ...], "eval": ["I02", ...]}
#include <cstdint>
#include <set>
#include <string>

#include "core/common/result.h"
#include "core/data/datasets/dataset.h"

namespace dqa::data {

struct Split {
  std::string dataset;
  uint64_t seed = 1;
  double evalFraction = 0.2;
  std::set<std::string> train, eval;  // reference ids
};

enum class SplitSide { Train, Eval };

// The dataset's distinct reference ids shuffled with `seed`; the first
// round(evalFraction * n) (at least one, at most n - 1 when n >= 2) go to eval.
Result<Split> makeSplit(const Dataset& dataset, double evalFraction, uint64_t seed);
Status writeSplit(const Split& split, const std::string& path);
Result<Split> readSplit(const std::string& path);
// Keeps the records (and pairs) on `side`. A record whose reference id the split does
// not list is an error (the split was made for another dataset or another version of it).
Status applySplit(const Split& split, SplitSide side, Dataset& dataset);

}  // namespace dqa::data
