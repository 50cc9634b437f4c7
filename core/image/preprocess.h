#pragma once
// DepictQA's image preprocessing for the CLIP encoder: downscale only when large, pad
// with black (bottom/right) to at least minSide and to a multiple of the patch size,
// normalise with CLIP's mean/std. Torch-free: the model turns the buffer into a tensor.
#include <opencv2/core.hpp>

#include <vector>

#include "core/common/result.h"

namespace dqa::image {

struct PreprocessOptions {
  int patchSize = 14;
  int minSide = 70;                                        // DepictQA pads tiny crops up to 70 px (5x5 patches)
  int maxSide = 672;                                       // longer sides are downscaled (area filter) to this
  float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};  // CLIP
  float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
};

struct PreprocessedImage {
  std::vector<float> chw;  // [3, height, width], normalised, row-major
  int height = 0;          // padded size, multiples of patchSize
  int width = 0;
  int contentHeight = 0;  // the image itself occupies [0,contentHeight)x[0,contentWidth)
  int contentWidth = 0;
  double scale = 1.0;      // content size / source size (<= 1)
  int patchSize = 14;      // the options' patch size, for the grid
  int gridHeight() const;  // patches per column
  int gridWidth() const;
};

// The size of a cols x rows image after the downscale step alone (longer side at most
// maxSide, the shorter rounded and never below 1), and the padded patch grid it becomes:
// what preprocess() produces, without touching pixels (for budgeting prompt tokens).
cv::Size contentSize(int cols, int rows, int maxSide);
cv::Size patchGrid(int cols, int rows, const PreprocessOptions& options);

// `rgb` is CV_8UC3 or CV_16UC3 (RGB order), as LoadedImage::rgb.
Result<PreprocessedImage> preprocess(const cv::Mat& rgb, const PreprocessOptions& options = {});

}  // namespace dqa::image
