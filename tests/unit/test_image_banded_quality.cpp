// PSNR and SSIM in bands (core/image/banded_quality.h) against OpenCV's quality module on
// the whole image: the same per-channel values for every band height, 8-bit and float
// input, and OpenCV's answers for identical and mismatched images.
#include <QtTest/QtTest>

#include <opencv2/imgproc.hpp>
#include <opencv2/quality.hpp>

#include <cmath>

#include "core/image/banded_quality.h"

namespace {

// A textured picture (gradients, blocks) and a distorted copy (noise + blur).
void makePair(int width, int height, int depth, cv::Mat* reference, cv::Mat* distorted) {
  cv::Mat base(height, width, CV_32FC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      base.at<cv::Vec3f>(y, x) =
          cv::Vec3f(float(x * 255 / width), float(y * 255 / height), float(((x / 9 + y / 7) % 2) * 200 + 20));
  cv::Mat noise(base.size(), CV_32FC3);
  cv::RNG rng(7);
  rng.fill(noise, cv::RNG::NORMAL, 0.0, 12.0);
  cv::Mat blurred;
  cv::GaussianBlur(base + noise, blurred, cv::Size(5, 5), 1.2);
  base.convertTo(*reference, depth);
  blurred.convertTo(*distorted, depth);  // 8-bit: saturated to 0..255
}

}  // namespace

class TestImageBandedQuality : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void sameAsOpenCvOnTheWholeImage_data() {
    QTest::addColumn<int>("depth");
    QTest::addColumn<int>("bandRows");
    for (int depth : {CV_8U, CV_32F})
      for (int rows : {1, 7, 32, 97, 1000}) {
        const QByteArray name =
            QByteArray(depth == CV_8U ? "8-bit" : "float") + ", bands of " + QByteArray::number(rows);
        QTest::newRow(name.constData()) << depth << rows;
      }
  }
  void sameAsOpenCvOnTheWholeImage() {
    QFETCH(int, depth);
    QFETCH(int, bandRows);
    cv::Mat reference, distorted;
    makePair(131, 103, depth, &reference, &distorted);
    const cv::Scalar psnr = cv::quality::QualityPSNR::compute(reference, distorted, cv::noArray());
    const cv::Scalar ssim = cv::quality::QualitySSIM::compute(reference, distorted, cv::noArray());
    const cv::Scalar bandedPsnr = dqa::image::bandedPsnr(reference, distorted, bandRows);
    const cv::Scalar bandedSsim = dqa::image::bandedSsim(reference, distorted, bandRows);
    for (int c = 0; c < 3; ++c) {
      QVERIFY2(std::abs(bandedPsnr[c] - psnr[c]) < 1e-4,
               qPrintable(QStringLiteral("PSNR channel %1: %2 against %3").arg(c).arg(bandedPsnr[c]).arg(psnr[c])));
      QVERIFY2(std::abs(bandedSsim[c] - ssim[c]) < 1e-5,
               qPrintable(QStringLiteral("SSIM channel %1: %2 against %3").arg(c).arg(bandedSsim[c]).arg(ssim[c])));
    }
    // Not a trivially equal pair: the distortion shows.
    QVERIFY(psnr[0] < 40 && ssim[2] < 0.95);
  }

  void identicalAndMismatchedImages() {
    cv::Mat reference, distorted;
    makePair(40, 30, CV_8U, &reference, &distorted);
    const cv::Scalar psnr = dqa::image::bandedPsnr(reference, reference, 8);
    QVERIFY(std::isinf(psnr[0]) && std::isinf(psnr[2]));
    QVERIFY(std::abs(dqa::image::bandedSsim(reference, reference, 8)[1] - 1.0) < 1e-9);
    QVERIFY_THROWS_EXCEPTION(cv::Exception, dqa::image::bandedSsim(reference, distorted.colRange(0, 20), 8));
    QVERIFY_THROWS_EXCEPTION(cv::Exception, dqa::image::bandedPsnr(reference, cv::Mat(), 8));
  }

  // A computation nobody waits for any more (the window's, when an answer starts) ends
  // at the next band with NaN; a flag that stays false changes nothing.
  void stopFlagEndsTheComputation() {
    cv::Mat reference, distorted;
    makePair(64, 48, CV_8U, &reference, &distorted);
    std::atomic<bool> stop{false};
    QCOMPARE(dqa::image::bandedPsnr(reference, distorted, 8, &stop), dqa::image::bandedPsnr(reference, distorted, 8));
    QCOMPARE(dqa::image::bandedSsim(reference, distorted, 8, &stop), dqa::image::bandedSsim(reference, distorted, 8));
    stop = true;
    const cv::Scalar psnr = dqa::image::bandedPsnr(reference, distorted, 8, &stop);
    const cv::Scalar ssim = dqa::image::bandedSsim(reference, distorted, 8, &stop);
    for (int c = 0; c < 3; ++c) QVERIFY(std::isnan(psnr[c]) && std::isnan(ssim[c]));
  }
};

QTEST_APPLESS_MAIN(TestImageBandedQuality)
#include "test_image_banded_quality.moc"
