// depictqa-train: trains a DepictQA model on the data engine's shards, or fine-tunes
// one on DepictQA's training JSON (docs/datasets.md), mixed by weight:
//   depictqa-train --train data/train --val data/val --tokenizer tok.model --out runs/tiny
//   depictqa-train --finetune lora --init models/default --train-json mine.json:2
//       --train data/train:1 --image-root images --split split.json --out runs/mine
// Interrupt and rerun the same command to resume from the last checkpoint.
// Data-parallel: torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, ...)
// or the flags below; scripts/train-distributed.sh starts N local ranks
// (docs/distributed.md).
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/text/prompt.h"
#include "core/text/tokenizer.h"
#include "core/data/example_source.h"
#include "core/data/shard_dataset.h"
#include "core/train/encoder_stage.h"
#include "core/train/model_average.h"
#include "core/train/sample_stream.h"
#include "core/train/trainer.h"

namespace {

// The text a tokenizer for these shards must cover: every prompt segment exactly as the
// model sees it, and every answer. One line per segment, for spm_train.
int writeCorpus(const std::string& shards, const std::string& path) {
  auto ds = dqa::data::ShardDataset::open(shards);
  if (!ds) {
    std::cerr << "depictqa-train: " << ds.message() << "\n";
    return 1;
  }
  std::ofstream out(path);
  for (size_t i = 0; i < ds->size(); ++i) {
    const auto& r = ds->record(i);
    dqa::text::PromptRequest req;
    dqa::text::parseTask(r.at("task").get<std::string>(), &req.task);
    req.withReference = r.at("with_reference").get<bool>();
    req.question = r.at("question").get<std::string>();
    req.preference = r.value("preference", "");
    req.shortAnswer = r.value("short_answer", false);
    auto prompt = dqa::text::buildPrompt(req);
    if (!prompt) continue;
    for (const auto& c : prompt->chunks)
      if (c.kind == dqa::text::PromptChunk::Kind::Text) {
        std::string t = c.text;
        for (char& ch : t)
          if (ch == '\n') ch = ' ';  // spm_train reads one sentence per line
        out << t << "\n";
      }
    out << r.at("answer").get<std::string>() << "\n";
  }
  std::cerr << "depictqa-train: corpus of " << ds->size() << " records written to " << path << "\n";
  return out ? 0 : 1;
}

// The same corpus from `count` streamed samples (no shards needed).
int writeStreamCorpus(const dqa::train::StreamOptions& stream, int count, const std::string& path) {
  auto s = dqa::train::SampleStream::open(stream);
  if (!s) {
    std::cerr << "depictqa-train: " << s.message() << "\n";
    return 1;
  }
  std::ofstream out(path);
  dqa::data::SamplerConfig sampler;
  sampler.patchSizes = {64};
  int written = 0;
  for (int first = 0; first < count; first += 512) {
    for (const auto& ex : s.value()->examples(std::uint64_t(first), std::min(512, count - first), sampler)) {
      auto prompt = dqa::text::buildPrompt(ex.prompt);
      if (!prompt) continue;
      for (const auto& c : prompt->chunks)
        if (c.kind == dqa::text::PromptChunk::Kind::Text) {
          std::string t = c.text;
          for (char& ch : t)
            if (ch == '\n') ch = ' ';
          out << t << "\n";
        }
      out << ex.answer << "\n";
      ++written;
    }
  }
  std::cerr << "depictqa-train: corpus of " << written << " streamed samples written to " << path << "\n";
  return out ? 0 : 1;
}

// The DepictQA JSON options into the mix: --train DIR[:W] and --train-json FILE[:W].
int addSources(const std::vector<std::string>& shards, const std::vector<std::string>& json,
               dqa::data::MixOptions& mix) {
  using Kind = dqa::data::SourceSpec::Kind;
  for (const auto* list : {&shards, &json})
    for (const auto& text : *list) {
      auto spec = dqa::data::parseSourceSpec(list == &shards ? Kind::Shards : Kind::DepictqaJson, text);
      if (!spec) {
        std::cerr << "depictqa-train: " << spec.message() << "\n";
        return 2;
      }
      mix.sources.push_back(spec.value());
    }
  if (!json.empty() && mix.imageRoot.empty()) {
    std::cerr << "depictqa-train: --train-json needs --image-root (the folder its image paths are relative to)\n";
    return 2;
  }
  return 0;
}

// --write-split: a split by reference image of the --train-json records.
int writeJsonSplit(const dqa::data::MixOptions& mix, double evalFraction, std::uint64_t seed, const std::string& path) {
  auto written = dqa::data::writeDepictqaSplit(mix, evalFraction, seed, path);
  if (!written) {
    std::cerr << "depictqa-train: " << written.message() << "\n";
    return 1;
  }
  std::cerr << "depictqa-train: " << written.value() << "\n";
  return 0;
}

// --finetune lora|full: the mode, from an existing model (its tokenizer unless one is
// given). As in the DepictQA paper the vision encoder stays frozen: lora trains the
// projector and LoRA on the decoder's attention, full the projector and every decoder
// weight (--mode decoder).
int applyFinetune(const std::string& finetune, bool modeGiven, dqa::train::TrainOptions& o) {
  if (finetune.empty()) return 0;
  if (finetune != "lora" && finetune != "full") {
    std::cerr << "depictqa-train: --finetune is lora (LoRA on the decoder's attention + the projector, as in the "
                 "DepictQA paper) or full (the projector and every decoder weight)\n";
    return 2;
  }
  const std::string mode = finetune == "lora" ? "lora" : "decoder";
  if (modeGiven && o.mode != mode) {
    std::cerr << "depictqa-train: --finetune " << finetune << " trains as --mode " << mode << ", not --mode " << o.mode
              << "; give one of them\n";
    return 2;
  }
  if (o.initFrom.empty()) {
    std::cerr << "depictqa-train: --finetune needs --init MODEL_DIR (the bundled model or a converted checkpoint)\n";
    return 2;
  }
  o.mode = mode;
  if (o.tokenizerPath.empty()) o.tokenizerPath = o.initFrom + "/tokenizer.model";
  return 0;
}

}  // namespace

int runEncoderStage(const dqa::train::EncoderStageOptions& e) {
  auto status = dqa::train::trainEncoderStage(e, [](const dqa::train::EncoderStageProgress& p) {
    const int eta = static_cast<int>(p.etaSeconds);
    std::fprintf(
        stderr,
        "\r%d/%d  score %.3f rank %.3f pair %.3f aspects %.3f types %.3f aspect scores %.3f preference %.3f  lr %.2e  "
        "%.0f views/s  ETA %dh%02dm%02ds ",
        p.step, p.steps, p.losses.regression, p.losses.ranking, p.losses.pair, p.losses.aspects, p.losses.types,
        p.losses.aspectScores, p.losses.preference, p.learningRate, p.viewsPerSecond, eta / 3600, eta / 60 % 60,
        eta % 60);
    if (p.evaluated)
      std::fprintf(stderr,
                   "\n  validation 2AFC (heads): held-out types FR %.1f%% NR %.1f%%, aspects %.1f%%; unseen photos FR "
                   "%.1f%% NR %.1f%%, aspects %.1f%%; selection %.4f\n",
                   100 * p.typesFR, 100 * p.typesNR, 100 * p.typesAspects, 100 * p.photosFR, 100 * p.photosNR,
                   100 * p.photosAspects, p.selection);
    if (p.evaluated && (p.typesPreference >= 0 || p.photosPreference >= 0))
      std::fprintf(stderr, "  flipped-preference pairs (heads): held-out types %.1f%%, unseen photos %.1f%%\n",
                   100 * p.typesPreference, 100 * p.photosPreference);
    std::fflush(stderr);
  });
  std::fprintf(stderr, "\n");
  if (!status) {
    std::cerr << "depictqa-train: " << status.message() << "\n";
    return 1;
  }
  if (e.averageFrom > 0)
    std::cerr << "depictqa-train: encoder written to " << e.outputDirectory << "/best (chosen on held-out types), "
              << e.outputDirectory << "/model (the mean of the weights at every evaluation step from step "
              << e.averageFrom << " on) and " << e.outputDirectory << "/last (last step)\n";
  else
    std::cerr << "depictqa-train: encoder written to " << e.outputDirectory << "/best (chosen on held-out types) and "
              << e.outputDirectory << "/model (last step)\n";
  return 0;
}

namespace {

// Everything the command line sets beyond the two stages' options.
struct CommandLine {
  dqa::train::TrainOptions o;
  dqa::train::EncoderStageOptions e;
  std::string manifest, valTypes, finetune, writeSplit, corpus;
  std::vector<std::string> trainShards, trainJson, averageModels;
  double evalFraction = 0.2;
  int streamThreads = 2;
  int corpusSamples = 20000;
  bool bf16 = false, noBf16 = false, fresh = false;
};

// What to train on and where the result goes.
void addDataOptions(CLI::App& app, CommandLine& c) {
  auto& o = c.o;
  app.add_option("--train", c.trainShards,
                 "Training shards (a split folder written by depictqa-datagen), DIR or DIR:WEIGHT; repeatable");
  app.add_option("--train-json", c.trainJson,
                 "DepictQA training JSON (a list of records), FILE or FILE:WEIGHT; repeatable, mixed with --train by "
                 "weight");
  app.add_option("--image-root", o.data.imageRoot, "Folder the --train-json image paths are relative to");
  app.add_option("--split", o.data.splitPath,
                 "Split file (depictqa-split/1): train only on the --train-json records of its train side");
  app.add_flag("--skip-missing", o.data.skipMissing,
               "Leave out (and count) --train-json records whose images are missing");
  app.add_option("--max-image-side", o.data.maxImageSide,
                 "Scale --train-json images down to this longer side (0: as on disk)")
      ->capture_default_str();
  app.add_option("--write-split", c.writeSplit,
                 "Only write a split by reference image of the --train-json records to this file, and exit");
  app.add_option("--eval-fraction", c.evalFraction, "--write-split: share of the reference images held out")
      ->capture_default_str();
  app.add_option("--finetune", c.finetune,
                 "Fine-tune the --init model, its encoder frozen as in the paper: lora (projector + LoRA on the "
                 "decoder's attention; model/ gets it merged) or full (projector + every decoder weight)");
  app.add_option("--photos", o.stream.photosDirectory,
                 "Stream fresh samples from these photos instead of shards (scripts/fetch_photos.sh)");
  app.add_option("--data-manifest", c.manifest,
                 "manifest.json of the validation shards: the photo/type split the stream must respect");
  app.add_option("--stream-threads", c.streamThreads, "Threads that make streamed samples")->capture_default_str();
  app.add_flag("--photographic-variants", o.stream.photographicVariants,
               "Streamed samples also draw the photographic variants (lateral chromatic aberration, demosaiced "
               "sensor noise, chroma blotches, denoiser smearing, wide halos; docs/data-engine.md)");
  app.add_option("--val", o.validationDirectory, "Validation shards (photos never seen in training)");
  app.add_option("--val-types", c.valTypes,
                 "Validation shards of held-out distortion types (--mode encoder: chooses best/)");
  app.add_option("--tokenizer", o.tokenizerPath, "SentencePiece tokenizer.model");
  app.add_option("--out", o.outputDirectory, "Output folder: model/, checkpoint/, loss.png, log.jsonl");
  app.add_option("--init", o.initFrom, "Start from this model directory (default: a new model)");
  app.add_option("--mode", o.mode, "encoder | decoder | full | lora")->capture_default_str();
}

void addScheduleOptions(CLI::App& app, dqa::train::TrainOptions& o) {
  app.add_option("--steps", o.steps, "Length of the learning-rate schedule")->capture_default_str();
  app.add_option("--stop-at", o.stopAt, "Stop after this many steps (the schedule still spans --steps)");
  app.add_option("--batch", o.batchSize, "Examples per step (--mode encoder: views per step at 96 px)")
      ->capture_default_str();
  app.add_option("--lr", o.learningRate)->capture_default_str();
  app.add_option("--warmup", o.warmupSteps)->capture_default_str();
  app.add_option("--weight-decay", o.weightDecay)->capture_default_str();
  app.add_option("--clip", o.gradientClip)->capture_default_str();
}

// What each stage optimises, and on which samples.
void addObjectiveOptions(CLI::App& app, CommandLine& c) {
  auto& o = c.o;
  auto& e = c.e;
  app.add_option("--verdict-weight", o.verdictWeight,
                 "Weight of the A-vs-B cross-entropy on the verdict letter of comparison and reasoning answers")
      ->capture_default_str();
  app.add_option("--distill-weight", o.distillWeight,
                 "Weight of the verdict letter's distillation towards the heads' pairwise probability")
      ->capture_default_str();
  app.add_option("--letter-weight", o.letterWeight,
                 "Weight of the A-vs-B cross-entropy on the letter of every \"Image A\"/\"Image B\" of an answer")
      ->capture_default_str();
  app.add_flag("--weigh-comparatives", o.weighComparatives,
               "Comparative words (better, worse, ...) are judgement words too, also in brief comparisons");
  app.add_flag("--loser-first-verdicts", o.loserFirstVerdicts,
               "Verdict sentences that name the loser first get the verdict losses too (with the loser's letter)");
  app.add_option("--preference-share", o.preferenceShare,
                 "Streamed samples: share of pair questions that carry a stated preference")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--question-variety", o.questionVariety,
                 "Streamed samples: share of questions worded beyond the fixed pools (openings, wordings, the "
                 "app's default question), so that an unfamiliar wording is not read as a stated preference")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--key-weight", o.keyWordWeight, "Token weight of judgement words (levels, kinds, quality)")
      ->capture_default_str();
  app.add_option("--attention-weight", o.attentionWeight,
                 "Weight of the attention loss: the words naming a local distortion's aspect in a description "
                 "attend to its region (every layer, every head; 0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--local-share", o.localShare,
                 "Streamed samples: share of distorted images whose distortion is confined to a region")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--patch-sizes", o.streamPatchSizes, "Streamed patch sizes")->delimiter(',')->capture_default_str();
  app.add_option("--patch-weights", o.streamPatchWeights, "Their shares")->delimiter(',')->capture_default_str();
  app.add_option("--eval-pairs", e.evalPairs, "--mode encoder: validation pairs per split")->capture_default_str();
  app.add_option("--average-from", e.averageFrom,
                 "--mode encoder: write to <out>/model the mean of the encoder's weights at every evaluation step "
                 "(--eval-every apart) from this step on and at the last step (tail averaging), and the last step's "
                 "own weights to <out>/last; 0: model/ is the last step")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--rank-weight", e.weights.ranking, "--mode encoder: weight of the all-pairs ranking loss")
      ->capture_default_str();
  app.add_option("--pair-weight", e.weights.pair, "--mode encoder: weight of the A-vs-B loss")->capture_default_str();
  app.add_option("--same-kind-level-gap", e.sameKindLevelGap,
                 "--mode encoder: in the A-vs-B loss, a pair whose images carry one distortion each, of one type "
                 "and variant, at levels at least this far apart is decided by the levels (the stronger is worse) "
                 "however close its score labels; 0: every pair decided by its score gap alone")
      ->check(CLI::Range(0.0, 5.0))
      ->capture_default_str();
  app.add_option("--aspect-weight", e.weights.aspects, "--mode encoder: weight of the aspect-severity loss")
      ->capture_default_str();
  app.add_option("--type-weight", e.weights.types, "--mode encoder: weight of the distortion-type loss")
      ->capture_default_str();
  app.add_option("--aspect-score-weight", e.weights.aspectScores,
                 "--mode encoder: weight of the per-aspect score loss (models with aspect scores)")
      ->capture_default_str();
  app.add_option("--preference-rank-weight", e.weights.preference,
                 "--mode encoder: weight of ranking each pair's aspect scores under stated preferences")
      ->capture_default_str();
  app.add_option("--preference-rank-on-score", e.weights.preferenceOnScore,
                 "--mode encoder: rank the score the heads' verdict reads with a preference (the score head's "
                 "moved by what the preference changes) instead of the aspect scores' weighted score alone")
      ->capture_default_str();
  app.add_option("--preference-flip-weight", e.weights.preferenceFlipWeight,
                 "--mode encoder: weight, in that ranking, of the pairs whose labelled winner the preference changes")
      ->check(CLI::Validator(
          [](std::string& value) {
            // Zero or below would leave every flipped pair out, or count it against its label.
            double weight = 0;
            if (!CLI::detail::lexical_cast(value, weight)) return "must be a finite number above 0, got " + value;
            return weight > 0 && std::isfinite(weight)
                       ? std::string()
                       : "must be a finite number above 0 (1 weighs every pair alike), got " + value;
          },
          "POSITIVE"))
      ->capture_default_str();
  app.add_flag(
      "--add-aspect-scores", e.addAspectScores,
      "--mode encoder: add a per-aspect score head to an --init model without one (the projector's "
      "quality-token inputs widened with zero weights, so answers without a stated preference are unchanged until "
      "trained)");
  app.add_option("--fresh-aspect-scores", e.freshAspectScoreWidth,
                 "--mode encoder: replace the --init model's per-aspect score head by fresh weights with a GELU "
                 "layer of this width of its own on the pooled map (0: linear on the heads' shared layer, as "
                 "before); with --train-only vision_tower.heads.aspect_scores nothing else changes")
      ->check(CLI::Range(0, 4096));
  app.add_option("--train-only", e.trainOnly,
                 "--mode encoder: train only the weights whose names start with this, e.g. "
                 "vision_tower.heads.aspect_scores (default: all of the encoder)");
  app.add_option("--lora-rank", o.loraRank)->capture_default_str();
  app.add_option("--lora-alpha", o.loraAlpha)->capture_default_str();
}

// Precision, resuming, threads, seed and how often to log, evaluate and save.
void addRunOptions(CLI::App& app, CommandLine& c) {
  auto& o = c.o;
  app.add_flag("--bf16", c.bf16, "CPU bf16 autocast (used only where the CPU has bf16 hardware)");
  app.add_flag("--no-bf16", c.noBf16, "Train in float32 (the default)");
  app.add_flag("--fresh", c.fresh, "Ignore an existing checkpoint");
  app.add_option("--threads", o.threads)->capture_default_str();
  app.add_option("--seed", o.seed)->capture_default_str();
  app.add_option("--log-every", o.logEvery)->capture_default_str();
  app.add_option("--eval-every", o.evalEvery)->capture_default_str();
  app.add_option("--eval-examples", o.evalExamples)->capture_default_str();
  app.add_option("--save-every", o.saveEvery)->capture_default_str();
  app.add_option("--average-models", c.averageModels,
                 "Write to <out>/model the mean of these model directories' weights (runs of one stage from the "
                 "same starting point with different seeds; comma-separated) and exit")
      ->delimiter(',');
}

// The shape of a new model (ignored with --init).
void addShapeOptions(CLI::App& app, dqa::train::ModelShape& s) {
  app.add_option("--vision", s.visionKind, "Encoder of a new model: quality | clip")->capture_default_str();
  app.add_option("--stage-widths", s.stageWidths, "Quality encoder widths at 1/4, 1/8, 1/16 and of the tokens")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--stage-blocks", s.stageBlocks, "Quality encoder residual blocks per stage")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--quality-inputs", s.qualityInputs, "Quality encoder input features")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--max-token-grid", s.maxTokenGrid, "Quality encoder: tokens per side at most")->capture_default_str();
  app.add_option("--head-width", s.headWidth)->capture_default_str();
  app.add_option("--aspect-score-width", s.aspectScoreWidth,
                 "Quality encoder: the aspect-score head's own layer on the pooled map (0: it reads the heads' "
                 "shared layer)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--aspect-scores", s.aspectScores, "Quality encoder: a score head per aspect (true/false)")
      ->capture_default_str();
  app.add_option("--vision-width", s.visionWidth)->capture_default_str();
  app.add_option("--vision-layers", s.visionLayers)->capture_default_str();
  app.add_option("--vision-heads", s.visionHeads)->capture_default_str();
  app.add_option("--vision-mlp", s.visionMlp)->capture_default_str();
  app.add_option("--image-size", s.imageSize)->capture_default_str();
  app.add_option("--input-features", s.inputFeatures,
                 "CLIP encoder with early fusion: image, difference, abs_difference, highpass_magnitude")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--width", s.width)->capture_default_str();
  app.add_option("--layers", s.layers)->capture_default_str();
  app.add_option("--heads", s.heads)->capture_default_str();
  app.add_option("--kv-heads", s.kvHeads)->capture_default_str();
  app.add_option("--mlp", s.mlp)->capture_default_str();
  app.add_option("--context", s.contextLength)->capture_default_str();
}

void addCorpusOptions(CLI::App& app, CommandLine& c) {
  app.add_option("--write-corpus", c.corpus,
                 "Only write the text corpus (of --train shards, or of --corpus-samples streamed samples) for "
                 "spm_train, and exit");
  app.add_option("--corpus-samples", c.corpusSamples)->capture_default_str();
}

// The flags' defaults are torchrun's variables, already read into d.
void addDistributedOptions(CLI::App& app, dqa::train::DistributedOptions& d) {
  app.add_option("--rank", d.rank, "Data-parallel: this process's rank (default: $RANK, else 0)");
  app.add_option("--world-size", d.worldSize, "Data-parallel: number of ranks (default: $WORLD_SIZE, else 1)");
  app.add_option("--local-rank", d.localRank, "Data-parallel: rank on this host (default: $LOCAL_RANK)");
  app.add_option("--master-addr", d.masterAddress, "Data-parallel: rank 0's address (default: $MASTER_ADDR)")
      ->capture_default_str();
  app.add_option("--master-port", d.masterPort, "Data-parallel: rank 0's rendezvous port (default: $MASTER_PORT)")
      ->capture_default_str();
  app.add_option("--dist-timeout", d.timeoutSeconds,
                 "Data-parallel: seconds a rank waits for the others at the rendezvous and in each collective")
      ->capture_default_str();
  app.add_option("--dist-backend", d.backend, "Data-parallel: gloo (CPU), or nccl in CUDA builds")
      ->capture_default_str();
}

// Streamed samples (no shards, or the encoder stage) must keep out the validation
// photos and held-out types the manifest names.
int applyStreamSplit(CommandLine& c) {
  auto& o = c.o;
  if (!o.data.sources.empty() && o.mode != "encoder") return 0;
  if (o.stream.photosDirectory.empty()) {
    std::cerr << "depictqa-train: give --train SHARDS, --train-json FILE (with --image-root) or --photos DIR (with "
                 "--data-manifest)\n";
    return 2;
  }
  if (c.manifest.empty()) {
    std::cerr << "depictqa-train: --photos needs --data-manifest (the manifest.json of the validation shards), so "
                 "that no validation photo or held-out type is trained on\n";
    return 2;
  }
  auto split = dqa::train::splitFromManifest(c.manifest);
  if (!split) {
    std::cerr << "depictqa-train: " << split.message() << "\n";
    return 1;
  }
  o.stream.split = split.value();
  return 0;
}

// Without --init, the encoder stage starts from a new model written to <out>/init
// (kept, so that a resumed run starts from the same one).
int writeInitialModelIfNeeded(dqa::train::TrainOptions& o) {
  if (!o.initFrom.empty()) return 0;
  o.initFrom = o.outputDirectory + "/init";
  if (std::filesystem::exists(o.initFrom + "/config.json")) return 0;
  auto tok = dqa::text::Tokenizer::load(o.tokenizerPath);
  if (!tok) {
    std::cerr << "depictqa-train: " << tok.message() << "\n";
    return 1;
  }
  o.shape.vocabSize = tok.value()->vocabSize();
  if (auto ok = dqa::train::writeInitialModel(o.shape, o.initFrom, o.seed); !ok) {
    std::cerr << "depictqa-train: " << ok.message() << "\n";
    return 1;
  }
  std::filesystem::copy_file(o.tokenizerPath, o.initFrom + "/tokenizer.model",
                             std::filesystem::copy_options::overwrite_existing);
  return 0;
}

dqa::train::EncoderStageOptions encoderStageOptions(const CommandLine& c) {
  const auto& o = c.o;
  dqa::train::EncoderStageOptions e = c.e;  // its loss weights and validation pairs
  e.stream = o.stream;
  e.initFrom = o.initFrom;
  e.outputDirectory = o.outputDirectory;
  e.validationShards = o.validationDirectory;
  e.validationTypesShards = c.valTypes;
  e.patchSizes = o.streamPatchSizes;
  e.patchWeights = o.streamPatchWeights;
  e.viewsPerStep = o.batchSize;
  e.steps = o.steps;
  e.stopAt = o.stopAt;
  e.learningRate = o.learningRate;
  e.warmupSteps = o.warmupSteps;
  e.weightDecay = o.weightDecay;
  e.gradientClip = o.gradientClip;
  e.threads = o.threads;
  e.logEvery = o.logEvery;
  e.evalEvery = o.evalEvery;
  e.resume = o.resume;
  e.bf16 = o.bf16;
  return e;
}

void printLanguageProgress(const dqa::train::TrainProgress& p) {
  const int width = 30;
  const int filled = p.steps ? width * p.step / p.steps : 0;
  std::string bar(size_t(filled), '#');
  bar.resize(size_t(width), '.');
  const int eta = static_cast<int>(p.etaSeconds);
  std::fprintf(stderr,
               "\r[%s] %d/%d loss %.3f (lm %.3f, verdict %.3f, distill %.3f, letter %.3f, attention %.3f) lr %.2e "
               "%.1f samples/s ETA %dh%02dm%02ds ",
               bar.c_str(), p.step, p.steps, p.loss, p.lmLoss, p.verdictLoss, p.distillLoss, p.letterLoss,
               p.attentionLoss, p.learningRate, p.samplesPerSecond, eta / 3600, eta / 60 % 60, eta % 60);
  if (std::getenv("DEPICTQA_TRAIN_TIMING"))
    std::fprintf(
        stderr,
        "\n  per step: batch %.0f ms, forward %.0f ms, backward %.0f ms, communication %.1f ms, optimizer %.0f "
        "ms; length %.0f\n",
        p.batchMs, p.forwardMs, p.backwardMs, p.communicationMs, p.optimizerMs, p.tokensPerSample);
  if (p.evaluated)
    std::fprintf(stderr,
                 "\n  validation: loss %.3f per answer token, verdict letter right %.1f%%, every letter right %.1f%%"
                 " (teacher-forced)\n",
                 p.valLoss, 100 * p.valVerdictAccuracy, 100 * p.valLetterAccuracy);
  std::fflush(stderr);
}

// The decoder, full and lora modes, in one process or as one rank of several.
int runLanguageStage(dqa::train::TrainOptions& o) {
  o.onNote = [](const std::string& line) { std::cerr << "depictqa-train: " << line << "\n"; };
  auto status = dqa::train::train(o, printLanguageProgress);
  std::fprintf(stderr, "\n");
  const auto& d = o.distributed;
  const std::string who = d.enabled() ? "depictqa-train (rank " + std::to_string(d.rank) + "): " : "depictqa-train: ";
  if (!status) {
    std::cerr << who << status.message() << "\n";
    return 1;
  }
  if (d.rank == 0) std::cerr << who << "model written to " << o.outputDirectory << "/model\n";
  return 0;
}

// The recipe's last stage, run with several seeds, averaged into one model.
int averageModels(const std::vector<std::string>& directories, const std::string& out) {
  if (out.empty()) {
    std::cerr << "depictqa-train: --average-models needs --out (the average is written to <out>/model)\n";
    return 2;
  }
  if (auto ok = dqa::train::averageModelDirectories(directories, out + "/model"); !ok) {
    std::cerr << "depictqa-train: " << ok.message() << "\n";
    return 1;
  }
  std::cerr << "depictqa-train: the mean of " << directories.size() << " models written to " << out << "/model\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Train a DepictQA model: the quality encoder (--mode encoder), then the decoder (--mode decoder), "
      "or everything / projector + LoRA as in the paper (--mode full / lora)",
      "depictqa-train"};
  CommandLine c;
  auto& o = c.o;
  addDataOptions(app, c);
  addScheduleOptions(app, o);
  addObjectiveOptions(app, c);
  addRunOptions(app, c);
  addShapeOptions(app, o.shape);
  addCorpusOptions(app, c);
  auto dist = dqa::train::distributedFromEnvironment({});
  if (!dist) {
    std::cerr << "depictqa-train: " << dist.message() << "\n";
    return 2;
  }
  o.distributed = dist.value();
  auto& d = o.distributed;
  addDistributedOptions(app, d);
  CLI11_PARSE(app, argc, argv);

  // Ranks on one host share its cores unless --threads says otherwise.
  if (d.enabled() && o.threads == 0 && d.localWorldSize > 1)
    o.threads = std::max(1, int(std::thread::hardware_concurrency()) / d.localWorldSize);
  if (!c.averageModels.empty()) return averageModels(c.averageModels, o.outputDirectory);
  if (int rc = addSources(c.trainShards, c.trainJson, o.data)) return rc;
  if (!c.writeSplit.empty()) return writeJsonSplit(o.data, c.evalFraction, o.seed, c.writeSplit);
  if (int rc = applyFinetune(c.finetune, app.count("--mode") > 0, o)) return rc;
  if (!c.corpus.empty() && !c.trainShards.empty()) return writeCorpus(o.data.sources.front().path, c.corpus);
  o.stream.seed = o.seed;
  o.stream.threads = c.streamThreads;
  if (int rc = applyStreamSplit(c)) return rc;
  if (!c.corpus.empty()) return writeStreamCorpus(o.stream, c.corpusSamples, c.corpus);
  if (o.tokenizerPath.empty() || o.outputDirectory.empty()) {
    std::cerr << "depictqa-train: --tokenizer and --out are required for training\n";
    return 2;
  }
  o.bf16 = c.bf16 && !c.noBf16;
  o.resume = !c.fresh;
  if (o.mode != "encoder") return runLanguageStage(o);
  if (d.enabled()) {
    std::cerr << "depictqa-train: --mode encoder runs in one process; data-parallel training is for the language "
                 "stage (decoder, full, lora)\n";
    return 2;
  }
  if (c.e.averageFrom > o.steps) {
    std::cerr << "depictqa-train: --average-from " << c.e.averageFrom << " is past the last step (--steps " << o.steps
              << "); give a step within the run, e.g. " << o.steps * 5 / 8
              << ", or 0 to keep the last step's weights\n";
    return 2;
  }
  if (int rc = writeInitialModelIfNeeded(o)) return rc;
  return runEncoderStage(encoderStageOptions(c));
}
