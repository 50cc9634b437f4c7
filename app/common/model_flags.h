#pragma once
// The flags that say which model to run and how, the same in every tool (depictqa,
// depictqa-bench, depictqa-bench-whole, depictqa-eval, depictqa-endurance), and the
// EngineOptions they make. Header-only: the tools share it without a library.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/generate/engine.h"
#include "core/io/model_dir.h"

namespace dqa::app {

struct ModelFlags {
  std::string model, tokenizer, adapter, device = "cpu", dtype = "auto";
  int threads = 0, contextLength = 0;

  // `runtime`: also --adapter, --device and --dtype (tools that run any checkpoint).
  void addTo(CLI::App& app, bool runtime = true) {
    app.add_option(
        "-m,--model", model,
        "Model directory (default: $DEPICTQA_MODEL, the app's setting, XDG data dirs, then the bundled model)");
    app.add_option("--tokenizer", tokenizer, "SentencePiece tokenizer.model (default: the model's own)");
    app.add_option("--threads", threads, "CPU threads (0 = all cores)")->capture_default_str();
    app.add_option("--context-length", contextLength,
                   "Override the model's context window (RoPE models only; quality may degrade)");
    if (!runtime) return;
    app.add_option("--adapter", adapter, "peft LoRA adapter directory to apply");
    app.add_option("--device", device, "cpu | cuda | cuda:N")->capture_default_str();
    app.add_option("--dtype", dtype, "auto (f32 on CPU, bf16 on CUDA) | f32 | bf16 | f16")->capture_default_str();
  }

  // EngineOptions for an already located directory.
  EngineOptions engineOptions(const std::string& directory) const {
    EngineOptions o;
    o.modelDirectory = directory;
    o.tokenizerPath = tokenizer;
    o.adapterDirectory = adapter;
    o.device = device;
    o.dtype = dtype;
    o.threads = threads;
    o.contextLength = contextLength;
    return o;
  }

  // Finds the model directory (flag, environment, setting, XDG, bundled) and makes the options.
  Result<EngineOptions> locate(std::vector<std::string>* tried = nullptr) const {
    auto located = io::locateModelDirectory({model, ""}, tried);
    if (!located) return located.error();
    return engineOptions(located.value());
  }
};

}  // namespace dqa::app
