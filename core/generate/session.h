#pragma once
// One generation run over a loaded decoder: prefill, then token by token with a KV
// cache; greedy or temperature/top-p sampling; streaming that never splits a UTF-8
// character; cancellation; per-token probabilities; opt-in attention capture.
#include <ATen/ATen.h>

#include <memory>

#include "core/generate/types.h"
#include "core/model/llama.h"

namespace dqa::text {
class Tokenizer;
}

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

// Turns the bytes of generated tokens into text that never splits a UTF-8 character.
// Bytes that cannot form a character become U+FFFD, one per byte, as SentencePiece's
// decode does, so the streamed text equals the decoded answer.
class Utf8Stream {
 public:
  std::string push(const std::string& bytes);  // complete characters now available
  std::string finish();                        // whatever is left, as U+FFFD
 private:
  std::string pending_;
};

}  // namespace dqa::gen
