#pragma once
// Questionnaire -> text: questions and answers for DepictQA's three tasks, written by the
// project from pools of phrasings (resources are compiled in: textgen.cpp), with enough
// variety that a model cannot memorise one template. parser.h reads the answers back.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/data/questionnaire.h"

namespace dqa::data {

// DESIGN.md: appended to the question; the answer is then exactly "Image A" / "Image B".
extern const char* const kShortAnswerTail;  // " Answer the question using a single word or phrase."

struct TextSample {
  std::string question;        // the bare question (no preference, no tail)
  std::string preference;      // the stated preference ("" if none)
  bool shortAnswer = false;    // the short-answer tail applies
  std::string promptQuestion;  // what the user turn says: preference + " " + question + tail
  std::string answer;
};

struct TextOptions {
  double shortAnswerShare = 0.5;  // of comparison samples with a winner
  // Share of samples whose question is variedQuestion's (question_variety.h) instead of
  // the task's pool; 0 leaves every text as it was (no extra random draw).
  double questionVariety = 0;
};

TextSample generateText(const Questionnaire& q, std::uint64_t seed, const TextOptions& o = {});

// The pools, for tests and documentation.
const std::vector<std::string>& questionPool(Task task, bool withReference);
// Brief comparison answers; "{W}" is the winner, "{L}" the loser.
const std::vector<std::string>& briefAnswerPool();
const std::vector<std::string>& tieAnswerPool();
// The closing verdict sentences of reasonings: plain, tie, with a preference, tie with a
// preference ({W} the winner, {L} the loser).
const std::vector<std::vector<std::string>>& verdictSentencePools();
// The sentences of reasonings that compare the images on one aspect: one better than the
// other, or both alike ({X} and {Y} the images, {ASP} the aspect, {DEG} and {CMP} the
// degree and the comparative). The answer grammar reads their cues and openers here.
const std::vector<std::vector<std::string>>& comparisonSentencePools();
// Every sentence about a stated preference: its acknowledgement ("You mentioned that you
// care a lot about {ASP}."), the verdicts that weigh it, the notes on what it changed.
const std::vector<std::vector<std::string>>& preferenceSentencePools();
// The clauses of reasonings that say what one image has ({X} the image, {LVL} and {KIND}
// the level and kind of its first distortion), then those that call it undistorted
// ("{X} looks pristine").
const std::vector<std::vector<std::string>>& imageClausePools();
// How the texts name an image: "Image A", "Image B" (Tie: "Image B").
const std::string& imageName(Winner w);
// A template with its placeholders ("{X}", "{ASP}", ...) replaced, every occurrence.
std::string fillTemplate(std::string sentence, const std::vector<std::pair<std::string, std::string>>& fills);
// Preference sentences for an aspect: intolerant (weight > 1) or tolerant (< 1).
const std::vector<std::string>& preferencePool(Aspect aspect, bool intolerant);
// The words that carry an answer's judgement: level adjectives ("mild", "severe", ...),
// the distortion kind nouns ("Gaussian blur", "JPEG compression artifacts", ...), the
// nouns of "no visible ..." sentences and the overall quality words. The trainer weighs
// their tokens more: they are what a description must get right.
const std::vector<std::string>& keyPhrases();
// The words that say which way a comparison goes ("better", "worse", "inferior", ...):
// after "Image B is", whether it is better or worse is the judgement.
const std::vector<std::string>& comparativePhrases();
// The nouns the texts use for one KADID type's distortion ("motion blur", "blur from
// camera motion", ...; brightness/contrast directions included for 18 and 25).
std::vector<std::string> kindNouns(int type);
// The level words the texts put before a kind noun ("mild", "slight", ..., "severe",
// "heavy", ...).
const std::vector<std::string>& levelAdjectives();
// The word stems the texts use for an aspect (data::Aspect as int): "nois", "grain",
// "speck" for noise; "blur", "sharp", "soft", "focus" for blurriness, ... Empty for an
// aspect outside 0..4.
const std::vector<std::string>& aspectStems(int aspect);
// Byte ranges [begin, end) of the words that name an aspect in a text (its aspectStems).
// The pointing game and the trainer's attention loss take the attention of these words.
// Empty for an aspect outside 0..4.
std::vector<std::pair<size_t, size_t>> aspectWordRanges(int aspect, const std::string& text);
// Weight used for intolerant / tolerant preferences.
constexpr double kIntolerantWeight = 3.0;
constexpr double kTolerantWeight = 0.3;

}  // namespace dqa::data
