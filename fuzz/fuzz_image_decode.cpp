// The image front end: format sniffing, the per-format header parsers (declared size,
// EXIF orientation, truncation checks, embedded ICC profiles), the decompression-bomb
// guard, OpenCV's, libheif's and LibRaw's decoders, the colour conversion with Little CMS
// and the conversion to canonical RGB; then the encoder's preprocessing. The pixel limit
// is lowered so that what the guard lets through stays within libFuzzer's RSS limit.
#include <cstddef>
#include <cstdint>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>

#include "core/image/image_loader.h"
#include "core/image/preprocess.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  cv::setNumThreads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dqa::image;
  LoadOptions options;
  options.maxPixels = 4'000'000;  // 4 MP: each decode stays far below the RSS limit
  options.brokenProfile = size % 3 == 0 ? BrokenProfile::AssumeSrgb : BrokenProfile::Fail;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // TIFF-based camera RAW is recognised by its extension too: try both ways.
  auto image = decodeImage(bytes, size % 2 ? "fuzz-input.nef" : "fuzz-input", options);
  if (!image) {
    if (image.message().find("fuzz-input") == std::string::npos) __builtin_trap();
    return 0;
  }
  const cv::Mat& rgb = image->rgb;
  if (rgb.empty() || rgb.channels() != 3) __builtin_trap();
  if (rgb.depth() != CV_8U && rgb.depth() != CV_16U) __builtin_trap();
  if (static_cast<long long>(rgb.cols) * rgb.rows > options.maxPixels) __builtin_trap();
  if (image->exifOrientation < 1 || image->exifOrientation > 8) __builtin_trap();
  if (image->colour.source.empty() || image->colour.note.empty()) __builtin_trap();
  if (image->colour.converted && image->colour.profile.empty()) __builtin_trap();
  PreprocessOptions pre;
  pre.maxSide = 112;
  auto p = preprocess(rgb, pre);
  if (!p) __builtin_trap();  // canonical RGB must always be acceptable input
  if (p->chw.size() != size_t(3) * p->height * p->width) __builtin_trap();
  return 0;
}
