#pragma once
// `depictqa batch`: answer every record of a DepictQA infer.py file
// ({id, image_ref, image_A, image_B, query} in JSON or JSONL) and append one JSONL line
// per record to an output file; resumable (ids already in the output are skipped).
#include <atomic>
#include <string>

#include "core/generate/engine.h"

namespace dqa::cli {

struct BatchOptions {
  std::string input;            // .json (array) or .jsonl (one record a line)
  std::string output;           // JSONL, appended to; "-" = stdout (no resume)
  std::string imageRoot;        // relative image paths: this, else the input's folder
  std::string task = "auto";    // used when a record has no task field
  std::string preference;       // appended to every question
  bool shortAnswer = false;
  bool retryErrors = false;     // on resume, redo records whose line has an error
  bool progress = true;
  long long limit = 0;          // at most this many pending records (0 = all)
  int workers = 1;              // engines answering in parallel (each loads the model)
  int threads = 0;              // CPU threads in all (0 = every core), split over workers
};

// Returns the process exit status (0 done, 1 fatal error, 130 interrupted).
int runBatch(const BatchOptions& batch, const EngineOptions& engine, const gen::SamplingParams& sampling,
             std::atomic<bool>* cancel);

}  // namespace dqa::cli
