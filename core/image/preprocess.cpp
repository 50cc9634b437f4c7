#include "core/image/preprocess.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <new>
#include <string>

namespace dqa::image {

int PreprocessedImage::gridHeight() const { return patchSize > 0 ? height / patchSize : 0; }
int PreprocessedImage::gridWidth() const { return patchSize > 0 ? width / patchSize : 0; }

namespace {

// Generous bound: keeps every size computation far from int overflow.
constexpr int kMaxSideLimit = 1 << 15;

Error invalid(const std::string& what) { return makeError("Cannot preprocess the image: " + what); }

Status validateOptions(const PreprocessOptions& o) {
  if (o.patchSize <= 0 || o.patchSize > kMaxSideLimit)
    return invalid("patch size " + std::to_string(o.patchSize) + " must be in 1.." + std::to_string(kMaxSideLimit) +
                   ".");
  if (o.minSide < 0 || o.minSide > kMaxSideLimit)
    return invalid("minimum side " + std::to_string(o.minSide) + " must be in 0.." + std::to_string(kMaxSideLimit) +
                   ".");
  if (o.maxSide <= 0 || o.maxSide > kMaxSideLimit)
    return invalid("maximum side " + std::to_string(o.maxSide) + " must be in 1.." + std::to_string(kMaxSideLimit) +
                   ".");
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(o.mean[c]))
      return invalid("the normalisation mean of channel " + std::to_string(c) + " is not a finite number.");
    if (!(o.std[c] > 0.0f) || !std::isfinite(o.std[c]))
      return invalid("the normalisation standard deviation of channel " + std::to_string(c) +
                     " must be a positive number.");
  }
  return Ok{};
}

Status validateInput(const cv::Mat& rgb) {
  if (rgb.empty()) return invalid("the image is empty (0x0 pixels). Load an image first.");
  if (rgb.type() != CV_8UC3 && rgb.type() != CV_16UC3)
    return invalid(
        "expected 3-channel RGB with 8 or 16 bits per channel (CV_8UC3 or "
        "CV_16UC3), got " +
        cv::typeToString(rgb.type()) + ". Load the image with dqa::image::loadImage.");
  return Ok{};
}

int roundUp(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

// Float RGB in [0,1], downscaled (area filter) so that the longer side is at most maxSide.
// Resizing happens before the float conversion, in the source depth: a full-size float
// copy of a 24-megapixel photo would cost ~300 MB, and the reference pipeline (PIL)
// resizes 8-bit images in 8 bits as well. Returns the scale applied.
double toUnitFloat(const cv::Mat& rgb, int maxSide, cv::Mat& out) {
  const int longSide = std::max(rgb.rows, rgb.cols);
  double scale = 1.0;
  cv::Mat resized = rgb;
  if (longSide > maxSide) {
    scale = static_cast<double>(maxSide) / longSide;
    cv::resize(rgb, resized, contentSize(rgb.cols, rgb.rows, maxSide), 0, 0, cv::INTER_AREA);
  }
  resized.convertTo(out, CV_32F, rgb.depth() == CV_16U ? 1.0 / 65535.0 : 1.0 / 255.0);
  return scale;
}

// Writes the normalised content into a [3, H, W] buffer prefilled with the normalised
// value of black, which is what the padding is.
void writeChw(const cv::Mat& unit, const PreprocessOptions& o, PreprocessedImage& p) {
  const std::size_t plane = static_cast<std::size_t>(p.height) * p.width;
  p.chw.assign(3 * plane, 0.0f);
  for (int c = 0; c < 3; ++c) {
    float* out = p.chw.data() + c * plane;
    const float mean = o.mean[c];
    const float inverseStd = 1.0f / o.std[c];
    std::fill(out, out + plane, (0.0f - mean) * inverseStd);
    for (int y = 0; y < unit.rows; ++y) {
      const auto* row = unit.ptr<cv::Vec3f>(y);
      float* dst = out + static_cast<std::size_t>(y) * p.width;
      for (int x = 0; x < unit.cols; ++x) dst[x] = (row[x][c] - mean) * inverseStd;
    }
  }
}

}  // namespace

cv::Size contentSize(int cols, int rows, int maxSide) {
  const int longSide = std::max(rows, cols);
  if (longSide <= maxSide) return {cols, rows};
  const double scale = static_cast<double>(maxSide) / longSide;
  // The longer side lands exactly on maxSide; the shorter is rounded, never below 1.
  auto scaled = [&](int side) {
    return side == longSide ? maxSide : std::max(1, static_cast<int>(std::lround(side * scale)));
  };
  return {scaled(cols), scaled(rows)};
}

cv::Size patchGrid(int cols, int rows, const PreprocessOptions& o) {
  const cv::Size content = contentSize(cols, rows, o.maxSide);
  return {roundUp(std::max(content.width, o.minSide), o.patchSize) / o.patchSize,
          roundUp(std::max(content.height, o.minSide), o.patchSize) / o.patchSize};
}

Result<PreprocessedImage> preprocess(const cv::Mat& rgb, const PreprocessOptions& options) {
  if (Status s = validateOptions(options); !s) return s.error();
  if (Status s = validateInput(rgb); !s) return s.error();
  try {
    cv::Mat unit;
    PreprocessedImage p;
    p.scale = toUnitFloat(rgb, options.maxSide, unit);
    p.patchSize = options.patchSize;
    p.contentHeight = unit.rows;
    p.contentWidth = unit.cols;
    p.height = roundUp(std::max(unit.rows, options.minSide), options.patchSize);
    p.width = roundUp(std::max(unit.cols, options.minSide), options.patchSize);
    writeChw(unit, options, p);
    return p;
  } catch (const cv::Exception& e) { return invalid("OpenCV failed (" + e.err + ")."); } catch (const std::bad_alloc&) {
    return invalid("not enough memory.");
  }
}

}  // namespace dqa::image
