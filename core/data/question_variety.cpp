#include "core/data/question_variety.h"

#include <cctype>
#include <vector>

#include "core/data/distortions.h"
#include "core/text/prompt.h"

namespace dqa::data {
namespace {

using Words = std::vector<const char*>;

// Openings; one ending in ". " starts a new sentence, the others run into the question.
const Words kOpenings = {"Here are two versions of the same photo. ",
                         "I edited this photo in two ways. ",
                         "Please look carefully. ",
                         "Take a close look at both. ",
                         "Quick question: ",
                         "Be honest: ",
                         "In your opinion, ",
                         "Looking at the two images, ",
                         "As a photographer, tell me ",
                         "Thinking about image quality, "};
const Words kDescriptionOpenings = {
    "Here is a photo. ", "Please look carefully. ",        "Take a close look. ", "Quick question: ", "Be honest: ",
    "In your opinion, ", "Thinking about image quality, ", "I took this photo. "};
const Words kChoices = {"which image is better",
                        "which of these two photos looks better to you",
                        "which one would you pick",
                        "which version should I keep",
                        "which one has the better quality",
                        "which image would you choose",
                        "which is the nicer image",
                        "which of the two looks better",
                        "which one is better, Image A or Image B",
                        "which image is better, Image A or Image B",
                        "which image has the higher quality, A or B",
                        "which photo would you print",
                        "which of Image A and Image B do you prefer",
                        "which image is more pleasing",
                        "which one is less damaged"};
const Words kReferenceNames = {" compared with the reference", " relative to the original",
                               " given the reference image",   " against the reference",
                               " next to the original",        " judging by the reference"};
const Words kReasoningTails = {
    ", and why?",     "? Explain why.",         "? Give your reasons.",        "? Please justify your answer.",
    "? Tell me why.", "? Explain your answer.", ", and what makes it better?", "? Walk me through your reasoning."};
const Words kComparisonTails = {"?", "?", "? Just tell me which.", "? A short answer is fine."};
// Description questions: {text, whether it asks (a "?") or tells (a ".")}.
const std::vector<std::pair<const char*, bool>> kDescriptions = {{"describe the quality of the image", false},
                                                                 {"describe this photo's quality", false},
                                                                 {"what is wrong with this image", true},
                                                                 {"how good is this picture", true},
                                                                 {"what problems do you see in this photo", true},
                                                                 {"rate the quality of this image", false},
                                                                 {"how does this image look", true},
                                                                 {"assess this image", false},
                                                                 {"what do you make of this image's quality", true},
                                                                 {"is anything wrong with this photo", true}};
const Words kAskTails = {"?", "? Please be specific.", "? Describe it in detail."};
const Words kTellTails = {".", " in detail.", ", please."};

struct Draw {
  std::uint64_t s;
  std::uint64_t next() { return s = mixSeed(s, 11); }
  bool chance(double p) { return (next() >> 11) * (1.0 / 9007199254740992.0) < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(next() % v.size())];
  }
};

// Joins an opening and the question, capitalising where a sentence starts.
std::string join(const std::string& opening, std::string question) {
  const bool newSentence = opening.empty() || (opening.size() >= 2 && opening[opening.size() - 2] == '.');
  if (newSentence) question[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(question[0])));
  return opening + question;
}

}  // namespace

std::string variedQuestion(Task task, bool withReference, std::uint64_t seed) {
  Draw d{mixSeed(seed, 0x9e57)};
  if (d.chance(0.25)) return text::defaultQuestion(static_cast<text::Task>(task), withReference);
  const bool namesReference = withReference && d.chance(0.7);
  if (task == Task::Description) {
    const auto& [what, asks] = d.pick(kDescriptions);
    std::string q = what;
    if (namesReference) q += d.pick(kReferenceNames);
    q += d.pick(asks ? kAskTails : kTellTails);
    return join(d.chance(0.5) ? d.pick(kDescriptionOpenings) : "", q);
  }
  std::string q = d.pick(kChoices);
  if (namesReference) q += d.pick(kReferenceNames);
  q += d.pick(task == Task::Reasoning ? kReasoningTails : kComparisonTails);
  return join(d.chance(0.5) ? d.pick(kOpenings) : "", q);
}

}  // namespace dqa::data
