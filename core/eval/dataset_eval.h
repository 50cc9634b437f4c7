#pragma once
// depictqa-eval --dataset: the model's score for every image of a standard IQA dataset
// (core/data/datasets), the classical metrics on the same images, and the benchmark
// table: SRCC, PLCC and RMSE after the 4-parameter logistic, KRCC, with bootstrap
// intervals (correlation.h); 2AFC accuracy and JND mAP on BAPPS. Each scored item is
// appended to results.jsonl as soon as it is scored, and a later run with the same
// output folder reads it back and scores only what is missing (resume).
#include <cstdint>
#include <functional>
#include <string>

#include "core/common/result.h"
#include "core/generate/engine.h"

namespace dqa::eval {

struct DatasetEvalOptions {
  std::string dataset;          // a name of data::datasetNames()
  std::string root;             // the dataset's folder as unpacked
  std::string outputDirectory;  // results.jsonl, report.md, report.json, PNG plots
  std::string splitPath;        // optional: evaluate only the split's "eval" side
  int limit = 0;                // score at most this many items (0: all), in the index's order
  bool skipMissing = false;     // leave out (and count) rows whose images are missing
  bool classical = true;        // PSNR/SSIM/GMSD (with a reference), BRISQUE (without)
  int resamples = 1000;         // bootstrap replicates for the intervals
  uint64_t seed = 1;
};

// `progress(done, total, scoredNow)` after every item: `done` counts the items read back
// from results.jsonl too, `scoredNow` only those scored in this run (for a rate).
Result<std::string> evaluateDataset(Engine& engine, const DatasetEvalOptions& options,
                                    const std::function<void(int done, int total, int scoredNow)>& progress = {});

}  // namespace dqa::eval
