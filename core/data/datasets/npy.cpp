#include "core/data/datasets/npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>

namespace dqa::data::datasets {
namespace {

uint32_t littleEndian(const std::string& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + size_t(i)]);
  return v;
}

// The header's 'descr', 'fortran_order' and element count from 'shape'.
struct NpyHeader {
  std::string descr;
  bool fortran = false;
  uint64_t count = 1;
};

Result<NpyHeader> parseHeader(const std::string& h, const std::string& name) {
  NpyHeader out;
  std::smatch m;
  if (!std::regex_search(h, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    return makeError(name + ": .npy header has no 'descr': " + h);
  out.descr = m[1];
  out.fortran = std::regex_search(h, std::regex(R"('fortran_order'\s*:\s*True)"));
  if (!std::regex_search(h, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    return makeError(name + ": .npy header has no 'shape': " + h);
  const std::string dims = m[1];
  const std::regex number(R"(\d+)");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it)
    out.count *= std::stoull(it->str());
  return out;
}

}  // namespace

Result<std::vector<double>> parseNpy(const std::string& b, const std::string& name) {
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0)
    return makeError(name + ": not a .npy file (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(b[6]);
  if (major < 1 || major > 3) return makeError(name + ": .npy format version " + std::to_string(major) + " is unknown");
  const int lenBytes = major == 1 ? 2 : 4;
  if (b.size() < size_t(8 + lenBytes)) return makeError(name + ": truncated .npy header");
  const size_t headerLen = littleEndian(b, 8, lenBytes), dataAt = size_t(8 + lenBytes) + headerLen;
  if (b.size() < dataAt) return makeError(name + ": truncated .npy header");
  auto h = parseHeader(b.substr(size_t(8 + lenBytes), headerLen), name);
  if (!h) return h.error();
  const bool f4 = h->descr == "<f4", f8 = h->descr == "<f8";
  if (!f4 && !f8)
    return makeError(name + ": .npy dtype '" + h->descr + "'; expected little-endian float32 or float64 (<f4, <f8)");
  const size_t width = f4 ? 4 : 8;
  if (b.size() - dataAt < h->count * width)
    return makeError(name + ": .npy data holds " + std::to_string((b.size() - dataAt) / width) +
                     " values, its shape says " + std::to_string(h->count));
  std::vector<double> v(h->count);
  for (size_t i = 0; i < v.size(); ++i) {
    // Assemble little-endian bytes explicitly (the host's order does not matter).
    uint64_t bits = 0;
    for (int k = int(width) - 1; k >= 0; --k)
      bits = (bits << 8) | static_cast<unsigned char>(b[dataAt + i * width + size_t(k)]);
    if (f4) {
      float x;
      const uint32_t u = uint32_t(bits);
      std::memcpy(&x, &u, 4);
      v[i] = x;
    } else {
      double x;
      std::memcpy(&x, &bits, 8);
      v[i] = x;
    }
  }
  return v;  // one-dimensional data is the same in either order; BAPPS's are (1,) arrays
}

Result<std::vector<double>> readNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(path + ": cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parseNpy(bytes, path);
}

}  // namespace dqa::data::datasets
