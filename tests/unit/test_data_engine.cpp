// Sampler, splits and shards: no source photo on both sides of a split, held-out types,
// determinism by seed, shards that read back byte for byte.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include <fstream>
#include <set>

#include "core/data/parser.h"
#include "core/data/sampler.h"
#include "core/data/shards.h"

using namespace dqa::data;

class TestDataEngine : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void splitHasNoPhotoOnBothSides() {
    SplitConfig sc;
    sc.valFraction = 0.3;
    auto photos = syntheticPhotos(30, 200, 160, sc, 9);
    std::vector<const Photo*> train, val;
    for (auto& p : photos) (p.validation ? val : train).push_back(&p);
    QVERIFY(!train.empty() && !val.empty());
    SamplerConfig cfg;
    std::set<std::string> trainIds, valIds;
    for (std::uint64_t i = 0; i < 150; ++i) {
      Sample s;
      QVERIFY(generateSample(train, cfg, i, &s));
      trainIds.insert(s.photoId);
      QVERIFY(generateSample(val, cfg, i, &s));
      valIds.insert(s.photoId);
    }
    for (const auto& id : valIds) QVERIFY2(!trainIds.count(id), id.c_str());
  }

  void duplicatesShareASide() {
    SplitConfig sc;
    sc.valFraction = 0.5;
    cv::Mat a = syntheticImage(300, 200, 1);
    cv::Mat b;
    a.convertTo(b, -1, 1.0, 3.0);  // a re-encoded / slightly brighter copy
    QCOMPARE(averageHash(a), averageHash(b));
    int val = 0;
    for (std::uint64_t g = 0; g < 2000; ++g) val += isValidationGroup(g * 7919, sc);
    QVERIFY(val > 900 && val < 1100);
  }

  void heldOutTypesAreHeldOut() {
    SplitConfig sc;
    auto train = typesForSplit(Split::Train, sc), held = typesForSplit(Split::ValTypes, sc);
    QCOMPARE(train.size() + held.size(), size_t(kNumTypes));
    for (int t : held) QVERIFY(std::find(train.begin(), train.end(), t) == train.end());
    // Every aspect keeps training types.
    std::set<Aspect> aspects;
    for (int t : train) aspects.insert(typeInfo(t).aspect);
    QCOMPARE(aspects.size(), size_t(kNumAspects));
    // The sampler only uses the allowed types.
    auto photos = syntheticPhotos(3, 200, 160, sc, 2);
    std::vector<const Photo*> pool = {&photos[0], &photos[1], &photos[2]};
    SamplerConfig cfg;
    cfg.types = held;
    for (std::uint64_t i = 0; i < 100; ++i) {
      Sample s;
      QVERIFY(generateSample(pool, cfg, i, &s));
      for (const auto* l : {&s.questionnaire.a, &s.questionnaire.b})
        for (const auto& d : l->distortions)
          QVERIFY(std::find(held.begin(), held.end(), d.distortion.type) != held.end());
    }
  }

  void samplesAreDeterministic() {
    auto photos = syntheticPhotos(3, 220, 180, SplitConfig{}, 4);
    std::vector<const Photo*> pool = {&photos[0], &photos[1], &photos[2]};
    SamplerConfig cfg;
    cfg.seed = 123;
    for (std::uint64_t i = 0; i < 40; ++i) {
      Sample s1, s2;
      QVERIFY(generateSample(pool, cfg, i, &s1));
      QVERIFY(generateSample(pool, cfg, i, &s2));
      QCOMPARE(s1.text.answer, s2.text.answer);
      QCOMPARE(toJson(s1.questionnaire).dump(), toJson(s2.questionnaire).dump());
      QCOMPARE(cv::norm(s1.a, s2.a, cv::NORM_INF), 0.0);
      QCOMPARE(s1.reference.size(), s1.a.size());
    }
    // Another seed gives other samples.
    Sample s123, s124;
    QVERIFY(generateSample(pool, cfg, 0, &s123));
    cfg.seed = 124;
    QVERIFY(generateSample(pool, cfg, 0, &s124));
    QVERIFY(s123.crop != s124.crop || s123.text.answer != s124.text.answer);
  }

  void mixOfTasksAndTies() {
    auto photos = syntheticPhotos(4, 256, 192, SplitConfig{}, 8);
    std::vector<const Photo*> pool;
    for (auto& p : photos) pool.push_back(&p);
    SamplerConfig cfg;
    std::map<std::string, int> c;
    for (std::uint64_t i = 0; i < 600; ++i) {
      Sample s;
      QVERIFY(generateSample(pool, cfg, i, &s));
      const auto& q = s.questionnaire;
      c[taskName(q.task)]++;
      c[q.withReference ? "fr" : "nr"]++;
      if (q.isPair()) c[std::string("winner_") + winnerName(q.winner)]++;
      if (q.hasPreference) c[q.preferenceFlipped ? "flip" : "noflip"]++;
      if (q.a.local || (q.isPair() && q.b.local)) c["local"]++;
      if (q.a.distortions.size() >= 2) c["multi"]++;
    }
    for (const char* k : {"description", "comparison", "reasoning", "fr", "nr", "winner_A", "winner_B", "winner_tie",
                          "flip", "noflip", "local", "multi"})
      QVERIFY2(c[k] > 5, k);
  }

  void shardsReadBack() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto photos = syntheticPhotos(2, 200, 160, SplitConfig{}, 6);
    std::vector<const Photo*> pool = {&photos[0], &photos[1]};
    SamplerConfig cfg;
    std::vector<Sample> samples(10);
    ShardWriter w(dir.path().toStdString() + "/train", 4, true);
    QVERIFY(w.open().ok());
    for (std::uint64_t i = 0; i < samples.size(); ++i) {
      QVERIFY(generateSample(pool, cfg, i, &samples[i]));
      QVERIFY(w.write(samples[i], "train").ok());
    }
    QVERIFY(w.close().ok());
    QCOMPARE(w.samplesWritten(), std::int64_t(10));
    // 10 samples, 4 per shard: shards 0, 1, 2.
    size_t k = 0;
    for (int shard = 0; shard < 3; ++shard) {
      char name[64];
      std::snprintf(name, sizeof name, "/train/shard-%05d", shard);
      std::string base = dir.path().toStdString() + name;
      std::ifstream in(base + ".jsonl");
      std::string line;
      while (std::getline(in, line)) {
        auto rec = nlohmann::json::parse(line);
        const Sample& s = samples[k++];
        QCOMPARE(rec["answer"].get<std::string>(), s.text.answer);
        QCOMPARE(rec["task"].get<std::string>(), std::string(taskName(s.questionnaire.task)));
        auto ref = readShardImage(base + ".bin", rec["images"]["reference"]);
        QVERIFY(ref.ok());
        QCOMPARE(cv::norm(ref.value(), s.reference, cv::NORM_INF), 0.0);
        auto a = readShardImage(base + ".bin", rec["images"]["A"]);
        QVERIFY(a.ok());
        QCOMPARE(cv::norm(a.value(), s.a, cv::NORM_INF), 0.0);
        QCOMPARE(rec["images"].contains("B"), s.questionnaire.isPair());
        QVERIFY(QFile::exists(dir.path() + "/train/" +
                              QString::fromStdString(rec["images"]["A"]["png"].get<std::string>())));
        // The record's text and questionnaire agree.
        Task t;
        QVERIFY(taskFromName(rec["questionnaire"]["task"].get<std::string>(), &t));
        QVERIFY(agrees(s.questionnaire, parseAnswer(t, rec["answer"].get<std::string>())));
      }
    }
    QCOMPARE(k, samples.size());
  }

  void missingPhotoDirectoryIsAnActionableError() {
    auto r = loadPhotos("/nonexistent/photos", SplitConfig{});
    QVERIFY(!r.ok());
    QVERIFY(r.message().find("fetch_photos.sh") != std::string::npos);
  }
};

QTEST_APPLESS_MAIN(TestDataEngine)
#include "test_data_engine.moc"
