#pragma once
// Temperature scaling of the A/B verdict (Guo et al., 2017): a factor T on the two-way
// logit log(P(A) / P(B)) of the brief answer's letter, chosen by likelihood on comparison
// pairs of calibration splits (depictqa-datagen splits made with another seed than the
// evaluation's), one for comparisons with a reference and one for those without (a model
// is right more often with one: a single temperature left the first under-confident and
// the second over-confident), kept in the model's config.json as "verdict_temperature"
// and "verdict_temperature_no_reference" (gen::temperedLetterProbabilities). It changes
// the confidence, never the verdict.
#include <functional>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa {
class Engine;
}

namespace dqa::eval {

struct VerdictLogit {
  double logit = 0;      // log(P(A) / P(B)) as the engine gives it
  bool aBetter = false;  // the truth
};

double meanNegativeLogLikelihood(const std::vector<VerdictLogit>& pairs, double temperature);
// The temperature of least negative log-likelihood, in [1/20, 20] (golden-section search
// over log T; the likelihood is unimodal there). 1 when `pairs` is empty.
double fitTemperature(const std::vector<VerdictLogit>& pairs);
// ECE of the verdicts (10 bins, as the evaluation's) with the temperature applied.
double temperedCalibrationError(const std::vector<VerdictLogit>& pairs, double temperature);

// The temperatures of comparisons with a reference and without one.
struct VerdictTemperatures {
  double withReference = 1, noReference = 1;
};

struct VerdictTemperatureFit {
  VerdictTemperatures previous;  // the model's when asked
  // The new ones: each `previous` times the factor fitted on the answers of its kind.
  VerdictTemperatures temperature;
  int pairsWithReference = 0, pairsNoReference = 0;
  // Over all the pairs, each kind at its own temperature.
  double nllBefore = 0, nllAfter = 0, eceBefore = 0, eceAfter = 0;
};

// Asks the brief comparison (the app's question, no preference) of up to `pairsPerSplit`
// pairs with a winner from each split folder, with and without a reference as the
// records say, and fits a temperature for each kind (at least 50 pairs of each).
// Writes nothing.
Result<VerdictTemperatureFit> fitVerdictTemperature(Engine& engine, const VerdictTemperatures& current,
                                                    const std::vector<std::string>& splits, int pairsPerSplit,
                                                    const std::function<void(int done)>& progress = {});

// Sets "verdict_temperature" and "verdict_temperature_no_reference" in
// <modelDirectory>/config.json, the other keys as they were (written beside it, then
// renamed over it).
Status writeVerdictTemperature(const std::string& modelDirectory, const VerdictTemperatures& temperatures);

}  // namespace dqa::eval
