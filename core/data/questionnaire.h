#pragma once
// DepictQA's questionnaire (paper, Fig. 2): what a human rater would fill in about one
// distorted image (description) or a pair (comparison, reasoning). Texts are written
// from it (textgen.h) and read back into it (parser.h).
#include <nlohmann/json.hpp>

#include <array>
#include <string>

#include "core/data/labels.h"

namespace dqa::data {

enum class Task { Description = 0, Comparison, Reasoning };
const char* taskName(Task t);  // "description", "comparison", "reasoning"
bool taskFromName(const std::string& s, Task* out);

// A stated preference re-weights the aspects: the aspect's share of the quality loss is
// raised to `weight` (3 = "I can't tolerate it", 0.3 = "I don't mind it").
struct Preference {
  Aspect aspect = Aspect::Noise;
  double weight = 1.0;
  std::string text;  // the sentence put before the question
};

struct Questionnaire {
  Task task = Task::Description;
  bool withReference = true;
  ImageLabel a;  // description: the assessed image; pairs: Image A
  ImageLabel b;  // pairs only: Image B
  // Pairs only (A compared with B):
  std::array<Cmp, kNumAspects> aspectCmp{};
  Cmp overallCmp = Cmp::Similar;
  Winner winner = Winner::Tie;  // the verdict (with the preference, if any)
  double mosGap = 0.0;          // mos(A) - mos(B), before the preference
  bool hasPreference = false;
  Preference preference;
  Winner winnerWithoutPreference = Winner::Tie;
  bool preferenceFlipped = false;  // the preference changed the verdict
  bool isPair() const { return task != Task::Description; }
};

Questionnaire makeDescription(const ImageLabel& image, bool withReference);
Questionnaire makePair(Task task, const ImageLabel& a, const ImageLabel& b, bool withReference,
                       const Preference* preference = nullptr);

// Aspect weights of a preference (1 everywhere else).
std::array<double, kNumAspects> preferenceWeights(const Preference& p);

nlohmann::json toJson(const ImageLabel& label);
nlohmann::json toJson(const Questionnaire& q);

}  // namespace dqa::data
