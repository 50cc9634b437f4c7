#pragma once
// The benchmark report of depictqa-eval --dataset (dataset_eval.h): from a dataset's
// records and each item's scores (one JSON object per item, as results.jsonl holds them)
// the correlation table, per-distortion rows, BAPPS accuracies, plots, report.md and
// report.json.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/data/datasets/dataset.h"
#include "core/eval/dataset_eval.h"

namespace dqa::eval {

struct DatasetRun {
  const data::Dataset* dataset = nullptr;     // the records evaluated (after split and limit)
  std::vector<const nlohmann::json*> scores;  // per record (images) or pair, in order
  std::string model;                          // the model directory
  int scoredNow = 0, resumed = 0;             // items scored in this run, read back
  double modelMs = 0, classicalMs = 0;        // summed over the items scored in this run
  std::string splitNote;                      // which part of a split, if any
};

// Writes report.md, report.json and the plots into options.outputDirectory; returns the Markdown.
Result<std::string> writeDatasetReport(const DatasetRun& run, const DatasetEvalOptions& options);

}  // namespace dqa::eval
