// Header inspection: the declared size, orientation, embedded ICC profile and structural
// damage of each format, read with bounds-checked access (image_header.h).
#include "core/image/image_header.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/image/exif_reader.h"

namespace dqa::image {
namespace {

std::string text(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

}  // namespace

// ---------------------------------------------------------------------------------------
// EXIF orientation. `tiff` is a TIFF structure: what follows "Exif\0\0" in a JPEG APP1
// segment, or the whole of a PNG eXIf chunk. Anything malformed means "as stored" (1):
// a broken tag must not stop the image from loading.

int exifOrientation(const Bytes& tiff) {
  const ExifReader r(tiff);
  if (!r.valid()) return 1;
  int orientation = 0;  // 0: no Orientation entry yet
  r.forEach(r.firstIfd(), [&](std::uint32_t tag, const ExifEntry& e) {
    if (tag != 0x0112 || orientation != 0) return;
    // The standard says SHORT; some writers use LONG.
    const std::uint32_t value = r.integer(e);
    orientation = value >= 1 && value <= 8 ? int(value) : 1;
  });
  return orientation == 0 ? 1 : orientation;
}

namespace {

// ---------------------------------------------------------------------------------------
// Per-format header parsers: the declared size, plus cheap truncation checks where the
// format makes one possible (decoders tend to return a half-grey image for a cut-off
// JPEG rather than fail).

Header inspectPng(const Bytes& b) {
  Header h;
  // The first chunk must be IHDR (13 bytes): width, height, bit depth, colour type...
  if (!b.has(8, 8 + 13) || !b.startsWith(12, "IHDR", 4)) {
    h.damage = "its PNG header (IHDR) is missing or cut off";
    return h;
  }
  h.width = b.be32(16);
  h.height = b.be32(20);
  std::size_t pos = 8;
  while (b.has(pos, 8)) {
    const std::size_t length = b.be32(pos);
    if (length > 0x7fffffffu || !b.has(pos, 12 + length)) break;
    const Bytes data = b.sub(pos + 8, length);
    if (b.startsWith(pos + 4, "eXIf", 4)) {
      h.orientation = exifOrientation(data);
      h.exifOffset = pos + 8;
      h.exifSize = data.size();
    }
    if (b.startsWith(pos + 4, "iCCP", 4) && !h.pngIccp) h.pngIccp = text(data);
    if (b.startsWith(pos + 4, "IEND", 4)) return h;
    pos += 12 + length;
  }
  h.damage = "the PNG data ends before its final (IEND) chunk: the file is truncated";
  return h;
}

bool isJpegSof(std::uint8_t marker) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
  return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
}

bool containsJpegEoi(const Bytes& b, std::size_t from) {
  // Inside entropy-coded data a 0xFF byte is always followed by 0x00 or a restart
  // marker, so FF D9 can only be the real end-of-image marker.
  static const std::uint8_t eoi[2] = {0xff, 0xd9};
  if (from >= b.size()) return false;
  const std::uint8_t* begin = b.data() + from;
  const std::uint8_t* end = b.data() + b.size();
  return std::search(begin, end, eoi, eoi + 2) != end;
}

Header inspectJpeg(const Bytes& b) {
  Header h;
  bool exifSeen = false;
  std::size_t pos = 2;  // after SOI
  while (true) {
    if (!b.has(pos, 2)) {
      h.damage = "the JPEG data ends inside its header: the file is truncated";
      return h;
    }
    if (b.u8(pos) != 0xff) {
      h.damage = "the JPEG header is damaged (a marker is missing)";
      return h;
    }
    while (b.u8(pos + 1) == 0xff && b.has(pos + 1, 2)) ++pos;  // fill bytes
    const std::uint8_t marker = b.u8(pos + 1);
    pos += 2;
    if (marker == 0x00 || marker == 0xff) {
      h.damage = "the JPEG header is damaged (an invalid marker)";
      return h;
    }
    // Markers without a length field.
    if (marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker == 0xd9) {
      h.damage = "the JPEG file ends before any image data";
      return h;
    }
    const std::size_t length = b.be16(pos);
    if (!b.has(pos, 2) || length < 2 || !b.has(pos, length)) {
      h.damage = "a JPEG header segment runs past the end of the file: it is truncated";
      return h;
    }
    const std::size_t body = pos + 2;
    const Bytes segment = b.sub(body, length - 2);
    if (isJpegSof(marker) && segment.has(0, 5)) {
      h.height = segment.be16(1);
      h.width = segment.be16(3);
    } else if (marker == 0xe1 && !exifSeen && segment.startsWith(0, "Exif\0\0", 6)) {
      exifSeen = true;  // only the first EXIF block counts, as in other readers
      h.orientation = exifOrientation(segment.sub(6, segment.size() - 6));
      h.exifOffset = body + 6;
      h.exifSize = segment.size() - 6;
    } else if (marker == 0xe2 && segment.startsWith(0, "ICC_PROFILE\0", 12)) {
      h.jpegIcc.push_back(text(segment.sub(12, segment.size() - 12)));
    } else if (marker == 0xda) {  // start of scan: compressed data follows
      if (!containsJpegEoi(b, pos + length))
        h.damage = "the JPEG data ends without its end-of-image marker: the file is truncated";
      return h;
    }
    pos += length;
  }
}

Header inspectBmp(const Bytes& b) {
  Header h;
  const std::uint32_t infoSize = b.le32(14);
  if (infoSize == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
    h.width = b.le16(18);
    h.height = b.le16(20);
    return h;
  }
  if (infoSize < 40 || !b.has(0, 34)) {
    h.damage = "its BMP header is damaged or cut off";
    return h;
  }
  // Signed: a negative height means rows are stored top-down.
  const auto w = static_cast<std::int32_t>(b.le32(18));
  const auto hh = static_cast<std::int32_t>(b.le32(22));
  h.width = w < 0 ? -static_cast<long long>(w) : w;
  h.height = hh < 0 ? -static_cast<long long>(hh) : hh;
  // For uncompressed pixels the file size is known: catch truncated files.
  const std::uint32_t bitsPerPixel = b.le16(28);
  const std::uint32_t compression = b.le32(30);
  if ((compression == 0 || compression == 3) && bitsPerPixel > 0 && bitsPerPixel <= 32) {
    // In double: the declared sizes may be absurd (a bomb is refused only later).
    const double rowBytes = std::ceil(double(h.width) * bitsPerPixel / 32) * 4;
    const double needed = double(b.le32(10)) + rowBytes * double(h.height);
    if (needed > double(b.size()))
      h.damage = "the BMP pixel data is shorter than its header says: the file is truncated";
  }
  return h;
}

Header inspectTiff(const Bytes& b, bool big) {
  Header h;
  if (!big) h.exifSize = b.size();  // the file is the TIFF structure EXIF uses
  const Endian e{b, b.startsWith(0, "II", 2)};
  // Classic TIFF: 4-byte offsets, 2-byte entry count, 12-byte entries. BigTIFF: 8, 8, 20.
  const std::size_t ifdOffset = big ? e.u64(8) : e.u32(4);
  const std::size_t countSize = big ? 8 : 2;
  const std::size_t entrySize = big ? 20 : 12;
  if (!b.has(ifdOffset, countSize)) {
    h.damage = "its TIFF directory lies past the end of the file: it is truncated";
    return h;
  }
  const std::size_t count = big ? e.u64(ifdOffset) : e.u16(ifdOffset);
  for (std::size_t i = 0; i < count && i < 4096; ++i) {
    const std::size_t entry = ifdOffset + countSize + entrySize * i;
    if (!b.has(entry, entrySize)) break;
    const std::uint32_t tag = e.u16(entry);
    const std::uint32_t type = e.u16(entry + 2);
    const std::size_t valueAt = entry + (big ? 12 : 8);
    // SHORT, LONG, or (BigTIFF only) LONG8; an absurd LONG8 is caught as a bomb later.
    long long value = -1;
    if (type == 3) value = e.u16(valueAt);
    if (type == 4) value = e.u32(valueAt);
    if (type == 16 && big)
      value = static_cast<long long>(std::min<std::uint64_t>(e.u64(valueAt), std::uint64_t(1) << 62));
    if (tag == 256) h.width = value;
    if (tag == 257) h.height = value;
    if (tag == 34675 && type == 7 && !big) {  // InterColorProfile, UNDEFINED bytes
      const std::size_t length = e.u32(entry + 4);
      const std::size_t at = length <= 4 ? valueAt : e.u32(valueAt);
      if (b.has(at, length)) {
        h.icc = text(b.sub(at, length));
        h.iccSource = "TIFF tag 34675";
      }
    }
  }
  return h;
}

Header inspectWebP(const Bytes& b) {
  Header h;
  if (8 + static_cast<std::uint64_t>(b.le32(4)) > b.size()) {
    h.damage = "the WebP data is shorter than its RIFF header says: the file is truncated";
    return h;
  }
  if (b.startsWith(12, "VP8 ", 4) && b.has(20, 10)) {  // lossy
    h.width = b.le16(26) & 0x3fff;
    h.height = b.le16(28) & 0x3fff;
  } else if (b.startsWith(12, "VP8L", 4) && b.has(20, 5)) {  // lossless: 14-bit fields
    const std::uint32_t bits = b.le32(21);
    h.width = (bits & 0x3fff) + 1;
    h.height = ((bits >> 14) & 0x3fff) + 1;
  } else if (b.startsWith(12, "VP8X", 4) && b.has(20, 10)) {  // extended: 24-bit fields
    h.width = (b.le32(24) & 0xffffff) + 1;
    h.height = (b.le32(27) & 0xffffff) + 1;
    // Extended files list their chunks after VP8X: an ICC profile is an "ICCP" chunk.
    for (std::size_t pos = 30; b.has(pos, 8);) {
      const std::size_t size = b.le32(pos + 4);
      if (!b.has(pos + 8, size)) break;
      if (b.startsWith(pos, "ICCP", 4)) {
        h.icc = text(b.sub(pos + 8, size));
        h.iccSource = "WebP ICCP";
        break;
      }
      pos += 8 + size + (size & 1);  // chunks are padded to an even length
    }
  }
  return h;
}

// Netpbm family: whitespace-separated ASCII numbers after the magic, '#' comments.
// Netpbm header numbers read exactly as OpenCV's decoder reads them (grfmt_pxm.cpp,
// ReadNumber), so that the size checked here is the size OpenCV allocates: the byte that
// ends a number is consumed with it (so "8888#12" is 8888 then 12, not a comment), a '#'
// that starts a token skips to the end of its line, and anything else is an error. A
// fuzzed PPM whose comment the two read differently made OpenCV allocate 4.7 GB past the
// size guard.
class TokenReader {
 public:
  TokenReader(Bytes b, std::size_t pos) : b_(b), pos_(pos) {}
  std::optional<long long> number() {
    int code = next();
    while (!isDigit(code)) {
      if (code == '#') {
        do code = next();
        while (code != '\n' && code != '\r' && code >= 0);
        code = next();
      } else if (code >= 0 && isSpace(std::uint8_t(code))) {
        while (code >= 0 && isSpace(std::uint8_t(code))) code = next();
      } else {
        return std::nullopt;  // end of file, or a byte OpenCV refuses too
      }
    }
    long long value = 0;
    std::size_t digits = 0;
    do {
      if (++digits > 10) return std::nullopt;  // OpenCV refuses values past INT_MAX
      value = value * 10 + (code - '0');
      code = next();
    } while (isDigit(code));
    if (value > 0x7fffffffLL) return std::nullopt;
    return value;
  }
  // Just past the byte that ended the last number.
  std::size_t position() const { return pos_; }

 private:
  static bool isDigit(int code) { return code >= '0' && code <= '9'; }
  int next() { return b_.has(pos_, 1) ? b_.u8(pos_++) : -1; }
  Bytes b_;
  std::size_t pos_;
};

Header inspectNetpbm(const Bytes& b) {
  Header h;
  TokenReader tokens(b, 2);
  const auto width = tokens.number();
  const auto height = tokens.number();
  if (!width || !height) return h;
  h.width = *width;
  h.height = *height;
  // Binary variants have a fixed raster size after one whitespace byte.
  const std::uint8_t kind = b.u8(1);
  // In double: the declared sizes may be absurd (a bomb is refused only later).
  double rasterBytes = -1;
  if (kind == '4') {
    rasterBytes = std::ceil(double(h.width) / 8) * double(h.height);
  } else if (kind == '5' || kind == '6') {
    const auto maxValue = tokens.number();
    if (!maxValue) return h;
    const double sampleBytes = *maxValue > 255 ? 2 : 1;
    rasterBytes = double(h.width) * double(h.height) * sampleBytes * (kind == '6' ? 3 : 1);
  }
  const double available = double(b.size()) - double(tokens.position());
  if (rasterBytes >= 0 && rasterBytes > available)
    h.damage = "the pixel data is shorter than its header says: the file is truncated";
  return h;
}

Header inspectPam(const Bytes& b) {
  // Lines "WIDTH n", "HEIGHT n", ... up to "ENDHDR".
  Header h;
  const std::size_t limit = std::min<std::size_t>(b.size(), 4096);
  const std::string text(reinterpret_cast<const char*>(b.data()), limit);
  auto valueAfter = [&text](const char* key) -> long long {
    const std::size_t at = text.find(key);
    if (at == std::string::npos) return -1;
    TokenReader tokens(Bytes(text), at + std::strlen(key));  // copies the view, not text
    return tokens.number().value_or(-1);
  };
  h.width = valueAfter("\nWIDTH");
  h.height = valueAfter("\nHEIGHT");
  return h;
}

Header inspectSunRaster(const Bytes& b) {
  Header h;
  if (!b.has(0, 12)) return h;
  h.width = b.be32(4);
  h.height = b.be32(8);
  return h;
}

Header inspectRadianceHdr(const Bytes& b) {
  // Header lines end with an empty line; the next line is e.g. "-Y 480 +X 640".
  Header h;
  const std::size_t limit = std::min<std::size_t>(b.size(), 65536);
  const std::string text(reinterpret_cast<const char*>(b.data()), limit);
  const std::size_t blank = text.find("\n\n");
  if (blank == std::string::npos) return h;
  std::size_t pos = blank + 2;
  auto axisThenNumber = [&](char& axis) -> long long {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos + 1 >= text.size() || (text[pos] != '-' && text[pos] != '+')) return -1;
    axis = text[pos + 1];
    TokenReader tokens(Bytes(text), pos + 2);
    const long long n = tokens.number().value_or(-1);
    pos = tokens.position();
    return n;
  };
  char first = 0, second = 0;
  const long long a = axisThenNumber(first);
  const long long c = axisThenNumber(second);
  if (a < 0 || c < 0) return h;
  h.height = first == 'Y' ? a : c;
  h.width = first == 'Y' ? c : a;
  return h;
}

void readJ2kSiz(const Bytes& cs, Header& h) {
  // SOC (FF4F), SIZ (FF51): Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz.
  if (!cs.has(0, 24) || !cs.startsWith(0, "\xff\x4f\xff\x51", 4)) return;
  h.width = static_cast<long long>(cs.be32(8)) - cs.be32(16);
  h.height = static_cast<long long>(cs.be32(12)) - cs.be32(20);
}

// Walks ISO/JP2 boxes in `b` and returns the first box of `type` (its contents).
std::optional<Bytes> findBox(const Bytes& b, const char* type) {
  std::size_t pos = 0;
  while (b.has(pos, 8)) {
    std::uint64_t length = b.be32(pos);
    std::size_t headerSize = 8;
    if (length == 1) {  // 64-bit length follows
      length = b.be64(pos + 8);
      headerSize = 16;
    } else if (length == 0) {  // box runs to the end
      length = b.size() - pos;
    }
    if (length < headerSize || !b.has(pos, length)) return std::nullopt;
    if (b.startsWith(pos + 4, type, 4)) return b.sub(pos + headerSize, length - headerSize);
    pos += length;
  }
  return std::nullopt;
}

Header inspectJp2(const Bytes& b) {
  Header h;
  if (const auto jp2h = findBox(b, "jp2h")) {
    if (const auto ihdr = findBox(*jp2h, "ihdr"); ihdr && ihdr->has(0, 8)) {
      h.height = ihdr->be32(0);
      h.width = ihdr->be32(4);
      return h;
    }
  }
  if (const auto codestream = findBox(b, "jp2c")) readJ2kSiz(*codestream, h);
  return h;
}

Header inspectExr(const Bytes& b) {
  // After magic and version: attributes "name\0type\0" + int32 size + value, ending
  // with an empty name. dataWindow is a box2i: xMin, yMin, xMax, yMax.
  Header h;
  std::size_t pos = 8;
  auto readString = [&b, &pos]() -> std::optional<std::string> {
    std::string s;
    while (b.has(pos, 1) && b.u8(pos) != 0 && s.size() < 256) s += char(b.u8(pos++));
    if (!b.has(pos, 1) || b.u8(pos) != 0) return std::nullopt;
    ++pos;
    return s;
  };
  for (int attribute = 0; attribute < 1024; ++attribute) {
    const auto name = readString();
    if (!name || name->empty()) return h;
    const auto type = readString();
    if (!type || !b.has(pos, 4)) return h;
    const std::size_t size = b.le32(pos);
    pos += 4;
    if (!b.has(pos, size)) return h;
    if (*name == "dataWindow" && *type == "box2i" && size == 16) {
      const auto at = [&b, pos](std::size_t i) {
        return static_cast<long long>(static_cast<std::int32_t>(b.le32(pos + 4 * i)));
      };
      h.width = at(2) - at(0) + 1;
      h.height = at(3) - at(1) + 1;
      return h;
    }
    pos += size;
  }
  return h;
}

}  // namespace

Header inspect(Format format, const Bytes& b) {
  switch (format) {
    case Format::Png:
      return inspectPng(b);
    case Format::Jpeg:
      return inspectJpeg(b);
    case Format::Bmp:
      return inspectBmp(b);
    case Format::Tiff:
      return inspectTiff(b, false);
    case Format::BigTiff:
      return inspectTiff(b, true);
    case Format::WebP:
      return inspectWebP(b);
    case Format::Pbm:
    case Format::Pgm:
    case Format::Ppm:
    case Format::Pfm:
      return inspectNetpbm(b);
    case Format::Pam:
      return inspectPam(b);
    case Format::SunRaster:
      return inspectSunRaster(b);
    case Format::RadianceHdr:
      return inspectRadianceHdr(b);
    case Format::Jp2:
      return inspectJp2(b);
    case Format::J2k: {
      Header h;
      readJ2kSiz(b, h);
      return h;
    }
    case Format::Exr:
      return inspectExr(b);
    default:
      return {};
  }
}

}  // namespace dqa::image
