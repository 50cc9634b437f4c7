// `depictqa batch` end to end: runs the real executable on the LLaVA fixture (random
// weights, real tokenizer) with images written into a temporary folder. Checks the
// lines, resume (a --limit run, a half-written last line, a killed run, a run with
// nothing left), per-record errors, JSON-array input with --image-root and two workers,
// and that the single-question mode still answers with --json.
#include <QtTest/QtTest>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <set>

#include "test_support.h"

using json = nlohmann::json;

namespace {

QString exe() { return QString::fromStdString(dqa::test::binaryDir() + "/bin/depictqa"); }

QStringList modelArgs() {
  return {QStringLiteral("--model"),
          QString::fromStdString(dqa::test::fixtureDir("llava-tiny")),
          QStringLiteral("--tokenizer"),
          QString::fromStdString(dqa::test::fixtureDir("sentencepiece") + "/tiny.model"),
          QStringLiteral("--context-length"),
          QStringLiteral("2048"),
          QStringLiteral("--threads"),
          QStringLiteral("1"),
          QStringLiteral("--max-new-tokens"),
          QStringLiteral("6")};
}

struct Run {
  int code = -1;
  QByteArray out, err;
};

Run runDepictqa(const QStringList& args, int timeoutMs = 300000) {
  QProcess p;
  p.start(exe(), args);
  Run r;
  if (!p.waitForStarted(10000)) {
    r.err = "could not start " + exe().toUtf8();
    return r;
  }
  p.waitForFinished(timeoutMs);
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = p.readAllStandardOutput();
  r.err = p.readAllStandardError();
  return r;
}

QByteArray readFile(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.readAll();
}

void writeFile(const QString& path, const QByteArray& bytes, bool append = false) {
  QFile f(path);
  QVERIFY(f.open(append ? QIODevice::Append : QIODevice::WriteOnly | QIODevice::Truncate));
  f.write(bytes);
}

std::vector<json> jsonLines(const QByteArray& bytes) {
  std::vector<json> lines;
  for (const QByteArray& l : bytes.split('\n'))
    if (!l.trimmed().isEmpty()) lines.push_back(json::parse(l.toStdString(), nullptr, false));
  return lines;
}

std::string keyOf(const json& line) {
  if (!line.value("id", json()).is_null()) return line["id"].dump();
  return "line " + std::to_string(line.value("line", 0));
}

void writeImage(const QString& path, int seed, int w = 64, int h = 64) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(static_cast<uint64_t>(seed));
  rng.fill(m, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(m, m, cv::Size(0, 0), 1.0 + seed);
  QVERIFY(cv::imwrite(path.toStdString(), m));
}

}  // namespace

class CliBatchTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir;
  QString records, output;
  const std::set<std::string> allKeys{"\"r1\"", "\"r2\"", "\"r3\"", "\"r4\"", "\"r5\"", "7", "line 7"};

  QStringList batchArgs(const QString& in, const QString& out) const {
    return QStringList{QStringLiteral("batch"), QStringLiteral("--input"), in, QStringLiteral("--output"), out} +
           modelArgs();
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY2(QFileInfo(exe()).isExecutable(), qPrintable("build the depictqa target first: " + exe()));
    QVERIFY(dir.isValid());
    QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("img")));
    writeImage(dir.filePath(QStringLiteral("img/ref.png")), 0);
    writeImage(dir.filePath(QStringLiteral("img/a.png")), 1);
    writeImage(dir.filePath(QStringLiteral("img/b.png")), 2, 80, 60);
    writeFile(dir.filePath(QStringLiteral("img/broken.png")), "not a png at all");
    // Line 7 is not JSON (line 5 is blank); r4's image does not exist; id 7 is a number and its image is broken.
    records = dir.filePath(QStringLiteral("records.jsonl"));
    writeFile(records,
              "{\"id\": \"r1\", \"image_ref\": \"img/ref.png\", \"image_A\": \"img/a.png\", \"image_B\": "
              "\"img/b.png\", \"query\": null}\n"
              "{\"id\": \"r2\", \"image_ref\": null, \"image_A\": \"img/a.png\", \"image_B\": \"img/b.png\", "
              "\"query\": \"Which image is better?\"}\n"
              "{\"id\": \"r3\", \"image_ref\": \"img/ref.png\", \"image_A\": \"img/a.png\"}\n"
              "{\"id\": \"r4\", \"image_A\": \"img/missing.png\", \"image_B\": \"img/b.png\"}\n"
              "\n"
              "{\"id\": \"r5\", \"image_A\": \"img/a.png\", \"image_B\": \"img/b.png\", \"task\": \"reasoning\"}\n"
              "{\"id\": \"r6\", \"image_A\": \"img/a.png\", \"image_B\":\n"
              "{\"id\": 7, \"image_A\": \"img/broken.png\"}\n");
    output = dir.filePath(QStringLiteral("out/results.jsonl"));
  }

  void limitedFirstRun() {
    const Run r = runDepictqa(batchArgs(records, output) << QStringLiteral("--limit") << QStringLiteral("2"));
    QVERIFY2(r.code == 0, r.err.constData());
    const auto lines = jsonLines(readFile(output));
    QCOMPARE(lines.size(), size_t(2));
    QCOMPARE(lines[0]["id"].get<std::string>(), std::string("r1"));
    QCOMPARE(lines[1]["id"].get<std::string>(), std::string("r2"));
    QVERIFY(r.err.contains("ETA"));  // the progress bar
  }

  void resumesAfterHalfWrittenLine() {
    const QByteArray before = readFile(output);
    writeFile(output, "{\"id\": \"r3\", \"text\": \"half wri", true);  // killed mid-write
    const Run r = runDepictqa(batchArgs(records, output));
    QVERIFY2(r.code == 0, r.err.constData());
    QVERIFY2(r.err.contains("half-written"), r.err.constData());
    const QByteArray after = readFile(output);
    QVERIFY2(after.startsWith(before), "finished lines must be kept as they were");
    QVERIFY(after.endsWith('\n'));
    const auto lines = jsonLines(after);
    std::set<std::string> keys;
    for (const auto& l : lines) {
      QVERIFY2(!l.is_discarded(), "every line is JSON");
      QVERIFY2(keys.insert(keyOf(l)).second, ("duplicate " + keyOf(l)).c_str());
    }
    QVERIFY(keys == allKeys);
  }

  void linesCarryAnswersAndErrors() {
    std::map<std::string, json> byKey;
    for (const auto& l : jsonLines(readFile(output))) byKey[keyOf(l)] = l;
    for (const char* id : {"\"r1\"", "\"r2\"", "\"r3\"", "\"r5\""}) {
      const json& l = byKey[id];
      QVERIFY2(l["error"].is_null(), l.dump().c_str());
      QVERIFY(l["text"].is_string());
      QVERIFY(l["tokens"].get<int>() >= 1 && l["tokens"].get<int>() <= 6);
      QVERIFY(l["timing_ms"]["total"].get<double>() > 0);
      QVERIFY(l["timing_ms"].contains("first_token"));
      QVERIFY(l["answer"].is_null() || l["answer"] == "Image A" || l["answer"] == "Image B");
      // What the evaluation's parser reads in the text (its cases: test_data_reading_json).
      QVERIFY2(l["reading"].is_object(), l.dump().c_str());
      if (!l["confidence"].is_null()) {
        const double c = l["confidence"].get<double>();
        QVERIFY(c >= 0 && c <= 1);
      }
    }
    QCOMPARE(byKey["\"r1\""]["task"].get<std::string>(), std::string("comparison"));
    QCOMPARE(byKey["\"r3\""]["task"].get<std::string>(), std::string("description"));
    QVERIFY(byKey["\"r3\""]["answer"].is_null());
    QCOMPARE(byKey["\"r5\""]["task"].get<std::string>(), std::string("reasoning"));
    QVERIFY(byKey["\"r5\""]["reading"]["compares_an_aspect_twice"].is_array());
    QVERIFY(byKey["\"r5\""]["reading"]["speaks_of_a_preference_nobody_stated"].is_boolean());
    QVERIFY(byKey["\"r1\""]["reading"].contains("winner"));
    QVERIFY(!byKey["\"r3\""]["reading"].contains("winner"));
    QCOMPARE(byKey["\"r2\""]["query"].get<std::string>(), std::string("Which image is better?"));
    // The input's fields come back as given (relative paths).
    QCOMPARE(byKey["\"r1\""]["image_A"].get<std::string>(), std::string("img/a.png"));

    const json& missing = byKey["\"r4\""];
    QVERIFY(missing["error"].is_string());
    QVERIFY2(missing["error"].get<std::string>().find("image_A") != std::string::npos, missing.dump().c_str());
    QVERIFY(missing["text"].is_null());
    QVERIFY(!missing.contains("reading"));
    const json& unreadable = byKey["line 7"];
    QVERIFY(unreadable["id"].is_null());
    QCOMPARE(unreadable["line"].get<int>(), 7);
    QVERIFY(unreadable["error"].get<std::string>().find("not valid JSON") != std::string::npos);
    const json& broken = byKey["7"];
    QCOMPARE(broken["id"].get<int>(), 7);
    QVERIFY(broken["error"].is_string());
  }

  void nothingLeftLeavesOutputAlone() {
    const QByteArray before = readFile(output);
    const Run r = runDepictqa(batchArgs(records, output));
    QVERIFY2(r.code == 0, r.err.constData());
    QVERIFY2(r.err.contains("0 to answer"), r.err.constData());
    QCOMPARE(readFile(output), before);
  }

  void retryErrorsAppendsNewLines() {
    const size_t before = jsonLines(readFile(output)).size();
    const Run r = runDepictqa(batchArgs(records, output) << QStringLiteral("--retry-errors"));
    QVERIFY2(r.code == 0, r.err.constData());
    QCOMPARE(jsonLines(readFile(output)).size(), before + 3);  // r4, line 7, id 7 again
  }

  void killedRunResumes() {
    // Many records, longer answers: kill the process once the first lines are written.
    QString many = dir.filePath(QStringLiteral("many.jsonl")), out = dir.filePath(QStringLiteral("many.out.jsonl"));
    QByteArray text;
    const int n = 12;
    for (int i = 0; i < n; ++i)
      text += QStringLiteral(
                  "{\"id\": \"k%1\", \"image_ref\": \"img/ref.png\", \"image_A\": \"img/a.png\", \"image_B\": "
                  "\"img/b.png\"}")
                  .arg(i)
                  .toUtf8() +
              "\n";
    writeFile(many, text);
    QStringList args = batchArgs(many, out);
    args.replace(args.indexOf(QStringLiteral("6")), QStringLiteral("24"));  // --max-new-tokens
    QProcess p;
    p.start(exe(), args);
    QVERIFY(p.waitForStarted(10000));
    QElapsedTimer t;
    t.start();
    while (p.state() == QProcess::Running && jsonLines(readFile(out)).size() < 2 && t.elapsed() < 240000)
      QTest::qWait(20);
    const bool killedEarly = p.state() == QProcess::Running;
    p.kill();  // SIGKILL: no chance to tidy up
    p.waitForFinished(10000);
    const size_t firstRun = jsonLines(readFile(out)).size();
    if (killedEarly) QVERIFY(firstRun < size_t(n));
    const Run r = runDepictqa(batchArgs(many, out));
    QVERIFY2(r.code == 0, r.err.constData());
    const auto lines = jsonLines(readFile(out));
    QCOMPARE(lines.size(), size_t(n));
    std::set<std::string> ids;
    for (const auto& l : lines) {
      QVERIFY(!l.is_discarded());
      QVERIFY(l["error"].is_null());
      ids.insert(l["id"].get<std::string>());
    }
    QCOMPARE(ids.size(), size_t(n));
    if (!killedEarly) QSKIP("the first run finished before it could be killed; resume checked without a kill");
  }

  void jsonArrayWithImageRootAndWorkers() {
    QTemporaryDir other;
    const QString in = other.filePath(QStringLiteral("test.json")), out = other.filePath(QStringLiteral("r.jsonl"));
    writeFile(in,
              "[\n"
              "  {\"id\": 1, \"image_ref\": \"img/ref.png\", \"image_A\": \"img/a.png\", \"image_B\": \"img/b.png\", "
              "\"query\": \"\"},\n"
              "  {\"id\": 2, \"image_ref\": null, \"image_A\": \"img/a.png\"},\n"
              "  {\"id\": 3, \"image_A\": \"img/b.png\", \"image_B\": \"img/a.png\", \"task_type\": "
              "\"quality_compare_noref\"}\n"
              "]");
    const Run r =
        runDepictqa(batchArgs(in, out) << QStringLiteral("--image-root") << dir.path() << QStringLiteral("--workers")
                                       << QStringLiteral("2") << QStringLiteral("--short"));
    QVERIFY2(r.code == 0, r.err.constData());
    const auto lines = jsonLines(readFile(out));
    QCOMPARE(lines.size(), size_t(3));
    std::set<int> ids;
    for (const auto& l : lines) {
      QVERIFY2(l["error"].is_null(), l.dump().c_str());
      ids.insert(l["id"].get<int>());
      if (l["id"] == 2) QCOMPARE(l["task"].get<std::string>(), std::string("description"));
      if (l["id"] == 3) QCOMPARE(l["task"].get<std::string>(), std::string("comparison"));
    }
    QCOMPARE(ids, (std::set<int>{1, 2, 3}));
  }

  // Two shards (the first resumed after a --limit run) and merge: the lines of one run,
  // but for the timings. A missing shard or one given twice: an error naming the ids.
  void shardsAndMergeMatchOneRun() {
    QTemporaryDir other;
    auto at = [&](const char* name) { return other.filePath(QString::fromLatin1(name)); };
    const Run one = runDepictqa(batchArgs(records, at("one.jsonl")));
    QVERIFY2(one.code == 0, one.err.constData());
    QVERIFY(runDepictqa(batchArgs(records, at("s0.jsonl")) << "--shard"
                                                           << "0/2"
                                                           << "--limit"
                                                           << "1")
                .code == 0);
    for (const char* shard : {"0/2", "1/2"}) {
      const Run r =
          runDepictqa(batchArgs(records, at(shard[0] == '0' ? "s0.jsonl" : "s1.jsonl")) << "--shard" << shard);
      QVERIFY2(r.code == 0, r.err.constData());
      QVERIFY2(r.err.contains("in shard " + QByteArray(shard)), r.err.constData());
    }
    const auto s0 = jsonLines(readFile(at("s0.jsonl"))), s1 = jsonLines(readFile(at("s1.jsonl")));
    QVERIFY2(!s0.empty() && !s1.empty(), "both shards have records");
    QCOMPARE(s0.size() + s1.size(), allKeys.size());
    const QStringList merge{"batch", "merge", "-i", records, "-o", at("merged.jsonl"), at("s0.jsonl"), at("s1.jsonl")};
    const Run merged = runDepictqa(merge);
    QVERIFY2(merged.code == 0, merged.err.constData());
    auto withoutTimes = [](std::vector<json> lines) {
      for (auto& l : lines) l.erase("timing_ms");
      return lines;
    };
    const auto a = withoutTimes(jsonLines(readFile(at("one.jsonl")))),
               b = withoutTimes(jsonLines(readFile(at("merged.jsonl"))));
    QCOMPARE(b.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i) QVERIFY2(a[i] == b[i], (a[i].dump() + "\n" + b[i].dump()).c_str());

    const Run half = runDepictqa({"batch", "merge", "-i", records, "-o", at("half.jsonl"), at("s0.jsonl")});
    QCOMPARE(half.code, 1);
    for (const auto& l : s1)
      if (!l["id"].is_null())
        QVERIFY2(half.err.contains(QByteArray::fromStdString(l["id"].dump())), half.err.constData());
    QVERIFY2(half.err.contains("have no line in any shard"), half.err.constData());
    QVERIFY(!QFileInfo::exists(at("half.jsonl")));
    const Run twice =
        runDepictqa({"batch", "merge", "-o", at("twice.jsonl"), at("s0.jsonl"), at("s1.jsonl"), at("s0.jsonl")});
    QCOMPARE(twice.code, 1);
    QVERIFY2(twice.err.contains("answered by two shards"), twice.err.constData());
    QCOMPARE(runDepictqa(batchArgs(records, at("x.jsonl")) << "--shard"
                                                           << "2/2")
                 .code,
             1);
  }

  void usageErrors() {
    QCOMPARE(runDepictqa({QStringLiteral("batch"), QStringLiteral("--output"), dir.filePath(QStringLiteral("x.jsonl"))})
                     .code == 0,
             false);  // --input is required
    const Run missing =
        runDepictqa(batchArgs(dir.filePath(QStringLiteral("nope.jsonl")), dir.filePath(QStringLiteral("x.jsonl"))));
    QCOMPARE(missing.code, 1);
    QVERIFY(missing.err.contains("cannot read"));
    const Run badTask = runDepictqa(batchArgs(records, dir.filePath(QStringLiteral("x.jsonl")))
                                    << QStringLiteral("--task") << QStringLiteral("nonsense"));
    QCOMPARE(badTask.code, 1);
  }

  void singleQuestionModeUnchanged() {
    const Run r =
        runDepictqa(QStringList{QStringLiteral("-r"), dir.filePath(QStringLiteral("img/ref.png")), QStringLiteral("-a"),
                                dir.filePath(QStringLiteral("img/a.png")), QStringLiteral("-b"),
                                dir.filePath(QStringLiteral("img/b.png")), QStringLiteral("--json")} +
                    modelArgs());
    QVERIFY2(r.code == 0, r.err.constData());
    const json j = json::parse(r.out.toStdString(), nullptr, false);
    QVERIFY2(!j.is_discarded(), r.out.constData());
    QCOMPARE(j["task"].get<std::string>(), std::string("comparison"));
    QVERIFY(j["answer"].is_string());
    QVERIFY(j["tokens"].get<int>() <= 6);
    QVERIFY2(j["reading"].contains("winner"), r.out.constData());
  }
};

QTEST_GUILESS_MAIN(CliBatchTest)
#include "test_cli_batch.moc"
