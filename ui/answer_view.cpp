#include "ui/answer_view.h"

#include <QApplication>
#include <QLabel>
#include <QMouseEvent>
#include <QScrollBar>
#include <QTextBlock>
#include <QTextEdit>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "core/data/parser.h"

namespace dqa::ui {

namespace {

// The aspects as the panel words them, in data::Aspect order.
const char* const kAspectWords[] = {"brightness", "colour", "noise", "artifacts", "blur"};

// Byte offsets inside UTF-8 text -> positions inside the QString (UTF-16) of it.
std::vector<int> utf16PositionOfEachByte(const std::string& utf8) {
  std::vector<int> position(utf8.size() + 1, 0);
  int units = 0;
  for (size_t i = 0; i < utf8.size();) {
    const unsigned char c = static_cast<unsigned char>(utf8[i]);
    const size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    for (size_t k = 0; k < length && i + k < utf8.size(); ++k) position[i + k] = units;
    units += length == 4 ? 2 : 1;
    i += length;
  }
  position[utf8.size()] = units;
  return position;
}

bool isWordCharacter(QChar c) { return c.isLetterOrNumber() || c == QLatin1Char('\'') || c == QLatin1Char('-'); }

}  // namespace

AnswerView::AnswerView(QWidget* parent) : QWidget(parent) {
  heading_ = new QLabel(this);
  heading_->setWordWrap(true);
  heading_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  text_ = new QTextEdit(this);
  text_->setObjectName(QStringLiteral("answerText"));
  text_->setReadOnly(true);
  text_->setMouseTracking(true);
  text_->viewport()->setMouseTracking(true);
  text_->viewport()->installEventFilter(this);
  text_->setPlaceholderText(
      tr("The answer appears here as the model writes it. Hover a word to see where "
         "the model looked; click to pin it; select a span for several words."));
  QFont font = text_->font();
  font.setPointSizeF(font.pointSizeF() * 1.15);
  text_->setFont(font);
  verdict_ = new QLabel(this);
  verdict_->setObjectName(QStringLiteral("verdict"));
  verdict_->setVisible(false);
  verdict_->setTextFormat(Qt::RichText);
  heads_ = new QLabel(this);
  heads_->setObjectName(QStringLiteral("headsJudgement"));
  heads_->setVisible(false);
  heads_->setWordWrap(true);
  heads_->setToolTip(
      tr("What the model's image encoder measured before the words were written: a predicted "
         "mean opinion score (1 very annoying .. 5 imperceptible), the worst aspect and the likeliest "
         "kind of distortion. The written verdict is trained to agree with it."));
  cautions_ = new QLabel(this);
  cautions_->setObjectName(QStringLiteral("answerCautions"));
  cautions_->setVisible(false);
  cautions_->setWordWrap(true);
  cautions_->setStyleSheet(QStringLiteral("background:#f3d36b;color:black;padding:4px;"));
  cautions_->setToolTip(
      tr("The model's words disagree with each other or with the question. The verdict is the "
         "letter the model gave at its closing sentence; the encoder's figures are what it measured."));
  stats_ = new QLabel(this);
  stats_->setObjectName(QStringLiteral("answerStats"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(heading_);
  layout->addWidget(text_, 1);
  layout->addWidget(verdict_);
  layout->addWidget(heads_);
  layout->addWidget(cautions_);
  layout->addWidget(stats_);
  connect(text_, &QTextEdit::selectionChanged, this, [this] {
    const QTextCursor cursor = text_->textCursor();
    if (!answer_ || !cursor.hasSelection()) return;
    const auto [first, last] = tokensForCharacters(cursor.selectionStart(), cursor.selectionEnd());
    if (first < last) {
      pinned_ = true;
      selected_ = {first, last};
      Q_EMIT tokensSelected(first, last, cursor.selectedText());
    }
  });
}

void AnswerView::clear() {
  answer_.reset();
  charSpans_.clear();
  streamed_.clear();
  streamedTokens_ = 0;
  selected_ = {-1, -1};
  pinned_ = false;
  text_->clear();
  heading_->clear();
  verdict_->setVisible(false);
  heads_->setVisible(false);
  cautions_->setVisible(false);
  stats_->clear();
}

void AnswerView::beginStreaming(const QString& heading) {
  clear();
  heading_->setText(heading);
  clock_.start();
  firstTokenNs_ = -1;
  tokensPerSecond_ = 0;
  stats_->setText(tr("Reading the images…"));
}

void AnswerView::appendToken(int, const QString& text) {
  if (firstTokenNs_ < 0) firstTokenNs_ = clock_.nsecsElapsed();
  ++streamedTokens_;
  streamed_ += text;
  QTextCursor cursor(text_->document());
  cursor.movePosition(QTextCursor::End);
  cursor.insertText(text);
  text_->verticalScrollBar()->setValue(text_->verticalScrollBar()->maximum());
  // Speed over the decode phase (after the first token), as the core reports it.
  const double seconds = (clock_.nsecsElapsed() - firstTokenNs_) / 1e9;
  if (streamedTokens_ > 1 && seconds > 0) tokensPerSecond_ = (streamedTokens_ - 1) / seconds;
  stats_->setText(tr("%1 tokens · %2 tokens/s").arg(streamedTokens_).arg(tokensPerSecond_, 0, 'f', 1));
}

QString AnswerView::answerText() const { return text_->toPlainText(); }

void AnswerView::showAnswer(const AnswerPtr& answer, const QString& heading) {
  clear();
  heading_->setText(heading);
  streamed_ = answer ? QString::fromStdString(answer->answer.generation.text) : QString();
  finish(answer, -1);
}

void AnswerView::finish(const AnswerPtr& answer, double longestStallMs) {
  answer_ = answer;
  if (!answer) return;
  const auto& generation = answer->answer.generation;
  const std::string& utf8 = generation.text;
  text_->setPlainText(QString::fromStdString(utf8));
  const std::vector<int> position = utf16PositionOfEachByte(utf8);
  charSpans_.clear();
  for (const auto& [begin, end] : answer->tokenSpans) {
    const int b = position[size_t(std::clamp(begin, 0, int(utf8.size())))];
    const int e = position[size_t(std::clamp(end, 0, int(utf8.size())))];
    charSpans_.emplace_back(b, e);
  }
  if (generation.tokensPerSecond() > 0) tokensPerSecond_ = generation.tokensPerSecond();
  QString stats = tr("%1 tokens · %2 tokens/s · prompt %3 tokens · first token %4 ms · stopped: %5")
                      .arg(generation.ids.size())
                      .arg(tokensPerSecond_, 0, 'f', 1)
                      .arg(generation.promptTokens)
                      .arg(generation.firstTokenMs, 0, 'f', 0)
                      .arg(QString::fromLatin1(dqa::gen::stopReasonName(generation.stop)));
  if (longestStallMs >= 0) stats += tr(" · longest UI stall %1 ms").arg(longestStallMs, 0, 'f', 1);
  stats_->setText(stats);

  const dqa::Verdict& v = answer->answer.verdict;
  if (v.present) {
    verdict_->setText(tr("<span style='font-size:large'><b>Verdict: Image %1 is better</b></span> — "
                         "confidence %2% (the letters: A %3%, B %4%)")
                          .arg(QChar::fromLatin1(v.winner))
                          .arg(v.confidence * 100.0, 0, 'f', 1)
                          .arg(v.probabilityA * 100.0, 0, 'f', 1)
                          .arg(v.probabilityB * 100.0, 0, 'f', 1));
    verdict_->setStyleSheet(v.winner == 'A' ? QStringLiteral("background:#1f6f3f;color:white;padding:4px;")
                                            : QStringLiteral("background:#24508f;color:white;padding:4px;"));
    verdict_->setVisible(true);
    // Mark the letter the verdict rests on.
    if (v.tokenIndex >= 0 && v.tokenIndex < int(charSpans_.size())) {
      QTextCharFormat format;
      format.setFontWeight(QFont::Bold);
      format.setBackground(QColor(255, 220, 90));
      format.setForeground(Qt::black);
      QTextCursor cursor(text_->document());
      cursor.setPosition(charSpans_[size_t(v.tokenIndex)].first);
      cursor.setPosition(charSpans_[size_t(v.tokenIndex)].second, QTextCursor::KeepAnchor);
      cursor.mergeCharFormat(format);
    }
  } else if (v.tie) {
    verdict_->setText(
        tr("<span style='font-size:large'><b>Verdict: too close to call</b></span> — "
           "the answer names no winner"));
    verdict_->setStyleSheet(QStringLiteral("background:#5a5a5a;color:white;padding:4px;"));
    verdict_->setVisible(true);
  } else {
    verdict_->setVisible(false);
  }
  heads_->setText(headsSummary(answer->answer));
  heads_->setVisible(!heads_->text().isEmpty());
  cautions_->setText(cautions(answer->answer));
  cautions_->setVisible(!cautions_->text().isEmpty());
}

QString AnswerView::cautions(const dqa::Answer& a) {
  const auto roles = a.prompt.images();
  if (std::find(roles.begin(), roles.end(), dqa::text::ImageRole::B) == roles.end()) return {};
  const dqa::data::AnswerCautions cautions = dqa::data::answerCautions(a.generation.text, a.preferenceStated);
  QStringList contradicted;
  for (dqa::data::Aspect aspect : cautions.givenToBothImages) contradicted << QLatin1String(kAspectWords[int(aspect)]);
  QStringList lines;
  if (!contradicted.isEmpty())
    lines << tr("Read with care: the answer gives %1 to Image A in one sentence and to Image B in another.")
                 .arg(contradicted.join(tr(" and ")));
  if (cautions.speaksOfUnstatedPreference)
    lines << tr(
        "Read with care: the answer speaks of a preference, but none was stated (the Preference box is "
        "empty); that part of the answer is the model's invention.");
  return lines.join(QLatin1Char('\n'));
}

QString AnswerView::headsSummary(const dqa::Answer& a) {
  if (a.quality.empty()) return {};
  QStringList parts;
  for (const auto& q : a.quality) {
    if (q.role == dqa::text::ImageRole::Reference) continue;
    const int worst = q.worstAspect();
    QString what = tr("no clear distortion");
    if (worst >= 0) {
      const auto& p = q.aspects[size_t(worst)];
      what = (p[2] > p[1] ? tr("severe %1") : tr("mild %1")).arg(QLatin1String(kAspectWords[worst]));
      if (q.dominantType != "none")
        what += tr(" (likeliest: %1)")
                    .arg(QString::fromStdString(q.dominantType).replace(QLatin1Char('_'), QLatin1Char(' ')));
    }
    const QString name = q.role == dqa::text::ImageRole::B ? tr("Image B") : tr("Image A");
    parts << tr("%1: score %2 of 5, %3").arg(name).arg(q.mos, 0, 'f', 1).arg(what);
  }
  QString text = tr("Encoder's measurement — ") + parts.join(QStringLiteral(" · "));
  if (a.headProbabilityA >= 0) {
    const QString percent = QString::number(a.headProbabilityA * 100.0, 'f', 0);
    if (a.headProbabilityWeighsPreference)
      text += tr(" · P(A better, weighing your preference) %1%").arg(percent);
    else if (a.preferenceStated)
      text += tr(" · P(A better, not weighing your preference) %1%").arg(percent);
    else
      text += tr(" · P(A better) %1%").arg(percent);
    const char heads = a.headProbabilityA >= 0.5f ? 'A' : 'B';
    if (a.verdict.present && a.verdict.winner != heads)
      text += tr(" — the written verdict disagrees with this measurement");
    else if (a.verdict.tie && std::abs(a.headProbabilityA - 0.5f) > 0.25f)
      text += tr(" — the written verdict calls it too close; this measurement does not");
  }
  return text;
}

void AnswerView::showText(const QString& heading, const QString& text, const QString& status) {
  clear();
  heading_->setText(heading);
  text_->setPlainText(text);
  stats_->setText(status);
}

void AnswerView::setStatus(const QString& status) { stats_->setText(status); }

void AnswerView::showFailure(const QString& message) {
  stats_->setText(QStringLiteral("<span style='color:#c0392b'>%1</span>").arg(message.toHtmlEscaped()));
}

std::pair<int, int> AnswerView::tokensForCharacters(int from, int to) const {
  int first = -1, last = -1;
  for (int i = 0; i < int(charSpans_.size()); ++i) {
    const auto [b, e] = charSpans_[size_t(i)];
    if (e > from && b < to) {
      if (first < 0) first = i;
      last = i + 1;
    }
  }
  return first < 0 ? std::pair<int, int>{-1, -1} : std::pair<int, int>{first, last};
}

std::pair<int, int> AnswerView::wordAt(int position) const {
  const QString text = text_->toPlainText();
  if (position < 0 || position >= text.size() || !isWordCharacter(text[position])) {
    if (position >= 0 && position < text.size() && !text[position].isSpace()) return {position, position + 1};
    return {-1, -1};
  }
  int begin = position, end = position + 1;
  while (begin > 0 && isWordCharacter(text[begin - 1])) --begin;
  while (end < text.size() && isWordCharacter(text[end])) ++end;
  return {begin, end};
}

void AnswerView::highlight(int fromChar, int toChar) {
  QList<QTextEdit::ExtraSelection> selections;
  if (fromChar >= 0 && toChar > fromChar) {
    QTextEdit::ExtraSelection s;
    s.cursor = QTextCursor(text_->document());
    s.cursor.setPosition(fromChar);
    s.cursor.setPosition(toChar, QTextCursor::KeepAnchor);
    s.format.setBackground(pinned_ ? QColor(250, 170, 60) : QColor(120, 200, 255));
    s.format.setForeground(Qt::black);
    selections << s;
  }
  text_->setExtraSelections(selections);
}

void AnswerView::selectTokens(int first, int last, bool pin) {
  if (!answer_ || first < 0 || last <= first || last > int(charSpans_.size())) {
    selected_ = {-1, -1};
    pinned_ = false;
    highlight(-1, -1);
    Q_EMIT tokensSelected(0, 0, QString());
    return;
  }
  pinned_ = pin;
  selected_ = {first, last};
  const int from = charSpans_[size_t(first)].first, to = charSpans_[size_t(last - 1)].second;
  highlight(from, to);
  Q_EMIT tokensSelected(first, last, text_->toPlainText().mid(from, to - from).trimmed());
}

void AnswerView::pickAtCharacter(int position, bool pin) {
  const auto [from, to] = wordAt(position);
  if (from < 0) return;
  const auto [first, last] = tokensForCharacters(from, to);
  if (first < 0) return;
  if (!pin && selected_ == std::pair<int, int>{first, last}) return;
  selectTokens(first, last, pin);
}

bool AnswerView::eventFilter(QObject* watched, QEvent* event) {
  if (watched != text_->viewport() || !answer_) return QWidget::eventFilter(watched, event);
  if (event->type() == QEvent::MouseMove) {
    auto* mouse = static_cast<QMouseEvent*>(event);
    if (!pinned_ && !(mouse->buttons() & Qt::LeftButton))
      pickAtCharacter(text_->cursorForPosition(mouse->position().toPoint()).position(), false);
  } else if (event->type() == QEvent::MouseButtonRelease) {
    auto* mouse = static_cast<QMouseEvent*>(event);
    if (!text_->textCursor().hasSelection()) {
      // A plain click pins the word under the cursor; clicking the pinned word unpins.
      const QTextCursor at = text_->cursorForPosition(mouse->position().toPoint());
      const auto [from, to] = wordAt(at.position());
      const auto tokens = from < 0 ? std::pair<int, int>{-1, -1} : tokensForCharacters(from, to);
      if (pinned_ && tokens == selected_) {
        pinned_ = false;
        highlight(-1, -1);
      } else if (tokens.first >= 0) {
        selectTokens(tokens.first, tokens.second, true);
      }
    }
  }
  return QWidget::eventFilter(watched, event);
}

}  // namespace dqa::ui
