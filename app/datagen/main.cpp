// depictqa-datagen: writes DepictQA training data (patches + questionnaires + texts) as
// shards the trainer streams. See docs/data-engine.md.
#include <CLI/CLI.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "app/datagen/contact_sheet.h"
#include "core/data/distortions.h"
#include "core/data/photos.h"
#include "core/data/sampler.h"
#include "core/data/shards.h"

using namespace dqa::data;
namespace fs = std::filesystem;

namespace {

std::vector<int> parseIntList(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(std::stoi(item));
  return out;
}

class Progress {
 public:
  Progress(std::string label, std::int64_t total) : label_(std::move(label)), total_(total) {
    start_ = std::chrono::steady_clock::now();
  }
  void update(std::int64_t done, bool force = false) {
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? done / secs : 0;
    int width = 30, fill = total_ ? static_cast<int>(width * done / total_) : width;
    std::string bar(fill, '#');
    bar.resize(width, '.');
    double eta = rate > 0 ? (total_ - done) / rate : 0;
    std::fprintf(stderr, "\r%-9s [%s] %lld/%lld  %.0f samples/s  ETA %.0fs   ", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), rate, eta);
    std::fflush(stderr);
  }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::string label_;
  std::int64_t total_;
  std::chrono::steady_clock::time_point start_, last_;
};

struct Counts {
  std::map<std::string, std::int64_t> c;
  void add(const std::string& k, std::int64_t n = 1) { c[k] += n; }
  void addImage(const std::string& role, const ImageLabel& l) {
    for (int a = 0; a < kNumAspects; ++a)
      add(std::string("aspect_level/") + aspectName(static_cast<Aspect>(a)) + "/" + severityName(l.aspectLevel[a]));
    add(std::string("overall_level/") + severityName(l.overallLevel));
    add(std::string("quality/") + qualityName(l.quality));
    add(std::string("texture/") + textureName(l.texture));
    add("distortions_per_image/" + std::to_string(l.distortions.size()));
    if (l.local) add("local_images");
    for (const auto& d : l.distortions) add(std::string("type/") + typeInfo(d.distortion.type).name);
    (void)role;
  }
  void addSample(const Sample& s) {
    const auto& q = s.questionnaire;
    add(std::string("task/") + taskName(q.task) + (q.withReference ? "/full_reference" : "/no_reference"));
    add(std::string("task/") + taskName(q.task));
    addImage("A", q.a);
    if (q.isPair()) {
      addImage("B", q.b);
      add(std::string("winner/") + winnerName(q.winner));
      if (q.hasPreference) add(q.preferenceFlipped ? "preference/flipped" : "preference/not_flipped");
    }
    if (s.text.shortAnswer) add("short_answer");
  }
};

// One split: generate `count` samples with `threads` workers in ordered batches.
bool runSplit(Split split, std::int64_t count, const std::vector<Photo>& photos, SamplerConfig cfg,
              const SplitConfig& sc, const std::string& outDir, int threads, int shardSize, bool png, Counts* counts,
              double* seconds) {
  std::vector<const Photo*> pool;
  bool wantVal = split != Split::Train;
  for (const auto& p : photos)
    if (p.validation == wantVal) pool.push_back(&p);
  if (pool.empty()) {
    std::fprintf(stderr, "%s: no photos on this side of the split; skipped\n", splitName(split));
    return true;
  }
  cfg.types = typesForSplit(split, sc);
  // Different sample streams per split.
  cfg.seed = mixSeed(cfg.seed, 100 + static_cast<int>(split));
  ShardWriter writer(outDir + "/" + splitName(split), shardSize, png);
  if (auto st = writer.open(); !st) {
    std::fprintf(stderr, "error: %s\n", st.message().c_str());
    return false;
  }
  Progress progress(splitName(split), count);
  const std::int64_t batch = std::max<std::int64_t>(64, threads * 64);
  std::vector<Sample> samples(static_cast<size_t>(batch));
  std::vector<char> ok(static_cast<size_t>(batch));
  for (std::int64_t start = 0; start < count; start += batch) {
    std::int64_t n = std::min(batch, count - start);
    std::atomic<std::int64_t> next{0};
    auto work = [&]() {
      for (std::int64_t i; (i = next.fetch_add(1)) < n;)
        ok[i] = generateSample(pool, cfg, static_cast<std::uint64_t>(start + i), &samples[i]);
    };
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t) workers.emplace_back(work);
    work();
    for (auto& w : workers) w.join();
    for (std::int64_t i = 0; i < n; ++i) {
      if (!ok[i]) continue;
      if (auto st = writer.write(samples[i], splitName(split)); !st) {
        std::fprintf(stderr, "\nerror: %s\n", st.message().c_str());
        return false;
      }
      counts->addSample(samples[i]);
    }
    progress.update(start + n, start + n >= count);
  }
  writer.close();
  *seconds = progress.seconds();
  std::fprintf(stderr, "\n");
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"depictqa-datagen: DepictQA training data from photos + KADID-10k opinion scores"};
  std::string photosDir, outDir = "depictqa-data", patchSizes = "64,96,128", heldOut = "3,8,9,14,18";
  std::string contactSheet;
  std::int64_t trainCount = 10000, valCount = 1000, valTypesCount = 1000;
  std::uint64_t seed = 1;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int shardSize = 4096, synthetic = 0, maxPhotos = 0;
  double valFraction = 0.15, prefShare = 0.2, localShare = 0.12, frShare = 0.5;
  bool png = false;
  std::string taskShares = "1,1,1";
  app.add_option("--photos", photosDir, "directory of reference photos (scripts/fetch_photos.sh)");
  app.add_option("--synthetic", synthetic, "use N synthetic images instead of photos (tests, demos)");
  app.add_option("-o,--out", outDir, "output directory")->capture_default_str();
  app.add_option("-n,--train", trainCount, "training samples")->capture_default_str();
  app.add_option("--val", valCount, "validation samples (held-out photos)")->capture_default_str();
  app.add_option("--val-types", valTypesCount, "validation samples with held-out distortion types")
      ->capture_default_str();
  app.add_option("--seed", seed, "seed: same seed, same bytes")->capture_default_str();
  app.add_option("-j,--threads", threads, "worker threads")->capture_default_str();
  app.add_option("--patch-sizes", patchSizes, "square patch sizes, comma separated")->capture_default_str();
  app.add_option("--held-out-types", heldOut, "KADID types held out of training (comma list, or 'none')")
      ->capture_default_str();
  app.add_option("--val-fraction", valFraction, "share of photo groups held out")->capture_default_str();
  app.add_option("--preference-share", prefShare, "share of pair samples with a stated preference")
      ->capture_default_str();
  app.add_option("--local-share", localShare, "share of distorted images with a local distortion")
      ->capture_default_str();
  app.add_option("--full-reference-share", frShare, "share of full-reference samples")->capture_default_str();
  app.add_option("--task-shares", taskShares, "weights description,comparison,reasoning")->capture_default_str();
  app.add_option("--shard-size", shardSize, "samples per shard")->capture_default_str();
  app.add_option("--max-photos", maxPhotos, "use at most N photos (0 = all)");
  app.add_flag("--png", png, "also write PNG copies of every patch");
  bool photographic = false;
  app.add_flag("--photographic-variants", photographic,
               "also draw the photographic variants (chromatic aberration, demosaiced sensor noise, chroma blotches, "
               "denoiser smearing, wide halos)");
  app.add_option("--contact-sheet", contactSheet, "write a contact sheet PNG of all types and exit");
  CLI11_PARSE(app, argc, argv);

  cv::setNumThreads(1);  // parallelism is per sample; OpenCV's own pool would oversubscribe
  SplitConfig sc;
  sc.valFraction = valFraction;
  sc.seed = seed ^ 0x5eedULL;
  sc.heldOutTypes = heldOut == "none" ? std::vector<int>{} : parseIntList(heldOut);

  std::vector<Photo> photos;
  if (synthetic > 0 || photosDir.empty()) {
    if (photosDir.empty() && synthetic <= 0) {
      std::fprintf(stderr, "error: give --photos DIR (see scripts/fetch_photos.sh) or --synthetic N\n");
      return 2;
    }
    photos = syntheticPhotos(synthetic, 384, 288, sc, seed);
  } else {
    PhotoLoadOptions lo;
    lo.maxPhotos = maxPhotos;
    auto loaded = loadPhotos(photosDir, sc, lo);
    if (!loaded) {
      std::fprintf(stderr, "error: %s\n", loaded.message().c_str());
      return 1;
    }
    photos = std::move(loaded.value());
  }
  int nVal = 0;
  for (auto& p : photos) nVal += p.validation;
  std::fprintf(stderr, "photos: %zu (%d validation, %zu training); JPEG2000 encoder: %s\n", photos.size(), nVal,
               photos.size() - nVal, jpeg2000Available() ? "OpenJPEG via OpenCV" : "unavailable, own wavelet codec");

  if (!contactSheet.empty()) {
    if (!dqa::datagen::writeContactSheet(contactSheet, photos, seed)) {
      std::fprintf(stderr, "error: cannot write %s\n", contactSheet.c_str());
      return 1;
    }
    std::fprintf(stderr, "wrote %s\n", contactSheet.c_str());
    return 0;
  }

  SamplerConfig cfg;
  cfg.seed = seed;
  cfg.patchSizes = parseIntList(patchSizes);
  cfg.preferenceShare = prefShare;
  cfg.localShare = localShare;
  cfg.fullReferenceShare = frShare;
  cfg.photographicVariants = photographic;
  auto ts = parseIntList(taskShares);
  if (ts.size() == 3) cfg.taskShare = {double(ts[0]), double(ts[1]), double(ts[2])};

  nlohmann::json manifest = {
      {"seed", seed},
      {"photos", photos.size()},
      {"validation_photos", nVal},
      {"held_out_types", sc.heldOutTypes},
      {"split", {{"val_fraction", sc.valFraction}, {"seed", sc.seed}, {"held_out_types", sc.heldOutTypes}}},
      {"patch_sizes", cfg.patchSizes},
      {"photographic_variants", photographic},
      {"jpeg2000", jpeg2000Available() ? "openjpeg" : "own_wavelet"},
      {"threads", threads},
      {"format", "shard-NNNNN.bin (raw RGB uint8 HWC) + shard-NNNNN.jsonl"}};
  std::error_code ec;
  fs::create_directories(outDir, ec);
  nlohmann::json splits = nlohmann::json::object();
  struct Job {
    Split split;
    std::int64_t count;
  };
  for (Job job : {Job{Split::Train, trainCount}, Job{Split::Val, valCount}, Job{Split::ValTypes, valTypesCount}}) {
    if (job.count <= 0) continue;
    if (job.split == Split::ValTypes && sc.heldOutTypes.empty()) continue;
    Counts counts;
    double secs = 0;
    if (!runSplit(job.split, job.count, photos, cfg, sc, outDir, threads, shardSize, png, &counts, &secs)) return 1;
    std::int64_t total = counts.c["task/description"] + counts.c["task/comparison"] + counts.c["task/reasoning"];
    std::fprintf(stderr, "%s: %lld samples in %.1f s (%.0f samples/s)\n", splitName(job.split),
                 static_cast<long long>(total), secs, secs > 0 ? total / secs : 0.0);
    nlohmann::json j = counts.c;
    j["samples"] = total;
    j["seconds"] = secs;
    j["samples_per_second"] = secs > 0 ? total / secs : 0.0;
    splits[splitName(job.split)] = j;
  }
  manifest["splits"] = splits;
  std::ofstream(outDir + "/manifest.json") << manifest.dump(2) << '\n';
  std::fprintf(stderr, "wrote %s/manifest.json\n", outDir.c_str());
  return 0;
}
