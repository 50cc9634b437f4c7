#pragma once
// Measures a model on held-out shards the way the issue asks: 2AFC (full- and
// no-reference) next to classical metrics on the same pairs, aspect identification and
// level accuracy (description, via the reverse parser), reasoning fields, A/B
// confusion, reasoning/short-answer consistency, preference adherence, confidence
// calibration (ECE). Writes JSON, a Markdown table and PNG plots.
#include <string>

#include "core/common/result.h"
#include "core/generate/engine.h"

namespace dqa::eval {

struct EvalOptions {
  std::string shards;            // a split folder of depictqa-datagen
  std::string outputDirectory;   // report.json, report.md, *.png
  std::string label;             // e.g. "validation (unseen photos)"
  int maxPairs = 400;            // comparison pairs judged (each split FR/NR by the record)
  int maxDescriptions = 200;
  int maxReasoning = 150;
  int maxPreference = 150;
  int maxPointing = 100;         // local distortions: attention pointing game
  int maxNewTokens = 160;
};

// Runs every measurement with `engine`; returns the Markdown table (also written).
Result<std::string> evaluate(Engine& engine, const EvalOptions& options,
                             const std::function<void(const std::string&, int, int)>& progress = {});

}  // namespace dqa::eval
