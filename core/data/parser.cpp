#include "core/data/parser.h"
#include "core/data/answer_words.h"
#include "core/data/textgen.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace dqa::data {

namespace {

struct Phrase {
  std::string text;
  int value;
};

// Longest phrases first so that "colour noise" wins over "colour" and "noise".
std::vector<Phrase> sortedByLength(std::vector<Phrase> v) {
  std::stable_sort(v.begin(), v.end(), [](const Phrase& a, const Phrase& b) { return a.text.size() > b.text.size(); });
  return v;
}

const int B = 0, C = 1, N = 2, A = 3, Z = 4;  // brightness, color, noise, artifacts, blur
const std::vector<Phrase>& aspectLexicon() {
  static const std::vector<Phrase> lex = sortedByLength({
      {"brightness", B},
      {"exposure", B},
      {"overexposure", B},
      {"underexposure", B},
      {"overexposed", B},
      {"underexposed", B},
      {"brightening", B},
      {"darkening", B},
      {"contrast", B},
      {"too bright", B},
      {"too dark", B},
      {"colour", C},
      {"color", C},
      {"colours", C},
      {"colors", C},
      {"saturation", C},
      {"desaturation", C},
      {"oversaturation", C},
      {"colour banding", C},
      {"color banding", C},
      {"smearing of colours", C},
      {"smearing of colors", C},
      {"noise", N},
      {"noisy", N},
      {"grain", N},
      {"grainy", N},
      {"speckle", N},
      {"speckles", N},
      {"colour noise", N},
      {"color noise", N},
      {"salt-and-pepper", N},
      {"artifacts", A},
      {"artifact", A},
      {"artefacts", A},
      {"artefact", A},
      {"blockiness", A},
      {"blocking", A},
      {"pixelation", A},
      {"pixelated", A},
      {"posterization", A},
      {"banding", A},
      {"oversharpening", A},
      {"over-sharpening", A},
      {"halo", A},
      {"halos", A},
      {"jitter", A},
      {"ringing", A},
      {"colour block", A},
      {"color block", A},
      {"false colour", A},
      {"false color", A},
      {"blur", Z},
      {"blurry", Z},
      {"blurred", Z},
      {"blurriness", Z},
      {"sharpness", Z},
      {"focus", Z},
      {"out-of-focus", Z},
      {"defocus", Z},
      {"smearing", Z},
      {"over-smoothing", Z},
      {"denoising", Z},
      {"noise reduction", Z},
  });
  return lex;
}

const std::vector<Phrase>& levelLexicon() {
  static const std::vector<Phrase> lex = sortedByLength({
      {"severe", 2},     {"severely", 2},  {"heavy", 2},      {"heavily", 2}, {"strong", 2},     {"strongly", 2},
      {"serious", 2},    {"seriously", 2}, {"pronounced", 2}, {"extreme", 2}, {"extremely", 2},  {"mild", 1},
      {"mildly", 1},     {"slight", 1},    {"slightly", 1},   {"minor", 1},   {"subtle", 1},     {"moderate", 1},
      {"moderately", 1}, {"no", 0},        {"free of", 0},    {"without", 0}, {"no visible", 0},
  });
  return lex;
}

const std::vector<Phrase>& qualityLexicon() {
  static const std::vector<Phrase> lex = sortedByLength({
      {"bad", 0},
      {"very poor", 0},
      {"terrible", 0},
      {"unacceptable", 0},
      {"awful", 0},
      {"poor", 1},
      {"subpar", 1},
      {"below average", 1},
      {"fair", 2},
      {"acceptable", 2},
      {"mediocre", 2},
      {"good", 3},
      {"decent", 3},
      {"excellent", 4},
      {"superb", 4},
      {"outstanding", 4},
  });
  return lex;
}

const std::vector<Phrase>& textureLexicon() {
  static const std::vector<Phrase> lex = sortedByLength({
      {"barely", 1},
      {"hardly", 1},
      {"scarcely", 1},
      {"damaged", 2},
      {"destroyed", 2},
      {"lost", 2},
      {"ruined", 2},
      {"identifiable", 0},
      {"intact", 0},
      {"preserved", 0},
      {"recognizable", 0},
      {"recognisable", 0},
  });
  return lex;
}

const std::vector<std::string> kVerdictCues = {
    "overall", "therefore",  "all things considered", "in conclusion", "on balance",
    "thus",    "in the end", "your preference",       "in summary",    "to conclude"};
const std::vector<std::string> kIgnoreCues = {"you mentioned", "you said", "without this preference",
                                              "without your preference"};
// Openings of textgen's preference sentences (kPrefAck, kVerdictPref, kFlipNote; "your
// preference" also covers "without your preference").
const std::vector<std::string> kPreferenceCues = {"you mentioned", "you said", "your preference", "this preference"};
const std::vector<std::string> kTieCues = {"too close to call", "similar quality", "about the same",    "comparable",
                                           "no clear winner",   "equally",         "neither",           "cannot tell",
                                           "can't tell",        "on par",          "too small to call", "tie"};
const std::vector<Phrase> kComparatives = sortedByLength({{"better", 1},
                                                          {"superior", 1},
                                                          {"higher", 1},
                                                          {"cleaner", 1},
                                                          {"outperforms", 1},
                                                          {"preferable", 1},
                                                          {"fewer", 1},
                                                          {"wins", 1},
                                                          {"ahead", 1},
                                                          {"prefer", 1},
                                                          {"choose", 1},
                                                          {"pick", 1},
                                                          {"choice", 1},
                                                          {"worse", -1},
                                                          {"inferior", -1},
                                                          {"lower", -1},
                                                          {"behind", -1},
                                                          {"more distortions", -1}});
const std::vector<std::string> kStrongDegree = {"much",    "far",      "considerably",  "significantly",
                                                "clearly", "markedly", "substantially", "way"};

bool contains(const std::string& s, const std::string& phrase) { return findWord(s, phrase) != std::string::npos; }
bool containsAny(const std::string& s, const std::vector<std::string>& phrases) {
  for (const auto& p : phrases)
    if (contains(s, p)) return true;
  return false;
}

// All lexicon hits, longest first, each span masked so shorter phrases inside it do not
// match again. Returns (position, value) sorted by position.
std::vector<std::pair<size_t, int>> hits(std::string s, const std::vector<Phrase>& lex) {
  std::vector<std::pair<size_t, int>> out;
  for (const auto& p : lex) {
    for (size_t pos = findWord(s, p.text); pos != std::string::npos; pos = findWord(s, p.text, pos + 1)) {
      out.push_back({pos, p.value});
      std::fill(s.begin() + pos, s.begin() + pos + p.text.size(), '#');
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Image mentions in order: 0 = A, 1 = B.
std::vector<int> imageMentions(const std::string& s) {
  std::vector<std::pair<size_t, int>> v;
  const std::pair<const char*, int> names[] = {{"image a", 0},      {"image b", 1},   {"first image", 0},
                                               {"second image", 1}, {"picture a", 0}, {"picture b", 1}};
  for (const auto& [name, id] : names)
    for (size_t pos = findWord(s, name); pos != std::string::npos; pos = findWord(s, name, pos + 1))
      v.push_back({pos, id});
  std::sort(v.begin(), v.end());
  std::vector<int> ids;
  for (auto& p : v) ids.push_back(p.second);
  return ids;
}

std::vector<std::string> splitSentences(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& [begin, end] : sentenceSpans(text)) out.push_back(text.substr(begin, end - begin));
  return out;
}

std::vector<std::string> splitClauses(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&]() {
    if (!cur.empty()) out.push_back(cur);
    cur.clear();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',' || s[i] == ';' || s[i] == ':') {
      flush();
      continue;
    }
    bool split = false;
    for (const char* w : {" and ", " while ", " whereas ", " but "}) {
      size_t n = std::char_traits<char>::length(w);
      if (s.compare(i, n, w) == 0) {
        flush();
        i += n - 2;  // keep the trailing space out; loop increments
        split = true;
        break;
      }
    }
    if (!split) cur += s[i];
  }
  flush();
  return out;
}

// Winner of a verdict or brief answer.
bool readWinner(const std::string& s, Winner* out) {
  if (containsAny(s, kTieCues)) {
    *out = Winner::Tie;
    return true;
  }
  auto mentions = imageMentions(s);
  if (mentions.empty()) return false;
  auto comp = hits(s, kComparatives);
  int dir = comp.empty() ? 1 : comp.front().second;
  int first = mentions.front();
  // "X is worse than Y" / "X is worse": X loses.
  int win = dir > 0 ? first : 1 - first;
  *out = win == 0 ? Winner::A : Winner::B;
  return true;
}

}  // namespace

VerdictMention findVerdictMention(const std::string& answer) {
  const std::vector<std::pair<size_t, size_t>> sentences = sentenceSpans(answer);  // [begin, end)
  std::vector<size_t> mentions;  // byte offsets of "Image A" / "Image B"
  for (size_t p = answer.find("Image "); p != std::string::npos; p = answer.find("Image ", p + 1))
    if (p + 6 < answer.size() && (answer[p + 6] == 'A' || answer[p + 6] == 'B')) mentions.push_back(p);
  auto firstMentionIn = [&](const std::pair<size_t, size_t>& s) -> int {
    for (size_t k = 0; k < mentions.size(); ++k)
      if (mentions[k] >= s.first && mentions[k] < s.second) return int(k);
    return -1;
  };
  int chosen = -1, fallback = -1;
  for (size_t i = sentences.size(); i-- > 0 && chosen < 0;) {
    const std::string text = lowerCase(answer.substr(sentences[i].first, sentences[i].second - sentences[i].first));
    if (containsAny(text, kIgnoreCues)) continue;
    if (firstMentionIn(sentences[i]) < 0) {
      // The closing verdict calls the pair even: the last image-naming sentence before it
      // (a per-aspect comparison) is not the verdict, and its letter must not become one.
      if (fallback < 0 && containsAny(text, kVerdictCues) && containsAny(text, kTieCues)) {
        VerdictMention m;
        m.tie = true;
        return m;
      }
      continue;
    }
    if (containsAny(text, kVerdictCues))
      chosen = int(i);
    else if (fallback < 0)
      fallback = int(i);
  }
  if (chosen < 0) chosen = fallback;
  VerdictMention m;
  if (chosen < 0) return m;
  const auto& sentence = sentences[size_t(chosen)];
  m.index = firstMentionIn(sentence);
  m.letter = answer[mentions[size_t(m.index)] + 6];
  Winner w;
  if (readWinner(lowerCase(answer.substr(sentence.first, sentence.second - sentence.first)), &w) && w != Winner::Tie)
    m.winner = w == Winner::A ? 'A' : 'B';
  return m;
}

ParsedAnswer parseAnswer(Task task, const std::string& answer) {
  ParsedAnswer p;
  for (auto& l : p.levelsA) l = Severity::Undistorted;
  for (auto& l : p.levelsB) l = Severity::Undistorted;
  for (auto& c : p.aspectCmp) c = Cmp::Similar;
  std::string text = lowerCase(answer);

  if (task == Task::Comparison) {
    p.hasWinner = readWinner(text, &p.winner);
    return p;
  }

  for (const std::string& sentence : splitSentences(text)) {
    if (containsAny(sentence, kIgnoreCues)) continue;
    if (task == Task::Reasoning && containsAny(sentence, kVerdictCues)) {
      Winner w;
      if (readWinner(sentence, &w)) {
        p.hasWinner = true;
        p.winner = w;
      }
      continue;
    }
    auto mentions = imageMentions(sentence);
    bool two = std::find(mentions.begin(), mentions.end(), 0) != mentions.end() &&
               std::find(mentions.begin(), mentions.end(), 1) != mentions.end();
    auto comp = hits(sentence, kComparatives);
    bool tie = containsAny(sentence, kTieCues);
    if (task == Task::Reasoning && two && (!comp.empty() || tie)) {
      Cmp c = Cmp::Similar;
      if (!tie) {
        int rel = comp.front().second;  // subject relative to object
        int mag = containsAny(sentence, kStrongDegree) ? 2 : 1;
        int vsA = (mentions.front() == 0 ? rel : -rel) * mag;  // A relative to B
        c = static_cast<Cmp>(vsA);
      }
      std::array<bool, kNumAspects> named{};
      for (auto& h : hits(sentence, aspectLexicon())) named[size_t(h.second)] = true;
      for (int a = 0; a < kNumAspects; ++a) {
        if (!named[size_t(a)]) continue;
        const int before = static_cast<int>(p.aspectCmp[size_t(a)]), now = static_cast<int>(c);
        if (p.aspectCmpCount[size_t(a)] > 0 && before * now < 0) p.aspectCmpContradicted[size_t(a)] = true;
        ++p.aspectCmpCount[size_t(a)];
        p.aspectCmp[size_t(a)] = c;
      }
      continue;
    }
    int current = task == Task::Description ? 0 : (mentions.empty() ? -1 : mentions.front());
    for (const std::string& clause : splitClauses(sentence)) {
      auto m = imageMentions(clause);
      if (task == Task::Reasoning && !m.empty()) current = m.front();
      if (contains(clause, "texture") || contains(clause, "textures")) {
        auto t = hits(clause, textureLexicon());
        if (!t.empty()) {
          p.hasTexture = true;
          p.texture = static_cast<Texture>(t.front().second);
        }
        continue;
      }
      if (task == Task::Description) {
        auto q = hits(clause, qualityLexicon());
        if (!q.empty()) {
          p.hasQuality = true;
          p.quality = static_cast<Quality>(q.front().second);
          continue;
        }
      }
      if (current < 0) continue;
      auto aspects = hits(clause, aspectLexicon());
      auto levels = hits(clause, levelLexicon());
      if (aspects.empty() || levels.empty()) continue;
      Severity s = static_cast<Severity>(levels.front().second);
      auto& target = current == 0 ? p.levelsA : p.levelsB;
      for (auto& a : aspects) target[a.second] = std::max(target[a.second], s);
    }
  }
  return p;
}

bool agrees(const Questionnaire& q, const ParsedAnswer& p, std::string* why) {
  auto fail = [&](const std::string& m) {
    if (why) *why = m;
    return false;
  };
  if (q.task == Task::Comparison) {
    if (!p.hasWinner || p.winner != q.winner)
      return fail(std::string("winner ") + (p.hasWinner ? winnerName(p.winner) : "none") +
                  " != " + winnerName(q.winner));
    return true;
  }
  for (int a = 0; a < kNumAspects; ++a) {
    if (p.levelsA[a] != q.a.aspectLevel[a])
      return fail(std::string("A ") + aspectName(static_cast<Aspect>(a)) + " " + severityName(p.levelsA[a]) +
                  " != " + severityName(q.a.aspectLevel[a]));
  }
  if (q.task == Task::Description) {
    if (p.texture != q.a.texture)
      return fail(std::string("texture ") + textureName(p.texture) + " != " + textureName(q.a.texture));
    if (!p.hasQuality || p.quality != q.a.quality)
      return fail(std::string("quality ") + qualityName(p.quality) + " != " + qualityName(q.a.quality));
    return true;
  }
  for (int a = 0; a < kNumAspects; ++a) {
    if (p.levelsB[a] != q.b.aspectLevel[a])
      return fail(std::string("B ") + aspectName(static_cast<Aspect>(a)) + " " + severityName(p.levelsB[a]) +
                  " != " + severityName(q.b.aspectLevel[a]));
    if (p.aspectCmp[a] != q.aspectCmp[a])
      return fail(std::string("cmp ") + aspectName(static_cast<Aspect>(a)) + " " + cmpSymbol(p.aspectCmp[a]) +
                  " != " + cmpSymbol(q.aspectCmp[a]));
  }
  if (!p.hasWinner || p.winner != q.winner)
    return fail(std::string("winner ") + (p.hasWinner ? winnerName(p.winner) : "none") + " != " + winnerName(q.winner));
  return true;
}

std::optional<Preference> parsePreference(const std::string& sentence) {
  std::string text = lowerCase(sentence);
  for (const char* curly : {"\xe2\x80\x99"})  // typographic apostrophe
    for (size_t at = text.find(curly); at != std::string::npos; at = text.find(curly)) text.replace(at, 3, "'");
  auto has = [&](std::initializer_list<const char*> words) {
    for (const char* w : words)
      if (text.find(w) != std::string::npos) return true;
    return false;
  };
  // Earliest-named aspect wins, so "noise matters more than blur" is about noise.
  const std::pair<Aspect, std::vector<const char*>> vocabulary[] = {
      {Aspect::Noise, {"noise", "noisy", "grain"}},
      {Aspect::Blurriness, {"blur", "soft", "sharp", "focus"}},
      {Aspect::Artifacts, {"artifact", "artefact", "blocky", "pixelat", "compression", "jpeg", "banding", "ringing"}},
      {Aspect::Color, {"colour", "color", "saturat", "hue"}},
      {Aspect::Brightness, {"bright", "dark", "exposure", "exposed", "contrast"}},
  };
  size_t first = std::string::npos;
  Aspect aspect = Aspect::Noise;
  for (const auto& [a, words] : vocabulary)
    for (const char* w : words)
      if (size_t at = text.find(w); at < first) {
        first = at;
        aspect = a;
      }
  if (first == std::string::npos) return std::nullopt;
  Preference p;
  p.aspect = aspect;
  p.text = sentence;
  const bool tolerant = has({"don't mind", "do not mind", "doesn't bother", "does not bother", "don't bother",
                             "do not bother", "don't care", "do not care", "fine with", "okay with", "ok with",
                             "can live with", "not a problem", "doesn't matter", "does not matter"});
  p.weight = tolerant ? kTolerantWeight : kIntolerantWeight;
  return p;
}

bool acknowledgesPreference(const std::string& answer) {
  const std::string text = lowerCase(answer);
  for (const auto& cue : kPreferenceCues)
    if (contains(text, cue)) return true;
  return false;
}

AnswerCautions answerCautions(const std::string& answer, bool preferenceStated) {
  AnswerCautions cautions;
  const ParsedAnswer parsed = parseAnswer(Task::Reasoning, answer);
  for (int i = 0; i < kNumAspects; ++i)
    if (parsed.aspectCmpContradicted[size_t(i)]) cautions.givenToBothImages.push_back(static_cast<Aspect>(i));
  cautions.speaksOfUnstatedPreference = !preferenceStated && acknowledgesPreference(answer);
  return cautions;
}

}  // namespace dqa::data
