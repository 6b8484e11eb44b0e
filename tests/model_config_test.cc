// Tests of the model as JSON (Sequential::ConfigJson / FromConfigJson) and of
// LoadCheckpointInto: every layer type round-trips, a JSON written by hand builds the model
// it says, each malformed JSON names its problem, and loading weights into another
// architecture names the first difference and leaves the model as it was.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "expect_error.h"
#include "fanin/fanin.h"
#include "test_util.h"

namespace fanin {
namespace {

namespace fs = std::filesystem;
using testing::Cpu;
using testing::ExpectThrowsWith;

// Every layer type, with settings away from their defaults; the Normalization unfitted.
Sequential EveryLayer(int64_t hidden = 6) {
  Sequential model(Cpu());
  model.Add(Normalization());
  model.Add(Dense(hidden, "elu(0.5)", "he_normal", "constant(0.1)"));
  model.Add(BatchNormalization(BatchNormSpec{.epsilon = 1e-2f, .momentum = 0.9f}));
  model.Add(Dropout(0.25f));
  model.Add(ActivationLayer("tanh"));
  model.Add(Dense(1));
  return model;
}

TEST(ModelConfigTest, EveryLayerTypeRoundTrips) {
  Sequential built = EveryLayer();
  built.Build(4, 3);
  const std::string json = built.ConfigJson();
  const nlohmann::json parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed.at("input_features"), 4);
  ASSERT_EQ(parsed.at("layers").size(), 6u);
  EXPECT_EQ(parsed["layers"][0].at("type"), "normalization");
  EXPECT_EQ(parsed["layers"][1].at("type"), "dense");
  EXPECT_EQ(parsed["layers"][1].at("units"), 6);
  EXPECT_EQ(parsed["layers"][2].at("type"), "batch_normalization");
  EXPECT_EQ(parsed["layers"][3].at("type"), "dropout");

  const Sequential again = Sequential::FromConfigJson(json, Cpu());
  EXPECT_EQ(again.ConfigJson(), json);
  ASSERT_EQ(again.num_layers(), built.num_layers());
  for (size_t i = 0; i < built.num_layers(); ++i) {
    EXPECT_EQ(again.layer(i).Describe(), built.layer(i).Describe()) << "layer " << i;
  }
  EXPECT_EQ(again.input_features(), 4);
  EXPECT_EQ(again.parameter_count(), built.parameter_count());

  // Unbuilt: no input_features, and FromConfigJson leaves it unbuilt.
  const Sequential unbuilt = EveryLayer();
  const std::string unbuilt_json = unbuilt.ConfigJson();
  EXPECT_FALSE(nlohmann::json::parse(unbuilt_json).contains("input_features"));
  const Sequential unbuilt_again = Sequential::FromConfigJson(unbuilt_json, Cpu());
  EXPECT_EQ(unbuilt_again.input_features(), 0);
  EXPECT_EQ(unbuilt_again.ConfigJson(), unbuilt_json);
}

TEST(ModelConfigTest, AJsonWrittenByHandBuildsTheModelItSays) {
  // Keys left out take the layer's defaults, as Keras's from_config does.
  const Sequential model = Sequential::FromConfigJson(R"({"input_features": 3, "layers": [
      {"type": "dense", "units": 5, "activation": "relu"},
      {"type": "batch_normalization"},
      {"type": "dense", "units": 2}]})",
                                                      Cpu());
  ASSERT_EQ(model.num_layers(), 3u);
  EXPECT_EQ(model.input_features(), 3);
  EXPECT_EQ(model.layer(0).output_features(), 5);
  EXPECT_EQ(model.layer(2).output_features(), 2);
  // 3*5 + 5, gamma and beta of 5, 5*2 + 2.
  EXPECT_EQ(model.parameter_count(), 20 + 10 + 12);
}

TEST(ModelConfigTest, MalformedJsonNamesTheProblem) {
  const auto from = [](const std::string& json) {
    return [json] { Sequential::FromConfigJson(json, Cpu()); };
  };
  ExpectThrowsWith<std::invalid_argument>(from("{"), {"FromConfigJson", "not valid JSON"});
  ExpectThrowsWith<std::invalid_argument>(from("[1]"), {"not a JSON object"});
  ExpectThrowsWith<std::invalid_argument>(from(R"({"layers": [], "name": "m"})"),
                                          {"unknown field \"name\"", "input_features, layers"});
  ExpectThrowsWith<std::invalid_argument>(from(R"({"input_features": 3})"),
                                          {"no \"layers\" array"});
  ExpectThrowsWith<std::invalid_argument>(from(R"({"input_features": 2.5, "layers": []})"),
                                          {"\"input_features\" is 2.5", "positive integer"});
  ExpectThrowsWith<std::invalid_argument>(from(R"({"layers": [{"type": "dense", "units": 2}, 7]})"),
                                          {"layer 1 is 7", "not a JSON object"});
  ExpectThrowsWith<std::invalid_argument>(from(R"({"layers": [{"type": "conv2d"}]})"),
                                          {"layer 0", "conv2d"});
  ExpectThrowsWith<std::invalid_argument>(
      from(R"({"layers": [{"type": "dense", "units": 2, "use_bias": false}]})"),
      {"layer 0", "use_bias"});
  ExpectThrowsWith<std::invalid_argument>(from(R"({"input_features": 3, "layers": []})"),
                                          {"input_features 3", "no layers"});
}

class LoadCheckpointIntoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "fanin-into-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path() const { return (dir_ / "model.safetensors").string(); }

  // A trained model (fitted standardization, moving statistics away from their initial
  // values) saved at Path().
  Sequential SavedModel() {
    Sequential model = EveryLayer();
    model.Compile(std::make_shared<BinaryCrossEntropy>(), Sgd{.learning_rate = 0.1f});
    model.Build(4, 3);
    const Dataset data = Ball(4, 64, 0.5, 2);
    dynamic_cast<Normalization&>(model.layer(0)).Adapt(data.x);
    model.Fit(data.x, data.y, {.epochs = 2, .batch_size = 16, .shuffle_seed = 1});
    SaveCheckpoint(model, Path());
    return model;
  }

  fs::path dir_;
};

TEST_F(LoadCheckpointIntoTest, LoadsParametersAndStateBitForBit) {
  Sequential saved = SavedModel();
  Sequential target = EveryLayer();
  target.Compile(std::make_shared<BinaryCrossEntropy>(), Adam{});
  target.Build(4, 99);
  LoadCheckpointInto(target, Path());
  EXPECT_EQ(target.parameters().ToHost(), saved.parameters().ToHost());
  for (size_t layer : {0, 2}) {  // Normalization's mean and variance, the moving statistics
    const auto saved_state = saved.layer(layer).state();
    const auto target_state = target.layer(layer).state();
    ASSERT_EQ(saved_state.size(), 2u);
    for (size_t k = 0; k < saved_state.size(); ++k) {
      EXPECT_EQ(target_state[k].second.ToHost(), saved_state[k].second.ToHost())
          << saved_state[k].first;
    }
  }
  // Its own optimizer and progress are kept.
  EXPECT_TRUE(std::holds_alternative<Adam>(target.optimizer()));
  EXPECT_EQ(target.steps_taken(), 0);
  const Dataset data = Ball(4, 32, 0.5, 8);
  EXPECT_EQ(target.Predict(data.x).ToHost(), saved.Predict(data.x).ToHost());
}

TEST_F(LoadCheckpointIntoTest, AnotherArchitectureNamesTheFirstDifference) {
  SavedModel();
  const auto expect_refused = [&](Sequential model, int64_t input_features,
                                  std::initializer_list<std::string_view> parts) {
    model.Build(input_features, 5);
    const std::vector<float> before = model.parameters().ToHost();
    ExpectThrowsWith<std::invalid_argument>([&] { LoadCheckpointInto(model, Path()); }, parts);
    EXPECT_EQ(model.parameters().ToHost(), before) << "the model is untouched";
  };
  expect_refused(EveryLayer(), 5, {"another architecture", "input_features: 4 in the file, 5"});
  expect_refused(EveryLayer(7), 4, {"layer 1 (dense) units: 6 in the file, 7 in the model"});
  Sequential shorter(Cpu());
  shorter.Add(Dense(6, "elu(0.5)", "he_normal", "constant(0.1)"));
  expect_refused(std::move(shorter), 4, {"6 layers in the file, 1 in the model"});
  Sequential swapped(Cpu());
  swapped.Add(Normalization());
  swapped.Add(Dense(6, "elu(0.5)", "he_normal", "constant(0.1)"));
  swapped.Add(Dropout(0.25f));
  swapped.Add(Dropout(0.25f));
  swapped.Add(ActivationLayer("tanh"));
  swapped.Add(Dense(1));
  expect_refused(std::move(swapped), 4,
                 {"layer 2 type: \"batch_normalization\" in the file, \"dropout\" in the model"});

  Sequential unbuilt = EveryLayer();
  ExpectThrowsWith<std::invalid_argument>([&] { LoadCheckpointInto(unbuilt, Path()); },
                                          {"not built"});
  Sequential model = EveryLayer();
  model.Build(4, 1);
  ExpectThrowsWith<std::runtime_error>(
      [&] { LoadCheckpointInto(model, (dir_ / "missing.safetensors").string()); },
      {"missing.safetensors"});
}

}  // namespace
}  // namespace fanin
