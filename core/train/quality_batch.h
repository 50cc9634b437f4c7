#pragma once
// Stage 1 of the recipe: what the quality encoder is shown and what it must say. A batch
// of examples becomes "views" (an image seen with or without its reference, with or
// without the other image of its pair), labelled from the questionnaire; the losses are
// score regression, ranking over every pair of views with a clear score gap (thousands
// per batch, not the few A/B pairs inside samples), the pairwise A-vs-B cross-entropy,
// and the aspect-severity and distortion-type cross-entropies.
#include <ATen/ATen.h>

#include <vector>

#include "core/io/model_config.h"
#include "core/model/quality_encoder.h"
#include "core/data/shard_dataset.h"

namespace dqa::train {

struct ViewMode {
  bool withReference = true;
  bool withOther = true;  // pairs only; single images are seen alone
};

struct QualityBatch {
  at::Tensor input;                  // [V, C, H, W]
  at::Tensor mos;                    // [V] human-score labels, 1..5
  at::Tensor levels;                 // [V, 5] long: 0 undistorted, 1 mild, 2 severe
  at::Tensor types;                  // [V] long: class index into config.distortionTypes
  at::Tensor aspectMos;              // [V, 5] each aspect's score label, 1..5
  at::Tensor pairFirst, pairSecond;  // [P] long: the A and B views of one example
  at::Tensor pairTarget;             // [P] 1: A better, 0: B better, 0.5: too close to call
  int64_t views() const { return mos.defined() ? mos.size(0) : 0; }
};

// The type head's class of a KADID type id (0: undistorted, "none"); -1 when the config's
// distortion_types do not list it.
int typeClass(const io::VisionConfig& config, int kadidType);

// Examples must share one patch size. `referenceShare`: the share of examples whose
// reference is also shown as a view of its own (labelled pristine), in reference modes.
// Deterministic: which references are shown is every k-th example. `sameKindLevelGap` > 0:
// a pair its score labels call too close is labelled with its winner where its images
// are one kind at two levels at least that far apart (data::orderOfLevels; 0: off, every
// pair labelled from the score gap alone).
QualityBatch buildQualityBatch(const io::VisionConfig& config, const std::vector<data::TrainingExample>& examples,
                               ViewMode mode, double referenceShare = 0.25, double sameKindLevelGap = 0);

struct QualityLossWeights {
  double regression = 1, ranking = 1, pair = 1, aspects = 1, types = 1, aspectScores = 1;
  // Ranking of the A and B views of each pair under each of ten stated preferences (every
  // aspect weighed 3 or 0.3), from the aspect scores; what the heads' verdict on a
  // question with a preference rests on (models with aspect scores; 0: off).
  double preference = 0;
  // The ranking above of the score the heads' verdict reads with a preference (the score
  // head's moved by what the preference changes), not of the aspect scores' weighted
  // score alone; and the weight of the pairs whose labelled winner the preference changes
  // (the pairs the preference-adherence figures count).
  bool preferenceOnScore = false;
  double preferenceFlipWeight = 1.0;
  double scoreScale = 3.0;  // logits = scale x score difference (the pair scale before calibration)
  double rankGap = 0.3;     // score labels closer than this are not ranked (KADID's content spread)
};

struct QualityLosses {
  at::Tensor total;
  double regression = 0, ranking = 0, pair = 0, aspects = 0, types = 0, aspectScores = 0, preference = 0;
};

QualityLosses qualityLosses(const model::QualityHeads& heads, const QualityBatch& batch, const QualityLossWeights& w);

}  // namespace dqa::train
