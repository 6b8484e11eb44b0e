// The safetensors format (https://huggingface.co/docs/safetensors), F32 tensors only:
//   8 bytes   N, the header length, a little-endian u64
//   N bytes   UTF-8 JSON: {"name": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]},
//             ..., "__metadata__": {"key": "value", ...}}
//   the rest  the tensors' bytes, little-endian; offsets are relative to the buffer's start
//             and the tensors tile it exactly (no gap, no overlap, nothing after).
// Internal: the checkpoint code and the fuzzer use it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fanin/tensor.h"

namespace fanin::safetensors {

struct NamedTensor {
  std::string name;
  Shape shape;
  std::vector<float> values;  // ShapeSize(shape) values, row-major
};

struct Contents {
  std::vector<NamedTensor> tensors;  // in buffer order
  std::map<std::string, std::string> metadata;
};

// The file's bytes. Throws std::invalid_argument for a tensor whose values disagree with
// its shape, a duplicate or reserved ("__metadata__") name.
std::string Serialize(const Contents& contents);

// Parses a file's bytes, trusting nothing: any way the bytes can disagree with the format
// (a header length beyond the data, JSON that does not parse or has the wrong structure, an
// unsupported dtype, a negative or overflowing shape, offsets out of bounds, overlapping,
// leaving gaps, or disagreeing with the shape) throws std::runtime_error that starts with
// `source` (the file name) and says what is wrong. Never reads outside `bytes`.
Contents Parse(std::string_view bytes, const std::string& source);

// Reads and parses the file at `path`; throws std::runtime_error naming it.
Contents Read(const std::string& path);

}  // namespace fanin::safetensors
