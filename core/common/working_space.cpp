#include "core/common/working_space.h"

#include <array>
#include <cctype>

namespace dqa {
namespace {

constexpr std::array<WorkingSpace, 3> kAll{WorkingSpace::Srgb, WorkingSpace::DisplayP3, WorkingSpace::AdobeRgb};

// Letters and digits only, lower case: "Adobe RGB (1998)" -> "adobergb1998".
std::string folded(const std::string& text) {
  std::string out;
  for (unsigned char c : text)
    if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
  return out;
}

}  // namespace

std::string workingSpaceName(WorkingSpace space) {
  switch (space) {
    case WorkingSpace::DisplayP3:
      return "Display P3";
    case WorkingSpace::AdobeRgb:
      return "Adobe RGB (1998)";
    case WorkingSpace::Srgb:
      break;
  }
  return "sRGB";
}

Result<WorkingSpace> parseWorkingSpace(const std::string& name) {
  const std::string key = folded(name);
  if (key == "adobergb") return WorkingSpace::AdobeRgb;
  for (WorkingSpace space : kAll)
    if (folded(workingSpaceName(space)) == key) return space;
  std::string accepted;
  for (WorkingSpace space : kAll) accepted += (accepted.empty() ? "\"" : ", \"") + workingSpaceName(space) + "\"";
  return makeError("working_colour_space \"" + name + "\" is not a colour space this program converts images to (" +
                   accepted + "); name one of these, or leave the key out for sRGB");
}

}  // namespace dqa
