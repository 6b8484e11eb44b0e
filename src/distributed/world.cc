#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>

#include "fanin/distributed.h"

#if defined(FANIN_HAS_MPI)
#include <mpi.h>
#endif

namespace fanin::distributed {
namespace {

#if defined(FANIN_HAS_MPI)
// Each rank sets MPI_ERRORS_RETURN on the world, so a failed call becomes an exception,
// which World::Run turns into a message and an abort of the whole job.
void Check(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw std::runtime_error(std::string(call) + " failed: " + std::string(text, length));
}

// Whether a launcher started this process. Without one, MPI_Init would start a singleton
// job (Open MPI forks a helper daemon for it), a cost and a failure mode that a process
// alone has no use for.
bool LaunchedByMpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  return false;
}

template <typename T>
MPI_Datatype DatatypeOf();
template <>
MPI_Datatype DatatypeOf<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype DatatypeOf<double>() {
  return MPI_DOUBLE;
}
template <>
MPI_Datatype DatatypeOf<uint64_t>() {
  return MPI_UINT64_T;
}

// MPI counts are int.
int CheckedCount(size_t count, const char* what) {
  if (count > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw std::length_error(std::string(what) + ": " + std::to_string(count) +
                            " elements exceed MPI's int count");
  }
  return static_cast<int>(count);
}
#endif

template <typename T>
std::vector<T> AllGatherImpl([[maybe_unused]] bool uses_mpi, [[maybe_unused]] int size,
                             std::span<const T> values) {
#if defined(FANIN_HAS_MPI)
  if (uses_mpi) {
    std::vector<T> all(values.size() * static_cast<size_t>(size));
    const int count = CheckedCount(values.size(), "World::AllGather");
    Check(MPI_Allgather(values.data(), count, DatatypeOf<T>(), all.data(), count, DatatypeOf<T>(),
                        MPI_COMM_WORLD),
          "MPI_Allgather");
    return all;
  }
#endif
  return {values.begin(), values.end()};
}

}  // namespace

World::World([[maybe_unused]] int* argc, [[maybe_unused]] char*** argv) {
#if defined(FANIN_HAS_MPI)
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && !LaunchedByMpi()) return;
  if (!initialized) {
    // FUNNELED: only the main thread calls MPI; the backends' worker threads never do.
    int provided = 0;
    Check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    finalize_mpi_ = true;
  }
  uses_mpi_ = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  Check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  Check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
#endif
}

World::~World() {
#if defined(FANIN_HAS_MPI)
  if (finalize_mpi_) MPI_Finalize();
#endif
}

bool World::BuiltWithMpi() {
#if defined(FANIN_HAS_MPI)
  return true;
#else
  return false;
#endif
}

int World::Run(const std::function<int()>& body) const {
  try {
    return body();
  } catch (const std::exception& e) {
    Abort(e.what());
  } catch (...) {
    Abort("an exception that is not a std::exception");
  }
}

void World::Abort(const std::string& message, int code) const {
  std::fprintf(stderr, "fanin: rank %d of %d failed: %s\n", rank_, size_, message.c_str());
  std::fflush(stderr);
#if defined(FANIN_HAS_MPI)
  if (uses_mpi_) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

void World::Barrier() const {
#if defined(FANIN_HAS_MPI)
  if (uses_mpi_) Check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
#endif
}

std::vector<float> World::AllGather(std::span<const float> values) const {
  return AllGatherImpl(uses_mpi_, size_, values);
}
std::vector<double> World::AllGather(std::span<const double> values) const {
  return AllGatherImpl(uses_mpi_, size_, values);
}
std::vector<uint64_t> World::AllGather(std::span<const uint64_t> values) const {
  return AllGatherImpl(uses_mpi_, size_, values);
}

void World::AllReduceSum([[maybe_unused]] std::span<float> values) const {
#if defined(FANIN_HAS_MPI)
  if (uses_mpi_) {
    Check(MPI_Allreduce(MPI_IN_PLACE, values.data(),
                        CheckedCount(values.size(), "World::AllReduceSum"), MPI_FLOAT, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
  }
#endif
}

std::vector<std::string> World::Gather(const std::string& blob, int root) const {
  if (root < 0 || root >= size_) {
    throw std::invalid_argument("World::Gather: root " + std::to_string(root) + " of " +
                                std::to_string(size_) + " ranks");
  }
#if defined(FANIN_HAS_MPI)
  if (uses_mpi_) {
    // The sizes first, so that root can place every rank's bytes.
    const int length = CheckedCount(blob.size(), "World::Gather");
    std::vector<int> lengths(rank_ == root ? static_cast<size_t>(size_) : 0);
    Check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, MPI_COMM_WORLD),
          "MPI_Gather");
    std::vector<int> offsets(lengths.size());
    size_t total = 0;
    for (size_t r = 0; r < lengths.size(); ++r) {
      offsets[r] = CheckedCount(total, "World::Gather");
      total += static_cast<size_t>(lengths[r]);
    }
    std::string all(total, '\0');
    Check(MPI_Gatherv(blob.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(),
                      MPI_CHAR, root, MPI_COMM_WORLD),
          "MPI_Gatherv");
    std::vector<std::string> blobs;
    for (size_t r = 0; r < lengths.size(); ++r) {
      blobs.push_back(all.substr(static_cast<size_t>(offsets[r]), static_cast<size_t>(lengths[r])));
    }
    return blobs;
  }
#endif
  return {blob};
}

void World::Broadcast([[maybe_unused]] std::span<std::byte> bytes,
                      [[maybe_unused]] int root) const {
#if defined(FANIN_HAS_MPI)
  if (uses_mpi_) {
    Check(MPI_Bcast(bytes.data(), CheckedCount(bytes.size(), "World::Broadcast"), MPI_BYTE, root,
                    MPI_COMM_WORLD),
          "MPI_Bcast");
  }
#endif
}

}  // namespace fanin::distributed
