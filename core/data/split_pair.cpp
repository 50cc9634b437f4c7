#include "core/data/split_pair.h"

namespace dqa::data {

char SplitPair::betterIn(const cv::Rect& region) const {
  if (region.x + region.width <= splitX) return 'B';
  if (region.x >= splitX) return 'A';
  return 0;
}

SplitPair makeSplitPair(const cv::Mat& reference, Distortion inA, Distortion inB, std::uint64_t seed) {
  SplitPair p;
  p.reference = reference;
  p.splitX = reference.cols / 2;
  inA.region = cv::Rect(0, 0, p.splitX, reference.rows);
  inB.region = cv::Rect(p.splitX, 0, reference.cols - p.splitX, reference.rows);
  p.imageA = applyDistortion(reference, inA, mixSeed(seed, 1));
  p.imageB = applyDistortion(reference, inB, mixSeed(seed, 2));
  return p;
}

}  // namespace dqa::data
