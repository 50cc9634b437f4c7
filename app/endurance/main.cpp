// depictqa-endurance: many sequential questions on one Engine with resident memory
// watched (VmRSS from /proc/self/status), cancellations from another thread in the
// middle of a stream, and a second model loaded on another thread while the first one
// answers. Exit status 1 when a question fails, a cancellation is not honoured, or the
// resident memory grows by more than --max-growth-mb between the first and last report.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "app/common/model_flags.h"
#include "core/generate/engine.h"

namespace {

double rssMiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return -1;
}

// RSS after handing freed heap pages back: separates leaks from allocator caching.
double trimmedRssMiB() {
  malloc_trim(0);
  return rssMiB();
}

cv::Mat texture(int w, int h, std::mt19937& rng) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG cvRng(rng());
  cvRng.fill(m, cv::RNG::UNIFORM, 0, 255);
  cv::GaussianBlur(m, m, cv::Size(0, 0), 1.0 + rng() % 3);
  return m;
}

dqa::AskRequest randomRequest(std::mt19937& rng, int maxNewTokens) {
  dqa::AskRequest r;
  r.prompt.task = static_cast<dqa::text::Task>(rng() % 3);
  r.prompt.withReference = rng() % 2;
  r.prompt.shortAnswer = r.prompt.task != dqa::text::Task::Description && rng() % 2;
  const int w = 40 + int(rng() % 200), h = 40 + int(rng() % 200);
  r.reference = texture(w, h, rng);
  r.imageA = texture(w, h, rng);
  r.imageB = texture(w, h, rng);
  r.sampling.maxNewTokens = maxNewTokens;
  r.sampling.temperature = rng() % 2 ? 0.f : 0.8f;
  r.sampling.seed = rng();
  r.attention.capture = rng() % 4 == 0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Endurance run of the DepictQA engine: memory, cancellation, concurrent load", "depictqa-endurance"};
  dqa::app::ModelFlags model;
  model.addTo(app);
  int questions = 1000, cancellations = 100, secondLoads = 10;
  int maxNewTokens = 16, reportEvery = 100;
  double maxGrowthMb = 64;
  unsigned seed = 1;
  app.add_option("--questions", questions, "sequential questions");
  app.add_option("--cancellations", cancellations, "questions cancelled mid-stream");
  app.add_option("--second-loads", secondLoads, "second models loaded while answering");
  app.add_option("--max-new-tokens", maxNewTokens, "tokens per answer");
  app.add_option("--report-every", reportEvery, "print RSS every N questions");
  app.add_option("--max-growth-mb", maxGrowthMb, "fail when RSS grows more than this");
  app.add_option("--seed", seed, "random seed");
  CLI11_PARSE(app, argc, argv);

  auto located = model.locate();
  if (!located) {
    std::fprintf(stderr, "error: %s\n", located.message().c_str());
    return 2;
  }
  const dqa::EngineOptions options = located.value();
  const double rssBeforeLoad = rssMiB();
  auto loaded = dqa::Engine::load(options);
  if (!loaded) {
    std::fprintf(stderr, "error: %s\n", loaded.message().c_str());
    return 2;
  }
  auto engine = std::move(loaded.value());
  std::printf("model %s (%s, %lld parameters), RSS before load %.1f MiB\n", options.modelDirectory.c_str(),
              engine->info().architecture.c_str(), static_cast<long long>(engine->info().parameters), rssBeforeLoad);
  std::mt19937 rng(seed);
  int failures = 0;

  // Warm-up: the first question allocates caches (oneDNN, thread pools) once.
  if (auto a = engine->ask(randomRequest(rng, maxNewTokens)); !a) {
    std::fprintf(stderr, "error: %s\n", a.message().c_str());
    return 2;
  }
  const double startRss = rssMiB(), startTrimmed = trimmedRssMiB();
  std::printf("phase 1: %d sequential questions\n", questions);
  std::printf("  question %5d  RSS %.1f MiB (trimmed %.1f)\n", 0, startRss, startTrimmed);
  const auto t0 = std::chrono::steady_clock::now();
  long long tokens = 0;
  double endRss = startRss, endTrimmed = startTrimmed;
  for (int q = 1; q <= questions; ++q) {
    auto a = engine->ask(randomRequest(rng, maxNewTokens));
    if (!a) {
      ++failures;
      std::fprintf(stderr, "question %d failed: %s\n", q, a.message().c_str());
      continue;
    }
    tokens += static_cast<long long>(a->generation.ids.size());
    if (q % reportEvery == 0 || q == questions) {
      endRss = rssMiB();
      endTrimmed = trimmedRssMiB();
      std::printf("  question %5d  RSS %.1f MiB (trimmed %.1f)\n", q, endRss, endTrimmed);
      std::fflush(stdout);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "  %d questions, %lld tokens in %.1f s; RSS start %.1f end %.1f MiB (%+.1f); "
      "trimmed start %.1f end %.1f MiB (%+.1f)\n",
      questions, tokens, seconds, startRss, endRss, endRss - startRss, startTrimmed, endTrimmed,
      endTrimmed - startTrimmed);

  // Phase 2: cancellation from another thread once the stream has produced k tokens.
  std::printf("phase 2: %d cancellations mid-stream (from another thread)\n", cancellations);
  int cancelled = 0, finishedFirst = 0, maxLate = 0;
  for (int c = 0; c < cancellations; ++c) {
    dqa::AskRequest r = randomRequest(rng, 64);
    std::atomic<bool> cancel{false};
    std::atomic<int> streamed{0};
    std::atomic<bool> done{false};
    const int after = 1 + int(rng() % 8);
    std::atomic<int> atCancel{-1};
    std::thread canceller([&] {
      while (!done && streamed.load() < after) std::this_thread::sleep_for(std::chrono::microseconds(200));
      atCancel = streamed.load();
      cancel = true;
    });
    dqa::gen::GenerationCallbacks cb;
    cb.cancel = &cancel;
    cb.onToken = [&](const dqa::gen::TokenEvent& ev) {
      if (ev.id >= 0) ++streamed;
      return true;
    };
    auto a = engine->ask(r, cb);
    done = true;
    canceller.join();
    if (!a) {
      ++failures;
      std::fprintf(stderr, "cancellation %d failed: %s\n", c, a.message().c_str());
      continue;
    }
    if (a->generation.stop == dqa::gen::StopReason::Cancelled) {
      ++cancelled;
      // Honoured promptly: the flag is checked before every token, so at most the token
      // already being computed when it was raised (plus one for the read-then-set race).
      const int late = int(a->generation.ids.size()) - atCancel.load();
      maxLate = std::max(maxLate, late);
      if (late > 2) {
        ++failures;
        std::fprintf(stderr, "cancellation %d: %d tokens after the flag was raised\n", c, late);
      }
    } else {
      ++finishedFirst;  // EOS before the k-th token: nothing to cancel
    }
  }
  const double afterCancelRss = trimmedRssMiB();
  std::printf(
      "  %d cancelled, %d finished before the cancel point, at most %d token(s) after "
      "the flag, RSS (trimmed) %.1f MiB\n",
      cancelled, finishedFirst, maxLate, afterCancelRss);

  // Phase 3: a second model loads on another thread while this one answers.
  std::printf("phase 3: %d second-model loads while answering\n", secondLoads);
  int secondOk = 0;
  for (int i = 0; i < secondLoads; ++i) {
    std::atomic<bool> loadedOk{false};
    std::thread loader([&] {
      auto second = dqa::Engine::load(options);
      std::mt19937 local(static_cast<unsigned>(i));
      if (second && second.value()->ask(randomRequest(local, 4))) loadedOk = true;
    });
    auto a = engine->ask(randomRequest(rng, maxNewTokens));
    loader.join();
    if (!a) ++failures;
    if (loadedOk) ++secondOk;
  }
  const double finalRss = trimmedRssMiB();
  std::printf("  %d/%d second models loaded and answered; final RSS (trimmed) %.1f MiB\n", secondOk, secondLoads,
              finalRss);
  const bool grew = endTrimmed - startTrimmed > maxGrowthMb;
  std::printf("result: %s (failures %d, RSS growth %.1f MiB trimmed, limit %.0f)\n",
              failures == 0 && !grew && secondOk == secondLoads ? "PASS" : "FAIL", failures, endTrimmed - startTrimmed,
              maxGrowthMb);
  return failures == 0 && !grew && secondOk == secondLoads ? 0 : 1;
}
