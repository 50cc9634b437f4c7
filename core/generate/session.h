#pragma once
// One generation run over a loaded decoder: prefill, then token by token with a KV
// cache; greedy or temperature/top-p sampling; streaming that never splits a UTF-8
// character; cancellation; per-token probabilities; opt-in attention capture.
#include <ATen/ATen.h>

#include <memory>

#include "core/generate/types.h"
#include "core/model/llama.h"

namespace dqa::text { class Tokenizer; }

namespace dqa::gen {

class GenerationSession {
 public:
  // `tokenizer` may be null (then no text is produced, only ids).
  GenerationSession(const model::LlamaDecoder& decoder, std::shared_ptr<const text::Tokenizer> tokenizer);

  // promptEmbeds [1, T, hidden]; `spans` say where images are (for attention maps).
  Result<GenerationResult> generate(const at::Tensor& promptEmbeds, const std::vector<ImageSpan>& spans,
                                    const SamplingParams& sampling, const AttentionOptions& attention,
                                    const GenerationCallbacks& callbacks = {});

 private:
  const model::LlamaDecoder& decoder_;
  std::shared_ptr<const text::Tokenizer> tokenizer_;
};

// Longest prefix of `bytes` that ends on a UTF-8 character boundary.
size_t completeUtf8Prefix(const std::string& bytes);

}  // namespace dqa::gen
