#pragma once
// The colour a HEIF/AVIF file declares with an nclx box (ITU-T H.273 code points)
// instead of an ICC profile: turned into an ICC profile for the working-space conversion.
#include <string>

namespace dqa::image {

struct Nclx {
  int primaries = 2;  // H.273 ColourPrimaries: 1 BT.709/sRGB, 9 BT.2020, 12 Display P3...
  int transfer = 2;   // TransferCharacteristics: 13 sRGB, 1/6/14/15 BT.709, 8 linear...
  // Chromaticities (x, y) of red, green, blue and white as libheif decodes them from
  // `primaries`; all zero when unknown.
  float red[2] = {0, 0}, green[2] = {0, 0}, blue[2] = {0, 0}, white[2] = {0, 0};
};

struct NclxProfile {
  std::string description;  // e.g. "Display P3 primaries, sRGB transfer (nclx)"
  bool isSrgb = false;      // sRGB already (or unspecified): nothing to convert
  std::string icc;          // otherwise an ICC profile for convertIccToWorkingSpace...
  std::string unsupported;  // ...or why none can be made (HDR transfer functions)
};

NclxProfile profileForNclx(const Nclx& nclx);

}  // namespace dqa::image
