#include "core/image/image_loader.h"

#include "core/image/decoded.h"
#include "core/image/embedded_profile.h"
#include "core/image/heif_decode.h"
#include "core/image/load_error.h"
#include "core/image/raw_decode.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <optional>
#include <vector>

namespace dqa::image {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Bounds-checked reading of untrusted bytes. Every header parser below goes through
// these, so a malformed or truncated file can only make a parser give up, never read
// past the buffer.

class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  explicit Bytes(const std::string& s) : data_(reinterpret_cast<const std::uint8_t*>(s.data())), size_(s.size()) {}

  std::size_t size() const { return size_; }
  // True when [offset, offset + n) lies inside the buffer (written so it cannot overflow).
  bool has(std::size_t offset, std::size_t n) const { return offset <= size_ && n <= size_ - offset; }
  std::uint8_t u8(std::size_t at) const { return has(at, 1) ? data_[at] : 0; }
  std::uint32_t be16(std::size_t at) const { return std::uint32_t(u8(at)) << 8 | u8(at + 1); }
  std::uint32_t le16(std::size_t at) const { return std::uint32_t(u8(at + 1)) << 8 | u8(at); }
  std::uint32_t be32(std::size_t at) const { return be16(at) << 16 | be16(at + 2); }
  std::uint32_t le32(std::size_t at) const { return le16(at + 2) << 16 | le16(at); }
  std::uint64_t le64(std::size_t at) const { return std::uint64_t(le32(at + 4)) << 32 | le32(at); }
  std::uint64_t be64(std::size_t at) const { return std::uint64_t(be32(at)) << 32 | be32(at + 4); }
  bool startsWith(std::size_t at, const char* text, std::size_t n) const {
    return has(at, n) && std::memcmp(data_ + at, text, n) == 0;
  }
  // The sub-range [offset, offset + n), clipped to the buffer.
  Bytes sub(std::size_t offset, std::size_t n) const {
    if (offset > size_) return Bytes(data_, 0);
    return Bytes(data_ + offset, std::min(n, size_ - offset));
  }
  const std::uint8_t* data() const { return data_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

// Reads integers in the byte order a TIFF structure declares ("II" or "MM").
struct Endian {
  Bytes b;
  bool little;
  std::uint32_t u16(std::size_t at) const { return little ? b.le16(at) : b.be16(at); }
  std::uint32_t u32(std::size_t at) const { return little ? b.le32(at) : b.be32(at); }
  std::uint64_t u64(std::size_t at) const { return little ? b.le64(at) : b.be64(at); }
};

// ---------------------------------------------------------------------------------------
// What a file's header says, read before any pixel buffer exists.

struct Header {
  long long width = -1;  // -1: not found in the header
  long long height = -1;
  int orientation = 1;  // EXIF orientation, 1 = as stored
  std::string damage;   // non-empty: the file is structurally broken (e.g. truncated)
  // An embedded ICC profile, as stored: a PNG iCCP chunk's data (compressed), a JPEG's
  // APP2 "ICC_PROFILE" payloads, or the bytes of a TIFF's InterColorProfile tag (34675)
  // or a WebP ICCP chunk (`iccSource` names which).
  std::optional<std::string> pngIccp;
  std::vector<std::string> jpegIcc;
  std::optional<std::string> icc;
  const char* iccSource = "";
};

std::string text(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

enum class Format {
  Unknown,
  Png,
  Jpeg,
  Bmp,
  Tiff,
  BigTiff,
  WebP,
  Pbm,
  Pgm,
  Ppm,
  Pam,
  Pfm,
  SunRaster,
  RadianceHdr,
  Jp2,
  J2k,
  Exr,
  Heif,
  Avif,       // libheif
  CameraRaw,  // LibRaw
  // Recognised so the message can say what the file is, but nothing here reads them.
  Gif,
  JpegXl,
  Psd,
  Pdf,
  Dicom,
};

const char* formatName(Format f) {
  switch (f) {
    case Format::Png:
      return "PNG";
    case Format::Jpeg:
      return "JPEG";
    case Format::Bmp:
      return "BMP";
    case Format::Tiff:
      return "TIFF";
    case Format::BigTiff:
      return "BigTIFF";
    case Format::WebP:
      return "WebP";
    case Format::Pbm:
      return "PBM";
    case Format::Pgm:
      return "PGM";
    case Format::Ppm:
      return "PPM";
    case Format::Pam:
      return "PAM";
    case Format::Pfm:
      return "PFM";
    case Format::SunRaster:
      return "Sun raster";
    case Format::RadianceHdr:
      return "Radiance HDR";
    case Format::Jp2:
      return "JPEG 2000";
    case Format::J2k:
      return "JPEG 2000 codestream";
    case Format::Exr:
      return "OpenEXR";
    case Format::Gif:
      return "GIF";
    case Format::Heif:
      return "HEIF/HEIC";
    case Format::Avif:
      return "AVIF";
    case Format::CameraRaw:
      return "camera RAW";
    case Format::JpegXl:
      return "JPEG XL";
    case Format::Psd:
      return "Photoshop PSD";
    case Format::Pdf:
      return "PDF";
    case Format::Dicom:
      return "DICOM";
    case Format::Unknown:
      break;
  }
  return "unknown";
}

bool isReadable(Format f) {
  switch (f) {
    case Format::Gif:
    case Format::JpegXl:
    case Format::Psd:
    case Format::Pdf:
    case Format::Dicom:
    case Format::Unknown:
      return false;
    default:
      return true;
  }
}

const char* kReadableList =
    "PNG, JPEG, BMP, TIFF, WebP, PPM/PGM/PBM/PAM, PFM, Sun raster, Radiance HDR, "
    "JPEG 2000, OpenEXR, HEIF/HEIC, AVIF, camera RAW/DNG";

bool isSpace(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

Format detectIsoBmff(const Bytes& b) {
  // ISO base media file: size, "ftyp", major brand.
  if (!b.startsWith(4, "ftyp", 4)) return Format::Unknown;
  for (const char* brand : {"heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"})
    if (b.startsWith(8, brand, 4)) return Format::Heif;
  for (const char* brand : {"avif", "avis"})
    if (b.startsWith(8, brand, 4)) return Format::Avif;
  if (b.startsWith(8, "crx ", 4)) return Format::CameraRaw;  // Canon CR3
  return Format::Unknown;
}

// Camera RAW formats with their own signature (TIFF-based ones: hasRawMarker).
bool isSignedRaw(const Bytes& b) {
  return b.startsWith(0, "IIRO", 4) || b.startsWith(0, "IIRS", 4) ||   // Olympus ORF
         b.startsWith(0, "MMOR", 4) || b.startsWith(0, "IIU\0", 4) ||  // ORF, Panasonic RW2
         b.startsWith(0, "FUJIFILMCCD-RAW", 15) ||                     // Fujifilm RAF
         b.startsWith(6, "HEAPCCDR", 8) ||                             // Canon CRW
         b.startsWith(0, "\0MRM", 4) || b.startsWith(0, "FOVb", 4);    // Minolta MRW, Sigma X3F
}

// Most RAW formats are TIFF files whose first directory holds a thumbnail, which
// OpenCV would return as the image. They are told apart by the DNGVersion tag or Canon's
// CR2 marker, or else by the file name's extension (and then LibRaw must take them).
bool hasRawMarker(const Bytes& b) {
  if (b.startsWith(8, "CR", 2)) return true;
  const Endian e{b, b.startsWith(0, "II", 2)};
  const std::size_t ifd = e.u32(4);
  const std::size_t count = b.has(ifd, 2) ? e.u16(ifd) : 0;
  for (std::size_t i = 0; i < count && b.has(ifd + 2 + 12 * i, 12); ++i)
    if (e.u16(ifd + 2 + 12 * i) == 50706) return true;  // DNGVersion
  return false;
}

bool hasRawExtension(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (const char* raw : {"dng", "nef", "nrw", "arw", "srf", "sr2", "cr2", "pef", "srw", "erf", "3fr", "fff", "iiq",
                          "kdc", "dcr", "mos", "mef", "rwl", "raw"})
    if (ext == raw) return true;
  return false;
}

Format detectFormat(const Bytes& b) {
  if (b.startsWith(0, "\x89PNG\r\n\x1a\n", 8)) return Format::Png;
  if (b.startsWith(0, "\xff\xd8\xff", 3)) return Format::Jpeg;
  if (b.startsWith(0, "BM", 2) && b.has(0, 26)) return Format::Bmp;
  if (isSignedRaw(b)) return Format::CameraRaw;
  if (b.startsWith(0, "II*\0", 4) || b.startsWith(0, "MM\0*", 4)) return Format::Tiff;
  if (b.startsWith(0, "II+\0", 4) || b.startsWith(0, "MM\0+", 4)) return Format::BigTiff;
  if (b.startsWith(0, "RIFF", 4) && b.startsWith(8, "WEBP", 4)) return Format::WebP;
  if (b.u8(0) == 'P' && b.has(0, 3) && isSpace(b.u8(2))) {
    switch (b.u8(1)) {
      case '1':
      case '4':
        return Format::Pbm;
      case '2':
      case '5':
        return Format::Pgm;
      case '3':
      case '6':
        return Format::Ppm;
      case '7':
        return Format::Pam;
      case 'F':
      case 'f':
        return Format::Pfm;
      default:
        break;
    }
  }
  if (b.startsWith(0, "\x59\xa6\x6a\x95", 4)) return Format::SunRaster;
  if (b.startsWith(0, "#?RADIANCE", 10) || b.startsWith(0, "#?RGBE", 6)) return Format::RadianceHdr;
  if (b.startsWith(0, "\0\0\0\x0cjP  \r\n\x87\n", 12)) return Format::Jp2;
  if (b.startsWith(0, "\xff\x4f\xff\x51", 4)) return Format::J2k;
  if (b.startsWith(0, "\x76\x2f\x31\x01", 4)) return Format::Exr;
  if (b.startsWith(0, "GIF87a", 6) || b.startsWith(0, "GIF89a", 6)) return Format::Gif;
  if (b.startsWith(0, "\xff\x0a", 2) || b.startsWith(0, "\0\0\0\x0cJXL \r\n\x87\n", 12)) return Format::JpegXl;
  if (b.startsWith(0, "8BPS", 4)) return Format::Psd;
  if (b.startsWith(0, "%PDF", 4)) return Format::Pdf;
  if (b.startsWith(128, "DICM", 4)) return Format::Dicom;
  return detectIsoBmff(b);
}

// ---------------------------------------------------------------------------------------
// EXIF orientation. `tiff` is a TIFF structure: what follows "Exif\0\0" in a JPEG APP1
// segment, or the whole of a PNG eXIf chunk. Anything malformed means "as stored" (1):
// a broken tag must not stop the image from loading.

int exifOrientation(const Bytes& tiff) {
  if (!tiff.has(0, 8)) return 1;
  bool little = false;
  if (tiff.startsWith(0, "II", 2))
    little = true;
  else if (!tiff.startsWith(0, "MM", 2))
    return 1;
  const Endian e{tiff, little};
  if (e.u16(2) != 42) return 1;
  const std::size_t ifd = e.u32(4);
  if (!tiff.has(ifd, 2)) return 1;
  const std::size_t count = e.u16(ifd);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t entry = ifd + 2 + 12 * i;
    if (!tiff.has(entry, 12)) return 1;
    if (e.u16(entry) != 0x0112) continue;
    const std::uint32_t type = e.u16(entry + 2);
    if (e.u32(entry + 4) < 1) return 1;
    // The standard says SHORT; some writers use LONG. The value sits in the entry.
    const std::uint32_t value = type == 3 ? e.u16(entry + 8) : type == 4 ? e.u32(entry + 8) : 0;
    return value >= 1 && value <= 8 ? int(value) : 1;
  }
  return 1;
}

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
    if (b.startsWith(pos + 4, "eXIf", 4)) h.orientation = exifOrientation(data);
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
class TokenReader {
 public:
  TokenReader(Bytes b, std::size_t pos) : b_(b), pos_(pos) {}
  std::optional<long long> number() {
    skipSpaceAndComments();
    long long value = 0;
    std::size_t digits = 0;
    while (b_.has(pos_, 1) && b_.u8(pos_) >= '0' && b_.u8(pos_) <= '9' && digits < 12) {
      value = value * 10 + (b_.u8(pos_) - '0');
      ++pos_;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    return value;
  }
  std::size_t position() const { return pos_; }

 private:
  void skipSpaceAndComments() {
    while (b_.has(pos_, 1)) {
      if (b_.u8(pos_) == '#') {
        while (b_.has(pos_, 1) && b_.u8(pos_) != '\n') ++pos_;
      } else if (isSpace(b_.u8(pos_))) {
        ++pos_;
      } else {
        break;
      }
    }
  }
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
  const double available = double(b.size()) - double(tokens.position()) - 1;
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

// ---------------------------------------------------------------------------------------
// Messages: always name the file, say what is wrong and what to do.

Error fail(const std::string& name, const std::string& what, const std::string& todo) {
  return loadError(name, what, todo);
}

std::optional<Error> checkHeader(const std::string& name, Format format, const Header& h, const LoadOptions& options) {
  const std::string kind = formatName(format);
  if (h.width < 0 || h.height < 0) {
    const std::string what = !h.damage.empty() ? h.damage
                                               : "its " + kind +
                                                     " header is "
                                                     "damaged or cut off (the image size could not be read)";
    return fail(name, what, "Re-export or re-download the file.");
  }
  if (auto error = checkDeclaredSize(name, kind, h.width, h.height, options.maxPixels)) return error;
  if (!h.damage.empty()) return fail(name, h.damage, "Re-export or re-download the file.");
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// From whatever OpenCV decoded (BGR order, 1-4 channels, various depths) to the
// canonical RGB 8/16-bit form.

Result<cv::Mat> toIntegerDepth(const cv::Mat& raw, const std::string& name) {
  switch (raw.depth()) {
    case CV_8U:
    case CV_16U:
      return raw;
    case CV_32F:
    case CV_64F: {
      // HDR sources: keep the displayable range [0,1] at 16-bit precision.
      cv::Mat clipped;
      cv::min(cv::max(raw, 0.0), 1.0, clipped);
      cv::Mat out;
      clipped.convertTo(out, CV_16U, 65535.0);
      return out;
    }
    default:
      return fail(name, "it uses a sample type this program does not handle (" + cv::typeToString(raw.type()) + ")",
                  "Convert it to an 8- or 16-bit PNG.");
  }
}

cv::Mat compositeOverBlack(const cv::Mat& colour, const cv::Mat& alpha) {
  // Over black, compositing is premultiplication: c * a / max.
  const double maxValue = colour.depth() == CV_16U ? 65535.0 : 255.0;
  cv::Mat alphaPerChannel;
  cv::merge(std::vector<cv::Mat>(colour.channels(), alpha), alphaPerChannel);
  cv::Mat out;
  cv::multiply(colour, alphaPerChannel, out, 1.0 / maxValue);
  return out;
}

Result<cv::Mat> toRgb(const cv::Mat& raw, const std::string& name) {
  cv::Mat out;
  switch (raw.channels()) {
    case 1:
      cv::cvtColor(raw, out, cv::COLOR_GRAY2RGB);
      return out;
    case 2: {  // grey + alpha
      std::vector<cv::Mat> planes;
      cv::split(raw, planes);
      cv::cvtColor(compositeOverBlack(planes[0], planes[1]), out, cv::COLOR_GRAY2RGB);
      return out;
    }
    case 3:
      cv::cvtColor(raw, out, cv::COLOR_BGR2RGB);
      return out;
    case 4: {  // BGRA
      std::vector<cv::Mat> planes;
      cv::split(raw, planes);
      cv::Mat bgr;
      cv::merge(std::vector<cv::Mat>(planes.begin(), planes.begin() + 3), bgr);
      cv::cvtColor(compositeOverBlack(bgr, planes[3]), out, cv::COLOR_BGR2RGB);
      return out;
    }
    default:
      return fail(name, "it has " + std::to_string(raw.channels()) + " channels",
                  "Convert it to an RGB or greyscale PNG.");
  }
}

// EXIF orientation n: how the stored pixels must be transformed for display.
cv::Mat applyOrientation(const cv::Mat& img, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2:
      cv::flip(img, out, 1);
      return out;  // mirror left-right
    case 3:
      cv::rotate(img, out, cv::ROTATE_180);
      return out;
    case 4:
      cv::flip(img, out, 0);
      return out;  // mirror top-bottom
    case 5:
      cv::transpose(img, out);
      return out;
    case 6:
      cv::rotate(img, out, cv::ROTATE_90_CLOCKWISE);
      return out;
    case 7:
      cv::transpose(img, out);
      cv::flip(out, out, -1);
      return out;
    case 8:
      cv::rotate(img, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      return out;
    default:
      return img;
  }
}

// The profile the header parsers found, in the form the colour step takes.
void takeProfile(const Header& h, Decoded& d) {
  if (h.pngIccp) {
    d.icc = iccFromPngChunk(*h.pngIccp);
    d.iccSource = "PNG iCCP";
  } else if (!h.jpegIcc.empty()) {
    d.icc = iccFromJpegSegments(h.jpegIcc);
    d.iccSource = "JPEG APP2";
  } else if (h.icc) {
    d.icc = Result<std::string>(*h.icc);
    d.iccSource = h.iccSource;
  }
}

// The file's profile applied (to sRGB), or none found (taken as sRGB). A broken profile
// fails the load unless options.brokenProfile says to take the pixels as sRGB.
Result<ColourInfo> manageColour(const std::string& name, const Decoded& d, cv::Mat& rgb, const LoadOptions& options) {
  if (d.colour) return *d.colour;
  if (!d.icc) return assumedSrgb();
  Result<ColourInfo> info =
      *d.icc ? convertIccToSrgb(rgb, d.icc->value(), d.iccSource) : Result<ColourInfo>(d.icc->error());
  if (info) return info;
  if (options.brokenProfile == BrokenProfile::AssumeSrgb) {
    ColourInfo fallback = assumedSrgb();
    fallback.source = d.iccSource;
    fallback.note = "the colour profile (" + d.iccSource +
                    ") is broken, so the pixels are "
                    "taken as sRGB: " +
                    info.message();
    return fallback;
  }
  return fail(name, info.message(),
              "Re-save the image with a valid colour profile (or "
              "without one, to have it read as sRGB).");
}

Result<Decoded> decodeWithOpenCv(const Bytes& b, const std::string& name, Format format, const LoadOptions& options) {
  const Header header = inspect(format, b);
  if (auto error = checkHeader(name, format, header, options)) return *error;
  // IMREAD_UNCHANGED keeps 16-bit depth and alpha; it also means OpenCV applies no EXIF
  // orientation, so we apply the one we parsed (JPEG, PNG) exactly once. TIFF needs
  // nothing: OpenCV's TIFF decoder honours the file's Orientation tag itself.
  const cv::Mat buffer(1, static_cast<int>(b.size()), CV_8UC1, const_cast<std::uint8_t*>(b.data()));
  Decoded d;
  d.pixels = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  if (d.pixels.empty()) {
    return fail(name,
                "the " + std::string(formatName(format)) +
                    " data could not be decoded "
                    "(it is damaged or uses a variant of the format that OpenCV does not support)",
                "Re-export it as PNG or JPEG.");
  }
  d.orientation = header.orientation;
  takeProfile(header, d);
  return d;
}

Result<Decoded> decodeAny(const std::string& bytes, const std::string& name, Format format,
                          const LoadOptions& options) {
  switch (format) {
    case Format::Heif:
    case Format::Avif:
      return decodeHeif(bytes, name, formatName(format), options.maxPixels);
    case Format::CameraRaw:
      return decodeRaw(bytes, name, options.maxPixels, options.rawHalfSize);
    default:
      return decodeWithOpenCv(Bytes(bytes), name, format, options);
  }
}

// From a decoder's output to the canonical image: 8/16-bit RGB, sRGB, upright.
Result<LoadedImage> canonical(Decoded&& d, const std::string& name, const std::string& kind,
                              const LoadOptions& options) {
  auto integer = toIntegerDepth(d.pixels, name);
  if (!integer) return integer.error();
  auto rgb = toRgb(*integer, name);
  if (!rgb) return rgb.error();
  auto colour = manageColour(name, d, *rgb, options);
  if (!colour) return colour.error();

  LoadedImage image;
  image.rgb = applyOrientation(*rgb, d.orientation);
  image.path = name;
  image.format = d.format.empty() ? kind : d.format;
  image.sourceChannels = d.pixels.channels();
  image.bitDepth = image.rgb.depth() == CV_16U ? 16 : 8;
  image.sourceBits = d.sourceBits ? d.sourceBits : image.bitDepth;
  image.exifOrientation = d.orientation;
  image.colour = std::move(*colour);
  return image;
}

Result<LoadedImage> decodeChecked(const std::string& bytes, const std::string& name, const LoadOptions& options) {
  const Bytes b(bytes);
  if (b.size() == 0)
    return fail(name, "the file is empty (0 bytes)",
                "Choose another file; this one may "
                "have been cut off while copying or downloading.");
  // OpenCV takes the buffer's length as an int.
  const long long byteLimit = std::min<long long>(options.maxFileBytes, INT_MAX);
  if (b.size() > static_cast<std::uint64_t>(byteLimit)) {
    return fail(
        name,
        "it is " + std::to_string(b.size()) + " bytes, more than the limit of " + std::to_string(byteLimit) + " bytes",
        "Downscale or recompress the image first.");
  }
  Format format = detectFormat(b);
  // A TIFF named like a RAW that LibRaw does not take (a scan named .raw) stays a TIFF.
  if (format == Format::Tiff && (hasRawMarker(b) || (hasRawExtension(name) && isCameraRaw(bytes))))
    format = Format::CameraRaw;
  if (format == Format::Unknown) {
    return fail(name,
                "it is not an image in a format this program reads (its first bytes "
                "match none of " +
                    std::string(kReadableList) + ")",
                "Check that you chose the right file, or convert it to PNG or JPEG.");
  }
  const std::string kind = formatName(format);
  if (!isReadable(format)) {
    return fail(name, "it is a " + kind + " file, which this program cannot read", "Convert it to PNG or JPEG first.");
  }
  auto decoded = decodeAny(bytes, name, format, options);
  if (!decoded && format == Format::Tiff && hasRawExtension(name)) {
    return fail(name,
                "it is named like a camera RAW file, but LibRaw does not recognise "
                "it and it cannot be read as a TIFF either (it is damaged or cut off)",
                "Copy the file from the camera or card again.");
  }
  if (!decoded) return decoded.error();
  return canonical(std::move(*decoded), name, kind, options);
}

}  // namespace

Result<LoadedImage> decodeImage(const std::string& bytes, const std::string& nameForMessages,
                                const LoadOptions& options) {
  // OpenCV and the allocator may throw; nothing may escape the core's boundary.
  try {
    return decodeChecked(bytes, nameForMessages, options);
  } catch (const cv::Exception& e) {
    return fail(nameForMessages, "OpenCV failed while decoding it (" + e.err + ")",
                "Re-export the image as PNG or JPEG.");
  } catch (const std::bad_alloc&) {
    return fail(nameForMessages, "there is not enough memory to decode it",
                "Close other programs or downscale the image first.");
  } catch (const std::exception& e) {
    return fail(nameForMessages, std::string("decoding failed (") + e.what() + ")",
                "Re-export the image as PNG or JPEG.");
  }
}

Result<LoadedImage> loadImage(const std::string& path, const LoadOptions& options) {
  if (path.empty()) return makeError("Cannot load image: no file name was given.");
  try {
    // u8path: the string is UTF-8 on every platform (matters on Windows).
    const fs::path file = fs::u8path(path);
    std::error_code ec;
    const fs::file_status status = fs::status(file, ec);
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
      return fail(path, "it could not be accessed (" + ec.message() + ")",
                  "Check that you have permission to read it and its folder.");
    }
    if (!fs::exists(status)) {
      return fail(path, "the file does not exist",
                  "Check the path and the spelling, or "
                  "choose the file again.");
    }
    if (fs::is_directory(status)) {
      return fail(path, "it is a folder, not a file", "Choose an image file inside it.");
    }
    if (!fs::is_regular_file(status)) { return fail(path, "it is not a regular file", "Choose an image file."); }
    const std::uintmax_t size = fs::file_size(file, ec);
    if (ec) return fail(path, "its size could not be read (" + ec.message() + ")", "Check that you may read it.");
    if (size > static_cast<std::uintmax_t>(options.maxFileBytes)) {
      return fail(path,
                  "the file is " + std::to_string(size) +
                      " bytes, more than the "
                      "limit of " +
                      std::to_string(options.maxFileBytes) + " bytes",
                  "Downscale or recompress the image first.");
    }
    errno = 0;
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      const std::string reason = errno ? std::strerror(errno) : "unknown reason";
      return fail(path, "the file could not be opened (" + reason + ")", "Check that you have permission to read it.");
    }
    std::string bytes(static_cast<std::size_t>(size), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    bytes.resize(static_cast<std::size_t>(in.gcount()));  // the file may have shrunk
    return decodeImage(bytes, path, options);
  } catch (const std::bad_alloc&) {
    return fail(path, "there is not enough memory to read it", "Close other programs.");
  } catch (const std::exception& e) {
    return fail(path, std::string("reading it failed (") + e.what() + ")", "Check the file and try again.");
  }
}

}  // namespace dqa::image
