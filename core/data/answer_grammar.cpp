#include "core/data/answer_grammar.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "core/data/answer_words.h"
#include "core/data/parser.h"
#include "core/data/textgen.h"

namespace dqa::data {

namespace {

std::string withoutLeadingSpaces(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}
std::string withoutTrailingSpaces(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// A template with its images named ("{X}" -> "Image A", ...) in lower case, so that its
// words read as an answer's do.
std::string asWritten(const std::string& text) {
  const std::string& image = imageName(Winner::A);
  return lowerCase(
      fillTemplate(text, {{"{X}", image}, {"{Y}", image}, {"{W}", image}, {"{L}", image}, {"{W0}", image}}));
}

std::string firstWordOf(const std::string& text) {
  size_t end = 0;
  while (end < text.size() && isWordChar(text[end])) ++end;
  return text.substr(0, end);
}

void addOnce(std::vector<std::string>* words, const std::string& word) {
  if (!word.empty() && std::find(words->begin(), words->end(), word) == words->end()) words->push_back(word);
}

// The cues after which textgen's comparison sentences name the aspect ("in terms of",
// "regarding", "as for", "when it comes to"): the words between the last other
// placeholder (or the sentence's start) and "{ASP}". A cue that ends with another one
// ("are on par regarding") adds nothing to it.
std::vector<std::string> readSlotCues() {
  std::vector<std::string> cues;
  for (const auto& pool : comparisonSentencePools())
    for (const auto& sentence : pool) {
      const size_t slot = sentence.find("{ASP}");
      if (slot == std::string::npos) continue;
      const size_t placeholderEnd = sentence.rfind('}', slot);
      const size_t from = placeholderEnd == std::string::npos ? 0 : placeholderEnd + 1;
      std::string cue = asWritten(sentence.substr(from, slot - from));
      while (!cue.empty() && !isWordChar(cue.back())) cue.pop_back();
      addOnce(&cues, withoutLeadingSpaces(cue));
    }
  std::vector<std::string> shortest;
  for (const auto& cue : cues) {
    const bool endsWithAnother = std::any_of(cues.begin(), cues.end(), [&](const std::string& other) {
      return other.size() < cue.size() && cue.compare(cue.size() - other.size(), other.size(), other) == 0 &&
             cue[cue.size() - other.size() - 1] == ' ';
    });
    if (!endsWithAnother) shortest.push_back(cue);
  }
  return shortest;
}

// The first words of the sentences in `pools` (lower case, images named).
std::vector<std::string> readOpeners(const std::vector<std::vector<std::string>>& pools) {
  std::vector<std::string> openers;
  for (const auto& pool : pools)
    for (const auto& sentence : pool) addOnce(&openers, firstWordOf(asWritten(sentence)));
  return openers;
}

// Read once from textgen's pools, so that a template added there is guarded here too.
const std::vector<std::string>& slotCues() {
  static const std::vector<std::string> cues = readSlotCues();
  return cues;
}
// "in", "regarding", "as", "image".
const std::vector<std::string>& comparisonOpeners() {
  static const std::vector<std::string> openers = readOpeners(comparisonSentencePools());
  return openers;
}
// "you", "given", "taking", "with", "without": no other training sentence opens so
// (test_data_text).
const std::vector<std::string>& preferenceOpeners() {
  static const std::vector<std::string> openers = readOpeners(preferenceSentencePools());
  return openers;
}

// "overall", "given", "taking", "with", "you", "without": the sentences that come after
// the comparisons.
const std::vector<std::string>& closingOpeners() {
  static const std::vector<std::string> openers = [] {
    std::vector<std::string> words = readOpeners(verdictSentencePools());
    for (const auto& word : preferenceOpeners()) addOnce(&words, word);
    return words;
  }();
  return openers;
}

// `text` begins with the whole word `word` ("you", "you,"; not "your").
bool beginsWithWord(const std::string& text, const std::string& word) {
  return startsWith(text, word) && (text.size() == word.size() || !isWordChar(text[word.size()]));
}

// `text` is `word`, a start of it, or begins with the whole word.
bool fitsWord(const std::string& text, const std::string& word) {
  return startsWith(word, text) || beginsWithWord(text, word);
}

// Whether `text` (slot text, lower case) names the aspect or could still become a word
// that does.
bool fitsAspect(const std::string& text, int aspect) {
  for (const auto& stem : aspectStems(aspect))
    if (startsWith(text, stem) || startsWith(stem, text)) return true;
  return false;
}

// Whether `text` fits an aspect that may not be compared and none that may.
bool fitsOnlyBarredAspects(const AnswerGrammar& guard, const std::string& text) {
  if (text.empty()) return false;
  bool barred = false;
  for (int a = 0; a < kNumAspects; ++a) {
    if (!fitsAspect(text, a)) continue;
    if (guard.mayCompare(a) && !guard.directionBarred[size_t(a)]) return false;
    barred = true;
  }
  return barred;
}

// A verdict template (verdictSentencePools) lower case and cut before its first
// placeholder: a winner's up to the image it names ("overall, the better image is "), a
// tie's whole.
std::string verdictStem(const std::string& sentence) { return lowerCase(sentence.substr(0, sentence.find('{'))); }

// The verdict sentences' stems of one kind (pools: winner, tie, winner with a
// preference, tie with a preference).
std::vector<std::string> readVerdictStems(bool ties) {
  std::vector<std::string> stems;
  const auto& pools = verdictSentencePools();
  for (size_t p = ties ? 1 : 0; p < pools.size(); p += 2)
    for (const auto& sentence : pools[p]) addOnce(&stems, verdictStem(sentence));
  return stems;
}
const std::vector<std::string>& verdictStems(bool ties) {
  static const std::vector<std::string> winners = readVerdictStems(false), tieStems = readVerdictStems(true);
  return ties ? tieStems : winners;
}

// The winner verdicts' text up to their image's "image" (lower case), each with whether
// that image is the better one ("overall, the better image is image": true; "overall, the
// worse image is image": false).
std::vector<std::pair<std::string, bool>> readVerdictLetterStems() {
  std::vector<std::pair<std::string, bool>> stems;
  const auto& pools = verdictSentencePools();
  for (size_t p = 0; p < pools.size(); p += 2)
    for (const auto& sentence : pools[p]) {
      const size_t brace = sentence.find('{');
      if (brace == std::string::npos || brace + 1 >= sentence.size()) continue;
      const std::pair<std::string, bool> entry{withoutTrailingSpaces(verdictStem(sentence)) + " image",
                                               sentence[brace + 1] == 'W'};
      if (std::find(stems.begin(), stems.end(), entry) == stems.end()) stems.push_back(entry);
    }
  return stems;
}

// A winner verdict (lower case) written up to its image's "image": the letter that would
// contradict the heads' winner (+1 Image A, -1 Image B), or 0.
char verdictLetterBarred(const std::string& sentence, int winner) {
  if (winner == 0) return 0;
  const std::string written = withoutTrailingSpaces(sentence);
  static const std::vector<std::pair<std::string, bool>> stems = readVerdictLetterStems();
  const char winnerLetter = winner > 0 ? 'a' : 'b', loserLetter = winner > 0 ? 'b' : 'a';
  for (const auto& [upToImage, namesWinner] : stems)
    if (written == upToImage) return namesWinner ? loserLetter : winnerLetter;
  return 0;
}

// Whether a sentence (lower case) may still become, or already is, a verdict of the kind.
bool fitsVerdict(const std::string& sentence, bool tie) {
  for (const auto& stem : verdictStems(tie))
    if (startsWith(stem, sentence) || startsWith(sentence, stem)) return true;
  return false;
}

// Whether the text ends a sentence, so that the next token opens one.
bool endsASentence(const std::string& text) {
  size_t end = text.size();
  while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return end > 0 && (text[end - 1] == '.' || text[end - 1] == '!' || text[end - 1] == '?');
}

// The text after the last whole-word cue of `sentence` (lower case); false when no cue
// occurs.
bool textAfterLastCue(const std::string& sentence, std::string* after) {
  size_t best = std::string::npos, bestEnd = 0;
  for (const auto& cue : slotCues())
    for (size_t pos = findWord(sentence, cue); pos != std::string::npos; pos = findWord(sentence, cue, pos + 1))
      if (best == std::string::npos || pos > best) {
        best = pos;
        bestEnd = pos + cue.size();
      }
  if (best == std::string::npos) return false;
  *after = sentence.substr(bestEnd);
  return true;
}

// Whether the slot's text is still being written as an aspect's word: nothing yet, part
// of a stem ("col"), or one word that starts with a stem ("colours"). "colour," and
// "colour accuracy" are finished: the aspect is named.
bool stillNamingAnAspect(const std::string& written) {
  if (written.empty()) return true;
  for (int a = 0; a < kNumAspects; ++a)
    for (const auto& stem : aspectStems(a)) {
      if (startsWith(stem, written)) return true;
      if (startsWith(written, stem) &&
          std::all_of(written.begin() + long(stem.size()), written.end(), [](char c) { return isWordChar(c); }))
        return true;
    }
  return false;
}

// The slot the last sentence (lower case) ends in, if any: after a cue, a space, then at
// most the beginning of one word.
bool openSlot(const std::string& sentence, std::string* written) {
  std::string after;
  if (!textAfterLastCue(sentence, &after)) return false;
  if (!after.empty() && !std::isspace(static_cast<unsigned char>(after.front()))) return false;
  *written = withoutLeadingSpaces(after);
  return stillNamingAnAspect(*written);
}

// The one aspect a finished aspect text names ("noise", "colour accuracy"); -1 when
// none or several do.
int namedAspect(const std::string& text) {
  int found = -1;
  for (int a = 0; a < kNumAspects; ++a)
    for (const auto& stem : aspectStems(a))
      if (startsWith(text, stem)) {
        if (found >= 0 && found != a) return -1;
        found = a;
      }
  return found;
}

// A sentence (lower case) that has named its aspect after a cue and then "image", so its
// next word is the letter of the aspect's better image ("in terms of noise, image"): the
// aspect, or -1.
int aspectBeforeLetter(const std::string& sentence) {
  std::string after;
  if (!textAfterLastCue(sentence, &after)) return -1;
  after = withoutTrailingSpaces(withoutLeadingSpaces(after));
  const size_t comma = after.rfind(", ");
  if (comma == std::string::npos || after.substr(comma + 2) != "image") return -1;
  return namedAspect(after.substr(0, comma));
}

// The better image a sentence names first ("image b is a bit better than image a when it
// comes to"): 'a', 'b', or 0 when it does not read so.
char betterImageNamedFirst(const std::string& sentence) {
  if (!startsWith(sentence, "image a is ") && !startsWith(sentence, "image b is ")) return 0;
  if (sentence.find("better than") == std::string::npos && sentence.find("superior to") == std::string::npos) return 0;
  return sentence[6];
}

// Every kind noun of textgen (lower case) with the aspect the parser gives it, so that
// what the guard bars is what the evaluation would read: "colour noise" is noise,
// "colour shift" colour.
std::vector<std::pair<std::string, int>> readKindAspects() {
  std::vector<std::pair<std::string, int>> kinds;
  for (int type = 1; type <= kNumTypes; ++type)
    for (const auto& noun : kindNouns(type)) {
      const ParsedAnswer p = parseAnswer(Task::Description, "The image shows mild " + noun + ".");
      int aspect = -1;
      for (int a = 0; a < kNumAspects; ++a)
        if (p.levelsA[size_t(a)] != Severity::Undistorted) aspect = aspect < 0 ? a : -2;
      const std::string lower = lowerCase(noun);
      const bool known = std::any_of(kinds.begin(), kinds.end(), [&](const auto& k) { return k.first == lower; });
      if (aspect >= 0 && !known) kinds.emplace_back(lower, aspect);
    }
  return kinds;
}
const std::vector<std::pair<std::string, int>>& kindAspects() {
  static const std::vector<std::pair<std::string, int>> kinds = readKindAspects();
  return kinds;
}

// Whether `text` (lower case) is the start of the kind noun, or the whole noun followed
// by what ends it ("blur,", "blur in one region").
bool fitsKind(const std::string& text, const std::string& kind) {
  return startsWith(kind, text) || (startsWith(text, kind) && !isWordChar(text[kind.size()]));
}

// Whether `text` fits a kind noun the guard bars (one of a barred aspect, or one already
// named) and none it does not.
bool fitsOnlyBarredKinds(const AnswerGrammar& guard, const std::string& text) {
  if (text.empty()) return false;
  bool any = false;
  for (const auto& [kind, aspect] : kindAspects()) {
    if (!fitsKind(text, kind)) continue;
    const bool named = std::find(guard.kindsNamed.begin(), guard.kindsNamed.end(), kind) != guard.kindsNamed.end();
    if (!guard.kindBarred[size_t(aspect)] && !named) return false;
    any = true;
  }
  return any;
}

// The kind nouns that occur in `text` (lower case) as whole words.
std::vector<std::string> kindsNamedIn(const std::string& text) {
  std::vector<std::string> named;
  for (const auto& kind : kindAspects())
    if (findWord(text, kind.first) != std::string::npos) named.push_back(kind.first);
  return named;
}

// The last "image a" / "image b" of a text (lower case): the image (0, 1) and what
// follows its name; -1 when it names none.
int lastImageNamed(const std::string& text, std::string* after) {
  const size_t a = text.rfind("image a"), b = text.rfind("image b");
  if (a == std::string::npos && b == std::string::npos) return -1;
  const size_t at = (b == std::string::npos || (a != std::string::npos && a > b)) ? a : b;
  *after = text.substr(at + 7);
  return at == a ? 0 : 1;
}

// The text after the last level word of the sentence (lower case); false when none occurs.
bool textAfterLastLevelWord(const std::string& sentence, std::string* after) {
  size_t bestEnd = std::string::npos;
  for (const auto& word : levelAdjectives())
    for (size_t pos = findWord(sentence, word); pos != std::string::npos; pos = findWord(sentence, word, pos + 1))
      if (bestEnd == std::string::npos || pos + word.size() > bestEnd) bestEnd = pos + word.size();
  if (bestEnd == std::string::npos) return false;
  *after = sentence.substr(bestEnd);
  return true;
}

// The text after the last level word of the sentence (lower case), where that text may
// still become a kind noun: "mild", " colour", " loss of c". False when no level word
// occurs or the kind after it is written ("mild blur in").
bool openKindSlot(const std::string& sentence, std::string* afterLevel) {
  std::string after;
  if (!textAfterLastLevelWord(sentence, &after)) return false;
  if (!after.empty() && after.front() != ' ') return false;
  const std::string kind = withoutLeadingSpaces(after);
  if (!kind.empty() && std::none_of(kindAspects().begin(), kindAspects().end(),
                                    [&](const auto& k) { return startsWith(k.first, kind); }))
    return false;
  *afterLevel = std::move(after);
  return true;
}

// The clause of the answer so far (lower case) about the image it last named, and that
// image (0, 1); else, for a description, its whole text and image 0; else -1.
int clauseAboutAnImage(const std::string& lowerAnswer, bool describesOneImage, std::string* clause) {
  const int image = lastImageNamed(lowerAnswer, clause);
  if (image >= 0) return image;
  *clause = lowerAnswer;
  return describesOneImage ? 0 : -1;
}

// The kind slot of the sentence, with what its name may not be: the kinds the clause
// about the image (the text since the answer last named one; a description's whole
// text) has named already, and the aspects the heads see undistorted in that image
// (unless they see every aspect there undistorted). False when there is no slot, nothing
// is barred in it, or what it holds fits only barred names. `lowerAnswer`: the answer so
// far, lower case.
bool kindSlot(const std::string& lowerAnswer, const std::string& sentence, const HeadsReading& heads,
              AnswerGrammar* guard) {
  if (!openKindSlot(sentence, &guard->afterLevel)) return false;
  std::string clause;
  const int image = clauseAboutAnImage(lowerAnswer, heads.describesOneImage, &clause);
  clause.resize(clause.size() - std::min(clause.size(), guard->afterLevel.size()));
  guard->kindsNamed = kindsNamedIn(clause);
  if (image >= 0) {
    const auto& clean = heads.aspectClean[size_t(image)];
    if (!std::all_of(clean.begin(), clean.end(), [](bool c) { return c; })) guard->kindBarred = clean;
  }
  const bool anyAspect = std::any_of(guard->kindBarred.begin(), guard->kindBarred.end(), [](bool b) { return b; });
  // What follows the level word already fits only barred names: too late to choose.
  if (fitsOnlyBarredKinds(*guard, withoutLeadingSpaces(guard->afterLevel))) return false;
  return anyAspect || !guard->kindsNamed.empty();
}

// Whether the sentence (lower case) ends in a kind noun, or one and a comma, after its last
// level word in the clause about an image of a pair, where the heads are sure that every
// aspect of the image the clause has not named is undistorted (its list of distortions
// is done); what follows the noun goes to `guard->afterKind`. `lowerAnswer` as kindSlot's.
bool listEnds(const std::string& lowerAnswer, const std::string& sentence, const HeadsReading& heads,
              AnswerGrammar* guard) {
  std::string clause, after;
  const int image = lastImageNamed(lowerAnswer, &clause);
  if (image < 0 || !textAfterLastLevelWord(sentence, &after)) return false;
  after = withoutLeadingSpaces(after);
  size_t kindEnd = 0;
  for (const auto& kind : kindAspects())
    if (kind.first.size() > kindEnd && beginsWithWord(after, kind.first)) kindEnd = kind.first.size();
  if (kindEnd == 0) return false;
  const std::string tail = after.substr(kindEnd);
  if (!tail.empty() && tail != ",") return false;
  std::array<bool, kNumAspects> named{};
  for (const auto& [kind, aspect] : kindAspects())
    if (findWord(clause, kind) != std::string::npos) named[size_t(aspect)] = true;
  for (int a = 0; a < kNumAspects; ++a)
    if (!heads.aspectSurelyClean[size_t(image)][size_t(a)] && !named[size_t(a)]) return false;
  guard->afterKind = tail;
  return true;
}

// Whether `text` (what follows a kind noun, lower case) goes on with the list: after an
// optional comma, "and" or a level word, or the start of one and of no other word.
bool continuesList(const std::string& text) {
  if (text.empty() || isWordChar(text.front())) return false;  // the noun goes on ("grains")
  std::string rest = text;
  if (!rest.empty() && rest.front() == ',') rest.erase(0, 1);
  rest = withoutLeadingSpaces(rest);
  if (rest.empty()) return false;
  static const std::vector<std::string> others = {"whereas", "while", "in", "within"};
  if (std::any_of(others.begin(), others.end(), [&](const std::string& w) { return fitsWord(rest, w); })) return false;
  if (fitsWord(rest, "and")) return true;
  const auto& levels = levelAdjectives();
  return std::any_of(levels.begin(), levels.end(), [&](const std::string& w) { return fitsWord(rest, w); });
}

// Whether `name` occurs once in `text` (lower case).
bool namedOnce(const std::string& text, const std::string& name) {
  const size_t first = text.find(name);
  return first != std::string::npos && text.find(name, first + 1) == std::string::npos;
}

// What textgen's image clauses say after the image's name, up to their first other
// placeholder, lower case: " suffers from ", " shows ", ... (`clean` false); " looks
// pristine", " shows no visible distortion", ... (true).
std::vector<std::string> readClauseStems(bool clean) {
  std::vector<std::string> stems;
  const auto& pools = imageClausePools();
  for (const auto& clause : pools[clean ? 1 : 0]) {
    if (!startsWith(clause, "{X}")) continue;
    const std::string rest = clause.substr(3);
    addOnce(&stems, lowerCase(rest.substr(0, rest.find('{'))));
  }
  return stems;
}
// Whether what follows an image's name may still become, or is, a clause of the kind: an
// undistorted one, or one that names a distortion (its stem, then a level word).
bool fitsClause(const std::string& afterImage, bool clean) {
  static const std::vector<std::string> distorted = readClauseStems(false), undistorted = readClauseStems(true);
  for (const auto& stem : clean ? undistorted : distorted) {
    if (startsWith(stem, afterImage)) return true;
    if (!startsWith(afterImage, stem)) continue;
    if (clean) return true;
    const std::string level = afterImage.substr(stem.size());
    for (const auto& word : levelAdjectives())
      if (startsWith(word, level) || beginsWithWord(level, word)) return true;
  }
  return false;
}

// Whether some finished sentence of `lowerAnswer` is a verdict (verdictSentencePools),
// of a winner or a tie.
bool hasFinishedVerdict(const std::string& lowerAnswer) {
  for (const auto& [begin, end] : sentenceSpans(lowerAnswer)) {
    if (!endsASentence(lowerAnswer.substr(begin, end - begin))) continue;
    const std::string sentence = withoutLeadingSpaces(lowerAnswer.substr(begin, end - begin));
    for (bool tie : {false, true})
      for (const auto& stem : verdictStems(tie))
        if (startsWith(sentence, stem)) return true;
  }
  return false;
}

// How a reasoning's first sentence stands against textgen's clauses about Image A, whole
// ("image a looks pristine") or up to their level word ("in image a there is "): it may
// still become one (Open), is one past its level word or an undistorted one (Settled),
// or cannot become one (Off).
enum class FirstClause { Off, Open, Settled };
FirstClause readFirstClause(const std::string& sentence) {
  static const std::array<std::vector<std::string>, 2> stems = [] {
    std::array<std::vector<std::string>, 2> out;  // [0] names a distortion, [1] undistorted
    const auto& pools = imageClausePools();
    for (size_t clean = 0; clean < 2; ++clean)
      for (const auto& clause : pools[clean]) addOnce(&out[clean], asWritten(clause.substr(0, clause.find("{LVL}"))));
    return out;
  }();
  bool open = false;
  for (const auto& stem : stems[1]) {
    if (startsWith(sentence, stem)) return FirstClause::Settled;
    open = open || startsWith(stem, sentence);
  }
  for (const auto& stem : stems[0]) {
    if (startsWith(stem, sentence)) open = true;
    if (!startsWith(sentence, stem)) continue;
    const std::string level = sentence.substr(stem.size());
    for (const auto& word : levelAdjectives()) {
      if (startsWith(level, word + " ")) return FirstClause::Settled;
      open = open || fitsWord(level, word);
    }
  }
  return open ? FirstClause::Open : FirstClause::Off;
}

}  // namespace

bool AnswerGrammar::mayCompare(int aspect) const { return described[size_t(aspect)] && !compared[size_t(aspect)]; }

AnswerGrammar readAnswerSoFar(const std::string& answerSoFar, bool preferenceStated, const HeadsReading& heads) {
  AnswerGrammar guard;
  const bool atStart = answerSoFar.empty() || endsASentence(answerSoFar);
  const size_t start = atStart ? answerSoFar.size() : sentenceSpans(answerSoFar).back().first;
  // Lower case once: every rule below reads the answer so.
  const std::string lowerAnswer = lowerCase(answerSoFar);
  const std::string sentence = withoutLeadingSpaces(lowerAnswer.substr(start));
  if (!preferenceStated && std::all_of(sentence.begin(), sentence.end(), isWordChar)) {
    guard.openingWithoutPreference = true;
    guard.firstWord = sentence;
  }
  // Only while the sentence may still become either kind: one that fits winners alone
  // cannot turn into a tie, one that fits ties alone is too late to turn.
  if (heads.winner != 0 && fitsVerdict(sentence, false) && fitsVerdict(sentence, true)) {
    guard.tieBarred = true;
    guard.sentence = sentence;
  }
  if (const int aspect = aspectBeforeLetter(sentence); aspect >= 0) {
    const int better = heads.aspectBetter[size_t(aspect)];
    guard.letterBarred = better > 0 ? 'b' : better < 0 ? 'a' : 0;
  }
  if (!guard.letterBarred) guard.letterBarred = verdictLetterBarred(sentence, heads.winner);
  guard.endBarred = heads.reasoning && !hasFinishedVerdict(lowerAnswer);
  // Only while it is open: a first sentence that already left the clauses (an answer
  // decoded without this rule) is too late to turn.
  if (heads.reasoning && start == 0 && readFirstClause(sentence) == FirstClause::Open) {
    guard.firstClauseOpen = true;
    guard.firstSentence = sentence;
  }
  guard.inKindSlot = !atStart && kindSlot(lowerAnswer, sentence, heads, &guard);
  guard.listEnds = !atStart && listEnds(lowerAnswer, sentence, heads, &guard);
  if (std::string after; !atStart) {
    const int image = lastImageNamed(sentence, &after);
    if (image >= 0 && fitsClause(after, true) && fitsClause(after, false)) {
      const auto& sure = heads.aspectSurelyClean[size_t(image)];
      guard.cleanBarred = heads.imageDistorted[size_t(image)];
      // Only in the clause that first names the image: later sentences that name it are
      // comparisons ("Image B is a little better than Image A").
      guard.distortedBarred = std::all_of(sure.begin(), sure.end(), [](bool c) { return c; }) &&
                              namedOnce(lowerAnswer, image == 0 ? "image a" : "image b");
      guard.afterImage = after;
    }
  }
  std::string written;
  const bool inSlot = !atStart && openSlot(sentence, &written);
  if (!atStart && !inSlot) return guard;  // mid-sentence: no comparison to guard
  const ParsedAnswer finished = parseAnswer(Task::Reasoning, answerSoFar.substr(0, start));
  bool anyCompared = false, anyLeft = false, anyRightWay = false, anyOwed = false;
  const char first = inSlot ? betterImageNamedFirst(sentence) : 0;
  for (int a = 0; a < kNumAspects; ++a) {
    guard.compared[size_t(a)] = finished.aspectCmpCount[size_t(a)] > 0;
    guard.described[size_t(a)] =
        finished.levelsA[size_t(a)] != Severity::Undistorted || finished.levelsB[size_t(a)] != Severity::Undistorted;
    const int better = heads.aspectBetter[size_t(a)];
    guard.directionBarred[size_t(a)] = (first == 'a' && better < 0) || (first == 'b' && better > 0);
    anyCompared = anyCompared || guard.compared[size_t(a)];
    const bool inOneImage = (finished.levelsA[size_t(a)] != Severity::Undistorted) !=
                            (finished.levelsB[size_t(a)] != Severity::Undistorted);
    anyOwed = anyOwed || (inOneImage && !guard.compared[size_t(a)]);
    anyLeft = anyLeft || guard.mayCompare(a);
    anyRightWay = anyRightWay || (guard.mayCompare(a) && !guard.directionBarred[size_t(a)]);
  }
  if (!anyRightWay) guard.directionBarred = {};  // no aspect is left the heads agree with
  guard.inSlot = inSlot && anyLeft;
  guard.written = written;
  guard.comparisonsDone = atStart && anyCompared && !anyLeft;
  // A pair's answer: a description names no image and compares nothing.
  const std::string finishedText = lowerAnswer.substr(0, start);
  const bool namesBoth =
      finishedText.find("image a") != std::string::npos && finishedText.find("image b") != std::string::npos;
  guard.comparisonsOwed = atStart && anyOwed && namesBoth && !heads.describesOneImage;
  return guard;
}

bool statesPreference(const std::string& preference, const std::string& question) {
  // parsePreference finds an aspect's word anywhere in its text, so the question need
  // not be cut into sentences first.
  return !preference.empty() || parsePreference(question).has_value();
}

bool leavesAnswerGrammar(const AnswerGrammar& guard, const std::string& next) {
  const std::string lowerNext = lowerCase(next);  // asked of every token: lower case once
  if (guard.openingWithoutPreference) {
    // Whole words only: "Yo" may still become "Your"; "You" and "You," may not be written.
    const std::string opening = withoutLeadingSpaces(guard.firstWord + lowerNext);
    for (const auto& word : preferenceOpeners())
      if (beginsWithWord(opening, word)) return true;
  }
  if (guard.tieBarred) {
    const std::string sentence = withoutLeadingSpaces(guard.sentence + lowerNext);
    if (fitsVerdict(sentence, true) && !fitsVerdict(sentence, false)) return true;
  }
  if (guard.letterBarred) {
    const std::string word = withoutLeadingSpaces(lowerNext);
    if (!word.empty() && word[0] == guard.letterBarred && (word.size() == 1 || !isWordChar(word[1]))) return true;
  }
  if (guard.listEnds && continuesList(guard.afterKind + lowerNext)) return true;
  if (guard.cleanBarred || guard.distortedBarred) {
    const std::string after = guard.afterImage + lowerNext;
    if (fitsClause(after, guard.cleanBarred) && !fitsClause(after, !guard.cleanBarred)) return true;
  }
  if (guard.firstClauseOpen &&
      readFirstClause(withoutLeadingSpaces(guard.firstSentence + lowerNext)) == FirstClause::Off)
    return true;
  if (guard.inKindSlot) {
    const std::string candidate = guard.afterLevel + lowerNext;
    if (!candidate.empty() && candidate.front() == ' ' && fitsOnlyBarredKinds(guard, withoutLeadingSpaces(candidate)))
      return true;
  }
  if (guard.inSlot) {
    if (fitsOnlyBarredAspects(guard, guard.written)) return false;  // too late to choose
    return fitsOnlyBarredAspects(guard, withoutLeadingSpaces(guard.written + lowerNext));
  }
  if (!guard.comparisonsDone && !guard.comparisonsOwed) return false;
  const std::string opening = withoutLeadingSpaces(lowerNext);
  if (opening.empty()) return false;
  const auto fitsAny = [&](const std::vector<std::string>& words) {
    return std::any_of(words.begin(), words.end(), [&](const std::string& word) { return fitsWord(opening, word); });
  };
  if (guard.comparisonsOwed) return fitsAny(closingOpeners()) && !fitsAny(comparisonOpeners());
  return fitsAny(comparisonOpeners());
}

}  // namespace dqa::data
