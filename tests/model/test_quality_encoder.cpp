// The quality encoder (core/model/quality_encoder.h, quality_input.h, visual_tokens.h)
// against the design probe's PyTorch network: tests/data/quality_encoder was written by
// scripts/make_quality_encoder_fixture.py (Debian python3-torch), which implements the
// input features, convolutions, pooling and heads on its own. A perturbed weight must
// break parity; tiles must reproduce the whole-image feature map; the token grid, the
// quality token and the errors on mismatched sizes are checked here too.
#include <QtTest/QtTest>
#include <QTemporaryDir>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <opencv2/core.hpp>

#include "core/model/feature_map_cache.h"
#include "core/model/multimodal.h"
#include "core/model/quality_input.h"
#include "core/model/visual_tokens.h"
#include "tensor_support.h"

using namespace dqa;

namespace {

std::string fixture() { return test::sourceDir() + "/tests/data/quality_encoder"; }

at::Tensor expected(const std::string& key) {
  auto store = model::WeightStore::open({fixture() + "/expected.safetensors"});
  if (!store) qFatal("%s", store.message().c_str());
  auto t = store->get(key, at::kFloat, at::kCPU);
  if (!t) qFatal("%s", t.message().c_str());
  return t.value();
}

std::shared_ptr<model::MultimodalModel> load(const std::string& dir) {
  auto m = model::MultimodalModel::load(dir, {});
  if (!m) qFatal("%s", m.message().c_str());
  return m.value();
}

// The fixture model's heads on image `a` judged with the reference against image `b`.
model::QualityHeads fixtureHeads(const model::MultimodalModel& m, const char* a, const char* b) {
  const auto& enc = m.qualityEncoder();
  model::QualityView view{expected(a), expected("image.reference"), expected(b)};
  return enc.heads(model::QualityEncoder::pool(enc.featureMap(model::qualityEncoderInput(enc.config(), view))));
}

// [1, 3, H, W] in [0,1] -> RGB CV_8UC3 (the fixture's images are whole 8-bit values).
cv::Mat toMat(const at::Tensor& t) {
  at::Tensor hwc = (t[0].permute({1, 2, 0}) * 255.0).round().to(at::kByte).contiguous();
  return cv::Mat(int(hwc.size(0)), int(hwc.size(1)), CV_8UC3, hwc.data_ptr()).clone();
}

struct ViewCase {
  const char* name;
  bool reference, other;
  bool selfReference;  // the reference judged against itself
};

constexpr ViewCase kViews[] = {{"a_ref_other", true, true, false},
                               {"a_other", false, true, false},
                               {"a_alone", false, false, false},
                               {"reference_self", true, false, true}};

// The fixture's reference, A and B, as the engine passes them to encodeImages.
model::RoleImages fixtureImages() {
  return {{text::ImageRole::Reference, {toMat(expected("image.reference"))}},
          {text::ImageRole::A, {toMat(expected("image.a"))}},
          {text::ImageRole::B, {toMat(expected("image.b"))}}};
}

double worstDifference(const model::MultimodalModel& m, const ViewCase& v, bool print) {
  const at::Tensor ref = expected("image.reference"), a = expected("image.a"), b = expected("image.b");
  model::QualityView view;
  view.image = v.selfReference ? ref : a;
  if (v.reference) view.reference = ref;
  if (v.other) view.other = b;
  const auto& enc = m.qualityEncoder();
  const at::Tensor input = model::qualityEncoderInput(enc.config(), view);
  const at::Tensor map = enc.featureMap(input);
  const at::Tensor pooled = model::QualityEncoder::pool(map);
  const model::QualityHeads h = enc.heads(pooled);
  const std::string n = v.name;
  double worst = 0;
  auto check = [&](const char* what, const at::Tensor& got, const at::Tensor& want) {
    const double d = test::maxAbsDiff(got, want);
    if (print) qInfo("%s.%s max |diff| %.2e (scale %.2f)", v.name, what, d, want.abs().max().item<double>());
    worst = std::max(worst, d);
  };
  if (n == "a_ref_other" || n == "a_alone") check("input", input[0], expected(n + ".input"));
  check("map", map[0], expected(n + ".map"));
  check("pooled", pooled[0], expected(n + ".pooled"));
  check("score", h.score, expected(n + ".score"));
  check("aspects", h.aspects[0], expected(n + ".aspects"));
  check("types", h.types[0], expected(n + ".types"));
  check("aspect_scores", h.aspectScores[0], expected(n + ".aspect_scores"));
  return worst;
}

}  // namespace

class QualityEncoderTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void configDescribesTheEncoder() {
    auto m = load(fixture());
    QVERIFY(m->hasQualityEncoder());
    QVERIFY(!m->hasClipVision());
    const auto& c = m->config().vision;
    QCOMPARE(c.kind, io::VisionKind::QualityConv);
    QCOMPARE(c.numChannels, 43);
    QCOMPARE(int(c.distortionTypes.size()), 3);
    QCOMPARE(c.pairScale, 2.5);
    QVERIFY(c.aspectScores);
    QVERIFY(m->projector().hasQualityToken());
  }

  void parityWithTheProbe() {
    c10::InferenceMode guard;
    auto m = load(fixture());
    for (const auto& v : kViews) QVERIFY2(worstDifference(*m, v, true) <= 1e-4, v.name);
  }

  void perturbedWeightBreaksParity() {
    c10::InferenceMode guard;
    QTemporaryDir dir;
    const std::string copy = dir.path().toStdString() + "/perturbed";
    test::writePerturbedCopy(fixture(), copy, "vision_tower.stages.2.transition.bias", 0.5f);
    auto m = load(copy);
    const double d = worstDifference(*m, kViews[0], false);
    qInfo("perturbed: worst difference %.3f", d);
    QVERIFY(d > 1e-2);
  }

  void unknownInputFeatureIsAClearError() {
    auto cfg = io::parseModelConfig(R"({"model_type":"llava","vision_config":{"model_type":"depictqa_quality_encoder",
      "stage_widths":[8,8,8,8],"stage_blocks":[1,1,1,1],"input_features":["image","sharpness"],
      "distortion_types":["none"]},"text_config":{"vocab_size":32,"hidden_size":8,"intermediate_size":16,
      "num_hidden_layers":1,"num_attention_heads":2}})");
    QVERIFY(!cfg);
    QVERIFY2(cfg.message().find("sharpness") != std::string::npos, cfg.message().c_str());
    QVERIFY2(cfg.message().find("ref_gms") != std::string::npos, cfg.message().c_str());
  }

  void tilesReproduceTheWholeMap() {
    c10::InferenceMode guard;
    auto m = load(fixture());
    at::Generator gen = at::detail::createCPUGenerator(5);
    const at::Tensor ref = at::rand({1, 3, 200, 264}, gen);
    const at::Tensor a = (ref + 0.05 * at::randn({1, 3, 200, 264}, gen)).clamp(0, 1);
    const model::QualityView view{a, ref, at::Tensor()};
    model::EncodeOptions whole, tiled;
    tiled.tileSide = 64;
    tiled.tileMargin = 128;
    const at::Tensor w = model::qualityFeatureMap(m->qualityEncoder(), view, whole);
    const at::Tensor t = model::qualityFeatureMap(m->qualityEncoder(), view, tiled);
    QCOMPARE(w.sizes().vec(), (std::vector<int64_t>{1, 16, 13, 17}));  // 200x264 padded to 208x272
    const double d = test::maxAbsDiff(w, t);
    qInfo("tiled vs whole max |diff| %.2e (scale %.2f)", d, w.abs().max().item<double>());
    QVERIFY(d <= 1e-3);
  }

  // A against B and B against A computed together (shared per-image work, one batch,
  // tiled and not) give each view's own map: a cache mix-up (A's pyramid used for B)
  // or a batch split in the wrong place would show.
  void viewsTogetherMatchEachAlone() {
    c10::InferenceMode guard;
    auto m = load(fixture());
    at::Generator gen = at::detail::createCPUGenerator(7);
    const at::Tensor ref = at::rand({1, 3, 200, 264}, gen);
    const at::Tensor a = (ref + 0.05 * at::randn({1, 3, 200, 264}, gen)).clamp(0, 1);
    const at::Tensor b = at::avg_pool2d(at::replication_pad2d(ref, {2, 2, 2, 2}), {5, 5}, {1, 1});  // blurred
    const model::QualityView viewA{a, ref, b}, viewB{b, ref, a};
    model::EncodeOptions tiled;
    tiled.tileSide = 64;
    tiled.tileMargin = 128;
    for (const model::EncodeOptions& o : {model::EncodeOptions{}, tiled}) {
      const auto& enc = m->qualityEncoder();
      const std::vector<at::Tensor> both = model::qualityFeatureMaps(enc, {viewA, viewB}, o);
      QCOMPARE(int(both.size()), 2);
      const at::Tensor aloneA = model::qualityFeatureMap(enc, viewA, o),
                       aloneB = model::qualityFeatureMap(enc, viewB, o);
      const double scale = aloneA.abs().max().item<double>();
      qInfo("A: batched vs alone max |diff| %.2e, B: %.2e (scale %.2f)", test::maxAbsDiff(both[0], aloneA),
            test::maxAbsDiff(both[1], aloneB), scale);
      QVERIFY(test::maxAbsDiff(both[0], aloneA) <= 1e-6 * scale);
      QVERIFY(test::maxAbsDiff(both[1], aloneB) <= 1e-6 * scale);
      QVERIFY(test::maxAbsDiff(aloneA, aloneB) > 1e-2);  // the two views do differ
    }
  }

  void tokensQualityTokenFirstThenPooledGrid() {
    c10::InferenceMode guard;
    auto m = load(fixture());
    const model::RoleImages images = fixtureImages();
    auto encoded = model::encodeImages(*m, images);
    QVERIFY2(encoded.ok(), encoded.ok() ? "" : encoded.message().c_str());
    for (const auto& [role, e] : encoded.value()) {
      // 48x64 -> 3x4 cells of 16 px; at most 2 per side -> pooled by 2 -> 2x2, plus the quality token.
      QCOMPARE(e.gridHeight, 2);
      QCOMPARE(e.gridWidth, 2);
      QCOMPARE(e.cellSize, 32);
      QVERIFY(e.hasClassToken);
      QCOMPARE(e.tokens.sizes().vec(), (std::vector<int64_t>{1, 5, 8}));
      QCOMPARE(model::visualTokenCount(m->config(), 64, 48, {}), int64_t(5));
      QVERIFY(e.hasHeads);
    }
    // The engine's views are the fixture's: A against the reference and B.
    // (cv::Mat -> float conversion may differ from the fixture's by one ulp: relative tolerance.)
    auto close = [](double got, double want) { return std::abs(got - want) <= 1e-5 * std::max(1.0, std::abs(want)); };
    const auto& ea = encoded->at(text::ImageRole::A);
    qInfo("A's score through encodeImages %.6f, the probe's %.6f", ea.score[0].item<double>(),
          expected("a_ref_other.score")[0].item<double>());
    QVERIFY(close(ea.score[0].item<double>(), expected("a_ref_other.score")[0].item<double>()));
    const auto& er = encoded->at(text::ImageRole::Reference);
    QVERIFY(close(er.score[0].item<double>(), expected("reference_self.score")[0].item<double>()));
    // Without B, A is seen alone against the reference: a different quality token.
    auto single = model::encodeImages(*m, {{text::ImageRole::Reference, images.at(text::ImageRole::Reference)},
                                           {text::ImageRole::A, images.at(text::ImageRole::A)}});
    QVERIFY(single.ok());
    QVERIFY(test::maxAbsDiff(single->at(text::ImageRole::A).tokens.select(1, 0), ea.tokens.select(1, 0)) > 1e-6);
  }

  void cachedMapsAnswerAsTheEncoderDoes() {
    c10::InferenceMode guard;
    auto m = load(fixture());
    const model::RoleImages images = fixtureImages();
    const cv::Mat &ref = images.at(text::ImageRole::Reference)[0], &a = images.at(text::ImageRole::A)[0],
                  &b = images.at(text::ImageRole::B)[0];
    auto plain = model::encodeImages(*m, images);
    QVERIFY(plain.ok());
    model::FeatureMapCache cache;
    model::EncodeOptions cached;
    cached.featureMapCache = &cache;
    auto first = model::encodeImages(*m, images, cached);
    QVERIFY(first.ok());
    QCOMPARE(cache.size(), size_t(3));
    QCOMPARE(cache.hits(), int64_t(0));
    // The same pixels in other buffers: every view from the cache, the same tokens.
    model::RoleImages copies{{text::ImageRole::Reference, {ref.clone()}},
                             {text::ImageRole::A, {a.clone()}},
                             {text::ImageRole::B, {b.clone()}}};
    auto second = model::encodeImages(*m, copies, cached);
    QVERIFY(second.ok());
    QCOMPARE(cache.hits(), int64_t(3));
    for (const auto& [role, e] : plain.value()) {
      QCOMPARE(test::maxAbsDiff(first->at(role).tokens, e.tokens), 0.0);
      QCOMPARE(test::maxAbsDiff(second->at(role).tokens, e.tokens), 0.0);
      QCOMPARE(second->at(role).contentWidth, e.contentWidth);
    }
    // One pixel of B changed: A's view (which sees B) and B's are encoded again, the
    // reference's is not; the tokens are those of the changed images.
    cv::Mat changed = b.clone();
    changed.at<cv::Vec3b>(10, 20) = cv::Vec3b(255 - changed.at<cv::Vec3b>(10, 20)[0], 0, 0);
    model::RoleImages edited{
        {text::ImageRole::Reference, {ref}}, {text::ImageRole::A, {a}}, {text::ImageRole::B, {changed}}};
    auto third = model::encodeImages(*m, edited, cached);
    auto truth = model::encodeImages(*m, edited);
    QVERIFY(third.ok() && truth.ok());
    QCOMPARE(cache.hits(), int64_t(4));
    for (const auto& [role, e] : truth.value()) QCOMPARE(test::maxAbsDiff(third->at(role).tokens, e.tokens), 0.0);
    QVERIFY(test::maxAbsDiff(third->at(text::ImageRole::B).tokens, plain->at(text::ImageRole::B).tokens) > 0);
    // Only the views used most recently are kept: the reference's, found again just now,
    // stayed; of the first A and B, none is left.
    QCOMPARE(cache.size(), size_t(3));
    auto fourth = model::encodeImages(*m, images, cached);
    QVERIFY(fourth.ok());
    QCOMPARE(cache.hits(), int64_t(5));
    // The hash sees content, size and type, not the buffer.
    QCOMPARE(model::pixelHash(a), model::pixelHash(a.clone()));
    QVERIFY(model::pixelHash(a) != model::pixelHash(changed));
    QVERIFY(model::pixelHash(a(cv::Rect(0, 0, 32, 16))) != model::pixelHash(a(cv::Rect(0, 0, 16, 32))));
    QCOMPARE(model::pixelHash(cv::Mat()), uint64_t(0));
  }

  void preferenceWeighsTheAspectScores() {
    c10::InferenceMode guard;
    auto m = load(fixture());
    const auto& enc = m->qualityEncoder();
    const model::QualityHeads h = fixtureHeads(*m, "image.a", "image.b");
    // All weights 1: the product of the aspects' quality fractions.
    const at::Tensor s = h.aspectScores[0];
    double product = 1;
    for (int a = 0; a < 5; ++a) product *= std::clamp((s[a].item<double>() + 2.0) / 3.6, 1e-3, 1.0);
    QVERIFY(std::abs(model::weightedScore(h, {1, 1, 1, 1, 1})[0].item<double>() - (product * 3.6 - 2.0)) < 1e-5);
    // "I can't tolerate noise": the noise aspect counts three times.
    const double noise = std::clamp((s[2].item<double>() + 2.0) / 3.6, 1e-3, 1.0);
    QVERIFY(std::abs(model::weightedScore(h, {1, 1, 3, 1, 1})[0].item<double>() -
                     (product * noise * noise * 3.6 - 2.0)) < 1e-5);
    // The verdict's score: the score head's, moved by what the preference changes.
    QVERIFY(test::maxAbsDiff(model::preferenceWeighedScore(h, {1, 1, 1, 1, 1}), h.score) == 0);
    const double moved = h.score[0].item<double>() + model::weightedScore(h, {1, 1, 3, 1, 1})[0].item<double>() -
                         model::weightedScore(h, {1, 1, 1, 1, 1})[0].item<double>();
    QVERIFY(std::abs(model::preferenceWeighedScore(h, {1, 1, 3, 1, 1})[0].item<double>() - moved) < 1e-5);
    // The quality token changes with the preference only through its comparison features.
    const at::Tensor plain = model::qualityTokenFeatures(h, &h, {1, 1, 1, 1, 1});
    const at::Tensor weighted = model::qualityTokenFeatures(h, &h, {1, 1, 3, 1, 1});
    QCOMPARE(plain.size(1), model::qualityTokenFeatureCount(enc.config()));
    QCOMPARE(weighted[0][plain.size(1) - 1].item<double>(), 1.0);  // "a preference was stated"
    QCOMPARE(plain[0][plain.size(1) - 1].item<double>(), 0.0);
    // Against another image, the first comparison feature (the one the verdict follows) is
    // the preference-weighed score difference (x8), the plain one without a preference.
    const model::QualityHeads o = fixtureHeads(*m, "image.b", "image.a");
    const int64_t first = plain.size(1) - 10;  // the comparison features with aspect scores
    const std::array<double, 5> noiseWeights{1, 1, 3, 1, 1};
    const double plainDifference = (h.score - o.score)[0].item<double>();
    const double weighedDifference =
        (model::preferenceWeighedScore(h, noiseWeights) - model::preferenceWeighedScore(o, noiseWeights))[0]
            .item<double>();
    QVERIFY(std::abs(plainDifference - weighedDifference) > 1e-4);  // the preference changes the comparison
    const at::Tensor vsPlain = model::qualityTokenFeatures(h, &o, {1, 1, 1, 1, 1});
    const at::Tensor vsWeighed = model::qualityTokenFeatures(h, &o, noiseWeights);
    QVERIFY(std::abs(vsPlain[0][first].item<double>() - 8 * plainDifference) < 1e-4);
    QVERIFY(std::abs(vsWeighed[0][first].item<double>() - 8 * weighedDifference) < 1e-4);
  }

  // Under CPU autocast (depictqa-train --bf16) the heads come out in bfloat16; a stated
  // preference must still weigh them (it threw "tensor_cpu not implemented for
  // 'BFloat16'", so a decoder stage with --bf16 stopped at its first step).
  void preferenceWeighsBfloat16Heads() {
    c10::InferenceMode guard;
    auto m = load(fixture());
    const model::QualityHeads h = fixtureHeads(*m, "image.a", "image.b");
    model::QualityHeads low = h;
    low.score = h.score.to(at::kBFloat16);
    low.aspects = h.aspects.to(at::kBFloat16);
    low.types = h.types.to(at::kBFloat16);
    low.hidden = h.hidden.to(at::kBFloat16);
    low.aspectScores = h.aspectScores.to(at::kBFloat16);
    const std::array<double, 5> noise{1, 1, 3, 1, 1};
    const at::Tensor weighed = model::preferenceWeighedScore(low, noise);
    QCOMPARE(weighed.scalar_type(), at::kBFloat16);
    // bfloat16 keeps 8 bits of mantissa: the same score to about 1% of its size.
    const double exact = model::preferenceWeighedScore(h, noise)[0].item<double>();
    QVERIFY2(std::abs(weighed[0].item<double>() - exact) < 0.02 * std::max(1.0, std::abs(exact)),
             qPrintable(QString("bf16 %1 against float32 %2").arg(weighed[0].item<double>()).arg(exact)));
    const at::Tensor features = model::qualityTokenFeatures(low, &low, noise);
    QCOMPARE(features.size(1), model::qualityTokenFeatureCount(m->qualityEncoder().config()));
  }

  void bothImagesTokensSayAMinusB() {
    c10::InferenceMode guard;
    auto m = load(fixture());
    const auto& enc = m->qualityEncoder();
    auto headsOf = [&](const at::Tensor& image, const at::Tensor& other) {
      model::QualityView view{image, expected("image.reference"), other};
      return enc.heads(model::QualityEncoder::pool(enc.featureMap(model::qualityEncoderInput(enc.config(), view))));
    };
    const model::QualityHeads ha = headsOf(expected("image.a"), expected("image.b"));
    const model::QualityHeads hb = headsOf(expected("image.b"), expected("image.a"));
    // The comparison features (the last 10 with aspect scores): A's with sign +1 equal B's with -1.
    const int64_t n = model::qualityTokenFeatureCount(enc.config()), pair = 10;
    const at::Tensor fa = model::qualityTokenFeatures(ha, &hb, {1, 1, 1, 1, 1}, 1.0).narrow(1, n - pair, pair);
    const at::Tensor fb = model::qualityTokenFeatures(hb, &ha, {1, 1, 1, 1, 1}, -1.0).narrow(1, n - pair, pair);
    QVERIFY(std::abs((ha.score - hb.score)[0].item<double>()) > 1e-4);  // the fixture's A and B differ
    QVERIFY(test::maxAbsDiff(fa, fb) < 1e-5);
    QVERIFY(test::maxAbsDiff(fa, model::qualityTokenFeatures(hb, &ha, {1, 1, 1, 1, 1}, 1.0).narrow(1, n - pair, pair)) >
            1e-4);
    // Through the engine's path: every spatial token carries its image's quality token.
    const cv::Mat ref = toMat(expected("image.reference")), a = toMat(expected("image.a")),
                  b = toMat(expected("image.b"));
    auto encoded = model::encodeImages(
        *m, {{text::ImageRole::Reference, {ref}}, {text::ImageRole::A, {a}}, {text::ImageRole::B, {b}}});
    QVERIFY(encoded.ok());
    const auto& ea = encoded->at(text::ImageRole::A);
    const at::Tensor quality = ea.tokens.select(1, 0);  // [1, hidden]
    const at::Tensor grid = model::poolTokenGrid(
        enc.featureMap(model::qualityEncoderInput(
            enc.config(), {expected("image.a"), expected("image.reference"), expected("image.b")})),
        2);
    const at::Tensor spatial =
        m->projector()(grid.flatten(2).transpose(1, 2)) + quality.unsqueeze(1);  // [1, 4, hidden]
    QVERIFY(test::maxAbsDiff(ea.tokens.narrow(1, 1, 4), spatial) < 1e-4);
  }

  void poolingFactor() {
    at::Tensor map = at::zeros({1, 4, 375, 250});
    int k = 0;
    const at::Tensor p = model::poolTokenGrid(map, 8, &k);
    QCOMPARE(k, 47);
    QCOMPARE(p.size(2), int64_t(8));
    QCOMPARE(p.size(3), int64_t(6));
    QCOMPARE(model::poolTokenGrid(at::zeros({1, 4, 6, 5}), 8, &k).size(2), int64_t(6));
    QCOMPARE(k, 1);
  }

  // BRISQUE's statistics (the `mscn` channels) against the same computed plainly here, with
  // one 7x7 kernel and tensor ops, with a flat region where the local deviation is zero.
  // One image is split into bands of rows across threads; several are spread over threads
  // whole.
  void sceneStatisticsMatchAPlainComputation() {
    c10::InferenceMode guard;
    const at::Tensor t = at::arange(7, at::kDouble) - 3;
    const at::Tensor g = at::exp(-t * t / (2 * (7.0 / 6.0) * (7.0 / 6.0)));
    const at::Tensor kernel = (g.unsqueeze(1) * g.unsqueeze(0) / (g.sum() * g.sum())).view({1, 1, 7, 7});
    auto blur = [&](const at::Tensor& y) { return at::conv2d(at::replication_pad2d(y, {3, 3, 3, 3}), kernel); };
    auto normalised = [&](const at::Tensor& y) {
      const at::Tensor mu = blur(y);
      return (y - mu) / ((blur(y * y) - mu * mu).abs().sqrt() + 1.0 / 255.0);
    };
    io::VisionConfig config;
    config.qualityInputs = {io::QualityInput::Mscn};
    const int threads = at::get_num_threads();
    for (int64_t n : {1, 3}) {
      at::Generator gen = at::detail::createCPUGenerator(11);
      at::Tensor x = at::rand({n, 3, 200, 264}, gen);
      x.narrow(2, 40, 90).narrow(3, 30, 100).fill_(0.62);  // flat: deviation 0, the 1/255 floor
      at::set_num_threads(3);
      const at::Tensor got = model::qualityEncoderInput(config, {x, at::Tensor(), at::Tensor()});  // [n, 4, H, W]
      at::set_num_threads(threads);

      const at::Tensor y =
          (0.299 * x.narrow(1, 0, 1) + 0.587 * x.narrow(1, 1, 1) + 0.114 * x.narrow(1, 2, 1)).to(at::kDouble);
      const at::Tensor fine = normalised(y);
      const at::Tensor coarse = at::upsample_nearest2d(normalised(at::avg_pool2d(y, {2, 2})), {200, 264});
      const at::Tensor right = at::cat({fine.narrow(3, 1, 263), fine.narrow(3, 263, 1)}, 3);
      const at::Tensor below = at::cat({fine.narrow(2, 1, 199), fine.narrow(2, 199, 1)}, 2);
      const at::Tensor want = at::cat({fine, coarse, fine * right, fine * below}, 1).to(at::kFloat);
      const double d = test::maxAbsDiff(got, want), scale = want.abs().max().item<double>();
      qInfo("%d image(s): scene statistics max |diff| %.2e (scale %.2f)", int(n), d, scale);
      QVERIFY(d <= 1e-6 * scale);
      QCOMPARE(got[0][0][60][60].item<float>(), 0.f);  // the flat region: y equals its local mean
    }
  }

  // The `ref_ssim` channels against SSIM computed plainly here (a 7x7 box kernel by
  // conv2d): 0 for the reference itself, larger with more noise, zeros without a
  // reference.
  void refSsimMatchesAPlainComputation() {
    c10::InferenceMode guard;
    io::VisionConfig config;
    config.qualityInputs = {io::QualityInput::RefSsim};
    config.inputScales = {1.f};
    at::Generator gen = at::detail::createCPUGenerator(5);
    const at::Tensor ref = at::rand({2, 3, 64, 96}, gen);
    const at::Tensor noisy = (ref + 0.05 * at::randn({2, 3, 64, 96}, gen)).clamp(0, 1);
    const at::Tensor got = model::qualityEncoderInput(config, {noisy, ref, at::Tensor()});  // [2, 3, 64, 96]
    const at::Tensor box = at::full({1, 1, 7, 7}, 1.0 / 49.0, at::kDouble);
    auto mean = [&](const at::Tensor& y) { return at::conv2d(at::replication_pad2d(y, {3, 3, 3, 3}), box); };
    auto lumaOf = [](const at::Tensor& x) {
      return (0.299 * x.narrow(1, 0, 1) + 0.587 * x.narrow(1, 1, 1) + 0.114 * x.narrow(1, 2, 1)).to(at::kDouble);
    };
    for (int scale : {1, 2, 4}) {
      const at::Tensor a = at::avg_pool2d(lumaOf(noisy), {scale, scale}),
                       b = at::avg_pool2d(lumaOf(ref), {scale, scale});
      const at::Tensor ma = mean(a), mb = mean(b);
      const at::Tensor va = mean(a * a) - ma * ma, vb = mean(b * b) - mb * mb, cov = mean(a * b) - ma * mb;
      const double c1 = 1e-4, c2 = 9e-4;
      const at::Tensor ssim = (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      const at::Tensor want = at::upsample_nearest2d(1 - ssim, {64, 96}).to(at::kFloat);  // [2, 1, 64, 96]
      const int channel = scale == 1 ? 0 : scale == 2 ? 1 : 2;
      const double d = test::maxAbsDiff(got.narrow(1, channel, 1), want);
      qInfo("scale 1/%d: 1 - SSIM mean %.3f, max |diff| %.2e", scale, want.mean().item<double>(), d);
      QVERIFY(d < 1e-4);
    }
    QVERIFY(model::qualityEncoderInput(config, {ref, ref, at::Tensor()}).abs().max().item<double>() < 1e-5);
    const at::Tensor noisier = (ref + 0.15 * at::randn({2, 3, 64, 96}, gen)).clamp(0, 1);
    QVERIFY(model::qualityEncoderInput(config, {noisier, ref, at::Tensor()}).mean().item<double>() >
            got.mean().item<double>());
    QCOMPARE(model::qualityEncoderInput(config, {noisy, at::Tensor(), at::Tensor()}).abs().max().item<double>(), 0.0);
  }

  void mismatchedSizesAreAClearError() {
    c10::InferenceMode guard;
    auto m = load(fixture());
    const cv::Mat ref(48, 64, CV_8UC3, cv::Scalar(10, 20, 30)), a(40, 64, CV_8UC3, cv::Scalar(1, 2, 3));
    auto encoded = model::encodeImages(*m, {{text::ImageRole::Reference, {ref}}, {text::ImageRole::A, {a}}});
    QVERIFY(!encoded);
    QVERIFY2(encoded.message().find("same size") != std::string::npos, encoded.message().c_str());
    QVERIFY2(encoded.message().find("64x40") != std::string::npos, encoded.message().c_str());
  }

  void sixteenBitInputKeepsItsPrecision() {
    cv::Mat m16(4, 4, CV_16UC3, cv::Scalar(1, 32768, 65535));
    auto t = model::unitPixels(m16);
    QVERIFY(t.ok());
    QCOMPARE(t->sizes().vec(), (std::vector<int64_t>{3, 4, 4}));
    QVERIFY(std::abs(t.value()[0][0][0].item<double>() - 1.0 / 65535.0) < 1e-9);
    QVERIFY(std::abs(t.value()[1][0][0].item<double>() - 32768.0 / 65535.0) < 1e-7);
  }
};

QTEST_GUILESS_MAIN(QualityEncoderTest)
#include "test_quality_encoder.moc"
