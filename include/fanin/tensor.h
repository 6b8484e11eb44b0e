// A float32 N-d tensor: contiguous, row-major, its storage owned by a Backend.
//
// A Tensor is a cheap handle (shared ownership of the storage, like a shared_ptr): copying
// a Tensor copies the handle, not the data. Views (Rows, View) share storage with their
// parent. data() is a device pointer when the backend is not the host; use ToHost() and
// CopyFromHost() to move values across.
//
// A default-constructed Tensor is undefined: no backend, no storage, rank 0, size 0 and
// rows 0 (a defined rank-0 tensor is a scalar of size 1). Reading it is harmless (ToHost
// returns no values, To returns another undefined tensor, CopyFromHost accepts no values);
// what needs storage or a backend (backend(), Rows, View, Reshape, CopyFromHost of values)
// throws std::logic_error.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace fanin {

class Backend;

using Shape = std::vector<int64_t>;

// "[1000 x 10]"-style rendering used in every shape error message.
std::string ShapeToString(const Shape& shape);
// The most elements a tensor can have: its size in bytes must fit in an int64_t, so that no
// backend's byte count or pointer offset wraps.
inline constexpr int64_t kMaxTensorSize = std::numeric_limits<int64_t>::max() / sizeof(float);
// Product of the dimensions. Throws std::invalid_argument naming the shape on a negative
// dimension, std::length_error naming the shape when the product exceeds kMaxTensorSize.
int64_t ShapeSize(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Uninitialized storage for `shape` on `backend`.
  Tensor(std::shared_ptr<Backend> backend, Shape shape);
  // A tensor on `backend` holding a copy of `values` (whose size must match `shape`).
  static Tensor FromHost(std::shared_ptr<Backend> backend, Shape shape,
                         std::span<const float> values);

  bool defined() const { return backend_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(static_cast<size_t>(i)); }
  int64_t size() const { return size_; }
  // For a matrix view of an N-d tensor: rows = dim(0), cols = size / rows; a scalar is one
  // row, an undefined tensor has none.
  int64_t rows() const { return shape_.empty() ? size_ : shape_[0]; }
  int64_t cols() const { return rows() != 0 ? size() / rows() : ColsOfNoRows(); }

  float* data() const { return data_; }
  // Throws std::logic_error on an undefined tensor.
  Backend& backend() const;
  const std::shared_ptr<Backend>& backend_ptr() const { return backend_; }

  // All values, in row-major order (none for an undefined tensor).
  std::vector<float> ToHost() const;
  // Throws std::invalid_argument unless `values` holds exactly size() values.
  void CopyFromHost(std::span<const float> values);
  // Copies this tensor's values into `dst`, of the same size, on any backend.
  void CopyTo(Tensor& dst) const;
  // A copy of this tensor on `backend` (a handle to this one if it is already there, or if
  // this one is undefined).
  Tensor To(const std::shared_ptr<Backend>& backend) const;

  // Rows [begin, end) of dimension 0, sharing storage.
  Tensor Rows(int64_t begin, int64_t end) const;
  // `shape` elements starting `offset` elements into this tensor's storage.
  Tensor View(int64_t offset, Shape shape) const;
  // Same storage, another shape of the same size.
  Tensor Reshape(Shape shape) const;

 private:
  Tensor(std::shared_ptr<Backend> backend, std::shared_ptr<float> storage, float* data, Shape shape,
         int64_t size);
  // cols() of a tensor with no rows: the product of the other dimensions (a [0 x 33] batch
  // still has 33 columns, which a bias of 33 values must match), 0 when undefined.
  int64_t ColsOfNoRows() const;
  // Throws std::logic_error naming `operation` when this tensor is undefined.
  void RequireDefined(const char* operation) const;

  std::shared_ptr<Backend> backend_;
  std::shared_ptr<float> storage_;
  float* data_ = nullptr;
  Shape shape_;
  int64_t size_ = 0;  // ShapeSize(shape_), checked once at construction
};

}  // namespace fanin
