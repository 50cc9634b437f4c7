#pragma once
// The asking side: task, the task's question pool, free text, short-answer toggle and
// a personal preference (presets or free text). It only describes the question; the
// window adds the images and sends it to the model.
#include <QStringList>
#include <QWidget>

#include "core/text/prompt.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QPushButton;

namespace dqa::ui {

// The question pools shipped in resources/questions/<task>.txt.
QStringList questionPool(dqa::text::Task task, bool withReference);

class AskingPanel : public QWidget {
  Q_OBJECT
 public:
  explicit AskingPanel(QWidget* parent = nullptr);

  dqa::text::Task task() const;
  void setTask(dqa::text::Task task);
  QString question() const;  // empty: the task's default question
  void setQuestion(const QString& text);
  bool shortAnswer() const;
  void setShortAnswer(bool on);
  QString preference() const;
  void setPreference(const QString& text);
  void setWithReference(bool withReference);  // filters the pool
  void setBusy(bool busy);                    // Ask <-> Stop
  void setAskEnabled(bool enabled, const QString& why = {});
  void setWholeEnabled(bool enabled, const QString& why = {});  // the button's tooltip says why not
  QPushButton* wholeButton() const { return whole_; }
  QPushButton* askButton() const { return ask_; }
  QPushButton* stopButton() const { return stop_; }
  QListWidget* poolList() const { return pool_; }
  static QStringList preferencePresets();

 Q_SIGNALS:
  void askRequested();
  void wholeImageRequested();
  void stopRequested();
  void taskChanged(dqa::text::Task task);

 private:
  void refillPool();

  QComboBox* task_;
  QListWidget* pool_;
  QPlainTextEdit* question_;
  QCheckBox* short_;
  QComboBox* preference_;
  QPushButton* ask_;
  QPushButton* stop_;
  QPushButton* whole_;
  QLabel* hint_;
  bool withReference_ = true;
};

}  // namespace dqa::ui
