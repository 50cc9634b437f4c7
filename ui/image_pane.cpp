#include "ui/image_pane.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QMimeData>
#include <QPainter>
#include <QPainterPath>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace dqa::ui {

void HistogramWidget::setHistogram(const std::array<std::vector<int>, 3>& bins) {
  bins_ = bins;
  update();
}

void HistogramWidget::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), QColor(30, 30, 30));
  if (bins_[0].size() != 256) return;
  int peak = 1;
  for (const auto& channel : bins_)
    for (int i = 1; i < 255; ++i) peak = std::max(peak, channel[size_t(i)]);  // ignore clipped ends
  const QColor colours[3] = {QColor(255, 70, 70, 150), QColor(70, 255, 70, 150), QColor(90, 140, 255, 150)};
  painter.setRenderHint(QPainter::Antialiasing);
  painter.setCompositionMode(QPainter::CompositionMode_Plus);
  for (int c = 0; c < 3; ++c) {
    QPainterPath path;
    path.moveTo(0, height());
    for (int i = 0; i < 256; ++i) {
      const double v = std::min(1.0, double(bins_[size_t(c)][size_t(i)]) / peak);
      path.lineTo(i * (width() - 1) / 255.0, height() - v * (height() - 2));
    }
    path.lineTo(width(), height());
    path.closeSubpath();
    painter.fillPath(path, colours[c]);
  }
}

ImagePane::ImagePane(PaneRole role, SharedViewport* viewport, QWidget* parent) : QFrame(parent), role_(role) {
  setObjectName(QStringLiteral("pane%1").arg(int(role)));
  setFrameShape(QFrame::StyledPanel);
  setAcceptDrops(true);
  title_ = new QLabel(this);
  title_->setTextFormat(Qt::RichText);
  title_->setWordWrap(false);
  title_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  auto button = [&](QStyle::StandardPixmap icon, const QString& tip, auto signal) {
    auto* b = new QToolButton(this);
    b->setIcon(style()->standardIcon(icon));
    b->setToolTip(tip);
    b->setAutoRaise(true);
    connect(b, &QToolButton::clicked, this, [this, signal] { Q_EMIT(this->*signal)(role_); });
    return b;
  };
  auto* header = new QHBoxLayout;
  header->addWidget(title_, 1);
  header->addWidget(button(QStyle::SP_DialogOpenButton, tr("Open an image…"), &ImagePane::openRequested));
  header->addWidget(
      button(QStyle::SP_FileDialogContentsView, tr("Paste an image from the clipboard"), &ImagePane::pasteRequested));
  header->addWidget(button(QStyle::SP_DialogDiscardButton, tr("Remove this image"), &ImagePane::clearRequested));

  canvas_ = new ImageCanvas(viewport, this);
  canvas_->setObjectName(QStringLiteral("canvas%1").arg(int(role)));
  connect(canvas_, &ImageCanvas::openRequested, this, [this] { Q_EMIT openRequested(role_); });
  info_ = new QLabel(this);
  info_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  metrics_ = new QLabel(this);
  metrics_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  metrics_->setObjectName(QStringLiteral("metrics%1").arg(int(role)));
  histogram_ = new HistogramWidget(this);
  histogram_->setFixedHeight(40);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->setSpacing(3);
  layout->addLayout(header);
  layout->addWidget(canvas_, 1);
  layout->addWidget(histogram_);
  layout->addWidget(info_);
  layout->addWidget(metrics_);
  showImage(nullptr, {});
}

void ImagePane::showImage(const PaneImage* image, const QImage& display, const QString& note) {
  const QString name = paneRoleName(role_);
  if (!image || image->empty()) {
    title_->setText(QStringLiteral("<b>%1</b> — <i>%2</i>")
                        .arg(name, role_ == PaneRole::Reference ? tr("none (no-reference mode)")
                                   : role_ == PaneRole::B       ? tr("none (single-image description)")
                                                                : tr("nothing loaded")));
    canvas_->setImage({});
    canvas_->setPlaceholder(tr("Drop an image here, paste (Ctrl+V), or double-click to open"));
    histogram_->setHistogram({});
    info_->clear();
    metrics_->clear();
    return;
  }
  title_->setText(
      QStringLiteral("<b>%1</b>%2")
          .arg(name, note.isEmpty() ? QString() : QStringLiteral(" — <i>%1</i>").arg(note.toHtmlEscaped())));
  title_->setToolTip(image->path);
  canvas_->setImage(display.isNull() ? image->preview : display);
  histogram_->setHistogram(image->histogram);
  info_->setText(image->summary());
  info_->setToolTip(image->path);
}

void ImagePane::setMetrics(const QString& text) { metrics_->setText(text); }

void ImagePane::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls() || event->mimeData()->hasImage()) event->acceptProposedAction();
}

void ImagePane::dropEvent(QDropEvent* event) {
  const QMimeData* mime = event->mimeData();
  if (mime->hasUrls() && !mime->urls().isEmpty() && mime->urls().first().isLocalFile()) {
    Q_EMIT fileDropped(role_, mime->urls().first().toLocalFile());
    event->acceptProposedAction();
  } else if (mime->hasImage()) {
    Q_EMIT imageDropped(role_, qvariant_cast<QImage>(mime->imageData()));
    event->acceptProposedAction();
  }
}

}  // namespace dqa::ui
