// How an op finds its implementation: each backend's implementation of an op registers itself,
// under the backend's C++ type, from its own file (ops/<op>/cpu.cc, ops/<op>/cuda.cu) when the
// library loads; the op's front function (ops/<op>/<op>.cc) validates the arguments once and
// calls the implementation registered for the type of the backend the tensors live on. So the
// backends know no op, and an op knows its backends only through this table.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <vector>

#include "fanin/backend.h"
#include "fanin/tensor.h"

namespace fanin::ops::internal {

// Called with the op's name on each op call, when set (the tests count a step's calls with it).
using CallObserver = void (*)(std::string_view op, void* context);
void SetCallObserver(CallObserver observer, void* context);
void NotifyCall(std::string_view op);

// `Op` is a tag struct naming one op and its implementation's signature:
//   struct GemmOp { static constexpr char kName[] = "Gemm"; using Fn = void(Backend&, ...); };
template <typename Op>
class Kernels {
 public:
  using Fn = typename Op::Fn;

  // Registers `fn` as Op on backends of type `BackendType`; returns true (for an initializer).
  template <typename BackendType>
  static bool Register(Fn* fn) {
    Table().emplace_back(std::type_index(typeid(BackendType)), fn);
    return true;
  }

  // The implementation for `backend`; std::logic_error naming the op and the backend when
  // that backend has none (an op added to one backend only).
  static Fn* For(const Backend& backend) {
    const std::type_index type(typeid(backend));
    for (const auto& [registered, fn] : Table()) {
      if (registered == type) return fn;
    }
    throw std::logic_error(std::string(Op::kName) + ": no implementation for the " +
                           std::string(backend.name()) + " backend in this build");
  }

 private:
  static std::vector<std::pair<std::type_index, Fn*>>& Table() {
    static std::vector<std::pair<std::type_index, Fn*>> table;
    return table;
  }
};

// Runs the implementation of Op for `backend`, after the call has been validated.
template <typename Op, typename... Args>
decltype(auto) Run(Backend& backend, Args&&... args) {
  NotifyCall(Op::kName);
  return Kernels<Op>::For(backend)(backend, std::forward<Args>(args)...);
}

}  // namespace fanin::ops::internal
