// Layers as an open set: every layer reports its config, MakeLayer rebuilds it, and a layer a
// program registers is saved and restored by checkpoints through its name and parameter
// names, like the built-ins.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fanin/checkpoint.h"
#include "fanin/fanin.h"
#include "tests/expect_error.h"
#include "tests/model_checks.h"
#include "tests/test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::ErrorOf;

TEST(LayerRegistryTest, EveryBuiltInRoundTripsThroughItsConfig) {
  const std::vector<std::shared_ptr<Layer>> layers = {
      std::make_shared<Dense>(7, "elu(0.5)", "he_uniform", "constant(0.1)"),
      std::make_shared<Dense>(3), std::make_shared<ActivationLayer>("leaky_relu"),
      std::make_shared<ActivationLayer>("tanh")};
  for (const auto& layer : layers) {
    const Config c = Config::FromJson(layer->config().ToJson());
    const std::unique_ptr<Layer> back = MakeLayer(c);
    EXPECT_EQ(back->config(), layer->config()) << c.ToJson();
    EXPECT_EQ(back->Describe(), layer->Describe());
  }
  EXPECT_EQ(Dense(100, "tanh").config().ToJson(),
            R"({"type":"dense","units":100,"activation":"tanh",)"
            R"("kernel_initializer":"glorot_uniform","bias_initializer":"zeros"})");
  EXPECT_CONTAINS(ErrorOf([] { MakeLayer(Config("dence")); }),
                  "unknown layer \"dence\"; did you mean \"dense\"?");
  EXPECT_CONTAINS(ErrorOf([] { MakeLayer(Config("dense").Set("units", 0.0)); }),
                  "Dense: units must be >= 1, got 0");
  EXPECT_CONTAINS(ErrorOf([] { MakeLayer(Config("activation").Set("activation", "softmx")); }),
                  "unknown activation 'softmx'");
}

// A program's own layer: here a Dense under another name, which delegates everything but its
// config; the point is that nothing in fanin knows its class.
class MyDense final : public Layer {
 public:
  explicit MyDense(int64_t units) : inner_(units, "tanh") {}
  std::string Describe() const override { return "MyDense(" + inner_.Describe() + ")"; }
  Config config() const override {
    return Config("test_my_dense").Set("units", static_cast<double>(inner_.output_features()));
  }
  int64_t Build(std::shared_ptr<Backend> backend, int64_t in) override {
    return inner_.Build(std::move(backend), in);
  }
  std::vector<ParameterSpec> Parameters() const override { return inner_.Parameters(); }
  void BindParameters(std::span<const Tensor> v, std::span<const Tensor> g) override {
    inner_.BindParameters(v, g);
  }
  const Tensor& Forward(const Tensor& x) override { return inner_.Forward(x); }
  Tensor* Backward(Tensor& dy, bool need) override { return inner_.Backward(dy, need); }
  LayerTensors tensors() const override { return inner_.tensors(); }
  int64_t output_features() const override { return inner_.output_features(); }

 private:
  Dense inner_;
};

TEST(LayerRegistryTest, ARegisteredLayerIsSavedAndResumedByName) {
  RegisterLayer("test_my_dense", [](const Config& c) {
    c.CheckKeys({"units"});
    return std::make_unique<MyDense>(c.GetInteger("units", 1));
  });
  EXPECT_CONTAINS(ErrorOf([] {
                    RegisterLayer("test_my_dense",
                                  [](const Config&) { return std::make_unique<MyDense>(1); });
                  }),
                  "layer \"test_my_dense\" is already registered");
  const auto build = [] {
    Sequential m(Cpu());
    m.Add(MyDense(6));
    m.Add(Dense(1));
    m.Compile(BinaryCrossEntropy(), Adam{.learning_rate = 0.01f});
    m.Build(4, 5);
    return m;
  };
  testing::ExpectResumesExactly(build, Ball(4, 64, 0.5, 2), Cpu(),
                                [](Sequential& first, Sequential& resumed) {
                                  EXPECT_EQ(resumed.layer(0).Describe(), first.layer(0).Describe());
                                });
}

}  // namespace
}  // namespace fanin
