// depictqa-bench-whole: time whole-image mode on pairs of a chosen size (default 24
// megapixels, 6000x4000) and measure its tile-level accuracy where the answer is known:
// image A carries one distortion over the left half, B another over the right half
// (data::makeSplitPair), so B should win every tile on the left and A on the right.
//   depictqa-bench-whole --photo p.jpg                          # 24 MP timing + accuracy
//   depictqa-bench-whole --photo a.jpg --photo b.jpg --pairs 11:1,1:11,10:12 --width 980 --height 686
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app/common/model_flags.h"
#include "core/data/split_pair.h"
#include "core/generate/engine.h"
#include "core/image/image_loader.h"
#include "core/io/model_dir.h"
#include "core/tiled/verdict_map.h"
#include "core/tiled/whole_image.h"

namespace {

struct Tally {
  int correct = 0, wrong = 0, close = 0, skipped = 0, named = 0, namedRight = 0;
  void add(const Tally& t) {
    correct += t.correct, wrong += t.wrong, close += t.close, skipped += t.skipped;
    named += t.named, namedRight += t.namedRight;
  }
  double accuracy() const { return correct + wrong ? double(correct) / (correct + wrong) : 0.0; }
  double coverage() const {
    const int all = correct + wrong + close + skipped;
    return all ? double(correct + wrong) / all : 0.0;
  }
};

Tally score(const dqa::tiled::WholeImageResult& r, const dqa::data::SplitPair& pair, int typeA, int typeB) {
  Tally s;
  for (const auto& t : r.tiles) {
    const char truth = pair.betterIn(t.tile.rect);
    if (!truth) continue;
    if (t.winner == 0) {
      ++s.skipped;
      continue;
    }
    if (t.winner == '=') {
      ++s.close;
      continue;
    }
    (t.winner == truth ? s.correct : s.wrong)++;
    if (t.dominantAspect >= 0 && t.winner == truth) {
      ++s.named;
      const auto expected = dqa::data::typeInfo(truth == 'B' ? typeA : typeB).aspect;
      s.namedRight += t.dominantAspect == static_cast<int>(expected);
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time whole-image mode and measure its tile-level accuracy on split pairs", "depictqa-bench-whole"};
  dqa::app::ModelFlags model;
  model.addTo(app);
  std::string mapPath;
  std::vector<std::string> photos, pairs{"11:1"};
  int width = 6000, height = 4000, batchSize = 32;
  double level = 3.5;
  bool json = false;
  uint64_t seed = 1;
  app.add_option("--photo", photos, "Reference photo(s), each resized to the frame")->required();
  app.add_option("--pairs", pairs,
                 "KADID types as A:B (A's left half, B's right half); 11 white noise, 1 Gaussian blur")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--level", level, "Distortion level (KADID 1..5)")->capture_default_str();
  app.add_option("--width", width, "Frame width")->capture_default_str();
  app.add_option("--height", height, "Frame height")->capture_default_str();
  app.add_option("--batch-size", batchSize)->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--map", mapPath, "Write the verdict map of the first run as PNG");
  std::string pairDir;
  app.add_option("--save-pair", pairDir, "Write the first run's reference, A and B as PNG into this folder");
  bool noDescribe = false, f32 = false, noReference = false;
  app.add_flag("--no-describe", noDescribe, "Verdicts only");
  app.add_flag("--no-reference", noReference, "No-reference comparison");
  app.add_flag("--f32", f32, "float32 matmuls even where the CPU has bf16");
  app.add_flag("--json", json, "Print JSON");
  CLI11_PARSE(app, argc, argv);

  auto runtime = dqa::configureRuntime(model.threads);
  auto located = model.locate();
  if (!located) {
    std::cerr << "depictqa-bench-whole: " << located.message() << "\n";
    return 1;
  }
  auto engine = dqa::Engine::load(located.value());
  if (!engine) {
    std::cerr << "depictqa-bench-whole: " << engine.message() << "\n";
    return 1;
  }
  dqa::tiled::WholeImageOptions w;
  w.batchSize = batchSize;
  w.describe = !noDescribe;
  w.bf16OnCpu = !f32;

  nlohmann::json runs = nlohmann::json::array();
  Tally total;
  double verdictMapMs = 0, describeMs = 0;
  int tiles = 0;
  for (const auto& photo : photos) {
    auto img = dqa::image::loadImage(photo);
    if (!img) {
      std::cerr << "depictqa-bench-whole: " << img.message() << "\n";
      return 1;
    }
    cv::Mat reference, rgb8 = img->rgb;
    if (rgb8.depth() == CV_16U) rgb8.convertTo(rgb8, CV_8U, 1.0 / 257);
    cv::resize(rgb8, reference, cv::Size(width, height), 0, 0, width > rgb8.cols ? cv::INTER_CUBIC : cv::INTER_AREA);
    for (const auto& spec : pairs) {
      int typeA = 0, typeB = 0;
      if (std::sscanf(spec.c_str(), "%d:%d", &typeA, &typeB) != 2 || typeA < 1 || typeA > 25 || typeB < 1 ||
          typeB > 25) {
        std::cerr << "depictqa-bench-whole: --pairs wants A:B with KADID types 1..25, not '" << spec << "'\n";
        return 2;
      }
      dqa::data::Distortion da, db;
      da.type = typeA;
      db.type = typeB;
      da.level = db.level = level;
      const auto pair = dqa::data::makeSplitPair(reference, da, db, seed);
      auto result = dqa::tiled::assessWholeImage(*engine.value(), noReference ? cv::Mat() : pair.reference, pair.imageA,
                                                 pair.imageB, w);
      if (!result) {
        std::cerr << "depictqa-bench-whole: " << result.message() << "\n";
        return 1;
      }
      const auto& r = result.value();
      const Tally s = score(r, pair, typeA, typeB);
      total.add(s);
      verdictMapMs += r.totalMs - r.describeMs;
      describeMs += r.describeMs;
      tiles += static_cast<int>(r.tiles.size());
      if (!pairDir.empty() && runs.empty()) {
        std::filesystem::create_directories(pairDir);
        for (auto [name, rgb] : {std::pair{"reference.png", pair.reference}, std::pair{"a.png", pair.imageA},
                                 std::pair{"b.png", pair.imageB}}) {
          cv::Mat bgr;
          cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
          cv::imwrite(pairDir + "/" + name, bgr);
        }
      }
      if (!mapPath.empty() && runs.empty()) {
        cv::Mat bgr;
        cv::cvtColor(dqa::tiled::renderVerdictMap(pair.reference, r), bgr, cv::COLOR_RGB2BGR);
        cv::imwrite(mapPath, bgr);
      }
      nlohmann::json run = {{"photo", std::filesystem::path(photo).filename().string()},
                            {"type_a", typeA},
                            {"type_b", typeB},
                            {"tiles", r.tiles.size()},
                            {"skipped", r.overall.tilesSkipped},
                            {"verdict_map_ms", r.totalMs - r.describeMs},
                            {"judge_ms", r.judgeMs},
                            {"describe_ms", r.describeMs},
                            {"total_ms", r.totalMs},
                            {"tile_accuracy", s.accuracy()},
                            {"decided_share", s.coverage()},
                            {"correct", s.correct},
                            {"wrong", s.wrong},
                            {"close", s.close},
                            {"loser_distortion_named_right", s.named ? double(s.namedRight) / s.named : 0.0},
                            {"overall_winner", std::string(1, r.overall.winner)},
                            {"overall_confidence", r.overall.confidence},
                            {"summary", r.summary}};
      runs.push_back(run);
      if (!json)
        std::printf(
            "%-40.40s %2d:%-2d %5zu tiles  map %6.1f s  describe %6.1f s  accuracy %5.1f%% of %3d decided "
            "(%4.1f%% of tiles)  distortion named right %5.1f%%\n",
            run["photo"].get<std::string>().c_str(), typeA, typeB, r.tiles.size(), (r.totalMs - r.describeMs) / 1000,
            r.describeMs / 1000, 100 * s.accuracy(), s.correct + s.wrong, 100 * s.coverage(),
            s.named ? 100.0 * s.namedRight / s.named : 0.0);
    }
  }
  nlohmann::json out = {{"model", engine.value()->info().directory},
                        {"threads", runtime.threads},
                        {"bf16_matmuls", !f32 && dqa::cpuHasFastBf16()},
                        {"width", width},
                        {"height", height},
                        {"megapixels", width * double(height) / 1e6},
                        {"with_reference", !noReference},
                        {"tiles", tiles},
                        {"verdict_map_ms_mean", verdictMapMs / std::max<size_t>(1, runs.size())},
                        {"describe_ms_mean", describeMs / std::max<size_t>(1, runs.size())},
                        {"tile_accuracy", total.accuracy()},
                        {"decided_share", total.coverage()},
                        {"loser_distortion_named_right", total.named ? double(total.namedRight) / total.named : 0.0},
                        {"runs", runs}};
  if (json) {
    std::cout << out.dump(1) << "\n";
    return 0;
  }
  std::printf("\n%zu runs of %dx%d (%.1f MP), %s, %d threads, %s matmuls\n", runs.size(), width, height,
              out["megapixels"].get<double>(), noReference ? "no reference" : "with reference", runtime.threads,
              out["bf16_matmuls"].get<bool>() ? "bf16" : "f32");
  std::printf("verdict map      %.1f s per pair (tiling + judging)\n", out["verdict_map_ms_mean"].get<double>() / 1000);
  std::printf("descriptions     %.1f s per pair\n", out["describe_ms_mean"].get<double>() / 1000);
  std::printf("tile accuracy    %.1f%% of decided tiles (%d right, %d wrong); %.1f%% of tiles decided, %d too close\n",
              100 * total.accuracy(), total.correct, total.wrong, 100 * total.coverage(), total.close);
  std::printf("distortion named %.1f%% of correctly decided tiles name the worse side's distortion aspect\n",
              total.named ? 100.0 * total.namedRight / total.named : 0.0);
  if (runs.size() == 1) std::printf("summary          %s\n", runs[0]["summary"].get<std::string>().c_str());
  return 0;
}
