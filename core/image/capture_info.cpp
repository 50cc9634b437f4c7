// EXIF camera settings, read with the same bounds-checked access as the header parsers
// (image_header.h): a malformed entry is skipped, never read past the buffer.
#include "core/image/capture_info.h"

#include <cmath>
#include <cstdio>

#include "core/image/image_header.h"

namespace dqa::image {
namespace {

// Tags of IFD0 and of the Exif sub-IFD.
constexpr std::uint32_t kMake = 0x010f, kModel = 0x0110, kDateTime = 0x0132, kExifIfd = 0x8769;
constexpr std::uint32_t kExposureTime = 0x829a, kFNumber = 0x829d, kIso = 0x8827, kDateTimeOriginal = 0x9003,
                        kFocalLength = 0x920a, kLensModel = 0xa434;
constexpr std::size_t kMaxEntries = 512;  // per IFD; real ones hold a few dozen

struct Entry {
  std::uint32_t type = 0, count = 0;
  std::size_t valueAt = 0;  // where the value lies: in the entry, or at its offset
};

class ExifReader {
 public:
  explicit ExifReader(const Bytes& tiff) : b_(tiff), e_{tiff, tiff.startsWith(0, "II", 2)} {}
  bool valid() const {
    return b_.has(0, 8) && (b_.startsWith(0, "II", 2) || b_.startsWith(0, "MM", 2)) && e_.u16(2) == 42;
  }
  std::size_t firstIfd() const { return e_.u32(4); }

  // Calls f(tag, entry) for each entry of the IFD at `ifd` that lies inside the buffer.
  template <class F>
  void forEach(std::size_t ifd, F f) const {
    if (!b_.has(ifd, 2)) return;
    const std::size_t count = std::min<std::size_t>(e_.u16(ifd), kMaxEntries);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t at = ifd + 2 + 12 * i;
      if (!b_.has(at, 12)) return;
      Entry entry;
      entry.type = e_.u16(at + 2);
      entry.count = e_.u32(at + 4);
      const std::size_t bytes = std::size_t(entry.count) * typeSize(entry.type);
      if (typeSize(entry.type) == 0 || entry.count > (1u << 16)) continue;
      entry.valueAt = bytes <= 4 ? at + 8 : e_.u32(at + 8);
      if (!b_.has(entry.valueAt, bytes)) continue;
      f(e_.u16(at), entry);
    }
  }

  std::string ascii(const Entry& entry) const {
    if (entry.type != 2) return {};
    std::string s;
    for (std::size_t i = 0; i < entry.count; ++i) {
      const char c = char(b_.u8(entry.valueAt + i));
      if (c == '\0') break;
      s += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  }
  double rational(const Entry& entry) const {
    if (entry.type != 5 || entry.count < 1) return 0;
    const double num = e_.u32(entry.valueAt), den = e_.u32(entry.valueAt + 4);
    return den > 0 ? num / den : 0;
  }
  std::uint32_t integer(const Entry& entry) const {
    if (entry.count < 1) return 0;
    return entry.type == 3 ? e_.u16(entry.valueAt) : entry.type == 4 ? e_.u32(entry.valueAt) : 0;
  }

 private:
  static std::size_t typeSize(std::uint32_t type) {
    switch (type) {
      case 1:  // BYTE
      case 2:  // ASCII
      case 7:  // UNDEFINED
        return 1;
      case 3:  // SHORT
        return 2;
      case 4:  // LONG
        return 4;
      case 5:  // RATIONAL
        return 8;
      default:
        return 0;
    }
  }
  Bytes b_;
  Endian e_;
};

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
  r.forEach(r.firstIfd(), [&](std::uint32_t tag, const Entry& e) {
    if (tag == kMake) info.make = r.ascii(e);
    if (tag == kModel) info.model = r.ascii(e);
    if (tag == kDateTime) dateTime = r.ascii(e);
    if (tag == kExifIfd) exifIfd = r.integer(e);
  });
  if (exifIfd > 0 && exifIfd != r.firstIfd())
    r.forEach(exifIfd, [&](std::uint32_t tag, const Entry& e) {
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
