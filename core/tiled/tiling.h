#pragma once
// Whole-image mode, stage 1: cover the frame with tiles at native resolution (the
// model's input size, no downscaling) and measure what each tile holds.
#include <opencv2/core.hpp>

#include <vector>

#include "core/common/result.h"

namespace dqa::tiled {

struct Tile {
  int column = 0, row = 0;
  cv::Rect rect;          // in image pixels; always tileSize x tileSize
  double difference = 0;  // mean |A - B| over the tile, 8-bit grey levels
  double texture = 0;     // standard deviation of the reference (or A) in grey levels
  bool skipped = false;   // A and B do not differ visibly here: nothing to judge
};

struct TileGrid {
  int imageWidth = 0, imageHeight = 0;
  int tileSize = 0;
  int columns = 0, rows = 0;
  std::vector<Tile> tiles;  // row-major: tiles[row * columns + column]
  int skippedCount() const;
};

// Tiles of `tileSize` pixels covering a and b (and the reference, when not empty),
// which must all have the same size and be at least one tile large. The last column
// and row end at the border (overlapping their neighbours) so that every tile is full
// size. A tile whose mean |A - B| is below `minDifference` grey levels is skipped.
Result<TileGrid> planTiles(const cv::Mat& reference, const cv::Mat& a, const cv::Mat& b, int tileSize,
                           double minDifference);

}  // namespace dqa::tiled
