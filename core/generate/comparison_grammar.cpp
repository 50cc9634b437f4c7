#include "core/generate/comparison_grammar.h"

#include <algorithm>
#include <limits>

#include "core/data/comparison_guard.h"
#include "core/text/tokenizer.h"

namespace dqa::gen {

ComparisonGrammarGuard::ComparisonGrammarGuard(const text::Tokenizer* tokenizer, bool enabled, int64_t vocabSize)
    : tokenizer_(enabled ? tokenizer : nullptr) {
  if (tokenizer_) vocab_ = std::min<int64_t>(vocabSize, tokenizer_->vocabSize());
}

void ComparisonGrammarGuard::append(int64_t id) {
  if (tokenizer_) written_ += tokenizer_->pieceBytes(static_cast<int32_t>(id));
}

at::Tensor ComparisonGrammarGuard::apply(const at::Tensor& logits) {
  if (!tokenizer_) return logits;
  const data::ComparisonGuard guard = data::readAnswerSoFar(written_);
  if (!guard.inSlot && !guard.comparisonsDone) return logits;
  if (pieces_.empty()) {
    pieces_.reserve(size_t(vocab_));
    for (int64_t id = 0; id < vocab_; ++id) pieces_.push_back(tokenizer_->pieceBytes(static_cast<int32_t>(id)));
  }
  std::vector<int64_t> banned;
  for (int64_t id = 0; id < vocab_; ++id)
    if (data::leavesComparisonGrammar(guard, pieces_[size_t(id)])) banned.push_back(id);
  if (banned.empty() || int64_t(banned.size()) == vocab_) return logits;
  const at::Tensor ids = at::tensor(banned, at::kLong).to(logits.device());  // [banned]
  return logits.index_fill(0, ids, -std::numeric_limits<float>::infinity());
}

}  // namespace dqa::gen
