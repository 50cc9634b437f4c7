// The answer view's cautions: an answer that gives one aspect to Image A in one sentence
// and to Image B in another, or speaks of a preference nobody stated, shows a line that
// says so under the verdict; a consistent answer, a stated preference and a description
// show none.
#include <QLabel>
#include <QtTest/QtTest>

#include "core/text/prompt.h"
#include "ui/answer_view.h"

using dqa::ui::AnswerPackage;
using dqa::ui::AnswerView;

namespace {

std::shared_ptr<const AnswerPackage> answerOf(dqa::text::Task task, const std::string& text,
                                              const std::string& preference = {}) {
  dqa::text::PromptRequest request;
  request.task = task;
  request.preference = preference;
  auto prompt = dqa::text::buildPrompt(request);
  auto package = std::make_shared<AnswerPackage>();
  if (!prompt) return package;
  package->answer.prompt = prompt.value();
  package->answer.preferenceStated = !preference.empty();
  package->answer.generation.text = text;
  return package;
}

const char* const kContradicting =
    "Image A has mild blur, while Image B shows mild noise. In terms of blur, Image A is clearly superior to Image B. "
    "Regarding blur, Image B is much superior to Image A. Overall, the better image is Image B.";
const char* const kInventedPreference =
    "Image A has mild blur, while Image B shows mild noise. Regarding noise, Image A is better than Image B. You "
    "mentioned that you care a lot about blur. Given your preference, the better image is Image B.";

}  // namespace

class AnswerCautionsTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void contradictionIsShown() {
    AnswerView view;
    view.showAnswer(answerOf(dqa::text::Task::Reasoning, kContradicting), QStringLiteral("reasoning"));
    QVERIFY(!view.cautionsLabel()->isHidden());
    QVERIFY2(view.cautionsLabel()->text().contains(QStringLiteral("gives blur to Image A in one sentence and to "
                                                                  "Image B in another")),
             qPrintable(view.cautionsLabel()->text()));
    QVERIFY(!view.cautionsLabel()->text().contains(QStringLiteral("preference")));
  }

  void preferenceNobodyStatedIsShown() {
    AnswerView view;
    view.showAnswer(answerOf(dqa::text::Task::Reasoning, kInventedPreference), QStringLiteral("reasoning"));
    QVERIFY(!view.cautionsLabel()->isHidden());
    QVERIFY2(view.cautionsLabel()->text().contains(QStringLiteral("none was stated")),
             qPrintable(view.cautionsLabel()->text()));
    // The same answer to a question that states the preference is what it should be.
    view.showAnswer(answerOf(dqa::text::Task::Reasoning, kInventedPreference, "I can't stand blur."),
                    QStringLiteral("reasoning"));
    QVERIFY(view.cautionsLabel()->isHidden());
  }

  void consistentAnswersShowNone() {
    AnswerView view;
    view.showAnswer(answerOf(dqa::text::Task::Reasoning,
                             "Image A has mild blur, while Image B looks pristine. Regarding blur, Image B is better "
                             "than Image A. Overall, the better image is Image B."),
                    QStringLiteral("reasoning"));
    QVERIFY(view.cautionsLabel()->isHidden());
    view.showAnswer(answerOf(dqa::text::Task::Description, "The image has mild blur. You mentioned noise."),
                    QStringLiteral("description"));
    QVERIFY(view.cautionsLabel()->isHidden());
    // Cleared with the answer.
    view.showAnswer(answerOf(dqa::text::Task::Reasoning, kContradicting), QStringLiteral("reasoning"));
    QVERIFY(!view.cautionsLabel()->isHidden());
    view.clear();
    QVERIFY(view.cautionsLabel()->isHidden());
  }
};

QTEST_MAIN(AnswerCautionsTest)
#include "test_gui_answer_cautions.moc"
