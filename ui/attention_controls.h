#pragma once
// The row under the answer that says whose attention the panes show and how: the
// selection's label, Whole answer / Hide, the decoder layer, colour map, upsampling and
// opacity. Its choices persist through saveTo/restoreFrom. GUI thread only.
#include <QWidget>

#include <vector>

#include "ui/attention_overlay.h"

class QComboBox;
class QLabel;
class QSettings;
class QSlider;

namespace dqa::ui {

class AttentionControls : public QWidget {
  Q_OBJECT
 public:
  explicit AttentionControls(QWidget* parent = nullptr);

  OverlayOptions options() const;
  void setOptions(const OverlayOptions& options);  // emits optionsChanged once
  int layer() const;                               // -1: the mean over all captured layers
  // The layers the answer on display captured; the chosen layer stays when it is among them.
  void setLayers(const std::vector<int>& layers);
  void selectLayer(int layer);  // a layer not offered is ignored

  void showSelection(int first, int last, const QString& label);  // first >= last: none
  void showNote(const QString& text);

  void saveTo(QSettings& settings) const;
  void restoreFrom(const QSettings& settings);

 Q_SIGNALS:
  void optionsChanged();
  void layerChanged(int layer);
  void wholeAnswerRequested();
  void hideRequested();

 private:
  QLabel* label_ = nullptr;
  QComboBox* layer_ = nullptr;
  QComboBox* colormap_ = nullptr;
  QComboBox* upsampling_ = nullptr;
  QSlider* opacity_ = nullptr;
};

}  // namespace dqa::ui
