#pragma once
// A guard for writing reasonings: the per-aspect comparisons keep the training texts'
// grammar, in which each aspect the answer has described as distorted (in one image or
// both) is compared once, and no other aspect is compared.
//
// Left to itself the decoder compares an aspect twice in about a quarter of its
// reasonings, and in about a fifth gives it to Image A in one sentence and to Image B in
// another (docs/model.md, "Reasoning text"); the training texts never do
// (test_data_text). Comparison sentences name their aspect right after a cue ("In terms
// of", "Regarding", "As for", "when it comes to"), and open with "In", "Regarding", "As"
// or "Image". So while an answer is written:
//  - in an aspect slot, the words that would name an aspect already compared, or one the
//    answer never described as distorted, are left out;
//  - once every described aspect is compared, a new sentence may not open another
//    comparison (it goes on to the verdict, as the training texts do).
// Plain string logic, so the generation core can ask it about every token's text.
#include <array>
#include <string>

#include "core/data/questionnaire.h"

namespace dqa::data {

struct ComparisonGuard {
  std::array<bool, kNumAspects> compared{};   // aspects the finished sentences compare
  std::array<bool, kNumAspects> described{};  // ... describe as distorted in an image
  bool inSlot = false;                        // the text so far ends in a comparison's aspect slot
  std::string written;                        // what of the slot is written, lower case, leading spaces dropped
  bool comparisonsDone = false;               // at a sentence start, every described aspect compared
  bool mayCompare(int aspect) const;          // described and not yet compared
};

// Reads an unfinished answer (parseAnswer's reading of its finished sentences).
ComparisonGuard readAnswerSoFar(const std::string& answerSoFar);

// Whether writing `next` (a token's text, e.g. " blur") would leave the grammar:
//  - in a slot: the slot's text would fit a stem (aspectStems) of an aspect that may not
//    be compared and of none that may. Never when no aspect may be compared, nor when
//    what the slot already holds names only such aspects (then every token would be left
//    out: too late to choose);
//  - after the comparisons: `next` opens a sentence the way comparisons do ("In",
//    "Regarding", "As", "Image", or the start of one of them).
// False when `next` adds only spaces.
bool leavesComparisonGrammar(const ComparisonGuard& guard, const std::string& next);

}  // namespace dqa::data
