// depictqa-eval: measures a model on held-out shards next to classical metrics.
//   depictqa-eval --model models/default --shards data/val --out docs/eval/val
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "app/common/model_flags.h"
#include "core/eval/evaluator.h"
#include "core/io/model_dir.h"

int main(int argc, char** argv) {
  CLI::App app{"Evaluate a DepictQA model on held-out shards (2AFC vs PSNR/SSIM/GMSD, aspects, reasoning, "
               "preferences, calibration)", "depictqa-eval"};
  dqa::app::ModelFlags model;
  model.addTo(app);
  dqa::eval::EvalOptions o;
  app.add_option("--shards", o.shards, "A split folder written by depictqa-datagen")->required();
  app.add_option("--out", o.outputDirectory, "Report folder (report.json, report.md, PNG plots)")->required();
  app.add_option("--label", o.label, "Name of the split in the report")->capture_default_str();
  app.add_option("--pairs", o.maxPairs)->capture_default_str();
  app.add_option("--descriptions", o.maxDescriptions)->capture_default_str();
  app.add_option("--reasoning", o.maxReasoning)->capture_default_str();
  app.add_option("--preference", o.maxPreference)->capture_default_str();
  app.add_option("--pointing", o.maxPointing, "Local-distortion descriptions for the pointing game")->capture_default_str();
  app.add_option("--max-new-tokens", o.maxNewTokens)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.label.empty()) o.label = o.shards;
  auto eo = model.locate();
  if (!eo) {
    std::cerr << "depictqa-eval: " << eo.message() << "\n";
    return 1;
  }
  auto engine = dqa::Engine::load(eo.value());
  if (!engine) {
    std::cerr << "depictqa-eval: " << engine.message() << "\n";
    return 1;
  }
  auto md = dqa::eval::evaluate(*engine.value(), o, [](const std::string& what, int i, int n) {
    std::fprintf(stderr, "\r%s %d/%d records   ", what.c_str(), i, n);
  });
  std::fprintf(stderr, "\n");
  if (!md) {
    std::cerr << "depictqa-eval: " << md.message() << "\n";
    return 1;
  }
  std::cout << md.value();
  return 0;
}
