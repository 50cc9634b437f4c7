#pragma once
// Internal to core/data: distortions photographers meet that KADID-10k's generators do
// not make, each an extra variant of the KADID type it is a kind of, so that it carries
// that type's parameter, levels and human scores (docs/data-engine.md, "Photographic
// variants"). Drawn only with SamplerConfig::photographicVariants; the shipped recipe
// leaves them out. "rgb8" is CV_8UC3 RGB.
#include <opencv2/core.hpp>

namespace dqa::data {

// The type's photographic variant (its name; the image with it applied at parameter p),
// for a type with one (photographicVariantCount in distortions.h); "" and a copy of the
// image otherwise.
const char* photographicVariantName(int type);
cv::Mat applyPhotographicVariant(const cv::Mat& rgb8, int type, double p, cv::RNG& rng);

namespace photographic {

// Type 5: lateral chromatic aberration. Red magnified and blue shrunk about the centre,
// so that each is `shift` px off green at the corners (a lens's radial colour fringes).
cv::Mat lateralChromaticAberration(const cv::Mat& rgb8, double shift);

// Type 11: a raw sensor's noise after demosaicing. Signal-dependent (variance
// var * (0.2 + 1.6 x): `var` at mid-grey) on an RGGB mosaic, then bilinearly demosaiced
// and renormalised to the mosaic's variance, so it is correlated across neighbours and
// channels the way a camera's is.
cv::Mat demosaicedSensorNoise(const cv::Mat& rgb8, double var, cv::RNG& rng);

// Type 12: chroma blotches. The three components' noise power (N(0, var) each, as the
// KADID variant) put into Cb and Cr alone, smoothed over ~2 px: a phone's high-ISO colour
// mottle with clean luminance.
cv::Mat chromaBlotches(const cv::Mat& rgb8, double var, cv::RNG& rng);

// Type 15: denoiser smearing. N(0, var) noise removed by non-local means
// (fastNlMeansDenoisingColored, h = 0.9 sigma): waxy, flattened texture.
cv::Mat nonLocalMeansSmearing(const cv::Mat& rgb8, double var, cv::RNG& rng);

// Type 24: wide sharpening halos. Unsharp mask on Lab L with radius 3 instead of 1, at
// half the amount: bright and dark rims a few pixels wide along edges.
cv::Mat wideHalos(const cv::Mat& rgb8, double amount);

}  // namespace photographic
}  // namespace dqa::data
