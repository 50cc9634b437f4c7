#include "core/eval/evaluator.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/data/parser.h"
#include "core/data/shard_dataset.h"
#include "core/eval/kind_breakdown.h"
#include "core/eval/measures.h"
#include "core/eval/plots.h"

namespace dqa::eval {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// Every count the report shows.
struct Tally {
  Rate modelFR, modelNR, psnr, ssim, gmsd, brisque, preference, consistency;
  Rate headsFR, headsNR, headsAgree, headsPreference, dominantAspect, dominantKind, headsAspectBinary;
  // Pairs whose stated preference leaves the verdict as it was: a model that answers the
  // preference alone (picks the image without the aspect the user cannot tolerate) would
  // score well on the flipped pairs and fail here.
  Rate preferenceKept, headsPreferenceKept;
  Rate headsDominantAspect;
  Rate aspectSet, aspectBinary, levelAcc, reasonLevels, reasonWinner, pointing;
  // A third of the reasonings' pairs are too close to call by the labels, which the
  // winner row leaves out: the verdict over all of them (A, B or too close), and how
  // often a pair with a winner is called too close.
  Rate reasonVerdict, tieOnWinner;
  // Reasonings to questions without a preference that speak of one ("You said that what
  // you care about most is noise."): every such answer is wrong about what the user said.
  Rate inventedPreference, repeatedComparison, contradiction;
  Rate steered;            // reasonings in which the comparison guard left out the decoder's first choice
  Rate aspectComparisons;  // each aspect a reasoning compares: the direction right
  // The same reasonings asked again in another wording: that rate and the winner row,
  // and on pairs with a winner what a wrong answer did instead (a tie, or no verdict the
  // reverse parser reads), with the first answers as written.
  struct Wording {
    Rate inventedPreference, winner, tieOnWinner, noVerdict;
    json examples = json::array();
    json unread = json::array();  // the first answers on pairs with a winner whose verdict is not read
  };
  Wording defaultQuestion, unseenWording;
  double pointingChanceSum = 0;  // share of cells a random pick would hit, summed
  int64_t confusions = 0, confusionOpportunities = 0;
  std::vector<std::pair<double, bool>> calibration;  // (confidence of the verdict, right)
  int pairs = 0, descriptions = 0, reasonings = 0, preferences = 0, preferencesKept = 0, pointings = 0;
  json failures = json::array();
  // Each brief verdict (2AFC pairs, pairs with a preference), one object per line of
  // verdicts.jsonl: what a rule that weighs the decoder against the heads is chosen on.
  std::vector<json> verdicts;
  KindBreakdown byKind;                    // the 2AFC rows by each image's dominant distortion
  json reasoningExamples = json::array();  // the first answers, as written, beside the truth
};

constexpr size_t kReasoningExamples = 12;

// A field of the heads' reading of Image A and Image B, in that order.
template <class T>
json headsOf(const Answer& a, T ImageQuality::*field) {
  json out = json::array();
  for (const auto role : {text::ImageRole::A, text::ImageRole::B})
    for (const auto& q : a.quality)
      if (q.role == role) out.push_back(q.*field);
  return out;
}

// The aspect weights a stated preference reads as (data::preferenceWeights; all 1 where
// none is stated or the parser cannot read it).
std::array<double, data::kNumAspects> preferenceWeightsOf(const std::string& preference) {
  std::array<double, data::kNumAspects> w;
  w.fill(1.0);
  if (const auto parsed = preference.empty() ? std::nullopt : data::parsePreference(preference))
    w = data::preferenceWeights(*parsed);
  return w;
}

// One brief verdict as verdicts.jsonl holds it. `p_a`: the calibrated share of Image A
// in the verdict's two letters; `heads_p_a`: the heads' probability that A is better
// (weighing a stated preference), -1 where the model has no heads; the labels' scores and
// the heads' (Image A, Image B; per aspect as data::Aspect) with the stated preference.
json verdictRecord(const data::TrainingExample& ex, const std::string& kind, const Answer& a) {
  const auto& v = a.verdict;
  const double letters = v.probabilityA + v.probabilityB;
  return {{"id", ex.id},
          {"kind", kind},
          {"reference", ex.prompt.withReference},
          {"truth", std::string(1, ex.winner)},
          {"verdict", v.present ? std::string(1, v.winner) : std::string()},
          {"p_a", letters > 0 ? v.probabilityA / letters : -1.0},
          {"heads_p_a", a.headProbabilityA},
          {"preference", ex.prompt.preference},
          {"preference_weights", preferenceWeightsOf(ex.prompt.preference)},
          {"truth_mos", {ex.truthA.mos, ex.truthB.mos}},
          {"truth_aspect_mos", {ex.truthA.aspectMos, ex.truthB.aspectMos}},
          {"heads_mos", headsOf(a, &ImageQuality::mos)},
          {"heads_aspect_mos", headsOf(a, &ImageQuality::aspectMos)}};
}

// Reasoning questions in no wording the data engine writes (textgen's pools,
// data::variedQuestion), as a user might type them; none names an aspect.
const char* const kUnseenReasoningQuestions[] = {
    "Why is one of these images better than the other?",
    "Which of these would a photographer prefer, and for what reasons?",
    "I can only keep one of these. Which, and why?",
    "Which looks more professional? Explain.",
    "Can you tell me which image is of higher quality and explain what you see?",
    "Which picture came out better, and what is your reasoning?",
};

class Run {
 public:
  Run(Engine& engine, const EvalOptions& o) : engine_(engine), o_(o) {}

  Status pair(const data::TrainingExample& ex);
  Status pointingCase(const data::TrainingExample& ex);
  Status preferenceCase(const data::TrainingExample& ex);
  Status description(const data::TrainingExample& ex);
  Status reasoning(const data::TrainingExample& ex);
  Status otherWordings(const data::TrainingExample& ex);
  bool done() const {
    return t.pairs >= o_.maxPairs && t.descriptions >= o_.maxDescriptions && t.reasonings >= o_.maxReasoning &&
           t.preferences >= o_.maxPreference && t.preferencesKept >= o_.maxPreference && t.pointings >= o_.maxPointing;
  }
  Tally t;

 private:
  Result<Answer> ask(const data::TrainingExample& ex, text::Task task, bool shortAnswer, bool withPreference) {
    return ask(ex, task, shortAnswer, withPreference, task == ex.prompt.task && !shortAnswer ? ex.prompt.question : "");
  }
  // `question` empty: the app's default question for the task.
  Result<Answer> ask(const data::TrainingExample& ex, text::Task task, bool shortAnswer, bool withPreference,
                     const std::string& question) {
    AskRequest r;
    r.prompt.task = task;
    r.prompt.withReference = ex.prompt.withReference;
    r.prompt.shortAnswer = shortAnswer;
    r.prompt.question = question;
    r.prompt.preference = withPreference ? ex.prompt.preference : "";
    r.reference = ex.reference;
    r.imageA = ex.a;
    if (task != text::Task::Description) r.imageB = ex.b;
    r.sampling.maxNewTokens = shortAnswer ? 8 : o_.maxNewTokens;
    r.sampling.guardAnswerGrammar = o_.guardAnswerGrammar;
    return engine_.ask(r);
  }

  Engine& engine_;
  const EvalOptions& o_;
};

// 2AFC: the brief verdict, the heads' and the classical metrics' on the same pair.
Status Run::pair(const data::TrainingExample& ex) {
  ++t.pairs;
  auto a = ask(ex, text::Task::Comparison, true, false);
  if (!a) return a.error();
  const char truth = ex.winner;
  const auto& v = a->verdict;
  const bool ok = v.present && v.winner == truth;
  (ex.prompt.withReference ? t.modelFR : t.modelNR).add(ok);
  t.verdicts.push_back(verdictRecord(ex, ex.prompt.withReference ? "fr" : "nr", a.value()));
  PairOutcome outcome{ex.prompt.withReference, ok, std::nullopt, std::nullopt};
  if (a->headProbabilityA >= 0) {
    const char heads = a->headProbabilityA >= 0.5f ? 'A' : 'B';
    (ex.prompt.withReference ? t.headsFR : t.headsNR).add(heads == truth);
    if (v.present) t.headsAgree.add(heads == v.winner);
    outcome.heads = heads == truth;
  }
  if (v.present && v.probabilityA + v.probabilityB > 0)
    t.calibration.emplace_back((v.winner == 'A' ? v.probabilityA : v.probabilityB) / (v.probabilityA + v.probabilityB),
                               ok);
  const ClassicalChoice c = classicalChoice(ex.prompt.withReference ? ex.reference : cv::Mat(), ex.a, ex.b);
  if (!c.error.empty()) t.failures.push_back({{"id", ex.id}, {"metric_error", c.error}});
  if (c.psnr) t.psnr.add(c.psnr == truth);
  if (c.ssim) t.ssim.add(c.ssim == truth);
  if (c.gmsd) t.gmsd.add(c.gmsd == truth);
  if (c.brisque) t.brisque.add(c.brisque == truth);
  if (const char classical = ex.prompt.withReference ? c.ssim : c.brisque) outcome.classical = classical == truth;
  t.byKind.add(ex.truthA, ex.truthB, outcome);
  return Ok{};
}

// Pointing game: a description of an image whose distortion is confined to a region;
// the attention of the words naming its aspect should peak inside it.
Status Run::pointingCase(const data::TrainingExample& ex) {
  AskRequest r;  // the default question, with the attention maps
  r.prompt.task = text::Task::Description;
  r.prompt.withReference = ex.prompt.withReference;
  r.reference = ex.reference;
  r.imageA = ex.a;
  r.sampling.maxNewTokens = o_.maxNewTokens;
  r.sampling.guardAnswerGrammar = o_.guardAnswerGrammar;
  r.attention.capture = true;
  r.attention.layers = o_.pointingLayers;
  auto a = engine_.ask(r);
  if (!a) return a.error();
  const auto& g = a->generation;
  const std::vector<int> tokens = tokensNamingAspect(ex.truthA.localAspect, g.text, engine_.tokenSpans(g));
  const int image = int(a->images.size()) - 1;  // the assessed image is the last one
  if (tokens.empty() || image < 0 || g.attention.empty()) return Ok{};
  const auto& geometry = a->images[size_t(image)];
  std::vector<float> sum(size_t(geometry.gridWidth * geometry.gridHeight), 0.f);
  for (int tok : tokens) {
    const auto m = g.attention.grid(tok, image);
    for (size_t c = 0; c < sum.size() && c < m.size(); ++c) sum[c] += m[c];
  }
  if (const auto r = pointingGame(sum, geometry, ex.truthA.region)) {
    ++t.pointings;
    t.pointing.add(r->hit);
    t.pointingChanceSum += r->chance;
  }
  return Ok{};
}

Status Run::preferenceCase(const data::TrainingExample& ex) {
  const bool flipped = ex.preferenceFlipped;
  ++(flipped ? t.preferences : t.preferencesKept);
  Rate& written = flipped ? t.preference : t.preferenceKept;
  Rate& heads = flipped ? t.headsPreference : t.headsPreferenceKept;
  auto a = ask(ex, text::Task::Comparison, true, true);
  if (!a) return a.error();
  written.add(a->verdict.present && a->verdict.winner == ex.winner);
  t.verdicts.push_back(verdictRecord(ex, flipped ? "preference_flipped" : "preference_kept", a.value()));
  // With aspect scores the heads weigh the stated preference too (engine.h: headProbabilityA).
  if (a->headProbabilityA >= 0) heads.add((a->headProbabilityA >= 0.5f ? 'A' : 'B') == ex.winner);
  return Ok{};
}

Status Run::description(const data::TrainingExample& ex) {
  ++t.descriptions;
  auto a = ask(ex, text::Task::Description, false, false);
  if (!a) return a.error();
  const DescriptionScore s = scoreDescription(ex.truthA, a->generation.text);
  for (bool right : s.aspectRight) t.aspectBinary.add(right);
  t.aspectSet.add(s.setExact);
  for (bool right : s.levelRight) t.levelAcc.add(right);
  if (s.dominantAspect) t.dominantAspect.add(*s.dominantAspect);
  if (s.dominantKind) t.dominantKind.add(*s.dominantKind);
  if (!a->quality.empty()) {
    for (bool right : headsAspectRight(ex.truthA, a->quality.back())) t.headsAspectBinary.add(right);
    if (const auto d = headsDominantAspect(ex.truthA, a->quality.back())) t.headsDominantAspect.add(*d);
  }
  return Ok{};
}

Status Run::reasoning(const data::TrainingExample& ex) {
  ++t.reasonings;
  auto a = ask(ex, text::Task::Reasoning, false, false);
  if (!a) return a.error();
  const ReasoningScore s = scoreReasoning(ex.truthA, ex.truthB, a->generation.text);
  t.inventedPreference.add(data::acknowledgesPreference(a->generation.text));
  t.repeatedComparison.add(s.repeatsComparison);
  t.contradiction.add(s.contradictsItself);
  t.steered.add(a->generation.steeredTokens > 0);
  t.aspectComparisons.add(s.comparisonsRight, s.aspectsCompared);
  if (t.defaultQuestion.inventedPreference.total < o_.maxQuestionChecks)
    if (Status st = otherWordings(ex); !st) return st;
  for (bool right : s.levelRight) t.reasonLevels.add(right);
  t.confusionOpportunities += s.confusionOpportunities;
  t.confusions += s.confusions;
  t.reasonVerdict.add(ex.tooCloseToCall ? s.callsTie : s.winner == ex.winner);
  if (ex.tooCloseToCall) return Ok{};
  t.tieOnWinner.add(s.callsTie);
  t.reasonWinner.add(s.winner == ex.winner);
  auto brief = ask(ex, text::Task::Comparison, true, false);
  if (!brief) return brief.error();
  if (s.winner && brief->verdict.present) t.consistency.add(brief->verdict.winner == s.winner);
  if (t.reasoningExamples.size() < kReasoningExamples)
    t.reasoningExamples.push_back({{"id", ex.id},
                                   {"with_reference", ex.prompt.withReference},
                                   {"truth_winner", std::string(1, ex.winner)},
                                   {"reasoning_winner", s.winner ? std::string(1, s.winner) : "none"},
                                   {"short_answer", brief->generation.text},
                                   {"reasoning", a->generation.text}});
  return Ok{};
}

// The same reasoning asked with the app's default question and with an unseen wording.
Status Run::otherWordings(const data::TrainingExample& ex) {
  const size_t checked = size_t(t.defaultQuestion.inventedPreference.total);
  const std::string unseen = kUnseenReasoningQuestions[checked % std::size(kUnseenReasoningQuestions)];
  for (auto [question, rates] : {std::pair{std::string(), &t.defaultQuestion}, std::pair{unseen, &t.unseenWording}}) {
    auto a = ask(ex, text::Task::Reasoning, false, false, question);
    if (!a) return a.error();
    rates->inventedPreference.add(data::acknowledgesPreference(a->generation.text));
    if (ex.tooCloseToCall) continue;
    const ReasoningScore s = scoreReasoning(ex.truthA, ex.truthB, a->generation.text);
    rates->winner.add(s.winner == ex.winner);
    rates->tieOnWinner.add(s.callsTie);
    rates->noVerdict.add(!s.winner && !s.callsTie);
    const json example = {{"id", ex.id},
                          {"with_reference", ex.prompt.withReference},
                          {"question", question.empty() ? "(the app's default)" : question},
                          {"truth_winner", std::string(1, ex.winner)},
                          {"reasoning_winner", s.winner     ? std::string(1, s.winner)
                                               : s.callsTie ? "too close"
                                                            : "none"},
                          {"reasoning", a->generation.text}};
    if (rates->examples.size() < kReasoningExamples) rates->examples.push_back(example);
    if (!s.winner && !s.callsTie && rates->unread.size() < kReasoningExamples) rates->unread.push_back(example);
  }
  return Ok{};
}

json reportJson(const Tally& t, double ece, const ModelInfo& info, const EvalOptions& o) {
  const json confusion =
      t.confusionOpportunities ? json(double(t.confusions) / double(t.confusionOpportunities)) : json(nullptr);
  return {{"model", info.directory},
          {"split", o.shards},
          {"label", o.label},
          {"2afc",
           {{"model_full_reference", rateJson(t.modelFR)},
            {"model_no_reference", rateJson(t.modelNR)},
            {"psnr", rateJson(t.psnr)},
            {"ssim", rateJson(t.ssim)},
            {"gmsd", rateJson(t.gmsd)},
            {"brisque_no_reference", rateJson(t.brisque)}}},
          {"2afc_heads",
           {{"full_reference", rateJson(t.headsFR)},
            {"no_reference", rateJson(t.headsNR)},
            {"decoder_agrees_with_heads", rateJson(t.headsAgree)}}},
          {"description",
           {{"aspect_set_exact", rateJson(t.aspectSet)},
            {"aspect_binary", rateJson(t.aspectBinary)},
            {"level_on_distorted_aspects", rateJson(t.levelAcc)},
            {"dominant_distortion_aspect", rateJson(t.dominantAspect)},
            {"dominant_distortion_kind_named", rateJson(t.dominantKind)},
            {"heads_aspect_binary", rateJson(t.headsAspectBinary)},
            {"heads_dominant_distortion_aspect", rateJson(t.headsDominantAspect)}}},
          {"reasoning",
           {{"per_aspect_level", rateJson(t.reasonLevels)},
            {"winner", rateJson(t.reasonWinner)},
            {"verdict_with_ties", rateJson(t.reasonVerdict)},
            {"tie_on_pairs_with_a_winner", rateJson(t.tieOnWinner)},
            {"ab_confusion_rate", confusion},
            {"ab_confusion_opportunities", t.confusionOpportunities},
            {"consistency_with_short_answer", rateJson(t.consistency)},
            {"acknowledges_unstated_preference", rateJson(t.inventedPreference)},
            {"aspect_comparisons_right", rateJson(t.aspectComparisons)},
            {"compares_an_aspect_twice", rateJson(t.repeatedComparison)},
            {"gives_an_aspect_to_both_images", rateJson(t.contradiction)},
            {"decoded_in_training_grammar", o.guardAnswerGrammar},
            {"guard_left_out_the_first_choice", rateJson(t.steered)},
            {"acknowledges_unstated_preference_default_question", rateJson(t.defaultQuestion.inventedPreference)},
            {"acknowledges_unstated_preference_unseen_wording", rateJson(t.unseenWording.inventedPreference)},
            {"winner_default_question", rateJson(t.defaultQuestion.winner)},
            {"winner_unseen_wording", rateJson(t.unseenWording.winner)},
            {"tie_on_pairs_with_a_winner_default_question", rateJson(t.defaultQuestion.tieOnWinner)},
            {"tie_on_pairs_with_a_winner_unseen_wording", rateJson(t.unseenWording.tieOnWinner)},
            {"no_verdict_default_question", rateJson(t.defaultQuestion.noVerdict)},
            {"no_verdict_unseen_wording", rateJson(t.unseenWording.noVerdict)},
            {"examples_default_question", t.defaultQuestion.examples},
            {"examples_unseen_wording", t.unseenWording.examples},
            {"examples_without_verdict_default_question", t.defaultQuestion.unread},
            {"examples_without_verdict_unseen_wording", t.unseenWording.unread},
            {"examples", t.reasoningExamples}}},
          {"preference_adherence_on_flipped_pairs", rateJson(t.preference)},
          {"heads_preference_adherence_on_flipped_pairs", rateJson(t.headsPreference)},
          {"verdict_on_preference_pairs_not_flipped", rateJson(t.preferenceKept)},
          {"heads_verdict_on_preference_pairs_not_flipped", rateJson(t.headsPreferenceKept)},
          {"attention_pointing_game_local_distortions", rateJson(t.pointing)},
          {"attention_pointing_game_layers", o.pointingLayers.empty() ? json("all") : json(o.pointingLayers)},
          {"attention_pointing_game_chance",
           t.pointing.total ? json(t.pointingChanceSum / double(t.pointing.total)) : json(nullptr)},
          {"2afc_by_kind", t.byKind.toJson()},
          {"calibration", {{"ece", t.calibration.empty() ? json(nullptr) : json(ece)}, {"n", t.calibration.size()}}},
          {"failures", t.failures}};
}

std::string pct(double v) {
  if (std::isnan(v)) return "n/a";
  char b[16];
  std::snprintf(b, sizeof b, "%.1f%%", 100 * v);
  return b;
}

std::string reportMarkdown(const Tally& t, double ece, const ModelInfo& info, const EvalOptions& o) {
  std::string md = "## " + o.label + "\n\n";
  md += "Model: `" + info.directory + "`; shards: `" + o.shards + "`.\n\n";
  md += o.guardAnswerGrammar
            ? "Decoding as in the app, in the training texts' grammar (each described aspect compared once; no "
              "sentence about a preference nobody stated; no tie verdict where the heads are at least 90% sure, "
              "and the verdict's image theirs there; each comparison's better image the heads' where their "
              "aspect scores differ by 0.3 or more; no distortion named in a description of an aspect the heads "
              "see undistorted with probability 0.7 or more; no reasoning calling an image undistorted where "
              "the heads see an aspect of it distorted with probability over 0.5, nor naming a distortion in an "
              "image they are at least 80% sure is undistorted in every aspect; no distortion named twice for "
              "one image; a reasoning's list of an image's distortions ended where the heads are at least 80% "
              "sure every aspect it has not named is undistorted; every aspect described in one image only "
              "compared before the verdict; a reasoning opened with Image A's clause and not ended before its "
              "verdict; gen::SamplingParams::guardAnswerGrammar).\n\n"
            : "Decoding: the decoder's own choices (--unguarded-decoding).\n\n";
  md += "| measure | value | n |\n| --- | --- | --- |\n";
  auto row = [&](const std::string& name, const Rate& r) {
    md += "| " + name + " | " + pct(r.value()) + " | " + std::to_string(r.total) + " |\n";
  };
  row("2AFC, model, full reference", t.modelFR);
  row("2AFC, PSNR (same FR pairs)", t.psnr);
  row("2AFC, SSIM (same FR pairs)", t.ssim);
  row("2AFC, GMSD (same FR pairs)", t.gmsd);
  row("2AFC, model, no reference", t.modelNR);
  row("2AFC, BRISQUE (same NR pairs)", t.brisque);
  if (t.headsFR.total + t.headsNR.total > 0) {
    row("2AFC, the encoder's heads, full reference (same pairs)", t.headsFR);
    row("2AFC, the encoder's heads, no reference (same pairs)", t.headsNR);
    row("decoder's verdict = heads' verdict", t.headsAgree);
  }
  row("description: distorted-aspect set exactly right", t.aspectSet);
  row("description: per-aspect distorted / not", t.aspectBinary);
  row("description: level on truly distorted aspects", t.levelAcc);
  row("description: dominant distortion's aspect named, as the most severe", t.dominantAspect);
  row("description: dominant distortion's kind named (e.g. \"motion blur\")", t.dominantKind);
  if (t.headsAspectBinary.total > 0) row("heads: per-aspect distorted / not (same descriptions)", t.headsAspectBinary);
  if (t.headsDominantAspect.total > 0)
    row("heads: dominant distortion's aspect the most severe (same descriptions)", t.headsDominantAspect);
  row("reasoning: per-aspect levels of A and B", t.reasonLevels);
  row("reasoning: winner", t.reasonWinner);
  row("reasoning: verdict, pairs too close to call included (A / B / too close)", t.reasonVerdict);
  row("reasoning calls a pair with a winner too close (lower is better)", t.tieOnWinner);
  row("reasoning vs short answer agree", t.consistency);
  row("reasoning: aspects compared, the direction right (better / worse / comparable)", t.aspectComparisons);
  row("reasoning compares one aspect in two sentences (lower is better)", t.repeatedComparison);
  row("reasoning gives one aspect to A in one sentence and to B in another (lower is better)", t.contradiction);
  if (o.guardAnswerGrammar) row("reasoning: the guard left out the decoder's first choice (answers)", t.steered);
  row("reasoning speaks of a preference nobody stated (lower is better)", t.inventedPreference);
  if (t.defaultQuestion.inventedPreference.total > 0) {
    row("the same, asked with the app's default question", t.defaultQuestion.inventedPreference);
    row("the same, asked in wordings no training template writes", t.unseenWording.inventedPreference);
    row("reasoning: winner, the app's default question", t.defaultQuestion.winner);
    row("reasoning: winner, wordings no training template writes", t.unseenWording.winner);
    row("the same pairs, called too close: the app's default question (lower is better)",
        t.defaultQuestion.tieOnWinner);
    row("the same pairs, called too close: wordings no training template writes (lower is better)",
        t.unseenWording.tieOnWinner);
    row("the same pairs, no verdict read: the app's default question (lower is better)", t.defaultQuestion.noVerdict);
    row("the same pairs, no verdict read: wordings no training template writes (lower is better)",
        t.unseenWording.noVerdict);
  }
  row("preference adherence (pairs the preference flips)", t.preference);
  if (t.headsPreference.total > 0) row("preference adherence, the encoder's heads (same pairs)", t.headsPreference);
  row("verdict right on pairs with a preference that does not flip it", t.preferenceKept);
  if (t.headsPreferenceKept.total > 0) row("the same, the encoder's heads (same pairs)", t.headsPreferenceKept);
  // The layers read, where --pointing-layers chose them (otherwise the mean of all).
  std::string layers;
  for (int l : o.pointingLayers) layers += (layers.empty() ? "" : " + ") + std::to_string(l);
  if (!layers.empty()) layers = (o.pointingLayers.size() > 1 ? ", decoder layers " : ", decoder layer ") + layers;
  row("attention pointing game (local distortions" + layers + ")", t.pointing);
  md += "| pointing game chance level (random cell) | " +
        (t.pointing.total ? pct(t.pointingChanceSum / double(t.pointing.total)) : std::string("n/a")) + " | |\n";
  md += "| A/B confusion rate (reasoning) | " +
        (t.confusionOpportunities ? pct(double(t.confusions) / double(t.confusionOpportunities)) : std::string("n/a")) +
        " | " + std::to_string(t.confusionOpportunities) + " |\n";
  md += "| ECE of the A/B verdict | " +
        (t.calibration.empty() ? std::string("n/a") : std::to_string(ece).substr(0, 5)) + " | " +
        std::to_string(t.calibration.size()) + " |\n";
  if (const std::string byKind = t.byKind.markdown(); !byKind.empty()) md += "\n" + byKind;
  return md;
}

}  // namespace

Result<std::string> evaluate(Engine& engine, const EvalOptions& o,
                             const std::function<void(const std::string&, int, int)>& progress) {
  auto ds = data::ShardDataset::open(o.shards);
  if (!ds) return ds.error();
  std::error_code ec;
  fs::create_directories(o.outputDirectory, ec);
  Run run(engine, o);
  Tally& t = run.t;
  const int total = int(ds->size());
  for (int i = 0; i < total && !run.done(); ++i) {
    if (progress && i % 10 == 0) progress("evaluating", i, total);
    auto exr = ds->get(size_t(i));
    if (!exr) return exr.error();
    const data::TrainingExample& ex = exr.value();
    const bool isPair = ex.prompt.task != text::Task::Description;
    const bool tie = ex.tooCloseToCall;
    Status s = Ok{};
    if (isPair && !tie && !ex.hasPreference && t.pairs < o.maxPairs) s = run.pair(ex);
    if (s && !isPair && t.pointings < o.maxPointing && ex.truthA.local && ex.truthA.localAspect >= 0)
      s = run.pointingCase(ex);
    if (s && isPair && ex.hasPreference && !tie &&
        (ex.preferenceFlipped ? t.preferences : t.preferencesKept) < o.maxPreference)
      s = run.preferenceCase(ex);
    if (s && !isPair && t.descriptions < o.maxDescriptions) s = run.description(ex);
    if (s && ex.prompt.task == text::Task::Reasoning && !ex.hasPreference && t.reasonings < o.maxReasoning)
      s = run.reasoning(ex);
    if (!s) return s.error();
  }

  std::vector<std::array<double, 3>> bins;
  const double ece = expectedCalibrationError(t.calibration, &bins);
  drawReliability(bins, ece, o.outputDirectory + "/calibration.png");
  drawBars({{"model FR", t.modelFR.value()},
            {"PSNR", t.psnr.value()},
            {"SSIM", t.ssim.value()},
            {"GMSD", t.gmsd.value()},
            {"model NR", t.modelNR.value()},
            {"BRISQUE NR", t.brisque.value()}},
           "2AFC accuracy on pairs with a clear human-score gap (" + o.label + ")", o.outputDirectory + "/2afc.png");
  std::ofstream(o.outputDirectory + "/report.json") << reportJson(t, ece, engine.info(), o).dump(1) << "\n";
  const std::string md = reportMarkdown(t, ece, engine.info(), o);
  std::ofstream(o.outputDirectory + "/report.md") << md;
  std::ofstream verdicts(o.outputDirectory + "/verdicts.jsonl");
  for (const json& v : t.verdicts) verdicts << v.dump() << "\n";
  return md;
}

}  // namespace dqa::eval
