// depictqa-eval's measurement on a small split written by the data engine, with the
// bundled model: the report names the decoder layers its pointing game read, a layer the
// decoder does not have is an error that says so (not a silent empty row), and each
// brief verdict is written to verdicts.jsonl as the 2AFC rows count it.
#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>

#include "core/data/photos.h"
#include "core/data/sampler.h"
#include "core/data/shards.h"
#include "core/eval/evaluator.h"
#include "core/generate/engine.h"
#include "test_support.h"

using namespace dqa;

class TestEvaluator : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::unique_ptr<Engine> engine_;

  std::string split() const { return dir_.path().toStdString() + "/val"; }

  // Only the pointing game (and `pairs` short answers), reading `layers`.
  eval::EvalOptions pointingOnly(const std::string& out, std::vector<int> layers, int pairs) const {
    eval::EvalOptions o;
    o.shards = split();
    o.outputDirectory = dir_.path().toStdString() + "/" + out;
    o.maxPairs = pairs;
    o.maxDescriptions = o.maxReasoning = o.maxPreference = 0;
    o.maxPointing = 2;
    o.maxNewTokens = 48;
    o.pointingLayers = std::move(layers);
    return o;
  }

  // report.json of a run (discarded where it is missing or not JSON).
  static nlohmann::json readReport(const eval::EvalOptions& o) {
    std::ifstream in(o.outputDirectory + "/report.json");
    return nlohmann::json::parse(in, nullptr, false);
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    EngineOptions o;
    o.modelDirectory = test::sourceDir() + "/models/default";
    o.threads = 1;
    auto e = Engine::load(o);
    QVERIFY2(e.ok(), e.ok() ? "" : e.error().message.c_str());
    engine_ = std::move(e.value());
    // A handful of local-distortion descriptions (the pointing game's cases) and pairs.
    auto photos = data::syntheticPhotos(3, 160, 128, data::SplitConfig{}, 5);
    std::vector<const data::Photo*> pool = {&photos[0], &photos[1], &photos[2]};
    data::SamplerConfig cfg;
    cfg.localShare = 1.0;
    data::ShardWriter w(split(), 16, true);
    QVERIFY(w.open().ok());
    for (std::uint64_t i = 0; i < 24; ++i) {
      data::Sample s;
      QVERIFY(data::generateSample(pool, cfg, i, &s));
      QVERIFY(w.write(s, "val").ok());
    }
    QVERIFY(w.close().ok());
  }

  void reportNamesThePointingLayers() {
    const eval::EvalOptions o = pointingOnly("layer2", {2}, 2);
    auto md = eval::evaluate(*engine_, o);
    QVERIFY2(md.ok(), md.ok() ? "" : md.error().message.c_str());
    QVERIFY2(md.value().find("attention pointing game (local distortions, decoder layer 2)") != std::string::npos,
             md.value().c_str());
    const auto report = readReport(o);
    QVERIFY(!report.is_discarded());
    QCOMPARE(report.value("attention_pointing_game_layers", nlohmann::json()), nlohmann::json::array({2}));
    // The cases were there to read: the row is not empty.
    QVERIFY(report["attention_pointing_game_local_distortions"]["n"].get<int>() > 0);
  }

  // Reasonings asked again with the app's default question and an unseen wording, both
  // counted for preferences nobody stated; only the first --question-checks of them.
  void reasoningsAreAskedInOtherWordings() {
    eval::EvalOptions o = pointingOnly("wordings", {}, 0);
    o.maxPointing = 0;
    o.maxReasoning = 4;
    o.maxQuestionChecks = 1;
    auto md = eval::evaluate(*engine_, o);
    QVERIFY2(md.ok(), md.ok() ? "" : md.error().message.c_str());
    const auto report = readReport(o);
    QVERIFY(!report.is_discarded());
    const auto& r = report["reasoning"];
    const int asked = r["acknowledges_unstated_preference"]["n"].get<int>();
    QVERIFY2(asked > 0, "the split has reasonings without a preference");
    QCOMPARE(r["acknowledges_unstated_preference_default_question"]["n"].get<int>(), 1);
    QCOMPARE(r["acknowledges_unstated_preference_unseen_wording"]["n"].get<int>(), 1);
    QVERIFY(md.value().find("the same, asked with the app's default question") != std::string::npos);
  }

  // verdicts.jsonl: one line per brief verdict the 2AFC rows count, with the labels and
  // the heads' reading beside it (what a rule weighing the decoder against the heads is
  // chosen on), and the rows' counts read back from it.
  void eachBriefVerdictIsWrittenBeside2afcRows() {
    eval::EvalOptions o = pointingOnly("verdicts", {}, 3);
    o.maxPointing = 0;
    auto md = eval::evaluate(*engine_, o);
    QVERIFY2(md.ok(), md.ok() ? "" : md.error().message.c_str());
    const auto report = readReport(o);
    QVERIFY(!report.is_discarded());
    std::ifstream in(o.outputDirectory + "/verdicts.jsonl");
    QVERIFY(in.good());
    std::map<std::string, std::pair<int, int>> rightOf;  // kind -> (right, n)
    for (std::string line; std::getline(in, line);) {
      const auto v = nlohmann::json::parse(line, nullptr, false);
      QVERIFY2(!v.is_discarded(), line.c_str());
      const std::string kind = v["kind"];
      QVERIFY2(kind == "fr" || kind == "nr", kind.c_str());
      QCOMPARE(v["reference"].get<bool>(), kind == "fr");
      const std::string truth = v["truth"];
      QVERIFY(truth == "A" || truth == "B");
      const double headsA = v["heads_p_a"];
      QVERIFY2(headsA >= 0 && headsA <= 1, line.c_str());  // the bundled model has heads
      QCOMPARE(v["heads_aspect_mos"].size(), size_t(2));
      QCOMPARE(v["heads_aspect_mos"][0].size(), size_t(5));
      QCOMPARE(v["truth_mos"].size(), size_t(2));
      QCOMPARE(v["preference_weights"], nlohmann::json::array({1.0, 1.0, 1.0, 1.0, 1.0}));
      auto& [right, n] = rightOf[kind];
      right += v["verdict"] == truth;
      ++n;
    }
    QCOMPARE(rightOf["fr"].second + rightOf["nr"].second, 3);
    for (const auto& [kind, key] :
         {std::pair<std::string, std::string>{"fr", "model_full_reference"}, {"nr", "model_no_reference"}}) {
      const auto& row = report["2afc"][key];
      QCOMPARE(row["n"].get<int>(), rightOf[kind].second);
      if (rightOf[kind].second > 0)
        QCOMPARE(int(std::lround(row["accuracy"].get<double>() * rightOf[kind].second)), rightOf[kind].first);
    }
  }

  void aLayerTheDecoderLacksIsAnError() {
    const eval::EvalOptions o = pointingOnly("layer7", {7}, 0);
    auto md = eval::evaluate(*engine_, o);
    QVERIFY(!md.ok());
    QVERIFY2(md.error().message.find("attention layer 7 does not exist (the decoder has 3)") != std::string::npos,
             md.error().message.c_str());
  }
};

QTEST_GUILESS_MAIN(TestEvaluator)
#include "test_evaluator.moc"
