#pragma once
// EXIF as cameras write it, for the loader's tests: a TIFF structure with IFD0 (Make,
// Model, DateTime, a pointer to the Exif IFD) and the Exif IFD (exposure 1/250 s, f/8, ISO
// 200, DateTimeOriginal 2024:05:01 14:03:22, 50 mm, a lens), values longer than 4 bytes
// stored after the IFDs.
#include <cstdint>
#include <string>

#include "image_bytes.h"

namespace dqa::test {

inline std::string cameraExifTiff(bool bigEndian) {
  auto u16 = [bigEndian](unsigned v) { return bigEndian ? be16(v) : le16(v); };
  auto u32 = [bigEndian](std::uint32_t v) { return bigEndian ? be32(v) : le32(v); };
  const std::string make("Canon\0", 6), model("Canon EOS R5\0", 13), date("2024:05:01 09:00:00\0", 20),
      original("2024:05:01 14:03:22\0", 20), lens("RF24-105mm F4 L IS USM\0", 23);
  const std::uint32_t ifd0 = 8, ifd0Size = 2 + 4 * 12 + 4, exif = ifd0 + ifd0Size, exifSize = 2 + 6 * 12 + 4;
  std::uint32_t data = exif + exifSize;  // where the next out-of-line value goes
  std::string values;
  auto outOfLine = [&](const std::string& bytes) {
    const std::uint32_t at = data + std::uint32_t(values.size());
    values += bytes;
    return u32(at);
  };
  auto rational = [&](std::uint32_t num, std::uint32_t den) { return outOfLine(u32(num) + u32(den)); };
  std::string t = (bigEndian ? std::string("MM") : std::string("II")) + u16(42) + u32(ifd0);
  t += u16(4);
  t += u16(0x010f) + u16(2) + u32(6) + outOfLine(make);
  t += u16(0x0110) + u16(2) + u32(13) + outOfLine(model);
  t += u16(0x0132) + u16(2) + u32(20) + outOfLine(date);
  t += u16(0x8769) + u16(4) + u32(1) + u32(exif);
  t += u32(0);
  t += u16(6);
  t += u16(0x829a) + u16(5) + u32(1) + rational(1, 250);
  t += u16(0x829d) + u16(5) + u32(1) + rational(80, 10);
  t += u16(0x8827) + u16(3) + u32(1) + u16(200) + u16(0);
  t += u16(0x9003) + u16(2) + u32(20) + outOfLine(original);
  t += u16(0x920a) + u16(5) + u32(1) + rational(50, 1);
  t += u16(0xa434) + u16(2) + u32(23) + outOfLine(lens);
  t += u32(0);
  return t + values;
}

}  // namespace dqa::test
