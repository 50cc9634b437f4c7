#pragma once
// Stage 1 of the bundled model's recipe: the quality encoder and its heads trained on
// samples streamed from the data engine (fresh every step), in every comparison mode
// (with/without reference, with/without the other image), with the checkpoint chosen on
// the held-out distortion types. Ends by fitting the pair scale that makes the heads'
// P(A better) calibrated on unseen photos, written into the model's config.json.
#include <functional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/train/quality_batch.h"
#include "core/train/sample_stream.h"

namespace dqa::model {
class MultimodalModel;
}

namespace dqa::train {

struct EncoderStageOptions {
  StreamOptions stream;
  std::string initFrom;  // model directory with a quality encoder (its decoder is kept as is)
  // initFrom lacks the per-aspect score head: add it (addAspectScoreHead) into <out>/init.
  bool addAspectScores = false;
  // >= 0: start from initFrom with its aspect-score head replaced by fresh weights
  // (freshAspectScoreHead) with a layer of this width of its own (0: none), written into
  // <out>/init-fresh-aspect-scores.
  int freshAspectScoreWidth = -1;
  // Train only the parameters whose names start with this ("": the whole encoder and
  // heads). Under "vision_tower.heads." the encoder runs without gradients.
  std::string trainOnly;
  // model/ (the last step, or the average below), best/ (chosen on val_types), last/ (the last
  // step, when model/ is the average), checkpoint/, log.jsonl, loss.png
  std::string outputDirectory;
  std::string validationShards;       // unseen photos: calibration, and reported
  std::string validationTypesShards;  // held-out types: chooses the checkpoint
  std::vector<int> patchSizes{64, 96, 128};
  std::vector<double> patchWeights{1, 1, 1};
  int viewsPerStep = 64;  // views per step at 96 px; scaled by (96 / size)^2
  int steps = 3000;
  int stopAt = 0;  // 0: steps
  double learningRate = 1.5e-3;
  double minLearningRateRatio = 0.05;
  int warmupSteps = 50;
  double weightDecay = 0.01;
  double gradientClip = 1.0;
  QualityLossWeights weights;
  double referenceShare = 0.25;
  // Pairs of one kind at two levels at least this far apart count as decided in the A-vs-B
  // loss however close their score labels (buildQualityBatch; 0: off).
  double sameKindLevelGap = 0;
  int threads = 0;
  int logEvery = 20;
  int evalEvery = 500;
  int evalPairs = 500;  // validation pairs per split and mode
  // > 0: model/ holds the mean of the encoder's weights at every evaluation step from this
  // step on (evalEvery apart) and at the last step; last/ the last step's own weights.
  int averageFrom = 0;
  bool resume = true;
  bool bf16 = false;  // CPU autocast to bfloat16 for the training steps (only where the CPU has bf16 hardware)
};

struct EncoderStageProgress {
  int step = 0, steps = 0;
  double learningRate = 0, viewsPerSecond = 0, etaSeconds = 0;
  QualityLosses losses;  // running averages (total undefined)
  bool evaluated = false;
  // Validation on held-out types (and unseen photos): 2AFC of the score on pairs with a
  // clear gap, with and without reference; aspect distorted-or-not accuracy.
  double typesFR = 0, typesNR = 0, typesAspects = 0, photosFR = 0, photosNR = 0, photosAspects = 0;
  // The heads' verdict on pairs whose stated preference flips the verdict (-1: none).
  double typesPreference = -1, photosPreference = -1;
  double selection = 0;  // what chooses best/: mean of the three val_types figures
};

Status trainEncoderStage(const EncoderStageOptions& options,
                         const std::function<void(const EncoderStageProgress&)>& onProgress);

// 2AFC and aspect accuracy of a model's heads on a shard split (also used by the eval).
struct HeadsValidation {
  double fr = 0, nr = 0, aspects = 0, types = 0;
  int pairs = 0;
  // Pairs whose stated preference flips the verdict, each seen in its own reference mode:
  // how often the heads pick the preferred image (the score weighed by the preference
  // with aspect scores, the plain score without; -1 when the split has none).
  double preference = -1;
  int preferencePairs = 0;
  std::vector<std::pair<double, double>> scoreDifferenceAndTruth;  // (score A - score B, 1/0), both modes
};
Result<HeadsValidation> validateHeads(const model::MultimodalModel& model, const std::string& shards, int maxPairs);

// The pair scale k that makes sigmoid(k * (score A - score B)) calibrated on `pairs`
// (maximum likelihood, golden-section search on [0.1, 30]).
double fitPairScale(const std::vector<std::pair<double, double>>& scoreDifferenceAndTruth);

}  // namespace dqa::train
