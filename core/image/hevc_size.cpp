#include "core/image/hevc_size.h"

#include <vector>

namespace dqa::image {
namespace {

constexpr unsigned kSpsNalType = 33;
constexpr std::size_t kConfigurationHeader = 22;  // the hvcC fields before numOfArrays
constexpr std::size_t kSpsPrefix = 96;            // enough RBSP bytes for the fields read

// The RBSP of a NAL unit's payload (emulation-prevention bytes 0x000003 -> 0x0000), at most
// `limit` bytes.
std::vector<std::uint8_t> rbsp(const Bytes& b, std::size_t at, std::size_t end, std::size_t limit) {
  std::vector<std::uint8_t> out;
  int zeros = 0;
  for (; at < end && out.size() < limit; ++at) {
    const std::uint8_t v = b.u8(at);
    if (zeros >= 2 && v == 3) {
      zeros = 0;
      continue;
    }
    zeros = v == 0 ? zeros + 1 : 0;
    out.push_back(v);
  }
  return out;
}

// Big-endian bits with Exp-Golomb codes; reading past the end sets `ok` false.
struct BitReader {
  const std::vector<std::uint8_t>& bytes;
  std::size_t bit = 0;
  bool ok = true;

  std::uint64_t bits(unsigned n) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) {
      if (bit >= bytes.size() * 8) {
        ok = false;
        return 0;
      }
      v = v << 1 | ((bytes[bit / 8] >> (7 - bit % 8)) & 1u);
      ++bit;
    }
    return v;
  }
  std::uint64_t ue() {  // ue(v): at most 32 leading zeros (values up to 2^32 - 2)
    unsigned zeros = 0;
    while (ok && bits(1) == 0)
      if (++zeros > 32) ok = false;
    return ok ? (std::uint64_t(1) << zeros) - 1 + bits(zeros) : 0;
  }
};

std::optional<CodedSize> spsSize(const std::vector<std::uint8_t>& sps) {
  BitReader r{sps};
  r.bits(16);  // NAL unit header
  r.bits(4);   // sps_video_parameter_set_id
  const unsigned subLayers = unsigned(r.bits(3));
  r.bits(1);   // sps_temporal_id_nesting_flag
  r.bits(88);  // general profile: space, tier, idc, 32 compatibility flags, 48 constraint bits
  r.bits(8);   // general_level_idc
  std::vector<bool> profilePresent(subLayers), levelPresent(subLayers);
  for (unsigned i = 0; i < subLayers; ++i) {
    profilePresent[i] = r.bits(1);
    levelPresent[i] = r.bits(1);
  }
  if (subLayers > 0) r.bits(2 * (8 - subLayers));  // reserved_zero_2bits
  for (unsigned i = 0; i < subLayers; ++i) r.bits((profilePresent[i] ? 88 : 0) + (levelPresent[i] ? 8 : 0));
  r.ue();                      // sps_seq_parameter_set_id
  if (r.ue() == 3) r.bits(1);  // chroma_format_idc 4:4:4: separate_colour_plane_flag
  const std::uint64_t width = r.ue(), height = r.ue();
  if (!r.ok) return std::nullopt;
  return CodedSize{width, height};
}

}  // namespace

std::optional<CodedSize> hevcCodedSize(const Bytes& b, std::size_t body, std::size_t end) {
  if (end > b.size() || body > end || end - body < kConfigurationHeader + 1) return std::nullopt;
  std::size_t at = body + kConfigurationHeader;
  const unsigned arrays = b.u8(at++);
  for (unsigned a = 0; a < arrays; ++a) {
    if (end - at < 3) return std::nullopt;
    const unsigned nalType = b.u8(at) & 0x3f;
    const unsigned units = b.be16(at + 1);
    at += 3;
    for (unsigned u = 0; u < units; ++u) {
      if (end - at < 2) return std::nullopt;
      const std::size_t length = b.be16(at);
      at += 2;
      if (end - at < length) return std::nullopt;
      if (nalType == kSpsNalType) return spsSize(rbsp(b, at, at + length, kSpsPrefix));
      at += length;
    }
  }
  return std::nullopt;
}

}  // namespace dqa::image
