// safetensors header parsing and config.json parsing on valid and hostile input.
#include <QtTest/QtTest>
#include <QTemporaryDir>

#include <cstring>
#include <fstream>

#include "core/io/model_config.h"
#include "core/io/model_dir.h"
#include "core/io/safetensors.h"
#include "test_support.h"

using namespace dqa;

namespace {

std::string withHeader(const std::string& json, size_t dataBytes = 0) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((n >> (8 * i)) & 0xff);
  return out + json + std::string(dataBytes, '\0');
}

Result<io::SafetensorsHeader> parse(const std::string& bytes) {
  return io::parseSafetensorsHeader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), bytes.size());
}

}  // namespace

class IoTest : public QObject {
  Q_OBJECT private Q_SLOTS : void validHeader() {
    auto h = parse(withHeader(
        R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]}})",
        32));
    QVERIFY2(h.ok(), h.ok() ? "" : h.message().c_str());
    QCOMPARE(int(h->tensors.size()), 2);
    QCOMPARE(h->tensors.at("w").numel(), int64_t(6));
    QCOMPARE(h->tensors.at("b").dtype, io::DType::BF16);
    QCOMPARE(h->metadata.at("format"), std::string("pt"));
  }

  void hostileHeaders_data() {
    QTest::addColumn<QByteArray>("bytes");
    auto add = [](const char* name, const std::string& s) {
      QTest::newRow(name) << QByteArray(s.data(), int(s.size()));
    };
    add("empty", "");
    add("short", "abc");
    std::string absurd(8, '\xff');
    add("absurd-length", absurd + "{}");
    add("length-past-end", withHeader("{}").replace(0, 1, "\x50"));
    add("not-json", withHeader("{not json"));
    add("array", withHeader("[1,2]"));
    add("unknown-dtype", withHeader(R"({"w":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4));
    add("negative-dim", withHeader(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4));
    add("offsets-out-of-bounds", withHeader(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
    add("offsets-reversed", withHeader(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8));
    add("size-mismatch", withHeader(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
    add("overlap",
        withHeader(
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            12));
    add("overflowing-shape",
        withHeader(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4));
    add("missing-offsets", withHeader(R"({"w":{"dtype":"F32","shape":[1]}})", 4));
    add("metadata-not-strings", withHeader(R"({"__metadata__":{"a":1}})"));
    add("entry-not-object", withHeader(R"({"w":5})"));
  }
  void hostileHeaders() {
    QFETCH(QByteArray, bytes);
    auto h = parse(bytes.toStdString());
    QVERIFY(!h.ok());
    QVERIFY(h.message().find("safetensors") != std::string::npos);
  }

  void writeThenReadRoundTrip() {
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/t.safetensors";
    float a[6] = {1, 2, 3, 4, 5, 6};
    int64_t b[2] = {7, 8};
    auto ok = io::writeSafetensors(
        path, {{"a", io::DType::F32, {2, 3}, a, sizeof(a)}, {"b", io::DType::I64, {2}, b, sizeof(b)}});
    QVERIFY(ok.ok());
    auto f = io::SafetensorsFile::open(path);
    QVERIFY(f.ok());
    const auto* e = f.value()->find("a");
    QVERIFY(e);
    QCOMPARE(std::memcmp(f.value()->data(*e), a, sizeof(a)), 0);
    QVERIFY(io::SafetensorsFile::open(dir.path().toStdString()).ok() == false);  // a directory
    QVERIFY(!io::SafetensorsFile::open(path + ".missing").ok());
    // Truncated copy: offsets now point past the end.
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(path + ".cut", std::ios::binary) << bytes.substr(0, bytes.size() - 5);
    auto cut = io::SafetensorsFile::open(path + ".cut");
    QVERIFY(!cut.ok());
    qInfo("%s", cut.message().c_str());
  }

  void fixtureConfigs() {
    auto llava = io::loadModelConfig(test::fixtureDir("llava-tiny") + "/config.json");
    QVERIFY(llava.ok());
    QCOMPARE(int(llava->architecture), int(io::Architecture::Llava));
    QCOMPARE(llava->vision.featureLayer, -2);
    QCOMPARE(llava->imageTokenIndex, 500);
    QCOMPARE(int(llava->projector.kind), int(io::ProjectorKind::MlpGelu));
    auto gqa = io::loadModelConfig(test::fixtureDir("llama-tiny-gqa") + "/config.json");
    QVERIFY(gqa.ok());
    QCOMPARE(gqa->text.numKvHeads, 2);
    QCOMPARE(gqa->text.headDim, 16);
    QCOMPARE(gqa->text.ropeTheta, 10000.0);
    auto clip = io::loadModelConfig(test::fixtureDir("clip-vision-tiny") + "/config.json");
    QVERIFY(clip.ok());
    QCOMPARE(clip->vision.patchSize, 14);
    auto lora = io::loadLoraConfig(test::fixtureDir("llama-tiny-lora-adapter") + "/adapter_config.json");
    QVERIFY(lora.ok());
    QCOMPARE(lora->rank, 4);
    QCOMPARE(lora->scaling(), 2.0);
  }

  void hostileConfigs_data() {
    QTest::addColumn<QString>("json");
    QTest::newRow("not-json") << "{";
    QTest::newRow("array") << "[]";
    QTest::newRow("unknown-type") << R"({"model_type":"gpt2"})";
    QTest::newRow("llama-missing-fields") << R"({"model_type":"llama","hidden_size":64})";
    QTest::newRow("huge-hidden")
        << R"({"model_type":"llama","vocab_size":10,"hidden_size":99999999,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":1})";
    QTest::newRow("string-number")
        << R"({"model_type":"llama","vocab_size":"10","hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":1})";
    QTest::newRow("heads-not-divisible")
        << R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":3})";
    QTest::newRow("rope-scaling")
        << R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":1,"rope_scaling":{"type":"yarn"}})";
    QTest::newRow("llava-no-vision") << R"({"model_type":"llava","text_config":{}})";
    QTest::newRow("bad-act")
        << R"({"model_type":"clip_vision_model","hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1,"patch_size":2,"image_size":4,"hidden_act":"relu"})";
  }
  void hostileConfigs() {
    QFETCH(QString, json);
    auto c = io::parseModelConfig(json.toStdString());
    QVERIFY(!c.ok());
    QVERIFY(!c.message().empty());
  }

  // config.json's working_colour_space: sRGB when absent, names read loosely, anything
  // else refused with the list of spaces the loader converts to.
  void workingColourSpace() {
    const std::string llama =
        R"("model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":1)";
    const auto withSpace = [&](const std::string& value) {
      return io::parseModelConfig("{" + llama + ",\"working_colour_space\":" + value + "}");
    };
    auto plain = io::parseModelConfig("{" + llama + "}");
    QVERIFY(plain.ok());
    QVERIFY(plain->workingSpace == WorkingSpace::Srgb);
    for (const char* name : {"\"Display P3\"", "\"display-p3\"", "\"DISPLAY_P3\""}) {
      auto c = withSpace(name);
      QVERIFY2(c.ok(), name);
      QVERIFY(c->workingSpace == WorkingSpace::DisplayP3);
    }
    auto adobe = withSpace("\"Adobe RGB (1998)\"");
    QVERIFY(adobe.ok() && adobe->workingSpace == WorkingSpace::AdobeRgb);
    auto unknown = withSpace("\"ProPhoto RGB\"");
    QVERIFY(!unknown.ok());
    QVERIFY2(unknown.message().find("\"ProPhoto RGB\"") != std::string::npos &&
                 unknown.message().find("\"Display P3\"") != std::string::npos,
             unknown.message().c_str());
    QVERIFY(!withSpace("3").ok());
    // Read without loading the model; sRGB where there is no readable config.
    QVERIFY(io::workingSpaceOfModel(test::fixtureDir("llava-tiny")) == WorkingSpace::Srgb);
    QVERIFY(io::workingSpaceOfModel("/nonexistent") == WorkingSpace::Srgb);
    // The bundled model states the space it was trained in, not only by default.
    auto bundled = io::readTextFile(DEPICTQA_SOURCE_DIR "/models/default/config.json");
    QVERIFY(bundled.ok());
    QVERIFY(bundled->find("\"working_colour_space\": \"sRGB\"") != std::string::npos);
  }

  void modelDirectoryDiscovery() {
    QTemporaryDir dir;
    const std::string d = dir.path().toStdString();
    QVERIFY(!io::discoverModelFiles(d + "/nope").ok());
    QVERIFY(!io::discoverModelFiles(d).ok());  // no config.json
    std::ofstream(d + "/config.json") << "{}";
    std::ofstream(d + "/pytorch_model.bin") << "pickle";
    auto r = io::discoverModelFiles(d);
    QVERIFY(!r.ok());
    QVERIFY(r.message().find("convert") != std::string::npos);  // refused with a hint
    auto ok = io::discoverModelFiles(test::fixtureDir("llava-tiny"));
    QVERIFY(ok.ok());
    QCOMPARE(int(ok->weightFiles.size()), 1);  // expected.safetensors is not a weight file
    // Sharded index naming a missing shard / a path outside the directory.
    std::ofstream(d + "/model.safetensors.index.json") << R"({"weight_map":{"a":"model-00001.safetensors"}})";
    QVERIFY(!io::discoverModelFiles(d).ok());
    std::ofstream(d + "/model.safetensors.index.json") << R"({"weight_map":{"a":"../etc/passwd"}})";
    QVERIFY(!io::discoverModelFiles(d).ok());
  }

  void modelLookupOrder() {
    std::vector<std::string> tried;
    auto explicitDir = io::locateModelDirectory({test::fixtureDir("llava-tiny"), ""}, &tried);
    QVERIFY(explicitDir.ok());
    QCOMPARE(explicitDir.value(), test::fixtureDir("llava-tiny"));
    qputenv("DEPICTQA_MODEL", QByteArray::fromStdString(test::fixtureDir("llama-tiny")));
    auto env = io::locateModelDirectory({"", test::fixtureDir("llava-tiny")});
    QVERIFY(env.ok());
    QCOMPARE(env.value(), test::fixtureDir("llama-tiny"));  // env beats the saved setting
    qunsetenv("DEPICTQA_MODEL");
    auto saved = io::locateModelDirectory({"", test::fixtureDir("llava-tiny")});
    QCOMPARE(saved.value(), test::fixtureDir("llava-tiny"));
    QVERIFY(!io::locateModelDirectory({"/nonexistent/model", ""}).ok());  // explicit: no fallback
  }
};

QTEST_GUILESS_MAIN(IoTest)
#include "test_io_safetensors.moc"
