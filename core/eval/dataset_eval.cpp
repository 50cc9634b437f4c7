#include "core/eval/dataset_eval.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/data/datasets/split.h"
#include "core/eval/dataset_report.h"
#include "core/eval/measures.h"
#include "core/image/image_loader.h"

namespace dqa::eval {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// `path` relative to `root` (so results.jsonl survives moving the dataset).
std::string relativeTo(const std::string& path, std::string root) {
  if (path.empty()) return {};
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  const fs::path r = fs::path(path).lexically_relative(root);
  return r.empty() ? path : r.generic_string();
}

// The item's key in results.jsonl.
std::string itemKey(const data::Dataset& d, int i, const std::string& root) {
  if (!d.pairs.empty()) return relativeTo(d.pairs[size_t(i)].source, root);
  const auto& r = d.images[size_t(i)];
  return relativeTo(r.image, root) + "|" + relativeTo(r.reference, root);
}

Result<cv::Mat> loadAt(const std::string& path, WorkingSpace space) {
  if (path.empty()) return cv::Mat();
  image::LoadOptions options;
  options.workingSpace = space;
  auto l = image::loadImage(path, options);
  if (!l) return l.error();
  if (l->rgb.depth() == CV_8U) return l->rgb;
  cv::Mat eight;
  l->rgb.convertTo(eight, CV_8U, 1.0 / 257);  // the classical metrics and the encoder take 8 bits
  return eight;
}

json number(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

// What the model and the classical metrics say of `image` (against `reference`, if any).
class Scorer {
 public:
  Scorer(Engine& engine, bool classical) : engine_(engine), classical_(classical) {}
  WorkingSpace workingSpace() const { return engine_.info().workingSpace; }

  Status score(const cv::Mat& reference, const cv::Mat& image, const std::string& suffix, json& out) {
    const auto t0 = Clock::now();
    AskRequest r;
    r.prompt.task = text::Task::Description;
    r.prompt.withReference = !reference.empty();
    r.reference = reference;
    r.imageA = image;
    r.sampling.maxNewTokens = 1;  // only the encoder's heads are read; the answer is not needed
    auto a = engine_.ask(r);
    if (!a) return a.error();
    if (a->quality.empty()) return makeError("the model returned no quality-head score");
    out["model" + suffix] = a->quality.back().mos;
    out["ms_model"] = out.value("ms_model", 0.0) + msSince(t0);
    out["ms_vision"] = out.value("ms_vision", 0.0) + a->generation.visionMs;     // of ms_model: the encoder
    out["ms_prefill"] = out.value("ms_prefill", 0.0) + a->generation.prefillMs;  // the decoder's prompt pass
    if (!classical_) return Ok{};
    const auto t1 = Clock::now();
    const ClassicalScores c = classicalScores(reference, image);
    out["psnr" + suffix] = number(c.psnr);
    out["ssim" + suffix] = number(c.ssim);
    out["gmsd" + suffix] = number(c.gmsd);
    out["brisque" + suffix] = number(c.brisque);
    if (!c.error.empty()) out["classical_error"] = c.error;
    out["ms_classical"] = out.value("ms_classical", 0.0) + msSince(t1);
    return Ok{};
  }

 private:
  Engine& engine_;
  bool classical_;
};

// results.jsonl read back: item key -> scores. An unfinished last line (a run killed
// while writing) is cut off the file so that appending starts on a fresh line; any other
// line that does not parse is an error naming the line.
Result<std::map<std::string, json>> readResults(const std::string& path, const std::string& model) {
  std::map<std::string, json> done;
  std::error_code ec;
  if (!fs::exists(path, ec)) return done;
  std::ifstream in(path, std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t complete = all.rfind('\n') == std::string::npos ? 0 : all.rfind('\n') + 1;
  size_t start = 0;
  for (int line = 1; start < complete; ++line) {
    const size_t end = all.find('\n', start);
    const json j = json::parse(all.substr(start, end - start), nullptr, false);
    start = end + 1;
    if (j.is_discarded() || !j.is_object() || !j.contains("key"))
      return makeError(path + ":" + std::to_string(line) +
                       ": not a result line of depictqa-eval; remove the line or use another --out");
    if (j.value("model_dir", "") != model)
      return makeError(path + ":" + std::to_string(line) + ": scored with the model " + j.value("model_dir", "?") +
                       ", not " + model + "; use another --out folder");
    done[j["key"].get<std::string>()] = j;
  }
  if (complete < all.size()) {
    in.close();
    fs::resize_file(path, complete, ec);
    if (ec) return makeError(path + ": cannot cut off its unfinished last line: " + ec.message());
  }
  return done;
}

// Scores item i of `d` into `j`: an image against its reference (or alone); a 2AFC
// pair's p0 and p1 each against the reference (suffixes _a, _b); a JND pair's p1 against p0.
Status scoreItem(Scorer& scorer, const data::Dataset& d, int i, json& j) {
  const bool pairs = !d.pairs.empty();
  const std::string& source = pairs ? d.pairs[size_t(i)].source : d.images[size_t(i)].source;
  Status s = Ok{};
  const auto load = [space = scorer.workingSpace()](const std::string& path) { return loadAt(path, space); };
  if (!pairs) {
    const auto& r = d.images[size_t(i)];
    auto ref = load(r.reference);
    auto img = load(r.image);
    if (auto e = firstError(ref, img)) return makeError(source + ": " + e->message);
    s = scorer.score(*ref, *img, "", j);
  } else if (d.pairKind == data::PairKind::TwoAfc) {
    const auto& p = d.pairs[size_t(i)];
    auto ref = load(p.reference);
    auto a = load(p.a);
    auto b = load(p.b);
    if (auto e = firstError(ref, a, b)) return makeError(source + ": " + e->message);
    s = scorer.score(*ref, *a, "_a", j);
    if (s) s = scorer.score(*ref, *b, "_b", j);
  } else {
    const auto& p = d.pairs[size_t(i)];
    auto a = load(p.a);
    auto b = load(p.b);
    if (auto e = firstError(a, b)) return makeError(source + ": " + e->message);
    s = scorer.score(*a, *b, "", j);
  }
  if (!s) return makeError(source + ": " + s.message());
  return Ok{};
}

Result<data::Dataset> readForEval(const DatasetEvalOptions& o, std::string* splitNote) {
  data::ReadOptions ro;
  ro.skipMissing = o.skipMissing;
  auto d = data::readDataset(o.dataset, o.root, ro);
  if (!d) return d.error();
  if (!o.splitPath.empty()) {
    auto split = data::readSplit(o.splitPath);
    if (!split) return split.error();
    if (auto s = data::applySplit(split.value(), data::SplitSide::Eval, d.value()); !s) return s.error();
    *splitNote = "the \"eval\" side of " + o.splitPath + " (" + std::to_string(split->eval.size()) + " of " +
                 std::to_string(split->eval.size() + split->train.size()) + " references)";
  }
  if (o.limit > 0) {
    if (d->images.size() > size_t(o.limit)) d->images.resize(size_t(o.limit));
    if (d->pairs.size() > size_t(o.limit)) d->pairs.resize(size_t(o.limit));
  }
  return d;
}

}  // namespace

Result<std::string> evaluateDataset(Engine& engine, const DatasetEvalOptions& o,
                                    const std::function<void(int, int, int)>& progress) {
  if (!engine.info().qualityHeads)
    return makeError(engine.info().directory +
                     " has no quality heads. The expected score from the answer's "
                     "probabilities (Q-Align's way) needs the rating words' token ids, which the Engine does not "
                     "expose yet; evaluate a model with a quality encoder (e.g. models/default)");
  DatasetRun run;
  auto d = readForEval(o, &run.splitNote);
  if (!d) return d.error();
  std::error_code ec;
  fs::create_directories(o.outputDirectory, ec);
  const std::string resultsPath = (fs::path(o.outputDirectory) / "results.jsonl").string();
  run.model = engine.info().directory;
  auto done = readResults(resultsPath, run.model);
  if (!done) return done.error();
  std::ofstream out(resultsPath, std::ios::app);
  if (!out) return makeError(resultsPath + ": cannot append to this file");
  Scorer scorer(engine, o.classical);
  const bool pairs = !d->pairs.empty();
  const int total = int(pairs ? d->pairs.size() : d->images.size());
  for (int i = 0; i < total; ++i) {
    const std::string key = itemKey(*d, i, o.root);
    if (done->count(key)) {
      ++run.resumed;
      if (progress) progress(i + 1, total, run.scoredNow);
      continue;
    }
    json j = {{"key", key}, {"model_dir", run.model}};
    if (auto s = scoreItem(scorer, *d, i, j); !s) return s.error();
    run.modelMs += j.value("ms_model", 0.0);
    run.classicalMs += j.value("ms_classical", 0.0);
    ++run.scoredNow;
    out << j.dump() << "\n" << std::flush;
    if (!out) return makeError(resultsPath + ": writing failed (disk full?)");
    (*done)[key] = std::move(j);
    if (progress) progress(i + 1, total, run.scoredNow);
  }
  for (int i = 0; i < total; ++i) run.scores.push_back(&done->at(itemKey(*d, i, o.root)));
  run.dataset = &d.value();
  return writeDatasetReport(run, o);
}

}  // namespace dqa::eval
