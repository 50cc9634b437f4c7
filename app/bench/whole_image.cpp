// depictqa-bench-whole: time whole-image mode on a pair of a chosen size (default 24
// megapixels, 6000x4000) and measure its tile-level accuracy where the answer is known:
// image A carries one distortion over the left half, B another over the right half
// (data::makeSplitPair), so B should win every tile on the left and A on the right.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "core/data/split_pair.h"
#include "core/generate/engine.h"
#include "core/image/image_loader.h"
#include "core/io/model_dir.h"
#include "core/tiled/verdict_map.h"
#include "core/tiled/whole_image.h"

int main(int argc, char** argv) {
  CLI::App app{"Time whole-image mode and measure its tile-level accuracy on a split pair", "depictqa-bench-whole"};
  std::string modelDir, photo, mapPath;
  int width = 6000, height = 4000, threads = 0, batchSize = 32, typeA = 11, typeB = 1;
  double levelA = 3, levelB = 3;
  bool describe = true, json = false;
  uint64_t seed = 1;
  app.add_option("-m,--model", modelDir, "Model directory (default: lookup as depictqa does)");
  app.add_option("--photo", photo, "Reference photo, resized to the frame (required)")->required();
  app.add_option("--width", width, "Frame width")->capture_default_str();
  app.add_option("--height", height, "Frame height")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = all cores)")->capture_default_str();
  app.add_option("--batch-size", batchSize)->capture_default_str();
  app.add_option("--type-a", typeA, "KADID type distorting A's left half (11 white noise)")->capture_default_str();
  app.add_option("--level-a", levelA)->capture_default_str();
  app.add_option("--type-b", typeB, "KADID type distorting B's right half (1 Gaussian blur)")->capture_default_str();
  app.add_option("--level-b", levelB)->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--map", mapPath, "Write the verdict map PNG");
  bool noDescribe = false, f32 = false;
  app.add_flag("--no-describe", noDescribe, "Verdicts only");
  app.add_flag("--f32", f32, "float32 matmuls even where the CPU has bf16");
  app.add_flag("--json", json, "Print JSON");
  CLI11_PARSE(app, argc, argv);
  describe = !noDescribe;

  auto img = dqa::image::loadImage(photo);
  if (!img) {
    std::cerr << "depictqa-bench-whole: " << img.message() << "\n";
    return 1;
  }
  cv::Mat reference, rgb8 = img->rgb;
  if (rgb8.depth() == CV_16U) rgb8.convertTo(rgb8, CV_8U, 1.0 / 257);
  cv::resize(rgb8, reference, cv::Size(width, height), 0, 0, cv::INTER_CUBIC);
  dqa::data::Distortion da, db;
  da.type = typeA;
  da.level = levelA;
  db.type = typeB;
  db.level = levelB;
  const auto tMake = std::chrono::steady_clock::now();
  dqa::data::SplitPair pair = dqa::data::makeSplitPair(reference, da, db, seed);
  const double makeMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tMake).count();

  auto runtime = dqa::configureRuntime(threads);
  auto located = dqa::io::locateModelDirectory({modelDir, ""});
  if (!located) {
    std::cerr << "depictqa-bench-whole: " << located.message() << "\n";
    return 1;
  }
  dqa::EngineOptions options;
  options.modelDirectory = located.value();
  options.threads = threads;
  auto engine = dqa::Engine::load(options);
  if (!engine) {
    std::cerr << "depictqa-bench-whole: " << engine.message() << "\n";
    return 1;
  }
  dqa::tiled::WholeImageOptions w;
  w.batchSize = batchSize;
  w.describe = describe;
  w.bf16OnCpu = !f32;
  auto result = dqa::tiled::assessWholeImage(*engine.value(), pair.reference, pair.imageA, pair.imageB, w);
  if (!result) {
    std::cerr << "depictqa-bench-whole: " << result.message() << "\n";
    return 1;
  }
  const auto& r = result.value();
  int correct = 0, wrong = 0, close = 0, skipped = 0, namedRight = 0, named = 0;
  for (const auto& t : r.tiles) {
    const char truth = pair.betterIn(t.tile.rect);
    if (!truth) continue;
    if (t.winner == 0) { ++skipped; continue; }
    if (t.winner == '=') { ++close; continue; }
    (t.winner == truth ? correct : wrong)++;
    if (t.dominantAspect >= 0 && t.winner == truth) {
      ++named;
      const auto expected = dqa::data::typeInfo(truth == 'B' ? typeA : typeB).aspect;
      namedRight += t.dominantAspect == static_cast<int>(expected);
    }
  }
  const int decided = correct + wrong;
  nlohmann::json out = {
      {"model", engine.value()->info().directory}, {"threads", runtime.threads},
      {"bf16_matmuls", !f32 && dqa::cpuHasFastBf16()},
      {"width", width}, {"height", height}, {"megapixels", width * double(height) / 1e6},
      {"tiles", r.tiles.size()}, {"tiles_skipped", r.overall.tilesSkipped},
      {"pair_synthesis_ms", makeMs}, {"verdict_map_ms", r.totalMs - r.describeMs}, {"judge_ms", r.judgeMs}, {"describe_ms", r.describeMs}, {"total_ms", r.totalMs},
      {"tile_accuracy_decided", decided ? double(correct) / decided : 0.0},
      {"tile_accuracy_all", (decided + close + skipped) ? double(correct) / (decided + close + skipped) : 0.0},
      {"tiles_correct", correct}, {"tiles_wrong", wrong}, {"tiles_close", close},
      {"distortion_named_right", named ? double(namedRight) / named : 0.0},
      {"overall_winner", std::string(1, r.overall.winner)}, {"overall_confidence", r.overall.confidence},
      {"summary", r.summary}};
  if (!mapPath.empty()) {
    cv::Mat bgr;
    cv::cvtColor(dqa::tiled::renderVerdictMap(pair.reference, r), bgr, cv::COLOR_RGB2BGR);
    cv::imwrite(mapPath, bgr);
  }
  if (json) {
    std::cout << out.dump(1) << "\n";
    return 0;
  }
  std::printf("frame            %dx%d (%.1f MP), %zu tiles of %d px, %d skipped\n", width, height,
              out["megapixels"].get<double>(), r.tiles.size(), r.grid.tileSize, r.overall.tilesSkipped);
  std::printf("verdict map      %.1f s (tiling + judging; judging alone %.1f s) on %d threads\n",
              (r.totalMs - r.describeMs) / 1000, r.judgeMs / 1000, runtime.threads);
  std::printf("precision        %s matmuls\n", out["bf16_matmuls"].get<bool>() ? "bf16" : "f32");
  std::printf("descriptions     %.1f s\n", r.describeMs / 1000);
  std::printf("total            %.1f s\n", r.totalMs / 1000);
  std::printf("tile accuracy    %.1f%% of decided tiles (%d right, %d wrong), %d too close, %d skipped\n",
              100 * out["tile_accuracy_decided"].get<double>(), correct, wrong, close, skipped);
  std::printf("distortion named %.1f%% of right tiles name the loser's distortion aspect (%d)\n",
              100 * out["distortion_named_right"].get<double>(), named);
  std::printf("summary          %s\n", r.summary.c_str());
  return 0;
}
