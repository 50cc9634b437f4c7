#include "core/image/embedded_profile.h"

#include <zlib.h>

#include <algorithm>

namespace dqa::image {

Result<std::string> iccFromPngChunk(const std::string& chunkData) {
  // The keyword is 1-79 Latin-1 characters ended by NUL.
  const std::size_t nul = chunkData.find('\0');
  if (nul == std::string::npos || nul == 0 || nul > 79) return makeError("its iCCP chunk has no valid profile name");
  if (nul + 1 >= chunkData.size() || chunkData[nul + 1] != '\0')
    return makeError("its iCCP chunk uses an unknown compression method");
  const std::size_t start = nul + 2;

  z_stream z{};
  if (inflateInit(&z) != Z_OK) return makeError("zlib could not be initialised");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunkData.data() + start));
  z.avail_in = static_cast<uInt>(chunkData.size() - start);
  std::string out;
  int status = Z_OK;
  char buffer[16384];
  while (status == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    status = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
    if (out.size() > kMaxIccBytes) {
      inflateEnd(&z);
      return makeError("its iCCP chunk inflates to more than " + std::to_string(kMaxIccBytes >> 20) +
                       " MiB, too large for a colour profile");
    }
  }
  inflateEnd(&z);
  if (status != Z_STREAM_END)  // Z_BUF_ERROR: the input ended early
    return makeError("its iCCP chunk's compressed profile is damaged or cut off");
  return out;
}

Result<std::string> iccFromJpegSegments(const std::vector<std::string>& payloads) {
  if (payloads.empty()) return makeError("no ICC_PROFILE segment was given");
  const std::size_t count = payloads.size();
  std::vector<const std::string*> bySequence(count, nullptr);
  for (const std::string& p : payloads) {
    if (p.size() < 2) return makeError("an ICC_PROFILE segment is too short to hold its chunk numbers");
    const std::size_t sequence = static_cast<unsigned char>(p[0]);
    const std::size_t declared = static_cast<unsigned char>(p[1]);
    if (declared != count || sequence < 1 || sequence > count) {
      return makeError(
          "its ICC profile is split over JPEG segments that do not fit "
          "together (chunk " +
          std::to_string(sequence) + " of " + std::to_string(declared) + ", but " + std::to_string(count) +
          " segments were found)");
    }
    if (bySequence[sequence - 1])
      return makeError("chunk " + std::to_string(sequence) + " of its ICC profile appears twice");
    bySequence[sequence - 1] = &p;
  }
  std::string out;
  for (const std::string* p : bySequence) {
    if (out.size() + p->size() - 2 > kMaxIccBytes)
      return makeError("its ICC profile is larger than " + std::to_string(kMaxIccBytes >> 20) + " MiB");
    out.append(*p, 2, std::string::npos);
  }
  return out;
}

}  // namespace dqa::image
