#include "core/generate/session.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "core/generate/answer_grammar.h"
#include "core/text/tokenizer.h"

namespace dqa::gen {
namespace {

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// The decoder's attention from each generated token to the images' visual tokens: the
// last query row of each captured layer, restricted to the visual key columns, appended
// to `maps` once per step.
class AttentionRecorder {
 public:
  AttentionRecorder(AttentionMaps* maps, bool keepHeads) : maps_(maps), keepHeads_(keepHeads) {}

  // Which layers (empty: all), which key columns; an error names a layer that does not exist.
  Status start(const io::TextConfig& cfg, const std::vector<ImageSpan>& spans, const std::vector<int>& wanted,
               at::Device device) {
    std::vector<int> layers = wanted;
    if (layers.empty())
      for (int i = 0; i < cfg.numLayers; ++i) layers.push_back(i);
    for (int l : layers) {
      if (l < 0 || l >= cfg.numLayers)
        return makeError("attention layer " + std::to_string(l) + " does not exist (the decoder has " +
                         std::to_string(cfg.numLayers) + ")");
      capture_.layers.insert(l);
    }
    std::vector<int64_t> cols;
    for (const auto& s : spans)
      for (int64_t j = s.hasClassToken ? 1 : 0; j < s.length; ++j) cols.push_back(s.start + j);
    visualColumns_ = at::tensor(cols, at::kLong).to(device);
    maps_->images = spans;
    maps_->layers.assign(capture_.layers.begin(), capture_.layers.end());
    maps_->heads = keepHeads_ ? cfg.numHeads : 1;
    maps_->visualTokens = static_cast<int64_t>(cols.size());
    active_ = true;
    return Ok{};
  }

  // What the decoder fills (nullptr: nothing is captured).
  model::AttentionCapture* capture() { return active_ ? &capture_ : nullptr; }

  void recordStep() {
    if (!active_) return;
    for (const at::Tensor& p : capture_.probs) {       // [1, H, T, S]
      at::Tensor row = p.select(2, p.size(2) - 1)[0];  // [H, S]
      row = row.index_select(1, visualColumns_);       // [H, V]
      if (!keepHeads_) row = row.mean(0, true);        // [1, V]
      row = row.to(at::kCPU, at::kFloat).contiguous();
      maps_->values.insert(maps_->values.end(), row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    }
    maps_->tokens += 1;
  }

  void dropLastStep() {
    if (!active_) return;
    const size_t rowSize = maps_->layers.size() * size_t(maps_->heads) * size_t(maps_->visualTokens);
    maps_->values.resize(maps_->values.size() - rowSize);
    maps_->tokens -= 1;
  }

 private:
  AttentionMaps* maps_;
  bool keepHeads_;
  bool active_ = false;
  model::AttentionCapture capture_;
  at::Tensor visualColumns_;  // [V] key positions of the visual tokens
};

// Picks the next token from float32 logits [vocab].
int64_t pickToken(const at::Tensor& logits, const SamplingParams& s, std::mt19937_64& rng) {
  if (s.temperature <= 0.f) return logits.argmax().item<int64_t>();
  at::Tensor probs = at::softmax(logits / double(s.temperature), -1);
  if (s.topP < 1.f) {
    auto sorted = probs.sort(/*dim=*/-1, /*descending=*/true);
    at::Tensor values = std::get<0>(sorted), indices = std::get<1>(sorted);
    at::Tensor cumulative = values.cumsum(-1);
    // Keep the smallest set whose mass reaches topP (always at least one token).
    at::Tensor drop = (cumulative - values) > double(s.topP);
    values = values.masked_fill(drop, 0.0);
    probs = at::zeros_like(probs).scatter(-1, indices, values);
  }
  probs = probs / probs.sum();
  at::Tensor cpu = probs.to(at::kCPU, at::kDouble).contiguous();
  const double* p = cpu.data_ptr<double>();
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  double r = uni(rng), acc = 0.0;
  const int64_t n = cpu.numel();
  for (int64_t i = 0; i < n; ++i) {
    acc += p[i];
    if (r < acc) return i;
  }
  return logits.argmax().item<int64_t>();
}

}  // namespace

namespace {
constexpr const char* kReplacement = "\xEF\xBF\xBD";

// Length of the UTF-8 sequence starting at s[i]: >0 complete and valid, 0 valid so
// far but incomplete, -1 invalid lead or continuation.
int utf8Sequence(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF)
    need = 1;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else
    return -1;
  for (int k = 1; k <= need; ++k) {
    if (i + size_t(k) >= s.size()) return 0;
    const auto d = static_cast<unsigned char>(s[i + size_t(k)]);
    if (k == 1 ? (d < lo || d > hi) : (d & 0xC0) != 0x80) return -1;
  }
  return need + 1;
}
}  // namespace

std::string Utf8Stream::push(const std::string& bytes) {
  pending_ += bytes;
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    const int n = utf8Sequence(pending_, i);
    if (n == 0) break;  // wait for the next token's bytes
    if (n < 0) {
      out += kReplacement;
      i += 1;
    } else {
      out.append(pending_, i, size_t(n));
      i += size_t(n);
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8Stream::finish() {
  std::string out;
  for (size_t i = 0; i < pending_.size(); ++i) out += kReplacement;
  pending_.clear();
  return out;
}

namespace {

// How many tokens may be generated: the request, cut to what the context window has left.
struct TokenBudget {
  int maxNew = 0;
  bool contextLimited = false;
};

Result<TokenBudget> tokenBudget(int64_t promptLength, const io::TextConfig& cfg, int requested) {
  if (promptLength >= cfg.maxPositions)
    return makeError("the prompt is " + std::to_string(promptLength) +
                     " tokens long but the model's "
                     "context window is " +
                     std::to_string(cfg.maxPositions) + "; shorten the question or use smaller images");
  TokenBudget b;
  b.maxNew = std::max(0, requested);
  if (promptLength + b.maxNew > cfg.maxPositions) {
    b.maxNew = static_cast<int>(cfg.maxPositions - promptLength);
    b.contextLimited = true;
  }
  return b;
}

// The ids whose probabilities the caller watches at every step ([W]; undefined: none).
Result<at::Tensor> watchedIds(const std::vector<int32_t>& ids, int64_t vocabSize) {
  if (ids.empty()) return at::Tensor();
  std::vector<int64_t> w(ids.begin(), ids.end());
  for (int64_t id : w)
    if (id < 0 || id >= vocabSize) return makeError("watched token id out of range");
  return at::tensor(w, at::kLong);
}

// Token ids -> the text of each event, never splitting a UTF-8 character; without a
// tokenizer, ids only.
class TextStreamer {
 public:
  explicit TextStreamer(const text::Tokenizer* tokenizer) : tokenizer_(tokenizer) {}

  TokenEvent event(int step, int32_t id, float probability, GenerationResult& result) {
    TokenEvent ev;
    ev.index = step;
    ev.id = id;
    ev.probability = probability;
    if (!tokenizer_) {
      result.tokenText.emplace_back();
      return ev;
    }
    std::string bytes = tokenizer_->pieceBytes(id);
    result.tokenText.push_back(bytes);
    if (atStart_ && !bytes.empty() && bytes[0] == ' ') bytes.erase(0, 1);  // decode() drops it
    if (!bytes.empty()) atStart_ = false;
    ev.text = utf8_.push(bytes);
    return ev;
  }

  // Bytes of an unfinished character at the end are streamed as U+FFFD, as decode() shows
  // them, in a last event with id -1; then the whole answer is decoded.
  void finish(GenerationResult& result, const GenerationCallbacks& callbacks) {
    if (!tokenizer_) return;
    TokenEvent tail;
    tail.index = static_cast<int>(result.ids.size());
    tail.id = -1;
    tail.text = utf8_.finish();
    if (!tail.text.empty() && callbacks.onToken) callbacks.onToken(tail);
    result.text = tokenizer_->decode(result.ids);
  }

 private:
  const text::Tokenizer* tokenizer_;
  Utf8Stream utf8_;
  bool atStart_ = true;
};

}  // namespace

GenerationSession::GenerationSession(const model::LlamaDecoder& decoder,
                                     std::shared_ptr<const text::Tokenizer> tokenizer)
    : decoder_(decoder), tokenizer_(std::move(tokenizer)) {}

Result<GenerationResult> GenerationSession::generate(const at::Tensor& promptEmbeds,
                                                     const std::vector<ImageSpan>& spans,
                                                     const SamplingParams& sampling,
                                                     const AttentionOptions& attentionOptions,
                                                     const GenerationCallbacks& callbacks) {
  c10::InferenceMode guard;
  GenerationResult result;
  const auto& cfg = decoder_.config();
  const int64_t promptLength = promptEmbeds.size(1);
  result.promptTokens = promptLength;
  auto budget = tokenBudget(promptLength, cfg, sampling.maxNewTokens);
  if (!budget) return budget.error();
  const int maxNew = budget->maxNew;
  const StopReason outOfTokens = budget->contextLimited ? StopReason::ContextFull : StopReason::Length;
  AttentionRecorder attention(&result.attention, attentionOptions.keepHeads);
  if (attentionOptions.capture && !spans.empty())
    if (auto ok = attention.start(cfg, spans, attentionOptions.layers, decoder_.device()); !ok) return ok.error();
  auto watch = watchedIds(callbacks.watchIds, cfg.vocabSize);
  if (!watch) return watch.error();

  std::mt19937_64 rng(sampling.seed);
  model::KVCache cache;
  decoder_.reserve(cache, 1, promptLength + maxNew + 1);
  TextStreamer streamer(tokenizer_.get());
  data::HeadsReading heads;
  heads.winner = sampling.headsWinner;
  heads.aspectBetter = sampling.headsAspectBetter;
  heads.aspectClean = sampling.headsAspectClean;
  heads.describesOneImage = sampling.describesOneImage;
  heads.reasoning = sampling.reasoning;
  heads.imageDistorted = sampling.headsImageDistorted;
  heads.aspectSurelyClean = sampling.headsAspectSurelyClean;
  AnswerGrammarGuard grammar(tokenizer_.get(), sampling.guardAnswerGrammar, sampling.preferenceStated, heads,
                             cfg.vocabSize, cfg.eosId);
  try {
    const auto t0 = Clock::now();
    at::Tensor hidden = decoder_.forward(promptEmbeds, &cache, attention.capture());  // [1, T, hidden]
    at::Tensor last = decoder_.logits(hidden.narrow(1, promptLength - 1, 1))[0][0];   // [vocab]
    result.prefillMs = msSince(t0);
    Clock::time_point firstToken = Clock::now();
    for (int step = 0; step < maxNew; ++step) {
      if (callbacks.cancel && callbacks.cancel->load()) {
        result.stop = StopReason::Cancelled;
        break;
      }
      attention.recordStep();
      at::Tensor probs = at::softmax(last, -1);  // [vocab] float32
      if (sampling.ignoreEos)
        last = last.index_fill(0, at::tensor({int64_t(cfg.eosId)}), -std::numeric_limits<float>::infinity());
      const at::Tensor allowed = grammar.apply(last);  // [vocab]
      const int64_t next = pickToken(allowed, sampling, rng);
      if (!allowed.is_same(last) && std::isinf(allowed[last.argmax().item<int64_t>()].item<float>()))
        ++result.steeredTokens;  // the decoder's first choice was left out
      grammar.append(next);
      if (step == 0) {
        result.firstTokenMs = msSince(t0);
        firstToken = Clock::now();
      }
      if (watch->defined()) {
        at::Tensor w = probs.index_select(0, watch->to(probs.device())).to(at::kCPU).contiguous();  // [W]
        result.watchedProbabilities.emplace_back(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
      }
      if (next == cfg.eosId) {
        attention.dropLastStep();  // the EOS step's attention row is not a token of the answer
        result.stop = StopReason::EndOfSequence;
        break;
      }
      const float p = probs[next].item<float>();
      result.ids.push_back(static_cast<int32_t>(next));
      result.probabilities.push_back(p);
      const TokenEvent ev = streamer.event(step, static_cast<int32_t>(next), p, result);
      if (callbacks.onToken && !callbacks.onToken(ev)) {
        result.stop = StopReason::Cancelled;
        break;
      }
      if (step + 1 == maxNew) {
        result.stop = outOfTokens;
        break;
      }
      at::Tensor nextIds = at::full({1, 1}, next, at::TensorOptions().dtype(at::kLong));
      hidden = decoder_.forward(decoder_.embed(nextIds), &cache, attention.capture());  // [1, 1, hidden]
      last = decoder_.logits(hidden)[0][0];
    }
    if (maxNew == 0) result.stop = outOfTokens;
    result.decodeMs = msSince(firstToken);  // from the first token to the last
    streamer.finish(result, callbacks);
  } catch (const c10::Error& e) {
    return makeError(std::string("generation failed: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return makeError("generation ran out of memory; use a smaller model, fewer images or fewer new tokens");
  }
  return result;
}

}  // namespace dqa::gen
