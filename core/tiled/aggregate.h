#pragma once
// Whole-image mode, stage 3: the tiles' verdicts combined into one verdict for the
// frame and an answer in words that says where each image is better.
#include <optional>
#include <string>
#include <vector>

#include "core/data/questionnaire.h"
#include "core/tiled/tiling.h"

namespace dqa::tiled {

struct TileVerdict {
  Tile tile;
  float probabilityA = 0.5f;     // P("A") / (P("A") + P("B")) for this tile
  char winner = 0;               // 'A', 'B', '=' (too close to call); 0 when skipped
  float strength = 0;            // |2 probabilityA - 1|: 0 a coin flip, 1 certain
  double weight = 0;             // share in the overall verdict (0 when skipped)
  std::string loserDescription;  // the model's description of the worse tile (if asked)
  int dominantAspect = -1;       // data::Aspect of the worse tile's main distortion; -1 unknown
};

struct OverallVerdict {
  char winner = '=';          // 'A', 'B' or '=' (too close / nothing to judge)
  float probabilityA = 0.5f;  // weighted mean of the tiles' probabilityA
  float confidence = 0.5f;    // max(probabilityA, 1 - probabilityA): high only when
                              // many tiles agree and each is sure
  float agreement = 0;        // weighted share of decided tiles that side with the winner
  int tilesA = 0, tilesB = 0, tilesClose = 0, tilesSkipped = 0;
  int tilesReweighted = 0;  // tiles whose weight the preference changed
};

struct AggregateOptions {
  float closeStrength = 0.2f;                  // a tile with strength below this is "too close to call"
  std::optional<data::Preference> preference;  // weighs tiles whose loser shows its aspect
};

// Sets each tile's winner, strength and weight, and combines them.
OverallVerdict aggregateTiles(std::vector<TileVerdict>& tiles, const AggregateOptions& options);

// "Overall, Image B is better ... B is better in the top and centre (mostly smooth
// areas), where the model describes A as showing noise; A is better in the bottom left
// (mostly detailed areas), where the model describes B as showing blur." Built from the
// tiles only; says so when they disagree.
std::string describeWholeImage(const TileGrid& grid, const std::vector<TileVerdict>& tiles,
                               const OverallVerdict& overall, const AggregateOptions& options);

// "noise", "blur", "compression artifacts", "colour distortion", "brightness changes".
std::string distortionPhrase(int aspect);

}  // namespace dqa::tiled
