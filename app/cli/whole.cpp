#include "whole.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "core/image/image_loader.h"
#include "core/io/model_config.h"
#include "core/tiled/verdict_map.h"
#include "core/tiled/whole_image.h"

namespace dqa::cli {
namespace {

int fail(const std::string& message) {
  std::cerr << "depictqa whole: " << message << "\n";
  return 1;
}

nlohmann::json toJson(const tiled::WholeImageResult& r) {
  nlohmann::json tiles = nlohmann::json::array();
  for (const auto& t : r.tiles) {
    nlohmann::json j = {{"column", t.tile.column},   {"row", t.tile.row},         {"x", t.tile.rect.x},
                        {"y", t.tile.rect.y},        {"size", t.tile.rect.width}, {"difference", t.tile.difference},
                        {"texture", t.tile.texture}, {"skipped", t.tile.skipped}};
    if (!t.tile.skipped) {
      j["winner"] = std::string(1, t.winner);
      j["p_a"] = t.probabilityA;
      j["strength"] = t.strength;
      j["weight"] = t.weight;
    }
    if (!t.loserDescription.empty()) j["worse_description"] = t.loserDescription;
    if (t.dominantAspect >= 0) j["worse_distortion"] = tiled::distortionPhrase(t.dominantAspect);
    tiles.push_back(j);
  }
  const auto& o = r.overall;
  return {{"width", r.grid.imageWidth},
          {"height", r.grid.imageHeight},
          {"tile_size", r.grid.tileSize},
          {"columns", r.grid.columns},
          {"rows", r.grid.rows},
          {"with_reference", r.withReference},
          {"overall",
           {{"winner", std::string(1, o.winner)},
            {"p_a", o.probabilityA},
            {"confidence", o.confidence},
            {"agreement", o.agreement},
            {"tiles_a", o.tilesA},
            {"tiles_b", o.tilesB},
            {"tiles_close", o.tilesClose},
            {"tiles_skipped", o.tilesSkipped},
            {"tiles_reweighted", o.tilesReweighted}}},
          {"preference_understood", r.preferenceUnderstood},
          {"summary", r.summary},
          {"timing_ms", {{"judge", r.judgeMs}, {"describe", r.describeMs}, {"total", r.totalMs}}},
          {"tiles", tiles}};
}

}  // namespace

int runWhole(const WholeOptions& o, const EngineOptions& engineOptions, const std::atomic<bool>* cancel) {
  cv::Mat images[3];
  const std::string* paths[3] = {&o.reference, &o.imageA, &o.imageB};
  image::LoadOptions loadOptions;
  loadOptions.workingSpace = io::workingSpaceOfModel(engineOptions.modelDirectory);
  for (int i = 0; i < 3; ++i) {
    if (paths[i]->empty()) continue;
    auto img = image::loadImage(*paths[i], loadOptions);
    if (!img) return fail(img.message());
    images[i] = img->rgb;
  }
  if (images[1].empty() || images[2].empty()) return fail("give image A and image B (-a FILE -b FILE)");
  auto engine = Engine::load(engineOptions);
  if (!engine) return fail(engine.message());
  if (!engine.value()->info().warning.empty())
    std::cerr << "depictqa whole: warning: " << engine.value()->info().warning << "\n";

  tiled::WholeImageOptions w;
  w.tileSize = o.tileSize;
  w.batchSize = o.batchSize;
  w.minDifference = o.minDifference;
  w.describe = o.describe;
  w.bf16OnCpu = o.bf16OnCpu;
  w.question = o.question;
  w.preference = o.preference;
  w.cancel = cancel;
  if (o.progress)
    w.progress = [](const tiled::WholeImageProgress& p) {
      const char* stage = p.stage == tiled::WholeImageProgress::Stage::Judging ? "judging   " : "describing";
      std::fprintf(stderr, "\r%s %d/%d tiles, %.1f s ", stage, p.done, p.total, p.elapsedMs / 1000);
      if (p.done == p.total) std::fprintf(stderr, "\n");
      std::fflush(stderr);
    };
  auto result = tiled::assessWholeImage(*engine.value(), images[0], images[1], images[2], w);
  if (!result) return fail(result.message());
  const auto& r = result.value();
  if (!o.jsonPath.empty()) {
    const std::string text = toJson(r).dump(1) + "\n";
    if (o.jsonPath == "-") {
      std::cout << text;
    } else {
      std::ofstream out(o.jsonPath);
      if (!(out << text)) return fail("cannot write '" + o.jsonPath + "'");
    }
  }
  if (o.jsonPath != "-") std::cout << r.summary << "\n";
  if (!o.mapPath.empty()) {
    cv::Mat picture = tiled::renderVerdictMap(images[0].empty() ? images[1] : images[0], r);
    cv::Mat bgr;
    cv::cvtColor(picture, bgr, cv::COLOR_RGB2BGR);
    try {
      if (!cv::imwrite(o.mapPath, bgr)) return fail("cannot write the map to '" + o.mapPath + "'");
    } catch (const cv::Exception& e) { return fail("cannot write the map to '" + o.mapPath + "': " + e.what()); }
  }
  std::fprintf(stderr, "%dx%d px, %d tiles (%d skipped): judged in %.1f s, described in %.1f s, total %.1f s\n",
               r.grid.imageWidth, r.grid.imageHeight, static_cast<int>(r.tiles.size()), r.overall.tilesSkipped,
               r.judgeMs / 1000, r.describeMs / 1000, r.totalMs / 1000);
  return 0;
}

}  // namespace dqa::cli
