// Colour management in the image loader: PNG (iCCP), JPEG (APP2, multi-chunk), TIFF
// (tag 34675) and WebP (ICCP) files with a Display P3, Adobe RGB or grey profile made by
// Little CMS here are converted to sRGB exactly as lcms2's own transform does (within
// 1/255); a file without a profile is taken as sRGB and says so; broken profiles give a
// clear error or, when asked, the stated sRGB fallback. HEIF nclx code points become
// profiles too. A model whose config.json names another working space (Display P3, Adobe
// RGB) gets its images converted to that space instead, profiled or not.
#include <QtTest/QtTest>

#include <opencv2/imgproc.hpp>

#include <random>
#include <string>

#include "colour_fixtures.h"
#include "core/image/image_loader.h"
#include "core/image/nclx.h"
#include "image_bytes.h"
#include "quiet_stderr.h"
#include "tiff_writer.h"

using namespace dqa::image;
using namespace dqa::test;

namespace {

// Saturated and random colours: P3 and Adobe RGB differ from sRGB most where saturated.
cv::Mat testPixels(int depth, unsigned seed) {
  cv::Mat m(48, 64, CV_MAKETYPE(depth, 3));
  std::mt19937 rng(seed);
  const double top = depth == CV_16U ? 65535 : 255;
  cv::randu(m, 0, top + 1);
  m(cv::Rect(0, 0, 16, 16)).setTo(cv::Scalar(0, top, 0));  // pure green (RGB order)
  m(cv::Rect(16, 0, 16, 16)).setTo(cv::Scalar(top, 0, 0));
  return m;
}

cv::Mat bgr(const cv::Mat& rgb) {
  cv::Mat out;
  cv::cvtColor(rgb, out, cv::COLOR_RGB2BGR);
  return out;
}

double maxDiff(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }

dqa::Result<LoadedImage> load(const std::string& bytes, const LoadOptions& options = {}) {
  return decodeImage(bytes, "colour-test", options);
}

}  // namespace

class TestImageColour : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void pngWithProfileMatchesLcms_data() {
    QTest::addColumn<int>("depth");
    QTest::addColumn<QString>("profile");
    QTest::newRow("p3-8bit") << int(CV_8U) << "p3";
    QTest::newRow("p3-16bit") << int(CV_16U) << "p3";
    QTest::newRow("adobe-8bit") << int(CV_8U) << "adobe";
    QTest::newRow("adobe-16bit") << int(CV_16U) << "adobe";
  }
  void pngWithProfileMatchesLcms() {
    QFETCH(int, depth);
    QFETCH(QString, profile);
    const std::string icc = profile == "p3" ? displayP3Profile() : adobeRgbProfile();
    const cv::Mat rgb = testPixels(depth, 1);
    const auto r = load(withPngIccp(encode(bgr(rgb), ".png"), icc));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    const double unit = depth == CV_16U ? 257.0 : 1.0;  // 1/255 in the image's units
    QVERIFY(maxDiff(r->rgb, referenceToSrgb(rgb, icc)) <= 1.0 * unit);
    // The conversion happened and matters: saturated colours moved a lot.
    QVERIFY(maxDiff(r->rgb, rgb) > 20 * unit);
    QVERIFY(r->colour.converted);
    QCOMPARE(r->colour.source, std::string("PNG iCCP"));
    QCOMPARE(r->colour.profile, std::string(profile == "p3" ? "Display P3 (test)" : "Adobe RGB (1998) (test)"));
    QVERIFY(r->colour.note.find("converted to sRGB") != std::string::npos);
  }

  // Working space Display P3 or Adobe RGB: a profiled file goes straight from its profile
  // to that space, a file without one from sRGB; both as lcms2 converts them.
  void otherWorkingSpaces_data() {
    QTest::addColumn<int>("space");
    QTest::addColumn<int>("depth");
    QTest::newRow("Display P3, 8-bit") << int(dqa::WorkingSpace::DisplayP3) << int(CV_8U);
    QTest::newRow("Display P3, 16-bit") << int(dqa::WorkingSpace::DisplayP3) << int(CV_16U);
    QTest::newRow("Adobe RGB, 8-bit") << int(dqa::WorkingSpace::AdobeRgb) << int(CV_8U);
  }
  void otherWorkingSpaces() {
    QFETCH(int, space);
    QFETCH(int, depth);
    const auto working = dqa::WorkingSpace(space);
    const bool p3 = working == dqa::WorkingSpace::DisplayP3;
    const std::string workingIcc = p3 ? displayP3Profile() : adobeRgbProfile();
    const std::string otherIcc = p3 ? adobeRgbProfile() : displayP3Profile();
    const cv::Mat rgb = testPixels(depth, 3);
    const double unit = depth == CV_16U ? 257.0 : 1.0;
    LoadOptions options;
    options.workingSpace = working;

    const auto profiled = load(withPngIccp(encode(bgr(rgb), ".png"), otherIcc), options);
    QVERIFY2(profiled.ok(), profiled.ok() ? "" : profiled.message().c_str());
    QVERIFY(maxDiff(profiled->rgb, referenceToSrgb(rgb, otherIcc, workingIcc)) <= 1.0 * unit);
    QVERIFY(profiled->colour.converted);
    QVERIFY(profiled->colour.space == working);
    QVERIFY(profiled->colour.note.find("converted to " + dqa::workingSpaceName(working)) != std::string::npos);

    const auto plain = load(encode(bgr(rgb), ".png"), options);
    QVERIFY2(plain.ok(), plain.ok() ? "" : plain.message().c_str());
    QVERIFY(maxDiff(plain->rgb, referenceToSrgb(rgb, srgbProfile(), workingIcc)) <= 1.0 * unit);
    QVERIFY(maxDiff(plain->rgb, rgb) > 20 * unit);  // sRGB pixels moved into the wider space
    QVERIFY(plain->colour.space == working);
    QVERIFY(plain->colour.note.find("taken as sRGB; converted from sRGB to " + dqa::workingSpaceName(working)) !=
            std::string::npos);
  }

  // What a wider working space is for: a Display P3 file's pure green lies outside sRGB.
  // Loaded for an sRGB model it is clipped; for a Display P3 model it arrives unchanged.
  void wideGamutColoursSurviveInAWideWorkingSpace() {
    cv::Mat green(8, 8, CV_16UC3, cv::Scalar(0, 65535, 0));
    const std::string png = withPngIccp(encode(bgr(green), ".png"), displayP3Profile());
    LoadOptions p3;
    p3.workingSpace = dqa::WorkingSpace::DisplayP3;
    const auto kept = load(png, p3);
    const auto clipped = load(png);
    QVERIFY(kept.ok() && clipped.ok());
    QVERIFY2(maxDiff(kept->rgb, green) <= 257, qPrintable(QString::number(maxDiff(kept->rgb, green))));
    // In sRGB that green needs negative red and blue: both clip at 0, and the result,
    // converted back to P3, is no longer pure green.
    const cv::Mat backToP3 = referenceToSrgb(clipped->rgb, srgbProfile(), displayP3Profile());
    QVERIFY(maxDiff(backToP3, green) > 20 * 257);
  }

  void jpegWithMultiChunkProfile_data() {
    QTest::addColumn<int>("chunks");
    QTest::addColumn<bool>("shuffled");
    QTest::newRow("one-segment") << 1 << false;
    QTest::newRow("three-segments") << 3 << false;
    QTest::newRow("three-segments-out-of-order") << 3 << true;
  }
  void jpegWithMultiChunkProfile() {
    QFETCH(int, chunks);
    QFETCH(bool, shuffled);
    const std::string icc = displayP3Profile();
    const std::string jpeg = encode(bgr(testPixels(CV_8U, 2)), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
    const auto plain = load(jpeg);  // the same JPEG without a profile: decoded pixels
    QVERIFY(plain.ok());
    QCOMPARE(plain->colour.source, std::string("none"));
    const auto r = load(withJpegIcc(jpeg, icc, chunks, shuffled ? std::vector<int>{3, 1, 2} : std::vector<int>{}));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->colour.source, std::string("JPEG APP2"));
    QVERIFY(r->colour.converted);
    QVERIFY(maxDiff(r->rgb, referenceToSrgb(plain->rgb, icc)) <= 1.0);
    QVERIFY(maxDiff(r->rgb, plain->rgb) > 20);
  }

  void tiffWithProfile() {
    const std::string icc = adobeRgbProfile();
    const cv::Mat rgb = testPixels(CV_8U, 3);
    const std::string pixels(reinterpret_cast<const char*>(rgb.data), rgb.total() * 3);
    const std::string tiff =
        writeTiff({tiffLong(256, std::uint32_t(rgb.cols)), tiffLong(257, std::uint32_t(rgb.rows)),
                   tiffShorts(258, {8, 8, 8}), tiffShorts(259, {1}), tiffShorts(262, {2}), tiffShorts(277, {3}),
                   tiffLong(278, std::uint32_t(rgb.rows)), tiffShorts(284, {1}), tiffBytes(34675, 7, icc)},
                  pixels);
    const auto r = load(tiff);
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->colour.source, std::string("TIFF tag 34675"));
    QVERIFY(maxDiff(r->rgb, referenceToSrgb(rgb, icc)) <= 1.0);
  }

  // An extended WebP (VP8X) with an ICCP chunk around OpenCV's lossless bitstream.
  void webpWithProfile() {
    const std::string icc = displayP3Profile();
    const cv::Mat rgb = testPixels(CV_8U, 9);
    const std::string lossless = encode(bgr(rgb), ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
    QVERIFY(lossless.substr(12, 4) == "VP8L");
    auto chunk = [](const std::string& type, const std::string& data) {
      return type + le32(std::uint32_t(data.size())) + data + std::string(data.size() % 2, '\0');
    };
    const std::uint32_t w = std::uint32_t(rgb.cols - 1), h = std::uint32_t(rgb.rows - 1);
    const std::string vp8x = std::string{'\x20', '\0', '\0', '\0'} +  // flags: ICC profile
                             le32(w).substr(0, 3) + le32(h).substr(0, 3);
    const std::string body = "WEBP" + chunk("VP8X", vp8x) + chunk("ICCP", icc) + lossless.substr(12);
    const auto r = load("RIFF" + le32(std::uint32_t(body.size())) + body);
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->colour.source, std::string("WebP ICCP"));
    QVERIFY(maxDiff(r->rgb, referenceToSrgb(rgb, icc)) <= 1.0);
    QVERIFY(maxDiff(r->rgb, rgb) > 20);
  }

  void greyPngWithGreyProfile() {
    cv::Mat grey(20, 30, CV_8UC1);
    cv::randu(grey, 0, 256);
    const std::string icc = greyProfile();
    const auto r = load(withPngIccp(encode(grey, ".png"), icc));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QVERIFY(r->colour.converted);
    QVERIFY(maxDiff(r->rgb, referenceToSrgb(grey, icc)) <= 1.0);
    // A grey profile on a colour image is a broken file.
    const auto colour = load(withPngIccp(encode(bgr(testPixels(CV_8U, 4)), ".png"), icc));
    QVERIFY(!colour.ok());
    QVERIFY(colour.message().find("greyscale") != std::string::npos);
  }

  void noProfileIsTakenAsSrgb() {
    const cv::Mat rgb = testPixels(CV_8U, 5);
    const auto r = load(encode(bgr(rgb), ".png"));
    QVERIFY(r.ok());
    QCOMPARE(r->colour.source, std::string("none"));
    QVERIFY(!r->colour.converted);
    QVERIFY(r->colour.profile.empty());
    QVERIFY(r->colour.note.find("taken as sRGB") != std::string::npos);
    QCOMPARE(maxDiff(r->rgb, rgb), 0.0);
  }

  void brokenProfiles_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("needle");
    auto qb = [](const std::string& s) { return QByteArray(s.data(), qsizetype(s.size())); };
    const std::string png = encode(bgr(testPixels(CV_8U, 6)), ".png");
    const std::string jpeg = encode(bgr(testPixels(CV_8U, 7)), ".jpg");
    const std::string p3 = displayP3Profile();
    std::string junk(600, '\x5a');
    QTest::newRow("png-not-a-profile") << qb(withPngIccp(png, junk)) << "not a valid profile";
    QTest::newRow("png-short-profile") << qb(withPngIccp(png, p3.substr(0, 60))) << "128-byte ICC header";
    QTest::newRow("png-truncated-profile") << qb(withPngIccp(png, p3.substr(0, p3.size() / 2))) << "ICC profile";
    {
      // A damaged zlib stream inside iCCP (the chunk's CRC is right, its content is not).
      std::string chunk = "P3" + std::string(2, '\0') + std::string("\x78\x9c\xff\xff\xff\xff", 6);
      QTest::newRow("png-bad-zlib") << qb(png.substr(0, 33) + pngChunk("iCCP", chunk) + png.substr(33))
                                    << "iCCP chunk's compressed profile is damaged";
      QTest::newRow("png-iccp-no-name") << qb(png.substr(0, 33) + pngChunk("iCCP", std::string(3, '\0')) +
                                              png.substr(33))
                                        << "no valid profile name";
    }
    {
      // Chunks 1 and 3 of 3: the middle one is missing.
      const std::string both = withJpegIcc(jpeg, p3, 3, {1, 3});
      QTest::newRow("jpeg-missing-chunk") << qb(both) << "do not fit together";
      QTest::newRow("jpeg-duplicate-chunk") << qb(withJpegIcc(jpeg, p3, 2, {1, 1})) << "appears twice";
      QTest::newRow("jpeg-chunk-zero") << qb(withJpegIcc(jpeg, p3, 1, {0})) << "do not fit together";
    }
  }
  void brokenProfiles() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, needle);
    const std::string file(bytes.constData(), std::size_t(bytes.size()));
    QuietStderr quiet;  // libpng warns about the same chunks
    const auto r = decodeImage(file, "broken-profile.img");
    QVERIFY(!r.ok());
    const QString message = QString::fromStdString(r.message());
    QVERIFY2(message.contains(needle), qPrintable(message));
    QVERIFY2(message.contains("'broken-profile.img'"), qPrintable(message));
    QVERIFY2(message.contains("colour profile"), qPrintable(message));  // what to do
    // The stated fallback, when asked for: loads as sRGB, says why.
    LoadOptions fallback;
    fallback.brokenProfile = BrokenProfile::AssumeSrgb;
    const auto f = decodeImage(file, "broken-profile.img", fallback);
    QVERIFY(f.ok());
    QVERIFY(!f->colour.converted);
    QVERIFY2(f->colour.note.find("broken") != std::string::npos, f->colour.note.c_str());
  }

  void nclxCodePoints() {
    Nclx srgb;
    srgb.primaries = 1;
    srgb.transfer = 13;
    QVERIFY(profileForNclx(srgb).isSrgb);
    Nclx pq = srgb;
    pq.transfer = 16;
    const NclxProfile hdr = profileForNclx(pq);
    QVERIFY(!hdr.isSrgb && hdr.icc.empty());
    QVERIFY(hdr.unsupported.find("PQ") != std::string::npos);
    // Display P3 as libheif decodes it: the nclx profile converts like the ICC one.
    Nclx p3 = srgb;
    p3.primaries = 12;
    const float xy[4][2] = {{0.680f, 0.320f}, {0.265f, 0.690f}, {0.150f, 0.060f}, {0.3127f, 0.3290f}};
    float* dst[4] = {p3.red, p3.green, p3.blue, p3.white};
    for (int i = 0; i < 4; ++i) dst[i][0] = xy[i][0], dst[i][1] = xy[i][1];
    const NclxProfile made = profileForNclx(p3);
    QVERIFY(!made.icc.empty());
    QVERIFY(made.description.find("Display P3") != std::string::npos);
    cv::Mat viaNclx = testPixels(CV_8U, 8);
    const cv::Mat reference = referenceToSrgb(viaNclx, displayP3Profile());
    const auto info = convertIccToWorkingSpace(viaNclx, made.icc, "HEIF nclx");
    QVERIFY(info.ok() && info->converted);
    QVERIFY(maxDiff(viaNclx, reference) <= 1.0);
  }
};

QTEST_APPLESS_MAIN(TestImageColour)
#include "test_image_colour.moc"
