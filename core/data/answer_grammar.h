#pragma once
// A guard for writing answers: a reasoning keeps the training texts' grammar.
//  - Comparisons: each aspect the answer has described as distorted (in one image or
//    both) is compared once, and no other aspect is compared. Left to itself the decoder
//    compares an aspect twice in about a quarter of its reasonings, and in about a fifth
//    gives it to Image A in one sentence and to Image B in another (docs/model.md,
//    "Reasoning text"). Comparison sentences name their aspect right after a cue ("In
//    terms of", "Regarding", "As for", "when it comes to") and open with "In",
//    "Regarding", "As" or "Image": in an aspect slot, the words that would name an aspect
//    already compared or never described are left out; once every described aspect is
//    compared, a new sentence may not open like a comparison (it goes on to the verdict).
//    Before the verdict, every aspect described in one image only is compared (as in
//    the training texts, where such aspects always differ): while one is not, a new
//    sentence may not open like a verdict or a preference's sentence ("Overall",
//    "Given", "Taking", "With", "Without", "You"). Left to itself the decoder sometimes
//    compared the one aspect it had described in both images and went on to a verdict
//    that followed that comparison alone.
//  - Preferences: where the question states none, no sentence speaks of one. The
//    sentences that do open with "You", "Given", "Taking", "With" or "Without" ("You
//    mentioned that you care a lot about blur.", "Given your preference, ..."), and no
//    other training sentence does (test_data_text); those first words are left out.
//  - Verdicts: where the encoder's heads see a clear winner (`winner`), the closing
//    verdict does not call the pair too close: the words that would make it a tie
//    sentence ("Overall, neither image is clearly better.") rather than a winner's
//    ("Overall, the better image is Image B.") are left out. Left to itself a decoder
//    called ties on pairs its own heads were sure of (docs/model.md, "Verdict ties").
//    There, too, the letter after a winner verdict's "... the better image is Image" is
//    the winner's and after "... the worse image is Image" the loser's: a decoder whose
//    training had not yet bound those letters wrote the other one in up to half of its
//    reasonings (docs/model.md, "Verdict letters").
//  - Comparison directions: a comparison sentence names the aspect's better image first
//    ("In terms of noise, Image B is a bit better than Image A"; "Image B is a bit
//    better than Image A when it comes to noise"). Where the heads' aspect scores set the
//    images apart on that aspect, the other image's letter after "In terms of noise,
//    Image" is left out, and so are, after "Image B is ... better than Image A when it
//    comes to", the aspects on which the heads see Image A better. Left to itself the
//    decoder set about half of its comparisons the right way (docs/model.md,
//    "Comparison directions").
//  - Distortions the heads do not see: after a level word ("Image B shows mild ",
//    "There is severe "), the distortion's name (textgen's kind nouns, "colour shift",
//    "grain") may not be one of an aspect the heads see as undistorted in the image the
//    sentence is about (the one its answer last named; a description's one image).
//    Unless the heads see every aspect there undistorted: the guard then leaves the name
//    to the decoder (docs/model.md, "Described distortions"). Nor may it be a name the
//    clause about that image has written already ("Image A has slight loss of
//    brightness, and moderate loss of brightness").
//  - Lists of distortions: a reasoning's clause about an image lists one distortion per
//    aspect it names ("Image A has mild grain, and heavy blur"); after a distortion's
//    name, the list goes on ("and", a level word) only while some aspect of the image
//    the clause has not named is one the heads are not sure is undistorted. Left to
//    itself the decoder listed a second distortion on an aspect that was undistorted in
//    half of its two-item lists.
//  - A reasoning opens with Image A's clause ("Image A suffers from mild ...", "In Image A
//    there is ...", "Image A looks pristine"), as every training reasoning does: until
//    its first sentence is past the clause's level word (or is an undistorted clause),
//    the words that would make it anything else ("Image A is of higher quality.") are
//    left out. Asked in wordings no training template writes ("Which looks more
//    professional? Explain."), the decoder answered with a brief comparison instead of a
//    reasoning in up to 61% of the pairs (docs/model.md, "Reasonings asked in other
//    words").
//    Nor does a reasoning end before its verdict: the decoder so pushed wrote Image A's
//    clause and stopped ("Image A is affected by slight excessive brightness.") in up to
//    9% of those answers; the end of the text is left out until a verdict sentence
//    (verdictSentencePools) is finished.
//  - Images the heads see distorted: a reasoning does not call such an image undistorted
//    ("Image A looks pristine", "Image B shows no visible distortion"): after its name,
//    the words that would make the clause one of textgen's undistorted clauses rather
//    than one that names a distortion ("Image A shows mild blur") are left out. And the
//    other way round where the heads are sure every aspect of the image is undistorted.
// The cues and first words are read from textgen's templates (comparisonSentencePools,
// preferenceSentencePools), so a template added there is guarded too.
// Plain string logic, so the generation core can ask it about every token's text.
#include <array>
#include <string>
#include <vector>

#include "core/data/questionnaire.h"

namespace dqa::data {

// What the encoder's heads say about the pair, for the rules that follow them (the
// generation core fills it; all "not sure" by default).
struct HeadsReading {
  // Which image the heads are sure is better overall: +1 Image A, -1 Image B, 0 not sure.
  int winner = 0;
  // Per aspect (data::Aspect): +1 the heads see Image A clearly better on it, -1 Image B,
  // 0 neither.
  std::array<int, kNumAspects> aspectBetter{};
  // Per image (0: Image A, or a description's one image; 1: Image B), per aspect: the
  // heads see the aspect undistorted in that image.
  std::array<std::array<bool, kNumAspects>, 2> aspectClean{};
  // Per image (0: A, 1: B): the heads see some aspect of it distorted.
  std::array<bool, 2> imageDistorted{};
  // Per image (0: A, 1: B), per aspect: the heads are sure it is undistorted (a pair's;
  // a stricter reading than `aspectClean`).
  std::array<std::array<bool, kNumAspects>, 2> aspectSurelyClean{};
  bool describesOneImage = false;  // a description: sentences that name no image are about image 0
  bool reasoning = false;          // a reasoning: its first sentence is Image A's clause
};

struct AnswerGrammar {
  std::array<bool, kNumAspects> compared{};   // aspects the finished sentences compare
  std::array<bool, kNumAspects> described{};  // ... describe as distorted in an image
  // The text so far ends in a comparison's aspect slot; what of the slot is written
  // (lower case, leading spaces dropped).
  bool inSlot = false;
  std::string written;
  bool comparisonsDone = false;  // at a sentence start, every described aspect compared
  // At a sentence start, an aspect described in one image only is not compared yet.
  bool comparisonsOwed = false;
  // No preference was stated and the text so far ends inside a sentence's first word
  // (`firstWord`, lower case; empty at the start of a sentence).
  bool openingWithoutPreference = false;
  std::string firstWord;
  // The heads see a clear winner and the sentence being written (`sentence`, lower case,
  // leading spaces dropped) may still become a winner verdict or a tie.
  bool tieBarred = false;
  std::string sentence;
  // The sentence named its aspect and then "Image": the letter (lower case) the heads
  // see as the worse image on that aspect, left out next; or a winner verdict's "Image"
  // ("overall, the worse image is image"): the letter that would contradict the heads'
  // winner; 0 when none is.
  char letterBarred = 0;
  // In a slot of a sentence that named its better image first: the aspects on which the
  // heads see the other image better (only while some aspect is left that they do not).
  std::array<bool, kNumAspects> directionBarred{};
  // The text so far ends after a level word ("mild"): what follows it (`afterLevel`,
  // lower case, its leading space kept) is the start of a distortion's name, and names
  // of the aspects in `kindBarred`, and the names in `kindsNamed`, are left out.
  bool inKindSlot = false;
  std::string afterLevel;
  std::array<bool, kNumAspects> kindBarred{};
  std::vector<std::string> kindsNamed;
  // The text so far ends in a kind noun of an image's clause ("Image A has mild blur",
  // "... blur,"), where the heads are sure that every aspect of it the clause has not named
  // is undistorted: its list of distortions ends (`afterKind`: what follows the noun).
  bool listEnds = false;
  std::string afterKind;
  // The sentence last named an image the heads see distorted, and what follows its name
  // (`afterImage`, lower case) may still become either an undistorted clause or one
  // that names a distortion: the first are left out. Where the heads are sure every
  // aspect of it is undistorted and the sentence is the clause that first names it
  // (`distortedBarred`), the second are.
  bool cleanBarred = false;
  bool distortedBarred = false;
  std::string afterImage;
  // A reasoning's first sentence (`firstSentence`, lower case, leading spaces dropped)
  // may still become one of textgen's clauses about Image A and is not yet past its level
  // word: words that would make it anything else are left out.
  bool firstClauseOpen = false;
  std::string firstSentence;
  // A reasoning with no finished verdict sentence yet: it may not end here (the
  // generation core leaves out the end-of-sequence token; no token's text is barred).
  bool endBarred = false;
  bool mayCompare(int aspect) const;  // described and not yet compared
  bool active() const {
    return inSlot || comparisonsDone || comparisonsOwed || openingWithoutPreference || tieBarred || letterBarred != 0 ||
           inKindSlot || listEnds || cleanBarred || distortedBarred || firstClauseOpen;
  }
};

// Reads an unfinished answer (parseAnswer's reading of its finished sentences).
// `preferenceStated`: the question states a preference (statesPreference).
// `heads`: what the encoder's heads say (default: nothing, the rules that follow them off).
AnswerGrammar readAnswerSoFar(const std::string& answerSoFar, bool preferenceStated, const HeadsReading& heads = {});

// Whether a prompt states a preference: the preference field is not empty, or the
// question names an aspect the way a preference does (parsePreference; "Which has less
// noise?" counts too, so that the guard never holds back a preference a user typed into
// the question).
bool statesPreference(const std::string& preference, const std::string& question);

// Whether writing `next` (a token's text, e.g. " blur") would leave the grammar:
//  - in a slot: the slot's text would fit a stem (aspectStems) of an aspect that may not
//    be compared and of none that may. Never when no aspect may be compared, nor when
//    what the slot already holds names only such aspects (then every token would be left
//    out: too late to choose);
//  - after the comparisons: `next` opens a sentence the way comparisons do ("In",
//    "Regarding", "As", "Image", or the start of one of them);
//  - with comparisons owed: `next` opens a sentence the way the verdict or a
//    preference's sentence does, and not the way a comparison does;
//  - without a stated preference: the sentence's first word would become "You",
//    "Given", "Taking", "With" or "Without";
//  - with the tie barred: the sentence would fit only tie verdicts (verdictSentencePools)
//    where before it fitted a winner verdict too. Never once it fits tie verdicts alone;
//  - with a letter barred: `next` is that letter as a word ("B", " B."), after an
//    aspect's "Image" or a winner verdict's;
//  - in a slot, an aspect barred by direction counts as one that may not be compared;
//  - in a kind slot: what follows the level word would fit only kind nouns of barred
//    aspects or names the clause has written. Never when it already does before `next`
//    (too late to choose);
//  - where the list ends: after the noun (and a comma), `next` would begin "and" or a
//    level word and nothing else ("whereas", "while", ".", " in one region" stay);
//  - with clean clauses barred: what follows the image's name would fit only undistorted
//    clauses; with distorted ones barred, only clauses that name a distortion;
//  - with the first clause open: the first sentence would no longer fit a clause about
//    Image A.
// False when `next` adds only spaces.
bool leavesAnswerGrammar(const AnswerGrammar& guard, const std::string& next);

}  // namespace dqa::data
