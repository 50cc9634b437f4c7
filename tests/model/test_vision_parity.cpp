// CLIP vision encoder, LLaVA fusion and LoRA against Hugging Face transformers/peft.
#include <QtTest/QtTest>
#include <QTemporaryDir>
#include <c10/core/InferenceMode.h>

#include "core/model/fusion.h"
#include "core/model/multimodal.h"
#include "tensor_support.h"

using namespace dqa;

namespace {
std::shared_ptr<model::MultimodalModel> loadModel(const std::string& dir, const model::ModelLoadOptions& o = {}) {
  auto m = model::MultimodalModel::load(dir, o);
  if (!m) qFatal("%s", m.message().c_str());
  return m.value();
}
}  // namespace

class VisionParity : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void clipHiddenStatesAndPooler() {
    c10::InferenceMode guard;
    auto m = loadModel(test::fixtureDir("clip-vision-tiny"));
    QVERIFY(m->hasVision() && !m->hasDecoder());
    at::Tensor px = test::expectedTensor("clip-vision-tiny", "pixel_values");  // [2, 3, 70, 70]
    auto out = m->vision().forward(px, /*keepAll=*/true);
    QCOMPARE(int(out.hiddenStates.size()), 4);
    for (int i = 0; i < 4; ++i) {
      const double d = test::maxAbsDiff(out.hiddenStates[size_t(i)],
                                        test::expectedTensor("clip-vision-tiny", "hidden_state" + std::to_string(i)));
      qInfo("hidden_state%d %.2e", i, d);
      QVERIFY(d <= 1e-4);
    }
    const double dl = test::maxAbsDiff(out.lastHidden, test::expectedTensor("clip-vision-tiny", "last_hidden_state"));
    const double dp = test::maxAbsDiff(out.pooled, test::expectedTensor("clip-vision-tiny", "pooler_output"));
    qInfo("last_hidden_state %.2e pooler %.2e", dl, dp);
    QVERIFY(dl <= 1e-4);
    QVERIFY(dp <= 1e-4);
  }

  void clipInterpolatedPositionEmbeddings() {
    c10::InferenceMode guard;
    auto m = loadModel(test::fixtureDir("clip-vision-tiny"));
    at::Tensor px = test::expectedTensor("clip-vision-tiny", "pixel_values_98");  // [1, 3, 98, 98]
    auto out = m->vision().forward(px);
    const double d =
        test::maxAbsDiff(out.lastHidden, test::expectedTensor("clip-vision-tiny", "last_hidden_state_98_interp"));
    qInfo("98x98 (7x7 grid) interpolated: %.2e", d);
    QCOMPARE(out.lastHidden.size(1), int64_t(50));
    QVERIFY(d <= 1e-4);
  }

  void clipPerturbedWeightFails() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString() + "/clip";
    test::writePerturbedCopy(test::fixtureDir("clip-vision-tiny"), dir, "encoder.layers.2.mlp.fc2.weight", 0.05f);
    c10::InferenceMode guard;
    auto m = loadModel(dir);
    auto out = m->vision().forward(test::expectedTensor("clip-vision-tiny", "pixel_values"));
    QVERIFY(test::maxAbsDiff(out.lastHidden, test::expectedTensor("clip-vision-tiny", "last_hidden_state")) > 1e-4);
  }

  void llavaLogitsWithTwoImages() {
    c10::InferenceMode guard;
    auto m = loadModel(test::fixtureDir("llava-tiny"));
    QVERIFY(m->hasVision() && m->hasDecoder() && m->hasProjector());
    QCOMPARE(m->config().vision.featureLayer, -2);
    at::Tensor ids = test::expectedTensor("llava-tiny", "input_ids");    // [1, 59]
    at::Tensor px = test::expectedTensor("llava-tiny", "pixel_values");  // [2, 3, 70, 70]
    at::Tensor visual = m->imageEmbeddings(px);                          // [2, 25, 64]
    QCOMPARE(visual.size(1), int64_t(25));
    auto embeds = model::mergeImageTokens(m->decoder(), ids, m->config().imageTokenIndex, visual);
    QVERIFY2(embeds.ok(), embeds.ok() ? "" : embeds.message().c_str());
    at::Tensor logits = m->decoder().logits(m->decoder().forward(embeds.value()));
    const double d = test::maxAbsDiff(logits, test::expectedTensor("llava-tiny", "logits"));
    qInfo("llava logits %.2e", d);
    QVERIFY(d <= 1e-4);

    // The chunk path the DepictQA prompt uses must give the same sequence.
    std::vector<model::FusionPiece> pieces(5);
    pieces[0].ids = {6, 7};
    pieces[1].visual = visual[0];
    pieces[1].role = text::ImageRole::A;
    pieces[1].gridHeight = pieces[1].gridWidth = 5;
    pieces[2].ids = {8, 9};
    pieces[3].visual = visual[1];
    pieces[3].role = text::ImageRole::B;
    pieces[3].gridHeight = pieces[3].gridWidth = 5;
    pieces[4].ids = {10, 11, 12, 13};
    auto fused = model::fuse(m->decoder(), 5, pieces);
    QVERIFY(fused.ok());
    QCOMPARE(fused->length(), int64_t(59));
    QCOMPARE(int(fused->spans.size()), 2);
    QCOMPARE(fused->spans[0].start, int64_t(3));
    QCOMPARE(fused->spans[1].start, int64_t(30));
    at::Tensor logits2 = m->decoder().logits(m->decoder().forward(fused->embeds));
    QVERIFY(test::maxAbsDiff(logits2, test::expectedTensor("llava-tiny", "logits")) <= 1e-4);
  }

  void llavaWrongImageTokenCountIsAnError() {
    c10::InferenceMode guard;
    auto m = loadModel(test::fixtureDir("llava-tiny"));
    at::Tensor ids = test::expectedTensor("llava-tiny", "input_ids");
    at::Tensor visual = m->imageEmbeddings(test::expectedTensor("llava-tiny", "pixel_values")).narrow(0, 0, 1);
    auto embeds = model::mergeImageTokens(m->decoder(), ids, 500, visual);
    QVERIFY(!embeds.ok());
  }

  void loraAppliedAtRunTimeAndMerged_data() {
    QTest::addColumn<bool>("merge");
    QTest::newRow("runtime") << false;
    QTest::newRow("merged") << true;
  }
  void loraAppliedAtRunTimeAndMerged() {
    QFETCH(bool, merge);
    c10::InferenceMode guard;
    model::ModelLoadOptions o;
    o.adapterDirectory = test::fixtureDir("llama-tiny-lora-adapter");
    o.mergeLora = merge;
    auto m = loadModel(test::fixtureDir("llama-tiny-lora-base"), o);
    at::Tensor ids = test::expectedTensor("llama-tiny-lora-adapter", "input_ids");
    at::Tensor logits = m->decoder().logits(m->decoder().forward(m->decoder().embed(ids)));
    const double d = test::maxAbsDiff(logits, test::expectedTensor("llama-tiny-lora-adapter", "logits"));
    qInfo("LoRA (%s) logits %.2e", merge ? "merged" : "run time", d);
    QVERIFY(d <= 1e-4);
    // And the adapter really changes the output.
    auto base = loadModel(test::fixtureDir("llama-tiny-lora-base"));
    at::Tensor baseLogits = base->decoder().logits(base->decoder().forward(base->decoder().embed(ids)));
    QVERIFY(test::maxAbsDiff(baseLogits, logits) > 1e-2);
  }

  void loraPerturbedAdapterFails() {
    QTemporaryDir tmp;
    const std::string dir = tmp.path().toStdString() + "/adapter";
    test::writePerturbedCopy(test::fixtureDir("llama-tiny-lora-adapter"), dir,
                             "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", 0.05f);
    c10::InferenceMode guard;
    model::ModelLoadOptions o;
    o.adapterDirectory = dir;
    auto m = loadModel(test::fixtureDir("llama-tiny-lora-base"), o);
    at::Tensor ids = test::expectedTensor("llama-tiny-lora-adapter", "input_ids");
    at::Tensor logits = m->decoder().logits(m->decoder().forward(m->decoder().embed(ids)));
    QVERIFY(test::maxAbsDiff(logits, test::expectedTensor("llama-tiny-lora-adapter", "logits")) > 1e-4);
  }

  void mismatchedAdapterIsRefused() {
    // A LoRA adapter for a 64-wide decoder cannot be applied to the vision-only model.
    model::ModelLoadOptions o;
    o.adapterDirectory = test::fixtureDir("llama-tiny-lora-adapter");
    auto m = model::MultimodalModel::load(test::fixtureDir("clip-vision-tiny"), o);
    QVERIFY(!m.ok());
    qInfo("%s", m.message().c_str());
  }
};

QTEST_GUILESS_MAIN(VisionParity)
#include "test_vision_parity.moc"
