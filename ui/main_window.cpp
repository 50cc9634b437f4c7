#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QToolBar>
#include <QVBoxLayout>
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
  metricsWatcher_.waitForFinished();
  host_.reset();
}

void MainWindow::buildLayout() {
  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  layout->setContentsMargins(4, 4, 4, 4);
  messageBar_ = new MessageBar(central);
  layout->addWidget(messageBar_);

  // Panes (top) over asking | answer + attention | history (bottom), created in that
  // order, which is also the keyboard's tab order.
  QWidget* panes = buildPanes(central);
  bottom_ = new QSplitter(Qt::Horizontal, central);
  bottom_->setObjectName(QStringLiteral("bottomSplitter"));
  bottom_->addWidget(buildAskingPanel(central));
  bottom_->addWidget(buildAnswerSide(central));
  bottom_->addWidget(buildHistorySide(central));
  bottom_->setStretchFactor(0, 3);
  bottom_->setStretchFactor(1, 5);
  bottom_->setStretchFactor(2, 2);

  vertical_ = new QSplitter(Qt::Vertical, central);
  vertical_->setObjectName(QStringLiteral("verticalSplitter"));
  vertical_->addWidget(panes);
  vertical_->addWidget(bottom_);
  vertical_->setStretchFactor(0, 3);
  vertical_->setStretchFactor(1, 2);
  layout->addWidget(vertical_, 1);
  setCentralWidget(central);
  buildStatusBar();
  resize(1400, 900);
}

QWidget* MainWindow::buildPanes(QWidget* parent) {
  auto* panesWidget = new QWidget(parent);
  auto* panesLayout = new QHBoxLayout(panesWidget);
  panesLayout->setContentsMargins(0, 0, 0, 0);
  for (PaneRole role : kRoles) {
    auto* pane = new ImagePane(role, &viewport_, panesWidget);
    panes_[size_t(role)] = pane;
    panesLayout->addWidget(pane, 1);
    connect(pane, &ImagePane::openRequested, this, &MainWindow::openImageDialog);
    connect(pane, &ImagePane::pasteRequested, this, &MainWindow::pasteImage);
    connect(pane, &ImagePane::clearRequested, this, &MainWindow::clearImage);
    connect(pane, &ImagePane::fileDropped, this, [this](PaneRole r, const QString& path) { loadImage(r, path); });
    connect(pane, &ImagePane::imageDropped, this,
            [this](PaneRole r, const QImage& image) { setImageFromQImage(r, image, tr("dropped image")); });
    connect(pane->canvas(), &ImageCanvas::regionSelected, this, [this](const QRectF& r) {
      regionIsAutomatic_ = false;
      setRegionEnabled(true);
      setRegion(r);
    });
    connect(pane->canvas(), &ImageCanvas::clicked, this, &MainWindow::onCanvasClicked);
    connect(pane->canvas(), &ImageCanvas::hovered, this, &MainWindow::onCanvasHovered);
    connect(pane->canvas(), &ImageCanvas::hundredPercentRequested, this,
            [this](ImageCanvas* canvas) { viewport_.setView(1.0 / canvas->fitScale(), viewport_.center()); });
  }

  return panesWidget;
}

QWidget* MainWindow::buildAskingPanel(QWidget* parent) {
  asking_ = new AskingPanel(parent);
  connect(asking_, &AskingPanel::askRequested, this, &MainWindow::ask);
  connect(asking_, &AskingPanel::stopRequested, this, &MainWindow::stop);
  connect(asking_, &AskingPanel::wholeImageRequested, this, &MainWindow::assessWholeImage);
  connect(asking_, &AskingPanel::taskChanged, this, [this] { updateAskState(); });
  return asking_;
}

QWidget* MainWindow::buildAnswerSide(QWidget* parent) {
  answerView_ = new AnswerView(parent);
  connect(answerView_, &AnswerView::tokensSelected, this, [this](int first, int last, const QString& label) {
    attention_->showSelection(first, last, label);
    showAttention(first, last);
  });
  attention_ = new AttentionControls(parent);
  connect(attention_, &AttentionControls::optionsChanged, this, &MainWindow::updateOverlays);
  connect(attention_, &AttentionControls::layerChanged, this, &MainWindow::updateOverlays);
  connect(attention_, &AttentionControls::wholeAnswerRequested, this, &MainWindow::showWholeAnswerAttention);
  connect(attention_, &AttentionControls::hideRequested, this, [this] { answerView_->selectTokens(-1, -1, false); });
  auto* answerSide = new QWidget(parent);
  auto* answerLayout = new QVBoxLayout(answerSide);
  answerLayout->setContentsMargins(0, 0, 0, 0);
  answerLayout->addWidget(answerView_, 1);
  answerLayout->addWidget(attention_);
  return answerSide;
}

QWidget* MainWindow::buildHistorySide(QWidget* parent) {
  history_ = new QListWidget(parent);
  history_->setObjectName(QStringLiteral("history"));
  history_->setToolTip(tr("Questions and answers for the current images"));
  connect(history_, &QListWidget::currentRowChanged, this, [this](int row) {
    if (row < 0 || row >= int(entries_.size()) || pending_) return;
    current_ = entries_[size_t(row)];
    answerView_->showAnswer(current_->answer, current_->context.heading);
    clearOverlays();
  });
  auto* historySide = new QWidget(parent);
  auto* historyLayout = new QVBoxLayout(historySide);
  historyLayout->setContentsMargins(0, 0, 0, 0);
  historyLayout->addWidget(new QLabel(tr("History (these images)"), historySide));
  historyLayout->addWidget(history_, 1);

  return historySide;
}

void MainWindow::buildStatusBar() {
  modelLabel_ = new QLabel(tr("No model loaded"), this);
  modelLabel_->setObjectName(QStringLiteral("modelLabel"));
  stallLabel_ = new QLabel(this);
  stallLabel_->setObjectName(QStringLiteral("stallLabel"));
  progress_ = new QProgressBar(this);
  progress_->setMaximumWidth(160);
  progress_->setVisible(false);
  statusBar()->addWidget(modelLabel_, 1);
  statusBar()->addPermanentWidget(stallLabel_);
  statusBar()->addPermanentWidget(progress_);
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  for (PaneRole role : kRoles) {
    QAction* open =
        file->addAction(tr("Open %1…").arg(paneRoleName(role)), this, [this, role] { openImageDialog(role); });
    if (role == PaneRole::A) open->setShortcut(QKeySequence::Open);
  }
  file->addAction(tr("Paste into Image A"), QKeySequence::Paste, this, [this] { pasteImage(PaneRole::A); });
  recentMenu_ = file->addMenu(tr("Recent files"));
  file->addSeparator();
  file->addAction(tr("Copy answer"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C), this, &MainWindow::copyAnswer);
  file->addAction(tr("Export report…"), QKeySequence(Qt::CTRL | Qt::Key_E), this, &MainWindow::exportDialog);
  file->addSeparator();
  file->addAction(tr("Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* model = menuBar()->addMenu(tr("&Model"));
  model->addAction(tr("Open model directory…"), this, &MainWindow::openModelDialog);
  model->addAction(tr("Choose tokenizer…"), this, &MainWindow::chooseTokenizerDialog);

  QMenu* whole = menuBar()->addMenu(tr("&Whole image"));
  whole->addAction(tr("Assess whole image (tiles at full resolution)"), QKeySequence(Qt::CTRL | Qt::Key_T), this,
                   &MainWindow::assessWholeImage);
  verdictMapAction_ = whole->addAction(tr("Show verdict map"), QKeySequence(Qt::Key_M), this,
                                       [this](bool on) { setVerdictMapVisible(on); });
  verdictMapAction_->setCheckable(true);
  verdictMapAction_->setChecked(verdictMapVisible_);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  QToolBar* bar = addToolBar(tr("View"));
  bar->setObjectName(QStringLiteral("viewToolbar"));
  auto add = [&](const QString& text, const QKeySequence& key, auto slot,
                 QStyle::StandardPixmap icon = QStyle::SP_CustomBase) {
    QAction* a = view->addAction(text, key, this, slot);
    if (icon != QStyle::SP_CustomBase) a->setIcon(style()->standardIcon(icon));
    bar->addAction(a);
    return a;
  };
  add(tr("Fit"), QKeySequence(Qt::CTRL | Qt::Key_0), [this] { viewport_.fit(); });
  add(tr("100%"), QKeySequence(Qt::CTRL | Qt::Key_1), [this] { zoomHundredPercent(); });
  add(tr("Zoom in"), QKeySequence::ZoomIn, [this] { viewport_.zoomBy(1.25); });
  add(tr("Zoom out"), QKeySequence::ZoomOut, [this] { viewport_.zoomBy(0.8); });
  bar->addSeparator();
  view->addSeparator();
  flickerAction_ = add(tr("Flicker A/B"), QKeySequence(Qt::Key_F), [this](bool on) { setFlicker(on); });
  flickerAction_->setCheckable(true);
  differenceAction_ =
      add(tr("Difference vs reference"), QKeySequence(Qt::Key_D), [this](bool on) { setDifferenceView(on); });
  differenceAction_->setCheckable(true);
  bar->addSeparator();
  regionAction_ = add(tr("Look at region"), QKeySequence(Qt::Key_R), [this](bool on) { setRegionEnabled(on); });
  regionAction_->setCheckable(true);
  regionAction_->setChecked(regionEnabled_);
  regionAction_->setToolTip(
      tr("The model looks at the dashed region at native resolution (Shift+drag on an image "
         "to choose it); off: whole images, downscaled"));
  add(tr("Auto region"), QKeySequence(Qt::Key_A), [this] {
    regionIsAutomatic_ = true;
    setRegionEnabled(true);
    updateDefaultRegion();
  });
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
  LoadOutcome outcome = loadPaneImage(path);
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
  return true;
}

bool MainWindow::setImageData(PaneRole role, const QByteArray& bytes, const QString& name) {
  LoadOutcome outcome = decodePaneImage(bytes, name);
  if (!outcome.image) {
    showMessage(tr("%1: %2").arg(paneRoleName(role), outcome.error));
    return false;
  }
  images_[size_t(role)] = std::move(outcome.image);
  imagesChanged();
  return true;
}

bool MainWindow::setImageFromQImage(PaneRole role, const QImage& image, const QString& name) {
  LoadOutcome outcome = paneImageFromQImage(image, name);
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
  metricsText_ = {};
  for (PaneRole role : kRoles) panes_[size_t(role)]->setMetrics({});
  const PaneImage* reference = image(PaneRole::Reference);
  if (!reference || (!image(PaneRole::A) && !image(PaneRole::B))) return;
  // Metrics can take a second on large photos: off the UI thread.
  const cv::Mat r = reference->rgb;
  const cv::Mat a = image(PaneRole::A) ? image(PaneRole::A)->rgb : cv::Mat();
  const cv::Mat b = image(PaneRole::B) ? image(PaneRole::B)->rgb : cv::Mat();
  for (PaneRole role : {PaneRole::A, PaneRole::B})
    if (image(role)) panes_[size_t(role)]->setMetrics(tr("computing PSNR / SSIM / GMSD…"));
  metricsWatcher_.setFuture(QtConcurrent::run([a, b, r] {
    return std::array<QualityMetrics, 2>{computeMetrics(a, r), computeMetrics(b, r)};
  }));
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

// ---- asking -------------------------------------------------------------------------

bool MainWindow::modelReady() const { return host_->ready(); }
bool MainWindow::answering() const { return pending_.has_value() || pendingWhole_.has_value(); }

void MainWindow::updateAskState() {
  QString why;
  const dqa::text::Task task = asking_->task();
  if (!host_->ready())
    why = host_->loading() ? tr("Loading the model…") : tr("No model loaded (Model ▸ Open model directory…).");
  else if (!image(PaneRole::A))
    why = tr("Load Image A.");
  else if (task != dqa::text::Task::Description && !image(PaneRole::B))
    why = tr("This task compares two images: load Image B (or pick the description task).");
  asking_->setAskEnabled(why.isEmpty(), why);
  const QString wholeWhy = wholeImageUnavailableReason();
  asking_->setWholeEnabled(wholeWhy.isEmpty(), wholeWhy);
}

bool MainWindow::ask() {
  updateAskState();
  if (!asking_->askButton()->isEnabled()) {
    showMessage(tr("Cannot ask yet: %1")
                    .arg(asking_->findChild<QLabel*>() ? tr("see the hint under the Ask button") : QString()));
    return false;
  }
  const dqa::text::Task task = asking_->task();
  dqa::AskRequest request;
  request.prompt.task = task;
  request.prompt.withReference = image(PaneRole::Reference) != nullptr;
  request.prompt.shortAnswer = asking_->shortAnswer();
  request.prompt.question = asking_->question().toStdString();
  request.prompt.preference = asking_->preference().toStdString();
  if (auto built = dqa::text::buildPrompt(request.prompt); !built) {
    showMessage(QString::fromStdString(built.message()));
    return false;
  }
  AskContext context;
  auto crop = [&](PaneRole role) {
    const PaneImage* im = image(role);
    if (!im) return cv::Mat();
    const QRect r = regionInPixels(role);
    context.regions[size_t(role)] = r;
    return im->rgb(cv::Rect(r.x(), r.y(), r.width(), r.height())).clone();
  };
  if (request.prompt.withReference) request.reference = crop(PaneRole::Reference);
  request.imageA = crop(PaneRole::A);
  if (task != dqa::text::Task::Description) request.imageB = crop(PaneRole::B);
  request.attention.capture = true;
  request.sampling.maxNewTokens = maxNewTokens_;

  const QString question = asking_->question().isEmpty()
                               ? QString::fromStdString(dqa::text::defaultQuestion(task, request.prompt.withReference))
                               : asking_->question();
  context.task = task;
  context.question = question;
  context.preference = asking_->preference();
  context.heading =
      QStringLiteral("<b>%1</b>: %2%3")
          .arg(QString::fromLatin1(dqa::text::taskName(task)), question.toHtmlEscaped(),
               context.preference.isEmpty() ? QString()
                                            : tr(" <i>(preference: %1)</i>").arg(context.preference.toHtmlEscaped()));
  if (!nextHeadingPrefix_.isEmpty()) context.heading = nextHeadingPrefix_ + context.heading;
  nextHeadingPrefix_.clear();
  setAsideRunningAnswer(tr("Replaced by a new question."));
  clearOverlays();
  current_.reset();
  answerView_->beginStreaming(context.heading);
  attention_->showSelection(0, 0, {});
  context.id = host_->ask(request);
  pending_ = context;
  asking_->setBusy(true);
  stallMeter_.start();
  stallLabel_->setText(tr("answering…"));
  Q_EMIT questionAsked(context.id);
  return true;
}

void MainWindow::stop() {
  if (!pending_ && !pendingWhole_) return;
  host_->stop();
  stallLabel_->setText(tr("stopping…"));
}

void MainWindow::onToken(quint64 id, int index, const QString& text, float) {
  if (!pending_ || pending_->id != id) return;
  answerView_->appendToken(index, text);
}

void MainWindow::onAnswered(quint64 id, const AnswerPtr& answer) {
  if (!pending_ || pending_->id != id) return;
  stallMeter_.stop();
  lastStallMs_ = stallMeter_.longestStallMs();
  qInfo("DepictQA: answer %llu: %zu tokens, %.1f tokens/s, longest UI stall %.1f ms",
        static_cast<unsigned long long>(id), answer->answer.generation.ids.size(),
        answer->answer.generation.tokensPerSecond(), lastStallMs_);
  stallLabel_->setText(tr("longest UI stall while answering: %1 ms").arg(lastStallMs_, 0, 'f', 1));
  HistoryEntry entry{*pending_, answer};
  pending_.reset();
  asking_->setBusy(false);
  answerView_->finish(answer, lastStallMs_);
  current_ = entry;
  entries_.push_back(entry);
  {
    QSignalBlocker block(history_);
    QString label = entry.context.question;
    const QString text = QString::fromStdString(answer->answer.generation.text).simplified();
    history_->addItem(tr("%1 → %2").arg(label, text.left(60)));
    history_->setCurrentRow(history_->count() - 1);
  }
  attention_->setLayers(answer->answer.generation.attention.layers);
  if (answer->answer.generation.attention.empty()) attention_->showNote(tr("This answer carries no attention maps."));
  Q_EMIT answerFinished(id);
}

void MainWindow::onFailed(quint64 id, const QString& message) {
  if (pendingWhole_ && *pendingWhole_ == id) {
    onWholeFailed(message);
    return;
  }
  if (!pending_ || pending_->id != id) return;
  stallMeter_.stop();
  lastStallMs_ = stallMeter_.longestStallMs();
  pending_.reset();
  asking_->setBusy(false);
  stallLabel_->setText(tr("longest UI stall while answering: %1 ms").arg(lastStallMs_, 0, 'f', 1));
  answerView_->showFailure(message);
  showMessage(tr("The question could not be answered: %1").arg(message));
  Q_EMIT answerFailed(id, message);
}

// ---- attention ----------------------------------------------------------------------

PaneRole MainWindow::paneFor(dqa::text::ImageRole role) const {
  switch (role) {
    case dqa::text::ImageRole::Reference:
      return PaneRole::Reference;
    case dqa::text::ImageRole::B:
      return PaneRole::B;
    default:
      return PaneRole::A;  // A, and the single image of a description
  }
}

void MainWindow::showAttention(int first, int last) {
  attentionTokens_ = {first, last};
  updateOverlays();
}

void MainWindow::showWholeAnswerAttention() {
  if (!current_) return;
  const int tokens = int(current_->answer->answer.generation.ids.size());
  answerView_->selectTokens(0, tokens, true);
}

void MainWindow::setOverlayOptions(const OverlayOptions& options) { attention_->setOptions(options); }

void MainWindow::setAttentionLayer(int layer) { attention_->selectLayer(layer); }

void MainWindow::clearOverlays() {
  overlays_ = {};
  for (ImagePane* pane : panes_)
    if (pane) pane->canvas()->clearOverlay();
  applyVerdictMap();
}

void MainWindow::updateOverlays() {
  overlays_ = {};
  const auto [first, last] = attentionTokens_;
  if (current_ && first < last) {
    const dqa::Answer& answer = current_->answer->answer;
    const auto& maps = answer.generation.attention;
    const OverlayOptions options = attention_->options();
    const int last1 = std::min(last, maps.tokens);
    for (int i = 0; i < int(maps.images.size()) && i < int(answer.images.size()); ++i) {
      const PaneRole role = paneFor(answer.images[size_t(i)].role);
      const std::vector<float> grid = maps.gridOverTokens(first, last1, i, attention_->layer());
      overlays_[size_t(role)] =
          makeAttentionOverlay(grid, answer.images[size_t(i)], current_->context.regions[size_t(role)], options);
    }
  }
  const bool smooth = attention_->options().upsampling == Upsampling::Smooth;
  for (PaneRole role : kRoles) {
    panes_[size_t(role)]->canvas()->setSmoothOverlay(smooth);
    panes_[size_t(role)]->canvas()->setOverlay(overlays_[size_t(role)]);
  }
  applyVerdictMap();
}

QImage MainWindow::compositeWithOverlay(PaneRole role) const {
  const PaneImage* im = image(role);
  if (!im) return {};
  QImage out = im->preview.convertToFormat(QImage::Format_ARGB32_Premultiplied);
  QPainter painter(&out);
  const AttentionOverlay& overlay = overlays_[size_t(role)];
  if (overlay.valid()) {
    painter.setRenderHint(QPainter::SmoothPixmapTransform, attention_->options().upsampling == Upsampling::Smooth);
    painter.drawImage(QRectF(overlay.target), overlay.image);
  }
  if (regionEnabled_) {
    painter.setPen(QPen(QColor(255, 200, 0), std::max(1, im->width() / 400), Qt::DashLine));
    painter.drawRect(regionInPixels(role));
  }
  return out;
}

// ---- copy / export ------------------------------------------------------------------

void MainWindow::copyAnswer() {
  if (!current_ && whole_) {
    QApplication::clipboard()->setText(QString::fromStdString(whole_->summary));
    statusBar()->showMessage(tr("Whole-image answer copied"), 3000);
    return;
  }
  if (!current_) {
    showMessage(tr("There is no answer to copy yet."), false);
    return;
  }
  QString text = current_->context.question + QStringLiteral("\n\n") +
                 QString::fromStdString(current_->answer->answer.generation.text);
  const auto& v = current_->answer->answer.verdict;
  if (v.present)
    text += tr("\n\nVerdict: Image %1 (confidence %2%)")
                .arg(QChar::fromLatin1(v.winner))
                .arg(v.confidence * 100, 0, 'f', 1);
  else if (v.tie)
    text += tr("\n\nVerdict: too close to call");
  QApplication::clipboard()->setText(text);
  statusBar()->showMessage(tr("Answer copied"), 3000);
}

void MainWindow::exportDialog() {
  const QString folder = settings_->reportFolder();
  QString selected;
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Export report"), folder + QStringLiteral("/depictqa-report.html"),
                                   tr("HTML report (*.html);;Markdown report (*.md)"), &selected);
  if (path.isEmpty()) return;
  settings_->setReportFolder(QFileInfo(path).absolutePath());
  if (exportReport(path)) statusBar()->showMessage(tr("Report written to %1").arg(path), 5000);
}

bool MainWindow::exportReport(const QString& path) {
  if (!current_ && whole_) return exportWholeImageReport(path);
  if (!current_) {
    showMessage(tr("Ask a question first: there is no answer to export."));
    return false;
  }
  const dqa::Answer& answer = current_->answer->answer;
  Report report;
  report.title = tr("DepictQA report");
  report.answer = QString::fromStdString(answer.generation.text);
  report.figuresHeading = tr("Images");
  // The overlays of the current selection, or of the whole answer when none is chosen.
  const auto savedTokens = attentionTokens_;
  if (attentionTokens_.first >= attentionTokens_.second) attentionTokens_ = {0, int(answer.generation.ids.size())};
  updateOverlays();
  for (PaneRole role : kRoles) {
    const PaneImage* im = image(role);
    if (!im) continue;
    report.figures.push_back({paneRoleName(role), paneRoleKey(role) + QStringLiteral(".png"), im->preview});
    if (overlays_[size_t(role)].valid())
      report.figures.push_back({paneRoleName(role) + tr(" — attention"),
                                paneRoleKey(role) + QStringLiteral("_attention.png"), compositeWithOverlay(role)});
  }
  attentionTokens_ = savedTokens;
  updateOverlays();

  QStringList& facts = report.facts;
  facts << tr("Task: %1").arg(QString::fromLatin1(dqa::text::taskName(current_->context.task)));
  facts << tr("Question: %1").arg(current_->context.question);
  if (!current_->context.preference.isEmpty()) facts << tr("Preference: %1").arg(current_->context.preference);
  if (answer.verdict.present)
    facts << tr("Verdict: Image %1 is better (confidence %2%)")
                 .arg(QChar::fromLatin1(answer.verdict.winner))
                 .arg(answer.verdict.confidence * 100, 0, 'f', 1);
  else if (answer.verdict.tie)
    facts << tr("Verdict: too close to call (the answer names no winner)");
  for (PaneRole role : {PaneRole::A, PaneRole::B})
    if (!metricsText_[size_t(role)].isEmpty())
      facts << paneRoleName(role) + QStringLiteral(" ") + metricsText_[size_t(role)];
  for (PaneRole role : kRoles)
    if (const PaneImage* im = image(role)) {
      const QRect r = current_->context.regions[size_t(role)];
      facts << tr("%1: %2 (region sent to the model: %3,%4 %5×%6)")
                   .arg(paneRoleName(role), im->summary())
                   .arg(r.x())
                   .arg(r.y())
                   .arg(r.width())
                   .arg(r.height());
    }
  facts << tr("Model: %1").arg(modelDirectory_);
  facts << tr("Generation: %1 tokens, %2 tokens/s, stopped: %3")
               .arg(answer.generation.ids.size())
               .arg(answer.generation.tokensPerSecond(), 0, 'f', 1)
               .arg(QString::fromLatin1(dqa::gen::stopReasonName(answer.generation.stop)));
  return writeReportOrSay(report, path);
}

bool MainWindow::writeReportOrSay(const Report& report, const QString& path) {
  const QString error = writeReport(report, path);
  if (!error.isEmpty()) showMessage(error);
  return error.isEmpty();
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
