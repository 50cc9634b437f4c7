#include "core/train/language_batch.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <tuple>

#include "core/data/distortions.h"
#include "core/data/textgen.h"
#include "core/generate/engine_impl.h"
#include "core/model/visual_tokens.h"

namespace dqa::train {
namespace {

using text::ImageRole;

const cv::Mat& imageOf(const data::TrainingExample& ex, ImageRole role) {
  return role == ImageRole::Reference ? ex.reference : role == ImageRole::B ? ex.b : ex.a;
}

bool wordBoundary(const std::string& s, size_t pos) {
  return pos >= s.size() || !std::isalnum(static_cast<unsigned char>(s[pos]));
}

// One example before its images are encoded.
struct Prepared {
  std::vector<text::TokenizedChunk> chunks;
  std::vector<ImageRole> roles;
  std::vector<int32_t> answer;     // with EOS
  std::vector<float> weights;      // per answer token
  int verdictIndex = -1;           // into `answer`
  std::vector<int> letterIndices;  // every "Image X" letter, into `answer`
  std::vector<int> aspectTokens;   // a local distortion's aspect words, into `answer`
};

// Byte span [begin, end) of each token of an answer's encoding in the answer: the pieces
// join to " " + answer (SentencePiece's dummy prefix), so the first begins at -1.
std::vector<std::pair<long, long>> tokenByteSpans(const text::Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  std::vector<std::pair<long, long>> spans;
  long offset = -1;
  for (int32_t id : ids) {
    const long begin = offset;
    offset += long(tokenizer.pieceBytes(id).size());
    spans.emplace_back(begin, offset);
  }
  return spans;
}

}  // namespace

std::vector<float> answerTokenWeights(const text::Tokenizer& tokenizer, const std::string& answer,
                                      const std::vector<int32_t>& ids, double keyWeight, bool comparatives) {
  std::vector<float> w(ids.size(), 1.f);
  if (keyWeight == 1.0) return w;
  // Byte ranges of the judgement words (whole words only: "mild" but not "mildly").
  std::vector<std::pair<size_t, size_t>> ranges;
  auto find = [&](const std::vector<std::string>& phrases) {
    for (const auto& phrase : phrases)
      for (size_t p = answer.find(phrase); p != std::string::npos; p = answer.find(phrase, p + 1))
        if ((p == 0 || wordBoundary(answer, p - 1)) && wordBoundary(answer, p + phrase.size()))
          ranges.emplace_back(p, p + phrase.size());
  };
  find(data::keyPhrases());
  if (comparatives) find(data::comparativePhrases());
  if (ranges.empty()) return w;
  const auto spans = tokenByteSpans(tokenizer, ids);
  for (size_t t = 0; t < ids.size(); ++t)
    for (const auto& [a, b] : ranges)
      if (spans[t].first < long(b) && spans[t].second > long(a)) w[t] = float(keyWeight);
  return w;
}

std::vector<int> aspectWordTokens(const text::Tokenizer& tokenizer, const std::string& answer,
                                  const std::vector<int32_t>& ids, int aspect) {
  std::vector<int> tokens;
  const auto ranges = data::aspectWordRanges(aspect, answer);
  if (ranges.empty()) return tokens;
  const auto spans = tokenByteSpans(tokenizer, ids);
  for (size_t t = 0; t < ids.size(); ++t)
    for (const auto& [a, b] : ranges)
      if (spans[t].first < long(b) && spans[t].second > long(a)) {
        tokens.push_back(int(t));
        break;
      }
  return tokens;
}

int verdictLetterIndex(const std::vector<int32_t>& ids, const text::VerdictTokens& v, int mention) {
  if (mention < 0) return -1;
  const std::vector<int> letters = text::imageLetterIndices(ids, v);
  return size_t(mention) < letters.size() ? letters[size_t(mention)] : -1;
}

namespace {

// 1. Text: prompt chunks, answer ids, token weights, where the letters are.
Result<std::vector<Prepared>> prepareText(const text::Tokenizer& tokenizer,
                                          const std::vector<data::TrainingExample>& examples,
                                          const LanguageBatchOptions& o) {
  std::vector<Prepared> prepared(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    const auto& ex = examples[i];
    auto prompt = text::buildPrompt(ex.prompt);
    if (!prompt) return makeError("record " + ex.id + ": " + prompt.message());
    Prepared& p = prepared[i];
    p.chunks = text::tokenizePrompt(prompt.value(), tokenizer);
    p.roles = prompt->images();
    p.answer = tokenizer.encode(ex.answer);
    p.weights = ex.prompt.task == text::Task::Comparison && !o.weighComparatives
                    ? std::vector<float>(p.answer.size(), 1.f)
                    : answerTokenWeights(tokenizer, ex.answer, p.answer, o.keyWordWeight, o.weighComparatives);
    p.verdictIndex = verdictLetterIndex(p.answer, o.verdict, ex.verdictMention);
    // A verdict sentence that names the loser first ("In conclusion, Image A is worse than
    // Image B"): supervised only when asked (its letter is the loser's).
    const bool namesLoser =
        p.verdictIndex >= 0 && ex.winner && o.verdict.letterOf(p.answer[size_t(p.verdictIndex)]) != ex.winner;
    if (namesLoser && !o.loserFirstVerdicts) p.verdictIndex = -1;
    p.letterIndices = text::imageLetterIndices(p.answer, o.verdict);
    const data::ImageTruth& t = ex.truthA;
    if (ex.prompt.task == text::Task::Description && t.local && t.localAspect >= 0 && t.region[2] > 0 &&
        t.region[3] > 0)
      p.aspectTokens = aspectWordTokens(tokenizer, ex.answer, p.answer, t.localAspect);
    p.answer.push_back(tokenizer.eosId());
    p.weights.push_back(1.f);
  }
  return prepared;
}

// Where an image's grid cells lie over its pixels.
struct CellGrid {
  int height = 0, width = 0, cellSize = 0;
  bool classToken = false;  // the first token is not a cell
  double scale = 1.0;       // encoder pixels per source pixel
};
// What the images give each example: its visual tokens and cell grid per role, and the
// heads' probability that the winner is better (-1: no target).
struct EncodedBatch {
  std::vector<std::map<ImageRole, at::Tensor>> visual;  // [tokens, hidden] per role
  std::vector<std::map<ImageRole, CellGrid>> grids;
  std::vector<float> headTrust;
};

template <class Key>
std::uint64_t groupHash(const Key& key) {
  std::uint64_t h = data::mixSeed(std::uint64_t(std::get<0>(key)), std::uint64_t(std::get<1>(key)));
  for (ImageRole role : std::get<2>(key)) h = data::mixSeed(h, std::uint64_t(role) + 1);
  for (double w : std::get<3>(key)) h = data::mixSeed(h, std::uint64_t(std::llround(w * 1e6)));
  return h;
}

// 2. Images: examples with the same image size, roles and preference weights are
// encoded together (the weights reach the quality tokens as they do at inference).
Result<EncodedBatch> encodeBatchImages(const model::MultimodalModel& model,
                                       const std::vector<data::TrainingExample>& examples,
                                       const std::vector<Prepared>& prepared, const LanguageBatchOptions& o) {
  using GroupKey = std::tuple<int, int, std::vector<ImageRole>, std::array<double, 5>>;
  std::map<GroupKey, std::vector<size_t>> groups;
  for (size_t i = 0; i < examples.size(); ++i)
    groups[{examples[i].a.cols, examples[i].a.rows, prepared[i].roles,
            preferenceAspectWeights(examples[i].prompt.preference)}]
        .push_back(i);
  EncodedBatch out;
  out.visual.resize(examples.size());
  out.grids.resize(examples.size());
  out.headTrust.assign(examples.size(), -1.f);
  for (const auto& [key, members] : groups) {
    model::RoleImages images;
    for (ImageRole role : std::get<2>(key))
      for (size_t i : members) images[role].push_back(imageOf(examples[i], role));
    model::EncodeOptions encode;
    encode.aspectWeights = std::get<3>(key);
    if (!o.tokenGridChoices.empty()) {
      // A function of the step and the group, not of the group's place in the batch: a
      // rank that holds part of the batch draws what one process holding all of it draws.
      const std::uint64_t draw = data::mixSeed(o.seed ^ 0x9e1d, groupHash(key));
      encode.maxTokenGrid = o.tokenGridChoices[size_t(draw % o.tokenGridChoices.size())];
    }
    auto encoded = model::encodeImages(model, images, encode);
    if (!encoded) return makeError("record " + examples[members.front()].id + ": " + encoded.message());
    for (size_t k = 0; k < members.size(); ++k) {
      const size_t i = members[k];
      for (const auto& [role, e] : encoded.value()) {
        out.visual[i][role] = e.tokens[int64_t(k)];
        out.grids[i][role] = {e.gridHeight, e.gridWidth, e.cellSize, e.hasClassToken, e.scale};
      }
      const auto a = encoded->find(ImageRole::A), b = encoded->find(ImageRole::B);
      const auto& ex = examples[i];
      // The heads' P(winner better): with aspect scores the preference is weighed in as
      // at inference; without them a preference is beyond the heads, so no target.
      const bool weighted = a != encoded->end() && a->second.preferenceScore.defined();
      if (a != encoded->end() && b != encoded->end() && a->second.hasHeads && ex.winner &&
          (weighted || ex.prompt.preference.empty())) {
        const at::Tensor& sa = weighted ? a->second.preferenceScore : a->second.score;
        const at::Tensor& sb = weighted ? b->second.preferenceScore : b->second.score;
        const double d = sa[int64_t(k)].item<double>() - sb[int64_t(k)].item<double>();
        const double pA = 1.0 / (1.0 + std::exp(-model.config().vision.pairScale * d));
        out.headTrust[i] = float(ex.winner == 'A' ? pA : 1.0 - pA);
      }
    }
  }
  return out;
}

// 3. Sequences: BOS, prompt pieces, answer; labels shifted by one. Each position is
// laid out as a row of one source table (all text embeddings of the batch, then all
// visual tokens, then a zero row for padding), gathered by gatherEmbeddings.
struct Layout {
  LanguageBatch batch;                  // letters, verdicts, counts filled here
  std::vector<int64_t> textIds;         // source rows [0, textIds.size())
  std::vector<at::Tensor> visualParts;  // then these, in order
  int64_t visualRows = 0;
  std::vector<std::vector<int64_t>> sourceRow;  // per position: text row, or -(1 + visual row)
  std::vector<std::vector<int64_t>> labels;
  std::vector<std::vector<float>> weights;
  int64_t longest = 0;
};

// The cells of a grid that overlap a local distortion's region (as eval::pointingGame
// decides a hit); none when every cell or no cell does (nothing to learn).
std::optional<LanguageBatch::AttentionTarget> attentionTarget(const data::ImageTruth& truth, const CellGrid& grid,
                                                              int64_t imageStart) {
  if (grid.width <= 0 || grid.height <= 0 || grid.cellSize <= 0) return std::nullopt;
  LanguageBatch::AttentionTarget t;
  t.firstCell = imageStart + (grid.classToken ? 1 : 0);
  t.cells = int64_t(grid.width) * grid.height;
  int inside = 0;
  for (int64_t cell = 0; cell < t.cells; ++cell) {
    const bool in = data::cellOverlapsRegion(int(cell), grid.width, grid.cellSize, truth.region, grid.scale);
    t.inside.push_back(in ? 1.f : 0.f);
    inside += in;
  }
  if (inside == 0 || inside == t.cells) return std::nullopt;
  return t;
}

Result<Layout> layoutSequences(const model::MultimodalModel& model, const text::Tokenizer& tokenizer,
                               const std::vector<data::TrainingExample>& examples,
                               const std::vector<Prepared>& prepared, const EncodedBatch& encoded,
                               const LanguageBatchOptions& o) {
  Layout L;
  LanguageBatch& batch = L.batch;
  const int64_t vocab = model.decoder().config().vocabSize;
  L.sourceRow.resize(examples.size());
  L.labels.resize(examples.size());
  L.weights.resize(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    const Prepared& p = prepared[i];
    auto& rows = L.sourceRow[i];
    auto addText = [&](const std::vector<int32_t>& ids) -> Status {
      for (int32_t id : ids) {
        if (id < 0 || id >= vocab)
          return makeError("record " + examples[i].id + ": token id " + std::to_string(id) +
                           " is outside the vocabulary; tokenizer and model do not match");
        rows.push_back(int64_t(L.textIds.size()));
        L.textIds.push_back(id);
      }
      return Ok{};
    };
    if (auto ok = addText({tokenizer.bosId()}); !ok) return ok.error();
    int64_t assessedStart = -1;  // the last image's first token: the assessed image of a description
    for (const auto& c : p.chunks) {
      if (c.kind == text::PromptChunk::Kind::Text) {
        if (auto ok = addText(c.ids); !ok) return ok.error();
        continue;
      }
      if (c.role == p.roles.back()) assessedStart = int64_t(rows.size());
      const at::Tensor& v = encoded.visual[i].at(c.role);  // [tokens, hidden]
      for (int64_t k = 0; k < v.size(0); ++k) rows.push_back(-(1 + L.visualRows + k));
      L.visualRows += v.size(0);
      L.visualParts.push_back(v);
    }
    const int64_t promptLength = int64_t(rows.size());
    if (auto ok = addText(p.answer); !ok) return ok.error();
    const int64_t T = int64_t(rows.size());
    L.labels[i].assign(size_t(T), kIgnoreLabel);
    L.weights[i].assign(size_t(T), 0.f);
    // Position t predicts token t + 1: the last prompt position predicts the first answer token.
    for (size_t k = 0; k < p.answer.size(); ++k) {
      L.labels[i][size_t(promptLength - 1) + k] = p.answer[k];
      L.weights[i][size_t(promptLength - 1) + k] = p.weights[k];
    }
    if (p.verdictIndex >= 0) {
      batch.verdictPositions.emplace_back(int64_t(i), promptLength - 1 + p.verdictIndex);
      batch.verdictLetter.push_back(o.verdict.letterOf(p.answer[size_t(p.verdictIndex)]));
      batch.verdictTarget.push_back(encoded.headTrust[i]);
    }
    for (int k : p.letterIndices) {
      batch.letterPositions.emplace_back(int64_t(i), promptLength - 1 + k);
      batch.letterWritten.push_back(o.verdict.letterOf(p.answer[size_t(k)]));
    }
    if (!p.aspectTokens.empty() && assessedStart >= 0)
      if (auto target = attentionTarget(examples[i].truthA, encoded.grids[i].at(p.roles.back()), assessedStart)) {
        target->row = int64_t(i);
        for (int k : p.aspectTokens) target->queries.push_back(promptLength - 1 + k);
        batch.attentionTargets.push_back(std::move(*target));
      }
    batch.answerTokens += int64_t(p.answer.size());
    L.longest = std::max(L.longest, T);
  }
  return L;
}

// 4. One gather: every row of the batch from the source table in one index_select, a
// single node in the autograd graph instead of one embedding and one concatenation per piece.
LanguageBatch gatherEmbeddings(const model::LlamaDecoder& decoder, Layout& L) {
  const int64_t B = int64_t(L.sourceRow.size()), textRows = int64_t(L.textIds.size());
  const at::Tensor text = decoder.embed(at::tensor(L.textIds, at::kLong));  // [textRows, hidden]
  std::vector<at::Tensor> table{text};
  for (const auto& v : L.visualParts) table.push_back(v.to(text.scalar_type()));
  table.push_back(at::zeros({1, text.size(1)}, text.options()));  // padding
  const int64_t padRow = textRows + L.visualRows;
  std::vector<int64_t> gather(size_t(B * L.longest), padRow);
  LanguageBatch& batch = L.batch;
  batch.labels = at::full({B, L.longest}, kIgnoreLabel, at::kLong);
  batch.weights = at::zeros({B, L.longest}, at::kFloat);
  for (int64_t i = 0; i < B; ++i) {
    const auto& rows = L.sourceRow[size_t(i)];
    for (size_t t = 0; t < rows.size(); ++t)
      gather[size_t(i * L.longest) + t] = rows[t] >= 0 ? rows[t] : textRows + (-rows[t] - 1);
    const int64_t T = int64_t(rows.size());
    batch.labels[i].narrow(0, 0, T).copy_(at::tensor(L.labels[size_t(i)], at::kLong));
    batch.weights[i].narrow(0, 0, T).copy_(at::tensor(L.weights[size_t(i)], at::kFloat));
  }
  // Right padding needs no attention mask: causal attention never looks ahead.
  batch.embeds =
      at::cat(table).index_select(0, at::tensor(gather, at::kLong)).view({B, L.longest, -1});  // [B, T, hidden]
  return std::move(L.batch);
}

}  // namespace

Result<LanguageBatch> makeLanguageBatch(const model::MultimodalModel& model, const text::Tokenizer& tokenizer,
                                        const std::vector<data::TrainingExample>& examples,
                                        const LanguageBatchOptions& o) {
  auto prepared = prepareText(tokenizer, examples, o);
  if (!prepared) return prepared.error();
  auto encoded = encodeBatchImages(model, examples, prepared.value(), o);
  if (!encoded) return encoded.error();
  auto layout = layoutSequences(model, tokenizer, examples, prepared.value(), encoded.value(), o);
  if (!layout) return layout.error();
  const int64_t positions = model.decoder().config().maxPositions;
  if (layout->longest > positions)
    return makeError("a training sequence is " + std::to_string(layout->longest) +
                     " tokens long, more than the model's " + std::to_string(positions) + " positions");
  return gatherEmbeddings(model.decoder(), layout.value());
}

}  // namespace dqa::train
