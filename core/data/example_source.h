#pragma once
// What the language stage trains on: one interface over every kind of training
// records (the data engine's shards, DepictQA's training JSON), several of them mixed
// by weight (weighted_mix.h). A DepictQA JSON that comes with a split file contributes
// only the records of the split's train side.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/data/shard_dataset.h"
#include "core/data/weighted_mix.h"

namespace dqa::text {
class Tokenizer;
}

namespace dqa::data {

class ExampleSource {
 public:
  virtual ~ExampleSource() = default;
  virtual std::string describe() const = 0;  // for the log: kind, path, record count
  virtual size_t size() const = 0;
  virtual Result<TrainingExample> get(size_t index) const = 0;
};

struct SourceSpec {
  enum class Kind { Shards, DepictqaJson } kind = Kind::Shards;
  std::string path;
  double weight = 1;
};

// "PATH" or "PATH:WEIGHT" (the weight: a positive number after the last colon).
Result<SourceSpec> parseSourceSpec(SourceSpec::Kind kind, const std::string& text);

struct MixOptions {
  std::vector<SourceSpec> sources;
  std::string imageRoot;     // DepictQA JSON image paths are relative to this folder
  std::string splitPath;     // depictqa-split/1 file: DepictQA JSON records of its train side only
  bool skipMissing = false;  // leave out DepictQA JSON records whose images are missing
  int maxImageSide = 0;      // scale DepictQA JSON images down to this longer side (0: as on disk)
  uint64_t seed = 1;
};

// A split by reference image of every DepictQA JSON record of `options` (shards carry
// their own), written to `path`; says how many reference images went to each side.
Result<std::string> writeDepictqaSplit(const MixOptions& options, double evalFraction, uint64_t seed,
                                       const std::string& path);

class TrainingMix {
 public:
  // Opens every source; DepictQA JSON answers are checked against `tokenizer` (with at
  // most `maxAnswerTokens` tokens, 0: no limit).
  static Result<TrainingMix> open(const MixOptions& options, const text::Tokenizer& tokenizer, int maxAnswerTokens);
  // Draw `position` of the run (see WeightedMix).
  Result<TrainingExample> at(uint64_t position);
  // One line per source (records, weight, share of the draws), then what was left out.
  const std::vector<std::string>& summary() const { return summary_; }
  const ExampleSource& source(size_t i) const { return *sources_[i]; }
  size_t sources() const { return sources_.size(); }

 private:
  TrainingMix(std::vector<std::unique_ptr<ExampleSource>> sources, WeightedMix mix)
      : sources_(std::move(sources)), mix_(std::move(mix)) {}
  std::vector<std::unique_ptr<ExampleSource>> sources_;
  WeightedMix mix_;
  std::vector<std::string> summary_;
};

}  // namespace dqa::data
