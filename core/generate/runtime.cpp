// libtorch's CPU runtime: thread count, the allocator's policy for large tensors and a
// check for the slow reference BLAS.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/generate/bf16_autocast.h"
#include "core/generate/engine.h"

namespace dqa {
namespace {

// Which BLAS the process really loaded: Debian's alternatives decide what
// libblas.so.3 is, so look at the mapped files rather than at link-time names.
std::string loadedBlas() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    if (line.find("libopenblas") != std::string::npos || line.find("/openblas") != std::string::npos) return "openblas";
    if (line.find("libmkl") != std::string::npos) return "mkl";
    if (line.find("/blas/libblas.so") != std::string::npos) found = "reference";
  }
  return found;
}

// Tensors of tens to hundreds of MB (a 24 MP verdict map's tiles, a batch's activations)
// are over glibc's mmap threshold: each is mapped afresh and unmapped when freed, and the
// kernel zeroes every page again on first touch. Kept in the heap, they are reused:
// depictqa-bench-whole's 24 MP map spent 16.5 of its 51 CPU seconds in the kernel, 1.3
// this way (docs/whole-image.md). The price is memory kept after a large job until
// releaseFreedMemory() or the end of the process. A user's own GLIBC_TUNABLES for malloc
// are left as they are.
#if defined(__GLIBC__)
bool userTunedMalloc() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return tunables && std::strstr(tunables, "glibc.malloc.");
}
#endif

void keepLargeAllocationsForReuse() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    if (userTunedMalloc()) return;
    mallopt(M_MMAP_MAX, 0);         // large blocks come from the heap too
    mallopt(M_TRIM_THRESHOLD, -1);  // and stay there when freed (mallopt(3): -1 never trims)
  });
#endif
}

}  // namespace

void shareOneHeapAcrossThreads() {
#if defined(__GLIBC__)
  if (userTunedMalloc()) return;
  mallopt(M_ARENA_MAX, 1);
#endif
  keepLargeAllocationsForReuse();
}

void releaseFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

bool cpuHasFastBf16() {
  static const bool has = [] {
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line))
      if (line.rfind("flags", 0) == 0)
        return line.find(" avx512_bf16") != std::string::npos || line.find(" amx_bf16") != std::string::npos;
    return false;
  }();
  return has;
}

CpuBf16Autocast::CpuBf16Autocast(bool wanted) : active_(wanted && cpuHasFastBf16()) {
  if (!active_) return;
  wasEnabled_ = at::autocast::is_cpu_enabled();
  previousType_ = at::autocast::get_autocast_cpu_dtype();
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
}

CpuBf16Autocast::~CpuBf16Autocast() {
  if (!active_) return;
  at::autocast::set_cpu_enabled(wasEnabled_);
  at::autocast::set_autocast_cpu_dtype(previousType_);
  at::autocast::clear_cache();
}

RuntimeReport configureRuntime(int threads) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  RuntimeReport report;
  // libtorch here defaults to one thread (ENVIRONMENT trap 2).
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  report.threads = threads > 0 ? threads : cores;
  at::set_num_threads(report.threads);
  keepLargeAllocationsForReuse();
  // Denormal floats (tiny Adam moments, attention tails) are ~100x slower on x86;
  // flushing them to zero changes no result that matters and keeps steps fast.
  at::globalContext().setFlushDenormal(true);

  // Debian's libtorch falls back to the reference BLAS unless OpenBLAS is installed:
  // 8 GFLOP/s instead of >200. Measure instead of guessing from library names.
  c10::InferenceMode guard;
  const int64_t n = 384;
  at::Tensor a = at::rand({n, n}), b = at::rand({n, n});
  at::matmul(a, b);  // warm-up
  const int reps = 4;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) at::matmul(a, b);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report.matmulGflops = 2.0 * n * n * n * reps / s / 1e9;
  // A busy machine also gives low figures, so only a low figure without an optimised
  // BLAS in the process counts as the slow reference BLAS.
  const std::string blas = loadedBlas();
  if (blas == "reference" || (blas.empty() && report.matmulGflops < 20.0))
    report.warning = "matrix multiplication runs at " + std::to_string(int(report.matmulGflops)) +
                     " GFLOP/s: the slow reference BLAS seems active. Install an optimised BLAS "
                     "(apt-get install libopenblas0-openmp) for ~20x faster answers.";
  return report;
}

}  // namespace dqa
