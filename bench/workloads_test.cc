// The benchmark workloads are what WORKLOADS.md specifies: the generators, the weight
// layout, the FLOP counts, and above all the reference losses after 0, 1 and 10 SGD steps,
// which prove the CPU training step computes the same thing as two independent
// implementations before any of its timings mean anything.
#include "bench/workloads.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fanin::bench {
namespace {

std::shared_ptr<Backend> TwoThreadCpu() {
  return MakeBackend("cpu", BackendOptions{.num_threads = 2});
}

TEST(WorkloadsTest, SplitMix64MatchesTheReferenceSequence) {
  // The first outputs of Vigna's splitmix64 seeded with 0 (its state advances by the
  // golden-ratio constant, as SplitMix64(k * 0x9E37...) reproduces).
  EXPECT_EQ(SplitMix64(0), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(SplitMix64(0x9E3779B97F4A7C15ull), 0x6E789E6AA1B965F4ull);
}

TEST(WorkloadsTest, UniformValuesHave24BitsAndSymSpansMinusOneToOne) {
  for (uint64_t i = 0; i < 1000; ++i) {
    const double u = U01(1, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    EXPECT_EQ(u * 0x1p24, std::floor(u * 0x1p24));
    EXPECT_EQ(Sym(1, i), 2.0 * u - 1.0);
    EXPECT_EQ(static_cast<double>(static_cast<float>(Sym(1, i))), Sym(1, i));
  }
}

TEST(WorkloadsTest, LabelsFollowTheSignOfTheFirstTwoFeatures) {
  const std::vector<float> x = Inputs(W1());
  const std::vector<float> y = Labels(x, W1());
  ASSERT_EQ(x.size(), 10000u);
  ASSERT_EQ(y.size(), 1000u);
  int positives = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_EQ(y[i], x[10 * i] * x[10 * i + 1] > 0.0f ? 1.0f : 0.0f);
    positives += y[i] == 1.0f;
  }
  EXPECT_GT(positives, 400);  // XOR-like: about half
  EXPECT_LT(positives, 600);
}

TEST(WorkloadsTest, KernelsAreTheSpecWeightsTransposed) {
  MlpInstance w1 = Instantiate(W1(), TwoThreadCpu());
  // Layer 1 (second Dense, 100 -> 100): kernel[k][o] = sqrt(6/200) * sym(101, o*100 + k).
  const std::vector<float> kernel = w1.model.layer(1).tensors()["kernel"]->ToHost();
  const std::vector<float> bias = w1.model.layer(1).tensors()["bias"]->ToHost();
  for (int64_t k : {0, 3, 99}) {
    for (int64_t o : {0, 7, 99}) {
      const double expected = std::sqrt(6.0 / 200.0) * Sym(101, static_cast<uint64_t>(o * 100 + k));
      EXPECT_EQ(kernel[static_cast<size_t>(k * 100 + o)], static_cast<float>(expected));
    }
  }
  for (float b : bias) EXPECT_EQ(b, 0.0f);
  // The first layer's kernel is [10 x 100]: element [k][o] holds W_0[o][k].
  const std::vector<float> first = w1.model.layer(0).tensors()["kernel"]->ToHost();
  EXPECT_EQ(first[static_cast<size_t>(2 * 100 + 5)],
            static_cast<float>(std::sqrt(6.0 / 110.0) * Sym(100, 5 * 10 + 2)));
}

TEST(WorkloadsTest, FlopCountsMatchTheSpecTable) {
  EXPECT_DOUBLE_EQ(ForwardFlops(W1()), 82.2e6);
  EXPECT_DOUBLE_EQ(StepFlops(W1()), 246.6e6);
  EXPECT_NEAR(ForwardFlops(W2()), 6981.4e6, 0.05e6);
  double exact_w1 = 0.0, exact_w2 = 0.0;
  for (const GemmShape& g : StepGemms(W1())) exact_w1 += g.flops();
  for (const GemmShape& g : StepGemms(W2())) exact_w2 += g.flops();
  EXPECT_DOUBLE_EQ(exact_w1, 244.6e6);
  EXPECT_NEAR(exact_w2, 20407.4e6, 0.05e6);
  // Forward, then per layer from the top dW and (but for layer 0) dx.
  EXPECT_EQ(StepGemms(W1()).size(), 6u + 6u + 5u);
}

// Mean BCE after 0, 1 and 10 SGD steps against WORKLOADS.md's float32 references.
void ExpectReferenceLosses(const MlpWorkload& workload) {
  MlpInstance instance = Instantiate(workload, TwoThreadCpu());
  int steps = 0;
  for (size_t i = 0; i < kReferenceSteps.size(); ++i) {
    for (; steps < kReferenceSteps[i]; ++steps) instance.model.TrainStep(instance.x, instance.y);
    EXPECT_NEAR(MeanLoss(instance), workload.reference_losses[i], 1e-5)
        << workload.name << " after " << steps << " steps";
  }
}

TEST(WorkloadsTest, W1CpuMatchesTheReferenceLosses) { ExpectReferenceLosses(W1()); }
TEST(WorkloadsTest, W2CpuMatchesTheReferenceLosses) { ExpectReferenceLosses(W2()); }

TEST(WorkloadsTest, SquareGemmOperandsAreRowMajorSym) {
  const std::vector<float> a = SquareGemmOperand(256, 11);
  ASSERT_EQ(a.size(), 65536u);
  EXPECT_EQ(a[0], static_cast<float>(Sym(11, 0)));
  EXPECT_EQ(a[65535], static_cast<float>(Sym(11, 65535)));
}

}  // namespace
}  // namespace fanin::bench
