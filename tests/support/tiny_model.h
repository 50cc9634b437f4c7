#pragma once
// The shape of a quality-encoder model small enough to build, train and run in
// milliseconds (the training and fine-tuning suites).
#include "core/train/model_init.h"

namespace dqa::test {

inline train::ModelShape tinyModelShape(int vocabSize) {
  train::ModelShape shape;
  shape.stageWidths = {8, 8, 8, 8};
  shape.stageBlocks = {1, 1, 1, 1};
  shape.headWidth = 8;
  shape.width = 16;
  shape.layers = 1;
  shape.heads = 2;
  shape.kvHeads = 2;
  shape.mlp = 32;
  shape.vocabSize = vocabSize;
  return shape;
}

}  // namespace dqa::test
