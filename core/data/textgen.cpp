#include "core/data/textgen.h"

#include <algorithm>
#include <cctype>

#include "core/data/distortions.h"
#include "core/data/question_variety.h"

namespace dqa::data {

const char* const kShortAnswerTail = " Answer the question using a single word or phrase.";

namespace {

using Pool = std::vector<std::string>;

// A small deterministic RNG (splitmix64) so that texts are the same on every platform.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() { return s = mixSeed(s, 7); }
  int below(int n) { return n <= 1 ? 0 : static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
  bool chance(double p) { return (next() >> 11) * (1.0 / 9007199254740992.0) < p; }
  const std::string& pick(const Pool& p) { return p[below(static_cast<int>(p.size()))]; }
};

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

std::string capitalise(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

// ------------------------------------------------------------------ questions
const Pool kDescFR = {
    "Compared with the reference image, how is the quality of this image?",
    "Describe the quality of the distorted image relative to the reference.",
    "What distortions does the image have compared with the reference, and how severe are they?",
    "Evaluate the image quality against the reference image.",
    "How does this image differ in quality from the reference?",
    "Please assess the quality of the image, using the reference as a guide.",
    "Given the reference, what quality issues can you see in the image?",
    "Describe the distortions in this image compared with the reference, and rate its overall quality.",
    "With the reference as a baseline, how would you describe this image's quality?",
    "Analyse the quality of the image with respect to the reference image.",
    "What has happened to this image compared with the reference?",
    "Tell me about the quality of the image in comparison with the reference.",
};
const Pool kDescNR = {
    "How is the quality of this image?",
    "Describe the quality of the image.",
    "What distortions can you see in this image?",
    "Evaluate the quality of this image.",
    "Is this image of good quality? Please describe.",
    "Please assess the image quality and explain.",
    "What quality issues does this image have?",
    "Describe any degradation in the image and rate its overall quality.",
    "How would you describe the visual quality of this picture?",
    "Analyse the quality of this image.",
    "Give a short quality assessment of this image.",
    "What do you think of this image's quality?",
};
const Pool kCmpFR = {
    "Compared with the reference, which image is better, Image A or Image B?",
    "Which of the two images is closer in quality to the reference?",
    "Given the reference image, which image has higher quality?",
    "Which image is of better quality relative to the reference, A or B?",
    "Using the reference as a guide, which image would you prefer?",
    "Which distorted image looks better when compared with the reference?",
    "Which image preserves the quality of the reference better?",
    "With the reference in mind, which of Image A and Image B is better?",
    "Which image is less degraded relative to the reference?",
    "Comparing both images with the reference, which one has better quality?",
    "Against the reference, which image would you choose?",
};
const Pool kCmpNR = {
    "Which image is better, Image A or Image B?",
    "Which of the two images has higher quality?",
    "Which image would you prefer in terms of quality?",
    "Which image looks better?",
    "Compare the two images: which one is of better quality?",
    "Between Image A and Image B, which has better quality?",
    "Which image has fewer distortions?",
    "Which of these two images is of higher visual quality?",
    "Which one looks cleaner, Image A or Image B?",
    "Which image is less degraded?",
    "Which picture would you keep, A or B?",
};
const Pool kReaFR = {
    "Compared with the reference, which image is better? Please explain your reasoning.",
    "Which image is closer to the reference in quality, and why?",
    "Using the reference, compare Image A and Image B and justify which is better.",
    "Given the reference image, which distorted image has higher quality? Explain.",
    "Explain, with the reference in mind, which of the two images you would prefer.",
    "Compare the distortions of both images against the reference and decide which is better.",
    "Which image better preserves the reference's quality? Give your reasons.",
    "Relative to the reference, analyse both images and tell me which one is better.",
    "Please compare Image A and Image B with the reference and explain your choice.",
    "Looking at the reference, which image is less degraded, and why?",
    "Assess both images against the reference and explain which has better quality.",
};
const Pool kReaNR = {
    "Which image is better, and why?",
    "Compare the quality of Image A and Image B and explain your choice.",
    "Which of the two images has higher quality? Please give your reasons.",
    "Analyse both images and tell me which one is better.",
    "Explain which image you would prefer in terms of quality.",
    "Compare the distortions in the two images and decide which is better.",
    "Which image looks better? Justify your answer.",
    "Please compare Image A and Image B and explain which has better quality.",
    "Which picture is less degraded, and why?",
    "Reason about the quality of both images and pick the better one.",
    "Between Image A and Image B, which has better quality? Explain your reasoning.",
};

// ------------------------------------------------------------------ brief answers
const Pool kBrief = {
    "{W}.",
    "{W} is better.",
    "{W} has better quality.",
    "{W} has the higher quality.",
    "I prefer {W}.",
    "{W} looks better.",
    "{W} is the better image.",
    "{L} is worse.",
    "{W} is better than {L}.",
    "{L} is worse than {W}.",
    "The better one is {W}.",
    "{W}, clearly.",
    "My choice is {W}.",
    "{W} is of higher quality.",
    "{L} has lower quality than {W}.",
    "{W} wins.",
    "I would pick {W}.",
    "{W} is preferable.",
    "{W} looks cleaner.",
    "{W} is superior.",
    "{L} is inferior to {W}.",
    "Between the two, {W} is better.",
    "{W} has fewer distortions.",
    "{W} is the higher-quality image.",
    "{L} looks worse.",
};
const Pool kTie = {
    "The two images are of similar quality.",
    "It is too close to call.",
    "Neither image is clearly better.",
    "They look about the same.",
    "I cannot tell them apart in quality.",
    "Both images are of comparable quality.",
    "There is no clear winner.",
    "Image A and Image B are about equally good.",
    "Too close to call: both look about the same.",
    "The quality difference is too small to call.",
    "Neither one stands out; they are on par.",
};

// ------------------------------------------------------------------ preferences
const Pool kPrefIntolerant[kNumAspects] = {
    {"Correct exposure matters most to me.", "I hate images that are too bright or too dark.",
     "Brightness problems bother me more than anything else."},
    {"Accurate colours are what I care about most.", "I can't stand wrong colours.",
     "Colour fidelity matters most to me."},
    {"I can't tolerate any noise.", "Noise bothers me more than anything else.",
     "For me, a noise-free image matters most."},
    {"Compression artifacts really annoy me.", "I can't stand blocky or pixelated artifacts.",
     "Artifacts bother me more than anything else."},
    {"Sharpness matters most to me.", "I really dislike blurry images.", "Blur is the thing I can't stand."},
};
const Pool kPrefTolerant[kNumAspects] = {
    {"Exposure problems don't bother me much.", "I don't mind if an image is a bit too bright or dark."},
    {"I don't care much about colour accuracy.", "Colour shifts don't bother me."},
    {"I don't mind a bit of grain.", "Some noise doesn't bother me."},
    {"I don't mind a few artifacts.", "Compression artifacts don't bother me much."},
    {"A little softness doesn't bother me.", "I don't mind some blur."},
};

// ------------------------------------------------------------------ answer vocabulary
const Pool kMildAdj = {"mild", "slight", "minor", "subtle", "moderate"};
const Pool kSevereAdj = {"severe", "heavy", "strong", "serious", "pronounced", "extreme"};

// Kind nouns per KADID type (each contains a word the parser maps to the type's aspect).
const Pool kKind[kNumTypes] = {
    {"Gaussian blur", "blur", "loss of sharpness"},
    {"lens blur", "defocus blur", "out-of-focus blur"},
    {"motion blur", "blur from camera motion", "motion smearing"},
    {"colour bleeding", "color diffusion", "smearing of colours"},
    {"colour fringing", "color misalignment", "colour shift"},
    {"colour banding", "color quantization", "loss of colour gradations"},
    {"loss of colour saturation", "desaturation", "colour distortion"},
    {"oversaturation", "exaggerated colours", "color distortion"},
    {"JPEG2000 compression artifacts", "wavelet compression artifacts", "ringing artifacts"},
    {"JPEG compression artifacts", "blocking artifacts", "compression blockiness"},
    {"noise", "white noise", "grain"},
    {"colour noise", "chromatic noise", "color noise"},
    {"impulse noise", "salt-and-pepper noise", "speckle noise"},
    {"multiplicative noise", "speckle noise", "noise"},
    {"over-smoothing from denoising", "denoising blur", "smearing from noise reduction"},
    {"overexposure", "excessive brightness", "brightening"},
    {"underexposure", "darkening", "loss of brightness"},
    {"brightness shift", "exposure shift", "brightness offset"},
    {"jitter artifacts", "pixel jitter", "scattering artifacts"},
    {"misplaced patch artifacts", "patch artifacts", "displaced block artifacts"},
    {"pixelation", "pixelation artifacts", "mosaic artifacts"},
    {"posterization", "banding artifacts", "quantization artifacts"},
    {"colour block artifacts", "color block artifacts", "blocks of false colour"},
    {"oversharpening", "sharpening halos", "halo artifacts"},
    {"contrast change", "contrast distortion", "altered contrast"},
};
const Pool kBrighter = {"overexposure", "excessive brightness", "brightening"};
const Pool kDarker = {"underexposure", "darkening", "loss of brightness"};
const Pool kMoreContrast = {"excessive contrast", "exaggerated contrast", "harsh contrast"};
const Pool kLessContrast = {"loss of contrast", "flat contrast", "washed-out contrast"};

// Nouns for comparisons and "no visible ..." sentences.
const Pool kAspectNoun[kNumAspects] = {
    {"brightness", "exposure"},     {"colour", "color fidelity", "colour accuracy"},
    {"noise", "noise level"},       {"artifacts", "artifact level"},
    {"sharpness", "blur", "focus"},
};
const Pool kAbsentNoun[kNumAspects] = {
    {"exposure problem", "brightness problem"}, {"colour distortion", "color problem"}, {"noise", "grain"},
    {"artifacts", "compression artifacts"},     {"blur", "loss of sharpness"},
};
const Pool kConsequence[kNumAspects] = {
    {"which shifts the tones away from a natural look", "so the tones look unnatural"},
    {"so the hues look unnatural", "which makes the palette look off"},
    {"which overlays the content with random specks", "so flat areas look rough"},
    {"which introduces visible structures that do not belong", "so some edges look broken"},
    {"which smooths away fine detail", "so edges look soft"},
};
const Pool kLocalWhere = {" in one region of the image", " in a part of the image", " within a limited area"};

const Pool kTextureSentence[3] = {
    {"Textures remain clearly identifiable.", "Fine texture is still identifiable.",
     "The texture details are preserved and identifiable.", "Texture is intact."},
    {"Textures are barely identifiable.", "Fine texture can hardly be identified.",
     "The texture is only barely recognizable."},
    {"Textures are damaged.", "Fine texture is destroyed.", "The texture is badly damaged.", "Texture detail is lost."},
};
const Pool kQualityWord[5] = {
    {"bad", "very poor", "terrible", "unacceptable"},
    {"poor", "subpar", "below average"},
    {"fair", "acceptable", "mediocre"},
    {"good", "decent"},
    {"excellent", "superb"},
};
const Pool kQualitySentence = {
    "Overall, the image quality is {Q}.",           "In summary, the quality of the image is {Q}.",
    "All in all, I would rate its quality as {Q}.", "Taken together, its overall quality is {Q}.",
    "The overall quality is therefore {Q}.",        "So the quality of this image is {Q} overall.",
};
const Pool kIntroFR = {"Compared with the reference image, a few differences stand out.",
                       "Checking the image against the reference,", "Relative to the reference,",
                       "Looking at the image next to the reference,"};
const Pool kIntroNR = {"Looking at the image closely,", "At first glance,", "Inspecting the picture,",
                       "Examining this image,"};
const Pool kClean = {"the image shows no visible distortion.",
                     "I cannot find any noticeable degradation in this image.", "the image looks pristine."};
// Aspect sentences about the single image; {LVL} level adjective, {KIND} kind noun,
// {WHERE} optional local phrase, {CONS} consequence clause.
const Pool kAspectSentence = {
    "The image suffers from {LVL} {KIND}{WHERE}.", "There is {LVL} {KIND}{WHERE}.",
    "I notice {LVL} {KIND}{WHERE}, {CONS}.",       "The image shows {LVL} {KIND}{WHERE}.",
    "It has {LVL} {KIND}{WHERE}, {CONS}.",         "{LVL} {KIND} {IS} visible{WHERE}.",
};
const Pool kAspectSentencePostfix = {
    "The {KIND} {IS} {LVL}{WHERE}.",
    "The {KIND}{WHERE} {IS} {LVL}, {CONS}.",
};

bool pluralKind(const std::string& k) {
  for (const char* w : {"artifacts", "halos", "blocks", "exaggerated colours"})
    if (k.find(w) != std::string::npos) return true;
  return false;
}

// Reasoning vocabulary.
const Pool kImageHas = {"{X} suffers from {LVL} {KIND}", "{X} shows {LVL} {KIND}", "{X} has {LVL} {KIND}",
                        "{X} is affected by {LVL} {KIND}", "In {X} there is {LVL} {KIND}"};
const Pool kImageClean = {"{X} shows no visible distortion", "{X} looks pristine",
                          "{X} is essentially free of distortion"};
const Pool kStrongDeg = {"much", "far", "considerably", "significantly", "clearly", "markedly"};
const Pool kWeakDeg = {"slightly", "somewhat", "marginally", "a little", "a bit"};
const Pool kBetterWord = {"better than", "superior to"};
const Pool kComparativeWord = {"better",       "worse",  "superior", "inferior",   "higher", "lower",
                               "falls behind", "prefer", "wins",     "comparable", "on par"};
const Pool kCmpSentence = {
    "In terms of {ASP}, {X} is {DEG} {CMP} {Y}.",
    "{X} is {DEG} {CMP} {Y} when it comes to {ASP}.",
    "Regarding {ASP}, {X} is {DEG} {CMP} {Y}.",
    "As for {ASP}, {X} is {DEG} {CMP} {Y}.",
};
const Pool kSimilarSentence = {"In terms of {ASP}, {X} and {Y} are comparable.",
                               "{X} and {Y} are on par regarding {ASP}."};
// Every verdict sentence says which way it points before it names an image ("the
// better image is Image B", "the worse image is Image A"): the letter is then the
// sentence's only decision, read from the images as a brief answer's is. Templates that
// named an image first ("Overall, Image B is better" beside "Overall, Image A falls
// behind Image B") left the letter undecided by anything the decoder had read, and
// reasoning verdicts agreed with the brief answer half the time. They all open with
// "Overall,": spread over ten openings, no single one outweighed the preference
// acknowledgement's "You" (a fifth of pair samples), and greedy decoding acknowledged
// preferences nobody had stated. None names a distortion: "the image with fewer
// distortions is {W}" led into the body's vocabulary, where an image's name follows
// such words, and on photos came out as "the image with fewer B image is Image B".
const Pool kVerdict = {
    "Overall, the better image is {W}.",
    "Overall, the higher quality belongs to {W}.",
    "Overall, the worse image is {L}.",
    "Overall, I prefer {W}.",
    "Overall, the image of higher quality is {W}.",
    "Overall, this comparison goes to {W}.",
    "Overall, the inferior image is {L}.",
    "Overall, the better choice is {W}.",
    "Overall, the image that falls behind is {L}.",
};
const Pool kVerdictTie = {
    "Overall, the two images are of similar quality, so it is too close to call.",
    "Overall, neither image is clearly better.",
    "Overall, the two images are about equally good.",
    "Overall, there is no clear winner.",
    "Overall, the difference is too small to call.",
};
const Pool kVerdictPref = {
    "Given your preference, the better choice is {W}.",
    "Taking your preference into account, I would choose {W}.",
    "With your preference in mind, the image that comes out ahead is {W}.",
    "Given your preference, the worse image is {L}.",
};
const Pool kVerdictPrefTie = {
    "Given your preference, the two images are about equally good.",
    "Taking your preference into account, it is too close to call.",
};
const Pool kFlipNote = {"Without this preference, the choice would be {W0}.",
                        "Without this preference, {W0} would come out ahead."};
const Pool kFlipNoteTie = {"Without this preference, the two would be too close to call."};
const Pool kPrefAck = {"You mentioned that you care a lot about {ASP}.",
                       "You said that what you care about most is {ASP}."};
const Pool kPrefAckTolerant = {"You mentioned that you do not care much about {ASP}.",
                               "You said that you are not bothered by problems with {ASP}."};

std::string kindNoun(const DistortionLabel& d, Rng& rng) {
  int t = d.distortion.type;
  double p = d.distortion.param();
  if (t == 18) return rng.pick(p >= 0 ? kBrighter : kDarker);
  if (t == 25) return rng.pick(p >= 0 ? kMoreContrast : kLessContrast);
  return rng.pick(kKind[t - 1]);
}

// The distortion that dominates an aspect (lowest MOS), or nullptr.
const DistortionLabel* dominant(const ImageLabel& l, int aspect) {
  const DistortionLabel* best = nullptr;
  for (const auto& d : l.distortions)
    if (static_cast<int>(d.aspect) == aspect && (!best || d.mos < best->mos)) best = &d;
  return best;
}

std::vector<int> distortedAspects(const ImageLabel& l, Rng& rng) {
  std::vector<int> v;
  for (int a = 0; a < kNumAspects; ++a)
    if (l.aspectLevel[a] != Severity::Undistorted && dominant(l, a)) v.push_back(a);
  // Most severe first, ties in random order.
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(static_cast<int>(i))]);
  std::stable_sort(v.begin(), v.end(), [&](int x, int y) { return l.aspectMos[x] < l.aspectMos[y]; });
  return v;
}

const std::string& levelAdj(Severity s, Rng& rng) { return rng.pick(s == Severity::Severe ? kSevereAdj : kMildAdj); }

std::string describe(const Questionnaire& q, Rng& rng) {
  const ImageLabel& l = q.a;
  std::vector<std::string> sentences;
  auto aspects = distortedAspects(l, rng);
  bool intro = rng.chance(0.5);
  std::string lead;
  if (intro) {
    lead = rng.pick(q.withReference ? kIntroFR : kIntroNR);
    if (lead.back() == '.') {
      sentences.push_back(lead);
      lead.clear();
    }
  }
  auto addSentence = [&](std::string s) {
    if (!lead.empty()) {
      s = lead + " " +
          (s.size() > 1 && std::isupper(static_cast<unsigned char>(s[0])) && !(s[0] == 'I' && s[1] == ' ')
               ? std::string(1, static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])))) + s.substr(1)
               : s);
      lead.clear();
    }
    sentences.push_back(capitalise(s));
  };
  if (aspects.empty()) { addSentence(rng.pick(kClean)); }
  for (int a : aspects) {
    const DistortionLabel* d = dominant(l, a);
    std::string where = (d->area < 1.0) ? rng.pick(kLocalWhere) : "";
    bool postfix = rng.chance(0.3);
    std::string tmpl = rng.pick(postfix ? kAspectSentencePostfix : kAspectSentence);
    std::string kind = kindNoun(*d, rng);
    addSentence(fillTemplate(tmpl, {{"{LVL}", levelAdj(l.aspectLevel[a], rng)},
                                    {"{IS}", pluralKind(kind) ? "are" : "is"},
                                    {"{KIND}", kind},
                                    {"{WHERE}", where},
                                    {"{CONS}", rng.pick(kConsequence[a])}}));
  }
  // Sometimes name an aspect that is fine.
  if (!aspects.empty() && rng.chance(0.35)) {
    std::vector<int> fine;
    for (int a = 0; a < kNumAspects; ++a)
      if (l.aspectLevel[a] == Severity::Undistorted) fine.push_back(a);
    if (!fine.empty()) {
      int a = fine[rng.below(static_cast<int>(fine.size()))];
      addSentence("There is no visible " + rng.pick(kAbsentNoun[a]) + ".");
    }
  }
  bool structural = l.level(Aspect::Noise) != Severity::Undistorted ||
                    l.level(Aspect::Artifacts) != Severity::Undistorted ||
                    l.level(Aspect::Blurriness) != Severity::Undistorted;
  if (structural || rng.chance(0.4)) addSentence(rng.pick(kTextureSentence[static_cast<int>(l.texture)]));
  addSentence(replaceAll(rng.pick(kQualitySentence), "{Q}", rng.pick(kQualityWord[static_cast<int>(l.quality)])));
  std::string out;
  for (const auto& s : sentences) out += (out.empty() ? "" : " ") + s;
  return out;
}

std::string imageClauses(const ImageLabel& l, const std::string& name, Rng& rng) {
  auto aspects = distortedAspects(l, rng);
  if (aspects.empty()) return replaceAll(rng.pick(kImageClean), "{X}", name);
  std::string s;
  for (size_t i = 0; i < aspects.size(); ++i) {
    int a = aspects[i];
    const DistortionLabel* d = dominant(l, a);
    std::string kind = kindNoun(*d, rng) + (d->area < 1.0 ? rng.pick(kLocalWhere) : "");
    if (i == 0) {
      s = fillTemplate(rng.pick(kImageHas),
                       {{"{X}", name}, {"{LVL}", levelAdj(l.aspectLevel[a], rng)}, {"{KIND}", kind}});
    } else {
      s += (i + 1 == aspects.size() ? ", and " : ", ") + levelAdj(l.aspectLevel[a], rng) + " " + kind;
    }
  }
  return s;
}

std::string reason(const Questionnaire& q, Rng& rng) {
  std::vector<std::string> sentences;
  // What each image has.
  std::string ca = imageClauses(q.a, "Image A", rng), cb = imageClauses(q.b, "Image B", rng);
  if (rng.chance(0.5)) {
    sentences.push_back(capitalise(ca) + (rng.chance(0.5) ? ", while " : ", whereas ") + cb + ".");
  } else {
    sentences.push_back(capitalise(ca) + ".");
    sentences.push_back(capitalise(cb) + ".");
  }
  // Per-aspect comparisons (every aspect that differs; sometimes a similar one).
  std::vector<int> order = {0, 1, 2, 3, 4};
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(static_cast<int>(i))]);
  bool similarSaid = false;
  for (int a : order) {
    Cmp c = q.aspectCmp[a];
    std::string asp = rng.pick(kAspectNoun[a]);
    if (c == Cmp::Similar) {
      bool bothDistorted = q.a.aspectLevel[a] != Severity::Undistorted && q.b.aspectLevel[a] != Severity::Undistorted;
      if (bothDistorted && !similarSaid && rng.chance(0.6)) {
        similarSaid = true;
        bool ab = rng.chance(0.5);
        sentences.push_back(capitalise(
            fillTemplate(rng.pick(kSimilarSentence),
                         {{"{ASP}", asp}, {"{X}", ab ? "Image A" : "Image B"}, {"{Y}", ab ? "Image B" : "Image A"}})));
      }
      continue;
    }
    // The better image of the aspect comes first, so the sentence's letter is decided
    // by the images alone. With a coin-flip subject and "worse than" for the loser, the
    // letter was a coin the decoder had to match with its adjective afterwards, and it
    // wrote "Image B is much superior to Image A" after calling B noisy and A pristine.
    int v = static_cast<int>(c);  // A relative to B
    bool subjectA = v > 0;
    std::string deg = rng.pick(std::abs(v) == 2 ? kStrongDeg : kWeakDeg);
    std::string cmpw = rng.pick(kBetterWord);
    sentences.push_back(capitalise(fillTemplate(rng.pick(kCmpSentence), {{"{ASP}", asp},
                                                                         {"{X}", subjectA ? "Image A" : "Image B"},
                                                                         {"{Y}", subjectA ? "Image B" : "Image A"},
                                                                         {"{DEG}", deg},
                                                                         {"{CMP}", cmpw}})));
  }
  // Preference and verdict.
  if (q.hasPreference) {
    const Pool& ack = q.preference.weight > 1.0 ? kPrefAck : kPrefAckTolerant;
    sentences.push_back(
        replaceAll(rng.pick(ack), "{ASP}", rng.pick(kAspectNoun[static_cast<int>(q.preference.aspect)])));
    if (q.preferenceFlipped) {
      if (q.winnerWithoutPreference == Winner::Tie)
        sentences.push_back(rng.pick(kFlipNoteTie));
      else
        sentences.push_back(replaceAll(rng.pick(kFlipNote), "{W0}", imageName(q.winnerWithoutPreference)));
    }
    if (q.winner == Winner::Tie)
      sentences.push_back(rng.pick(kVerdictPrefTie));
    else
      sentences.push_back(fillTemplate(
          rng.pick(kVerdictPref),
          {{"{W}", imageName(q.winner)}, {"{L}", imageName(q.winner == Winner::A ? Winner::B : Winner::A)}}));
  } else if (q.winner == Winner::Tie) {
    sentences.push_back(rng.pick(kVerdictTie));
  } else {
    sentences.push_back(fillTemplate(
        rng.pick(kVerdict),
        {{"{W}", imageName(q.winner)}, {"{L}", imageName(q.winner == Winner::A ? Winner::B : Winner::A)}}));
  }
  std::string out;
  for (const auto& s : sentences) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

const std::vector<std::string>& questionPool(Task task, bool withReference) {
  switch (task) {
    case Task::Description:
      return withReference ? kDescFR : kDescNR;
    case Task::Comparison:
      return withReference ? kCmpFR : kCmpNR;
    default:
      return withReference ? kReaFR : kReaNR;
  }
}
const std::vector<std::string>& briefAnswerPool() { return kBrief; }
const std::vector<std::vector<std::string>>& comparisonSentencePools() {
  static const std::vector<std::vector<std::string>> pools = {kCmpSentence, kSimilarSentence};
  return pools;
}
const std::vector<std::vector<std::string>>& imageClausePools() {
  static const std::vector<std::vector<std::string>> pools = {kImageHas, kImageClean};
  return pools;
}
const std::vector<std::vector<std::string>>& preferenceSentencePools() {
  static const std::vector<std::vector<std::string>> pools = {kPrefAck,        kPrefAckTolerant, kVerdictPref,
                                                              kVerdictPrefTie, kFlipNote,        kFlipNoteTie};
  return pools;
}
std::string fillTemplate(std::string sentence, const std::vector<std::pair<std::string, std::string>>& fills) {
  for (const auto& [placeholder, text] : fills) sentence = replaceAll(sentence, placeholder, text);
  return sentence;
}
const std::string& imageName(Winner w) {
  static const std::string a = "Image A", b = "Image B";
  return w == Winner::A ? a : b;
}
const std::vector<std::vector<std::string>>& verdictSentencePools() {
  static const std::vector<std::vector<std::string>> pools = {kVerdict, kVerdictTie, kVerdictPref, kVerdictPrefTie};
  return pools;
}
std::vector<std::string> kindNouns(int type) {
  if (type < 1 || type > kNumTypes) return {};
  std::vector<std::string> v = kKind[type - 1];
  if (type == 18) {
    v.insert(v.end(), kBrighter.begin(), kBrighter.end());
    v.insert(v.end(), kDarker.begin(), kDarker.end());
  }
  if (type == 25) {
    v.insert(v.end(), kMoreContrast.begin(), kMoreContrast.end());
    v.insert(v.end(), kLessContrast.begin(), kLessContrast.end());
  }
  return v;
}

const std::vector<std::string>& levelAdjectives() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> v = kMildAdj;
    v.insert(v.end(), kSevereAdj.begin(), kSevereAdj.end());
    return v;
  }();
  return words;
}

const std::vector<std::string>& aspectStems(int aspect) {
  static const std::vector<std::string> stems[kNumAspects] = {{"bright", "dark", "exposure", "contrast"},
                                                              {"colo"},
                                                              {"nois", "grain", "speck"},
                                                              {"artifact", "block", "compression", "pixel"},
                                                              {"blur", "sharp", "soft", "focus"}};
  static const std::vector<std::string> none;
  return aspect < 0 || aspect >= kNumAspects ? none : stems[aspect];
}

std::vector<std::pair<size_t, size_t>> aspectWordRanges(int aspect, const std::string& text) {
  std::vector<std::pair<size_t, size_t>> ranges;
  for (const auto& w : aspectStems(aspect))
    for (size_t pos = text.find(w); pos != std::string::npos; pos = text.find(w, pos + 1))
      ranges.emplace_back(pos, pos + w.size());
  return ranges;
}

const std::vector<std::string>& keyPhrases() {
  static const std::vector<std::string> phrases = [] {
    std::vector<std::string> v;
    auto add = [&](const Pool& p) { v.insert(v.end(), p.begin(), p.end()); };
    add(kMildAdj);
    add(kSevereAdj);
    for (const auto& p : kKind) add(p);
    for (const auto* p : {&kBrighter, &kDarker, &kMoreContrast, &kLessContrast}) add(*p);
    for (const auto& p : kAbsentNoun) add(p);
    for (const auto& p : kQualityWord) add(p);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }();
  return phrases;
}
const std::vector<std::string>& comparativePhrases() { return kComparativeWord; }
const std::vector<std::string>& tieAnswerPool() { return kTie; }
const std::vector<std::string>& preferencePool(Aspect aspect, bool intolerant) {
  return intolerant ? kPrefIntolerant[static_cast<int>(aspect)] : kPrefTolerant[static_cast<int>(aspect)];
}

TextSample generateText(const Questionnaire& q, std::uint64_t seed, const TextOptions& o) {
  Rng rng{mixSeed(seed, 0x7e47)};
  TextSample t;
  t.question = rng.pick(questionPool(q.task, q.withReference));
  // Its own stream: the answer is the same whichever wording the question gets.
  if (Rng wording{mixSeed(seed, 0x9a11)}; o.questionVariety > 0 && wording.chance(o.questionVariety))
    t.question = variedQuestion(q.task, q.withReference, wording.next());
  if (q.hasPreference) t.preference = q.preference.text;
  switch (q.task) {
    case Task::Description:
      t.answer = describe(q, rng);
      break;
    case Task::Comparison:
      if (q.winner == Winner::Tie) {
        t.answer = rng.pick(kTie);
      } else {
        t.shortAnswer = rng.chance(o.shortAnswerShare);
        const std::string& w = imageName(q.winner);
        const std::string& l = imageName(q.winner == Winner::A ? Winner::B : Winner::A);
        t.answer = t.shortAnswer ? w : fillTemplate(rng.pick(kBrief), {{"{W}", w}, {"{L}", l}});
      }
      break;
    case Task::Reasoning:
      t.answer = reason(q, rng);
      break;
  }
  t.promptQuestion =
      (t.preference.empty() ? "" : t.preference + " ") + t.question + (t.shortAnswer ? kShortAnswerTail : "");
  return t;
}

}  // namespace dqa::data
