// Gradient checks: every layer and whole models, against central finite differences of a
// double-precision reference written plainly in this file (the ops' own gradients, the loss's
// included, are the Gradient cases of ops/<op>/test.cc).
//
// Method. The reference forward pass (double) is differentiated numerically with central
// differences, (f(p + eps) - f(p - eps)) / (2 eps), eps = 1e-5: the truncation error is
// eps^2/6 * |f'''| ~ 1e-11 and the rounding error ~ 1e-16 * |f| / eps ~ 1e-10, so the
// numerical derivative is exact to ~1e-9 for the O(1) functions here. The library's
// gradients are float32; with at most a few dozen O(1) terms per sum, their error is of
// order sqrt(terms) * 2^-24 ~ 1e-6 relative (worst case terms * 2^-24 ~ 1e-5). The test
// tolerance is 1e-4 relative to the largest gradient component: 10x above the float32
// worst case, while a real bug (a wrong derivative, a missing factor or term, a transposed
// product, a wrong sign, gradients accumulated instead of written) errs by 10-100%.
// The reference forward pass is also compared with the library's, so the function that is
// differentiated is the function the library computes.

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fanin/fanin.h"
#include "test_util.h"

namespace fanin {
namespace {

using testing::Cpu;
using testing::MakeTensor;
using testing::RandomFloats;
using testing::RefActivation;

constexpr double kEps = 1e-5;
constexpr double kRelTol = 1e-4;

// Central difference of f with respect to each element of p (p is restored afterwards).
std::vector<double> NumericalGradient(std::vector<double>& p, const std::function<double()>& f) {
  std::vector<double> g(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const double saved = p[i];
    p[i] = saved + kEps;
    const double plus = f();
    p[i] = saved - kEps;
    const double minus = f();
    p[i] = saved;
    g[i] = (plus - minus) / (2 * kEps);
  }
  return g;
}

double MaxAbs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// |actual - expected| <= kRelTol * max|expected| (+ a floor for all-zero gradients).
void ExpectClose(const std::vector<float>& actual, const std::vector<double>& expected,
                 const std::string& what, double rel_tol = kRelTol) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  const double tol = rel_tol * std::max(MaxAbs(expected), 1e-3);
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tol) << what << " element " << i;
  }
}

// ---- Dense ----------------------------------------------------------------------------------

// Drives one Dense layer by hand: parameters in tensors this test owns, a scalar loss
// L = sum(r .* y) so that dL/dy = r is the upstream gradient given to Backward.
TEST(GradientTest, DenseEachActivation) {
  const auto backend = Cpu();
  const int64_t n = 7, in = 4, out = 3;
  for (Activation act : kActivations) {
    SCOPED_TRACE(std::string(ActivationName(act)));
    // Inputs; for relu, redraw until every pre-activation is at least 0.1 away from the
    // kink (a perturbation of 1e-5 then never crosses it).
    std::vector<double> x, w, b;
    const std::vector<double> r = testing::ToDouble(RandomFloats(n * out, -1, 1, 99));
    for (uint32_t seed = 1;; ++seed) {
      x = testing::ToDouble(RandomFloats(n * in, -1, 1, seed));
      w = testing::ToDouble(RandomFloats(in * out, -1, 1, seed + 1000));
      b = testing::ToDouble(RandomFloats(out, -0.5, 0.5, seed + 2000));
      bool far = true;
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < out; ++j) {
          double z = b[j];
          for (int64_t k = 0; k < in; ++k) z += x[i * in + k] * w[k * out + j];
          far = far && std::fabs(z) > 0.1;
        }
      }
      if (act != Activation::kRelu || far) break;
    }

    // Reference: L = sum_ij r_ij act(sum_k x_ik w_kj + b_j), and its output y.
    std::vector<double> y_ref(n * out);
    auto loss = [&]() {
      double total = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < out; ++j) {
          double z = b[j];
          for (int64_t k = 0; k < in; ++k) z += x[i * in + k] * w[k * out + j];
          y_ref[i * out + j] = RefActivation(act, z);
          total += r[i * out + j] * y_ref[i * out + j];
        }
      }
      return total;
    };
    loss();
    const std::vector<double> y_expected = y_ref;
    const std::vector<double> dw_ref = NumericalGradient(w, loss);
    const std::vector<double> db_ref = NumericalGradient(b, loss);
    const std::vector<double> dx_ref = NumericalGradient(x, loss);

    Dense dense(out, act);
    ASSERT_EQ(dense.Build(backend, in), out);
    const std::vector<ParameterSpec> specs = dense.Parameters();
    ASSERT_EQ(specs.size(), 2u);
    ASSERT_EQ(specs[0].shape, (Shape{in, out}));
    ASSERT_EQ(specs[1].shape, (Shape{out}));
    const std::vector<Tensor> values = {
        MakeTensor(backend, {in, out}, std::vector<float>(w.begin(), w.end())),
        MakeTensor(backend, {out}, std::vector<float>(b.begin(), b.end()))};
    std::vector<Tensor> grads = {Tensor(backend, {in, out}), Tensor(backend, {out})};
    dense.BindParameters(values, grads);

    const Tensor xt = MakeTensor(backend, {n, in}, std::vector<float>(x.begin(), x.end()));
    const Tensor& y = dense.Forward(xt);
    EXPECT_EQ(y.shape(), (Shape{n, out}));
    ExpectClose(y.ToHost(), y_expected, "forward", 1e-5);

    Tensor dy = MakeTensor(backend, {n, out}, std::vector<float>(r.begin(), r.end()));
    const Tensor* dx = dense.Backward(dy, /*need_input_grad=*/true);
    ASSERT_NE(dx, nullptr);
    EXPECT_EQ(dx->shape(), (Shape{n, in}));
    ExpectClose(grads[0].ToHost(), dw_ref, "kernel grad");
    ExpectClose(grads[1].ToHost(), db_ref, "bias grad");
    ExpectClose(dx->ToHost(), dx_ref, "input grad");

    // What the layer exposes for hooks is what it computed with.
    const LayerTensors lt = dense.tensors();
    ASSERT_NE(lt["kernel"], nullptr);
    ASSERT_NE(lt["bias"], nullptr);
    ASSERT_NE(lt["kernel_grad"], nullptr);
    ASSERT_NE(lt["bias_grad"], nullptr);
    ASSERT_NE(lt["z"], nullptr);
    ASSERT_NE(lt["activation"], nullptr);
    EXPECT_EQ(lt["kernel"]->ToHost(), values[0].ToHost());
    EXPECT_EQ(lt["bias"]->ToHost(), values[1].ToHost());
    EXPECT_EQ(lt["kernel_grad"]->ToHost(), grads[0].ToHost());
    EXPECT_EQ(lt["bias_grad"]->ToHost(), grads[1].ToHost());
    ExpectClose(lt["activation"]->ToHost(), y_expected, "exposed activation", 1e-5);

    // Backward writes (not accumulates) the gradients, and skips dx when not needed.
    dense.Forward(xt);
    Tensor dy2 = MakeTensor(backend, {n, out}, std::vector<float>(r.begin(), r.end()));
    EXPECT_EQ(dense.Backward(dy2, /*need_input_grad=*/false), nullptr);
    ExpectClose(grads[0].ToHost(), dw_ref, "kernel grad, second pass");
    ExpectClose(grads[1].ToHost(), db_ref, "bias grad, second pass");
  }
}

// The pre-activation z the layer exposes is x W + b (before the activation).
TEST(GradientTest, DenseExposesPreActivation) {
  const auto backend = Cpu();
  Dense dense(2, Activation::kTanh);
  dense.Build(backend, 3);
  const std::vector<float> w = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f};
  const std::vector<float> b = {0.1f, -0.2f};
  const std::vector<Tensor> values = {MakeTensor(backend, {3, 2}, w), MakeTensor(backend, {2}, b)};
  const std::vector<Tensor> grads = {Tensor(backend, {3, 2}), Tensor(backend, {2})};
  dense.BindParameters(values, grads);
  const std::vector<float> x = {1.0f, 2.0f, -1.0f};
  dense.Forward(MakeTensor(backend, {1, 3}, x));
  const LayerTensors lt = dense.tensors();
  ASSERT_NE(lt["z"], nullptr);
  const std::vector<float> z = lt["z"]->ToHost();
  const double z0 = 0.1 + 1.0 * 0.5 + 2.0 * 0.25 - 1.0 * -0.75;  // 1.85
  const double z1 = -0.2 + 1.0 * -1.0 + 2.0 * 2.0 - 1.0 * 1.5;   // 1.3
  EXPECT_NEAR(z[0], z0, 1e-6);
  EXPECT_NEAR(z[1], z1, 1e-6);
  const std::vector<float> a = lt["activation"]->ToHost();
  EXPECT_NEAR(a[0], std::tanh(z0), 1e-6);
  EXPECT_NEAR(a[1], std::tanh(z1), 1e-6);
  ASSERT_NE(lt["input"], nullptr);
  EXPECT_EQ(lt["input"]->ToHost(), x);
}

// ---- ActivationLayer
// ------------------------------------------------------------------------------

TEST(GradientTest, ActivationLayerEach) {
  const auto backend = Cpu();
  const int64_t n = 7, k = 5;
  for (Activation act : kActivations) {
    SCOPED_TRACE(std::string(ActivationName(act)));
    std::vector<double> x = testing::ToDouble(RandomFloats(n * k, -3, 3, 5));
    if (act == Activation::kRelu) {
      for (double& v : x) v = v >= 0 ? v + 0.1 : v - 0.1;  // away from the kink
    }
    const std::vector<double> r = testing::ToDouble(RandomFloats(n * k, -1, 1, 6));
    auto loss = [&]() {
      double total = 0.0;
      for (size_t i = 0; i < x.size(); ++i) total += r[i] * RefActivation(act, x[i]);
      return total;
    };
    const std::vector<double> dx_ref = NumericalGradient(x, loss);
    std::vector<double> y_ref(x.size());
    for (size_t i = 0; i < x.size(); ++i) y_ref[i] = RefActivation(act, x[i]);

    ActivationLayer layer(act);
    ASSERT_EQ(layer.Build(backend, k), k);
    EXPECT_TRUE(layer.Parameters().empty());
    const Tensor xt = MakeTensor(backend, {n, k}, std::vector<float>(x.begin(), x.end()));
    const Tensor& y = layer.Forward(xt);
    EXPECT_EQ(y.shape(), (Shape{n, k}));
    ExpectClose(y.ToHost(), y_ref, "forward", 1e-5);
    Tensor dy = MakeTensor(backend, {n, k}, std::vector<float>(r.begin(), r.end()));
    const Tensor* dx = layer.Backward(dy, true);
    ASSERT_NE(dx, nullptr);
    ExpectClose(dx->ToHost(), dx_ref, "input grad");
    const LayerTensors lt = layer.tensors();
    EXPECT_EQ(lt["kernel"], nullptr);
    EXPECT_EQ(lt["bias"], nullptr);
  }
}

TEST(GradientTest, ActivationLayerByName) {
  EXPECT_EQ(ActivationLayer("relu").Describe(), ActivationLayer(Activation::kRelu).Describe());
  EXPECT_THROW(ActivationLayer("softmax"), std::invalid_argument);
}

// ---- Whole models
// -----------------------------------------------------------------------------------

// A plain description of a model for the reference forward pass.
struct RefLayer {
  bool dense;
  int64_t in, out;
  Activation act;
};

// Mean BCE of the model over (x, y), from the flat parameter buffer laid out as each Dense
// layer's kernel [in x out] row-major, then its bias [out], in layer order.
double ReferenceLoss(const std::vector<RefLayer>& layers, const std::vector<double>& params,
                     const std::vector<double>& x, const std::vector<double>& y, int64_t n,
                     bool from_logits, std::vector<double>* hidden_z = nullptr) {
  double total = 0.0;
  for (int64_t s = 0; s < n; ++s) {
    std::vector<double> h(x.begin() + s * layers[0].in, x.begin() + (s + 1) * layers[0].in);
    size_t offset = 0;
    for (const RefLayer& l : layers) {
      std::vector<double> next(l.out);
      for (int64_t j = 0; j < l.out; ++j) {
        double z;
        if (l.dense) {
          z = params[offset + l.in * l.out + j];
          for (int64_t k = 0; k < l.in; ++k) z += h[k] * params[offset + k * l.out + j];
        } else {
          z = h[j];
        }
        if (hidden_z != nullptr && &l != &layers.back()) hidden_z->push_back(z);
        next[j] = RefActivation(l.act, z);
      }
      if (l.dense) offset += l.in * l.out + l.out;
      h = std::move(next);
    }
    total +=
        from_logits ? testing::RefBceLogit(h[0], y[s]) : testing::RefBceProbability(h[0], y[s]);
  }
  return total / n;
}

// Checks a built model's layout (parameter views at the offsets the reference assumes),
// its loss, and its parameter gradients against the reference.
void CheckModelGradients(Sequential& model, const std::vector<RefLayer>& layers, bool from_logits,
                         int64_t n, uint32_t data_seed) {
  const auto backend = model.backend_ptr();
  const int64_t in = layers[0].in;

  // Layout: each Dense layer's kernel and bias are views into the flat buffers at the
  // offsets of the documented order, each rounded up to kParameterAlignment floats (the CPU
  // backend's data() is a host pointer).
  ASSERT_EQ(model.num_layers(), layers.size());
  auto align = [](int64_t offset) {
    return (offset + kParameterAlignment - 1) / kParameterAlignment * kParameterAlignment;
  };
  int64_t offset = 0, count = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerTensors lt = model.layer(i).tensors();
    if (!layers[i].dense) {
      EXPECT_EQ(lt["kernel"], nullptr);
      continue;
    }
    const RefLayer& l = layers[i];
    ASSERT_NE(lt["kernel"], nullptr);
    ASSERT_NE(lt["bias"], nullptr);
    EXPECT_EQ(lt["kernel"]->shape(), (Shape{l.in, l.out}));
    EXPECT_EQ(lt["bias"]->shape(), (Shape{l.out}));
    const int64_t bias_offset = align(offset + l.in * l.out);
    EXPECT_EQ(lt["kernel"]->data(), model.parameters().data() + offset) << "layer " << i;
    EXPECT_EQ(lt["bias"]->data(), model.parameters().data() + bias_offset);
    if (lt["kernel_grad"] != nullptr) {
      EXPECT_EQ(lt["kernel_grad"]->data(), model.gradients().data() + offset);
    }
    offset = align(bias_offset + l.out);
    count += l.in * l.out + l.out;
  }
  ASSERT_EQ(model.parameter_count(), count);
  ASSERT_EQ(model.parameters().size(), offset);

  std::vector<double> x = testing::ToDouble(RandomFloats(n * in, -1.5, 1.5, data_seed));
  std::vector<double> y(n);
  const std::vector<float> coin = RandomFloats(n, 0, 1, data_seed + 1);
  for (int64_t i = 0; i < n; ++i) y[i] = coin[i] > 0.5f ? 1.0 : 0.0;
  std::vector<double> params = testing::ToDouble(model.Packed(model.parameters()));

  // Relu layers: the reference is only differentiable if no hidden z sits on a kink.
  std::vector<double> hidden_z;
  ReferenceLoss(layers, params, x, y, n, from_logits, &hidden_z);
  for (double z : hidden_z) ASSERT_GT(std::fabs(z), 1e-3) << "test data too close to a kink";

  auto loss = [&]() { return ReferenceLoss(layers, params, x, y, n, from_logits); };
  const double loss_ref = loss();
  const std::vector<double> grad_ref = NumericalGradient(params, loss);

  const std::vector<float> params_before = model.parameters().ToHost();
  const Tensor xt = MakeTensor(backend, {n, in}, std::vector<float>(x.begin(), x.end()));
  const Tensor yt = MakeTensor(backend, {n, 1}, std::vector<float>(y.begin(), y.end()));
  const double loss_model = model.ComputeGradients(xt, yt);
  EXPECT_NEAR(loss_model, loss_ref, 1e-5 * loss_ref);
  ExpectClose(model.Packed(model.gradients()), grad_ref, "parameter gradients");
  EXPECT_EQ(model.parameters().ToHost(), params_before) << "ComputeGradients must not update";
}

TEST(GradientTest, SequentialTanhFromLogits) {
  Sequential model(Cpu());
  // Non-zero biases, so that a bias the forward pass ignored would show in the loss.
  model.Add(
      Dense(5, Activation::kTanh, Initializer::GlorotUniform(), Initializer::Uniform(-0.5, 0.5)));
  model.Add(
      Dense(4, Activation::kTanh, Initializer::GlorotUniform(), Initializer::Uniform(-0.5, 0.5)));
  model.Add(
      Dense(1, Activation::kLinear, Initializer::GlorotUniform(), Initializer::Uniform(-0.5, 0.5)));
  model.Compile(BinaryCrossEntropy({.from_logits = true}), Sgd{});
  model.Build(3, /*seed=*/17);
  CheckModelGradients(model,
                      {{true, 3, 5, Activation::kTanh},
                       {true, 5, 4, Activation::kTanh},
                       {true, 4, 1, Activation::kLinear}},
                      /*from_logits=*/true, /*n=*/9, /*data_seed=*/31);
}

TEST(GradientTest, SequentialReluSigmoidFromProbabilities) {
  Sequential model(Cpu());
  model.Add(Dense(6, Activation::kRelu, Initializer::HeUniform(), Initializer::Uniform(-0.3, 0.3)));
  model.Add(Dense(1, Activation::kSigmoid, Initializer::GlorotUniform(),
                  Initializer::Uniform(-0.3, 0.3)));
  model.Compile(BinaryCrossEntropy({.from_logits = false}), Adam{});
  model.Build(3, /*seed=*/5);
  CheckModelGradients(model, {{true, 3, 6, Activation::kRelu}, {true, 6, 1, Activation::kSigmoid}},
                      /*from_logits=*/false, /*n=*/11, /*data_seed=*/41);
}

TEST(GradientTest, SequentialWithActivationLayers) {
  Sequential model(Cpu());
  model.Add(
      Dense(4, Activation::kLinear, Initializer::GlorotNormal(), Initializer::Uniform(-0.5, 0.5)));
  model.Add(ActivationLayer(Activation::kSigmoid));
  model.Add(
      Dense(3, Activation::kLinear, Initializer::GlorotNormal(), Initializer::Uniform(-0.5, 0.5)));
  model.Add(ActivationLayer("tanh"));
  model.Add(Dense(1));
  model.Compile();
  model.Build(2, /*seed=*/3);
  CheckModelGradients(model,
                      {{true, 2, 4, Activation::kLinear},
                       {false, 4, 4, Activation::kSigmoid},
                       {true, 4, 3, Activation::kLinear},
                       {false, 3, 3, Activation::kTanh},
                       {true, 3, 1, Activation::kLinear}},
                      /*from_logits=*/true, /*n=*/7, /*data_seed=*/51);
}

}  // namespace
}  // namespace fanin
