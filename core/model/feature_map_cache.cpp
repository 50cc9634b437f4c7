#include "core/model/feature_map_cache.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace dqa::model {

uint64_t pixelHash(const cv::Mat& image) {
  if (image.empty()) return 0;
  // Four independent lanes over 8-byte words (a multiply-xorshift each), so the
  // multiplies overlap: about 1 GB/s per lane on the machines here, ~40 ms for a 24 MP
  // RGB image. Rows one by one: a crop of a larger image is not continuous.
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  std::array<uint64_t, 4> lane = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull,
                                  0x082EFA98EC4E6C89ull};
  auto mix = [&](uint64_t& h, uint64_t w) {
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  };
  const size_t rowBytes = image.cols * image.elemSize();
  for (int y = 0; y < image.rows; ++y) {
    const unsigned char* p = image.ptr<unsigned char>(y);
    size_t i = 0;
    for (; i + 32 <= rowBytes; i += 32) {
      uint64_t w[4];
      std::memcpy(w, p + i, sizeof w);
      for (int k = 0; k < 4; ++k) mix(lane[size_t(k)], w[k]);
    }
    for (; i < rowBytes; ++i) mix(lane[0], p[i]);
  }
  uint64_t h = uint64_t(image.rows) * 0x100000001B3ull ^ uint64_t(image.cols) << 20 ^ uint64_t(image.type());
  for (uint64_t l : lane) mix(h, l);
  return h == 0 ? 1 : h;  // 0 means "no image"
}

at::Tensor FeatureMapCache::find(const FeatureMapKey& key) {
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == key; });
  if (it == entries_.end()) return {};
  ++hits_;
  // Least recently used goes first: a view found again (the reference, when only A
  // changed) stays.
  std::rotate(it, it + 1, entries_.end());
  return entries_.back().second;
}

void FeatureMapCache::store(const FeatureMapKey& key, const at::Tensor& map) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == key; }),
                 entries_.end());
  while (capacity_ > 0 && entries_.size() >= capacity_) entries_.pop_front();
  if (capacity_ > 0) entries_.emplace_back(key, map);
}

}  // namespace dqa::model
