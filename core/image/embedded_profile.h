#pragma once
// ICC profiles embedded in PNG and JPEG files, which OpenCV's decoders drop: the bytes
// come from the loader's header parsers, this stage turns them into one profile.
#include <cstddef>
#include <string>
#include <vector>

#include "core/common/result.h"

namespace dqa::image {

// Larger profiles exist (big LUTs) but not in photographs; also bounds the inflate.
constexpr std::size_t kMaxIccBytes = std::size_t(32) << 20;

// The data of a PNG iCCP chunk: a keyword, NUL, compression method 0, zlib stream.
// The error says what is wrong with the chunk (no file name: the caller adds it).
Result<std::string> iccFromPngChunk(const std::string& chunkData);

// The payloads of JPEG APP2 segments after their "ICC_PROFILE\0" tag, in file order:
// each is a 1-based sequence number, the chunk count, then that chunk's bytes. All
// chunks 1..count must be present exactly once.
Result<std::string> iccFromJpegSegments(const std::vector<std::string>& payloads);

}  // namespace dqa::image
