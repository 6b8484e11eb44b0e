#include "ops/dispatch.h"

#include "ops/check.h"

namespace fanin::ops::internal {
namespace {

CallObserver observer = nullptr;
void* observer_context = nullptr;

}  // namespace

void SetCallObserver(CallObserver new_observer, void* context) {
  observer = new_observer;
  observer_context = context;
}

void NotifyCall(std::string_view op) {
  if (observer != nullptr) observer(op, observer_context);
}

Backend& OneBackend(std::string_view op, std::initializer_list<Arg> args) {
  Backend* backend = nullptr;
  std::string_view first;
  for (const Arg& arg : args) {
    if (arg.tensor == nullptr) continue;
    if (!arg.tensor->defined()) {
      throw std::invalid_argument(std::string(op) + ": " + std::string(arg.name) +
                                  " is an undefined tensor");
    }
    Backend& mine = arg.tensor->backend();
    if (backend == nullptr) {
      backend = &mine;
      first = arg.name;
    } else if (&mine != backend && !backend->SharesMemoryWith(mine)) {
      throw std::invalid_argument(std::string(op) + ": " + std::string(arg.name) + " lives on " +
                                  std::string(mine.name()) + " backend " + mine.Describe() + ", " +
                                  std::string(first) + " on " + std::string(backend->name()) +
                                  " backend " + backend->Describe() +
                                  "; an op's tensors must share a backend");
    }
  }
  if (backend == nullptr) throw std::logic_error(std::string(op) + ": no tensor given");
  return *backend;
}

}  // namespace fanin::ops::internal
