#pragma once
// Internal to core/image (image_loader.cpp and its two stages, format_detect.cpp and
// header_inspect.cpp): what a file is and what its header says, read from untrusted
// bytes before any pixel buffer exists.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace dqa::image {

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

inline bool isSpace(std::uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

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
  // Where the EXIF TIFF structure lies in the file (JPEG APP1, PNG eXIf, or a TIFF file
  // itself); size 0: none.
  std::size_t exifOffset = 0, exifSize = 0;
};

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

// ---------------------------------------------------------------------------------------
// Format detection (format_detect.cpp): by signature, never by the file name alone.

const char* formatName(Format f);
bool isReadable(Format f);               // decoded here (OpenCV, libheif or LibRaw)
extern const char* const kReadableList;  // the readable formats, for messages
Format detectFormat(const Bytes& b);
// Most RAW formats are TIFF files whose first directory holds a thumbnail, which
// OpenCV would return as the image. They are told apart by the DNGVersion tag or Canon's
// CR2 marker, or else by the file name's extension (and then LibRaw must take them).
bool hasRawMarker(const Bytes& b);
bool hasRawExtension(const std::string& name);

// ---------------------------------------------------------------------------------------
// Header inspection (header_inspect.cpp).

// EXIF orientation (1..8) of a TIFF structure: what follows "Exif\0\0" in a JPEG APP1
// segment, or a PNG eXIf chunk. Anything malformed means "as stored" (1).
int exifOrientation(const Bytes& tiff);
// The declared size, orientation, embedded profile and any structural damage.
Header inspect(Format format, const Bytes& b);

}  // namespace dqa::image
