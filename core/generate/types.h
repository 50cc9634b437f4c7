#pragma once
// Plain data that crosses from the generation core to its users (CLI, UI, eval).
// Torch-free on purpose: the UI includes this.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/model/image_span.h"
#include "core/text/prompt.h"

namespace dqa::gen {

using model::ImageSpan;

struct SamplingParams {
  int maxNewTokens = 400;
  float temperature = 0.f;  // 0: greedy
  float topP = 1.f;
  uint64_t seed = 0;
  bool ignoreEos = false;  // benchmarks: never stop at EOS, time exactly maxNewTokens
  // Keep an answer to the training texts' grammar (core/data/answer_grammar.h): each
  // aspect it describes as distorted compared once and no other, and no sentence about a
  // preference unless `preferenceStated`. false: the decoder's own choice at every step.
  // Engine::ask applies it to quality-encoder models only (the data engine's grammar is
  // theirs; a converted DepictQA checkpoint writes in its own words).
  bool guardAnswerGrammar = true;
  // Whether the question states a preference; Engine::ask sets it from the prompt
  // (data::statesPreference).
  bool preferenceStated = true;
  // Which image the encoder's heads are sure is better: +1 Image A, -1 Image B, 0 not
  // sure. Where they are sure, the guard keeps a reasoning's verdict from calling the pair
  // too close and keeps the letter of its winner verdict to theirs. Engine::ask sets it
  // from the heads' pair probability (kClearWinnerProbability).
  int headsWinner = 0;
  // Per aspect (brightness, colour, noise, artifacts, blurriness): +1 where the heads'
  // aspect scores see Image A clearly better, -1 Image B, 0 neither; the guard keeps a
  // comparison's better image, named first, to it. Engine::ask sets it (data::compareMos).
  std::array<int, 5> headsAspectBetter{};
  // Per image (0: Image A, or a description's image; 1: Image B), per aspect: whether
  // the heads see it undistorted; the guard keeps the distortions an answer names off
  // those aspects. Engine::ask sets it for descriptions (kCleanAspectProbability).
  std::array<std::array<bool, 5>, 2> headsAspectClean{};
  bool describesOneImage = false;  // a description: sentences that name no image are about image 0
  // A reasoning: the guard keeps its first sentence to Image A's clause, so that a
  // question worded as no training template words it still gets a reasoning, not a
  // brief verdict. Engine::ask sets it from the task.
  bool reasoning = false;
  // Per image (0: A, 1: B): the heads see some aspect of it distorted; the guard keeps a
  // reasoning from calling it undistorted. Engine::ask sets it (kDistortedAspectProbability).
  std::array<bool, 2> headsImageDistorted{};
  // Per image (0: A, 1: B), per aspect: whether the heads are sure it is undistorted; the
  // guard ends a reasoning's list of an image's distortions once every aspect it has not
  // named is, and names no distortion in an image whose aspects all are. Engine::ask sets
  // it for pairs (kSurelyCleanAspectProbability).
  std::array<std::array<bool, 5>, 2> headsAspectSurelyClean{};
};

struct AttentionOptions {
  bool capture = false;
  std::vector<int> layers;  // empty: every layer
  bool keepHeads = false;   // false: average over heads
};

struct TokenEvent {
  int index = 0;            // 0-based generated-token index
  int32_t id = 0;           // -1: no token, only the text left of an unfinished
                            // UTF-8 character at the end (sent as U+FFFD)
  float probability = 0.f;  // softmax probability of this token (temperature 1)
  std::string text;         // new complete UTF-8 text (may be empty mid-character)
};

enum class StopReason { EndOfSequence, Length, Cancelled, ContextFull };
const char* stopReasonName(StopReason reason);

// The verdict letters' probabilities with the model's temperature on their two-way logit
// log(P(A) / P(B)) (config.json "verdict_temperature", fitted by depictqa-eval
// --fit-verdict-temperature; 1: as the decoder gives them). Their sum is kept, so each
// stays the probability of its letter.
std::pair<float, float> temperedLetterProbabilities(float probabilityA, float probabilityB, double temperature);
// `mine` / (`mine` + `other`): a verdict letter's share of the two (its confidence); 0.5
// when neither has any probability.
float shareOfTwo(float mine, float other);

// Decoder attention from each generated token to each image's visual tokens.
struct AttentionMaps {
  std::vector<ImageSpan> images;
  std::vector<int> layers;   // decoder layer indices captured
  int heads = 1;             // 1 when averaged
  int tokens = 0;            // generated tokens captured
  int64_t visualTokens = 0;  // sum of the images' grid cells (CLS excluded)
  // [token][layer][head][visual token], images concatenated in `images` order
  std::vector<float> values;

  bool empty() const { return values.empty(); }
  // One image's map [gridHeight * gridWidth], row-major. layer/head -1: mean over all.
  std::vector<float> grid(int token, int image, int layer = -1, int head = -1) const;
  // Mean over a token range [first, last).
  std::vector<float> gridOverTokens(int first, int last, int image, int layer = -1, int head = -1) const;
};

struct GenerationCallbacks {
  // Called for every generated token; return false to stop.
  std::function<bool(const TokenEvent&)> onToken;
  const std::atomic<bool>* cancel = nullptr;  // checked before every token
  std::vector<int32_t> watchIds;              // record these ids' probabilities each step
};

struct GenerationResult {
  std::vector<int32_t> ids;                              // generated ids (EOS not included)
  std::vector<float> probabilities;                      // per generated id
  std::vector<std::string> tokenText;                    // decoded contribution of each token (may split a char)
  std::vector<std::vector<float>> watchedProbabilities;  // [step][watchIds]
  std::string text;
  StopReason stop = StopReason::EndOfSequence;
  int steeredTokens = 0;  // steps where guardAnswerGrammar left out the decoder's first choice
  int64_t promptTokens = 0;
  double visionMs = 0, prefillMs = 0, firstTokenMs = 0, decodeMs = 0;
  double tokensPerSecond() const;
  AttentionMaps attention;
};

}  // namespace dqa::gen
