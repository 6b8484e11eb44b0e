// Trains a tiny model through the installed package: proves headers, library and
// dependencies are all found by a downstream build.
#include <cstdio>

#include "fanin/fanin.h"

int main() {
  const fanin::Dataset data = fanin::Parabola(50);
  fanin::Sequential model;
  model.Add(fanin::Dense(4, "tanh", "glorot_normal"));
  model.Add(fanin::Dense(1));
  model.Compile();
  model.Build(2, 1);
  const fanin::History h = model.Fit(data.x, data.y, {.epochs = 2});
  std::printf("consumer: %lld parameters, loss %.4f\n",
              static_cast<long long>(model.parameter_count()), h.epochs.back().loss);
  return h.epochs.size() == 2 ? 0 : 1;
}
