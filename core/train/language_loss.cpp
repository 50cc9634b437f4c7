#include "core/train/language_loss.h"

#include <algorithm>
#include <vector>

namespace dqa::train {
namespace {

// The A and B logits at the given (row, position)s. `rows` [A] are the flat
// (row * T + position) indices the logits [A, V] were computed at, sorted.
at::Tensor twoWayLogits(const at::Tensor& logits, const at::Tensor& rows, int64_t T,
                        const std::vector<std::pair<int64_t, int64_t>>& positions, const text::VerdictTokens& v) {
  std::vector<int64_t> flat;
  for (const auto& [row, pos] : positions) flat.push_back(row * T + pos);
  const at::Tensor where = at::searchsorted(rows, at::tensor(flat, at::kLong));
  return logits.index_select(0, where)
      .index_select(1, at::tensor(std::vector<int64_t>{v.a, v.b}, at::kLong))
      .to(at::kFloat);  // [K, 2]
}

at::Tensor letterClasses(const std::vector<char>& letters) {
  std::vector<int64_t> c;
  for (char l : letters) c.push_back(l == 'A' ? 0 : 1);
  return at::tensor(c, at::kLong);
}

}  // namespace

LossCounts lossCounts(const LanguageBatch& b) {
  LossCounts c;
  const at::Tensor labels = b.labels.reshape({-1});
  c.answerWeight = (b.weights.reshape({-1}) * labels.ne(kIgnoreLabel).to(b.weights.scalar_type())).sum().item<double>();
  c.letters = double(b.letterPositions.size());
  c.verdicts = double(b.verdictPositions.size());
  for (float t : b.verdictTarget) c.distilled += t >= 0;
  c.attentionTargets = double(b.attentionTargets.size());
  return c;
}

// Weighted next-token loss + the letters' two-way losses. `hidden` [B, T, H]: logits are
// computed only where there is a target (the answer: a quarter of the sequence), which
// saves most of the vocabulary projection.
LanguageLosses languageLosses(const model::LlamaDecoder& decoder, const at::Tensor& hidden, const LanguageBatch& b,
                              const text::VerdictTokens& v, const LanguageLossWeights& weights,
                              const LossCounts* global) {
  LanguageLosses out;
  const int64_t H = hidden.size(2);
  const at::Tensor labels = b.labels.reshape({-1});                                         // [B*T]
  const at::Tensor rows = labels.ne(kIgnoreLabel).nonzero().reshape({-1});                  // [A]
  const at::Tensor logits = decoder.logits(hidden.reshape({-1, H}).index_select(0, rows));  // [A, V]
  const at::Tensor perToken = at::cross_entropy_loss(logits, labels.index_select(0, rows), {}, at::Reduction::None);
  const at::Tensor w = b.weights.reshape({-1}).index_select(0, rows);
  at::Tensor lm = global ? (perToken * w).sum() / std::max(global->answerWeight, 1.0)
                         : (perToken * w).sum() / w.sum().clamp_min(1.0);
  out.total = lm;
  out.lm = lm.item<double>();
  const int64_t T = hidden.size(1);
  if (!b.letterPositions.empty() && weights.letter > 0) {
    const at::Tensor two = twoWayLogits(logits, rows, T, b.letterPositions, v);  // [L, 2]
    const at::Tensor letter =
        global ? at::cross_entropy_loss(two, letterClasses(b.letterWritten), {}, at::Reduction::Sum) / global->letters
               : at::cross_entropy_loss(two, letterClasses(b.letterWritten));
    out.total = out.total + weights.letter * letter;
    out.letter = letter.item<double>();
  }
  if (b.verdictPositions.empty()) return out;
  const at::Tensor two = twoWayLogits(logits, rows, T, b.verdictPositions, v);  // [K, 2]
  std::vector<at::Tensor> soft;
  std::vector<int64_t> softRows;
  for (size_t k = 0; k < b.verdictPositions.size(); ++k) {
    if (b.verdictTarget[k] < 0) continue;
    softRows.push_back(int64_t(k));
    const float q = b.verdictTarget[k];  // P(the written statement holds) per the heads
    soft.push_back(b.verdictLetter[k] == 'A' ? at::tensor({q, 1 - q}) : at::tensor({1 - q, q}));
  }
  const at::Tensor verdict =
      global ? at::cross_entropy_loss(two, letterClasses(b.verdictLetter), {}, at::Reduction::Sum) / global->verdicts
             : at::cross_entropy_loss(two, letterClasses(b.verdictLetter));
  out.total = out.total + weights.verdict * verdict;
  out.verdict = verdict.item<double>();
  if (!softRows.empty() && weights.distill > 0) {
    const at::Tensor logp = two.index_select(0, at::tensor(softRows, at::kLong)).log_softmax(-1);  // [S, 2]
    const at::Tensor perVerdict = -(at::stack(soft) * logp).sum(-1);
    const at::Tensor distill = global ? perVerdict.sum() / global->distilled : perVerdict.mean();
    out.total = out.total + weights.distill * distill;
    out.distill = distill.item<double>();
  }
  return out;
}

at::Tensor attentionLoss(const std::vector<at::Tensor>& probs, const LanguageBatch& b, const LossCounts* global) {
  if (b.attentionTargets.empty() || probs.empty()) return at::Tensor();
  at::Tensor mean = probs.front().mean(1);                                   // [B, T, S]
  for (size_t l = 1; l < probs.size(); ++l) mean = mean + probs[l].mean(1);  // (the 1/L cancels in the share)
  std::vector<at::Tensor> perTarget;
  for (const auto& t : b.attentionTargets) {
    const at::Tensor rows = mean[t.row].index_select(0, at::tensor(t.queries, at::kLong));  // [Q, S]
    const at::Tensor cells = rows.narrow(1, t.firstCell, t.cells).to(at::kFloat);           // [Q, C]
    const at::Tensor inside = at::tensor(t.inside, at::kFloat);                             // [C]
    const at::Tensor share = (cells * inside).sum(1) / cells.sum(1).clamp_min(1e-12);       // [Q]
    perTarget.push_back(-share.clamp_min(1e-6).log().mean());
  }
  const at::Tensor sum = at::stack(perTarget).sum();
  return sum / (global ? std::max(global->attentionTargets, 1.0) : double(perTarget.size()));
}

}  // namespace dqa::train
