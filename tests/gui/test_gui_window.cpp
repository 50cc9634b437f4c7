// The desktop window end to end, offscreen, on the tiny LLaVA fixture (random weights:
// the text is gibberish, but it is the core's real output). Checks: images load (and a
// broken file gives a message, not a crash), every task streams tokens in order that
// add up to the core's answer, Stop works mid-answer, a selected word's attention is
// drawn exactly over the region the model saw, switching models and closing the
// window mid-answer are clean.
#include <QApplication>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QMimeData>
#include <QPainter>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTextEdit>
#include <QUrl>

#include "dng_fixture.h"
#include "heif_fixture.h"
#include "test_support.h"
#include "ui/main_window.h"

using namespace dqa::ui;

namespace {

// The fixture was exported with a 256-token context, shorter than DepictQA's system
// prompt under its 512-piece test tokenizer. RoPE has no learned position table, so
// the same weights run longer sequences: a copy of the directory with a larger limit.
QString makeLongContextFixture(const QTemporaryDir& dir) {
  const QString source = QString::fromStdString(dqa::test::fixtureDir("llava-tiny"));
  const QString target = dir.filePath(QStringLiteral("llava-tiny-long"));
  QDir().mkpath(target);
  QFile config(source + QStringLiteral("/config.json"));
  if (!config.open(QIODevice::ReadOnly)) return {};
  QByteArray text = config.readAll();
  text.replace("\"max_position_embeddings\": 256", "\"max_position_embeddings\": 4096");
  QFile out(target + QStringLiteral("/config.json"));
  if (!out.open(QIODevice::WriteOnly)) return {};
  out.write(text);
  out.close();
  QFile::link(source + QStringLiteral("/model.safetensors"), target + QStringLiteral("/model.safetensors"));
  return target;
}

QString tokenizerPath() { return QString::fromStdString(dqa::test::fixtureDir("sentencepiece/tiny.model")); }

// A textured test picture, with optional noise (so that A and B differ).
QString writeImage(const QTemporaryDir& dir, const QString& name, int noise, quint32 seed) {
  QImage image(160, 120, QImage::Format_RGB888);
  QRandomGenerator random(seed);
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) {
      auto jitter = [&] { return noise ? int(random.bounded(2 * noise + 1)) - noise : 0; };
      const int r = std::clamp((x * 255) / 160 + jitter(), 0, 255);
      const int g = std::clamp((y * 255) / 120 + jitter(), 0, 255);
      const int b = std::clamp(((x / 10 + y / 10) % 2) * 200 + jitter(), 0, 255);
      image.setPixelColor(x, y, QColor(r, g, b));
    }
  const QString path = dir.filePath(name);
  image.save(path);
  return path;
}

// A large picture written fast (BMP, rows filled directly): a diagonal gradient with a
// checker, plus `noise` where A and B differ from the reference.
QString writeLargeImage(const QTemporaryDir& dir, const QString& name, int width, int height, int noise, quint32 seed) {
  QImage image(width, height, QImage::Format_RGB888);
  QRandomGenerator random(seed);
  for (int y = 0; y < height; ++y) {
    uchar* row = image.scanLine(y);
    for (int x = 0; x < width; ++x) {
      const int base = ((x + y) * 255) / (width + height) + (((x / 64 + y / 64) % 2) ? 40 : 0);
      for (int c = 0; c < 3; ++c)
        row[3 * x + c] = uchar(std::clamp(base + (noise ? int(random.bounded(2 * noise + 1)) - noise : 0), 0, 255));
    }
  }
  const QString path = dir.filePath(name);
  image.save(path, "BMP");
  return path;
}

bool writeBytes(const QString& path, const std::string& bytes) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly) && f.write(bytes.data(), qint64(bytes.size())) == qint64(bytes.size());
}

// A drag entering `target` and dropped in its middle, as the window system delivers it.
bool drop(QWidget* target, const QMimeData* mime) {
  const QPoint middle(target->width() / 2, target->height() / 2);
  QDragEnterEvent enter(middle, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(target, &enter);
  if (!enter.isAccepted()) return false;
  QDropEvent dropped(QPointF(middle), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(target, &dropped);
  return dropped.isAccepted();
}

bool dropFile(QWidget* target, const QString& path) {
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(path)});
  return drop(target, &mime);
}

}  // namespace

class TestGuiWindow : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir temp_;
  QString model_;
  QString reference_, imageA_, imageB_;
  std::unique_ptr<MainWindow> window_;

  std::unique_ptr<MainWindow> makeWindow() {
    WindowOptions options;
    options.settingsFile = temp_.filePath(QStringLiteral("settings.ini"));
    options.persistSettings = false;
    auto window = std::make_unique<MainWindow>(options);
    window->resize(1200, 800);
    window->show();
    return window;
  }

  bool loadModel(MainWindow& window) {
    QSignalSpy loaded(&window, &MainWindow::modelLoaded);
    QSignalSpy failed(&window, &MainWindow::modelFailed);
    window.loadModel(model_, tokenizerPath());
    if (!QTest::qWaitFor([&] { return loaded.count() + failed.count() > 0; }, 60000)) return false;
    if (failed.count()) qWarning() << failed.first().first().toString();
    return loaded.count() == 1 && window.modelReady();
  }

  void loadAll(MainWindow& window) {
    QVERIFY(window.loadImage(PaneRole::Reference, reference_));
    QVERIFY(window.loadImage(PaneRole::A, imageA_));
    QVERIFY(window.loadImage(PaneRole::B, imageB_));
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(temp_.isValid());
    model_ = makeLongContextFixture(temp_);
    QVERIFY(!model_.isEmpty());
    reference_ = writeImage(temp_, QStringLiteral("reference.png"), 0, 1);
    imageA_ = writeImage(temp_, QStringLiteral("a.png"), 40, 2);
    imageB_ = writeImage(temp_, QStringLiteral("b.png"), 10, 3);
    window_ = makeWindow();
    QVERIFY(loadModel(*window_));
    window_->setMaxNewTokens(24);
  }

  void cleanupTestCase() { window_.reset(); }

  void loadsImagesAndShowsWhatIsLoaded() {
    // CLIP downscales whole images to its input, so the window starts on a region the
    // model sees at native resolution.
    QVERIFY(window_->regionEnabled());
    loadAll(*window_);
    const PaneImage* a = window_->image(PaneRole::A);
    QVERIFY(a);
    QCOMPARE(a->width(), 160);
    QCOMPARE(a->format, QStringLiteral("PNG"));
    QVERIFY(a->summary().contains(QStringLiteral("160×120")));
    // The pane says what was done about colour: these PNGs carry no profile.
    QVERIFY2(a->summary().contains(QStringLiteral("taken as sRGB")), qPrintable(a->summary()));
    QVERIFY(!window_->pane(PaneRole::A)->canvas()->image().isNull());
    // Metrics against the reference arrive from a background computation.
    QTRY_VERIFY_WITH_TIMEOUT(window_->pane(PaneRole::A)
                                 ->findChild<QLabel*>(QStringLiteral("metrics1"))
                                 ->text()
                                 .contains(QStringLiteral("PSNR")),
                             10000);
  }

  void brokenFileIsAMessageNotACrash() {
    const QString broken = temp_.filePath(QStringLiteral("broken.png"));
    QFile f(broken);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("\x89PNG\r\n\x1a\nthis is not an image");
    f.close();
    QVERIFY(!window_->loadImage(PaneRole::B, broken));
    QVERIFY(!window_->messageText().isEmpty());
    QVERIFY(window_->messageText().contains(QStringLiteral("broken.png")));
    // The image that was there stays.
    QVERIFY(window_->image(PaneRole::B));
    QVERIFY(!window_->loadImage(PaneRole::B, temp_.filePath(QStringLiteral("missing.png"))));
    QVERIFY(!window_->setImageData(PaneRole::B, QByteArray("garbage"), QStringLiteral("clipboard")));
  }

  // A camera RAW opens as a half-size preview at once; the full development replaces it
  // in the background, and asking waits for it. A development whose pane has changed
  // since is dropped.
  void cameraRawShowsAPreviewThenTheFullDevelopment() {
    const QString dngPath = temp_.filePath(QStringLiteral("sensor.dng"));
    {
      const std::string dng = dqa::test::makeDng(320, 240);
      QFile f(dngPath);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(dng.data(), qint64(dng.size()));
    }
    QSignalSpy developed(window_.get(), &MainWindow::imageDeveloped);
    QVERIFY(window_->loadImage(PaneRole::A, dngPath));
    const PaneImage* preview = window_->image(PaneRole::A);
    QVERIFY(preview && preview->developing);
    QCOMPARE(preview->width(), 160);
    QVERIFY2(preview->summary().contains(QStringLiteral("developing the full RAW")), qPrintable(preview->summary()));
    // The camera the file names (LibRaw's reading), under the pane.
    QVERIFY2(preview->summary().contains(QStringLiteral("DepictQA Test Sensor")), qPrintable(preview->summary()));
    QVERIFY(window_->developing());
    QVERIFY(!window_->ask());  // waits for the full development
    QVERIFY(developed.wait(30000));
    const PaneImage* full = window_->image(PaneRole::A);
    QVERIFY(full && !full->developing);
    QCOMPARE(full->width(), 320);
    QCOMPARE(full->height(), 240);
    QVERIFY(!window_->developing());

    // Replaced while developing: the development is dropped, the new image stays.
    developed.clear();
    QVERIFY(window_->loadImage(PaneRole::A, dngPath));
    QVERIFY(window_->loadImage(PaneRole::A, imageA_));
    QVERIFY(!developed.wait(1500));
    QCOMPARE(window_->image(PaneRole::A)->width(), 160);
    QCOMPARE(window_->image(PaneRole::A)->format, QStringLiteral("PNG"));
    QVERIFY(!window_->developing());
  }

  // A photographer's first move: files dropped from the file manager. A camera RAW and a
  // phone's HEIC dropped on the panes open like any file (the RAW develops in the
  // background); a dropped broken file says why and keeps the pane's image; a picture
  // dragged out of a browser (image data, no file) opens too.
  void droppedRawHeicAndPicturesOpen() {
    const QString dngPath = temp_.filePath(QStringLiteral("dropped.dng"));
    const QString heicPath = temp_.filePath(QStringLiteral("dropped.heic"));
    const QString brokenPath = temp_.filePath(QStringLiteral("dropped-broken.heic"));
    dqa::test::HeifPicture picture;
    picture.rgb = cv::Mat(96, 128, CV_8UC3, cv::Scalar(200, 120, 40));
    const std::string heic = dqa::test::encodeHeif(heif_compression_HEVC, {picture});
    if (heic.empty()) QSKIP("libheif has no HEVC encoder here (libheif-plugin-x265 missing)");
    QVERIFY(writeBytes(dngPath, dqa::test::makeDng(320, 240)));
    QVERIFY(writeBytes(heicPath, heic));
    QVERIFY(writeBytes(brokenPath, heic.substr(0, heic.size() / 2)));

    QSignalSpy developed(window_.get(), &MainWindow::imageDeveloped);
    QVERIFY(dropFile(window_->pane(PaneRole::A), dngPath));
    QVERIFY(dropFile(window_->pane(PaneRole::B), heicPath));
    QVERIFY(developed.wait(30000));
    const PaneImage* raw = window_->image(PaneRole::A);
    QVERIFY(raw && !raw->developing);
    QCOMPARE(raw->width(), 320);
    QVERIFY2(raw->format.startsWith(QStringLiteral("DNG")), qPrintable(raw->format));
    const PaneImage* phone = window_->image(PaneRole::B);
    QVERIFY(phone);
    QCOMPARE(phone->width(), 128);
    QCOMPARE(phone->format, QStringLiteral("HEIF/HEIC"));
    QVERIFY(!window_->pane(PaneRole::B)->canvas()->image().isNull());

    QVERIFY(dropFile(window_->pane(PaneRole::B), brokenPath));
    QVERIFY2(window_->messageText().contains(QStringLiteral("dropped-broken.heic")),
             qPrintable(window_->messageText()));
    QCOMPARE(window_->image(PaneRole::B)->format, QStringLiteral("HEIF/HEIC"));

    QImage browserPicture(64, 48, QImage::Format_RGB888);
    browserPicture.fill(QColor(10, 200, 90));
    auto mime = std::make_unique<QMimeData>();
    mime->setImageData(browserPicture);
    QVERIFY(drop(window_->pane(PaneRole::B), mime.get()));
    QCOMPARE(window_->image(PaneRole::B)->width(), 64);
    loadAll(*window_);
  }

  void eachTaskStreamsTheCoresAnswerInOrder_data() {
    QTest::addColumn<int>("task");
    QTest::addColumn<bool>("withReference");
    QTest::newRow("description") << int(dqa::text::Task::Description) << true;
    QTest::newRow("comparison") << int(dqa::text::Task::Comparison) << true;
    QTest::newRow("reasoning") << int(dqa::text::Task::Reasoning) << true;
    QTest::newRow("comparison-no-reference") << int(dqa::text::Task::Comparison) << false;
  }

  void eachTaskStreamsTheCoresAnswerInOrder() {
    QFETCH(int, task);
    QFETCH(bool, withReference);
    loadAll(*window_);
    if (!withReference) window_->clearImage(PaneRole::Reference);
    window_->askingPanel()->setTask(dqa::text::Task(task));
    window_->askingPanel()->setQuestion(QString());

    // The stream as the worker delivers it to the UI thread.
    std::vector<int> indices;
    QString streamed;
    QObject guard;  // the connection dies with this function, even when a check fails
    connect(window_->modelHost(), &ModelHost::token, &guard, [&](quint64, int index, const QString& text, float) {
      indices.push_back(index);
      streamed += text;
    });
    QSignalSpy finished(window_.get(), &MainWindow::answerFinished);
    QSignalSpy failed(window_.get(), &MainWindow::answerFailed);
    QVERIFY(window_->ask());
    QVERIFY(window_->answering());
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() > 0, 60000);
    QCOMPARE(failed.count(), 0);
    const AnswerPtr answer = window_->answerView()->answer();
    QVERIFY(answer);
    const auto& generation = answer->answer.generation;
    QVERIFY(!generation.ids.empty());
    // Every token arrived, in order, and together they are the core's text.
    // One event per token; the core may add a last event (index == ids.size()) that
    // carries the bytes of an unfinished UTF-8 character as U+FFFD.
    const int events = window_->answerView()->streamedTokens();
    QVERIFY2(events == int(generation.ids.size()) || events == int(generation.ids.size()) + 1,
             qPrintable(QStringLiteral("%1 events for %2 tokens").arg(events).arg(generation.ids.size())));
    QCOMPARE(window_->answerView()->streamedText(), QString::fromStdString(generation.text));
    QCOMPARE(window_->answerView()->answerText(), QString::fromStdString(generation.text));
    QCOMPARE(streamed, QString::fromStdString(generation.text));
    QCOMPARE(int(indices.size()), events);
    for (size_t i = 0; i < indices.size(); ++i) QCOMPARE(indices[i], int(i));
    // The prompt has the images the task needs (reference first when given).
    const size_t expectedImages = (withReference ? 1 : 0) + (task == int(dqa::text::Task::Description) ? 1 : 2);
    QCOMPARE(answer->answer.images.size(), expectedImages);
    QVERIFY(!generation.attention.empty());
    QCOMPARE(window_->history()->count(), 1);
    QVERIFY(window_->lastLongestStallMs() >= 0);
    qInfo("task %d: %zu tokens, longest UI stall %.1f ms", task, generation.ids.size(), window_->lastLongestStallMs());
  }

  void stopsMidAnswer() {
    loadAll(*window_);
    window_->askingPanel()->setTask(dqa::text::Task::Reasoning);
    window_->setMaxNewTokens(400);
    QSignalSpy finished(window_.get(), &MainWindow::answerFinished);
    QVERIFY(window_->ask());
    QTRY_VERIFY_WITH_TIMEOUT(window_->answerView()->streamedTokens() >= 2, 30000);
    window_->askingPanel()->stopButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 30000);
    window_->setMaxNewTokens(24);
    const AnswerPtr answer = window_->answerView()->answer();
    QVERIFY(answer);
    QCOMPARE(answer->answer.generation.stop, dqa::gen::StopReason::Cancelled);
    QVERIFY(answer->answer.generation.ids.size() < 400);
    QVERIFY(!window_->answering());
  }

  // PSNR / SSIM / GMSD of large photos wait while the model answers (on 2 cores they
  // took the answer's CPU: about 6 s of the first answer on a 14.7 MP pair) and arrive
  // once it has answered.
  void metricsWaitWhileTheModelAnswers() {
    QTemporaryDir dir;
    const int width = 3000, height = 2000;  // 6 MP: metrics take about a second on 2 cores
    QVERIFY(
        window_->loadImage(PaneRole::Reference, writeLargeImage(dir, QStringLiteral("r.bmp"), width, height, 0, 1)));
    QVERIFY(window_->loadImage(PaneRole::A, writeLargeImage(dir, QStringLiteral("a.bmp"), width, height, 30, 2)));
    QVERIFY(window_->loadImage(PaneRole::B, writeLargeImage(dir, QStringLiteral("b.bmp"), width, height, 8, 3)));
    QLabel* metricsA = window_->pane(PaneRole::A)->findChild<QLabel*>(QStringLiteral("metrics1"));
    QLabel* metricsB = window_->pane(PaneRole::B)->findChild<QLabel*>(QStringLiteral("metrics2"));
    QVERIFY(metricsA && metricsB);
    QVERIFY2(metricsA->text().contains(QStringLiteral("computing")), qPrintable(metricsA->text()));
    window_->askingPanel()->setTask(dqa::text::Task::Comparison);
    QSignalSpy finished(window_.get(), &MainWindow::answerFinished);
    QVERIFY(window_->ask());
    QVERIFY2(metricsA->text().contains(QStringLiteral("after the answer")), qPrintable(metricsA->text()));
    QVERIFY2(metricsB->text().contains(QStringLiteral("after the answer")), qPrintable(metricsB->text()));
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 60000);
    QTRY_VERIFY_WITH_TIMEOUT(metricsB->text().startsWith(QStringLiteral("vs reference: PSNR")), 60000);
    // Measured after the answer, on the images shown: A has the stronger noise.
    QVERIFY2(metricsA->text().startsWith(QStringLiteral("vs reference: PSNR")), qPrintable(metricsA->text()));
    const double psnrA = metricsA->text().section(QLatin1Char(' '), 3, 3).toDouble();
    const double psnrB = metricsB->text().section(QLatin1Char(' '), 3, 3).toDouble();
    QVERIFY2(psnrA > 10 && psnrA < psnrB, qPrintable(metricsA->text() + QStringLiteral(" / ") + metricsB->text()));
  }

  void selectedWordsAttentionIsDrawnOverTheRegionTheModelSaw() {
    loadAll(*window_);
    window_->setOverlayOptions({Colormap::Viridis, Upsampling::Nearest, 1.0});
    // A region in the lower right: the overlay must cover it and nothing else.
    window_->setRegionEnabled(true);
    window_->setRegion(QRectF(0.5, 0.4, 0.45, 0.55));
    window_->askingPanel()->setTask(dqa::text::Task::Comparison);
    QSignalSpy finished(window_.get(), &MainWindow::answerFinished);
    QVERIFY(window_->ask());
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 60000);
    window_->viewport()->fit();

    ImageCanvas* canvas = window_->pane(PaneRole::A)->canvas();
    const QImage before = canvas->grab().toImage();
    // "Select" the first word of the answer as a click would.
    AnswerView* view = window_->answerView();
    int position = 0;
    const QString text = view->answerText();
    while (position < text.size() && text[position].isSpace()) ++position;
    const auto [from, to] = view->wordAt(position);
    const auto [first, last] = view->tokensForCharacters(from, to);
    QVERIFY(first >= 0 && last > first);
    view->selectTokens(first, last, true);
    QVERIFY(canvas->overlay().valid());
    const QRect expected = window_->regionInPixels(PaneRole::A);
    QCOMPARE(canvas->overlay().target, expected);
    QCOMPARE(expected, QRect(80, 48, 72, 66));
    QVERIFY(window_->pane(PaneRole::B)->canvas()->overlay().valid());
    QVERIFY(window_->pane(PaneRole::Reference)->canvas()->overlay().valid());

    const QImage after = canvas->grab().toImage();
    QCOMPARE(after.size(), before.size());
    // Pixels well inside the region changed (opacity 1: pure colormap); pixels well
    // outside it did not.
    const QPointF inside = canvas->imageToWidget(QPointF(expected.center()));
    const QPointF outside = canvas->imageToWidget(QPointF(20, 20));
    const qreal dpr = after.devicePixelRatio();
    auto at = [&](const QImage& image, QPointF p) { return image.pixelColor(int(p.x() * dpr), int(p.y() * dpr)); };
    QVERIFY(at(before, inside) != at(after, inside));
    QCOMPARE(at(before, outside), at(after, outside));
    // The colour inside is one of the colormap's.
    const QRgb c = at(after, inside).rgb() & 0xFFFFFF;
    bool inTable = false;
    for (QRgb t : colormapTable(Colormap::Viridis))
      if (std::abs(qRed(t) - qRed(c)) <= 2 && std::abs(qGreen(t) - qGreen(c)) <= 2 &&
          std::abs(qBlue(t) - qBlue(c)) <= 2)
        inTable = true;
    QVERIFY(inTable);
    // The whole answer works too, and "hide" clears.
    window_->showWholeAnswerAttention();
    QVERIFY(canvas->overlay().valid());
    view->selectTokens(-1, -1, false);
    QVERIFY(!canvas->overlay().valid());
    window_->setRegion(QRectF(0, 0, 1, 1));
  }

  void overlayIsCutToTheContentTheModelSaw() {
    // A 100x50 crop at (10, 20) of a larger image, padded to 112x70 (patch 14: 8x5
    // grid). Row 4 (canvas y 56..70) and column 7 beyond x=100 are padding.
    dqa::ImageGeometry g;
    g.sourceWidth = 100, g.sourceHeight = 50;
    g.contentWidth = 100, g.contentHeight = 50;
    g.paddedWidth = 112, g.paddedHeight = 70;
    g.gridWidth = 8, g.gridHeight = 5, g.patchSize = 14;
    std::vector<float> grid(40, 0.1f);
    grid[size_t(4 * 8 + 0)] = 100.f;  // a padding cell: must neither show nor set the scale
    grid[size_t(1 * 8 + 2)] = 0.9f;   // the hottest visible cell
    const QRect region(10, 20, 100, 50);
    const AttentionOverlay overlay =
        makeAttentionOverlay(grid, g, region, {Colormap::Viridis, Upsampling::Nearest, 1.0});
    QVERIFY(overlay.valid());
    QCOMPARE(overlay.target, region);
    QCOMPARE(overlay.image.size(), QSize(100, 50));
    QCOMPARE(overlay.maxValue, 0.9f);
    // Cell (2, 1) covers canvas x 28..42, y 14..28: the top of the colormap there.
    QCOMPARE(overlay.image.pixel(35, 20) & 0xFFFFFF, colormapTable(Colormap::Viridis)[255] & 0xFFFFFF);
    QCOMPARE(overlay.image.pixel(5, 5) & 0xFFFFFF, colormapTable(Colormap::Viridis)[0] & 0xFFFFFF);
    QCOMPARE(gridCellInImage(g, region, 2, 1), QRectF(10 + 28, 20 + 14, 14, 14));
    QCOMPARE(gridCellInImage(g, region, 7, 0), QRectF(10 + 98, 20, 2, 14));  // cut at the content edge
    QVERIFY(gridCellInImage(g, region, 0, 4).isEmpty());                     // all padding
    // A downscaled crop: 400x200 source shown as 100x50 content; cells scale by 4.
    g.sourceWidth = 400, g.sourceHeight = 200;
    QCOMPARE(gridCellInImage(g, QRect(0, 0, 400, 200), 2, 1), QRectF(112, 56, 56, 56));
  }

  void exportsReports() {
    const QString md = temp_.filePath(QStringLiteral("report.md"));
    const QString html = temp_.filePath(QStringLiteral("report.html"));
    QVERIFY(window_->exportReport(md));
    QVERIFY(window_->exportReport(html));
    QFile f(html);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray content = f.readAll();
    QVERIFY(content.contains("<img"));
    QVERIFY(QFile::exists(temp_.filePath(QStringLiteral("report_files/a_attention.png"))));
    QVERIFY(QFile::exists(temp_.filePath(QStringLiteral("report_files/reference.png"))));
  }

  void wrongModelDirectoryIsAMessage() {
    auto window = makeWindow();
    QSignalSpy failed(window.get(), &MainWindow::modelFailed);
    window->loadModel(temp_.filePath(QStringLiteral("no-such-model")));
    QTRY_VERIFY_WITH_TIMEOUT(failed.count() == 1, 10000);
    QVERIFY(!window->messageText().isEmpty());
    // A directory that exists but holds no model: the core's message, from the worker.
    QSignalSpy failed2(window.get(), &MainWindow::modelFailed);
    window->loadModel(temp_.path());
    QTRY_VERIFY_WITH_TIMEOUT(failed2.count() == 1, 30000);
    QVERIFY(window->messageText().contains(QStringLiteral("Model could not be loaded")));
    QVERIFY(!window->modelReady());
  }

  void switchingModelsMidAnswerIsClean() {
    loadAll(*window_);
    window_->askingPanel()->setTask(dqa::text::Task::Reasoning);
    window_->setMaxNewTokens(400);
    QSignalSpy finished(window_.get(), &MainWindow::answerFinished);
    QSignalSpy loaded(window_.get(), &MainWindow::modelLoaded);
    QVERIFY(window_->ask());
    QTRY_VERIFY_WITH_TIMEOUT(window_->answerView()->streamedTokens() >= 1, 30000);
    window_->loadModel(model_, tokenizerPath());
    QTRY_VERIFY_WITH_TIMEOUT(loaded.count() == 1, 60000);
    QCOMPARE(finished.count(), 1);  // the old answer ended (cancelled) before the load
    QVERIFY(window_->modelReady());
    window_->setMaxNewTokens(24);
  }

  void closingMidAnswerIsClean() {
    auto window = makeWindow();
    QVERIFY(loadModel(*window));
    loadAll(*window);
    window->askingPanel()->setTask(dqa::text::Task::Reasoning);
    window->setMaxNewTokens(400);
    QVERIFY(window->ask());
    QTRY_VERIFY_WITH_TIMEOUT(window->answerView()->streamedTokens() >= 1, 30000);
    QElapsedTimer clock;
    clock.start();
    window->close();
    window.reset();  // cancels, quits and joins the worker thread
    QVERIFY2(clock.elapsed() < 5000, qPrintable(QString::number(clock.elapsed())));
  }
};

QTEST_MAIN(TestGuiWindow)
#include "test_gui_window.moc"
