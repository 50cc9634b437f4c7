#pragma once
// A minimal DNG written here (tiff_writer.h; LibRaw reads DNG, nothing here can write
// one): a Bayer (RGGB) sensor of four flat colour patches, one per quadrant, whose
// ColorMatrix1 makes the camera's colours linear sRGB and whose as-shot white is
// neutral, so a correct development gives the written values with the sRGB curve.
#include <cmath>
#include <string>
#include <vector>

#include "tiff_writer.h"

namespace dqa::test {

// Linear camera (= linear sRGB) values of the four quadrants, of 65535.
inline constexpr double kDngPatches[4][3] = {
    {0.50, 0.10, 0.05}, {0.10, 0.40, 0.10}, {0.05, 0.10, 0.60}, {0.18, 0.18, 0.18}};

inline int dngQuadrant(int x, int y, int width, int height) { return (y >= height / 2) * 2 + (x >= width / 2); }

// The RGGB mosaic of the patches, 16-bit little-endian samples.
inline std::string dngMosaic(int width, int height) {
  std::string pixels;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const int channel = (y % 2 == 0) ? (x % 2 == 0 ? 0 : 1) : (x % 2 == 0 ? 1 : 2);
      pixels += tiffLe16(unsigned(std::lround(kDngPatches[dngQuadrant(x, y, width, height)][channel] * 65535)));
    }
  return pixels;
}

// The DNG file of `pixels` (a mosaic of width x height samples); `model` names the
// camera (Model, and UniqueCameraModel after "DepictQA ").
inline std::string makeDng(int width, int height, const std::string& pixels, const std::string& model = "Test Sensor") {
  // XYZ (D65) to linear sRGB: the camera "is" an sRGB sensor.
  const std::vector<double> xyzToSrgb = {3.2404542, -1.5371385, -0.4985314, -0.9692660, 1.8760108,
                                         0.0415560, 0.0556434,  -0.2040259, 1.0572252};
  return writeTiff({tiffLong(254, 0),
                    tiffLong(256, unsigned(width)),
                    tiffLong(257, unsigned(height)),
                    tiffShorts(258, {16}),
                    tiffShorts(259, {1}),
                    tiffShorts(262, {32803}),
                    tiffAscii(271, "DepictQA"),
                    tiffAscii(272, model),
                    tiffShorts(274, {1}),
                    tiffShorts(277, {1}),
                    tiffLong(278, unsigned(height)),
                    tiffShorts(284, {1}),
                    tiffShorts(33421, {2, 2}),
                    tiffBytes(33422, 1, std::string("\0\1\1\2", 4)),
                    tiffBytes(50706, 1, std::string("\1\4\0\0", 4)),
                    tiffAscii(50708, "DepictQA " + model),
                    tiffShorts(50717, {65535}),
                    tiffRationals(50721, true, xyzToSrgb),
                    tiffRationals(50728, false, {1, 1, 1}),
                    tiffShorts(50778, {21})},
                   pixels);
}

inline std::string makeDng(int width, int height) { return makeDng(width, height, dngMosaic(width, height)); }

}  // namespace dqa::test
