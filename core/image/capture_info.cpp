// EXIF camera settings, read with the same bounds-checked access as the header parsers
// (image_header.h): a malformed entry is skipped, never read past the buffer.
#include "core/image/capture_info.h"

#include <cmath>
#include <cstdio>

#include "core/image/exif_reader.h"

namespace dqa::image {
namespace {

// Tags of IFD0 and of the Exif sub-IFD.
constexpr std::uint32_t kMake = 0x010f, kModel = 0x0110, kDateTime = 0x0132, kExifIfd = 0x8769;
constexpr std::uint32_t kExposureTime = 0x829a, kFNumber = 0x829d, kIso = 0x8827, kDateTimeOriginal = 0x9003,
                        kFocalLength = 0x920a, kLensModel = 0xa434;
// "2024:05:01 14:03:22" -> "2024-05-01 14:03:22"; anything else as it is.
std::string readableTime(std::string t) {
  if (t.size() >= 10 && t[4] == ':' && t[7] == ':') t[4] = t[7] = '-';
  return t;
}

std::string trimmed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s(buf);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

}  // namespace

bool CaptureInfo::empty() const {
  return make.empty() && model.empty() && lens.empty() && captureTime.empty() && exposureSeconds <= 0 && fNumber <= 0 &&
         iso <= 0 && focalLengthMm <= 0;
}

std::string CaptureInfo::summary() const {
  std::string out;
  auto add = [&out](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += " · ";
    out += part;
  };
  // Many cameras repeat the make in the model ("Canon" + "Canon EOS R5").
  add(model.rfind(make, 0) == 0 ? model : make.empty() ? model : model.empty() ? make : make + " " + model);
  add(lens);
  if (exposureSeconds > 0)
    add(exposureSeconds < 1 ? "1/" + std::to_string(int(std::lround(1 / exposureSeconds))) + " s"
                            : trimmed(exposureSeconds) + " s");
  if (fNumber > 0) add("f/" + trimmed(fNumber));
  if (iso > 0) add("ISO " + std::to_string(iso));
  if (focalLengthMm > 0) add(trimmed(focalLengthMm) + " mm");
  add(captureTime);
  return out;
}

bool CaptureInfo::sameCaptureAs(const CaptureInfo& other) const {
  return !captureTime.empty() && captureTime == other.captureTime && make == other.make && model == other.model;
}

CaptureInfo readExifCapture(const unsigned char* tiff, std::size_t size) {
  CaptureInfo info;
  const ExifReader r(Bytes(tiff, size));
  if (!r.valid()) return info;
  std::size_t exifIfd = 0;
  std::string dateTime;
  r.forEach(r.firstIfd(), [&](std::uint32_t tag, const ExifEntry& e) {
    if (tag == kMake) info.make = r.ascii(e);
    if (tag == kModel) info.model = r.ascii(e);
    if (tag == kDateTime) dateTime = r.ascii(e);
    if (tag == kExifIfd) exifIfd = r.integer(e);
  });
  if (exifIfd > 0 && exifIfd != r.firstIfd())
    r.forEach(exifIfd, [&](std::uint32_t tag, const ExifEntry& e) {
      if (tag == kExposureTime) info.exposureSeconds = r.rational(e);
      if (tag == kFNumber) info.fNumber = r.rational(e);
      if (tag == kIso) info.iso = int(r.integer(e));
      if (tag == kDateTimeOriginal) info.captureTime = readableTime(r.ascii(e));
      if (tag == kFocalLength) info.focalLengthMm = r.rational(e);
      if (tag == kLensModel) info.lens = r.ascii(e);
    });
  if (info.captureTime.empty()) info.captureTime = readableTime(dateTime);
  return info;
}

}  // namespace dqa::image
