#include "core/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "core/generate/engine.h"
#include "core/image/preprocess.h"
#include "core/io/safetensors.h"
#include "core/model/fusion.h"
#include "core/model/vision_input.h"
#include "core/model/multimodal.h"
#include "core/text/tokenizer.h"
#include "core/train/dataset.h"

namespace dqa::train {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kIgnore = -100;

struct Parameter {
  std::string name;
  at::Tensor* tensor;
  at::Tensor m, v;  // AdamW moments
  bool decay;
};

// One batch turned into tensors.
struct Batch {
  at::Tensor embeds;   // [B, T, H]
  at::Tensor labels;   // [B, T] next-token targets (kIgnore where no loss)
  at::Tensor mosPred;  // [N] predicted MOS of distorted images
  at::Tensor mosTrue;  // [N]
  at::Tensor rankDiff;   // [P] predicted score of A minus B for pairs with a clear gap
  at::Tensor rankSign;   // [P] +1 when A is better
  int64_t rankCorrect = 0, rankTotal = 0;
  std::vector<std::pair<int64_t, int64_t>> letterPositions;  // (batch row, position) of A/B letters
  std::vector<char> letterTruth;
  int64_t answerTokens = 0;
};

// Pixels for the encoder: [3F, H, W] (3 channels without early fusion).
at::Tensor encoderInput(const image::PreprocessedImage& p, const image::PreprocessedImage* ref,
                        const io::ModelConfig& cfg) {
  const at::Tensor reference = ref ? model::pixelTensor(*ref).unsqueeze(0) : at::Tensor();  // [1, 3, H, W]
  return model::encoderInput(cfg, model::pixelTensor(p).unsqueeze(0), reference)[0];
}

class Trainer {
 public:
  Trainer(const TrainOptions& o) : opt_(o), rng_(o.seed) {}

  Status run(const std::function<void(const TrainProgress&)>& onProgress);

 private:
  Status setUp();
  Result<Batch> makeBatch(const ShardDataset& data, const std::vector<size_t>& indices);
  double learningRate(int step) const;
  void optimizerStep(double lr);
  Status saveModel(const std::string& dir);
  Status saveCheckpoint(int step);
  Result<int> loadCheckpoint();
  Status evaluate(TrainProgress& p);
  void drawLossCurve();

  TrainOptions opt_;
  std::mt19937_64 rng_;
  std::shared_ptr<model::MultimodalModel> model_;
  std::shared_ptr<text::Tokenizer> tokenizer_;
  std::vector<Parameter> params_;
  at::Tensor headWeight_, headBias_;  // MOS regression head on pooled encoder features
  std::optional<ShardDataset> train_, val_;
  int32_t letterA_ = -1, letterB_ = -1;
  std::vector<std::pair<int, double>> trainCurve_, valCurve_;
  int adamStep_ = 0;
};

double Trainer::learningRate(int step) const {
  if (step < opt_.warmupSteps) return opt_.learningRate * (step + 1) / opt_.warmupSteps;
  const double t = double(step - opt_.warmupSteps) / std::max(1, opt_.steps - opt_.warmupSteps);
  const double cosine = 0.5 * (1 + std::cos(M_PI * std::min(1.0, t)));
  return opt_.learningRate * (opt_.minLearningRateRatio + (1 - opt_.minLearningRateRatio) * cosine);
}

Status Trainer::setUp() {
  fs::create_directories(opt_.outputDirectory);
  auto tok = text::Tokenizer::load(opt_.tokenizerPath);
  if (!tok) return tok.error();
  tokenizer_ = tok.value();
  std::string init = opt_.initFrom;
  if (init.empty()) {
    init = opt_.outputDirectory + "/init";
    if (!fs::exists(init + "/config.json")) {
      opt_.shape.vocabSize = tokenizer_->vocabSize();
      auto ok = writeInitialModel(opt_.shape, init, opt_.seed);
      if (!ok) return ok;
    }
  }
  // A checkpoint holds the latest weights; start from it when resuming.
  const std::string ckpt = opt_.outputDirectory + "/checkpoint";
  const bool resuming = opt_.resume && fs::exists(ckpt + "/model/config.json");
  auto m = model::MultimodalModel::load(resuming ? ckpt + "/model" : init, {});
  if (!m) return m.error();
  model_ = m.value();
  if (!model_->hasVision() || !model_->hasDecoder() || !model_->hasProjector())
    return makeError("training needs a LLaVA-style model (vision + projector + decoder)");
  if (tokenizer_->vocabSize() > model_->config().text.vocabSize)
    return makeError("the tokenizer has more pieces than the model's vocabulary");

  model::NamedParameters named;
  if (opt_.mode == "lora") {
    if (!resuming) model_->mutableDecoder().addLora(opt_.loraRank, opt_.loraAlpha, opt_.seed);
    named = model_->mutableProjector().namedParameters("multi_modal_projector.");
    auto lora = model_->mutableDecoder().loraParameters("base_model.model.language_model.model.");
    named.insert(named.end(), lora.begin(), lora.end());
  } else if (opt_.mode == "encoder") {
    named = model_->mutableVision().namedParameters("vision_tower.");
  } else if (opt_.mode == "full") {
    named = model_->namedParameters();
  } else {
    return makeError("unknown training mode '" + opt_.mode + "' (full, lora, encoder)");
  }
  for (auto& [name, t] : named) {
    t->requires_grad_(true);
    const bool decay = t->dim() >= 2 && name.find("embed") == std::string::npos &&
                       name.find("position_embedding") == std::string::npos;
    params_.push_back({name, t, at::zeros_like(*t), at::zeros_like(*t), decay});
  }
  at::Generator gen = at::detail::createCPUGenerator(opt_.seed + 7);
  headWeight_ = at::empty({1, model_->config().vision.hiddenSize}).normal_(0, 0.02, gen).requires_grad_(true);
  headBias_ = at::zeros({1}).requires_grad_(true);
  params_.push_back({"head.weight", &headWeight_, at::zeros_like(headWeight_), at::zeros_like(headWeight_), false});
  params_.push_back({"head.bias", &headBias_, at::zeros_like(headBias_), at::zeros_like(headBias_), false});

  auto tr = ShardDataset::open(opt_.trainDirectory);
  if (!tr) return tr.error();
  train_ = std::move(tr.value());
  if (!opt_.validationDirectory.empty()) {
    auto va = ShardDataset::open(opt_.validationDirectory);
    if (!va) return va.error();
    val_ = std::move(va.value());
  }
  const text::VerdictTokens verdict = text::verdictTokens(*tokenizer_);
  letterA_ = verdict.a;
  letterB_ = verdict.b;
  return Ok{};
}

Result<Batch> Trainer::makeBatch(const ShardDataset& data, const std::vector<size_t>& indices) {
  const auto& cfg = model_->config();
  image::PreprocessOptions pre;
  pre.patchSize = cfg.vision.patchSize;
  pre.maxSide = std::max(pre.minSide, 3 * cfg.vision.imageSize);

  struct Item {
    TrainingExample ex;
    std::vector<text::TokenizedChunk> chunks;
    std::map<text::ImageRole, int> imageSlot;  // role -> index into images
    std::vector<int32_t> answer;
  };
  std::vector<Item> items;
  // Images grouped by padded size so that each group is one encoder batch.
  std::map<std::pair<int, int>, std::vector<at::Tensor>> groups;
  std::vector<std::pair<std::pair<int, int>, int>> slotToGroup;  // image -> (group, row)
  std::vector<double> slotMos;
  for (size_t idx : indices) {
    auto ex = data.get(idx);
    if (!ex) return ex.error();
    Item it;
    it.ex = std::move(ex.value());
    auto prompt = text::buildPrompt(it.ex.prompt);
    if (!prompt) return makeError("record " + it.ex.id + ": " + prompt.message());
    it.chunks = text::tokenizePrompt(prompt.value(), *tokenizer_);
    it.answer = tokenizer_->encode(it.ex.answer);
    it.answer.push_back(tokenizer_->eosId());
    std::map<text::ImageRole, image::PreprocessedImage> prepared;
    auto pixelsOf = [&](text::ImageRole r) -> const cv::Mat& {
      return r == text::ImageRole::Reference ? it.ex.reference : r == text::ImageRole::B ? it.ex.b : it.ex.a;
    };
    for (text::ImageRole r : prompt->images()) {
      auto p = image::preprocess(pixelsOf(r), pre);
      if (!p) return makeError("record " + it.ex.id + ": " + p.message());
      prepared[r] = std::move(p.value());
    }
    const image::PreprocessedImage* ref = nullptr;
    if (prepared.count(text::ImageRole::Reference)) ref = &prepared[text::ImageRole::Reference];
    for (auto& [role, p] : prepared) {
      const bool isRef = role == text::ImageRole::Reference;
      if (isRef && opt_.mode == "encoder") continue;  // only distorted images get a score
      at::Tensor x = encoderInput(p, isRef ? nullptr : ref, cfg);
      auto key = std::make_pair(p.height, p.width);
      it.imageSlot[role] = static_cast<int>(slotToGroup.size());
      slotToGroup.emplace_back(key, static_cast<int>(groups[key].size()));
      groups[key].push_back(x);
      double mos = -1;
      if (!isRef) mos = role == text::ImageRole::B ? it.ex.mosB : it.ex.mosA;
      slotMos.push_back(mos);
    }
    items.push_back(std::move(it));
  }
  // Encode each size group once: features [n, tokens, Dv] -> projected [n, tokens, H].
  std::map<std::pair<int, int>, at::Tensor> projected, pooled;
  for (auto& [key, xs] : groups) {
    at::Tensor f = model_->vision().features(at::stack(xs));
    pooled[key] = f.mean(1);  // [n, Dv]
    projected[key] = model_->projector()(f);
  }
  Batch batch;
  // MOS head on distorted images only.
  std::vector<at::Tensor> preds;
  std::vector<double> truths;
  for (size_t s = 0; s < slotToGroup.size(); ++s) {
    if (slotMos[s] < 0) continue;
    const auto& [key, row] = slotToGroup[s];
    preds.push_back(pooled[key][row]);
    truths.push_back((slotMos[s] - 3.0) / 1.0);
  }
  std::vector<int> predIndexOfSlot(slotToGroup.size(), -1);
  {
    int k = 0;
    for (size_t s = 0; s < slotToGroup.size(); ++s)
      if (slotMos[s] >= 0) predIndexOfSlot[s] = k++;
  }
  if (!preds.empty()) {
    batch.mosPred = at::linear(at::stack(preds).to(at::kFloat), headWeight_, headBias_).view({-1});
    batch.mosTrue = at::tensor(truths, at::kFloat);
    // Pairs whose human scores differ clearly: the head should order them the same way.
    std::vector<int64_t> ia, ib;
    std::vector<float> sign;
    for (const auto& it : items) {
      auto a = it.imageSlot.find(text::ImageRole::A), b = it.imageSlot.find(text::ImageRole::B);
      if (a == it.imageSlot.end() || b == it.imageSlot.end()) continue;
      if (std::abs(it.ex.mosA - it.ex.mosB) < 0.3 || it.ex.mosA < 0 || it.ex.mosB < 0) continue;
      ia.push_back(predIndexOfSlot[size_t(a->second)]);
      ib.push_back(predIndexOfSlot[size_t(b->second)]);
      sign.push_back(it.ex.mosA > it.ex.mosB ? 1.f : -1.f);
    }
    if (!ia.empty()) {
      at::Tensor ta = at::tensor(ia, at::kLong), tb = at::tensor(ib, at::kLong);
      batch.rankDiff = batch.mosPred.index_select(0, ta) - batch.mosPred.index_select(0, tb);
      batch.rankSign = at::tensor(sign, at::kFloat);
      at::Tensor agree = (batch.rankDiff.detach() * batch.rankSign) > 0;
      batch.rankCorrect = agree.sum().item<int64_t>();
      batch.rankTotal = agree.numel();
    }
  }
  if (opt_.mode == "encoder") return batch;  // no language model in this stage
  // Sequences.
  std::vector<at::Tensor> seqs;
  std::vector<std::vector<int64_t>> labels;
  int64_t maxLen = 0;
  for (auto& it : items) {
    std::vector<model::FusionPiece> pieces;
    for (const auto& c : it.chunks) {
      model::FusionPiece piece;
      if (c.kind == text::PromptChunk::Kind::Text) {
        piece.ids = c.ids;
      } else {
        const auto& [key, row] = slotToGroup[size_t(it.imageSlot.at(c.role))];
        piece.visual = projected[key][row];
      }
      pieces.push_back(std::move(piece));
    }
    model::FusionPiece answer;
    answer.ids = it.answer;
    pieces.push_back(answer);
    auto fused = model::fuse(model_->decoder(), tokenizer_->bosId(), pieces);
    if (!fused) return fused.error();
    const int64_t T = fused->length();
    const int64_t promptLen = T - int64_t(it.answer.size());
    std::vector<int64_t> lab(size_t(T), kIgnore);
    // Position t predicts token t+1: the last prompt position predicts the first answer token.
    for (size_t k = 0; k < it.answer.size(); ++k) lab[size_t(promptLen - 1) + k] = it.answer[k];
    if (it.ex.prompt.shortAnswer && it.ex.winner) {
      for (size_t k = 0; k < it.answer.size(); ++k)
        if (it.answer[k] == letterA_ || it.answer[k] == letterB_) {
          batch.letterPositions.emplace_back(int64_t(seqs.size()), promptLen - 1 + int64_t(k));
          batch.letterTruth.push_back(it.ex.winner);
          break;
        }
    }
    batch.answerTokens += int64_t(it.answer.size());
    maxLen = std::max(maxLen, T);
    seqs.push_back(fused->embeds[0]);
    labels.push_back(std::move(lab));
  }
  // Right padding needs no attention mask: causal attention never looks ahead.
  const int64_t H = model_->config().text.hiddenSize;
  std::vector<at::Tensor> padded;
  at::Tensor lab = at::full({int64_t(seqs.size()), maxLen}, kIgnore, at::kLong);
  for (size_t i = 0; i < seqs.size(); ++i) {
    const int64_t T = seqs[i].size(0);
    padded.push_back(T < maxLen ? at::cat({seqs[i], at::zeros({maxLen - T, H}, seqs[i].options())}) : seqs[i]);
    lab[int64_t(i)].narrow(0, 0, T).copy_(at::tensor(labels[i], at::kLong));
  }
  batch.embeds = at::stack(padded);
  batch.labels = lab;
  return batch;
}

void Trainer::optimizerStep(double lr) {
  at::NoGradGuard noGrad;
  ++adamStep_;
  const double b1 = 0.9, b2 = 0.95, eps = 1e-8;
  const double c1 = 1 - std::pow(b1, adamStep_), c2 = 1 - std::pow(b2, adamStep_);
  for (auto& p : params_) {
    at::Tensor& w = *p.tensor;
    if (!w.grad().defined()) continue;
    at::Tensor g = w.grad();
    p.m.mul_(b1).add_(g, 1 - b1);
    p.v.mul_(b2).addcmul_(g, g, 1 - b2);
    if (p.decay && opt_.weightDecay > 0) w.mul_(1 - lr * opt_.weightDecay);
    w.addcdiv_(p.m / c1, (p.v / c2).sqrt_().add_(eps), -lr);
    w.mutable_grad().zero_();
  }
}

Status Trainer::saveModel(const std::string& dir) {
  fs::create_directories(dir);
  std::vector<io::TensorToWrite> out, lora;
  std::vector<at::Tensor> keep;
  auto add = [&](std::vector<io::TensorToWrite>& list, const std::string& name, const at::Tensor& t) {
    keep.push_back(t.detach().to(at::kFloat).contiguous());
    list.push_back({name, io::DType::F32, keep.back().sizes().vec(), keep.back().data_ptr(), size_t(keep.back().nbytes())});
  };
  for (auto& [name, t] : model_->namedParameters()) add(out, name, *t);
  auto ok = io::writeSafetensors(dir + "/model.safetensors", out, {{"format", "pt"}});
  if (!ok) return ok;
  // config.json: the model's own, written from the loaded file.
  fs::copy_file(model_->files().configPath, dir + "/config.json", fs::copy_options::overwrite_existing);
  fs::copy_file(opt_.tokenizerPath, dir + "/tokenizer.model", fs::copy_options::overwrite_existing);
  if (opt_.mode == "lora") {
    for (auto& [name, t] : model_->mutableDecoder().loraParameters("base_model.model.language_model.model."))
      add(lora, name, *t);
    fs::create_directories(dir + "/adapter");
    auto ok2 = io::writeSafetensors(dir + "/adapter/adapter_model.safetensors", lora, {{"format", "pt"}});
    if (!ok2) return ok2;
    std::ofstream(dir + "/adapter/adapter_config.json")
        << nlohmann::json({{"peft_type", "LORA"}, {"r", opt_.loraRank}, {"lora_alpha", opt_.loraAlpha},
                           {"target_modules", {"q_proj", "k_proj", "v_proj", "o_proj"}}, {"lora_dropout", 0.0},
                           {"bias", "none"}}).dump(2);
  }
  return Ok{};
}

Status Trainer::saveCheckpoint(int step) {
  const std::string dir = opt_.outputDirectory + "/checkpoint";
  const std::string tmp = dir + ".partial";
  fs::remove_all(tmp);
  auto ok = [&]() -> Status {
    auto m = saveModel(tmp + "/model");
    if (!m) return m;
    std::vector<io::TensorToWrite> state;
    std::vector<at::Tensor> keep;
    for (auto& p : params_) {
      for (auto [suffix, t] : {std::pair{".m", &p.m}, std::pair{".v", &p.v}}) {
        keep.push_back(t->contiguous());
        state.push_back({p.name + suffix, io::DType::F32, keep.back().sizes().vec(), keep.back().data_ptr(), size_t(keep.back().nbytes())});
      }
    }
    for (auto* t : {&headWeight_, &headBias_}) {
      keep.push_back(t->detach().contiguous());
      state.push_back({t == &headWeight_ ? "head.weight" : "head.bias", io::DType::F32, keep.back().sizes().vec(),
                       keep.back().data_ptr(), size_t(keep.back().nbytes())});
    }
    auto s = io::writeSafetensors(tmp + "/optimizer.safetensors", state, {});
    if (!s) return s;
    nlohmann::json j = {{"step", step}, {"adam_step", adamStep_}, {"train_curve", trainCurve_}, {"val_curve", valCurve_}};
    std::ofstream(tmp + "/state.json") << j.dump();
    return Ok{};
  }();
  if (!ok) return ok;
  fs::remove_all(dir);
  fs::rename(tmp, dir);  // a crash mid-save leaves the previous checkpoint intact
  return Ok{};
}

Result<int> Trainer::loadCheckpoint() {
  const std::string dir = opt_.outputDirectory + "/checkpoint";
  if (!opt_.resume || !fs::exists(dir + "/state.json")) return 0;
  std::ifstream in(dir + "/state.json");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return makeError(dir + "/state.json is damaged; delete the checkpoint to start over");
  auto store = model::WeightStore::open({dir + "/optimizer.safetensors"});
  if (!store) return store.error();
  at::NoGradGuard noGrad;
  for (auto& p : params_) {
    auto m = store->get(p.name + ".m", at::kFloat, at::kCPU);
    auto v = store->get(p.name + ".v", at::kFloat, at::kCPU);
    if (!m || !v) return makeError("checkpoint optimizer state lacks " + p.name);
    p.m.copy_(m.value());
    p.v.copy_(v.value());
  }
  for (auto* t : {&headWeight_, &headBias_}) {
    auto h = store->get(t == &headWeight_ ? "head.weight" : "head.bias", at::kFloat, at::kCPU);
    if (h) t->copy_(h.value());
  }
  adamStep_ = j.value("adam_step", 0);
  trainCurve_ = j.value("train_curve", trainCurve_);
  valCurve_ = j.value("val_curve", valCurve_);
  return j.value("step", 0);
}

Status Trainer::evaluate(TrainProgress& p) {
  if (!val_) return Ok{};
  at::NoGradGuard noGrad;
  const size_t n = std::min<size_t>(val_->size(), size_t(opt_.evalExamples));
  double lossSum = 0;
  int64_t tokens = 0, correct = 0, judged = 0, correctRank = 0, totalRank = 0;
  for (size_t start = 0; start < n; start += size_t(opt_.batchSize)) {
    std::vector<size_t> idx;
    for (size_t i = start; i < std::min(n, start + size_t(opt_.batchSize)); ++i) idx.push_back(i);
    auto batch = makeBatch(*val_, idx);
    if (!batch) return batch.error();
    correctRank += batch->rankCorrect;
    totalRank += batch->rankTotal;
    if (opt_.mode == "encoder") continue;
    at::Tensor logits = model_->decoder().logits(model_->decoder().forward(batch->embeds));  // [B, T, V]
    at::Tensor l = at::cross_entropy_loss(logits.view({-1, logits.size(2)}), batch->labels.view({-1}), {},
                                          at::Reduction::Sum, kIgnore);
    lossSum += l.item<double>();
    tokens += batch->answerTokens;
    for (size_t k = 0; k < batch->letterPositions.size(); ++k) {
      const auto [row, pos] = batch->letterPositions[k];
      at::Tensor z = logits[row][pos];  // position `pos` predicts the letter (labels are shifted)
      const float a = z[letterA_].item<float>(), b = z[letterB_].item<float>();
      correct += ((a > b) == (batch->letterTruth[k] == 'A'));
      ++judged;
    }
  }
  p.evaluated = true;
  p.valLoss = tokens ? lossSum / double(tokens) : 0;
  p.valBriefAccuracy = judged ? double(correct) / double(judged) : 0;
  p.valRankAccuracy = totalRank ? double(correctRank) / double(totalRank) : 0;
  valCurve_.emplace_back(p.step, p.valLoss);
  return Ok{};
}

void Trainer::drawLossCurve() {
  if (trainCurve_.empty()) return;
  const int W = 800, Hh = 450, m = 50;
  cv::Mat img(Hh, W, CV_8UC3, cv::Scalar(255, 255, 255));
  double lo = 1e9, hi = -1e9;
  int maxStep = 1;
  for (auto* c : {&trainCurve_, &valCurve_})
    for (auto& [s, v] : *c) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      maxStep = std::max(maxStep, s);
    }
  if (hi <= lo) hi = lo + 1;
  auto pt = [&](int s, double v) {
    return cv::Point(m + int(double(W - 2 * m) * s / maxStep), Hh - m - int(double(Hh - 2 * m) * (v - lo) / (hi - lo)));
  };
  cv::rectangle(img, {m, m}, {W - m, Hh - m}, cv::Scalar(0, 0, 0));
  auto draw = [&](const std::vector<std::pair<int, double>>& c, cv::Scalar color) {
    for (size_t i = 1; i < c.size(); ++i) cv::line(img, pt(c[i - 1].first, c[i - 1].second), pt(c[i].first, c[i].second), color, 2, cv::LINE_AA);
  };
  draw(trainCurve_, cv::Scalar(200, 90, 30));
  draw(valCurve_, cv::Scalar(30, 30, 220));
  cv::putText(img, "loss per answer token: train (blue), validation (red)", {m, 30}, cv::FONT_HERSHEY_SIMPLEX, 0.55, {0, 0, 0}, 1, cv::LINE_AA);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", hi);
  cv::putText(img, buf, {5, m + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0});
  std::snprintf(buf, sizeof buf, "%.3f", lo);
  cv::putText(img, buf, {5, Hh - m}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0});
  std::snprintf(buf, sizeof buf, "step %d", maxStep);
  cv::putText(img, buf, {W - m - 60, Hh - m + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.4, {0, 0, 0});
  cv::imwrite(opt_.outputDirectory + "/loss.png", img);
}

Status Trainer::run(const std::function<void(const TrainProgress&)>& onProgress) {
  configureRuntime(opt_.threads);
  auto ok = setUp();
  if (!ok) return ok;
  auto resumed = loadCheckpoint();
  if (!resumed) return resumed.error();
  int step = resumed.value();
  std::vector<size_t> order(train_->size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::mt19937_64 shuffler(opt_.seed);
  std::shuffle(order.begin(), order.end(), shuffler);
  size_t cursor = (size_t(step) * size_t(opt_.batchSize)) % order.size();
  std::ofstream log(opt_.outputDirectory + "/log.jsonl", std::ios::app);
  const auto t0 = std::chrono::steady_clock::now();
  const int firstStep = step;
  double emaLoss = -1, emaLm = 0, emaAux = 0;
  double msBatch = 0, msForward = 0, msBackward = 0, msOptim = 0, seqTokens = 0;
  int timedSteps = 0;
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  try {
    at::autocast::set_cpu_enabled(opt_.bf16);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    const int lastStep = opt_.stopAt > 0 ? std::min(opt_.stopAt, opt_.steps) : opt_.steps;
    for (; step < lastStep; ++step) {
      std::vector<size_t> idx;
      for (int i = 0; i < opt_.batchSize; ++i) {
        if (cursor == order.size()) {
          std::shuffle(order.begin(), order.end(), shuffler);
          cursor = 0;
        }
        idx.push_back(order[cursor++]);
      }
      const auto tStart = now();
      auto batch = makeBatch(*train_, idx);
      if (!batch) return batch.error();
      const auto tBatch = now();
      at::Tensor lm = at::zeros({});
      if (opt_.mode != "encoder") {
        at::Tensor logits = model_->decoder().logits(model_->decoder().forward(batch->embeds));  // [B, T, V] f32
        lm = at::cross_entropy_loss(logits.view({-1, logits.size(2)}), batch->labels.view({-1}), {},
                                    at::Reduction::Mean, kIgnore);
        if (opt_.verdictWeight > 0 && !batch->letterPositions.empty()) {
          std::vector<at::Tensor> pairs;  // per letter: [2] logits of "A", "B"
          std::vector<int64_t> targets;
          for (size_t k = 0; k < batch->letterPositions.size(); ++k) {
            const auto [row, pos] = batch->letterPositions[k];
            pairs.push_back(at::stack({logits[row][pos][letterA_], logits[row][pos][letterB_]}));
            targets.push_back(batch->letterTruth[k] == 'A' ? 0 : 1);
          }
          at::Tensor verdict = at::cross_entropy_loss(at::stack(pairs), at::tensor(targets, at::kLong));  // [K, 2]
          lm = lm + opt_.verdictWeight * verdict;
        }
      }
      at::Tensor aux = batch->mosPred.defined() ? at::mse_loss(batch->mosPred, batch->mosTrue) : at::zeros({});
      if (batch->rankDiff.defined())  // logistic ranking loss: log(1 + exp(-sign * diff))
        aux = aux + opt_.rankingWeight * at::softplus(-batch->rankSign * batch->rankDiff * 4.0).mean();
      at::Tensor loss = lm + (opt_.mode == "encoder" ? 1.0 : opt_.auxiliaryWeight) * aux;
      const auto tForward = now();
      loss.backward();
      const auto tBackward = now();
      if (batch->embeds.defined()) seqTokens += double(batch->embeds.size(1));
      at::autocast::clear_cache();
      {
        at::NoGradGuard noGrad;
        std::vector<at::Tensor> grads;
        for (auto& p : params_)
          if (p.tensor->grad().defined()) grads.push_back(p.tensor->grad().view({-1}));
        const double norm = at::cat(grads).norm().item<double>();
        if (std::isfinite(norm) && norm > opt_.gradientClip)
          for (auto& p : params_)
            if (p.tensor->grad().defined()) p.tensor->mutable_grad().mul_(opt_.gradientClip / norm);
        if (!std::isfinite(norm)) return makeError("training diverged at step " + std::to_string(step) + " (gradient is NaN/Inf); lower --lr");
      }
      const double lr = learningRate(step);
      optimizerStep(lr);
      msBatch += ms(tStart, tBatch);
      msForward += ms(tBatch, tForward);
      msBackward += ms(tForward, tBackward);
      msOptim += ms(tBackward, now());
      ++timedSteps;
      const double l = loss.item<double>(), lmv = lm.item<double>(), auxv = aux.item<double>();
      emaLoss = emaLoss < 0 ? l : 0.95 * emaLoss + 0.05 * l;
      emaLm = emaLm == 0 ? lmv : 0.95 * emaLm + 0.05 * lmv;
      emaAux = 0.95 * emaAux + 0.05 * auxv;
      const int done = step + 1;
      if (done % opt_.logEvery == 0 || done == lastStep) {
        TrainProgress p;
        p.step = done;
        p.steps = opt_.steps;
        p.loss = emaLoss;
        p.lmLoss = emaLm;
        p.auxLoss = emaAux;
        p.learningRate = lr;
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        p.samplesPerSecond = double(done - firstStep) * opt_.batchSize / s;
        p.etaSeconds = (opt_.steps - done) * opt_.batchSize / std::max(1e-9, p.samplesPerSecond);
        trainCurve_.emplace_back(done, emaLm);
        p.batchMs = msBatch / timedSteps;
        p.forwardMs = msForward / timedSteps;
        p.backwardMs = msBackward / timedSteps;
        p.optimizerMs = msOptim / timedSteps;
        p.tokensPerSample = seqTokens / timedSteps;
        msBatch = msForward = msBackward = msOptim = seqTokens = 0;
        timedSteps = 0;
        if (done % opt_.evalEvery == 0 || done == lastStep) {
          at::autocast::set_cpu_enabled(false);
          auto e = evaluate(p);
          at::autocast::set_cpu_enabled(opt_.bf16);
          if (!e) return e;
        }
        log << nlohmann::json({{"step", done}, {"loss", p.loss}, {"lm", p.lmLoss}, {"aux", p.auxLoss}, {"lr", lr},
                               {"samples_per_s", p.samplesPerSecond}, {"val_loss", p.valLoss},
                               {"val_brief_acc", p.valBriefAccuracy}, {"val_rank_acc", p.valRankAccuracy}, {"evaluated", p.evaluated},
                               {"ms", {{"batch", p.batchMs}, {"forward", p.forwardMs}, {"backward", p.backwardMs},
                                       {"optimizer", p.optimizerMs}}}, {"padded_length", p.tokensPerSample}}).dump()
            << std::endl;
        if (onProgress) onProgress(p);
      }
      if (done % opt_.saveEvery == 0 || done == lastStep) {
        auto s = saveCheckpoint(done);
        if (!s) return s;
        drawLossCurve();
      }
    }
    at::autocast::set_cpu_enabled(false);
  } catch (const c10::Error& e) {
    at::autocast::set_cpu_enabled(false);
    return makeError(std::string("training failed: ") + e.what_without_backtrace());
  }
  auto s = saveModel(opt_.outputDirectory + "/model");
  if (!s) return s;
  drawLossCurve();
  return Ok{};
}

}  // namespace

Status train(const TrainOptions& options, const std::function<void(const TrainProgress&)>& onProgress) {
  Trainer t(options);
  return t.run(onProgress);
}

}  // namespace dqa::train
