// MainWindow asking, streaming the answer, attention overlays, copy and export (the rest
// of the class: main_window.cpp).
#include "ui/main_window.h"

#include <QApplication>
#include <QClipboard>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QListWidget>
#include <QPainter>
#include <QPushButton>
#include <QStatusBar>

#include <opencv2/core.hpp>

namespace dqa::ui {

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
  else if (developing())
    why = tr("Developing the camera RAW file in full…");
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
  holdMetrics();
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
  resumeHeldMetrics();
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
  resumeHeldMetrics();
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
  if (const QString cautions = AnswerView::cautions(answer); !cautions.isEmpty())
    facts << cautions.split(QLatin1Char('\n'));
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

}  // namespace dqa::ui
