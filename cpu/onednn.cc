#include "cpu/onednn.h"

#include <omp.h>

#include <stdexcept>
#include <string>
#include <unordered_map>

namespace fanin {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// oneDNN's OpenMP build runs on omp_get_max_threads() threads of the calling thread, fixed
// when a primitive is created and read again when it runs; this sets the backend's count
// for one call and gives the caller's setting back afterwards.
class OmpThreads {
 public:
  explicit OmpThreads(int n) : previous_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(previous_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int previous_;
};

[[noreturn]] void Rethrow(const dnnl::error& e, const std::string& what) {
  // dnnl_out_of_memory is the one status a user can act on; name it plainly.
  if (e.status == dnnl_out_of_memory) {
    throw std::runtime_error("CPU backend: out of memory in oneDNN " + what);
  }
  throw std::runtime_error("CPU backend: oneDNN " + what + " failed: " + e.what());
}

std::string GemmName(int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  return std::string("matmul ") + (ta ? "T" : "N") + (tb ? "T" : "N") + " m=" + std::to_string(m) +
         " n=" + std::to_string(n) + " k=" + std::to_string(k);
}

}  // namespace

OneDnn::OneDnn(int num_threads)
    : num_threads_(num_threads), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

void OneDnn::Primitive::Run(dnnl::stream& stream,
                            std::initializer_list<std::pair<int, const void*>> data) {
  for (const auto& [arg, pointer] : data) args.at(arg).set_data_handle(const_cast<void*>(pointer));
  primitive.execute(stream, args);
  stream.wait();
}

void OneDnn::Gemm(const float* a, bool transpose_a, const float* b, bool transpose_b,
                  const float* bias, float* c, int64_t m, int64_t n, int64_t k, float alpha,
                  float beta) {
  constexpr double kThreadedFlops = 1e6;
  const double flops =
      2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int threads = flops < kThreadedFlops ? 1 : num_threads_;
  OmpThreads scope(threads);
  const GemmKey key{m, n, k, transpose_a, transpose_b, bias != nullptr, alpha, beta, threads};
  auto it = gemms_.find(key);
  try {
    if (it == gemms_.end()) {
      // A transposed row-major operand is the untransposed one in column-major order (ba).
      const memory::desc a_md({m, k}, memory::data_type::f32, transpose_a ? Tag::ba : Tag::ab);
      const memory::desc b_md({k, n}, memory::data_type::f32, transpose_b ? Tag::ba : Tag::ab);
      const memory::desc c_md({m, n}, memory::data_type::f32, Tag::ab);
      const memory::desc bias_md =
          bias ? memory::desc({1, n}, memory::data_type::f32, Tag::ab) : memory::desc();
      dnnl::primitive_attr attr;
      if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
      if (beta != 0.0f) {
        dnnl::post_ops accumulate;  // c = scaled product + beta * (c as it was)
        accumulate.append_sum(beta);
        attr.set_post_ops(accumulate);
      }
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, bias_md, c_md), attr,
                                            engine_);
      Primitive p{dnnl::matmul(pd),
                  {{DNNL_ARG_SRC, memory(a_md, engine_, nullptr)},
                   {DNNL_ARG_WEIGHTS, memory(b_md, engine_, nullptr)},
                   {DNNL_ARG_DST, memory(c_md, engine_, nullptr)}}};
      if (bias) p.args.emplace(DNNL_ARG_BIAS, memory(bias_md, engine_, nullptr));
      it = gemms_.emplace(key, std::move(p)).first;
    }
    if (bias) {
      it->second.Run(
          stream_,
          {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}, {DNNL_ARG_BIAS, bias}});
    } else {
      it->second.Run(stream_, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    }
  } catch (const dnnl::error& e) {
    Rethrow(e, GemmName(m, n, k, transpose_a, transpose_b));
  }
}

void OneDnn::Eltwise(dnnl::algorithm f, float alpha, const float* src, float* dst, int64_t n) {
  constexpr int64_t kThreadedElements = int64_t{1} << 14;
  const int threads = n < kThreadedElements ? 1 : num_threads_;
  OmpThreads scope(threads);
  auto it = eltwises_.find({f, alpha, n, threads});
  try {
    if (it == eltwises_.end()) {
      const memory::desc md({n}, memory::data_type::f32, Tag::a);
      const dnnl::eltwise_forward::primitive_desc pd(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, f, md, alpha, 0.0f),
          engine_);
      it = eltwises_
               .emplace(std::tuple{f, alpha, n, threads},
                        Primitive{dnnl::eltwise_forward(pd),
                                  {{DNNL_ARG_SRC, memory(md, engine_, nullptr)},
                                   {DNNL_ARG_DST, memory(md, engine_, nullptr)}}})
               .first;
    }
    it->second.Run(stream_, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  } catch (const dnnl::error& e) {
    Rethrow(e, "eltwise over " + std::to_string(n) + " values");
  }
}

}  // namespace fanin
