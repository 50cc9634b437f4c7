#include "core/train/encoder_stage.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/data/distortions.h"
#include "core/generate/bf16_autocast.h"
#include "core/generate/engine.h"
#include "core/generate/engine_impl.h"
#include "core/model/multimodal.h"
#include "core/model/visual_tokens.h"
#include "core/train/model_average.h"
#include "core/train/model_init.h"
#include "core/train/model_io.h"
#include "core/train/optimizer.h"

namespace dqa::train {
namespace fs = std::filesystem;
namespace {

// The four ways an image is judged; stage 1 cycles through them, the no-reference pair
// (the hardest, and what a no-reference comparison rests on) most often.
constexpr ViewMode kModes[10] = {{false, true}, {true, true}, {false, true}, {true, false}, {false, false},
                                 {false, true}, {true, true}, {false, true}, {true, true},  {false, false}};

struct Curves {
  std::vector<std::pair<int, double>> train, selection;
  double best = -1;
  int bestStep = 0;
};

nlohmann::json curvesJson(const Curves& c) {
  return {{"train", c.train}, {"selection", c.selection}, {"best", c.best}, {"best_step", c.bestStep}};
}

int pickPatchSize(const EncoderStageOptions& o, std::uint64_t seed) {
  double total = 0;
  for (size_t i = 0; i < o.patchSizes.size(); ++i) total += i < o.patchWeights.size() ? o.patchWeights[i] : 1.0;
  double r = double(seed % 1000003) / 1000003.0 * total;
  for (size_t i = 0; i < o.patchSizes.size(); ++i) {
    r -= i < o.patchWeights.size() ? o.patchWeights[i] : 1.0;
    if (r < 0) return o.patchSizes[i];
  }
  return o.patchSizes.back();
}

// Exponential moving averages of the stage's losses.
struct RunningLosses {
  QualityLosses value;
  bool started = false;
  void add(const QualityLosses& l) {
    auto ema = [&](double& r, double v) { r = started ? 0.95 * r + 0.05 * v : v; };
    ema(value.regression, l.regression);
    ema(value.ranking, l.ranking);
    ema(value.pair, l.pair);
    ema(value.aspects, l.aspects);
    ema(value.types, l.types);
    ema(value.aspectScores, l.aspectScores);
    ema(value.preference, l.preference);
    started = true;
  }
  double sum() const {
    return value.regression + value.ranking + value.pair + value.aspects + value.types + value.aspectScores +
           value.preference;
  }
};

// Mean milliseconds per step since the last log line: streaming, views, training.
struct StepTimes {
  double samples = 0, views = 0, train = 0;
  int steps = 0;
};

// One line of log.jsonl.
void appendLogLine(std::ofstream& log, const EncoderStageProgress& p, const QualityLosses& running,
                   const StepTimes& t) {
  const int n = std::max(1, t.steps);
  log << nlohmann::json({{"step", p.step},
                         {"lr", p.learningRate},
                         {"views_per_s", p.viewsPerSecond},
                         {"regression", running.regression},
                         {"ranking", running.ranking},
                         {"pair", running.pair},
                         {"aspects", running.aspects},
                         {"types", running.types},
                         {"aspect_scores", running.aspectScores},
                         {"preference", running.preference},
                         {"evaluated", p.evaluated},
                         {"val_types_fr", p.typesFR},
                         {"val_types_nr", p.typesNR},
                         {"val_types_aspects", p.typesAspects},
                         {"val_fr", p.photosFR},
                         {"val_nr", p.photosNR},
                         {"val_aspects", p.photosAspects},
                         {"val_types_preference", p.typesPreference},
                         {"val_preference", p.photosPreference},
                         {"selection", p.selection},
                         {"ms", {{"samples", t.samples / n}, {"views", t.views / n}, {"train", t.train / n}}}})
             .dump()
      << std::endl;
}

class EncoderStage {
 public:
  explicit EncoderStage(const EncoderStageOptions& o) : o_(o) {}
  Status run(const std::function<void(const EncoderStageProgress&)>& onProgress);

 private:
  Status setUp();
  // The step's batch: one patch size and one view mode, streamed (its times added to the two ms).
  QualityBatch sampleBatch(int step, data::SamplerConfig& sampler, double& msSamples, double& msViews);
  // One optimiser step on the batch at learning rate lr; its losses.
  Result<QualityLosses> trainOn(const QualityBatch& batch, int step, double lr);
  Status evaluate(EncoderStageProgress& p);
  model::NamedParameters encoderWeights() { return model_->mutableQualityEncoder().namedParameters("vision_tower."); }
  Status saveCheckpoint(int step);
  Result<int> loadCheckpoint();
  Status finish();

  EncoderStageOptions o_;
  std::unique_ptr<SampleStream> stream_;
  std::shared_ptr<model::MultimodalModel> model_;
  std::unique_ptr<AdamW> optimizer_;
  Curves curves_;
  std::string tokenizer_;
  RunningWeightMean average_;  // of the steps from o_.averageFrom on
};

Status EncoderStage::setUp() {
  fs::create_directories(o_.outputDirectory);
  auto stream = SampleStream::open(o_.stream);
  if (!stream) return stream.error();
  stream_ = std::move(stream.value());
  const std::string ckpt = o_.outputDirectory + "/checkpoint/model";
  const bool resuming = o_.resume && fs::exists(ckpt + "/config.json");
  auto m = model::MultimodalModel::load(resuming ? ckpt : o_.initFrom, {});
  if (!m) return m.error();
  std::string source = o_.initFrom;
  if (!resuming && o_.addAspectScores && !m.value()->config().vision.aspectScores) {
    const std::string grown = o_.outputDirectory + "/init";
    if (auto ok = addAspectScoreHead(source, grown, o_.stream.seed); !ok) return ok;
    source = grown;
    m = model::MultimodalModel::load(source, {});
    if (!m) return m.error();
  }
  if (!resuming && o_.freshAspectScoreWidth >= 0) {
    const std::string fresh = o_.outputDirectory + "/init-fresh-aspect-scores";
    if (auto ok = freshAspectScoreHead(source, fresh, o_.freshAspectScoreWidth, o_.stream.seed); !ok) return ok;
    m = model::MultimodalModel::load(fresh, {});
    if (!m) return m.error();
  }
  model_ = m.value();
  if (!model_->hasQualityEncoder())
    return makeError("'" + o_.initFrom +
                     "' has no quality encoder (vision_config.model_type "
                     "\"depictqa_quality_encoder\"); stage 1 trains only that kind of encoder");
  tokenizer_ = model_->files().tokenizerPath;
  optimizer_ = std::make_unique<AdamW>(0.9, 0.99, 1e-8, o_.weightDecay);
  for (auto& [name, t] : encoderWeights())
    if (name.rfind(o_.trainOnly, 0) == 0) optimizer_->add(name, t, t->dim() >= 2);
  if (optimizer_->parameters().empty())
    return makeError("--train-only '" + o_.trainOnly +
                     "' names none of the encoder's weights (they start with "
                     "\"vision_tower.\", e.g. \"vision_tower.heads.aspect_scores\")");
  return Ok{};
}

Status EncoderStage::saveCheckpoint(int step) {
  const std::string dir = o_.outputDirectory + "/checkpoint", staging = dir + ".partial";
  fs::remove_all(staging);
  if (auto ok = saveModelDirectory(*model_, staging + "/model", tokenizer_); !ok) return ok;
  if (auto ok = optimizer_->save(staging + "/optimizer.safetensors"); !ok) return ok;
  if (average_.count() > 0)
    if (auto ok = average_.save(staging + "/average.safetensors"); !ok) return ok;
  std::ofstream(staging + "/state.json")
      << nlohmann::json({{"step", step}, {"curves", curvesJson(curves_)}, {"average_from", o_.averageFrom}}).dump();
  return replaceDirectory(staging, dir);
}

Result<int> EncoderStage::loadCheckpoint() {
  const std::string dir = o_.outputDirectory + "/checkpoint";
  if (!o_.resume || !fs::exists(dir + "/state.json")) return 0;
  std::ifstream in(dir + "/state.json");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return makeError(dir + "/state.json is damaged; delete the checkpoint to start over");
  if (auto ok = optimizer_->load(dir + "/optimizer.safetensors"); !ok) return ok.error();
  const int step = j.value("step", 0);
  if (o_.averageFrom > 0 && step >= o_.averageFrom) {
    if (!fs::exists(dir + "/average.safetensors") || j.value("average_from", 0) != o_.averageFrom)
      return makeError(dir + " is at step " + std::to_string(step) + " but holds no weight average from step " +
                       std::to_string(o_.averageFrom) + " (it was written with --average-from " +
                       std::to_string(j.value("average_from", 0)) +
                       "); resume it as it was started, or delete the checkpoint to start over");
    if (auto ok = average_.load(dir + "/average.safetensors", encoderWeights()); !ok) return ok.error();
  }
  const auto& c = j["curves"];
  curves_.train = c.value("train", curves_.train);
  curves_.selection = c.value("selection", curves_.selection);
  curves_.best = c.value("best", -1.0);
  curves_.bestStep = c.value("best_step", 0);
  return step;
}

Status EncoderStage::evaluate(EncoderStageProgress& p) {
  at::NoGradGuard noGrad;
  p.evaluated = true;
  if (!o_.validationTypesShards.empty()) {
    auto v = validateHeads(*model_, o_.validationTypesShards, o_.evalPairs);
    if (!v) return v.error();
    p.typesFR = v->fr;
    p.typesNR = v->nr;
    p.typesAspects = v->aspects;
    p.typesPreference = v->preference;
    p.selection = (v->fr + v->nr + v->aspects) / 3.0;
  }
  if (!o_.validationShards.empty()) {
    auto v = validateHeads(*model_, o_.validationShards, o_.evalPairs);
    if (!v) return v.error();
    p.photosFR = v->fr;
    p.photosNR = v->nr;
    p.photosAspects = v->aspects;
    p.photosPreference = v->preference;
    if (o_.validationTypesShards.empty()) p.selection = (v->fr + v->nr + v->aspects) / 3.0;
  }
  curves_.selection.emplace_back(p.step, p.selection);
  if (p.selection > curves_.best) {
    curves_.best = p.selection;
    curves_.bestStep = p.step;
    const std::string best = o_.outputDirectory + "/best";
    fs::remove_all(best + ".partial");
    if (auto ok = saveModelDirectory(*model_, best + ".partial", tokenizer_); !ok) return ok;
    if (auto ok = replaceDirectory(best + ".partial", best); !ok) return ok;
  }
  return Ok{};
}

// Writes model/ (and last/ where model/ is the average) and calibrates the pair scale of
// each written directory on unseen photos.
Status EncoderStage::finish() {
  if (average_.count() > 0) {
    if (auto ok = saveModelDirectory(*model_, o_.outputDirectory + "/last", tokenizer_); !ok) return ok;
    if (auto ok = average_.copyMeanInto(encoderWeights()); !ok) return ok;
  }
  if (auto ok = saveModelDirectory(*model_, o_.outputDirectory + "/model", tokenizer_); !ok) return ok;
  if (o_.validationShards.empty()) return Ok{};
  for (const std::string name : {"best", "model", "last"}) {
    const std::string dir = o_.outputDirectory + "/" + name;
    if (!fs::exists(dir + "/config.json")) continue;
    auto m = model::MultimodalModel::load(dir, {});
    if (!m) return m.error();
    at::NoGradGuard noGrad;
    auto v = validateHeads(*m.value(), o_.validationShards, std::max(o_.evalPairs, 800));
    if (!v) return v.error();
    const double scale = fitPairScale(v->scoreDifferenceAndTruth);
    if (auto ok = saveModelDirectory(*m.value(), dir + ".partial", tokenizer_, {{"pair_scale", scale}}); !ok) return ok;
    if (auto ok = replaceDirectory(dir + ".partial", dir); !ok) return ok;
    std::ofstream(o_.outputDirectory + "/calibration.json", std::ios::app)
        << nlohmann::json({{"model", name}, {"pair_scale", scale}, {"pairs", v->scoreDifferenceAndTruth.size()}}).dump()
        << "\n";
  }
  return Ok{};
}

QualityBatch EncoderStage::sampleBatch(int step, data::SamplerConfig& sampler, double& msSamples, double& msViews) {
  const std::uint64_t stepSeed = data::mixSeed(o_.stream.seed ^ 0x1e4c0de, std::uint64_t(step));
  const int size = pickPatchSize(o_, stepSeed);
  const ViewMode mode = kModes[step % 10];
  const double perExample = (mode.withOther ? 2.0 : 1.0) + (mode.withReference ? o_.referenceShare : 0.0);
  const int count = std::max(4, int(o_.viewsPerStep * (96.0 / size) * (96.0 / size) / perExample + 0.5));
  sampler.patchSizes = {size};
  const auto tSample = std::chrono::steady_clock::now();
  auto examples = stream_->examples(std::uint64_t(step) * 4096, count, sampler);
  // Small photos give smaller patches; one batch holds one size.
  examples.erase(
      std::remove_if(examples.begin(), examples.end(),
                     [&](const data::TrainingExample& ex) { return ex.a.cols != size || ex.a.rows != size; }),
      examples.end());
  const auto tViews = std::chrono::steady_clock::now();
  QualityBatch batch =
      buildQualityBatch(model_->config().vision, examples, mode, o_.referenceShare, o_.sameKindLevelGap);
  const auto tEnd = std::chrono::steady_clock::now();
  msSamples += std::chrono::duration<double, std::milli>(tViews - tSample).count();
  msViews += std::chrono::duration<double, std::milli>(tEnd - tViews).count();
  return batch;
}

Result<QualityLosses> EncoderStage::trainOn(const QualityBatch& batch, int step, double lr) {
  model::QualityEncoder& encoder = model_->mutableQualityEncoder();
  at::Tensor pooled;  // [V, 2D]
  if (o_.trainOnly.rfind("vision_tower.heads.", 0) == 0) {
    at::NoGradGuard frozen;  // only heads learn: the encoder's backward pass is not needed
    pooled = model::QualityEncoder::pool(encoder.featureMap(batch.input));
  } else {
    pooled = model::QualityEncoder::pool(encoder.featureMap(batch.input));
  }
  const model::QualityHeads heads = encoder.heads(pooled);
  QualityLosses l = qualityLosses(heads, batch, o_.weights);
  l.total.backward();
  const double norm = optimizer_->clipGradients(o_.gradientClip);
  if (!std::isfinite(norm))
    return makeError("training diverged at step " + std::to_string(step) + " (gradient is NaN/Inf); lower --lr");
  optimizer_->step(lr);
  return l;
}

Status EncoderStage::run(const std::function<void(const EncoderStageProgress&)>& onProgress) {
  configureRuntime(o_.threads);
  if (auto ok = setUp(); !ok) return ok;
  auto resumed = loadCheckpoint();
  if (!resumed) return resumed.error();
  std::ofstream log(o_.outputDirectory + "/log.jsonl", std::ios::app);
  const int lastStep = o_.stopAt > 0 ? std::min(o_.stopAt, o_.steps) : o_.steps;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t views = 0;
  const int firstStep = resumed.value();
  RunningLosses running;
  StepTimes times;
  data::SamplerConfig sampler;
  sampler.taskShare = {0.2, 0.8, 0.0};  // pairs give two views and the pair loss
  try {
    for (int step = firstStep; step < lastStep; ++step) {
      double msSamples = 0, msViews = 0;  // counted for the steps that train
      const QualityBatch batch = sampleBatch(step, sampler, msSamples, msViews);
      if (batch.views() < 2) continue;
      const auto tTrain = std::chrono::steady_clock::now();
      const double lr = scheduledLearningRate(step, o_.steps, o_.warmupSteps, o_.learningRate, o_.minLearningRateRatio);
      // bf16 for the step only: validation and the pair-scale fit stay float32.
      auto l = [&] {
        const CpuBf16Autocast lowPrecision(o_.bf16);
        return trainOn(batch, step, lr);
      }();
      if (!l) return l.error();
      views += batch.views();
      times.samples += msSamples;
      times.views += msViews;
      times.train += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tTrain).count();
      ++times.steps;
      running.add(l.value());
      const int done = step + 1;
      const bool evaluateNow = done % o_.evalEvery == 0 || done == lastStep;
      if (done % o_.logEvery != 0 && !evaluateNow) continue;
      EncoderStageProgress p;
      p.step = done;
      p.steps = o_.steps;
      p.learningRate = lr;
      p.losses = running.value;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      p.viewsPerSecond = double(views) / std::max(1e-9, secs);
      p.etaSeconds = secs / std::max(1, done - firstStep) * (lastStep - done);
      curves_.train.emplace_back(done, running.sum());
      if (evaluateNow)
        if (auto ok = evaluate(p); !ok) return ok;
      appendLogLine(log, p, running.value, times);
      if (onProgress) onProgress(p);
      times = StepTimes();
      if (p.evaluated || done == lastStep) {
        if (o_.averageFrom > 0 && done >= o_.averageFrom)
          if (auto ok = average_.add(encoderWeights()); !ok) return ok;
        if (auto ok = saveCheckpoint(done); !ok) return ok;
        drawCurves(o_.outputDirectory + "/loss.png", "stage 1: summed losses (blue); val_types selection score (red)",
                   curves_.train, curves_.selection);
      }
    }
  } catch (const c10::Error& e) { return makeError(std::string("training failed: ") + e.what_without_backtrace()); }
  return finish();
}

}  // namespace

Status trainEncoderStage(const EncoderStageOptions& options,
                         const std::function<void(const EncoderStageProgress&)>& onProgress) {
  EncoderStage stage(options);
  return stage.run(onProgress);
}

namespace {

// Calls visit(key, chunk) on each group's examples in chunks of at most 32 (one
// QualityBatch each: a group shares what a batch must share, e.g. the patch size).
template <class Key, class Visit>
void forEachChunk(const std::map<Key, std::vector<data::TrainingExample>>& groups, Visit visit) {
  constexpr size_t kChunk = 32;
  for (const auto& [key, examples] : groups)
    for (size_t begin = 0; begin < examples.size(); begin += kChunk) {
      const std::vector<data::TrainingExample> chunk(
          examples.begin() + long(begin), examples.begin() + long(std::min(examples.size(), begin + kChunk)));
      visit(key, chunk);
    }
}

model::QualityHeads headsOf(const model::QualityEncoder& encoder, const QualityBatch& b) {
  return encoder.heads(model::QualityEncoder::pool(encoder.featureMap(b.input)));
}

// HeadsValidation::preference: pairs whose preference flips the verdict, grouped by patch
// size and reference mode (one batch shares both); the winner is the preferred image.
Status validatePreference(const model::MultimodalModel& model, const data::ShardDataset& ds, int maxPairs,
                          HeadsValidation& v) {
  const auto& cfg = model.config().vision;
  const model::QualityEncoder& encoder = model.qualityEncoder();
  std::map<std::pair<int, bool>, std::vector<data::TrainingExample>> groups;
  int pairs = 0;
  for (size_t i = 0; i < ds.size() && pairs < maxPairs; ++i) {
    const auto& q = ds.record(i).at("questionnaire");
    if (!q.contains("preference") || !q.at("preference").value("flipped", false)) continue;
    auto ex = ds.get(i);
    if (!ex) return ex.error();
    if (ex->a.cols % 16 || ex->a.rows % 16 || (ex->winner != 'A' && ex->winner != 'B')) continue;
    const bool withReference = !ex->reference.empty() && ex->prompt.withReference;
    groups[{ex->a.cols * 100000 + ex->a.rows, withReference}].push_back(std::move(ex.value()));
    ++pairs;
  }
  int64_t hits = 0;
  forEachChunk(groups, [&](const std::pair<int, bool>& key, const std::vector<data::TrainingExample>& chunk) {
    const QualityBatch b = buildQualityBatch(cfg, chunk, ViewMode{key.second, true}, 0.0);
    const model::QualityHeads h = headsOf(encoder, b);
    for (size_t k = 0; k < chunk.size(); ++k) {
      const int64_t first = b.pairFirst[int64_t(k)].item<int64_t>(), second = b.pairSecond[int64_t(k)].item<int64_t>();
      const at::Tensor score = model::preferenceWeighedScore(h, preferenceAspectWeights(chunk[k].prompt.preference));
      const double d = score[first].item<double>() - score[second].item<double>();
      hits += (d > 0) == (chunk[k].winner == 'A');
    }
  });
  v.preferencePairs = pairs;
  v.preference = pairs ? double(hits) / pairs : -1;
  return Ok{};
}

}  // namespace

Result<HeadsValidation> validateHeads(const model::MultimodalModel& model, const std::string& shards, int maxPairs) {
  if (!model.hasQualityEncoder()) return makeError("the model has no quality heads to validate");
  auto ds = data::ShardDataset::open(shards);
  if (!ds) return ds.error();
  const auto& cfg = model.config().vision;
  const model::QualityEncoder& encoder = model.qualityEncoder();
  // Pairs with a clear human-score gap, grouped by patch size.
  std::map<int, std::vector<data::TrainingExample>> bySize;
  int pairs = 0;
  for (size_t i = 0; i < ds->size() && pairs < maxPairs; ++i) {
    const auto& r = ds->record(i);
    if (r.at("task").get<std::string>() == "description") continue;
    if (std::abs(r.at("questionnaire").value("mos_gap", 0.0)) < 0.3) continue;
    auto ex = ds->get(i);
    if (!ex) return ex.error();
    if (ex->a.cols % 16 || ex->a.rows % 16) continue;  // odd crops of small photos
    bySize[ex->a.cols * 100000 + ex->a.rows].push_back(std::move(ex.value()));
    ++pairs;
  }
  HeadsValidation v;
  v.pairs = pairs;
  int64_t fr = 0, nr = 0, aspectHits = 0, aspectTotal = 0, typeHits = 0, typeTotal = 0;
  forEachChunk(bySize, [&](int, const std::vector<data::TrainingExample>& chunk) {
    for (ViewMode mode : {ViewMode{true, true}, ViewMode{false, true}}) {
      const QualityBatch b = buildQualityBatch(cfg, chunk, mode, 0.0);
      const model::QualityHeads h = headsOf(encoder, b);
      const at::Tensor d = h.score.index_select(0, b.pairFirst) - h.score.index_select(0, b.pairSecond);  // [P]
      for (int64_t k = 0; k < d.size(0); ++k) {
        const bool aBetter = b.pairTarget[k].item<float>() > 0.5f;
        const bool said = d[k].item<float>() > 0;
        (mode.withReference ? fr : nr) += said == aBetter;
        v.scoreDifferenceAndTruth.emplace_back(d[k].item<double>(), aBetter ? 1.0 : 0.0);
      }
      const at::Tensor predicted = h.aspects.argmax(-1);  // [V, 5]
      aspectHits += ((predicted > 0) == (b.levels > 0)).sum().item<int64_t>();
      aspectTotal += b.levels.numel();
      const at::Tensor distorted = b.types > 0;
      typeHits += (h.types.argmax(-1).eq(b.types) & distorted).sum().item<int64_t>();
      typeTotal += distorted.sum().item<int64_t>();
    }
  });
  v.fr = pairs ? double(fr) / pairs : 0;
  v.nr = pairs ? double(nr) / pairs : 0;
  v.aspects = aspectTotal ? double(aspectHits) / double(aspectTotal) : 0;
  v.types = typeTotal ? double(typeHits) / double(typeTotal) : 0;
  if (auto ok = validatePreference(model, ds.value(), maxPairs, v); !ok) return ok.error();
  return v;
}

double fitPairScale(const std::vector<std::pair<double, double>>& pairs) {
  if (pairs.empty()) return 3.0;
  auto nll = [&](double k) {
    double s = 0;
    for (const auto& [d, t] : pairs) {
      const double z = k * d;
      // -log sigmoid(z) for t = 1, -log sigmoid(-z) for t = 0, computed stably
      s += t > 0.5 ? std::log1p(std::exp(-std::abs(z))) + std::max(0.0, -z)
                   : std::log1p(std::exp(-std::abs(z))) + std::max(0.0, z);
    }
    return s;
  };
  double lo = 0.1, hi = 30.0;
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
  double fa = nll(a), fb = nll(b);
  for (int i = 0; i < 60; ++i) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - g * (hi - lo);
      fa = nll(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + g * (hi - lo);
      fb = nll(b);
    }
  }
  return (lo + hi) / 2;
}

}  // namespace dqa::train
