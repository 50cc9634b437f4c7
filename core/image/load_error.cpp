#include "core/image/load_error.h"

#include <cstdio>

namespace dqa::image {

std::string megapixels(double pixels) {
  char text[48];
  std::snprintf(text, sizeof text, "%.1f", pixels / 1e6);
  return text;
}

Error loadError(const std::string& name, const std::string& what, const std::string& todo) {
  return makeError("Cannot load image '" + name + "': " + what + ". " + todo);
}

std::optional<Error> checkDeclaredSize(const std::string& name, const std::string& kind, long long width,
                                       long long height, long long maxPixels) {
  if (width == 0 || height == 0) {
    return loadError(name,
                     "its " + kind + " header declares an empty image (" + std::to_string(width) + "x" +
                         std::to_string(height) + " pixels)",
                     "Re-export the image.");
  }
  // Compared by division: the declared sides may be large enough to overflow a product.
  if (width > maxPixels / height) {
    const double pixels = double(width) * double(height);
    return loadError(name,
                     "it declares " + std::to_string(width) + "x" + std::to_string(height) + " pixels (" +
                         megapixels(pixels) + " megapixels), more than the limit of " + megapixels(double(maxPixels)) +
                         " megapixels that guards against decompression bombs",
                     "Downscale the image with another program first.");
  }
  return std::nullopt;
}

}  // namespace dqa::image
