#include "bench/workloads.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace fanin::bench {

uint64_t SplitMix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double U01(uint64_t seed, uint64_t index) {
  return static_cast<double>(SplitMix64((seed << 32) + index) >> 40) * 0x1p-24;
}

double Sym(uint64_t seed, uint64_t index) { return 2.0 * U01(seed, index) - 1.0; }

const MlpWorkload& W1() {
  static const MlpWorkload w{.name = "W1",
                             .batch = 1000,
                             .input_features = 10,
                             .units = {100, 100, 100, 100, 100, 1},
                             .hidden_activation = Activation::kTanh,
                             .learning_rate = 0.01f,
                             .reference_losses = {0.7035533, 0.7032697, 0.7009814}};
  return w;
}

const MlpWorkload& W2() {
  static const MlpWorkload w{.name = "W2",
                             .batch = 1024,
                             .input_features = 256,
                             .units = {1024, 1024, 1024, 1024, 1},
                             .hidden_activation = Activation::kRelu,
                             .learning_rate = 0.01f,
                             .reference_losses = {0.6939884, 0.6938055, 0.6923519}};
  return w;
}

std::vector<float> Inputs(const MlpWorkload& workload) {
  const int64_t n = workload.batch * workload.input_features;
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = static_cast<float>(Sym(1, i));
  return x;
}

std::vector<float> Labels(const std::vector<float>& inputs, const MlpWorkload& workload) {
  std::vector<float> y(static_cast<size_t>(workload.batch));
  for (int64_t i = 0; i < workload.batch; ++i) {
    const size_t row = static_cast<size_t>(i * workload.input_features);
    y[static_cast<size_t>(i)] = inputs[row] * inputs[row + 1] > 0.0f ? 1.0f : 0.0f;
  }
  return y;
}

std::vector<float> FlatParameters(const MlpWorkload& workload) {
  std::vector<float> flat;
  int64_t in = workload.input_features;
  for (size_t l = 0; l < workload.units.size(); ++l) {
    const int64_t out = workload.units[l];
    const double limit = std::sqrt(6.0 / static_cast<double>(in + out));
    const size_t kernel = flat.size();
    flat.resize(kernel + static_cast<size_t>(in * out + out), 0.0f);  // bias stays 0
    // Spec weight W[o][k] (index o*in + k) lands at kernel[k][o].
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t k = 0; k < in; ++k) {
        flat[kernel + static_cast<size_t>(k * out + o)] =
            static_cast<float>(limit * Sym(100 + l, static_cast<uint64_t>(o * in + k)));
      }
    }
    in = out;
  }
  return flat;
}

std::vector<GemmShape> StepGemms(const MlpWorkload& workload) {
  std::vector<GemmShape> gemms;
  std::vector<int64_t> widths = {workload.input_features};
  widths.insert(widths.end(), workload.units.begin(), workload.units.end());
  const int64_t b = workload.batch;
  for (size_t l = 0; l + 1 < widths.size(); ++l) gemms.push_back({b, widths[l + 1], widths[l]});
  for (size_t l = widths.size() - 1; l-- > 0;) {
    const int64_t in = widths[l], out = widths[l + 1];
    gemms.push_back({in, out, b, true, false});
    if (l > 0) gemms.push_back({b, in, out, false, true});
  }
  return gemms;
}

double ForwardFlops(const MlpWorkload& workload) {
  double flops = 0.0;
  for (const GemmShape& g : StepGemms(workload)) {
    if (!g.transpose_a && !g.transpose_b) flops += g.flops();
  }
  return flops;
}

double StepFlops(const MlpWorkload& workload) { return 3.0 * ForwardFlops(workload); }

MlpInstance Instantiate(const MlpWorkload& workload, std::shared_ptr<Backend> backend) {
  Sequential model(backend);
  for (size_t l = 0; l < workload.units.size(); ++l) {
    const bool output = l + 1 == workload.units.size();
    model.Add(Dense(workload.units[l], output ? Activation::kLinear : workload.hidden_activation));
  }
  model.Compile(BinaryCrossEntropy({.from_logits = true}),
                Sgd{.learning_rate = workload.learning_rate});
  model.Build(workload.input_features);
  const std::vector<float> flat = FlatParameters(workload);
  if (model.parameter_count() != static_cast<int64_t>(flat.size())) {
    throw std::logic_error(workload.name + ": the model has " +
                           std::to_string(model.parameter_count()) + " parameters, the spec " +
                           std::to_string(flat.size()));
  }
  Tensor parameters = model.parameters();  // a handle: writes into the model's buffer
  model.Unpack(flat, parameters);
  const std::vector<float> x = Inputs(workload);
  const std::vector<float> y = Labels(x, workload);
  Tensor xt = Tensor::FromHost(backend, {workload.batch, workload.input_features}, x);
  Tensor yt = Tensor::FromHost(backend, {workload.batch, 1}, y);
  return {std::move(model), std::move(xt), std::move(yt)};
}

double MeanLoss(MlpInstance& instance) {
  return instance.model.Evaluate(instance.x, instance.y).loss;
}

std::vector<float> SquareGemmOperand(int64_t n, uint64_t seed) {
  std::vector<float> a(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n * n; ++i) {
    a[static_cast<size_t>(i)] = static_cast<float>(Sym(seed, static_cast<uint64_t>(i)));
  }
  return a;
}

}  // namespace fanin::bench
