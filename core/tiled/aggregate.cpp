#include "core/tiled/aggregate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/data/kadid.h"

namespace dqa::tiled {
namespace {

// Grey-level standard deviation below which a tile counts as smooth (sky, walls, skin).
constexpr double kSmoothTexture = 12.0;

const char* const kZoneNames[3][3] = {
    {"top left", "top", "top right"}, {"left", "centre", "right"}, {"bottom left", "bottom", "bottom right"}};

std::string percent(double share) { return std::to_string(static_cast<int>(std::lround(100 * share))) + "%"; }

std::string joinWords(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) out += i + 1 == words.size() ? " and " : ", ";
    out += words[i];
  }
  return out;
}

std::string withThousands(int n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

// What the tiles a side won say about the other side: the commonest dominant
// distortion of the losing tiles, and whether the tiles are mostly smooth or detailed.
struct SideStory {
  std::vector<std::string> zones;
  std::map<int, double> loserAspects;  // aspect -> weight
  double weight = 0, smoothWeight = 0;
};

}  // namespace

std::string distortionPhrase(int aspect) {
  switch (aspect) {
    case static_cast<int>(data::Aspect::Brightness):
      return "brightness changes";
    case static_cast<int>(data::Aspect::Color):
      return "colour distortion";
    case static_cast<int>(data::Aspect::Noise):
      return "noise";
    case static_cast<int>(data::Aspect::Artifacts):
      return "compression artifacts";
    case static_cast<int>(data::Aspect::Blurriness):
      return "blur";
    default:
      return "distortion";
  }
}

OverallVerdict aggregateTiles(std::vector<TileVerdict>& tiles, const AggregateOptions& o) {
  OverallVerdict v;
  double sumWeight = 0, sumA = 0;
  for (auto& t : tiles) {
    if (t.tile.skipped) {
      t.winner = 0;
      t.weight = 0;
      ++v.tilesSkipped;
      continue;
    }
    t.strength = std::fabs(2 * t.probabilityA - 1);
    t.winner = t.strength < o.closeStrength ? '=' : t.probabilityA > 0.5f ? 'A' : 'B';
    t.weight = 1;
    if (o.preference && t.winner != '=' && t.dominantAspect == static_cast<int>(o.preference->aspect)) {
      t.weight = o.preference->weight;
      ++v.tilesReweighted;
    }
    (t.winner == 'A' ? v.tilesA : t.winner == 'B' ? v.tilesB : v.tilesClose)++;
    sumWeight += t.weight;
    sumA += t.weight * t.probabilityA;
  }
  if (sumWeight <= 0) return v;
  v.probabilityA = static_cast<float>(sumA / sumWeight);
  v.confidence = std::max(v.probabilityA, 1 - v.probabilityA);
  v.winner = std::fabs(2 * v.probabilityA - 1) < 0.04f ? '=' : v.probabilityA > 0.5f ? 'A' : 'B';
  double decided = 0, siding = 0;
  for (const auto& t : tiles) {
    if (t.winner != 'A' && t.winner != 'B') continue;
    decided += t.weight;
    if (t.winner == v.winner) siding += t.weight;
  }
  v.agreement = decided > 0 ? static_cast<float>(siding / decided) : 0.f;
  return v;
}

std::string describeWholeImage(const TileGrid& grid, const std::vector<TileVerdict>& tiles, const OverallVerdict& v,
                               const AggregateOptions& o) {
  const int judged = v.tilesA + v.tilesB + v.tilesClose;
  std::string text;
  if (judged == 0)
    return "Image A and Image B do not differ visibly anywhere in the frame (all " + withThousands(v.tilesSkipped) +
           " tiles were skipped), so there is nothing to choose between them.";
  char confidence[32];
  std::snprintf(confidence, sizeof confidence, "%.2f", static_cast<double>(v.confidence));
  if (v.winner == '=')
    text = "Overall the two images are too close to call (confidence " + std::string(confidence) + "). ";
  else
    text = std::string("Overall, Image ") + v.winner + " is better (confidence " + confidence + "). ";
  text += "Of " + withThousands(judged) + " compared tiles, A wins " + withThousands(v.tilesA) + " (" +
          percent(double(v.tilesA) / judged) + "), B wins " + withThousands(v.tilesB) + " (" +
          percent(double(v.tilesB) / judged) + ") and " + withThousands(v.tilesClose) + " are too close to call";
  if (v.tilesSkipped) text += "; " + withThousands(v.tilesSkipped) + " tiles were skipped where A and B do not differ";
  text += ".";

  // Zones of a 3x3 split of the frame: who wins each, by weighted mean.
  std::array<std::array<double, 3>, 3> sum{}, weight{};
  std::array<std::array<std::map<char, double>, 3>, 3> votes{};
  for (const auto& t : tiles) {
    if (t.winner == 0) continue;
    const int zc = std::min(2, 3 * (t.tile.rect.x + t.tile.rect.width / 2) / std::max(1, grid.imageWidth));
    const int zr = std::min(2, 3 * (t.tile.rect.y + t.tile.rect.height / 2) / std::max(1, grid.imageHeight));
    sum[size_t(zr)][size_t(zc)] += t.weight * (2 * t.probabilityA - 1);
    weight[size_t(zr)][size_t(zc)] += t.weight;
    votes[size_t(zr)][size_t(zc)][t.winner] += t.weight;
  }
  std::map<char, SideStory> sides;
  std::vector<std::string> split;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      if (weight[size_t(r)][size_t(c)] <= 0) continue;
      const double mean = sum[size_t(r)][size_t(c)] / weight[size_t(r)][size_t(c)];
      auto& vote = votes[size_t(r)][size_t(c)];
      const char side = mean > 0 ? 'A' : 'B';
      const double share = vote[side] / weight[size_t(r)][size_t(c)];
      if (std::fabs(mean) < 0.1 || share < 0.5) {
        split.push_back(kZoneNames[r][c]);
        continue;
      }
      sides[side].zones.push_back(kZoneNames[r][c]);
    }
  for (const auto& t : tiles) {
    if (t.winner != 'A' && t.winner != 'B') continue;
    SideStory& story = sides[t.winner];
    story.weight += t.weight;
    if (t.tile.texture < kSmoothTexture) story.smoothWeight += t.weight;
    if (t.dominantAspect >= 0) story.loserAspects[t.dominantAspect] += t.weight;
  }
  // The overall winner's regions first.
  std::vector<char> order{v.winner == 'B' ? 'B' : 'A', v.winner == 'B' ? 'A' : 'B'};
  for (char side : order) {
    const SideStory& story = sides[side];
    if (story.zones.empty()) continue;
    const char other = side == 'A' ? 'B' : 'A';
    text += std::string(" ") + side + " is better in the " + joinWords(story.zones);
    const double smooth = story.weight > 0 ? story.smoothWeight / story.weight : 0;
    if (smooth >= 0.7)
      text += " (mostly smooth areas)";
    else if (smooth <= 0.3)
      text += " (mostly detailed areas)";
    if (!story.loserAspects.empty()) {
      auto top = std::max_element(story.loserAspects.begin(), story.loserAspects.end(),
                                  [](const auto& x, const auto& y) { return x.second < y.second; });
      text += std::string(", where the model describes ") + other + " as showing " + distortionPhrase(top->first);
    }
    text += ".";
  }
  if (!split.empty()) text += " In the " + joinWords(split) + " the tiles are split or too close to call.";

  // Smooth versus detailed areas, when they disagree (sky against foliage).
  double smoothA = 0, smoothB = 0, detailA = 0, detailB = 0;
  for (const auto& t : tiles) {
    if (t.winner != 'A' && t.winner != 'B') continue;
    const bool smooth = t.tile.texture < kSmoothTexture;
    (t.winner == 'A' ? (smooth ? smoothA : detailA) : (smooth ? smoothB : detailB)) += t.weight;
  }
  if (smoothA + smoothB > 0 && detailA + detailB > 0) {
    const char smoothWinner = smoothA >= smoothB ? 'A' : 'B', detailWinner = detailA >= detailB ? 'A' : 'B';
    const double smoothShare = std::max(smoothA, smoothB) / (smoothA + smoothB);
    const double detailShare = std::max(detailA, detailB) / (detailA + detailB);
    if (smoothWinner != detailWinner && smoothShare >= 0.6 && detailShare >= 0.6)
      text += std::string(" In smooth areas ") + smoothWinner + " wins " + percent(smoothShare) +
              " of the tiles; in detailed areas " + detailWinner + " wins " + percent(detailShare) + ".";
  }
  if (v.winner != '=' && v.tilesA + v.tilesB > 0 && v.agreement < 0.65f)
    text += " The tiles disagree a lot (only " + percent(v.agreement) +
            " of the decided ones side with the overall winner): look at the map before trusting the verdict.";
  if (o.preference) {
    text += " Your preference (" + distortionPhrase(static_cast<int>(o.preference->aspect)) +
            (o.preference->weight > 1 ? " matters most" : " is tolerated") + ") was applied to every tile's question";
    text += v.tilesReweighted
                ? " and re-weighted " + withThousands(v.tilesReweighted) + " tiles whose worse side shows it."
                : "; no tile's worse side was described as showing it, so the weights did not change.";
  }
  return text;
}

}  // namespace dqa::tiled
