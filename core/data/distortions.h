#pragma once
// The 25 KADID-10k distortion types, written from the published definitions (see
// shared/data/kadid10k/README.md and docs/data-engine.md), each with several
// implementations ("variants": blur kernels, noise spectra, codecs, colour spaces,
// resampling filters) so that a model learns the kind, not our code. Deterministic: the
// same image, distortion and seed give the same bytes on every run and thread.
#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/kadid.h"

namespace dqa::data {

struct Distortion {
  int type = 1;        // KADID type 1..25
  double level = 1.0;  // continuous level in [0,5] (1..5: KADID's published levels)
  int variant = 0;     // implementation (0 = closest to KADID's generator)
  // Local distortion: the region (in the coordinates of the image it is applied to)
  // where it applies, feathered over 2 px; empty = the whole image.
  cv::Rect region;
  double param() const { return paramAtLevel(type, level); }
  double mos() const { return mosAtLevel(type, level); }
};

// Photographic variants: distortions photographers meet that KADID's generators do not
// make (lateral chromatic aberration, demosaiced sensor noise, chroma blotches, denoiser
// smearing, wide sharpening halos), each an extra variant of the KADID type it is a kind
// of, numbered after that type's `numVariants`; 0 for most types. The sampler draws them
// only with SamplerConfig::photographicVariants.
int photographicVariantCount(int type);

// A human-readable name of a variant ("opencv_jpeg_420", "disk", ...).
std::string variantName(int type, int variant);

// Whether OpenCV can encode JPEG2000 here (OpenJPEG); checked once at run time. When it
// cannot, type 9 variant 0 falls back to our own CDF 5/3 wavelet quantisation (variant 1).
bool jpeg2000Available();
// The variant that will actually run (the JPEG2000 fallback, out-of-range variants).
int resolveVariant(int type, int variant);

// Applies one distortion to an 8-bit RGB image (CV_8UC3). Never throws; an empty or
// non-8UC3 input gives an empty result.
cv::Mat applyDistortion(const cv::Mat& rgb, const Distortion& d, std::uint64_t seed);
// Applies several in order, each with its own derived seed.
cv::Mat applyDistortions(const cv::Mat& rgb, const std::vector<Distortion>& ds, std::uint64_t seed);

// Whether square grid cell `cell` (row-major, `gridWidth` cells per row, `cellSize`
// pixels a side) overlaps a local distortion's region (x, y, w, h in source pixels) seen
// at `scale` grid pixels per source pixel: a hit of the pointing game, and an inside
// cell of the trainer's attention target.
bool cellOverlapsRegion(int cell, int gridWidth, int cellSize, const int region[4], double scale);

// Seeds derived from a base seed and a stream index (splitmix64); used everywhere so
// that every random choice is a pure function of (global seed, sample index, purpose).
std::uint64_t mixSeed(std::uint64_t seed, std::uint64_t stream);

}  // namespace dqa::data
