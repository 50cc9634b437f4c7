#pragma once
// The RGB colour space a model was trained in (config.json "working_colour_space"; sRGB
// when absent). The loader converts every image to it before the model sees it, and the
// window shows images from it.
#include <string>

#include "core/common/result.h"

namespace dqa {

enum class WorkingSpace {
  Srgb,       // IEC 61966-2-1 (the default; what the bundled model and its data engine use)
  DisplayP3,  // P3 primaries, D65 white, sRGB transfer curve
  AdobeRgb,   // Adobe RGB (1998): wider greens, gamma 563/256
};

// "sRGB", "Display P3", "Adobe RGB (1998)": the names config.json and messages use.
std::string workingSpaceName(WorkingSpace space);

// The config.json value, case and punctuation ignored ("display-p3", "Display P3",
// "adobe_rgb" all read); an unknown name is an error that lists the accepted ones.
Result<WorkingSpace> parseWorkingSpace(const std::string& name);

}  // namespace dqa
