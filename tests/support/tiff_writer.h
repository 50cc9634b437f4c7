#pragma once
// A small little-endian TIFF writer for test fixtures: one image directory with the
// entries given (sorted by tag here), values longer than four bytes placed after it,
// then the pixel data as one strip. Enough for a plain RGB TIFF with an ICC profile and
// for a minimal DNG (LibRaw reads DNG; nothing here can write one).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace dqa::test {

struct TiffEntry {
  std::uint16_t tag;
  std::uint16_t type;  // 1 BYTE, 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL, 7 UNDEFINED, 10 SRATIONAL
  std::uint32_t count;
  std::string bytes;  // the values, little-endian, count * size of type
};

inline std::string tiffLe16(unsigned v) { return {char(v & 0xff), char(v >> 8 & 0xff)}; }
inline std::string tiffLe32(std::uint32_t v) { return tiffLe16(v & 0xffff) + tiffLe16(v >> 16); }

inline TiffEntry tiffShorts(std::uint16_t tag, const std::vector<unsigned>& values) {
  std::string b;
  for (unsigned v : values) b += tiffLe16(v);
  return {tag, 3, std::uint32_t(values.size()), b};
}
inline TiffEntry tiffLong(std::uint16_t tag, std::uint32_t value) { return {tag, 4, 1, tiffLe32(value)}; }
inline TiffEntry tiffBytes(std::uint16_t tag, std::uint16_t type, const std::string& b) {
  return {tag, type, std::uint32_t(b.size()), b};
}
inline TiffEntry tiffAscii(std::uint16_t tag, const std::string& text) { return tiffBytes(tag, 2, text + '\0'); }
// (SIGNED) RATIONALs as value * denominator / denominator.
inline TiffEntry tiffRationals(std::uint16_t tag, bool isSigned, const std::vector<double>& values) {
  std::string b;
  for (double v : values) {
    const auto n = static_cast<std::int32_t>(v * 10000.0 + (v < 0 ? -0.5 : 0.5));
    b += tiffLe32(static_cast<std::uint32_t>(n)) + tiffLe32(10000);
  }
  return {tag, std::uint16_t(isSigned ? 10 : 5), std::uint32_t(values.size()), b};
}

// The whole file. Tags 273 (StripOffsets) and 279 (StripByteCounts) are added here.
inline std::string writeTiff(std::vector<TiffEntry> entries, const std::string& pixels) {
  entries.push_back(tiffLong(273, 0));  // patched below
  entries.push_back(tiffLong(279, std::uint32_t(pixels.size())));
  std::sort(entries.begin(), entries.end(), [](const TiffEntry& a, const TiffEntry& b) { return a.tag < b.tag; });
  const std::uint32_t ifdSize = std::uint32_t(2 + 12 * entries.size() + 4);
  std::uint32_t extraAt = 8 + ifdSize;
  std::string ifd = tiffLe16(unsigned(entries.size())), extra;
  for (const TiffEntry& e : entries) {
    ifd += tiffLe16(e.tag) + tiffLe16(e.type) + tiffLe32(e.count);
    if (e.bytes.size() <= 4) {
      ifd += e.bytes + std::string(4 - e.bytes.size(), '\0');
    } else {
      ifd += tiffLe32(extraAt + std::uint32_t(extra.size()));
      extra += e.bytes;
      if (extra.size() % 2) extra += '\0';  // word alignment
    }
  }
  ifd += tiffLe32(0);  // no next directory
  const std::uint32_t pixelsAt = extraAt + std::uint32_t(extra.size());
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (entries[i].tag == 273) ifd.replace(2 + 12 * i + 8, 4, tiffLe32(pixelsAt));
  return std::string("II*\0", 4) + tiffLe32(8) + ifd + extra + pixels;
}

}  // namespace dqa::test
