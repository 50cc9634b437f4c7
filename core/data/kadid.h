#pragma once
// The 25 KADID-10k distortion types (Lin, Hosu, Saupe 2019), their published parameters
// and the human mean opinion scores (MOS, 1..5, degradation category rating) that
// KADID-10k measured for each type and level. The table is embedded (it is tiny) so that
// the data engine needs no file at run time; tests check it against
// shared/data/kadid10k/type_level_mos.csv.
//
// Continuous levels: a level t in [1,5] interpolates the parameter between the two
// published levels around it (geometrically for the types flagged geometricParam, whose
// parameters span orders of magnitude; linearly for the others) and the MOS linearly
// with the same fraction. A level
// t in [0,1) blends the level-1 result with the undistorted image (weight t) and its MOS
// runs linearly from kReferenceMos to the level-1 MOS.
#include <array>
#include <string>

namespace dqa::data {

// DepictQA's five distortion aspects.
enum class Aspect { Brightness = 0, Color, Noise, Artifacts, Blurriness };
constexpr int kNumAspects = 5;
constexpr int kNumTypes = 25;
constexpr int kNumLevels = 5;

const char* aspectName(Aspect aspect);  // "brightness", "color", ...
bool aspectFromName(const std::string& name, Aspect* out);

// MOS an undistorted image gets: KADID's mean-shift type at level 3 has parameter 0
// (the image unchanged) and mean MOS 4.603; the top levels of the near-invisible types
// sit at the same value (4.60..4.61).
constexpr double kReferenceMos = 4.6;
constexpr double kMinMos = 1.0;

struct KadidRow {
  int type;      // 1..25
  int level;     // 1..5
  double param;  // the original generator's parameter
  double mos;    // mean MOS over the 81 references
  double sdAcrossRefs;
};

struct DistortionTypeInfo {
  int id;             // 1..25
  const char* name;   // "gaussian_blur", ... (as in type_level_mos.csv, short)
  const char* title;  // "Gaussian blur"
  Aspect aspect;
  int numVariants;      // implementations available (variant 0 = closest to KADID)
  bool geometricParam;  // parameter interpolated geometrically between levels
};

const DistortionTypeInfo& typeInfo(int type);   // type in 1..25 (clamped)
const KadidRow& kadidRow(int type, int level);  // level 1..5

// Parameter and label at a continuous level in [0,5] (see the header comment). For
// level < 1 the parameter is the level-1 parameter (the blend does the rest).
double paramAtLevel(int type, double level);
double mosAtLevel(int type, double level);

}  // namespace dqa::data
