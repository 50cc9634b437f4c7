#pragma once
// The language stage's loss on one batch (core/train/language_batch.h):
//  - next-token cross-entropy on the answer tokens, weighted (judgement words weigh more);
//  - a two-way (A vs B) cross-entropy on the letter of every "Image A"/"Image B";
//  - the same at the letter that states the verdict, and that letter's probability
//    distilled towards the quality heads' (quality-encoder models).
#include <ATen/ATen.h>

#include <vector>

#include "core/model/llama.h"
#include "core/text/prompt.h"
#include "core/train/language_batch.h"

namespace dqa::train {

struct LanguageLossWeights {
  double verdict = 1, distill = 1, letter = 0;
};

struct LanguageLosses {
  at::Tensor total;                                     // scalar, with gradient
  double lm = 0, verdict = 0, distill = 0, letter = 0;  // each term's value (0 when absent)
};

// What each term is a mean over. A data-parallel step sums these over the ranks first,
// so that each rank's losses are its share of the whole batch's means and the ranks'
// gradients add up to the gradient of one process over the whole batch.
struct LossCounts {
  double answerWeight = 0;  // sum of the answer tokens' weights
  double letters = 0, verdicts = 0, distilled = 0;
  double attentionTargets = 0;
};
LossCounts lossCounts(const LanguageBatch& batch);

// `hidden` [B, T, H]: the decoder's last hidden states over the batch's embeddings.
// `global`: the counts over every rank's batch (null: this batch's own).
LanguageLosses languageLosses(const model::LlamaDecoder& decoder, const at::Tensor& hidden, const LanguageBatch& batch,
                              const text::VerdictTokens& verdict, const LanguageLossWeights& weights,
                              const LossCounts* global = nullptr);

// The attention loss: for each of the batch's attention targets, the attention of its
// query rows over the image's cells, averaged over `probs`' layers and heads, should
// fall inside the local distortion's region: the mean over targets of -log(the share
// inside), averaged over the target's words. `probs`: per layer [B, H, T, S] (an
// AttentionCapture of the forward that made the batch's hidden states). Undefined
// without targets. `global` as for languageLosses.
at::Tensor attentionLoss(const std::vector<at::Tensor>& probs, const LanguageBatch& batch,
                         const LossCounts* global = nullptr);

}  // namespace dqa::train
