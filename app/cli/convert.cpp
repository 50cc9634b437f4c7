#include "convert.h"

#include <cstdio>
#include <iostream>

namespace dqa::cli {

int runConvert(const convert::ConvertOptions& options, bool quiet) {
  auto report = convert::convertDepictQA(options, [quiet](const std::string& line) {
    if (!quiet) std::cerr << line << std::endl;
  });
  if (!report) {
    std::cerr << "depictqa convert: " << report.message() << "\n";
    return 1;
  }
  const auto& r = report.value();
  std::cout << "mapped:\n";
  for (const auto& line : r.mapped) std::cout << "  " << line << "\n";
  if (!r.ignored.empty()) {
    std::cout << "ignored:\n";
    for (const auto& line : r.ignored) std::cout << "  " << line << "\n";
  }
  char size[32];
  if (r.bytesWritten >= (1ull << 30))
    std::snprintf(size, sizeof(size), "%.2f GB", double(r.bytesWritten) / double(1ull << 30));
  else
    std::snprintf(size, sizeof(size), "%.1f MB", double(r.bytesWritten) / double(1ull << 20));
  std::cout << "vision: CLIP ViT width " << r.visionWidth << ", " << r.visionLayers << " layers, " << r.visionHeads
            << " heads, patch " << r.patchSize << ", " << r.imageSize << " px (quick_gelu; last layer, CLS dropped)\n"
            << "LLM: LLaMA width " << r.textHidden << ", " << r.textLayers << " layers, vocabulary " << r.vocabSize
            << "\n";
  if (r.loraModules > 0)
    std::cout << "LoRA: rank " << r.loraRank << ", alpha " << r.loraAlpha << " (scaling " << r.loraAlpha / r.loraRank
              << ") on " << r.loraModules << " modules, " << (r.loraMerged ? "merged into the weights" : "in adapter/")
              << "\n";
  else
    std::cout << "LoRA: none in the delta checkpoint\n";
  std::cout << "wrote " << r.outputDirectory << ": " << r.tensorsWritten << " tensors, " << size << "\n"
            << "use it with: depictqa --model " << r.outputDirectory << " ...\n";
  return 0;
}

}  // namespace dqa::cli
