// The Engine end to end on the LLaVA fixture (random weights, real tokenizer): every
// task, streaming order and content, attention maps checked against a full forward,
// cancellation, errors, UTF-8 streaming.
#include <QtTest/QtTest>
#include <c10/core/InferenceMode.h>

#include <opencv2/imgproc.hpp>

#include "core/generate/engine.h"
#include "core/generate/session.h"
#include "core/model/multimodal.h"
#include "core/text/tokenizer.h"
#include "tensor_support.h"

using namespace dqa;

namespace {

EngineOptions fixtureOptions() {
  EngineOptions o;
  o.modelDirectory = test::fixtureDir("llava-tiny");
  o.tokenizerPath = test::fixtureDir("sentencepiece") + "/tiny.model";
  // The tiny tokenizer spells the system prompt nearly letter by letter (~450 tokens);
  // the fixture's config says 256, RoPE runs further.
  o.contextLength = 2048;
  o.threads = 1;
  return o;
}

cv::Mat texture(int w, int h, int seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(static_cast<uint64_t>(seed));
  rng.fill(m, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(m, m, cv::Size(0, 0), 1.0 + seed);
  return m;
}

}  // namespace

class EngineTest : public QObject {
  Q_OBJECT
  std::unique_ptr<Engine> engine;

 private Q_SLOTS:
  void initTestCase() {
    auto e = Engine::load(fixtureOptions());
    QVERIFY2(e.ok(), e.ok() ? "" : e.message().c_str());
    engine = std::move(e.value());
    QCOMPARE(engine->info().architecture, std::string("llava"));
    QVERIFY(engine->info().hasTokenizer);
  }

  void everyTaskStreamsInOrder_data() {
    QTest::addColumn<int>("task");
    QTest::addColumn<bool>("withReference");
    QTest::addColumn<bool>("shortAnswer");
    for (int t = 0; t < 3; ++t)
      for (bool fr : {true, false})
        for (bool sa : {false, true}) {
          if (t == 0 && sa) continue;  // description has no short-answer form
          QTest::newRow(qPrintable(QString("%1-%2-%3").arg(t).arg(fr ? "FR" : "NR").arg(sa ? "short" : "long")))
              << t << fr << sa;
        }
  }
  void everyTaskStreamsInOrder() {
    QFETCH(int, task);
    QFETCH(bool, withReference);
    QFETCH(bool, shortAnswer);
    AskRequest r;
    r.prompt.task = static_cast<text::Task>(task);
    r.prompt.withReference = withReference;
    r.prompt.shortAnswer = shortAnswer;
    r.reference = texture(64, 64, 0);
    r.imageA = texture(64, 64, 1);
    r.imageB = texture(80, 60, 2);  // another size: its own grid (6x5 after padding)
    r.sampling.maxNewTokens = 30;
    std::string streamed;
    std::vector<int> order;
    gen::GenerationCallbacks cb;
    cb.onToken = [&](const gen::TokenEvent& ev) {
      streamed += ev.text;
      if (ev.id >= 0) order.push_back(ev.index);
      return true;
    };
    auto a = engine->ask(r, cb);
    QVERIFY2(a.ok(), a.ok() ? "" : a.message().c_str());
    QCOMPARE(streamed, a->generation.text);
    QCOMPARE(int(order.size()), int(a->generation.ids.size()));
    for (size_t i = 0; i < order.size(); ++i) QCOMPARE(order[i], int(i));
    const auto roles = text::requiredImages(r.prompt);
    QCOMPARE(a->images.size(), roles.size());
    for (size_t i = 0; i < roles.size(); ++i) QCOMPARE(int(a->images[i].role), int(roles[i]));
    for (const auto& g : a->images) {
      QCOMPARE(g.paddedWidth % 14, 0);
      QVERIFY(g.paddedWidth >= 70 && g.paddedHeight >= 70);
      QCOMPARE(g.gridWidth * 14, g.paddedWidth);
    }
    if (task != 0) {
      const auto& last = a->images.back();
      QCOMPARE(last.gridWidth, 6);   // 80 px -> 84 px
      QCOMPARE(last.gridHeight, 5);  // 60 px -> 70 px
    }
    // Greedy decoding is deterministic.
    auto again = engine->ask(r);
    QVERIFY(again.ok());
    QCOMPARE(again->generation.ids, a->generation.ids);
  }

  void attentionMapsShapeAndHeadAveraging() {
    AskRequest r;
    r.prompt.task = text::Task::Comparison;
    r.reference = texture(64, 64, 0);
    r.imageA = texture(64, 64, 1);
    r.imageB = texture(64, 64, 2);
    r.sampling.maxNewTokens = 6;
    r.attention.capture = true;
    r.attention.keepHeads = true;
    auto a = engine->ask(r);
    QVERIFY(a.ok());
    const auto& maps = a->generation.attention;
    const int n = static_cast<int>(a->generation.ids.size());
    QVERIFY(n > 0);
    QCOMPARE(maps.tokens, n);
    QCOMPARE(int(maps.images.size()), 3);
    QCOMPARE(maps.heads, 4);
    QCOMPARE(maps.visualTokens, int64_t(75));
    QCOMPARE(int(maps.layers.size()), 2);
    QCOMPARE(int(maps.grid(0, 1).size()), 25);

    // Every row is a probability distribution restricted to visual tokens, so each
    // row's sum is in (0, 1]; the rows themselves are checked against a full forward
    // in attentionRowsEqualFullForwardRows.
    for (int t = 0; t < n; ++t)
      for (int l = 0; l < 2; ++l)
        for (int h = 0; h < 4; ++h) {
          double sum = 0;
          for (int img = 0; img < 3; ++img)
            for (float v : maps.grid(t, img, maps.layers[size_t(l)], h)) sum += v;
          QVERIFY(sum > 0 && sum <= 1.0 + 1e-5);
        }
    r.attention.keepHeads = false;
    auto averaged = engine->ask(r);
    QVERIFY(averaged.ok());
    QCOMPARE(averaged->generation.attention.heads, 1);
    for (int img = 0; img < 3; ++img) {
      auto mean = averaged->generation.attention.grid(n - 1, img, 1);
      auto perHead = maps.grid(n - 1, img, 1);  // head -1: mean over heads
      for (size_t c = 0; c < mean.size(); ++c) QVERIFY(std::abs(mean[c] - perHead[c]) < 1e-6);
    }
  }

  void attentionRowsEqualFullForwardRows() {
    // Decoder-level check: rows captured token by token (KV cache) equal the rows of
    // one full forward over the same sequence.
    auto m = model::MultimodalModel::load(test::fixtureDir("llava-tiny"), {});
    QVERIFY(m.ok());
    const auto& dec = m.value()->decoder();
    c10::InferenceMode guard;
    at::Tensor ids = test::expectedTensor("llava-tiny", "input_ids").narrow(1, 0, 20).remainder(400);
    model::AttentionCapture full;
    full.layers = {0, 1};
    dec.forward(dec.embed(ids), nullptr, &full);
    model::KVCache cache;
    model::AttentionCapture step;
    step.layers = {0, 1};
    dec.forward(dec.embed(ids.narrow(1, 0, 15)), &cache, &step);
    for (int t = 15; t < 20; ++t) {
      dec.forward(dec.embed(ids.narrow(1, t, 1)), &cache, &step);
      for (int l = 0; l < 2; ++l) {
        at::Tensor rowStep = step.probs[size_t(l)][0].select(1, 0);                      // [H, t+1]
        at::Tensor rowFull = full.probs[size_t(l)][0].select(1, t).narrow(1, 0, t + 1);  // [H, t+1]
        QVERIFY(test::maxAbsDiff(rowStep, rowFull) < 1e-6);
      }
    }
  }

  void stopMidAnswer() {
    AskRequest r;
    r.prompt.task = text::Task::Reasoning;
    r.reference = texture(64, 64, 0);
    r.imageA = texture(64, 64, 1);
    r.imageB = texture(64, 64, 2);
    r.sampling.maxNewTokens = 100;
    std::atomic<bool> cancel{false};
    gen::GenerationCallbacks cb;
    cb.cancel = &cancel;
    int seen = 0;
    cb.onToken = [&](const gen::TokenEvent& ev) {
      if (ev.id >= 0 && ++seen == 5) cancel = true;
      return true;
    };
    auto a = engine->ask(r, cb);
    QVERIFY(a.ok());
    QCOMPARE(a->generation.stop, gen::StopReason::Cancelled);
    QCOMPARE(int(a->generation.ids.size()), 5);
  }

  void missingImageIsAClearError() {
    AskRequest r;
    r.prompt.task = text::Task::Comparison;
    r.reference = texture(64, 64, 0);
    r.imageA = texture(64, 64, 1);
    auto a = engine->ask(r);
    QVERIFY(!a.ok());
    QVERIFY(a.message().find("image B") != std::string::npos);
  }

  void largeImagesAreDownscaledToFitTheContext() {
    // Three 400x300 images at the default size (longest side 3 x 70 px: 15x12 tokens
    // each) and the ~455-token prompt overflow an 800-token window; the engine shrinks the
    // images until prompt + 64 answer tokens fit, instead of refusing.
    auto o = fixtureOptions();
    o.contextLength = 800;
    auto e = Engine::load(o);
    QVERIFY(e.ok());
    AskRequest r;
    r.reference = texture(400, 300, 0);
    r.imageA = texture(400, 300, 1);
    r.imageB = texture(400, 300, 2);
    r.sampling.maxNewTokens = 4;
    auto a = e.value()->ask(r);
    QVERIFY2(a.ok(), a.ok() ? "" : a.message().c_str());
    QCOMPARE(int(a->images.size()), 3);
    const auto& g = a->images[0];
    QVERIFY(g.paddedWidth < 210);
    QVERIFY(g.contentWidth <= g.paddedWidth && g.contentHeight <= g.paddedHeight);
    QVERIFY(a->generation.promptTokens + 64 <= 800);
    // With room to spare nothing shrinks: the 2048-token engine keeps the 210-px side.
    auto full = engine->ask(r);
    QVERIFY(full.ok());
    QCOMPARE(full->images[0].contentWidth, 210);
  }

  void shortContextIsAClearError() {
    auto o = fixtureOptions();
    o.contextLength = 0;  // the fixture's own 256 positions
    auto e = Engine::load(o);
    QVERIFY(e.ok());
    AskRequest r;
    r.imageA = texture(64, 64, 1);
    r.imageB = texture(64, 64, 2);
    r.reference = texture(64, 64, 0);
    auto a = e.value()->ask(r);
    QVERIFY(!a.ok());
    QVERIFY(a.message().find("context window") != std::string::npos);
  }

  void badDeviceAndDtype() {
    auto o = fixtureOptions();
    o.device = "banana";
    QVERIFY(!Engine::load(o).ok());
    o.device = "cpu";
    o.dtype = "f8";
    QVERIFY(!Engine::load(o).ok());
    o.dtype = "auto";
    o.device = "cuda";
    auto e = Engine::load(o);
    if (!at::hasCUDA()) QVERIFY(!e.ok());
  }

  void reducedPrecisionRunsTheSameCode() {
    // What a GPU build runs in (bf16 by default on CUDA), exercised on the CPU: the
    // whole pipeline in bfloat16 gives the float32 probability of the same token closely.
    AskRequest r;
    r.reference = texture(64, 64, 0);
    r.imageA = texture(64, 64, 1);
    r.imageB = texture(64, 64, 2);
    r.prompt.shortAnswer = true;
    r.sampling.maxNewTokens = 1;
    auto first = engine->ask(r);
    QVERIFY(first.ok() && !first->generation.ids.empty());
    gen::GenerationCallbacks watch;
    watch.watchIds = {first->generation.ids[0]};  // the same token's probability in both runs
    auto f32 = engine->ask(r, watch);
    QVERIFY(f32.ok());
    auto o = fixtureOptions();
    o.dtype = "bf16";
    auto e = Engine::load(o);
    QVERIFY2(e.ok(), e.ok() ? "" : e.message().c_str());
    QCOMPARE(e.value()->info().dtype, std::string("bf16"));
    auto bf16 = e.value()->ask(r, watch);
    QVERIFY2(bf16.ok(), bf16.ok() ? "" : bf16.message().c_str());
    QCOMPARE(bf16->generation.promptTokens, f32->generation.promptTokens);
    const float p32 = f32->generation.watchedProbabilities[0][0], p16 = bf16->generation.watchedProbabilities[0][0];
    qInfo("probability of the first token: f32 %.5f, bf16 %.5f", p32, p16);
    QVERIFY(std::abs(p32 - p16) < 0.05f);
  }

  void textOnlyModelCannotAnswerAboutImages() {
    auto o = fixtureOptions();
    o.modelDirectory = test::fixtureDir("llama-tiny");
    auto e = Engine::load(o);
    QVERIFY(e.ok());
    AskRequest r;
    r.imageA = texture(64, 64, 1);
    r.imageB = texture(64, 64, 2);
    auto a = e.value()->ask(r);
    QVERIFY(!a.ok());
    qInfo("%s", a.message().c_str());
  }

  void utf8StreamNeverSplitsACharacter() {
    gen::Utf8Stream s;
    const std::string text = "a\xC3\xBC\xE7\x94\xBB\xF0\x9F\x98\x80z";  // a ü 画 😀 z
    std::string out;
    for (char c : text) {
      std::string piece = s.push(std::string(1, c));
      // Every emitted piece is valid on its own.
      QVERIFY(piece.empty() || QString::fromUtf8(piece.data(), int(piece.size())).toUtf8() ==
                                   QByteArray(piece.data(), int(piece.size())));
      out += piece;
    }
    out += s.finish();
    QCOMPARE(out, text);
    gen::Utf8Stream bad;
    QCOMPARE(bad.push("\xFF"
                      "a"),
             std::string("\xEF\xBF\xBD"
                         "a"));
    QCOMPARE(bad.push("\xE7\x94"), std::string());
    QCOMPARE(bad.push("b"), std::string("\xEF\xBF\xBD\xEF\xBF\xBD"
                                        "b"));
    QCOMPARE(bad.push("\xC3"), std::string());
    QCOMPARE(bad.finish(), std::string("\xEF\xBF\xBD"));
  }

  void winnerParsing() {
    QCOMPARE(parseWinner("Image A"), 'A');
    QCOMPARE(parseWinner("I prefer Image B over Image A."), 'B');
    QCOMPARE(parseWinner("Image A is better than Image B."), 'A');
    QCOMPARE(parseWinner("Neither."), char(0));
  }
};

QTEST_GUILESS_MAIN(EngineTest)
#include "test_engine.moc"
