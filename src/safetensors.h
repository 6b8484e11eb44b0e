// The safetensors format (https://huggingface.co/docs/safetensors), F32 tensors only:
//   8 bytes   N, the header length, a little-endian u64
//   N bytes   UTF-8 JSON: {"name": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]},
//             ..., "__metadata__": {"key": "value", ...}}
//   the rest  the tensors' bytes, little-endian; offsets are relative to the buffer's start
//             and the tensors tile it exactly (no gap, no overlap, nothing after).
// Integrity: Serialize adds the metadata key "tensor_digests", a JSON object (as a string,
// since metadata values are strings) mapping each tensor's name to "fnv1a64:" and the
// 16 lowercase hex digits of the 64-bit FNV-1a hash (offset basis 0xcbf29ce484222325, prime
// 0x100000001b3) of its data bytes. FNV-1a changes its state bijectively at every byte, so
// any change confined to one byte (every single bit flip) is detected; other corruption
// passes with probability about 2^-64. Other readers ignore the key; files without it
// (older fanin versions, other writers) are read without the check.
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
  // Without "tensor_digests", which Serialize adds and Parse checks and removes.
  std::map<std::string, std::string> metadata;
};

// The file's bytes, digests included. Throws std::invalid_argument for a tensor whose
// values disagree with its shape, a duplicate or reserved ("__metadata__") name, or the
// reserved metadata key "tensor_digests".
std::string Serialize(const Contents& contents);

// Parses a file's bytes, trusting nothing: any way the bytes can disagree with the format
// (a header length beyond the data, JSON that does not parse or has the wrong structure, an
// unsupported dtype, a negative or overflowing shape, offsets out of bounds, overlapping,
// leaving gaps, or disagreeing with the shape) or a tensor's bytes with its digest throws
// std::runtime_error that starts with `source` (the file name) and says what is wrong.
// Never reads outside `bytes`.
Contents Parse(std::string_view bytes, const std::string& source);

// Reads and parses the file at `path`, which must be a regular file (a directory, FIFO or
// device is refused without reading from it, so /dev/zero or a FIFO cannot make it read
// without end or wait); reads exactly the file's size, so memory is bounded by it. Throws
// std::runtime_error naming `path`.
Contents Read(const std::string& path);

}  // namespace fanin::safetensors
