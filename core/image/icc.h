#pragma once
// Colour management with Little CMS: pixels converted from the profile a file carries
// (embedded ICC, or one built from a HEIF nclx box) to the working space the model was
// trained in (sRGB unless its config.json names another; core/common/working_space.h).
// Rendering intent: perceptual. The profiles photographs carry (Display P3, Adobe RGB,
// ProPhoto, camera-made sRGB) are matrix/shaper profiles without perceptual tables, for
// which lcms2 uses relative colorimetric; colours outside the working space are clipped.
#include <opencv2/core.hpp>

#include <string>

#include "core/common/result.h"
#include "core/common/working_space.h"

namespace dqa::image {

// What the loader did about colour, for the pane label, reports and --json.
struct ColourInfo {
  std::string profile;                      // the profile's description tag; "" when the file had none
  std::string source;                       // where it came from: "PNG iCCP", "JPEG APP2", "TIFF tag
                                            // 34675", "WebP ICCP", "HEIF ICC", "HEIF nclx", "LibRaw" (RAW
                                            // developed to sRGB), or "none"
  bool converted = false;                   // the pixels were converted from `profile` to `space`
  std::string note;                         // one sentence for people, e.g. "Display P3 (profile from
                                            // PNG iCCP), converted to sRGB"
  WorkingSpace space = WorkingSpace::Srgb;  // the colour space the pixels are in now
};

// ColourInfo for a file without a profile: taken as sRGB, and saying so.
ColourInfo assumedSrgb();

// Converts `rgb` (CV_8UC3 or CV_16UC3, RGB order; depth kept) in place from `icc` to
// `to`. A grey profile is accepted when the three channels are equal (a grey image).
// Errors say what is wrong with the profile, without the file name. Profiles for other
// colour spaces (CMYK, Lab...) are not applied: the result says so in `note`, with
// converted = false and the pixels taken as sRGB (space sRGB).
Result<ColourInfo> convertIccToWorkingSpace(cv::Mat& rgb, const std::string& icc, const std::string& source,
                                            WorkingSpace to = WorkingSpace::Srgb);

// Pixels taken as sRGB (no profile, an sRGB nclx box, a RAW developed to sRGB) converted
// in place to `to` when it is not sRGB; `info` gains the step in its note and `space`.
Status convertSrgbToWorkingSpace(cv::Mat& rgb, ColourInfo& info, WorkingSpace to);

}  // namespace dqa::image
