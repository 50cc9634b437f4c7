#pragma once
// One of the three panes (Reference, Image A, Image B): a title saying what is
// loaded, the canvas, a histogram and metadata line. Accepts drops and pastes; the
// window does the loading so that every failure ends up in its message bar.
#include <QFrame>

#include "ui/image_canvas.h"
#include "ui/image_data.h"

class QLabel;
class QToolButton;

namespace dqa::ui {

class HistogramWidget : public QWidget {
  Q_OBJECT
 public:
  using QWidget::QWidget;
  void setHistogram(const std::array<std::vector<int>, 3>& bins);
  QSize sizeHint() const override { return {200, 48}; }

 protected:
  void paintEvent(QPaintEvent*) override;

 private:
  std::array<std::vector<int>, 3> bins_;
};

class ImagePane : public QFrame {
  Q_OBJECT
 public:
  ImagePane(PaneRole role, SharedViewport* viewport, QWidget* parent = nullptr);
  PaneRole role() const { return role_; }
  ImageCanvas* canvas() const { return canvas_; }

  // Shows `image` (or the empty state); `display` may differ (difference / flicker).
  void showImage(const PaneImage* image, const QImage& display, const QString& note = {});
  void setMetrics(const QString& text);

 Q_SIGNALS:
  void openRequested(PaneRole role);
  void pasteRequested(PaneRole role);
  void clearRequested(PaneRole role);
  void fileDropped(PaneRole role, const QString& path);
  void imageDropped(PaneRole role, const QImage& image);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  PaneRole role_;
  QLabel* title_;
  QLabel* info_;
  QLabel* metrics_;
  ImageCanvas* canvas_;
  HistogramWidget* histogram_;
};

}  // namespace dqa::ui
