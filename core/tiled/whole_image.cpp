#include "core/tiled/whole_image.h"

#include <chrono>

#include "core/data/parser.h"

namespace dqa::tiled {
namespace {

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The main distortion a description names: the most severe aspect (first on ties).
int dominantAspect(const std::string& description) {
  const data::ParsedAnswer parsed = data::parseAnswer(data::Task::Description, description);
  int best = -1;
  for (int a = 0; a < data::kNumAspects; ++a)
    if (parsed.levelsA[size_t(a)] != data::Severity::Undistorted &&
        (best < 0 || parsed.levelsA[size_t(a)] > parsed.levelsA[size_t(best)]))
      best = a;
  return best;
}

// What the heads say of the worse side of a tile: "severe noise (likeliest kind: white
// noise, 71%)"; the aspect for the aggregation.
std::string headsPhrase(const ImageQuality& q, int* aspect) {
  *aspect = q.worstAspect();
  if (*aspect < 0) return "no distortion the heads are sure of";
  const auto& p = q.aspects[size_t(*aspect)];
  std::string kind = q.dominantType;
  for (char& c : kind)
    if (c == '_') c = ' ';
  char percent[16];
  std::snprintf(percent, sizeof percent, "%d%%", int(q.dominantTypeProbability * 100 + 0.5f));
  return std::string(p[2] > p[1] ? "severe " : "mild ") + distortionPhrase(*aspect) + " (likeliest kind: " + kind +
         ", " + percent + ")";
}

}  // namespace

const TileVerdict* WholeImageResult::tileAt(int x, int y) const {
  const TileVerdict* hit = nullptr;
  for (const auto& t : tiles)
    if (t.tile.rect.contains(cv::Point(x, y))) hit = &t;
  return hit;
}

Result<WholeImageResult> assessWholeImage(Engine& engine, const cv::Mat& reference, const cv::Mat& imageA,
                                          const cv::Mat& imageB, const WholeImageOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const int tileSize = o.tileSize > 0 ? o.tileSize : engine.info().imageSize;
  if (tileSize <= 0) return makeError("the model has no image input, so it cannot judge tiles");
  auto grid = planTiles(reference, imageA, imageB, tileSize, o.minDifference);
  if (!grid) return grid.error();
  WholeImageResult result;
  result.grid = std::move(grid.value());
  result.withReference = !reference.empty();
  AggregateOptions aggregation;
  aggregation.closeStrength = o.closeStrength;
  if (!o.preference.empty()) {
    aggregation.preference = data::parsePreference(o.preference);
    result.preferenceUnderstood = aggregation.preference.has_value();
  }

  // Stage 2a: one verdict per tile that differs.
  std::vector<size_t> judged;
  std::vector<TileImages> crops;
  for (size_t i = 0; i < result.grid.tiles.size(); ++i) {
    const Tile& t = result.grid.tiles[i];
    TileVerdict verdict;
    verdict.tile = t;
    result.tiles.push_back(verdict);
    if (t.skipped) continue;
    judged.push_back(i);
    // Views into the full images, no copies.
    crops.push_back(TileImages{reference.empty() ? cv::Mat() : reference(t.rect), imageA(t.rect), imageB(t.rect)});
  }
  text::PromptRequest compare;
  compare.task = text::Task::Comparison;
  compare.withReference = result.withReference;
  compare.question = o.question;
  compare.preference = o.preference;
  BatchOptions batch;
  batch.batchSize = o.batchSize;
  batch.cancel = o.cancel;
  batch.bf16OnCpu = o.bf16OnCpu;
  auto report = [&](WholeImageProgress::Stage stage, int done, int total) {
    if (o.progress) o.progress(WholeImageProgress{stage, done, total, msSince(t0)});
  };
  const int judgeTotal = static_cast<int>(crops.size());
  batch.progress = [&](int done) { report(WholeImageProgress::Stage::Judging, done, judgeTotal); };
  report(WholeImageProgress::Stage::Judging, 0, judgeTotal);
  const auto tJudge = std::chrono::steady_clock::now();
  std::vector<Engine::RegionJudgement> regions;
  if (engine.info().qualityHeads && !crops.empty()) {
    // The encoder's heads judge every tile from one pass over each whole image.
    std::vector<cv::Rect> rects;
    for (size_t i : judged) rects.push_back(result.grid.tiles[i].rect);
    auto heads = engine.judgeRegions(reference, imageA, imageB, rects, o.cancel, batch.progress, o.preference);
    if (!heads) return heads.error();
    regions = std::move(heads.value());
    for (size_t k = 0; k < judged.size(); ++k) result.tiles[judged[k]].probabilityA = regions[k].probabilityA;
  } else if (!crops.empty()) {
    auto verdicts = engine.judgeBatch(compare, crops, batch);
    if (!verdicts) return verdicts.error();
    for (size_t k = 0; k < judged.size(); ++k) {
      const Verdict& v = verdicts.value()[k];
      const float both = v.probabilityA + v.probabilityB;
      result.tiles[judged[k]].probabilityA = both > 0 ? v.probabilityA / both : 0.5f;
    }
  }
  result.judgeMs = msSince(tJudge);
  // Winners and strengths before the descriptions (which need to know the worse side).
  aggregateTiles(result.tiles, aggregation);

  // Stage 2b: the worse side of each decided tile, described against the reference: by
  // the heads when the model has them (already computed), else by the decoder.
  if (!regions.empty()) {
    for (size_t k = 0; k < judged.size(); ++k) {
      TileVerdict& t = result.tiles[judged[k]];
      if (t.winner != 'A' && t.winner != 'B') continue;
      t.loserDescription = headsPhrase(t.winner == 'A' ? regions[k].b : regions[k].a, &t.dominantAspect);
    }
  } else if (o.describe) {
    std::vector<size_t> described;
    std::vector<TileImages> losers;
    for (size_t i = 0; i < result.tiles.size(); ++i) {
      const TileVerdict& t = result.tiles[i];
      if (t.winner != 'A' && t.winner != 'B') continue;
      described.push_back(i);
      const cv::Mat& worse = t.winner == 'A' ? imageB : imageA;
      losers.push_back(TileImages{reference.empty() ? cv::Mat() : reference(t.tile.rect), worse(t.tile.rect), {}});
    }
    text::PromptRequest describe;
    describe.task = text::Task::Description;
    describe.withReference = result.withReference;
    const int describeTotal = static_cast<int>(losers.size());
    batch.progress = [&](int done) { report(WholeImageProgress::Stage::Describing, done, describeTotal); };
    report(WholeImageProgress::Stage::Describing, 0, describeTotal);
    const auto tDescribe = std::chrono::steady_clock::now();
    if (!losers.empty()) {
      auto texts = engine.answerBatch(describe, losers, o.describeTokens, batch);
      if (!texts) return texts.error();
      for (size_t k = 0; k < described.size(); ++k) {
        TileVerdict& t = result.tiles[described[k]];
        t.loserDescription = texts.value()[k];
        t.dominantAspect = dominantAspect(t.loserDescription);
      }
    }
    result.describeMs = msSince(tDescribe);
  }
  result.overall = aggregateTiles(result.tiles, aggregation);
  result.summary = describeWholeImage(result.grid, result.tiles, result.overall, aggregation);
  result.totalMs = msSince(t0);
  return result;
}

}  // namespace dqa::tiled
