#pragma once
// Internal to core/image (heif_canvas.cpp): the picture size an HEVC image's own
// sequence parameter set codes, read from its 'hvcC' property before anything is decoded.
// libheif's API reports only the declared size (ispe); its decoder allocates what the SPS
// says. fuzz_image_decode found a 609-byte HEIC declaring 16x16 whose SPS codes
// 20480x20480: 2.6 GB decoded before the decoded size could be checked.
// ITU-T H.265 7.3.2.2 (SPS), 7.3.3 (profile_tier_level); ISO/IEC 14496-15 8.3.3 (hvcC).
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/image/image_header.h"

namespace dqa::image {

struct CodedSize {
  std::uint64_t width = 0, height = 0;
};

// pic_width/height_in_luma_samples of the first SPS in the hvcC box body [body, end), or
// nullopt when there is none or it cannot be read (libheif then decides).
std::optional<CodedSize> hevcCodedSize(const Bytes& b, std::size_t body, std::size_t end);

}  // namespace dqa::image
