#pragma once
// Where one image's visual tokens sit in the decoder's input sequence. Fusion lays the
// sequence out; generation and the attention maps the window draws read it. Torch-free:
// the UI includes it through core/generate/types.h.
#include <cstdint>

#include "core/text/prompt.h"

namespace dqa::model {

struct ImageSpan {
  text::ImageRole role = text::ImageRole::Single;
  int64_t start = 0;   // first position in the sequence
  int64_t length = 0;  // gridHeight * gridWidth (CLS dropped) or +1 (CLS kept)
  int gridHeight = 0;
  int gridWidth = 0;
  bool hasClassToken = false;  // then the first of `length` tokens is CLS
};

}  // namespace dqa::model
