#include "src/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "src/file_type.h"

namespace fanin::safetensors {
namespace {

using nlohmann::json;

// The format is little-endian; so are the machines fanin runs on (x86-64, AArch64), which
// lets values be copied as bytes.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr const char* kDigestsKey = "tensor_digests";
constexpr std::string_view kDigestPrefix = "fnv1a64:";
constexpr uint64_t kF32Bytes = sizeof(float);

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325u;
  for (const char byte : bytes) {
    hash ^= static_cast<unsigned char>(byte);
    hash *= 0x100000001b3u;
  }
  return hash;
}

std::string DigestText(std::string_view bytes) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(Fnv1a64(bytes)));
  return std::string(kDigestPrefix) + hex;
}

std::string_view ValueBytes(const std::vector<float>& values) {
  return {reinterpret_cast<const char*>(values.data()), values.size() * kF32Bytes};
}

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
    if (const auto digests = contents.metadata.find(kDigestsKey);
        digests != contents.metadata.end()) {
      CheckDigests(digests->second, entries);
      contents.metadata.erase(digests);
    }
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

  // Every tensor's bytes against its entry in the metadata "tensor_digests" (`text`),
  // which must list exactly the file's tensors.
  void CheckDigests(const std::string& text, const std::vector<Entry>& entries) const {
    const std::string where = std::string("metadata \"") + kDigestsKey + "\"";
    json digests;
    try {
      digests = json::parse(text);
    } catch (const json::exception& e) {
      Fail(where + " is not valid JSON: " + e.what());
    }
    if (!digests.is_object()) Fail(where + " is not a JSON object");
    for (const auto& item : digests.items()) {
      const std::string& name = item.key();
      if (std::none_of(entries.begin(), entries.end(),
                       [&](const Entry& e) { return e.name == name; })) {
        Fail(where + " has a digest for \"" + name + "\", which is no tensor of the file");
      }
    }
    for (const Entry& e : entries) {
      const auto it = digests.find(e.name);
      if (it == digests.end()) Fail("tensor \"" + e.name + "\" has no digest in " + where);
      const std::string computed = DigestText(buffer_.substr(e.begin, e.end - e.begin));
      if (!it->is_string() || it->get<std::string>().size() != computed.size() ||
          !it->get<std::string>().starts_with(kDigestPrefix)) {
        Fail("tensor \"" + e.name + "\": digest " + it->dump() + " in " + where +
             " is not \"fnv1a64:\" and 16 hex digits");
      }
      if (it->get<std::string>() != computed) {
        Fail("tensor \"" + e.name + "\": its bytes do not match their digest (" +
             it->get<std::string>() + " stored, " + computed + " computed); the file is corrupt");
      }
    }
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
  if (contents.metadata.contains(kDigestsKey)) {
    throw std::invalid_argument(std::string("safetensors: metadata key \"") + kDigestsKey +
                                "\" is reserved for the tensors' digests");
  }
  json digests = json::object();
  for (const NamedTensor& t : contents.tensors) digests[t.name] = DigestText(ValueBytes(t.values));
  json metadata = contents.metadata;
  metadata[kDigestsKey] = digests.dump();
  header[std::string(kMetadataKey)] = metadata;
  std::string text = header.dump();
  // Spaces up to a multiple of 8 bytes align the data for readers that map the file, as
  // Hugging Face's own writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_size = text.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &header_size, 8);
  out.reserve(8 + text.size() + offset);
  out += text;
  for (const NamedTensor& t : contents.tensors) out += ValueBytes(t.values);
  return out;
}

Contents Parse(std::string_view bytes, const std::string& source) {
  return Parser(bytes, source).Run();
}

Contents Read(const std::string& path) {
  // O_NONBLOCK, so that opening a FIFO does not wait for a writer; the type is then checked
  // on the open file, leaving no window for the path to be swapped after the check.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  const auto fail = [&](const std::string& what) {
    ::close(fd);
    throw std::runtime_error(path + ": " + what);
  };
  struct stat info {};
  if (::fstat(fd, &info) != 0) fail(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) {
    fail(std::string("is ") + internal::FileTypeName(info.st_mode) +
         ", not a regular file; a checkpoint is read from a regular file only");
  }
  std::string bytes(static_cast<size_t>(info.st_size), '\0');
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(std::string("read failed: ") + std::strerror(errno));
    if (n == 0)
      fail("the file shrank from " + std::to_string(bytes.size()) + " to " + std::to_string(done) +
           " bytes while being read");
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return Parse(bytes, path);
}

}  // namespace fanin::safetensors
