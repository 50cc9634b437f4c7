#pragma once
// The reading side of the data engine's shards (the writing side: core/data/shards.h):
// one JSON record per line, patches as raw RGB bytes in the .bin of the same number,
// read into typed examples for the trainer and the evaluator.
#include <opencv2/core.hpp>

#include <nlohmann/json.hpp>
#include <array>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/text/prompt.h"

namespace dqa::data {

// What the questionnaire says about one distorted image: the labels of the encoder's heads.
struct ImageTruth {
  bool present = false;
  double mos = -1;                                           // combined human-score label, 1..5
  std::array<int, 5> levels{};                               // per aspect: 0 undistorted, 1 mild, 2 severe
  std::array<double, 5> aspectMos{4.6, 4.6, 4.6, 4.6, 4.6};  // per aspect: its own score label
  int type = 0;                                              // the dominant distortion's KADID type (0: undistorted)
  bool distorted = false;                                    // overall level above "undistorted"
  bool local = false;                                        // a distortion confined to `region`
  int localAspect = -1;                                      // that distortion's aspect (data::Aspect), -1: none
  int region[4] = {0, 0, 0, 0};  // local distortion x, y, w, h in patch pixels (w = 0: global)
  // The image's one distortion when it has exactly one (else level -1): the images of one
  // photo distorted by one type and variant at two levels are ordered by the level, however
  // close their score labels (data::orderOfLevels).
  double soleLevel = -1;
  int soleType = 0;
  std::string soleVariant;
};

// +1 when `a` is known to be better than `b` (each carries one global distortion of the
// same type and variant, and a's level is lower by at least `minLevelGap`), -1 when
// known worse, 0 when the labels do not say.
int orderOfLevels(const ImageTruth& a, const ImageTruth& b, double minLevelGap);

struct TrainingExample {
  std::string id;
  text::PromptRequest prompt;  // task, reference mode, question, preference, short answer
  std::string answer;
  cv::Mat reference, a, b;      // RGB CV_8UC3; empty when the task has no such image
  double mosA = -1, mosB = -1;  // human-score labels of the distorted images (-1: none)
  char winner = 0;              // 'A', 'B' or 0 (tie / description)
  char winnerWithoutPreference = 0;
  bool preferenceFlipped = false;
  bool tooCloseToCall = false;  // pairs: the human-score gap is too small for a verdict
  bool hasPreference = false;   // pairs: the question carries a preference
  ImageTruth truthA, truthB;    // description: truthA is the assessed image
  // Which "Image A"/"Image B" mention of the answer states the verdict (0-based; the
  // first mention in its verdict sentence, winner or loser), -1 when it states none
  // (ties, descriptions).
  int verdictMention = -1;
};

// A record as the data engine writes it (shards.h: data::sampleRecord) with its images.
// Shards and the trainer's own sample stream both go through here.
Result<TrainingExample> exampleFromRecord(const nlohmann::json& record, cv::Mat reference, cv::Mat a, cv::Mat b);

// The verdict mention of an answer whose winner is `winner` ('A' or 'B'; see
// TrainingExample::verdictMention), whichever image the verdict sentence names first;
// -1 when the answer states no verdict or one that contradicts `winner`.
int verdictMentionIndex(const std::string& answer, char winner);

class ShardDataset {
 public:
  // `directory` holds shard-NNNNN.jsonl/.bin files (one split).
  static Result<ShardDataset> open(const std::string& directory);
  size_t size() const { return records_.size(); }
  Result<TrainingExample> get(size_t index) const;
  const nlohmann::json& record(size_t index) const { return records_[index]; }

 private:
  std::vector<nlohmann::json> records_;
};

}  // namespace dqa::data
