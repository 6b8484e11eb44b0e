#include "src/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace fanin::safetensors {
namespace {

using nlohmann::json;

// The format is little-endian; so are the machines fanin runs on (x86-64, AArch64), which
// lets values be copied as bytes.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr uint64_t kF32Bytes = sizeof(float);

std::string ShapeText(const json& shape) { return shape.dump(); }

// One tensor's header entry, validated against everything but its neighbours.
struct Entry {
  std::string name;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

class Parser {
 public:
  Parser(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  Contents Run() {
    if (bytes_.size() < 8) {
      Fail("the file has " + std::to_string(bytes_.size()) +
           " bytes, fewer than the 8 of the header length");
    }
    uint64_t header_size = 0;
    std::memcpy(&header_size, bytes_.data(), 8);
    const uint64_t after = bytes_.size() - 8;
    if (header_size > after) {
      Fail("the header length " + std::to_string(header_size) + " exceeds the " +
           std::to_string(after) + " bytes that follow it (truncated file?)");
    }
    const std::string_view header = bytes_.substr(8, header_size);
    buffer_ = bytes_.substr(8 + header_size);
    json root;
    try {
      root = json::parse(header.begin(), header.end());
    } catch (const json::exception& e) {  // a parse_error, or out_of_range for 1e400
      Fail(std::string("the header is not valid JSON: ") + e.what());
    }
    if (!root.is_object()) Fail("the header is JSON but not an object");

    Contents contents;
    std::vector<Entry> entries;
    for (const auto& [key, value] : root.items()) {
      if (key == kMetadataKey) {
        contents.metadata = ParseMetadata(value);
      } else {
        entries.push_back(ParseEntry(key, value));
      }
    }
    CheckTiling(entries);
    for (const Entry& e : entries) {
      NamedTensor t{e.name, e.shape, std::vector<float>((e.end - e.begin) / kF32Bytes)};
      if (!t.values.empty())
        std::memcpy(t.values.data(), buffer_.data() + e.begin, e.end - e.begin);
      contents.tensors.push_back(std::move(t));
    }
    return contents;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error(source_ + ": not a valid safetensors file: " + what);
  }

  std::map<std::string, std::string> ParseMetadata(const json& value) const {
    if (!value.is_object()) Fail("\"__metadata__\" is not a JSON object");
    std::map<std::string, std::string> metadata;
    for (const auto& [key, item] : value.items()) {
      if (!item.is_string()) Fail("metadata \"" + key + "\" is not a string");
      metadata.emplace(key, item.get<std::string>());
    }
    return metadata;
  }

  // A non-negative integer that fits an int64 (shapes and offsets); fails otherwise.
  uint64_t Unsigned(const json& value, const std::string& what) const {
    if (!value.is_number_unsigned()) Fail(what + " is " + value.dump() + ", not an integer >= 0");
    const uint64_t n = value.get<uint64_t>();
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Fail(what + " " + std::to_string(n) + " is too large");
    }
    return n;
  }

  Entry ParseEntry(const std::string& name, const json& value) const {
    const std::string where = "tensor \"" + name + "\"";
    if (!value.is_object()) Fail(where + " is not described by a JSON object");
    for (const auto& [field, ignored] : value.items()) {
      if (field != "dtype" && field != "shape" && field != "data_offsets") {
        Fail(where + " has an unknown field \"" + field + "\"");
      }
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!value.contains(field)) Fail(where + " has no \"" + field + "\"");
    }
    const json& dtype = value["dtype"];
    if (!dtype.is_string()) Fail(where + ": dtype " + dtype.dump() + " is not a string");
    if (dtype.get<std::string>() != "F32") {
      Fail(where + ": dtype " + dtype.dump() + " is not supported; fanin reads F32 only");
    }
    const json& shape = value["shape"];
    if (!shape.is_array()) Fail(where + ": shape " + shape.dump() + " is not an array");
    Entry entry{name, {}, 0, 0};
    uint64_t count = 1;
    for (const json& dim : shape) {
      const uint64_t d = Unsigned(dim, where + ": a dimension of shape " + ShapeText(shape));
      // Overflow here would let a huge shape pass the byte-count check below.
      if (d != 0 && count > std::numeric_limits<uint64_t>::max() / kF32Bytes / d) {
        Fail(where + ": shape " + ShapeText(shape) + " has more elements than a file can hold");
      }
      count *= d;
      entry.shape.push_back(static_cast<int64_t>(d));
    }
    const json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) {
      Fail(where + ": data_offsets " + offsets.dump() + " is not a pair [begin, end]");
    }
    entry.begin = Unsigned(offsets[0], where + ": data_offsets begin");
    entry.end = Unsigned(offsets[1], where + ": data_offsets end");
    const std::string range = "data_offsets " + offsets.dump();
    if (entry.begin > entry.end) Fail(where + ": " + range + " end before they begin");
    if (entry.end > buffer_.size()) {
      Fail(where + ": " + range + " reach beyond the " + std::to_string(buffer_.size()) +
           "-byte data buffer (truncated file?)");
    }
    if (entry.end - entry.begin != count * kF32Bytes) {
      Fail(where + ": shape " + ShapeText(shape) + " needs " + std::to_string(count * kF32Bytes) +
           " bytes of F32, but " + range + " hold " + std::to_string(entry.end - entry.begin));
    }
    return entry;
  }

  // The tensors must tile the buffer exactly, as the format requires: a gap or an overlap
  // means the header and the data disagree.
  void CheckTiling(std::vector<Entry>& entries) const {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t covered = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
      if (e.begin < covered) {
        Fail("tensors \"" + previous->name + "\" and \"" + e.name + "\" overlap (bytes " +
             std::to_string(e.begin) + " to " + std::to_string(std::min(covered, e.end)) + ")");
      }
      if (e.begin > covered) {
        Fail(std::to_string(e.begin - covered) + " bytes before tensor \"" + e.name +
             "\" belong to no tensor");
      }
      covered = e.end;
      previous = &e;
    }
    if (covered != buffer_.size()) {
      Fail(std::to_string(buffer_.size() - covered) + " bytes at the end of the data buffer " +
           "belong to no tensor");
    }
  }

  std::string_view bytes_;
  const std::string& source_;
  std::string_view buffer_;
};

}  // namespace

std::string Serialize(const Contents& contents) {
  json header = json::object();
  uint64_t offset = 0;
  for (const NamedTensor& t : contents.tensors) {
    if (t.name == kMetadataKey || header.contains(t.name)) {
      throw std::invalid_argument("safetensors: tensor name \"" + t.name +
                                  "\" is reserved or used twice");
    }
    if (static_cast<int64_t>(t.values.size()) != ShapeSize(t.shape)) {
      throw std::invalid_argument("safetensors: tensor \"" + t.name + "\" has " +
                                  std::to_string(t.values.size()) + " values for shape " +
                                  ShapeToString(t.shape));
    }
    const uint64_t bytes = t.values.size() * kF32Bytes;
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!contents.metadata.empty()) header[std::string(kMetadataKey)] = contents.metadata;
  std::string text = header.dump();
  // Spaces up to a multiple of 8 bytes align the data for readers that map the file, as
  // Hugging Face's own writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_size = text.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &header_size, 8);
  out.reserve(8 + text.size() + offset);
  out += text;
  for (const NamedTensor& t : contents.tensors) {
    out.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * kF32Bytes);
  }
  return out;
}

Contents Parse(std::string_view bytes, const std::string& source) {
  return Parser(bytes, source).Run();
}

Contents Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error(path + ": read failed");
  return Parse(bytes, path);
}

}  // namespace fanin::safetensors
