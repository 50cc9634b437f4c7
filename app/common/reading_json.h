#pragma once
// What an answer says, read back by the evaluation's parser (data::parseAnswer), as JSON,
// the same for `depictqa --json` and `depictqa batch`: scripts tally the answers' levels,
// comparisons and winners without parsing text, and see the answers that contradict
// themselves or speak of a preference nobody stated. It reads the words, not the model:
// where the parser finds no level word an aspect reads as undistorted.
#include <nlohmann/json.hpp>
#include <string>

#include "core/data/parser.h"
#include "core/text/prompt.h"

namespace dqa::app {

inline nlohmann::ordered_json readingJson(text::Task task, const std::string& answer, bool preferenceStated) {
  data::Task dataTask = data::Task::Description;
  data::taskFromName(text::taskName(task), &dataTask);
  const data::ParsedAnswer p = data::parseAnswer(dataTask, answer);
  const bool pair = task != text::Task::Description;
  nlohmann::ordered_json out;
  if (pair) out["winner"] = p.hasWinner ? nlohmann::ordered_json(data::winnerName(p.winner)) : nullptr;
  if (task == text::Task::Comparison) {
    if (!preferenceStated) out["speaks_of_a_preference_nobody_stated"] = data::acknowledgesPreference(answer);
    return out;  // a brief verdict: no levels or comparisons to read
  }
  nlohmann::ordered_json aspects = nlohmann::ordered_json::object();
  nlohmann::ordered_json repeated = nlohmann::ordered_json::array();
  nlohmann::ordered_json contradicted = nlohmann::ordered_json::array();
  for (int a = 0; a < data::kNumAspects; ++a) {
    const char* name = data::aspectName(static_cast<data::Aspect>(a));
    auto& aspect = aspects[name];
    if (!pair) {
      aspect = data::severityName(p.levelsA[size_t(a)]);
      continue;
    }
    if (task == text::Task::Reasoning) {
      aspect["A"] = data::severityName(p.levelsA[size_t(a)]);
      aspect["B"] = data::severityName(p.levelsB[size_t(a)]);
    }
    const int cmp = static_cast<int>(p.aspectCmp[size_t(a)]);
    aspect["better"] = cmp > 0 ? "A" : cmp < 0 ? "B" : "neither";
    if (cmp == 2 || cmp == -2) aspect["much_better"] = true;
    if (p.aspectCmpCount[size_t(a)] > 1) repeated.push_back(name);
    if (p.aspectCmpContradicted[size_t(a)]) contradicted.push_back(name);
  }
  out["aspects"] = aspects;
  if (!pair && p.hasQuality) out["quality"] = data::qualityName(p.quality);
  if (task == text::Task::Reasoning) {
    out["compares_an_aspect_twice"] = repeated;
    out["gives_an_aspect_to_both_images"] = contradicted;
  }
  if (pair && !preferenceStated) out["speaks_of_a_preference_nobody_stated"] = data::acknowledgesPreference(answer);
  return out;
}

}  // namespace dqa::app
