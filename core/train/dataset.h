#pragma once
// Training examples streamed from the data engine's shards (see core/data/shards.h):
// one JSON record per line, patches as raw RGB bytes in the .bin of the same number.
#include <opencv2/core.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/text/prompt.h"

namespace dqa::train {

struct TrainingExample {
  std::string id;
  text::PromptRequest prompt;   // task, reference mode, question, preference, short answer
  std::string answer;
  cv::Mat reference, a, b;      // RGB CV_8UC3; empty when the task has no such image
  double mosA = -1, mosB = -1;  // human-score labels of the distorted images (-1: none)
  char winner = 0;              // 'A', 'B' or 0 (tie / description)
};

class ShardDataset {
 public:
  // `directory` holds shard-NNNNN.jsonl/.bin files (one split).
  static Result<ShardDataset> open(const std::string& directory);
  size_t size() const { return records_.size(); }
  Result<TrainingExample> get(size_t index) const;
  const nlohmann::json& record(size_t index) const { return records_[index]; }

 private:
  std::string directory_;
  std::vector<nlohmann::json> records_;
};

}  // namespace dqa::train
