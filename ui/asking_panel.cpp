#include "ui/asking_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStyle>
#include <QTextStream>
#include <QVBoxLayout>

namespace dqa::ui {

QStringList questionPool(dqa::text::Task task, bool withReference) {
  QFile file(QStringLiteral(":/depictqa/questions/%1.txt").arg(QString::fromLatin1(dqa::text::taskName(task))));
  QStringList questions;
  if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) return questions;
  QTextStream in(&file);
  while (!in.atEnd()) {
    const QString line = in.readLine().trimmed();
    if (line.isEmpty() || line.startsWith(QLatin1Char('#'))) continue;
    // Questions about the reference make no sense without one.
    if (!withReference && line.contains(QLatin1String("reference"), Qt::CaseInsensitive)) continue;
    questions << line;
  }
  return questions;
}

QStringList AskingPanel::preferencePresets() {
  return {QStringLiteral("I can't tolerate noise."), QStringLiteral("Sharpness matters most to me."),
          QStringLiteral("Colour fidelity matters most to me.")};
}

AskingPanel::AskingPanel(QWidget* parent) : QWidget(parent) {
  task_ = new QComboBox(this);
  task_->setObjectName(QStringLiteral("taskPicker"));
  task_->addItem(tr("Quality description (one image)"), int(dqa::text::Task::Description));
  task_->addItem(tr("Quality comparison (A vs B)"), int(dqa::text::Task::Comparison));
  task_->addItem(tr("Comparison reasoning (A vs B, why)"), int(dqa::text::Task::Reasoning));
  task_->setCurrentIndex(1);

  pool_ = new QListWidget(this);
  pool_->setObjectName(QStringLiteral("questionPool"));
  pool_->setToolTip(tr("Questions of this task; click one to use it"));
  pool_->setWordWrap(true);
  question_ = new QPlainTextEdit(this);
  question_->setObjectName(QStringLiteral("questionEdit"));
  question_->setPlaceholderText(tr("Type a question, or leave empty for the task's default question"));
  question_->setMaximumHeight(64);
  short_ = new QCheckBox(tr("Short answer (\"Image A\" / \"Image B\", with confidence)"), this);
  short_->setObjectName(QStringLiteral("shortAnswer"));
  preference_ = new QComboBox(this);
  preference_->setObjectName(QStringLiteral("preference"));
  preference_->setEditable(true);
  preference_->addItem(QString());
  preference_->addItems(preferencePresets());
  preference_->lineEdit()->setPlaceholderText(tr("Your preference, e.g. \"I can't tolerate noise.\" (optional)"));
  preference_->setInsertPolicy(QComboBox::NoInsert);

  ask_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaPlay), tr("Ask"), this);
  ask_->setObjectName(QStringLiteral("askButton"));
  ask_->setDefault(true);
  ask_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  ask_->setToolTip(tr("Ask the model (Ctrl+Enter)"));
  stop_ = new QPushButton(style()->standardIcon(QStyle::SP_MediaStop), tr("Stop"), this);
  stop_->setObjectName(QStringLiteral("stopButton"));
  stop_->setEnabled(false);
  stop_->setShortcut(QKeySequence(Qt::Key_Escape));
  whole_ = new QPushButton(tr("Whole image"), this);
  whole_->setObjectName(QStringLiteral("wholeImageButton"));
  whole_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Return));
  whole_->setEnabled(false);
  hint_ = new QLabel(this);
  hint_->setWordWrap(true);
  hint_->setStyleSheet(QStringLiteral("color: palette(mid);"));

  auto* form = new QFormLayout;
  form->addRow(tr("&Task"), task_);
  form->addRow(tr("&Preference"), preference_);
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(short_, 1);
  buttons->addWidget(whole_);
  buttons->addWidget(ask_);
  buttons->addWidget(stop_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(form);
  layout->addWidget(new QLabel(tr("Questions of this task:"), this));
  layout->addWidget(pool_, 1);
  layout->addWidget(question_);
  layout->addLayout(buttons);
  layout->addWidget(hint_);

  connect(task_, &QComboBox::currentIndexChanged, this, [this] {
    refillPool();
    Q_EMIT taskChanged(task());
  });
  connect(pool_, &QListWidget::currentTextChanged, this, [this](const QString& text) {
    if (!text.isEmpty()) question_->setPlainText(text);
  });
  connect(ask_, &QPushButton::clicked, this, &AskingPanel::askRequested);
  connect(stop_, &QPushButton::clicked, this, &AskingPanel::stopRequested);
  connect(whole_, &QPushButton::clicked, this, &AskingPanel::wholeImageRequested);
  refillPool();
}

dqa::text::Task AskingPanel::task() const { return dqa::text::Task(task_->currentData().toInt()); }

void AskingPanel::setTask(dqa::text::Task task) { task_->setCurrentIndex(task_->findData(int(task))); }

QString AskingPanel::question() const { return question_->toPlainText().trimmed(); }
void AskingPanel::setQuestion(const QString& text) { question_->setPlainText(text); }
bool AskingPanel::shortAnswer() const { return short_->isChecked(); }
void AskingPanel::setShortAnswer(bool on) { short_->setChecked(on); }
QString AskingPanel::preference() const { return preference_->currentText().trimmed(); }
void AskingPanel::setPreference(const QString& text) { preference_->setEditText(text); }

void AskingPanel::setWithReference(bool withReference) {
  if (withReference == withReference_) return;
  withReference_ = withReference;
  refillPool();
}

void AskingPanel::refillPool() {
  pool_->blockSignals(true);
  pool_->clear();
  pool_->addItems(questionPool(task(), withReference_));
  pool_->blockSignals(false);
  // The short answer only exists for comparisons.
  short_->setEnabled(task() == dqa::text::Task::Comparison);
  if (task() != dqa::text::Task::Comparison) short_->setChecked(false);
  question_->setPlaceholderText(
      tr("Default: %1").arg(QString::fromStdString(dqa::text::defaultQuestion(task(), withReference_))));
}

void AskingPanel::setBusy(bool busy) {
  stop_->setEnabled(busy);
  ask_->setText(busy ? tr("Ask again") : tr("Ask"));
}

void AskingPanel::setWholeEnabled(bool enabled, const QString& why) {
  whole_->setEnabled(enabled);
  whole_->setToolTip(enabled ? tr("Compare A and B over the whole frame at full resolution, tile by tile, with a map "
                                  "of where each is better (Ctrl+Shift+Enter). Click a tile for its reasoning.")
                             : why);
}

void AskingPanel::setAskEnabled(bool enabled, const QString& why) {
  ask_->setEnabled(enabled);
  hint_->setText(why);
  hint_->setVisible(!why.isEmpty());
}

}  // namespace dqa::ui
