// depictqa-train: trains a DepictQA model on the data engine's shards.
//   depictqa-train --train data/train --val data/val --tokenizer tok.model --out runs/tiny
// Interrupt and rerun the same command to resume from the last checkpoint.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <fstream>

#include "core/text/prompt.h"
#include "core/train/dataset.h"
#include "core/train/trainer.h"

namespace {

// The text a tokenizer for these shards must cover: every prompt segment exactly as the
// model sees it, and every answer. One line per segment, for spm_train.
int writeCorpus(const std::string& shards, const std::string& path) {
  auto ds = dqa::train::ShardDataset::open(shards);
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a DepictQA model (full from scratch, or projector + LoRA as in the paper)", "depictqa-train"};
  dqa::train::TrainOptions o;
  app.add_option("--train", o.trainDirectory, "Training shards (a split folder written by depictqa-datagen)")->required();
  app.add_option("--val", o.validationDirectory, "Validation shards (photos never seen in training)");
  app.add_option("--tokenizer", o.tokenizerPath, "SentencePiece tokenizer.model");
  app.add_option("--out", o.outputDirectory, "Output folder: model/, checkpoint/, loss.png, log.jsonl");
  app.add_option("--init", o.initFrom, "Start from this model directory (default: a new model)");
  app.add_option("--mode", o.mode, "full | lora")->capture_default_str();
  app.add_option("--steps", o.steps, "Length of the learning-rate schedule")->capture_default_str();
  app.add_option("--stop-at", o.stopAt, "Stop after this many steps (the schedule still spans --steps)");
  app.add_option("--batch", o.batchSize)->capture_default_str();
  app.add_option("--lr", o.learningRate)->capture_default_str();
  app.add_option("--warmup", o.warmupSteps)->capture_default_str();
  app.add_option("--weight-decay", o.weightDecay)->capture_default_str();
  app.add_option("--clip", o.gradientClip)->capture_default_str();
  app.add_option("--aux-weight", o.auxiliaryWeight, "Weight of the encoder's MOS regression loss")->capture_default_str();
  app.add_option("--rank-weight", o.rankingWeight, "Weight of the pairwise ranking loss")->capture_default_str();
  app.add_option("--verdict-weight", o.verdictWeight,
                 "Weight of an extra A-vs-B cross-entropy on the letter of short comparison answers")
      ->capture_default_str();
  app.add_option("--lora-rank", o.loraRank)->capture_default_str();
  app.add_option("--lora-alpha", o.loraAlpha)->capture_default_str();
  bool noBf16 = false, fresh = false;
  app.add_flag("--no-bf16", noBf16, "Train in float32 instead of bf16 autocast");
  app.add_flag("--fresh", fresh, "Ignore an existing checkpoint");
  app.add_option("--threads", o.threads)->capture_default_str();
  app.add_option("--seed", o.seed)->capture_default_str();
  app.add_option("--log-every", o.logEvery)->capture_default_str();
  app.add_option("--eval-every", o.evalEvery)->capture_default_str();
  app.add_option("--eval-examples", o.evalExamples)->capture_default_str();
  app.add_option("--save-every", o.saveEvery)->capture_default_str();
  auto& s = o.shape;
  app.add_option("--vision-width", s.visionWidth)->capture_default_str();
  app.add_option("--vision-layers", s.visionLayers)->capture_default_str();
  app.add_option("--vision-heads", s.visionHeads)->capture_default_str();
  app.add_option("--vision-mlp", s.visionMlp)->capture_default_str();
  app.add_option("--image-size", s.imageSize)->capture_default_str();
  app.add_option("--input-features", s.inputFeatures,
                 "What the encoder sees of a distorted image and its reference: image, difference, "
                 "abs_difference, highpass_magnitude")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--width", s.width)->capture_default_str();
  app.add_option("--layers", s.layers)->capture_default_str();
  app.add_option("--heads", s.heads)->capture_default_str();
  app.add_option("--kv-heads", s.kvHeads)->capture_default_str();
  app.add_option("--mlp", s.mlp)->capture_default_str();
  app.add_option("--context", s.contextLength)->capture_default_str();
  std::string corpus;
  app.add_option("--write-corpus", corpus, "Only write the text corpus of --train to this file (for spm_train) and exit");
  CLI11_PARSE(app, argc, argv);
  if (!corpus.empty()) return writeCorpus(o.trainDirectory, corpus);
  if (o.tokenizerPath.empty() || o.outputDirectory.empty()) {
    std::cerr << "depictqa-train: --tokenizer and --out are required for training\n";
    return 2;
  }
  o.bf16 = !noBf16;
  o.resume = !fresh;

  auto status = dqa::train::train(o, [](const dqa::train::TrainProgress& p) {
    const int width = 30;
    const int filled = p.steps ? width * p.step / p.steps : 0;
    std::string bar(size_t(filled), '#');
    bar.resize(size_t(width), '.');
    const int eta = static_cast<int>(p.etaSeconds);
    std::fprintf(stderr, "\r[%s] %d/%d loss %.3f (lm %.3f, mos %.3f) lr %.2e %.1f samples/s ETA %dh%02dm%02ds ",
                 bar.c_str(), p.step, p.steps, p.loss, p.lmLoss, p.auxLoss, p.learningRate, p.samplesPerSecond,
                 eta / 3600, eta / 60 % 60, eta % 60);
    if (std::getenv("DEPICTQA_TRAIN_TIMING"))
      std::fprintf(stderr, "\n  per step: batch %.0f ms, forward %.0f ms, backward %.0f ms, optimizer %.0f ms; length %.0f\n",
                   p.batchMs, p.forwardMs, p.backwardMs, p.optimizerMs, p.tokensPerSample);
    if (p.evaluated)
      std::fprintf(stderr, "\n  validation: loss %.3f per answer token, brief A/B accuracy %.1f%%, score-head 2AFC %.1f%%\n",
                   p.valLoss, 100 * p.valBriefAccuracy, 100 * p.valRankAccuracy);
    std::fflush(stderr);
  });
  std::fprintf(stderr, "\n");
  if (!status) {
    std::cerr << "depictqa-train: " << status.message() << "\n";
    return 1;
  }
  std::cerr << "depictqa-train: model written to " << o.outputDirectory << "/model\n";
  return 0;
}
