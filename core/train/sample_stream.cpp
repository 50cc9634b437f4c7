#include "core/train/sample_stream.h"

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/data/distortions.h"
#include "core/data/shards.h"

namespace dqa::train {

Result<data::SplitConfig> splitFromManifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError("cannot read '" + path + "' (the manifest.json that depictqa-datagen wrote)");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return makeError("'" + path + "' is not a JSON object");
  try {
    data::SplitConfig s;
    if (j.contains("split")) {
      const auto& sp = j.at("split");
      s.valFraction = sp.at("val_fraction").get<double>();
      s.seed = sp.at("seed").get<std::uint64_t>();
      s.heldOutTypes = sp.at("held_out_types").get<std::vector<int>>();
    } else {  // manifests from before the split was recorded: datagen's defaults
      s.seed = j.at("seed").get<std::uint64_t>() ^ 0x5eedULL;
      s.heldOutTypes = j.at("held_out_types").get<std::vector<int>>();
    }
    return s;
  } catch (const nlohmann::json::exception& e) { return makeError("'" + path + "' lacks the split: " + e.what()); }
}

SampleStream::~SampleStream() = default;

Result<std::unique_ptr<SampleStream>> SampleStream::open(const StreamOptions& o) {
  std::unique_ptr<SampleStream> s(new SampleStream());
  s->options_ = o;
  if (o.syntheticPhotos > 0) {
    s->photos_ = data::syntheticPhotos(o.syntheticPhotos, 384, 288, o.split, o.seed);
  } else {
    data::PhotoLoadOptions lo;
    lo.maxPhotos = o.maxPhotos;
    auto photos = data::loadPhotos(o.photosDirectory, o.split, lo);
    if (!photos) return photos.error();
    s->photos_ = std::move(photos.value());
  }
  for (const auto& p : s->photos_)
    if (!p.validation) s->trainingPhotos_.push_back(&p);
  if (s->trainingPhotos_.empty())
    return makeError("no training photos: every photo in '" + o.photosDirectory + "' is on the validation side");
  return s;
}

std::vector<data::TrainingExample> SampleStream::examples(std::uint64_t first, int count,
                                                          data::SamplerConfig cfg) const {
  cfg.types = data::typesForSplit(data::Split::Train, options_.split);
  cfg.seed = data::mixSeed(options_.seed, 0x57ea3);  // a stream of its own, apart from the shards'
  cfg.photographicVariants = options_.photographicVariants;
  std::vector<data::Sample> samples(size_t(std::max(0, count)));
  std::vector<char> made(samples.size(), 0);
  std::atomic<int> next{0};
  auto work = [&]() {
    for (int i; (i = next.fetch_add(1)) < count;)
      made[size_t(i)] = data::generateSample(trainingPhotos_, cfg, first + std::uint64_t(i), &samples[size_t(i)]);
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < std::max(1, options_.threads); ++t) workers.emplace_back(work);
  work();
  for (auto& w : workers) w.join();
  std::vector<data::TrainingExample> out;
  out.reserve(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!made[i]) continue;
    auto ex = data::exampleFromRecord(data::sampleRecord(samples[i], "stream"), samples[i].reference, samples[i].a,
                                      samples[i].b);
    if (ex) out.push_back(std::move(ex.value()));
  }
  return out;
}

}  // namespace dqa::train
