// depictqa-bench: load time, time to first token, tokens/s and short-answer latency of
// a model on this machine, plus the BLAS speed that explains them. Prints figures (and
// JSON with --json); the speed targets are checked here, not in unit tests.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <opencv2/imgproc.hpp>

#include "app/common/model_flags.h"
#include "core/common/result.h"
#include "core/generate/engine.h"
#include "core/image/image_loader.h"
#include "core/io/model_dir.h"

namespace {

// Throughput of one n x n matmul in `dtype`; an error where this libtorch or its oneDNN
// cannot run that dtype here (bf16 with oneDNN held below AVX-512 by ONEDNN_MAX_CPU_ISA
// threw dnnl::error out of this measurement).
dqa::Result<double> matmulGflops(int64_t n, at::ScalarType dtype) try {
  c10::InferenceMode guard;
  at::Tensor a = at::rand({n, n}).to(dtype), b = at::rand({n, n}).to(dtype);
  for (int i = 0; i < 2; ++i) at::matmul(a, b);
  int reps = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double s = 0;
  while (s < 0.5) {
    at::matmul(a, b);
    ++reps;
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return 2.0 * double(n) * n * n * reps / s / 1e9;
} catch (const std::exception& e) {
  return dqa::makeError(std::string("a ") + c10::toString(dtype) + " matmul failed here: " + e.what());
}

// A deterministic test scene with texture, so the images are not trivially flat.
cv::Mat scene(int w, int h, int variant) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar((x * 3 + variant * 17) % 256), uchar((y * 5 + x * y) % 256),
                                        uchar((x ^ y) * (variant + 1) % 256));
  if (variant == 1) cv::GaussianBlur(m, m, cv::Size(5, 5), 1.5);
  return m;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark a DepictQA model on this machine", "depictqa-bench"};
  dqa::app::ModelFlags model;
  model.addTo(app);
  std::string imageA, imageB, reference;
  int runs = 3, newTokens = 200, size = 96;
  bool json = false, unguarded = false;
  app.add_option("--runs", runs, "Repetitions per measurement (median reported)")->capture_default_str();
  app.add_option("--new-tokens", newTokens, "Tokens for the long-answer measurement")->capture_default_str();
  app.add_option("--size", size, "Side of the synthetic test images in pixels")->capture_default_str();
  app.add_option("-r,--reference", reference, "Use this reference image instead of a synthetic one");
  app.add_option("-a", imageA, "Image A");
  app.add_option("-b", imageB, "Image B");
  app.add_flag("--json", json, "Print JSON");
  app.add_flag("--unguarded-decoding", unguarded,
               "Decode as the model chooses (time the answers without the training texts' grammar)");
  CLI11_PARSE(app, argc, argv);

  nlohmann::json out;
  auto runtime = dqa::configureRuntime(model.threads);
  out["threads"] = runtime.threads;
  // null where the matmul cannot run (matmul_errors says why); the model's timings go on.
  for (const auto& [key, dtype] :
       {std::pair{"matmul_f32_1024_gflops", at::kFloat}, std::pair{"matmul_bf16_1024_gflops", at::kBFloat16}}) {
    const auto gflops = matmulGflops(1024, dtype);
    out[key] = gflops ? nlohmann::json(gflops.value()) : nlohmann::json();
    if (!gflops) out["matmul_errors"].push_back(gflops.message());
  }
  if (!runtime.warning.empty()) out["warning"] = runtime.warning;

  auto located = model.locate();
  if (!located) {
    std::cerr << "depictqa-bench: " << located.message() << "\n";
    return 1;
  }
  const dqa::EngineOptions options = located.value();
  std::vector<double> loads;
  std::unique_ptr<dqa::Engine> engine;
  for (int i = 0; i < std::max(1, runs); ++i) {
    auto e = dqa::Engine::load(options);
    if (!e) {
      std::cerr << "depictqa-bench: " << e.message() << "\n";
      return 1;
    }
    loads.push_back(e.value()->info().loadMs);
    engine = std::move(e.value());
  }
  const auto& info = engine->info();
  out["model"] = info.directory;
  out["parameters"] = info.parameters;
  out["device"] = info.device;
  out["dtype"] = info.dtype;
  out["load_ms"] = median(loads);

  dqa::AskRequest req;
  req.sampling.guardAnswerGrammar = !unguarded;
  auto pick = [&](const std::string& path, int variant) {
    if (path.empty()) return scene(size, size, variant);
    auto img = dqa::image::loadImage(path);
    if (!img) {
      std::cerr << "depictqa-bench: " << img.message() << "\n";
      std::exit(1);
    }
    return img->rgb;
  };
  const cv::Mat baseRef = pick(reference, 0), baseA = pick(imageA, 1), baseB = pick(imageB, 2);
  // The engine keeps the encoder's maps of the images it saw last: each timed run gets
  // images of its own (one byte of each changed), so that it measures a question about
  // new images; "same images" times the last ones asked once more.
  auto freshImages = [&](int run) {
    auto fresh = [&](const cv::Mat& base) {
      cv::Mat m = base.clone();
      m.data[0] ^= static_cast<unsigned char>(1 + run % 255);
      return m;
    };
    req.reference = fresh(baseRef);
    req.imageA = fresh(baseA);
    req.imageB = fresh(baseB);
  };
  req.prompt.task = dqa::text::Task::Comparison;
  req.prompt.withReference = true;

  // Short answer: the brief comparison a photographer asks most.
  std::vector<double> shortMs, firstMs;
  req.prompt.shortAnswer = true;
  req.sampling.maxNewTokens = 8;
  int shortTokens = 0;
  for (int i = 0; i < std::max(1, runs); ++i) {
    freshImages(i);
    const auto t0 = std::chrono::steady_clock::now();
    auto a = engine->ask(req);
    if (!a) {
      std::cerr << "depictqa-bench: " << a.message() << "\n";
      return 1;
    }
    shortMs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    firstMs.push_back(a->generation.firstTokenMs);
    shortTokens = static_cast<int>(a->generation.ids.size());
    out["prompt_tokens"] = a->generation.promptTokens;
  }
  std::vector<double> againMs;
  for (int i = 0; i < std::max(1, runs); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (auto a = engine->ask(req); !a) {
      std::cerr << "depictqa-bench: " << a.message() << "\n";
      return 1;
    }
    againMs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  out["short_answer_ms"] = median(shortMs);
  out["short_answer_same_images_again_ms"] = median(againMs);
  out["short_answer_tokens"] = shortTokens;
  out["first_token_ms"] = median(firstMs);

  // Long answer: exactly `newTokens` tokens (EOS is not allowed to end it early).
  req.prompt.shortAnswer = false;
  req.prompt.task = dqa::text::Task::Reasoning;
  req.sampling.maxNewTokens = newTokens;
  req.sampling.ignoreEos = true;  // time exactly `newTokens` tokens
  std::vector<double> longMs, tps;
  size_t produced = 0;
  for (int i = 0; i < std::max(1, runs); ++i) {
    freshImages(runs + i);
    const auto t0 = std::chrono::steady_clock::now();
    auto a = engine->ask(req);
    if (!a) {
      std::cerr << "depictqa-bench: " << a.message() << "\n";
      return 1;
    }
    longMs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    tps.push_back(a->generation.tokensPerSecond());
    produced = a->generation.ids.size();
  }
  out["long_answer_tokens"] = produced;
  out["long_answer_ms"] = median(longMs);
  out["decode_tokens_per_s"] = median(tps);

  if (json) {
    std::cout << out.dump(1) << "\n";
  } else {
    std::printf("model            %s (%lld parameters, %s %s, %d threads)\n", info.directory.c_str(),
                static_cast<long long>(info.parameters), info.device.c_str(), info.dtype.c_str(), runtime.threads);
    const auto gflops = [&](const char* key) {
      return out[key].is_null() ? std::string("n/a") : std::to_string(std::lround(out[key].get<double>()));
    };
    std::printf("BLAS             f32 %s GFLOP/s, bf16 %s GFLOP/s (1024x1024 matmul)\n",
                gflops("matmul_f32_1024_gflops").c_str(), gflops("matmul_bf16_1024_gflops").c_str());
    if (out.contains("matmul_errors"))
      for (const auto& e : out["matmul_errors"]) std::printf("                 %s\n", e.get<std::string>().c_str());
    std::printf("load             %.1f ms\n", out["load_ms"].get<double>());
    std::printf("prompt           %d tokens (3 images %dx%d)\n", out["prompt_tokens"].get<int>(), baseA.cols,
                baseA.rows);
    std::printf("first token      %.1f ms (vision + prefill + 1 step)\n", out["first_token_ms"].get<double>());
    std::printf("short answer     %.1f ms (%d tokens)\n", out["short_answer_ms"].get<double>(), shortTokens);
    std::printf("same images      %.1f ms (the short answer again: the encoder's maps kept)\n",
                out["short_answer_same_images_again_ms"].get<double>());
    std::printf("long answer      %.1f ms for %zu tokens; decode %.1f tok/s\n", out["long_answer_ms"].get<double>(),
                produced, out["decode_tokens_per_s"].get<double>());
    if (!runtime.warning.empty()) std::printf("WARNING          %s\n", runtime.warning.c_str());
  }
  return 0;
}
