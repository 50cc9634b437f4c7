#pragma once
// The camera settings a photo was taken with, as its file states them: EXIF (JPEG APP1,
// PNG eXIf, TIFF) or, for camera RAW, what LibRaw reads. Photographers compare two
// exports or two developments of one frame; these say which frame and how it was shot.
#include <string>

namespace dqa::image {

struct CaptureInfo {
  std::string make, model, lens;
  std::string captureTime;     // "2024-05-01 14:03:22" (EXIF DateTimeOriginal, else DateTime)
  double exposureSeconds = 0;  // 0: not stated
  double fNumber = 0;
  int iso = 0;
  double focalLengthMm = 0;

  bool empty() const;
  // "Canon EOS R5 · RF24-105mm F4 L · 1/250 s · f/8 · ISO 100 · 50 mm · 2024-05-01 14:03:22";
  // the parts the file states, "" when none.
  std::string summary() const;
  // One capture: both state a capture time, the same one, and the same camera.
  bool sameCaptureAs(const CaptureInfo& other) const;
};

// From an EXIF TIFF structure (what follows "Exif\0\0", a PNG eXIf chunk, or a whole TIFF
// file): IFD0 and its Exif sub-IFD. Anything malformed is left out; never fails.
CaptureInfo readExifCapture(const unsigned char* tiff, std::size_t size);

}  // namespace dqa::image
