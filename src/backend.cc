// The one composed default of the Backend interface (include/fanin/backend.h).
#include "fanin/backend.h"

namespace fanin {

void Backend::DenseForward(const Tensor& x, const Tensor& w, const Tensor& bias, Activation act,
                           Tensor& z, Tensor& a) {
  Gemm(x, false, w, false, 1.0f, 0.0f, z);
  BiasActivationForward(act, bias, z, a);
}

}  // namespace fanin
