// parseSafetensorsHeader over arbitrary bytes, with the buffer size and the declared file
// size both taken from the input. Besides "no crash, no UB", every accepted header must
// satisfy the invariants the reader relies on (checked with __builtin_trap).
#include <cstddef>
#include <cstdint>

#include "core/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dqa::io;
  for (uint64_t fileSize : {uint64_t(size), uint64_t(size) + 4096}) {
    auto header = parseSafetensorsHeader(data, size, fileSize);
    if (!header) {
      if (header.message().empty()) __builtin_trap();
      continue;
    }
    const SafetensorsHeader& h = header.value();
    if (h.dataOffset < 8 || h.dataOffset > fileSize) __builtin_trap();
    const uint64_t dataSize = fileSize - h.dataOffset;
    for (const auto& [name, e] : h.tensors) {
      if (e.begin > e.end || e.end > dataSize) __builtin_trap();
      if (dtypeSize(e.dtype) == 0 || e.shape.size() > 8) __builtin_trap();
      uint64_t numel = 1;
      for (int64_t d : e.shape) {
        if (d < 0) __builtin_trap();
        numel *= static_cast<uint64_t>(d);  // bounded by the parser: no overflow
      }
      if (numel * dtypeSize(e.dtype) != e.end - e.begin) __builtin_trap();
      if (e.numel() < 0) __builtin_trap();
    }
  }
  return 0;
}
