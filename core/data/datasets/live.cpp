// LIVE IQA release 2 (Sheikh et al. 2006) as shipped: <root>/{jp2k,jpeg,wn,gblur,
// fastfading}/info.txt (one "reference distorted parameter" line per image, e.g.
// "coinsinfountain.bmp img1.bmp 0.3"), the images beside each info.txt, references in
// <root>/refimgs/. Its DMOS ships only as dmos.mat; convert it once to <root>/dmos.txt,
// one "dmos orgs" line per image in the .mat's order (docs/datasets.md has the
// one-liner). That order is jp2k img1..img227, jpeg img1..233, wn, gblur and fastfading
// img1..174 each (982 rows). Rows with orgs = 1 are the reference itself (DMOS 0): they
// are left out, as the dataset's authors do, and the count is noted. DMOS: lower is better.
#include <array>
#include <cstdio>

#include "core/data/datasets/readers.h"
#include "core/data/datasets/table.h"

namespace dqa::data::datasets {
namespace {

struct LiveFolder {
  const char* name;
  int count;  // images in dmos.mat's order
};
constexpr std::array<LiveFolder, 5> kLiveFolders{
    {{"jp2k", 227}, {"jpeg", 233}, {"wn", 174}, {"gblur", 174}, {"fastfading", 174}}};
constexpr int kLiveRows = 982;

struct LiveScores {
  std::vector<double> dmos;
  std::vector<bool> reference;  // orgs
};

Result<LiveScores> readLiveDmos(const std::string& path) {
  auto lines = readLines(path);
  if (!lines) return lines.error();
  LiveScores s;
  for (const Line& l : lines.value()) {
    const auto f = splitWhitespace(l.text);
    if (f.size() != 2)
      return at(path, l.number, "expected \"dmos orgs\", found " + std::to_string(f.size()) + " fields");
    auto dmos = parseNumber(f[0], path, l.number, "the DMOS");
    auto orgs = parseNumber(f[1], path, l.number, "the orgs flag");
    if (auto e = firstError(dmos, orgs)) return *e;
    s.dmos.push_back(*dmos);
    s.reference.push_back(*orgs != 0);
  }
  if (s.dmos.size() != size_t(kLiveRows))
    return makeError(path + ": " + std::to_string(s.dmos.size()) + " rows; LIVE release 2's dmos.mat has " +
                     std::to_string(kLiveRows) + " (convert it as docs/datasets.md shows)");
  return s;
}

}  // namespace

Result<Dataset> readLive(const std::string& root, const ReadOptions& options) {
  auto scores = readLiveDmos(joinPath(root, "dmos.txt"));
  if (!scores) return scores.error();
  auto refs = FolderIndex::open(joinPath(root, "refimgs"));
  if (!refs) return refs.error();
  Dataset d;
  d.scoreName = "DMOS";
  d.higherIsBetter = false;
  d.scaleLow = 0;
  d.scaleHigh = 100;
  int offset = 0, referenceCopies = 0;
  for (const LiveFolder& folder : kLiveFolders) {
    const std::string dir = joinPath(root, folder.name), index = joinPath(dir, "info.txt");
    auto lines = readLines(index);
    if (!lines) return lines.error();
    for (const Line& l : lines.value()) {
      const auto f = splitWhitespace(l.text);
      int number = 0;
      if (f.size() < 2 || std::sscanf(f[1].c_str(), "img%d", &number) != 1)
        return at(index, l.number, "expected \"reference.bmp imgN.bmp parameter\"");
      if (number < 1 || number > folder.count)
        return at(index, l.number, f[1] + " is outside " + folder.name + "'s img1..img" + std::to_string(folder.count));
      const size_t row = size_t(offset + number - 1);
      if (scores->reference[row]) {
        ++referenceCopies;
        continue;
      }
      IqaRecord r;
      r.image = joinPath(dir, f[1].find('.') == std::string::npos ? f[1] + ".bmp" : f[1]);
      r.reference = refs->find(f[0]);
      if (r.reference.empty()) r.reference = joinPath(refs->directory(), f[0]);
      r.score = scores->dmos[row];
      r.distortion = folder.name;
      r.referenceId = stem(f[0]);
      r.source = index + ":" + std::to_string(l.number);
      if (auto s = addRecord(d, std::move(r), options); !s) return s.error();
    }
    offset += folder.count;
  }
  d.notes.push_back(std::to_string(referenceCopies) + " rows whose image is its reference (orgs = 1) left out");
  return d;
}

}  // namespace dqa::data::datasets
