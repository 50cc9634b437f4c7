#pragma once
// Internal to core/image (capture_info.cpp, header_inspect.cpp): a TIFF structure's image
// file directories (IFDs), as EXIF blocks hold them, read through the bounds-checked
// `Bytes` (image_header.h). An entry whose value lies outside the buffer is skipped, a
// directory cut off ends where it is cut; nothing is read past the buffer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/image/image_header.h"

namespace dqa::image {

constexpr std::size_t kMaxExifEntries = 512;  // per IFD; real ones hold a few dozen

struct ExifEntry {
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
    const std::size_t count = std::min<std::size_t>(e_.u16(ifd), kMaxExifEntries);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t at = ifd + 2 + 12 * i;
      if (!b_.has(at, 12)) return;
      ExifEntry entry;
      entry.type = e_.u16(at + 2);
      entry.count = e_.u32(at + 4);
      const std::size_t bytes = std::size_t(entry.count) * typeSize(entry.type);
      if (typeSize(entry.type) == 0 || entry.count > (1u << 16)) continue;
      entry.valueAt = bytes <= 4 ? at + 8 : e_.u32(at + 8);
      if (!b_.has(entry.valueAt, bytes)) continue;
      f(e_.u16(at), entry);
    }
  }

  std::string ascii(const ExifEntry& entry) const {
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
  double rational(const ExifEntry& entry) const {
    if (entry.type != 5 || entry.count < 1) return 0;
    const double num = e_.u32(entry.valueAt), den = e_.u32(entry.valueAt + 4);
    return den > 0 ? num / den : 0;
  }
  std::uint32_t integer(const ExifEntry& entry) const {
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

}  // namespace dqa::image
