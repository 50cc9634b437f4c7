#include "core/eval/evaluator.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/quality.hpp>

#include "core/data/kadid.h"
#include "core/data/parser.h"
#include "core/data/textgen.h"
#include "core/train/dataset.h"

namespace dqa::eval {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const char* const kAspects[] = {"brightness", "color", "noise", "artifacts", "blurriness"};
const char* const kBrisqueModel = "/usr/share/opencv4/quality/brisque_model_live.yml";
const char* const kBrisqueRange = "/usr/share/opencv4/quality/brisque_range_live.yml";

struct Rate {
  int64_t hit = 0, total = 0;
  void add(bool ok) { hit += ok; ++total; }
  double value() const { return total ? double(hit) / double(total) : std::nan(""); }
  json toJson() const { return {{"accuracy", total ? json(value()) : json(nullptr)}, {"n", total}}; }
};

data::Severity severityOf(const json& image, int aspect) {
  data::Severity s = data::Severity::Undistorted;
  data::severityFromName(image.at("aspects").at(kAspects[aspect]).at("level").get<std::string>(), &s);
  return s;
}

double scalar(const cv::Scalar& s) { return (s[0] + s[1] + s[2]) / 3.0; }

// Expected calibration error over 10 equal-width confidence bins.
double expectedCalibrationError(const std::vector<std::pair<double, bool>>& v, std::vector<std::array<double, 3>>* bins) {
  std::vector<std::array<double, 3>> b(10, {0, 0, 0});  // count, sum confidence, sum correct
  for (auto [c, ok] : v) {
    int k = std::min(9, std::max(0, int(c * 10)));
    b[size_t(k)][0] += 1;
    b[size_t(k)][1] += c;
    b[size_t(k)][2] += ok;
  }
  double ece = 0;
  for (auto& x : b)
    if (x[0] > 0) ece += x[0] / double(v.size()) * std::abs(x[1] / x[0] - x[2] / x[0]);
  if (bins) *bins = b;
  return v.empty() ? std::nan("") : ece;
}

void drawReliability(const std::vector<std::array<double, 3>>& bins, double ece, const std::string& path) {
  const int S = 420, m = 50;
  cv::Mat img(S, S, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::rectangle(img, {m, m}, {S - m, S - m}, {0, 0, 0});
  cv::line(img, {m, S - m}, {S - m, m}, {160, 160, 160}, 1, cv::LINE_AA);
  const double w = double(S - 2 * m) / 10;
  for (int k = 0; k < 10; ++k) {
    if (bins[size_t(k)][0] == 0) continue;
    const double acc = bins[size_t(k)][2] / bins[size_t(k)][0];
    cv::rectangle(img, cv::Point(m + int(k * w) + 2, S - m - int(acc * (S - 2 * m))),
                  cv::Point(m + int((k + 1) * w) - 2, S - m), cv::Scalar(200, 120, 40), cv::FILLED);
  }
  char t[80];
  std::snprintf(t, sizeof t, "A/B verdict reliability, ECE %.3f", ece);
  cv::putText(img, t, {m, 30}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0}, 1, cv::LINE_AA);
  cv::putText(img, "confidence", {S / 2 - 40, S - 15}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0}, 1, cv::LINE_AA);
  cv::putText(img, "accuracy", {5, m - 8}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0}, 1, cv::LINE_AA);
  cv::imwrite(path, img);
}

void drawBars(const std::vector<std::pair<std::string, double>>& bars, const std::string& title, const std::string& path) {
  const int W = 640, Hh = 360, m = 50;
  cv::Mat img(Hh, W, CV_8UC3, cv::Scalar(255, 255, 255));
  const double w = double(W - 2 * m) / std::max<size_t>(1, bars.size());
  for (size_t i = 0; i < bars.size(); ++i) {
    const double v = std::isnan(bars[i].second) ? 0 : bars[i].second;
    const int top = Hh - m - int(v * (Hh - 2 * m));
    cv::rectangle(img, cv::Point(m + int(i * w) + 8, top), cv::Point(m + int((i + 1) * w) - 8, Hh - m),
                  i == 0 ? cv::Scalar(40, 140, 40) : cv::Scalar(150, 150, 150), cv::FILLED);
    char t[32];
    std::snprintf(t, sizeof t, "%.1f%%", 100 * v);
    cv::putText(img, t, {m + int(i * w) + 10, top - 6}, cv::FONT_HERSHEY_SIMPLEX, 0.45, {0, 0, 0}, 1, cv::LINE_AA);
    cv::putText(img, bars[i].first, {m + int(i * w) + 10, Hh - m + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.42, {0, 0, 0}, 1, cv::LINE_AA);
  }
  const int half = Hh - m - (Hh - 2 * m) / 2;
  cv::line(img, {m, half}, {W - m, half}, {120, 120, 220}, 1, cv::LINE_AA);  // chance
  cv::putText(img, title, {m, 28}, cv::FONT_HERSHEY_SIMPLEX, 0.5, {0, 0, 0}, 1, cv::LINE_AA);
  cv::imwrite(path, img);
}

std::string pct(double v) {
  if (std::isnan(v)) return "n/a";
  char b[16];
  std::snprintf(b, sizeof b, "%.1f%%", 100 * v);
  return b;
}

}  // namespace

Result<std::string> evaluate(Engine& engine, const EvalOptions& o,
                             const std::function<void(const std::string&, int, int)>& progress) {
  auto ds = train::ShardDataset::open(o.shards);
  if (!ds) return ds.error();
  std::error_code ec;
  fs::create_directories(o.outputDirectory, ec);
  const bool haveBrisque = fs::exists(kBrisqueModel) && fs::exists(kBrisqueRange);

  Rate modelFR, modelNR, psnr, ssim, gmsd, brisque, preference, consistency;
  Rate headsFR, headsNR, headsAgree, dominantAspect, dominantKind, headsAspectBinary;
  Rate aspectSet, aspectBinary, levelAcc, reasonLevels, reasonWinner, pointing;
  int pointings = 0;
  double pointingChanceSum = 0;  // share of cells a random pick would hit, summed
  int64_t confusions = 0, confusionOpportunities = 0;
  std::vector<std::pair<double, bool>> calibration;
  int pairs = 0, descriptions = 0, reasonings = 0, preferences = 0;
  const int total = int(ds->size());
  json failures = json::array();

  auto ask = [&](const train::TrainingExample& ex, text::Task task, bool shortAnswer, bool withPreference) {
    AskRequest r;
    r.prompt.task = task;
    r.prompt.withReference = ex.prompt.withReference;
    r.prompt.shortAnswer = shortAnswer;
    r.prompt.question = task == ex.prompt.task && !shortAnswer ? ex.prompt.question : "";
    r.prompt.preference = withPreference ? ex.prompt.preference : "";
    r.reference = ex.reference;
    r.imageA = ex.a;
    r.imageB = ex.b;
    r.sampling.maxNewTokens = shortAnswer ? 8 : o.maxNewTokens;
    return engine.ask(r);
  };

  for (int i = 0; i < total; ++i) {
    if (progress && i % 10 == 0) progress("evaluating", i, total);
    const json& rec = ds->record(size_t(i));
    const json& q = rec.at("questionnaire");
    const std::string task = rec.at("task").get<std::string>();
    const bool isPair = task != "description";
    auto exr = ds->get(size_t(i));
    if (!exr) return exr.error();
    const auto& ex = exr.value();
    const bool hasPreference = q.contains("preference");
    const bool tie = q.value("too_close_to_call", false);

    if (isPair && !tie && !hasPreference && pairs < o.maxPairs) {
      ++pairs;
      auto a = ask(ex, text::Task::Comparison, true, false);
      if (!a) return a.error();
      const char truth = ex.winner;
      const auto& v = a->verdict;
      const bool ok = v.present && v.winner == truth;
      (ex.prompt.withReference ? modelFR : modelNR).add(ok);
      if (a->headProbabilityA >= 0) {
        const char heads = a->headProbabilityA >= 0.5f ? 'A' : 'B';
        (ex.prompt.withReference ? headsFR : headsNR).add(heads == truth);
        if (v.present) headsAgree.add(heads == v.winner);
      }
      if (v.present && v.probabilityA + v.probabilityB > 0) {
        const double pChosen = (v.winner == 'A' ? v.probabilityA : v.probabilityB) / (v.probabilityA + v.probabilityB);
        calibration.emplace_back(pChosen, ok);
      }
      try {
        if (ex.prompt.withReference) {
          const double pa = scalar(cv::quality::QualityPSNR::compute(ex.reference, ex.a, cv::noArray()));
          const double pb = scalar(cv::quality::QualityPSNR::compute(ex.reference, ex.b, cv::noArray()));
          psnr.add((pa > pb ? 'A' : 'B') == truth);
          const double sa = scalar(cv::quality::QualitySSIM::compute(ex.reference, ex.a, cv::noArray()));
          const double sb = scalar(cv::quality::QualitySSIM::compute(ex.reference, ex.b, cv::noArray()));
          ssim.add((sa > sb ? 'A' : 'B') == truth);
          const double ga = scalar(cv::quality::QualityGMSD::compute(ex.reference, ex.a, cv::noArray()));
          const double gb = scalar(cv::quality::QualityGMSD::compute(ex.reference, ex.b, cv::noArray()));
          gmsd.add((ga < gb ? 'A' : 'B') == truth);
        } else if (haveBrisque) {
          const double ba = cv::quality::QualityBRISQUE::compute(ex.a, kBrisqueModel, kBrisqueRange)[0];
          const double bb = cv::quality::QualityBRISQUE::compute(ex.b, kBrisqueModel, kBrisqueRange)[0];
          brisque.add((ba < bb ? 'A' : 'B') == truth);
        }
      } catch (const cv::Exception& e) {
        failures.push_back({{"id", ex.id}, {"metric_error", e.what()}});
      }
    }

    // Pointing game: a description of an image whose distortion is confined to a
    // region; the attention of the words naming its aspect should peak inside it.
    if (!isPair && pointings < o.maxPointing && q.at("image").value("local", false) &&
        q.at("image").contains("region")) {
      AskRequest r;
      r.prompt.task = text::Task::Description;
      r.prompt.withReference = ex.prompt.withReference;
      r.reference = ex.reference;
      r.imageA = ex.a;
      r.sampling.maxNewTokens = o.maxNewTokens;
      r.attention.capture = true;
      auto a = engine.ask(r);
      if (!a) return a.error();
      const auto& g = a->generation;
      const auto spans = engine.tokenSpans(g);
      // The local distortion's aspect, and the words that name it.
      std::string aspect;
      for (const auto& d : q.at("image").at("distortions"))
        if (d.contains("region")) aspect = d.at("aspect").get<std::string>();
      static const std::map<std::string, std::vector<std::string>> words = {
          {"brightness", {"bright", "dark", "exposure", "contrast"}}, {"color", {"colo"}},
          {"noise", {"nois", "grain", "speck"}}, {"artifacts", {"artifact", "block", "compression", "pixel"}},
          {"blurriness", {"blur", "sharp", "soft", "focus"}}};
      std::vector<int> tokens;
      auto it = words.find(aspect);
      if (it != words.end()) {
        for (const auto& w : it->second)
          for (size_t pos = g.text.find(w); pos != std::string::npos; pos = g.text.find(w, pos + 1))
            for (size_t t = 0; t < spans.size(); ++t)
              if (spans[t].first <= int(pos + w.size()) && spans[t].second > int(pos)) tokens.push_back(int(t));
      }
      const int image = int(a->images.size()) - 1;  // the assessed image is the last one
      if (!tokens.empty() && image >= 0 && !g.attention.empty()) {
        ++pointings;
        const auto& geo = a->images[size_t(image)];
        std::vector<float> sum(size_t(geo.gridWidth * geo.gridHeight), 0.f);
        for (int t : tokens) {
          auto m = g.attention.grid(t, image);
          for (size_t c = 0; c < sum.size() && c < m.size(); ++c) sum[c] += m[c];
        }
        // Only cells over the image itself count (padding is not part of the photo).
        const double scale = double(geo.contentWidth) / std::max(1, geo.sourceWidth);
        int best = -1;
        for (int c = 0; c < int(sum.size()); ++c) {
          const int cx = c % geo.gridWidth, cy = c / geo.gridWidth;
          if (cx * geo.patchSize >= geo.contentWidth || cy * geo.patchSize >= geo.contentHeight) continue;
          if (best < 0 || sum[size_t(c)] > sum[size_t(best)]) best = c;
        }
        const auto& reg = q.at("image").at("region");
        const double x0 = reg[0].get<double>() * scale, y0 = reg[1].get<double>() * scale;
        const double x1 = x0 + reg[2].get<double>() * scale, y1 = y0 + reg[3].get<double>() * scale;
        const double cx0 = (best % geo.gridWidth) * geo.patchSize, cy0 = (best / geo.gridWidth) * geo.patchSize;
        auto overlaps = [&](double px, double py) {
          return px < x1 && px + geo.patchSize > x0 && py < y1 && py + geo.patchSize > y0;
        };
        // A hit: the peak cell overlaps the distorted region.
        pointing.add(best >= 0 && overlaps(cx0, cy0));
        int cells = 0, inside = 0;
        for (int c = 0; c < int(sum.size()); ++c) {
          const int px = (c % geo.gridWidth) * geo.patchSize, py = (c / geo.gridWidth) * geo.patchSize;
          if (px >= geo.contentWidth || py >= geo.contentHeight) continue;
          ++cells;
          inside += overlaps(px, py);
        }
        pointingChanceSum += cells ? double(inside) / cells : 0;
      }
    }

    if (isPair && hasPreference && q.at("preference").value("flipped", false) && !tie && preferences < o.maxPreference) {
      ++preferences;
      auto a = ask(ex, text::Task::Comparison, true, true);
      if (!a) return a.error();
      preference.add(a->verdict.present && a->verdict.winner == ex.winner);
    }

    if (!isPair && descriptions < o.maxDescriptions) {
      ++descriptions;
      auto a = ask(ex, text::Task::Description, false, false);
      if (!a) return a.error();
      auto parsed = data::parseAnswer(data::Task::Description, a->generation.text);
      const json& img = q.at("image");
      bool setOk = true;
      for (int k = 0; k < 5; ++k) {
        const auto truth = severityOf(img, k);
        const auto said = parsed.levelsA[size_t(k)];
        const bool tDist = truth != data::Severity::Undistorted, sDist = said != data::Severity::Undistorted;
        aspectBinary.add(tDist == sDist);
        setOk = setOk && tDist == sDist;
        if (tDist) levelAcc.add(said == truth);
      }
      aspectSet.add(setOk);
      // The dominant distortion (the one with the lowest score label): its aspect must be
      // called distorted, at least as severe as any other aspect the answer names; its
      // kind must be named with the words the texts use for it.
      int dominantType = 0;
      double lowest = 1e9;
      for (const auto& d : img.at("distortions"))
        if (d.at("mos").get<double>() < lowest) {
          lowest = d.at("mos").get<double>();
          dominantType = d.at("type").get<int>();
        }
      if (img.value("overall_level", "undistorted") != "undistorted" && dominantType > 0) {
        data::Aspect truthAspect = data::typeInfo(dominantType).aspect;
        const auto said = parsed.levelsA[size_t(truthAspect)];
        bool highest = said != data::Severity::Undistorted;
        for (int k = 0; k < 5; ++k) highest = highest && parsed.levelsA[size_t(k)] <= said;
        dominantAspect.add(highest);
        bool kind = false;
        for (const auto& noun : data::kindNouns(dominantType)) kind = kind || a->generation.text.find(noun) != std::string::npos;
        dominantKind.add(kind);
      }
      if (!a->quality.empty()) {
        const auto& q = a->quality.back();  // the assessed image
        for (int k = 0; k < 5; ++k) {
          const auto& p = q.aspects[size_t(k)];
          const bool saysDistorted = p[1] + p[2] > p[0];
          headsAspectBinary.add(saysDistorted == (severityOf(img, k) != data::Severity::Undistorted));
        }
      }
    }

    if (task == "reasoning" && !hasPreference && reasonings < o.maxReasoning) {
      ++reasonings;
      auto a = ask(ex, text::Task::Reasoning, false, false);
      if (!a) return a.error();
      auto parsed = data::parseAnswer(data::Task::Reasoning, a->generation.text);
      for (int k = 0; k < 5; ++k) {
        const auto ta = severityOf(q.at("A"), k), tb = severityOf(q.at("B"), k);
        reasonLevels.add(parsed.levelsA[size_t(k)] == ta);
        reasonLevels.add(parsed.levelsB[size_t(k)] == tb);
        // A distortion only one image has, said of the other one instead.
        const bool onlyA = ta != data::Severity::Undistorted && tb == data::Severity::Undistorted;
        const bool onlyB = tb != data::Severity::Undistorted && ta == data::Severity::Undistorted;
        if (onlyA || onlyB) {
          ++confusionOpportunities;
          const bool saidA = parsed.levelsA[size_t(k)] != data::Severity::Undistorted;
          const bool saidB = parsed.levelsB[size_t(k)] != data::Severity::Undistorted;
          if ((onlyA && saidB && !saidA) || (onlyB && saidA && !saidB)) ++confusions;
        }
      }
      if (!tie) {
        const bool said = parsed.hasWinner && parsed.winner != data::Winner::Tie;
        const char w = !said ? 0 : parsed.winner == data::Winner::A ? 'A' : 'B';
        reasonWinner.add(w == ex.winner);
        auto s = ask(ex, text::Task::Comparison, true, false);
        if (!s) return s.error();
        if (w && s->verdict.present) consistency.add(s->verdict.winner == w);
      }
    }
    if (pairs >= o.maxPairs && descriptions >= o.maxDescriptions && reasonings >= o.maxReasoning &&
        preferences >= o.maxPreference && pointings >= o.maxPointing)
      break;
  }

  std::vector<std::array<double, 3>> bins;
  const double ece = expectedCalibrationError(calibration, &bins);
  drawReliability(bins, ece, o.outputDirectory + "/calibration.png");
  drawBars({{"model FR", modelFR.value()}, {"PSNR", psnr.value()}, {"SSIM", ssim.value()}, {"GMSD", gmsd.value()},
            {"model NR", modelNR.value()}, {"BRISQUE NR", brisque.value()}},
           "2AFC accuracy on pairs with a clear human-score gap (" + o.label + ")", o.outputDirectory + "/2afc.png");

  const auto& info = engine.info();
  json report = {
      {"model", info.directory}, {"split", o.shards}, {"label", o.label},
      {"2afc", {{"model_full_reference", modelFR.toJson()}, {"model_no_reference", modelNR.toJson()},
                {"psnr", psnr.toJson()}, {"ssim", ssim.toJson()}, {"gmsd", gmsd.toJson()}, {"brisque_no_reference", brisque.toJson()}}},
      {"2afc_heads", {{"full_reference", headsFR.toJson()}, {"no_reference", headsNR.toJson()},
                      {"decoder_agrees_with_heads", headsAgree.toJson()}}},
      {"description", {{"aspect_set_exact", aspectSet.toJson()}, {"aspect_binary", aspectBinary.toJson()},
                       {"level_on_distorted_aspects", levelAcc.toJson()},
                       {"dominant_distortion_aspect", dominantAspect.toJson()},
                       {"dominant_distortion_kind_named", dominantKind.toJson()},
                       {"heads_aspect_binary", headsAspectBinary.toJson()}}},
      {"reasoning", {{"per_aspect_level", reasonLevels.toJson()}, {"winner", reasonWinner.toJson()},
                     {"ab_confusion_rate", confusionOpportunities ? json(double(confusions) / double(confusionOpportunities)) : json(nullptr)},
                     {"ab_confusion_opportunities", confusionOpportunities},
                     {"consistency_with_short_answer", consistency.toJson()}}},
      {"preference_adherence_on_flipped_pairs", preference.toJson()},
      {"attention_pointing_game_local_distortions", pointing.toJson()},
      {"attention_pointing_game_chance", pointing.total ? json(pointingChanceSum / double(pointing.total)) : json(nullptr)},
      {"calibration", {{"ece", calibration.empty() ? json(nullptr) : json(ece)}, {"n", calibration.size()}}},
      {"failures", failures}};
  std::ofstream(o.outputDirectory + "/report.json") << report.dump(1) << "\n";

  std::string md = "## " + o.label + "\n\n";
  md += "Model: `" + info.directory + "`; shards: `" + o.shards + "`.\n\n";
  md += "| measure | value | n |\n| --- | --- | --- |\n";
  auto row = [&](const std::string& name, const Rate& r) {
    md += "| " + name + " | " + pct(r.value()) + " | " + std::to_string(r.total) + " |\n";
  };
  row("2AFC, model, full reference", modelFR);
  row("2AFC, PSNR (same FR pairs)", psnr);
  row("2AFC, SSIM (same FR pairs)", ssim);
  row("2AFC, GMSD (same FR pairs)", gmsd);
  row("2AFC, model, no reference", modelNR);
  row("2AFC, BRISQUE (same NR pairs)", brisque);
  if (headsFR.total + headsNR.total > 0) {
    row("2AFC, the encoder's heads, full reference (same pairs)", headsFR);
    row("2AFC, the encoder's heads, no reference (same pairs)", headsNR);
    row("decoder's verdict = heads' verdict", headsAgree);
  }
  row("description: distorted-aspect set exactly right", aspectSet);
  row("description: per-aspect distorted / not", aspectBinary);
  row("description: level on truly distorted aspects", levelAcc);
  row("description: dominant distortion's aspect named, as the most severe", dominantAspect);
  row("description: dominant distortion's kind named (e.g. \"motion blur\")", dominantKind);
  if (headsAspectBinary.total > 0) row("heads: per-aspect distorted / not (same descriptions)", headsAspectBinary);
  row("reasoning: per-aspect levels of A and B", reasonLevels);
  row("reasoning: winner", reasonWinner);
  row("reasoning vs short answer agree", consistency);
  row("preference adherence (pairs the preference flips)", preference);
  row("attention pointing game (local distortions)", pointing);
  md += "| pointing game chance level (random cell) | " +
        (pointing.total ? pct(pointingChanceSum / double(pointing.total)) : std::string("n/a")) + " | |\n";
  md += "| A/B confusion rate (reasoning) | " +
        (confusionOpportunities ? pct(double(confusions) / double(confusionOpportunities)) : std::string("n/a")) + " | " +
        std::to_string(confusionOpportunities) + " |\n";
  md += "| ECE of the A/B verdict | " + (calibration.empty() ? std::string("n/a") : std::to_string(ece).substr(0, 5)) +
        " | " + std::to_string(calibration.size()) + " |\n";
  std::ofstream(o.outputDirectory + "/report.md") << md;
  return md;
}

}  // namespace dqa::eval
