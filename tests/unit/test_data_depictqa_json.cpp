// DepictQA's training JSON (core/data/depictqa_json.h) and the weighted training mix
// (core/data/weighted_mix.h, example_source.h) on a fixture written here: parsing both
// record shapes, the errors a person gets (missing image, unknown task type, malformed
// JSON, answers the tokenizer cannot take), the split's train side, and the mix's
// determinism and shares.
#include <QtTest/QtTest>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <cmath>
#include <fstream>
#include <set>

#include "core/data/datasets/split.h"
#include "core/data/depictqa_json.h"
#include "core/data/example_source.h"
#include "core/data/weighted_mix.h"
#include "core/text/tokenizer.h"
#include "depictqa_json_fixture.h"
#include "test_support.h"

using namespace dqa;

namespace {

std::string tinyTokenizer() { return test::fixtureDir("sentencepiece") + "/tiny.model"; }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

class DepictqaJsonTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  std::string root() const { return dir_.path().toStdString(); }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    test::writeFixtureImages(root(), 40);
  }

  void readsBothRecordShapes() {
    const std::string path = test::writeFixtureJson(root(), test::fixtureRecords(), "train.json");
    auto json = data::readDepictqaJson(path, root());
    QVERIFY2(json.ok(), json.ok() ? "" : json.message().c_str());
    QCOMPARE(json->records.size(), size_t(4));
    const auto& r = json->records;
    QCOMPARE(int(r[0].prompt.task), int(text::Task::Description));
    QVERIFY(r[0].prompt.withReference);
    QCOMPARE(r[0].prompt.question, std::string("Describe the quality of Image A."));
    QVERIFY(contains(r[0].answer, "severe noise"));
    QCOMPARE(r[0].reference, root() + "/images/ref1.png");
    QCOMPARE(r[0].referenceId, std::string("ref1"));
    QCOMPARE(r[1].id, std::string("7"));  // a numeric id, as written
    QVERIFY(!r[1].prompt.withReference && r[1].reference.empty());
    QCOMPARE(r[1].referenceId, std::string("a2"));  // no reference: the image itself, until linked
    std::vector<data::DepictqaJson> files{json.value()};
    data::linkReferenceIds(files);
    QCOMPARE(files[0].records[1].referenceId, std::string("ref2"));  // record 3 shows a2 with ref2
    QCOMPARE(int(r[2].prompt.task), int(text::Task::Comparison));    // "Image B": brief
    QCOMPARE(int(r[3].prompt.task), int(text::Task::Reasoning));     // a paragraph
    QVERIFY(!r[3].prompt.withReference && r[3].reference.empty() && !r[3].b.empty());
    QVERIFY(contains(r[3].source, "train.json: record 3 (id r2)"));
  }

  void examplesCarryImagesAndVerdicts() {
    const std::string path = test::writeFixtureJson(root(), test::fixtureRecords(), "train.json");
    auto json = data::readDepictqaJson(path, root());
    QVERIFY(json.ok());
    auto d = data::loadDepictqaExample(json->records[0]);
    QVERIFY(d.ok());
    QCOMPARE(d->a.size(), cv::Size(40, 40));
    QVERIFY(!d->reference.empty() && d->b.empty());
    QCOMPARE(d->a.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 0, 0));  // RGB
    QCOMPARE(int(d->winner), 0);
    auto brief = data::loadDepictqaExample(json->records[2]);
    QVERIFY(brief.ok());
    QCOMPARE(brief->winner, 'B');
    QCOMPARE(brief->verdictMention, 0);
    auto reasoning = data::loadDepictqaExample(json->records[3], 20);
    QVERIFY(reasoning.ok());
    QCOMPARE(reasoning->winner, 'A');
    QCOMPARE(reasoning->verdictMention, 2);           // "Overall, Image A is better": the third mention
    QCOMPARE(reasoning->b.size(), cv::Size(20, 20));  // scaled to --max-image-side
  }

  void missingImageNamesTheRecord() {
    auto records = test::fixtureRecords();
    records[2]["image_B"] = "images/nowhere.png";
    const std::string path = test::writeFixtureJson(root(), records, "missing.json");
    auto json = data::readDepictqaJson(path, root());
    QVERIFY(!json.ok());
    QVERIFY2(contains(json.message(), "missing.json: record 2 (id c1)"), json.message().c_str());
    QVERIFY(contains(json.message(), "nowhere.png") && contains(json.message(), "--skip-missing"));
    auto skipped = data::readDepictqaJson(path, root(), {true});
    QVERIFY(skipped.ok());
    QCOMPARE(skipped->records.size(), size_t(3));
    QCOMPARE(skipped->skippedMissing, 1);
  }

  void badRecordsNameTheirIndex_data() {
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("expected");
    QTest::newRow("task type") << "task_type"
                               << "quality_single_B"
                               << "record 1 (id 7): unknown task_type \"quality_single_B\"";
    QTest::newRow("no answer") << "answer"
                               << ""
                               << "record 1 (id 7): no answer to train on";
    QTest::newRow("image tag in the query") << "query"
                                            << "<Img-A> what?"
                                            << "record 1 (id 7): The question contains";
    QTest::newRow("special token in the answer") << "answer"
                                                 << "Image A</s> is better."
                                                 << "record 1 (id 7): The answer contains \"</s>\"";
  }
  void badRecordsNameTheirIndex() {
    QFETCH(QString, field);
    QFETCH(QString, value);
    QFETCH(QString, expected);
    auto records = test::fixtureRecords();
    records[1][field.toStdString()] = value.toStdString();
    const std::string path = test::writeFixtureJson(root(), records, "bad.json");
    auto json = data::readDepictqaJson(path, root());
    QVERIFY(!json.ok());
    QVERIFY2(contains(json.message(), "bad.json: " + expected.toStdString()), json.message().c_str());
  }

  void malformedJsonGivesTheLine() {
    const std::string path = root() + "/broken.json";
    std::ofstream(path) << "[\n  {\"id\": 1,\n   \"task_type\": }\n]\n";
    auto json = data::readDepictqaJson(path, root());
    QVERIFY(!json.ok());
    QVERIFY2(contains(json.message(), "broken.json: not valid JSON") && contains(json.message(), "line 3"),
             json.message().c_str());
    std::ofstream(root() + "/object.json") << "{\"id\": 1}";
    auto object = data::readDepictqaJson(root() + "/object.json", root());
    QVERIFY(!object.ok() && contains(object.message(), "expected a JSON list"));
  }

  void answersTheTokenizerCannotTake() {
    auto records = test::fixtureRecords();
    records[1]["answer"] = "The image shows \xe2\x98\x83 artefacts.";  // a snowman
    const std::string path = test::writeFixtureJson(root(), records, "unk.json");
    auto json = data::readDepictqaJson(path, root());
    QVERIFY(json.ok());
    auto tiny = text::Tokenizer::load(tinyTokenizer());  // byte fallback: encodes anything
    QVERIFY(tiny.ok());
    QVERIFY(data::checkAnswers(json.value(), *tiny.value(), 0).ok());
    auto tooLong = data::checkAnswers(json.value(), *tiny.value(), 8);
    QVERIFY(!tooLong.ok() && contains(tooLong.message(), "record 0 (id d1): the answer is"));
    // A tokenizer without byte fallback (as some converted checkpoints have) gives <unk>.
    const QString spmTrain = QStandardPaths::findExecutable("spm_train");
    if (spmTrain.isEmpty()) QSKIP("spm_train (Debian package sentencepiece) is not installed");
    std::ofstream(root() + "/corpus.txt")
        << "The image shows severe noise and mild blur.\nImage A is better than Image B.\n"
           "Its quality is poor, fair or good; the texture is clear.\n";
    QProcess spm;
    spm.start(spmTrain, {QString::fromStdString("--input=" + root() + "/corpus.txt"),
                         QString::fromStdString("--model_prefix=" + root() + "/nofallback"), "--vocab_size=60",
                         "--model_type=bpe", "--byte_fallback=false", "--character_coverage=1.0", "--minloglevel=2"});
    QVERIFY(spm.waitForFinished(60000) && spm.exitCode() == 0);
    auto noFallback = text::Tokenizer::load(root() + "/nofallback.model");
    QVERIFY2(noFallback.ok(), noFallback.ok() ? "" : noFallback.message().c_str());
    auto unk = data::checkAnswers(json.value(), *noFallback.value(), 0);
    QVERIFY(!unk.ok());
    QVERIFY2(contains(unk.message(),
                      "unk.json: record 1 (id 7): the answer holds text the model's tokenizer cannot "
                      "encode") &&
                 contains(unk.message(), "\xe2\x98\x83"),
             unk.message().c_str());
  }

  void splitKeepsTheTrainSide() {
    const std::string path = test::writeFixtureJson(root(), test::fixtureRecords(), "train.json");
    auto json = data::readDepictqaJson(path, root());
    QVERIFY(json.ok());
    std::vector<data::DepictqaJson> files{json.value()};
    data::linkReferenceIds(files);
    auto split = data::makeSplit(data::referenceDataset(files), 0.4, 3);
    QVERIFY(split.ok());
    QCOMPARE(split->train.size() + split->eval.size(), size_t(2));  // ref1, ref2 (a2's, through record 3)
    const std::string splitPath = root() + "/split.json";
    QVERIFY(data::writeSplit(split.value(), splitPath).ok());
    auto read = data::readSplit(splitPath);
    QVERIFY(read.ok());
    auto train = files[0];
    QVERIFY(data::applySplit(read.value(), data::SplitSide::Train, train).ok());
    auto eval = files[0];
    QVERIFY(data::applySplit(read.value(), data::SplitSide::Eval, eval).ok());
    QCOMPARE(train.records.size() + eval.records.size(), size_t(4));
    QVERIFY(!train.records.empty() && !eval.records.empty());
    for (const auto& r : train.records) {
      QVERIFY(read->train.count(r.referenceId));
      for (const auto& e : eval.records) QVERIFY(e.referenceId != r.referenceId);
    }
    data::Split other = read.value();
    other.train.erase(train.records.front().referenceId);
    auto copy = files[0];
    auto unlisted = data::applySplit(other, data::SplitSide::Train, copy);
    QVERIFY(!unlisted.ok() && contains(unlisted.message(), "is in neither side of the split"));
  }

  void mixReadsTheTrainSideOnly() {
    const std::string path = test::writeFixtureJson(root(), test::fixtureRecords(), "train.json");
    auto json = data::readDepictqaJson(path, root());
    QVERIFY(json.ok());
    std::vector<data::DepictqaJson> files{json.value()};
    data::linkReferenceIds(files);
    auto split = data::makeSplit(data::referenceDataset(files), 0.5, 3);
    QVERIFY(split.ok() && data::writeSplit(split.value(), root() + "/split.json").ok());
    auto tok = text::Tokenizer::load(tinyTokenizer());
    QVERIFY(tok.ok());
    data::MixOptions o;
    o.sources = {{data::SourceSpec::Kind::DepictqaJson, path, 1}};
    o.imageRoot = root();
    o.splitPath = root() + "/split.json";
    auto mix = data::TrainingMix::open(o, *tok.value(), 0);
    QVERIFY2(mix.ok(), mix.ok() ? "" : mix.message().c_str());
    std::set<std::string> seen;
    for (uint64_t g = 0; g < 40; ++g) {
      auto ex = mix->at(g);
      QVERIFY(ex.ok());
      seen.insert(ex->id);
    }
    auto trainSide = files[0];
    QVERIFY(data::applySplit(split.value(), data::SplitSide::Train, trainSide).ok());
    QVERIFY(!trainSide.records.empty() && trainSide.records.size() < 4);
    QCOMPARE(seen.size(), trainSide.records.size());
    for (const auto& r : trainSide.records) QVERIFY(seen.count(r.source));
    QVERIFY(contains(mix->summary().front(), "of the split's eval side left out"));
  }

  void sourceSpecs() {
    using Kind = data::SourceSpec::Kind;
    auto w = data::parseSourceSpec(Kind::DepictqaJson, "/data/a.json:2.5");
    QVERIFY(w.ok() && w->path == "/data/a.json" && w->weight == 2.5);
    auto plain = data::parseSourceSpec(Kind::Shards, "runs/x:y/train");
    QVERIFY(plain.ok() && plain->path == "runs/x:y/train" && plain->weight == 1);
    QVERIFY(!data::parseSourceSpec(Kind::Shards, "train:0").ok());
    QVERIFY(!data::parseSourceSpec(Kind::Shards, ":2").ok());
  }

  void mixIsDeterministicAndWeighted() {
    auto a = data::WeightedMix::make({3, 1}, {50, 7}, 11);
    auto b = data::WeightedMix::make({3, 1}, {50, 7}, 11);
    auto c = data::WeightedMix::make({3, 1}, {50, 7}, 12);
    QVERIFY(a.ok() && b.ok() && c.ok());
    const int n = 20000;
    int fromFirst = 0, differ = 0;
    std::vector<data::WeightedMix::Pick> picks;
    for (int g = 0; g < n; ++g) {
      const auto p = a->at(uint64_t(g)), q = b->at(uint64_t(g)), r = c->at(uint64_t(g));
      QCOMPARE(p.source, q.source);
      QCOMPARE(p.index, q.index);
      differ += p.source != r.source || p.index != r.index;
      fromFirst += p.source == 0;
      picks.push_back(p);
      QVERIFY(p.index < (p.source == 0 ? 50u : 7u));
    }
    QVERIFY(std::abs(double(fromFirst) / n - 0.75) < 0.02);  // 3 : 1
    QVERIFY(differ > n / 2);                                 // another seed, another order
    // Each source's first epoch visits each of its records once.
    std::set<size_t> second;
    for (const auto& p : picks)
      if (p.source == 1 && second.size() < 7) QVERIFY(second.insert(p.index).second);
    QCOMPARE(second.size(), size_t(7));
    // Asking again (a resumed run) gives the same draws.
    for (int g : {n - 1, 5, 1234}) {
      const auto p = a->at(uint64_t(g));
      QCOMPARE(p.source, picks[size_t(g)].source);
      QCOMPARE(p.index, picks[size_t(g)].index);
    }
    QVERIFY(!data::WeightedMix::make({1, 0}, {3, 3}, 1).ok());
    QVERIFY(!data::WeightedMix::make({1}, {0}, 1).ok());
  }
};

QTEST_GUILESS_MAIN(DepictqaJsonTest)
#include "test_data_depictqa_json.moc"
