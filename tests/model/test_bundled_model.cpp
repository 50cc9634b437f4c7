// The bundled model (models/default) on images of every size a user brings: 96 px,
// 256 px, 512x384, 1024x768 and a 24-megapixel frame. Each task gets a well-formed answer
// (no run-away repetition; the reverse parser finds what the task must say), the short
// answer's verdict agrees with the heads' (the reasoning's is reported: it agrees with the
// short answer 95.6% of the time on validation), the encoder sees the images at native
// resolution (no downscaling: content = source size) and the heads' judgement comes with
// every answer. A is noisy, B slightly blurred: B should win at every size. A stated
// preference moves the heads' comparison the way it says.
#include <QtTest/QtTest>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "core/data/distortions.h"
#include "core/data/parser.h"
#include "core/generate/engine.h"
#include "core/image/image_loader.h"
#include "test_support.h"

using namespace dqa;

namespace {

// The longest run of one repeated word ("suffers suffers suffers" -> 3).
int longestRepeat(const std::string& text) {
  std::istringstream in(text);
  std::string word, previous;
  int run = 0, best = 0;
  while (in >> word) {
    run = word == previous ? run + 1 : 1;
    best = std::max(best, run);
    previous = word;
  }
  return best;
}

data::Distortion distortion(int type, double level) {
  data::Distortion d;
  d.type = type;
  d.level = level;
  return d;
}

}  // namespace

class BundledModelTest : public QObject {
  Q_OBJECT
  std::unique_ptr<Engine> engine_;
  cv::Mat photo_;

  // The photo tiled/cropped to w x h, and its noisy (A) and slightly blurred (B) versions.
  void makePair(int w, int h, cv::Mat* ref, cv::Mat* a, cv::Mat* b) {
    cv::Mat canvas;
    const int repeatX = (w + photo_.cols - 1) / photo_.cols, repeatY = (h + photo_.rows - 1) / photo_.rows;
    cv::repeat(photo_, repeatY, repeatX, canvas);
    *ref = canvas(cv::Rect(0, 0, w, h)).clone();
    *a = data::applyDistortion(*ref, distortion(11, 3.5), 1);  // white noise
    *b = data::applyDistortion(*ref, distortion(1, 1.5), 2);   // mild Gaussian blur
  }

  Answer ask(text::Task task, bool shortAnswer, const cv::Mat& ref, const cv::Mat& a, const cv::Mat& b,
             const std::string& preference = "", bool guardAnswerGrammar = true) {
    AskRequest r;
    r.sampling.guardAnswerGrammar = guardAnswerGrammar;
    r.prompt.preference = preference;
    r.prompt.task = task;
    r.prompt.withReference = !ref.empty();
    r.prompt.shortAnswer = shortAnswer;
    r.reference = ref;
    r.imageA = a;
    r.imageB = task == text::Task::Description ? cv::Mat() : b;
    r.sampling.maxNewTokens = 200;
    auto answer = engine_->ask(r);
    if (!answer) qFatal("%s", answer.message().c_str());
    return answer.value();
  }

 private Q_SLOTS:
  void initTestCase() {
    EngineOptions o;
    o.modelDirectory = test::sourceDir() + "/models/default";
    auto e = Engine::load(o);
    QVERIFY2(e, e ? "" : e.message().c_str());
    engine_ = std::move(e.value());
    QVERIFY(engine_->info().qualityHeads);
    auto img = image::loadImage(test::sourceDir() + "/tests/data/coffee.jpg");
    QVERIFY2(img, img ? "" : img.message().c_str());
    photo_ = img->rgb;
  }

  void everySizeGetsAWellFormedAnswer_data() {
    QTest::addColumn<int>("width");
    QTest::addColumn<int>("height");
    QTest::addColumn<bool>("withReference");
    for (bool fr : {true, false}) {
      const char* mode = fr ? "with reference" : "no reference";
      QTest::addRow("96 px, %s", mode) << 96 << 96 << fr;
      QTest::addRow("256 px, %s", mode) << 256 << 256 << fr;
      QTest::addRow("512x384, %s", mode) << 512 << 384 << fr;
      QTest::addRow("1024x768, %s", mode) << 1024 << 768 << fr;
    }
    QTest::addRow("6000x4000 (24 MP), with reference") << 6000 << 4000 << true;
  }

  void everySizeGetsAWellFormedAnswer() {
    QFETCH(int, width);
    QFETCH(int, height);
    QFETCH(bool, withReference);
    cv::Mat ref, a, b;
    makePair(width, height, &ref, &a, &b);
    if (!withReference) ref = cv::Mat();
    const auto t0 = std::chrono::steady_clock::now();

    const Answer description = ask(text::Task::Description, false, ref, a, b);
    const std::string& d = description.generation.text;
    qInfo("description: %s", d.c_str());
    QVERIFY2(longestRepeat(d) <= 2, d.c_str());
    const data::ParsedAnswer pd = data::parseAnswer(data::Task::Description, d);
    QVERIFY2(pd.hasQuality, d.c_str());  // "Overall, the quality is ..."
    for (const auto& g : description.images) {
      QCOMPARE(g.contentWidth, width);  // native resolution: never downscaled
      QCOMPARE(g.contentHeight, height);
      QVERIFY(g.gridWidth <= 8 && g.gridHeight <= 8);
    }
    QCOMPARE(description.quality.size(), size_t(withReference ? 2 : 1));

    const Answer brief = ask(text::Task::Comparison, true, ref, a, b);
    qInfo("short answer: %s (P(A) %.3f, heads' P(A) %.3f)", brief.generation.text.c_str(), brief.verdict.probabilityA,
          brief.headProbabilityA);
    QVERIFY2(brief.verdict.present, brief.generation.text.c_str());
    QVERIFY(brief.headProbabilityA >= 0);
    // The confidence is the winner's share of the two letters, the calibrated quantity.
    const auto& v = brief.verdict;
    const float winnerShare = std::max(v.probabilityA, v.probabilityB) / (v.probabilityA + v.probabilityB);
    QVERIFY2(std::fabs(v.confidence - winnerShare) < 1e-6f && v.confidence >= 0.5f,
             std::to_string(v.confidence).c_str());

    const Answer reasoning = ask(text::Task::Reasoning, false, ref, a, b);
    const std::string& r = reasoning.generation.text;
    qInfo("reasoning: %s", r.c_str());
    QVERIFY2(longestRepeat(r) <= 2, r.c_str());
    const data::ParsedAnswer pr = data::parseAnswer(data::Task::Reasoning, r);
    QVERIFY2(pr.hasWinner, r.c_str());  // a verdict: a winner, or "too close to call"
    // The app's default question states no preference; the model of 2026-12-05 answered it
    // with "You said that what you care about most is ..." at every size.
    QVERIFY2(!data::acknowledgesPreference(r), r.c_str());
    // The issue asks that the reasoning's verdict agree with the short answer (>= 90%). The
    // shipped model does so 94.8% of the time on validation (docs/model.md), not always,
    // so the agreement is reported here, not asserted; the short answer, which the heads
    // ground, is asserted below. A reasoning that calls the pair too close carries no
    // verdict letter: the engine must not report one (it used to take the letter of the
    // per-aspect comparison before the tie).
    if (pr.winner == data::Winner::Tie) QVERIFY2(!reasoning.verdict.present && reasoning.verdict.tie, r.c_str());
    const char reasoned = pr.winner == data::Winner::A ? 'A' : pr.winner == data::Winner::B ? 'B' : '=';
    if (reasoned != brief.verdict.winner)
      qWarning("known defect: the reasoning's verdict (%c; '=' too close to call) differs from the short answer (%c)",
               reasoned, brief.verdict.winner);
    QCOMPARE(brief.verdict.winner, brief.headProbabilityA >= 0.5f ? 'A' : 'B');  // the short answer follows the heads
    qInfo("%dx%d: three answers in %.1f s", width, height,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  void noiseLosesToMildBlurWithAReference() {
    // The heads at the sizes a photographer compares: a clearly noisy image against a
    // slightly soft one (KADID: white noise level 3.5 scores ~2.4, blur level 1.5 ~4.1).
    for (auto [w, h] : {std::pair{256, 256}, std::pair{512, 384}, std::pair{1024, 768}}) {
      cv::Mat ref, a, b;
      makePair(w, h, &ref, &a, &b);
      const Answer brief = ask(text::Task::Comparison, true, ref, a, b);
      qInfo("%dx%d: heads' P(A) %.3f, decoder's verdict %c", w, h, brief.headProbabilityA, brief.verdict.winner);
      QVERIFY(brief.headProbabilityA < 0.5f);
      QCOMPARE(brief.verdict.winner, 'B');
    }
  }

  // Left to itself the decoder compares an aspect in two sentences in a quarter of its
  // reasonings (docs/model.md); the app decodes in the training texts' grammar
  // (core/data/answer_grammar.h), which leaves out the words that would. Where the guard
  // leaves nothing out the answer is the decoder's own, word for word.
  void reasoningsCompareEachAspectOnce() {
    cv::Mat ref;
    cv::repeat(photo_, 2, 2, ref);
    ref = ref(cv::Rect(0, 0, 256, 256)).clone();
    int repeatedUnguarded = 0, steered = 0;
    const int types[] = {1, 2, 9, 10, 11, 16, 19, 22};
    for (int i = 0; i < 8; ++i)
      for (int withReference = 0; withReference < 2; ++withReference) {
        const cv::Mat a = data::applyDistortion(ref, distortion(types[i], 2.0 + i % 3), uint64_t(i));
        const cv::Mat b = data::applyDistortion(ref, distortion(types[(i + 3) % 8], 1.0 + i % 4), uint64_t(i + 50));
        const cv::Mat r = withReference ? ref : cv::Mat();
        const Answer own = ask(text::Task::Reasoning, false, r, a, b, "", false);
        const Answer guarded = ask(text::Task::Reasoning, false, r, a, b);
        const data::ParsedAnswer po = data::parseAnswer(data::Task::Reasoning, own.generation.text);
        const data::ParsedAnswer pg = data::parseAnswer(data::Task::Reasoning, guarded.generation.text);
        const bool repeats = *std::max_element(po.aspectCmpCount.begin(), po.aspectCmpCount.end()) > 1;
        repeatedUnguarded += repeats;
        steered += guarded.generation.steeredTokens > 0;
        QCOMPARE(own.generation.steeredTokens, 0);
        for (int k : pg.aspectCmpCount) QVERIFY2(k <= 1, guarded.generation.text.c_str());
        QVERIFY2(pg.hasWinner, guarded.generation.text.c_str());
        if (repeats) QVERIFY(guarded.generation.steeredTokens > 0);
        if (guarded.generation.steeredTokens == 0) QCOMPARE(guarded.generation.text, own.generation.text);
        if (repeats) qInfo("own: %s\nguarded: %s", own.generation.text.c_str(), guarded.generation.text.c_str());
      }
    qInfo("%d of 16 reasonings compare an aspect twice left to the decoder; the guard acted in %d", repeatedUnguarded,
          steered);
    // Pairs on which the decoder does not repeat itself would leave the guard untested.
    QVERIFY2(repeatedUnguarded > 0, "none of the pairs makes the decoder repeat a comparison; choose pairs that do");
  }

  // A stated preference moves the heads' comparison the way it says (A is the noisy
  // one); a sentence the preference reader cannot place leaves it alone, and says so.
  void aStatedPreferenceMovesTheHeads() {
    // A pair closer than makePair's, so that the probabilities are not saturated.
    cv::Mat ref;
    cv::repeat(photo_, 2, 2, ref);
    ref = ref(cv::Rect(0, 0, 256, 256)).clone();
    const cv::Mat a = data::applyDistortion(ref, distortion(11, 2.0), 1);  // white noise
    const cv::Mat b = data::applyDistortion(ref, distortion(1, 2.5), 2);   // Gaussian blur
    const Answer plain = ask(text::Task::Comparison, true, ref, a, b);
    const Answer noise = ask(text::Task::Comparison, true, ref, a, b, "I can't tolerate any noise.");
    const Answer blur = ask(text::Task::Comparison, true, ref, a, b, "Blur is the thing I can't stand.");
    const Answer other = ask(text::Task::Comparison, true, ref, a, b, "Please be thorough.");
    qInfo("heads' P(A): plain %.3f, intolerant of noise %.3f, of blur %.3f, free text %.3f", plain.headProbabilityA,
          noise.headProbabilityA, blur.headProbabilityA, other.headProbabilityA);
    QVERIFY(!plain.preferenceStated && !plain.headProbabilityWeighsPreference);
    QVERIFY(noise.preferenceStated && noise.headProbabilityWeighsPreference);
    QVERIFY(blur.headProbabilityWeighsPreference);
    QVERIFY(other.preferenceStated && !other.headProbabilityWeighsPreference);
    QVERIFY(noise.headProbabilityA < plain.headProbabilityA);
    QVERIFY(blur.headProbabilityA > plain.headProbabilityA);
    QCOMPARE(other.headProbabilityA, plain.headProbabilityA);
  }
};

QTEST_GUILESS_MAIN(BundledModelTest)
#include "test_bundled_model.moc"
