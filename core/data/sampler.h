#pragma once
// One training sample from a photo: a native-resolution patch (the reference), one or
// two distorted versions, their labels, the questionnaire and the texts. Everything is a
// pure function of (photos, config, sample index): any thread, any order, same bytes.
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/photos.h"
#include "core/data/questionnaire.h"
#include "core/data/textgen.h"

namespace dqa::data {

struct SamplerConfig {
  std::uint64_t seed = 1;
  std::vector<int> patchSizes = {64, 96, 128};  // square patches, cropped at 100 %
  int margin = 16;                              // context cropped around the patch, distorted, then cut off
  std::vector<int> types;                       // allowed KADID types (empty = all 25)
  std::array<double, 3> taskShare = {1.0 / 3, 1.0 / 3, 1.0 / 3};  // description/comparison/reasoning
  double fullReferenceShare = 0.5;
  double preferenceShare = 0.2;  // of pair samples
  double localShare = 0.12;      // of distorted images: one distortion confined to a region
  // Number of distortions on one image: 0, 1, 2, 3 with these weights.
  std::array<double, 4> countWeights = {0.04, 0.64, 0.26, 0.06};
  double sameTypePairShare = 0.35;  // pairs with one type at two levels (fine-grained, ties)
  double subLevelShare = 0.1;       // levels in [0,1): blends towards the undistorted image
  // Also draw the photographic variants (distortions.h). Off in the shipped recipe; while
  // off, every sample is the same bytes as before the variants existed.
  bool photographicVariants = false;
  TextOptions text;
};

struct Sample {
  std::uint64_t index = 0;
  std::string photoId;
  cv::Rect crop;      // in the photo
  cv::Mat reference;  // CV_8UC3 RGB
  cv::Mat a;          // the assessed image (description) or Image A
  cv::Mat b;          // Image B (pairs)
  Questionnaire questionnaire;
  TextSample text;
};

// `photos` must be non-empty. Returns false only if no photo is large enough.
bool generateSample(const std::vector<const Photo*>& photos, const SamplerConfig& config, std::uint64_t index,
                    Sample* out);

// A random distortion set (exposed for tests and the contact sheet).
std::vector<Distortion> randomDistortions(cv::RNG& rng, const SamplerConfig& config, int count, cv::Size patch);

}  // namespace dqa::data
