// MainWindow's whole-image mode: start and stop the tiled assessment on the worker,
// show its progress, the summary in words and the verdict map over the panes, and turn
// a click on a tile into a reasoning question about that tile.
#include <QAction>
#include <QFileInfo>
#include <QPainter>
#include <QLabel>
#include <QProgressBar>
#include <QStatusBar>
#include <QTextEdit>

#include <opencv2/imgproc.hpp>

#include <cmath>

#include "core/tiled/verdict_map.h"
#include "ui/main_window.h"

namespace dqa::ui {
namespace {

QString winnerWords(char winner) {
  return winner == 'A'   ? QObject::tr("Image A better")
         : winner == 'B' ? QObject::tr("Image B better")
                         : QObject::tr("too close to call");
}

}  // namespace

QString MainWindow::wholeImageUnavailableReason() const {
  if (!host_->ready()) return tr("Load a model first.");
  const PaneImage* a = image(PaneRole::A);
  const PaneImage* b = image(PaneRole::B);
  if (!a || !b) return tr("Whole-image mode compares Image A with Image B: load both.");
  if (developing()) return tr("Developing the camera RAW file in full…");
  if (a->width() != b->width() || a->height() != b->height())
    return tr("Image A and Image B must have the same size for a tile-by-tile comparison.");
  const PaneImage* ref = image(PaneRole::Reference);
  if (ref && (ref->width() != a->width() || ref->height() != a->height()))
    return tr("The reference must have the size of Image A and Image B (or be cleared).");
  const int tile = modelImageSize_ > 0 ? modelImageSize_ : 0;
  if (tile > 0 && (a->width() < tile || a->height() < tile))
    return tr("The images are smaller than one %1-pixel tile; use Ask instead.").arg(tile);
  return {};
}

bool MainWindow::assessWholeImage() {
  const QString why = wholeImageUnavailableReason();
  if (!why.isEmpty()) {
    showMessage(tr("Cannot assess the whole image: %1").arg(why));
    return false;
  }
  setAsideRunningAnswer(tr("Replaced by the whole-image assessment."));
  dqa::tiled::WholeImageOptions options;
  options.preference = asking_->preference().toStdString();
  if (asking_->task() == dqa::text::Task::Comparison) options.question = asking_->question().toStdString();
  if (!options.question.empty()) {
    dqa::text::PromptRequest check;
    check.question = options.question;
    check.preference = options.preference;
    if (auto built = dqa::text::buildPrompt(check); !built) {
      showMessage(QString::fromStdString(built.message()));
      return false;
    }
  }
  const PaneImage* ref = image(PaneRole::Reference);
  whole_.reset();
  verdictOverlay_ = {};
  current_.reset();
  clearOverlays();
  const QString heading = tr("<b>Whole image</b>: %1 vs %2 at full resolution%3")
                              .arg(QFileInfo(image(PaneRole::A)->path).fileName().toHtmlEscaped(),
                                   QFileInfo(image(PaneRole::B)->path).fileName().toHtmlEscaped(),
                                   asking_->preference().isEmpty()
                                       ? QString()
                                       : tr(" <i>(preference: %1)</i>").arg(asking_->preference().toHtmlEscaped()));
  answerView_->showText(heading, QString(), tr("Tiling the frame…"));
  pendingWhole_ =
      host_->assessWhole(ref ? ref->rgb : cv::Mat(), image(PaneRole::A)->rgb, image(PaneRole::B)->rgb, options);
  holdMetrics();
  progress_->setVisible(true);
  progress_->setRange(0, 0);
  asking_->setBusy(true);
  stallLabel_->setText(tr("assessing the whole image…"));
  Q_EMIT wholeImageStarted();
  return true;
}

void MainWindow::onWholeProgress(quint64 id, int stage, int done, int total, double elapsedMs) {
  if (!pendingWhole_ || *pendingWhole_ != id) return;
  progress_->setRange(0, std::max(1, total));
  progress_->setValue(done);
  const QString what = stage == 0 ? tr("Comparing tiles") : tr("Describing the worse side of each decided tile");
  answerView_->setStatus(tr("%1: %2 of %3 (%4 s)").arg(what).arg(done).arg(total).arg(elapsedMs / 1000, 0, 'f', 1));
}

void MainWindow::onWholeAssessed(quint64 id, const WholePtr& result) {
  if (!pendingWhole_ || *pendingWhole_ != id) return;
  pendingWhole_.reset();
  resumeHeldMetrics();
  progress_->setVisible(false);
  asking_->setBusy(false);
  whole_ = result;
  const auto& r = *result;
  cv::Mat rgba = dqa::tiled::verdictMapRgba(r, std::max(1, std::max(r.grid.imageWidth, r.grid.imageHeight) / 2048));
  QImage map(rgba.data, rgba.cols, rgba.rows, int(rgba.step), QImage::Format_RGBA8888);
  verdictOverlay_.image = map.convertToFormat(QImage::Format_ARGB32_Premultiplied);  // deep copy
  verdictOverlay_.target = QRect(0, 0, r.grid.imageWidth, r.grid.imageHeight);
  verdictOverlay_.minValue = 0;
  verdictOverlay_.maxValue = 1;
  const QString status =
      tr("%1 tiles of %2 px (%3 skipped) · verdict map %4 s, descriptions %5 s · orange: A better, blue: B better, "
         "grey: too close; stronger colour, surer tile. Click a tile for its reasoning; M hides the map.")
          .arg(r.tiles.size())
          .arg(r.grid.tileSize)
          .arg(r.overall.tilesSkipped)
          .arg((r.totalMs - r.describeMs) / 1000, 0, 'f', 1)
          .arg(r.describeMs / 1000, 0, 'f', 1);
  answerView_->setStatus(status);
  answerView_->textEdit()->setPlainText(QString::fromStdString(r.summary));
  stallLabel_->setText(tr("whole image: %1 (confidence %2)")
                           .arg(winnerWords(r.overall.winner))
                           .arg(double(r.overall.confidence), 0, 'f', 2));
  setVerdictMapVisible(true);
  Q_EMIT wholeImageFinished();
}

void MainWindow::onWholeFailed(const QString& message) {
  pendingWhole_.reset();
  resumeHeldMetrics();
  progress_->setVisible(false);
  asking_->setBusy(false);
  stallLabel_->clear();
  answerView_->showFailure(message);
  if (message != tr("Stopped.") && message != QStringLiteral("Stopped."))
    showMessage(tr("The whole image could not be assessed: %1").arg(message));
  Q_EMIT wholeImageFailed(message);
}

void MainWindow::setVerdictMapVisible(bool visible) {
  verdictMapVisible_ = visible;
  if (verdictMapAction_ && verdictMapAction_->isChecked() != visible) verdictMapAction_->setChecked(visible);
  updateOverlays();
}

void MainWindow::applyVerdictMap() {
  if (!whole_ || !verdictMapVisible_ || !verdictOverlay_.valid()) return;
  for (PaneRole role : kRoles) {
    if (overlays_[size_t(role)].valid() || !image(role)) continue;
    panes_[size_t(role)]->canvas()->setOverlay(verdictOverlay_);
  }
}

void MainWindow::onCanvasClicked(QPointF imagePoint) {
  if (!whole_ || answering()) return;
  const auto* tile = whole_->tileAt(int(imagePoint.x()), int(imagePoint.y()));
  if (!tile) return;
  const int index = int(tile - whole_->tiles.data());
  if (tile->winner == 0) {
    showMessage(tr("Image A and Image B do not differ in this tile; there is nothing to reason about."), false);
    return;
  }
  askAboutTile(index);
}

QString MainWindow::tileSummaryAt(QPointF imagePoint) const {
  if (!whole_) return {};
  const auto* t = whole_->tileAt(int(imagePoint.x()), int(imagePoint.y()));
  if (!t) return {};
  QString text = tr("Tile %1, %2: ").arg(t->tile.column + 1).arg(t->tile.row + 1);
  if (t->winner == 0) return text + tr("A and B do not differ here (skipped)");
  text += tr("%1, P(A) %2, strength %3")
              .arg(winnerWords(t->winner))
              .arg(double(t->probabilityA), 0, 'f', 2)
              .arg(double(t->strength), 0, 'f', 2);
  if (t->dominantAspect >= 0)
    text += tr("; the model describes the worse side with %1")
                .arg(QString::fromStdString(dqa::tiled::distortionPhrase(t->dominantAspect)));
  return text + tr(" — click for its reasoning");
}

void MainWindow::onCanvasHovered(QPointF imagePoint) {
  if (!whole_ || !verdictMapVisible_) return;
  const QString text = tileSummaryAt(imagePoint);
  if (!text.isEmpty()) statusBar()->showMessage(text, 4000);
}

bool MainWindow::askAboutTile(int tileIndex) {
  if (!whole_ || tileIndex < 0 || tileIndex >= int(whole_->tiles.size())) return false;
  const auto& t = whole_->tiles[size_t(tileIndex)];
  const int w = whole_->grid.imageWidth, h = whole_->grid.imageHeight;
  setRegionEnabled(true);
  setRegion(QRectF(double(t.tile.rect.x) / w, double(t.tile.rect.y) / h, double(t.tile.rect.width) / w,
                   double(t.tile.rect.height) / h));
  asking_->setTask(dqa::text::Task::Reasoning);
  asking_->setQuestion(QString());
  QString about = tr("Tile %1, %2 at (%3, %4): %5, P(A) %6")
                      .arg(t.tile.column + 1)
                      .arg(t.tile.row + 1)
                      .arg(t.tile.rect.x)
                      .arg(t.tile.rect.y)
                      .arg(winnerWords(t.winner))
                      .arg(double(t.probabilityA), 0, 'f', 2);
  if (t.dominantAspect >= 0)
    about +=
        tr("; the worse side shows %1").arg(QString::fromStdString(dqa::tiled::distortionPhrase(t.dominantAspect)));
  nextHeadingPrefix_ = QStringLiteral("<i>%1</i><br>").arg(about.toHtmlEscaped());
  return ask();
}

bool MainWindow::exportWholeImageReport(const QString& path) {
  const auto& r = *whole_;
  Report report;
  report.title = tr("DepictQA whole-image report");
  report.answer = QString::fromStdString(r.summary);
  report.figuresHeading = tr("Verdict map");
  report.figuresNote = tr("orange: A better, blue: B better, grey: too close; stronger colour, surer tile");
  for (PaneRole role : kRoles) {
    const PaneImage* im = image(role);
    if (!im) continue;
    QImage picture = im->preview.convertToFormat(QImage::Format_ARGB32_Premultiplied);
    QPainter painter(&picture);
    painter.drawImage(QRectF(verdictOverlay_.target), verdictOverlay_.image);
    painter.end();
    report.figures.push_back(
        {paneRoleName(role) + tr(" — verdict map"),
         QStringLiteral("%1_verdict_map.png").arg(paneRoleName(role).toLower().remove(QLatin1Char(' '))), picture});
  }
  QStringList& facts = report.facts;
  facts << tr("Overall: %1 (confidence %2, P(A) %3; %4 of the decided tiles agree)")
               .arg(winnerWords(r.overall.winner))
               .arg(double(r.overall.confidence), 0, 'f', 2)
               .arg(double(r.overall.probabilityA), 0, 'f', 2)
               .arg(QStringLiteral("%1%").arg(int(std::lround(100 * r.overall.agreement))));
  facts << tr("Tiles: %1 of %2 px (%3 x %4); A wins %5, B wins %6, too close %7, skipped %8")
               .arg(r.tiles.size())
               .arg(r.grid.tileSize)
               .arg(r.grid.columns)
               .arg(r.grid.rows)
               .arg(r.overall.tilesA)
               .arg(r.overall.tilesB)
               .arg(r.overall.tilesClose)
               .arg(r.overall.tilesSkipped);
  if (!asking_->preference().isEmpty()) facts << tr("Preference: %1").arg(asking_->preference());
  for (PaneRole role : kRoles)
    if (const PaneImage* im = image(role)) facts << tr("%1: %2").arg(paneRoleName(role), im->summary());
  facts << tr("Model: %1").arg(modelDirectory_);
  facts << tr("Time: verdict map %1 s, descriptions %2 s")
               .arg((r.totalMs - r.describeMs) / 1000, 0, 'f', 1)
               .arg(r.describeMs / 1000, 0, 'f', 1);
  return writeReportOrSay(report, path);
}

QRect MainWindow::answeredRegion(PaneRole role) const {
  return current_ ? current_->context.regions[size_t(role)] : QRect();
}

}  // namespace dqa::ui
