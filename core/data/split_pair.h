#pragma once
// Test pairs for whole-image mode whose answer is known region by region: image A
// carries one distortion over the left half of the frame, image B another over the
// right half, so B is better on the left and A on the right.
#include <opencv2/core.hpp>

#include <cstdint>

#include "core/data/distortions.h"

namespace dqa::data {

struct SplitPair {
  cv::Mat reference, imageA, imageB;  // RGB CV_8UC3, the reference's size
  int splitX = 0;                     // A is distorted left of it, B right of it
  // The better side for a region: 'B' wholly left of the split, 'A' wholly right, 0 across it.
  char betterIn(const cv::Rect& region) const;
};

// `inA` / `inB` regions are ignored (the halves are used). Deterministic in `seed`.
SplitPair makeSplitPair(const cv::Mat& reference, Distortion inA, Distortion inB, std::uint64_t seed);

}  // namespace dqa::data
