#pragma once
// Labels of a distorted image from KADID-10k's human scores: the combined MOS, the
// per-aspect MOS and level (undistorted / mild / severe), the overall quality word, the
// texture condition (from measured detail loss), and comparisons between two images.
// Every threshold is here, with its reason; docs/data-engine.md repeats them.
#include <opencv2/core.hpp>

#include <array>
#include <string>
#include <vector>

#include "core/data/distortions.h"
#include "core/data/kadid.h"

namespace dqa::data {

enum class Severity { Undistorted = 0, Mild = 1, Severe = 2 };
enum class Texture { Identifiable = 0, BarelyIdentifiable = 1, Damaged = 2 };
enum class Quality { Bad = 0, Poor, Fair, Good, Excellent };
// Comparison of A with B in quality terms: MuchBetter (">>") means A is much better.
enum class Cmp { MuchWorse = -2, Worse = -1, Similar = 0, Better = 1, MuchBetter = 2 };
enum class Winner { A, B, Tie };

const char* severityName(Severity s);  // "undistorted", "mild", "severe"
const char* textureName(Texture t);    // "identifiable", "barely identifiable", "damaged"
const char* qualityName(Quality q);    // "bad" .. "excellent"
const char* cmpSymbol(Cmp c);          // "<<", "<", "≈" (UTF-8), ">", ">>"
const char* winnerName(Winner w);      // "A", "B", "tie"
bool severityFromName(const std::string& s, Severity* out);

// KADID-10k was rated on the degradation category scale: 5 imperceptible, 4 perceptible
// but not annoying, 3 slightly annoying, 2 annoying, 1 very annoying.
struct Thresholds {
  // Undistorted: MOS above the midpoint between "imperceptible" and "perceptible".
  double undistortedMin = 4.5;
  // Severe: MOS below the midpoint between "slightly annoying" and "annoying".
  double severeBelow = 2.5;
  // Overall quality words: the five DCR categories, split at the midpoints.
  double excellentMin = 4.5, goodMin = 3.5, fairMin = 2.5, poorMin = 1.5;
  // Two MOS closer than this cannot be called: the median spread of KADID's type-level
  // mean across its 81 references is 0.32, so content alone moves a score that much.
  double tieGap = 0.3;
  // A full DCR category apart: "much" better (">>").
  double strongGap = 1.0;
  // Texture from the gradient-magnitude similarity (GMS, as in GMSD) of the luminance,
  // averaged where the reference has structure. Calibrated in docs/data-engine.md.
  double textureIdentifiableMin = 0.90;
  double textureBarelyMin = 0.72;
  // Local distortions: the MOS drop of a distortion covering a fraction f of the image
  // is scaled by sqrt(f) (viewers weight the worst region more than its area).
  double localExponent = 0.5;
  // Visibility guard: KADID's label is a mean over 81 references, but a distortion can
  // be invisible on a particular patch (chroma blur on blue sky). The MOS drops are
  // scaled by v = clamp((invisiblePsnr - PSNR) / (invisiblePsnr - visiblePsnr), 0, 1):
  // at >= 46 dB (max error about 1-2 grey levels) the patch counts as undistorted, at
  // <= 40 dB the table label applies in full.
  double invisiblePsnr = 46.0;
  double visiblePsnr = 40.0;
};
const Thresholds& thresholds();

// One distortion's effect on the label: its MOS and the fraction of the image it covers.
struct DistortionLabel {
  Distortion distortion;
  double mos = kReferenceMos;  // interpolated type-level MOS
  double area = 1.0;           // fraction of the image covered (1 = global)
  Aspect aspect = Aspect::Brightness;
};

struct ImageLabel {
  std::vector<DistortionLabel> distortions;  // in the order applied
  double mos = kReferenceMos;                // combined (see combineMos)
  std::array<double, kNumAspects> aspectMos{};
  std::array<Severity, kNumAspects> aspectLevel{};
  Severity overallLevel = Severity::Undistorted;
  Quality quality = Quality::Excellent;
  Texture texture = Texture::Identifiable;
  double gms = 1.0;             // measured detail similarity (1 = intact)
  double psnr = 99.0;           // measured against the reference (dB)
  double visibility = 1.0;      // factor applied to the MOS drops
  int brightnessDirection = 0;  // +1 brighter, -1 darker, 0 none/contrast
  bool local = false;           // some distortion is confined to a region
  cv::Rect region;              // union of local regions (patch coords)
  Severity level(Aspect a) const { return aspectLevel[static_cast<int>(a)]; }
};

// Quality fraction of a MOS: (mos - 1) / (kReferenceMos - 1), in [0,1].
double qualityFraction(double mos);
double mosFromFraction(double q);
// Combined MOS of several distortions: fractions multiply (each distortion removes a
// share of what quality is left, so two severe ones never go below 1 and the second
// counts less than the first). A local one first has its drop scaled by area^0.5.
double combineMos(const std::vector<DistortionLabel>& ds);
double combineMos(const std::vector<DistortionLabel>& ds, const std::array<double, kNumAspects>& aspectWeights);
// The image's MOS with its aspects weighed by a preference: the weighted combination
// seen through the label's visibility, as `mos` is (with every weight 1 it is `mos`), so
// that a distortion the content hides stays hidden when a preference is stated.
double weightedMos(const ImageLabel& label, const std::array<double, kNumAspects>& aspectWeights);

Severity severityOf(double mos);
Quality qualityOf(double mos);
Cmp compareMos(double mosA, double mosB);
Winner winnerOf(double mosA, double mosB);

// Gradient-magnitude similarity of two 8-bit RGB images of the same size (luminance,
// Prewitt 3x3, GMSD's constant), averaged with weights where the reference has edges.
double gradientSimilarity(const cv::Mat& reference, const cv::Mat& distorted);

double psnrOf(const cv::Mat& reference, const cv::Mat& distorted);

// The full label. `reference`/`distorted` are the patch pair (for the texture measure);
// if either is empty the texture comes from the labels alone.
ImageLabel labelImage(const std::vector<Distortion>& ds, cv::Size imageSize, const cv::Mat& reference,
                      const cv::Mat& distorted);

}  // namespace dqa::data
