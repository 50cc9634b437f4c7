// The panes show each image in the display's colour space (issue 17, "Colour
// management"): the loader gives sRGB; the canvas converts it to the display's profile
// (here a Display P3 profile named by $DEPICTQA_DISPLAY_PROFILE) and the status bar names
// the profile. Checked against Little CMS's own sRGB -> P3 transform. A model whose
// config.json names Display P3 as its working space gets the panes' images converted to
// it when it loads, and they still look the same on the screen.
#include <QFile>
#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <lcms2.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "colour_fixtures.h"
#include "test_support.h"
#include "ui/display_colour.h"
#include "ui/main_window.h"

using namespace dqa::ui;

namespace {

// Little CMS's conversion of 8-bit sRGB pixels to the profile `icc`.
QImage lcmsFromSrgb(const QImage& srgb, const std::string& icc) {
  dqa::test::LcmsProfile to(cmsOpenProfileFromMem(icc.data(), cmsUInt32Number(icc.size())), cmsCloseProfile);
  dqa::test::LcmsProfile from(cmsCreate_sRGBProfile(), cmsCloseProfile);
  cmsHTRANSFORM t = cmsCreateTransform(from.get(), TYPE_RGB_8, to.get(), TYPE_RGB_8, INTENT_RELATIVE_COLORIMETRIC, 0);
  QImage out(srgb.size(), QImage::Format_RGB888);
  for (int y = 0; y < srgb.height(); ++y)
    cmsDoTransform(t, srgb.constScanLine(y), out.scanLine(y), cmsUInt32Number(srgb.width()));
  cmsDeleteTransform(t);
  return out;
}

// Every sixth level of each channel: saturated primaries, greys, mixtures.
QImage swatches() {
  QImage image(36, 36, QImage::Format_RGB888);
  for (int y = 0; y < 36; ++y)
    for (int x = 0; x < 36; ++x) image.setPixelColor(x, y, QColor((x % 6) * 51, (x / 6) * 51, (y % 6) * 51));
  return image;
}

int maxDifference(const QImage& a, const QImage& b) {
  const QImage x = a.convertToFormat(QImage::Format_RGB888), y = b.convertToFormat(QImage::Format_RGB888);
  int worst = 0;
  for (int row = 0; row < x.height(); ++row)
    for (int i = 0; i < 3 * x.width(); ++i)
      worst = std::max(worst, std::abs(int(x.constScanLine(row)[i]) - int(y.constScanLine(row)[i])));
  return worst;
}

}  // namespace

class TestGuiDisplayColour : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir temp_;

 private Q_SLOTS:
  void conversionMatchesLittleCms() {
    const std::string p3 = dqa::test::displayP3Profile();
    const DisplayColour display =
        displayColourFromIcc(QByteArray(p3.data(), qsizetype(p3.size())), QStringLiteral("a test"));
    QVERIFY(display.space.isValid());
    QVERIFY2(display.description.contains(QStringLiteral("Display P3 (test)")), qPrintable(display.description));
    const QImage srgb = swatches();
    const QImage shown = toDisplay(srgb, display.space);
    const QImage reference = lcmsFromSrgb(srgb, p3);
    const int worst = maxDifference(shown, reference);
    qInfo("largest difference from Little CMS: %d / 255; pure red shown as (%d, %d, %d)", worst,
          shown.pixelColor(5, 0).red(), shown.pixelColor(5, 0).green(), shown.pixelColor(5, 0).blue());
    QVERIFY(worst <= 2);
    QVERIFY(maxDifference(shown, srgb) > 20);  // P3 is wider: saturated colours move
  }

  void unusableProfileMeansSrgb() {
    const DisplayColour d = displayColourFromIcc(QByteArray("not a profile"), QStringLiteral("a test"));
    QVERIFY(!d.space.isValid());
    QVERIFY2(d.description.contains(QStringLiteral("taken as sRGB")), qPrintable(d.description));
    const QImage srgb = swatches();
    QCOMPARE(toDisplay(srgb, d.space), srgb);
  }

  // The window reads $DEPICTQA_DISPLAY_PROFILE, names the profile in the status bar and
  // paints the pane converted; the image the model and the metrics see stays sRGB.
  void windowPaintsInTheDisplaysSpace() {
    QVERIFY(temp_.isValid());
    const std::string p3 = dqa::test::displayP3Profile();
    const QString profilePath = temp_.filePath(QStringLiteral("display-p3.icc"));
    {
      QFile f(profilePath);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(p3.data(), qsizetype(p3.size()));
    }
    const QString imagePath = temp_.filePath(QStringLiteral("swatches.png"));
    QVERIFY(swatches().save(imagePath));
    qputenv("DEPICTQA_DISPLAY_PROFILE", profilePath.toLocal8Bit());
    WindowOptions options;
    options.settingsFile = temp_.filePath(QStringLiteral("settings.ini"));
    options.persistSettings = false;
    MainWindow window(options);
    qunsetenv("DEPICTQA_DISPLAY_PROFILE");
    auto* label = window.findChild<QLabel*>(QStringLiteral("displayLabel"));
    QVERIFY(label);
    QVERIFY2(label->text().contains(QStringLiteral("Display P3 (test)")), qPrintable(label->text()));
    QVERIFY(window.loadImage(PaneRole::A, imagePath));
    const ImageCanvas* canvas = window.pane(PaneRole::A)->canvas();
    QVERIFY(maxDifference(canvas->image(), swatches()) == 0);
    QVERIFY(maxDifference(canvas->shownImage(), lcmsFromSrgb(swatches(), p3)) <= 2);

    // Without the variable (offscreen: no X11 profile) nothing is converted.
    MainWindow plain(options);
    auto* plainLabel = plain.findChild<QLabel*>(QStringLiteral("displayLabel"));
    QVERIFY(plainLabel);
    qInfo("%s", qPrintable(plainLabel->toolTip()));
    QCOMPARE(plainLabel->text(), QStringLiteral("Display: sRGB"));
    QVERIFY(plain.loadImage(PaneRole::A, imagePath));
    QCOMPARE(plain.pane(PaneRole::A)->canvas()->shownImage(), plain.pane(PaneRole::A)->canvas()->image());
  }

  // The bundled model copied with "working_colour_space": "Display P3": an sRGB image
  // loaded before the model is decoded again into P3 when the model loads (as Little CMS
  // converts it), the pane says so, and on the (sRGB) screen it looks as before.
  void modelsWorkingSpaceConvertsThePanes() {
    QVERIFY(temp_.isValid());
    const QString modelDir = temp_.filePath(QStringLiteral("p3-model"));
    QVERIFY(QDir().mkpath(modelDir));
    const QString bundled = QStringLiteral(DEPICTQA_SOURCE_DIR "/models/default/");
    for (const char* name : {"model.safetensors", "tokenizer.model"})
      QVERIFY(QFile::copy(bundled + name, modelDir + "/" + name));
    QFile in(bundled + "config.json");
    QVERIFY(in.open(QIODevice::ReadOnly));
    nlohmann::json config = nlohmann::json::parse(in.readAll().toStdString());
    config["working_colour_space"] = "Display P3";
    QFile out(modelDir + "/config.json");
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(QByteArray::fromStdString(config.dump(2)));
    out.close();

    const QString imagePath = temp_.filePath(QStringLiteral("swatches-p3.png"));
    QVERIFY(swatches().save(imagePath));
    WindowOptions options;
    options.settingsFile = temp_.filePath(QStringLiteral("settings-p3.ini"));
    options.persistSettings = false;
    MainWindow window(options);
    QVERIFY(window.loadImage(PaneRole::A, imagePath));
    QVERIFY(window.image(PaneRole::A)->space == dqa::WorkingSpace::Srgb);
    QSignalSpy loaded(&window, &MainWindow::modelLoaded);
    QSignalSpy failed(&window, &MainWindow::modelFailed);
    window.loadModel(modelDir);
    QVERIFY(QTest::qWaitFor([&] { return loaded.count() + failed.count() > 0; }, 60000));
    QCOMPARE(failed.count(), 0);

    const PaneImage* image = window.image(PaneRole::A);
    QVERIFY(image);
    QVERIFY(image->space == dqa::WorkingSpace::DisplayP3);
    QVERIFY2(image->colour.contains(QStringLiteral("converted from sRGB to Display P3")), qPrintable(image->colour));
    const QImage p3 = lcmsFromSrgb(swatches(), dqa::test::displayP3Profile());
    QVERIFY(maxDifference(image->preview, p3) <= 1);
    QVERIFY(maxDifference(image->preview, swatches()) > 20);  // the pixels did change
    // Painted for the sRGB screen, the P3 pixels look like the original swatches (3/255:
    // two 8-bit roundings, sRGB -> P3 in the loader and P3 -> sRGB in Qt).
    QVERIFY(maxDifference(window.pane(PaneRole::A)->canvas()->shownImage(), swatches()) <= 3);
    // An image loaded now goes straight to P3.
    QVERIFY(window.loadImage(PaneRole::B, imagePath));
    QVERIFY(window.image(PaneRole::B)->space == dqa::WorkingSpace::DisplayP3);
    QVERIFY(maxDifference(window.image(PaneRole::B)->preview, p3) <= 1);
  }
};

QTEST_MAIN(TestGuiDisplayColour)
#include "test_gui_display_colour.moc"
