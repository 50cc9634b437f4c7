#pragma once
// CPU autocast to bfloat16 for the life of a scope: the batch verdicts and the trainer's
// steps (decoder and encoder stages) share it.
#include <c10/core/ScalarType.h>

namespace dqa {

// Active where `wanted` and the CPU multiplies bf16 in hardware (cpuHasFastBf16; emulated,
// bf16 is slower than float32). On leaving, the autocast state before the scope comes
// back and the cached bf16 copies of the weights are dropped (stale once a step updates
// them). Thread-local, as autocast is: only the thread that made it may leave it.
class CpuBf16Autocast {
 public:
  explicit CpuBf16Autocast(bool wanted);
  ~CpuBf16Autocast();
  CpuBf16Autocast(const CpuBf16Autocast&) = delete;
  CpuBf16Autocast& operator=(const CpuBf16Autocast&) = delete;

 private:
  bool active_ = false, wasEnabled_ = false;
  c10::ScalarType previousType_ = c10::kBFloat16;
};

}  // namespace dqa
