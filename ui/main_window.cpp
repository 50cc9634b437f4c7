#include "ui/main_window.h"

#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QKeyEvent>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMimeData>
#include <QPainter>
#include <QProgressBar>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>

#include <opencv2/core.hpp>

#include "core/io/model_dir.h"

static void initDepictqaResources() { Q_INIT_RESOURCE(depictqa); }

namespace dqa::ui {

void initResources() {
  static bool done = false;
  if (!done) initDepictqaResources();
  done = true;
}

namespace {
QIcon appIcon() {
  // Drawn, not shipped: an eye over a split A|B frame.
  QPixmap pixmap(64, 64);
  pixmap.fill(Qt::transparent);
  QPainter p(&pixmap);
  p.setRenderHint(QPainter::Antialiasing);
  p.setBrush(QColor(40, 110, 200));
  p.setPen(Qt::NoPen);
  p.drawRoundedRect(2, 8, 60, 48, 8, 8);
  p.setBrush(QColor(240, 170, 40));
  p.drawRoundedRect(32, 8, 30, 48, 8, 8);
  p.setBrush(Qt::white);
  p.drawEllipse(QPointF(32, 32), 18, 11);
  p.setBrush(QColor(30, 30, 30));
  p.drawEllipse(QPointF(32, 32), 7, 7);
  return QIcon(pixmap);
}
}  // namespace

MainWindow::MainWindow(const WindowOptions& options, QWidget* parent) : QMainWindow(parent), options_(options) {
  initResources();
  settings_ = std::make_unique<WindowSettings>(options_.settingsFile, options_.persistSettings);
  setWindowTitle(tr("DepictQA — image quality in words"));
  setWindowIcon(appIcon());
  host_ = std::make_unique<ModelHost>();
  display_ = detectDisplayColour();
  buildLayout();
  buildMenus();

  connect(host_.get(), &ModelHost::loadProgress, this, [this](const QString& stage, int percent) {
    progress_->setVisible(percent < 100);
    progress_->setRange(0, percent < 0 ? 0 : 100);
    if (percent >= 0) progress_->setValue(percent);
    modelLabel_->setText(stage);
  });
  connect(host_.get(), &ModelHost::loaded, this, [this](const dqa::ModelInfo& info, const QString& warning) {
    progress_->setVisible(false);
    modelImageSize_ = info.imageSize;
    if (info.workingSpace != workingSpace_) convertImagesTo(info.workingSpace);
    modelLabel_->setText(tr("Model: %1 (%2, %3 M parameters, %4 decoder layers, loaded in %5 ms)")
                             .arg(QFileInfo(QString::fromStdString(info.directory)).fileName(),
                                  QString::fromStdString(info.architecture))
                             .arg(info.parameters / 1e6, 0, 'f', 1)
                             .arg(info.decoderLayers)
                             .arg(info.loadMs, 0, 'f', 0));
    modelLabel_->setToolTip(QString::fromStdString(info.directory));
    const QString w = warning.isEmpty() ? QString::fromStdString(info.warning) : warning;
    if (!w.isEmpty())
      showMessage(w, false);
    else if (messageText().startsWith(tr("Model")))
      hideMessage();
    followModelForRegion(info);
    if (regionIsAutomatic_) updateDefaultRegion();
    updateAskState();
    Q_EMIT modelLoaded();
  });
  connect(host_.get(), &ModelHost::loadFailed, this, [this](const QString& message) {
    progress_->setVisible(false);
    modelLabel_->setText(tr("No model loaded"));
    showMessage(tr("Model could not be loaded: %1").arg(message));
    updateAskState();
    Q_EMIT modelFailed(message);
  });
  connect(host_.get(), &ModelHost::token, this, &MainWindow::onToken);
  connect(host_.get(), &ModelHost::answered, this, &MainWindow::onAnswered);
  connect(host_.get(), &ModelHost::failed, this, &MainWindow::onFailed);
  connect(host_.get(), &ModelHost::wholeProgress, this, &MainWindow::onWholeProgress);
  connect(host_.get(), &ModelHost::wholeAssessed, this, &MainWindow::onWholeAssessed);
  connect(&metricsWatcher_, &QFutureWatcher<std::array<QualityMetrics, 2>>::finished, this, [this] {
    if (metricsWatcher_.future().resultCount() == 0) return;
    const auto results = metricsWatcher_.result();
    if (results[0].stopped || results[1].stopped) return;  // held for the model, or replaced
    metricsHeld_ = false;                                  // it finished before the hold could stop it
    for (int i = 0; i < 2; ++i) {
      const PaneRole role = i == 0 ? PaneRole::A : PaneRole::B;
      const QualityMetrics& m = results[size_t(i)];
      metricsText_[size_t(role)] =
          m.valid ? tr("vs reference: PSNR %1 dB · SSIM %2 · GMSD %3")
                        .arg(m.psnr, 0, 'f', 2)
                        .arg(m.ssim, 0, 'f', 4)
                        .arg(m.gmsd, 0, 'f', 4)
                  : (images_[size_t(role)] && images_[0] ? tr("metrics: %1").arg(m.note) : QString());
      panes_[size_t(role)]->setMetrics(metricsText_[size_t(role)]);
    }
  });
  flickerTimer_.setInterval(500);
  connect(&flickerTimer_, &QTimer::timeout, this, [this] {
    flickerShowsB_ = !flickerShowsB_;
    refreshPane(PaneRole::A);
  });
  restoreSettings();
  updateAskState();
}

MainWindow::~MainWindow() {
  // Cancel a running answer; ModelHost's destructor then quits and waits for the
  // worker thread, which ends at the next token.
  if (host_) host_->stop();
  if (metricsStop_) metricsStop_->store(true);
  metricsWatcher_.waitForFinished();
  for (auto& developer : developers_)
    if (developer) {
      developer->disconnect(this);
      developer->waitForFinished();
    }
  host_.reset();
}

// ---- messages ---------------------------------------------------------------------

void MainWindow::showMessage(const QString& text, bool error) {
  messageBar_->showText(text, error);
  statusBar()->showMessage(text, 8000);
  qInfo().noquote() << (error ? "error:" : "note:") << text;
  Q_EMIT messageShown(text);
}

void MainWindow::hideMessage() { messageBar_->dismiss(); }

QString MainWindow::messageText() const { return messageBar_->text(); }

// ---- images -------------------------------------------------------------------------

const PaneImage* MainWindow::image(PaneRole role) const {
  const auto& slot = images_[size_t(role)];
  return slot ? &*slot : nullptr;
}

bool MainWindow::loadImage(PaneRole role, const QString& path) {
  LoadOutcome outcome = loadPaneImage(path, /*rawPreview=*/true, workingSpace_);
  if (!outcome.image) {
    showMessage(
        tr("%1: could not open %2 — %3").arg(paneRoleName(role), QDir::toNativeSeparators(path), outcome.error));
    return false;
  }
  images_[size_t(role)] = std::move(outcome.image);
  settings_->setImageFolder(QFileInfo(path).absolutePath());
  settings_->addRecentImage(role, QFileInfo(path).absoluteFilePath());
  rebuildRecentMenu();
  imagesChanged();
  if (images_[size_t(role)]->developing) developInBackground(role, path);
  return true;
}

bool MainWindow::developing() const {
  for (PaneRole role : kRoles)
    if (images_[size_t(role)] && images_[size_t(role)]->developing) return true;
  return false;
}

void MainWindow::developInBackground(PaneRole role, const QString& path) {
  auto& watcher = developers_[size_t(role)];
  if (!watcher) watcher = std::make_unique<QFutureWatcher<LoadOutcome>>();
  watcher->disconnect(this);
  connect(watcher.get(), &QFutureWatcher<LoadOutcome>::finished, this, [this, role, path] { onDeveloped(role, path); });
  watcher->setFuture(QtConcurrent::run([path, space = workingSpace_] { return loadPaneImage(path, false, space); }));
  statusBar()->showMessage(tr("Developing %1 in full…").arg(QFileInfo(path).fileName()));
}

void MainWindow::onDeveloped(PaneRole role, const QString& path) {
  auto& watcher = developers_[size_t(role)];
  if (!watcher || watcher->future().resultCount() == 0) return;
  LoadOutcome outcome = watcher->result();
  auto& shown = images_[size_t(role)];
  // The pane changed since (another image, cleared): this development is not wanted. A
  // second load of the same file restarted the watcher, so its result is the newest.
  if (!shown || !shown->developing || shown->path != path) return;
  statusBar()->clearMessage();
  if (!outcome.image) {
    shown->developing = false;
    showMessage(tr("%1: the full development of %2 failed (%3); the half-size preview stays.")
                    .arg(paneRoleName(role), QDir::toNativeSeparators(shown->path), outcome.error));
    refreshPane(role);
    updateAskState();
    Q_EMIT imageDeveloped(role);
    return;
  }
  shown = std::move(outcome.image);
  imagesChanged();
  Q_EMIT imageDeveloped(role);
}

void MainWindow::convertImagesTo(dqa::WorkingSpace space) {
  workingSpace_ = space;
  QStringList failed;
  for (PaneRole role : kRoles) {
    auto& shown = images_[size_t(role)];
    if (!shown) continue;
    const QString path = shown->path;
    const qint64 fileBytes = shown->fileBytes;
    LoadOutcome outcome = shown->encoded.isEmpty() ? loadPaneImage(path, /*rawPreview=*/true, space)
                                                   : decodePaneImage(shown->encoded, path, space);
    if (!outcome.image) {  // the file changed or went away since: keep what is shown
      failed << tr("%1 (%2)").arg(paneRoleName(role), outcome.error);
      continue;
    }
    outcome.image->fileBytes = fileBytes;
    shown = std::move(outcome.image);
    if (shown->developing) developInBackground(role, path);
  }
  imagesChanged();
  const QString name = QString::fromStdString(dqa::workingSpaceName(space));
  if (failed.isEmpty())
    statusBar()->showMessage(tr("Images converted to %1, the model's working space.").arg(name), 10000);
  else
    showMessage(tr("The model works in %1, but these images could not be read again to convert them, so they "
                   "are still in their old colour space; open them again: %2")
                    .arg(name, failed.join(QStringLiteral("; "))));
}

bool MainWindow::setImageData(PaneRole role, const QByteArray& bytes, const QString& name) {
  LoadOutcome outcome = decodePaneImage(bytes, name, workingSpace_);
  if (!outcome.image) {
    showMessage(tr("%1: %2").arg(paneRoleName(role), outcome.error));
    return false;
  }
  images_[size_t(role)] = std::move(outcome.image);
  imagesChanged();
  return true;
}

bool MainWindow::setImageFromQImage(PaneRole role, const QImage& image, const QString& name) {
  LoadOutcome outcome = paneImageFromQImage(image, name, workingSpace_);
  if (!outcome.image) {
    showMessage(tr("%1: %2").arg(paneRoleName(role), outcome.error));
    return false;
  }
  images_[size_t(role)] = std::move(outcome.image);
  imagesChanged();
  return true;
}

void MainWindow::clearImage(PaneRole role) {
  images_[size_t(role)].reset();
  imagesChanged();
}

void MainWindow::imagesChanged() {
  // New images: old answers and overlays no longer describe what is shown, nor does an
  // answer still being written.
  setAsideRunningAnswer(tr("Stopped: the images changed while the model was answering."));
  entries_.clear();
  history_->clear();
  current_.reset();
  whole_.reset();
  verdictOverlay_ = {};
  clearOverlays();
  answerView_->clear();
  if (messageText().contains(tr("could not open"))) hideMessage();
  asking_->setWithReference(image(PaneRole::Reference) != nullptr);
  if (regionIsAutomatic_) updateDefaultRegion();
  refreshAllPanes();
  updateMetrics();
  updateAskState();
  const PaneImage* a = image(PaneRole::A);
  const PaneImage* b = image(PaneRole::B);
  if (a && b && a->width() == b->width() && a->height() == b->height() && a->capture.sameCaptureAs(b->capture))
    statusBar()->showMessage(tr("Image A and Image B are one capture (%1, same size): two developments or exports "
                                "of one frame, a fit for Whole image.")
                                 .arg(QString::fromStdString(a->capture.captureTime)),
                             20000);
  Q_EMIT imagesReplaced();
}

void MainWindow::setAsideRunningAnswer(const QString& why) {
  if (!pending_ && !pendingWhole_) return;
  // Its late tokens and its result are dropped: they no longer match pending_ (the worker
  // ends the job at its next token). Whoever waits for it hears that it ended, and why.
  host_->stop();
  const std::optional<quint64> answerId = pending_ ? std::optional<quint64>(pending_->id) : std::nullopt;
  const bool whole = pendingWhole_.has_value();
  pending_.reset();
  pendingWhole_.reset();
  stallMeter_.stop();
  progress_->setVisible(false);
  asking_->setBusy(false);
  stallLabel_->setText(why);
  resumeHeldMetrics();
  if (answerId) Q_EMIT answerFailed(*answerId, why);
  if (whole) Q_EMIT wholeImageFailed(why);
}

void MainWindow::refreshPane(PaneRole role) {
  ImagePane* pane = panes_[size_t(role)];
  const PaneImage* shown = image(role);
  QString note;
  QImage display;
  if (role == PaneRole::A && flickerAction_ && flickerAction_->isChecked() && image(PaneRole::A) &&
      image(PaneRole::B)) {
    shown = flickerShowsB_ ? image(PaneRole::B) : image(PaneRole::A);
    note = flickerShowsB_ ? tr("flicker: showing B") : tr("flicker: showing A");
  }
  if (shown && role != PaneRole::Reference && differenceAction_ && differenceAction_->isChecked() &&
      image(PaneRole::Reference)) {
    display = differenceImage(*shown, *image(PaneRole::Reference));
    note = note.isEmpty() ? tr("difference vs reference") : note + tr(", difference");
  }
  pane->showImage(shown, display, note);
  pane->setMetrics(metricsText_[size_t(role)]);
  pane->canvas()->setRegion(region_, regionEnabled_ && shown);
  pane->canvas()->setOverlay(overlays_[size_t(role)]);
}

void MainWindow::refreshAllPanes() {
  for (PaneRole role : kRoles) refreshPane(role);
}

void MainWindow::updateMetrics() {
  if (metricsStop_) metricsStop_->store(true);  // a computation for other images is of no use now
  metricsHeld_ = false;
  metricsText_ = {};
  for (PaneRole role : kRoles) panes_[size_t(role)]->setMetrics({});
  const PaneImage* reference = image(PaneRole::Reference);
  if (!reference || (!image(PaneRole::A) && !image(PaneRole::B))) return;
  if (pending_ || pendingWhole_) {
    markMetricsHeld();
    return;
  }
  // Metrics take seconds on large photos: off the UI thread.
  const cv::Mat r = reference->rgb;
  const cv::Mat a = image(PaneRole::A) ? image(PaneRole::A)->rgb : cv::Mat();
  const cv::Mat b = image(PaneRole::B) ? image(PaneRole::B)->rgb : cv::Mat();
  showMetricsNote(tr("computing PSNR / SSIM / GMSD…"));
  auto stop = std::make_shared<std::atomic<bool>>(false);
  metricsStop_ = stop;
  metricsWatcher_.setFuture(QtConcurrent::run([a, b, r, stop] {
    return std::array<QualityMetrics, 2>{computeMetrics(a, r, stop.get()), computeMetrics(b, r, stop.get())};
  }));
}

void MainWindow::holdMetrics() {
  if (!metricsWatcher_.isRunning() || !metricsStop_) return;  // none running: nothing to hold
  metricsStop_->store(true);
  markMetricsHeld();
}

void MainWindow::markMetricsHeld() {
  metricsHeld_ = true;
  showMetricsNote(tr("PSNR / SSIM / GMSD after the answer"));
}

void MainWindow::resumeHeldMetrics() {
  if (metricsHeld_ && !pending_ && !pendingWhole_) updateMetrics();
}

void MainWindow::showMetricsNote(const QString& note) {
  for (PaneRole role : {PaneRole::A, PaneRole::B})
    if (image(role)) {
      metricsText_[size_t(role)] = note;
      panes_[size_t(role)]->setMetrics(note);
    }
}

void MainWindow::openImageDialog(PaneRole role) {
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open %1").arg(paneRoleName(role)), settings_->imageFolder(),
      tr("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.ppm *.pgm *.exr *.hdr);;All files (*)"));
  if (!path.isEmpty()) loadImage(role, path);
}

void MainWindow::pasteImage(PaneRole role) {
  const QMimeData* mime = QApplication::clipboard()->mimeData();
  if (mime && mime->hasUrls() && !mime->urls().isEmpty() && mime->urls().first().isLocalFile()) {
    loadImage(role, mime->urls().first().toLocalFile());
  } else if (mime && mime->hasImage()) {
    setImageFromQImage(role, qvariant_cast<QImage>(mime->imageData()), tr("pasted image"));
  } else {
    showMessage(tr("The clipboard holds no image to paste into %1.").arg(paneRoleName(role)));
  }
}

void MainWindow::rebuildRecentMenu() {
  if (!recentMenu_) return;
  recentMenu_->clear();
  for (const RecentImage& r : settings_->recentImages()) {
    const PaneRole role = r.role;
    const QString path = r.path;
    recentMenu_
        ->addAction(tr("%1: %2").arg(paneRoleName(role), QFileInfo(path).fileName()), this,
                    [this, role, path] { loadImage(role, path); })
        ->setToolTip(path);
  }
  recentMenu_->setEnabled(!settings_->recentImages().empty());
}

// ---- view ---------------------------------------------------------------------------

void MainWindow::zoomHundredPercent() {
  // 1:1 for Image A (or whichever image is loaded); the others follow in normalised units.
  for (PaneRole role : {PaneRole::A, PaneRole::Reference, PaneRole::B})
    if (image(role)) {
      viewport_.setView(1.0 / panes_[size_t(role)]->canvas()->fitScale(), viewport_.center());
      return;
    }
}

void MainWindow::setDifferenceView(bool on) {
  if (differenceAction_->isChecked() != on) differenceAction_->setChecked(on);
  if (on && !image(PaneRole::Reference)) showMessage(tr("The difference view needs a reference image."), false);
  refreshAllPanes();
}

void MainWindow::setFlicker(bool on) {
  if (flickerAction_->isChecked() != on) flickerAction_->setChecked(on);
  flickerShowsB_ = false;
  if (on && !(image(PaneRole::A) && image(PaneRole::B))) showMessage(tr("Flicker needs Image A and Image B."), false);
  on ? flickerTimer_.start() : flickerTimer_.stop();
  refreshPane(PaneRole::A);
}

void MainWindow::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      viewport_.zoomBy(1.25);
      return;
    case Qt::Key_Minus:
      viewport_.zoomBy(0.8);
      return;
    case Qt::Key_0:
      viewport_.fit();
      return;
    case Qt::Key_1:
      zoomHundredPercent();
      return;
    default:
      QMainWindow::keyPressEvent(event);
  }
}

// ---- region -------------------------------------------------------------------------

void MainWindow::setRegion(const QRectF& normalised) {
  regionIsAutomatic_ = false;  // a chosen region survives new images and model loads
  region_ = normalised.intersected(QRectF(0, 0, 1, 1));
  if (region_.isEmpty()) region_ = QRectF(0, 0, 1, 1);
  clearOverlays();
  refreshAllPanes();
}

void MainWindow::setRegionEnabled(bool enabled) {
  regionModeChosen_ = true;
  applyRegionEnabled(enabled);
}

// A quality encoder reads a whole photo at native resolution (pooling its tokens to fit
// the context), so "which is better?" is best answered about the whole images, as the
// CLI does; a 96-pixel default region of a 24 MP photo judged 0.04% of it. CLIP
// downscales whole images to 224 pixels, which erases the noise and blur being judged,
// so for it a native-resolution region is the better default.
void MainWindow::followModelForRegion(const dqa::ModelInfo& info) {
  const bool native = info.visionKind == "quality_encoder";
  if (regionAction_)
    regionAction_->setToolTip(
        native ? tr("The model looks at the dashed region only (Shift+drag on an image to choose it); off: whole "
                    "images at native resolution")
               : tr("The model looks at the dashed region at native resolution (Shift+drag on an image to choose "
                    "it); off: whole images, downscaled to the encoder's %1-pixel input")
                     .arg(info.imageSize));
  if (!regionModeChosen_) applyRegionEnabled(!native);
}

void MainWindow::applyRegionEnabled(bool enabled) {
  regionEnabled_ = enabled;
  if (regionAction_ && regionAction_->isChecked() != enabled) regionAction_->setChecked(enabled);
  refreshAllPanes();
}

QRect MainWindow::regionInPixels(PaneRole role) const {
  const PaneImage* im = image(role);
  if (!im) return {};
  if (!regionEnabled_) return QRect(0, 0, im->width(), im->height());
  return dqa::ui::regionInPixels(region_, im->width(), im->height());
}

void MainWindow::updateDefaultRegion() {
  // Native resolution: a window as large as the encoder's trained input.
  const int side = modelImageSize_ > 0 ? modelImageSize_ : 224;
  region_ = defaultRegion(image(PaneRole::Reference), image(PaneRole::A), image(PaneRole::B), side);
  clearOverlays();
  refreshAllPanes();
}

// ---- model --------------------------------------------------------------------------

void MainWindow::loadModel(const QString& directory, const QString& tokenizerPath) {
  if (!dqa::io::isDirectory(directory.toStdString())) {
    showMessage(tr("Model directory %1 does not exist.").arg(directory));
    modelLabel_->setText(tr("No model loaded"));
    Q_EMIT modelFailed(messageText());
    return;
  }
  modelDirectory_ = directory;
  tokenizerPath_ = tokenizerPath;
  dqa::EngineOptions options;
  options.modelDirectory = directory.toStdString();
  options.tokenizerPath = tokenizerPath.toStdString();
  options.threads = settings_->modelThreads();
  options.contextLength = contextLength_;
  if (pending_ || pendingWhole_) stop();
  progress_->setVisible(true);
  progress_->setRange(0, 0);
  modelLabel_->setText(tr("Loading model…"));
  host_->load(options);
  updateAskState();
}

void MainWindow::loadDefaultModel(const QString& explicitDirectory, const QString& tokenizerPath) {
  dqa::io::ModelLookup lookup;
  lookup.explicitPath = explicitDirectory.toStdString();
  lookup.savedSetting = settings_->modelDirectory().toStdString();
  std::vector<std::string> tried;
  auto found = dqa::io::locateModelDirectory(lookup, &tried);
  if (!found) {
    showMessage(tr("No model found. %1 Use Model ▸ Open model directory… or --model DIR.")
                    .arg(QString::fromStdString(found.message())));
    Q_EMIT modelFailed(messageText());
    return;
  }
  QString tokenizer = tokenizerPath;
  if (tokenizer.isEmpty() && explicitDirectory.isEmpty()) tokenizer = settings_->tokenizerPath();
  loadModel(QString::fromStdString(found.value()), tokenizer);
}

void MainWindow::openModelDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a model directory"), modelDirectory_);
  if (!dir.isEmpty()) loadModel(dir, QString());
}

void MainWindow::chooseTokenizerDialog() {
  const QString file = QFileDialog::getOpenFileName(this, tr("Choose a SentencePiece tokenizer"), modelDirectory_,
                                                    tr("SentencePiece model (*.model);;All files (*)"));
  if (!file.isEmpty() && !modelDirectory_.isEmpty()) loadModel(modelDirectory_, file);
}

// ---- settings -----------------------------------------------------------------------

void MainWindow::restoreSettings() {
  QSettings& s = settings_->store();
  restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
  restoreState(s.value(QStringLiteral("window/state")).toByteArray());
  vertical_->restoreState(s.value(QStringLiteral("window/vertical")).toByteArray());
  bottom_->restoreState(s.value(QStringLiteral("window/bottom")).toByteArray());
  rebuildRecentMenu();
  asking_->setPreference(s.value(QStringLiteral("ask/preference")).toString());
  asking_->setTask(dqa::text::Task(s.value(QStringLiteral("ask/task"), int(dqa::text::Task::Comparison)).toInt()));
  attention_->restoreFrom(s);
}

void MainWindow::saveSettings() {
  if (!settings_->persists()) return;
  QSettings& s = settings_->store();
  s.setValue(QStringLiteral("window/geometry"), saveGeometry());
  s.setValue(QStringLiteral("window/state"), saveState());
  s.setValue(QStringLiteral("window/vertical"), vertical_->saveState());
  s.setValue(QStringLiteral("window/bottom"), bottom_->saveState());
  s.setValue(QStringLiteral("ask/preference"), asking_->preference());
  s.setValue(QStringLiteral("ask/task"), int(asking_->task()));
  attention_->saveTo(s);
  if (host_->ready() && !modelDirectory_.isEmpty()) settings_->setModel(modelDirectory_, tokenizerPath_);
  settings_->save();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  // Closing mid-answer: cancel now; the destructor waits for the worker to notice.
  if (pending_ || pendingWhole_) host_->stop();
  flickerTimer_.stop();
  stallMeter_.stop();
  event->accept();
}

}  // namespace dqa::ui
