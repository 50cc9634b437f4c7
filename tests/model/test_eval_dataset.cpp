// depictqa-eval --dataset kadid10k end to end with the bundled model (models/default):
// a tiny KADID-10k fixture in the dataset's exact layout (dmos.csv, images/) whose rows
// are real KADID-10k rows (names and human MOS from shared/data/kadid10k), with images
// made by our own KADID distortions of generated references. Checks the report and its
// plots, the results file, resume (a finished run, a half-written last line), --limit,
// --split, and a missing image with and without --skip-missing.
//
// With DEPICTQA_WRITE_FIXTURE=<dir> (DEPICTQA_FIXTURE_REFS=<n> references, default 4;
// DEPICTQA_FIXTURE_WIDTH=<px>, default 160, height 3/4 of it; KADID's own is 512) the
// test writeFixtureOnly writes such a fixture there and keeps it (docs/datasets.md uses
// them for its example report and its timing); DEPICTQA_FIXTURE_ALL_TYPES=1 uses all 25
// types instead of five (81 references: all 10,125 rows of KADID-10k).
#include <QtTest/QtTest>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/distortions.h"
#include "test_support.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

QString exe() { return QString::fromStdString(dqa::test::binaryDir() + "/bin/depictqa-eval"); }

struct Run {
  int code = -1;
  std::string out, err;
};

Run runEval(QStringList args) {
  args << "--model" << QString::fromStdString(dqa::test::sourceDir() + "/models/default") << "--threads"
       << "1"
       << "--bootstrap"
       << "200";
  QProcess p;
  p.start(exe(), args);
  Run r;
  if (!p.waitForStarted(10000)) return r;
  p.waitForFinished(600000);
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = p.readAllStandardOutput().toStdString();
  r.err = p.readAllStandardError().toStdString();
  return r;
}

// A reference "photo" of its own: a gradient, shapes, and some fine texture.
cv::Mat referenceImage(int seed, int width) {
  cv::RNG rng(uint64_t(seed) * 7919 + 1);
  const int height = width * 3 / 4;
  cv::Mat m(height, width, CV_8UC3);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x)
      m.at<cv::Vec3b>(y, x) =
          cv::Vec3b(uchar(40 + 160 * x / width), uchar(60 + 120 * y / height), uchar(120 + (seed * 30) % 100));
  for (int k = 0; k < 6; ++k)
    cv::circle(m, {rng.uniform(0, width), rng.uniform(0, height)}, rng.uniform(width / 20, width / 5),
               cv::Scalar(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)), cv::FILLED, cv::LINE_AA);
  cv::Mat texture(m.size(), CV_8UC3);
  rng.fill(texture, cv::RNG::UNIFORM, 0, 40);
  return m + texture;
}

// KADID-10k's rows for references I01..I<refs> of these types, as shipped in shared/.
std::vector<std::vector<std::string>> kadidRows(int refs, const std::set<int>& types) {
  std::ifstream in(dqa::test::sharedDir() + "/data/kadid10k/per_image_mos.csv");
  std::string line;
  std::getline(in, line);
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string s; std::getline(ss, s, ',');) f.push_back(s);
    int ref = 0;
    if (f.size() == 6 && std::sscanf(f[1].c_str(), "I%d", &ref) == 1 && ref <= refs && types.count(std::stoi(f[2])))
      rows.push_back(f);
  }
  return rows;
}

// Writes <root>/dmos.csv and <root>/images/ as KADID-10k ships them; returns the rows.
int writeKadidFixture(const fs::path& root, int refs, int width = 160, bool allTypes = false) {
  fs::create_directories(root / "images");
  std::set<int> types = {1, 3, 10, 11, 17};  // blurs, JPEG, noise, darken
  for (int t = 1; allTypes && t <= 25; ++t) types.insert(t);
  const auto rows = kadidRows(refs, types);
  std::ofstream csv(root / "dmos.csv");
  csv << "dist_img,ref_img,dmos,var\n";
  std::map<std::string, cv::Mat> references;
  for (const auto& r : rows) {
    if (!references.count(r[1])) {
      int ref = 0;
      std::sscanf(r[1].c_str(), "I%d", &ref);
      cv::Mat rgb = referenceImage(ref, width);
      references[r[1]] = rgb;
      cv::Mat bgr;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      cv::imwrite((root / "images" / r[1]).string(), bgr);
    }
    dqa::data::Distortion d;
    d.type = std::stoi(r[2]);
    d.level = std::stoi(r[3]);
    cv::Mat out = dqa::data::applyDistortion(references[r[1]], d, 17), bgr;
    cv::cvtColor(out, bgr, cv::COLOR_RGB2BGR);
    cv::imwrite((root / "images" / r[0]).string(), bgr);
    csv << r[0] << "," << r[1] << "," << r[4] << "," << std::stod(r[5]) * std::stod(r[5]) << "\n";
  }
  return int(rows.size());
}

// A one-value float32 .npy file as numpy writes it (magic, v1.0 header padded to 64 bytes).
void writeNpy(const fs::path& path, float value) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string b = std::string("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xff) + char(header.size() >> 8) + header;
  b.append(reinterpret_cast<const char*>(&value), 4);
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << b;
}

void writePng(const fs::path& path, const cv::Mat& rgb) {
  fs::create_directories(path.parent_path());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  cv::imwrite(path.string(), bgr);
}

std::vector<json> readResults(const fs::path& path) {
  std::ifstream in(path);
  std::vector<json> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(json::parse(l));
  return lines;
}

}  // namespace

class EvalDatasetTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void kadidEndToEnd() {
    QTemporaryDir tmp;
    const fs::path root = fs::path(tmp.path().toStdString()) / "kadid10k",
                   out = fs::path(tmp.path().toStdString()) / "out";
    const int n = writeKadidFixture(root, 3);
    QCOMPARE(n, 3 * 5 * 5);
    const QStringList args = {"--dataset", "kadid10k",
                              "--root",    QString::fromStdString(root.string()),
                              "--out",     QString::fromStdString(out.string())};
    Run r = runEval(args);
    QVERIFY2(r.code == 0, r.err.c_str());
    const auto results = readResults(out / "results.jsonl");
    QCOMPARE(int(results.size()), n);
    for (const auto& j : results) {
      QVERIFY(j["model"].get<double>() >= 1 && j["model"].get<double>() <= 5);
      QVERIFY(j["psnr"].is_number() && j["ssim"].is_number() && j["gmsd"].is_number());
    }
    const json report = json::parse(std::ifstream(out / "report.json"));
    QCOMPARE(report["items"].get<int>(), n);
    for (const char* m : {"model", "psnr", "ssim", "gmsd"}) {
      const json& row = report["measures"][m];
      QCOMPARE(row["n"].get<int>(), n);
      for (const char* k : {"srcc", "plcc", "krcc"}) {
        const double v = row[k].get<double>();
        QVERIFY(v >= -1 && v <= 1);
        QVERIFY(row[std::string(k) + "_ci"][0].get<double>() <= v && v <= row[std::string(k) + "_ci"][1].get<double>());
      }
    }
    QCOMPARE(int(report["per_distortion"].size()), 5);
    for (const char* f : {"report.md", "scatter.png", "per_distortion.png"}) QVERIFY(fs::file_size(out / f) > 100);
    QVERIFY(r.out.find("| model (quality head) | 75 |") != std::string::npos);

    // Resume: everything read back; then a half-written last line is scored again.
    r = runEval(args);
    QVERIFY2(r.code == 0, r.err.c_str());
    QVERIFY2(r.out.find("Scored now: 0, read back from results.jsonl: 75") != std::string::npos, r.out.c_str());
    const auto size = fs::file_size(out / "results.jsonl");
    fs::resize_file(out / "results.jsonl", size - 20);
    r = runEval(args);
    QVERIFY2(r.code == 0, r.err.c_str());
    QVERIFY2(r.out.find("Scored now: 1, read back from results.jsonl: 74") != std::string::npos, r.out.c_str());
    QCOMPARE(int(readResults(out / "results.jsonl").size()), n);
  }

  void limitSplitAndMissing() {
    QTemporaryDir tmp;
    const fs::path base = tmp.path().toStdString(), root = base / "kadid10k";
    writeKadidFixture(root, 4);
    const QString rootArg = QString::fromStdString(root.string());
    Run r = runEval({"--dataset", "kadid10k", "--root", rootArg, "--out", QString::fromStdString((base / "a").string()),
                     "--limit", "4", "--no-classical"});
    QVERIFY2(r.code == 0, r.err.c_str());
    QCOMPARE(int(readResults(base / "a" / "results.jsonl").size()), 4);

    const QString split = QString::fromStdString((base / "split.json").string());
    r = runEval({"--dataset", "kadid10k", "--root", rootArg, "--write-split", split, "--eval-fraction", "0.5"});
    QVERIFY2(r.code == 0, r.err.c_str());
    const json s = json::parse(std::ifstream(split.toStdString()));
    QCOMPARE(int(s["eval"].size()), 2);
    r = runEval({"--dataset", "kadid10k", "--root", rootArg, "--out", QString::fromStdString((base / "b").string()),
                 "--split", split, "--no-classical"});
    QVERIFY2(r.code == 0, r.err.c_str());
    const auto results = readResults(base / "b" / "results.jsonl");
    QCOMPARE(int(results.size()), 50);  // the two eval references' 25 images each
    for (const auto& j : results) {
      const std::string ref = j["key"].get<std::string>().substr(7, 3);  // images/I0x_..
      QVERIFY2(std::find(s["eval"].begin(), s["eval"].end(), ref) != s["eval"].end(), ref.c_str());
    }

    fs::remove(root / "images" / "I02_10_03.png");
    r = runEval({"--dataset", "kadid10k", "--root", rootArg, "--out", QString::fromStdString((base / "c").string())});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.find("dmos.csv:") != std::string::npos && r.err.find("I02_10_03.png") != std::string::npos,
             r.err.c_str());
    r = runEval({"--dataset", "kadid10k", "--root", rootArg, "--out", QString::fromStdString((base / "c").string()),
                 "--skip-missing", "--limit", "3", "--no-classical"});
    QVERIFY2(r.code == 0, r.err.c_str());
    QVERIFY2(r.out.find("skipped because an image is missing (--skip-missing): 1") != std::string::npos, r.out.c_str());
  }

  // BAPPS: pairs whose human answer is unanimous and follows the noise level, so that
  // PSNR's 2AFC accuracy and JND mAP must be exactly 1 (a swapped p0/p1 or sign gives 0).
  void bappsEndToEnd() {
    QTemporaryDir tmp;
    const fs::path base = tmp.path().toStdString();
    dqa::data::Distortion mild, severe;
    mild.type = severe.type = 11;  // white noise
    mild.level = 1;
    severe.level = 5;
    for (int i = 0; i < 6; ++i) {
      const cv::Mat ref = referenceImage(i + 1, 96);
      const cv::Mat a = dqa::data::applyDistortion(ref, mild, 3), b = dqa::data::applyDistortion(ref, severe, 3);
      const std::string name = "00000" + std::to_string(i);
      const fs::path dir = base / "2afc" / "val" / (i < 3 ? "traditional" : "cnn");
      const bool swap = i % 2;  // p1 is the milder one in half the pairs
      writePng(dir / "ref" / (name + ".png"), ref);
      writePng(dir / "p0" / (name + ".png"), swap ? b : a);
      writePng(dir / "p1" / (name + ".png"), swap ? a : b);
      writeNpy(dir / "judge" / (name + ".npy"), swap ? 1.f : 0.f);
      const fs::path jnd = base / "jnd" / "val" / "traditional";
      writePng(jnd / "p0" / (name + ".png"), ref);
      writePng(jnd / "p1" / (name + ".png"), swap ? ref : b);
      writeNpy(jnd / "same" / (name + ".npy"), swap ? 1.f : 0.f);
    }
    for (const char* kind : {"2afc", "jnd"}) {
      const fs::path out = base / (std::string("out-") + kind);
      Run r = runEval({"--dataset", QString("bapps-") + kind, "--root", QString::fromStdString((base / kind).string()),
                       "--out", QString::fromStdString(out.string())});
      QVERIFY2(r.code == 0, r.err.c_str());
      const json report = json::parse(std::ifstream(out / "report.json"));
      QCOMPARE(report["items"].get<int>(), 6);
      QCOMPARE(report["measures"]["psnr"]["value"].get<double>(), 1.0);
      QCOMPARE(report["measures"]["gmsd"]["value"].get<double>(), 1.0);
      const double model = report["measures"]["model"]["value"].get<double>();
      QVERIFY(model >= 0 && model <= 1);
      QVERIFY(fs::file_size(out / "measures.png") > 100);
    }
  }

  void writeFixtureOnly() {
    const QByteArray dir = qgetenv("DEPICTQA_WRITE_FIXTURE");
    if (dir.isEmpty()) QSKIP("set DEPICTQA_WRITE_FIXTURE=<dir> to write a fixture and keep it");
    const int refs =
        qEnvironmentVariableIsSet("DEPICTQA_FIXTURE_REFS") ? qEnvironmentVariableIntValue("DEPICTQA_FIXTURE_REFS") : 4;
    const int width = qEnvironmentVariableIsSet("DEPICTQA_FIXTURE_WIDTH")
                          ? qEnvironmentVariableIntValue("DEPICTQA_FIXTURE_WIDTH")
                          : 160;
    QVERIFY(writeKadidFixture(dir.toStdString(), refs, width, qEnvironmentVariableIsSet("DEPICTQA_FIXTURE_ALL_TYPES")) >
            0);
  }
};

QTEST_GUILESS_MAIN(EvalDatasetTest)
#include "test_eval_dataset.moc"
