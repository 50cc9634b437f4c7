#pragma once
// Training samples made on the fly by the data engine inside the trainer: fresh patches,
// distortions and texts every step, nothing repeated (DESIGN.md: diversity beats scale).
// Sample i of a stream is a pure function of (photos, split, seed, i): a run resumed at
// step k sees exactly the samples an uninterrupted run would have seen.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/data/photos.h"
#include "core/data/sampler.h"
#include "core/data/shard_dataset.h"

namespace dqa::train {

struct StreamOptions {
  std::string photosDirectory;  // scripts/fetch_photos.sh output
  // The photo and type split: must be the one the validation shards were made with
  // (depictqa-datagen writes it into manifest.json; see splitFromManifest).
  data::SplitConfig split;
  std::uint64_t seed = 1;
  int threads = 2;          // samples are generated in parallel, then training runs
  int maxPhotos = 0;        // 0: all
  int syntheticPhotos = 0;  // > 0: synthetic images instead of photos (tests)
  // Draw the data engine's photographic variants too (data::SamplerConfig); off in the
  // shipped recipe.
  bool photographicVariants = false;
};

// The split recorded in a depictqa-datagen manifest.json.
Result<data::SplitConfig> splitFromManifest(const std::string& manifestPath);

class SampleStream {
 public:
  static Result<std::unique_ptr<SampleStream>> open(const StreamOptions& options);
  ~SampleStream();

  // Examples [first, first + count) of the training side, made with `sampler` (its seed
  // is replaced by the stream's, its types by the training types). Samples the engine
  // cannot make (no photo large enough) are skipped, so fewer may come back.
  std::vector<data::TrainingExample> examples(std::uint64_t first, int count, data::SamplerConfig sampler) const;

 private:
  SampleStream() = default;
  StreamOptions options_;
  std::vector<data::Photo> photos_;
  std::vector<const data::Photo*> trainingPhotos_;
};

}  // namespace dqa::train
