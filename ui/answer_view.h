#pragma once
// Shows the answer as it streams in, then lets the person point at it: hovering a
// word (or clicking to pin it, or selecting a span) picks that word's generated tokens
// for the attention overlay. Also shows speed and the verdict of comparisons.
#include <QElapsedTimer>
#include <QWidget>

#include <utility>
#include <vector>

#include "ui/model_worker.h"

class QLabel;
class QTextEdit;

namespace dqa::ui {

class AnswerView : public QWidget {
  Q_OBJECT
 public:
  explicit AnswerView(QWidget* parent = nullptr);

  void beginStreaming(const QString& heading);
  void appendToken(int index, const QString& text);
  void finish(const AnswerPtr& answer, double longestStallMs);
  // "Encoder's measurement — Image A: score 3.4 of 5, mild noise · ..." ("" without heads).
  static QString headsSummary(const dqa::Answer& answer);
  // Where a comparison's or reasoning's own words undermine it, read back by the
  // evaluation's parser: an aspect given to Image A in one sentence and to Image B in
  // another, or a preference spoken of that the question did not state. Empty if none.
  static QString cautions(const dqa::Answer& answer);
  void showAnswer(const AnswerPtr& answer, const QString& heading);  // from history
  void showFailure(const QString& message);
  // Text that is not one streamed answer (the whole-image summary): no token spans.
  void showText(const QString& heading, const QString& text, const QString& status);
  void setStatus(const QString& status);  // the line under the text
  void clear();

  QString streamedText() const { return streamed_; }
  int streamedTokens() const { return streamedTokens_; }
  QString answerText() const;
  double tokensPerSecond() const { return tokensPerSecond_; }
  QTextEdit* textEdit() const { return text_; }
  QLabel* verdictLabel() const { return verdict_; }
  QLabel* headsLabel() const { return heads_; }
  QLabel* cautionsLabel() const { return cautions_; }
  AnswerPtr answer() const { return answer_; }

  // Token range [first, last) whose text overlaps characters [from, to) of the answer.
  std::pair<int, int> tokensForCharacters(int from, int to) const;
  // The characters of a word around a character position.
  std::pair<int, int> wordAt(int position) const;
  // Picks tokens as if the person had clicked/selected; -1,-1 clears.
  void selectTokens(int first, int last, bool pin);
  std::pair<int, int> selectedTokens() const { return selected_; }

 Q_SIGNALS:
  void tokensSelected(int first, int last, const QString& label);  // first == last: none

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void highlight(int fromChar, int toChar);
  void pickAtCharacter(int position, bool pin);

  QLabel* heading_;
  QTextEdit* text_;
  QLabel* verdict_;
  QLabel* heads_;     // the quality encoder's own judgement (models with heads)
  QLabel* cautions_;  // cautions(): the answer contradicts itself or the question
  QLabel* stats_;
  QString streamed_;
  int streamedTokens_ = 0;
  QElapsedTimer clock_;
  qint64 firstTokenNs_ = -1;
  double tokensPerSecond_ = 0;
  AnswerPtr answer_;
  std::vector<std::pair<int, int>> charSpans_;  // per token, in QString positions
  std::pair<int, int> selected_{-1, -1};
  bool pinned_ = false;
};

}  // namespace dqa::ui
