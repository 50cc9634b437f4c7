#pragma once
// The coloured bar above the panes that says what went wrong (red) or what to know
// (yellow), selectable and closable; text() is empty once closed. GUI thread only.
#include <QFrame>

class QLabel;

namespace dqa::ui {

class MessageBar : public QFrame {
  Q_OBJECT
 public:
  explicit MessageBar(QWidget* parent = nullptr);
  void showText(const QString& text, bool error);
  void dismiss();
  QString text() const;  // the message on display, "" when none

 private:
  QLabel* label_ = nullptr;
  bool showing_ = false;
};

}  // namespace dqa::ui
