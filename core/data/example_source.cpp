#include "core/data/example_source.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "core/data/datasets/split.h"
#include "core/data/depictqa_json.h"

namespace dqa::data {
namespace {

class ShardSource : public ExampleSource {
 public:
  ShardSource(std::string path, ShardDataset data) : path_(std::move(path)), data_(std::move(data)) {}
  std::string describe() const override { return "shards " + path_ + ": " + std::to_string(data_.size()) + " records"; }
  size_t size() const override { return data_.size(); }
  Result<TrainingExample> get(size_t index) const override { return data_.get(index); }

 private:
  std::string path_;
  ShardDataset data_;
};

class DepictqaSource : public ExampleSource {
 public:
  DepictqaSource(DepictqaJson json, int maxSide, std::string notes)
      : json_(std::move(json)), maxSide_(maxSide), notes_(std::move(notes)) {}
  std::string describe() const override {
    return "DepictQA JSON " + json_.path + ": " + std::to_string(json_.records.size()) + " records" + notes_;
  }
  size_t size() const override { return json_.records.size(); }
  Result<TrainingExample> get(size_t index) const override {
    return loadDepictqaExample(json_.records[index], maxSide_);
  }

 private:
  DepictqaJson json_;
  int maxSide_;
  std::string notes_;
};

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * share);
  return buf;
}

// Every DepictQA JSON of the mix, read, their reference ids linked across files.
Result<std::vector<DepictqaJson>> readAllDepictqa(const MixOptions& o) {
  std::vector<DepictqaJson> files;
  for (const auto& spec : o.sources) {
    if (spec.kind != SourceSpec::Kind::DepictqaJson) continue;
    auto json = readDepictqaJson(spec.path, o.imageRoot, {o.skipMissing});
    if (!json) return json.error();
    files.push_back(std::move(json.value()));
  }
  linkReferenceIds(files);
  return files;
}

// One DepictQA JSON cut to the split's train side, its answers checked.
Result<std::unique_ptr<ExampleSource>> depictqaSource(DepictqaJson json, const MixOptions& o,
                                                      const std::optional<Split>& split,
                                                      const text::Tokenizer& tokenizer, int maxAnswerTokens) {
  std::string notes;
  if (json.skippedMissing)
    notes += ", " + std::to_string(json.skippedMissing) + " skipped for missing images (--skip-missing)";
  if (split) {
    const size_t before = json.records.size();
    if (auto ok = applySplit(split.value(), SplitSide::Train, json); !ok) return ok.error();
    notes += ", " + std::to_string(before - json.records.size()) + " of the split's eval side left out";
    if (json.records.empty())
      return makeError(json.path + ": every record is on the eval side of " + o.splitPath + "; nothing to train on");
  }
  if (auto ok = checkAnswers(json, tokenizer, maxAnswerTokens); !ok) return ok.error();
  return std::unique_ptr<ExampleSource>(new DepictqaSource(std::move(json), o.maxImageSide, notes));
}

}  // namespace

Result<SourceSpec> parseSourceSpec(SourceSpec::Kind kind, const std::string& text) {
  SourceSpec s;
  s.kind = kind;
  s.path = text;
  const size_t colon = text.rfind(':');
  if (colon != std::string::npos && colon + 1 < text.size()) {
    const std::string tail = text.substr(colon + 1);
    char* end = nullptr;
    const double w = std::strtod(tail.c_str(), &end);
    if (end && *end == '\0') {
      if (!(w > 0)) return makeError("'" + text + "': the weight after the colon must be a positive number");
      s.weight = w;
      s.path = text.substr(0, colon);
    }
  }
  if (s.path.empty()) return makeError("'" + text + "': no path before the weight");
  return s;
}

Result<std::string> writeDepictqaSplit(const MixOptions& o, double evalFraction, uint64_t seed,
                                       const std::string& path) {
  auto files = readAllDepictqa(o);
  if (!files) return files.error();
  if (files->empty()) return makeError("a split is made of DepictQA JSON records: give --train-json files");
  auto split = makeSplit(referenceDataset(files.value()), evalFraction, seed);
  if (!split) return split.error();
  if (auto ok = writeSplit(split.value(), path); !ok) return ok.error();
  return "split written to " + path + ": " + std::to_string(split->train.size()) +
         " reference images on the train side, " + std::to_string(split->eval.size()) + " on the eval side";
}

Result<TrainingMix> TrainingMix::open(const MixOptions& o, const text::Tokenizer& tokenizer, int maxAnswerTokens) {
  if (o.sources.empty()) return makeError("no training data: give shards or a DepictQA JSON file");
  std::optional<Split> split;
  if (!o.splitPath.empty()) {
    auto s = readSplit(o.splitPath);
    if (!s) return s.error();
    split = std::move(s.value());
  }
  std::vector<std::unique_ptr<ExampleSource>> sources;
  std::vector<double> weights;
  std::vector<size_t> sizes;
  auto json = readAllDepictqa(o);
  if (!json) return json.error();
  size_t nextJson = 0;
  for (const auto& spec : o.sources) {
    if (spec.kind == SourceSpec::Kind::Shards) {
      auto ds = ShardDataset::open(spec.path);
      if (!ds) return ds.error();
      sources.emplace_back(new ShardSource(spec.path, std::move(ds.value())));
    } else {
      auto s = depictqaSource(std::move(json.value()[nextJson++]), o, split, tokenizer, maxAnswerTokens);
      if (!s) return s.error();
      sources.push_back(std::move(s.value()));
    }
    weights.push_back(spec.weight);
    sizes.push_back(sources.back()->size());
  }
  if (split && json->empty())
    return makeError("a split file applies to DepictQA JSON records (--train-json); shards carry their own split");
  auto mix = WeightedMix::make(weights, sizes, o.seed);
  if (!mix) return mix.error();
  TrainingMix out(std::move(sources), std::move(mix.value()));
  double total = 0;
  for (double w : weights) total += w;
  for (size_t i = 0; i < out.sources_.size(); ++i)
    out.summary_.push_back(out.sources_[i]->describe() + "; weight " + std::to_string(weights[i]).substr(0, 6) + " (" +
                           percent(weights[i] / total) + " of the examples)");
  return out;
}

Result<TrainingExample> TrainingMix::at(uint64_t position) {
  const WeightedMix::Pick p = mix_.at(position);
  return sources_[p.source]->get(p.index);
}

}  // namespace dqa::data
