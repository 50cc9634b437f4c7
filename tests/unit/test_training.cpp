// The bundled model's training pieces on tiny inputs: the streamed sampler (same samples
// for the same step, whatever the thread count), the quality views and losses (stage 1),
// the letters, verdict and judgement-word weights of the language stage, its losses, the optimizer's
// schedule and clipping, and the pair-scale calibration.
#include <QtTest/QtTest>
#include <QTemporaryDir>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/kadid.h"
#include "core/data/photos.h"
#include "core/io/safetensors.h"
#include "core/data/textgen.h"
#include "core/model/llama.h"
#include "core/model/multimodal.h"
#include "core/model/quality_encoder.h"
#include "core/model/quality_input.h"
#include "core/model/visual_tokens.h"
#include "core/text/tokenizer.h"
#include "core/data/shard_dataset.h"
#include "core/train/encoder_stage.h"
#include "core/train/language_batch.h"
#include "core/train/language_loss.h"
#include "core/train/model_average.h"
#include "core/train/model_init.h"
#include "core/train/model_io.h"
#include "core/train/optimizer.h"
#include "core/train/quality_batch.h"
#include "core/train/sample_stream.h"
#include "test_support.h"
#include "tiny_model.h"

using namespace dqa;

namespace {

train::StreamOptions syntheticStream(int threads) {
  train::StreamOptions o;
  o.syntheticPhotos = 12;
  o.seed = 4;
  o.threads = threads;
  o.split.valFraction = 0.2;
  return o;
}

std::string tokenizerPath() { return test::fixtureDir("sentencepiece") + "/tiny.model"; }

train::ModelShape tinyShape(int vocabSize) { return test::tinyModelShape(vocabSize); }

// A freshly initialised tiny model in `dir` for the tokenizer's vocabulary.
Result<std::shared_ptr<model::MultimodalModel>> freshTinyModel(const QTemporaryDir& dir, const text::Tokenizer& tok) {
  if (auto ok = train::writeInitialModel(tinyShape(tok.vocabSize()), dir.path().toStdString(), 1); !ok)
    return ok.error();
  return model::MultimodalModel::load(dir.path().toStdString(), {});
}

}  // namespace

class TrainingTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void streamIsAPureFunctionOfTheIndex() {
    auto one = train::SampleStream::open(syntheticStream(1));
    auto two = train::SampleStream::open(syntheticStream(2));
    QVERIFY2(one.ok(), one.ok() ? "" : one.message().c_str());
    QVERIFY2(two.ok(), two.ok() ? "" : two.message().c_str());
    data::SamplerConfig cfg;
    cfg.patchSizes = {64};
    const auto a = one.value()->examples(100, 12, cfg);
    const auto b = two.value()->examples(100, 12, cfg);
    QCOMPARE(a.size(), b.size());
    QVERIFY(a.size() >= 10);
    for (size_t i = 0; i < a.size(); ++i) {
      QCOMPARE(a[i].answer, b[i].answer);
      QCOMPARE(cv::norm(a[i].a, b[i].a, cv::NORM_INF), 0.0);
      QCOMPARE(a[i].a.cols, 64);
    }
    // The next step's samples are others.
    const auto c = one.value()->examples(112, 4, cfg);
    QVERIFY(cv::norm(c[0].a, a[0].a, cv::NORM_INF) > 0 || c[0].answer != a[0].answer);
  }

  void streamKeepsHeldOutTypesOut() {
    auto s = train::SampleStream::open(syntheticStream(2));
    QVERIFY(s.ok());
    data::SamplerConfig cfg;
    cfg.patchSizes = {64};
    for (const auto& ex : s.value()->examples(0, 200, cfg))
      for (const auto* t : {&ex.truthA, &ex.truthB})
        for (int held : data::SplitConfig{}.heldOutTypes) QVERIFY(t->type != held);
  }

  // --photographic-variants reaches the stream: the same samples, except where a drawn
  // variant is now a photographic one (the draws of everything else do not move).
  void streamDrawsPhotographicVariantsWhenAsked() {
    train::StreamOptions withVariants = syntheticStream(2);
    withVariants.photographicVariants = true;
    auto plain = train::SampleStream::open(syntheticStream(2));
    auto photographic = train::SampleStream::open(withVariants);
    QVERIFY(plain.ok() && photographic.ok());
    data::SamplerConfig cfg;
    cfg.patchSizes = {64};
    const auto a = plain.value()->examples(0, 120, cfg);
    const auto b = photographic.value()->examples(0, 120, cfg);
    QCOMPARE(a.size(), b.size());
    int differ = 0, sameType = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      differ += cv::norm(a[i].a, b[i].a, cv::NORM_INF) > 0;
      sameType += a[i].truthA.type == b[i].truthA.type;
    }
    QVERIFY2(differ > 0 && differ < int(a.size()) / 2, qPrintable(QString::number(differ)));
    QCOMPARE(sameType, int(a.size()));
  }

  void verdictMention() {
    QCOMPARE(data::verdictMentionIndex("Image B is better.", 'B'), 0);
    QCOMPARE(data::verdictMentionIndex(
                 "Image A has mild noise, while Image B shows severe blur. Overall, Image A is better.", 'A'),
             2);
    QCOMPARE(data::verdictMentionIndex("Image A has noise. Overall, Image B is better than Image A.", 'B'), 1);
    // Named first is the loser: supervised too, with the letter written there.
    QCOMPARE(data::verdictMentionIndex("Image A has noise. In conclusion, Image B is worse than Image A.", 'A'), 1);
    QCOMPARE(data::verdictMentionIndex("Image A is worse.", 'B'), 0);
    // A verdict that contradicts the truth is not one to supervise.
    QCOMPARE(data::verdictMentionIndex("Image A is worse.", 'A'), -1);
    QCOMPARE(data::verdictMentionIndex("Both look the same.", 'A'), -1);
  }

  void judgementWordsWeighMore() {
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY(tok.ok());
    const std::string answer = "There is severe white noise. Overall, the image quality is poor.";
    const auto ids = tok.value()->encode(answer);
    const auto w = train::answerTokenWeights(*tok.value(), answer, ids, 3.0);
    QCOMPARE(w.size(), ids.size());
    std::string heavy;
    for (size_t i = 0; i < ids.size(); ++i)
      if (w[i] > 1) heavy += tok.value()->pieceBytes(ids[i]);
    QVERIFY2(heavy.find("severe") != std::string::npos, heavy.c_str());
    QVERIFY2(heavy.find("noise") != std::string::npos, heavy.c_str());
    QVERIFY2(heavy.find("poor") != std::string::npos, heavy.c_str());
    QVERIFY2(heavy.find("There") == std::string::npos, heavy.c_str());
  }

  void comparativeWordsWeighMoreWhenAsked() {
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY(tok.ok());
    const std::string answer = "In conclusion, Image B is worse than Image A.";
    const auto ids = tok.value()->encode(answer);
    for (bool comparatives : {false, true}) {
      const auto w = train::answerTokenWeights(*tok.value(), answer, ids, 3.0, comparatives);
      std::string heavy;
      for (size_t i = 0; i < ids.size(); ++i)
        if (w[i] > 1) heavy += tok.value()->pieceBytes(ids[i]);
      QCOMPARE(heavy.find("worse") != std::string::npos, comparatives);
      QVERIFY2(heavy.find("Image") == std::string::npos, heavy.c_str());
    }
  }

  void everyImageLetterIsFound() {
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY(tok.ok());
    const auto v = text::verdictTokens(*tok.value());
    if (v.a < 0) QSKIP("this tokenizer cannot tell Image A from Image B");
    const auto ids = tok.value()->encode("Image A is noisy. Image B is better than Image A. An image.");
    const auto letters = text::imageLetterIndices(ids, v);
    QCOMPARE(letters.size(), size_t(3));
    QCOMPARE(ids[size_t(letters[0])], v.a);
    QCOMPARE(ids[size_t(letters[1])], v.b);
    QCOMPARE(ids[size_t(letters[2])], v.a);
    QVERIFY(letters[0] < letters[1] && letters[1] < letters[2]);
    QCOMPARE(train::verdictLetterIndex(ids, v, 1), letters[1]);
  }

  void verdictLetterIsFoundByMention() {
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY(tok.ok());
    const auto v = text::verdictTokens(*tok.value());
    if (v.a < 0) QSKIP("this tokenizer cannot tell Image A from Image B");
    const auto ids = tok.value()->encode("Image A is noisy. Overall, Image B is better than Image A.");
    const int second = train::verdictLetterIndex(ids, v, 1);
    QVERIFY(second > 0);
    QCOMPARE(ids[size_t(second)], v.b);
    QCOMPARE(train::verdictLetterIndex(ids, v, 5), -1);
  }

  void qualityViewsAndLosses() {
    QTemporaryDir dir;
    QVERIFY(train::writeInitialModel(tinyShape(300), dir.path().toStdString(), 1).ok());
    auto m = model::MultimodalModel::load(dir.path().toStdString(), {});
    QVERIFY2(m.ok(), m.ok() ? "" : m.message().c_str());
    QCOMPARE(int(m.value()->config().vision.distortionTypes.size()), 26);
    auto s = train::SampleStream::open(syntheticStream(2));
    data::SamplerConfig cfg;
    cfg.patchSizes = {64};
    cfg.taskShare = {0.0, 1.0, 0.0};
    const auto examples = s.value()->examples(0, 8, cfg);
    const auto& vc = m.value()->config().vision;
    const train::QualityBatch paired = train::buildQualityBatch(vc, examples, {true, true}, 0.5);
    // Two views per pair, plus the reference of every second example.
    QCOMPARE(paired.views(), int64_t(2 * examples.size() + (examples.size() + 1) / 2));
    QCOMPARE(paired.pairFirst.numel(), int64_t(examples.size()));
    QCOMPARE(paired.input.size(1), int64_t(vc.numChannels));
    // A view's input is what the engine computes for it: A against the reference and B.
    const at::Tensor engineView =
        model::qualityEncoderInput(vc, {model::unitPixels(examples[0].a).value().unsqueeze(0),
                                        model::unitPixels(examples[0].reference).value().unsqueeze(0),
                                        model::unitPixels(examples[0].b).value().unsqueeze(0)});
    QCOMPARE((paired.input[paired.pairFirst[0].item<int64_t>()] - engineView[0]).abs().max().item<double>(), 0.0);
    for (auto& [name, t] : m.value()->mutableQualityEncoder().namedParameters("")) t->requires_grad_(true);
    const auto& enc = m.value()->qualityEncoder();
    const model::QualityHeads h = enc.heads(model::QualityEncoder::pool(enc.featureMap(paired.input)));
    const train::QualityLosses l = train::qualityLosses(h, paired, {});
    QVERIFY(std::isfinite(l.total.item<double>()));
    QVERIFY(l.ranking > 0 && l.pair > 0 && l.aspects > 0 && l.types > 0);
    // Aspect cross-entropy of a fresh head is about log(3), the type's about log(26).
    QVERIFY(std::abs(l.aspects - std::log(3.0)) < 0.2);
    QVERIFY(std::abs(l.types - std::log(26.0)) < 0.3);
    // The losses reach every weight of the encoder.
    l.total.backward();
    for (auto& [name, t] : m.value()->mutableQualityEncoder().namedParameters(""))
      QVERIFY2(
          !t->grad().defined() || t->grad().abs().sum().item<double>() > 0 || name.find("bias") != std::string::npos,
          name.c_str());
    const train::QualityBatch alone = train::buildQualityBatch(vc, examples, {false, false}, 0.5);
    QCOMPARE(alone.views(), int64_t(examples.size()));  // no reference views without a reference
    QVERIFY(!alone.pairFirst.defined());
  }

  // Pairs of one kind at two levels: the stronger is worse however close the score labels
  // (which call most such pairs too close), and only such pairs are decided by their levels.
  void sameKindPairsAreDecidedByTheirLevels() {
    data::ImageTruth weak, strong;
    weak.present = strong.present = true;
    weak.soleType = strong.soleType = 10;
    weak.soleVariant = strong.soleVariant = "gaussian";
    weak.soleLevel = 1.0;
    strong.soleLevel = 2.0;
    QCOMPARE(data::orderOfLevels(weak, strong, 0.25), 1);
    QCOMPARE(data::orderOfLevels(strong, weak, 0.25), -1);
    QCOMPARE(data::orderOfLevels(weak, strong, 1.5), 0);  // closer than asked
    data::ImageTruth other = strong;
    other.soleVariant = "lens";
    QCOMPARE(data::orderOfLevels(weak, other, 0.25), 0);  // another variant: no known order
    other = strong;
    other.soleType = 11;
    QCOMPARE(data::orderOfLevels(weak, other, 0.25), 0);
    other = strong;
    other.local = true;
    QCOMPARE(data::orderOfLevels(weak, other, 0.25), 0);
    other = strong;
    other.soleLevel = -1;  // two distortions or none
    QCOMPARE(data::orderOfLevels(weak, other, 0.25), 0);
    // Contrast change (KADID 25): level 1 raises the contrast by 0.3, level 3 leaves it,
    // level 5 lowers it by 0.6; people liked level 2 better than level 1.
    data::ImageTruth contrast1 = weak, contrast2 = weak, contrast4 = weak;
    contrast1.soleType = contrast2.soleType = contrast4.soleType = 25;
    contrast1.soleLevel = 1.0;
    contrast2.soleLevel = 2.0;
    contrast4.soleLevel = 4.0;
    QCOMPARE(data::orderOfLevels(contrast1, contrast2, 0.25), -1);
    QCOMPARE(data::orderOfLevels(contrast2, contrast4, 0.25), 0);  // through the turn at level 3
    contrast1.soleLevel = 3.2;
    QCOMPARE(data::orderOfLevels(contrast1, contrast4, 0.25), 1);

    QTemporaryDir dir;
    QVERIFY(train::writeInitialModel(tinyShape(300), dir.path().toStdString(), 1).ok());
    auto m = model::MultimodalModel::load(dir.path().toStdString(), {});
    QVERIFY2(m.ok(), m.ok() ? "" : m.message().c_str());
    auto s = train::SampleStream::open(syntheticStream(2));
    data::SamplerConfig cfg;
    cfg.patchSizes = {64};
    cfg.taskShare = {0.0, 1.0, 0.0};
    cfg.sameTypePairShare = 1.0;
    const auto examples = s.value()->examples(0, 32, cfg);
    const auto& vc = m.value()->config().vision;
    const train::QualityBatch byScore = train::buildQualityBatch(vc, examples, {true, true}, 0.0);
    const train::QualityBatch byLevel = train::buildQualityBatch(vc, examples, {true, true}, 0.0, 0.25);
    QCOMPARE(byLevel.pairTarget.numel(), int64_t(examples.size()));
    int decidedByLevel = 0;
    for (size_t i = 0; i < examples.size(); ++i) {
      const float scoreTarget = byScore.pairTarget[int64_t(i)].item<float>();
      const float levelTarget = byLevel.pairTarget[int64_t(i)].item<float>();
      const int known = data::orderOfLevels(examples[i].truthA, examples[i].truthB, 0.25);
      if (known == 0 || scoreTarget != 0.5f) {  // the score labels decide where they can
        QCOMPARE(levelTarget, scoreTarget);
        continue;
      }
      QCOMPARE(levelTarget, known > 0 ? 1.f : 0.f);
      const int type = examples[i].truthA.soleType;
      QCOMPARE(known > 0, data::mosAtLevel(type, examples[i].truthA.soleLevel) >
                              data::mosAtLevel(type, examples[i].truthB.soleLevel));
      ++decidedByLevel;
    }
    QVERIFY2(decidedByLevel > 0, "no pair of one kind was too close by its score labels");
  }

  // The preference ranking on one pair whose labels a preference flips: A has a
  // moderate aspect-0 distortion (MOS 3.0), B a worse aspect-1 one (2.5). A wins without
  // a preference and under eight of the ten; B under "aspect 0 weighs 3" (A 1.6 against
  // B 2.5) and "aspect 1 weighs 0.3" (A 3.0 against B 3.8): the two flipped entries.
  void preferenceRankingWeighsWhatTheVerdictReads() {
    train::QualityBatch b;
    b.mos = at::tensor(std::vector<float>{3.0f, 2.5f});
    b.aspectMos =
        at::tensor(std::vector<float>{3.0f, 4.6f, 4.6f, 4.6f, 4.6f, 4.6f, 2.5f, 4.6f, 4.6f, 4.6f}).view({2, 5});
    b.levels = at::tensor(std::vector<int64_t>{1, 0, 0, 0, 0, 0, 1, 0, 0, 0}).view({2, 5});
    b.types = at::zeros({2}, at::kLong);
    b.pairFirst = at::tensor(std::vector<int64_t>{0});
    b.pairSecond = at::tensor(std::vector<int64_t>{1});
    b.pairTarget = at::ones({1});
    // Heads that see both distortions too mild: A stays ahead under "aspect 0 weighs 3"
    // (wrong), B just edges ahead under "aspect 1 weighs 0.3" (right).
    auto heads = [](float scoreA, float scoreB) {
      model::QualityHeads h;
      h.score = at::tensor(std::vector<float>{scoreA, scoreB});
      h.aspects = at::zeros({2, 5, 3});
      h.types = at::zeros({2, 3});
      h.aspectScores =
          at::tensor(std::vector<float>{1.4f, 1.6f, 1.6f, 1.6f, 1.6f, 1.6f, 1.0f, 1.6f, 1.6f, 1.6f}).view({2, 5});
      return h;
    };
    train::QualityLossWeights w;
    w.preference = 1;
    const double plain = train::qualityLosses(heads(0.0f, -0.5f), b, w).preference;
    QVERIFY(plain > 0);
    // The aspect scores' own ranking does not read the score head.
    QCOMPARE(train::qualityLosses(heads(-1.0f, 0.0f), b, w).preference, plain);
    // Weighing the flipped entries up raises the loss of heads that get one of them wrong.
    w.preferenceFlipWeight = 4;
    const double flipWeighed = train::qualityLosses(heads(0.0f, -0.5f), b, w).preference;
    QVERIFY2(flipWeighed > plain + 0.05, qPrintable(QString("%1 vs %2").arg(flipWeighed).arg(plain)));
    // On the verdict's score (score head + what the preference changes) a score head that
    // ranks the pair the wrong way costs more than one that ranks it right.
    w.preferenceFlipWeight = 1;
    w.preferenceOnScore = true;
    const double right = train::qualityLosses(heads(0.0f, -0.5f), b, w).preference;
    const double wrong = train::qualityLosses(heads(-1.0f, 0.0f), b, w).preference;
    QVERIFY2(wrong > right + 0.3, qPrintable(QString("%1 vs %2").arg(wrong).arg(right)));
    QVERIFY(std::abs(right - plain) > 1e-4);
  }

  // A per-aspect score head added to a model without one (models/train-default.sh's
  // stage 1b): until it and its quality-token columns are trained, the model's visual
  // tokens (what the decoder reads) are exactly the original's, with or without a
  // preference; zero columns put anywhere else would shift the old features and change them.
  void aspectScoreHeadJoinsWithoutChangingTheTokens() {
    QTemporaryDir dir;
    const std::string plain = dir.path().toStdString() + "/plain", grown = dir.path().toStdString() + "/grown";
    train::ModelShape shape = tinyShape(300);
    shape.aspectScores = false;
    QVERIFY(train::writeInitialModel(shape, plain, 1).ok());
    const auto added = train::addAspectScoreHead(plain, grown, 7);
    QVERIFY2(added.ok(), added.ok() ? "" : added.message().c_str());
    const auto again = train::addAspectScoreHead(grown, dir.path().toStdString() + "/twice", 7);
    QVERIFY(!again.ok());
    QVERIFY2(again.message().find("already has an aspect-score head") != std::string::npos, again.message().c_str());
    auto before = model::MultimodalModel::load(plain, {});
    auto after = model::MultimodalModel::load(grown, {});
    QVERIFY2(after.ok(), after.ok() ? "" : after.message().c_str());
    QVERIFY(!before.value()->config().vision.aspectScores);
    QVERIFY(after.value()->config().vision.aspectScores);

    cv::RNG rng(3);
    cv::Mat ref(64, 64, CV_8UC3), a, b;
    rng.fill(ref, cv::RNG::UNIFORM, 0, 255);
    cv::GaussianBlur(ref, a, {5, 5}, 1.5);
    cv::Mat noise(64, 64, CV_8UC3);
    rng.fill(noise, cv::RNG::NORMAL, 0, 20);
    cv::add(ref, noise, b);
    const model::RoleImages images{
        {text::ImageRole::Reference, {ref}}, {text::ImageRole::A, {a}}, {text::ImageRole::B, {b}}};
    model::EncodeOptions intolerantOfNoise;
    intolerantOfNoise.aspectWeights = {1, 1, 3, 1, 1};
    for (const model::EncodeOptions& o : {model::EncodeOptions{}, intolerantOfNoise}) {
      auto x = model::encodeImages(*before.value(), images, o);
      auto y = model::encodeImages(*after.value(), images, o);
      QVERIFY(x.ok() && y.ok());
      for (const auto& [role, e] : x.value()) {
        QVERIFY(y->at(role).aspectScores.defined());
        const double d = (e.tokens - y->at(role).tokens).abs().max().item<double>();
        // With a stated preference the verdict's feature of A and B is the heads'
        // preference-weighed score difference (visual_tokens.h), which the new head moves
        // at once; everything else stays as it was.
        const bool weighed = model::statesPreference(o.aspectWeights) && role != text::ImageRole::Reference;
        if (weighed)
          QVERIFY2(d > 1e-6, QByteArray::number(d).constData());
        else
          QVERIFY2(d < 1e-6, QByteArray::number(d).constData());
      }
    }
    // The new head is trained from here: its scores already differ between the images.
    auto y = model::encodeImages(*after.value(), images, intolerantOfNoise);
    QVERIFY(
        (y->at(text::ImageRole::A).aspectScores - y->at(text::ImageRole::B).aspectScores).abs().max().item<double>() >
        0);
  }

  // The aspect-score head replaced by a wider one of its own (depictqa-train
  // --fresh-aspect-scores): only its weights change, it is saved and loaded with its
  // layer, and the heads a verdict reads besides it are the original's.
  void freshAspectScoreHeadChangesNothingElse() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    const std::string plain = root + "/plain", wide = root + "/wide", saved = root + "/saved";
    QVERIFY(train::writeInitialModel(tinyShape(300), plain, 1).ok());
    const auto made = train::freshAspectScoreHead(plain, wide, 16, 7);
    QVERIFY2(made.ok(), made.ok() ? "" : made.message().c_str());
    auto before = model::MultimodalModel::load(plain, {});
    auto after = model::MultimodalModel::load(wide, {});
    QVERIFY2(after.ok(), after.ok() ? "" : after.message().c_str());
    QCOMPARE(after.value()->config().vision.aspectScoreWidth, 16);
    QCOMPARE(before.value()->config().vision.aspectScoreWidth, 0);

    std::map<std::string, at::Tensor> original;
    for (auto& [name, t] : before.value()->namedParameters()) original[name] = *t;
    int replaced = 0;
    for (auto& [name, t] : after.value()->namedParameters()) {
      if (name.rfind("vision_tower.heads.aspect_scores", 0) == 0) {
        ++replaced;
        continue;
      }
      QVERIFY2(original.count(name) && at::equal(original[name], *t), name.c_str());
    }
    QCOMPARE(replaced, 4);  // the layer of its own and the output, weight and bias each
    const int64_t pooled = 2 * int64_t(after.value()->config().vision.stageWidths[3]);
    for (auto& [name, t] : after.value()->namedParameters())
      if (name == "vision_tower.heads.aspect_scores_hidden.weight")
        QCOMPARE(t->sizes().vec(), (std::vector<int64_t>{16, pooled}));

    // Saved by the trainer's writer and loaded again: the same weights, the same width.
    QVERIFY(train::saveModelDirectory(*after.value(), saved, "").ok());
    auto reloaded = model::MultimodalModel::load(saved, {});
    QVERIFY2(reloaded.ok(), reloaded.ok() ? "" : reloaded.message().c_str());
    QCOMPARE(reloaded.value()->config().vision.aspectScoreWidth, 16);

    cv::RNG rng(5);
    cv::Mat ref(64, 64, CV_8UC3), a;
    rng.fill(ref, cv::RNG::UNIFORM, 0, 255);
    cv::GaussianBlur(ref, a, {5, 5}, 1.5);
    const model::RoleImages images{{text::ImageRole::Reference, {ref}}, {text::ImageRole::A, {a}}};
    auto x = model::encodeImages(*before.value(), images, {});
    auto y = model::encodeImages(*after.value(), images, {});
    auto z = model::encodeImages(*reloaded.value(), images, {});
    QVERIFY(x.ok() && y.ok() && z.ok());
    const auto& ex = x->at(text::ImageRole::A);
    const auto& ey = y->at(text::ImageRole::A);
    QVERIFY(at::equal(ex.score, ey.score) && at::equal(ex.aspects, ey.aspects) && at::equal(ex.types, ey.types));
    QVERIFY(!at::equal(ex.aspectScores, ey.aspectScores));
    QVERIFY(at::equal(ey.aspectScores, z->at(text::ImageRole::A).aspectScores));

    // Back to a linear head on the shared layer; a model without the head is told how to add one.
    QVERIFY(train::freshAspectScoreHead(wide, root + "/linear", 0, 7).ok());
    auto linear = model::MultimodalModel::load(root + "/linear", {});
    QVERIFY(linear.ok());
    QCOMPARE(linear.value()->config().vision.aspectScoreWidth, 0);
    train::ModelShape without = tinyShape(300);
    without.aspectScores = false;
    QVERIFY(train::writeInitialModel(without, root + "/without", 1).ok());
    const auto refused = train::freshAspectScoreHead(root + "/without", root + "/never", 16, 7);
    QVERIFY(!refused.ok());
    QVERIFY2(refused.message().find("--add-aspect-scores") != std::string::npos, refused.message().c_str());
  }

  void languageBatchSupervisesEveryLetter() {
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY(tok.ok());
    const auto v = text::verdictTokens(*tok.value());
    if (v.a < 0) QSKIP("this tokenizer cannot tell Image A from Image B");
    QTemporaryDir dir;
    auto m = freshTinyModel(dir, *tok.value());
    QVERIFY2(m.ok(), m.ok() ? "" : m.message().c_str());
    auto s = train::SampleStream::open(syntheticStream(2));
    data::SamplerConfig cfg;
    cfg.patchSizes = {64};
    cfg.taskShare = {0.0, 0.5, 0.5};  // comparisons and reasonings
    const auto examples = s.value()->examples(0, 8, cfg);
    train::LanguageBatchOptions o;
    o.verdict = v;
    auto batch = train::makeLanguageBatch(*m.value(), *tok.value(), examples, o);
    QVERIFY2(batch.ok(), batch.ok() ? "" : batch.message().c_str());
    // Every "Image X" of every answer is supervised, with the letter written there.
    size_t mentions = 0;
    for (const auto& ex : examples) mentions += text::imageLetterIndices(tok.value()->encode(ex.answer), v).size();
    QVERIFY(mentions > examples.size());
    QCOMPARE(batch->letterPositions.size(), mentions);
    for (size_t k = 0; k < mentions; ++k) {
      const auto [row, pos] = batch->letterPositions[k];
      QCOMPARE(batch->labels[row][pos].item<int64_t>(), int64_t(batch->letterWritten[k] == 'A' ? v.a : v.b));
    }
    // Each verdict letter is one of them; by default only verdicts that name the winner
    // first, with --loser-first-verdicts those that name the loser first too.
    QVERIFY(!batch->verdictPositions.empty());
    for (size_t k = 0; k < batch->verdictPositions.size(); ++k) {
      const auto& p = batch->verdictPositions[k];
      QVERIFY(std::find(batch->letterPositions.begin(), batch->letterPositions.end(), p) !=
              batch->letterPositions.end());
      QCOMPARE(batch->verdictLetter[k], examples[size_t(p.first)].winner);
    }
    o.loserFirstVerdicts = true;
    auto both = train::makeLanguageBatch(*m.value(), *tok.value(), examples, o);
    QVERIFY(both.ok());
    QVERIFY(both->verdictPositions.size() >= batch->verdictPositions.size());

    const at::Tensor hidden = m.value()->decoder().forward(batch->embeds);  // [B, T, H]
    const auto without = train::languageLosses(m.value()->decoder(), hidden, batch.value(), v, {1, 0, 0});
    QCOMPARE(without.letter, 0.0);
    const auto with = train::languageLosses(m.value()->decoder(), hidden, batch.value(), v, {1, 0, 1});
    // A fresh decoder is near chance between the two letters.
    QVERIFY2(std::abs(with.letter - std::log(2.0)) < 0.3, QByteArray::number(with.letter).constData());
    QVERIFY(std::abs(with.total.item<double>() - (with.lm + with.verdict + with.letter)) < 1e-4);
    QCOMPARE(with.lm, without.lm);
  }

  // Descriptions of an image whose distortion is confined to a region: the words that
  // name its aspect get an attention target over the image's cells, and the loss is
  // small when their attention is inside the region, large when it is outside.
  void attentionTargetsPointAtTheRegion() {
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY(tok.ok());
    QTemporaryDir dir;
    auto m = freshTinyModel(dir, *tok.value());
    QVERIFY2(m.ok(), m.ok() ? "" : m.message().c_str());
    auto s = train::SampleStream::open(syntheticStream(2));
    data::SamplerConfig cfg;
    cfg.patchSizes = {96};
    cfg.taskShare = {1.0, 0.0, 0.0};  // descriptions
    cfg.localShare = 1.0;
    const auto examples = s.value()->examples(0, 12, cfg);
    train::LanguageBatchOptions o;
    o.verdict = text::verdictTokens(*tok.value());
    auto batch = train::makeLanguageBatch(*m.value(), *tok.value(), examples, o);
    QVERIFY2(batch.ok(), batch.ok() ? "" : batch.message().c_str());
    const auto& targets = batch->attentionTargets;
    QVERIFY2(targets.size() >= 4, QByteArray::number(int(targets.size())));
    for (const auto& t : targets) {
      const auto& ex = examples[size_t(t.row)];
      QVERIFY(ex.truthA.local);
      // Each query predicts a token of a word that names the local distortion's aspect.
      std::string words;
      for (int64_t q : t.queries) {
        QVERIFY(q > t.firstCell + t.cells);  // in the answer, after the image
        words += tok.value()->pieceBytes(int32_t(batch->labels[t.row][q].item<int64_t>()));
      }
      bool named = false;
      for (const auto& [b, e] : data::aspectWordRanges(ex.truthA.localAspect, ex.answer))
        named = named || words.find(ex.answer.substr(b, 3)) != std::string::npos;
      QVERIFY2(named, (words + " | " + ex.answer).c_str());
      // 96 px at 16 px per cell: a 6 x 6 grid (the model's limit is 8); the inside cells
      // are those the region overlaps.
      QCOMPARE(t.cells, int64_t(36));
      const int* r = ex.truthA.region;
      for (int64_t c = 0; c < t.cells; ++c) {
        const int x = int(c % 6) * 16, y = int(c / 6) * 16;
        const bool in = x < r[0] + r[2] && x + 16 > r[0] && y < r[1] + r[3] && y + 16 > r[1];
        QCOMPARE(t.inside[size_t(c)], in ? 1.f : 0.f);
      }
    }
    // Attention probabilities put all on the region, then all outside it.
    const int64_t B = batch->embeds.size(0), T = batch->embeds.size(1);
    auto allOn = [&](bool inside) {
      at::Tensor p = at::zeros({B, 2, T, T});
      for (const auto& t : targets)
        for (int64_t q : t.queries)
          for (int64_t c = 0; c < t.cells; ++c)
            if ((t.inside[size_t(c)] > 0) == inside) p[t.row].select(1, q).select(1, t.firstCell + c).fill_(1.0);
      return std::vector<at::Tensor>{p, p};
    };
    const double onRegion = train::attentionLoss(allOn(true), batch.value()).item<double>();
    const double offRegion = train::attentionLoss(allOn(false), batch.value()).item<double>();
    QVERIFY2(onRegion < 1e-5, QByteArray::number(onRegion));
    QVERIFY2(offRegion > 10, QByteArray::number(offRegion));
    // On the tiny model's real attention: finite, with a gradient into the decoder.
    at::Tensor* q = nullptr;
    for (auto& [name, t] : m.value()->mutableDecoder().namedParameters("", "lm_head.weight"))
      if (name == "layers.0.self_attn.q_proj.weight") q = t;
    QVERIFY(q);
    q->requires_grad_(true);
    model::AttentionCapture capture;
    capture.layers = {0};
    m.value()->decoder().forward(batch->embeds, nullptr, &capture);
    const at::Tensor loss = train::attentionLoss(capture.probs, batch.value());
    QVERIFY(std::isfinite(loss.item<double>()) && loss.item<double>() > 0);
    loss.backward();
    QVERIFY(q->grad().defined() && q->grad().abs().max().item<double>() > 0);
    // Comparisons have no targets; nor does a description without a local distortion.
    cfg.localShare = 0.0;
    auto plain = train::makeLanguageBatch(*m.value(), *tok.value(), s.value()->examples(0, 6, cfg), o);
    QVERIFY(plain.ok());
    QVERIFY(plain->attentionTargets.empty());
    QVERIFY(!train::attentionLoss(allOn(true), plain.value()).defined());
  }

  // Data-parallel: with the counts summed over both halves, the halves' losses (and
  // their gradients) add up to the whole batch's, whatever each half's share of tokens.
  void lossSharesAddUpToTheWholeBatch() {
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY(tok.ok());
    const auto v = text::verdictTokens(*tok.value());
    if (v.a < 0) QSKIP("this tokenizer cannot tell Image A from Image B");
    QTemporaryDir dir;
    auto m = freshTinyModel(dir, *tok.value());
    QVERIFY2(m.ok(), m.ok() ? "" : m.message().c_str());
    auto s = train::SampleStream::open(syntheticStream(2));
    data::SamplerConfig cfg;
    cfg.patchSizes = {64};
    const auto examples = s.value()->examples(0, 8, cfg);
    train::LanguageBatchOptions o;
    o.verdict = v;
    o.tokenGridChoices = {8, 4, 2};
    const std::vector<data::TrainingExample> first(examples.begin(), examples.begin() + 3),
        second(examples.begin() + 3, examples.end());
    auto whole = train::makeLanguageBatch(*m.value(), *tok.value(), examples, o);
    auto a = train::makeLanguageBatch(*m.value(), *tok.value(), first, o);
    auto b = train::makeLanguageBatch(*m.value(), *tok.value(), second, o);
    QVERIFY(whole.ok() && a.ok() && b.ok());
    const auto ca = train::lossCounts(a.value()), cb = train::lossCounts(b.value());
    QVERIFY(ca.answerWeight != cb.answerWeight);  // unequal shares: a mean of means would be wrong
    const train::LossCounts both{ca.answerWeight + cb.answerWeight, ca.letters + cb.letters, ca.verdicts + cb.verdicts,
                                 ca.distilled + cb.distilled};
    const train::LanguageLossWeights w{1, 1, 1};
    at::Tensor* head = nullptr;
    for (auto& [name, t] : m.value()->mutableDecoder().namedParameters("", "lm_head.weight"))
      if (name == "lm_head.weight") head = t;
    QVERIFY(head);
    head->requires_grad_(true);
    auto lossOf = [&](const train::LanguageBatch& batch, const train::LossCounts* counts) {
      const at::Tensor hidden = m.value()->decoder().forward(batch.embeds);
      return train::languageLosses(m.value()->decoder(), hidden, batch, v, w, counts).total;
    };
    const at::Tensor full = lossOf(whole.value(), nullptr);
    full.backward();
    const at::Tensor fullGrad = head->grad().clone();
    head->mutable_grad().zero_();
    const at::Tensor la = lossOf(a.value(), &both), lb = lossOf(b.value(), &both);
    (la + lb).backward();
    const at::Tensor halvesGrad = head->grad();
    QVERIFY2(std::abs((la + lb).item<double>() - full.item<double>()) < 1e-5,
             QByteArray::number((la + lb).item<double>()) + " vs " + QByteArray::number(full.item<double>()));
    QVERIFY((halvesGrad - fullGrad).abs().max().item<double>() < 1e-6);
    QVERIFY(fullGrad.abs().max().item<double>() > 1e-6);
  }

  void scheduleAndClipping() {
    QCOMPARE(train::scheduledLearningRate(0, 100, 10, 1.0, 0.1), 0.1);
    QCOMPARE(train::scheduledLearningRate(9, 100, 10, 1.0, 0.1), 1.0);
    QVERIFY(std::abs(train::scheduledLearningRate(100, 100, 10, 1.0, 0.1) - 0.1) < 1e-12);
    at::Tensor w = at::ones({3});
    train::AdamW opt;
    opt.add("w", &w, false);
    (w * at::tensor({30.0f, 40.0f, 0.0f})).sum().backward();
    QCOMPARE(opt.clipGradients(1.0), 50.0);
    QVERIFY(std::abs(w.grad().norm().item<double>() - 1.0) < 1e-6);
    opt.step(0.1);
    QVERIFY(w[0].item<float>() < 1.0f && w[2].item<float>() == 1.0f);
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/opt.safetensors";
    QVERIFY(opt.save(path).ok());
    at::Tensor w2 = at::ones({3});
    train::AdamW again;
    again.add("w", &w2, false);
    QVERIFY(again.load(path).ok());
    QCOMPARE(again.steps(), 1);
  }

  void pairScaleCalibrates() {
    // Truth drawn from sigmoid(2 d): the fitted scale comes back near 2.
    std::vector<std::pair<double, double>> pairs;
    at::Generator gen = at::detail::createCPUGenerator(3);
    const at::Tensor d = at::randn({20000}, gen), u = at::rand({20000}, gen);
    for (int64_t i = 0; i < d.size(0); ++i) {
      const double p = 1.0 / (1.0 + std::exp(-2.0 * d[i].item<double>()));
      pairs.emplace_back(d[i].item<double>(), u[i].item<double>() < p ? 1.0 : 0.0);
    }
    const double k = train::fitPairScale(pairs);
    qInfo("fitted pair scale %.3f (truth 2)", k);
    QVERIFY(std::abs(k - 2.0) < 0.15);
  }
  // depictqa-train --mode encoder --average-from: model/ is the mean of the weights at the
  // evaluation steps from that step on (here 2, 4 and 6 of 6), last/ the last step's; a run
  // stopped at step 4 and resumed ends with the same average, and is not resumed with another.
  void tailAverageIsTheMeanOfTheRunsSteps() {
    QTemporaryDir root;
    const std::string base = root.path().toStdString();
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY2(tok.ok(), tok.ok() ? "" : tok.message().c_str());
    QVERIFY(train::writeInitialModel(tinyShape(tok.value()->vocabSize()), base + "/init", 1).ok());
    QVERIFY(
        QFile::copy(QString::fromStdString(tokenizerPath()), QString::fromStdString(base + "/init/tokenizer.model")));
    auto options = [&](const std::string& out, int averageFrom, int stopAt) {
      train::EncoderStageOptions o;
      o.stream = syntheticStream(1);
      o.initFrom = base + "/init";
      o.outputDirectory = base + "/" + out;
      o.patchSizes = {64};
      o.patchWeights = {1};
      o.viewsPerStep = 8;
      o.steps = 6;
      o.stopAt = stopAt;
      o.warmupSteps = 1;
      o.evalEvery = 2;
      o.logEvery = 1;
      o.threads = 1;
      o.averageFrom = averageFrom;
      return o;
    };
    auto run = [&](const std::string& out, int averageFrom, int stopAt) {
      auto status = train::trainEncoderStage(options(out, averageFrom, stopAt), nullptr);
      QVERIFY2(status.ok(), status.ok() ? "" : status.message().c_str());
    };
    run("averaged", 2, 0);
    run("to2", 0, 2);
    run("to4", 0, 4);
    run("resumed", 2, 4);
    run("resumed", 2, 0);
    if (QTest::currentTestFailed()) return;
    // Resumed with another --average-from, the checkpoint's average would be the wrong one.
    auto other = train::trainEncoderStage(options("resumed", 4, 0), nullptr);
    QVERIFY(!other.ok());
    QVERIFY2(other.message().find("written with --average-from 2") != std::string::npos, other.message().c_str());
    auto mean = train::averageModelDirectories({base + "/to2/model", base + "/to4/model", base + "/averaged/last"},
                                               base + "/expected");
    QVERIFY2(mean.ok(), mean.ok() ? "" : mean.message().c_str());
    auto load = [&](const std::string& dir) {
      std::map<std::string, at::Tensor> out;
      auto m = model::MultimodalModel::load(base + "/" + dir, {});
      if (m)
        for (auto& [name, t] : m.value()->namedParameters()) out[name] = t->clone();
      return out;
    };
    const auto expected = load("expected"), averaged = load("averaged/model"), resumed = load("resumed/model"),
               last = load("averaged/last"), at4 = load("to4/model");
    QVERIFY(!expected.empty());
    int encoderWeightsMoved = 0;
    for (const auto& [name, e] : expected) {
      QVERIFY2(averaged.count(name) && resumed.count(name) && last.count(name), name.c_str());
      QVERIFY2(at::allclose(averaged.at(name), e, 1e-5, 1e-6), name.c_str());
      QVERIFY2(at::allclose(resumed.at(name), e, 1e-5, 1e-6), name.c_str());
      if (name.rfind("vision_tower.", 0) != 0)
        QVERIFY2(at::equal(averaged.at(name), last.at(name)), name.c_str());  // the decoder is not trained here
      else if (!at::allclose(last.at(name), at4.at(name), 1e-5, 1e-6))
        ++encoderWeightsMoved;
    }
    // The steps really differ, so the average is not the last step's weights under another name.
    QVERIFY2(encoderWeightsMoved > 10, QByteArray::number(encoderWeightsMoved).constData());
  }

  // Two runs of one model averaged weight by weight; a model of another shape, a
  // directory given twice, a lone directory or another tokenizer are refused with a
  // message naming what differs.
  void averagedModelIsTheMeanOfItsRuns() {
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY2(tok.ok(), tok.ok() ? "" : tok.message().c_str());
    QTemporaryDir root;
    const std::string base = root.path().toStdString();
    auto model = [&](const std::string& name, uint64_t seed, int vocab) {
      const std::string dir = base + "/" + name;
      QVERIFY(train::writeInitialModel(tinyShape(vocab), dir, seed).ok());
      QVERIFY(QFile::copy(QString::fromStdString(tokenizerPath()), QString::fromStdString(dir + "/tokenizer.model")));
    };
    model("one", 1, tok.value()->vocabSize());
    model("two", 2, tok.value()->vocabSize());
    model("wider", 1, tok.value()->vocabSize() + 8);
    auto status = train::averageModelDirectories({base + "/one", base + "/two"}, base + "/mean");
    QVERIFY2(status.ok(), status.ok() ? "" : status.message().c_str());
    auto one = io::SafetensorsFile::open(base + "/one/model.safetensors");
    auto two = io::SafetensorsFile::open(base + "/two/model.safetensors");
    auto mean = io::SafetensorsFile::open(base + "/mean/model.safetensors");
    QVERIFY(one.ok() && two.ok() && mean.ok());
    QCOMPARE(mean.value()->tensors().size(), one.value()->tensors().size());
    int differing = 0;
    for (const auto& [name, entry] : one.value()->tensors()) {
      const auto* m = mean.value()->find(name);
      const auto* t = two.value()->find(name);
      QVERIFY2(m && t, name.c_str());
      QCOMPARE(m->shape, entry.shape);
      const auto a = at::from_blob(const_cast<void*>(one.value()->data(entry)), entry.shape, at::kFloat);
      const auto b = at::from_blob(const_cast<void*>(two.value()->data(*t)), t->shape, at::kFloat);
      const auto c = at::from_blob(const_cast<void*>(mean.value()->data(*m)), m->shape, at::kFloat);
      QVERIFY2(at::allclose(c, (a + b) / 2, 1e-6, 1e-7), name.c_str());
      differing += !at::equal(a, b);
    }
    QVERIFY(differing > 10);  // the two runs really differ, so the check above means something
    auto model2 = model::MultimodalModel::load(base + "/mean", {});
    QVERIFY2(model2.ok(), model2.ok() ? "" : model2.message().c_str());

    auto shapes = train::averageModelDirectories({base + "/one", base + "/wider"}, base + "/bad");
    QVERIFY(!shapes.ok());
    QVERIFY2(shapes.message().find("wider/config.json differs") != std::string::npos, shapes.message().c_str());
    auto twice = train::averageModelDirectories({base + "/one", base + "/one"}, base + "/bad");
    QVERIFY2(!twice.ok() && twice.message().find("given twice") != std::string::npos,
             twice.ok() ? "" : twice.message().c_str());
    auto lone = train::averageModelDirectories({base + "/one"}, base + "/bad");
    QVERIFY(!lone.ok());
    QVERIFY2(lone.message().find("two or more") != std::string::npos, lone.message().c_str());
    QFile other(QString::fromStdString(base + "/two/tokenizer.model"));
    QVERIFY(other.open(QIODevice::WriteOnly | QIODevice::Truncate));
    other.write("another tokenizer");
    other.close();
    auto tokenizers = train::averageModelDirectories({base + "/one", base + "/two"}, base + "/bad");
    QVERIFY(!tokenizers.ok());
    QVERIFY2(tokenizers.message().find("different tokenizers") != std::string::npos, tokenizers.message().c_str());
    QVERIFY(!QFileInfo::exists(QString::fromStdString(base + "/bad")));
  }
};

QTEST_GUILESS_MAIN(TrainingTest)
#include "test_training.moc"
