#pragma once
// The language stage's loss on one batch (core/train/language_batch.h):
//  - next-token cross-entropy on the answer tokens, weighted (judgement words weigh more);
//  - a two-way (A vs B) cross-entropy on the letter of every "Image A"/"Image B";
//  - the same at the letter that states the verdict, and that letter's probability
//    distilled towards the quality heads' (quality-encoder models).
#include <ATen/ATen.h>

#include "core/model/llama.h"
#include "core/text/prompt.h"
#include "core/train/language_batch.h"

namespace dqa::train {

struct LanguageLossWeights {
  double verdict = 1, distill = 1, letter = 0;
};

struct LanguageLosses {
  at::Tensor total;  // scalar, with gradient
  double lm = 0, verdict = 0, distill = 0, letter = 0;  // each term's value (0 when absent)
};

// `hidden` [B, T, H]: the decoder's last hidden states over the batch's embeddings.
LanguageLosses languageLosses(const model::LlamaDecoder& decoder, const at::Tensor& hidden, const LanguageBatch& batch,
                              const text::VerdictTokens& verdict, const LanguageLossWeights& weights);

}  // namespace dqa::train
