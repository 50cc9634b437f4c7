#pragma once
// Camera RAW and DNG through LibRaw, developed with one fixed, documented recipe so that
// two files are always developed alike:
//   white balance   the camera's as-shot setting (LibRaw's daylight default if none)
//   colour          the camera matrix to sRGB primaries, sRGB tone curve (2.4, 12.92)
//   depth           16 bits per sample
//   brightness      as exposed: no auto-brightening, highlights clipped
//   demosaic        LibRaw's default (AHD); halfSize skips it (each 2x2 Bayer cell
//                   becomes one pixel): half the width and height, ~4x faster, for previews
// LibRaw applies the camera's orientation.
#include <string>

#include "core/common/result.h"
#include "core/image/decoded.h"

namespace dqa::image {

// Whether LibRaw recognises the bytes as a camera RAW it can develop (metadata only).
bool isCameraRaw(const std::string& bytes);

Result<Decoded> decodeRaw(const std::string& bytes, const std::string& name, long long maxPixels, bool halfSize);

}  // namespace dqa::image
