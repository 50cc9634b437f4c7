#pragma once
// Questions beyond textgen's fixed pools, for training a decoder that reads any wording.
//
// A decoder trained on eleven wordings per task took every other wording for a stated
// preference: with the app's own default question ("..., which image is better, Image A
// or Image B, and why?", in no pool) the shipped model of 2026-12-05 opened 120 of 120
// reasonings on real-size photo pairs with "You said that what you care about most is
// ...", and 0 of 40 with a pool question. These questions vary the wording (openings,
// the question itself, how the reference is named, what is asked beyond the choice) so
// that wording stops being the cue; none names an aspect ("noise", "blur", "colour"...),
// which is what a preference sentence does. A quarter are the app's default question.

#include <cstdint>
#include <string>

#include "core/data/questionnaire.h"

namespace dqa::data {

// A question for `task`, deterministic in `seed`; names the reference when
// `withReference` (most of the time: "which image is better?" also stands with one).
std::string variedQuestion(Task task, bool withReference, std::uint64_t seed);

}  // namespace dqa::data
