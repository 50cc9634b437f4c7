// The evaluator's measures (core/eval/measures.h), each on hand-made cases, and the
// typed reading of a tiny hand-made shard they are fed from.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <random>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/kadid.h"
#include "core/data/shard_dataset.h"
#include "core/data/textgen.h"
#include "core/eval/kind_breakdown.h"
#include "core/eval/measures.h"
#include "core/eval/verdict_calibration.h"
#include "core/generate/types.h"
#include "core/io/model_config.h"

using namespace dqa;
using nlohmann::json;

namespace {

constexpr int kImpulseNoise = 13;  // KADID type, aspect noise; its kind nouns name "impulse noise"
constexpr int kNoise = int(data::Aspect::Noise);

data::ImageTruth clean() {
  data::ImageTruth t;
  t.present = true;
  t.mos = 4.7;
  return t;
}

data::ImageTruth mildNoise() {
  data::ImageTruth t = clean();
  t.mos = 3.2;
  t.levels[size_t(kNoise)] = 1;
  t.type = kImpulseNoise;
  t.distorted = true;
  return t;
}

json imageJson(const std::string& noiseLevel, bool local) {
  json aspects = json::object();
  for (const char* a : {"brightness", "color", "noise", "artifacts", "blurriness"})
    aspects[a] = {{"level", std::string(a) == "noise" ? noiseLevel : "undistorted"}, {"mos", 4.6}};
  json d = {{"type", kImpulseNoise}, {"aspect", "noise"}, {"mos", 3.1}};
  if (local) d["region"] = {8, 8, 16, 16};
  json j = {{"mos", noiseLevel == "undistorted" ? 4.7 : 3.1},
            {"aspects", aspects},
            {"distortions", noiseLevel == "undistorted" ? json::array() : json::array({d})},
            {"overall_level", noiseLevel},
            {"local", local}};
  if (local) j["region"] = {8, 8, 16, 16};
  return j;
}

}  // namespace

class EvalMeasuresTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void rateIsAShare() {
    eval::Rate r;
    QVERIFY(std::isnan(r.value()));
    r.add(true);
    r.add(false);
    r.add(true);
    QCOMPARE(r.total, int64_t(3));
    QCOMPARE(r.value(), 2.0 / 3.0);
  }

  void descriptionRightAndWrong() {
    const auto right =
        eval::scoreDescription(mildNoise(), "The image is slightly noisy. The overall quality is acceptable.");
    QVERIFY(right.setExact);
    QCOMPARE(right.levelRight, std::vector<bool>{true});
    QVERIFY(right.dominantAspect.has_value() && *right.dominantAspect);
    QVERIFY(right.dominantKind.has_value() && !*right.dominantKind);
    const std::string noun = data::kindNouns(kImpulseNoise).front();
    const auto named = eval::scoreDescription(mildNoise(), "There is slight " + noun + ". The quality is acceptable.");
    QVERIFY(named.dominantKind.has_value() && *named.dominantKind);
    // Blur said instead of noise: two aspects wrong, the dominant one not named.
    const auto wrong = eval::scoreDescription(mildNoise(), "The blur is severe. The overall quality is poor.");
    QVERIFY(!wrong.setExact);
    QVERIFY(!wrong.aspectRight[size_t(kNoise)]);
    QVERIFY(!wrong.aspectRight[size_t(data::Aspect::Blurriness)]);
    QVERIFY(wrong.dominantAspect.has_value() && !*wrong.dominantAspect);
    // An undistorted image has no dominant distortion to name.
    QVERIFY(!eval::scoreDescription(clean(), "No visible distortion.").dominantAspect.has_value());
  }

  void headsDistortedOrNot() {
    ImageQuality q;
    for (auto& p : q.aspects) p = {0.9f, 0.05f, 0.05f};
    q.aspects[size_t(kNoise)] = {0.2f, 0.7f, 0.1f};
    auto right = eval::headsAspectRight(mildNoise(), q);
    for (bool r : right) QVERIFY(r);
    right = eval::headsAspectRight(clean(), q);
    QVERIFY(!right[size_t(kNoise)]);
    QVERIFY(right[0]);
  }

  void headsDominantAspectIsTheirWorst() {
    ImageQuality q;
    for (auto& p : q.aspects) p = {0.9f, 0.05f, 0.05f};
    q.aspects[size_t(kNoise)] = {0.2f, 0.7f, 0.1f};
    QCOMPARE(eval::headsDominantAspect(mildNoise(), q), std::optional<bool>(true));
    q.aspects[0] = {0.0f, 0.2f, 0.8f};  // brightness looks worse than the noise
    QCOMPARE(eval::headsDominantAspect(mildNoise(), q), std::optional<bool>(false));
    QVERIFY(!eval::headsDominantAspect(clean(), q).has_value());  // nothing dominates a clean image
  }

  void reasoningConfusionAndWinner() {
    const auto good = eval::scoreReasoning(mildNoise(), clean(),
                                           "Image A has mild noise. Image B shows no visible distortion. "
                                           "Overall, Image B is better.");
    QCOMPARE(good.confusionOpportunities, 1);
    QCOMPARE(good.confusions, 0);
    QCOMPARE(good.winner, 'B');
    QVERIFY(good.levelRight[size_t(kNoise)]);
    const auto swapped = eval::scoreReasoning(mildNoise(), clean(),
                                              "Image B has mild noise. Image A shows no visible distortion. "
                                              "In conclusion, Image B is worse than Image A.");
    QCOMPARE(swapped.confusions, 1);
    QCOMPARE(swapped.winner, 'A');
    QVERIFY(!swapped.levelRight[size_t(kNoise)]);
    QCOMPARE(eval::scoreReasoning(clean(), clean(), "Both look the same.").winner, char(0));
    QVERIFY(!good.callsTie && !eval::scoreReasoning(clean(), clean(), "Both look the same.").callsTie);
    const auto tie = eval::scoreReasoning(mildNoise(), mildNoise(), "Overall, neither image is clearly better.");
    QVERIFY(tie.callsTie);
    QCOMPARE(tie.winner, char(0));
  }

  void reasoningThatComparesAnAspectTwice() {
    const auto once = eval::scoreReasoning(mildNoise(), clean(),
                                           "Image A has mild noise. Image B shows no visible distortion. In terms "
                                           "of noise, Image B is a little better than Image A. Overall, the better "
                                           "image is Image B.");
    QVERIFY(!once.repeatsComparison && !once.contradictsItself);
    const auto repeated = eval::scoreReasoning(mildNoise(), clean(),
                                               "Image A has mild noise. Image B shows no visible distortion. In terms "
                                               "of noise, Image B is a little better than Image A. Regarding noise "
                                               "level, Image B is slightly better than Image A. Overall, the better "
                                               "image is Image B.");
    QVERIFY(repeated.repeatsComparison && !repeated.contradictsItself);
    const auto contradicted = eval::scoreReasoning(mildNoise(), clean(),
                                                   "Image A has mild noise. Image B shows no visible distortion. In "
                                                   "terms of noise, Image B is a little better than Image A. As for "
                                                   "noise, Image A is much superior to Image B. Overall, the better "
                                                   "image is Image B.");
    QVERIFY(contradicted.repeatsComparison && contradicted.contradictsItself);
  }

  void tokensThatNameTheAspect() {
    const std::string text = "Slight noise, sharp.";
    const std::vector<std::pair<int, int>> spans = {{0, 6}, {6, 12}, {12, 13}, {13, 19}, {19, 20}, {20, 21}};
    QCOMPARE(eval::tokensNamingAspect(kNoise, text, spans), std::vector<int>{1});
    QCOMPARE(eval::tokensNamingAspect(int(data::Aspect::Blurriness), text, spans), std::vector<int>{3});
    QVERIFY(eval::tokensNamingAspect(7, text, spans).empty());
  }

  void pointingGameCountsOnlyCellsOverTheImage() {
    ImageGeometry g;
    g.gridWidth = g.gridHeight = 4;
    g.patchSize = 16;
    g.sourceWidth = g.sourceHeight = 40;
    g.contentWidth = g.contentHeight = 40;  // columns and rows 0..2 are over the image
    const int region[4] = {16, 16, 8, 8};   // inside cell (1, 1)
    std::vector<float> attention(16, 0.f);
    attention[5] = 1.f;
    auto r = eval::pointingGame(attention, g, region);
    QVERIFY(r.has_value());
    QVERIFY(r->hit);
    QCOMPARE(r->chance, 1.0 / 9.0);
    // The peak over padding does not count; the next best cell is outside the region.
    attention.assign(16, 0.f);
    attention[15] = 5.f;
    attention[0] = 1.f;
    r = eval::pointingGame(attention, g, region);
    QVERIFY(r.has_value() && !r->hit);
    // A downscaled image: the region is scaled to the encoder's pixels.
    g.sourceWidth = g.sourceHeight = 80;
    const int far[4] = {32, 32, 16, 16};  // -> 16..24 in the encoder's pixels: cell (1, 1)
    attention.assign(16, 0.f);
    attention[5] = 1.f;
    QVERIFY(eval::pointingGame(attention, g, far)->hit);
    QVERIFY(!eval::pointingGame({}, g, far).has_value());
  }

  void calibrationError() {
    std::vector<std::array<double, 3>> bins;
    const double ece = eval::expectedCalibrationError({{0.95, true}, {0.95, false}, {0.55, true}, {0.55, true}}, &bins);
    // Two bins: 0.95 confident, half right (0.45 off); 0.55 confident, all right (0.45 off).
    QVERIFY(std::abs(ece - 0.45) < 1e-9);
    QCOMPARE(bins[9][0], 2.0);
    QCOMPARE(bins[5][0], 2.0);
    QVERIFY(std::isnan(eval::expectedCalibrationError({})));
  }

  void classicalMetricsPreferTheCleanerImage() {
    cv::Mat ref(64, 64, CV_8UC3);
    cv::randu(ref, 0, 255);
    cv::GaussianBlur(ref, ref, {5, 5}, 1.5);
    cv::Mat noiseA(ref.size(), CV_16SC3), noiseB(ref.size(), CV_16SC3), a, b;
    cv::randn(noiseA, 0, 3);
    cv::randn(noiseB, 0, 25);
    ref.convertTo(a, CV_16SC3);
    a += noiseA;
    a.convertTo(a, CV_8UC3);
    ref.convertTo(b, CV_16SC3);
    b += noiseB;
    b.convertTo(b, CV_8UC3);
    const auto fr = eval::classicalChoice(ref, a, b);
    QVERIFY2(fr.error.empty(), fr.error.c_str());
    QCOMPARE(fr.psnr, 'A');
    QCOMPARE(fr.ssim, 'A');
    QCOMPARE(fr.gmsd, 'A');
    QCOMPARE(fr.brisque, char(0));
    const auto swapped = eval::classicalChoice(ref, b, a);
    QCOMPARE(swapped.psnr, 'B');
    const auto nr = eval::classicalChoice(cv::Mat(), a, b);
    QCOMPARE(nr.psnr, char(0));
    if (eval::brisqueAvailable()) QVERIFY(nr.brisque == 'A' || nr.brisque == 'B');
  }

  // A tiny shard written by hand in the data engine's format, read back typed.
  void handMadeShardReadsTyped() {
    QTemporaryDir dir;
    const std::string base = dir.filePath(QStringLiteral("shard-00000")).toStdString();
    const int w = 32, h = 32;
    std::vector<unsigned char> pixels(size_t(3 * w * h * 3));
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<unsigned char>(i * 7);
    std::ofstream(base + ".bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(pixels.data()), long(pixels.size()));
    auto at = [&](int k) { return json{{"offset", k * w * h * 3}, {"width", w}, {"height", h}}; };
    json pair = {{"id", "p1"},
                 {"task", "reasoning"},
                 {"with_reference", true},
                 {"question", "Which is better?"},
                 {"answer", "Image A has mild noise. Overall, Image B is better."},
                 {"images", {{"reference", at(0)}, {"A", at(1)}, {"B", at(2)}}},
                 {"questionnaire",
                  {{"A", imageJson("mild", false)},
                   {"B", imageJson("undistorted", false)},
                   {"winner", "B"},
                   {"too_close_to_call", false},
                   {"preference", {{"winner_without_preference", "B"}, {"flipped", false}}}}}};
    json description = {{"id", "d1"},
                        {"task", "description"},
                        {"with_reference", false},
                        {"question", "Describe."},
                        {"answer", "The noise is slight."},
                        {"images", {{"A", at(1)}}},
                        {"questionnaire", {{"image", imageJson("mild", true)}}}};
    std::ofstream(base + ".jsonl") << pair.dump() << "\n" << description.dump() << "\n";

    auto ds = data::ShardDataset::open(dir.path().toStdString());
    QVERIFY2(ds.ok(), ds.ok() ? "" : ds.message().c_str());
    QCOMPARE(ds->size(), size_t(2));
    auto p = ds->get(0);
    QVERIFY2(p.ok(), p.ok() ? "" : p.message().c_str());
    QCOMPARE(p->winner, 'B');
    QVERIFY(p->hasPreference);
    QVERIFY(!p->tooCloseToCall);
    QCOMPARE(p->verdictMention, 1);
    QCOMPARE(p->a.at<cv::Vec3b>(0, 0)[0], pixels[size_t(w * h * 3)]);
    QVERIFY(p->truthA.distorted);
    QCOMPARE(p->truthA.levels[size_t(kNoise)], 1);
    QCOMPARE(p->truthA.type, kImpulseNoise);
    QVERIFY(!p->truthB.distorted);
    const auto score = eval::scoreReasoning(p->truthA, p->truthB, p->answer);
    QCOMPARE(score.winner, p->winner);
    QCOMPARE(score.confusions, 0);

    auto d = ds->get(1);
    QVERIFY2(d.ok(), d.ok() ? "" : d.message().c_str());
    QVERIFY(d->truthA.local);
    QCOMPARE(d->truthA.localAspect, kNoise);
    QCOMPARE(d->truthA.region[2], 16);
    QVERIFY(eval::scoreDescription(d->truthA, d->answer).setExact);

    // A level the format does not know: the record's id and the word in the message.
    json broken = description;
    broken["questionnaire"]["image"]["aspects"]["noise"]["level"] = "extreme";
    auto bad = data::exampleFromRecord(broken, {}, cv::Mat(h, w, CV_8UC3), {});
    QVERIFY(!bad.ok());
    QVERIFY2(bad.message().find("d1") != std::string::npos && bad.message().find("extreme") != std::string::npos,
             bad.message().c_str());
  }

  void verdictTemperatureIsFoundAgain() {
    // Pairs whose truth follows P(A) = sigmoid(u), reported with the logit doubled (an
    // overconfident verdict): the fitted temperature is about 2, and it lowers the loss.
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> uniform(0, 1);
    std::vector<eval::VerdictLogit> pairs;
    for (int i = 0; i < 6000; ++i) {
      const double u = -4 + 8 * uniform(rng);
      pairs.push_back({2 * u, uniform(rng) < 1 / (1 + std::exp(-u))});
    }
    const double t = eval::fitTemperature(pairs);
    QVERIFY2(std::fabs(t - 2) < 0.2, std::to_string(t).c_str());
    QVERIFY(eval::meanNegativeLogLikelihood(pairs, t) < eval::meanNegativeLogLikelihood(pairs, 1));
    QVERIFY(eval::temperedCalibrationError(pairs, t) < eval::temperedCalibrationError(pairs, 1));
    QCOMPARE(eval::fitTemperature({}), 1.0);
  }

  void temperedLettersKeepTheirSumAndTheVerdict() {
    const auto same = gen::temperedLetterProbabilities(0.8f, 0.1f, 1.0);
    QCOMPARE(same.first, 0.8f);
    QCOMPARE(same.second, 0.1f);
    const auto [a, b] = gen::temperedLetterProbabilities(0.8f, 0.1f, 2.0);
    QVERIFY(std::fabs(a + b - 0.9f) < 1e-6f);
    QVERIFY(a > b && a < 0.8f);                                           // softer, same winner
    QVERIFY(std::fabs(std::log(a / b) - std::log(8.0) / 2) < 1e-4);       // the logit halved
    const auto zero = gen::temperedLetterProbabilities(0.9f, 0.0f, 2.0);  // nothing to scale
    QCOMPARE(zero.first, 0.9f);
  }

  void verdictTemperatureIsWrittenIntoTheModelConfig() {
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/config.json";
    std::ofstream(path) << json{{"model_type", "llava"}, {"dtype", "float32"}}.dump(2);
    QVERIFY(eval::writeVerdictTemperature(dir.path().toStdString(), {1.41234567, 1.7}));
    std::ifstream in(path);
    const json written = json::parse(in);
    QCOMPARE(written.at("verdict_temperature").get<double>(), 1.4123);
    QCOMPARE(written.at("verdict_temperature_no_reference").get<double>(), 1.7);
    QCOMPARE(written.at("dtype").get<std::string>(), std::string("float32"));  // the rest kept
    QVERIFY(!eval::writeVerdictTemperature(dir.path().toStdString(), {0.0, 1.0}));
    QVERIFY(!eval::writeVerdictTemperature(dir.path().toStdString(), {1.0, 25.0}));
    QVERIFY(!eval::writeVerdictTemperature(dir.path().toStdString() + "/missing", {1.5, 1.5}));
  }

  void modelConfigReadsTheVerdictTemperature() {
    const std::string bundled = DEPICTQA_SOURCE_DIR "/models/default/config.json";
    auto cfg = io::loadModelConfig(bundled);
    QVERIFY2(cfg, cfg ? "" : cfg.message().c_str());
    std::ifstream in(bundled);
    json j = json::parse(in);
    j["verdict_temperature"] = 1.5;
    auto tempered = io::parseModelConfig(j.dump());
    QVERIFY2(tempered, tempered ? "" : tempered.message().c_str());
    QCOMPARE(tempered->verdictTemperature, 1.5);
    j["verdict_temperature"] = -1;
    auto bad = io::parseModelConfig(j.dump());
    QVERIFY(!bad);
    QVERIFY2(bad.message().find("verdict_temperature") != std::string::npos, bad.message().c_str());
    j.erase("verdict_temperature");
    QCOMPARE(io::parseModelConfig(j.dump())->verdictTemperature, 1.0);
    // Comparisons without a reference have their own, where given; else the same one.
    j["verdict_temperature"] = 1.2;
    j.erase("verdict_temperature_no_reference");
    auto one = io::parseModelConfig(j.dump());
    QVERIFY(one);
    QCOMPARE(one->verdictTemperatureFor(true), 1.2);
    QCOMPARE(one->verdictTemperatureFor(false), 1.2);
    j["verdict_temperature_no_reference"] = 1.8;
    auto two = io::parseModelConfig(j.dump());
    QVERIFY(two);
    QCOMPARE(two->verdictTemperatureFor(true), 1.2);
    QCOMPARE(two->verdictTemperatureFor(false), 1.8);
    j["verdict_temperature_no_reference"] = 0.0;
    auto zero = io::parseModelConfig(j.dump());
    QVERIFY(!zero);
    QVERIFY2(zero.message().find("verdict_temperature_no_reference") != std::string::npos, zero.message().c_str());
  }
  // A pair counts once under each of its images' kinds, once only where they share one, and
  // under "same kind" or "different kinds"; heads and the classical metric only where given.
  void kindBreakdownCountsEachPairUnderItsKinds() {
    constexpr int kMotionBlur = 3;
    data::ImageTruth noisy = mildNoise(), blurred = mildNoise(), undistorted = clean();
    blurred.type = kMotionBlur;
    eval::KindBreakdown k;
    QVERIFY(k.markdown().empty());
    k.add(noisy, blurred, {true, true, false, true});                // FR, model right, heads wrong
    k.add(noisy, noisy, {true, false, std::nullopt, std::nullopt});  // FR, same kind, no heads
    k.add(blurred, undistorted, {false, true, true, false});         // NR
    const json j = k.toJson();
    const json& fr = j["full_reference"];
    QCOMPARE(fr["impulse_noise"]["model"]["n"].get<int>(), 2);
    QCOMPARE(fr["impulse_noise"]["model"]["accuracy"].get<double>(), 0.5);
    QCOMPARE(fr["impulse_noise"]["heads"]["n"].get<int>(), 1);
    QCOMPARE(fr["impulse_noise"]["heads"]["accuracy"].get<double>(), 0.0);
    QCOMPARE(fr["motion_blur"]["model"]["n"].get<int>(), 1);
    QCOMPARE(fr["same_kind"]["model"]["n"].get<int>(), 1);
    QCOMPARE(fr["different_kinds"]["classical"]["accuracy"].get<double>(), 1.0);
    QVERIFY(!fr.contains("undistorted"));
    const json& nr = j["no_reference"];
    QCOMPARE(nr["undistorted"]["model"]["n"].get<int>(), 1);
    QCOMPARE(nr["motion_blur"]["classical"]["accuracy"].get<double>(), 0.0);
    QVERIFY(!nr.contains("impulse_noise"));
    QVERIFY(nr["same_kind"]["model"]["accuracy"].is_null());
    const std::string md = k.markdown();
    QVERIFY2(md.find("| impulse_noise | 50.0% (2) | 0.0% (1) | 100.0% (1) | – | – | – |") != std::string::npos,
             md.c_str());
    QVERIFY2(md.find("| motion_blur | 100.0% (1) | 0.0% (1) | 100.0% (1) | 100.0% (1) | 100.0% (1) | 0.0% (1) |") !=
                 std::string::npos,
             md.c_str());
  }
};

QTEST_GUILESS_MAIN(EvalMeasuresTest)
#include "test_eval.moc"
