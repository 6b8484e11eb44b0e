// The study programs' shared helpers: their command line (flags refused by name, the
// --help text) and the exact encoding that moves a distributed study's results between ranks.
// The programs themselves are run by tests/study_test.cc.
#include "python-free-examples/study.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fanin {
namespace {

// The message of the invalid_argument that parsing `arguments` throws.
std::string OptionError(std::vector<const char*> arguments, int min_epochs = 0) {
  arguments.insert(arguments.begin(), "study");
  try {
    study::ParseOptions(static_cast<int>(arguments.size()), arguments.data(), {.out = "out"},
                        min_epochs);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(StudyOptionsTest, MalformedAndOutOfRangeValuesAreRefusedNamingTheFlag) {
  const auto expect = [](const std::vector<const char*>& arguments, const std::string& flag,
                         const std::string& cause, int min_epochs = 0) {
    const std::string message = OptionError(arguments, min_epochs);
    EXPECT_NE(message.find(flag), std::string::npos) << message;
    EXPECT_NE(message.find(cause), std::string::npos) << message;
  };
  expect({"--seeds", "abc"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--seeds", "1e3"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--seeds", "0x10"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--seeds", "0"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--seeds", "99999999999"}, "--seeds", "is not a whole number in [1, 1000000]");
  expect({"--epochs", "-1"}, "--epochs", "is not a whole number in [0, 1000000]");
  expect({"--epochs", "0"}, "--epochs", "is not a whole number in [1, 1000000]", /*min_epochs=*/1);
  expect({"--epochs", "2000000"}, "--epochs", "is not a whole number in [0, 1000000]");
  expect({"--device", "tpu"}, "--device", "tpu");
  expect({"--out", ""}, "--out", "must name a directory");
  expect({"--seeds", "2", "--seeds", "3"}, "--seeds", "");
  expect({"--seeds"}, "--seeds", "");
  expect({"--bogus", "1"}, "--bogus", "");
  expect({"stray"}, "stray", "");

  const char* good[] = {"study", "--seeds=3", "--epochs", "7", "--device", "cpu"};
  const study::Options options = study::ParseOptions(6, good, {.out = "out"});
  EXPECT_EQ(options.seeds, 3);
  EXPECT_EQ(options.epochs, 7);
  EXPECT_EQ(options.device, "cpu");
  EXPECT_EQ(options.out, "out");
  EXPECT_FALSE(options.help);
}

TEST(StudyOptionsTest, HelpListsEveryFlagWithItsDefault) {
  const std::string usage =
      study::Usage("init_study", {.out = "out/init_study", .epochs = 150}, /*min_epochs=*/1);
  for (const char* text : {"--seeds", "=30", "--out", "=out/init_study", "--device", "=auto",
                           "--epochs", "=150", "--help"}) {
    EXPECT_NE(usage.find(text), std::string::npos) << text << " in\n" << usage;
  }
}

// What moves a distributed study's results between ranks must keep every bit: NaN, -0, a
// denormal, an absent tensor, a string holding a NUL.
TEST(StudyEncodingTest, RoundTripsEveryBit) {
  TensorStats z{.count = 3,
                .nan_count = 1,
                .mean = -0.0,
                .std = std::numeric_limits<double>::denorm_min(),
                .min = -1.5,
                .max = std::numeric_limits<double>::infinity(),
                .hist_lo = -1.5f,
                .hist_hi = 0.25f,
                .histogram = {1, 0, 2}};
  StepStats step{.context = {.step = 7, .epoch = -1, .batch = 3}};
  step.layers.resize(2);
  step.layers[0].name = std::string(
      "h\0"
      "1",
      3);
  step.layers[0].tensors.push_back({"z", z});
  step.layers[0].grad_ratio = 0.1;
  step.layers[1].name = "act";  // no tensors, grad_ratio NaN
  const EpochLogs logs{.epoch = 2, .loss = 0.3, .metric = 1.0 / 3};
  const std::vector<std::vector<float>> weights = {{1e-40f, -0.0f}, {}};

  study::Encoder encoder;
  encoder.Put(std::vector<StepStats>{step});
  encoder.Put(logs);
  encoder.Put(weights);
  encoder.Put(int64_t{-5});
  study::Decoder decoder(encoder.bytes());
  const auto steps = decoder.Next<std::vector<StepStats>>();
  const auto logs_back = decoder.Next<EpochLogs>();
  const auto weights_back = decoder.Next<std::vector<std::vector<float>>>();
  EXPECT_EQ(decoder.Next<int64_t>(), -5);
  EXPECT_TRUE(decoder.AtEnd());

  const auto bits = [](double v) { return std::bit_cast<uint64_t>(v); };
  ASSERT_EQ(steps.size(), 1u);
  const StepStats& back = steps[0];
  EXPECT_EQ(back.context.step, 7);
  EXPECT_EQ(back.context.epoch, -1);
  EXPECT_EQ(back.context.batch, 3);
  ASSERT_EQ(back.layers.size(), 2u);
  EXPECT_EQ(back.layers[0].name, step.layers[0].name);
  EXPECT_EQ(back.layers[0].grad_ratio, 0.1);
  ASSERT_EQ(back.layers[0].tensors.size(), 1u);
  const TensorStats* z_back = back.layers[0]["z"];
  ASSERT_NE(z_back, nullptr);
  EXPECT_EQ(z_back->count, 3);
  EXPECT_EQ(z_back->nan_count, 1);
  EXPECT_EQ(bits(z_back->mean), bits(-0.0));
  EXPECT_EQ(bits(z_back->std), bits(z.std));
  EXPECT_EQ(z_back->max, z.max);
  EXPECT_EQ(z_back->hist_lo, -1.5f);
  EXPECT_EQ(z_back->hist_hi, 0.25f);
  EXPECT_EQ(z_back->histogram, z.histogram);
  EXPECT_EQ(back.layers[0]["kernel"], nullptr);
  EXPECT_EQ(back.layers[1].name, "act");
  EXPECT_TRUE(std::isnan(back.layers[1].grad_ratio));
  EXPECT_TRUE(back.layers[1].tensors.empty());
  EXPECT_EQ(logs_back.epoch, 2);
  EXPECT_EQ(bits(logs_back.metric), bits(logs.metric));
  EXPECT_TRUE(std::isnan(logs_back.val_loss));
  ASSERT_EQ(weights_back.size(), 2u);
  EXPECT_EQ(std::bit_cast<uint32_t>(weights_back[0][0]), std::bit_cast<uint32_t>(1e-40f));
  EXPECT_EQ(std::bit_cast<uint32_t>(weights_back[0][1]), std::bit_cast<uint32_t>(-0.0f));
  EXPECT_TRUE(weights_back[1].empty());

  // Bytes that end early are an error, not garbage.
  study::Decoder truncated(std::string_view(encoder.bytes()).substr(0, 20));
  EXPECT_THROW(truncated.Next<std::vector<StepStats>>(), std::runtime_error);
}

// A process alone (no launcher) runs every run itself and gets them back in order.
TEST(StudyEncodingTest, RunOverRanksAloneReturnsEveryRunInOrder) {
  const distributed::World world;
  std::vector<int64_t> ran;
  const std::vector<std::string> runs = study::RunOverRanks(world, 4, "test", [&ran](int64_t i) {
    ran.push_back(i);
    return std::string(static_cast<size_t>(i), 'x');
  });
  EXPECT_EQ(ran, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(runs, (std::vector<std::string>{"", "x", "xx", "xxx"}));
}

TEST(StudyStatisticsTest, ProbabilityGreaterCountsTiesHalf) {
  EXPECT_EQ(study::ProbabilityGreater({1, 2}, {0, 0}), 1.0);
  EXPECT_EQ(study::ProbabilityGreater({0}, {1, 2}), 0.0);
  EXPECT_EQ(study::ProbabilityGreater({1, 2}, {1, 2}), 0.5);
  EXPECT_EQ(study::ProbabilityGreater({1, 3}, {2}), 0.5);
}

}  // namespace
}  // namespace fanin
