#pragma once
// One zoom/pan state shared by every pane, in normalised image coordinates, so that
// images of different sizes stay aligned (as nomacs / Beyond Compare do): the centre
// is a fraction of the image (0..1) and the zoom is relative to "fit in the pane".
#include <QObject>
#include <QPointF>

namespace dqa::ui {

class SharedViewport : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;
  double zoom() const { return zoom_; }       // 1 = the image fits its pane
  QPointF center() const { return center_; }  // normalised image point at the pane centre
  bool fitting() const { return zoom_ == 1.0 && center_ == QPointF(0.5, 0.5); }

  void setView(double zoom, QPointF center) {
    zoom = qBound(0.05, zoom, 256.0);
    center = QPointF(qBound(0.0, center.x(), 1.0), qBound(0.0, center.y(), 1.0));
    if (zoom == zoom_ && center == center_) return;
    zoom_ = zoom;
    center_ = center;
    Q_EMIT changed();
  }
  void fit() { setView(1.0, {0.5, 0.5}); }
  void zoomBy(double factor) { setView(zoom_ * factor, center_); }

 Q_SIGNALS:
  void changed();

 private:
  double zoom_ = 1.0;
  QPointF center_{0.5, 0.5};
};

}  // namespace dqa::ui
