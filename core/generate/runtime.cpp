// libtorch's CPU runtime: thread count and a check for the slow reference BLAS.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

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

}  // namespace

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

RuntimeReport configureRuntime(int threads) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  RuntimeReport report;
  // libtorch here defaults to one thread (ENVIRONMENT trap 2).
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  report.threads = threads > 0 ? threads : cores;
  at::set_num_threads(report.threads);
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
