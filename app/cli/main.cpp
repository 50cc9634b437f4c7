// depictqa: ask a DepictQA model one question about 1-3 images from the shell.
//   depictqa --reference ref.png -a a.png -b b.png --task comparison
// The answer streams to stdout as it is generated; --json prints one JSON record.
//   depictqa batch --input records.jsonl --output results.jsonl
// answers a DepictQA infer.py file record by record (batch.h, docs/cli.md).
//   depictqa whole -r ref.tif -a a.tif -b b.tif --map map.png
// compares whole photographs tile by tile (whole.h).
//   depictqa convert --clip ViT-L-14.pt --llm vicuna-7b-v1.5 --delta ckpt.pt -o out/
// turns the published DepictQA-Wild files into a model directory, once (convert.h).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <tuple>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "batch.h"
#include "convert.h"
#include "whole.h"
#include "app/common/model_flags.h"
#include "app/common/image_json.h"
#include "core/io/model_config.h"
#include "app/common/quality_json.h"
#include "app/common/reading_json.h"
#include "core/data/parser.h"
#include "core/generate/engine.h"
#include "core/image/image_loader.h"
#include "core/io/model_dir.h"

namespace {

std::atomic<bool> gCancel{false};
// First Ctrl-C: stop generating (batch mode: after writing what is finished). A second
// one ends the process at once.
void onSignal(int sig) {
  gCancel = true;
  std::signal(sig, SIG_DFL);
}

void cancelOnSignals() {
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
}

int fail(const std::string& message) {
  std::cerr << "depictqa: " << message << "\n";
  return 1;
}

// The options of one question; the model and sampling ones also apply to batch and whole.
struct AskFlags {
  std::string reference, imageA, imageB, taskName = "comparison", question, preference;
  bool shortAnswer = false, json = false, quiet = false, unguardedDecoding = false;
  int maxNew = 400;
  float temperature = 0.f, topP = 1.f;
  uint64_t seed = 0;

  void addTo(CLI::App& app) {
    app.add_option("-r,--reference", reference, "Reference image (omit for no-reference assessment)");
    app.add_option("-a,--image-a", imageA, "Image A (the assessed image for --task description)");
    app.add_option("-b,--image-b", imageB, "Image B");
    app.add_option("-t,--task", taskName, "description | comparison | reasoning")->capture_default_str();
    app.add_option("-q,--question", question, "Your question (default: the task's standard question)");
    app.add_option("-p,--preference", preference, "A personal preference, e.g. \"I can't tolerate noise\"");
    app.add_flag("-s,--short", shortAnswer, "Ask for a one-word answer (\"Image A\"/\"Image B\") with confidence");
    app.add_flag("--json", json, "Print one JSON record instead of streaming text");
    app.add_flag("--quiet", quiet, "Do not print timings to stderr");
    app.add_option("--max-new-tokens", maxNew, "Longest answer in tokens")->capture_default_str();
    app.add_option("--temperature", temperature, "0 = greedy (deterministic)")->capture_default_str();
    app.add_option("--top-p", topP, "Nucleus sampling mass")->capture_default_str();
    app.add_option("--seed", seed, "Sampling seed")->capture_default_str();
    app.add_flag("--unguarded-decoding", unguardedDecoding,
                 "Decode as the model chooses: do not hold a reasoning's comparisons to each described aspect once");
  }

  dqa::gen::SamplingParams sampling() const {
    dqa::gen::SamplingParams p;
    p.maxNewTokens = maxNew;
    p.temperature = temperature;
    p.topP = topP;
    p.seed = seed;
    p.guardAnswerGrammar = !unguardedDecoding;
    return p;
  }
};

struct BatchCommand {
  CLI::App* command = nullptr;
  CLI::App* merge = nullptr;
  dqa::cli::BatchOptions options;
  dqa::cli::MergeOptions mergeOptions;
  std::string shard;
  bool noProgress = false;

  void addTo(CLI::App& app) {
    command = app.add_subcommand("batch",
                                 "Answer every record of a DepictQA infer.py file (JSON/JSONL) into resumable JSONL;\n"
                                 "see depictqa batch --help");
    auto* batch = command;
    batch->footer(
        "\nAnswer every record of a DepictQA infer.py file and append one JSON line per record.\n"
        "Records: {\"id\", \"image_ref\", \"image_A\", \"image_B\", \"query\"} as a JSON array or\n"
        "JSONL. image_ref null/absent = no reference; image_B absent = description of image_A.\n"
        "Relative image paths are resolved against --image-root, else the input file's folder.\n"
        "The task is the record's \"task\" (or DepictQA's \"task_type\"), else --task, else\n"
        "inferred: two images = comparison, one = description. An empty query is the task's\n"
        "standard question.\n"
        "Each output line: id, image_ref, image_A, image_B, query, task, text, answer\n"
        "(\"Image A\"/\"Image B\" for comparisons, else null), confidence (the winner's share of\n"
        "the two verdict letters, else null), p_a, p_b, stop, tokens, prompt_tokens, timing_ms, error\n"
        "(null, or why this record failed: a failed record never stops the run).\n"
        "Resume: records whose id is already in --output are skipped, so rerunning an\n"
        "interrupted command finishes it (a half-written last line is dropped and redone).\n"
        "Model and generation options (--model, --tokenizer, --threads, --context-length,\n"
        "--max-new-tokens, --short, --preference, --device, --dtype, ...) are depictqa's own,\n"
        "given before or after 'batch'; see depictqa --help.\n\n"
        "  depictqa batch -i test.json -o results.jsonl --model ~/models/depictqa-wild\n"
        "  depictqa batch -i records.jsonl -o results.jsonl --image-root /data/kadid10k --short\n"
        "Shards: N processes (or machines) each answer one part, then merge joins them:\n"
        "  depictqa batch -i records.jsonl -o part0.jsonl --shard 0/2   (and 1/2 -> part1.jsonl)\n"
        "  depictqa batch merge -i records.jsonl -o results.jsonl part0.jsonl part1.jsonl\n");
    batch->fallthrough();
    batch->add_option("-i,--input", options.input, "Records: a .json array or .jsonl (required)");
    batch->add_option("-o,--output", options.output, "Results, JSONL, appended to (- = stdout, no resume) (required)");
    batch->add_option("--shard", shard,
                      "I/N: answer only shard I of N (records split by id; 0 <= I < N); join the shards with "
                      "'depictqa batch merge'");
    batch->add_option("--image-root", options.imageRoot,
                      "Folder for relative image paths (default: the input file's folder)");
    batch
        ->add_option("-t,--task", options.task,
                     "For records without a task field: auto | description | comparison | reasoning")
        ->capture_default_str();
    batch
        ->add_option("-w,--workers", options.workers,
                     "Engines answering in parallel; each loads the model and gets --threads / N threads")
        ->capture_default_str();
    batch->add_option("--limit", options.limit, "Answer at most N pending records, then stop (0 = all)")
        ->capture_default_str();
    batch->add_flag("--retry-errors", options.retryErrors,
                    "On resume, answer again the records whose line has an error (the last line for an id wins)");
    batch->add_flag("--no-progress", noProgress, "No progress bar on stderr");
    merge = batch->add_subcommand("merge",
                                  "Join the outputs of 'depictqa batch --shard I/N' runs into one file, in the input's "
                                  "order; fails (writing nothing) when a record has no line or two shards answered it");
    merge->add_option("shards", mergeOptions.shards, "The shards' output files")->required();
    merge->add_option("-o,--output", mergeOptions.output, "Merged JSONL (written anew)")->required();
    merge->add_option("-i,--input", mergeOptions.input,
                      "The records the shards answered: gives the order and names the missing ones");
  }

  int run(const AskFlags& ask, const dqa::app::ModelFlags& model) {
    if (merge->parsed()) return dqa::cli::runMerge(mergeOptions);
    if (options.input.empty() || options.output.empty()) return fail("batch needs --input and --output");
    if (!shard.empty()) {
      std::string error;
      if (!dqa::cli::parseShard(shard, &options.shardIndex, &options.shardCount, &error)) return fail(error);
    }
    if (!ask.reference.empty() || !ask.imageA.empty() || !ask.imageB.empty() || !ask.question.empty() || ask.json)
      return fail("batch reads images and questions from the records; -r/-a/-b/-q/--json are for one question");
    auto located = model.locate();
    if (!located) return fail(located.message());
    options.shortAnswer = ask.shortAnswer;
    options.preference = ask.preference;
    options.threads = model.threads;
    options.progress = !noProgress && !ask.quiet;
    cancelOnSignals();
    return dqa::cli::runBatch(options, located.value(), ask.sampling(), &gCancel);
  }
};

struct WholeCommand {
  CLI::App* command = nullptr;
  dqa::cli::WholeOptions options;
  bool noDescribe = false, noProgress = false, f32 = false;

  void addTo(CLI::App& app) {
    command = app.add_subcommand("whole",
                                 "Compare two whole photographs at full resolution, tile by tile, with a map of\n"
                                 "where A or B is better; see depictqa whole --help");
    auto* whole = command;
    whole->footer(
        "\nCovers the frame with tiles of the model's input size at native resolution (no\n"
        "downscaling), skips tiles where A and B do not differ, asks the model which side is\n"
        "better in every other tile (batched), describes the worse side of each decided tile,\n"
        "and combines the tiles into an overall verdict (confidence: the tiles' mean\n"
        "probability, so it is high only when many tiles agree and each is sure) and an answer\n"
        "in words that says where each image is better. The preference (-p) is asked in every\n"
        "tile and weighs the tiles whose worse side shows the aspect it names.\n\n"
        "  depictqa whole -r ref.png -a denoiser1.png -b denoiser2.png --map map.png\n"
        "  depictqa whole -a jpeg80.jpg -b jpeg60.jpg --json tiles.json -p \"I can't tolerate noise\"\n");
    whole->fallthrough();
    whole->add_option("--map", options.mapPath, "Write the verdict map over the reference (or A) as PNG");
    whole->add_option("--tiles-json", options.jsonPath,
                      "Write the overall verdict and every tile as JSON (- = stdout)");
    whole->add_option("--tile-size", options.tileSize, "Tile side in pixels (0 = the model's input size)")
        ->capture_default_str();
    whole->add_option("--batch-size", options.batchSize, "Tiles per forward pass")->capture_default_str();
    whole
        ->add_option("--min-difference", options.minDifference,
                     "Skip tiles whose mean |A - B| is below this many grey levels")
        ->capture_default_str();
    whole->add_flag("--no-describe", noDescribe, "Only verdicts: do not describe the worse side of each tile (faster)");
    whole->add_flag("--no-progress", noProgress, "No progress on stderr");
    whole->add_flag("--f32", f32, "float32 matmuls even where the CPU has bf16 (slower, for checking)");
  }

  int run(const AskFlags& ask, const dqa::app::ModelFlags& model) {
    auto located = model.locate();
    if (!located) return fail(located.message());
    options.reference = ask.reference;
    options.imageA = ask.imageA;
    options.imageB = ask.imageB;
    options.question = ask.question;
    options.preference = ask.preference;
    options.describe = !noDescribe;
    options.bf16OnCpu = !f32;
    options.progress = !noProgress && !ask.quiet;
    cancelOnSignals();
    return dqa::cli::runWhole(options, located.value(), &gCancel);
  }
};

struct ConvertCommand {
  CLI::App* command = nullptr;
  dqa::convert::ConvertOptions options;
  bool quiet = false;

  void addTo(CLI::App& app) {
    command =
        app.add_subcommand("convert",
                           "Turn the published DepictQA-Wild files (CLIP ViT-L-14.pt, Vicuna-7B, DepictQA's ckpt.pt)\n"
                           "into a model directory for --model, once; see depictqa convert --help");
    auto* convert = command;
    convert->footer(
        "\nReads DepictQA's three inputs (experiments/*/config.yaml: vision_encoder_path, llm_path,\n"
        "delta_path) and writes a model directory that depictqa and depictqa-gui load:\n"
        "config.json (LLaVA layout: CLIP's last layer without CLS, quick_gelu, one linear\n"
        "projector), model.safetensors, tokenizer.model and, unless --merge-lora, adapter/ (peft).\n"
        "  --clip   OpenAI's CLIP archive (TorchScript, visual.* names); heads = width / 64\n"
        "  --llm    Hugging Face LLaMA directory: config.json, *.safetensors or pytorch_model*.bin\n"
        "           (with their index when sharded), tokenizer.model\n"
        "  --delta  DepictQA's ckpt.pt: LoRA A/B of q/k/v/o (peft names) + vision_proj\n"
        "LoRA: the rank is read from the tensors; ckpt.pt does not record alpha, so give the\n"
        "lora_alpha of the training config with --lora-alpha (default: alpha = rank, as in\n"
        "DepictQA's configs: r 16, alpha 16). Scaling = alpha / rank.\n"
        "Pickles are read by a restricted reader that rebuilds tensors only and runs no Python.\n"
        "Every name and shape is checked before anything is written; the output appears only\n"
        "when complete (written next to it, then renamed).\n"
        "Memory and disk: tensors are streamed one at a time (peak about 2 GB with Vicuna-7B\n"
        "and ViT-L/14); the output is as large as the inputs (about 14 GB for Vicuna-7B in\n"
        "float16, twice that with --dtype f32). Answering with the result needs RAM for all\n"
        "the weights in the compute dtype: 7B is about 28 GB as float32 on a CPU.\n\n"
        "  depictqa convert --clip ModelZoo/CLIP/clip/ViT-L-14.pt \\\n"
        "      --llm ModelZoo/LLM/vicuna/vicuna-7b-v1.5 \\\n"
        "      --delta experiments/DQ495K/ckpt/ckpt.pt -o ~/models/depictqa-wild\n"
        "  depictqa --model ~/models/depictqa-wild -r ref.png -a a.png -b b.png\n");
    convert->add_option("--clip", options.clipPath, "OpenAI CLIP ViT-L-14.pt")->required();
    convert->add_option("--llm", options.llmDirectory, "Vicuna-7B directory (Hugging Face layout)")->required();
    convert->add_option("--delta", options.deltaPath, "DepictQA's ckpt.pt (LoRA + vision_proj)")->required();
    convert->add_option("-o,--output", options.outputDirectory, "Model directory to create")->required();
    convert->add_option("--tokenizer", options.tokenizerPath, "SentencePiece tokenizer.model (default: the LLM's)");
    convert->add_option("--lora-alpha", options.loraAlpha,
                        "LoRA alpha of the training run (default: = rank, DepictQA's r 16 / alpha 16)");
    convert->add_flag("--merge-lora", options.mergeLora,
                      "Fold the LoRA into the LLM's weights (W += alpha/r B A) instead of writing adapter/");
    convert->add_option("--dtype", options.dtype, "keep (as stored) | f32 | f16 | bf16")->capture_default_str();
    convert->add_option("--vision-heads", options.visionHeads,
                        "CLIP attention heads (default: from the archive, else width / 64)");
    convert->add_flag("--force", options.force, "Replace an existing non-empty output directory");
    convert->add_flag("--quiet", quiet, "No progress on stderr");
  }
};

void printJson(const dqa::Answer& answer, const dqa::ModelInfo& info, dqa::text::Task task,
               const nlohmann::ordered_json& inputs) {
  const auto& g = answer.generation;
  const auto& v = answer.verdict;
  nlohmann::json out = {{"model", info.directory},
                        {"task", dqa::text::taskName(task)},
                        {"question", answer.prompt.question},
                        {"answer", g.text},
                        {"stop", dqa::gen::stopReasonName(g.stop)},
                        {"tokens", g.ids.size()},
                        {"prompt_tokens", g.promptTokens},
                        {"timing_ms",
                         {{"load", info.loadMs},
                          {"vision", g.visionMs},
                          {"prefill", g.prefillMs},
                          {"first_token", g.firstTokenMs},
                          {"decode", g.decodeMs}}},
                        {"tokens_per_second", g.tokensPerSecond()}};
  if (v.present)
    out["verdict"] = {{"winner", std::string("Image ") + v.winner},
                      {"confidence", v.confidence},
                      {"p_a", v.probabilityA},
                      {"p_b", v.probabilityB}};
  else if (v.tie)
    out["verdict"] = {{"winner", nullptr}, {"too_close_to_call", true}};
  if (!answer.quality.empty()) out["quality"] = dqa::app::qualityJson(answer);
  out["reading"] = dqa::app::readingJson(task, g.text, answer.preferenceStated);
  out["inputs"] = inputs;
  std::cout << out.dump(1) << "\n";
}

// After the streamed text: the verdict, the encoder's measurement and the timings.
void printSummary(const dqa::Answer& answer, const dqa::ModelInfo& info) {
  const auto& g = answer.generation;
  const auto& v = answer.verdict;
  if (v.present) std::cerr << "verdict: Image " << v.winner << " (confidence " << v.confidence << ")\n";
  if (v.tie) std::cerr << "verdict: too close to call (the answer names no winner)\n";
  if (const auto roles = answer.prompt.images();
      std::find(roles.begin(), roles.end(), dqa::text::ImageRole::B) != roles.end()) {
    const auto cautions = dqa::data::answerCautions(g.text, answer.preferenceStated);
    for (dqa::data::Aspect aspect : cautions.givenToBothImages)
      std::cerr << "read with care: the answer gives " << dqa::data::aspectName(aspect)
                << " to Image A in one sentence and to Image B in another\n";
    if (cautions.speaksOfUnstatedPreference)
      std::cerr << "read with care: the answer speaks of a preference, but none was stated (-p); that part is the "
                   "model's invention\n";
  }
  for (const auto& q : answer.quality)
    std::cerr << dqa::text::imageRoleName(q.role) << ": predicted MOS " << q.mos << " of 5, dominant distortion "
              << q.dominantType << " (" << int(q.dominantTypeProbability * 100 + 0.5) << "%)\n";
  std::cerr << "load " << int(info.loadMs) << " ms, first token " << int(g.firstTokenMs) << " ms, " << g.ids.size()
            << " tokens at " << int(g.tokensPerSecond()) << " tok/s (" << dqa::gen::stopReasonName(g.stop) << ")\n";
}

// One question: load the images and the model, stream the answer (or print it as JSON).
int askOnce(const AskFlags& flags, const dqa::app::ModelFlags& model) {
  dqa::text::Task task;
  if (!dqa::text::parseTask(flags.taskName, &task))
    return fail("unknown task '" + flags.taskName + "' (description, comparison, reasoning)");
  auto located = model.locate();
  if (!located) return fail(located.message());

  dqa::AskRequest request;
  request.prompt.task = task;
  request.prompt.withReference = !flags.reference.empty();
  request.prompt.shortAnswer = flags.shortAnswer;
  request.prompt.question = flags.question;
  request.prompt.preference = flags.preference;
  request.sampling = flags.sampling();
  nlohmann::ordered_json inputs = nlohmann::ordered_json::object();  // for --json
  for (auto [role, path, target] :
       {std::tuple{"reference", &flags.reference, &request.reference}, std::tuple{"A", &flags.imageA, &request.imageA},
        std::tuple{"B", &flags.imageB, &request.imageB}}) {
    if (path->empty()) continue;
    dqa::image::LoadOptions options;
    options.workingSpace = dqa::io::workingSpaceOfModel(located->modelDirectory);
    auto img = dqa::image::loadImage(*path, options);
    if (!img) return fail(img.message());
    *target = img->rgb;
    inputs[role] = dqa::app::loadedImageJson(*path, img.value());
  }
  if (request.imageA.empty()) return fail("give at least image A (-a FILE); see --help");
  if (task != dqa::text::Task::Description && request.imageB.empty())
    return fail("the " + flags.taskName + " task compares two images: give image B (-b FILE) too");

  auto engine = dqa::Engine::load(located.value());
  if (!engine) return fail(engine.message());
  const auto& info = engine.value()->info();
  if (!info.warning.empty()) std::cerr << "depictqa: warning: " << info.warning << "\n";

  std::signal(SIGINT, onSignal);
  dqa::gen::GenerationCallbacks callbacks;
  callbacks.cancel = &gCancel;
  if (!flags.json) {
    callbacks.onToken = [](const dqa::gen::TokenEvent& ev) {
      std::fwrite(ev.text.data(), 1, ev.text.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  }
  auto answer = engine.value()->ask(request, callbacks);
  if (!answer) return fail(answer.message());
  if (flags.json) {
    printJson(answer.value(), info, task, inputs);
  } else {
    std::cout << "\n";
    if (!flags.quiet) printSummary(answer.value(), info);
  }
  return answer->generation.stop == dqa::gen::StopReason::Cancelled ? 130 : 0;
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
      "  depictqa -a a.png -b b.png --short --preference \"I can't tolerate noise\"\n"
      "  depictqa batch --input records.jsonl --output results.jsonl   # many records, resumable\n"
      "  depictqa whole -r ref.tif -a a.tif -b b.tif --map map.png      # whole photos, tile by tile\n"
      "  depictqa convert --clip ViT-L-14.pt --llm vicuna-7b-v1.5 --delta ckpt.pt -o depictqa-wild\n\n"
      "The model directory is --model, else $DEPICTQA_MODEL, else the desktop app's saved\n"
      "setting, else $XDG_DATA_HOME or $XDG_DATA_DIRS (depictqa/models/default), else the\n"
      "bundled model next to the program (../share/depictqa/models/default).\n",
      "depictqa"};
  dqa::app::ModelFlags model;
  AskFlags ask;
  BatchCommand batch;
  WholeCommand whole;
  ConvertCommand convert;
  model.addTo(app);
  ask.addTo(app);
  batch.addTo(app);
  whole.addTo(app);
  convert.addTo(app);
  CLI11_PARSE(app, argc, argv);

  if (convert.command->parsed()) return dqa::cli::runConvert(convert.options, convert.quiet);
  if (batch.command->parsed()) return batch.run(ask, model);
  if (whole.command->parsed()) return whole.run(ask, model);
  return askOnce(ask, model);
}
