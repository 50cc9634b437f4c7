#pragma once
// Whole photographs at full resolution: the frame is covered by tiles of the model's
// input size, each tile's A/B comparison is asked in batches, the worse side of each
// decided tile is described, and the tiles are combined into a verdict map, an overall
// verdict and an answer in words. Torch-free header (the UI includes it).
#include <opencv2/core.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/generate/engine.h"
#include "core/tiled/aggregate.h"
#include "core/tiled/tiling.h"

namespace dqa::tiled {

struct WholeImageProgress {
  enum class Stage { Judging, Describing } stage = Stage::Judging;
  int done = 0, total = 0;  // tiles in this stage
  double elapsedMs = 0;
};

struct WholeImageOptions {
  int tileSize = 0;            // 0: the model's input size (image_size)
  double minDifference = 1.0;  // skip tiles where mean |A - B| is below this (grey levels)
  int batchSize = 32;
  bool describe = true;        // describe the worse side of each decided tile
  int describeTokens = 40;     // per description (the first sentences name the main distortion)
  std::string question;        // the comparison question (empty: the default)
  std::string preference;      // applied to every tile's question and to the aggregation
  float closeStrength = 0.2f;  // see AggregateOptions
  bool bf16OnCpu = true;       // see BatchOptions (about 2-3x faster where the CPU has bf16)
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const WholeImageProgress&)> progress;
};

struct WholeImageResult {
  TileGrid grid;
  std::vector<TileVerdict> tiles;  // as grid.tiles
  OverallVerdict overall;
  std::string summary;  // the answer in words
  bool withReference = false;
  bool preferenceUnderstood = false;  // the preference named an aspect the aggregation can weigh
  double judgeMs = 0, describeMs = 0, totalMs = 0;
  const TileVerdict* tileAt(int x, int y) const;  // the tile whose rect holds pixel (x, y), last one wins
};

// `reference` may be empty (no-reference comparison). A and B (and the reference) must
// have the same size. Never throws; "cancelled" when options.cancel was set.
Result<WholeImageResult> assessWholeImage(Engine& engine, const cv::Mat& reference, const cv::Mat& imageA,
                                          const cv::Mat& imageB, const WholeImageOptions& options);

}  // namespace dqa::tiled
