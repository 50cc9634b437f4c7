// Decoding images into canonical RGB: formats, bit depths, alpha, EXIF orientation, and
// clear errors for everything that is not a usable image. Every test image is generated
// here (OpenCV's encoders or hand-made bytes) inside a QTemporaryDir.
#include <QByteArray>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/image/image_loader.h"
#include "exif_fixture.h"
#include "image_bytes.h"
#include "quiet_stderr.h"

#ifdef Q_OS_UNIX
#include <fcntl.h>
#include <unistd.h>
#endif

using dqa::image::CaptureInfo;
using dqa::image::decodeImage;
using dqa::image::LoadedImage;
using dqa::image::loadImage;
using dqa::image::LoadOptions;
using namespace dqa::test;

namespace {

// ---- bytes ------------------------------------------------------------------------------

void writeFile(const std::string& utf8Path, const std::string& bytes) {
  std::ofstream out(std::filesystem::u8path(utf8Path), std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// ---- hand-made PNG ----------------------------------------------------------------------

std::string zlib(const std::string& raw) {
  // qCompress prefixes the zlib stream with a 4-byte length.
  const QByteArray z = qCompress(QByteArray(raw.data(), qsizetype(raw.size())));
  return std::string(z.constData() + 4, std::size_t(z.size() - 4));
}

// `rows` holds the raw scanlines without filter bytes.
std::string makePng(std::uint32_t width, std::uint32_t height, int bitDepth, int colourType,
                    const std::vector<std::string>& rows, const std::string& extraChunks = {}) {
  std::string raw;
  for (const auto& row : rows) raw += std::string(1, '\0') + row;
  const std::string ihdr = be32(width) + be32(height) + char(bitDepth) + char(colourType) + std::string(3, '\0');
  return std::string("\x89PNG\r\n\x1a\n", 8) + pngChunk("IHDR", ihdr) + extraChunks + pngChunk("IDAT", zlib(raw)) +
         pngChunk("IEND", "");
}

// ---- EXIF -------------------------------------------------------------------------------

// A TIFF structure with a Make tag (to be skipped) and the orientation tag.
std::string exifTiff(int orientation, bool bigEndian) {
  auto u16 = [bigEndian](unsigned v) { return bigEndian ? be16(v) : le16(v); };
  auto u32 = [bigEndian](std::uint32_t v) { return bigEndian ? be32(v) : le32(v); };
  std::string t = bigEndian ? std::string("MM") : std::string("II");
  t += u16(42) + u32(8);
  t += u16(2);                                                   // two entries
  t += u16(0x010f) + u16(2) + u32(4) + std::string("Cam\0", 4);  // Make, ASCII, inline
  t += u16(0x0112) + u16(3) + u32(1) + u16(unsigned(orientation)) + u16(0);
  t += u32(0);  // no next IFD
  return t;
}

std::string withJpegExif(const std::string& jpeg, int orientation, bool bigEndian) {
  const std::string payload = std::string("Exif\0\0", 6) + exifTiff(orientation, bigEndian);
  return withJpegApp1(jpeg, payload);
}

// Other encoders (HDR) assert on parameters they do not know.
std::vector<int> webpLossless(const QString& ext) {
  if (ext == ".webp") return {cv::IMWRITE_WEBP_QUALITY, 101};
  return {};
}

// ---- checks -----------------------------------------------------------------------------

cv::Vec3b rgbAt(const cv::Mat& rgb, int x, int y) { return rgb.at<cv::Vec3b>(y, x); }

bool isRed(const cv::Vec3b& p) { return p[0] > 200 && p[1] < 70 && p[2] < 70; }

// A 40x24 white image with a 16x16 red block at the stored top-left.
cv::Mat cornerMarkerBgr() {
  cv::Mat bgr(24, 40, CV_8UC3, cv::Scalar(255, 255, 255));
  bgr(cv::Rect(0, 0, 16, 16)).setTo(cv::Scalar(0, 0, 255));
  return bgr;
}

// Which corner holds the red block: "TL", "TR", "BR", "BL" or "none".
QString redCorner(const cv::Mat& rgb) {
  const int r = rgb.cols - 5, b = rgb.rows - 5;
  QStringList found;
  if (isRed(rgbAt(rgb, 4, 4))) found << "TL";
  if (isRed(rgbAt(rgb, r, 4))) found << "TR";
  if (isRed(rgbAt(rgb, r, b))) found << "BR";
  if (isRed(rgbAt(rgb, 4, b))) found << "BL";
  return found.size() == 1 ? found.front() : QStringLiteral("none");
}

// An error must name the file and contain `needle` (case-insensitive).
void expectError(const dqa::Result<LoadedImage>& r, const std::string& name, const QString& needle) {
  QVERIFY2(!r.ok(), "expected an error, got an image");
  const QString message = QString::fromStdString(r.message());
  QVERIFY2(message.contains(QString::fromStdString(name)), qPrintable(message));
  QVERIFY2(message.contains(needle, Qt::CaseInsensitive), qPrintable(message));
}

cv::Mat noiseBgr(int width, int height, unsigned seed) {
  cv::Mat m(height, width, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

}  // namespace

class TestImageLoading : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  std::string path(const QString& name) const { return dir_.filePath(name).toStdString(); }
  std::string saved(const QString& name, const std::string& bytes) const {
    const std::string p = path(name);
    writeFile(p, bytes);
    return p;
  }

 private Q_SLOTS:
  void initTestCase() { QVERIFY(dir_.isValid()); }

  void pngIsRgbOrder() {
    cv::Mat bgr(6, 8, CV_8UC3, cv::Scalar(10, 20, 30));
    bgr.at<cv::Vec3b>(3, 2) = cv::Vec3b(0, 0, 255);  // red in BGR
    const auto r = loadImage(saved("red.png", encode(bgr, ".png")));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->format, std::string("PNG"));
    QCOMPARE(r->width(), 8);
    QCOMPARE(r->height(), 6);
    QCOMPARE(r->rgb.type(), CV_8UC3);
    QCOMPARE(r->bitDepth, 8);
    QCOMPARE(r->sourceChannels, 3);
    QCOMPARE(r->exifOrientation, 1);
    QCOMPARE(rgbAt(r->rgb, 2, 3), cv::Vec3b(255, 0, 0));
    QCOMPARE(rgbAt(r->rgb, 0, 0), cv::Vec3b(30, 20, 10));
    QCOMPARE(r->path, path("red.png"));
  }

  void png16BitKeepsDepth() {
    cv::Mat bgr(5, 7, CV_16UC3, cv::Scalar(1000, 2000, 60000));
    const auto r = loadImage(saved("deep.png", encode(bgr, ".png")));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->rgb.type(), CV_16UC3);
    QCOMPARE(r->bitDepth, 16);
    QCOMPARE(r->rgb.at<cv::Vec3w>(4, 6), cv::Vec3w(60000, 2000, 1000));
  }

  void greyPngExpandsToThreeChannels() {
    cv::Mat grey(4, 9, CV_8UC1);
    for (int x = 0; x < grey.cols; ++x) grey.col(x).setTo(x * 25);
    const auto r = loadImage(saved("grey.png", encode(grey, ".png")));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->sourceChannels, 1);
    QCOMPARE(r->rgb.type(), CV_8UC3);
    QCOMPARE(rgbAt(r->rgb, 4, 2), cv::Vec3b(100, 100, 100));
  }

  void rgbaIsCompositedOverBlack() {
    cv::Mat bgra(2, 3, CV_8UC4);
    bgra.at<cv::Vec4b>(0, 0) = cv::Vec4b(0, 0, 255, 255);    // opaque red
    bgra.at<cv::Vec4b>(0, 1) = cv::Vec4b(0, 0, 255, 128);    // half red
    bgra.at<cv::Vec4b>(0, 2) = cv::Vec4b(255, 255, 255, 0);  // transparent white
    bgra.row(1).setTo(cv::Scalar(40, 80, 120, 255));
    const auto r = loadImage(saved("rgba.png", encode(bgra, ".png")));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->sourceChannels, 4);
    QCOMPARE(r->rgb.type(), CV_8UC3);
    QCOMPARE(rgbAt(r->rgb, 0, 0), cv::Vec3b(255, 0, 0));
    QCOMPARE(rgbAt(r->rgb, 1, 0), cv::Vec3b(128, 0, 0));
    QCOMPARE(rgbAt(r->rgb, 2, 0), cv::Vec3b(0, 0, 0));
    QCOMPARE(rgbAt(r->rgb, 1, 1), cv::Vec3b(120, 80, 40));
  }

  void rgba16IsCompositedOverBlack() {
    cv::Mat bgra(1, 2, CV_16UC4);
    bgra.at<cv::Vec4w>(0, 0) = cv::Vec4w(0, 0, 65535, 65535);
    bgra.at<cv::Vec4w>(0, 1) = cv::Vec4w(0, 0, 40000, 32768);
    const auto r = loadImage(saved("rgba16.png", encode(bgra, ".png")));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->rgb.type(), CV_16UC3);
    QCOMPARE(r->rgb.at<cv::Vec3w>(0, 0), cv::Vec3w(65535, 0, 0));
    QVERIFY(std::abs(int(r->rgb.at<cv::Vec3w>(0, 1)[0]) - 20000) <= 1);
  }

  void greyAlphaPngIsCompositedOverBlack() {
    // Colour type 4 (grey + alpha): OpenCV cannot write it, so the bytes are made here.
    const std::string row = {char(200), char(255), char(200), char(0), char(200), char(128)};
    const auto r = loadImage(saved("greyalpha.png", makePng(3, 1, 8, 4, {row})));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->rgb.type(), CV_8UC3);
    QCOMPARE(rgbAt(r->rgb, 0, 0), cv::Vec3b(200, 200, 200));
    QCOMPARE(rgbAt(r->rgb, 1, 0), cv::Vec3b(0, 0, 0));
    QVERIFY(std::abs(int(rgbAt(r->rgb, 2, 0)[1]) - 100) <= 1);
  }

  void jpegExifOrientation_data() {
    QTest::addColumn<int>("orientation");
    QTest::addColumn<bool>("bigEndian");
    QTest::addColumn<bool>("swapped");
    QTest::addColumn<QString>("corner");  // where the stored top-left block ends up
    const char* corners[] = {"TL", "TR", "BR", "BL", "TL", "TR", "BR", "BL"};
    for (bool big : {false, true}) {
      for (int o = 1; o <= 8; ++o) {
        QTest::addRow("%d-%s", o, big ? "MM" : "II") << o << big << (o >= 5) << QString(corners[o - 1]);
      }
    }
  }

  void jpegExifOrientation() {
    QFETCH(int, orientation);
    QFETCH(bool, bigEndian);
    QFETCH(bool, swapped);
    QFETCH(QString, corner);
    const std::string jpeg = encode(cornerMarkerBgr(), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
    const auto r = decodeImage(withJpegExif(jpeg, orientation, bigEndian), "rotated.jpg");
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->format, std::string("JPEG"));
    QCOMPARE(r->exifOrientation, orientation);
    QCOMPARE(r->width(), swapped ? 24 : 40);
    QCOMPARE(r->height(), swapped ? 40 : 24);
    QCOMPARE(redCorner(r->rgb), corner);
  }

  void jpegWithoutExifIsAsStored() {
    const std::string jpeg = encode(cornerMarkerBgr(), ".jpg");
    const auto r = loadImage(saved("plain.jpg", jpeg));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->exifOrientation, 1);
    QCOMPARE(r->width(), 40);
    QCOMPARE(redCorner(r->rgb), QString("TL"));
  }

  void jpegWithBrokenExifStillLoads() {
    // An EXIF block whose IFD offset points far outside: ignored, image as stored.
    const std::string jpeg = encode(cornerMarkerBgr(), ".jpg");
    std::string tiff = exifTiff(6, false);
    tiff.replace(4, 4, le32(0x7ffffff0u));
    const std::string payload = std::string("Exif\0\0", 6) + tiff;
    const std::string broken =
        jpeg.substr(0, 2) + "\xff\xe1" + be16(unsigned(payload.size() + 2)) + payload + jpeg.substr(2);
    const auto r = decodeImage(broken, "broken-exif.jpg");
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->exifOrientation, 1);
    QCOMPARE(r->width(), 40);
  }

  void cameraSettingsFromExif_data() {
    QTest::addColumn<bool>("bigEndian");
    QTest::addColumn<bool>("png");
    QTest::newRow("jpeg-le") << false << false;
    QTest::newRow("jpeg-be") << true << false;
    QTest::newRow("png-exif") << true << true;
  }
  void cameraSettingsFromExif() {
    QFETCH(bool, bigEndian);
    QFETCH(bool, png);
    const std::string tiff = cameraExifTiff(bigEndian);
    const std::string row = {char(255), 0, 0, 0, 0, char(255)};
    const std::string file = png ? makePng(2, 1, 8, 2, {row}, pngChunk("eXIf", tiff))
                                 : withJpegApp1(encode(cornerMarkerBgr(), ".jpg"), std::string("Exif\0\0", 6) + tiff);
    const auto r = decodeImage(file, png ? "camera.png" : "camera.jpg");
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    const CaptureInfo& c = r->capture;
    QCOMPARE(QString::fromStdString(c.make), QString("Canon"));
    QCOMPARE(QString::fromStdString(c.model), QString("Canon EOS R5"));
    QCOMPARE(QString::fromStdString(c.lens), QString("RF24-105mm F4 L IS USM"));
    QCOMPARE(c.exposureSeconds, 1.0 / 250);
    QCOMPARE(c.fNumber, 8.0);
    QCOMPARE(c.iso, 200);
    QCOMPARE(c.focalLengthMm, 50.0);
    QCOMPARE(QString::fromStdString(c.captureTime), QString("2024-05-01 14:03:22"));  // DateTimeOriginal wins
    QCOMPARE(QString::fromStdString(c.summary()),
             QString("Canon EOS R5 · RF24-105mm F4 L IS USM · 1/250 s · f/8 · ISO 200 · 50 mm · 2024-05-01 14:03:22"));
    QVERIFY(c.sameCaptureAs(c));
  }

  void damagedExifLeavesTheSettingsOut() {
    // Every way of pointing past the end: each field is dropped, the image loads.
    const std::string jpeg = encode(cornerMarkerBgr(), ".jpg");
    const std::string whole = cameraExifTiff(false);
    for (size_t cut = 0; cut < whole.size(); cut += 3) {
      const auto r = decodeImage(withJpegApp1(jpeg, std::string("Exif\0\0", 6) + whole.substr(0, cut)), "cut.jpg");
      QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
      QCOMPARE(r->width(), 40);
    }
    // No EXIF: nothing stated.
    const auto plain = decodeImage(jpeg, "plain.jpg");
    QVERIFY(plain.ok() && plain->capture.empty() && plain->capture.summary().empty());
  }

  void pngExifOrientation() {
    // 2x1 with a red left pixel; eXIf orientation 6 turns it into 1x2, red on top.
    const std::string row = {char(255), 0, 0, 0, 0, char(255)};
    const std::string exif = pngChunk("eXIf", exifTiff(6, true));
    const auto r = decodeImage(makePng(2, 1, 8, 2, {row}, exif), "exif.png");
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->exifOrientation, 6);
    QCOMPARE(r->width(), 1);
    QCOMPARE(r->height(), 2);
    QCOMPARE(rgbAt(r->rgb, 0, 0), cv::Vec3b(255, 0, 0));
    QCOMPARE(rgbAt(r->rgb, 0, 1), cv::Vec3b(0, 0, 255));
  }

  void cmykJpegIsConverted() {
    // Adobe CMYK is stored inverted: (255, 0, 0, 255) means C=0, M=Y=1, K=0: red.
    const unsigned char red[4] = {255, 0, 0, 255};
    const auto r = decodeImage(makeCmykJpeg(red), "cmyk.jpg");
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->sourceChannels, 3);  // OpenCV converts CMYK while decoding
    QCOMPARE(r->width(), 8);
    QVERIFY2(isRed(rgbAt(r->rgb, 3, 3)), "CMYK red did not come out red");
    const unsigned char white[4] = {255, 255, 255, 255};
    const auto w = decodeImage(makeCmykJpeg(white), "cmyk-white.jpg");
    QVERIFY2(w.ok(), w.ok() ? "" : w.message().c_str());
    QCOMPARE(rgbAt(w->rgb, 5, 5), cv::Vec3b(255, 255, 255));
  }

  void onePixelImages_data() {
    QTest::addColumn<QString>("ext");
    for (const char* e : {".png", ".jpg", ".bmp", ".tiff", ".webp", ".ppm"}) QTest::newRow(e) << QString(e);
  }

  void onePixelImages() {
    QFETCH(QString, ext);
    const std::string bytes =
        encode(cv::Mat(1, 1, CV_8UC3, cv::Scalar(0, 0, 255)), ext.toStdString(), webpLossless(ext));
    if (bytes.empty()) QSKIP("this OpenCV cannot write the format");
    const auto r = decodeImage(bytes, "one" + ext.toStdString());
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->width(), 1);
    QCOMPARE(r->height(), 1);
    QVERIFY(isRed(rgbAt(r->rgb, 0, 0)));
  }

  void otherFormats_data() {
    QTest::addColumn<QString>("ext");
    QTest::addColumn<QString>("format");
    QTest::addColumn<bool>("floating");
    QTest::addColumn<bool>("grey");
    QTest::newRow("jpeg") << ".jpg"
                          << "JPEG" << false << false;
    QTest::newRow("bmp") << ".bmp"
                         << "BMP" << false << false;
    QTest::newRow("tiff") << ".tiff"
                          << "TIFF" << false << false;
    QTest::newRow("webp") << ".webp"
                          << "WebP" << false << false;
    QTest::newRow("ppm") << ".ppm"
                         << "PPM" << false << false;
    QTest::newRow("pgm") << ".pgm"
                         << "PGM" << false << true;
    QTest::newRow("pam") << ".pam"
                         << "PAM" << false << false;
    QTest::newRow("sunraster") << ".ras"
                               << "Sun raster" << false << false;
    QTest::newRow("jpeg2000") << ".jp2"
                              << "JPEG 2000" << false << false;
    QTest::newRow("pfm") << ".pfm"
                         << "PFM" << true << false;
    QTest::newRow("hdr") << ".hdr"
                         << "Radiance HDR" << true << false;
    QTest::newRow("exr") << ".exr"
                         << "OpenEXR" << true << false;
  }

  void otherFormats() {
    QFETCH(QString, ext);
    QFETCH(QString, format);
    QFETCH(bool, floating);
    QFETCH(bool, grey);
    // 64x48: OpenJPEG refuses images much smaller than this with default settings.
    cv::Mat bgr(48, 64, CV_8UC3, cv::Scalar(255, 255, 255));
    bgr(cv::Rect(0, 0, 16, 16)).setTo(cv::Scalar(0, 0, 255));
    if (grey) cv::cvtColor(bgr, bgr, cv::COLOR_BGR2GRAY);
    if (floating) bgr.convertTo(bgr, CV_32F, 1.0 / 255.0);
    std::string bytes;
    try {
      bytes = encode(bgr, ext.toStdString(), webpLossless(ext));
    } catch (const cv::Exception&) {}
    if (bytes.empty()) QSKIP("this OpenCV cannot write the format");
    const auto r = loadImage(saved("other" + ext, bytes));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(QString::fromStdString(r->format), format);
    QCOMPARE(r->width(), 64);
    QCOMPARE(r->height(), 48);
    QCOMPARE(r->bitDepth, floating ? 16 : 8);
    QCOMPARE(r->rgb.type(), floating ? CV_16UC3 : CV_8UC3);
    cv::Mat eight;
    r->rgb.convertTo(eight, CV_8U, floating ? 1.0 / 257.0 : 1.0);
    if (!grey) QVERIFY(isRed(rgbAt(eight, 4, 4)));
    const cv::Vec3b white = rgbAt(eight, 60, 44);
    QVERIFY(white[0] > 200 && white[1] > 200 && white[2] > 200);
  }

  void nonAsciiPath() {
    const QString name = QString::fromUtf8("bild_ä_画像.png");
    const auto r = loadImage(saved(name, encode(noiseBgr(5, 4, 1), ".png")));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->width(), 5);
    // Errors keep the name intact, too.
    const std::string missing = path(QString::fromUtf8("fehlt_ö_画像.png"));
    expectError(loadImage(missing), missing, "does not exist");
  }

  void missingFile() {
    const std::string p = path("no-such-file.png");
    expectError(loadImage(p), p, "does not exist");
  }

  void directory() {
    const std::string p = dir_.path().toStdString();
    expectError(loadImage(p), p, "folder");
  }

  void emptyPathAndEmptyFile() {
    const auto none = loadImage("");
    QVERIFY(!none.ok());
    QVERIFY(!none.message().empty());
    const std::string p = saved("empty.png", "");
    expectError(loadImage(p), p, "empty");
  }

  void truncatedFiles_data() {
    QTest::addColumn<QString>("ext");
    for (const char* e : {".png", ".jpg", ".bmp", ".ppm", ".webp"}) QTest::newRow(e) << QString(e);
  }

  void truncatedFiles() {
    QFETCH(QString, ext);
    const std::string whole = encode(noiseBgr(64, 48, 7), ext.toStdString(), {cv::IMWRITE_JPEG_QUALITY, 90});
    QVERIFY(!whole.empty());
    QVERIFY(decodeImage(whole, "whole").ok());
    const std::string p = saved("cut" + ext, whole.substr(0, whole.size() / 2));
    expectError(loadImage(p), p, "truncated");
  }

  void randomBytes() {
    std::mt19937 rng(12345);
    std::string bytes(1000, '\0');
    for (char& c : bytes) c = char(rng() & 0xff);
    bytes.replace(0, 4, "zzzz");  // make sure no magic number matches by chance
    const std::string p = saved("noise.png", bytes);
    expectError(loadImage(p), p, "not an image");
    // A text file with an image extension: the same.
    const std::string t = saved("notes.jpg", "hello, this is text\n");
    expectError(loadImage(t), t, "not an image");
  }

  void unsupportedFormat() {
    const std::string gif = std::string("GIF89a", 6) + le16(4) + le16(4) + std::string(20, '\0');
    const std::string p = saved("anim.gif", gif);
    expectError(loadImage(p), p, "GIF");
    expectError(loadImage(p), p, "convert");
  }

  void zeroSizeIsRefused() {
    const std::string png = makePng(0, 5, 8, 2, {});
    expectError(decodeImage(png, "zero.png"), "zero.png", "empty image");
    std::string bmp = encode(noiseBgr(4, 4, 3), ".bmp");
    bmp.replace(18, 4, le32(0));
    expectError(decodeImage(bmp, "zero.bmp"), "zero.bmp", "empty image");
  }

  void decompressionBombs_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("declared");
    auto qb = [](const std::string& s) { return QByteArray(s.data(), qsizetype(s.size())); };
    // PNG: IHDR claims 100000x100000, a few bytes of data, valid CRCs.
    QTest::newRow("png") << qb(makePng(100000, 100000, 8, 2, {std::string(30, '\0')})) << "100000x100000";
    // JPEG: a real small JPEG whose SOF0 now claims 60000x60000.
    std::string jpeg = encode(noiseBgr(16, 16, 5), ".jpg");
    const std::size_t sof = jpeg.find("\xff\xc0");
    jpeg.replace(sof + 5, 4, be16(60000) + be16(60000));
    QTest::newRow("jpeg") << qb(jpeg) << "60000x60000";
    // BMP: header claims 50000x50000 (and holds a few pixels).
    std::string bmp = encode(noiseBgr(4, 4, 3), ".bmp");
    bmp.replace(18, 8, le32(50000) + le32(50000));
    QTest::newRow("bmp") << qb(bmp) << "50000x50000";
    // WebP (extended header): 16384x16384 canvas.
    std::string webp = std::string("RIFF") + le32(4 + 18) + "WEBPVP8X" + le32(10) + std::string(4, '\0') +
                       std::string("\xff\x3f\x00\xff\x3f\x00", 6);
    QTest::newRow("webp") << qb(webp) << "16384x16384";
    // TIFF: ImageWidth/ImageLength 100000 as LONGs.
    std::string tiff = std::string("II*\0", 4) + le32(8) + le16(2) + le16(256) + le16(4) + le32(1) + le32(100000) +
                       le16(257) + le16(4) + le32(1) + le32(100000) + le32(0);
    QTest::newRow("tiff") << qb(tiff) << "100000x100000";
    QTest::newRow("ppm") << qb("P6\n70000 70000\n255\n") << "70000x70000";
  }

  void decompressionBombs() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, declared);
    const std::string p = saved("bomb", bytes.toStdString());
    QElapsedTimer timer;
    timer.start();
    const auto r = loadImage(p);
    // Refused from the header: quickly, naming the declared size and the guard.
    QVERIFY(timer.elapsed() < 2000);
    expectError(r, p, "decompression bomb");
    expectError(r, p, declared);
  }

  void pixelLimitIsAnOption() {
    const std::string png = encode(noiseBgr(64, 64, 9), ".png");
    LoadOptions small;
    small.maxPixels = 1000;
    expectError(decodeImage(png, "big.png", small), "big.png", "limit");
    QVERIFY(decodeImage(png, "big.png").ok());
    LoadOptions tinyFiles;
    tinyFiles.maxFileBytes = 10;
    const std::string p = saved("big.png", png);
    expectError(loadImage(p, tinyFiles), p, "limit");
  }

  void damagedBytesNeverCrash_data() {
    QTest::addColumn<QString>("ext");
    for (const char* e : {".png", ".jpg", ".bmp", ".webp", ".tiff", ".ppm"}) QTest::newRow(e) << QString(e);
  }

  void damagedBytesNeverCrash() {
    // Cut at many places and flip random bytes: every call returns an image or an error.
    QFETCH(QString, ext);
    const std::string whole = encode(noiseBgr(24, 16, 11), ext.toStdString());
    QVERIFY(!whole.empty());
    auto check = [](const dqa::Result<LoadedImage>& r) {
      if (r.ok()) {
        QVERIFY(r->rgb.type() == CV_8UC3 || r->rgb.type() == CV_16UC3);
        QVERIFY(!r->rgb.empty());
      } else {
        QVERIFY(!r.message().empty());
      }
    };
    const QuietStderr quiet;
    for (std::size_t n = 0; n < whole.size(); n += 1 + whole.size() / 97) check(decodeImage(whole.substr(0, n), "cut"));
    std::mt19937 rng(99);
    for (int i = 0; i < 150; ++i) {
      std::string bytes = whole;
      for (int k = 0; k < 4; ++k) bytes[rng() % bytes.size()] = char(rng() & 0xff);
      check(decodeImage(bytes, "flipped"));
    }
  }
};

QTEST_GUILESS_MAIN(TestImageLoading)
#include "test_image_loading.moc"
