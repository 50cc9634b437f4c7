#include "core/eval/verdict_calibration.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/data/shard_dataset.h"
#include "core/eval/measures.h"
#include "core/generate/engine.h"
#include "core/io/model_config.h"

namespace dqa::eval {
namespace fs = std::filesystem;

namespace {

// -log P(truth) for one pair at temperature `t`, computed stably.
double pairLoss(const VerdictLogit& p, double t) {
  const double z = (p.aBetter ? p.logit : -p.logit) / t;
  return z > 0 ? std::log1p(std::exp(-z)) : -z + std::log1p(std::exp(z));
}

}  // namespace

double meanNegativeLogLikelihood(const std::vector<VerdictLogit>& pairs, double temperature) {
  double sum = 0;
  for (const auto& p : pairs) sum += pairLoss(p, temperature);
  return pairs.empty() ? 0 : sum / double(pairs.size());
}

double fitTemperature(const std::vector<VerdictLogit>& pairs) {
  if (pairs.empty()) return 1;
  double lo = std::log(1.0 / 20), hi = std::log(20.0);
  const double g = (std::sqrt(5.0) - 1) / 2;
  double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
  double f1 = meanNegativeLogLikelihood(pairs, std::exp(x1)), f2 = meanNegativeLogLikelihood(pairs, std::exp(x2));
  for (int i = 0; i < 80; ++i) {
    if (f1 <= f2) {
      hi = x2, x2 = x1, f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = meanNegativeLogLikelihood(pairs, std::exp(x1));
    } else {
      lo = x1, x1 = x2, f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = meanNegativeLogLikelihood(pairs, std::exp(x2));
    }
  }
  return std::exp((lo + hi) / 2);
}

double temperedCalibrationError(const std::vector<VerdictLogit>& pairs, double temperature) {
  std::vector<std::pair<double, bool>> cases;
  for (const auto& p : pairs) {
    const double pA = 1 / (1 + std::exp(-p.logit / temperature));
    cases.emplace_back(std::max(pA, 1 - pA), (pA >= 0.5) == p.aBetter);
  }
  return expectedCalibrationError(cases);
}

Result<VerdictTemperatureFit> fitVerdictTemperature(Engine& engine, const VerdictTemperatures& current,
                                                    const std::vector<std::string>& splits, int pairsPerSplit,
                                                    const std::function<void(int)>& progress) {
  std::vector<VerdictLogit> withReference, noReference;
  for (const auto& split : splits) {
    auto ds = data::ShardDataset::open(split);
    if (!ds) return makeError("calibration split '" + split + "': " + ds.message());
    int asked = 0;
    for (size_t i = 0; i < ds->size() && asked < pairsPerSplit; ++i) {
      auto ex = ds->get(i);
      if (!ex) return makeError("calibration split '" + split + "': " + ex.message());
      if (ex->prompt.task == text::Task::Description || ex->tooCloseToCall || ex->hasPreference) continue;
      AskRequest r;
      r.prompt.task = text::Task::Comparison;
      r.prompt.withReference = ex->prompt.withReference;
      r.prompt.shortAnswer = true;
      r.reference = ex->reference;
      r.imageA = ex->a;
      r.imageB = ex->b;
      r.sampling.maxNewTokens = 8;
      auto a = engine.ask(r);
      if (!a) return makeError("calibration pair " + ex->id + ": " + a.message());
      ++asked;
      if (progress) progress(asked);
      const Verdict& v = a->verdict;
      if (!v.present || !(v.probabilityA > 0) || !(v.probabilityB > 0)) continue;
      (ex->prompt.withReference ? withReference : noReference)
          .push_back({std::log(double(v.probabilityA) / double(v.probabilityB)), ex->winner == 'A'});
    }
  }
  constexpr size_t kMinPairs = 50;
  if (withReference.size() < kMinPairs || noReference.size() < kMinPairs)
    return makeError("only " + std::to_string(withReference.size()) + " calibration pairs with a reference and " +
                     std::to_string(noReference.size()) +
                     " without one had a verdict; each temperature needs at least " + std::to_string(kMinPairs) +
                     " (give larger splits, with pairs of both kinds)");
  const double factorWith = fitTemperature(withReference), factorWithout = fitTemperature(noReference);
  VerdictTemperatureFit fit;
  fit.previous = current;
  fit.temperature = {current.withReference * factorWith, current.noReference * factorWithout};
  fit.pairsWithReference = int(withReference.size());
  fit.pairsNoReference = int(noReference.size());
  // All pairs with each kind's factor folded into its logits.
  auto scaled = [&](double fWith, double fWithout) {
    std::vector<VerdictLogit> all;
    for (auto p : withReference) all.push_back({p.logit / fWith, p.aBetter});
    for (auto p : noReference) all.push_back({p.logit / fWithout, p.aBetter});
    return all;
  };
  const std::vector<VerdictLogit> before = scaled(1, 1), after = scaled(factorWith, factorWithout);
  fit.nllBefore = meanNegativeLogLikelihood(before, 1);
  fit.nllAfter = meanNegativeLogLikelihood(after, 1);
  fit.eceBefore = temperedCalibrationError(before, 1);
  fit.eceAfter = temperedCalibrationError(after, 1);
  return fit;
}

Status writeVerdictTemperature(const std::string& modelDirectory, const VerdictTemperatures& temperatures) {
  for (double t : {temperatures.withReference, temperatures.noReference})
    if (!(t >= 0.05 && t <= 20))
      return makeError("a verdict temperature of " + std::to_string(t) + " is outside [0.05, 20]");
  const std::string path = modelDirectory + "/config.json";
  auto text = io::readTextFile(path);
  if (!text) return text.error();
  nlohmann::json config = nlohmann::json::parse(text.value(), nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) return makeError("'" + path + "' is not a JSON object");
  config["verdict_temperature"] = std::round(temperatures.withReference * 1e4) / 1e4;
  config["verdict_temperature_no_reference"] = std::round(temperatures.noReference * 1e4) / 1e4;
  const std::string staging = path + ".partial";
  {
    std::ofstream out(staging, std::ios::trunc);
    out << config.dump(2) << "\n";
    if (!out.flush()) return makeError("cannot write '" + staging + "' (disk full or read-only?)");
  }
  std::error_code ec;
  fs::rename(staging, path, ec);
  if (ec) return makeError("cannot replace '" + path + "': " + ec.message());
  return Ok{};
}

}  // namespace dqa::eval
