#include "core/eval/kind_breakdown.h"

#include <cstdio>
#include <set>

#include "core/data/kadid.h"

namespace dqa::eval {
namespace {
using nlohmann::json;

std::string kindName(int type) { return type <= 0 ? "undistorted" : data::typeInfo(type).name; }

// "84.1% (328)"; "–" where the rate has no cases.
std::string cell(const Rate& r) {
  if (!r.total) return "–";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f%% (%lld)", 100 * r.value(), static_cast<long long>(r.total));
  return b;
}

}  // namespace

void KindBreakdown::Rates::add(const PairOutcome& o) {
  model.add(o.model);
  if (o.heads) heads.add(*o.heads);
  if (o.classical) classical.add(*o.classical);
}

void KindBreakdown::add(const data::ImageTruth& a, const data::ImageTruth& b, const PairOutcome& outcome) {
  Side& side = outcome.withReference ? fr_ : nr_;
  for (int type : std::set<int>{a.type, b.type}) side.byType[type].add(outcome);
  (a.type == b.type ? side.sameKind : side.differentKinds).add(outcome);
}

json KindBreakdown::toJson() const {
  auto rates = [](const Rates& r) {
    return json{{"model", rateJson(r.model)}, {"heads", rateJson(r.heads)}, {"classical", rateJson(r.classical)}};
  };
  auto side = [&](const Side& s) {
    json out = json::object();
    for (const auto& [type, r] : s.byType) out[kindName(type)] = rates(r);
    out["same_kind"] = rates(s.sameKind);
    out["different_kinds"] = rates(s.differentKinds);
    return out;
  };
  return {{"full_reference", side(fr_)}, {"no_reference", side(nr_)}};
}

std::string KindBreakdown::markdown() const {
  if (fr_.byType.empty() && nr_.byType.empty()) return {};
  std::set<int> types;
  for (const Side* s : {&fr_, &nr_})
    for (const auto& entry : s->byType) types.insert(entry.first);
  std::string md =
      "2AFC by the dominant distortion of either image (a pair counts under each of its two kinds; n in "
      "brackets):\n\n"
      "| kind | FR model | FR heads | FR SSIM | NR model | NR heads | NR BRISQUE |\n"
      "| --- | --- | --- | --- | --- | --- | --- |\n";
  const Rates none;
  auto row = [&](const std::string& name, const Rates& fr, const Rates& nr) {
    md += "| " + name + " | " + cell(fr.model) + " | " + cell(fr.heads) + " | " + cell(fr.classical) + " | " +
          cell(nr.model) + " | " + cell(nr.heads) + " | " + cell(nr.classical) + " |\n";
  };
  auto of = [&](const Side& s, int type) -> const Rates& {
    const auto it = s.byType.find(type);
    return it == s.byType.end() ? none : it->second;
  };
  for (int type : types) row(kindName(type), of(fr_, type), of(nr_, type));
  row("both images the same kind", fr_.sameKind, nr_.sameKind);
  row("different kinds", fr_.differentKinds, nr_.differentKinds);
  return md;
}

}  // namespace dqa::eval
