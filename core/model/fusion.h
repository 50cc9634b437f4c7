#pragma once
// Multimodal fusion: text token embeddings and visual embeddings laid out in one
// input sequence, as the prompt's chunks say.
#include <ATen/ATen.h>

#include <vector>

#include "core/common/result.h"
#include "core/model/image_span.h"
#include "core/model/llama.h"

namespace dqa::model {

struct FusionPiece {
  std::vector<int32_t> ids;  // text piece: token ids
  at::Tensor visual;         // image piece: [tokens, hidden]
  text::ImageRole role = text::ImageRole::Single;
  int gridHeight = 0, gridWidth = 0;
  bool hasClassToken = false;
  bool isImage() const { return visual.defined(); }
};

struct FusedSequence {
  at::Tensor embeds;             // [1, T, hidden]
  std::vector<ImageSpan> spans;  // image positions in the sequence
  int64_t length() const { return embeds.size(1); }
};

// BOS (if >= 0), then each piece in order.
Result<FusedSequence> fuse(const LlamaDecoder& decoder, int32_t bos, const std::vector<FusionPiece>& pieces);

// LLaVA style: every `imageToken` in `ids` [1, T] is replaced, in order, by the rows
// of `visual` [N, tokens, hidden] (N images). The count must match exactly.
Result<at::Tensor> mergeImageTokens(const LlamaDecoder& decoder, const at::Tensor& ids, int64_t imageToken,
                                    const at::Tensor& visual);

}  // namespace dqa::model
