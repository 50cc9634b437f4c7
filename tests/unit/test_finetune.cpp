// Fine-tuning a model directory on DepictQA's training JSON (depictqa-train --finetune):
// a tiny quality-encoder model, a few steps on the fixture records. LoRA: the loss goes
// down, the encoder and every decoder weight but q/k/v/o stay as they were, the
// attention weights of the saved model are the base plus the merged LoRA (the adapter
// saved beside it, applied to the base at load, gives the same weights), and the saved
// directory loads like any model. Full (--mode decoder): the projector and every decoder
// weight move, the encoder does not.
#include <QtTest/QtTest>
#include <QTemporaryDir>

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/model/multimodal.h"
#include "core/text/tokenizer.h"
#include "core/train/model_init.h"
#include "core/train/trainer.h"
#include "depictqa_json_fixture.h"
#include "test_support.h"
#include "tiny_model.h"

using namespace dqa;
namespace fs = std::filesystem;

namespace {

std::string tokenizerPath() { return test::fixtureDir("sentencepiece") + "/tiny.model"; }

std::map<std::string, at::Tensor> weightsOf(const std::string& dir, const model::ModelLoadOptions& options = {}) {
  auto m = model::MultimodalModel::load(dir, options);
  if (!m) qFatal("%s", m.message().c_str());
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : m.value()->namedParameters()) out[name] = t->detach().clone();
  return out;
}

bool isAttention(const std::string& name) {
  for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"})
    if (name.find(std::string("self_attn.") + p) != std::string::npos &&
        name.find("language_model") != std::string::npos)
      return true;
  return false;
}

// The first and last lm loss of log.jsonl.
std::pair<double, double> lossEnds(const std::string& logPath) {
  std::ifstream in(logPath);
  std::string line;
  double first = -1, last = -1;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (first < 0) first = j.at("lm").get<double>();
    last = j.at("lm").get<double>();
  }
  return {first, last};
}

}  // namespace

class FinetuneTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  std::string root() const { return dir_.path().toStdString(); }
  std::string init() const { return root() + "/init"; }

  train::TrainOptions options(const std::string& mode, const std::string& out) const {
    train::TrainOptions o;
    o.initFrom = init();
    o.tokenizerPath = init() + "/tokenizer.model";
    o.outputDirectory = out;
    o.mode = mode;
    o.loraRank = 2;
    o.loraAlpha = 4;
    o.steps = 12;
    o.batchSize = 4;
    o.learningRate = 2e-2;
    o.warmupSteps = 1;
    o.logEvery = 1;
    o.evalEvery = 1000;
    o.saveEvery = 1000;
    o.threads = 2;
    o.tokenGridChoices = {};
    o.data.sources = {{data::SourceSpec::Kind::DepictqaJson, root() + "/train.json", 1}};
    o.data.imageRoot = root();
    return o;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    test::writeFixtureImages(root(), 48);
    test::writeFixtureJson(root(), test::fixtureRecords(), "train.json");
    auto tok = text::Tokenizer::load(tokenizerPath());
    QVERIFY(tok.ok());
    QVERIFY(train::writeInitialModel(test::tinyModelShape(tok.value()->vocabSize()), init(), 1).ok());
    fs::copy_file(tokenizerPath(), init() + "/tokenizer.model");
  }

  void loraTrainsOnlyProjectorAndAttention() {
    const std::string out = root() + "/lora";
    std::vector<std::string> notes;
    auto o = options("lora", out);
    o.onNote = [&](const std::string& line) { notes.push_back(line); };
    auto ok = train::train(o, {});
    QVERIFY2(ok.ok(), ok.ok() ? "" : ok.message().c_str());
    QCOMPARE(notes.size(), size_t(1));
    QVERIFY(notes[0].find("train.json: 4 records; weight 1") != std::string::npos);
    const auto [first, last] = lossEnds(out + "/log.jsonl");
    QVERIFY2(last < first, qPrintable(QString("lm loss %1 -> %2").arg(first).arg(last)));
    QVERIFY(fs::exists(out + "/adapter/adapter_config.json"));
    QVERIFY(!fs::exists(out + "/model/adapter"));  // merged: loads like any model
    const auto before = weightsOf(init()), after = weightsOf(out + "/model");
    QCOMPARE(after.size(), before.size());
    int attentionChanged = 0, projectorChanged = 0;
    for (const auto& [name, w] : before) {
      QVERIFY2(after.count(name), name.c_str());
      const bool same = at::equal(w, after.at(name));
      if (isAttention(name)) {
        attentionChanged += !same;
      } else if (name.rfind("multi_modal_projector.", 0) == 0) {
        projectorChanged += !same;
      } else {
        QVERIFY2(same, ("a frozen weight changed: " + name).c_str());
      }
    }
    QCOMPARE(attentionChanged, 4);  // q, k, v, o of the one layer
    QVERIFY(projectorChanged > 0);
    // The adapter on the base weights, merged at load, is the saved model's attention.
    model::ModelLoadOptions withAdapter;
    withAdapter.adapterDirectory = out + "/adapter";
    const auto applied = weightsOf(init(), withAdapter);
    for (const auto& [name, w] : after)
      if (isAttention(name)) QVERIFY2(at::allclose(applied.at(name), w, 1e-5, 1e-6), name.c_str());
  }

  // Interrupted after 3 steps and run again: the LoRA of the checkpoint goes on training
  // (kept apart from the base weights), and the final adapter still is the whole update.
  void loraResumesWithItsAdapter() {
    const std::string out = root() + "/resumed";
    auto o = options("lora", out);
    o.stopAt = 3;
    auto first = train::train(o, {});
    QVERIFY2(first.ok(), first.ok() ? "" : first.message().c_str());
    QVERIFY(fs::exists(out + "/checkpoint/model/adapter/adapter_config.json"));
    o.stopAt = 0;
    auto rest = train::train(o, {});
    QVERIFY2(rest.ok(), rest.ok() ? "" : rest.message().c_str());
    std::ifstream log(out + "/log.jsonl");
    std::string line, last;
    int lines = 0;
    while (std::getline(log, line)) last = line, ++lines;
    QCOMPARE(lines, o.steps);
    QCOMPARE(nlohmann::json::parse(last).at("step").get<int>(), o.steps);
    const auto after = weightsOf(out + "/model");
    model::ModelLoadOptions withAdapter;
    withAdapter.adapterDirectory = out + "/adapter";
    const auto applied = weightsOf(init(), withAdapter), base = weightsOf(init());
    for (const auto& [name, w] : after)
      if (isAttention(name)) {
        QVERIFY2(!at::equal(base.at(name), w), name.c_str());
        QVERIFY2(at::allclose(applied.at(name), w, 1e-5, 1e-6), name.c_str());
      }
  }

  // depictqa-train --finetune full: the projector and every decoder weight, the encoder frozen.
  void fullTrainsProjectorAndDecoder() {
    const std::string out = root() + "/full";
    auto o = options("decoder", out);
    o.steps = 3;
    auto ok = train::train(o, {});
    QVERIFY2(ok.ok(), ok.ok() ? "" : ok.message().c_str());
    const auto before = weightsOf(init()), after = weightsOf(out + "/model");
    int decoderMoved = 0, decoderWeights = 0;
    bool projectorMoved = false;
    for (const auto& [name, w] : before) {
      const bool same = at::equal(w, after.at(name));
      if (name.rfind("vision_tower.", 0) == 0) QVERIFY2(same, ("the encoder changed: " + name).c_str());
      if (name.rfind("multi_modal_projector.", 0) == 0) projectorMoved |= !same;
      if (name.rfind("language_model.", 0) == 0 && name.find("embed_tokens") == std::string::npos) {
        ++decoderWeights;
        decoderMoved += !same;
      }
    }
    QVERIFY(projectorMoved);
    QCOMPARE(decoderMoved, decoderWeights);  // attention, MLP, norms, head
    QVERIFY(!fs::exists(out + "/adapter"));
  }

  void badRecordStopsTrainingWithItsName() {
    auto records = test::fixtureRecords();
    records[3]["task_type"] = "quality_rank";
    test::writeFixtureJson(root(), records, "bad.json");
    auto o = options("lora", root() + "/bad");
    o.data.sources = {{data::SourceSpec::Kind::DepictqaJson, root() + "/bad.json", 1}};
    auto ok = train::train(o, {});
    QVERIFY(!ok.ok());
    QVERIFY2(ok.message().find("bad.json: record 3 (id r2): unknown task_type") != std::string::npos,
             ok.message().c_str());
  }
};

QTEST_GUILESS_MAIN(FinetuneTest)
#include "test_finetune.moc"
