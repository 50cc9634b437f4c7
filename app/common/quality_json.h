#pragma once
// The quality heads' judgement of each image (models that have them) as JSON, the same
// for `depictqa --json` and `depictqa batch`: per image its predicted mean opinion score
// (KADID's 1..5 scale), the likeliest severity of each aspect with its probability, the
// dominant distortion type; for comparisons the heads' P(A better).
#include <nlohmann/json.hpp>

#include "core/generate/engine.h"

namespace dqa::app {

inline nlohmann::ordered_json qualityJson(const Answer& answer) {
  static const char* const aspects[] = {"brightness", "color", "noise", "artifacts", "blurriness"};
  static const char* const levels[] = {"undistorted", "mild", "severe"};
  nlohmann::ordered_json images = nlohmann::ordered_json::object();
  for (const auto& q : answer.quality) {
    nlohmann::ordered_json img;
    img["mos"] = std::round(q.mos * 1000) / 1000;
    for (int a = 0; a < 5; ++a) {
      const auto& p = q.aspects[size_t(a)];
      const int best = int(std::max_element(p.begin(), p.end()) - p.begin());
      img["aspects"][aspects[a]] = {{"level", levels[best]}, {"p", std::round(p[size_t(best)] * 1000) / 1000}};
      if (q.aspectMos[size_t(a)] > 0)
        img["aspects"][aspects[a]]["mos"] = std::round(q.aspectMos[size_t(a)] * 1000) / 1000;
    }
    img["dominant_distortion"] = {{"type", q.dominantType}, {"p", std::round(q.dominantTypeProbability * 1000) / 1000}};
    images[text::imageRoleName(q.role)] = img;
  }
  nlohmann::ordered_json out;
  out["images"] = images;
  if (answer.headProbabilityA >= 0) {
    out["p_a_heads"] = std::round(answer.headProbabilityA * 1000) / 1000;
    if (answer.preferenceStated) out["p_a_heads_weighs_preference"] = answer.headProbabilityWeighsPreference;
  }
  return out;
}

}  // namespace dqa::app
