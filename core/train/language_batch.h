#pragma once
// The language stage's batch: each example's prompt and answer laid out as one embedding
// sequence (visual tokens from model::encodeImages, exactly as the engine builds them at
// inference), with per-token targets and weights, and the verdict letter of every answer
// that states one.
#include <ATen/ATen.h>

#include <vector>

#include "core/common/result.h"
#include "core/model/multimodal.h"
#include "core/text/prompt.h"
#include "core/text/tokenizer.h"
#include "core/data/shard_dataset.h"

namespace dqa::train {

constexpr int64_t kIgnoreLabel = -100;

struct LanguageBatch {
  at::Tensor embeds;   // [B, T, hidden]
  at::Tensor labels;   // [B, T] next-token targets (kIgnoreLabel where no loss)
  at::Tensor weights;  // [B, T] float: 1, keyWordWeight on judgement words, 0 where no loss
  // The verdict letters: (row, position whose logits predict the letter), the letter as
  // written ('A'/'B'), and the heads' probability that the written statement holds
  // (-1: none to distil towards: no heads, or a preference the heads do not know).
  std::vector<std::pair<int64_t, int64_t>> verdictPositions;
  std::vector<char> verdictLetter;
  std::vector<float> verdictTarget;
  // Every "Image A"/"Image B" letter of every answer (verdict or not): (row, position
  // whose logits predict it) and the letter written. Which image a sentence is about is
  // part of what the decoder must get right: "Image B is better than Image A".
  std::vector<std::pair<int64_t, int64_t>> letterPositions;
  std::vector<char> letterWritten;
  // Where the words naming a local distortion's aspect should look: descriptions of an
  // image whose distortion is confined to a region (the pointing game's cases). The
  // positions whose logits predict those words (their attention rows, as the engine
  // records a generated token's map), the image's grid cells in the sequence, and which
  // of them overlap the region. Only targets with cells both inside and outside.
  struct AttentionTarget {
    int64_t row = 0;
    std::vector<int64_t> queries;
    int64_t firstCell = 0;      // sequence position of the image's first grid cell
    int64_t cells = 0;          // gridHeight * gridWidth
    std::vector<float> inside;  // [cells] 1 where the cell overlaps the region, else 0
  };
  std::vector<AttentionTarget> attentionTargets;
  int64_t answerTokens = 0;
};

struct LanguageBatchOptions {
  double keyWordWeight = 3.0;
  // Comparison answers' comparative words ("better", "worse") weigh keyWordWeight too, in
  // comparisons and reasonings (off: comparisons unweighted, as the bundled model's recipe).
  bool weighComparatives = false;
  // Verdict sentences that name the loser first get the verdict losses too (off: only
  // those that name the winner first, as the bundled model's recipe).
  bool loserFirstVerdicts = false;
  text::VerdictTokens verdict;  // text::verdictTokens(tokenizer)
  // Quality encoder: the token grid's side limit is drawn from these per image group, so
  // that the decoder also reads the coarsely pooled grids of large photos (empty: the
  // model's own limit). `seed` makes the draw a function of the step.
  std::vector<int> tokenGridChoices;
  std::uint64_t seed = 0;
};

Result<LanguageBatch> makeLanguageBatch(const model::MultimodalModel& model, const text::Tokenizer& tokenizer,
                                        const std::vector<data::TrainingExample>& examples,
                                        const LanguageBatchOptions& options);

// Token weights of an answer: 1, or `keyWeight` for tokens that overlap a judgement word
// (data::keyPhrases, and data::comparativePhrases with `comparatives`). `ids` is the
// answer's encoding.
std::vector<float> answerTokenWeights(const text::Tokenizer& tokenizer, const std::string& answer,
                                      const std::vector<int32_t>& ids, double keyWeight, bool comparatives = false);

// Indices into `ids` (an answer's encoding) of the tokens that overlap a word naming
// `aspect` (data::aspectWordRanges).
std::vector<int> aspectWordTokens(const text::Tokenizer& tokenizer, const std::string& answer,
                                  const std::vector<int32_t>& ids, int aspect);

// Index into `ids` of the letter of the `mention`-th "Image A"/"Image B" (-1 if absent).
int verdictLetterIndex(const std::vector<int32_t>& ids, const text::VerdictTokens& verdict, int mention);

}  // namespace dqa::train
