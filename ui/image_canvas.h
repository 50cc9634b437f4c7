#pragma once
// Paints one image under the shared viewport, with the attention overlay and the
// region of interest on top. Mouse: drag pans, wheel zooms about the cursor,
// Shift+drag selects a region, a click (no drag) reports the image point,
// double-click toggles fit / 100 %.
#include <QColorSpace>
#include <QImage>
#include <QPointer>
#include <QWidget>

#include "ui/attention_overlay.h"
#include "ui/viewport.h"

namespace dqa::ui {

class ImageCanvas : public QWidget {
  Q_OBJECT
 public:
  explicit ImageCanvas(SharedViewport* viewport, QWidget* parent = nullptr);

  void setImage(const QImage& image);  // what to paint, sRGB (may be a difference view)
  const QImage& image() const { return image_; }
  // The display's colour space (display_colour.h): images are painted converted to it.
  // Invalid (the default): the display is taken as sRGB and images are painted as given.
  void setDisplayColourSpace(const QColorSpace& display);
  const QImage& shownImage() const { return shown_; }  // image() as sent to the display
  void setPlaceholder(const QString& text);
  void setOverlay(const AttentionOverlay& overlay);
  void clearOverlay();
  const AttentionOverlay& overlay() const { return overlay_; }
  void setSmoothOverlay(bool smooth);
  void setRegion(const QRectF& normalised, bool visible);

  // Geometry under the current view, for tests and for "100 %".
  double fitScale() const;
  double scale() const { return fitScale() * viewport_->zoom(); }
  QPointF imageToWidget(QPointF imagePoint) const;
  QPointF widgetToImage(QPointF widgetPoint) const;
  QSize sizeHint() const override { return {320, 240}; }

 Q_SIGNALS:
  void regionSelected(const QRectF& normalised);
  void hundredPercentRequested(ImageCanvas* canvas);
  void openRequested();
  void clicked(QPointF imagePoint);  // a press and release without dragging, image coordinates
  void hovered(QPointF imagePoint);  // the mouse over the image, no button held

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;

 private:
  QPointF clampToImage(QPointF p) const;

  QPointer<SharedViewport> viewport_;
  QImage image_;
  QColorSpace display_;
  QImage shown_;
  // The last two conversions by the source's cacheKey: flicker alternates two images.
  QList<QPair<qint64, QImage>> converted_;
  QString placeholder_;
  AttentionOverlay overlay_;
  bool smoothOverlay_ = false;
  QRectF region_;
  bool regionVisible_ = false;
  enum class Drag { None, Pan, Region } drag_ = Drag::None;
  QPointF dragStart_;  // widget coordinates
  QPointF dragStartCenter_;
  QPointF regionStart_, regionEnd_;  // image coordinates while selecting
};

}  // namespace dqa::ui
