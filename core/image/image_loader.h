#pragma once
// Decoding images from disk into a canonical form the rest of the core understands.
#include <opencv2/core.hpp>

#include <string>

#include "core/common/result.h"
#include "core/image/capture_info.h"
#include "core/image/icc.h"

namespace dqa::image {

// What to do with an embedded colour profile that cannot be read or used.
enum class BrokenProfile {
  Fail,        // the load fails with a message naming the problem (the default: judging
               // colours in the wrong space silently would mislead)
  AssumeSrgb,  // the pixels are taken as sRGB; LoadedImage::colour.note says why
};

struct LoadOptions {
  // Refuse images whose declared size exceeds this many pixels (decompression bombs):
  // checked from the file header before any pixel buffer is allocated.
  long long maxPixels = 250'000'000LL;
  // Refuse files larger than this before reading them into memory.
  long long maxFileBytes = 2'000'000'000LL;
  BrokenProfile brokenProfile = BrokenProfile::Fail;
  // Camera RAW: develop at half size (no demosaicing; ~4x faster) for a quick preview.
  bool rawHalfSize = false;
  // The colour space every image is converted to: the model's (ModelInfo::workingSpace).
  WorkingSpace workingSpace = WorkingSpace::Srgb;
};

struct LoadedImage {
  cv::Mat rgb;  // CV_8UC3 or CV_16UC3, RGB order, EXIF orientation applied,
                // alpha composited over black
  std::string path;
  std::string format;        // "PNG", "JPEG", ... (from the file's magic bytes)
  int sourceChannels = 0;    // as decoded: 1 grey, 3 colour, 4 with alpha (OpenCV decodes
                             // grey+alpha PNGs to 4 channels)
  int bitDepth = 8;          // of `rgb`: 8 or 16 (float sources such as EXR/HDR/PFM are
                             // clamped to [0,1] and stored as 16 bit; 10/12-bit HEIF/AVIF
                             // and camera RAW as 16 bit)
  int sourceBits = 8;        // bits per sample in the file where known (10 for a 10-bit
                             // AVIF), else bitDepth
  int exifOrientation = 1;   // 1..8 as read from the file (JPEG APP1, PNG eXIf); already
                             // applied to `rgb`
  ColourInfo colour;         // the profile found, whether `rgb` was converted, and its space
  bool halfSizeRaw = false;  // a camera RAW developed at half size (LoadOptions::rawHalfSize)
  CaptureInfo capture;       // camera, lens, exposure, ISO, focal length, capture time (EXIF, LibRaw)
  int width() const { return rgb.cols; }
  int height() const { return rgb.rows; }
};

Result<LoadedImage> loadImage(const std::string& path, const LoadOptions& options = {});
// Same, from bytes in memory (clipboard, drag and drop, fuzzing).
Result<LoadedImage> decodeImage(const std::string& bytes, const std::string& nameForMessages,
                                const LoadOptions& options = {});

}  // namespace dqa::image
