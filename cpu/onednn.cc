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

void OneDnn::Gemm(const float* a, bool transpose_a, const float* b, bool transpose_b,
                  const float* bias, float* c, int64_t m, int64_t n, int64_t k, float alpha,
                  float beta) {
  OmpThreads threads(num_threads_);
  const GemmKey key{m, n, k, transpose_a, transpose_b, bias != nullptr, alpha, beta};
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
      it =
          gemms_
              .emplace(key, Gemm3{dnnl::matmul(pd), memory(a_md, engine_, nullptr),
                                  memory(b_md, engine_, nullptr), memory(bias_md, engine_, nullptr),
                                  memory(c_md, engine_, nullptr)})
              .first;
    }
    Gemm3& g = it->second;
    g.a.set_data_handle(const_cast<float*>(a));
    g.b.set_data_handle(const_cast<float*>(b));
    g.c.set_data_handle(c);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, g.a}, {DNNL_ARG_WEIGHTS, g.b}, {DNNL_ARG_DST, g.c}};
    if (bias != nullptr) {
      g.bias.set_data_handle(const_cast<float*>(bias));
      args.emplace(DNNL_ARG_BIAS, g.bias);
    }
    g.primitive.execute(stream_, args);
    stream_.wait();
  } catch (const dnnl::error& e) {
    Rethrow(e, GemmName(m, n, k, transpose_a, transpose_b));
  }
}

void OneDnn::Eltwise(dnnl::algorithm f, const float* src, float* dst, int64_t n) {
  OmpThreads threads(num_threads_);
  auto it = eltwises_.find({f, n});
  try {
    if (it == eltwises_.end()) {
      const memory::desc md({n}, memory::data_type::f32, Tag::a);
      const dnnl::eltwise_forward::primitive_desc pd(
          dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, f, md, 0.0f, 0.0f),
          engine_);
      it = eltwises_
               .emplace(std::tuple{f, n},
                        Eltwise2{dnnl::eltwise_forward(pd), memory(md, engine_, nullptr),
                                 memory(md, engine_, nullptr)})
               .first;
    }
    Eltwise2& e = it->second;
    e.src.set_data_handle(const_cast<float*>(src));
    e.dst.set_data_handle(dst);
    e.primitive.execute(stream_, {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_DST, e.dst}});
    stream_.wait();
  } catch (const dnnl::error& e) {
    Rethrow(e, "eltwise over " + std::to_string(n) + " values");
  }
}

}  // namespace fanin
