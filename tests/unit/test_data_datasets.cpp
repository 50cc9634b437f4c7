// The dataset readers (core/data/datasets), each on a tiny fixture written here in that
// dataset's exact layout (a few generated images and the index file as the dataset ships
// it, quirks included: TID2013's mixed-case names, CSIQ's tags, LIVE's per-folder lists
// and dmos order, PIPAL's Distortion_N folders, BAPPS's .npy judgements), the errors that
// name a file and line, --skip-missing's count, and the split by reference image.
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/data/datasets/dataset.h"
#include "core/data/datasets/npy.h"
#include "core/data/datasets/split.h"
#include "core/data/datasets/table.h"
#include "test_support.h"

using namespace dqa;
namespace fs = std::filesystem;

namespace {

void writeText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A small image of its own grey level, so each file differs.
void writeImage(const fs::path& path, int grey = 128) {
  fs::create_directories(path.parent_path());
  cv::Mat m(24, 32, CV_8UC3, cv::Scalar(grey, grey / 2, 255 - grey));
  QVERIFY(cv::imwrite(path.string(), m));
}

// A .npy file as numpy writes it: magic, version, header padded to 64 bytes, data.
std::string npyBytes(const std::string& descr, const std::vector<double>& values, int major = 1) {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(values.size()) + ",), }";
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string b = "\x93NUMPY";
  b += char(major);
  b += char(0);
  const uint32_t len = uint32_t(header.size());
  for (int k = 0; k < (major == 1 ? 2 : 4); ++k) b += char((len >> (8 * k)) & 0xff);
  b += header;
  for (double v : values) {
    char raw[8];
    if (descr == "<f4") {
      const float f = float(v);
      std::memcpy(raw, &f, 4);
      b.append(raw, 4);
    } else {
      std::memcpy(raw, &v, 8);
      b.append(raw, 8);
    }
  }
  return b;
}

// The first `n` rows of the KADID-10k scores shipped in shared/ (real names and MOS).
std::vector<std::vector<std::string>> kadidRows(int n) {
  std::ifstream in(test::sharedDir() + "/data/kadid10k/per_image_mos.csv");
  std::string line;
  std::getline(in, line);  // dist_img,ref_img,dist_type,level,mos,std
  std::vector<std::vector<std::string>> rows;
  while ((int)rows.size() < n && std::getline(in, line)) rows.push_back(data::datasets::splitCsv(line));
  return rows;
}

}  // namespace

class DatasetReadersTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void csvAndNumbers() {
    using namespace data::datasets;
    const auto f = splitCsv(R"("image_name","c1" , "a ""quoted"", b",4.5)");
    QCOMPARE(int(f.size()), 4);
    QCOMPARE(f[0], std::string("image_name"));
    QCOMPARE(f[1], std::string("c1"));
    QCOMPARE(f[2], std::string("a \"quoted\", b"));
    QCOMPARE(parseNumber("1e-3", "x", 1, "s").value(), 1e-3);
    QCOMPARE(parseNumber(" +4.25 ", "x", 1, "s").value(), 4.25);
    const auto comma = parseNumber("4,5", "f.csv", 7, "the MOS");
    QVERIFY(!comma);
    QCOMPARE(comma.message(), std::string("f.csv:7: the MOS \"4,5\" is not a number"));
    QVERIFY(!parseNumber("nan", "x", 1, "s"));
  }

  void kadid10k() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const auto rows = kadidRows(6);
    QCOMPARE(int(rows.size()), 6);
    std::string csv = "dist_img,ref_img,dmos,var\n";
    for (const auto& r : rows) {
      csv += r[0] + "," + r[1] + "," + r[4] + "," + r[5] + "\n";
      writeImage(root / "images" / r[0]);
    }
    writeImage(root / "images" / rows[0][1]);
    writeText(root / "dmos.csv", csv);
    auto d = data::readDataset("kadid10k", root.string());
    QVERIFY2(d.ok(), d.ok() ? "" : d.message().c_str());
    QCOMPARE(int(d->images.size()), 6);
    const auto& first = d->images[0];
    QCOMPARE(first.score, std::stod(rows[0][4]));
    QCOMPARE(first.referenceId, fs::path(rows[0][1]).stem().string());
    QCOMPARE(first.distortion, std::string("gaussian_blur"));  // I32_01_01: type 1
    QCOMPARE(first.level, std::stoi(rows[0][3]));
    QCOMPARE(first.reference, (root / "images" / rows[0][1]).string());
    QVERIFY(d->higherIsBetter);
    QCOMPARE(first.source, (root / "dmos.csv").string() + ":2");

    // A row naming a missing image: an error at its line, or a count with skipMissing.
    fs::remove(root / "images" / rows[2][0]);
    auto missing = data::readDataset("kadid10k", root.string());
    QVERIFY(!missing);
    QVERIFY2(missing.message().find("dmos.csv:4: names image") != std::string::npos, missing.message().c_str());
    QVERIFY(missing.message().find("--skip-missing") != std::string::npos);
    data::ReadOptions skip;
    skip.skipMissing = true;
    auto skipped = data::readDataset("kadid10k", root.string(), skip);
    QVERIFY(skipped.ok());
    QCOMPARE(int(skipped->images.size()), 5);
    QCOMPARE(skipped->skippedMissing, 1);

    writeText(root / "dmos.csv", "dist_img,ref_img,dmos,var\n" + rows[0][0] + "," + rows[0][1] + ",4.x,0.1\n");
    auto bad = data::readDataset("kadid10k", root.string());
    QVERIFY(!bad);
    QCOMPARE(bad.message(), (root / "dmos.csv").string() + ":2: the score \"4.x\" is not a number");
    fs::remove(root / "dmos.csv");
    auto none = data::readDataset("kadid10k", root.string());
    QVERIFY(!none);
    QVERIFY(none.message().find((root / "dmos.csv").string() + ": cannot open") == 0);
  }

  void tid2013MixedCase() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    // As shipped: the list says i01_08_3.bmp, I25_..., the disk has other cases.
    writeText(root / "mos_with_names.txt", "3.14286 i01_08_3.bmp\r\n5.51429 I25_01_1.bmp\r\n");
    writeImage(root / "distorted_images" / "i01_08_3.bmp");
    writeImage(root / "distorted_images" / "i25_01_1.bmp");
    writeImage(root / "reference_images" / "I01.BMP");
    writeImage(root / "reference_images" / "I25.BMP");
    auto d = data::readDataset("tid2013", root.string());
    QVERIFY2(d.ok(), d.ok() ? "" : d.message().c_str());
    QCOMPARE(int(d->images.size()), 2);
    QCOMPARE(d->images[0].distortion, std::string("Gaussian blur"));
    QCOMPARE(d->images[0].level, 3);
    QCOMPARE(d->images[0].reference, (root / "reference_images" / "I01.BMP").string());
    QCOMPARE(d->images[1].image, (root / "distorted_images" / "i25_01_1.bmp").string());
    QCOMPARE(d->images[1].referenceId, std::string("i25"));
    QCOMPARE(d->images[1].score, 5.51429);
    // TID2008 has 17 types: type 24 is not one of them.
    writeText(root / "mos_with_names.txt", "4.0 i01_24_1.bmp\n");
    writeImage(root / "distorted_images" / "i01_24_1.bmp");
    QVERIFY(data::readDataset("tid2013", root.string()).ok());
    auto old = data::readDataset("tid2008", root.string());
    QVERIFY(!old);
    QVERIFY2(old.message().find("mos_with_names.txt:1:") != std::string::npos, old.message().c_str());
  }

  void csiq() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    writeText(root / "csiq.DMOS.csv",
              "CSIQ DMOS,,,,,\nimage,dst_idx,dst_type,dst_lev,dmos_std,dmos\n1600,1,noise,1,0.0241,0.0620\n"
              "1600,3,jpeg 2000,2,0.0418,0.2014\n");
    writeImage(root / "dst_imgs" / "awgn" / "1600.AWGN.1.png");
    writeImage(root / "dst_imgs" / "jpeg2000" / "1600.jpeg2000.2.png");
    writeImage(root / "src_imgs" / "1600.png");
    auto d = data::readDataset("csiq", root.string());
    QVERIFY2(d.ok(), d.ok() ? "" : d.message().c_str());
    QCOMPARE(int(d->images.size()), 2);
    QVERIFY(!d->higherIsBetter);
    QCOMPARE(d->images[0].image, (root / "dst_imgs" / "awgn" / "1600.AWGN.1.png").string());
    QCOMPARE(d->images[1].distortion, std::string("jpeg2000"));
    QCOMPARE(d->images[1].score, 0.2014);
    QCOMPARE(d->images[1].source, (root / "csiq.DMOS.csv").string() + ":4");
  }

  void liveRelease2() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    // dmos.txt in dmos.mat's order: jp2k 227, jpeg 233, wn, gblur, fastfading 174 each.
    std::string dmos;
    for (int i = 0; i < 982; ++i) dmos += std::to_string(10 + i * 0.05) + (i == 2 ? " 1\n" : " 0\n");
    writeText(root / "dmos.txt", dmos);
    writeText(root / "jp2k" / "info.txt", "bikes.bmp img1.bmp 0.5\nbikes.bmp img3.bmp 0.0\n");
    writeText(root / "jpeg" / "info.txt", "parrots.bmp img2.bmp 0.3\n");
    writeText(root / "wn" / "info.txt", "bikes.bmp img174.bmp 1.0\n");
    for (const char* f : {"gblur", "fastfading"}) writeText(root / f / "info.txt", "\n");
    for (const char* f : {"jp2k/img1.bmp", "jp2k/img3.bmp", "jpeg/img2.bmp", "wn/img174.bmp", "refimgs/bikes.bmp",
                          "refimgs/parrots.bmp"})
      writeImage(root / f);
    auto d = data::readDataset("live", root.string());
    QVERIFY2(d.ok(), d.ok() ? "" : d.message().c_str());
    QCOMPARE(int(d->images.size()), 3);  // jp2k img3 is row 3, orgs = 1: the reference itself
    QCOMPARE(d->images[0].score, 10.0);
    QCOMPARE(d->images[1].score, std::stod(std::to_string(10 + 228 * 0.05)));  // jpeg img2: row 227 + 2
    QCOMPARE(d->images[1].distortion, std::string("jpeg"));
    QCOMPARE(d->images[2].score, std::stod(std::to_string(10 + (227 + 233 + 173) * 0.05)));
    QCOMPARE(d->images[2].referenceId, std::string("bikes"));
    QVERIFY(!d->notes.empty() && d->notes[0].find("1 rows") == 0);
    writeText(root / "dmos.txt", "10 0\n");
    auto shortList = data::readDataset("live", root.string());
    QVERIFY(!shortList);
    QVERIFY(shortList.message().find("982") != std::string::npos);
  }

  void pipal() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    writeText(root / "Train_Label" / "A0001.txt", "A0001_00_00.bmp,1496.6406\nA0001_10_03.bmp,1321.25\n");
    writeImage(root / "Train_Dis" / "Distortion_1" / "A0001_00_00.bmp");
    writeImage(root / "Train_Dis" / "Distortion_3" / "A0001_10_03.bmp");
    writeImage(root / "Train_Ref" / "A0001.bmp");
    auto d = data::readDataset("pipal", root.string());
    QVERIFY2(d.ok(), d.ok() ? "" : d.message().c_str());
    QCOMPARE(int(d->images.size()), 2);
    QCOMPARE(d->images[1].image, (root / "Train_Dis" / "Distortion_3" / "A0001_10_03.bmp").string());
    QCOMPARE(d->images[1].distortion, std::string("type 10"));
    QCOMPARE(d->images[1].referenceId, std::string("A0001"));
    QCOMPARE(d->images[0].score, 1496.6406);
  }

  void npyFormat() {
    using data::datasets::parseNpy;
    auto f4 = parseNpy(npyBytes("<f4", {0.25, 0.75}), "x.npy");
    QVERIFY(f4.ok());
    QCOMPARE(f4->size(), size_t(2));
    QCOMPARE((*f4)[1], 0.75);
    auto f8 = parseNpy(npyBytes("<f8", {0.1}, 2), "y.npy");
    QVERIFY(f8.ok());
    QCOMPARE((*f8)[0], 0.1);
    QVERIFY(!parseNpy("PNG....", "z.npy"));
    auto big = parseNpy(npyBytes(">f4", {1}), "b.npy");
    QVERIFY(!big);
    QVERIFY(big.message().find("'>f4'") != std::string::npos);
    std::string cut = npyBytes("<f8", {1, 2});
    cut.resize(cut.size() - 3);
    QVERIFY(!parseNpy(cut, "c.npy"));
  }

  void bapps() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    const fs::path cnn = root / "2afc" / "val" / "cnn", trad = root / "2afc" / "val" / "traditional";
    for (const fs::path& dir : {cnn, trad})
      for (const char* n : {"000000", "000001"}) {
        for (const char* f : {"ref", "p0", "p1"}) writeImage(dir / f / (std::string(n) + ".png"));
      }
    writeText(cnn / "judge" / "000000.npy", npyBytes("<f4", {0.2}));
    writeText(cnn / "judge" / "000001.npy", npyBytes("<f4", {1.0}));
    writeText(trad / "judge" / "000000.npy", npyBytes("<f8", {0.6}));
    writeText(trad / "judge" / "000001.npy", npyBytes("<f4", {0.0}));
    auto d = data::readDataset("bapps-2afc", (root / "2afc").string());
    QVERIFY2(d.ok(), d.ok() ? "" : d.message().c_str());
    QCOMPARE(int(d->pairs.size()), 4);
    QCOMPARE(d->pairKind, data::PairKind::TwoAfc);
    QCOMPARE(d->pairs[0].subset, std::string("cnn"));
    QCOMPARE(d->pairs[0].human, double(0.2f));
    QCOMPARE(d->pairs[2].human, 0.6);
    QCOMPARE(d->pairs[2].reference, (trad / "ref" / "000000.png").string());
    QCOMPARE(d->pairs[3].referenceId, std::string("val/traditional/000001"));
    // JND: p0, p1, same.
    const fs::path jnd = root / "jnd" / "val" / "traditional";
    writeImage(jnd / "p0" / "000000.png");
    writeImage(jnd / "p1" / "000000.png", 90);
    writeText(jnd / "same" / "000000.npy", npyBytes("<f4", {0.5}));
    auto j = data::readDataset("bapps-jnd", (root / "jnd").string());
    QVERIFY2(j.ok(), j.ok() ? "" : j.message().c_str());
    QCOMPARE(int(j->pairs.size()), 1);
    QCOMPARE(j->pairs[0].human, 0.5);
    QVERIFY(j->pairs[0].reference.empty());
    fs::remove(jnd / "p1" / "000000.png");
    auto gone = data::readDataset("bapps-jnd", (root / "jnd").string());
    QVERIFY(!gone);
    QVERIFY2(gone.message().find("000000.npy: names image p1") != std::string::npos, gone.message().c_str());
  }

  void koniqAndSpaq() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    writeText(root / "koniq10k_scores_and_distributions.csv",
              "\"image_name\",\"c1\",\"c2\",\"c3\",\"c4\",\"c5\",\"c_total\",\"MOS\",\"SD\",\"MOS_zscore\"\n"
              "\"10004473376.jpg\",0,0,25,73,7,105,3.828571429,0.527277069,77.38387604\n");
    writeImage(root / "1024x768" / "10004473376.jpg");
    auto k = data::readDataset("koniq10k", root.string());
    QVERIFY2(k.ok(), k.ok() ? "" : k.message().c_str());
    QCOMPARE(k->images[0].score, 3.828571429);
    QVERIFY(k->images[0].reference.empty());
    writeText(
        root / "MOS and Image attribute scores.csv",
        "Image "
        "name,MOS,Brightness,Colorfulness,Contrast,Noisiness,Sharpness\n00001.jpg,42.75,45.1,38.2,40,50.3,37.9\n");
    writeImage(root / "TestImage" / "00001.jpg");
    auto s = data::readDataset("spaq", root.string());
    QVERIFY2(s.ok(), s.ok() ? "" : s.message().c_str());
    QCOMPARE(s->images[0].score, 42.75);
    QCOMPARE(s->scaleHigh, 100.0);
  }

  void genericCsv() {
    QTemporaryDir tmp;
    const fs::path root = tmp.path().toStdString();
    writeText(root / "scores.csv",
              "image,reference,dmos,distortion\nshots/a.png,refs/r.png,12.5,blur\nshots/b.png,refs/r.png,3,\n");
    writeImage(root / "shots" / "a.png");
    writeImage(root / "shots" / "b.png");
    writeImage(root / "refs" / "r.png");
    auto d = data::readDataset("csv", root.string());
    QVERIFY2(d.ok(), d.ok() ? "" : d.message().c_str());
    QVERIFY(!d->higherIsBetter);
    QCOMPARE(d->images[0].reference, (root / "refs" / "r.png").string());
    QCOMPARE(d->images[0].distortion, std::string("blur"));
    QCOMPARE(d->images[1].referenceId, std::string("r"));
    auto direct = data::readDataset("csv", (root / "scores.csv").string());
    QVERIFY(direct.ok());
    writeText(root / "scores.csv", "image,quality\nshots/a.png,3\n");
    auto noScore = data::readDataset("csv", root.string());
    QVERIFY(!noScore);
    QVERIFY(noScore.message().find("score column") != std::string::npos);
    QVERIFY(!data::readDataset("nosuch", root.string()));
  }

  void splitByReference() {
    data::Dataset d;
    d.name = "kadid10k";
    for (int r = 0; r < 10; ++r)
      for (int k = 0; k < 3; ++k) {
        data::IqaRecord rec;
        rec.referenceId = "I" + std::to_string(r);
        rec.image = rec.referenceId + "_" + std::to_string(k);
        d.images.push_back(rec);
      }
    auto s = data::makeSplit(d, 0.3, 7);
    QVERIFY(s.ok());
    QCOMPARE(int(s->eval.size()), 3);
    QCOMPARE(int(s->train.size()), 7);
    for (const auto& id : s->eval) QVERIFY(!s->train.count(id));
    QCOMPARE(data::makeSplit(d, 0.3, 7)->eval, s->eval);  // the same seed, the same split
    QTemporaryDir tmp;
    const std::string path = tmp.filePath("split.json").toStdString();
    QVERIFY(data::writeSplit(s.value(), path).ok());
    auto back = data::readSplit(path);
    QVERIFY(back.ok());
    QCOMPARE(back->eval, s->eval);
    QCOMPARE(back->train, s->train);
    data::Dataset evalSide = d;
    QVERIFY(data::applySplit(back.value(), data::SplitSide::Eval, evalSide).ok());
    QCOMPARE(int(evalSide.images.size()), 9);  // every version of the 3 eval references, nothing else
    for (const auto& r : evalSide.images) QVERIFY(s->eval.count(r.referenceId));
    data::Dataset trainSide = d;
    QVERIFY(data::applySplit(back.value(), data::SplitSide::Train, trainSide).ok());
    QCOMPARE(int(trainSide.images.size()), 21);
    data::Dataset other = d;
    other.images[4].referenceId = "I99";
    other.images[4].source = "dmos.csv:6";
    auto unknown = data::applySplit(back.value(), data::SplitSide::Eval, other);
    QVERIFY(!unknown);
    QVERIFY(unknown.message().find("dmos.csv:6: reference \"I99\"") == 0);
    data::Dataset wrongName = d;
    wrongName.name = "tid2013";
    QVERIFY(!data::applySplit(back.value(), data::SplitSide::Eval, wrongName));
    writeText(path,
              "{\"format\": \"depictqa-split/1\", \"dataset\": \"x\", \"seed\": 1, \"eval_fraction\": 0.5, "
              "\"train\": [\"a\"], \"eval\": [\"a\"]}");
    QVERIFY(!data::readSplit(path));
  }
};

QTEST_GUILESS_MAIN(DatasetReadersTest)
#include "test_data_datasets.moc"
