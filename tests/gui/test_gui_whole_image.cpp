// Whole-image mode in the window, offscreen, with the bundled model on a real photo
// split pair (tests/data/coffee.jpg; A noisy on the left, B blurred on the right): the
// button runs the tiled assessment on the worker with progress, the summary and the
// verdict map appear (over all three panes), a click on a tile asks for its reasoning
// with the tile as the region and its attention drawn inside it, Stop and closing the
// window mid-run are clean, and frames of different sizes disable the mode with a reason.
#include <QFile>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTextEdit>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/data/split_pair.h"
#include "core/image/image_loader.h"
#include "test_support.h"
#include "ui/main_window.h"

using namespace dqa::ui;

class TestGuiWholeImage : public QObject {
  Q_OBJECT
  QTemporaryDir temp_;
  QString reference_, imageA_, imageB_;
  std::unique_ptr<MainWindow> window_;

  std::unique_ptr<MainWindow> makeWindow() {
    WindowOptions options;
    options.settingsFile = temp_.filePath(QStringLiteral("settings.ini"));
    options.persistSettings = false;
    auto window = std::make_unique<MainWindow>(options);
    window->resize(1200, 800);
    window->show();
    QSignalSpy loaded(window.get(), &MainWindow::modelLoaded);
    window->loadModel(QString::fromStdString(dqa::test::sourceDir() + "/models/default"));
    if (!QTest::qWaitFor([&] { return loaded.count() > 0; }, 60000)) return nullptr;
    window->setMaxNewTokens(48);
    return window;
  }

  QString write(const cv::Mat& rgb, const QString& name) {
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    const QString path = temp_.filePath(name);
    cv::imwrite(path.toStdString(), bgr);
    return path;
  }

  void loadAll(MainWindow& window) {
    QVERIFY(window.loadImage(PaneRole::Reference, reference_));
    QVERIFY(window.loadImage(PaneRole::A, imageA_));
    QVERIFY(window.loadImage(PaneRole::B, imageB_));
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(temp_.isValid());
    auto photo = dqa::image::loadImage(dqa::test::sourceDir() + "/tests/data/coffee.jpg");
    QVERIFY(photo);
    dqa::data::Distortion noise, blur;
    noise.type = 11;
    noise.level = 3.5;
    blur.type = 1;
    blur.level = 3.5;
    const auto pair = dqa::data::makeSplitPair(photo->rgb, noise, blur, 3);
    reference_ = write(pair.reference, QStringLiteral("reference.png"));
    imageA_ = write(pair.imageA, QStringLiteral("a-noisy-left.png"));
    imageB_ = write(pair.imageB, QStringLiteral("b-blurred-right.png"));
    window_ = makeWindow();
    QVERIFY(window_);
    loadAll(*window_);
  }

  void cleanupTestCase() { window_.reset(); }

  // The bundled model's encoder reads a whole photo at native resolution, so a fresh
  // window asks about the whole images, as the CLI does, and not about a region the
  // size of the encoder's training patches; a chosen setting survives a model reload.
  void aFreshWindowAsksAboutTheWholeImages() {
    QVERIFY(!window_->regionEnabled());
    window_->askingPanel()->setTask(dqa::text::Task::Comparison);
    QSignalSpy answered(window_.get(), &MainWindow::answerFinished);
    QVERIFY(window_->ask());
    QTRY_VERIFY_WITH_TIMEOUT(answered.count() == 1, 60000);
    QCOMPARE(window_->answeredRegion(PaneRole::A), QRect(0, 0, 588, 392));
    QCOMPARE(window_->answeredRegion(PaneRole::Reference), QRect(0, 0, 588, 392));

    auto window = makeWindow();
    QVERIFY(window);
    window->setRegionEnabled(true);
    QSignalSpy loaded(window.get(), &MainWindow::modelLoaded);
    window->loadModel(QString::fromStdString(dqa::test::sourceDir() + "/models/default"));
    QTRY_VERIFY_WITH_TIMEOUT(loaded.count() == 1, 60000);
    QVERIFY(window->regionEnabled());
  }

  void buttonProducesSummaryAndVerdictMapOnEveryPane() {
    QPushButton* button = window_->askingPanel()->wholeButton();
    QTRY_VERIFY_WITH_TIMEOUT(button->isEnabled(), 5000);
    QSignalSpy finished(window_.get(), &MainWindow::wholeImageFinished);
    QTest::mouseClick(button, Qt::LeftButton);
    QVERIFY(window_->answering());
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 120000);
    QVERIFY(!window_->answering());
    const auto* result = window_->wholeImageResult();
    QVERIFY(result);
    QCOMPARE(int(result->tiles.size()), 35);  // 588x392 in 96-px tiles: 7 x 5
    QCOMPARE(window_->answerView()->textEdit()->toPlainText().toStdString(), result->summary);
    QVERIFY(result->summary.find("compared tiles") != std::string::npos);
    for (PaneRole role : kRoles) {
      const AttentionOverlay& overlay = window_->pane(role)->canvas()->overlay();
      QVERIFY(overlay.valid());
      QCOMPARE(overlay.target, QRect(0, 0, 588, 392));
    }
    // Hovering a tile says who wins it and what the worse side shows.
    const auto& first = result->tiles.front();
    const QString hover = window_->tileSummaryAt(QPointF(first.tile.rect.x + 5, first.tile.rect.y + 5));
    QVERIFY2(hover.startsWith(QStringLiteral("Tile 1, 1: ")), qPrintable(hover));
    QVERIFY(hover.contains(QStringLiteral("P(A)")) || hover.contains(QStringLiteral("skipped")));
    // M hides the map, and shows it again.
    window_->setVerdictMapVisible(false);
    QVERIFY(!window_->pane(PaneRole::A)->canvas()->overlay().valid());
    window_->setVerdictMapVisible(true);
    QVERIFY(window_->pane(PaneRole::A)->canvas()->overlay().valid());
  }

  void reportCarriesTheSummaryAndTheMaps() {
    const QString path = temp_.filePath(QStringLiteral("whole.html"));
    QVERIFY(window_->exportReport(path));
    QFile report(path);
    QVERIFY(report.open(QIODevice::ReadOnly));
    const QString html = QString::fromUtf8(report.readAll());
    QVERIFY(html.contains(QStringLiteral("compared tiles")));
    QVERIFY(QFile::exists(temp_.filePath(QStringLiteral("whole_files/imagea_verdict_map.png"))));
  }

  void clickingATileAsksForItsReasoningInsideIt() {
    const auto* result = window_->wholeImageResult();
    QVERIFY(result);
    // The first decided tile (or any judged one).
    int index = -1;
    for (size_t i = 0; i < result->tiles.size() && index < 0; ++i)
      if (result->tiles[i].winner != 0) index = int(i);
    QVERIFY(index >= 0);
    const cv::Rect rect = result->tiles[size_t(index)].tile.rect;
    window_->viewport()->fit();
    ImageCanvas* canvas = window_->pane(PaneRole::A)->canvas();
    const QPointF centre = canvas->imageToWidget(QPointF(rect.x + rect.width / 2.0, rect.y + rect.height / 2.0));
    QSignalSpy answered(window_.get(), &MainWindow::answerFinished);
    QTest::mouseClick(canvas, Qt::LeftButton, {}, centre.toPoint());
    QTRY_VERIFY_WITH_TIMEOUT(answered.count() == 1, 60000);
    QCOMPARE(window_->askingPanel()->task(), dqa::text::Task::Reasoning);
    const QRect asked = window_->answeredRegion(PaneRole::A);
    QVERIFY2(std::abs(asked.x() - rect.x) <= 1 && std::abs(asked.y() - rect.y) <= 1 &&
                 std::abs(asked.width() - rect.width) <= 1 && std::abs(asked.height() - rect.height) <= 1,
             "the tile question must look at the tile");
    // The reasoning's attention is drawn inside the tile.
    window_->showWholeAnswerAttention();
    const AttentionOverlay& overlay = canvas->overlay();
    QVERIFY(overlay.valid());
    QVERIFY(QRect(rect.x - 1, rect.y - 1, rect.width + 2, rect.height + 2).contains(overlay.target));
    // Hiding the words' attention brings the map back.
    window_->answerView()->selectTokens(-1, -1, false);
    QCOMPARE(canvas->overlay().target, QRect(0, 0, 588, 392));
  }

  void stopEndsTheRunCleanly() {
    QSignalSpy failed(window_.get(), &MainWindow::wholeImageFailed);
    QVERIFY(window_->assessWholeImage());
    window_->stop();
    QTRY_VERIFY_WITH_TIMEOUT(failed.count() == 1, 60000);
    QVERIFY(!window_->answering());
    QVERIFY(!window_->wholeImageResult());
    QVERIFY(window_->askingPanel()->askButton()->isEnabled());
  }

  void framesOfDifferentSizesDisableTheMode() {
    cv::Mat smaller(300, 500, CV_8UC3, cv::Scalar(90, 120, 150));
    QVERIFY(window_->loadImage(PaneRole::B, write(smaller, QStringLiteral("other-size.png"))));
    QPushButton* button = window_->askingPanel()->wholeButton();
    QVERIFY(!button->isEnabled());
    QVERIFY(button->toolTip().contains(QStringLiteral("same size")));
    QVERIFY(!window_->assessWholeImage());
    QVERIFY(window_->messageText().contains(QStringLiteral("same size")));
    loadAll(*window_);
    QVERIFY(button->isEnabled());
  }

  void closingTheWindowMidRunIsClean() {
    auto window = makeWindow();
    QVERIFY(window);
    loadAll(*window);
    QVERIFY(window->assessWholeImage());
    QTest::qWait(50);
    window->close();
    window.reset();  // waits for the worker, which stops at the next batch
    QVERIFY(true);
  }
};

QTEST_MAIN(TestGuiWholeImage)
#include "test_gui_whole_image.moc"
