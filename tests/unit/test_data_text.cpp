// Questionnaire -> text -> questionnaire: pool sizes, the short-answer rule, and the
// reverse parser's round trip on held-out generated texts (seeds never used elsewhere).
#include <QtTest/QtTest>

#include <algorithm>
#include <map>
#include <regex>
#include <sstream>
#include <set>

#include "core/data/answer_grammar.h"
#include "core/data/parser.h"
#include "core/data/question_variety.h"
#include "core/data/sampler.h"
#include "core/data/textgen.h"
#include "core/text/prompt.h"

using namespace dqa::data;

namespace {

// A random label (no pixels: texture from the labels) for text tests.
ImageLabel randomLabel(cv::RNG& rng) {
  SamplerConfig cfg;
  int count = rng.uniform(0, 4);
  auto ds = randomDistortions(rng, cfg, count, {96, 96});
  ImageLabel l = labelImage(ds, {96, 96}, cv::Mat(), cv::Mat());
  // Texture normally comes from pixels; exercise all values consistently with the rule.
  if (l.level(Aspect::Noise) != Severity::Undistorted || l.level(Aspect::Blurriness) != Severity::Undistorted ||
      l.level(Aspect::Artifacts) != Severity::Undistorted)
    l.texture = static_cast<Texture>(rng.uniform(0, 3));
  return l;
}

Questionnaire randomQuestionnaire(std::uint64_t seed) {
  cv::RNG rng(seed);
  Task task = static_cast<Task>(rng.uniform(0, 3));
  bool fr = rng.uniform(0, 2);
  ImageLabel a = randomLabel(rng);
  if (task == Task::Description) return makeDescription(a, fr);
  ImageLabel b = randomLabel(rng);
  if (rng.uniform(0, 4) == 0) {
    Preference p;
    p.aspect = static_cast<Aspect>(rng.uniform(0, kNumAspects));
    bool intolerant = rng.uniform(0, 2);
    p.weight = intolerant ? kIntolerantWeight : kTolerantWeight;
    p.text = preferencePool(p.aspect, intolerant).front();
    return makePair(task, a, b, fr, &p);
  }
  return makePair(task, a, b, fr);
}

// The reasoning texts the data engine writes for the seeds [from, to) of
// randomQuestionnaire, each with the parser's reading.
std::vector<std::pair<std::string, ParsedAnswer>> generatedReasonings(std::uint64_t from, std::uint64_t to) {
  std::vector<std::pair<std::string, ParsedAnswer>> out;
  for (std::uint64_t s = from; s < to; ++s) {
    const Questionnaire q = randomQuestionnaire(s);
    if (q.task != Task::Reasoning) continue;
    std::string text = generateText(q, s).answer;
    ParsedAnswer parsed = parseAnswer(Task::Reasoning, text);
    out.emplace_back(std::move(text), parsed);
  }
  return out;
}

// A brief-answer template with its winner {W} and loser {L} filled in.
std::string fillBrief(const std::string& text, Winner w) {
  const std::string W = w == Winner::A ? "Image A" : "Image B", L = w == Winner::A ? "Image B" : "Image A";
  return fillTemplate(text, {{"{W}", W}, {"{L}", L}});
}

}  // namespace

class TestDataText : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void poolsAreLargeEnough() {
    for (Task t : {Task::Description, Task::Comparison, Task::Reasoning})
      for (bool fr : {true, false}) {
        const auto& pool = questionPool(t, fr);
        QVERIFY2(pool.size() >= 10, taskName(t));
        QCOMPARE(std::set<std::string>(pool.begin(), pool.end()).size(), pool.size());
      }
    // >= 20 brief answers per winner: each template names the winner.
    QVERIFY(briefAnswerPool().size() >= 20);
    QVERIFY(tieAnswerPool().size() >= 10);
    for (int a = 0; a < kNumAspects; ++a) {
      QVERIFY(preferencePool(static_cast<Aspect>(a), true).size() >= 3);
      QVERIFY(preferencePool(static_cast<Aspect>(a), false).size() >= 2);
    }
  }

  void briefAnswersNameTheWinner() {
    for (const auto& t : briefAnswerPool())
      for (Winner w : {Winner::A, Winner::B}) {
        const std::string text = fillBrief(t, w);
        ParsedAnswer pa = parseAnswer(Task::Comparison, text);
        QVERIFY2(pa.hasWinner && pa.winner == w, text.c_str());
      }
    for (const auto& t : tieAnswerPool()) {
      ParsedAnswer pa = parseAnswer(Task::Comparison, t);
      QVERIFY2(pa.hasWinner && pa.winner == Winner::Tie, t.c_str());
    }
  }

  void verdictMentionIsTheVerdictSentencesFirstImage() {
    // Every brief template: the mention found states the winner the parser reads.
    for (const auto& t : briefAnswerPool())
      for (Winner w : {Winner::A, Winner::B}) {
        const std::string text = fillBrief(t, w);
        const char winner = w == Winner::A ? 'A' : 'B', loser = w == Winner::A ? 'B' : 'A';
        const VerdictMention m = findVerdictMention(text);
        QVERIFY2(m.index == 0 && m.winner == winner, text.c_str());
        QVERIFY2(m.letter == (t.find("{W}") < t.find("{L}") ? winner : loser), text.c_str());
      }
    // Reasoning: the last sentence with a verdict cue, counted among all mentions; a note
    // on the choice without the preference is not the verdict.
    VerdictMention m = findVerdictMention(
        "Image A has severe noise, while Image B shows mild blur. Without this preference, the choice would be Image "
        "A. "
        "Overall, Image B is better.");
    QCOMPARE(m.index, 3);
    QCOMPARE(m.letter, 'B');
    QCOMPARE(m.winner, 'B');
    m = findVerdictMention("Image A is noisy. In conclusion, Image A is worse than Image B.");
    QCOMPARE(m.index, 1);
    QCOMPARE(m.letter, 'A');
    QCOMPARE(m.winner, 'B');
    m = findVerdictMention("Image A and Image B are of similar quality.");
    QCOMPARE(m.index, 0);
    QCOMPARE(m.winner, char(0));
    QCOMPARE(findVerdictMention("Both look the same.").index, -1);
    QVERIFY(!findVerdictMention("Both look the same.").tie);
    // A closing verdict that calls the pair even names no image: the per-aspect comparison
    // before it is not the verdict (the engine showed its letter as one).
    for (size_t pool : {1, 3})  // kVerdictTie, kVerdictPrefTie
      for (const auto& tie : verdictSentencePools()[pool]) {
        const std::string text =
            "Image A shows mild noise, while Image B is affected by mild blur. "
            "Image B is a bit better than Image A when it comes to noise. " +
            tie;
        m = findVerdictMention(text);
        QVERIFY2(m.tie && m.index == -1 && m.winner == 0, text.c_str());
      }
    // A verdict after a tie-like remark is still the verdict.
    m = findVerdictMention("Overall, neither has noise. Overall, Image B is better than Image A.");
    QVERIFY(!m.tie);
    QCOMPARE(m.winner, 'B');
  }

  void reasoningVerdictsSayWhichWayBeforeTheImage() {
    // The words before a verdict sentence's first image decide whether that image is the
    // winner, the loser, or (a tie) neither: no two templates share them with different
    // roles, so the letter is the only choice left to the images.
    std::map<std::string, char> roleOfOpening;
    int templates = 0;
    for (const auto& pool : verdictSentencePools())
      for (const auto& t : pool) {
        ++templates;
        const size_t w = t.find("{W}"), l = t.find("{L}"), named = t.find("Image ");
        const size_t first = std::min({w, l, named});
        if (first != std::string::npos) {
          const char role = first == w ? 'W' : first == l ? 'L' : 'T';
          const auto [it, inserted] = roleOfOpening.emplace(t.substr(0, first), role);
          QVERIFY2(inserted || it->second == role, t.c_str());
        }
        // And the reverse parser reads the winner each filled sentence gives.
        const bool tie = w == std::string::npos && l == std::string::npos;
        for (Winner win : {Winner::A, Winner::B}) {
          const std::string text = fillBrief(t, win);
          const char expected = tie ? char(0) : win == Winner::A ? 'A' : 'B';
          ParsedAnswer pa = parseAnswer(Task::Reasoning, text);
          QVERIFY2(pa.hasWinner && pa.winner == (tie ? Winner::Tie : win), text.c_str());
          if (first != std::string::npos) QVERIFY2(findVerdictMention(text).winner == expected, text.c_str());
        }
      }
    QVERIFY(templates >= 20);
  }

  void verdictsNameNoDistortion() {
    // A verdict that names a distortion ("the image with fewer distortions is Image B")
    // leads the decoder into the body's vocabulary, where an image's name follows such
    // words; on photos it came out as "the image with fewer B image is Image B".
    std::set<std::string> distortionWords = {"distortion", "distortions", "distorted"};
    for (int t = 1; t <= kNumTypes; ++t)
      for (const auto& noun : kindNouns(t)) {
        std::istringstream words(noun);
        for (std::string w; words >> w;)
          if (w.size() > 4) distortionWords.insert(w);  // content words, not "of", "the"
      }
    for (const auto& pool : verdictSentencePools())
      for (const auto& t : pool) {
        std::istringstream words(t);
        for (std::string w; words >> w;) {
          w.erase(std::remove_if(w.begin(), w.end(), [](char c) { return c == ',' || c == '.'; }), w.end());
          QVERIFY2(!distortionWords.count(w), (t + " names '" + w + "'").c_str());
        }
      }
  }

  void aspectComparisonsNameTheBetterImageFirst() {
    // "In terms of noise, Image B is much better than Image A": the first letter is the
    // aspect's better image, decided by the images, never a coin the adjective must match.
    const std::regex comparison(
        R"((Image [AB]) is [a-z ]*?(better than|superior to|worse than|inferior to) (Image [AB]))");
    int checked = 0;
    for (std::uint64_t s = 7000; s < 9000; ++s) {
      Questionnaire q = randomQuestionnaire(s);
      if (q.task != Task::Reasoning) continue;
      const std::string text = generateText(q, s).answer;
      int aFirst = 0, bFirst = 0;
      for (std::sregex_iterator m(text.begin(), text.end(), comparison), end; m != end; ++m) {
        QVERIFY2((*m)[2] == "better than" || (*m)[2] == "superior to", text.c_str());
        ((*m)[1] == "Image A" ? aFirst : bFirst)++;
      }
      int aBetter = 0, bBetter = 0;
      for (Cmp c : q.aspectCmp) {
        if (c > Cmp::Similar) ++aBetter;
        if (c < Cmp::Similar) ++bBetter;
      }
      QVERIFY2(aFirst == aBetter && bFirst == bBetter, text.c_str());
      checked += aBetter + bBetter;
    }
    QVERIFY(checked > 500);
  }

  void reasoningsCompareEachAspectOnce() {
    // depictqa-eval counts model reasonings that compare an aspect twice or give it to both
    // images: the training texts never do.
    int compared = 0;
    for (const auto& [text, p] : generatedReasonings(7000, 9000)) {
      for (int a = 0; a < kNumAspects; ++a) {
        QVERIFY2(p.aspectCmpCount[size_t(a)] <= 1, text.c_str());
        QVERIFY(!p.aspectCmpContradicted[size_t(a)]);
        compared += p.aspectCmpCount[size_t(a)];
      }
    }
    QVERIFY(compared > 500);
  }

  void reasoningsCompareOnlyAspectsTheyDescribeAsDistorted() {
    // The decoding guard (core/data/answer_grammar.h) holds a model's reasoning to the
    // training texts' grammar: a comparison names an aspect the answer has described as
    // distorted in one image or both (and, reasoningsCompareEachAspectOnce, once).
    int compared = 0;
    for (const auto& [text, p] : generatedReasonings(9000, 11000)) {
      for (int a = 0; a < kNumAspects; ++a) {
        if (p.aspectCmpCount[size_t(a)] == 0) continue;
        ++compared;
        QVERIFY2(p.levelsA[size_t(a)] != Severity::Undistorted || p.levelsB[size_t(a)] != Severity::Undistorted,
                 text.c_str());
      }
    }
    QVERIFY(compared > 500);
  }

  void parserCountsAnAspectComparedTwice() {
    const ParsedAnswer p = parseAnswer(Task::Reasoning,
                                       "Image A shows extreme defocus blur. Image B has mild noise. "
                                       "In terms of blur, Image B is much better than Image A. Regarding noise, "
                                       "Image A is a little better than Image B. As for focus, Image A is clearly "
                                       "superior to Image B. Regarding noise level, Image A is slightly better than "
                                       "Image B. Overall, the better image is Image B.");
    const int blur = static_cast<int>(Aspect::Blurriness), noise = static_cast<int>(Aspect::Noise);
    QCOMPARE(p.aspectCmpCount[size_t(blur)], 2);
    QVERIFY(p.aspectCmpContradicted[size_t(blur)]);  // B, then A
    QCOMPARE(p.aspectCmpCount[size_t(noise)], 2);
    QVERIFY(!p.aspectCmpContradicted[size_t(noise)]);  // A both times
    QCOMPARE(p.aspectCmpCount[0], 0);
    QCOMPARE(p.winner, Winner::B);
  }

  void answerGrammarKeepsComparisonsToTheTrainingGrammar() {
    // (A preference stated throughout: only the comparison rules apply.)
    // Blur and noise described, blur compared: noise may be compared, blur not again,
    // colour (never described) not at all.
    const std::string blurCompared =
        "Image A has severe blur, while Image B has mild noise. In terms of blur, Image B is much better than Image "
        "A. ";
    AnswerGrammar guard = readAnswerSoFar(blurCompared + "Regarding", true);
    QVERIFY(guard.inSlot && !guard.comparisonsDone);
    QVERIFY(guard.compared[size_t(Aspect::Blurriness)] && guard.described[size_t(Aspect::Blurriness)]);
    QVERIFY(guard.mayCompare(int(Aspect::Noise)));
    QVERIFY(!guard.mayCompare(int(Aspect::Blurriness)) && !guard.mayCompare(int(Aspect::Color)));
    for (const char* barred : {" blur", " focus", " sharp", " Sharpness", " blu", " colour", " brightness", " bl"})
      QVERIFY2(leavesAnswerGrammar(guard, barred), barred);
    // Noise, only a space, a piece that may still name noise ("s" of "speck"), a word that
    // names no aspect.
    for (const char* kept : {" noise", " grain", " ", " s", "", " the"})
      QVERIFY2(!leavesAnswerGrammar(guard, kept), kept);
    // The aspect-last templates open the slot at their end; a word already begun is read.
    QVERIFY(readAnswerSoFar(blurCompared + "Image A is slightly better than Image B when it comes to", true).inSlot);
    guard = readAnswerSoFar(blurCompared + "As for s", true);  // sharpness or speckle
    QVERIFY(guard.inSlot);
    QCOMPARE(guard.written, std::string("s"));
    QVERIFY(leavesAnswerGrammar(guard, "harp"));
    QVERIFY(!leavesAnswerGrammar(guard, "peck"));
    // Too late to choose: every continuation of a word that already names blur is kept.
    guard = readAnswerSoFar(blurCompared + "As for blurr", true);
    QVERIFY(guard.inSlot);
    QVERIFY(!leavesAnswerGrammar(guard, "iness"));
    // Not in a slot: no cue, an aspect already named, or the first sentence.
    QVERIFY(!readAnswerSoFar(blurCompared + "Image A", true).inSlot);
    QVERIFY(!readAnswerSoFar(blurCompared + "Regarding noise,", true).inSlot);
    QVERIFY(!readAnswerSoFar(blurCompared + "Regarding colour accuracy", true).inSlot);
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(blurCompared + "Regarding colour accuracy", true), " and"));
    // Before any comparison every described aspect may be compared, no other.
    guard = readAnswerSoFar("Image A has severe blur, while Image B has mild noise. In terms of", true);
    QVERIFY(guard.inSlot);
    QVERIFY(!leavesAnswerGrammar(guard, " blur") && !leavesAnswerGrammar(guard, " noise"));
    QVERIFY(leavesAnswerGrammar(guard, " colour"));
    // With noise compared too, the next sentence goes on to the verdict: it may not open
    // like a comparison ("In", "Regarding", "As", "Image").
    guard = readAnswerSoFar(blurCompared + "As for noise, Image A is slightly better than Image B.", true);
    QVERIFY(guard.comparisonsDone && !guard.inSlot);
    for (const char* opener : {" In", " Regarding", " As", " Image", " I", " Im"})
      QVERIFY2(leavesAnswerGrammar(guard, opener), opener);
    for (const char* other : {" Overall", " Given", " Inter", " ", ""})
      QVERIFY2(!leavesAnswerGrammar(guard, other), other);
    // While one described aspect is left, and before any comparison, sentences open freely.
    QVERIFY(!readAnswerSoFar(blurCompared, true).comparisonsDone);
    QVERIFY(!readAnswerSoFar("Image A has severe blur, while Image B has mild noise.", true).comparisonsDone);
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(blurCompared, true), " Image"));
  }

  void answerGrammarSpeaksOfNoPreferenceNobodyStated() {
    const std::string compared =
        "Image A has severe blur, while Image B has mild noise. In terms of blur, Image B is much better than Image "
        "A. As for noise, Image A is slightly better than Image B.";
    const AnswerGrammar none = readAnswerSoFar(compared, false);
    QVERIFY(none.openingWithoutPreference && none.firstWord.empty());
    for (const char* opener : {" You", " Given", " Taking", " With", " Without", " you,"})
      QVERIFY2(leavesAnswerGrammar(none, opener), opener);
    for (const char* other : {" Overall", " Yo", " Your", " Withheld", " ", ""})  // part of a word; another word
      QVERIFY2(!leavesAnswerGrammar(none, other), other);
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar(compared + " Yo", false), "u"));  // "You", a piece at a time
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(compared + " Yo", false), "ur"));
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar("", false), "You"));                    // the first sentence too
    QVERIFY(!readAnswerSoFar(compared + " Overall,", false).openingWithoutPreference);  // past the first word
    // Stated: the sentences about it are the answer's to write.
    const AnswerGrammar stated = readAnswerSoFar(compared, true);
    QVERIFY(!stated.openingWithoutPreference);
    QVERIFY(!leavesAnswerGrammar(stated, " You") && !leavesAnswerGrammar(stated, " Given"));
    // A preference is stated in the preference field or in a sentence of the question.
    QVERIFY(statesPreference("I can't tolerate noise.", ""));
    QVERIFY(statesPreference("", "I can't tolerate noise. Which image is better, and why?"));
    QVERIFY(!statesPreference("", "Compared with the reference, which image is better, Image A or Image B, and why?"));
    QVERIFY(!statesPreference("", ""));
  }

  void answerGrammarReadsEveryTemplateOfTheTexts() {
    // The grammar takes its cues and openers from textgen's pools: every comparison
    // template, cut where it names the aspect, leaves an open slot, and once the aspects
    // are compared its opening is left out; every preference sentence's first word is
    // left out when no preference is stated.
    const std::string described = "Image A has severe blur, while Image B has mild noise.";
    const std::string bothCompared = described +
                                     " In terms of blur, Image B is much better than Image A. As for "
                                     "noise, Image A is slightly better than Image B.";
    const auto named = [](const std::string& s) {
      return fillTemplate(s, {{"{X}", "Image A"}, {"{Y}", "Image B"}, {"{DEG}", "much"}, {"{CMP}", "better than"}});
    };
    int templates = 0;
    for (const auto& pool : comparisonSentencePools())
      for (const auto& sentence : pool) {
        const std::string upToAspect = named(sentence.substr(0, sentence.find("{ASP}")));
        const AnswerGrammar guard = readAnswerSoFar(described + " " + upToAspect, true);
        QVERIFY2(guard.inSlot, sentence.c_str());
        QVERIFY2(leavesAnswerGrammar(guard, " colour") && !leavesAnswerGrammar(guard, " blur"), sentence.c_str());
        const std::string opening = " " + upToAspect.substr(0, upToAspect.find(' '));
        QVERIFY2(leavesAnswerGrammar(readAnswerSoFar(bothCompared, true), opening), sentence.c_str());
        ++templates;
      }
    QVERIFY(templates >= 6);
    for (const auto& pool : preferenceSentencePools())
      for (const auto& sentence : pool) {
        const std::string opening = " " + sentence.substr(0, sentence.find_first_of(" ,"));
        QVERIFY2(leavesAnswerGrammar(readAnswerSoFar(bothCompared, false), opening), sentence.c_str());
        QVERIFY2(!leavesAnswerGrammar(readAnswerSoFar(bothCompared, true), opening), sentence.c_str());
      }
  }

  void answerGrammarKeepsTiesFromPairsTheHeadsAreSureOf() {
    // With a clear winner by the heads, each tie verdict is cut off where it parts from
    // every winner verdict, and each winner verdict is written through to its image.
    const std::string compared =
        "Image A has severe blur, while Image B has mild noise. In terms of blur, Image B is much better than Image "
        "A. As for noise, Image A is slightly better than Image B.";
    HeadsReading sureOfB;
    sureOfB.winner = -1;
    const auto& pools = verdictSentencePools();
    int ties = 0, winners = 0;
    for (size_t p = 0; p < pools.size(); ++p)
      for (const auto& sentence : pools[p]) {
        const bool tie = p % 2 == 1;
        const std::string text = fillTemplate(sentence, {{"{W}", "Image B"}, {"{L}", "Image A"}});
        // Written a word at a time: the first word the guard leaves out (if any).
        std::string soFar = compared, barredAt;
        for (size_t begin = 0; begin < text.size() && barredAt.empty();) {
          size_t end = text.find(' ', begin + 1);
          end = end == std::string::npos ? text.size() : end;
          const std::string word = (begin == 0 ? " " : "") + text.substr(begin, end - begin);
          if (leavesAnswerGrammar(readAnswerSoFar(soFar, true, sureOfB), word)) barredAt = word;
          soFar += word;
          begin = end;
        }
        QVERIFY2(tie != barredAt.empty(), (sentence + " | " + barredAt).c_str());
        // Without a clear winner the same sentence is written whole.
        std::string free = compared;
        for (const char c : " " + text) {
          QVERIFY2(!leavesAnswerGrammar(readAnswerSoFar(free, true), std::string(1, c)), sentence.c_str());
          free += c;
        }
        (tie ? ties : winners) += 1;
      }
    QVERIFY(ties >= 5 && winners >= 9);
    // Where the tie is already written, it is too late to choose: nothing is left out.
    const AnswerGrammar late = readAnswerSoFar(compared + " Overall, neither", true, sureOfB);
    QVERIFY(!late.tieBarred);
    QVERIFY(!leavesAnswerGrammar(late, " image"));
    // Other sentences, and the note on what a preference changed, are not verdicts.
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(compared, true, sureOfB), " Without this preference, the two"));
  }

  void answerGrammarKeepsTheVerdictLetterToTheHeadsWinner() {
    const std::string compared =
        "Image A has mild noise, while Image B has severe blur. In terms of noise, Image B is a bit worse than "
        "Image A.";
    HeadsReading heads;
    heads.winner = -1;  // the heads are sure Image B is better
    int verdicts = 0;
    for (size_t pool : {0, 2})
      for (const std::string& t : verdictSentencePools()[pool]) {
        const size_t brace = t.find('{');
        const bool namesWinner = t.compare(brace, 3, "{W}") == 0;
        const std::string soFar = compared + " " + t.substr(0, brace) + "Image";
        const AnswerGrammar guard = readAnswerSoFar(soFar, true, heads);
        QVERIFY2(guard.letterBarred == (namesWinner ? 'a' : 'b'), soFar.c_str());
        QVERIFY2(leavesAnswerGrammar(guard, namesWinner ? " A" : " B"), soFar.c_str());
        QVERIFY2(!leavesAnswerGrammar(guard, namesWinner ? " B" : " A"), soFar.c_str());
        // Heads that are not sure leave the letter to the decoder.
        QCOMPARE(readAnswerSoFar(soFar, true, HeadsReading{}).letterBarred, char(0));
        ++verdicts;
      }
    QVERIFY(verdicts >= 10);
    // Before "Image", and past the letter, nothing is left out.
    QCOMPARE(readAnswerSoFar(compared + " Overall, the better image is", true, heads).letterBarred, char(0));
    QCOMPARE(readAnswerSoFar(compared + " Overall, the better image is Image B", true, heads).letterBarred, char(0));
    heads.winner = 1;
    QCOMPARE(readAnswerSoFar(compared + " Overall, the worse image is Image ", true, heads).letterBarred, 'a');
  }

  void answerGrammarSetsComparisonsTheWayTheHeadsDo() {
    // The heads see Image B better on noise and Image A better on blur; both described.
    HeadsReading heads;
    heads.aspectBetter[size_t(Aspect::Noise)] = -1;
    heads.aspectBetter[size_t(Aspect::Blurriness)] = 1;
    const std::string described = "Image A has mild noise, while Image B has severe blur.";
    // Aspect first: the letter after "Image" is the heads' better image on that aspect.
    for (const char* cue : {" In terms of noise, Image", " Regarding noise, Image", " As for noise, Image "}) {
      const AnswerGrammar guard = readAnswerSoFar(described + cue, true, heads);
      QCOMPARE(guard.letterBarred, 'a');
      QVERIFY2(leavesAnswerGrammar(guard, " A") && leavesAnswerGrammar(guard, "A"), cue);
      QVERIFY2(!leavesAnswerGrammar(guard, " B") && !leavesAnswerGrammar(guard, " Ab"), cue);
    }
    QCOMPARE(readAnswerSoFar(described + " In terms of blur, Image", true, heads).letterBarred, 'b');
    // Unsure heads, or no heads: nothing is left out.
    QCOMPARE(readAnswerSoFar(described + " In terms of colour, Image", true, heads).letterBarred, char(0));
    QCOMPARE(readAnswerSoFar(described + " In terms of noise, Image", true).letterBarred, char(0));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(described + " In terms of noise, Image", true), " A"));
    // Past the letter ("Image A and Image") the rule is done.
    QCOMPARE(readAnswerSoFar(described + " In terms of noise, Image A and Image", true, heads).letterBarred, char(0));
    // Better image first, aspect last: the slot leaves out the aspects the heads give to
    // the other image.
    AnswerGrammar slot =
        readAnswerSoFar(described + " Image A is slightly better than Image B when it comes to", true, heads);
    QVERIFY(slot.inSlot);
    QVERIFY(leavesAnswerGrammar(slot, " noise") && !leavesAnswerGrammar(slot, " blur"));
    slot = readAnswerSoFar(described + " Image B is much superior to Image A when it comes to", true, heads);
    QVERIFY(!leavesAnswerGrammar(slot, " noise") && leavesAnswerGrammar(slot, " blur"));
    // When every aspect left goes the other way, the comparison rule alone applies.
    HeadsReading allA;
    allA.aspectBetter.fill(1);
    slot = readAnswerSoFar(described + " Image B is much superior to Image A when it comes to", true, allA);
    QVERIFY(!leavesAnswerGrammar(slot, " noise") && !leavesAnswerGrammar(slot, " blur"));
    QVERIFY(leavesAnswerGrammar(slot, " colour"));
    // "On par" names no better image.
    slot = readAnswerSoFar(described + " Image B and Image A are on par regarding", true, heads);
    QVERIFY(!leavesAnswerGrammar(slot, " noise") && !leavesAnswerGrammar(slot, " blur"));
  }

  void answerGrammarNamesOnlyDistortionsTheHeadsSee() {
    // A description's one image: the heads see its colour and brightness undistorted.
    HeadsReading one;
    one.describesOneImage = true;
    one.aspectClean[0][size_t(Aspect::Color)] = true;
    one.aspectClean[0][size_t(Aspect::Brightness)] = true;
    AnswerGrammar guard = readAnswerSoFar("The image shows moderate", true, one);
    QVERIFY(guard.inKindSlot && guard.active());
    // "colour" may still become colour noise (noise) or colour block artifacts
    // (artifacts): it stays; "colour shift" and "desaturation" are colour's alone.
    QVERIFY(!leavesAnswerGrammar(guard, " colour") && !leavesAnswerGrammar(guard, " col"));
    QVERIFY(leavesAnswerGrammar(guard, " desaturation") && leavesAnswerGrammar(guard, " overexposure"));
    QVERIFY(!leavesAnswerGrammar(guard, " grain") && !leavesAnswerGrammar(guard, " lens"));
    QVERIFY(!leavesAnswerGrammar(guard, "ly"));  // "moderately": not a kind slot
    guard = readAnswerSoFar("The image shows moderate colour", true, one);
    QVERIFY(leavesAnswerGrammar(guard, " shift") && leavesAnswerGrammar(guard, " banding"));
    QVERIFY(!leavesAnswerGrammar(guard, " noise") && !leavesAnswerGrammar(guard, " block"));
    // Words of several kinds stay open until the kind is told: "loss of" -> brightness,
    // colour or sharpness.
    guard = readAnswerSoFar("There is slight loss of", true, one);
    QVERIFY(!leavesAnswerGrammar(guard, " sharpness"));
    QVERIFY(leavesAnswerGrammar(guard, " colour") && leavesAnswerGrammar(guard, " brightness"));
    // Once written, too late to choose; after the kind, the rule is done.
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("The image shows mild desaturation", true, one), "."));
    QVERIFY(!readAnswerSoFar("The image shows mild grain in", true, one).inKindSlot);
    QVERIFY(!readAnswerSoFar("The image shows", true, one).inKindSlot);
    // No heads, or heads that see every aspect undistorted: the names are the decoder's.
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("The image shows moderate", true), " desaturation"));
    HeadsReading allClean = one;
    allClean.aspectClean[0].fill(true);
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("The image shows moderate", true, allClean), " desaturation"));

    // A reasoning: the image the sentence is about is the one the answer last named.
    HeadsReading pair;
    pair.aspectClean[1][size_t(Aspect::Noise)] = true;  // Image B has no noise
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("Image A has mild", true, pair), " grain"));
    QVERIFY(
        leavesAnswerGrammar(readAnswerSoFar("Image A has mild blur, while Image B has heavy", true, pair), " grain"));
    QVERIFY(
        !leavesAnswerGrammar(readAnswerSoFar("Image A has mild blur, while Image B has heavy", true, pair), " blur"));
    // No image named yet in a pair's answer: nothing to go by.
    QVERIFY(!readAnswerSoFar("There is heavy", true, pair).inKindSlot);
  }

  void answerGrammarNamesNoDistortionTwiceForOneImage() {
    // Without any heads: the clause about Image A has named "loss of brightness".
    const std::string listed = "Image A is affected by slight loss of brightness, and moderate";
    AnswerGrammar guard = readAnswerSoFar(listed, true);
    QVERIFY(guard.inKindSlot && guard.active());
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar(listed + " loss of", true), " brightness"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(listed + " loss of", true), " sharpness"));
    QVERIFY(!leavesAnswerGrammar(guard, " loss") && !leavesAnswerGrammar(guard, " grain"));
    // A name that only begins like the named one stays: "colour" after "colour banding".
    guard = readAnswerSoFar("Image B shows mild colour banding, and heavy", true);
    QVERIFY(!leavesAnswerGrammar(guard, " colour") && !leavesAnswerGrammar(guard, " col"));
    QVERIFY(
        leavesAnswerGrammar(readAnswerSoFar("Image B shows mild colour banding, and heavy colour", true), " banding"));
    QVERIFY(
        !leavesAnswerGrammar(readAnswerSoFar("Image B shows mild colour banding, and heavy colour", true), " noise"));
    // Another image's clause may name it again; so may the first clause name it once.
    QVERIFY(!leavesAnswerGrammar(
        readAnswerSoFar("Image A has mild colour banding, while Image B has heavy colour", true), " banding"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("Image A has mild colour", true), " banding"));
    // A description's whole text is about its one image.
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar("The image shows mild grain, and severe", true), " grain"));
    // Once written, too late to choose.
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("The image shows mild grain, and severe grain", true), "."));
  }

  void answerGrammarEndsAListWhereTheHeadsSeeNothingMore() {
    HeadsReading heads;
    heads.aspectSurelyClean[0].fill(true);  // Image A: perhaps noise, surely nothing else
    heads.aspectSurelyClean[0][size_t(Aspect::Noise)] = false;
    heads.aspectSurelyClean[1].fill(true);  // Image B: perhaps noise and blur
    heads.aspectSurelyClean[1][size_t(Aspect::Noise)] = false;
    heads.aspectSurelyClean[1][size_t(Aspect::Blurriness)] = false;
    const std::string a = "Image A has mild grain";
    AnswerGrammar guard = readAnswerSoFar(a, true, heads);
    QVERIFY(guard.listEnds && guard.active());
    QVERIFY(leavesAnswerGrammar(guard, " and") && leavesAnswerGrammar(guard, " a"));
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar(a + ",", true, heads), " and"));
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar(a + ",", true, heads), " heavy"));
    QVERIFY(leavesAnswerGrammar(guard, ", mild"));
    // The clause may end, the next begin, or the distortion be placed.
    for (const char* next : {".", ",", ", whereas", ", while", " in", " within", "s", " noise"})
      QVERIFY2(!leavesAnswerGrammar(guard, next), next);
    // Image B's blur is not named yet: its list goes on; once named, it ends.
    const std::string b = a + ", whereas Image B shows heavy noise";
    QVERIFY(!readAnswerSoFar(b, true, heads).listEnds);
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(b, true, heads), ", and"));
    QVERIFY(readAnswerSoFar(b + ", and mild blur", true, heads).listEnds);
    // Without the heads' reading, or mid-noun, nothing ends.
    QVERIFY(!readAnswerSoFar(a, true).listEnds);
    QVERIFY(!readAnswerSoFar("Image A has mild colour", true, heads).listEnds);
    QVERIFY(!readAnswerSoFar("Image A has mild grain in one region", true, heads).listEnds);
  }

  void answerGrammarComparesWhatOneImageHasBeforeTheVerdict() {
    // Blur in Image A, noise in Image B: both differ, so both are compared first.
    const std::string clauses = "Image A has mild blur, while Image B has heavy grain.";
    const std::string oneCompared = clauses + " In terms of noise, Image A is far better than Image B.";
    AnswerGrammar guard = readAnswerSoFar(oneCompared, false);
    QVERIFY(guard.comparisonsOwed && guard.active());
    for (const char* next : {" Overall", " Over", " O", " Given", " Taking", " You", " With"})
      QVERIFY2(leavesAnswerGrammar(guard, next), next);
    for (const char* next : {" In", " I", " As", " Regarding", " Image"})
      QVERIFY2(!leavesAnswerGrammar(guard, next), next);
    // Once blur is compared too, the verdict may come (and comparisons may not).
    guard = readAnswerSoFar(oneCompared + " As for sharpness, Image B is a bit better than Image A.", false);
    QVERIFY(!guard.comparisonsOwed);
    QVERIFY(!leavesAnswerGrammar(guard, " Overall") && leavesAnswerGrammar(guard, " In"));
    // An aspect both images have is not owed; nor is anything mid-sentence or in a
    // description.
    QVERIFY(!readAnswerSoFar("Image A has mild blur, while Image B has heavy blur.", false).comparisonsOwed);
    QVERIFY(!readAnswerSoFar(oneCompared + " Over", false).comparisonsOwed);
    HeadsReading one;
    one.describesOneImage = true;
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("The image shows mild blur.", false, one), " Overall"));
  }

  void answerGrammarNamesNoDistortionInAnImageTheHeadsAreSureIsClean() {
    HeadsReading heads;
    heads.aspectSurelyClean[1].fill(true);  // sure that Image B is undistorted
    const std::string first = "Image A has mild grain, while Image B";
    AnswerGrammar guard = readAnswerSoFar(first, true, heads);
    QVERIFY(guard.distortedBarred && !guard.cleanBarred && guard.active());
    QVERIFY(leavesAnswerGrammar(guard, " suffers") && leavesAnswerGrammar(guard, " has"));
    QVERIFY(!leavesAnswerGrammar(guard, " looks") && !leavesAnswerGrammar(guard, " shows"));
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar(first + " shows", true, heads), " mild"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(first + " shows", true, heads), " no"));
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar(first + " is", true, heads), " affected"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(first + " is", true, heads), " essentially"));
    // Comparisons that name the image again go on; so does Image A, and anything without
    // heads.
    const std::string compared = first + " looks pristine. In terms of noise, Image B is";
    QVERIFY(!readAnswerSoFar(compared, true, heads).distortedBarred);
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(compared, true, heads), " a"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("Image A", true, heads), " has"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(first, true), " has"));
    // Not sure of one aspect: nothing is barred.
    heads.aspectSurelyClean[1][size_t(Aspect::Blurriness)] = false;
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(first, true, heads), " has"));
  }

  void answerGrammarCallsNoImageTheHeadsSeeDistortedUndistorted() {
    HeadsReading heads;
    heads.imageDistorted[1] = true;  // the heads see something wrong with Image B only
    const std::string first = "Image A has mild grain, while Image B";
    AnswerGrammar guard = readAnswerSoFar(first, true, heads);
    QVERIFY(guard.cleanBarred && guard.active());
    QVERIFY(leavesAnswerGrammar(guard, " looks"));  // "looks pristine"
    QVERIFY(!leavesAnswerGrammar(guard, " shows") && !leavesAnswerGrammar(guard, " is"));
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar(first + " shows", true, heads), " no"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(first + " shows", true, heads), " mild"));
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar(first + " is", true, heads), " essentially"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(first + " is", true, heads), " affected"));
    // Image A, which the heads see clean, may be called so; without heads nothing is barred.
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("Image A", true, heads), " looks"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar(first, true), " looks"));
    // Other sentences naming Image B go on as they would.
    const AnswerGrammar comparison = readAnswerSoFar("In terms of noise, Image A is better than Image B", true, heads);
    QVERIFY(!leavesAnswerGrammar(comparison, " when") && !leavesAnswerGrammar(comparison, "."));
    // Once the clause is undistorted, too late: nothing more is left out.
    QVERIFY(!readAnswerSoFar(first + " looks", true, heads).cleanBarred);
  }

  void answerGrammarOpensAReasoningWithImageAsClause() {
    HeadsReading reasoning;
    reasoning.reasoning = true;
    // No brief answer can be a reasoning's first sentence: some character of each is
    // left out before the sentence ends.
    for (const auto& brief : briefAnswerPool())
      for (Winner w : {Winner::A, Winner::B}) {
        const std::string text = fillBrief(brief, w);
        bool barred = false;
        for (size_t i = 0; i < text.size() && !barred; ++i)
          barred = leavesAnswerGrammar(readAnswerSoFar(text.substr(0, i), false, reasoning), text.substr(i, 1));
        QVERIFY2(barred, text.c_str());
      }
    const AnswerGrammar afterIs = readAnswerSoFar("Image A is", true, reasoning);
    QVERIFY(afterIs.firstClauseOpen && afterIs.active());
    QVERIFY(leavesAnswerGrammar(afterIs, " of") && leavesAnswerGrammar(afterIs, " better"));
    QVERIFY(!leavesAnswerGrammar(afterIs, " affected") && !leavesAnswerGrammar(afterIs, " essentially"));
    QVERIFY(!leavesAnswerGrammar(readAnswerSoFar("In Image A", true, reasoning), " there"));
    QVERIFY(leavesAnswerGrammar(readAnswerSoFar("", true, reasoning), " Overall"));
    // Past the level word, a clean clause, a later sentence, or another task: nothing.
    QVERIFY(!readAnswerSoFar("Image A has mild ", true, reasoning).firstClauseOpen);
    QVERIFY(!readAnswerSoFar("Image A looks pristine", true, reasoning).firstClauseOpen);
    QVERIFY(!readAnswerSoFar("Image A has mild blur. Image B", true, reasoning).firstClauseOpen);
    QVERIFY(!readAnswerSoFar("Image A is", true).firstClauseOpen);
    // Too late to turn: a first sentence already off the clauses is left as it is.
    QVERIFY(!readAnswerSoFar("Image A is of", true, reasoning).firstClauseOpen);
    // Every reasoning the data engine writes opens so: the rule leaves out none of the
    // characters of its first sentence.
    int checked = 0;
    for (const auto& [text, parsed] : generatedReasonings(0, 600)) {
      const size_t end = text.find('.');
      for (size_t i = 0; i < end; ++i) {
        const AnswerGrammar guard = readAnswerSoFar(text.substr(0, i), true, reasoning);
        QVERIFY2(!guard.firstClauseOpen || !leavesAnswerGrammar(guard, text.substr(i, 1)), text.c_str());
      }
      ++checked;
    }
    QVERIFY(checked > 100);
  }

  void answerGrammarEndsAReasoningOnlyAfterItsVerdict() {
    HeadsReading reasoning;
    reasoning.reasoning = true;
    QVERIFY(readAnswerSoFar("", true, reasoning).endBarred);
    QVERIFY(readAnswerSoFar("Image A is affected by slight excessive brightness.", true, reasoning).endBarred);
    QVERIFY(readAnswerSoFar("Image A has mild blur. Overall, the better image is Image B", true, reasoning).endBarred);
    QVERIFY(
        !readAnswerSoFar("Image A has mild blur. Overall, the better image is Image B.", true, reasoning).endBarred);
    QVERIFY(!readAnswerSoFar("Image A has mild blur. Overall, there is no clear winner.", true, reasoning).endBarred);
    QVERIFY(
        !readAnswerSoFar("Image A has mild blur. Given your preference, the worse image is Image A.", true, reasoning)
             .endBarred);
    QVERIFY(
        !readAnswerSoFar("Image A is affected by slight excessive brightness.", true).endBarred);  // not a reasoning
    // Every reasoning the data engine writes may end where it ends.
    int checked = 0;
    for (const auto& [text, parsed] : generatedReasonings(0, 600)) {
      QVERIFY2(!readAnswerSoFar(text, true, reasoning).endBarred, text.c_str());
      ++checked;
    }
    QVERIFY(checked > 100);
  }

  void onlyAnswersToAPreferenceOpenSentencesTheWayPreferenceSentencesDo() {
    // The grammar's preference rule: without a stated preference no training sentence
    // opens with "You", "Given", "Taking", "With" or "Without"; with one, some do.
    const std::regex opener(R"((^|[.!?] )(You|Given|Taking|With|Without)\b)");
    int withPreference = 0, opened = 0, without = 0;
    for (std::uint64_t s = 11000; s < 14000; ++s) {
      Questionnaire q = randomQuestionnaire(s);
      const std::string text = generateText(q, s).answer;
      const bool opens = std::regex_search(text, opener);
      if (q.hasPreference) {
        ++withPreference;
        opened += opens;
      } else {
        ++without;
        QVERIFY2(!opens, text.c_str());
      }
    }
    QVERIFY(without > 1000);
    QVERIFY(withPreference > 100 && opened > withPreference / 2);
  }

  void cautionsNameContradictionsAndUnstatedPreferences() {
    const std::string answer =
        "In terms of blur, Image B is much better than Image A. As for focus, Image A is clearly superior to Image "
        "B. You mentioned that you care a lot about noise. Given your preference, the better image is Image B.";
    const AnswerCautions unstated = answerCautions(answer, false);
    QCOMPARE(unstated.givenToBothImages, std::vector<Aspect>{Aspect::Blurriness});
    QVERIFY(unstated.speaksOfUnstatedPreference);
    QVERIFY(unstated.any());
    QVERIFY(!answerCautions(answer, true).speaksOfUnstatedPreference);
    QVERIFY(
        !answerCautions("Regarding noise, Image A is better than Image B. Overall, I prefer Image A.", false).any());
  }

  void halfOfComparisonsCarryTheShortAnswerTail() {
    int withWinner = 0, tail = 0;
    for (std::uint64_t s = 0; s < 4000; ++s) {
      Questionnaire q = randomQuestionnaire(s);
      if (q.task != Task::Comparison) continue;
      TextSample t = generateText(q, s);
      if (q.winner == Winner::Tie) {
        QVERIFY(!t.shortAnswer);  // a tie has no single-word answer
        continue;
      }
      ++withWinner;
      if (t.shortAnswer) {
        ++tail;
        QCOMPARE(QString::fromStdString(t.answer), QString(q.winner == Winner::A ? "Image A" : "Image B"));
        QVERIFY(t.promptQuestion.size() > std::string(kShortAnswerTail).size());
        QCOMPARE(t.promptQuestion.substr(t.promptQuestion.size() - std::string(kShortAnswerTail).size()),
                 std::string(kShortAnswerTail));
      }
    }
    double share = double(tail) / withWinner;
    QVERIFY2(share > 0.45 && share < 0.55, qPrintable(QString::number(share)));
  }

  void preferenceIsStatedBeforeTheQuestion() {
    for (std::uint64_t s = 0; s < 500; ++s) {
      Questionnaire q = randomQuestionnaire(s);
      TextSample t = generateText(q, s);
      if (!q.hasPreference) {
        QVERIFY(t.preference.empty());
        continue;
      }
      QCOMPARE(t.promptQuestion.rfind(q.preference.text, 0), size_t(0));
    }
  }

  void variedQuestionsAreWordedWidelyAndNameNoAspect() {
    for (Task task : {Task::Description, Task::Comparison, Task::Reasoning})
      for (bool fr : {false, true}) {
        const std::string standard = dqa::text::defaultQuestion(static_cast<dqa::text::Task>(task), fr);
        std::set<std::string> distinct;
        int standardCount = 0, namingReference = 0;
        const int n = 400;
        for (std::uint64_t s = 0; s < n; ++s) {
          const std::string q = variedQuestion(task, fr, s);
          QCOMPARE(variedQuestion(task, fr, s), q);
          QVERIFY2(!q.empty() && std::isupper(static_cast<unsigned char>(q[0])), q.c_str());
          QVERIFY2(q.back() == '?' || q.back() == '.', q.c_str());
          // A wording that named an aspect would read as a stated preference.
          QVERIFY2(!parsePreference(q).has_value(), q.c_str());
          distinct.insert(q);
          standardCount += q == standard;
          const bool names = q.find("reference") != std::string::npos || q.find("original") != std::string::npos;
          namingReference += names;
          if (!fr) QVERIFY2(!names, q.c_str());
        }
        QVERIFY2(distinct.size() >= 60, std::to_string(distinct.size()).c_str());
        QVERIFY(standardCount > n / 8 && standardCount < n / 2);  // a quarter are the app's question
        if (fr) QVERIFY(namingReference > n / 2);
      }
  }

  void questionVarietyChangesOnlyTheQuestion() {
    TextOptions varied;
    varied.questionVariety = 0.5;
    int changed = 0;
    for (std::uint64_t s = 0; s < 300; ++s) {
      Questionnaire q = randomQuestionnaire(s);
      const TextSample plain = generateText(q, s), other = generateText(q, s, varied);
      QCOMPARE(other.answer, plain.answer);
      QCOMPARE(other.preference, plain.preference);
      const auto& pool = questionPool(q.task, q.withReference);
      QVERIFY(std::find(pool.begin(), pool.end(), plain.question) != pool.end());
      changed += other.question != plain.question;
    }
    QVERIFY(changed > 100 && changed < 200);
  }

  void answersSpeakOfAPreferenceOnlyWhenOneIsStated() {
    int withPreference = 0, without = 0;
    for (std::uint64_t s = 0; s < 1500; ++s) {
      Questionnaire q = randomQuestionnaire(s);
      if (q.task != Task::Reasoning) continue;
      const TextSample t = generateText(q, s);
      QVERIFY2(acknowledgesPreference(t.answer) == q.hasPreference, t.answer.c_str());
      ++(q.hasPreference ? withPreference : without);
    }
    QVERIFY(withPreference >= 50 && without >= 200);
    for (const auto& pool : verdictSentencePools())
      for (const auto& sentence : pool)
        QCOMPARE(acknowledgesPreference(sentence), sentence.find("preference") != std::string::npos);
    QVERIFY(!acknowledgesPreference("Overall, I prefer Image B."));
  }

  void preferenceSentencesReadBackToTheirAspectAndWeight() {
    // Every sentence the data engine states, and free text in the same vocabulary.
    int checked = 0;
    for (int a = 0; a < kNumAspects; ++a)
      for (bool intolerant : {true, false})
        for (const auto& sentence : preferencePool(static_cast<Aspect>(a), intolerant)) {
          auto p = parsePreference(sentence);
          QVERIFY2(p.has_value(), sentence.c_str());
          QVERIFY2(p->aspect == static_cast<Aspect>(a), sentence.c_str());
          QCOMPARE(p->weight, intolerant ? kIntolerantWeight : kTolerantWeight);
          ++checked;
        }
    QVERIFY(checked >= 20);
    QCOMPARE(parsePreference("I really don\u2019t mind grain in the shadows.")->weight, kTolerantWeight);
    QVERIFY(parsePreference("JPEG blocking drives me mad.")->aspect == Aspect::Artifacts);
    QVERIFY(parsePreference("Keep it sharp, please.")->aspect == Aspect::Blurriness);
    QVERIFY(!parsePreference("I like cats.").has_value());
    QVERIFY(!parsePreference("").has_value());
  }

  void textsVary() {
    std::map<Task, std::set<std::string>> answers;
    std::map<Task, int> n;
    for (std::uint64_t s = 0; s < 600; ++s) {
      Questionnaire q = randomQuestionnaire(s);
      if (q.task == Task::Comparison) continue;
      answers[q.task].insert(generateText(q, s).answer);
      ++n[q.task];
    }
    for (auto& [task, set] : answers) QVERIFY(set.size() > 0.9 * n[task]);
  }

  void reverseParserRoundTripOnHeldOutTexts() {
    // Seeds from 10^9 on are used by no other test and no data run.
    std::map<Task, int> total, good;
    int shown = 0;
    for (std::uint64_t s = 1000000000ULL; s < 1000000000ULL + 6000; ++s) {
      Questionnaire q = randomQuestionnaire(s);
      TextSample t = generateText(q, s * 31 + 7);
      std::string why;
      bool ok = agrees(q, parseAnswer(q.task, t.answer), &why);
      ++total[q.task];
      good[q.task] += ok;
      if (!ok && shown++ < 8) qWarning("%s: %s\n  %s", taskName(q.task), why.c_str(), t.answer.c_str());
    }
    for (auto& [task, n] : total) {
      double rate = double(good[task]) / n;
      qInfo("%s: %d/%d round trips (%.2f%%)", taskName(task), good[task], n, 100 * rate);
      QVERIFY2(rate >= 0.99, taskName(task));
    }
  }

  void roundTripOnSampledPairsWithPixels() {
    // Through the full sampler (real texture measure, local distortions, preferences).
    auto photos = syntheticPhotos(4, 256, 192, SplitConfig{}, 5);
    std::vector<const Photo*> pool;
    for (auto& p : photos) pool.push_back(&p);
    SamplerConfig cfg;
    cfg.seed = 77;
    cfg.preferenceShare = 0.5;
    int n = 0, ok = 0;
    for (std::uint64_t i = 0; i < 300; ++i) {
      Sample s;
      QVERIFY(generateSample(pool, cfg, i, &s));
      std::string why;
      bool good = agrees(s.questionnaire, parseAnswer(s.questionnaire.task, s.text.answer), &why);
      if (!good) qWarning("%s: %s", why.c_str(), s.text.answer.c_str());
      ++n;
      ok += good;
    }
    QVERIFY(ok >= 0.99 * n);
  }

  void questionnaireJsonCarriesTheFields() {
    Questionnaire q = randomQuestionnaire(3);
    while (!q.isPair()) q = randomQuestionnaire(q.a.distortions.size() + 100);
    auto j = toJson(q);
    QVERIFY(j.contains("A") && j.contains("B"));
    QVERIFY(j.contains("aspect_comparison") && j.contains("winner") && j.contains("too_close_to_call"));
    QCOMPARE(j["aspect_comparison"].size(), size_t(kNumAspects));
    QVERIFY(j["A"]["aspects"].contains("blurriness"));
  }
};

QTEST_APPLESS_MAIN(TestDataText)
#include "test_data_text.moc"
