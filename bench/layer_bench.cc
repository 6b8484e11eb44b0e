// The pieces of a training step, one at a time, on W1's and W2's hidden-layer shapes:
// Dense forward and backward, the fused bias+activation pass and the fused activation
// backward + bias-gradient reduction (fanin's kernels against cuDNN's on a GPU), the fused
// sigmoid-BCE, and the optimizer updates over a whole flat parameter buffer.
#include <string>

#include "bench/bench_util.h"
#include "bench/workloads.h"
#include "fanin/ops.h"

namespace fanin::bench {
namespace {

Tensor Uniform(const std::shared_ptr<Backend>& backend, Shape shape, double lo, double hi,
               uint32_t stream) {
  Tensor t(backend, std::move(shape));
  ops::FillRandom(t, {.a = lo, .b = hi, .seed = 3, .stream = stream});
  return t;
}

// A hidden layer of W1 or W2: batch x in -> units.
struct LayerShape {
  std::string label;
  int64_t batch, in, units;
  Activation activation;
};
const LayerShape kW1Hidden{"W1_hidden", 1000, 100, 100, Activation::kTanh};
const LayerShape kW2Hidden{"W2_hidden", 1024, 1024, 1024, Activation::kRelu};

// A Dense layer bound to its own parameter tensors, as a model would bind it.
struct BoundDense {
  Dense layer;
  Tensor values[2], grads[2];
  BoundDense(const std::shared_ptr<Backend>& backend, const LayerShape& s)
      : layer(s.units, s.activation) {
    layer.Build(backend, s.in);
    values[0] = Uniform(backend, {s.in, s.units}, -0.1, 0.1, 0);
    values[1] = Uniform(backend, {s.units}, -0.1, 0.1, 1);
    grads[0] = Tensor(backend, {s.in, s.units});
    grads[1] = Tensor(backend, {s.units});
    layer.BindParameters(values, grads);
  }
};

void RegisterDense(const Device& device, const LayerShape& s) {
  const double forward_flops = 2.0 * static_cast<double>(s.batch * s.in * s.units);
  const std::string suffix = s.label + "/" + device.label;
  benchmark::RegisterBenchmark(
      ("Dense/forward/" + suffix).c_str(),
      [=](benchmark::State& state) {
        BoundDense dense(device.backend, s);
        const Tensor x = Uniform(device.backend, {s.batch, s.in}, -1.0, 1.0, 2);
        for (auto _ : state) {
          dense.layer.Forward(x);
          device.backend->Synchronize();
        }
        SetRates(state, forward_flops, 0, static_cast<double>(s.batch));
      })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);

  benchmark::RegisterBenchmark(
      ("Dense/backward/" + suffix).c_str(),
      [=](benchmark::State& state) {
        BoundDense dense(device.backend, s);
        const Tensor x = Uniform(device.backend, {s.batch, s.in}, -1.0, 1.0, 2);
        const Tensor dy_source = Uniform(device.backend, {s.batch, s.units}, -1e-3, 1e-3, 3);
        Tensor dy(device.backend, {s.batch, s.units});
        dense.layer.Forward(x);
        for (auto _ : state) {
          // Backward overwrites dy with dz; a fresh copy each time keeps repeated products of
          // act' from decaying into denormals. The copy is included (one pass over dy).
          device.backend->CopyOnDevice(dy_source.data(), dy.data(), dy.size());
          dense.layer.Backward(dy, /*need_input_grad=*/true);
          device.backend->Synchronize();
        }
        SetRates(state, 2.0 * forward_flops, 0, static_cast<double>(s.batch));
      })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

void RegisterActivation(const Device& device, const LayerShape& s, Activation act) {
  const double n = static_cast<double>(s.batch * s.units);
  const std::string suffix = std::string(ActivationName(act)) + "/" + std::to_string(s.batch) +
                             "x" + std::to_string(s.units) + "/" + device.label;
  // z += bias; a = act(z): reads z, writes z and a (the bias is cache-resident).
  benchmark::RegisterBenchmark(
      ("Activation/bias_forward/" + suffix).c_str(),
      [=](benchmark::State& state) {
        Tensor z = Uniform(device.backend, {s.batch, s.units}, -3.0, 3.0, 4);
        Tensor a(device.backend, {s.batch, s.units});
        Tensor bias(device.backend, {s.units});
        ops::Fill(bias, 0.0f);  // zero, so that z stays the same however many runs
        for (auto _ : state) {
          ops::BiasActivationForward(act, bias, z, a);
          device.backend->Synchronize();
        }
        SetRates(state, 0, 3.0 * 4.0 * n, 0);
      })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);

  // dz = da * act'(z, a) and db = column sums of dz: reads z, a, da, writes dz.
  benchmark::RegisterBenchmark(
      ("Activation/backward_bias_grad/" + suffix).c_str(),
      [=](benchmark::State& state) {
        const Tensor z = Uniform(device.backend, {s.batch, s.units}, -3.0, 3.0, 4);
        Tensor a(device.backend, {s.batch, s.units});
        ops::ActivationForward(act, z, a);
        const Tensor da = Uniform(device.backend, {s.batch, s.units}, -1.0, 1.0, 5);
        Tensor dz(device.backend, {s.batch, s.units});
        Tensor bias_grad(device.backend, {s.units});
        for (auto _ : state) {
          ops::ActivationBackward(act, z, a, da, dz, &bias_grad);
          device.backend->Synchronize();
        }
        SetRates(state, 0, 4.0 * 4.0 * n, 0);
      })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

void RegisterBce(const Device& device, int64_t n) {
  const std::string name = "Bce/logits/n:" + std::to_string(n) + "/" + device.label;
  benchmark::RegisterBenchmark(
      name.c_str(),
      [=](benchmark::State& state) {
        const Tensor logits = Uniform(device.backend, {n, 1}, -4.0, 4.0, 6);
        std::vector<float> labels(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = static_cast<float>(i % 2);
        const Tensor y = Tensor::FromHost(device.backend, {n, 1}, labels);
        Tensor grad(device.backend, {n, 1});
        Tensor totals(device.backend, {2});
        for (auto _ : state) {
          ops::BinaryCrossEntropy(BceInput::kLogits, 0.0f, logits, y, 1.0f / static_cast<float>(n),
                                  &grad, totals, 0);
          device.backend->Synchronize();
        }
        SetRates(state, 0, 3.0 * 4.0 * static_cast<double>(n), static_cast<double>(n));
      })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

int64_t ParameterCount(const MlpWorkload& w) {
  int64_t count = 0, in = w.input_features;
  for (int64_t out : w.units) {
    count += in * out + out;
    in = out;
  }
  return count;
}

void RegisterOptimizers(const Device& device, const MlpWorkload& workload) {
  const int64_t n = ParameterCount(workload);
  const std::string suffix = workload.name + "_params/" + device.label;
  benchmark::RegisterBenchmark(("Optimizer/sgd/" + suffix).c_str(),
                               [=](benchmark::State& state) {
                                 Tensor p = Uniform(device.backend, {n}, -0.1, 0.1, 7);
                                 const Tensor g = Uniform(device.backend, {n}, -1e-3, 1e-3, 8);
                                 for (auto _ : state) {
                                   ops::SgdUpdate({.learning_rate = 0.01f}, p, g, nullptr);
                                   device.backend->Synchronize();
                                 }
                                 SetRates(state, 0, 3.0 * 4.0 * static_cast<double>(n), 0);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);

  benchmark::RegisterBenchmark(("Optimizer/adam/" + suffix).c_str(),
                               [=](benchmark::State& state) {
                                 Tensor p = Uniform(device.backend, {n}, -0.1, 0.1, 7);
                                 const Tensor g = Uniform(device.backend, {n}, -1e-3, 1e-3, 8);
                                 Tensor m(device.backend, {n}), v(device.backend, {n});
                                 ops::Fill(m, 0.0f);
                                 ops::Fill(v, 0.0f);
                                 AdamStep step;
                                 for (auto _ : state) {
                                   ops::AdamUpdate(step, p, g, m, v);
                                   ++step.t;
                                   device.backend->Synchronize();
                                 }
                                 SetRates(state, 0, 7.0 * 4.0 * static_cast<double>(n), 0);
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

void RegisterLayerBenchmarks(const std::vector<Device>& devices,
                             const std::vector<Device>& cudnn_devices) {
  for (const Device& d : devices) {
    RegisterDense(d, kW1Hidden);
    RegisterDense(d, kW2Hidden);
  }
  std::vector<Device> activation_devices = devices;
  activation_devices.insert(activation_devices.end(), cudnn_devices.begin(), cudnn_devices.end());
  for (const Device& d : activation_devices) {
    for (const LayerShape& s : {kW1Hidden, kW2Hidden}) {
      for (Activation act : {Activation::kTanh, Activation::kSigmoid, Activation::kRelu}) {
        RegisterActivation(d, s, act);
      }
    }
  }
  for (const Device& d : devices) {
    for (int64_t n : {1000, 1024, 1 << 20}) RegisterBce(d, n);
    RegisterOptimizers(d, W1());
    RegisterOptimizers(d, W2());
  }
}

}  // namespace fanin::bench
