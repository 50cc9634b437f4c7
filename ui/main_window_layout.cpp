// MainWindow's widgets, status bar and menus (the rest of the class: main_window.cpp).
#include "ui/main_window.h"

#include <QAction>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QProgressBar>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QToolBar>
#include <QVBoxLayout>

namespace dqa::ui {

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
    pane->canvas()->setDisplayColourSpace(display_.space);
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
  displayLabel_ = new QLabel(
      display_.space.isValid() ? tr("Display: %1").arg(display_.space.description()) : tr("Display: sRGB"), this);
  displayLabel_->setObjectName(QStringLiteral("displayLabel"));
  displayLabel_->setToolTip(display_.description);
  statusBar()->addWidget(modelLabel_, 1);
  statusBar()->addPermanentWidget(displayLabel_);
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
      tr("The model looks at the dashed region only (Shift+drag on an image to choose it); off: whole images"));
  add(tr("Auto region"), QKeySequence(Qt::Key_A), [this] {
    regionIsAutomatic_ = true;
    setRegionEnabled(true);
    updateDefaultRegion();
  });
}

}  // namespace dqa::ui
