#pragma once
// Colour management with Little CMS: pixels converted from the profile a file carries
// (embedded ICC, or one built from a HEIF nclx box) to sRGB, the space the model was
// trained in. Rendering intent: perceptual. The profiles photographs carry (Display P3,
// Adobe RGB, ProPhoto, camera-made sRGB) are matrix/shaper profiles without perceptual
// tables, for which lcms2 uses relative colorimetric; colours outside sRGB are clipped.
#include <opencv2/core.hpp>

#include <string>

#include "core/common/result.h"

namespace dqa::image {

// What the loader did about colour, for the pane label, reports and --json.
struct ColourInfo {
  std::string profile;     // the profile's description tag; "" when the file had none
  std::string source;      // where it came from: "PNG iCCP", "JPEG APP2", "TIFF tag
                           // 34675", "WebP ICCP", "HEIF ICC", "HEIF nclx", "LibRaw" (RAW
                           // developed to sRGB), or "none"
  bool converted = false;  // the pixels were converted from `profile` to sRGB
  std::string note;        // one sentence for people, e.g. "Display P3 (profile from
                           // PNG iCCP), converted to sRGB"
};

// ColourInfo for a file without a profile: taken as sRGB, and saying so.
ColourInfo assumedSrgb();

// Converts `rgb` (CV_8UC3 or CV_16UC3, RGB order; depth kept) in place from `icc` to
// sRGB. A grey profile is accepted when the three channels are equal (a grey image).
// Errors say what is wrong with the profile, without the file name. Profiles for other
// colour spaces (CMYK, Lab...) are not applied: the result says so in `note`, with
// converted = false.
Result<ColourInfo> convertIccToSrgb(cv::Mat& rgb, const std::string& icc, const std::string& source);

}  // namespace dqa::image
