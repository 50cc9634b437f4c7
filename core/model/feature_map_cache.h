#pragma once
// The quality encoder's feature maps of the views encoded last, so that another question
// about the same images does not run the encoder again: the window asks about whole
// photos at native resolution, where a 14.7 MP pair with its reference takes ~13 s to
// encode on 2 cores and the lookup (the pixels hashed) well under a second. Keyed by each
// view's pixels (its image, reference and other image: a 64-bit hash of content, size
// and type) and the tile layout; holds the views used most recently. Not thread-safe: the engine
// that owns one is used from one thread at a time.
#include <ATen/ATen.h>
#include <opencv2/core.hpp>

#include <cstdint>
#include <deque>
#include <utility>

namespace dqa::model {

// A 64-bit hash of an image's pixels, size and type; 0 for an empty image.
uint64_t pixelHash(const cv::Mat& image);

struct FeatureMapKey {
  uint64_t image = 0, reference = 0, other = 0;  // pixelHash of each (0: not given)
  int tileSide = 0, tileMargin = 0;
  bool operator==(const FeatureMapKey& o) const {
    return image == o.image && reference == o.reference && other == o.other && tileSide == o.tileSide &&
           tileMargin == o.tileMargin;
  }
};

class FeatureMapCache {
 public:
  explicit FeatureMapCache(size_t capacity = 3) : capacity_(capacity) {}
  // The map stored under `key` ([1, D, h, w]), or an undefined tensor.
  at::Tensor find(const FeatureMapKey& key);
  // Keeps `map` under `key`; the entry found or stored longest ago goes when the cache
  // is full.
  void store(const FeatureMapKey& key, const at::Tensor& map);
  void clear() { entries_.clear(); }
  int64_t hits() const { return hits_; }  // finds that returned a map, since construction
  size_t size() const { return entries_.size(); }

 private:
  size_t capacity_;
  std::deque<std::pair<FeatureMapKey, at::Tensor>> entries_;
  int64_t hits_ = 0;
};

}  // namespace dqa::model
