#include "core/model/fusion.h"

namespace dqa::model {

Result<FusedSequence> fuse(const LlamaDecoder& decoder, int32_t bos, const std::vector<FusionPiece>& pieces) {
  const int64_t hidden = decoder.config().hiddenSize;
  std::vector<at::Tensor> parts;
  FusedSequence seq;
  int64_t pos = 0;
  auto addText = [&](const std::vector<int32_t>& ids) {
    if (ids.empty()) return;
    std::vector<int64_t> wide(ids.begin(), ids.end());
    at::Tensor t = at::tensor(wide, at::kLong).view({1, -1});  // [1, n]
    parts.push_back(decoder.embed(t));                         // [1, n, hidden]
    pos += static_cast<int64_t>(ids.size());
  };
  if (bos >= 0) addText({bos});
  for (const auto& p : pieces) {
    if (!p.isImage()) {
      for (int32_t id : p.ids)
        if (id < 0 || id >= decoder.config().vocabSize)
          return makeError("token id " + std::to_string(id) + " is outside the vocabulary (" +
                           std::to_string(decoder.config().vocabSize) + "); tokenizer and model do not match");
      addText(p.ids);
      continue;
    }
    if (p.visual.dim() != 2 || p.visual.size(1) != hidden)
      return makeError("visual embeddings of shape " + shapeString(p.visual.sizes()) +
                       " do not fit a decoder of width " + std::to_string(hidden));
    ImageSpan span;
    span.role = p.role;
    span.start = pos;
    span.length = p.visual.size(0);
    span.gridHeight = p.gridHeight;
    span.gridWidth = p.gridWidth;
    span.hasClassToken = p.hasClassToken;
    seq.spans.push_back(span);
    parts.push_back(p.visual.unsqueeze(0).to(decoder.device(), decoder.dtype()));
    pos += span.length;
  }
  if (parts.empty()) return makeError("the prompt is empty");
  seq.embeds = at::cat(parts, 1);  // [1, T, hidden]
  return seq;
}

Result<at::Tensor> mergeImageTokens(const LlamaDecoder& decoder, const at::Tensor& ids, int64_t imageToken,
                                    const at::Tensor& visual) {
  at::Tensor mask = ids.eq(imageToken);  // [1, T]
  const int64_t slots = mask.sum().item<int64_t>();
  const int64_t rows = visual.size(0) * visual.size(1);
  if (slots != rows)
    return makeError("the prompt has " + std::to_string(slots) + " image tokens but the images give " +
                     std::to_string(rows) + " visual tokens");
  at::Tensor safeIds = ids.masked_fill(mask, 0);
  at::Tensor embeds = decoder.embed(safeIds).clone();  // [1, T, hidden]
  at::Tensor flat = visual.reshape({rows, visual.size(2)}).to(embeds.scalar_type());
  at::Tensor positions = mask.view({-1}).nonzero().view({-1});
  embeds.view({-1, embeds.size(2)}).index_copy_(0, positions, flat);
  return embeds;
}

}  // namespace dqa::model
