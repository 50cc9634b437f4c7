#pragma once
// `depictqa batch`: answer every record of a DepictQA infer.py file
// ({id, image_ref, image_A, image_B, query} in JSON or JSONL) and append one JSONL line
// per record to an output file; resumable (ids already in the output are skipped).
// `--shard I/N` answers the I-th of N disjoint parts of the records (split by id), so
// that N processes or machines share the work; `depictqa batch merge` joins their outputs.
#include <atomic>
#include <string>
#include <vector>

#include "core/generate/engine.h"

namespace dqa::cli {

struct BatchOptions {
  std::string input;          // .json (array) or .jsonl (one record a line)
  std::string output;         // JSONL, appended to; "-" = stdout (no resume)
  std::string imageRoot;      // relative image paths: this, else the input's folder
  std::string task = "auto";  // used when a record has no task field
  std::string preference;     // appended to every question
  bool shortAnswer = false;
  bool retryErrors = false;  // on resume, redo records whose line has an error
  bool progress = true;
  long long limit = 0;                 // at most this many pending records (0 = all)
  int workers = 1;                     // engines answering in parallel (each loads the model)
  int threads = 0;                     // CPU threads in all (0 = every core), split over workers
  int shardIndex = 0, shardCount = 1;  // answer only the records of shard shardIndex of shardCount
};

struct MergeOptions {
  std::vector<std::string> shards;  // the shards' output files
  std::string input;                // the records (optional: then missing ones cannot be named)
  std::string output;               // merged JSONL, written anew
};

// "I/N" with 0 <= I < N; false (and *error says why) otherwise.
bool parseShard(const std::string& text, int* index, int* count, std::string* error);

// Returns the process exit status (0 done, 1 fatal error, 130 interrupted).
int runBatch(const BatchOptions& batch, const EngineOptions& engine, const gen::SamplingParams& sampling,
             std::atomic<bool>* cancel);

// Joins shard outputs: one line per record (the last line of an id within a shard wins,
// as on resume), in the input's order. Writes nothing and returns 1 when a record is
// missing or answered by two shards; 0 when merged.
int runMerge(const MergeOptions& merge);

}  // namespace dqa::cli
