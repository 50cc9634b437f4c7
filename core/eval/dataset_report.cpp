#include "core/eval/dataset_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>

#include "core/eval/correlation.h"
#include "core/eval/plots.h"

namespace dqa::eval {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// The measures a report compares, with the sign that makes "higher" mean "better".
struct Measure {
  const char* key;
  const char* label;
  double sign;
};
const Measure kMeasures[] = {{"model", "model (quality head)", 1},
                             {"psnr", "PSNR", 1},
                             {"ssim", "SSIM", 1},
                             {"gmsd", "GMSD", -1},
                             {"brisque", "BRISQUE", -1}};

std::optional<double> value(const json& j, const std::string& key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string fmt(double v, const char* format = "%.3f") {
  if (std::isnan(v)) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

std::string withCi(double v, const Interval& ci) {
  if (std::isnan(ci.low)) return fmt(v);
  return fmt(v) + " [" + fmt(ci.low) + ", " + fmt(ci.high) + "]";
}

json numberJson(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
json ciJson(const Interval& ci) { return {numberJson(ci.low), numberJson(ci.high)}; }

// A mean over items with a seeded percentile-bootstrap interval.
struct MeanCi {
  double mean = std::nan("");
  Interval ci{std::nan(""), std::nan("")};
};
MeanCi bootstrapStatistic(size_t n, const std::function<double(const std::vector<size_t>&)>& statistic, int resamples,
                          uint64_t seed) {
  MeanCi m;
  std::vector<size_t> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = i;
  m.mean = statistic(all);
  if (resamples <= 0 || n < 3) return m;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> values;
  std::vector<size_t> idx(n);
  for (int r = 0; r < resamples; ++r) {
    for (auto& k : idx) k = pick(rng);
    const double v = statistic(idx);
    if (!std::isnan(v)) values.push_back(v);
  }
  if (values.empty()) return m;
  std::sort(values.begin(), values.end());
  auto q = [&](double p) {
    const double pos = p * double(values.size() - 1);
    const size_t i = size_t(pos);
    return i + 1 < values.size() ? values[i] + (pos - double(i)) * (values[i + 1] - values[i]) : values[i];
  };
  m.ci = {q(0.025), q(0.975)};
  return m;
}

// The correlation table of an image dataset, with the scatter and the per-distortion bars.
std::string imageReport(const DatasetRun& run, const DatasetEvalOptions& o, json& report) {
  const data::Dataset& d = *run.dataset;
  const double orient = d.higherIsBetter ? 1 : -1;
  std::string md = "| measure | n | SRCC [95% CI] | PLCC [95% CI] | KRCC [95% CI] | RMSE (" + d.scoreName +
                   ") [95% CI] |\n| --- | --- | --- | --- | --- | --- |\n";
  std::map<std::string, Correlations> results;
  for (const Measure& m : kMeasures) {
    std::vector<double> x, y;
    for (size_t i = 0; i < d.images.size(); ++i)
      if (const auto v = value(*run.scores[i], m.key)) {
        x.push_back(m.sign * *v);
        y.push_back(orient * d.images[i].score);
      }
    if (x.size() < 3) continue;
    const Correlations c = correlations(x, y, o.resamples, o.seed);
    results[m.key] = c;
    md += std::string("| ") + m.label + " | " + std::to_string(c.n) + " | " + withCi(c.srcc, c.srccCi) + " | " +
          withCi(c.plcc, c.plccCi) + " | " + withCi(c.krcc, c.krccCi) + " | " + withCi(c.rmse, c.rmseCi) + " |\n";
    report["measures"][m.key] = {{"n", c.n},
                                 {"srcc", numberJson(c.srcc)},
                                 {"srcc_ci", ciJson(c.srccCi)},
                                 {"plcc", numberJson(c.plcc)},
                                 {"plcc_ci", ciJson(c.plccCi)},
                                 {"krcc", numberJson(c.krcc)},
                                 {"krcc_ci", ciJson(c.krccCi)},
                                 {"rmse", numberJson(c.rmse)},
                                 {"rmse_ci", ciJson(c.rmseCi)},
                                 {"logistic", {c.fit.b1, c.fit.b2, c.fit.b3, c.fit.b4}},
                                 {"logistic_iterations", c.fit.iterations}};
  }
  if (results.count("model")) {
    std::vector<double> x, y;
    for (size_t i = 0; i < d.images.size(); ++i) {
      x.push_back(*value(*run.scores[i], "model"));
      y.push_back(d.images[i].score);
    }
    const Logistic4 fit = results["model"].fit;
    drawScatter(
        x, y, [&](double v) { return fit.valid ? orient * fit(v) : std::nan(""); }, "model score (1..5)",
        "human " + d.scoreName, d.name + ": model vs human, 4-parameter logistic fit",
        (fs::path(o.outputDirectory) / "scatter.png").string());
    md += "\n![model score against human " + d.scoreName + "](scatter.png)\n";
  }
  return md;
}

// SRCC per distortion type: the model's beside PSNR's (BRISQUE's without references).
std::string distortionReport(const DatasetRun& run, const DatasetEvalOptions& o, json& report) {
  const data::Dataset& d = *run.dataset;
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < d.images.size(); ++i)
    if (!d.images[i].distortion.empty()) groups[d.images[i].distortion].push_back(i);
  if (groups.empty()) return "";
  const bool fr = !d.images.front().reference.empty();
  const Measure second = fr ? kMeasures[1] : kMeasures[4];
  auto srcc = [&](const std::vector<size_t>& items, const Measure& m) {
    std::vector<double> x, y;
    for (size_t i : items)
      if (const auto v = value(*run.scores[i], m.key)) {
        x.push_back(m.sign * *v);
        y.push_back((d.higherIsBetter ? 1 : -1) * d.images[i].score);
      }
    return spearman(x, y);
  };
  std::string md = std::string("\n### SRCC per distortion type\n\n| distortion | n | model | ") + second.label +
                   " |\n| --- | --- | --- | --- |\n";
  std::vector<BarRow> rows;
  for (const auto& [name, items] : groups) {
    const double a = srcc(items, kMeasures[0]), b = srcc(items, second);
    md += "| " + name + " | " + std::to_string(items.size()) + " | " + fmt(a) + " | " + fmt(b) + " |\n";
    report["per_distortion"][name] = {
        {"n", items.size()}, {"srcc_model", numberJson(a)}, {std::string("srcc_") + second.key, numberJson(b)}};
    rows.push_back({name, a, b});
  }
  drawCorrelationBars(rows, "model", second.label, d.name + ": SRCC per distortion type",
                      (fs::path(o.outputDirectory) / "per_distortion.png").string());
  return md + "\n![SRCC per distortion type](per_distortion.png)\n";
}

// BAPPS: 2AFC accuracy or JND mAP per measure (bootstrap intervals) and per subset.
std::string pairReport(const DatasetRun& run, const DatasetEvalOptions& o, json& report) {
  const data::Dataset& d = *run.dataset;
  const bool twoAfc = d.pairKind == data::PairKind::TwoAfc;
  auto statistic = [&](const Measure& m, const std::vector<size_t>& idx) {
    std::vector<double> a, b, h;
    for (size_t i : idx) {
      const json& s = *run.scores[i];
      const auto va = value(s, std::string(m.key) + (twoAfc ? "_a" : "")), vb = value(s, std::string(m.key) + "_b");
      if (!va || (twoAfc && !vb)) continue;
      a.push_back(m.sign * *va);
      b.push_back(twoAfc ? m.sign * *vb : -m.sign * *va);  // JND: the distance falls as the score rises
      h.push_back(d.pairs[i].human);
    }
    return twoAfc ? twoAfcAccuracy(a, b, h) : jndAveragePrecision(b, h);
  };
  const std::string what = twoAfc ? "2AFC accuracy" : "JND mAP";
  std::map<std::string, std::vector<size_t>> subsets;
  for (size_t i = 0; i < d.pairs.size(); ++i) subsets[d.pairs[i].subset].push_back(i);
  std::string md = "| measure | " + what + " [95% CI] |", rule = "| --- | --- |";
  for (const auto& [name, items] : subsets) {
    md += " " + name + " (n=" + std::to_string(items.size()) + ") |";
    rule += " --- |";
  }
  md += "\n" + rule + "\n";
  std::vector<std::pair<std::string, double>> bars;
  for (const Measure& m : kMeasures) {
    const MeanCi all = bootstrapStatistic(
        d.pairs.size(), [&](const std::vector<size_t>& idx) { return statistic(m, idx); }, o.resamples, o.seed);
    if (std::isnan(all.mean)) continue;
    md += std::string("| ") + m.label + " | " + withCi(all.mean, all.ci) + " |";
    json sub;
    for (const auto& [name, items] : subsets) {
      const double v = statistic(m, items);
      md += " " + fmt(v) + " |";
      sub[name] = numberJson(v);
    }
    md += "\n";
    report["measures"][m.key] = {{"value", all.mean}, {"ci", ciJson(all.ci)}, {"per_subset", sub}};
    bars.emplace_back(m.label, all.mean);
  }
  if (twoAfc) {
    double human = 0;
    for (const auto& p : d.pairs) human += p.human * p.human + (1 - p.human) * (1 - p.human);
    human /= double(d.pairs.size());
    md += "| people (agreement between raters, as LPIPS reports it) | " + fmt(human) + " |\n";
    report["human_agreement"] = human;
  }
  drawBars(bars, d.name + ": " + what, (fs::path(o.outputDirectory) / "measures.png").string());
  return md + "\n![" + what + " per measure](measures.png)\n";
}

std::string header(const DatasetRun& run, const DatasetEvalOptions& o) {
  const data::Dataset& d = *run.dataset;
  const size_t items = d.pairs.empty() ? d.images.size() : d.pairs.size();
  std::string md = "## " + d.name + " (" + o.root + ")\n\nModel: `" + run.model + "`. ";
  md += std::to_string(items) + (d.pairs.empty() ? " images" : " pairs");
  if (!run.splitNote.empty()) md += ", " + run.splitNote;
  if (o.limit > 0) md += ", at most the first " + std::to_string(o.limit) + " in the index's order";
  md += ". Scored now: " + std::to_string(run.scoredNow) +
        ", read back from results.jsonl: " + std::to_string(run.resumed) + ".";
  if (d.skippedMissing)
    md += " Rows skipped because an image is missing (--skip-missing): " + std::to_string(d.skippedMissing) + ".";
  for (const auto& n : d.notes) md += " Note: " + n + ".";
  if (run.scoredNow)
    md += " Time per item in this run: model " + fmt(run.modelMs / run.scoredNow, "%.1f") + " ms, classical metrics " +
          fmt(run.classicalMs / run.scoredNow, "%.1f") + " ms.";
  if (d.pairs.empty())
    md += "\n\nHuman score: " + d.scoreName + " (" + fmt(d.scaleLow, "%g") + ".." + fmt(d.scaleHigh, "%g") + ", " +
          (d.higherIsBetter ? "higher is better" : "lower is better") +
          "). Correlations are signed so that 1 means the "
          "measure ranks images as people do; PLCC and RMSE are taken after the 4-parameter logistic fit; intervals: "
          "percentile bootstrap, " +
          std::to_string(o.resamples) + " resamples, seed " + std::to_string(o.seed) + ".";
  return md + "\n\n";
}

}  // namespace

Result<std::string> writeDatasetReport(const DatasetRun& run, const DatasetEvalOptions& o) {
  const data::Dataset& d = *run.dataset;
  json report = {{"dataset", d.name},
                 {"root", o.root},
                 {"model", run.model},
                 {"split", o.splitPath},
                 {"items", d.pairs.empty() ? d.images.size() : d.pairs.size()},
                 {"skipped_missing", d.skippedMissing},
                 {"score", d.scoreName},
                 {"higher_is_better", d.higherIsBetter},
                 {"resamples", o.resamples},
                 {"seed", o.seed},
                 {"notes", d.notes},
                 {"scored_now", run.scoredNow},
                 {"resumed", run.resumed},
                 {"ms_model_per_item", run.scoredNow ? json(run.modelMs / run.scoredNow) : json(nullptr)},
                 {"ms_classical_per_item", run.scoredNow ? json(run.classicalMs / run.scoredNow) : json(nullptr)}};
  std::string md = header(run, o);
  if (d.pairs.empty())
    md += imageReport(run, o, report) + distortionReport(run, o, report);
  else
    md += pairReport(run, o, report);
  const fs::path dir(o.outputDirectory);
  std::ofstream((dir / "report.json").string()) << report.dump(1) << "\n";
  std::ofstream out((dir / "report.md").string());
  out << md;
  if (!out) return makeError((dir / "report.md").string() + ": cannot write the report");
  return md;
}

}  // namespace dqa::eval
