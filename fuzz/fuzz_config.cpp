// config.json and adapter_config.json parsing over arbitrary text. An accepted config must
// be within the bounds the model code relies on.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/io/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dqa::io;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = parseModelConfig(text);
  if (!cfg) {
    if (cfg.message().empty()) __builtin_trap();
  } else {
    const ModelConfig& c = cfg.value();
    if (c.architecture != Architecture::ClipVision) {
      const TextConfig& t = c.text;
      if (t.vocabSize < 1 || t.hiddenSize < 1 || t.numHeads < 1 || t.numKvHeads < 1) __builtin_trap();
      if (t.numHeads % t.numKvHeads != 0 || t.headDim < 1 || t.headDim % 2 != 0) __builtin_trap();
      if (t.bosId < 0 || t.bosId >= t.vocabSize || t.eosId < 0 || t.eosId >= t.vocabSize) __builtin_trap();
      if (t.maxPositions < 1) __builtin_trap();
    }
    if (c.architecture != Architecture::Llama) {
      const VisionConfig& v = c.vision;
      if (v.patchSize < 1 || v.numHeads < 1 || v.hiddenSize % v.numHeads != 0) __builtin_trap();
      if (v.imageSize % v.patchSize != 0) __builtin_trap();
    }
  }
  auto lora = parseLoraConfig(text);
  if (lora && (lora->rank < 1 || !(lora->scaling() >= 0))) __builtin_trap();
  if (!lora && lora.message().empty()) __builtin_trap();
  return 0;
}
