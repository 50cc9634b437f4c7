// depictqa-eval: measures a model on held-out shards next to classical metrics, or on a
// standard image-quality dataset as it ships (docs/datasets.md).
//   depictqa-eval --model models/default --shards data/val --out docs/eval/val
//   depictqa-eval --dataset kadid10k --root ~/data/kadid10k --out eval/kadid [--split kadid.split.json]
//   depictqa-eval --dataset kadid10k --root ~/data/kadid10k --write-split kadid.split.json
//   depictqa-eval --model M --fit-verdict-temperature data/cal data/cal_types   (writes M/config.json)
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "app/common/model_flags.h"
#include "core/data/datasets/dataset.h"
#include "core/data/datasets/split.h"
#include "core/eval/dataset_eval.h"
#include "core/eval/evaluator.h"
#include "core/eval/verdict_calibration.h"
#include "core/io/model_config.h"
#include "core/io/model_dir.h"

namespace {

int fail(const std::string& message) {
  std::cerr << "depictqa-eval: " << message << "\n";
  return 1;
}

// A progress bar on stderr: items done, the rate of this run and the time left; redrawn
// at most twice a second, and at the end.
void showProgress(int done, int total, int scoredNow, std::chrono::steady_clock::time_point start) {
  static double lastDrawn = -1;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (done < total && lastDrawn >= 0 && s - lastDrawn < 0.5) return;
  lastDrawn = s;
  const double perItem = scoredNow ? s / scoredNow : 0;
  const int width = 30, filled = total ? width * done / total : width;
  const double left = perItem * (total - done);
  std::fprintf(stderr, "\r[%s%s] %d/%d  %.3f s/item  %d:%02d:%02d left   ", std::string(size_t(filled), '#').c_str(),
               std::string(size_t(width - filled), '.').c_str(), done, total, perItem, int(left / 3600),
               int(left / 60) % 60, int(left) % 60);
}

int writeSplit(const std::string& name, const std::string& root, bool skipMissing, double fraction, uint64_t seed,
               const std::string& path) {
  dqa::data::ReadOptions ro;
  ro.skipMissing = skipMissing;
  auto d = dqa::data::readDataset(name, root, ro);
  if (!d) return fail(d.message());
  auto split = dqa::data::makeSplit(d.value(), fraction, seed);
  if (!split) return fail(split.message());
  if (auto s = dqa::data::writeSplit(split.value(), path); !s) return fail(s.message());
  std::cout << path << ": " << split->train.size() << " references for training, " << split->eval.size()
            << " for evaluation\n";
  return 0;
}

// Fits the verdict's temperature on the splits' brief comparisons and writes it into the
// model directory's config.json.
int fitTemperature(const dqa::EngineOptions& eo, const std::vector<std::string>& splits, int pairsPerSplit) {
  auto config = dqa::io::loadModelConfig(eo.modelDirectory + "/config.json");
  if (!config) return fail(config.message());
  auto engine = dqa::Engine::load(eo);
  if (!engine) return fail(engine.message());
  const dqa::eval::VerdictTemperatures current{config->verdictTemperatureFor(true),
                                               config->verdictTemperatureFor(false)};
  auto fit = dqa::eval::fitVerdictTemperature(*engine.value(), current, splits, pairsPerSplit, [](int done) {
    if (done % 20 == 0) std::fprintf(stderr, "\rasked %d pairs   ", done);
  });
  std::fprintf(stderr, "\n");
  if (!fit) return fail(fit.message());
  if (auto ok = dqa::eval::writeVerdictTemperature(eo.modelDirectory, fit->temperature); !ok) return fail(ok.message());
  std::printf(
      "verdict temperatures: with a reference %.4f (was %.4f, %d pairs), without one %.4f (was %.4f, %d pairs); "
      "negative log-likelihood %.4f -> %.4f, ECE %.3f -> %.3f; written to %s/config.json\n",
      fit->temperature.withReference, fit->previous.withReference, fit->pairsWithReference,
      fit->temperature.noReference, fit->previous.noReference, fit->pairsNoReference, fit->nllBefore, fit->nllAfter,
      fit->eceBefore, fit->eceAfter, eo.modelDirectory.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Evaluate a DepictQA model on held-out shards (2AFC vs PSNR/SSIM/GMSD, aspects, reasoning, "
      "preferences, calibration) or on a standard IQA dataset (SRCC, PLCC, KRCC, RMSE; BAPPS 2AFC, JND)",
      "depictqa-eval"};
  dqa::app::ModelFlags model;
  model.addTo(app);
  dqa::eval::EvalOptions o;
  dqa::eval::DatasetEvalOptions d;
  std::string writeSplitPath;
  std::vector<std::string> calibrationSplits;
  double evalFraction = 0.2;
  auto* shards = app.add_option("--shards", o.shards, "A split folder written by depictqa-datagen");
  auto* dataset = app.add_option("--dataset", d.dataset,
                                 "A dataset layout: kadid10k, tid2013, tid2008, csiq, live, "
                                 "pipal, bapps-2afc, bapps-jnd, koniq10k, spaq, csv (docs/datasets.md)");
  shards->excludes(dataset);
  app.add_option("--root", d.root, "The dataset's folder as unpacked (csv: the folder with scores.csv, or the CSV)");
  app.add_option("--out", o.outputDirectory, "Report folder (report.json, report.md, PNG plots; results.jsonl)");
  app.add_option("--label", o.label, "Name of the split in the report")->capture_default_str();
  app.add_option("--pairs", o.maxPairs)->capture_default_str();
  app.add_option("--descriptions", o.maxDescriptions)->capture_default_str();
  app.add_option("--reasoning", o.maxReasoning)->capture_default_str();
  app.add_option("--preference", o.maxPreference,
                 "Pairs with a stated preference: this many that it flips and as many that it does not")
      ->capture_default_str();
  app.add_option("--pointing", o.maxPointing, "Local-distortion descriptions for the pointing game")
      ->capture_default_str();
  app.add_option("--pointing-layers", o.pointingLayers,
                 "Decoder layers (0-based) whose attention the pointing game reads (default: every layer)")
      ->delimiter(',');
  app.add_option("--question-checks", o.maxQuestionChecks,
                 "Reasonings asked again with the app's default question and an unseen wording")
      ->capture_default_str();
  app.add_option("--max-new-tokens", o.maxNewTokens)->capture_default_str();
  app.add_flag(
      "--unguarded-decoding", [&](int64_t) { o.guardAnswerGrammar = false; },
      "Decode as the model chooses: do not hold a reasoning's comparisons to each described aspect once");
  app.add_option("--limit", d.limit, "Datasets: score at most N items, in the index's order (0: all)")
      ->capture_default_str();
  app.add_flag("--skip-missing", d.skipMissing,
               "Datasets: leave out rows whose images are missing (counted in the report)");
  app.add_option("--split", d.splitPath, "Datasets: evaluate only the \"eval\" side of this split file");
  app.add_option("--write-split", writeSplitPath, "Datasets: write a train/eval split by reference image and exit");
  app.add_option("--eval-fraction", evalFraction, "With --write-split: share of references for evaluation")
      ->capture_default_str();
  app.add_option("--seed", d.seed, "Split shuffle and bootstrap seed")->capture_default_str();
  app.add_option("--bootstrap", d.resamples, "Bootstrap resamples for the intervals (0: none)")->capture_default_str();
  app.add_flag(
      "--no-classical", [&](int64_t) { d.classical = false; }, "Datasets: skip PSNR/SSIM/GMSD/BRISQUE");
  app.add_option("--fit-verdict-temperature", calibrationSplits,
                 "Split folders (depictqa-datagen, another seed than the evaluation's) on whose brief comparisons "
                 "the verdict's confidence is calibrated, with a reference and without one; writes "
                 "\"verdict_temperature\" and \"verdict_temperature_no_reference\" into the model's config.json (up "
                 "to --pairs pairs per split)");
  CLI11_PARSE(app, argc, argv);
  if (!calibrationSplits.empty()) {
    auto eo = model.locate();
    if (!eo) return fail(eo.message());
    return fitTemperature(eo.value(), calibrationSplits, o.maxPairs);
  }
  if (d.dataset.empty() && o.shards.empty())
    return fail("give --shards, --dataset or --fit-verdict-temperature (see --help)");
  if (!d.dataset.empty() && d.root.empty()) return fail("--dataset needs --root, the dataset's folder");
  if (!writeSplitPath.empty())
    return writeSplit(d.dataset, d.root, d.skipMissing, evalFraction, d.seed, writeSplitPath);
  if (o.outputDirectory.empty()) return fail("--out is required: the report's folder");
  if (o.label.empty()) o.label = o.shards;
  auto eo = model.locate();
  if (!eo) return fail(eo.message());
  auto engine = dqa::Engine::load(eo.value());
  if (!engine) return fail(engine.message());
  dqa::Result<std::string> md = std::string();
  if (!d.dataset.empty()) {
    d.outputDirectory = o.outputDirectory;
    const auto start = std::chrono::steady_clock::now();
    md = dqa::eval::evaluateDataset(*engine.value(), d,
                                    [&](int done, int total, int now) { showProgress(done, total, now, start); });
  } else {
    md = dqa::eval::evaluate(*engine.value(), o, [](const std::string& what, int i, int n) {
      std::fprintf(stderr, "\r%s %d/%d records   ", what.c_str(), i, n);
    });
  }
  std::fprintf(stderr, "\n");
  if (!md) return fail(md.message());
  std::cout << md.value();
  return 0;
}
