// TID2013 (Ponomarenko et al. 2015) and TID2008 (2009) as shipped: <root>/mos_with_names.txt
// with one "MOS name" pair a line, <root>/distorted_images/ and <root>/reference_images/.
// MOS 0..9, higher is better. Names are i<ref>_<type>_<level>.bmp, but the case differs
// between the list and the disk (the list's i25_... against I25.BMP, i01_01_1.bmp against
// reference I01.BMP), so files are looked up without regard to case.
#include <cstdio>

#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"

namespace dqa::data::datasets {
namespace {

// TID2013's 24 types; TID2008 has the first 17.
const char* const kTidTypes[24] = {"additive Gaussian noise",
                                   "noise in colour components",
                                   "spatially correlated noise",
                                   "masked noise",
                                   "high-frequency noise",
                                   "impulse noise",
                                   "quantisation noise",
                                   "Gaussian blur",
                                   "image denoising",
                                   "JPEG compression",
                                   "JPEG2000 compression",
                                   "JPEG transmission errors",
                                   "JPEG2000 transmission errors",
                                   "non-eccentricity pattern noise",
                                   "local block-wise distortions",
                                   "mean shift",
                                   "contrast change",
                                   "change of colour saturation",
                                   "multiplicative Gaussian noise",
                                   "comfort noise",
                                   "lossy compression of noisy images",
                                   "colour quantisation with dither",
                                   "chromatic aberrations",
                                   "sparse sampling and reconstruction"};

}  // namespace

Result<Dataset> readTid(const std::string& root, int version, const ReadOptions& options) {
  const std::string index = joinPath(root, "mos_with_names.txt");
  auto lines = readLines(index);
  if (!lines) return lines.error();
  auto distorted = FolderIndex::open(joinPath(root, "distorted_images"));
  if (!distorted) return distorted.error();
  auto references = FolderIndex::open(joinPath(root, "reference_images"));
  if (!references) return references.error();
  Dataset d;
  d.scoreName = "MOS";
  d.higherIsBetter = true;
  d.scaleLow = 0;
  d.scaleHigh = 9;
  const int types = version == 2008 ? 17 : 24;
  for (const Line& l : lines.value()) {
    const auto f = splitWhitespace(l.text);
    if (f.size() != 2)
      return at(index, l.number, "expected \"MOS name\", found " + std::to_string(f.size()) + " fields");
    auto score = parseNumber(f[0], index, l.number, "the MOS");
    if (!score) return score.error();
    int refNo = 0, type = 0, level = 0;
    if (std::sscanf(f[1].c_str(), "%*[iI]%d_%d_%d", &refNo, &type, &level) != 3 || type < 1 || type > types)
      return at(index, l.number,
                "\"" + f[1] + "\" is not a TID" + std::to_string(version) + " name (i<ref>_<type>_<level>.bmp)");
    char refName[16];
    std::snprintf(refName, sizeof refName, "i%02d.bmp", refNo);
    IqaRecord r;
    r.image = distorted->find(f[1]);
    if (r.image.empty()) r.image = joinPath(distorted->directory(), f[1]);  // reported missing below
    r.reference = references->find(refName);
    if (r.reference.empty()) r.reference = joinPath(references->directory(), refName);
    r.score = *score;
    r.distortion = kTidTypes[type - 1];
    r.level = level;
    r.referenceId = stem(refName);
    r.source = index + ":" + std::to_string(l.number);
    if (auto s = addRecord(d, std::move(r), options); !s) return s.error();
  }
  return d;
}

}  // namespace dqa::data::datasets
