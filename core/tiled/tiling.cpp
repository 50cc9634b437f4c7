#include "core/tiled/tiling.h"

#include <opencv2/imgproc.hpp>

#include <string>

namespace dqa::tiled {
namespace {

// Grey, 8-bit scale, float: what "grey levels" mean for both 8- and 16-bit inputs.
cv::Mat greyLevels(const cv::Mat& rgb) {
  cv::Mat grey, out;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  grey.convertTo(out, CV_32F, rgb.depth() == CV_16U ? 1.0 / 257.0 : 1.0);
  return out;
}

std::string sizeText(const cv::Mat& m) { return std::to_string(m.cols) + "x" + std::to_string(m.rows); }

// Start offsets of tiles along one side: every `tile` pixels, the last one flush with the end.
std::vector<int> starts(int length, int tile) {
  std::vector<int> s;
  for (int x = 0; x + tile <= length; x += tile) s.push_back(x);
  if (s.empty() || s.back() + tile < length) s.push_back(length - tile);
  return s;
}

}  // namespace

int TileGrid::skippedCount() const {
  int n = 0;
  for (const auto& t : tiles) n += t.skipped;
  return n;
}

Result<TileGrid> planTiles(const cv::Mat& reference, const cv::Mat& a, const cv::Mat& b, int tileSize,
                           double minDifference) {
  if (a.empty() || b.empty()) return makeError("whole-image mode needs both image A and image B");
  if (tileSize < 8) return makeError("the tile size must be at least 8 pixels");
  if (a.size() != b.size())
    return makeError("image A is " + sizeText(a) + " but image B is " + sizeText(b) +
                     "; whole-image mode compares the same frame, so they must have the same size");
  if (!reference.empty() && reference.size() != a.size())
    return makeError("the reference is " + sizeText(reference) + " but images A and B are " + sizeText(a) +
                     "; crop or resize them to the same frame");
  if (a.cols < tileSize || a.rows < tileSize)
    return makeError("the images (" + sizeText(a) + ") are smaller than one tile (" + std::to_string(tileSize) +
                     " px); ask about them as a whole instead");
  try {
    const cv::Mat ga = greyLevels(a), gb = greyLevels(b);
    const cv::Mat gt = reference.empty() ? ga : greyLevels(reference);
    cv::Mat diff;
    cv::absdiff(ga, gb, diff);
    TileGrid grid;
    grid.imageWidth = a.cols;
    grid.imageHeight = a.rows;
    grid.tileSize = tileSize;
    const auto xs = starts(a.cols, tileSize), ys = starts(a.rows, tileSize);
    grid.columns = static_cast<int>(xs.size());
    grid.rows = static_cast<int>(ys.size());
    grid.tiles.reserve(xs.size() * ys.size());
    for (int r = 0; r < grid.rows; ++r)
      for (int c = 0; c < grid.columns; ++c) {
        Tile t;
        t.column = c;
        t.row = r;
        t.rect = cv::Rect(xs[size_t(c)], ys[size_t(r)], tileSize, tileSize);
        t.difference = cv::mean(diff(t.rect))[0];
        cv::Scalar mean, stdev;
        cv::meanStdDev(gt(t.rect), mean, stdev);
        t.texture = stdev[0];
        t.skipped = t.difference < minDifference;
        grid.tiles.push_back(t);
      }
    return grid;
  } catch (const cv::Exception& e) { return makeError(std::string("cannot tile the images: ") + e.what()); }
}

}  // namespace dqa::tiled
