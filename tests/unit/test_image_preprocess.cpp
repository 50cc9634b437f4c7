// DepictQA's preprocessing for the CLIP encoder: downscale only when large, pad black at
// bottom/right to >= 70 px and to a multiple of the patch, normalise with CLIP mean/std.
#include <QtTest/QtTest>

#include <opencv2/core.hpp>

#include <cmath>

#include "core/image/preprocess.h"

using dqa::image::contentSize;
using dqa::image::patchGrid;
using dqa::image::preprocess;
using dqa::image::PreprocessedImage;
using dqa::image::PreprocessOptions;

namespace {

const PreprocessOptions kClip;

float at(const PreprocessedImage& p, int c, int y, int x) {
  return p.chw[(static_cast<std::size_t>(c) * p.height + y) * p.width + x];
}

float normalised(float unit, int c) { return (unit - kClip.mean[c]) / kClip.std[c]; }

bool near(float a, float b, float tolerance = 1e-5f) { return std::abs(a - b) <= tolerance; }

cv::Mat noiseRgb(int width, int height, unsigned seed) {
  cv::Mat m(height, width, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

// Every value outside the content rectangle is the normalised black.
bool paddingIsBlack(const PreprocessedImage& p) {
  for (int c = 0; c < 3; ++c) {
    const float black = normalised(0.0f, c);
    for (int y = 0; y < p.height; ++y)
      for (int x = 0; x < p.width; ++x)
        if ((y >= p.contentHeight || x >= p.contentWidth) && !near(at(p, c, y, x), black)) return false;
  }
  return true;
}

}  // namespace

class TestImagePreprocess : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void smallImageIsPaddedTo70() {
    cv::Mat rgb(64, 64, CV_8UC3, cv::Scalar(50, 100, 150));
    rgb.at<cv::Vec3b>(10, 20) = cv::Vec3b(255, 128, 0);
    const auto r = preprocess(rgb);
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->height, 70);
    QCOMPARE(r->width, 70);
    QCOMPARE(r->gridHeight(), 5);
    QCOMPARE(r->gridWidth(), 5);
    QCOMPARE(r->gridHeight() * r->gridWidth(), 25);
    QCOMPARE(r->contentHeight, 64);
    QCOMPARE(r->contentWidth, 64);
    QCOMPARE(r->scale, 1.0);
    QCOMPARE(r->chw.size(), std::size_t(3 * 70 * 70));
    // The known pixel (x=20, y=10), channel by channel, in RGB order.
    QVERIFY(near(at(r.value(), 0, 10, 20), normalised(1.0f, 0)));
    QVERIFY(near(at(r.value(), 1, 10, 20), normalised(128.0f / 255.0f, 1)));
    QVERIFY(near(at(r.value(), 2, 10, 20), normalised(0.0f, 2)));
    QVERIFY(near(at(r.value(), 2, 0, 0), normalised(150.0f / 255.0f, 2)));
    QVERIFY(near(at(r.value(), 1, 63, 63), normalised(100.0f / 255.0f, 1)));
    // Padding: bottom-right corner and just past the content.
    for (int c = 0; c < 3; ++c) {
      QVERIFY(near(at(r.value(), c, 69, 69), -kClip.mean[c] / kClip.std[c]));
      QVERIFY(near(at(r.value(), c, 10, 64), -kClip.mean[c] / kClip.std[c]));
      QVERIFY(near(at(r.value(), c, 64, 10), -kClip.mean[c] / kClip.std[c]));
    }
    QVERIFY(paddingIsBlack(r.value()));
  }

  void wideImageIsPaddedToPatchMultiples() {
    const auto r = preprocess(noiseRgb(100, 50, 1));  // 100 wide, 50 high
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->width, 112);
    QCOMPARE(r->height, 70);
    QCOMPARE(r->gridWidth(), 8);
    QCOMPARE(r->gridHeight(), 5);
    QCOMPARE(r->contentWidth, 100);
    QCOMPARE(r->contentHeight, 50);
    QVERIFY(paddingIsBlack(r.value()));
  }

  void exactMultipleIsUntouched() {
    const auto r = preprocess(noiseRgb(84, 70, 2));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->width, 84);
    QCOMPARE(r->height, 70);
  }

  void largeImageIsDownscaled() {
    // 2000 wide, 1000 high: the longer side becomes 672, both sides multiples of 14.
    cv::Mat rgb(1000, 2000, CV_8UC3, cv::Scalar(200, 100, 50));
    const auto r = preprocess(rgb);
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->contentWidth, 672);
    QCOMPARE(r->contentHeight, 336);
    QCOMPARE(r->width, 672);
    QCOMPARE(r->height, 336);
    QCOMPARE(r->gridWidth(), 48);
    QCOMPARE(r->gridHeight(), 24);
    QVERIFY(std::abs(r->scale - 0.336) < 1e-12);
    // A flat image stays flat under the area filter.
    QVERIFY(near(at(r.value(), 0, 335, 671), normalised(200.0f / 255.0f, 0), 1e-4f));
    QVERIFY(near(at(r.value(), 2, 100, 300), normalised(50.0f / 255.0f, 2), 1e-4f));
  }

  void tallImageIsDownscaledAndPadded() {
    // 300 wide, 1400 high -> 144 x 672, width padded to 154.
    const auto r = preprocess(noiseRgb(300, 1400, 3));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->contentHeight, 672);
    QCOMPARE(r->contentWidth, 144);
    QCOMPARE(r->height, 672);
    QCOMPARE(r->width, 154);
    QVERIFY(paddingIsBlack(r.value()));
  }

  void sixteenBitMatchesEightBit_data() {
    QTest::addColumn<int>("width");
    QTest::addColumn<int>("height");
    QTest::addColumn<float>("tolerance");
    // v * 257 / 65535 == v / 255: without resizing both depths must agree exactly.
    QTest::newRow("padded only") << 64 << 48 << 1e-5f;
    // Resizing runs in the source depth, so the 8-bit result is rounded to 1/255:
    // at most one 8-bit step apart after normalisation (1/255/0.26).
    QTest::newRow("downscaled") << 900 << 500 << 0.016f;
  }

  void sixteenBitMatchesEightBit() {
    QFETCH(int, width);
    QFETCH(int, height);
    QFETCH(float, tolerance);
    const cv::Mat eight = noiseRgb(width, height, 4);
    cv::Mat sixteen;
    eight.convertTo(sixteen, CV_16U, 257.0);
    const auto a = preprocess(eight);
    const auto b = preprocess(sixteen);
    QVERIFY(a.ok() && b.ok());
    QCOMPARE(a->width, b->width);
    QCOMPARE(a->height, b->height);
    QCOMPARE(a->contentWidth, b->contentWidth);
    QCOMPARE(a->chw.size(), b->chw.size());
    float worst = 0;
    for (std::size_t i = 0; i < a->chw.size(); ++i) worst = std::max(worst, std::abs(a->chw[i] - b->chw[i]));
    QVERIFY2(worst <= tolerance, qPrintable(QString::number(worst)));
  }

  void onePixel() {
    const auto r = preprocess(cv::Mat(1, 1, CV_8UC3, cv::Scalar(255, 255, 255)));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->width, 70);
    QCOMPARE(r->height, 70);
    QVERIFY(near(at(r.value(), 1, 0, 0), normalised(1.0f, 1)));
    QVERIFY(near(at(r.value(), 1, 0, 1), normalised(0.0f, 1)));
  }

  void otherOptions() {
    PreprocessOptions o;
    o.patchSize = 16;
    o.minSide = 0;
    o.maxSide = 100;
    const auto r = preprocess(noiseRgb(40, 250, 5), o);  // -> 16 x 100 -> 16 x 112
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->contentWidth, 16);
    QCOMPARE(r->contentHeight, 100);
    QCOMPARE(r->width, 16);
    QCOMPARE(r->height, 112);
    QCOMPARE(r->gridHeight(), 7);
  }

  void badInputIsRefused() {
    const auto empty = preprocess(cv::Mat());
    QVERIFY(!empty.ok());
    QVERIFY2(QString::fromStdString(empty.message()).contains("empty"), empty.message().c_str());
    for (int type : {CV_8UC1, CV_8UC4, CV_32FC3, CV_16SC3}) {
      const auto r = preprocess(cv::Mat(8, 8, type, cv::Scalar::all(0)));
      QVERIFY(!r.ok());
      QVERIFY2(QString::fromStdString(r.message()).contains("CV_8UC3"), r.message().c_str());
    }
  }

  void badOptionsAreRefused_data() {
    QTest::addColumn<int>("patchSize");
    QTest::addColumn<int>("minSide");
    QTest::addColumn<int>("maxSide");
    QTest::addColumn<float>("std0");
    QTest::addColumn<QString>("needle");
    QTest::newRow("zero patch") << 0 << 70 << 672 << 0.5f << "patch size";
    QTest::newRow("negative patch") << -14 << 70 << 672 << 0.5f << "patch size";
    QTest::newRow("negative min") << 14 << -1 << 672 << 0.5f << "minimum side";
    QTest::newRow("zero max") << 14 << 70 << 0 << 0.5f << "maximum side";
    QTest::newRow("zero std") << 14 << 70 << 672 << 0.0f << "standard deviation";
    QTest::newRow("nan std") << 14 << 70 << 672 << std::nanf("") << "standard deviation";
  }

  void badOptionsAreRefused() {
    QFETCH(int, patchSize);
    QFETCH(int, minSide);
    QFETCH(int, maxSide);
    QFETCH(float, std0);
    QFETCH(QString, needle);
    PreprocessOptions o;
    o.patchSize = patchSize;
    o.minSide = minSide;
    o.maxSide = maxSide;
    o.std[0] = std0;
    const auto r = preprocess(noiseRgb(8, 8, 6), o);
    QVERIFY(!r.ok());
    QVERIFY2(QString::fromStdString(r.message()).contains(needle), r.message().c_str());
  }

  void patchGridPredictsWhatPreprocessProduces() {
    // The token budget of a question is computed without pixels; it must agree with
    // preprocess() for every shape: small (padded), large (downscaled), odd aspect.
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{
             {64, 64}, {98, 98}, {400, 300}, {301, 1000}, {1000, 3}, {71, 70}, {2000, 1999}})
      for (int maxSide : {70, 210, 294, 672}) {
        PreprocessOptions o;
        o.maxSide = maxSide;
        auto p = preprocess(cv::Mat(h, w, CV_8UC3, cv::Scalar(10, 20, 30)), o);
        QVERIFY(p);
        const cv::Size grid = patchGrid(w, h, o);
        QCOMPARE(grid.width, p->gridWidth());
        QCOMPARE(grid.height, p->gridHeight());
        QCOMPARE(contentSize(w, h, maxSide), cv::Size(p->contentWidth, p->contentHeight));
      }
  }
};

QTEST_APPLESS_MAIN(TestImagePreprocess)
#include "test_image_preprocess.moc"
