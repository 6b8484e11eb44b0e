// DataParallel under mpirun (any number of ranks, 1 included): N ranks train like one
// process on the same global batches, reruns are bit-identical, and replicas that differ
// are caught. Every rank also trains the one-process reference itself, so each compares
// locally and no collective is needed to check a result.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "fanin/distributed.h"
#include "fanin/fanin.h"

namespace fanin::distributed {
namespace {

const World* g_world = nullptr;

std::shared_ptr<Backend> Cpu() { return MakeBackend("cpu", {.num_threads = 1}); }

Sequential MakeModel(Optimizer optimizer, uint64_t seed) {
  Sequential model(Cpu());
  model.Add(Dense(32, "tanh", "glorot_normal"));
  model.Add(Dense(16, "relu", "he_uniform"));
  model.Add(Dense(1));
  model.Compile(BinaryCrossEntropy{}, optimizer);
  model.Build(10, seed);
  return model;
}

// Global batches of `rows` rows, the same on every rank: x in U(-1, 1), y = [sum(x) > 0].
struct Batch {
  Tensor x, y;
};
std::vector<Batch> MakeBatches(int count, int64_t rows) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<Batch> batches;
  for (int b = 0; b < count; ++b) {
    std::vector<float> x(static_cast<size_t>(rows * 10)), y(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      float sum = 0.0f;
      for (int64_t c = 0; c < 10; ++c) sum += x[static_cast<size_t>(r * 10 + c)] = uniform(gen);
      y[static_cast<size_t>(r)] = sum > 0.0f ? 1.0f : 0.0f;
    }
    batches.push_back({Tensor::FromHost(HostBackend(), {rows, 10}, x),
                       Tensor::FromHost(HostBackend(), {rows, 1}, y)});
  }
  return batches;
}

struct Trained {
  std::vector<double> losses;
  std::vector<float> parameters;
};

// The one-process reference: a step is the gradient of the whole batch, then the update.
Trained TrainAlone(Optimizer optimizer, const std::vector<Batch>& batches) {
  Sequential model = MakeModel(optimizer, 42);
  Trained t;
  for (const Batch& b : batches) {
    t.losses.push_back(model.ComputeGradients(b.x, b.y));
    model.ApplyGradients();
  }
  t.parameters = model.parameters().ToHost();
  return t;
}

Trained TrainDistributed(Optimizer optimizer, const std::vector<Batch>& batches,
                         Reduction reduction) {
  Sequential model = MakeModel(optimizer, 42);
  DataParallel trainer(*g_world, model, {.reduction = reduction, .check_replicas = true});
  Trained t;
  for (const Batch& b : batches) t.losses.push_back(trainer.Step(b.x, b.y));
  t.parameters = model.parameters().ToHost();
  return t;
}

void ExpectClose(const Trained& distributed, const Trained& alone) {
  ASSERT_EQ(distributed.losses.size(), alone.losses.size());
  for (size_t i = 0; i < alone.losses.size(); ++i) {
    EXPECT_NEAR(distributed.losses[i], alone.losses[i], 1e-5 * std::abs(alone.losses[i]))
        << "step " << i;
  }
  ASSERT_EQ(distributed.parameters.size(), alone.parameters.size());
  double worst = 0.0;
  for (size_t i = 0; i < alone.parameters.size(); ++i) {
    worst = std::max(
        worst, std::abs(static_cast<double>(distributed.parameters[i]) - alone.parameters[i]));
  }
  EXPECT_LT(worst, 1e-5) << "largest parameter difference after " << alone.losses.size()
                         << " steps";
}

bool BitIdentical(const Trained& a, const Trained& b) {
  return a.losses == b.losses && a.parameters.size() == b.parameters.size() &&
         std::memcmp(a.parameters.data(), b.parameters.data(),
                     a.parameters.size() * sizeof(float)) == 0;
}

TEST(ShardRows, CoversTheBatchInRankOrder) {
  for (int ranks = 1; ranks <= 5; ++ranks) {
    for (int64_t rows : {0, 1, 4, 37}) {
      int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const auto [begin, end] = DataParallel::ShardRows(rows, r, ranks);
        EXPECT_EQ(begin, next);
        EXPECT_LE(end - begin, rows / ranks + 1);
        EXPECT_GE(end - begin, rows / ranks);
        next = end;
      }
      EXPECT_EQ(next, rows);
    }
  }
  EXPECT_THROW(DataParallel::ShardRows(4, 2, 2), std::invalid_argument);
}

class DataParallelTest : public ::testing::TestWithParam<Reduction> {};

// 37 rows: shards of unequal size whenever there are 2 ranks or more.
TEST_P(DataParallelTest, SgdMatchesOneProcess) {
  const std::vector<Batch> batches = MakeBatches(20, 37);
  const Optimizer sgd = Sgd{.learning_rate = 0.1f, .momentum = 0.9f};
  const Trained alone = TrainAlone(sgd, batches);
  const Trained distributed = TrainDistributed(sgd, batches, GetParam());
  ExpectClose(distributed, alone);
  if (g_world->size() == 1) {
    EXPECT_TRUE(BitIdentical(distributed, alone));
  }
}

TEST_P(DataParallelTest, AdamMatchesOneProcess) {
  const std::vector<Batch> batches = MakeBatches(20, 64);
  const Optimizer adam = Adam{.learning_rate = 0.01f};
  ExpectClose(TrainDistributed(adam, batches, GetParam()), TrainAlone(adam, batches));
}

// A global batch smaller than the job: the ranks without rows still take part.
TEST_P(DataParallelTest, MoreRanksThanRows) {
  const std::vector<Batch> batches = MakeBatches(3, 1);
  const Optimizer sgd = Sgd{.learning_rate = 0.1f};
  ExpectClose(TrainDistributed(sgd, batches, GetParam()), TrainAlone(sgd, batches));
}

TEST_P(DataParallelTest, RerunsAreBitIdentical) {
  const std::vector<Batch> batches = MakeBatches(10, 37);
  const Optimizer sgd = Sgd{.learning_rate = 0.1f, .momentum = 0.9f};
  EXPECT_TRUE(BitIdentical(TrainDistributed(sgd, batches, GetParam()),
                           TrainDistributed(sgd, batches, GetParam())));
}

INSTANTIATE_TEST_SUITE_P(Reductions, DataParallelTest,
                         ::testing::Values(Reduction::kOrdered, Reduction::kAllReduce),
                         [](const auto& info) {
                           return info.param == Reduction::kOrdered ? "Ordered" : "AllReduce";
                         });

TEST(DataParallel, DifferentSeedsAreCaught) {
  if (g_world->size() == 1) {
    GTEST_SKIP() << "needs two ranks";
  }
  Sequential model = MakeModel(Sgd{}, static_cast<uint64_t>(g_world->rank()));
  try {
    DataParallel trainer(*g_world, model);
    ADD_FAILURE() << "replicas built with different seeds were accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("differ from rank 0's"), std::string::npos) << e.what();
  }
}

TEST(DataParallel, BadBatchThrows) {
  Sequential model = MakeModel(Sgd{}, 42);
  DataParallel trainer(*g_world, model);
  const std::vector<Batch> batches = MakeBatches(1, 8);
  EXPECT_THROW(trainer.Step(batches[0].x, batches[0].y.Rows(0, 4)), std::invalid_argument);
}

}  // namespace
}  // namespace fanin::distributed

int main(int argc, char** argv) {
  fanin::distributed::World world(&argc, &argv);
  fanin::distributed::g_world = &world;
  ::testing::InitGoogleTest(&argc, argv);
  return world.Run([] { return RUN_ALL_TESTS(); });
}
