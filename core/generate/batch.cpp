// Many small questions with the same prompt at once (the tiles of a whole-image
// comparison): every item has images of the same size, so the sequences have the same
// length and batch without padding. The text before the first image (BOS, system
// prompt, the first "USER:" words) is the same for all: its keys and values are
// computed once and broadcast into each batch's cache.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/generate/bf16_autocast.h"
#include "core/generate/engine.h"
#include "core/generate/engine_impl.h"
#include "core/image/preprocess.h"
#include "core/model/feature_map_cache.h"
#include "core/model/visual_tokens.h"

namespace dqa {
namespace {

const cv::Mat& tileImage(const TileImages& t, text::ImageRole role) {
  return role == text::ImageRole::Reference ? t.reference : role == text::ImageRole::B ? t.imageB : t.imageA;
}

bool cancelled(const BatchOptions& o) { return o.cancel && o.cancel->load(); }

// bf16 matmuls for one batch call: asked for, and a float32 decoder on the CPU.
bool batchInBf16(const Engine::Impl& s, const BatchOptions& o) {
  const auto& decoder = s.model->decoder();
  return o.bf16OnCpu && decoder.device().is_cpu() && decoder.dtype() == at::kFloat;
}

// The prompt laid out for a batch: the shared prefix, then the pieces that follow it.
struct BatchPlan {
  std::vector<text::TokenizedChunk> chunks;
  size_t firstImage = 0;  // index into chunks
  std::vector<text::ImageRole> roles;
  model::KVCache prefixCache;  // [1, ...] keys/values of BOS + chunks before firstImage
  int64_t prefixLength = 0;
};

at::Tensor embedIds(const model::LlamaDecoder& decoder, const std::vector<int32_t>& ids) {  // -> [1, n, hidden]
  std::vector<int64_t> wide(ids.begin(), ids.end());
  return decoder.embed(at::tensor(wide, at::kLong).view({1, -1}).to(decoder.device()));
}

Status checkIds(const model::LlamaDecoder& decoder, const std::vector<int32_t>& ids) {
  for (int32_t id : ids)
    if (id < 0 || id >= decoder.config().vocabSize)
      return makeError("token id " + std::to_string(id) +
                       " is outside the vocabulary; tokenizer and model do not match");
  return Ok{};
}

struct BatchRunner {
  Engine::Impl& s;
  const text::PromptRequest& request;
  BatchPlan plan;

  Status prepare(const std::vector<int32_t>& answerPrefix) {
    auto prompt = text::buildPrompt(request);
    if (!prompt) return prompt.error();
    plan.chunks = text::tokenizePrompt(prompt.value(), *s.tokenizer);
    if (!answerPrefix.empty()) {
      text::TokenizedChunk tail;
      tail.ids = answerPrefix;
      plan.chunks.push_back(tail);
    }
    plan.firstImage = plan.chunks.size();
    for (size_t i = 0; i < plan.chunks.size(); ++i) {
      if (plan.chunks[i].kind == text::PromptChunk::Kind::Image) {
        plan.roles.push_back(plan.chunks[i].role);
        plan.firstImage = std::min(plan.firstImage, i);
      } else if (auto ok = checkIds(s.model->decoder(), plan.chunks[i].ids); !ok) {
        return ok;
      }
    }
    if (plan.roles.empty()) return makeError("a batch question needs at least one image");
    std::vector<int32_t> prefix{s.tokenizer->bosId()};
    for (size_t i = 0; i < plan.firstImage; ++i)
      prefix.insert(prefix.end(), plan.chunks[i].ids.begin(), plan.chunks[i].ids.end());
    s.model->decoder().forward(embedIds(s.model->decoder(), prefix), &plan.prefixCache);
    plan.prefixLength = static_cast<int64_t>(prefix.size());
    return Ok{};
  }

  // Sequences after the prefix for items [begin, end): [N, T, hidden].
  Result<at::Tensor> suffixEmbeddings(const std::vector<TileImages>& items, size_t begin, size_t end) {
    const int64_t n = static_cast<int64_t>(end - begin);
    model::RoleImages images;
    for (text::ImageRole role : plan.roles) {
      auto& mats = images[role];
      for (size_t i = begin; i < end; ++i) {
        const cv::Mat& m = tileImage(items[i], role);
        if (m.empty())
          return makeError("item " + std::to_string(i) + " lacks the " + text::imageRoleName(role) + " image");
        mats.push_back(m);
      }
    }
    auto encoded = model::encodeImages(*s.model, images);
    if (!encoded) return encoded.error();
    std::map<text::ImageRole, at::Tensor> visual;  // role -> [N, tokens, hidden]
    for (auto& [role, e] : encoded.value()) visual[role] = e.tokens;
    const auto& decoder = s.model->decoder();
    std::vector<at::Tensor> parts;
    for (size_t i = plan.firstImage; i < plan.chunks.size(); ++i) {
      const auto& c = plan.chunks[i];
      if (c.kind == text::PromptChunk::Kind::Image) {
        parts.push_back(visual.at(c.role).to(decoder.dtype()));
      } else if (!c.ids.empty()) {
        parts.push_back(embedIds(decoder, c.ids).expand({n, -1, -1}));
      }
    }
    return at::cat(parts, 1);  // [N, T, hidden]
  }

  // A cache for `n` sequences that starts with the shared prefix.
  model::KVCache batchCache(int64_t n, int64_t capacity) const {
    model::KVCache cache;
    s.model->decoder().reserve(cache, n, plan.prefixLength + capacity);
    for (size_t l = 0; l < cache.keys.size(); ++l) {
      // [1, KV, P, D] broadcast into [n, KV, P, D]
      cache.keys[l].narrow(2, 0, plan.prefixLength).copy_(plan.prefixCache.keys[l].narrow(2, 0, plan.prefixLength));
      cache.values[l].narrow(2, 0, plan.prefixLength).copy_(plan.prefixCache.values[l].narrow(2, 0, plan.prefixLength));
    }
    cache.length = plan.prefixLength;
    return cache;
  }
};

}  // namespace

Result<std::vector<Verdict>> Engine::judgeBatch(const text::PromptRequest& prompt, const std::vector<TileImages>& items,
                                                const BatchOptions& options) {
  Impl& s = *impl_;
  if (auto ok = s.requireMultimodal(); !ok) return ok.error();
  if (prompt.task != text::Task::Comparison) return makeError("a batch verdict needs a comparison question");
  if (s.verdict.a < 0) return makeError("this tokenizer cannot tell \"Image A\" from \"Image B\"");
  text::PromptRequest request = prompt;
  request.shortAnswer = true;
  std::vector<Verdict> verdicts;
  verdicts.reserve(items.size());
  try {
    c10::InferenceMode guard;
    const CpuBf16Autocast lowPrecision(batchInBf16(s, options));
    BatchRunner runner{s, request, {}};
    if (auto ok = runner.prepare(s.verdict.prefix); !ok) return ok.error();
    const size_t step = static_cast<size_t>(std::max(1, options.batchSize));
    for (size_t begin = 0; begin < items.size(); begin += step) {
      if (cancelled(options)) return makeError("cancelled");
      const size_t end = std::min(items.size(), begin + step);
      auto embeds = runner.suffixEmbeddings(items, begin, end);
      if (!embeds) return embeds.error();
      model::KVCache cache = runner.batchCache(static_cast<int64_t>(end - begin), embeds->size(1));
      at::Tensor hidden = s.model->decoder().forward(embeds.value(), &cache);  // [N, T, hidden]
      at::Tensor logits = s.model->decoder().logits(hidden.narrow(1, -1, 1));  // [N, 1, vocab]
      at::Tensor probs = logits.squeeze(1).to(at::kFloat).softmax(-1);         // [N, vocab]
      at::Tensor pa = probs.select(1, s.verdict.a).contiguous(), pb = probs.select(1, s.verdict.b).contiguous();
      for (int64_t i = 0; i < pa.size(0); ++i) {
        Verdict v;
        v.present = true;
        std::tie(v.probabilityA, v.probabilityB) = gen::temperedLetterProbabilities(
            pa[i].item<float>(), pb[i].item<float>(), s.model->config().verdictTemperatureFor(prompt.withReference));
        v.winner = v.probabilityA >= v.probabilityB ? 'A' : 'B';
        v.confidence =
            gen::shareOfTwo(std::max(v.probabilityA, v.probabilityB), std::min(v.probabilityA, v.probabilityB));
        verdicts.push_back(v);
      }
      if (options.progress) options.progress(static_cast<int>(end));
    }
  } catch (const c10::Error& e) {
    return makeError(std::string("judging the batch failed: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) { return makeError("out of memory while judging a batch; use a smaller batch size"); }
  return verdicts;
}

Result<std::vector<std::string>> Engine::answerBatch(const text::PromptRequest& prompt,
                                                     const std::vector<TileImages>& items, int maxTokens,
                                                     const BatchOptions& options) {
  Impl& s = *impl_;
  if (auto ok = s.requireMultimodal(); !ok) return ok.error();
  if (maxTokens < 1) return makeError("maxTokens must be at least 1");
  std::vector<std::string> answers;
  answers.reserve(items.size());
  try {
    c10::InferenceMode guard;
    const CpuBf16Autocast lowPrecision(batchInBf16(s, options));
    BatchRunner runner{s, prompt, {}};
    if (auto ok = runner.prepare({}); !ok) return ok.error();
    const auto& decoder = s.model->decoder();
    const size_t step = static_cast<size_t>(std::max(1, options.batchSize));
    for (size_t begin = 0; begin < items.size(); begin += step) {
      if (cancelled(options)) return makeError("cancelled");
      const size_t end = std::min(items.size(), begin + step);
      const int64_t n = static_cast<int64_t>(end - begin);
      auto embeds = runner.suffixEmbeddings(items, begin, end);
      if (!embeds) return embeds.error();
      const int64_t room =
          std::max<int64_t>(0, decoder.config().maxPositions - runner.plan.prefixLength - embeds->size(1));
      const int limit = static_cast<int>(std::min<int64_t>(maxTokens, room));
      model::KVCache cache = runner.batchCache(n, embeds->size(1) + limit);
      at::Tensor hidden = decoder.forward(embeds.value(), &cache);  // [N, T, hidden]
      std::vector<std::vector<int32_t>> ids(static_cast<size_t>(n));
      std::vector<bool> done(static_cast<size_t>(n), false);
      for (int t = 0; t < limit; ++t) {
        if (cancelled(options)) return makeError("cancelled");
        at::Tensor next = decoder.logits(hidden.narrow(1, -1, 1)).squeeze(1).argmax(-1).to(at::kLong).cpu();  // [N]
        const int64_t* p = next.data_ptr<int64_t>();
        bool all = true;
        for (int64_t i = 0; i < n; ++i) {
          if (done[size_t(i)]) continue;
          if (p[i] == s.tokenizer->eosId()) {
            done[size_t(i)] = true;
          } else {
            ids[size_t(i)].push_back(static_cast<int32_t>(p[i]));
            all = false;
          }
        }
        if (all || t + 1 == limit) break;
        hidden = decoder.forward(decoder.embed(next.view({n, 1}).to(decoder.device())), &cache);  // [N, 1, hidden]
      }
      for (const auto& sequence : ids) answers.push_back(s.tokenizer->decode(sequence));
      if (options.progress) options.progress(static_cast<int>(end));
    }
  } catch (const c10::Error& e) {
    return makeError(std::string("answering the batch failed: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return makeError("out of memory while answering a batch; use a smaller batch size");
  }
  return answers;
}

}  // namespace dqa

namespace dqa {

Result<std::vector<Engine::RegionJudgement>> Engine::judgeRegions(
    const cv::Mat& reference, const cv::Mat& imageA, const cv::Mat& imageB, const std::vector<cv::Rect>& regions,
    const std::atomic<bool>* cancel, const std::function<void(int done)>& progress, const std::string& preference) {
  Impl& s = *impl_;
  if (!s.model->hasQualityEncoder())
    return makeError("this model has no quality heads; judge its tiles with the decoder (judgeBatch)");
  std::vector<RegionJudgement> out;
  try {
    c10::InferenceMode guard;
    const auto& encoder = s.model->qualityEncoder();
    const auto& cfg = s.model->config().vision;
    auto pixels = [&](const cv::Mat& m) -> Result<at::Tensor> {
      if (m.empty()) return at::Tensor();
      auto t = model::unitPixels(m);
      if (!t) return t.error();
      return t->unsqueeze(0).to(s.model->device());  // [1, 3, H, W]
    };
    // One feature map per side, each image seen against the reference and the other one
    // (the keys Engine::ask's encoding uses for A and B: either reuses the other's maps).
    const model::EncodeOptions tiles;
    const uint64_t hashA = model::pixelHash(imageA), hashB = model::pixelHash(imageB),
                   hashRef = model::pixelHash(reference);
    const model::FeatureMapKey keyA{hashA, hashRef, hashB, tiles.tileSide, tiles.tileMargin},
        keyB{hashB, hashRef, hashA, tiles.tileSide, tiles.tileMargin};
    std::vector<at::Tensor> maps = {s.featureMaps.find(keyA), s.featureMaps.find(keyB)};
    if (!maps[0].defined() || !maps[1].defined()) {
      auto ref = pixels(reference), a = pixels(imageA), b = pixels(imageB);
      for (const auto* r : {&ref, &a, &b})
        if (!*r) return r->error();
      if (a->sizes() != b->sizes() || (ref->defined() && ref->sizes() != a->sizes()))
        return makeError("the images must have the same size to be compared region by region");
      // Both in one pass over the tiles, sharing the per-image input work.
      maps = model::qualityFeatureMaps(
          encoder, {{a.value(), ref.value(), b.value()}, {b.value(), ref.value(), a.value()}}, tiles);
      s.featureMaps.store(keyA, maps[0]);
      s.featureMaps.store(keyB, maps[1]);
    }
    if (cancel && cancel->load()) return makeError("cancelled");
    const at::Tensor& mapA = maps[0];  // [1, D, h, w]
    const at::Tensor& mapB = maps[1];
    const int64_t h = mapA.size(2), w = mapA.size(3);
    constexpr int S = model::QualityEncoder::kStride;
    const std::array<double, 5> weights = preferenceAspectWeights(preference);
    out.reserve(regions.size());
    if (progress) progress(0);
    for (size_t i = 0; i < regions.size(); ++i) {
      if (i > 0 && i % 8 == 0) {
        if (progress) progress(int(i));
        if (cancel && cancel->load()) return makeError("cancelled");
      }
      const cv::Rect& r = regions[i];
      const int64_t x0 = std::clamp<int64_t>(r.x / S, 0, w - 1), y0 = std::clamp<int64_t>(r.y / S, 0, h - 1);
      const int64_t x1 = std::clamp<int64_t>((r.x + r.width + S - 1) / S, x0 + 1, w);
      const int64_t y1 = std::clamp<int64_t>((r.y + r.height + S - 1) / S, y0 + 1, h);
      auto cells = [&](const at::Tensor& m) { return m.narrow(2, y0, y1 - y0).narrow(3, x0, x1 - x0); };
      const model::QualityHeads ha = encoder.heads(model::QualityEncoder::pool(cells(mapA)));
      const model::QualityHeads hb = encoder.heads(model::QualityEncoder::pool(cells(mapB)));
      model::EncodedImage ea, eb;
      ea.role = text::ImageRole::A;
      eb.role = text::ImageRole::B;
      ea.score = ha.score.to(at::kFloat).cpu();
      ea.aspects = ha.aspects.to(at::kFloat).cpu();
      ea.types = ha.types.to(at::kFloat).cpu();
      eb.score = hb.score.to(at::kFloat).cpu();
      eb.aspects = hb.aspects.to(at::kFloat).cpu();
      eb.types = hb.types.to(at::kFloat).cpu();
      if (ha.aspectScores.defined()) {
        ea.aspectScores = ha.aspectScores.to(at::kFloat).cpu();
        eb.aspectScores = hb.aspectScores.to(at::kFloat).cpu();
      }
      RegionJudgement j;
      const double d =
          (model::preferenceWeighedScore(ha, weights) - model::preferenceWeighedScore(hb, weights)).item<double>();
      j.probabilityA = float(1.0 / (1.0 + std::exp(-cfg.pairScale * d)));
      j.a = imageQuality(ea, cfg.distortionTypes);
      j.b = imageQuality(eb, cfg.distortionTypes);
      out.push_back(std::move(j));
    }
    if (progress) progress(int(regions.size()));
  } catch (const c10::Error& e) {
    return makeError(std::string("judging the regions failed: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) { return makeError("out of memory while judging the whole images"); }
  return out;
}

}  // namespace dqa
