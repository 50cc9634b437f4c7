// The checks of HEIF derived images (heif_canvas.h): a small, bounds-checked reader of
// the ISO base media file format boxes that say which items are grids, identities or
// overlays (iinf), where their data lies (iloc, idat), which declared size (ispe) each
// has (ipco, ipma) and which items each is built from (iref 'dimg').
// ISO/IEC 14496-12 (boxes, iloc) and ISO/IEC 23008-12 (items, grid, iovl, ispe).
#include "core/image/heif_canvas.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "core/image/hevc_size.h"
#include "core/image/load_error.h"

namespace dqa::image {
namespace {

struct Box {
  std::uint32_t type = 0;
  std::size_t body = 0;  // first byte after the header
  std::size_t end = 0;   // one past the last byte
};

constexpr std::uint32_t fourcc(const char (&c)[5]) {
  return std::uint32_t(std::uint8_t(c[0])) << 24 | std::uint32_t(std::uint8_t(c[1])) << 16 |
         std::uint32_t(std::uint8_t(c[2])) << 8 | std::uint8_t(c[3]);
}

std::string typeName(std::uint32_t type) {
  std::string name;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = char(type >> shift & 0xff);
    name += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return name;
}

// The boxes in [begin, end), in order. Stops at the first header that does not fit: what
// follows a broken box cannot be located. Inside the meta box (where `damage` is given)
// that is damage: libheif reads such a box anyway (fuzz_image_decode: a 'dimg' box
// declaring 242 bytes inside a 26-byte 'iref' still took effect), so what it reads
// there would go unchecked.
std::vector<Box> children(const Bytes& b, std::size_t begin, std::size_t end, std::uint32_t parent = 0,
                          std::string* damage = nullptr) {
  std::vector<Box> boxes;
  std::size_t at = begin;
  while (at < end && end - at >= 8) {
    std::uint64_t size = b.be32(at);
    std::size_t header = 8;
    if (size == 1) {
      if (end - at < 16) break;
      size = b.be64(at + 8);
      header = 16;
    } else if (size == 0) {
      size = end - at;  // to the end of the enclosing box
    }
    if (size < header || size > end - at) break;
    boxes.push_back({b.be32(at + 4), at + header, at + std::size_t(size)});
    at += std::size_t(size);
  }
  if (damage && damage->empty() && at != end)
    *damage = "a box inside its '" + typeName(parent) + "' box runs past the end of it";
  return boxes;
}

// Reads big-endian fields of 0, 2, 4 or 8 bytes in sequence, remembering whether any lay
// outside [.., end).
struct Reader {
  const Bytes& b;
  std::size_t at;
  std::size_t end;
  bool ok = true;

  std::uint64_t field(unsigned bytes) {
    if (bytes == 0) return 0;
    if (at > end || end - at < bytes) {
      ok = false;
      return 0;
    }
    const std::uint64_t v = bytes == 1 ? b.u8(at) : bytes == 2 ? b.be16(at) : bytes == 4 ? b.be32(at) : b.be64(at);
    at += bytes;
    return v;
  }
};

struct Extent {
  std::uint64_t offset = 0, length = 0;
};

struct Location {
  unsigned constructionMethod = 0;  // 0: file offsets, 1: inside idat, 2: another item
  std::vector<Extent> extents;
};

struct Size {
  std::uint64_t width = 0, height = 0;
};

struct Items {
  std::map<std::uint32_t, std::uint32_t> type;                 // item id -> item type (iinf/infe)
  std::map<std::uint32_t, Location> location;                  // item id -> where its data lies (iloc)
  std::map<std::uint32_t, Size> declared;                      // item id -> its ispe (ipco + ipma)
  std::map<std::uint32_t, Size> coded;                         // item id -> its hvcC's SPS size
  std::map<std::uint32_t, std::vector<std::uint32_t>> inputs;  // item id -> its 'dimg' inputs (iref)
  Box idat;
  bool hasIdat = false;
  std::string damage;  // the first structural damage found inside meta, if any
};

void readItemTypes(const Bytes& b, const Box& iinf, Items& items) {
  const unsigned version = b.u8(iinf.body);
  const std::size_t first = iinf.body + 4 + (version == 0 ? 2 : 4);
  for (const Box& infe : children(b, first, iinf.end, fourcc("iinf"), &items.damage)) {
    if (infe.type != fourcc("infe")) continue;
    const unsigned v = b.u8(infe.body);
    if (v < 2) continue;  // versions 0 and 1 describe files, not images
    Reader r{b, infe.body + 4, infe.end};
    const auto id = std::uint32_t(r.field(v == 2 ? 2 : 4));
    r.field(2);  // item_protection_index
    const auto type = std::uint32_t(r.field(4));
    if (r.ok) items.type[id] = type;
  }
}

void readLocations(const Bytes& b, const Box& iloc, Items& items) {
  const unsigned version = b.u8(iloc.body);
  if (version > 2) return;
  Reader r{b, iloc.body + 4, iloc.end};
  const auto sizes = unsigned(r.field(2));
  const unsigned offsetSize = sizes >> 12 & 15, lengthSize = sizes >> 8 & 15, baseOffsetSize = sizes >> 4 & 15;
  const unsigned indexSize = version == 0 ? 0 : sizes & 15;
  for (unsigned s : {offsetSize, lengthSize, baseOffsetSize, indexSize})
    if (s != 0 && s != 4 && s != 8) return;
  const std::uint64_t count = r.field(version < 2 ? 2 : 4);
  for (std::uint64_t i = 0; i < count && r.ok; ++i) {
    const auto id = std::uint32_t(r.field(version < 2 ? 2 : 4));
    Location location;
    if (version > 0) location.constructionMethod = unsigned(r.field(2) & 15);
    r.field(2);  // data_reference_index
    const std::uint64_t base = r.field(baseOffsetSize);
    const std::uint64_t extents = r.field(2);
    for (std::uint64_t e = 0; e < extents && r.ok; ++e) {
      r.field(indexSize);
      const std::uint64_t offset = r.field(offsetSize);
      const std::uint64_t length = r.field(lengthSize);
      if (offset > UINT64_MAX - base) return;
      location.extents.push_back({base + offset, length});
    }
    if (r.ok) items.location[id] = location;
  }
}

// The sizes a property states: declared (ispe) or coded (an HEVC configuration's SPS).
struct SizeProperty {
  std::optional<Size> declared, coded;
};

void readDeclaredSizes(const Bytes& b, const Box& iprp, Items& items) {
  std::vector<SizeProperty> properties;  // ipco's boxes in order; ipma counts from 1
  std::vector<Box> associations;         // the ipma boxes, read once all of ipco is known
  for (const Box& box : children(b, iprp.body, iprp.end, fourcc("iprp"), &items.damage)) {
    if (box.type == fourcc("ipma")) associations.push_back(box);
    if (box.type != fourcc("ipco")) continue;
    for (const Box& property : children(b, box.body, box.end, fourcc("ipco"), &items.damage)) {
      SizeProperty size;
      if (property.type == fourcc("ispe") && b.has(property.body, 12) && property.end - property.body >= 12)
        size.declared = Size{b.be32(property.body + 4), b.be32(property.body + 8)};
      if (property.type == fourcc("hvcC"))
        if (const auto coded = hevcCodedSize(b, property.body, property.end))
          size.coded = Size{coded->width, coded->height};
      properties.push_back(size);
    }
  }
  for (const Box& ipma : associations) {
    const unsigned version = b.u8(ipma.body);
    const bool wideIndex = (b.u8(ipma.body + 3) & 1) != 0;
    Reader r{b, ipma.body + 4, ipma.end};
    const std::uint64_t count = r.field(4);
    for (std::uint64_t i = 0; i < count && r.ok; ++i) {
      const auto id = std::uint32_t(r.field(version < 1 ? 2 : 4));
      const std::uint64_t associations = r.field(1);
      for (std::uint64_t a = 0; a < associations && r.ok; ++a) {
        const std::uint64_t index = wideIndex ? r.field(2) & 0x7fff : r.field(1) & 0x7f;
        if (!r.ok || index < 1 || index > properties.size()) continue;
        if (properties[index - 1].declared) items.declared[id] = *properties[index - 1].declared;
        if (properties[index - 1].coded) items.coded[id] = *properties[index - 1].coded;
      }
    }
  }
}

void readDerivations(const Bytes& b, const Box& iref, Items& items) {
  const unsigned idSize = b.u8(iref.body) == 0 ? 2 : 4;
  for (const Box& reference : children(b, iref.body + 4, iref.end, fourcc("iref"), &items.damage)) {
    if (reference.type != fourcc("dimg")) continue;
    Reader r{b, reference.body, reference.end};
    const auto from = std::uint32_t(r.field(idSize));
    const std::uint64_t count = r.field(2);
    for (std::uint64_t i = 0; i < count && r.ok; ++i) {
      const auto to = std::uint32_t(r.field(idSize));
      if (r.ok) items.inputs[from].push_back(to);
    }
    if (!r.ok && items.damage.empty()) items.damage = "a 'dimg' reference list runs past the end of its box";
  }
}

// An item that is its own input, directly or through other derived items: libheif 1.15
// follows such a loop (fuzz_image_decode: a grid listing itself as its tile took 14 s and
// 3 GB before failing). Depth-first search, iterative, over the 'dimg' references.
std::optional<std::uint32_t> itemInALoop(const Items& items) {
  enum class Mark { Unseen, Open, Done };
  std::map<std::uint32_t, Mark> mark;
  for (const auto& [start, unused] : items.inputs) {
    if (mark[start] != Mark::Unseen) continue;
    std::vector<std::pair<std::uint32_t, std::size_t>> path{{start, 0}};  // item, next input
    mark[start] = Mark::Open;
    while (!path.empty()) {
      auto& [item, next] = path.back();
      const auto found = items.inputs.find(item);
      if (found == items.inputs.end() || next >= found->second.size()) {
        mark[item] = Mark::Done;
        path.pop_back();
        continue;
      }
      const std::uint32_t input = found->second[next++];
      if (mark[input] == Mark::Open) return input;
      if (mark[input] == Mark::Unseen) {
        mark[input] = Mark::Open;
        path.emplace_back(input, 0);
      }
    }
  }
  return std::nullopt;
}

Items readItems(const Bytes& b) {
  Items items;
  for (const Box& top : children(b, 0, b.size())) {
    if (top.type != fourcc("meta")) continue;
    for (const Box& box : children(b, top.body + 4, top.end, fourcc("meta"), &items.damage)) {  // a full box
      if (box.type == fourcc("iinf")) readItemTypes(b, box, items);
      if (box.type == fourcc("iloc")) readLocations(b, box, items);
      if (box.type == fourcc("iprp")) readDeclaredSizes(b, box, items);
      if (box.type == fourcc("iref")) readDerivations(b, box, items);
      if (box.type == fourcc("idat")) {
        items.idat = box;
        items.hasIdat = true;
      }
    }
    break;  // libheif reads the first meta box only
  }
  return items;
}

// The first `want` bytes of an item's data (its extents joined), or fewer where the data
// is shorter or lies outside the file.
std::string itemData(const Bytes& b, const Items& items, const Location& location, std::size_t want) {
  std::string data;
  for (const Extent& e : location.extents) {
    std::uint64_t start = e.offset, length = e.length;
    std::size_t limit = b.size();
    if (location.constructionMethod == 1) {
      if (!items.hasIdat || e.offset > items.idat.end - items.idat.body) break;
      start = items.idat.body + e.offset;
      limit = items.idat.end;
    } else if (location.constructionMethod != 0) {
      break;
    }
    if (start >= limit) break;
    // Length 0 means "to the end" (of the file, or of idat).
    const std::uint64_t available = limit - start;
    const std::uint64_t n = std::min<std::uint64_t>({length == 0 ? available : length, available, want - data.size()});
    data.append(reinterpret_cast<const char*>(b.data() + start), std::size_t(n));
    if (data.size() >= want) break;
  }
  return data;
}

// A grid's or an overlay's canvas (output_width, output_height): 16-bit fields, or 32-bit
// where bit 0 of the flags byte is set; an overlay first gives four 16-bit fill values.
std::optional<Size> canvas(std::uint32_t type, const std::string& data) {
  const Bytes d(data);
  if (d.size() < 2) return std::nullopt;
  const unsigned field = (d.u8(1) & 1) ? 4 : 2;
  const std::size_t at = type == fourcc("grid") ? 4 : 10;
  if (!d.has(at, 2 * field)) return std::nullopt;
  if (field == 2) return Size{d.be16(at), d.be16(at + 2)};
  return Size{d.be32(at), d.be32(at + 4)};
}

bool isDerived(std::uint32_t type) {
  return type == fourcc("grid") || type == fourcc("iden") || type == fourcc("iovl");
}

// The item types libheif 1.15 makes images of. A derived image whose input is anything
// else (or no item at all) trips an assertion inside it (`imginfo`, heif_context.cc):
// the whole program aborts.
bool libheifImageType(std::uint32_t type) {
  return isDerived(type) || type == fourcc("hvc1") || type == fourcc("av01") || type == fourcc("vvc1");
}

std::string dims(const Size& s) { return std::to_string(s.width) + "x" + std::to_string(s.height); }

// An HEVC image whose SPS codes more than its declared size (beyond the padding to whole
// coding blocks) or than the pixel limit: libheif's decoder would allocate that first.
std::optional<std::string> codedSizeProblem(const Items& items, long long maxPixels) {
  constexpr std::uint64_t kPadding = 64;  // the largest HEVC coding tree block
  for (const auto& [id, coded] : items.coded) {
    const std::string what = "its HEVC image data is coded at " + dims(coded) + " pixels";
    if (coded.width == 0 || coded.height == 0) return what + ": the file is damaged";
    const auto declared = items.declared.find(id);
    if (declared != items.declared.end() &&
        (coded.width > declared->second.width + kPadding || coded.height > declared->second.height + kPadding))
      return what + ", not the " + dims(declared->second) + " its header declares: the file is damaged";
    if (coded.width > std::uint64_t(maxPixels) / coded.height)
      return what + ", more than the limit of " + megapixels(double(maxPixels)) +
             " megapixels that guards against decompression bombs";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> heifCanvasProblem(const Bytes& file, long long maxPixels) {
  const Items items = readItems(file);
  if (!items.damage.empty()) return "its HEIF box structure is damaged (" + items.damage + ")";
  if (const auto item = itemInALoop(items))
    return "its derived image " + std::to_string(*item) +
           " is built from itself (directly or through other images): the file is damaged";
  for (const auto& [id, inputs] : items.inputs) {
    const auto type = items.type.find(id);
    if (type == items.type.end() || !isDerived(type->second)) continue;
    for (const std::uint32_t input : inputs) {
      const auto inputType = items.type.find(input);
      if (inputType == items.type.end())
        return "its derived image " + std::to_string(id) + " is built from item " + std::to_string(input) +
               ", which the file does not have: the file is damaged";
      if (!libheifImageType(inputType->second))
        return "its derived image " + std::to_string(id) + " is built from item " + std::to_string(input) +
               " of type '" + typeName(inputType->second) + "', which is not an image libheif decodes";
    }
  }
  if (const auto problem = codedSizeProblem(items, maxPixels)) return problem;
  for (const auto& [id, type] : items.type) {
    if (type != fourcc("grid") && type != fourcc("iovl")) continue;
    const auto location = items.location.find(id);
    if (location == items.location.end()) continue;  // libheif refuses an item without data
    const std::optional<Size> size = canvas(type, itemData(file, items, location->second, 18));
    if (!size) continue;  // too short: libheif refuses it
    const std::string what = std::string("its ") + (type == fourcc("grid") ? "grid" : "overlay") +
                             " image asks for a " + dims(*size) + "-pixel canvas";
    const auto declared = items.declared.find(id);
    if (declared != items.declared.end() &&
        (declared->second.width != size->width || declared->second.height != size->height))
      return what + ", not the " + dims(declared->second) + " its header declares: the file is damaged";
    // Without a declared size the canvas still has to pass the size guard by itself.
    if (size->width == 0 || size->height == 0 || size->width > std::uint64_t(maxPixels) / size->height)
      return what + ", more than the limit of " + megapixels(double(maxPixels)) +
             " megapixels that guards against decompression bombs";
  }
  return std::nullopt;
}

}  // namespace dqa::image
