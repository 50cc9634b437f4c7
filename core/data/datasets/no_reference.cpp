// The no-reference datasets that ship one CSV of image names and MOS: KonIQ-10k and SPAQ.
//  - KonIQ-10k (Hosu et al. 2020) as shipped: <root>/koniq10k_scores_and_distributions.csv
//    (quoted header "image_name","c1",...,"MOS","SD","MOS_zscore") and the images in
//    <root>/1024x768/. MOS 1..5, higher is better.
//  - SPAQ (Fang et al. 2020). Its scores ship as "MOS and Image attribute scores.xlsx"
//    (Image name, MOS, Brightness, Colorfulness, Contrast, Noisiness, Sharpness); export
//    it once to <root>/"MOS and Image attribute scores.csv" (docs/datasets.md has the
//    one-liner). Images in <root>/TestImage/. MOS 0..100, higher is better.
#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"

namespace dqa::data::datasets {
namespace {

struct MosCsvLayout {
  const char* index;        // the CSV under the root
  const char* imageColumn;  // its column of image names
  const char* imageFolder;  // where those images are, under the root
  double scaleLow, scaleHigh;
};

Result<Dataset> readMosCsv(const std::string& root, const MosCsvLayout& layout, const ReadOptions& options) {
  const std::string index = joinPath(root, layout.index);
  auto csv = readCsv(index, {layout.imageColumn, "MOS"});
  if (!csv) return csv.error();
  Dataset d;
  d.scoreName = "MOS";
  d.higherIsBetter = true;
  d.scaleLow = layout.scaleLow;
  d.scaleHigh = layout.scaleHigh;
  const std::string images = joinPath(root, layout.imageFolder);
  const int cImage = csv->header.find(layout.imageColumn), cScore = csv->header.find("MOS");
  for (const CsvRow& row : csv->rows) {
    auto name = csv->field(row, cImage);
    auto scoreText = csv->field(row, cScore);
    if (auto e = firstError(name, scoreText)) return *e;
    auto score = parseNumber(*scoreText, index, row.line, "the MOS");
    if (!score) return score.error();
    IqaRecord r;
    r.image = joinPath(images, *name);
    r.score = *score;
    r.referenceId = stem(*name);  // no references: each image is its own group
    r.source = index + ":" + std::to_string(row.line);
    if (auto s = addRecord(d, std::move(r), options); !s) return s.error();
  }
  return d;
}

}  // namespace

Result<Dataset> readKoniq10k(const std::string& root, const ReadOptions& options) {
  return readMosCsv(root, {"koniq10k_scores_and_distributions.csv", "image_name", "1024x768", 1, 5}, options);
}

Result<Dataset> readSpaq(const std::string& root, const ReadOptions& options) {
  return readMosCsv(root, {"MOS and Image attribute scores.csv", "Image name", "TestImage", 0, 100}, options);
}

}  // namespace dqa::data::datasets
