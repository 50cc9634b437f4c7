// Camera RAW through LibRaw, on a minimal DNG written here (dng_fixture.h): a Bayer
// (RGGB) sensor of flat colour patches whose ColorMatrix1 makes the camera's colours
// linear sRGB and whose as-shot white is neutral, so the developed pixels must be the
// written values with the sRGB curve applied; the half-size preview path; and clear
// errors for cut-off or damaged RAW data.
#include <QtTest/QtTest>

#include <opencv2/core.hpp>

#include <cmath>
#include <string>

#include "core/image/image_loader.h"
#include "dng_fixture.h"

using namespace dqa::image;
using namespace dqa::test;

namespace {

constexpr int kWidth = 64, kHeight = 48;
const auto& kPatches = kDngPatches;

double srgbEncode(double linear) {
  return linear <= 0.0031308 ? 12.92 * linear : 1.055 * std::pow(linear, 1 / 2.4) - 0.055;
}

std::string mosaic() { return dngMosaic(kWidth, kHeight); }
std::string makeDng(const std::string& pixels = mosaic()) { return dqa::test::makeDng(kWidth, kHeight, pixels); }

// The largest difference, in 1/255 steps, between each patch's centre as developed and
// the sRGB encoding of the value written.
double worstPatchError(const cv::Mat& rgb) {
  double worst = 0;
  for (int q = 0; q < 4; ++q) {
    const cv::Point c((q % 2) * rgb.cols / 2 + rgb.cols / 4, (q / 2) * rgb.rows / 2 + rgb.rows / 4);
    const cv::Vec3w v = rgb.at<cv::Vec3w>(c);
    for (int ch = 0; ch < 3; ++ch) worst = std::max(worst, std::abs(v[ch] / 257.0 - 255 * srgbEncode(kPatches[q][ch])));
  }
  return worst;
}

}  // namespace

class TestImageRaw : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void dngDevelopsToWrittenValues() {
    const auto r = decodeImage(makeDng(), "sensor.dng");
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QVERIFY2(r->format.rfind("DNG (", 0) == 0, r->format.c_str());
    QCOMPARE(r->bitDepth, 16);
    QCOMPARE(r->colour.source, std::string("LibRaw"));
    QVERIFY(r->colour.converted);
    QVERIFY(std::abs(r->width() - kWidth) <= 4 && std::abs(r->height() - kHeight) <= 4);
    const double error = worstPatchError(r->rgb);
    QVERIFY2(error <= 2.0, qPrintable(QString("off by %1/255").arg(error)));
  }

  void cameraSettingsFromLibRaw() {
    const auto r = decodeImage(makeDng(), "sensor.dng");
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(QString::fromStdString(r->capture.make), QString("DepictQA"));
    QCOMPARE(QString::fromStdString(r->capture.model), QString("Test Sensor"));
    QVERIFY2(QString::fromStdString(r->capture.summary()).startsWith("DepictQA Test Sensor"),
             r->capture.summary().c_str());
  }

  void halfSizePreview() {
    LoadOptions preview;
    preview.rawHalfSize = true;
    const auto full = decodeImage(makeDng(), "sensor.dng");
    const auto half = decodeImage(makeDng(), "sensor.dng", preview);
    QVERIFY2(half.ok(), half.ok() ? "" : half.message().c_str());
    QVERIFY(full.ok());
    QCOMPARE(half->width(), full->width() / 2);
    QCOMPARE(half->height(), full->height() / 2);
    const double error = worstPatchError(half->rgb);
    QVERIFY2(error <= 2.0, qPrintable(QString("off by %1/255").arg(error)));
    QVERIFY(half->colour.note.find("half size") != std::string::npos);
  }

  void brokenRawData_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("name");
    auto qb = [](const std::string& s) { return QByteArray(s.data(), qsizetype(s.size())); };
    const std::string dng = makeDng();
    QTest::newRow("dng-cut-in-half") << qb(dng.substr(0, dng.size() / 2)) << "cut.dng";
    QTest::newRow("dng-header-only") << qb(dng.substr(0, 200)) << "head.dng";
    QTest::newRow("raf-signature-only") << qb(std::string("FUJIFILMCCD-RAW 0201FF383501")) << "x.raf";
  }
  void brokenRawData() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, name);
    const auto r = decodeImage(std::string(bytes.constData(), std::size_t(bytes.size())), name.toStdString());
    QVERIFY(!r.ok());
    QVERIFY2(r.message().find("'" + name.toStdString() + "'") != std::string::npos, r.message().c_str());
    QVERIFY2(r.message().find("RAW") != std::string::npos, r.message().c_str());
  }

  // A TIFF named like a RAW that LibRaw does not take is read as the TIFF it is.
  void plainTiffNamedRaw() {
    cv::Mat rgb(10, 12, CV_8UC3, cv::Scalar(10, 20, 30));
    const std::string tiff =
        writeTiff({tiffLong(256, 12), tiffLong(257, 10), tiffShorts(258, {8, 8, 8}), tiffShorts(259, {1}),
                   tiffShorts(262, {2}), tiffShorts(277, {3}), tiffLong(278, 10), tiffShorts(284, {1})},
                  std::string(reinterpret_cast<const char*>(rgb.data), rgb.total() * 3));
    const auto r = decodeImage(tiff, "scan.raw");
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->format, std::string("TIFF"));
    QCOMPARE(r->rgb.at<cv::Vec3b>(5, 5), cv::Vec3b(10, 20, 30));
  }

  void pixelLimitBeforeDevelopment() {
    LoadOptions small;
    small.maxPixels = 1000;
    const auto r = decodeImage(makeDng(), "big.dng", small);
    QVERIFY(!r.ok());
    QVERIFY2(r.message().find("decompression bombs") != std::string::npos, r.message().c_str());
  }
};

QTEST_APPLESS_MAIN(TestImageRaw)
#include "test_image_raw.moc"
