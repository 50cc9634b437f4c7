// buildPrompt over arbitrary question/preference bytes and flags: either a clear error,
// or a prompt whose text chunks contain no reserved token or image tag from the user
// (the template's own tags live only at the chunk boundaries it creates).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/text/prompt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dqa::text;
  FuzzedDataProvider in(data, size);
  PromptRequest r;
  const uint8_t flags = in.ConsumeIntegral<uint8_t>();
  r.task = static_cast<Task>(flags % 3);
  r.withReference = flags & 4;
  r.shortAnswer = flags & 8;
  r.question = in.ConsumeRandomLengthString(8192);
  r.preference = in.ConsumeRemainingBytesAsString();
  auto prompt = buildPrompt(r);
  if (!prompt) {
    if (prompt.message().empty()) __builtin_trap();
    return 0;
  }
  const Prompt& p = prompt.value();
  if (p.images() != requiredImages(r)) __builtin_trap();
  for (const char* reserved : {"</s>", "<s>", "<unk>", "<Img"})
    if (p.question.find(reserved) != std::string::npos) __builtin_trap();
  if (p.question.find('\0') != std::string::npos) __builtin_trap();
  (void)p.debugString();
  Task t;
  (void)parseTask(r.question, &t);
  return 0;
}
