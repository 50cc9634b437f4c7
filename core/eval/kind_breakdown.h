#pragma once
// 2AFC by distortion kind: the brief verdict's, the heads' and a classical metric's
// accuracy on the pairs in which an image's dominant distortion is of each KADID type,
// with and without a reference. The overall rows say how often the model is right; this
// table says where it is wrong (docs/model.md: on unseen types without a reference the
// kinds differ by 20 points), which is what a change to the encoder is aimed at and
// measured by.
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/data/shard_dataset.h"
#include "core/eval/measures.h"

namespace dqa::eval {

// One 2AFC pair's outcome. `heads` and `classical` are empty where the model has no heads
// or the metric could not be computed (the classical metric: SSIM with a reference,
// BRISQUE without one, as the report's overall rows).
struct PairOutcome {
  bool withReference = false;
  bool model = false;
  std::optional<bool> heads, classical;
};

class KindBreakdown {
 public:
  // Counts the pair once under the dominant type of each image (data::ImageTruth::type;
  // 0 = undistorted), once only where both share it, and under "same kind" or "different
  // kinds".
  void add(const data::ImageTruth& a, const data::ImageTruth& b, const PairOutcome& outcome);

  // {"full_reference": {"<type name>": {"model": rate, "heads": rate, "classical": rate}, ...,
  //  "same_kind": ..., "different_kinds": ...}, "no_reference": {...}}; rates as
  // {"accuracy", "n"}.
  nlohmann::json toJson() const;
  // A Markdown table, one row per kind, FR and NR side by side; empty when nothing was added.
  std::string markdown() const;

 private:
  struct Rates {
    Rate model, heads, classical;
    void add(const PairOutcome& o);
  };
  struct Side {
    std::map<int, Rates> byType;  // KADID type, 0 = undistorted
    Rates sameKind, differentKinds;
  };
  Side fr_, nr_;
};

}  // namespace dqa::eval
