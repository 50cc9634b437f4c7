#include "ui/image_canvas.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

#include "ui/display_colour.h"

namespace dqa::ui {

ImageCanvas::ImageCanvas(SharedViewport* viewport, QWidget* parent) : QWidget(parent), viewport_(viewport) {
  setMouseTracking(true);
  setMinimumSize(120, 90);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
  setFocusPolicy(Qt::ClickFocus);
  connect(viewport_, &SharedViewport::changed, this, qOverload<>(&QWidget::update));
}

void ImageCanvas::setImage(const QImage& image) {
  image_ = image;
  shown_ = image;
  // Converted when the display or the image is not sRGB (an image in a model's wider
  // working space is converted for an sRGB screen too).
  const bool srgbImage = !image.colorSpace().isValid() || image.colorSpace() == QColorSpace(QColorSpace::SRgb);
  if (!image.isNull() && (display_.isValid() || !srgbImage)) {
    auto cached = std::find_if(converted_.begin(), converted_.end(),
                               [&](const QPair<qint64, QImage>& c) { return c.first == image.cacheKey(); });
    if (cached != converted_.end()) {
      shown_ = cached->second;
    } else {
      shown_ = toDisplay(image, display_);
      converted_.prepend({image.cacheKey(), shown_});
      while (converted_.size() > 2) converted_.removeLast();
    }
  }
  update();
}

void ImageCanvas::setDisplayColourSpace(const QColorSpace& display) {
  display_ = display;
  converted_.clear();
  setImage(image_);
}

void ImageCanvas::setPlaceholder(const QString& text) {
  placeholder_ = text;
  update();
}

void ImageCanvas::setOverlay(const AttentionOverlay& overlay) {
  overlay_ = overlay;
  update();
}

void ImageCanvas::clearOverlay() {
  overlay_ = {};
  update();
}

void ImageCanvas::setSmoothOverlay(bool smooth) {
  smoothOverlay_ = smooth;
  update();
}

void ImageCanvas::setRegion(const QRectF& normalised, bool visible) {
  region_ = normalised;
  regionVisible_ = visible;
  update();
}

double ImageCanvas::fitScale() const {
  if (image_.isNull()) return 1.0;
  return std::min(double(width()) / image_.width(), double(height()) / image_.height());
}

QPointF ImageCanvas::imageToWidget(QPointF p) const {
  const double s = scale();
  const QPointF c = viewport_->center();
  return QPointF(width() / 2.0 + (p.x() - c.x() * image_.width()) * s,
                 height() / 2.0 + (p.y() - c.y() * image_.height()) * s);
}

QPointF ImageCanvas::widgetToImage(QPointF w) const {
  const double s = scale();
  const QPointF c = viewport_->center();
  return QPointF((w.x() - width() / 2.0) / s + c.x() * image_.width(),
                 (w.y() - height() / 2.0) / s + c.y() * image_.height());
}

QPointF ImageCanvas::clampToImage(QPointF p) const {
  return QPointF(std::clamp(p.x(), 0.0, double(image_.width())), std::clamp(p.y(), 0.0, double(image_.height())));
}

void ImageCanvas::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().color(QPalette::Dark));
  if (image_.isNull()) {
    painter.setPen(palette().color(QPalette::BrightText));
    painter.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
    return;
  }
  const QRectF target(imageToWidget({0, 0}), imageToWidget(QPointF(image_.width(), image_.height())));
  // Magnified pixels stay sharp (a loupe shows pixels); reduced views are smoothed.
  painter.setRenderHint(QPainter::SmoothPixmapTransform, scale() < 1.0);
  painter.drawImage(target, shown_);

  if (overlay_.valid()) {
    const QRectF where(imageToWidget(overlay_.target.topLeft()),
                       imageToWidget(QPointF(overlay_.target.x() + overlay_.target.width(),
                                             overlay_.target.y() + overlay_.target.height())));
    painter.setRenderHint(QPainter::SmoothPixmapTransform, smoothOverlay_);
    painter.drawImage(where, overlay_.image);
  }

  auto drawRect = [&](const QRectF& imageRect, const QColor& color) {
    const QRectF r(imageToWidget(imageRect.topLeft()), imageToWidget(imageRect.bottomRight()));
    painter.setRenderHint(QPainter::Antialiasing, false);
    painter.setBrush(Qt::NoBrush);
    painter.setPen(QPen(Qt::black, 1));
    painter.drawRect(r.adjusted(-1, -1, 1, 1));
    painter.setPen(QPen(color, 1, Qt::DashLine));
    painter.drawRect(r);
  };
  if (regionVisible_ && !region_.isEmpty()) {
    const QRectF r(region_.x() * image_.width(), region_.y() * image_.height(), region_.width() * image_.width(),
                   region_.height() * image_.height());
    drawRect(r, QColor(255, 200, 0));
  }
  if (drag_ == Drag::Region) drawRect(QRectF(regionStart_, regionEnd_).normalized(), Qt::cyan);
}

void ImageCanvas::mousePressEvent(QMouseEvent* event) {
  if (image_.isNull() || event->button() != Qt::LeftButton) return;
  dragStart_ = event->position();
  if (event->modifiers() & Qt::ShiftModifier) {
    drag_ = Drag::Region;
    regionStart_ = regionEnd_ = clampToImage(widgetToImage(event->position()));
  } else {
    drag_ = Drag::Pan;
    dragStartCenter_ = viewport_->center();
    setCursor(Qt::ClosedHandCursor);
  }
}

void ImageCanvas::mouseMoveEvent(QMouseEvent* event) {
  if (drag_ == Drag::None && !image_.isNull()) {
    const QPointF p = widgetToImage(event->position());
    if (p.x() >= 0 && p.y() >= 0 && p.x() < image_.width() && p.y() < image_.height()) Q_EMIT hovered(p);
    return;
  }
  if (drag_ == Drag::Pan) {
    const QPointF delta = event->position() - dragStart_;
    const double s = scale();
    viewport_->setView(viewport_->zoom(), QPointF(dragStartCenter_.x() - delta.x() / (s * image_.width()),
                                                  dragStartCenter_.y() - delta.y() / (s * image_.height())));
  } else if (drag_ == Drag::Region) {
    regionEnd_ = clampToImage(widgetToImage(event->position()));
    update();
  }
}

void ImageCanvas::mouseReleaseEvent(QMouseEvent* event) {
  if (drag_ == Drag::Pan && (event->position() - dragStart_).manhattanLength() < 4) {
    const QPointF p = widgetToImage(event->position());
    if (p.x() >= 0 && p.y() >= 0 && p.x() < image_.width() && p.y() < image_.height()) Q_EMIT clicked(p);
  }
  if (drag_ == Drag::Region) {
    regionEnd_ = clampToImage(widgetToImage(event->position()));
    const QRectF r = QRectF(regionStart_, regionEnd_).normalized();
    if (r.width() >= 4 && r.height() >= 4)
      Q_EMIT regionSelected(QRectF(r.x() / image_.width(), r.y() / image_.height(), r.width() / image_.width(),
                                   r.height() / image_.height()));
  }
  drag_ = Drag::None;
  unsetCursor();
  update();
}

void ImageCanvas::mouseDoubleClickEvent(QMouseEvent*) {
  if (image_.isNull()) {
    Q_EMIT openRequested();
    return;
  }
  if (viewport_->zoom() != 1.0)
    viewport_->fit();
  else
    Q_EMIT hundredPercentRequested(this);
}

void ImageCanvas::wheelEvent(QWheelEvent* event) {
  if (image_.isNull()) return;
  // Zoom about the cursor: the image point under it stays under it.
  const QPointF before = widgetToImage(event->position());
  const double factor = std::pow(1.0015, event->angleDelta().y());
  const double zoom = std::clamp(viewport_->zoom() * factor, 0.05, 256.0);
  const double s = fitScale() * zoom;
  const QPointF c((before.x() - (event->position().x() - width() / 2.0) / s) / image_.width(),
                  (before.y() - (event->position().y() - height() / 2.0) / s) / image_.height());
  viewport_->setView(zoom, c);
  event->accept();
}

}  // namespace dqa::ui
