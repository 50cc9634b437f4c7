#include "core/generate/answer_grammar.h"

#include <algorithm>
#include <limits>

#include "core/data/answer_grammar.h"
#include "core/text/tokenizer.h"

namespace dqa::gen {

AnswerGrammarGuard::AnswerGrammarGuard(const text::Tokenizer* tokenizer, bool enabled, bool preferenceStated,
                                       const data::HeadsReading& heads, int64_t vocabSize, int64_t eosId)
    : tokenizer_(enabled ? tokenizer : nullptr), preferenceStated_(preferenceStated), heads_(heads) {
  if (tokenizer_) vocab_ = std::min<int64_t>(vocabSize, tokenizer_->vocabSize());
  if (eosId >= 0 && eosId < vocab_) eosId_ = eosId;
}

void AnswerGrammarGuard::append(int64_t id) {
  if (tokenizer_) written_ += tokenizer_->pieceBytes(static_cast<int32_t>(id));
}

at::Tensor AnswerGrammarGuard::apply(const at::Tensor& logits) {
  if (!tokenizer_) return logits;
  const data::AnswerGrammar guard = data::readAnswerSoFar(written_, preferenceStated_, heads_);
  std::vector<int64_t> banned;
  if (guard.endBarred && eosId_ >= 0) banned.push_back(eosId_);
  if (guard.active()) {
    if (pieces_.empty()) {
      pieces_.reserve(size_t(vocab_));
      for (int64_t id = 0; id < vocab_; ++id) pieces_.push_back(tokenizer_->pieceBytes(static_cast<int32_t>(id)));
    }
    for (int64_t id = 0; id < vocab_; ++id)
      if (data::leavesAnswerGrammar(guard, pieces_[size_t(id)])) banned.push_back(id);
  }
  if (banned.empty() || int64_t(banned.size()) == vocab_) return logits;
  const at::Tensor ids = at::tensor(banned, at::kLong).to(logits.device());  // [banned]
  return logits.index_fill(0, ids, -std::numeric_limits<float>::infinity());
}

}  // namespace dqa::gen
