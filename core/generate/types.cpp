#include "core/generate/types.h"

#include <cmath>

namespace dqa::gen {

const char* stopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::EndOfSequence:
      return "end-of-sequence";
    case StopReason::Length:
      return "length";
    case StopReason::Cancelled:
      return "cancelled";
    case StopReason::ContextFull:
      return "context-full";
  }
  return "?";
}

std::pair<float, float> temperedLetterProbabilities(float probabilityA, float probabilityB, double temperature) {
  const double both = double(probabilityA) + double(probabilityB);
  if (temperature == 1.0 || !(probabilityA > 0) || !(probabilityB > 0) || !(temperature > 0))
    return {probabilityA, probabilityB};
  const double logit = std::log(double(probabilityA) / double(probabilityB)) / temperature;
  const double a = both / (1.0 + std::exp(-logit));
  return {float(a), float(both - a)};
}

float shareOfTwo(float mine, float other) {
  const float both = mine + other;
  return both > 0 ? mine / both : 0.5f;
}

double GenerationResult::tokensPerSecond() const {
  // Decode speed excludes the prefill, as usually reported.
  // Tokens after the first over the time since the first: decode speed, prefill excluded.
  return decodeMs > 0 && ids.size() > 1 ? double(ids.size() - 1) * 1000.0 / decodeMs : 0.0;
}

std::vector<float> AttentionMaps::gridOverTokens(int first, int last, int image, int layer, int head) const {
  if (image < 0 || image >= static_cast<int>(images.size()) || first < 0 || last > tokens || first >= last) return {};
  const ImageSpan& span = images[static_cast<size_t>(image)];
  const int64_t cells = int64_t(span.gridHeight) * span.gridWidth;
  int64_t offset = 0;
  for (int i = 0; i < image; ++i) offset += int64_t(images[size_t(i)].gridHeight) * images[size_t(i)].gridWidth;
  std::vector<float> out(static_cast<size_t>(cells), 0.f);
  const int nl = static_cast<int>(layers.size());
  int count = 0;
  for (int t = first; t < last; ++t)
    for (int l = 0; l < nl; ++l) {
      if (layer >= 0 && layers[size_t(l)] != layer) continue;
      for (int h = 0; h < heads; ++h) {
        if (head >= 0 && h != head) continue;
        const size_t base = ((size_t(t) * nl + size_t(l)) * heads + size_t(h)) * size_t(visualTokens) + size_t(offset);
        for (int64_t c = 0; c < cells; ++c) out[size_t(c)] += values[base + size_t(c)];
        ++count;
      }
    }
  if (count == 0) return {};
  for (float& v : out) v /= float(count);
  return out;
}

std::vector<float> AttentionMaps::grid(int token, int image, int layer, int head) const {
  return gridOverTokens(token, token + 1, image, layer, head);
}

}  // namespace dqa::gen
