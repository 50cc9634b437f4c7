#include "ui/attention_controls.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalBlocker>
#include <QSlider>
#include <QVBoxLayout>

namespace dqa::ui {

AttentionControls::AttentionControls(QWidget* parent) : QWidget(parent) {
  auto* rows = new QVBoxLayout(this);
  rows->setContentsMargins(0, 0, 0, 0);
  label_ = new QLabel(this);
  label_->setObjectName(QStringLiteral("attentionLabel"));
  label_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  showSelection(0, 0, {});
  auto* whole = new QPushButton(tr("Whole answer"), this);
  whole->setObjectName(QStringLiteral("wholeAnswer"));
  connect(whole, &QPushButton::clicked, this, &AttentionControls::wholeAnswerRequested);
  auto* hide = new QPushButton(tr("Hide"), this);
  connect(hide, &QPushButton::clicked, this, &AttentionControls::hideRequested);
  layer_ = new QComboBox(this);
  layer_->setObjectName(QStringLiteral("attentionLayer"));
  layer_->addItem(tr("All layers"), -1);
  layer_->setToolTip(tr("Decoder layer whose attention is shown"));
  connect(layer_, &QComboBox::currentIndexChanged, this, [this] { Q_EMIT layerChanged(layer()); });
  colormap_ = new QComboBox(this);
  colormap_->addItem(tr("viridis"), int(Colormap::Viridis));
  colormap_->addItem(tr("magma"), int(Colormap::Magma));
  upsampling_ = new QComboBox(this);
  upsampling_->addItem(tr("patch grid"), int(Upsampling::Nearest));
  upsampling_->addItem(tr("smooth"), int(Upsampling::Smooth));
  upsampling_->setToolTip(tr("Patch grid shows exactly one colour per visual token"));
  opacity_ = new QSlider(Qt::Horizontal, this);
  opacity_->setObjectName(QStringLiteral("overlayOpacity"));
  opacity_->setRange(0, 100);
  opacity_->setValue(60);
  opacity_->setMaximumWidth(110);
  opacity_->setToolTip(tr("Overlay opacity"));
  connect(colormap_, &QComboBox::currentIndexChanged, this, &AttentionControls::optionsChanged);
  connect(upsampling_, &QComboBox::currentIndexChanged, this, &AttentionControls::optionsChanged);
  connect(opacity_, &QSlider::valueChanged, this, &AttentionControls::optionsChanged);

  auto* form = new QHBoxLayout;
  rows->addWidget(label_);
  rows->addLayout(form);
  form->addStretch(1);
  form->addWidget(whole);
  form->addWidget(hide);
  form->addWidget(layer_);
  form->addWidget(colormap_);
  form->addWidget(upsampling_);
  form->addWidget(new QLabel(tr("opacity"), this));
  form->addWidget(opacity_);
}

OverlayOptions AttentionControls::options() const {
  OverlayOptions o;
  o.colormap = Colormap(colormap_->currentData().toInt());
  o.upsampling = Upsampling(upsampling_->currentData().toInt());
  o.opacity = opacity_->value() / 100.0;
  return o;
}

void AttentionControls::setOptions(const OverlayOptions& options) {
  {
    const QSignalBlocker a(colormap_), b(upsampling_), c(opacity_);
    colormap_->setCurrentIndex(colormap_->findData(int(options.colormap)));
    upsampling_->setCurrentIndex(upsampling_->findData(int(options.upsampling)));
    opacity_->setValue(int(options.opacity * 100 + 0.5));
  }
  Q_EMIT optionsChanged();
}

int AttentionControls::layer() const { return layer_->currentData().toInt(); }

void AttentionControls::setLayers(const std::vector<int>& layers) {
  const int previous = layer();
  {
    const QSignalBlocker block(layer_);
    layer_->clear();
    layer_->addItem(tr("All layers"), -1);
    for (int l : layers) layer_->addItem(tr("Layer %1").arg(l), l);
    const int index = layer_->findData(previous);
    layer_->setCurrentIndex(index < 0 ? 0 : index);
  }
  if (layer() != previous) Q_EMIT layerChanged(layer());
}

void AttentionControls::selectLayer(int layer) {
  const int index = layer_->findData(layer);
  if (index >= 0) layer_->setCurrentIndex(index);
}

void AttentionControls::showSelection(int first, int last, const QString& label) {
  label_->setText(first < last ? tr("Attention of “%1” (tokens %2–%3)").arg(label).arg(first).arg(last - 1)
                               : tr("Hover or click a word of the answer"));
}

void AttentionControls::showNote(const QString& text) { label_->setText(text); }

void AttentionControls::saveTo(QSettings& s) const {
  s.setValue(QStringLiteral("attention/colormap"), colormap_->currentIndex());
  s.setValue(QStringLiteral("attention/upsampling"), upsampling_->currentIndex());
  s.setValue(QStringLiteral("attention/opacity"), opacity_->value());
}

void AttentionControls::restoreFrom(const QSettings& s) {
  {
    const QSignalBlocker a(colormap_), b(upsampling_), c(opacity_);
    colormap_->setCurrentIndex(s.value(QStringLiteral("attention/colormap"), 0).toInt());
    upsampling_->setCurrentIndex(s.value(QStringLiteral("attention/upsampling"), 0).toInt());
    opacity_->setValue(s.value(QStringLiteral("attention/opacity"), 60).toInt());
  }
  Q_EMIT optionsChanged();
}

}  // namespace dqa::ui
