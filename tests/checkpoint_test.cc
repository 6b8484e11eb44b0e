// Tests of checkpoints: round trips of every layer type and optimizer state, resuming
// equals not stopping, atomic writes under a killed writer and a full disk, an error that
// names the file and the problem for each way a file can be malformed, and interop with
// Python's safetensors.

#include "fanin/checkpoint.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iterator>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "fanin/fanin.h"
#include "test_util.h"

namespace fanin {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Cpu;
using testing::ReadFile;

// A fresh folder per test, removed at the end.
class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "fanin-ckpt-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Every layer type, activation and a spread of initializers.
Sequential MixedModel(Optimizer optimizer, BinaryCrossEntropy loss = BinaryCrossEntropy(),
                      int threads = 2) {
  Sequential model(Cpu(threads));
  model.Add(Dense(6, "tanh", "he_normal", "normal(0,0.01)"));
  model.Add(Dense(5, "linear", "lecun_uniform", "constant(0.1)"));
  model.Add(ActivationLayer("relu"));
  model.Add(Dense(4, "sigmoid", "uniform(-0.3,0.2)"));
  model.Add(Dense(1, loss.options().from_logits ? "linear" : "sigmoid", "glorot_normal"));
  model.Compile(loss, optimizer);
  model.Build(3, 17);
  return model;
}

const Dataset& Data() {
  static const Dataset data = Ball(3, 96, 0.5, 5);
  return data;
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A safetensors file from a header text and a data buffer, as a forger would write it.
std::string Safetensors(const std::string& header, const std::string& buffer) {
  std::string bytes(8, '\0');
  const uint64_t size = header.size();
  std::memcpy(bytes.data(), &size, 8);
  return bytes + header + buffer;
}

// The header of the safetensors file `bytes`, and where its data buffer starts.
std::pair<json, size_t> Header(const std::string& bytes) {
  uint64_t size = 0;
  std::memcpy(&size, bytes.data(), 8);
  return {json::parse(bytes.substr(8, size)), 8 + size};
}

// Rewrites the header of the safetensors file at `path` with `edit`, keeping its data, as
// a forger or another tool would: without fanin's tensor digests, so that the checks behind
// them are reached.
void EditHeader(const std::string& path, const std::function<void(json&)>& edit) {
  const std::string bytes = ReadFile(path);
  auto [header, data] = Header(bytes);
  if (header.contains("__metadata__")) header["__metadata__"].erase("tensor_digests");
  edit(header);
  WriteBytes(path, Safetensors(header.dump(), bytes.substr(data)));
}

// Sets the first value of tensor `name` in the file at `path` to `value`, keeping the
// digests (which then disagree).
void Poison(const std::string& path, const std::string& name, float value) {
  std::string bytes = ReadFile(path);
  const auto [header, data] = Header(bytes);
  const size_t begin = header.at(name).at("data_offsets")[0].get<size_t>();
  std::memcpy(bytes.data() + data + begin, &value, sizeof value);
  WriteBytes(path, bytes);
}

// 64-bit FNV-1a, written here from its definition to check the library's digests.
std::string Fnv1a64(std::string_view bytes) {
  uint64_t hash = 14695981039346656037u;
  for (const unsigned char byte : bytes) hash = (hash ^ byte) * 1099511628211u;
  std::ostringstream text;
  text << "fnv1a64:" << std::hex << std::setw(16) << std::setfill('0') << hash;
  return text.str();
}

// The message of the std::runtime_error that `f` throws ("" when it throws none).
std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

void ExpectSameModel(const Sequential& a, const Sequential& b) {
  ASSERT_EQ(a.num_layers(), b.num_layers());
  for (size_t i = 0; i < a.num_layers(); ++i)
    EXPECT_EQ(a.layer(i).Describe(), b.layer(i).Describe());
  EXPECT_EQ(a.input_features(), b.input_features());
  EXPECT_EQ(a.seed(), b.seed());
  EXPECT_EQ(a.steps_taken(), b.steps_taken());
  EXPECT_EQ(a.epochs_completed(), b.epochs_completed());
  EXPECT_EQ(a.loss().config(), b.loss().config());
  EXPECT_EQ(a.parameters().ToHost(), b.parameters().ToHost());
  const auto slots_a = a.optimizer_state(), slots_b = b.optimizer_state();
  ASSERT_EQ(slots_a.size(), slots_b.size());
  for (size_t i = 0; i < slots_a.size(); ++i) {
    EXPECT_EQ(slots_a[i].first, slots_b[i].first);
    EXPECT_EQ(slots_a[i].second.ToHost(), slots_b[i].second.ToHost()) << slots_a[i].first;
  }
}

// Every hyper-parameter, floats in hex so that equal text means equal bits.
std::string OptimizerText(const Optimizer& optimizer) {
  std::ostringstream out;
  out << std::hexfloat;
  if (const Sgd* sgd = std::get_if<Sgd>(&optimizer)) {
    out << "sgd " << sgd->learning_rate << ' ' << sgd->momentum << ' ' << sgd->nesterov << ' '
        << sgd->penalty.l2 << ' ' << sgd->penalty.kernels_only;
  } else {
    const Adam& adam = std::get<Adam>(optimizer);
    out << "adam " << adam.learning_rate << ' ' << adam.beta1 << ' ' << adam.beta2 << ' '
        << adam.epsilon << ' ' << adam.penalty.l2 << ' ' << adam.penalty.kernels_only;
  }
  return out.str();
}

struct OptimizerCase {
  const char* name;
  Optimizer optimizer;
  size_t slots;
};

class CheckpointOptimizerTest : public CheckpointTest,
                                public ::testing::WithParamInterface<OptimizerCase> {};

TEST_P(CheckpointOptimizerTest, RoundTripRestoresEverything) {
  for (const bool from_logits : {true, false}) {
    Sequential model =
        MixedModel(GetParam().optimizer, BinaryCrossEntropy({.from_logits = from_logits}));
    model.Fit(Data().x, Data().y, {.epochs = 2, .batch_size = 16, .shuffle_seed = 4});
    const std::string path = Path("model.safetensors");
    SaveCheckpoint(model, path);
    Sequential loaded = LoadCheckpoint(path, Cpu());
    ExpectSameModel(model, loaded);
    EXPECT_EQ(loaded.optimizer_state().size(), GetParam().slots);
    EXPECT_EQ(OptimizerText(model.optimizer()), OptimizerText(loaded.optimizer()));
    EXPECT_EQ(model.Predict(Data().x).ToHost(), loaded.Predict(Data().x).ToHost());
  }
}

TEST_P(CheckpointOptimizerTest, ResumingEqualsNotStopping) {
  const FitOptions options{.epochs = 4, .batch_size = 16, .shuffle_seed = 9};
  Sequential straight = MixedModel(GetParam().optimizer);
  const History full = straight.Fit(Data().x, Data().y, options);

  Sequential first = MixedModel(GetParam().optimizer);
  FitOptions half = options;
  half.epochs = 2;
  first.Fit(Data().x, Data().y, half);
  SaveCheckpoint(first, Path("half.safetensors"));
  Sequential resumed = LoadCheckpoint(Path("half.safetensors"), Cpu());
  FitOptions rest = options;
  rest.initial_epoch = resumed.epochs_completed();
  const History second = resumed.Fit(Data().x, Data().y, rest);

  ASSERT_EQ(second.epochs.size(), 2u);
  for (int e = 0; e < 2; ++e) {
    EXPECT_EQ(second.epochs[e].epoch, e + 2);
    EXPECT_EQ(second.epochs[e].loss, full.epochs[e + 2].loss) << "epoch " << e + 2;
  }
  ExpectSameModel(straight, resumed);
}

INSTANTIATE_TEST_SUITE_P(Optimizers, CheckpointOptimizerTest,
                         ::testing::Values(OptimizerCase{"Sgd", Sgd{.learning_rate = 0.1f}, 0},
                                           OptimizerCase{"SgdNesterovL2",
                                                         Sgd{.learning_rate = 0.05f,
                                                             .momentum = 0.9f,
                                                             .nesterov = true,
                                                             .penalty = {.l2 = 1e-3f}},
                                                         1},
                                           OptimizerCase{"AdamL2All",
                                                         Adam{.learning_rate = 0.01f,
                                                              .beta1 = 0.8f,
                                                              .epsilon = 1e-6f,
                                                              .penalty = {.l2 = 1e-4f,
                                                                          .kernels_only = false}},
                                                         2}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(CheckpointTest, KilledWriterLeavesALoadableCheckpoint) {
  // A model big enough (8 MB) that a kill lands inside a write now and then.
  const auto big = [](float bias) {
    Sequential model(Cpu(1));
    model.Add(Dense(2000, "linear", "zeros", "constant(" + std::to_string(bias) + ")"));
    model.Compile();
    model.Build(1000, 0);
    return model;
  };
  const std::string path = Path("big.safetensors");
  SaveCheckpoint(big(0), path);
  // Built before the fork, so that the child only writes files.
  const Sequential versions[] = {big(1), big(2)};
  for (int attempt = 0; attempt < 6; ++attempt) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Rewrites the checkpoint, alternating two versions, until killed.
      try {
        for (int i = 0;; ++i) SaveCheckpoint(versions[i % 2], path);
      } catch (...) {
        _exit(1);
      }
    }
    usleep(static_cast<useconds_t>(20000 + 17000 * attempt));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    const Sequential loaded = LoadCheckpoint(path, Cpu(1));
    const float bias = loaded.Packed(loaded.parameters()).back();
    EXPECT_TRUE(bias == 0 || bias == 1 || bias == 2) << bias;
  }
}

TEST_F(CheckpointTest, IncompleteTemporaryFileLeavesTheOldCheckpoint) {
  const std::string path = Path("model.safetensors");
  Sequential model = MixedModel(Sgd{});
  SaveCheckpoint(model, path);
  // What a crash between the write and the rename leaves: half a temporary file.
  const std::string bytes = ReadFile(path);
  WriteBytes(Path(".model.safetensors.tmp.a1b2c3"), bytes.substr(0, bytes.size() / 2));
  ExpectSameModel(model, LoadCheckpoint(path, Cpu()));
  model.Fit(Data().x, Data().y, {.epochs = 1});
  SaveCheckpoint(model, path);
  ExpectSameModel(model, LoadCheckpoint(path, Cpu()));
}

TEST_F(CheckpointTest, FullDiskLeavesTheOldCheckpointAndNoTemporaryFile) {
  const std::string path = Path("model.safetensors");
  Sequential model = MixedModel(Adam{});
  SaveCheckpoint(model, path);
  model.Fit(Data().x, Data().y, {.epochs = 1});
  // A file size limit fails the write as a full disk would (EFBIG rather than ENOSPC).
  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  rlimit limit = old_limit;
  limit.rlim_cur = 100;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  const std::string error = ErrorOf([&] { SaveCheckpoint(model, path); });
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);
  EXPECT_NE(error.find("cannot write '" + path + "': write:"), std::string::npos) << error;
  const Sequential loaded = LoadCheckpoint(path, Cpu());
  EXPECT_EQ(loaded.steps_taken(), 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(CheckpointTest, SaveRejectsWhatItCannotRestore) {
  Sequential unbuilt(Cpu());
  unbuilt.Add(Dense(1));
  EXPECT_THROW(SaveCheckpoint(unbuilt, Path("x.safetensors")), std::invalid_argument);
  Sequential model = MixedModel(Sgd{});
  EXPECT_THROW(SaveCheckpoint(model, Path("no/such/folder/x.safetensors")), std::runtime_error);
}

// Each way the format can be broken gives an error naming the file and the problem.
TEST_F(CheckpointTest, MalformedSafetensorsFilesAreRejectedWithTheReason) {
  const std::string four_floats(16, '\0');
  const auto entry = [](const std::string& dtype, const std::string& shape, int b, int e) {
    return "\"" + dtype + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape +
           ", \"data_offsets\": [" + std::to_string(b) + ", " + std::to_string(e) + "]}";
  };
  struct Case {
    const char* what;
    std::string bytes;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"empty", "", "fewer than the 8"},
      {"short", "abc", "fewer than the 8"},
      {"header beyond file", Safetensors("{}", "").substr(0, 9),
       "header length 2 exceeds the 1 bytes"},
      {"header length huge", std::string(8, '\xff') + "{}", "exceeds the 2 bytes"},
      {"not json", Safetensors("{\"a\": ", ""), "not valid JSON"},
      {"not utf-8", Safetensors("{\"\xff\": 1}", ""), "not valid JSON"},
      {"number overflow", Safetensors("{\"s\": 1E400}", ""), "not valid JSON"},
      {"not an object", Safetensors("[1, 2]", ""), "not an object"},
      {"entry not an object", Safetensors("{\"a\": 3}", ""), "tensor \"a\" is not described"},
      {"unknown dtype", Safetensors("{" + entry("Q7", "[4]", 0, 16) + "}", four_floats),
       "dtype \"Q7\" is not supported"},
      {"f16", Safetensors("{" + entry("F16", "[8]", 0, 16) + "}", four_floats),
       "dtype \"F16\" is not supported"},
      {"missing field", Safetensors(R"({"a": {"dtype": "F32", "shape": [4]}})", four_floats),
       "has no \"data_offsets\""},
      {"unknown field",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16], "x": 1}})",
                   four_floats),
       "unknown field \"x\""},
      {"negative dim",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}})",
                   four_floats),
       "is -4, not an integer >= 0"},
      {"fractional dim",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [4.0], "data_offsets": [0, 16]}})",
                   four_floats),
       "not an integer >= 0"},
      {"overflowing shape",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296],)"
                   R"( "data_offsets": [0, 0]}})",
                   ""),
       "more elements than a file can hold"},
      {"shape disagrees with bytes",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 16]}})",
                   four_floats),
       "needs 24 bytes of F32, but data_offsets [0,16] hold 16"},
      {"offsets out of bounds",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}})",
                   four_floats),
       "reach beyond the 16-byte data buffer"},
      {"offsets reversed",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}})",
                   four_floats),
       "end before they begin"},
      {"offsets not a pair",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0]}})", four_floats),
       "is not a pair"},
      {"overlap",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},)"
                   R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                   four_floats),
       "tensors \"a\" and \"b\" overlap"},
      {"gap",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                   four_floats),
       "8 bytes before tensor \"a\" belong to no tensor"},
      {"trailing bytes",
       Safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", four_floats),
       "8 bytes at the end of the data buffer"},
      {"metadata not strings", Safetensors(R"({"__metadata__": {"a": 1}})", ""),
       "metadata \"a\" is not a string"},
  };
  for (const Case& c : cases) {
    const std::string path = Path("bad.safetensors");
    WriteBytes(path, c.bytes);
    const std::string error = ErrorOf([&] { LoadCheckpoint(path, Cpu()); });
    EXPECT_EQ(error.rfind(path + ": not a valid safetensors file: ", 0), 0u)
        << c.what << ": " << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.what << ": " << error;
  }
  const std::string path = Path("missing.safetensors");
  EXPECT_NE(ErrorOf([&] { LoadCheckpoint(path, Cpu()); }).find(path + ": cannot open"),
            std::string::npos);
}

TEST_F(CheckpointTest, TruncatedCheckpointsAreRejectedAtEveryLength) {
  const std::string path = Path("model.safetensors");
  SaveCheckpoint(MixedModel(Adam{}), path);
  const std::string bytes = ReadFile(path);
  for (size_t length = 0; length < bytes.size(); length += 1 + length / 3) {
    WriteBytes(Path("cut.safetensors"), bytes.substr(0, length));
    const std::string error = ErrorOf([&] { LoadCheckpoint(Path("cut.safetensors"), Cpu()); });
    EXPECT_NE(error.find("not a valid safetensors file"), std::string::npos)
        << length << ": " << error;
  }
}

// Well-formed safetensors that is not a checkpoint fanin can rebuild.
TEST_F(CheckpointTest, InconsistentCheckpointsAreRejectedWithTheReason) {
  const std::string good = Path("good.safetensors");
  SaveCheckpoint(MixedModel(Sgd{.momentum = 0.5f}), good);
  const auto meta = [](const char* key, const std::function<void(json&)>& edit) {
    return [key, edit](json& header) {
      json value = json::parse(header["__metadata__"][key].get<std::string>());
      edit(value);
      header["__metadata__"][key] = value.dump();
    };
  };
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"no metadata", [](json& h) { h.erase("__metadata__"); }, "no metadata \"format\""},
      {"wrong format", [](json& h) { h["__metadata__"]["format"] = "keras"; },
       "format \"keras\" is not"},
      {"bad steps", [](json& h) { h["__metadata__"]["steps"] = "-1"; },
       "metadata \"steps\" is \"-1\""},
      {"architecture not json", [](json& h) { h["__metadata__"]["architecture"] = "{"; },
       "metadata \"architecture\" is not valid JSON"},
      {"number overflow", [](json& h) { h["__metadata__"]["loss"] = "{\"x\": 1e400}"; },
       "loss: config: not valid JSON"},
      {"unknown optimizer", meta("optimizer", [](json& o) { o["type"] = "rmsprop"; }),
       "unknown optimizer \"rmsprop\"; valid: sgd, adam"},
      {"string learning rate", meta("optimizer", [](json& o) { o["learning_rate"] = "0.1"; }),
       "optimizer: \"learning_rate\" is \"0.1\", not a finite number"},
      {"unknown loss", meta("loss", [](json& o) { o["type"] = "mse"; }), "unknown loss \"mse\""},
      {"unknown activation",
       meta("architecture", [](json& a) { a["layers"][0]["activation"] = "softmax"; }),
       "layer 0: unknown activation 'softmax'; valid: linear, sigmoid, tanh, relu"},
      {"unknown initializer",
       meta("architecture", [](json& a) { a["layers"][1]["kernel_initializer"] = "orthogonal"; }),
       "layer 1: unknown initializer 'orthogonal' (no such name); valid: glorot_normal"},
      {"unknown layer type", meta("architecture", [](json& a) { a["layers"][2]["type"] = "conv"; }),
       "layer 2: unknown layer \"conv\" (valid: activation batch_normalization dense dropout "
       "normalization)"},
      {"fractional units", meta("architecture", [](json& a) { a["layers"][0]["units"] = 6.5; }),
       "layer 0: dense: \"units\" must be an integer, got 6.5"},
      {"units beyond the file",
       meta("architecture", [](json& a) { a["layers"][0]["units"] = int64_t{1} << 40; }),
       "tensor \"layers.0.kernel\" has shape [3 x 6], the architecture needs [3 x 1099511627776]"},
      {"no layers", meta("architecture", [](json& a) { a["layers"] = json::array(); }),
       "the architecture has no layers"},
      {"missing tensor",
       [](json& h) {
         h["optimizer.speed"] = h["optimizer.velocity"];
         h.erase("optimizer.velocity");
       },
       "no tensor \"optimizer.velocity\""},
      {"unexpected tensor",
       [](json& h) {
         h["extra"] = {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {0, 0}}};
       },
       "unexpected tensor \"extra\""},
  };
  for (const Case& c : cases) {
    const std::string path = Path("bad.safetensors");
    fs::copy_file(good, path, fs::copy_options::overwrite_existing);
    EditHeader(path, c.edit);
    const std::string error = ErrorOf([&] { LoadCheckpoint(path, Cpu()); });
    EXPECT_NE(error.find(path + ": "), std::string::npos) << c.what << ": " << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.what << ": " << error;
  }
}

// An activation's alpha is saved as a number and restored bit for bit; a layer without
// "alpha" (a file from before activations had parameters) gets the default, and "alpha" where
// it cannot apply is refused.
TEST_F(CheckpointTest, ActivationAlphaRoundTripsAndOldFilesLoadWithTheDefault) {
  Sequential model(Cpu());
  model.Add(Dense(5, "leaky_relu(0.1)"));
  model.Add(ActivationLayer("elu(0.7)"));
  model.Add(Dense(3, "elu"));
  model.Add(Dense(1, "sigmoid"));
  model.Compile(BinaryCrossEntropy(), Sgd{});
  model.Build(3, 1);
  const std::string path = Path("alpha.safetensors");
  SaveCheckpoint(model, path);
  const Sequential loaded = LoadCheckpoint(path, Cpu());
  ExpectSameModel(model, loaded);
  const auto* first = dynamic_cast<const Dense*>(&loaded.layer(0));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->activation(), (ActivationSpec{Activation::kLeakyRelu, 0.1f}));
  const json layers = json::parse(
      Header(ReadFile(path)).first["__metadata__"]["architecture"].get<std::string>())["layers"];
  EXPECT_EQ(layers[0]["activation"], "leaky_relu");
  EXPECT_EQ(layers[0]["alpha"].get<float>(), 0.1f);
  EXPECT_EQ(layers[2]["alpha"].get<float>(), 1.0f);  // the default is written too
  EXPECT_FALSE(layers[3].contains("alpha"));

  const auto edit_layers = [&](const std::function<void(json&)>& edit) {
    fs::copy_file(path, Path("edited.safetensors"), fs::copy_options::overwrite_existing);
    EditHeader(Path("edited.safetensors"), [&](json& header) {
      json architecture = json::parse(header["__metadata__"]["architecture"].get<std::string>());
      edit(architecture["layers"]);
      header["__metadata__"]["architecture"] = architecture.dump();
    });
    return Path("edited.safetensors");
  };
  const Sequential old = LoadCheckpoint(edit_layers([](json& l) {
                                          l[0].erase("alpha");
                                          l[1].erase("alpha");
                                        }),
                                        Cpu());
  EXPECT_EQ(old.layer(0).Describe(), Dense(5, "leaky_relu").Describe());
  EXPECT_EQ(old.layer(1).Describe(), "Activation(elu)");
  EXPECT_NE(ErrorOf([&] {
              LoadCheckpoint(edit_layers([](json& l) { l[3]["alpha"] = 0.5; }), Cpu());
            }).find("layer 3: dense: sigmoid takes no \"alpha\""),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              LoadCheckpoint(edit_layers([](json& l) { l[0]["alpha"] = "0.1"; }), Cpu());
            }).find("layer 0: dense: \"alpha\" must be a number, got a string"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              LoadCheckpoint(edit_layers([](json& l) { l[0]["activation"] = "leaky_relu(0.2)"; }),
                             Cpu());
            }).find("\"alpha\" is given too"),
            std::string::npos);
}

TEST_F(CheckpointTest, NonFiniteTensorsAreRejected) {
  Sequential model = MixedModel(Sgd{});
  const std::string path = Path("model.safetensors");
  SaveCheckpoint(model, path);
  Poison(path, "layers.4.bias", std::numeric_limits<float>::quiet_NaN());
  EditHeader(path, [](json&) {});  // no digests, as another writer would save it
  EXPECT_NE(ErrorOf([&] {
              LoadCheckpoint(path, Cpu());
            }).find("tensor \"layers.4.bias\" holds NaN or infinite values"),
            std::string::npos);
}

// What LoadCheckpoint refuses in the optimizer's settings and state (a file written by
// hand or by another version), with the field or tensor named.
TEST_F(CheckpointTest, OutOfRangeOptimizerSettingsStateAndUnknownFieldsAreRejected) {
  const std::string sgd = Path("sgd.safetensors"), adam = Path("adam.safetensors");
  SaveCheckpoint(MixedModel(Sgd{.momentum = 0.5f}), sgd);
  Sequential adam_model = MixedModel(Adam{});
  adam_model.Fit(Data().x, Data().y, {.epochs = 1});
  SaveCheckpoint(adam_model, adam);
  const auto set = [](const char* key, const char* field, json value) {
    return [=](json& header) {
      json object = json::parse(header["__metadata__"][key].get<std::string>());
      if (std::string(key) == "architecture" && std::string(field) != "input_features") {
        object["layers"][0][field] = value;
      } else {
        object[field] = value;
      }
      header["__metadata__"][key] = object.dump();
    };
  };
  struct Case {
    const char* what;
    const std::string& file;
    std::function<void(json&)> edit;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"momentum", sgd, set("optimizer", "momentum", 2.9),
       "optimizer: Sgd: momentum is 2.9; it must be in [0, 1)"},
      {"negative learning rate", sgd, set("optimizer", "learning_rate", -1e30),
       "optimizer: Sgd: learning_rate is -1e+30; it must be finite and >= 0"},
      {"huge learning rate", sgd, set("optimizer", "learning_rate", 1e300),
       "optimizer: \"learning_rate\" is 1e+300, not a finite number"},
      {"negative l2", sgd, set("optimizer", "l2", -1), "optimizer: Sgd: penalty.l2 is -1"},
      {"beta2", adam, set("optimizer", "beta2", 1.5), "optimizer: Adam: beta2 is 1.5"},
      {"epsilon", adam, set("optimizer", "epsilon", 0), "optimizer: Adam: epsilon is 0"},
      {"unknown optimizer field", sgd, set("optimizer", "decay", 0.1),
       "optimizer has an unknown field \"decay\"; valid: type, learning_rate, momentum, "
       "nesterov, l2, kernels_only"},
      {"unknown loss field", sgd, set("loss", "reduction", "sum"),
       "loss: binary_crossentropy: unknown parameter \"reduction\" (valid: from_logits "
       "label_smoothing)"},
      {"label smoothing", sgd, set("loss", "label_smoothing", 1.5),
       "loss: binary_crossentropy: label_smoothing 1.500000 is not in [0, 1]"},
      {"loss parameter kind", sgd, set("loss", "from_logits", 1),
       "loss: binary_crossentropy: \"from_logits\" must be a bool, got a number"},
      {"unknown layer field", sgd, set("architecture", "use_bias", false),
       "layer 0: dense: unknown parameter \"use_bias\" (valid: units activation alpha "
       "kernel_initializer bias_initializer)"},
      {"unknown architecture field", sgd,
       [](json& header) {
         json a = json::parse(header["__metadata__"]["architecture"].get<std::string>());
         a["name"] = "mine";
         header["__metadata__"]["architecture"] = a.dump();
       },
       "the architecture has an unknown field \"name\""},
  };
  for (const Case& c : cases) {
    const std::string path = Path("bad.safetensors");
    fs::copy_file(c.file, path, fs::copy_options::overwrite_existing);
    EditHeader(path, c.edit);
    const std::string error = ErrorOf([&] { LoadCheckpoint(path, Cpu()); });
    EXPECT_NE(error.find(path + ": not a valid fanin checkpoint: "), std::string::npos)
        << c.what << ": " << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.what << ": " << error;
  }
  Poison(adam, "optimizer.adam_v", -1.0f);
  EditHeader(adam, [](json&) {});
  EXPECT_NE(ErrorOf([&] {
              LoadCheckpoint(adam, Cpu());
            }).find("tensor \"optimizer.adam_v\" holds negative values"),
            std::string::npos);
}

// Saving checks what it writes with the loader's own checks, before the old file is
// touched: a diverged model must not replace the last good checkpoint.
TEST_F(CheckpointTest, SaveRefusesWhatLoadingWouldRefuseAndKeepsTheOldFile) {
  const std::string path = Path("model.safetensors");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto poisoned = [&](Optimizer optimizer, const std::string& tensor) {
    Sequential model = MixedModel(optimizer);
    model.Fit(Data().x, Data().y, {.epochs = 1});
    if (tensor == "parameters") {
      std::vector<float> values = model.parameters().ToHost();
      values[3] = nan;
      Tensor parameters = model.parameters();
      parameters.CopyFromHost(values);
    }
    for (auto& [name, state] : model.optimizer_state()) {
      if (name != tensor) continue;
      std::vector<float> values = model.Packed(state);
      values.back() = tensor == "adam_v" ? -1.0f : std::numeric_limits<float>::infinity();
      model.Unpack(values, state);
    }
    return model;
  };
  const struct {
    Optimizer optimizer;
    const char* tensor;
    const char* expected;
  } cases[] = {
      {Sgd{}, "parameters", "tensor \"layers.0.kernel\" holds NaN or infinite values"},
      {Sgd{.momentum = 0.9f}, "velocity", "tensor \"optimizer.velocity\" holds NaN"},
      {Adam{}, "adam_m", "tensor \"optimizer.adam_m\" holds NaN"},
      {Adam{}, "adam_v", "tensor \"optimizer.adam_v\" holds negative values"},
  };
  SaveCheckpoint(MixedModel(Sgd{}), path);
  const std::string good = ReadFile(path);
  for (const auto& c : cases) {
    const Sequential model = poisoned(c.optimizer, c.tensor);
    const std::string error = ErrorOf([&] { SaveCheckpoint(model, path); });
    EXPECT_NE(error.find("SaveCheckpoint: '" + path +
                         "' not written, since LoadCheckpoint would refuse the file: "),
              std::string::npos)
        << c.tensor << ": " << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.tensor << ": " << error;
    EXPECT_EQ(ReadFile(path), good) << c.tensor;
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  }
}

// Build's seed is a uint64_t, and every value of it must survive a round trip.
TEST_F(CheckpointTest, EverySeedRoundTrips) {
  Sequential model(Cpu());
  model.Add(Dense(2));
  model.Compile();
  model.Build(3, std::numeric_limits<uint64_t>::max());
  SaveCheckpoint(model, Path("model.safetensors"));
  EXPECT_EQ(LoadCheckpoint(Path("model.safetensors"), Cpu()).seed(),
            std::numeric_limits<uint64_t>::max());
}

// Every tensor's bytes carry an FNV-1a digest in the metadata; a changed byte anywhere in
// the data is reported with the tensor's name.
TEST_F(CheckpointTest, BitFlipsInTensorDataAreDetectedNamingTheTensor) {
  const std::string path = Path("model.safetensors");
  SaveCheckpoint(MixedModel(Adam{}), path);
  const std::string bytes = ReadFile(path);
  const auto [header, data] = Header(bytes);
  const json digests = json::parse(header["__metadata__"]["tensor_digests"].get<std::string>());
  size_t tensors = 0;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    ++tensors;
    const size_t begin = entry["data_offsets"][0], end = entry["data_offsets"][1];
    EXPECT_EQ(digests.at(name), Fnv1a64(std::string_view(bytes).substr(data + begin, end - begin)))
        << name;
    for (const size_t at : {begin, (begin + end) / 2, end - 1}) {
      for (const int bit : {0, 7}) {
        std::string flipped = bytes;
        flipped[data + at] = static_cast<char>(flipped[data + at] ^ (1 << bit));
        WriteBytes(Path("flipped.safetensors"), flipped);
        const std::string error =
            ErrorOf([&] { LoadCheckpoint(Path("flipped.safetensors"), Cpu()); });
        EXPECT_NE(error.find(Path("flipped.safetensors") + ": not a valid safetensors file: " +
                             "tensor \"" + name + "\": its bytes do not match their digest"),
                  std::string::npos)
            << name << " byte " << at << " bit " << bit << ": " << error;
      }
    }
  }
  EXPECT_EQ(digests.size(), tensors);
}

// Files without digests (older fanin versions, other writers) load; malformed digests do
// not.
TEST_F(CheckpointTest, DigestsAreOptionalButMustBeWellFormed) {
  const std::string good = Path("good.safetensors"), path = Path("model.safetensors");
  Sequential model = MixedModel(Sgd{.momentum = 0.5f});
  SaveCheckpoint(model, good);
  fs::copy_file(good, path);
  EditHeader(path, [](json&) {});
  ExpectSameModel(model, LoadCheckpoint(path, Cpu()));
  const auto digests = [](const std::function<void(json&)>& edit) {
    return [edit](json& header) {
      json d = json::parse(header["__metadata__"]["tensor_digests"].get<std::string>());
      edit(d);
      header["__metadata__"]["tensor_digests"] = d.dump();
    };
  };
  const struct {
    std::function<void(json&)> edit;
    const char* expected;
  } cases[] = {
      {[](json& h) { h["__metadata__"]["tensor_digests"] = "[1]"; },
       "metadata \"tensor_digests\" is not a JSON object"},
      {digests([](json& d) { d.erase("layers.1.bias"); }),
       "tensor \"layers.1.bias\" has no digest in metadata \"tensor_digests\""},
      {digests([](json& d) { d["layers.9.bias"] = d["layers.1.bias"]; }),
       "has a digest for \"layers.9.bias\", which is no tensor of the file"},
      {digests([](json& d) { d["layers.1.bias"] = "crc32:1234abcd"; }),
       "tensor \"layers.1.bias\": digest \"crc32:1234abcd\" in metadata \"tensor_digests\" "
       "is not \"fnv1a64:\" and 16 hex digits"},
  };
  for (const auto& c : cases) {
    const std::string bytes = ReadFile(good);
    auto [header, data] = Header(bytes);
    c.edit(header);
    WriteBytes(path, Safetensors(header.dump(), bytes.substr(data)));
    const std::string error = ErrorOf([&] { LoadCheckpoint(path, Cpu()); });
    EXPECT_NE(error.find(path + ": not a valid safetensors file: "), std::string::npos) << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
}

// The message of what `f` throws, run in a child process that is killed after 3 s, so
// that a read that would never end (a FIFO, /dev/zero) fails the test instead of hanging
// it or filling the machine's memory.
std::string ErrorInChild(const std::function<void()>& f) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t child = fork();
  if (child == 0) {
    // Everything is caught: an exception leaving the child would run the rest of the suite
    // in it.
    close(fds[0]);
    alarm(3);
    std::string error;
    try {
      f();
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "an exception that is no std::exception";
    }
    const ssize_t written = write(fds[1], error.data(), error.size());
    _exit(written == static_cast<ssize_t>(error.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string error;
  char buffer[256];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) error.append(buffer, n);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status))
    return "the child was killed by signal " + std::to_string(WTERMSIG(status));
  return error;
}

TEST_F(CheckpointTest, LoadRefusesWhatIsNotARegularFile) {
  ASSERT_EQ(mkfifo(Path("fifo").c_str(), 0600), 0);
  fs::create_directory(Path("folder.safetensors"));
  const struct {
    std::string path;
    const char* type;
  } cases[] = {{Path("folder.safetensors"), "a directory"},
               {Path("fifo"), "a FIFO"},
               {"/dev/zero", "a character device"}};
  for (const auto& c : cases) {
    EXPECT_EQ(ErrorInChild([&] { LoadCheckpoint(c.path, Cpu()); }),
              c.path + ": is " + c.type +
                  ", not a regular file; a checkpoint is read from a regular file only");
  }
}

TEST_F(CheckpointTest, SavingKeepsTheFileModeOrAppliesTheUmask) {
  const Sequential model = MixedModel(Sgd{});
  const auto mode = [&](const std::string& name) {
    return fs::status(Path(name)).permissions() & fs::perms::mask;
  };
  const mode_t old_umask = umask(027);
  SaveCheckpoint(model, Path("new027.safetensors"));
  umask(0);
  SaveCheckpoint(model, Path("new000.safetensors"));
  SaveCheckpoint(model, Path("kept.safetensors"));
  fs::permissions(Path("kept.safetensors"), fs::perms::owner_read | fs::perms::owner_write);
  SaveCheckpoint(model, Path("kept.safetensors"));
  umask(old_umask);
  EXPECT_EQ(mode("new027.safetensors"), static_cast<fs::perms>(0640));
  EXPECT_EQ(mode("new000.safetensors"), static_cast<fs::perms>(0666));
  EXPECT_EQ(mode("kept.safetensors"), static_cast<fs::perms>(0600));
}

TEST_F(CheckpointTest, SavingThroughASymlinkReplacesItsTarget) {
  Sequential model = MixedModel(Sgd{});
  fs::create_directory(Path("store"));
  SaveCheckpoint(model, Path("store/model.safetensors"));
  // A relative link to a relative link, as `ln -s` makes them.
  fs::create_symlink("store/model.safetensors", Path("latest.safetensors"));
  fs::create_symlink("latest.safetensors", Path("current.safetensors"));
  model.Fit(Data().x, Data().y, {.epochs = 1});
  SaveCheckpoint(model, Path("current.safetensors"));
  EXPECT_TRUE(fs::is_symlink(Path("current.safetensors")));
  EXPECT_TRUE(fs::is_symlink(Path("latest.safetensors")));
  ExpectSameModel(model, LoadCheckpoint(Path("store/model.safetensors"), Cpu()));
  // A dangling link gets its target created.
  fs::create_symlink("store/next.safetensors", Path("next.safetensors"));
  SaveCheckpoint(model, Path("next.safetensors"));
  EXPECT_TRUE(fs::is_symlink(Path("next.safetensors")));
  ExpectSameModel(model, LoadCheckpoint(Path("store/next.safetensors"), Cpu()));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 4);
  EXPECT_EQ(std::distance(fs::directory_iterator(Path("store")), fs::directory_iterator()), 2);
}

TEST_F(CheckpointTest, SavingRefusesToReplaceWhatIsNotARegularFile) {
  const Sequential model = MixedModel(Sgd{});
  ASSERT_EQ(mkfifo(Path("fifo").c_str(), 0600), 0);
  fs::create_directory(Path("folder"));
  fs::create_symlink("fifo", Path("link"));
  struct Case {
    std::string path;
    std::string expected;
  };
  std::vector<Case> cases = {
      {Path("fifo"), "cannot write '" + Path("fifo") + "': it is a FIFO, not a regular file"},
      {Path("folder"), "cannot write '" + Path("folder") + "': it is a directory"},
      {Path("link"), "cannot write '" + Path("fifo") + "' (the target of the link '" +
                         Path("link") + "'): it is a FIFO"}};
  // Only root can make a device node; a test run as root checks one as well (in the test's
  // folder, so that a failure cannot replace a real device).
  const bool device = mknod(Path("null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  if (device) {
    cases.push_back({Path("null"), "cannot write '" + Path("null") +
                                       "': it is a character device, not a regular file"});
  }
  for (const Case& c : cases) {
    EXPECT_NE(ErrorOf([&] { SaveCheckpoint(model, c.path); }).find(c.expected), std::string::npos)
        << c.path;
  }
  EXPECT_TRUE(fs::is_fifo(Path("fifo")));
  EXPECT_TRUE(fs::is_directory(Path("folder")));
  EXPECT_TRUE(fs::is_symlink(Path("link")));
  if (device) {
    EXPECT_TRUE(fs::is_character_file(Path("null")));
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 3 + device);
}

// A file written here opens in Hugging Face's safetensors with the values and metadata.
TEST_F(CheckpointTest, PythonSafetensorsReadsTheFile) {
  if (std::system("python3 -c 'import safetensors, numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "Python's safetensors and numpy are not importable (pip install "
                    "safetensors numpy to run this test)";
  }
  Sequential model = MixedModel(Adam{});
  model.Fit(Data().x, Data().y, {.epochs = 1});
  const std::string path = Path("model.safetensors");
  SaveCheckpoint(model, path);
  const std::string script = Path("read.py"), output = Path("out.txt");
  std::ofstream(script) << R"(import sys
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as f, open(sys.argv[2], "w") as out:
    out.write(f.metadata()["format"] + "\n")
    for name in sorted(f.keys()):
        t = f.get_tensor(name)
        out.write(name + " " + str(t.dtype) + " " + "x".join(map(str, t.shape)) + " " +
                  " ".join(repr(float(v)) for v in t.ravel()) + "\n")
)";
  ASSERT_EQ(std::system(("python3 " + script + " " + path + " " + output).c_str()), 0);
  std::ifstream in(output);
  std::string format;
  std::getline(in, format);
  EXPECT_EQ(format, "fanin.checkpoint/1");
  // Sorted names: layers.0.bias, layers.0.kernel, ..., optimizer.adam_m, optimizer.adam_v.
  std::vector<float> flat = model.Packed(model.parameters());
  std::vector<float> python_flat;
  std::string line;
  int tensors = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, dtype, shape;
    fields >> name >> dtype >> shape;
    EXPECT_EQ(dtype, "float32") << name;
    std::vector<float> values;
    for (double v; fields >> v;) values.push_back(static_cast<float>(v));
    ++tensors;
    if (name == "optimizer.adam_m") {
      EXPECT_EQ(values, model.Packed(model.optimizer_state()[0].second));
    } else if (name == "layers.0.kernel") {
      EXPECT_EQ(shape, "3x6");
      EXPECT_EQ(values, std::vector<float>(flat.begin(), flat.begin() + 18));
    }
  }
  EXPECT_EQ(tensors, 2 * 4 + 2);
}

}  // namespace
}  // namespace fanin
