// Tokenizer: parity with sentencepiece (shared/fixtures/hf-reference/sentencepiece,
// made by sentencepiece 0.2.2 in Python), Hugging Face's special-token split, and the
// errors a person sees when the module or the model file is missing or broken.
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/text/tokenizer.h"
#include "test_support.h"

using dqa::text::Tokenizer;

namespace {

std::string modelPath() { return dqa::test::fixtureDir("sentencepiece") + "/tiny.model"; }

nlohmann::json expectedCases() {
  std::ifstream in(dqa::test::fixtureDir("sentencepiece") + "/expected.json");
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false)["cases"];
}

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

QByteArray show(const std::vector<int32_t>& ids) {
  QByteArray s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + QByteArray::number(ids[i]);
  return s + "]";
}

// Restores an environment variable when a test leaves, however it leaves.
struct EnvGuard {
  QByteArray name, old;
  bool had;
  explicit EnvGuard(const char* n) : name(n), old(qgetenv(n)), had(qEnvironmentVariableIsSet(n)) {}
  ~EnvGuard() {
    if (had)
      qputenv(name.constData(), old);
    else
      qunsetenv(name.constData());
  }
};

}  // namespace

class TestTextTokenizer : public QObject {
  Q_OBJECT

 private:
  std::shared_ptr<Tokenizer> tok_;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY2(QFile::exists(QString::fromStdString(modelPath())), modelPath().c_str());
    auto r = Tokenizer::load(modelPath());
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    tok_ = r.value();
    QVERIFY(expectedCases().is_array());
    QCOMPARE(expectedCases().size(), size_t(5));
  }

  void specialIds() {
    QCOMPARE(tok_->vocabSize(), 400);
    QCOMPARE(tok_->unkId(), 0);
    QCOMPARE(tok_->bosId(), 1);
    QCOMPARE(tok_->eosId(), 2);
    QCOMPARE(tok_->padId(), -1);
    QVERIFY(tok_->isControl(1) && tok_->isControl(2));
    QVERIFY(tok_->isUnknown(0) && !tok_->isControl(0));
    QCOMPARE(tok_->idToPiece(2), std::string("</s>"));
    QCOMPARE(tok_->pieceToId("</s>"), 2);
    QCOMPARE(tok_->pieceToId("no-such-piece"), 0);
    QVERIFY(!tok_->modulePath().empty());
    QCOMPARE(tok_->modelPath(), modelPath());
  }

  void matchesReference_data() {
    QTest::addColumn<int>("index");
    const auto cases = expectedCases();
    for (size_t i = 0; i < cases.size(); ++i) QTest::newRow(("case " + std::to_string(i)).c_str()) << int(i);
  }
  void matchesReference() {
    QFETCH(int, index);
    const auto c = expectedCases()[size_t(index)];
    const std::string text = c["text"];
    const auto ids = tok_->encode(text);
    const auto want = c["ids"].get<std::vector<int32_t>>();
    QVERIFY2(ids == want, show(ids) + " != " + show(want));
    QCOMPARE(tok_->encodePieces(text), c["pieces"].get<std::vector<std::string>>());
    QCOMPARE(tok_->decode(ids), c["decoded"].get<std::string>());
    // Plain encode never adds specials, and encodeWithSpecials agrees where the text
    // holds none.
    QCOMPARE(tok_->encodeWithSpecials(text), ids);
    const auto pieces = tok_->encodePieces(text);
    QCOMPARE(pieces.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      QCOMPARE(tok_->idToPiece(ids[i]), pieces[i]);
      QCOMPARE(tok_->pieceToId(pieces[i]), ids[i]);
    }
  }

  void pieceBytesJoinToDecodedText() {
    const auto c = expectedCases()[1];  // unicode: byte fallback across 2- and 3-byte chars
    const auto ids = tok_->encode(c["text"].get<std::string>());
    std::string joined;
    for (const auto id : ids) joined += tok_->pieceBytes(id);
    // decode drops the dummy-prefix space of the first token; a joined stream keeps it.
    QVERIFY(joined.size() > 1 && joined[0] == ' ');
    QCOMPARE(joined.substr(1), tok_->decode(ids));
    QCOMPARE(joined.substr(1), c["text"].get<std::string>());
  }

  void pieceBytesOfSpecialPieces() {
    QCOMPARE(tok_->pieceBytes(tok_->pieceToId("\xE2\x96\x81")), std::string(" "));
    QCOMPARE(tok_->pieceBytes(tok_->pieceToId("<0xC3>")), std::string("\xC3"));
    QCOMPARE(tok_->pieceBytes(tok_->pieceToId("<0x54>")), std::string("T"));
    QVERIFY(tok_->isByte(tok_->pieceToId("<0x00>")));
    QCOMPARE(tok_->pieceBytes(tok_->pieceToId("<0x00>")), std::string(1, '\0'));
    QCOMPARE(tok_->pieceBytes(tok_->pieceToId("\xE2\x96\x81"
                                              "Image")),
             std::string(" Image"));
    QCOMPARE(tok_->pieceBytes(tok_->bosId()), std::string());
    QCOMPARE(tok_->pieceBytes(tok_->eosId()), std::string());
    QCOMPARE(tok_->pieceBytes(tok_->unkId()), std::string());
    QCOMPARE(tok_->pieceBytes(-1), std::string());
    QCOMPARE(tok_->pieceBytes(400), std::string());
    QCOMPARE(tok_->idToPiece(400), std::string());
  }

  void decodeSkipsControlAndOutOfRange() {
    const auto ids = tok_->encode("Image A is better.");
    const std::string plain = tok_->decode(ids);
    QCOMPARE(plain, std::string("Image A is better."));
    QCOMPARE(tok_->decode(concat({{1}, ids, {2}})), plain);
    QCOMPARE(tok_->decode(concat({ids, {400, -5, 123456}})), plain);
    QCOMPARE(tok_->decode({}), std::string());
  }

  void encodeWithSpecialsSplitsLikeHuggingFace() {
    // Legacy slow LlamaTokenizer: the text around a special keeps its spaces and is
    // encoded on its own (so it gets its own dummy prefix).
    const auto got = tok_->encodeWithSpecials("a </s> b");
    const auto want = concat({tok_->encode("a "), {2}, tok_->encode(" b")});
    QVERIFY2(got == want, show(got) + " != " + show(want));
    QVERIFY(!tok_->encode("a ").empty() && !tok_->encode(" b").empty());

    QCOMPARE(tok_->encodeWithSpecials("</s>"), std::vector<int32_t>{2});
    QCOMPARE(tok_->encodeWithSpecials("</s></s>"), (std::vector<int32_t>{2, 2}));
    QCOMPARE(tok_->encodeWithSpecials("<s>x<unk>"), concat({{1}, tok_->encode("x"), {0}}));
    QCOMPARE(tok_->encodeWithSpecials("blur</s>noise"), concat({tok_->encode("blur"), {2}, tok_->encode("noise")}));
    // Not quite a special: plain text.
    QCOMPARE(tok_->encodeWithSpecials("</s <s"), tok_->encode("</s <s"));
    QCOMPARE(tok_->encodeWithSpecials(""), std::vector<int32_t>{});
    // Whitespace-only chunks normalise to nothing, as in sentencepiece.
    QCOMPARE(tok_->encodeWithSpecials(" </s> "), std::vector<int32_t>{2});
  }

  void longTextNeedsNoRetryGuess() {
    // Enough text that the first buffer guess is exercised on a long input.
    std::string text;
    for (int i = 0; i < 500; ++i) text += "ünïcödé 画像 noise ";
    const auto ids = tok_->encode(text);
    QVERIFY(ids.size() > 1000);
    QCOMPARE(tok_->decode(ids), text.substr(0, text.size() - 1));  // trailing space dropped
  }

  void concurrentEncode() {
    const auto cases = expectedCases();
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int rep = 0; rep < 200; ++rep) {
          for (const auto& c : cases) {
            if (tok_->encode(c["text"].get<std::string>()) != c["ids"].get<std::vector<int32_t>>()) ++mismatches;
            if (tok_->decode(c["ids"].get<std::vector<int32_t>>()) != c["decoded"].get<std::string>()) ++mismatches;
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    QCOMPARE(mismatches.load(), 0);
  }

  void secondLoadSharesModule() {
    auto r = Tokenizer::load(modelPath());
    QVERIFY(r.ok());
    QCOMPARE(r.value()->encode("Image B"), tok_->encode("Image B"));
  }

  void missingModelFile() {
    auto r = Tokenizer::load("/nonexistent/dir/tokenizer.model");
    QVERIFY(!r.ok());
    QVERIFY2(r.message().find("/nonexistent/dir/tokenizer.model") != std::string::npos, r.message().c_str());
    QVERIFY2(r.message().find("not found") != std::string::npos, r.message().c_str());
  }

  void corruptModelFile_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::newRow("garbage") << QByteArray("this is not a sentencepiece model at all\n");
    QTest::newRow("binary") << QByteArray("\xff\xfe\x00\x01\x02\x03\xff\xff\xff\xff", 10);
    QTest::newRow("empty") << QByteArray();
    QTest::newRow("json") << QByteArray("{\"model\": {\"type\": \"BPE\"}}");
  }
  void corruptModelFile() {
    QFETCH(QByteArray, content);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("tokenizer.model");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(content);
    f.close();
    auto r = Tokenizer::load(path.toStdString());
    QVERIFY(!r.ok());
    QVERIFY2(r.message().find("Could not read the tokenizer model") != std::string::npos, r.message().c_str());
    QVERIFY2(r.message().find(path.toStdString()) != std::string::npos, r.message().c_str());
    qInfo("%s", r.message().c_str());
  }

  void missingModuleExplicitPath() {
    auto r = Tokenizer::load(modelPath(), "/nonexistent/lib/libdepictqa_spm.so");
    QVERIFY(!r.ok());
    QVERIFY2(r.message().find("/nonexistent/lib/libdepictqa_spm.so") != std::string::npos, r.message().c_str());
  }

  // The module of this process is already loaded (initTestCase); the environment is
  // read on every load, so a bad DEPICTQA_SPM_MODULE must still give an error.
  void badModuleEnvVariable() {
    EnvGuard guard("DEPICTQA_SPM_MODULE");
    qputenv("DEPICTQA_SPM_MODULE", "/nonexistent/libdepictqa_spm.so");
    QCOMPARE(Tokenizer::moduleSearchPaths().front(), std::string("/nonexistent/libdepictqa_spm.so"));
    auto found = Tokenizer::findModule();
    QVERIFY(!found.ok());
    auto r = Tokenizer::load(modelPath());
    QVERIFY(!r.ok());
    QVERIFY2(r.message().find("DEPICTQA_SPM_MODULE") != std::string::npos, r.message().c_str());
    QVERIFY2(r.message().find("/nonexistent/libdepictqa_spm.so") != std::string::npos, r.message().c_str());
  }

  void goodModuleEnvVariable() {
    const std::string module = tok_->modulePath();
    EnvGuard guard("DEPICTQA_SPM_MODULE");
    qputenv("DEPICTQA_SPM_MODULE", QByteArray::fromStdString(module));
    auto found = Tokenizer::findModule();
    QVERIFY(found.ok());
    QCOMPARE(found.value(), module);
    auto r = Tokenizer::load(modelPath());
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
  }

  void searchPathsWithoutEnv() {
    EnvGuard guard("DEPICTQA_SPM_MODULE");
    qunsetenv("DEPICTQA_SPM_MODULE");
    const auto paths = Tokenizer::moduleSearchPaths();
    QVERIFY(paths.size() >= 4);
    const std::string exeDir = QCoreApplication::applicationDirPath().toStdString();
    QCOMPARE(paths[0], exeDir + "/../lib/libdepictqa_spm.so");
    QCOMPARE(paths[1], exeDir + "/libdepictqa_spm.so");
    QCOMPARE(paths[2], exeDir + "/../lib/depictqa/libdepictqa_spm.so");
    QCOMPARE(paths.back(), dqa::test::binaryDir() + "/lib/libdepictqa_spm.so");
    QVERIFY(Tokenizer::findModule().ok());
  }

  void garbageModuleFile() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath("libdepictqa_spm.so");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("not an ELF file");
    f.close();
    auto r = Tokenizer::load(modelPath(), path.toStdString());
    QVERIFY(!r.ok());
    QVERIFY2(r.message().find("Could not load the SentencePiece module") != std::string::npos, r.message().c_str());
    qInfo("%s", r.message().c_str());
  }
};

QTEST_GUILESS_MAIN(TestTextTokenizer)
#include "test_text_tokenizer.moc"
