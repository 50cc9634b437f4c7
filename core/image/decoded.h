#pragma once
// What a decoder (OpenCV, libheif, LibRaw) hands back to the loader, which then makes
// the canonical image: 8/16-bit RGB, alpha composited, orientation applied, in the
// working space (sRGB unless the model names another).
#include <opencv2/core.hpp>

#include <optional>
#include <string>

#include "core/common/result.h"
#include "core/image/capture_info.h"
#include "core/image/icc.h"

namespace dqa::image {

struct Decoded {
  cv::Mat pixels;       // as OpenCV's decoders give them: grey, BGR or BGRA; 8/16-bit
                        // or float
  int orientation = 1;  // still to apply (EXIF); 1 when the decoder applied it
  int sourceBits = 0;   // bits per sample in the file; 0: those of `pixels`
  std::string format;   // overrides the format name from the magic bytes when set
  // The colour: an ICC profile to convert from (or why it could not be read), named by
  // where it came from; or `colour` already settled, with no conversion to do.
  std::optional<Result<std::string>> icc;
  std::string iccSource;
  std::optional<ColourInfo> colour;
  CaptureInfo capture;  // camera settings, where the file states them
};

}  // namespace dqa::image
