// Tests of the Tensor handle's edges: shapes whose element count overflows, layers whose
// parameter count overflows, and the undefined (default-constructed) tensor.

#include "fanin/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "expect_error.h"
#include "fanin/fanin.h"
#include "test_util.h"

namespace fanin {
namespace {

using testing::ExpectThrowsWith;

// ---- Sizes that overflow ------------------------------------------------------------------------

TEST(TensorSizeTest, ShapeWhoseProductWrapsIsRefusedNamingTheShape) {
  // 2^33 * 2^31 = 2^64 wraps to 0 in int64 arithmetic.
  ExpectThrowsWith<std::length_error>(
      [] {
        (void)Tensor(HostBackend(), {int64_t{1} << 33, int64_t{1} << 31});
      },
      {"[8589934592 x 2147483648]", "the most a tensor can hold"});
  ExpectThrowsWith<std::length_error>(
      [] {
        ShapeSize({int64_t{1} << 40, int64_t{1} << 40, 2});
      },
      {"[1099511627776 x"});
}

TEST(TensorSizeTest, CountWhoseBytesWrapIsRefused) {
  // 2^62 elements fit in int64, but 2^62 * 4 bytes do not.
  ExpectThrowsWith<std::length_error>([] { ShapeSize({int64_t{1} << 62}); },
                                      {"[4611686018427387904]"});
  EXPECT_EQ(ShapeSize({kMaxTensorSize}), kMaxTensorSize);
}

TEST(TensorSizeTest, ZeroDimensionMakesAnEmptyShapeWhateverTheOthers) {
  EXPECT_EQ(ShapeSize({int64_t{1} << 62, int64_t{1} << 62, 0}), 0);
  EXPECT_EQ(Tensor(HostBackend(), {0, 5}).size(), 0);
  ExpectThrowsWith<std::invalid_argument>([] { ShapeSize({3, -1}); }, {"[3 x -1]"});
}

TEST(TensorSizeTest, ViewsAndReshapesCheckTheirShapes) {
  const Tensor t(HostBackend(), {4, 3});
  ExpectThrowsWith<std::length_error>(
      [&] {
        t.View(0, {int64_t{1} << 33, int64_t{1} << 31});
      },
      {"[8589934592 x 2147483648]"});
  ExpectThrowsWith<std::length_error>(
      [&] {
        t.Reshape({int64_t{1} << 33, int64_t{1} << 31});
      },
      {"[8589934592 x 2147483648]"});
  // An offset so large that offset + size wraps negative must not pass the bounds check.
  ExpectThrowsWith<std::out_of_range>([&] { t.View(std::numeric_limits<int64_t>::max() - 1, {2}); },
                                      {"exceeds", "[4 x 3]"});
  EXPECT_EQ(t.View(10, {2}).size(), 2);
  EXPECT_EQ(t.Rows(1, 3).size(), 6);
}

TEST(TensorSizeTest, DenseWhoseParameterCountOverflowsIsRefusedNamingTheLayer) {
  // 2^62 inputs x 4 units = 2^64 kernel values: the count wrapped to 4 parameters before.
  Sequential model(testing::Cpu());
  model.Add(Dense(4));
  ExpectThrowsWith<std::length_error>([&] { model.Build(int64_t{1} << 62); },
                                      {"Dense(4, linear", "4611686018427387904 input features"});
  // The largest width that still fits passes the check (and then fails to allocate).
  Dense dense(2);
  EXPECT_THROW(dense.Build(testing::Cpu(), kMaxTensorSize / 2), std::length_error);
  EXPECT_EQ(dense.Build(testing::Cpu(), kMaxTensorSize / 2 - 1), 2);
}

// Each layer fits, their sum does not: the model names the layer that crossed the limit.
TEST(TensorSizeTest, ModelWhoseTotalParameterCountOverflowsNamesTheLayer) {
  Sequential model(testing::Cpu());
  // kMaxTensorSize = 2^61 - 1; layer 0 takes 2^61 - 34 + 2 values and its alignment gaps
  // leave the buffer at 2^61 - 16 floats, where layer 1's kernel no longer fits.
  model.Add(Dense(2));
  model.Add(Dense(1));
  ExpectThrowsWith<std::length_error>([&] { model.Build(kMaxTensorSize / 2 - 16); },
                                      {"layer 1", "Dense(1"});
}

// ---- The undefined tensor -----------------------------------------------------------------------

TEST(UndefinedTensorTest, IsEmptyAndReadsAsNothing) {
  const Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_EQ(t.size(), 0);
  EXPECT_EQ(t.rank(), 0);
  EXPECT_EQ(t.rows(), 0);
  EXPECT_EQ(t.cols(), 0);
  EXPECT_TRUE(t.ToHost().empty());
  EXPECT_FALSE(t.To(HostBackend()).defined());
  Tensor target;
  t.CopyTo(target);
  Tensor empty(HostBackend(), {0});
  t.CopyTo(empty);
}

TEST(UndefinedTensorTest, WritingOrViewingItThrows) {
  Tensor t;
  t.CopyFromHost({});  // nothing to write is fine
  const std::vector<float> values = {1.0f};
  ExpectThrowsWith<std::logic_error>([&] { t.CopyFromHost(values); },
                                     {"CopyFromHost", "undefined"});
  ExpectThrowsWith<std::logic_error>([&] { t.backend(); }, {"backend", "undefined"});
  ExpectThrowsWith<std::logic_error>([&] { t.View(0, {0}); }, {"View", "undefined"});
  ExpectThrowsWith<std::logic_error>([&] { t.Reshape({0}); }, {"Reshape", "undefined"});
  ExpectThrowsWith<std::logic_error>([&] { t.Rows(0, 0); }, {"Rows", "undefined"});
  Tensor one(HostBackend(), {1});
  ExpectThrowsWith<std::invalid_argument>([&] { t.CopyTo(one); }, {"differ in size"});
}

TEST(UndefinedTensorTest, ModelBuffersBeforeBuildReadAsEmpty) {
  Sequential model(testing::Cpu());
  model.Add(Dense(3));
  EXPECT_TRUE(model.parameters().ToHost().empty());
  EXPECT_TRUE(model.gradients().ToHost().empty());
  EXPECT_EQ(model.parameters().size(), 0);
}

TEST(UndefinedTensorTest, ScalarIsOneValueNotUndefined) {
  const Tensor scalar = Tensor::FromHost(HostBackend(), {}, std::vector<float>{2.5f});
  EXPECT_TRUE(scalar.defined());
  EXPECT_EQ(scalar.size(), 1);
  EXPECT_EQ(scalar.rows(), 1);
  EXPECT_EQ(scalar.ToHost(), std::vector<float>{2.5f});
}

}  // namespace
}  // namespace fanin
