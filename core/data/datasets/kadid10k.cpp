// KADID-10k (Lin, Hosu, Saupe 2019) as shipped: <root>/dmos.csv with the header
// dist_img,ref_img,dmos,var and the images (distorted and reference) in <root>/images/.
// Despite its name the dmos column is a mean opinion score, 1 (very annoying) ..
// 5 (imperceptible): higher is better. Names are I<ref>_<type>_<level>.png.
#include <cstdio>

#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"
#include "core/data/kadid.h"

namespace dqa::data::datasets {

Result<Dataset> readKadid10k(const std::string& root, const ReadOptions& options) {
  const std::string index = joinPath(root, "dmos.csv");
  auto csv = readCsv(index, {"dist_img", "ref_img", "dmos"});
  if (!csv) return csv.error();
  Dataset d;
  d.scoreName = "MOS";
  d.higherIsBetter = true;
  d.scaleLow = 1;
  d.scaleHigh = 5;
  const std::string images = joinPath(root, "images");
  const int cImage = csv->header.find("dist_img"), cRef = csv->header.find("ref_img"),
            cScore = csv->header.find("dmos");
  for (const CsvRow& row : csv->rows) {
    auto name = csv->field(row, cImage);
    auto ref = csv->field(row, cRef);
    auto scoreText = csv->field(row, cScore);
    if (auto e = firstError(name, ref, scoreText)) return *e;
    auto score = parseNumber(*scoreText, index, row.line, "the score");
    if (!score) return score.error();
    IqaRecord r;
    r.image = joinPath(images, *name);
    r.reference = joinPath(images, *ref);
    r.score = *score;
    r.referenceId = stem(*ref);
    r.source = index + ":" + std::to_string(row.line);
    int refNo = 0, type = 0, level = 0;
    if (std::sscanf(name->c_str(), "I%d_%d_%d", &refNo, &type, &level) == 3 && type >= 1 && type <= kNumTypes) {
      r.distortion = typeInfo(type).name;
      r.level = level;
    }
    if (auto s = addRecord(d, std::move(r), options); !s) return s.error();
  }
  return d;
}

}  // namespace dqa::data::datasets
