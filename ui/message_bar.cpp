#include "ui/message_bar.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

namespace dqa::ui {

MessageBar::MessageBar(QWidget* parent) : QFrame(parent) {
  setObjectName(QStringLiteral("messageBar"));
  label_ = new QLabel(this);
  label_->setWordWrap(true);
  label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* close = new QToolButton(this);
  close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
  close->setAutoRaise(true);
  close->setToolTip(tr("Close this message"));
  connect(close, &QToolButton::clicked, this, &MessageBar::dismiss);
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(8, 4, 4, 4);
  layout->addWidget(label_, 1);
  layout->addWidget(close);
  setVisible(false);
}

void MessageBar::showText(const QString& text, bool error) {
  label_->setText(text);
  setStyleSheet(error ? QStringLiteral("#messageBar{background:#f8d7da;} QLabel{color:#58151c;}")
                      : QStringLiteral("#messageBar{background:#fff3cd;} QLabel{color:#664d03;}"));
  showing_ = true;
  setVisible(true);
}

void MessageBar::dismiss() {
  showing_ = false;
  setVisible(false);
  label_->clear();
}

QString MessageBar::text() const { return showing_ ? label_->text() : QString(); }

}  // namespace dqa::ui
