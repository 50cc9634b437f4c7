#pragma once
// Internal to the generation core: leaves out, at each step, the tokens that would take an
// answer out of the training texts' grammar: an aspect compared twice, one the answer
// never described, a sentence about a preference nobody stated, a tie verdict where the
// heads see a clear winner, a comparison the wrong way round by the heads' aspect scores
// (core/data/answer_grammar.h).
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "core/data/answer_grammar.h"

namespace dqa::text {
class Tokenizer;
}

namespace dqa::gen {

class AnswerGrammarGuard {
 public:
  // Inactive (every call a no-op) when `enabled` is false or there is no tokenizer.
  // `eosId`: the end-of-sequence token, left out where the answer may not end yet.
  AnswerGrammarGuard(const text::Tokenizer* tokenizer, bool enabled, bool preferenceStated,
                     const data::HeadsReading& heads, int64_t vocabSize, int64_t eosId);

  // logits [vocab] with the tokens that would leave the grammar at -inf; the same
  // tensor when none would.
  at::Tensor apply(const at::Tensor& logits);
  // The token just written (its text joins the answer so far).
  void append(int64_t id);

 private:
  const text::Tokenizer* tokenizer_;
  bool preferenceStated_;
  data::HeadsReading heads_;
  int64_t vocab_ = 0;
  int64_t eosId_ = -1;
  std::string written_;
  std::vector<std::string> pieces_;  // each id's text, filled when first needed
};

}  // namespace dqa::gen
