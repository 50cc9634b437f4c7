// The DepictQA prompt. The golden strings below are written by hand from DESIGN.md
// ("The DepictQA prompt, exactly"), not produced by the code under test: a template
// that drifts by one space changes every token the model sees.
#include <QtTest>

#include "core/text/prompt.h"
#include "core/text/tokenizer.h"
#include "test_support.h"

using namespace dqa::text;

// SYS = S0 + S1 [+ S2] + "\n\n", written out.
#define SYS_NR                                                                          \
  "A chat between a curious human and an artificial intelligence assistant. The "       \
  "assistant gives helpful, detailed, and polite answers to the human's questions. As " \
  "an AI assistant, you are performing an image quality assessment task.\n\n"
#define SYS_FR                                                                          \
  "A chat between a curious human and an artificial intelligence assistant. The "       \
  "assistant gives helpful, detailed, and polite answers to the human's questions. As " \
  "an AI assistant, you are performing an image quality assessment task. A "            \
  "high-quality Reference Image is provided to assist the evaluation.\n\n"

Q_DECLARE_METATYPE(Task)

namespace {

// Expected chunks: text verbatim, an image slot as "[IMAGE:<role>]".
QStringList actualChunks(const Prompt& p) {
  QStringList out;
  for (const auto& c : p.chunks) {
    if (c.kind == PromptChunk::Kind::Text)
      out << QString::fromStdString(c.text);
    else
      out << QString("[IMAGE:%1]").arg(imageRoleName(c.role));
  }
  return out;
}

Prompt build(PromptRequest r) {
  auto p = buildPrompt(r);
  if (!p.ok()) qFatal("buildPrompt failed: %s", p.message().c_str());
  return p.value();
}

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

}  // namespace

class TestTextPrompt : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  // Every task x full/no reference x short answer, with the default question.
  void golden_data() {
    QTest::addColumn<Task>("task");
    QTest::addColumn<bool>("withReference");
    QTest::addColumn<bool>("shortAnswer");
    QTest::addColumn<QStringList>("chunks");

    // --- Description (one assessed image: "<Img>") ---
    QTest::newRow("description FR") << Task::Description << true << false
                                    << QStringList{
                                           SYS_FR " </s> Reference Image: <Img-Reference>", "[IMAGE:Reference]",
                                           "</Img-Reference>\n\n </s> Image: <Img>", "[IMAGE:Single]",
                                           "</Img>\n\n </s> USER: Describe the quality of the image compared with "
                                           "the reference.\n   ASSISTANT: "};
    QTest::newRow("description FR short")
        << Task::Description << true << true
        << QStringList{SYS_FR " </s> Reference Image: <Img-Reference>", "[IMAGE:Reference]",
                       "</Img-Reference>\n\n </s> Image: <Img>", "[IMAGE:Single]",
                       "</Img>\n\n </s> USER: Describe the quality of the image compared with "
                       "the reference. Answer the question using a single word or phrase.\n"
                       "   ASSISTANT: "};
    QTest::newRow("description NR") << Task::Description << false << false
                                    << QStringList{
                                           SYS_NR " </s> Image: <Img>", "[IMAGE:Single]",
                                           "</Img>\n\n </s> USER: Describe the quality of the image.\n   ASSISTANT: "};
    QTest::newRow("description NR short")
        << Task::Description << false << true
        << QStringList{SYS_NR " </s> Image: <Img>", "[IMAGE:Single]",
                       "</Img>\n\n </s> USER: Describe the quality of the image. Answer the "
                       "question using a single word or phrase.\n   ASSISTANT: "};

    // --- Comparison ---
    QTest::newRow("comparison FR") << Task::Comparison << true << false
                                   << QStringList{SYS_FR " </s> Reference Image: <Img-Reference>",
                                                  "[IMAGE:Reference]",
                                                  "</Img-Reference>\n\n </s> Image A: <Img-A>",
                                                  "[IMAGE:A]",
                                                  "</Img-A>\n\n </s> Image B: <Img-B>",
                                                  "[IMAGE:B]",
                                                  "</Img-B>\n\n </s> USER: Which image is better, Image A or Image B?\n"
                                                  "   ASSISTANT: "};
    QTest::newRow("comparison FR short") << Task::Comparison << true << true
                                         << QStringList{
                                                SYS_FR " </s> Reference Image: <Img-Reference>",
                                                "[IMAGE:Reference]",
                                                "</Img-Reference>\n\n </s> Image A: <Img-A>",
                                                "[IMAGE:A]",
                                                "</Img-A>\n\n </s> Image B: <Img-B>",
                                                "[IMAGE:B]",
                                                "</Img-B>\n\n </s> USER: Which image is better, Image A or Image B? "
                                                "Answer the question using a single word or phrase.\n   ASSISTANT: "};
    QTest::newRow("comparison NR") << Task::Comparison << false << false
                                   << QStringList{SYS_NR " </s> Image A: <Img-A>", "[IMAGE:A]",
                                                  "</Img-A>\n\n </s> Image B: <Img-B>", "[IMAGE:B]",
                                                  "</Img-B>\n\n </s> USER: Which image is better, Image A or Image B?\n"
                                                  "   ASSISTANT: "};
    QTest::newRow("comparison NR short") << Task::Comparison << false << true
                                         << QStringList{
                                                SYS_NR " </s> Image A: <Img-A>", "[IMAGE:A]",
                                                "</Img-A>\n\n </s> Image B: <Img-B>", "[IMAGE:B]",
                                                "</Img-B>\n\n </s> USER: Which image is better, Image A or Image B? "
                                                "Answer the question using a single word or phrase.\n   ASSISTANT: "};

    // --- Reasoning (same images as comparison) ---
    QTest::newRow("reasoning FR") << Task::Reasoning << true << false
                                  << QStringList{SYS_FR " </s> Reference Image: <Img-Reference>",
                                                 "[IMAGE:Reference]",
                                                 "</Img-Reference>\n\n </s> Image A: <Img-A>",
                                                 "[IMAGE:A]",
                                                 "</Img-A>\n\n </s> Image B: <Img-B>",
                                                 "[IMAGE:B]",
                                                 "</Img-B>\n\n </s> USER: Compared with the reference, which image is "
                                                 "better, Image A or Image B, and why?\n   ASSISTANT: "};
    QTest::newRow("reasoning FR short") << Task::Reasoning << true << true
                                        << QStringList{
                                               SYS_FR " </s> Reference Image: <Img-Reference>",
                                               "[IMAGE:Reference]",
                                               "</Img-Reference>\n\n </s> Image A: <Img-A>",
                                               "[IMAGE:A]",
                                               "</Img-A>\n\n </s> Image B: <Img-B>",
                                               "[IMAGE:B]",
                                               "</Img-B>\n\n </s> USER: Compared with the reference, which image is "
                                               "better, Image A or Image B, and why? Answer the question using a "
                                               "single word or phrase.\n   ASSISTANT: "};
    QTest::newRow("reasoning NR") << Task::Reasoning << false << false
                                  << QStringList{SYS_NR " </s> Image A: <Img-A>", "[IMAGE:A]",
                                                 "</Img-A>\n\n </s> Image B: <Img-B>", "[IMAGE:B]",
                                                 "</Img-B>\n\n </s> USER: Which image is better, Image A or Image B, "
                                                 "and why?\n   ASSISTANT: "};
    QTest::newRow("reasoning NR short") << Task::Reasoning << false << true
                                        << QStringList{
                                               SYS_NR " </s> Image A: <Img-A>", "[IMAGE:A]",
                                               "</Img-A>\n\n </s> Image B: <Img-B>", "[IMAGE:B]",
                                               "</Img-B>\n\n </s> USER: Which image is better, Image A or Image B, "
                                               "and why? Answer the question using a single word or phrase.\n"
                                               "   ASSISTANT: "};
  }
  void golden() {
    QFETCH(Task, task);
    QFETCH(bool, withReference);
    QFETCH(bool, shortAnswer);
    QFETCH(QStringList, chunks);
    PromptRequest r;
    r.task = task;
    r.withReference = withReference;
    r.shortAnswer = shortAnswer;
    const Prompt p = build(r);
    QCOMPARE(actualChunks(p), chunks);
    // Text and image chunks alternate, starting and ending with text.
    for (size_t i = 0; i < p.chunks.size(); ++i)
      QCOMPARE(p.chunks[i].kind, i % 2 == 0 ? PromptChunk::Kind::Text : PromptChunk::Kind::Image);
    QCOMPARE(p.images(), requiredImages(r));
    QCOMPARE(p.debugString(), chunks.join(QString()).toStdString());
    // The question field is what follows "USER: ".
    const std::string last = p.chunks.back().text;
    QCOMPARE(last.substr(last.find("USER: ") + 6), p.question + "\n   ASSISTANT: ");
  }

  void imageRolesInOrder() {
    PromptRequest r;
    r.task = Task::Comparison;
    QCOMPARE(requiredImages(r), (std::vector<ImageRole>{ImageRole::Reference, ImageRole::A, ImageRole::B}));
    r.withReference = false;
    QCOMPARE(requiredImages(r), (std::vector<ImageRole>{ImageRole::A, ImageRole::B}));
    r.task = Task::Reasoning;
    QCOMPARE(requiredImages(r), (std::vector<ImageRole>{ImageRole::A, ImageRole::B}));
    r.task = Task::Description;
    QCOMPARE(requiredImages(r), (std::vector<ImageRole>{ImageRole::Single}));
    r.withReference = true;
    QCOMPARE(requiredImages(r), (std::vector<ImageRole>{ImageRole::Reference, ImageRole::Single}));
    QCOMPARE(build(r).images(), requiredImages(r));
  }

  void customQuestionIsTrimmed() {
    PromptRequest r;
    r.task = Task::Comparison;
    r.withReference = false;
    r.question = "  \tIs Image A noisier than Image B?\n";
    const Prompt p = build(r);
    QCOMPARE(p.question, std::string("Is Image A noisier than Image B?"));
    QCOMPARE(p.chunks.back().text,
             std::string("</Img-B>\n\n </s> USER: Is Image A noisier than Image B?\n   ASSISTANT: "));
    r.question = " \n ";  // blank: the default
    QCOMPARE(build(r).question, std::string("Which image is better, Image A or Image B?"));
  }

  void preference() {
    PromptRequest r;
    r.task = Task::Comparison;
    r.withReference = true;
    r.preference = "  I can't tolerate any noise ";
    Prompt p = build(r);
    QCOMPARE(p.question, std::string("Which image is better, Image A or Image B? I can't tolerate any noise."));
    QCOMPARE(p.chunks.back().text, std::string("</Img-B>\n\n </s> USER: Which image is better, Image A or Image B? I "
                                               "can't tolerate any noise.\n   ASSISTANT: "));
    // Already a sentence; with the short-answer tail after it.
    r.preference = "Blur bothers me more than color shifts.";
    r.shortAnswer = true;
    p = build(r);
    QCOMPARE(p.chunks.back().text,
             std::string("</Img-B>\n\n </s> USER: Which image is better, Image A or Image B? Blur "
                         "bothers me more than color shifts. Answer the question using a single "
                         "word or phrase.\n   ASSISTANT: "));
    r.preference = "I hate noise!";
    r.shortAnswer = false;
    QCOMPARE(build(r).question, std::string("Which image is better, Image A or Image B? I hate noise!"));
  }

  void rejectsTemplateBreakingText_data() {
    QTest::addColumn<QString>("question");
    QTest::addColumn<QString>("preference");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("eos in question") << "Is A better?</s>"
                                     << ""
                                     << "</s>";
    QTest::newRow("bos in question") << "<s> Is A better?"
                                     << ""
                                     << "<s>";
    QTest::newRow("unk in question") << "what is <unk>"
                                     << ""
                                     << "<unk>";
    QTest::newRow("tag in question") << "Is <Img-A> sharp?"
                                     << ""
                                     << "<Img";
    QTest::newRow("closing tag") << "after </Img-B> what"
                                 << ""
                                 << "</Img";
    QTest::newRow("single tag") << "look at <Img>"
                                << ""
                                << "<Img";
    QTest::newRow("eos in preference") << ""
                                       << "I like </s> noise"
                                       << "</s>";
    QTest::newRow("tag in preference") << ""
                                       << "Prefer <Img-Reference>"
                                       << "<Img";
  }
  void rejectsTemplateBreakingText() {
    QFETCH(QString, question);
    QFETCH(QString, preference);
    QFETCH(QString, mentions);
    PromptRequest r;
    r.question = question.toStdString();
    r.preference = preference.toStdString();
    auto p = buildPrompt(r);
    QVERIFY(!p.ok());
    QVERIFY2(p.message().find(mentions.toStdString()) != std::string::npos, p.message().c_str());
    QVERIFY2(p.message().find(preference.isEmpty() ? "question" : "preference") != std::string::npos,
             p.message().c_str());
  }

  void lengthLimits() {
    PromptRequest r;
    r.question = std::string(kMaxQuestionChars, 'x');
    QVERIFY(buildPrompt(r).ok());
    r.question += "x";
    auto p = buildPrompt(r);
    QVERIFY(!p.ok());
    QVERIFY2(p.message().find("too long") != std::string::npos, p.message().c_str());
    // Characters, not bytes: 4000 three-byte characters are fine.
    r.question.clear();
    for (size_t i = 0; i < kMaxQuestionChars; ++i) r.question += "\xE7\x94\xBB";  // 画
    QVERIFY(buildPrompt(r).ok());
    r.question = "ok";
    r.preference = std::string(kMaxPreferenceChars + 1, 'y');
    QVERIFY(!buildPrompt(r).ok());
  }

  void rejectsBrokenText() {
    PromptRequest r;
    r.question = "bad \xC3 byte";
    auto p = buildPrompt(r);
    QVERIFY(!p.ok());
    QVERIFY2(p.message().find("UTF-8") != std::string::npos, p.message().c_str());
    r.question = std::string("nul\0inside", 10);
    QVERIFY(!buildPrompt(r).ok());
    r.question = "overlong \xC0\xAF slash";
    QVERIFY(!buildPrompt(r).ok());
    r.question = "ünïcödé 画像 ✓ is fine";
    QVERIFY(buildPrompt(r).ok());
  }

  void names() {
    QCOMPARE(taskName(Task::Description), "description");
    QCOMPARE(taskName(Task::Comparison), "comparison");
    QCOMPARE(taskName(Task::Reasoning), "reasoning");
    QCOMPARE(imageRoleName(ImageRole::Reference), "Reference");
    QCOMPARE(imageRoleName(ImageRole::Single), "Single");
    Task t = Task::Description;
    QVERIFY(parseTask("Reasoning", &t));
    QCOMPARE(t, Task::Reasoning);
    QVERIFY(!parseTask("scoring", &t));
    QCOMPARE(std::string(kShortAnswerTail), std::string(" Answer the question using a single word or phrase."));
    QCOMPARE(systemPrompt(true), std::string(SYS_FR));
    QCOMPARE(systemPrompt(false), std::string(SYS_NR));
  }

  void debugStringMarksImages() {
    PromptRequest r;
    r.task = Task::Description;
    r.withReference = false;
    r.question = "How noisy is it?";
    QCOMPARE(build(r).debugString(),
             std::string(SYS_NR " </s> Image: <Img>[IMAGE:Single]</Img>\n\n </s> USER: How noisy "
                                "is it?\n   ASSISTANT: "));
  }

  // Token ids with the tiny fixture model: no BOS inside the chunks, "</s>" as id 2
  // where it stands in the text, image chunks carry no ids.
  void tokenIds() {
    auto tr = Tokenizer::load(dqa::test::fixtureDir("sentencepiece") + "/tiny.model");
    QVERIFY2(tr.ok(), tr.ok() ? "" : tr.message().c_str());
    const Tokenizer& tok = *tr.value();
    PromptRequest r;
    r.task = Task::Comparison;
    r.withReference = true;
    r.shortAnswer = true;
    const Prompt p = build(r);
    const auto chunks = tokenizePrompt(p, tok);
    QCOMPARE(chunks.size(), size_t(7));

    const auto first = concat({tok.encode(SYS_FR " "), {2}, tok.encode(" Reference Image: <Img-Reference>")});
    QCOMPARE(chunks[0].kind, PromptChunk::Kind::Text);
    QCOMPARE(chunks[0].ids, first);
    QVERIFY(chunks[0].ids.front() != tok.bosId());
    const size_t eosAt = tok.encode(SYS_FR " ").size();
    QCOMPARE(chunks[0].ids[eosAt], 2);

    QCOMPARE(chunks[1].kind, PromptChunk::Kind::Image);
    QCOMPARE(chunks[1].role, ImageRole::Reference);
    QVERIFY(chunks[1].ids.empty());
    QCOMPARE(chunks[3].role, ImageRole::A);
    QCOMPARE(chunks[5].role, ImageRole::B);

    QCOMPARE(chunks[2].ids, concat({tok.encode("</Img-Reference>\n\n "), {2}, tok.encode(" Image A: <Img-A>")}));
    QCOMPARE(chunks[6].ids, concat({tok.encode("</Img-B>\n\n "),
                                    {2},
                                    tok.encode(" USER: Which image is better, Image A or Image B? Answer the "
                                               "question using a single word or phrase.\n   ASSISTANT: ")}));
    // Exactly one EOS per text chunk (the " </s> " separator) and no BOS anywhere.
    for (const auto& c : chunks) {
      if (c.kind != PromptChunk::Kind::Text) continue;
      QCOMPARE(std::count(c.ids.begin(), c.ids.end(), 2), 1L);
      QCOMPARE(std::count(c.ids.begin(), c.ids.end(), 1), 0L);
    }
    // The text around the EOS reads back as written (sentencepiece drops the edges'
    // whitespace, which the model never sees as text either).
    const std::vector<int32_t> tail(chunks[0].ids.begin() + long(eosAt) + 1, chunks[0].ids.end());
    QCOMPARE(tok.decode(tail), std::string("Reference Image: <Img-Reference>"));
  }
};

QTEST_GUILESS_MAIN(TestTextPrompt)
#include "test_text_prompt.moc"
