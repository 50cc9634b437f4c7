#pragma once
// Measures a model on held-out shards the way the issue asks: 2AFC (full- and
// no-reference) next to classical metrics on the same pairs, aspect identification and
// level accuracy (description, via the reverse parser), reasoning fields, A/B
// confusion, reasoning/short-answer consistency, preference adherence, confidence
// calibration (ECE). Writes JSON, a Markdown table and PNG plots.
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/generate/engine.h"

namespace dqa::eval {

struct EvalOptions {
  std::string shards;           // a split folder of depictqa-datagen
  std::string outputDirectory;  // report.json, report.md, *.png, verdicts.jsonl (each brief verdict)
  std::string label;            // e.g. "validation (unseen photos)"
  // Defaults give n >= 400 per 2AFC row (pairs split FR/NR by the record) and >= 100
  // preference and pointing cases on a validation split of 6,000 samples.
  int maxPairs = 900;  // comparison pairs judged
  int maxDescriptions = 400;
  int maxReasoning = 200;
  int maxPreference = 150;
  int maxPointing = 120;  // local distortions: attention pointing game
  // Reasonings asked twice more, with the app's default question and with a wording no
  // training template writes (preferences nobody stated; the winner).
  int maxQuestionChecks = 200;
  int maxNewTokens = 160;
  // The decoding the app uses (gen::SamplingParams::guardAnswerGrammar); false
  // measures the decoder's own choices.
  bool guardAnswerGrammar = true;
  // Decoder layers whose attention the pointing game reads (empty: the mean of every
  // layer, as the window shows it).
  std::vector<int> pointingLayers;
};

// Runs every measurement with `engine`; returns the Markdown table (also written).
Result<std::string> evaluate(Engine& engine, const EvalOptions& options,
                             const std::function<void(const std::string&, int, int)>& progress = {});

}  // namespace dqa::eval
