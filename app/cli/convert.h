#pragma once
// depictqa convert: the published DepictQA-Wild files (CLIP ViT-L-14.pt, Vicuna-7B,
// DepictQA's ckpt.pt) -> a safetensors model directory, once (core/convert).
#include "core/convert/depictqa_convert.h"

namespace dqa::cli {

// Prints progress to stderr (unless quiet) and what was mapped and ignored to stdout.
int runConvert(const convert::ConvertOptions& options, bool quiet);

}  // namespace dqa::cli
