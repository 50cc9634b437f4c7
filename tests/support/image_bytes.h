#pragma once
// Hand-made image bytes for the image-loading and bad-input suites: integers in both
// byte orders, OpenCV encodings, PNG chunks with their CRC, JPEG ICC_PROFILE segments,
// and a CMYK JPEG (which OpenCV cannot write). Header-only; no Qt, no core types.
#include <opencv2/imgcodecs.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace dqa::test {

inline std::string be16(unsigned v) { return {char(v >> 8 & 0xff), char(v & 0xff)}; }
inline std::string be32(std::uint32_t v) { return be16(v >> 16) + be16(v & 0xffff); }
inline std::string le16(unsigned v) { return {char(v & 0xff), char(v >> 8 & 0xff)}; }
inline std::string le32(std::uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); }

inline std::string encode(const cv::Mat& m, const std::string& ext, const std::vector<int>& params = {}) {
  std::vector<uchar> buffer;
  if (!cv::imencode(ext, m, buffer, params)) return {};
  return std::string(buffer.begin(), buffer.end());
}

inline std::uint32_t crc32(const std::string& bytes) {
  std::uint32_t crc = 0xffffffffu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

inline std::string pngChunk(const std::string& type, const std::string& data) {
  return be32(std::uint32_t(data.size())) + type + data + be32(crc32(type + data));
}

// APP1 with `payload` right after a JPEG's SOI.
inline std::string withJpegApp1(const std::string& jpeg, const std::string& payload) {
  const std::string app1 = "\xff\xe1" + be16(unsigned(payload.size() + 2)) + payload;
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

// A JPEG with the profile split over `chunks` APP2 segments after SOI, written in the
// order `order` gives (1-based chunk numbers; empty: 1..chunks).
inline std::string withJpegIcc(const std::string& jpeg, const std::string& icc, int chunks,
                               std::vector<int> order = {}) {
  if (order.empty())
    for (int i = 1; i <= chunks; ++i) order.push_back(i);
  const std::size_t part = (icc.size() + std::size_t(chunks) - 1) / std::size_t(chunks);
  std::string segments;
  for (int n : order) {
    const std::size_t index = n > 0 ? std::size_t(n - 1) : 0;  // 0: a bad chunk number
    const std::string data = icc.substr(index * part, part);
    const std::string payload = std::string("ICC_PROFILE\0", 12) + char(n) + char(chunks) + data;
    segments += "\xff\xe2" + be16(unsigned(payload.size() + 2)) + payload;
  }
  return jpeg.substr(0, 2) + segments + jpeg.substr(2);
}

// ---- hand-made CMYK JPEG ----------------------------------------------------------------
// A flat 8x8 baseline JPEG with four components and an Adobe marker. A flat block has
// only a DC coefficient; with all quantisers 1 the DC is 8 * (value - 128). Huffman
// tables: DC categories 0..11 as 4-bit codes, AC: EOB only ("0").
class JpegBitWriter {
 public:
  void put(unsigned value, int count) {
    for (int i = count - 1; i >= 0; --i) {
      current_ = static_cast<unsigned char>(current_ << 1 | (value >> i & 1u));
      if (++filled_ == 8) flush();
    }
  }
  std::string finish() {
    while (filled_ != 0) put(1, 1);  // pad with ones
    return bytes_;
  }

 private:
  void flush() {
    bytes_ += char(current_);
    if (current_ == 0xff) bytes_ += '\0';  // byte stuffing
    current_ = 0;
    filled_ = 0;
  }
  std::string bytes_;
  unsigned char current_ = 0;
  int filled_ = 0;
};

inline std::string jpegSegment(unsigned char marker, const std::string& body) {
  return std::string{'\xff', char(marker)} + be16(unsigned(body.size() + 2)) + body;
}

// `stored` are the four component values as written (Adobe CMYK is stored inverted).
inline std::string makeCmykJpeg(const unsigned char stored[4]) {
  std::string out = "\xff\xd8";
  out += jpegSegment(0xee, std::string("Adobe", 5) + be16(100) + be16(0) + be16(0) + '\0');
  out += jpegSegment(0xdb, std::string(1, '\0') + std::string(64, '\x01'));
  std::string sof = std::string(1, 8) + be16(8) + be16(8) + char(4);
  for (int c = 1; c <= 4; ++c) sof += std::string{char(c), '\x11', '\0'};
  out += jpegSegment(0xc0, sof);
  std::string dcBits(16, '\0');
  dcBits[3] = 12;  // twelve codes of length 4
  std::string dcValues;
  for (int s = 0; s < 12; ++s) dcValues += char(s);
  std::string acBits(16, '\0');
  acBits[0] = 1;  // one code of length 1: EOB
  out += jpegSegment(0xc4, std::string(1, '\x00') + dcBits + dcValues);
  out += jpegSegment(0xc4, std::string(1, '\x10') + acBits + std::string(1, '\0'));
  std::string sos = std::string(1, 4);
  for (int c = 1; c <= 4; ++c) sos += std::string{char(c), '\0'};
  sos += std::string{'\0', '\x3f', '\0'};
  out += jpegSegment(0xda, sos);
  JpegBitWriter bits;
  for (int c = 0; c < 4; ++c) {
    const int dc = 8 * (int(stored[c]) - 128);
    int category = 0;
    while ((1 << category) <= std::abs(dc)) ++category;
    bits.put(unsigned(category), 4);
    if (category > 0) bits.put(unsigned(dc >= 0 ? dc : dc + (1 << category) - 1), category);
    bits.put(0, 1);  // EOB
  }
  return out + bits.finish() + "\xff\xd9";
}

}  // namespace dqa::test
