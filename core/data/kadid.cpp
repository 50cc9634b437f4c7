#include "core/data/kadid.h"

#include <algorithm>
#include <cmath>

namespace dqa::data {

namespace {

const std::array<KadidRow, kNumTypes* kNumLevels> kTable = {{
    {1, 1, 0.1, 4.612, 0.13},     {1, 2, 0.5, 4.382, 0.221},     {1, 3, 1, 2.911, 0.428},
    {1, 4, 2, 1.873, 0.274},      {1, 5, 5, 1.303, 0.139},       {2, 1, 1, 3.862, 0.361},
    {2, 2, 2, 2.654, 0.406},      {2, 3, 4, 1.756, 0.248},       {2, 4, 6, 1.442, 0.17},
    {2, 5, 8, 1.299, 0.146},      {3, 1, 1, 4.604, 0.129},       {3, 2, 2, 4.095, 0.343},
    {3, 3, 4, 2.848, 0.434},      {3, 4, 6, 2.175, 0.351},       {3, 5, 10, 1.668, 0.261},
    {4, 1, 1, 4.495, 0.182},      {4, 2, 3, 2.602, 0.428},       {4, 3, 6, 1.756, 0.369},
    {4, 4, 8, 1.605, 0.364},      {4, 5, 12, 1.394, 0.296},      {5, 1, 1, 4.227, 0.396},
    {5, 2, 3, 2.545, 0.523},      {5, 3, 6, 1.916, 0.402},       {5, 4, 8, 1.854, 0.453},
    {5, 5, 12, 1.864, 0.502},     {6, 1, 64, 4.108, 0.311},      {6, 2, 48, 3.973, 0.348},
    {6, 3, 32, 3.719, 0.397},     {6, 4, 16, 3.203, 0.411},      {6, 5, 8, 2.425, 0.404},
    {7, 1, 0.4, 2.746, 0.319},    {7, 2, 0.2, 2.335, 0.273},     {7, 3, 0.1, 2.262, 0.315},
    {7, 4, 0, 2.243, 0.261},      {7, 5, -0.4, 2.027, 0.308},    {8, 1, 1, 4.58, 0.137},
    {8, 2, 2, 3.33, 0.368},       {8, 3, 3, 2.648, 0.441},       {8, 4, 6, 1.816, 0.383},
    {8, 5, 9, 1.525, 0.311},      {9, 1, 16, 4.553, 0.165},      {9, 2, 32, 4.205, 0.451},
    {9, 3, 45, 3.873, 0.611},     {9, 4, 120, 2.445, 0.684},     {9, 5, 400, 1.394, 0.255},
    {10, 1, 43, 4.338, 0.222},    {10, 2, 36, 4.246, 0.229},     {10, 3, 24, 3.866, 0.308},
    {10, 4, 7, 1.945, 0.324},     {10, 5, 4, 1.35, 0.182},       {11, 1, 0.001, 3.893, 0.365},
    {11, 2, 0.002, 3.39, 0.415},  {11, 3, 0.003, 3.045, 0.366},  {11, 4, 0.005, 2.71, 0.317},
    {11, 5, 0.01, 2.301, 0.27},   {12, 1, 0.0001, 4.468, 0.197}, {12, 2, 0.0005, 3.682, 0.407},
    {12, 3, 0.001, 3.17, 0.417},  {12, 4, 0.002, 2.687, 0.322},  {12, 5, 0.003, 2.38, 0.291},
    {13, 1, 0.001, 3.584, 0.384}, {13, 2, 0.005, 2.93, 0.317},   {13, 3, 0.01, 2.613, 0.239},
    {13, 4, 0.02, 2.312, 0.203},  {13, 5, 0.03, 2.132, 0.182},   {14, 1, 0.001, 4.404, 0.265},
    {14, 2, 0.005, 3.581, 0.493}, {14, 3, 0.01, 3.084, 0.496},   {14, 4, 0.02, 2.639, 0.431},
    {14, 5, 0.05, 2.117, 0.346},  {15, 1, 0.01, 3.668, 0.328},   {15, 2, 0.03, 2.727, 0.388},
    {15, 3, 0.05, 2.203, 0.352},  {15, 4, 0.1, 1.655, 0.238},    {15, 5, 0.15, 1.467, 0.176},
    {16, 1, 0.1, 4.506, 0.158},   {16, 2, 0.2, 4.288, 0.229},    {16, 3, 0.4, 3.632, 0.335},
    {16, 4, 0.7, 2.701, 0.467},   {16, 5, 1.1, 1.809, 0.378},    {17, 1, 0.05, 4.6, 0.13},
    {17, 2, 0.1, 4.528, 0.142},   {17, 3, 0.2, 4.231, 0.225},    {17, 4, 0.4, 3.535, 0.293},
    {17, 5, 0.8, 2.221, 0.407},   {18, 1, 0.15, 4.218, 0.297},   {18, 2, 0.08, 4.519, 0.178},
    {18, 3, 0, 4.603, 0.136},     {18, 4, -0.08, 4.37, 0.194},   {18, 5, -0.15, 3.903, 0.296},
    {19, 1, 0.05, 4.419, 0.201},  {19, 2, 0.1, 4.086, 0.291},    {19, 3, 0.2, 3.235, 0.455},
    {19, 4, 0.5, 1.849, 0.323},   {19, 5, 1, 1.339, 0.168},      {20, 1, 20, 4.333, 0.312},
    {20, 2, 40, 3.938, 0.499},    {20, 3, 60, 3.773, 0.552},     {20, 4, 80, 3.464, 0.644},
    {20, 5, 100, 3.261, 0.655},   {21, 1, 0.01, 3.889, 0.452},   {21, 2, 0.05, 3.098, 0.479},
    {21, 3, 0.1, 2.9, 0.448},     {21, 4, 0.2, 2.794, 0.496},    {21, 5, 0.5, 1.496, 0.26},
    {22, 1, 20, 4.169, 0.454},    {22, 2, 16, 3.933, 0.59},      {22, 3, 13, 3.686, 0.585},
    {22, 4, 10, 3.373, 0.641},    {22, 5, 7, 2.799, 0.679},      {23, 1, 2, 2.687, 0.39},
    {23, 2, 4, 2.359, 0.297},     {23, 3, 6, 2.3, 0.256},        {23, 4, 8, 2.126, 0.234},
    {23, 5, 10, 2.035, 0.229},    {24, 1, 1, 3.579, 0.411},      {24, 2, 2, 2.636, 0.437},
    {24, 3, 3, 2.136, 0.366},     {24, 4, 6, 1.613, 0.248},      {24, 5, 12, 1.336, 0.159},
    {25, 1, 0.3, 3.419, 0.344},   {25, 2, 0.15, 3.858, 0.276},   {25, 3, 0, 4.29, 0.249},
    {25, 4, -0.4, 4.141, 0.275},  {25, 5, -0.6, 3.324, 0.376},
}};

// Mapping of the 25 types to DepictQA's aspects (see docs/data-engine.md for why).
const DistortionTypeInfo kTypes[kNumTypes] = {
    {1, "gaussian_blur", "Gaussian blur", Aspect::Blurriness, 3, true},
    {2, "lens_blur", "lens blur", Aspect::Blurriness, 3, true},
    {3, "motion_blur", "motion blur", Aspect::Blurriness, 3, true},
    {4, "color_diffusion", "colour diffusion", Aspect::Color, 3, true},
    {5, "color_shift", "colour shift", Aspect::Color, 3, true},
    {6, "color_quantization", "colour quantisation", Aspect::Color, 3, true},
    {7, "color_saturation_1", "colour saturation (HSV)", Aspect::Color, 2, false},
    {8, "color_saturation_2", "colour saturation (Lab)", Aspect::Color, 3, true},
    {9, "jpeg2000", "JPEG2000 compression", Aspect::Artifacts, 2, true},
    {10, "jpeg", "JPEG compression", Aspect::Artifacts, 3, true},
    {11, "white_noise", "white noise", Aspect::Noise, 4, true},
    {12, "white_noise_color", "white noise in colour components", Aspect::Noise, 3, true},
    {13, "impulse_noise", "impulse noise", Aspect::Noise, 3, true},
    {14, "multiplicative_noise", "multiplicative noise", Aspect::Noise, 3, true},
    {15, "denoise", "denoising", Aspect::Blurriness, 3, true},
    {16, "brighten", "brightening", Aspect::Brightness, 3, true},
    {17, "darken", "darkening", Aspect::Brightness, 3, true},
    {18, "mean_shift", "mean shift", Aspect::Brightness, 2, false},
    {19, "jitter", "jitter", Aspect::Artifacts, 3, true},
    {20, "non_eccentricity_patch", "non-eccentricity patches", Aspect::Artifacts, 2, true},
    {21, "pixelate", "pixelation", Aspect::Artifacts, 3, true},
    {22, "quantization", "quantisation", Aspect::Artifacts, 2, false},
    {23, "color_block", "colour blocks", Aspect::Artifacts, 2, false},
    {24, "high_sharpen", "over-sharpening", Aspect::Artifacts, 3, true},
    {25, "contrast_change", "contrast change", Aspect::Brightness, 2, false},
};

const char* kAspectNames[kNumAspects] = {"brightness", "color", "noise", "artifacts", "blurriness"};

}  // namespace

const char* aspectName(Aspect aspect) { return kAspectNames[static_cast<int>(aspect)]; }

bool aspectFromName(const std::string& name, Aspect* out) {
  for (int i = 0; i < kNumAspects; ++i)
    if (name == kAspectNames[i]) {
      *out = static_cast<Aspect>(i);
      return true;
    }
  return false;
}

const DistortionTypeInfo& typeInfo(int type) { return kTypes[std::clamp(type, 1, kNumTypes) - 1]; }

const KadidRow& kadidRow(int type, int level) {
  type = std::clamp(type, 1, kNumTypes);
  level = std::clamp(level, 1, kNumLevels);
  return kTable[(type - 1) * kNumLevels + (level - 1)];
}

double paramAtLevel(int type, double level) {
  level = std::clamp(level, 0.0, 5.0);
  if (level <= 1.0) return kadidRow(type, 1).param;
  int i = std::min(static_cast<int>(std::floor(level)), 4);
  double f = level - i;
  double p0 = kadidRow(type, i).param, p1 = kadidRow(type, i + 1).param;
  if (typeInfo(type).geometricParam && p0 > 0 && p1 > 0)
    return std::exp(std::log(p0) + f * (std::log(p1) - std::log(p0)));
  return p0 + f * (p1 - p0);
}

double mosAtLevel(int type, double level) {
  level = std::clamp(level, 0.0, 5.0);
  if (level < 1.0) return kReferenceMos + level * (kadidRow(type, 1).mos - kReferenceMos);
  int i = std::min(static_cast<int>(std::floor(level)), 4);
  double f = level - i;
  return kadidRow(type, i).mos + f * (kadidRow(type, i + 1).mos - kadidRow(type, i).mos);
}

}  // namespace dqa::data
