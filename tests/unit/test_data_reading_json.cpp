// The "reading" of `depictqa --json` and `depictqa batch` (app/common/reading_json.h):
// what the evaluation's parser reads in an answer, per task, including the answers that
// compare an aspect twice, give it to both images, or speak of a preference nobody stated.
#include <QtTest/QtTest>

#include "app/common/reading_json.h"

using dqa::text::Task;

class TestReadingJson : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void reasoningThatContradictsItself() {
    const auto r = dqa::app::readingJson(Task::Reasoning,
                                         "Image A suffers from severe blur, while Image B shows mild noise. In terms "
                                         "of blur, Image A is clearly superior to Image B. Regarding blur, Image B "
                                         "is much superior to Image A. Overall, the better image is Image B.",
                                         false);
    QCOMPARE(r["winner"].get<std::string>(), std::string("B"));
    QCOMPARE(r["aspects"]["blurriness"]["A"].get<std::string>(), std::string("severe"));
    QCOMPARE(r["aspects"]["noise"]["B"].get<std::string>(), std::string("mild"));
    // An aspect compared in two sentences keeps the last one's comparison.
    QCOMPARE(r["aspects"]["blurriness"]["better"].get<std::string>(), std::string("B"));
    QVERIFY(r["aspects"]["blurriness"].value("much_better", false));
    QCOMPARE(r["aspects"]["color"]["better"].get<std::string>(), std::string("neither"));
    QCOMPARE(r["compares_an_aspect_twice"], nlohmann::ordered_json::array({"blurriness"}));
    QCOMPARE(r["gives_an_aspect_to_both_images"], nlohmann::ordered_json::array({"blurriness"}));
    QVERIFY(!r["speaks_of_a_preference_nobody_stated"].get<bool>());
  }

  void reasoningThatComparesEachAspectOnce() {
    const auto r = dqa::app::readingJson(Task::Reasoning,
                                         "Image A has mild noise. Image B looks pristine. Regarding noise, Image B is "
                                         "a little better than Image A. Overall, I prefer Image B.",
                                         false);
    QCOMPARE(r["aspects"]["noise"]["better"].get<std::string>(), std::string("B"));
    QVERIFY(!r["aspects"]["noise"].contains("much_better"));
    QVERIFY(r["compares_an_aspect_twice"].empty());
    QVERIFY(r["gives_an_aspect_to_both_images"].empty());
  }

  void preferenceNobodyStated() {
    const std::string answer =
        "Image A shows severe noise, while Image B has mild blur. You mentioned that you care a lot about blur. "
        "Given your preference, the better image is Image A.";
    const auto unstated = dqa::app::readingJson(Task::Reasoning, answer, false);
    QVERIFY(unstated["speaks_of_a_preference_nobody_stated"].get<bool>());
    QCOMPARE(unstated["winner"].get<std::string>(), std::string("A"));
    // With a stated preference the same sentence is the right one: no flag at all.
    const auto stated = dqa::app::readingJson(Task::Reasoning, answer, true);
    QVERIFY(!stated.contains("speaks_of_a_preference_nobody_stated"));
  }

  void comparisonReadsOnlyTheWinner() {
    const auto r = dqa::app::readingJson(Task::Comparison, "Image A is better than Image B.", false);
    QCOMPARE(r["winner"].get<std::string>(), std::string("A"));
    QVERIFY(!r.contains("aspects"));
    QVERIFY(!r["speaks_of_a_preference_nobody_stated"].get<bool>());
    const auto tie = dqa::app::readingJson(Task::Comparison, "The two images are about equally good.", false);
    QCOMPARE(tie["winner"].get<std::string>(), std::string("tie"));
    QVERIFY(dqa::app::readingJson(Task::Comparison, "", false)["winner"].is_null());
  }

  void descriptionReadsLevelsAndQuality() {
    const auto r = dqa::app::readingJson(
        Task::Description, "The image suffers from severe noise and mild blur. Its overall quality is poor.", false);
    QCOMPARE(r["aspects"]["noise"].get<std::string>(), std::string("severe"));
    QCOMPARE(r["aspects"]["blurriness"].get<std::string>(), std::string("mild"));
    QCOMPARE(r["aspects"]["color"].get<std::string>(), std::string("undistorted"));
    QCOMPARE(r["quality"].get<std::string>(), std::string("poor"));
    QVERIFY(!r.contains("winner"));
    QVERIFY(!r.contains("compares_an_aspect_twice"));
  }
};

QTEST_APPLESS_MAIN(TestReadingJson)
#include "test_data_reading_json.moc"
