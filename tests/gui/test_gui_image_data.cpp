// The pane's figures on 16-bit data (issue 17, "Bit depth"): the classical metrics and
// the histogram read the decoded data at its depth, not the 8-bit preview.
#include <QtTest>

#include <cmath>
#include <opencv2/core.hpp>

#include "ui/image_data.h"

class TestGuiImageData : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  // B = reference + 64 in 16 bits, a quarter of an 8-bit step: rounded to 8 bits most of
  // it vanishes. On the 16-bit data the MSE on the 8-bit scale is (64/257)^2, so PSNR is
  // 20 log10(255 * 257 / 64) = 60.2 dB exactly.
  void metricsSeeDifferencesBelowAnEightBitStep() {
    cv::Mat reference(64, 96, CV_16UC3);
    for (int y = 0; y < reference.rows; ++y)
      for (int x = 0; x < reference.cols; ++x)
        reference.at<cv::Vec3w>(y, x) = cv::Vec3w(ushort(400 * x + 17 * y), ushort(30000 + 200 * y), ushort(600 * x));
    cv::Mat shifted = reference + cv::Scalar::all(64);  // no value near 65535: nothing clips
    const dqa::ui::QualityMetrics m = dqa::ui::computeMetrics(shifted, reference);
    QVERIFY2(m.valid, qPrintable(m.note));
    const double expected = 20.0 * std::log10(255.0 * 257.0 / 64.0);
    qInfo("PSNR %.3f dB (expected %.3f), SSIM %.6f, GMSD %.6f", m.psnr, expected, m.ssim, m.gmsd);
    QVERIFY2(std::abs(m.psnr - expected) < 0.01, qPrintable(QString::number(m.psnr)));
    QVERIFY(m.ssim < 1.0);

    // The same data rounded to 8 bits first differs far less often: the metrics must not
    // be those of the rounded copies.
    cv::Mat a8, r8;
    shifted.convertTo(a8, CV_8U, 1.0 / 257.0);
    reference.convertTo(r8, CV_8U, 1.0 / 257.0);
    const dqa::ui::QualityMetrics rounded = dqa::ui::computeMetrics(a8, r8);
    qInfo("on 8-bit copies: PSNR %.3f dB", rounded.psnr);
    QVERIFY(std::abs(rounded.psnr - expected) > 1.0);
  }

  // 16-bit values go to bin value / 256: 192 (0.75 of an 8-bit step, which the preview
  // rounds up to 1) is in bin 0, 65535 in bin 255, 32768 in bin 128.
  void histogramBinsTheSixteenBitData() {
    cv::Mat rgb(4, 2, CV_16UC3, cv::Scalar(192, 65535, 32768));
    const auto bins = dqa::ui::histogramOf(rgb);
    QCOMPARE(bins[0][0], 8);
    QCOMPARE(bins[1][255], 8);
    QCOMPARE(bins[2][128], 8);
    QCOMPARE(bins[0][1], 0);
    cv::Mat eight(4, 2, CV_8UC3, cv::Scalar(1, 255, 128));
    const auto bins8 = dqa::ui::histogramOf(eight);
    QCOMPARE(bins8[0][1], 8);
    QCOMPARE(bins8[1][255], 8);
    QCOMPARE(bins8[2][128], 8);
  }
};

QTEST_APPLESS_MAIN(TestGuiImageData)
#include "test_gui_image_data.moc"
