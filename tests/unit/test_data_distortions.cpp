// The 25 KADID-10k distortion types: each changes a synthetic image in the expected
// direction, more at higher levels (where KADID's MOS says so); deterministic by seed;
// every implementation variant runs.
#include <QtTest/QtTest>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <set>

#include "core/data/distortions.h"
#include "core/data/photos.h"
#include "core/data/sampler.h"

using namespace dqa::data;

namespace {

cv::Mat testImage(int size = 160, std::uint64_t seed = 3) { return syntheticImage(size, size, seed); }

double laplacianVariance(const cv::Mat& rgb) {
  cv::Mat g, l;
  cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
  cv::Laplacian(g, l, CV_64F);
  cv::Scalar m, s;
  cv::meanStdDev(l, m, s);
  return s[0] * s[0];
}

double meanLevel(const cv::Mat& rgb) {
  cv::Scalar m = cv::mean(rgb);
  return (m[0] + m[1] + m[2]) / 3.0;
}

double mse(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  d.convertTo(d, CV_64F);
  cv::Scalar m = cv::mean(d.mul(d));
  return (m[0] + m[1] + m[2]) / 3.0;
}

double saturation(const cv::Mat& rgb) {  // mean (max - min) over pixels
  double acc = 0;
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) {
      auto p = rgb.at<cv::Vec3b>(y, x);
      acc += std::max({p[0], p[1], p[2]}) - std::min({p[0], p[1], p[2]});
    }
  return acc / rgb.total();
}

double lumaStd(const cv::Mat& rgb) {
  cv::Mat g;
  cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
  cv::Scalar m, s;
  cv::meanStdDev(g, m, s);
  return s[0];
}

int uniqueColours(const cv::Mat& rgb) {
  std::set<int> s;
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) {
      auto p = rgb.at<cv::Vec3b>(y, x);
      s.insert(p[0] << 16 | p[1] << 8 | p[2]);
    }
  return static_cast<int>(s.size());
}

// Mean absolute luminance step across 8-px block boundaries divided by the step inside.
double blockiness(const cv::Mat& rgb) {
  cv::Mat g;
  cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
  g.convertTo(g, CV_64F);
  double edge = 0, inner = 0;
  int ne = 0, ni = 0;
  for (int y = 0; y < g.rows; ++y)
    for (int x = 1; x < g.cols; ++x) {
      double d = std::fabs(g.at<double>(y, x) - g.at<double>(y, x - 1));
      if (x % 8 == 0) {
        edge += d;
        ++ne;
      } else {
        inner += d;
        ++ni;
      }
    }
  return (edge / ne) / (inner / ni + 1e-6);
}

cv::Mat at(const cv::Mat& img, int type, double level, int variant = 0, std::uint64_t seed = 11) {
  return applyDistortion(img, Distortion{type, level, variant, {}}, seed);
}

// Checks f(level) is monotone over levels 1..5 (within a relative tolerance) and that
// level 5 differs from level 1 in the given direction.
template <class F>
void checkMonotone(const char* what, int type, F measure, int direction, double tol = 0.02, int variant = 0,
                   int lastLevel = 5, cv::Mat img = cv::Mat()) {
  if (img.empty()) img = testImage();
  std::vector<double> v;
  for (int l = 1; l <= 5; ++l) v.push_back(measure(at(img, type, l, variant), img));
  for (int l = 1; l < lastLevel; ++l) {
    double a = v[l - 1], b = v[l];
    double slack = tol * std::max(std::fabs(a), std::fabs(b)) + 1e-9;
    if (direction > 0)
      QVERIFY2(
          b >= a - slack,
          qPrintable(
              QString("%1 type %2: level %3 -> %4: %5 -> %6").arg(what).arg(type).arg(l).arg(l + 1).arg(a).arg(b)));
    else
      QVERIFY2(
          b <= a + slack,
          qPrintable(
              QString("%1 type %2: level %3 -> %4: %5 -> %6").arg(what).arg(type).arg(l).arg(l + 1).arg(a).arg(b)));
  }
  QVERIFY2(direction > 0 ? v[lastLevel - 1] > v[0] : v[lastLevel - 1] < v[0],
           qPrintable(QString("%1 type %2 no change").arg(what).arg(type)));
}

}  // namespace

class TestDataDistortions : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void blurLowersLaplacianVariance() {
    for (int type : {1, 2, 3})
      for (int v = 0; v < typeInfo(type).numVariants; ++v)
        checkMonotone(
            "laplacian", type, [](const cv::Mat& d, const cv::Mat&) { return laplacianVariance(d); }, -1, 0.02, v);
    cv::Mat img = testImage();
    QVERIFY(laplacianVariance(at(img, 1, 5)) < 0.5 * laplacianVariance(img));
  }

  void noiseRaisesHighFrequencyEnergy() {
    cv::Mat img = testImage();
    for (int type : {11, 12, 13, 14}) {
      checkMonotone(
          "laplacian", type, [](const cv::Mat& d, const cv::Mat&) { return laplacianVariance(d); }, +1, 0.05);
      QVERIFY(laplacianVariance(at(img, type, 3)) > laplacianVariance(img));
    }
  }

  void distanceGrowsWithLevel() {
    // Types whose KADID MOS falls monotonically with level move further from the
    // reference at each level.
    for (int type : {4, 5, 9, 10, 15, 19, 24}) {
      checkMonotone(
          "mse", type, [](const cv::Mat& d, const cv::Mat& r) { return mse(d, r); }, +1, 0.05);
    }
    // Patch and block counts are per KADID-sized (512x384) image: test at that size.
    cv::Mat big = syntheticImage(512, 384, 9);
    for (int type : {20, 23})
      checkMonotone(
          "mse", type, [](const cv::Mat& d, const cv::Mat& r) { return mse(d, r); }, +1, 0.0, 0, 5, big);
  }

  void pixelateDuplicatesPixels() {
    // Share of pixels equal to their left neighbour grows as the image is pixelated more.
    auto dup = [](const cv::Mat& d, const cv::Mat&) {
      int same = 0;
      for (int y = 0; y < d.rows; ++y)
        for (int x = 1; x < d.cols; ++x) same += d.at<cv::Vec3b>(y, x) == d.at<cv::Vec3b>(y, x - 1);
      return double(same) / (d.rows * (d.cols - 1));
    };
    for (int v = 0; v < 3; ++v) checkMonotone("duplicates", 21, dup, +1, 0.0, v);
  }

  void brightnessDirections() {
    cv::Mat img = testImage();
    double m0 = meanLevel(img);
    checkMonotone(
        "mean", 16, [](const cv::Mat& d, const cv::Mat&) { return meanLevel(d); }, +1, 0.0);
    checkMonotone(
        "mean", 17, [](const cv::Mat& d, const cv::Mat&) { return meanLevel(d); }, -1, 0.0);
    QVERIFY(meanLevel(at(img, 16, 1)) > m0);
    QVERIFY(meanLevel(at(img, 17, 1)) < m0);
    // Mean shift: +0.15 at level 1, 0 at level 3, -0.15 at level 5.
    QVERIFY(meanLevel(at(img, 18, 1)) > m0 + 20);
    QCOMPARE(mse(at(img, 18, 3), img), 0.0);
    QVERIFY(meanLevel(at(img, 18, 5)) < m0 - 20);
    for (int v = 0; v < 3; ++v) {
      QVERIFY(meanLevel(at(img, 16, 4, v)) > m0 + 5);
      QVERIFY(meanLevel(at(img, 17, 4, v)) < m0 - 5);
    }
  }

  void contrastDirections() {
    cv::Mat img = testImage();
    double s0 = lumaStd(img);
    QVERIFY(lumaStd(at(img, 25, 1)) > s0 * 1.05);                  // p = 0.3: more contrast
    QVERIFY(std::fabs(lumaStd(at(img, 25, 3)) - s0) < 0.02 * s0);  // p = 0: unchanged
    QVERIFY(lumaStd(at(img, 25, 5)) < s0 * 0.9);                   // p = -0.6: less contrast
    QVERIFY(lumaStd(at(img, 25, 5)) < lumaStd(at(img, 25, 4)));
  }

  void saturationDirections() {
    cv::Mat img = testImage();
    double s0 = saturation(img);
    // HSV scale 0.4, 0.2, 0.1, 0: less and less saturated; 0 gives grey.
    checkMonotone(
        "saturation", 7, [](const cv::Mat& d, const cv::Mat&) { return saturation(d); }, -1, 0.0, 0, 4);
    QVERIFY(saturation(at(img, 7, 1)) < 0.5 * s0);
    QVERIFY(saturation(at(img, 7, 4)) < 1.0);
    // Level 5 (scale -0.4) turns hues to their complements: further from the reference.
    QVERIFY(mse(at(img, 7, 5), img) > mse(at(img, 7, 4), img));
    // Lab scale 1..9: more and more saturated; level 1 (scale 1) is nearly unchanged.
    checkMonotone(
        "saturation", 8, [](const cv::Mat& d, const cv::Mat&) { return saturation(d); }, +1, 0.0);
    QVERIFY(std::fabs(saturation(at(img, 8, 1)) - s0) < 0.03 * s0 + 1);
  }

  void colourDiffusionBlursChromaOnly() {
    cv::Mat img = testImage();
    cv::Mat d = at(img, 4, 5);
    cv::Mat g0, g1;
    cv::cvtColor(img, g0, cv::COLOR_RGB2GRAY);
    cv::cvtColor(d, g1, cv::COLOR_RGB2GRAY);
    // Luminance structure survives much better than colour.
    QVERIFY(laplacianVariance(d) > 0.5 * laplacianVariance(img));
    QVERIFY(mse(d, img) > 10);
  }

  void quantisationReducesColours() {
    cv::Mat img = testImage();
    checkMonotone(
        "colours", 6, [](const cv::Mat& d, const cv::Mat&) { return double(uniqueColours(d)); }, -1, 0.0);
    QVERIFY(uniqueColours(at(img, 6, 5)) <= 8);  // p = 8 colours
    QVERIFY(uniqueColours(at(img, 6, 1, 0)) <= 64);
    QVERIFY(uniqueColours(at(img, 22, 5)) <= 7 * 7 * 7);
    checkMonotone(
        "colours", 22, [](const cv::Mat& d, const cv::Mat&) { return double(uniqueColours(d)); }, -1, 0.0);
  }

  void jpegAddsBlockiness() {
    cv::Mat img = testImage(256);
    double b0 = blockiness(img);
    double b5 = blockiness(at(img, 10, 5));
    QVERIFY2(b5 > b0 * 1.2, qPrintable(QString("%1 vs %2").arg(b5).arg(b0)));
    QVERIFY(blockiness(at(img, 10, 5)) > blockiness(at(img, 10, 1)));
  }

  void jpeg2000BothCodecsLoseDetail() {
    cv::Mat img = testImage(160);
    for (int v = 0; v < 2; ++v) {
      double e1 = mse(at(img, 9, 1, v), img), e5 = mse(at(img, 9, 5, v), img);
      QVERIFY2(e5 > e1, qPrintable(QString("variant %1: %2 %3").arg(v).arg(e1).arg(e5)));
      QVERIFY(laplacianVariance(at(img, 9, 5, v)) < laplacianVariance(img));
    }
    qInfo("JPEG2000 via OpenCV/OpenJPEG: %s",
          jpeg2000Available() ? "available" : "unavailable (own wavelet codec used)");
    if (!jpeg2000Available()) QCOMPARE(resolveVariant(9, 0), 1);
  }

  void sharpenRaisesHighFrequencies() {
    for (int v = 0; v < 3; ++v)
      checkMonotone(
          "laplacian", 24, [](const cv::Mat& d, const cv::Mat&) { return laplacianVariance(d); }, +1, 0.02, v);
  }

  void everyVariantRunsAndChangesTheImage() {
    cv::Mat img = testImage(96);
    for (int t = 1; t <= kNumTypes; ++t)
      for (int v = 0; v < typeInfo(t).numVariants + photographicVariantCount(t); ++v) {
        double lv = (t == 18 || t == 25) ? 1.0 : 5.0;  // 18/25 are identity at level 3
        cv::Mat d = at(img, t, lv, v);
        QVERIFY2(!d.empty() && d.size() == img.size() && d.type() == CV_8UC3,
                 qPrintable(QString("type %1 v %2").arg(t).arg(v)));
        QVERIFY2(mse(d, img) > 1.0,
                 qPrintable(QString("type %1 variant %2 (%3) unchanged").arg(t).arg(v).arg(variantName(t, v).c_str())));
      }
  }

  // The photographic variants: named, stronger with the level (error against the
  // reference), doing what they say, and drawn by the sampler only when asked for.
  void photographicVariantsGrowWithTheLevel() {
    const cv::Mat img = testImage(128);
    int count = 0;
    for (int t = 1; t <= kNumTypes; ++t)
      for (int k = 0; k < photographicVariantCount(t); ++k) {
        const int v = typeInfo(t).numVariants + k;
        QVERIFY(!variantName(t, v).empty());
        QCOMPARE(resolveVariant(t, v), v);
        checkMonotone(
            "mse", t, [](const cv::Mat& d, const cv::Mat& r) { return mse(d, r); }, +1, 0.02, v);
        ++count;
      }
    QCOMPARE(count, 5);
    QCOMPARE(variantName(5, 3), std::string("lateral_chromatic_aberration"));
    // Beyond the last variant: clamped to it, as for the KADID variants.
    QCOMPARE(resolveVariant(11, 99), typeInfo(11).numVariants);
    QCOMPARE(resolveVariant(1, 99), typeInfo(1).numVariants - 1);
  }

  // Red moves outwards against green by about p * r / (half diagonal): ~0 at the centre,
  // most of p at the corners (the channels matched on a random texture).
  void chromaticAberrationGrowsTowardsTheCorners() {
    cv::Mat noise(160, 160, CV_32F), grey;
    cv::RNG rng(9);
    rng.fill(noise, cv::RNG::UNIFORM, 0.0, 255.0);
    cv::GaussianBlur(noise, noise, {0, 0}, 2.0);
    noise.convertTo(grey, CV_8U);
    cv::Mat img;
    cv::cvtColor(grey, img, cv::COLOR_GRAY2RGB);
    const Distortion d{5, 3.0, typeInfo(5).numVariants, {}};  // 6 px: phase correlation stays reliable
    const cv::Mat out = applyDistortion(img, d, 1);
    std::vector<cv::Mat> ch;
    cv::split(out, ch);
    // The shift of green that best matches red on a block (SSD over a 0.25-px grid).
    auto shift = [&](const cv::Rect& r) {
      cv::Mat red, green;
      ch[0].convertTo(red, CV_32F);
      ch[1].convertTo(green, CV_32F);
      double best = 1e30, bestShift = 0;
      for (double dy = -8; dy <= 8; dy += 0.25)
        for (double dx = -8; dx <= 8; dx += 0.25) {
          const cv::Mat m = (cv::Mat_<double>(2, 3) << 1, 0, dx, 0, 1, dy);
          cv::Mat moved;
          cv::warpAffine(green, moved, m, green.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
          const double ssd = cv::norm(moved(r), red(r), cv::NORM_L2SQR);
          if (ssd < best) best = ssd, bestShift = std::hypot(dx, dy);
        }
      return bestShift;
    };
    const double halfDiagonal = 0.5 * std::hypot(160.0, 160.0);
    const double cornerR = std::hypot(80.0 - 24.0, 80.0 - 24.0);  // the corner block's centre
    const double expected = d.param() * cornerR / halfDiagonal;
    const double centre = shift({64, 64, 32, 32}), corner = shift({8, 8, 32, 32});
    QVERIFY2(centre < 1.0, qPrintable(QString::number(centre)));
    QVERIFY2(corner > 0.6 * expected && corner < 1.4 * expected,
             qPrintable(QString("corner %1, expected %2").arg(corner).arg(expected)));
  }

  void chromaBlotchesLeaveLuminance() {
    const cv::Mat img = testImage(128);
    const cv::Mat d = at(img, 12, 5.0, typeInfo(12).numVariants);
    cv::Mat yImg, yD, cImg, cD;
    cv::cvtColor(img, yImg, cv::COLOR_RGB2GRAY);
    cv::cvtColor(d, yD, cv::COLOR_RGB2GRAY);
    // Luma moves only by rounding and clipping; the colour moves a lot.
    QVERIFY2(mse(yD, yImg) < 0.1 * mse(d, img), qPrintable(QString("%1 / %2").arg(mse(yD, yImg)).arg(mse(d, img))));
  }

  void samplerDrawsPhotographicVariantsOnlyWhenAsked() {
    for (bool photographic : {false, true}) {
      SamplerConfig cfg;
      cfg.photographicVariants = photographic;
      cv::RNG rng(5);
      int drawn = 0;
      for (int i = 0; i < 3000; ++i)
        for (const Distortion& d : randomDistortions(rng, cfg, 1, {64, 64}))
          drawn += d.variant >= typeInfo(d.type).numVariants;
      if (photographic)
        QVERIFY2(drawn > 60, qPrintable(QString::number(drawn)));  // 5 of 25 types, 1 of 4 variants: ~5%
      else
        QCOMPARE(drawn, 0);
    }
  }

  void deterministicBySeed() {
    cv::Mat img = testImage(96);
    for (int t = 1; t <= kNumTypes; ++t) {
      Distortion d{t, 3.7, typeInfo(t).numVariants + photographicVariantCount(t) - 1, {}};
      cv::Mat a = applyDistortion(img, d, 1234), b = applyDistortion(img, d, 1234);
      QVERIFY2(cv::norm(a, b, cv::NORM_INF) == 0, qPrintable(QString("type %1").arg(t)));
    }
    // Random types differ with another seed.
    for (int t : {3, 11, 13, 19, 20, 23}) {
      Distortion d{t, 4, 0, {}};
      QVERIFY2(cv::norm(applyDistortion(img, d, 1), applyDistortion(img, d, 2), cv::NORM_INF) > 0,
               qPrintable(QString("type %1").arg(t)));
    }
  }

  void subLevelsBlendTowardsTheReference() {
    cv::Mat img = testImage(96);
    double e0 = mse(at(img, 11, 0.0), img), eh = mse(at(img, 11, 0.5), img), e1 = mse(at(img, 11, 1.0), img);
    QCOMPARE(e0, 0.0);
    QVERIFY(eh > 0 && eh < e1);
  }

  void localDistortionStaysInItsRegion() {
    cv::Mat img = testImage(128);
    Distortion d{11, 5, 0, cv::Rect(10, 10, 40, 40)};
    cv::Mat out = applyDistortion(img, d, 5);
    cv::Rect outside(70, 70, 50, 50), inside(15, 15, 30, 30);
    QCOMPARE(mse(out(outside), img(outside)), 0.0);
    QVERIFY(mse(out(inside), img(inside)) > 100);
  }

  void badInputGivesEmpty() {
    QVERIFY(applyDistortion(cv::Mat(), Distortion{}, 1).empty());
    QVERIFY(applyDistortion(cv::Mat(8, 8, CV_32FC3), Distortion{}, 1).empty());
    QVERIFY(applyDistortion(testImage(64), Distortion{99, 3, 0, {}}, 1).empty());
  }
};

QTEST_APPLESS_MAIN(TestDataDistortions)
#include "test_data_distortions.moc"
