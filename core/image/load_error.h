#pragma once
// The loader's error messages, shared by the per-format decoders (OpenCV, libheif,
// LibRaw): each names the file, says what is wrong and what to do.
#include <optional>
#include <string>

#include "core/common/result.h"

namespace dqa::image {

// A pixel count in megapixels with one decimal ("250.0"), as the size guard's messages
// give it.
std::string megapixels(double pixels);

// "Cannot load image 'name': what. todo"
Error loadError(const std::string& name, const std::string& what, const std::string& todo);

// The decompression-bomb guard on a declared size, before any pixel buffer exists:
// an error for an empty image or one over maxPixels, nullopt when the size is fine.
// `kind` names the format ("PNG", "HEIF/HEIC", "camera RAW").
std::optional<Error> checkDeclaredSize(const std::string& name, const std::string& kind, long long width,
                                       long long height, long long maxPixels);

}  // namespace dqa::image
