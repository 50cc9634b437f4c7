#pragma once
// depictqa whole: compare two whole photographs tile by tile (core/tiled).
#include <atomic>
#include <string>

#include "core/generate/engine.h"

namespace dqa::cli {

struct WholeOptions {
  std::string reference, imageA, imageB;  // reference optional
  std::string question, preference;
  std::string mapPath;   // PNG of the verdict map (optional)
  std::string jsonPath;  // JSON with every tile (optional, - = stdout)
  int tileSize = 0;
  int batchSize = 32;
  double minDifference = 1.0;
  bool describe = true;
  bool bf16OnCpu = true;
  bool progress = true;
};

int runWhole(const WholeOptions& options, const EngineOptions& engineOptions, const std::atomic<bool>* cancel);

}  // namespace dqa::cli
