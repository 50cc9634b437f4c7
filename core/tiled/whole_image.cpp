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

// One whole-image run: the images, the options, the batching and the progress reports.
struct Run {
  Engine& engine;
  const cv::Mat& reference;
  const cv::Mat& imageA;
  const cv::Mat& imageB;
  const WholeImageOptions& o;
  std::chrono::steady_clock::time_point t0;
  BatchOptions batch;

  void report(WholeImageProgress::Stage stage, int done, int total) const {
    if (o.progress) o.progress(WholeImageProgress{stage, done, total, msSince(t0)});
  }
  cv::Mat referenceAt(const cv::Rect& r) const { return reference.empty() ? cv::Mat() : reference(r); }
};

// Stage 2a: one verdict per tile that differs, written into result.tiles (a verdict for
// every tile, skipped ones undecided). By the encoder's heads, from one pass over each
// whole image, when the model has them (their per-tile judgements are returned for the
// descriptions); else by the decoder, one comparison per tile.
Result<std::vector<Engine::RegionJudgement>> judgeTiles(Run& run, WholeImageResult& result,
                                                        std::vector<size_t>& judged) {
  std::vector<TileImages> crops;
  for (size_t i = 0; i < result.grid.tiles.size(); ++i) {
    const Tile& t = result.grid.tiles[i];
    TileVerdict verdict;
    verdict.tile = t;
    result.tiles.push_back(verdict);
    if (t.skipped) continue;
    judged.push_back(i);
    // Views into the full images, no copies.
    crops.push_back(TileImages{run.referenceAt(t.rect), run.imageA(t.rect), run.imageB(t.rect)});
  }
  text::PromptRequest compare;
  compare.task = text::Task::Comparison;
  compare.withReference = result.withReference;
  compare.question = run.o.question;
  compare.preference = run.o.preference;
  const int judgeTotal = static_cast<int>(crops.size());
  run.batch.progress = [&run, judgeTotal](int done) {
    run.report(WholeImageProgress::Stage::Judging, done, judgeTotal);
  };
  run.report(WholeImageProgress::Stage::Judging, 0, judgeTotal);
  std::vector<Engine::RegionJudgement> regions;
  if (run.engine.info().qualityHeads && !crops.empty()) {
    std::vector<cv::Rect> rects;
    for (size_t i : judged) rects.push_back(result.grid.tiles[i].rect);
    auto heads = run.engine.judgeRegions(run.reference, run.imageA, run.imageB, rects, run.o.cancel, run.batch.progress,
                                         run.o.preference);
    if (!heads) return heads.error();
    regions = std::move(heads.value());
    for (size_t k = 0; k < judged.size(); ++k) result.tiles[judged[k]].probabilityA = regions[k].probabilityA;
  } else if (!crops.empty()) {
    auto verdicts = run.engine.judgeBatch(compare, crops, run.batch);
    if (!verdicts) return verdicts.error();
    for (size_t k = 0; k < judged.size(); ++k) {
      const Verdict& v = verdicts.value()[k];
      const float both = v.probabilityA + v.probabilityB;
      result.tiles[judged[k]].probabilityA = both > 0 ? v.probabilityA / both : 0.5f;
    }
  }
  return regions;
}

// Stage 2b: the worse side of each decided tile, described against the reference: by
// the heads when the model has them (already computed in `regions`), else by the decoder.
Status describeLosers(Run& run, WholeImageResult& result, const std::vector<size_t>& judged,
                      const std::vector<Engine::RegionJudgement>& regions) {
  if (!regions.empty()) {
    for (size_t k = 0; k < judged.size(); ++k) {
      TileVerdict& t = result.tiles[judged[k]];
      if (t.winner != 'A' && t.winner != 'B') continue;
      t.loserDescription = headsPhrase(t.winner == 'A' ? regions[k].b : regions[k].a, &t.dominantAspect);
    }
    return Ok{};
  }
  if (!run.o.describe) return Ok{};
  std::vector<size_t> described;
  std::vector<TileImages> losers;
  for (size_t i = 0; i < result.tiles.size(); ++i) {
    const TileVerdict& t = result.tiles[i];
    if (t.winner != 'A' && t.winner != 'B') continue;
    described.push_back(i);
    const cv::Mat& worse = t.winner == 'A' ? run.imageB : run.imageA;
    losers.push_back(TileImages{run.referenceAt(t.tile.rect), worse(t.tile.rect), {}});
  }
  text::PromptRequest describe;
  describe.task = text::Task::Description;
  describe.withReference = result.withReference;
  const int describeTotal = static_cast<int>(losers.size());
  run.batch.progress = [&run, describeTotal](int done) {
    run.report(WholeImageProgress::Stage::Describing, done, describeTotal);
  };
  run.report(WholeImageProgress::Stage::Describing, 0, describeTotal);
  const auto tDescribe = std::chrono::steady_clock::now();
  if (!losers.empty()) {
    auto texts = run.engine.answerBatch(describe, losers, run.o.describeTokens, run.batch);
    if (!texts) return texts.error();
    for (size_t k = 0; k < described.size(); ++k) {
      TileVerdict& t = result.tiles[described[k]];
      t.loserDescription = texts.value()[k];
      t.dominantAspect = dominantAspect(t.loserDescription);
    }
  }
  result.describeMs = msSince(tDescribe);
  return Ok{};
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
  Run run{engine, reference, imageA, imageB, o, std::chrono::steady_clock::now(), {}};
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
  run.batch.batchSize = o.batchSize;
  run.batch.cancel = o.cancel;
  run.batch.bf16OnCpu = o.bf16OnCpu;

  const auto tJudge = std::chrono::steady_clock::now();
  std::vector<size_t> judged;
  auto regions = judgeTiles(run, result, judged);
  if (!regions) return regions.error();
  result.judgeMs = msSince(tJudge);
  // Winners and strengths before the descriptions (which need to know the worse side).
  aggregateTiles(result.tiles, aggregation);
  if (auto ok = describeLosers(run, result, judged, regions.value()); !ok) return ok.error();
  result.overall = aggregateTiles(result.tiles, aggregation);
  result.summary = describeWholeImage(result.grid, result.tiles, result.overall, aggregation);
  result.totalMs = msSince(run.t0);
  return result;
}

}  // namespace dqa::tiled
