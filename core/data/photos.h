#pragma once
// Reference photographs (fetched by scripts/fetch_photos.sh from Debian packages) and the
// splits: by source photo (never by patch), with near-duplicate photos (same 8x8 average
// hash, e.g. one wallpaper shipped by two packages) kept on the same side, plus a split
// that holds out whole distortion types.
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::data {

enum class Split { Train = 0, Val, ValTypes };
const char* splitName(Split s);  // "train", "val", "val_types"

struct Photo {
  std::string id;  // path relative to the photo directory
  std::string path;
  cv::Mat rgb;                  // CV_8UC3, RGB, native resolution (never downscaled)
  std::uint64_t groupHash = 0;  // 8x8 average hash: near-duplicates share it
  bool validation = false;
};

struct SplitConfig {
  double valFraction = 0.15;    // share of photo groups held out for validation
  std::uint64_t seed = 0x5eed;  // the split is a pure function of (group, seed)
  // Types never used for training; validated on validation photos only. One per
  // aspect, chosen so that each aspect keeps other types of its kind for training
  // (motion blur vs Gaussian/lens blur, Lab saturation vs HSV saturation, multiplicative
  // vs white noise, JPEG2000 vs JPEG, mean shift vs brighten/darken).
  std::vector<int> heldOutTypes = {3, 8, 9, 14, 18};
};

// 64-bit average hash of a downscaled grey version (for grouping duplicates).
std::uint64_t averageHash(const cv::Mat& rgb);
bool isValidationGroup(std::uint64_t groupHash, const SplitConfig& c);
// Types allowed in a split: train/val use every type not held out; val_types only those.
std::vector<int> typesForSplit(Split s, const SplitConfig& c);

struct PhotoLoadOptions {
  int minSide = 96;   // smaller files are skipped (a 64 px patch needs 96 with margin)
  int maxPhotos = 0;  // 0 = all
};

// Loads every image under `dir` (recursively: png, jpg, jpeg, bmp, tif, tiff, webp, ppm).
// Errors name the directory and say how to fetch photos.
Result<std::vector<Photo>> loadPhotos(const std::string& dir, const SplitConfig& split,
                                      const PhotoLoadOptions& options = {});

// Synthetic stand-ins for tests and for runs without fetched photos: gradients,
// checkerboards, noise textures, text, shapes; deterministic by seed.
cv::Mat syntheticImage(int width, int height, std::uint64_t seed);
std::vector<Photo> syntheticPhotos(int count, int width, int height, const SplitConfig& split, std::uint64_t seed);

}  // namespace dqa::data
