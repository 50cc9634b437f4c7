// `depictqa convert` on tiny stand-ins of the published DepictQA-Wild files
// (tests/data/convert, made by scripts/make_convert_fixtures.py with PyTorch 1.13): an
// OpenAI-CLIP TorchScript archive, a Hugging Face LLaMA as pytorch_model.bin and as
// float16 safetensors shards, DepictQA's ckpt.pt. The converted directory must load in
// the Engine and the core model classes and match the reference outputs that the script
// computed with plain torch ops: CLIP's last-layer patch tokens without CLS, the
// projector's output, LLaMA logits with the LoRA (as an adapter, merged at load, merged by
// the converter, another alpha). Then the refusals: missing and truncated files, foreign
// or misshaped tensors, a mismatched LLM, an existing output; and the CLI end to end.
#include <QtTest/QtTest>
#include <QTemporaryDir>
#include <c10/core/InferenceMode.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/convert/depictqa_convert.h"
#include "core/convert/torch_archive.h"
#include "core/generate/engine.h"
#include "core/model/multimodal.h"
#include "tensor_support.h"

using namespace dqa;
namespace fs = std::filesystem;

namespace {

constexpr double kTolerance = 1e-4;

std::string dataDir() { return test::sourceDir() + "/tests/data/convert"; }

at::Tensor expected(const std::string& key) {
  const std::string path = dataDir() + "/expected.safetensors";
  auto store = model::WeightStore::open({path});
  if (!store) qFatal("%s", store.message().c_str());
  auto file = io::SafetensorsFile::open(path);
  const auto* e = file.value()->find(key);
  if (!e) qFatal("expected.safetensors has no %s", key.c_str());
  auto t = store->get(key, model::toScalarType(e->dtype), at::kCPU);
  if (!t) qFatal("%s", t.message().c_str());
  return t.value();
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A torch.save-format archive of `tensors` (libtorch writes the same zip + pickle layout).
void savePickle(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, t] : tensors) dict.insert(name, t);
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
  writeFile(path, std::string(bytes.begin(), bytes.end()));
}

// ckpt.pt's tensors, edited by `edit` (rename, reshape, add, drop), saved to `path`.
void editedDelta(const std::string& path,
                 const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
  auto ckpt = convert::TorchCheckpoint::open(dataDir() + "/ckpt.pt");
  if (!ckpt) qFatal("%s", ckpt.message().c_str());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& t : ckpt.value()->tensors()) tensors.emplace_back(t.name, ckpt.value()->load(t.name).value());
  edit(tensors);
  savePickle(path, tensors);
}

}  // namespace

class ConvertTest : public QObject {
  Q_OBJECT
  QTemporaryDir tmp;
  std::string llmBin, llmSt;  // the published LLM layouts, with tokenizer.model

  convert::ConvertOptions options(const std::string& out, bool safetensorsLlm = false) const {
    convert::ConvertOptions o;
    o.clipPath = dataDir() + "/ViT-L-14.pt";
    o.llmDirectory = safetensorsLlm ? llmSt : llmBin;
    o.deltaPath = dataDir() + "/ckpt.pt";
    o.outputDirectory = tmp.path().toStdString() + "/" + out;
    return o;
  }

  // The error message of a conversion that must fail; checks that it left nothing behind.
  std::string refusal(const convert::ConvertOptions& o) {
    auto r = convert::convertDepictQA(o);
    if (r) return "(converted)";
    const fs::path out = fs::absolute(o.outputDirectory).lexically_normal();
    for (const auto& e : fs::directory_iterator(out.parent_path()))
      if (e.path().filename().string().find(".partial-") != std::string::npos)
        return "(left " + e.path().string() + " behind)";
    return r.message();
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp.isValid());
    // Vicuna ships tokenizer.model next to config.json; the fixtures borrow the shared
    // tiny SentencePiece model (vocabulary 400 = the tiny LLaMA's).
    for (const char* name : {"vicuna-tiny", "vicuna-tiny-st"}) {
      const std::string dir = tmp.path().toStdString() + "/" + name;
      fs::create_directories(dir);
      for (const auto& e : fs::directory_iterator(dataDir() + "/" + name))
        fs::copy_file(e.path(), dir + "/" + e.path().filename().string());
      fs::copy_file(test::fixtureDir("sentencepiece") + "/tiny.model", dir + "/tokenizer.model");
    }
    llmBin = tmp.path().toStdString() + "/vicuna-tiny";
    llmSt = tmp.path().toStdString() + "/vicuna-tiny-st";
  }

  void visionAndProjectorMatchReference() {
    c10::InferenceMode guard;
    auto r = convert::convertDepictQA(options("vision"));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->visionHeads, 2);  // width 128 / 64, read from nowhere but the rule
    QCOMPARE(r->imageSize, 42);
    QCOMPARE(r->loraRank, 4);
    QCOMPARE(r->loraModules, 8);  // q/k/v/o x 2 layers
    auto m = model::MultimodalModel::load(r->outputDirectory);
    QVERIFY2(m.ok(), m.ok() ? "" : m.message().c_str());
    const auto& cfg = m.value()->config();
    QCOMPARE(cfg.vision.featureLayer, -1);
    QVERIFY(cfg.vision.dropClassToken);
    QCOMPARE(cfg.vision.hiddenAct, std::string("quick_gelu"));
    QCOMPARE(cfg.vision.numHeads, 2);
    QVERIFY(cfg.projector.kind == io::ProjectorKind::Linear);
    QVERIFY(!cfg.visionEarlyFusion);
    at::Tensor pixels = expected("pixel_values");  // [2, 3, 42, 42]
    const double dv = test::maxAbsDiff(m.value()->vision().features(pixels), expected("vision_features"));
    const double dp = test::maxAbsDiff(m.value()->imageEmbeddings(pixels), expected("projected"));
    qInfo("CLIP patch features %.2e, projected %.2e", dv, dp);
    QVERIFY(dv <= kTolerance);
    QVERIFY(dp <= kTolerance);
    // Both are sensitive: another head count gives other features.
    auto o = options("vision-4heads");
    o.visionHeads = 4;
    auto r4 = convert::convertDepictQA(o);
    QVERIFY(r4.ok());
    auto m4 = model::MultimodalModel::load(r4->outputDirectory);
    QVERIFY(m4.ok());
    QVERIFY(test::maxAbsDiff(m4.value()->vision().features(pixels), expected("vision_features")) > 1e-2);
  }

  void logitsMatchReference_data() {
    QTest::addColumn<bool>("safetensorsLlm");
    QTest::addColumn<QString>("delta");
    QTest::addColumn<bool>("mergeAtConvert");
    QTest::addColumn<bool>("mergeAtLoad");
    QTest::addColumn<double>("alpha");
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<QString>("reference");
    QTest::newRow("bin, adapter at run time") << false << "ckpt.pt" << false << false << 0.0 << "keep"
                                              << "logits_lora";
    QTest::newRow("bin, adapter merged at load") << false << "ckpt.pt" << false << true << 0.0 << "keep"
                                                 << "logits_lora";
    QTest::newRow("bin, --merge-lora") << false << "ckpt.pt" << true << false << 0.0 << "keep"
                                       << "logits_lora";
    QTest::newRow("bin, --lora-alpha 8") << false << "ckpt.pt" << false << false << 8.0 << "keep"
                                         << "logits_lora_alpha8";
    QTest::newRow("bin, --merge-lora --lora-alpha 8") << false << "ckpt.pt" << true << false << 8.0 << "keep"
                                                      << "logits_lora_alpha8";
    QTest::newRow("f16 shards, adapter") << true << "ckpt.pt" << false << false << 0.0 << "keep"
                                         << "logits_lora";
    QTest::newRow("f16 shards, --merge-lora --dtype f32") << true << "ckpt.pt" << true << false << 0.0 << "f32"
                                                          << "logits_lora";
    QTest::newRow("peft lora_A.default names") << false << "ckpt_peft_default.pt" << false << false << 0.0 << "keep"
                                               << "logits_lora";
  }
  void logitsMatchReference() {
    QFETCH(bool, safetensorsLlm);
    QFETCH(QString, delta);
    QFETCH(bool, mergeAtConvert);
    QFETCH(bool, mergeAtLoad);
    QFETCH(double, alpha);
    QFETCH(QString, dtype);
    QFETCH(QString, reference);
    c10::InferenceMode guard;
    static int row = 0;
    auto o = options("logits-" + std::to_string(row++), safetensorsLlm);
    o.deltaPath = dataDir() + "/" + delta.toStdString();
    o.mergeLora = mergeAtConvert;
    o.loraAlpha = alpha;
    o.dtype = dtype.toStdString();
    auto r = convert::convertDepictQA(o);
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QCOMPARE(r->loraMerged, mergeAtConvert);
    QCOMPARE(fs::exists(r->outputDirectory + "/adapter/adapter_config.json"), !mergeAtConvert);
    model::ModelLoadOptions lo;
    lo.mergeLora = mergeAtLoad;
    auto m = model::MultimodalModel::load(r->outputDirectory, lo);
    QVERIFY2(m.ok(), m.ok() ? "" : m.message().c_str());
    const auto& dec = m.value()->decoder();
    at::Tensor logits = dec.logits(dec.forward(dec.embed(expected("input_ids"))));  // [1, 10, 400]
    const double d = test::maxAbsDiff(logits, expected(reference.toStdString()));
    const double fromBase = test::maxAbsDiff(logits, expected("logits_base"));
    qInfo("%s: max abs diff %.2e (LoRA moves the logits by %.2f)", QTest::currentDataTag(), d, fromBase);
    QVERIFY(d <= kTolerance);
    QVERIFY(fromBase > 0.1);  // the LoRA is really applied
  }

  void engineLoadsAndAnswers() {
    auto r = convert::convertDepictQA(options("engine"));
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    EngineOptions eo;
    eo.modelDirectory = r->outputDirectory;
    eo.contextLength = 2048;  // the tiny tokenizer spells the system prompt letter by letter
    eo.threads = 1;
    auto engine = Engine::load(eo);
    QVERIFY2(engine.ok(), engine.ok() ? "" : engine.message().c_str());
    QCOMPARE(engine.value()->info().architecture, std::string("llava"));
    QCOMPARE(engine.value()->info().patchSize, 14);
    QCOMPARE(engine.value()->info().imageSize, 42);
    QVERIFY(engine.value()->info().hasTokenizer);
    AskRequest q;
    q.prompt.task = text::Task::Comparison;
    q.prompt.withReference = true;
    q.reference = cv::Mat(60, 80, CV_8UC3, cv::Scalar(120, 90, 60));
    q.imageA = cv::Mat(60, 80, CV_8UC3, cv::Scalar(100, 90, 60));
    q.imageB = cv::Mat(60, 80, CV_8UC3, cv::Scalar(20, 200, 60));
    q.sampling.maxNewTokens = 3;
    auto answer = engine.value()->ask(q, {});
    QVERIFY2(answer.ok(), answer.ok() ? "" : answer.message().c_str());
    QCOMPARE(int(answer->generation.ids.size()), 3);
  }

  // The TorchScript archive is read by our own pickle machine, not torch::jit::load
  // (which compiles the archive's code and crashed on a damaged one: fuzz_torch_archive).
  // libtorch's loader, on this trusted fixture, is the reference: the same tensors under
  // the same names, bit for bit.
  void torchScriptTensorsMatchLibtorchsLoader() {
    const std::string clipPath = dataDir() + "/ViT-L-14.pt";
    auto opened = convert::TorchCheckpoint::open(clipPath);
    QVERIFY2(opened.ok(), opened.ok() ? "" : opened.message().c_str());
    const auto& ckpt = *opened.value();
    QVERIFY(ckpt.torchScript());
    torch::jit::Module reference = torch::jit::load(clipPath, c10::Device(c10::kCPU));
    std::map<std::string, at::Tensor> expectedTensors;
    for (const auto& p : reference.named_parameters(true)) expectedTensors[p.name] = p.value;
    for (const auto& b : reference.named_buffers(true)) expectedTensors[b.name] = b.value;
    QCOMPARE(ckpt.tensors().size(), expectedTensors.size());
    for (const auto& [name, want] : expectedTensors) {
      const auto* info = ckpt.find(name);
      QVERIFY2(info, name.c_str());
      QCOMPARE(info->dtype, want.scalar_type());
      QCOMPARE(info->shape, want.sizes().vec());
      auto got = ckpt.load(name);
      QVERIFY2(got.ok(), got.ok() ? "" : got.message().c_str());
      QVERIFY2(at::equal(got.value(), want), name.c_str());
    }

    // The archive's code is never compiled: with a class's source damaged, libtorch's
    // TorchScript compiler refuses the archive; the tensors still read the same.
    std::string bytes = readFile(clipPath);
    const size_t code = bytes.find("class NonDynamicallyQuantizableLinear(Module):");  // a stored record
    QVERIFY(code != std::string::npos);
    bytes.replace(code, 5, "#!?!#");
    const std::string damaged = tmp.path().toStdString() + "/clip-code-damaged.pt";
    writeFile(damaged, bytes);
    bool libtorchRefused = false;
    try {
      torch::jit::load(damaged, c10::Device(c10::kCPU));
    } catch (const std::exception&) { libtorchRefused = true; }  // its TorchScript compiler's ErrorReport
    QVERIFY(libtorchRefused);
    auto reopened = convert::TorchCheckpoint::open(damaged);
    QVERIFY2(reopened.ok(), reopened.ok() ? "" : reopened.message().c_str());
    QCOMPARE(reopened.value()->tensors().size(), expectedTensors.size());
    auto conv = reopened.value()->load("visual.conv1.weight");
    QVERIFY(conv.ok() && at::equal(conv.value(), expectedTensors.at("visual.conv1.weight")));

    // A scripted module (not traced) keeps num_heads as an attribute, which the converter
    // reads for the head count; libtorch writes the archive.
    torch::jit::Module attention("__torch__.Attention");
    attention.register_parameter("in_proj_weight", at::arange(12, at::kFloat).reshape({6, 2}), false);
    attention.register_attribute("num_heads", c10::IntType::get(), c10::IValue(int64_t(3)));
    torch::jit::Module model("__torch__.Model");
    model.register_module("attn", attention);
    model.register_buffer("scale", at::full({2}, 0.5, at::kHalf));
    const std::string scripted = tmp.path().toStdString() + "/scripted.pt";
    model.save(scripted);
    auto mine = convert::TorchCheckpoint::open(scripted);
    QVERIFY2(mine.ok(), mine.ok() ? "" : mine.message().c_str());
    QVERIFY(mine.value()->torchScript());
    QCOMPARE(mine.value()->intAttributes().at("attn.num_heads"), int64_t(3));
    auto w = mine.value()->load("attn.in_proj_weight");
    QVERIFY(w.ok() && at::equal(w.value(), at::arange(12, at::kFloat).reshape({6, 2})));
    auto scale = mine.value()->load("scale");
    QVERIFY(scale.ok() && scale.value().scalar_type() == at::kHalf &&
            at::equal(scale.value(), at::full({2}, 0.5, at::kHalf)));
    QVERIFY(mine.value()->skipped().empty());
  }

  // fuzz_torch_archive's findings (fuzz/seeds/fuzz_torch_archive/regression-*): a
  // TorchScript archive that crashed torch::jit::load, and a damaged zip directory. Each
  // ends in tensors or in an error that names the file.
  void fuzzFindingsEndInAClearError() {
    for (const char* name : {"regression-jit-load-segv.pt", "regression-leak-zip-reader.pt"}) {
      const std::string path = test::sourceDir() + "/fuzz/seeds/fuzz_torch_archive/" + name;
      auto opened = convert::TorchCheckpoint::open(path);
      if (!opened) {
        QVERIFY2(opened.message().find(path) != std::string::npos, opened.message().c_str());
        continue;
      }
      int refused = 0;
      for (const auto& info : opened.value()->tensors()) {
        auto t = opened.value()->load(info.name);
        if (t) continue;
        ++refused;
        QVERIFY2(t.message().find(path) != std::string::npos, t.message().c_str());
      }
      qInfo("%s: opened, %d of %zu tensors refused", name, refused, opened.value()->tensors().size());
    }
  }

  void refusesMissingAndDamagedFiles() {
    const std::string d = tmp.path().toStdString();
    auto o = options("refused");
    o.clipPath = d + "/nowhere/ViT-L-14.pt";
    QVERIFY(refusal(o).find("does not exist") != std::string::npos);
    o = options("refused");
    o.llmDirectory = d + "/no-vicuna";
    QVERIFY(refusal(o).find("does not exist") != std::string::npos);
    o = options("refused");
    o.tokenizerPath = d + "/no-tokenizer.model";
    QVERIFY(refusal(o).find("tokenizer") != std::string::npos);

    // Interrupted downloads: the zip directory at the end is gone.
    const std::string ckpt = readFile(dataDir() + "/ckpt.pt"), clip = readFile(dataDir() + "/ViT-L-14.pt");
    writeFile(d + "/ckpt-half.pt", ckpt.substr(0, ckpt.size() / 2));
    writeFile(d + "/clip-cut.pt", clip.substr(0, clip.size() - 100));
    writeFile(d + "/empty.pt", "");
    writeFile(d + "/text.pt", "not a checkpoint at all");
    writeFile(d + "/legacy.pt", std::string("\x80\x02", 2) + "a pickle, as torch.save wrote before 1.6");
    o = options("refused");
    o.deltaPath = d + "/ckpt-half.pt";
    std::string m = refusal(o);
    QVERIFY2(m.find("truncated") != std::string::npos, m.c_str());
    o = options("refused");
    o.clipPath = d + "/clip-cut.pt";
    m = refusal(o);
    QVERIFY2(m.find("truncated") != std::string::npos, m.c_str());
    o.clipPath = d + "/empty.pt";
    m = refusal(o);
    QVERIFY2(m.find("empty or truncated") != std::string::npos, m.c_str());
    o.clipPath = d + "/text.pt";
    m = refusal(o);
    QVERIFY2(m.find("not a PyTorch file") != std::string::npos, m.c_str());
    o.clipPath = d + "/legacy.pt";
    m = refusal(o);
    QVERIFY2(m.find("legacy") != std::string::npos, m.c_str());
    // The wrong file in the wrong place.
    o = options("refused");
    o.clipPath = dataDir() + "/ckpt.pt";
    m = refusal(o);
    QVERIFY2(m.find("no visual.* tensors") != std::string::npos, m.c_str());
    o = options("refused");
    o.deltaPath = dataDir() + "/ViT-L-14.pt";
    m = refusal(o);
    QVERIFY2(m.find("neither DepictQA's LoRA") != std::string::npos, m.c_str());
    o = options("refused");
    o.dtype = "f8";
    QVERIFY(refusal(o).find("unknown --dtype") != std::string::npos);
    QVERIFY(!fs::exists(d + "/refused"));
  }

  void hostilePicklesAreRefusedWithoutCrashing() {
    // data.pkl crafted by hand inside a valid torch.save zip: a list nested a million
    // deep (releasing it recursively would overflow the stack), a list that holds
    // itself, and a global that torch.save never writes (code execution in Python).
    const std::string d = tmp.path().toStdString();
    auto archive = [&](const std::string& name, const std::string& pickle) {
      const std::string path = d + "/" + name;
      caffe2::serialize::PyTorchStreamWriter writer(path);
      writer.writeRecord("data.pkl", pickle.data(), pickle.size());
      writer.writeEndOfFile();
      return path;
    };
    const int depth = 1000000;
    const std::string deep = std::string("\x80\x02", 2) + std::string(depth, '(') + "]" + std::string(depth, 'l') + ".";
    const std::string cycle(
        "\x80\x02]q\x00"
        "h\x00"
        "a.",
        9);  // BINPUT 0, BINGET 0, APPEND
    const std::string system =
        std::string("\x80\x02", 2) + "cos\nsystem\n" + std::string("X\x02\x00\x00\x00", 5) + "id\x85R.";
    for (const auto& [name, pickle, expected] :
         {std::tuple{"deep.pt", deep, "holds a list"}, std::tuple{"cycle.pt", cycle, "holds a list"},
          std::tuple{"system.pt", system, "os.system"}}) {
      auto o = options("refused");
      o.deltaPath = archive(name, pickle);
      const std::string m = refusal(o);
      QVERIFY2(m.find(expected) != std::string::npos, m.c_str());
    }
  }

  void refusesForeignAndMisshapedTensors() {
    const std::string d = tmp.path().toStdString();
    auto check = [&](const char* label,
                     const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit,
                     const std::string& expectedText) {
      const std::string path = d + "/delta-" + label + ".pt";
      editedDelta(path, edit);
      auto o = options("refused");
      o.deltaPath = path;
      const std::string m = refusal(o);
      qInfo("%s: %s", label, m.c_str());
      QVERIFY2(m.find(expectedText) != std::string::npos, m.c_str());
    };
    auto find = [](std::vector<std::pair<std::string, at::Tensor>>& ts, const std::string& name) -> at::Tensor& {
      for (auto& [n, t] : ts)
        if (n == name) return t;
      qFatal("no %s", name.c_str());
      static at::Tensor none;
      return none;
    };
    const std::string q0 = "llm.base_model.model.model.layers.0.self_attn.q_proj.";
    // The unedited round trip converts: libtorch's writer and our reader agree.
    {
      editedDelta(d + "/delta-same.pt", [](auto&) {});
      auto o = options("roundtrip");
      o.deltaPath = d + "/delta-same.pt";
      auto r = convert::convertDepictQA(o);
      QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    }
    check(
        "unknown-key",
        [&](auto& ts) {
          ts.emplace_back(q0 + "lora_C.weight", at::zeros({4, 32}));
        },
        "neither DepictQA's LoRA");
    auto drop = [](std::vector<std::pair<std::string, at::Tensor>>& ts, const std::string& name) {
      for (auto it = ts.begin(); it != ts.end(); ++it)
        if (it->first == name) {
          ts.erase(it);
          return;
        }
    };
    check(
        "no-projector", [&](auto& ts) { drop(ts, "vision_proj.weight"); }, "no vision_proj.weight");
    check(
        "global-projector",
        [&](auto& ts) {
          find(ts, "vision_proj.weight") = at::zeros({32, 16});
        },
        "vision_proj takes 16 inputs");
    check(
        "bias-shape", [&](auto& ts) { find(ts, "vision_proj.bias") = at::zeros({31}); }, "has shape [31]");
    check(
        "lora-b-shape",
        [&](auto& ts) {
          find(ts, q0 + "lora_B.weight") = at::zeros({32, 5});
        },
        "has shape [32, 5]");
    check(
        "lora-rank-mix",
        [&](auto& ts) {
          find(ts, q0 + "lora_A.weight") = at::zeros({8, 32});
        },
        "LoRA rank");
    check(
        "lora-no-b", [&](auto& ts) { drop(ts, q0 + "lora_B.weight"); }, "no B matrix");
    check(
        "lora-layer-9",
        [&](auto& ts) {
          ts.emplace_back("llm.base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight", at::zeros({4, 32}));
          ts.emplace_back("llm.base_model.model.model.layers.9.self_attn.q_proj.lora_B.weight", at::zeros({32, 4}));
        },
        "layer 9");
    check(
        "abstractor",
        [&](auto& ts) {
          ts.emplace_back("abstractor.query", at::zeros({4, 128}));
        },
        "abstractor");
    check(
        "integer-weight",
        [&](auto& ts) {
          find(ts, "vision_proj.weight") = at::zeros({32, 128}, at::kLong);
        },
        "not floating point");
  }

  void refusesAMismatchedLlm() {
    const std::string d = tmp.path().toStdString();
    using Tensors = std::vector<std::pair<std::string, at::Tensor>>;
    auto variant = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit,
                       const std::function<void(Tensors&)>& editWeights = {}) {
      const std::string dir = d + "/" + name;
      fs::create_directories(dir);
      for (const char* f : {"pytorch_model.bin", "tokenizer.model"})
        fs::copy_file(llmBin + "/" + f, dir + "/" + f, fs::copy_options::overwrite_existing);
      if (editWeights) {
        auto bin = convert::TorchCheckpoint::open(llmBin + "/pytorch_model.bin");
        if (!bin) qFatal("%s", bin.message().c_str());
        Tensors ts;
        for (const auto& t : bin.value()->tensors()) ts.emplace_back(t.name, bin.value()->load(t.name).value());
        editWeights(ts);
        savePickle(dir + "/pytorch_model.bin", ts);
      }
      auto cfg = nlohmann::json::parse(readFile(llmBin + "/config.json"));
      edit(cfg);
      writeFile(dir + "/config.json", cfg.dump());
      auto o = options("refused");
      o.llmDirectory = dir;
      return refusal(o);
    };
    std::string m = variant("llm-3-layers", [](auto& c) { c["num_hidden_layers"] = 3; });
    QVERIFY2(m.find("lack") != std::string::npos && m.find("layers.2.") != std::string::npos, m.c_str());
    m = variant("llm-1-layer", [](auto& c) { c["num_hidden_layers"] = 1; });
    QVERIFY2(m.find("LoRA for layer 1") != std::string::npos, m.c_str());  // the delta is checked first
    m = variant(
        "llm-extra-tensor", [](auto&) {},
        [](Tensors& ts) {
          ts.emplace_back("model.layers.0.mlp.extra_proj.weight", at::zeros({4, 4}));
        });
    QVERIFY2(m.find("does not have") != std::string::npos && m.find("extra_proj") != std::string::npos, m.c_str());
    m = variant(
        "llm-missing-norm", [](auto&) {},
        [](Tensors& ts) {
          for (auto it = ts.begin(); it != ts.end(); ++it)
            if (it->first == "model.norm.weight") {
              ts.erase(it);
              break;
            }
        });
    QVERIFY2(m.find("lack 'model.norm.weight'") != std::string::npos, m.c_str());
    m = variant("llm-wide", [](auto& c) { c["hidden_size"] = 64; });
    QVERIFY2(m.find("has shape") != std::string::npos, m.c_str());
    m = variant("llm-small-vocab", [](auto& c) { c["vocab_size"] = 300; });
    QVERIFY2(m.find("pieces") != std::string::npos, m.c_str());  // the tokenizer has 400
    m = variant("llm-gpt2", [](auto& c) { c["model_type"] = "gpt2"; });
    QVERIFY2(m.find("LLaMA") != std::string::npos, m.c_str());
    // No weights at all.
    const std::string empty = d + "/llm-no-weights";
    fs::create_directories(empty);
    fs::copy_file(llmBin + "/config.json", empty + "/config.json");
    fs::copy_file(llmBin + "/tokenizer.model", empty + "/tokenizer.model");
    auto o = options("refused");
    o.llmDirectory = empty;
    m = refusal(o);
    QVERIFY2(m.find("no LLaMA weights") != std::string::npos, m.c_str());
  }

  void existingOutputNeedsForce() {
    auto o = options("existing");
    fs::create_directories(o.outputDirectory);
    writeFile(o.outputDirectory + "/notes.txt", "mine");
    std::string m = refusal(o);
    QVERIFY2(m.find("--force") != std::string::npos, m.c_str());
    QCOMPARE(readFile(o.outputDirectory + "/notes.txt"), std::string("mine"));  // untouched
    o.force = true;
    auto r = convert::convertDepictQA(o);
    QVERIFY2(r.ok(), r.ok() ? "" : r.message().c_str());
    QVERIFY(!fs::exists(o.outputDirectory + "/notes.txt"));
    QVERIFY(fs::exists(o.outputDirectory + "/model.safetensors"));
    for (const auto& e : fs::directory_iterator(tmp.path().toStdString()))
      QVERIFY2(e.path().filename().string().find(".replaced-") == std::string::npos, e.path().c_str());
    // An empty directory is fine without --force.
    auto e = options("existing-empty");
    fs::create_directories(e.outputDirectory);
    QVERIFY(convert::convertDepictQA(e).ok());
    // Never into an input, even with --force.
    auto in = options("ignored");
    in.outputDirectory = llmBin;
    in.force = true;
    m = refusal(in);
    QVERIFY2(m.find("holds the input") != std::string::npos, m.c_str());
    QVERIFY(fs::exists(llmBin + "/pytorch_model.bin"));
  }

  void commandLine() {
    const QString exe = QString::fromStdString(test::binaryDir() + "/bin/depictqa");
    const QString out = tmp.path() + "/cli";
    QStringList args = {"convert",
                        "--clip",
                        QString::fromStdString(dataDir() + "/ViT-L-14.pt"),
                        "--llm",
                        QString::fromStdString(llmBin),
                        "--delta",
                        QString::fromStdString(dataDir() + "/ckpt.pt"),
                        "-o",
                        out,
                        "--merge-lora",
                        "--quiet"};
    QProcess p;
    p.start(exe, args);
    QVERIFY(p.waitForFinished(120000));
    const QByteArray stdoutText = p.readAllStandardOutput(), stderrText = p.readAllStandardError();
    QVERIFY2(p.exitCode() == 0, stderrText.constData());
    QVERIFY(
        stdoutText.contains("visual.transformer.resblocks.N.attn.in_proj_weight -> "
                            "vision_tower.encoder.layers.N.self_attn.{q,k,v}_proj.weight (x2)"));
    QVERIFY(stdoutText.contains("rotary_emb.inv_freq"));
    QVERIFY(stdoutText.contains("merged into the weights"));
    QVERIFY(stderrText.isEmpty());  // --quiet
    QVERIFY(!QFile::exists(out + "/adapter"));
    p.start(exe, args);  // again: the output exists now
    QVERIFY(p.waitForFinished(120000));
    QCOMPARE(p.exitCode(), 1);
    QVERIFY(p.readAllStandardError().contains("--force"));
    p.start(exe, {"convert", "--help"});
    QVERIFY(p.waitForFinished(30000));
    const QByteArray help = p.readAllStandardOutput();
    QVERIFY(help.contains("--lora-alpha") && help.contains("alpha = rank") && help.contains("RAM"));
  }
};

QTEST_GUILESS_MAIN(ConvertTest)
#include "test_convert.moc"
