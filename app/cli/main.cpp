// depictqa: ask a DepictQA model one question about 1-3 images from the shell.
//   depictqa --reference ref.png -a a.png -b b.png --task comparison
// The answer streams to stdout as it is generated; --json prints one JSON record.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "core/generate/engine.h"
#include "core/image/image_loader.h"
#include "core/io/model_dir.h"

namespace {

std::atomic<bool> gCancel{false};
void onSignal(int) { gCancel = true; }

int fail(const std::string& message) {
  std::cerr << "depictqa: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "DepictQA: judge image quality in words.\n"
      "Give a reference (optional) and one or two distorted images; the model describes the\n"
      "distortions, compares A with B, or reasons about which is better.\n\n"
      "Examples:\n"
      "  depictqa --reference ref.png -a a.png -b b.png                 # which is better?\n"
      "  depictqa --task reasoning -a a.png -b b.png                     # no reference\n"
      "  depictqa --task description --reference ref.png -a a.png\n"
      "  depictqa -a a.png -b b.png --short --preference \"I can't tolerate noise\"\n",
      "depictqa"};
  std::string modelDir, tokenizer, adapter, device = "cpu", dtype = "auto";
  std::string reference, imageA, imageB, taskName = "comparison", question, preference;
  bool shortAnswer = false, json = false, quiet = false;
  int threads = 0, maxNew = 400, contextLength = 0;
  float temperature = 0.f, topP = 1.f;
  uint64_t seed = 0;
  app.add_option("-m,--model", modelDir, "Model directory (default: $DEPICTQA_MODEL, then the bundled model)");
  app.add_option("--tokenizer", tokenizer, "SentencePiece tokenizer.model (default: the model's own)");
  app.add_option("--adapter", adapter, "peft LoRA adapter directory to apply");
  app.add_option("-r,--reference", reference, "Reference image (omit for no-reference assessment)");
  app.add_option("-a,--image-a", imageA, "Image A (the assessed image for --task description)");
  app.add_option("-b,--image-b", imageB, "Image B");
  app.add_option("-t,--task", taskName, "description | comparison | reasoning")->capture_default_str();
  app.add_option("-q,--question", question, "Your question (default: the task's standard question)");
  app.add_option("-p,--preference", preference, "A personal preference, e.g. \"I can't tolerate noise\"");
  app.add_flag("-s,--short", shortAnswer, "Ask for a one-word answer (\"Image A\"/\"Image B\") with confidence");
  app.add_flag("--json", json, "Print one JSON record instead of streaming text");
  app.add_flag("--quiet", quiet, "Do not print timings to stderr");
  app.add_option("--device", device, "cpu | cuda | cuda:N")->capture_default_str();
  app.add_option("--dtype", dtype, "auto | f32 | bf16 | f16")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = all cores)")->capture_default_str();
  app.add_option("--context-length", contextLength,
                 "Override the model's context window (RoPE models only; quality may degrade)");
  app.add_option("--max-new-tokens", maxNew, "Longest answer in tokens")->capture_default_str();
  app.add_option("--temperature", temperature, "0 = greedy (deterministic)")->capture_default_str();
  app.add_option("--top-p", topP, "Nucleus sampling mass")->capture_default_str();
  app.add_option("--seed", seed, "Sampling seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  dqa::text::Task task;
  if (!dqa::text::parseTask(taskName, &task))
    return fail("unknown task '" + taskName + "' (description, comparison, reasoning)");
  std::vector<std::string> tried;
  auto located = dqa::io::locateModelDirectory({modelDir, ""}, &tried);
  if (!located) return fail(located.message());

  dqa::AskRequest request;
  request.prompt.task = task;
  request.prompt.withReference = !reference.empty();
  request.prompt.shortAnswer = shortAnswer;
  request.prompt.question = question;
  request.prompt.preference = preference;
  request.sampling.maxNewTokens = maxNew;
  request.sampling.temperature = temperature;
  request.sampling.topP = topP;
  request.sampling.seed = seed;
  for (auto [path, target] : {std::pair{&reference, &request.reference}, std::pair{&imageA, &request.imageA},
                              std::pair{&imageB, &request.imageB}}) {
    if (path->empty()) continue;
    auto img = dqa::image::loadImage(*path);
    if (!img) return fail(img.message());
    *target = img->rgb;
  }
  if (request.imageA.empty()) return fail("give at least image A (-a FILE); see --help");
  if (task != dqa::text::Task::Description && request.imageB.empty())
    return fail("the " + taskName + " task compares two images: give image B (-b FILE) too");

  dqa::EngineOptions options;
  options.modelDirectory = located.value();
  options.tokenizerPath = tokenizer;
  options.adapterDirectory = adapter;
  options.device = device;
  options.dtype = dtype;
  options.threads = threads;
  options.contextLength = contextLength;
  auto engine = dqa::Engine::load(options);
  if (!engine) return fail(engine.message());
  const auto& info = engine.value()->info();
  if (!info.warning.empty()) std::cerr << "depictqa: warning: " << info.warning << "\n";

  std::signal(SIGINT, onSignal);
  dqa::gen::GenerationCallbacks callbacks;
  callbacks.cancel = &gCancel;
  if (!json) {
    callbacks.onToken = [](const dqa::gen::TokenEvent& ev) {
      std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  }
  auto answer = engine.value()->ask(request, callbacks);
  if (!answer) return fail(answer.message());
  const auto& g = answer->generation;
  const auto& v = answer->verdict;
  if (json) {
    nlohmann::json out = {
        {"model", info.directory}, {"task", taskName}, {"question", answer->prompt.question},
        {"answer", g.text}, {"stop", dqa::gen::stopReasonName(g.stop)},
        {"tokens", g.ids.size()}, {"prompt_tokens", g.promptTokens},
        {"timing_ms", {{"load", info.loadMs}, {"vision", g.visionMs}, {"prefill", g.prefillMs},
                       {"first_token", g.firstTokenMs}, {"decode", g.decodeMs}}},
        {"tokens_per_second", g.tokensPerSecond()}};
    if (v.present)
      out["verdict"] = {{"winner", std::string("Image ") + v.winner}, {"confidence", v.confidence},
                        {"p_a", v.probabilityA}, {"p_b", v.probabilityB}};
    std::cout << out.dump(1) << "\n";
  } else {
    std::cout << "\n";
    if (!quiet) {
      if (v.present)
        std::cerr << "verdict: Image " << v.winner << " (confidence " << v.confidence << ")\n";
      std::cerr << "load " << int(info.loadMs) << " ms, first token " << int(g.firstTokenMs) << " ms, "
                << g.ids.size() << " tokens at " << int(g.tokensPerSecond()) << " tok/s ("
                << dqa::gen::stopReasonName(g.stop) << ")\n";
    }
  }
  return g.stop == dqa::gen::StopReason::Cancelled ? 130 : 0;
}
