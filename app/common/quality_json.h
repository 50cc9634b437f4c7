#pragma once
// The quality heads' judgement of each image (models that have them) as JSON, the same
// for `depictqa --json` and `depictqa batch`: per image its predicted mean opinion score
// (KADID's 1..5 scale), the likeliest severity of each aspect with its probability, the
// dominant distortion type; for comparisons the heads' P(A better).
#include <nlohmann/json.hpp>
#include <cmath>

#include "core/generate/engine.h"

namespace dqa::app {

// Three decimals, in double: a float rounded in float prints as 0.003000000026077032.
inline double rounded(float x) { return std::round(double(x) * 1000.0) / 1000.0; }

inline nlohmann::ordered_json qualityJson(const Answer& answer) {
  static const char* const aspects[] = {"brightness", "color", "noise", "artifacts", "blurriness"};
  static const char* const levels[] = {"undistorted", "mild", "severe"};
  nlohmann::ordered_json images = nlohmann::ordered_json::object();
  for (const auto& q : answer.quality) {
    nlohmann::ordered_json img;
    img["mos"] = rounded(q.mos);
    for (int a = 0; a < 5; ++a) {
      const auto& p = q.aspects[size_t(a)];
      const int best = int(std::max_element(p.begin(), p.end()) - p.begin());
      img["aspects"][aspects[a]] = {{"level", levels[best]}, {"p", rounded(p[size_t(best)])}};
      if (q.aspectMos[size_t(a)] > 0) img["aspects"][aspects[a]]["mos"] = rounded(q.aspectMos[size_t(a)]);
    }
    img["dominant_distortion"] = {{"type", q.dominantType}, {"p", rounded(q.dominantTypeProbability)}};
    images[text::imageRoleName(q.role)] = img;
  }
  nlohmann::ordered_json out;
  out["images"] = images;
  if (answer.headProbabilityA >= 0) {
    out["p_a_heads"] = rounded(answer.headProbabilityA);
    if (answer.preferenceStated) out["p_a_heads_weighs_preference"] = answer.headProbabilityWeighsPreference;
  }
  return out;
}

}  // namespace dqa::app
