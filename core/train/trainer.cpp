#include "core/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "core/data/distortions.h"
#include "core/generate/bf16_autocast.h"
#include "core/generate/engine.h"
#include "core/io/safetensors.h"
#include "core/model/multimodal.h"
#include "core/text/tokenizer.h"
#include "core/data/shard_dataset.h"
#include "core/train/language_batch.h"
#include "core/train/language_loss.h"
#include "core/train/model_io.h"
#include "core/train/optimizer.h"

namespace dqa::train {
namespace fs = std::filesystem;
namespace {

// One step's outcome: the loss terms (summed over the ranks), its times, and whether
// there was nothing to train on (the stream could make no example on any rank).
struct StepOutcome {
  bool skipped = false;
  double total = 0, lm = 0, verdict = 0, distill = 0, letter = 0, attention = 0, learningRate = 0, length = 0;
  double msBatch = 0, msForward = 0, msBackward = 0, msCommunication = 0, msOptimizer = 0;
};

// Exponential moving averages of the step losses for the progress line, and the step
// times summed since the last one.
class StepAverages {
 public:
  void add(const StepOutcome& r) {
    sums_.msBatch += r.msBatch;
    sums_.msForward += r.msForward;
    sums_.msBackward += r.msBackward;
    sums_.msCommunication += r.msCommunication;
    sums_.msOptimizer += r.msOptimizer;
    sums_.length += r.length;
    ++timedSteps_;
    loss_ = loss_ < 0 ? r.total : 0.95 * loss_ + 0.05 * r.total;
    lm_ = lm_ == 0 ? r.lm : 0.95 * lm_ + 0.05 * r.lm;
    verdict_ = 0.95 * verdict_ + 0.05 * r.verdict;
    distill_ = 0.95 * distill_ + 0.05 * r.distill;
    letter_ = 0.95 * letter_ + 0.05 * r.letter;
    attention_ = 0.95 * attention_ + 0.05 * r.attention;
  }
  // The losses and the mean step times into `p`; the times start again.
  void report(TrainProgress& p) {
    p.loss = loss_;
    p.lmLoss = lm_;
    p.verdictLoss = verdict_;
    p.distillLoss = distill_;
    p.letterLoss = letter_;
    p.attentionLoss = attention_;
    p.batchMs = sums_.msBatch / timedSteps_;
    p.forwardMs = sums_.msForward / timedSteps_;
    p.backwardMs = sums_.msBackward / timedSteps_;
    p.communicationMs = sums_.msCommunication / timedSteps_;
    p.optimizerMs = sums_.msOptimizer / timedSteps_;
    p.tokensPerSample = sums_.length / timedSteps_;
    sums_ = StepOutcome();
    timedSteps_ = 0;
  }

 private:
  double loss_ = -1, lm_ = 0, verdict_ = 0, distill_ = 0, letter_ = 0, attention_ = 0;
  StepOutcome sums_;
  int timedSteps_ = 0;
};

// One line of log.jsonl.
void appendLogLine(std::ofstream& log, const TrainProgress& p, int worldSize) {
  log << nlohmann::json({{"step", p.step},
                         {"loss", p.loss},
                         {"lm", p.lmLoss},
                         {"verdict", p.verdictLoss},
                         {"distill", p.distillLoss},
                         {"letter", p.letterLoss},
                         {"attention", p.attentionLoss},
                         {"lr", p.learningRate},
                         {"samples_per_s", p.samplesPerSecond},
                         {"world_size", worldSize},
                         {"val_loss", p.valLoss},
                         {"val_verdict_acc", p.valVerdictAccuracy},
                         {"val_letter_acc", p.valLetterAccuracy},
                         {"evaluated", p.evaluated},
                         {"ms",
                          {{"batch", p.batchMs},
                           {"forward", p.forwardMs},
                           {"backward", p.backwardMs},
                           {"communication", p.communicationMs},
                           {"optimizer", p.optimizerMs}}},
                         {"padded_length", p.tokensPerSample}})
             .dump()
      << std::endl;
}

class Trainer {
 public:
  explicit Trainer(const TrainOptions& o) : opt_(o) {}
  Status run(const std::function<void(const TrainProgress&)>& onProgress);

 private:
  Status setUp();
  Status runSteps(const std::function<void(const TrainProgress&)>& onProgress);
  Result<std::vector<data::TrainingExample>> examplesForStep(int step);
  Result<StepOutcome> trainStep(int step);
  Status sumCounts(LossCounts& counts, double& examples, int step);
  Status sumGradients(StepOutcome& outcome, int step);
  Status syncStart(int& firstStep);
  Status saveCheckpoint(int step);
  Status saveLoraAdapter(const std::string& modelDirectory);
  Status saveFinalModel();
  Result<int> loadCheckpoint();
  Status evaluate(TrainProgress& p);
  bool leader() const { return !comm_ || comm_->rank() == 0; }
  int rank() const { return comm_ ? comm_->rank() : 0; }
  int world() const { return comm_ ? comm_->worldSize() : 1; }

  TrainOptions opt_;
  std::unique_ptr<Communicator> comm_;
  std::shared_ptr<model::MultimodalModel> model_;
  std::shared_ptr<text::Tokenizer> tokenizer_;
  std::unique_ptr<AdamW> optimizer_;
  std::optional<data::TrainingMix> mix_;
  std::optional<data::ShardDataset> val_;
  std::unique_ptr<SampleStream> stream_;
  LanguageBatchOptions batchOptions_;
  std::vector<std::pair<int, double>> trainCurve_, valCurve_;
};

Status Trainer::setUp() {
  fs::create_directories(opt_.outputDirectory);
  auto tok = text::Tokenizer::load(opt_.tokenizerPath);
  if (!tok) return tok.error();
  tokenizer_ = tok.value();
  std::string init = opt_.initFrom, scratch;
  if (init.empty()) {
    // The other ranks get rank 0's weights (syncStart): a model of the same shape in a
    // scratch folder of their own will do, so that no two ranks write one folder.
    init = leader() ? opt_.outputDirectory + "/init"
                    : scratch = (fs::temp_directory_path() /
                                 ("depictqa-train-rank" + std::to_string(rank()) + "-" + std::to_string(::getpid())))
                                    .string();
    if (!fs::exists(init + "/config.json")) {
      opt_.shape.vocabSize = tokenizer_->vocabSize();
      if (auto ok = writeInitialModel(opt_.shape, init, opt_.seed); !ok) return ok;
    }
  }
  const std::string ckpt = opt_.outputDirectory + "/checkpoint";
  const bool resuming = leader() && opt_.resume && fs::exists(ckpt + "/model/config.json");
  // A lora checkpoint keeps its LoRA apart from the base weights, to train it on.
  model::ModelLoadOptions load;
  load.mergeLora = !(resuming && opt_.mode == "lora");
  auto m = model::MultimodalModel::load(resuming ? ckpt + "/model" : init, load);
  if (!scratch.empty()) fs::remove_all(scratch);
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
  } else if (opt_.mode == "decoder") {
    named = model_->mutableProjector().namedParameters("multi_modal_projector.");
    auto d = model_->mutableDecoder().namedParameters("language_model.model.", "language_model.lm_head.weight");
    named.insert(named.end(), d.begin(), d.end());
  } else if (opt_.mode == "full") {
    named = model_->namedParameters();
  } else {
    return makeError("unknown training mode '" + opt_.mode +
                     "' (full, decoder, lora; the quality encoder's "
                     "stage is --mode encoder)");
  }
  optimizer_ = std::make_unique<AdamW>(0.9, 0.95, 1e-8, opt_.weightDecay);
  for (auto& [name, t] : named) {
    const bool decay = t->dim() >= 2 && name.find("embed") == std::string::npos &&
                       name.find("position_embedding") == std::string::npos;
    optimizer_->add(name, t, decay);
  }
  if (int64_t(opt_.batchSize) * world() > 4096)
    return makeError("--batch x WORLD_SIZE is above 4096 examples a step; lower --batch");
  if (!opt_.data.sources.empty()) {
    data::MixOptions mixOptions = opt_.data;
    mixOptions.seed = opt_.seed;
    auto mix = data::TrainingMix::open(mixOptions, *tokenizer_, int(model_->decoder().config().maxPositions));
    if (!mix) return mix.error();
    mix_ = std::move(mix.value());
    if (opt_.onNote && leader())
      for (const auto& line : mix_->summary()) opt_.onNote(line);
  } else {
    auto s = SampleStream::open(opt_.stream);
    if (!s) return s.error();
    stream_ = std::move(s.value());
  }
  if (!opt_.validationDirectory.empty()) {
    auto va = data::ShardDataset::open(opt_.validationDirectory);
    if (!va) return va.error();
    val_ = std::move(va.value());
  }
  batchOptions_.keyWordWeight = opt_.keyWordWeight;
  batchOptions_.weighComparatives = opt_.weighComparatives;
  batchOptions_.loserFirstVerdicts = opt_.loserFirstVerdicts;
  batchOptions_.tokenGridChoices = opt_.tokenGridChoices;
  batchOptions_.verdict = text::verdictTokens(*tokenizer_);
  return Ok{};
}

// The examples of one step: a deterministic function of (seed, step), so a resumed run
// continues with the examples an uninterrupted one would have seen. Data-parallel, the
// step's batchSize x worldSize examples are those of one process with that batch, and
// rank r takes the r-th share.
Result<std::vector<data::TrainingExample>> Trainer::examplesForStep(int step) {
  std::vector<data::TrainingExample> out;
  if (stream_) {
    // One patch size per step keeps the sequences of a batch about equally long.
    const std::uint64_t r = data::mixSeed(opt_.seed ^ 0x1a96, std::uint64_t(step));
    double total = 0;
    for (double w : opt_.streamPatchWeights) total += w;
    double pick = double(r % 1000003) / 1000003.0 * total;
    int size = opt_.streamPatchSizes.back();
    for (size_t i = 0; i < opt_.streamPatchSizes.size(); ++i) {
      pick -= i < opt_.streamPatchWeights.size() ? opt_.streamPatchWeights[i] : 1.0;
      if (pick < 0) {
        size = opt_.streamPatchSizes[i];
        break;
      }
    }
    data::SamplerConfig sampler;
    sampler.patchSizes = {size};
    sampler.preferenceShare = opt_.preferenceShare;
    sampler.text.questionVariety = opt_.questionVariety;
    sampler.localShare = opt_.localShare;
    out = stream_->examples(std::uint64_t(step) * 4096 + std::uint64_t(rank()) * std::uint64_t(opt_.batchSize),
                            opt_.batchSize, sampler);
    return out;
  }
  // The mix: a fresh permutation of each source every epoch (data::WeightedMix).
  for (int i = 0; i < opt_.batchSize; ++i) {
    const uint64_t global =
        (uint64_t(step) * uint64_t(world()) + uint64_t(rank())) * uint64_t(opt_.batchSize) + uint64_t(i);
    auto ex = mix_->at(global);
    if (!ex) return ex.error();
    out.push_back(std::move(ex.value()));
  }
  return out;
}

Status Trainer::saveCheckpoint(int step) {
  const std::string dir = opt_.outputDirectory + "/checkpoint", staging = dir + ".partial";
  fs::remove_all(staging);
  if (auto ok = saveModelDirectory(*model_, staging + "/model", opt_.tokenizerPath); !ok) return ok;
  if (opt_.mode == "lora")
    if (auto ok = saveLoraAdapter(staging + "/model"); !ok) return ok;
  if (auto ok = optimizer_->save(staging + "/optimizer.safetensors"); !ok) return ok;
  std::ofstream(staging + "/state.json") << nlohmann::json({{"step", step},
                                                            {"world_size", world()},
                                                            {"batch_per_rank", opt_.batchSize},
                                                            {"train_curve", trainCurve_},
                                                            {"val_curve", valCurve_}})
                                                .dump();
  return replaceDirectory(staging, dir);
}

// peft layout: <model>/adapter/adapter_model.safetensors + adapter_config.json.
Status Trainer::saveLoraAdapter(const std::string& dir) {
  std::vector<io::TensorToWrite> out;
  std::vector<at::Tensor> keep;
  for (auto& [name, t] : model_->mutableDecoder().loraParameters("base_model.model.language_model.model.")) {
    keep.push_back(t->detach().to(at::kFloat).contiguous());
    out.push_back(
        {name, io::DType::F32, keep.back().sizes().vec(), keep.back().data_ptr(), size_t(keep.back().nbytes())});
  }
  fs::create_directories(dir + "/adapter");
  if (auto ok = io::writeSafetensors(dir + "/adapter/adapter_model.safetensors", out, {{"format", "pt"}}); !ok)
    return ok;
  std::ofstream(dir + "/adapter/adapter_config.json")
      << nlohmann::json({{"peft_type", "LORA"},
                         {"r", opt_.loraRank},
                         {"lora_alpha", opt_.loraAlpha},
                         {"target_modules", {"q_proj", "k_proj", "v_proj", "o_proj"}},
                         {"lora_dropout", 0.0},
                         {"bias", "none"}})
             .dump(2);
  return Ok{};
}

// model/ (replaced whole, so that no adapter of an earlier run lingers in it); a lora
// run's adapter goes to adapter/ and is merged into the weights of model/.
Status Trainer::saveFinalModel() {
  const std::string dir = opt_.outputDirectory + "/model", staging = dir + ".partial";
  fs::remove_all(staging);
  if (opt_.mode == "lora") {
    const std::string adapter = opt_.outputDirectory + "/adapter";
    fs::remove_all(adapter + ".partial");
    if (auto ok = saveLoraAdapter(adapter + ".partial"); !ok) return ok;
    if (auto ok = replaceDirectory(adapter + ".partial/adapter", adapter); !ok) return ok;
    fs::remove_all(adapter + ".partial");
    at::NoGradGuard noGrad;
    model_->mutableDecoder().mergeLora();
  }
  if (auto ok = saveModelDirectory(*model_, staging, opt_.tokenizerPath); !ok) return ok;
  return replaceDirectory(staging, dir);
}

Result<int> Trainer::loadCheckpoint() {
  const std::string dir = opt_.outputDirectory + "/checkpoint";
  if (!opt_.resume || !fs::exists(dir + "/state.json")) return 0;
  std::ifstream in(dir + "/state.json");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return makeError(dir + "/state.json is damaged; delete the checkpoint to start over");
  if (auto ok = optimizer_->load(dir + "/optimizer.safetensors"); !ok) return ok.error();
  trainCurve_ = j.value("train_curve", trainCurve_);
  valCurve_ = j.value("val_curve", valCurve_);
  return j.value("step", 0);
}

Status Trainer::evaluate(TrainProgress& p) {
  if (!val_) return Ok{};
  at::NoGradGuard noGrad;
  const size_t n = std::min<size_t>(val_->size(), size_t(opt_.evalExamples));
  double lossSum = 0, weightSum = 0;
  int64_t correct = 0, judged = 0, lettersRight = 0, letters = 0;
  // Teacher-forced: does the A/B logit pair at each position prefer the letter written there?
  auto countRight = [&](const at::Tensor& logits, const std::vector<std::pair<int64_t, int64_t>>& positions,
                        const std::vector<char>& written) {
    int64_t right = 0;
    for (size_t k = 0; k < positions.size(); ++k) {
      const at::Tensor z = logits[positions[k].first][positions[k].second];
      const bool saysA = z[batchOptions_.verdict.a].item<float>() > z[batchOptions_.verdict.b].item<float>();
      right += saysA == (written[k] == 'A');
    }
    return right;
  };
  // Data-parallel: rank r evaluates every worldSize-th batch; the sums are added up below.
  const size_t stride = size_t(opt_.batchSize) * size_t(world());
  for (size_t start = size_t(rank()) * size_t(opt_.batchSize); start < n; start += stride) {
    std::vector<data::TrainingExample> examples;
    for (size_t i = start; i < std::min(n, start + size_t(opt_.batchSize)); ++i) {
      auto ex = val_->get(i);
      if (!ex) return ex.error();
      examples.push_back(std::move(ex.value()));
    }
    auto batch = makeLanguageBatch(*model_, *tokenizer_, examples, batchOptions_);
    if (!batch) return batch.error();
    const at::Tensor logits = model_->decoder().logits(model_->decoder().forward(batch->embeds)).to(at::kFloat);
    const at::Tensor perToken = at::cross_entropy_loss(
        logits.reshape({-1, logits.size(2)}), batch->labels.reshape({-1}), {}, at::Reduction::None, kIgnoreLabel);
    const at::Tensor mask = (batch->labels.reshape({-1}) != kIgnoreLabel).to(at::kFloat);
    lossSum += (perToken * mask).sum().item<double>();
    weightSum += mask.sum().item<double>();
    correct += countRight(logits, batch->verdictPositions, batch->verdictLetter);
    judged += int64_t(batch->verdictPositions.size());
    lettersRight += countRight(logits, batch->letterPositions, batch->letterWritten);
    letters += int64_t(batch->letterPositions.size());
  }
  if (comm_) {
    at::Tensor sums = at::tensor(
        {lossSum, weightSum, double(correct), double(judged), double(lettersRight), double(letters)}, at::kDouble);
    if (auto ok = comm_->sum({sums}, "summing the validation of step " + std::to_string(p.step)); !ok) return ok;
    const auto v = sums.accessor<double, 1>();
    lossSum = v[0];
    weightSum = v[1];
    correct = int64_t(v[2]);
    judged = int64_t(v[3]);
    lettersRight = int64_t(v[4]);
    letters = int64_t(v[5]);
  }
  p.evaluated = true;
  p.valLoss = weightSum > 0 ? lossSum / weightSum : 0;
  p.valVerdictAccuracy = judged ? double(correct) / double(judged) : 0;
  p.valLetterAccuracy = letters ? double(lettersRight) / double(letters) : 0;
  valCurve_.emplace_back(p.step, p.valLoss);
  return Ok{};
}

// Sums the loss counts and the example count of this step over the ranks.
Status Trainer::sumCounts(LossCounts& c, double& examples, int step) {
  at::Tensor t =
      at::tensor({c.answerWeight, c.letters, c.verdicts, c.distilled, c.attentionTargets, examples}, at::kDouble);
  if (auto ok = comm_->sum({t}, "summing the batch sizes of step " + std::to_string(step + 1)); !ok) return ok;
  const auto v = t.accessor<double, 1>();
  c = {v[0], v[1], v[2], v[3], v[4]};
  examples = v[5];
  return Ok{};
}

// Sums the gradients over the ranks (bucketed, with the loss terms for the log). A
// gradient missing on this rank counts as zero; one missing on every rank stays
// missing, as in one process (AdamW::step skips it).
Status Trainer::sumGradients(StepOutcome& r, int step) {
  const std::vector<at::Tensor*> params = optimizer_->parameters();
  const int64_t n = int64_t(params.size());
  constexpr int64_t kTerms = 6;
  at::Tensor extras = at::zeros({n + kTerms}, at::kDouble);
  auto e = extras.accessor<double, 1>();
  std::vector<at::Tensor> tensors;
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor& p = *params[size_t(i)];
    if (p.grad().defined())
      e[i] = 1;
    else
      p.mutable_grad() = at::zeros_like(p);
    tensors.push_back(p.grad());
  }
  const double terms[kTerms] = {r.total, r.lm, r.verdict, r.distill, r.letter, r.attention};
  for (int64_t k = 0; k < kTerms; ++k) e[n + k] = terms[k];
  tensors.push_back(extras);
  if (auto ok = comm_->sum(tensors, "summing the gradients of step " + std::to_string(step + 1)); !ok) return ok;
  for (int64_t i = 0; i < n; ++i)
    if (e[i] == 0) params[size_t(i)]->mutable_grad() = at::Tensor();
  r.total = e[n];
  r.lm = e[n + 1];
  r.verdict = e[n + 2];
  r.distill = e[n + 3];
  r.letter = e[n + 4];
  r.attention = e[n + 5];
  return Ok{};
}

// One optimisation step on this rank's share of the step's examples.
Result<StepOutcome> Trainer::trainStep(int step) {
  StepOutcome r;
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  const auto tStart = now();
  auto examples = examplesForStep(step);
  if (!examples) return examples.error();
  std::optional<LanguageBatch> batch;
  LossCounts counts;
  if (!examples->empty()) {
    LanguageBatchOptions stepOptions = batchOptions_;
    stepOptions.seed = data::mixSeed(opt_.seed ^ 0x6a1d, std::uint64_t(step));
    auto b = makeLanguageBatch(*model_, *tokenizer_, examples.value(), stepOptions);
    if (!b) return b.error();
    batch = std::move(b.value());
    if (comm_) counts = lossCounts(*batch);
  }
  const auto tBatch = now();
  double everywhere = double(examples->size());
  if (comm_)
    if (auto ok = sumCounts(counts, everywhere, step); !ok) return ok.error();
  const auto tCounted = now();
  r.skipped = everywhere == 0;
  if (r.skipped) return r;
  auto tForward = tCounted;
  if (batch) {
    // The attention loss reads every layer's attention probabilities (the pointing game's maps).
    model::AttentionCapture capture;
    const bool pointing = opt_.attentionWeight > 0 && !batch->attentionTargets.empty();
    if (pointing)
      for (int l = 0; l < model_->decoder().config().numLayers; ++l) capture.layers.insert(l);
    const at::Tensor hidden = model_->decoder().forward(batch->embeds, nullptr, pointing ? &capture : nullptr);
    const LanguageLossWeights weights{opt_.verdictWeight, model_->hasQualityEncoder() ? opt_.distillWeight : 0.0,
                                      opt_.letterWeight};
    LanguageLosses l = languageLosses(model_->decoder(), hidden, batch.value(), batchOptions_.verdict, weights,
                                      comm_ ? &counts : nullptr);
    double attention = 0;
    if (pointing) {
      const at::Tensor a = attentionLoss(capture.probs, batch.value(), comm_ ? &counts : nullptr);
      l.total = l.total + opt_.attentionWeight * a;
      attention = a.item<double>();
    }
    tForward = now();
    l.total.backward();
    r = {false, l.total.item<double>(),       l.lm, l.verdict, l.distill, l.letter, attention,
         0,     double(batch->embeds.size(1))};
  }
  at::autocast::clear_cache();
  const auto tSumming = now();
  if (comm_)
    if (auto ok = sumGradients(r, step); !ok) return ok.error();
  const auto tSummed = now();
  const double norm = optimizer_->clipGradients(opt_.gradientClip);
  if (!std::isfinite(norm))
    return makeError("training diverged at step " + std::to_string(step) + " (gradient is NaN/Inf); lower --lr");
  r.learningRate =
      scheduledLearningRate(step, opt_.steps, opt_.warmupSteps, opt_.learningRate, opt_.minLearningRateRatio);
  optimizer_->step(r.learningRate);
  r.msBatch = ms(tStart, tBatch);
  r.msForward = ms(tCounted, tForward);
  r.msBackward = ms(tForward, tSumming);  // with freeing the step's graph
  r.msCommunication = ms(tBatch, tCounted) + ms(tSumming, tSummed);
  r.msOptimizer = ms(tSummed, now());
  return r;
}

// Data-parallel start: every rank takes rank 0's step, weights and optimizer state (rank
// 0 alone reads a checkpoint), after checking that the ranks agree on the model's
// shape and the options that decide what a step does.
Status Trainer::syncStart(int& firstStep) {
  std::vector<at::Tensor> state;
  std::set<const void*> seen;
  for (auto& [name, t] : model_->namedParameters())
    if (seen.insert(t->unsafeGetTensorImpl()).second) state.push_back(*t);
  for (at::Tensor* t : optimizer_->parameters())
    if (seen.insert(t->unsafeGetTensorImpl()).second) state.push_back(*t);
  for (const at::Tensor& t : optimizer_->moments()) state.push_back(t);
  int64_t numel = 0;
  for (const auto& t : state) numel += t.numel();
  std::ostringstream o;
  o << opt_.mode << ' ' << opt_.steps << ' ' << opt_.stopAt << ' ' << opt_.batchSize << ' ' << opt_.learningRate << ' '
    << opt_.minLearningRateRatio << ' ' << opt_.warmupSteps << ' ' << opt_.weightDecay << ' ' << opt_.gradientClip
    << ' ' << opt_.verdictWeight << ' ' << opt_.distillWeight << ' ' << opt_.letterWeight << ' ' << opt_.keyWordWeight
    << ' ' << opt_.weighComparatives << opt_.loserFirstVerdicts << opt_.bf16 << ' ' << opt_.preferenceShare << ' '
    << opt_.attentionWeight << ' ' << opt_.localShare << ' ' << opt_.seed << ' ' << opt_.evalEvery << ' '
    << opt_.evalExamples << ' ' << opt_.logEvery << ' ' << opt_.saveEvery << ' ' << opt_.data.splitPath.empty() << ' '
    << opt_.data.skipMissing << ' ' << opt_.data.maxImageSide;
  // Only when used, so that checkpoints written before the option existed still resume.
  if (opt_.questionVariety > 0) o << " qv" << opt_.questionVariety;
  // The kinds and weights of the sources, not their paths: hosts may keep the data in other folders.
  for (const auto& source : opt_.data.sources) o << ' ' << int(source.kind) << ':' << source.weight;
  for (const auto* v : {&opt_.streamPatchSizes, &opt_.tokenGridChoices})
    for (int x : *v) o << ' ' << x;
  for (double w : opt_.streamPatchWeights) o << ' ' << w;
  if (opt_.stream.photographicVariants) o << " photographic";  // absent before the option existed
  const int64_t fingerprint = int64_t(std::hash<std::string>()(o.str()) >> 1);
  const std::vector<int64_t> mine{firstStep, optimizer_->steps(), int64_t(state.size()), numel, fingerprint};
  at::Tensor head = at::tensor(mine, at::kLong);
  if (auto ok = comm_->broadcast({head}, "sharing the start (step, model shape, options)"); !ok) return ok;
  const auto h = head.accessor<int64_t, 1>();
  if (h[2] != mine[2] || h[3] != mine[3])
    return makeError("rank " + std::to_string(rank()) + "'s model has " + std::to_string(mine[3]) +
                     " numbers to train, rank 0's " + std::to_string(h[3]) +
                     ": give every rank the same --init, model shape and --mode");
  if (h[4] != mine[4])
    return makeError("rank " + std::to_string(rank()) +
                     " was started with other training options than rank 0: give every "
                     "rank the same arguments (only RANK and LOCAL_RANK differ)");
  firstStep = int(h[0]);
  optimizer_->setSteps(int(h[1]));
  return comm_->broadcast(state, "sharing rank 0's weights and optimizer state");
}

Status Trainer::run(const std::function<void(const TrainProgress&)>& onProgress) {
  if (opt_.distributed.enabled()) {
    auto c = Communicator::connect(opt_.distributed);
    if (!c) return c.error();
    comm_ = std::move(c.value());
  }
  Status s = runSteps(onProgress);
  if (!s && comm_) comm_->reportFailure(s.message());
  return s;
}

Status Trainer::runSteps(const std::function<void(const TrainProgress&)>& onProgress) {
  configureRuntime(opt_.threads);
  if (auto ok = setUp(); !ok) return ok;
  auto resumed = leader() ? loadCheckpoint() : Result<int>(0);
  if (!resumed) return resumed.error();
  int firstStep = resumed.value();
  if (comm_)
    if (auto ok = syncStart(firstStep); !ok) return ok;
  std::ofstream log;
  if (leader()) log.open(opt_.outputDirectory + "/log.jsonl", std::ios::app);
  const auto t0 = std::chrono::steady_clock::now();
  StepAverages averages;
  try {
    const int lastStep = opt_.stopAt > 0 ? std::min(opt_.stopAt, opt_.steps) : opt_.steps;
    for (int step = firstStep; step < lastStep; ++step) {
      // bf16 for the step only: validation stays float32.
      auto r = [&] {
        const CpuBf16Autocast lowPrecision(opt_.bf16);
        return trainStep(step);
      }();
      if (!r) return r.error();
      if (r->skipped) continue;
      averages.add(r.value());
      const int done = step + 1;
      const bool evaluateNow = done % opt_.evalEvery == 0 || done == lastStep;
      if (done % opt_.logEvery == 0 || evaluateNow) {
        TrainProgress p;
        p.step = done;
        p.steps = opt_.steps;
        p.learningRate = r->learningRate;
        averages.report(p);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        p.samplesPerSecond = double(done - firstStep) * opt_.batchSize * world() / s;
        p.etaSeconds = (lastStep - done) * opt_.batchSize * world() / std::max(1e-9, p.samplesPerSecond);
        trainCurve_.emplace_back(done, p.lmLoss);
        if (evaluateNow) {
          auto e = evaluate(p);
          if (!e) return e;
        }
        if (leader()) {
          appendLogLine(log, p, world());
          if (onProgress) onProgress(p);
        }
      }
      if (leader() && (done % opt_.saveEvery == 0 || done == lastStep)) {
        if (auto s = saveCheckpoint(done); !s) return s;
        drawCurves(opt_.outputDirectory + "/loss.png", "loss per answer token: train (blue), validation (red)",
                   trainCurve_, valCurve_);
      }
    }
  } catch (const c10::Error& e) { return makeError(std::string("training failed: ") + e.what_without_backtrace()); }
  if (!leader()) return Ok{};
  if (auto s = saveFinalModel(); !s) return s;
  drawCurves(opt_.outputDirectory + "/loss.png", "loss per answer token: train (blue), validation (red)", trainCurve_,
             valCurve_);
  return Ok{};
}

}  // namespace

Status train(const TrainOptions& options, const std::function<void(const TrainProgress&)>& onProgress) {
  Trainer t(options);
  return t.run(onProgress);
}

}  // namespace dqa::train
