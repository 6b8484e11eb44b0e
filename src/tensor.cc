#include "fanin/tensor.h"

#include <sstream>
#include <stdexcept>

#include "fanin/backend.h"

namespace fanin {

std::string ShapeToString(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? " x " : "") << shape[i];
  out << ']';
  return out.str();
}

int64_t ShapeSize(const Shape& shape) {
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + ShapeToString(shape));
    if (d == 0) return 0;  // whatever the other dimensions, so no product below can wrap
  }
  int64_t size = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(size, d, &size) || size > kMaxTensorSize) {
      throw std::length_error("shape " + ShapeToString(shape) + " has more than " +
                              std::to_string(kMaxTensorSize) +
                              " elements, the most a tensor can hold");
    }
  }
  return size;
}

int64_t Tensor::ColsOfNoRows() const {
  if (shape_.size() < 2) return shape_.empty() ? 0 : 1;
  int64_t cols = 1;
  for (size_t i = 1; i < shape_.size(); ++i) {
    // Saturates: no tensor can have that many columns, and none of them is stored.
    if (__builtin_mul_overflow(cols, shape_[i], &cols)) return kMaxTensorSize;
  }
  return cols;
}

Tensor::Tensor(std::shared_ptr<Backend> backend, Shape shape)
    : backend_(std::move(backend)), shape_(std::move(shape)) {
  if (!backend_) throw std::invalid_argument("Tensor: null backend");
  size_ = ShapeSize(shape_);
  storage_ = backend_->Allocate(size_);
  data_ = storage_.get();
}

Tensor::Tensor(std::shared_ptr<Backend> backend, std::shared_ptr<float> storage, float* data,
               Shape shape, int64_t size)
    : backend_(std::move(backend)),
      storage_(std::move(storage)),
      data_(data),
      shape_(std::move(shape)),
      size_(size) {}

void Tensor::RequireDefined(const char* operation) const {
  if (!defined()) {
    throw std::logic_error(std::string("Tensor::") + operation +
                           " of an undefined (default-constructed) tensor");
  }
}

Backend& Tensor::backend() const {
  RequireDefined("backend");
  return *backend_;
}

Tensor Tensor::FromHost(std::shared_ptr<Backend> backend, Shape shape,
                        std::span<const float> values) {
  Tensor t(std::move(backend), std::move(shape));
  t.CopyFromHost(values);
  return t;
}

std::vector<float> Tensor::ToHost() const {
  std::vector<float> values(static_cast<size_t>(size()));
  if (!values.empty()) backend_->CopyToHost(data_, values.data(), size());
  return values;
}

void Tensor::CopyFromHost(std::span<const float> values) {
  if (!values.empty()) RequireDefined("CopyFromHost");
  if (static_cast<int64_t>(values.size()) != size()) {
    throw std::invalid_argument("Tensor::CopyFromHost: " + std::to_string(values.size()) +
                                " values for a tensor of shape " + ShapeToString(shape_));
  }
  if (!values.empty()) backend_->CopyFromHost(values.data(), data_, size());
}

void Tensor::CopyTo(Tensor& dst) const {
  if (dst.size() != size()) {
    throw std::invalid_argument("Tensor::CopyTo: source " + ShapeToString(shape_) +
                                " and destination " + ShapeToString(dst.shape_) +
                                " differ in size");
  }
  if (size() == 0) return;
  if (dst.backend_ == backend_) {
    backend_->CopyOnDevice(data_, dst.data_, size());
  } else if (backend_->name() == "cpu") {
    dst.backend_->CopyFromHost(data_, dst.data_, size());
  } else if (dst.backend_->name() == "cpu") {
    backend_->CopyToHost(data_, dst.data_, size());
  } else {
    dst.CopyFromHost(ToHost());
  }
}

Tensor Tensor::To(const std::shared_ptr<Backend>& backend) const {
  if (backend.get() == backend_.get() || !defined()) return *this;
  Tensor copy(backend, shape_);
  CopyTo(copy);
  return copy;
}

Tensor Tensor::Rows(int64_t begin, int64_t end) const {
  RequireDefined("Rows");
  if (shape_.empty() || begin < 0 || end < begin || end > shape_[0]) {
    throw std::out_of_range("Tensor::Rows(" + std::to_string(begin) + ", " + std::to_string(end) +
                            ") of a tensor of shape " + ShapeToString(shape_));
  }
  Shape shape = shape_;
  shape[0] = end - begin;
  const int64_t size = (end - begin) * cols();
  return Tensor(backend_, storage_, data_ + begin * cols(), std::move(shape), size);
}

Tensor Tensor::View(int64_t offset, Shape shape) const {
  RequireDefined("View");
  const int64_t view_size = ShapeSize(shape);
  // Compared without adding offset and view_size, which can wrap.
  if (offset < 0 || view_size > size() || offset > size() - view_size) {
    throw std::out_of_range("Tensor::View: " + ShapeToString(shape) + " at offset " +
                            std::to_string(offset) + " exceeds a tensor of shape " +
                            ShapeToString(shape_));
  }
  return Tensor(backend_, storage_, data_ + offset, std::move(shape), view_size);
}

Tensor Tensor::Reshape(Shape shape) const {
  RequireDefined("Reshape");
  if (ShapeSize(shape) != size()) {
    throw std::invalid_argument("Tensor::Reshape: " + ShapeToString(shape_) + " to " +
                                ShapeToString(shape) + " changes the size");
  }
  return Tensor(backend_, storage_, data_, std::move(shape), size_);
}

}  // namespace fanin
