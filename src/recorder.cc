// HDF5 recording through the HDF5 C library. The layout is documented in
// docs/hdf5-layout.md; every write is followed by H5Fflush so that a crash leaves the
// steps written before it readable.
#include "fanin/recorder.h"

#include <hdf5.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace fanin {
namespace {

// HDF5 prints its error stack to stderr by default; we report errors as exceptions
// instead, so silence it while one of our calls runs (and restore the caller's handler).
class ErrorSilencer {
 public:
  ErrorSilencer() {
    H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~ErrorSilencer() { H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_); }
  ErrorSilencer(const ErrorSilencer&) = delete;
  ErrorSilencer& operator=(const ErrorSilencer&) = delete;

 private:
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
};

// Set when a file could not be closed (its last writes failed: a full disk). HDF5 1.10
// then crashes at exit, shutting down the library, inside its close handler for that file;
// so the library's own exit handler is replaced by one that shuts HDF5 down only when no
// file was left open. It must be installed before HDF5 initializes, hence a static.
std::atomic<bool> file_left_open{false};

struct ExitHandler {
  ExitHandler() {
    if (H5dont_atexit() >= 0)
      std::atexit([] {
        if (!file_left_open) H5close();
      });
  }
} exit_handler;

// An HDF5 identifier closed by its own close function when it goes out of scope.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle& operator=(Handle&& other) noexcept {
    std::swap(id_, other.id_);
    std::swap(close_, other.close_);
    return *this;
  }
  // A close that fails here (a dataset whose last chunk cannot be written) was either
  // reported by the failing call that unwinds through it or is caught by the H5Fflush
  // that ends every write; its stack is not printed.
  ~Handle() {
    ErrorSilencer silencer;
    Close();
  }
  hid_t get() const { return id_; }
  // Closes now; negative when HDF5 could not (the id is given up either way).
  herr_t Close() { return id_ >= 0 ? close_(std::exchange(id_, -1)) : 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("HDF5 file '" + path + "': " + what);
}

// A failed HDF5 call, as opposed to a misuse that we refuse before calling HDF5: after it
// a file open for writing may be inconsistent and is written no more.
class Hdf5Error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Why the last HDF5 call failed, from its error stack: the system's message when the
// innermost failure was a system call ("File too large", "No space left on device"), else
// the innermost frame's description.
std::string Hdf5Cause() {
  std::string cause;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t* frame, void* data) -> herr_t {
        auto& cause = *static_cast<std::string*>(data);
        const std::string_view desc = frame->desc != nullptr ? frame->desc : "";
        constexpr std::string_view kSystem = "error message = '";
        if (const size_t at = desc.find(kSystem); at != std::string_view::npos) {
          const size_t begin = at + kSystem.size();
          cause = desc.substr(begin, desc.find('\'', begin) - begin);
          return 1;  // stop: nothing outer says more
        }
        if (cause.empty()) cause = desc;
        return 0;
      },
      &cause);
  return cause;
}

[[noreturn]] void FailHdf5(const std::string& path, const std::string& what) {
  const std::string cause = Hdf5Cause();
  throw Hdf5Error("HDF5 file '" + path + "': " + what + (cause.empty() ? "" : ": " + cause));
}

Handle Check(hid_t id, herr_t (*close)(hid_t), const std::string& path, const std::string& what) {
  if (id < 0) FailHdf5(path, what);
  return Handle(id, close);
}

void Check(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) FailHdf5(path, what);
}

// One statistics record per tensor role, stored as a nested compound (see the docs).
struct RoleRecord {
  int64_t count, nan_count, inf_count;
  double mean, std, min, max, hist_lo, hist_hi;
  int64_t zero_count, saturated_count;  // 0 where not counted (exact statistics, older files)
};

struct StepRecord {
  int64_t step, epoch, batch;
};

struct EpochRecord {
  int64_t epoch;
  double loss, metric, penalty, val_loss, val_metric;
};

// The memory (native) types; HDF5 stores them as such and converts on other machines.
Handle RoleType() {
  Handle t(H5Tcreate(H5T_COMPOUND, sizeof(RoleRecord)), H5Tclose);
  H5Tinsert(t.get(), "count", HOFFSET(RoleRecord, count), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "nan_count", HOFFSET(RoleRecord, nan_count), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "inf_count", HOFFSET(RoleRecord, inf_count), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "mean", HOFFSET(RoleRecord, mean), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "std", HOFFSET(RoleRecord, std), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "min", HOFFSET(RoleRecord, min), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "max", HOFFSET(RoleRecord, max), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "hist_lo", HOFFSET(RoleRecord, hist_lo), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "hist_hi", HOFFSET(RoleRecord, hist_hi), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "zero_count", HOFFSET(RoleRecord, zero_count), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "saturated_count", HOFFSET(RoleRecord, saturated_count), H5T_NATIVE_INT64);
  return t;
}

Handle StepType() {
  Handle t(H5Tcreate(H5T_COMPOUND, sizeof(StepRecord)), H5Tclose);
  H5Tinsert(t.get(), "step", HOFFSET(StepRecord, step), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "epoch", HOFFSET(StepRecord, epoch), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "batch", HOFFSET(StepRecord, batch), H5T_NATIVE_INT64);
  return t;
}

// The metric's members are named after it, Keras's history keys: "accuracy" and
// "val_accuracy" for the cross-entropies, "mean_squared_error" and "val_mean_squared_error".
Handle EpochType(const std::string& metric) {
  Handle t(H5Tcreate(H5T_COMPOUND, sizeof(EpochRecord)), H5Tclose);
  H5Tinsert(t.get(), "epoch", HOFFSET(EpochRecord, epoch), H5T_NATIVE_INT64);
  H5Tinsert(t.get(), "loss", HOFFSET(EpochRecord, loss), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), metric.c_str(), HOFFSET(EpochRecord, metric), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "penalty", HOFFSET(EpochRecord, penalty), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), "val_loss", HOFFSET(EpochRecord, val_loss), H5T_NATIVE_DOUBLE);
  H5Tinsert(t.get(), ("val_" + metric).c_str(), HOFFSET(EpochRecord, val_metric),
            H5T_NATIVE_DOUBLE);
  return t;
}

// The metric an `epochs` compound records: its third member, as EpochType writes it.
std::string EpochMetric(hid_t type, const std::string& path) {
  char* name = H5Tget_nmembers(type) == 6 ? H5Tget_member_name(type, 2) : nullptr;
  if (name == nullptr) Fail(path, "dataset 'epochs' is not a table of epoch logs");
  std::string metric = name;
  H5free_memory(name);
  return metric;
}

// A layer's `stats` row: grad_ratio, then one RoleRecord per tensor, in the layer's order.
Handle LayerStatsType(const std::vector<std::string>& tensors) {
  Handle role_type = RoleType();
  Handle t(H5Tcreate(H5T_COMPOUND, sizeof(double) + tensors.size() * sizeof(RoleRecord)), H5Tclose);
  H5Tinsert(t.get(), "grad_ratio", 0, H5T_NATIVE_DOUBLE);
  for (size_t k = 0; k < tensors.size(); ++k) {
    H5Tinsert(t.get(), tensors[k].c_str(), sizeof(double) + k * sizeof(RoleRecord),
              role_type.get());
  }
  return t;
}

// A layer's `histogram` row: one int64[bins] array per tensor.
Handle HistogramType(const std::vector<std::string>& tensors, hsize_t bins) {
  Handle array(H5Tarray_create2(H5T_NATIVE_INT64, 1, &bins), H5Tclose);
  Handle t(H5Tcreate(H5T_COMPOUND, tensors.size() * bins * sizeof(int64_t)), H5Tclose);
  for (size_t k = 0; k < tensors.size(); ++k) {
    H5Tinsert(t.get(), tensors[k].c_str(), k * bins * sizeof(int64_t), array.get());
  }
  return t;
}

Handle StringType() {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

// "a/b/c" -> {"a", "a/b", "a/b/c"}: HDF5 calls such as H5Lexists need each parent of a
// path to exist, so paths are walked one component at a time.
std::vector<std::string> PathPrefixes(const std::string& name) {
  std::vector<std::string> prefixes;
  std::string prefix;
  size_t begin = 0;
  while (begin <= name.size()) {
    size_t end = name.find('/', begin);
    if (end == std::string::npos) end = name.size();
    if (end > begin) {
      if (!prefix.empty()) prefix += '/';
      prefix.append(name, begin, end - begin);
      prefixes.push_back(prefix);
    }
    begin = end + 1;
  }
  return prefixes;
}

bool LinkExists(hid_t location, const std::string& name) {
  for (const std::string& prefix : PathPrefixes(name)) {
    if (H5Lexists(location, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

// Groups track the creation order of their links and attributes, so a reader sees runs,
// layers and attributes in the order they were written. No object records its creation and
// modification times (HDF5's default), so that the same runs give the same bytes: a
// distributed study's runs.h5 equals a single process's (docs/distributed.md).
Handle GroupCreationProperties() {
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  H5Pset_obj_track_times(gcpl.get(), false);
  H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_attr_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  return gcpl;
}

// Opens `name` under `location`, creating it (and its missing parents) if needed.
Handle OpenOrCreateGroup(hid_t location, const std::string& name, const std::string& path) {
  Handle gcpl = GroupCreationProperties();
  for (const std::string& prefix : PathPrefixes(name)) {
    if (H5Lexists(location, prefix.c_str(), H5P_DEFAULT) <= 0) {
      Check(H5Gcreate2(location, prefix.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose,
            path, "cannot create group '" + prefix + "'");
    }
  }
  return Check(H5Gopen2(location, name.c_str(), H5P_DEFAULT), H5Gclose, path,
               "cannot open group '" + name + "'");
}

// Strings that hold a NUL byte, stored with their length: variable-length HDF5 strings end
// at their first NUL, so these become fixed-length strings of the longest one's size,
// padded with NULs (which keeps every byte but trailing NULs: a string ending in one is
// refused). Empty when no string holds a NUL (they are stored as variable-length UTF-8).
std::string FixedStrings(const std::vector<std::string>& texts, size_t& size,
                         const std::string& path, const std::string& name) {
  size = 0;
  bool nul = false;
  for (const std::string& text : texts) {
    size = std::max(size, text.size());
    if (text.find('\0') == std::string::npos) continue;
    nul = true;
    if (text.back() == '\0') {
      Fail(path, "attribute '" + name +
                     "': a string ending in a NUL byte cannot be stored (HDF5 pads strings "
                     "with NULs)");
    }
  }
  if (!nul) return {};
  std::string buffer(size * texts.size(), '\0');
  for (size_t i = 0; i < texts.size(); ++i) texts[i].copy(buffer.data() + i * size, size);
  return buffer;
}

void WriteAttribute(hid_t object, const std::string& name, const AttributeValue& value,
                    const std::string& path) {
  std::vector<std::string> texts;
  if (const auto* v = std::get_if<std::string>(&value)) texts = {*v};
  if (const auto* v = std::get_if<std::vector<std::string>>(&value)) texts = *v;
  size_t fixed_size = 0;
  const std::string fixed = FixedStrings(texts, fixed_size, path, name);
  if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());
  const std::string what = "cannot write attribute '" + name + "'";
  auto write = [&](hid_t type, hid_t space, const void* data) {
    Handle attribute =
        Check(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              path, what);
    Check(H5Awrite(attribute.get(), type, data), path, what);
  };
  Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  const auto write_texts = [&](hid_t space) {
    if (fixed.empty()) {
      std::vector<const char*> pointers;
      for (const std::string& text : texts) pointers.push_back(text.c_str());
      write(StringType().get(), space, pointers.data());
      return;
    }
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), fixed_size);
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    write(type.get(), space, fixed.data());
  };
  if (const auto* v = std::get_if<int64_t>(&value)) {
    write(H5T_NATIVE_INT64, scalar.get(), v);
  } else if (const auto* v = std::get_if<double>(&value)) {
    write(H5T_NATIVE_DOUBLE, scalar.get(), v);
  } else if (std::holds_alternative<std::string>(value)) {
    write_texts(scalar.get());
  } else if (const auto* v = std::get_if<std::vector<int64_t>>(&value)) {
    const hsize_t n = v->size();
    Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    write(H5T_NATIVE_INT64, space.get(), v->data());
  } else {
    const hsize_t n = texts.size();
    Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    write_texts(space.get());
  }
}

// Reads the kinds of attribute we write (integers, doubles, strings, 1-D arrays of
// integers or strings); nullopt for any other kind.
std::optional<AttributeValue> ReadAttribute(hid_t attribute, const std::string& path,
                                            const std::string& name) {
  const std::string what = "cannot read attribute '" + name + "'";
  Handle type = Check(H5Aget_type(attribute), H5Tclose, path, what);
  Handle space = Check(H5Aget_space(attribute), H5Sclose, path, what);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  const bool scalar = H5Sget_simple_extent_type(space.get()) == H5S_SCALAR;
  switch (H5Tget_class(type.get())) {
    case H5T_INTEGER: {
      std::vector<int64_t> values(static_cast<size_t>(n));
      Check(H5Aread(attribute, H5T_NATIVE_INT64, values.data()), path, what);
      if (scalar) return values.at(0);
      return values;
    }
    case H5T_FLOAT: {
      double value = 0;
      if (!scalar) return std::nullopt;
      Check(H5Aread(attribute, H5T_NATIVE_DOUBLE, &value), path, what);
      return value;
    }
    case H5T_STRING: {
      std::vector<std::string> values;
      if (H5Tis_variable_str(type.get()) > 0) {
        std::vector<char*> texts(static_cast<size_t>(n), nullptr);
        Handle memory = StringType();
        Check(H5Aread(attribute, memory.get(), texts.data()), path, what);
        for (char* text : texts) values.emplace_back(text ? text : "");
        H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, texts.data());
      } else {
        const size_t size = H5Tget_size(type.get());
        std::vector<char> buffer(size * static_cast<size_t>(n));
        Check(H5Aread(attribute, type.get(), buffer.data()), path, what);
        // NUL-padded strings keep their inner NULs (FixedStrings); NUL-terminated ones
        // end at the first.
        const bool padded = H5Tget_strpad(type.get()) == H5T_STR_NULLPAD;
        for (hssize_t i = 0; i < n; ++i) {
          std::string_view text(buffer.data() + static_cast<size_t>(i) * size, size);
          text =
              text.substr(0, padded ? text.find_last_not_of('\0') + 1 : strnlen(text.data(), size));
          values.emplace_back(text);
        }
      }
      if (scalar) return values.at(0);
      return values;
    }
    default:
      return std::nullopt;
  }
}

Attributes ReadAttributes(hid_t group, const std::string& path) {
  const int count = H5Aget_num_attrs(group);
  // Creation order where the group tracks it (ours do), else name order.
  Handle info(H5Gget_create_plist(group), H5Pclose);
  unsigned flags = 0;
  H5Pget_attr_creation_order(info.get(), &flags);
  const H5_index_t index = (flags & H5P_CRT_ORDER_TRACKED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  Attributes attributes;
  for (int i = 0; i < count; ++i) {
    Handle attribute = Check(H5Aopen_by_idx(group, ".", index, H5_ITER_INC, static_cast<hsize_t>(i),
                                            H5P_DEFAULT, H5P_DEFAULT),
                             H5Aclose, path, "cannot open an attribute");
    const ssize_t length = H5Aget_name(attribute.get(), 0, nullptr);
    std::string name(static_cast<size_t>(std::max<ssize_t>(length, 0)), '\0');
    H5Aget_name(attribute.get(), name.size() + 1, name.data());
    if (auto value = ReadAttribute(attribute.get(), path, name)) {
      attributes.emplace_back(name, std::move(*value));
    }
  }
  return attributes;
}

// Appends one row to the extendible dataset `name` (shape [rows x row_dims...]), creating
// it on first use with chunks of `chunk_rows` rows.
void AppendRow(hid_t group, const std::string& name, hid_t type,
               const std::vector<hsize_t>& row_dims, const void* data, int64_t chunk_rows,
               const std::string& path) {
  const std::string what = "cannot append to dataset '" + name + "'";
  const int rank = static_cast<int>(row_dims.size()) + 1;
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{static_cast<hsize_t>(chunk_rows)};
  for (hsize_t d : row_dims) {
    dims.push_back(d);
    max_dims.push_back(d);
    chunk.push_back(d);
  }
  Handle dataset;
  if (H5Lexists(group, name.c_str(), H5P_DEFAULT) > 0) {
    dataset = Check(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose, path, what);
    Handle space = Check(H5Dget_space(dataset.get()), H5Sclose, path, what);
    if (H5Sget_simple_extent_ndims(space.get()) != rank) Fail(path, what + ": wrong rank");
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  } else {
    Handle space(H5Screate_simple(rank, dims.data(), max_dims.data()), H5Sclose);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(dcpl.get(), rank, chunk.data());
    H5Pset_obj_track_times(dcpl.get(), false);  // as for groups: reproducible bytes
    // A checksum per chunk: a flipped bit in the data fails the read instead of giving
    // another number. Debian's libhdf5 has the filter; a build without it records plain.
    if (H5Zfilter_avail(H5Z_FILTER_FLETCHER32) > 0) H5Pset_fletcher32(dcpl.get());
    dataset = Check(
        H5Dcreate2(group, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
        H5Dclose, path, what);
  }
  const hsize_t row = dims[0];
  dims[0] = row + 1;
  Check(H5Dset_extent(dataset.get(), dims.data()), path, what);
  Handle file_space = Check(H5Dget_space(dataset.get()), H5Sclose, path, what);
  std::vector<hsize_t> start(static_cast<size_t>(rank), 0), count = dims;
  start[0] = row;
  count[0] = 1;
  Check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                            nullptr),
        path, what);
  Handle memory_space(H5Screate_simple(rank, count.data(), nullptr), H5Sclose);
  Check(H5Dwrite(dataset.get(), type, memory_space.get(), file_space.get(), H5P_DEFAULT, data),
        path, what);
  // Closing writes the chunk: with a full disk, this is where the write fails.
  Check(dataset.Close(), path, what);
}

// The dims of dataset `name` under `group`, and the dataset itself.
Handle OpenDataset(hid_t group, const std::string& name, std::vector<hsize_t>& dims,
                   const std::string& path) {
  const std::string what = "cannot read dataset '" + name + "'";
  Handle dataset = Check(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose, path, what);
  Handle space = Check(H5Dget_space(dataset.get()), H5Sclose, path, what);
  dims.assign(static_cast<size_t>(H5Sget_simple_extent_ndims(space.get())), 0);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dataset;
}

// Members of `type` that the file's type lacks (a field added since the file was written:
// RoleRecord's zero_count) keep what `data` holds (HDF5 preserves the destination's other
// compound members), so callers pass value-initialized buffers: zeros for old files.
void ReadAll(hid_t dataset, hid_t type, void* data, const std::string& path,
             const std::string& name) {
  Check(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path,
        "cannot read dataset '" + name + "'");
}

// The tensors a layer's `stats` compound holds, in its order (grad_ratio is not one).
std::vector<std::string> TensorsInType(hid_t type) {
  std::vector<std::string> tensors;
  const int members = H5Tget_nmembers(type);
  for (int k = 0; k < members; ++k) {
    char* name = H5Tget_member_name(type, static_cast<unsigned>(k));
    if (name == nullptr) continue;
    if (std::string_view(name) != "grad_ratio") tensors.emplace_back(name);
    H5free_memory(name);
  }
  return tensors;
}

std::vector<std::string> LayerNames(hid_t group, const std::string& path) {
  if (H5Aexists(group, "layer_names") <= 0) return {};
  Handle attribute(H5Aopen(group, "layer_names", H5P_DEFAULT), H5Aclose);
  const auto value = ReadAttribute(attribute.get(), path, "layer_names");
  if (const auto* names = value ? std::get_if<std::vector<std::string>>(&*value) : nullptr) {
    return *names;
  }
  Fail(path, "attribute 'layer_names' is not a list of strings");
}

// Opens `path` for reading or writing with a clear error for a missing, foreign,
// truncated or corrupt file (HDF5's own message would be a stack of internal frames).
Handle OpenExisting(const std::string& path, unsigned flags) {
  if (!std::filesystem::exists(path)) Fail(path, "no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) Fail(path, "not an HDF5 file (or its header is damaged)");
  return Check(H5Fopen(path.c_str(), flags, H5P_DEFAULT), H5Fclose, path,
               "cannot be opened: the file is truncated or corrupt");
}

}  // namespace

struct Recorder::File {
  std::string path;
  Handle id;
  bool failed = false;  // a write failed: the file may be inconsistent

  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    ErrorSilencer silencer;
    if (id.Close() < 0) file_left_open = true;
  }

  // Runs one write (CreateRun, WriteModel, Append*). After a failed HDF5 call the file's
  // structures may be half written, so it takes no more writes: the runs flushed before
  // stay readable.
  template <typename F>
  void Write(F body) {
    ErrorSilencer silencer;
    if (failed) Fail(path, "an earlier write failed, so this file takes no more writes");
    try {
      body();
    } catch (const Hdf5Error&) {
      failed = true;
      throw;
    }
  }
};

Recorder::Recorder(const std::string& path, FileMode mode) {
  ErrorSilencer silencer;
  file_ = std::make_shared<File>();
  file_->path = path;
  if (mode == FileMode::kAppend && std::filesystem::exists(path)) {
    file_->id = OpenExisting(path, H5F_ACC_RDWR);
    return;
  }
  // The default (oldest compatible) file format, on purpose: the 1.10 format's superblock
  // marks a file as open for writing, and a file whose writer crashed then refuses to open
  // until h5clear is run, which is the opposite of what a recorder of crashing runs needs.
  Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  H5Pset_obj_track_times(fcpl.get(), false);  // the root group's, as for the others
  file_->id = Check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), H5Fclose, path,
                    "cannot be created");
}

Recorder::~Recorder() = default;
Recorder::Recorder(Recorder&&) noexcept = default;
Recorder& Recorder::operator=(Recorder&&) noexcept = default;

const std::string& Recorder::path() const { return file_->path; }

RunWriter Recorder::CreateRun(const std::string& group, const Attributes& attributes,
                              const RunOptions& options) {
  file_->Write([&] {
    const hid_t file = file_->id.get();
    if (group.empty() || group == "/") Fail(file_->path, "a run needs a group name");
    if (LinkExists(file, group)) {
      if (!options.overwrite) {
        Fail(file_->path,
             "group '" + group +
                 "' already exists (pass RunOptions{.overwrite = true} to replace it)");
      }
      Check(H5Ldelete(file, group.c_str(), H5P_DEFAULT), file_->path,
            "cannot delete group '" + group + "'");
    }
    Handle run = OpenOrCreateGroup(file, group, file_->path);
    for (const auto& [name, value] : attributes) {
      WriteAttribute(run.get(), name, value, file_->path);
    }
    WriteAttribute(run.get(), "fanin_version", std::string(FANIN_VERSION), file_->path);
    Check(H5Fflush(file, H5F_SCOPE_GLOBAL), file_->path, "cannot flush");
  });
  return RunWriter(file_, group, std::clamp<int64_t>(options.expected_steps, 1, 64));
}

RunWriter::RunWriter(std::shared_ptr<Recorder::File> file, std::string group, int64_t chunk_steps)
    : file_(std::move(file)), group_(std::move(group)), chunk_steps_(chunk_steps) {}

void RunWriter::WriteModel(const Sequential& model, const std::vector<std::string>& layer_names) {
  file_->Write([&] {
    const std::string& path = file_->path;
    Handle run = OpenOrCreateGroup(file_->id.get(), group_, path);
    std::vector<std::string> names = layer_names, descriptions;
    std::vector<int64_t> sizes;
    for (size_t i = 0; i < model.num_layers(); ++i) {
      if (layer_names.empty()) names.push_back("layer" + std::to_string(i));
      const Layer& layer = model.layer(i);
      descriptions.push_back(layer.Describe());
      if (i == 0) {
        // The input width is the first kernel's row count; a model without one has no
        // recorded input width.
        if (const Tensor* kernel = layer.tensors()["kernel"]) sizes.push_back(kernel->dim(0));
      }
      sizes.push_back(layer.output_features());
    }
    WriteAttribute(run.get(), "layer_names", names, path);
    WriteAttribute(run.get(), "layer_sizes", sizes, path);
    WriteAttribute(run.get(), "layers", descriptions, path);
    Check(H5Fflush(file_->id.get(), H5F_SCOPE_GLOBAL), path, "cannot flush");
  });
}

namespace {

// One layer's rows of a step, as Append writes them.
struct LayerRows {
  std::string name;
  std::vector<std::string> tensors;  // the tensors the layer has, in its order
  std::vector<uint8_t> stats;
  std::vector<int64_t> histogram;
  hsize_t bins = 0;
};

LayerRows RowsOf(const LayerStats& layer, const std::string& path) {
  LayerRows rows{.name = layer.name, .tensors = {}, .stats = {}, .histogram = {}, .bins = 0};
  rows.stats.resize(sizeof(double));
  std::memcpy(rows.stats.data(), &layer.grad_ratio, sizeof(double));
  for (const NamedStats& named : layer.tensors) {
    const TensorStats* s = &named.stats;
    rows.tensors.push_back(named.name);
    const RoleRecord r{
        s->count,   s->nan_count, s->inf_count,  s->mean,           s->std, s->min, s->max,
        s->hist_lo, s->hist_hi,   s->zero_count, s->saturated_count};
    const auto* bytes = reinterpret_cast<const uint8_t*>(&r);
    rows.stats.insert(rows.stats.end(), bytes, bytes + sizeof(r));
    if (rows.tensors.size() == 1) rows.bins = s->histogram.size();
    if (s->histogram.size() != rows.bins) {
      Fail(path, "layer '" + layer.name + "': histograms of one layer differ in bins");
    }
    rows.histogram.insert(rows.histogram.end(), s->histogram.begin(), s->histogram.end());
  }
  return rows;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string text = "[";
  for (const std::string& name : names) text += (text.size() > 1 ? ", " : "") + name;
  return text + "]";
}

// Refuses, before anything is written, a step whose layers differ from the run's: its
// rows would not line up with the earlier steps' and the run would no longer read back.
void CheckSameLayout(hid_t run, const std::string& group, const std::vector<LayerRows>& layers,
                     const std::string& path) {
  std::vector<std::string> names;
  for (const LayerRows& layer : layers) {
    if (std::find(names.begin(), names.end(), layer.name) != names.end()) {
      Fail(path, "run '" + group + "': a step names layer '" + layer.name + "' twice");
    }
    names.push_back(layer.name);
  }
  const std::vector<std::string> run_names = LayerNames(run, path);
  if (H5Aexists(run, "layer_names") > 0 && names != run_names) {
    Fail(path, "run '" + group + "': a step with layers " + JoinNames(names) +
                   " does not match the run's layers " + JoinNames(run_names));
  }
  if (!LinkExists(run, "steps")) return;  // the first step sets the layout
  for (const LayerRows& layer : layers) {
    const std::string stats_name = layer.name + "/stats";
    const std::string histogram_name = layer.name + "/histogram";
    const std::string where = "run '" + group + "', layer '" + layer.name + "': ";
    std::vector<std::string> tensors;
    if (LinkExists(run, stats_name)) {
      Handle dataset = Check(H5Dopen2(run, stats_name.c_str(), H5P_DEFAULT), H5Dclose, path,
                             "cannot open dataset '" + stats_name + "'");
      Handle type = Check(H5Dget_type(dataset.get()), H5Tclose, path, stats_name);
      tensors = TensorsInType(type.get());
    }
    if (tensors != layer.tensors) {
      Fail(path, where + "the step's tensors differ from those of the run's first step");
    }
    hsize_t bins = 0;
    if (LinkExists(run, histogram_name)) {
      Handle dataset = Check(H5Dopen2(run, histogram_name.c_str(), H5P_DEFAULT), H5Dclose, path,
                             "cannot open dataset '" + histogram_name + "'");
      Handle type = Check(H5Dget_type(dataset.get()), H5Tclose, path, histogram_name);
      Handle member = Check(H5Tget_member_type(type.get(), 0), H5Tclose, path, histogram_name);
      H5Tget_array_dims2(member.get(), &bins);
    }
    if (bins != (layer.tensors.empty() ? 0 : layer.bins)) {
      Fail(path, where + "histograms of " + std::to_string(layer.bins) + " bins, the run's have " +
                     std::to_string(bins));
    }
  }
}

}  // namespace

void RunWriter::Append(const StepStats& step) {
  file_->Write([&] {
    const std::string& path = file_->path;
    Handle run = OpenOrCreateGroup(file_->id.get(), group_, path);
    std::vector<LayerRows> layers;
    for (const LayerStats& layer : step.layers) layers.push_back(RowsOf(layer, path));
    CheckSameLayout(run.get(), group_, layers, path);
    if (H5Aexists(run.get(), "layer_names") <= 0) {
      std::vector<std::string> names;
      for (const LayerRows& layer : layers) names.push_back(layer.name);
      WriteAttribute(run.get(), "layer_names", names, path);
    }
    const StepRecord record{step.context.step, step.context.epoch, step.context.batch};
    AppendRow(run.get(), "steps", StepType().get(), {}, &record, chunk_steps_, path);
    for (const LayerRows& layer : layers) {
      if (layer.tensors.empty()) continue;
      Handle group = OpenOrCreateGroup(run.get(), layer.name, path);
      AppendRow(group.get(), "stats", LayerStatsType(layer.tensors).get(), {}, layer.stats.data(),
                chunk_steps_, path);
      if (layer.bins > 0) {
        AppendRow(group.get(), "histogram", HistogramType(layer.tensors, layer.bins).get(), {},
                  layer.histogram.data(), chunk_steps_, path);
      }
    }
    Check(H5Fflush(file_->id.get(), H5F_SCOPE_GLOBAL), path, "cannot flush");
  });
}

void RunWriter::AppendEpoch(const EpochLogs& logs, const std::string& metric) {
  file_->Write([&] {
    const std::string& path = file_->path;
    Handle run = OpenOrCreateGroup(file_->id.get(), group_, path);
    if (metric.empty() || metric == "epoch" || metric == "loss" || metric == "penalty" ||
        metric.starts_with("val_")) {
      Fail(path, "run '" + group_ + "': \"" + metric + "\" cannot name the epochs' metric");
    }
    if (LinkExists(run.get(), "epochs")) {
      Handle dataset = Check(H5Dopen2(run.get(), "epochs", H5P_DEFAULT), H5Dclose, path,
                             "cannot open dataset 'epochs'");
      Handle type = Check(H5Dget_type(dataset.get()), H5Tclose, path, "epochs");
      if (const std::string recorded = EpochMetric(type.get(), path); recorded != metric) {
        Fail(path, "run '" + group_ + "': an epoch with metric " + metric +
                       ", the run's earlier epochs have " + recorded);
      }
    }
    const EpochRecord record{logs.epoch,   logs.loss,     logs.metric,
                             logs.penalty, logs.val_loss, logs.val_metric};
    AppendRow(run.get(), "epochs", EpochType(metric).get(), {}, &record, chunk_steps_, path);
    Check(H5Fflush(file_->id.get(), H5F_SCOPE_GLOBAL), path, "cannot flush");
  });
}

void RunWriter::AppendWeights(int epoch, const Sequential& model) {
  file_->Write([&] {
    const std::string& path = file_->path;
    Handle run = OpenOrCreateGroup(file_->id.get(), group_, path);
    const std::vector<std::string> names = LayerNames(run.get(), path);
    Handle weights = OpenOrCreateGroup(run.get(), "weights", path);
    const int64_t epoch_value = epoch;
    AppendRow(weights.get(), "epoch", H5T_NATIVE_INT64, {}, &epoch_value, chunk_steps_, path);
    for (size_t i = 0; i < model.num_layers(); ++i) {
      const LayerTensors tensors = model.layer(i).tensors();
      const Tensor* kernel = tensors["kernel"];
      if (kernel == nullptr) continue;
      Handle layer = OpenOrCreateGroup(
          weights.get(), i < names.size() ? names[i] : "layer" + std::to_string(i), path);
      std::vector<hsize_t> kernel_dims;
      for (int64_t d : kernel->shape()) kernel_dims.push_back(static_cast<hsize_t>(d));
      AppendRow(layer.get(), "kernel", H5T_NATIVE_FLOAT, kernel_dims, kernel->ToHost().data(),
                chunk_steps_, path);
      if (const Tensor* bias = tensors["bias"]) {
        AppendRow(layer.get(), "bias", H5T_NATIVE_FLOAT, {static_cast<hsize_t>(bias->size())},
                  bias->ToHost().data(), chunk_steps_, path);
      }
    }
    Check(H5Fflush(file_->id.get(), H5F_SCOPE_GLOBAL), path, "cannot flush");
  });
}

std::function<void(const StepStats&)> RunWriter::Sink() {
  return [writer = *this](const StepStats& step) mutable { writer.Append(step); };
}

const AttributeValue* RecordedRun::attribute(const std::string& name) const {
  for (const auto& [key, value] : attributes) {
    if (key == name) return &value;
  }
  return nullptr;
}

namespace {

// A kill mid-append leaves a step's datasets one row apart: the rows every dataset holds
// are complete; what one dataset holds beyond them is the torn record, reported in
// RecordedRun::torn.
void NoteTorn(RecordedRun& result, const std::string& record, size_t complete,
              const std::vector<std::pair<std::string, size_t>>& rows) {
  std::string counts;
  bool torn = false;
  for (const auto& [name, count] : rows) {
    torn = torn || count != complete;
    counts += (counts.empty() ? "" : ", ") + name + " " + std::to_string(count);
  }
  if (!torn) return;
  if (!result.torn.empty()) result.torn += "; ";
  result.torn += record + " " + std::to_string(complete) +
                 " was cut off mid-append (rows: " + counts + "); the " + std::to_string(complete) +
                 " before it are read";
}

void ReadStats(hid_t run, const std::vector<std::string>& names, RecordedRun& result,
               const std::string& path) {
  std::vector<hsize_t> dims;
  Handle steps_dataset = OpenDataset(run, "steps", dims, path);
  std::vector<StepRecord> records(dims.at(0));
  ReadAll(steps_dataset.get(), StepType().get(), records.data(), path, "steps");
  std::vector<std::pair<std::string, size_t>> rows = {{"steps", records.size()}};

  struct LayerData {
    std::vector<std::string> tensors;
    std::vector<uint8_t> stats;
    std::vector<int64_t> histograms;
    hsize_t bins = 0;
  };
  std::vector<LayerData> layers(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    LayerData& layer = layers[i];
    const std::string stats_name = names[i] + "/stats";
    if (!LinkExists(run, stats_name)) continue;
    Handle stats = OpenDataset(run, stats_name, dims, path);
    rows.emplace_back(stats_name, dims.at(0));
    Handle file_type = Check(H5Dget_type(stats.get()), H5Tclose, path, stats_name);
    layer.tensors = TensorsInType(file_type.get());
    const size_t row_size = sizeof(double) + layer.tensors.size() * sizeof(RoleRecord);
    layer.stats.resize(row_size * dims[0]);
    ReadAll(stats.get(), LayerStatsType(layer.tensors).get(), layer.stats.data(), path, stats_name);

    const std::string histogram_name = names[i] + "/histogram";
    if (LinkExists(run, histogram_name)) {
      Handle histogram = OpenDataset(run, histogram_name, dims, path);
      rows.emplace_back(histogram_name, dims.at(0));
      Handle type = Check(H5Dget_type(histogram.get()), H5Tclose, path, histogram_name);
      Handle member = Check(H5Tget_member_type(type.get(), 0), H5Tclose, path, histogram_name);
      H5Tget_array_dims2(member.get(), &layer.bins);
      layer.histograms.resize(dims[0] * layer.tensors.size() * layer.bins);
      ReadAll(histogram.get(), HistogramType(layer.tensors, layer.bins).get(),
              layer.histograms.data(), path, histogram_name);
    }
  }
  size_t num_steps = records.size();
  for (const auto& [name, count] : rows) num_steps = std::min(num_steps, count);
  NoteTorn(result, "step", num_steps, rows);

  result.steps.resize(num_steps);
  for (size_t s = 0; s < num_steps; ++s) {
    result.steps[s].context = {records[s].step, static_cast<int>(records[s].epoch),
                               records[s].batch};
    result.steps[s].layers.resize(names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      const LayerData& data = layers[i];
      LayerStats& layer = result.steps[s].layers[i];
      layer.name = names[i];
      if (data.stats.empty()) continue;
      const size_t row_size = sizeof(double) + data.tensors.size() * sizeof(RoleRecord);
      const uint8_t* row = data.stats.data() + s * row_size;
      std::memcpy(&layer.grad_ratio, row, sizeof(double));
      for (size_t k = 0; k < data.tensors.size(); ++k) {
        RoleRecord r;
        std::memcpy(&r, row + sizeof(double) + k * sizeof(RoleRecord), sizeof(r));
        TensorStats t{.count = r.count,
                      .nan_count = r.nan_count,
                      .inf_count = r.inf_count,
                      .mean = r.mean,
                      .std = r.std,
                      .min = r.min,
                      .max = r.max,
                      .hist_lo = static_cast<float>(r.hist_lo),
                      .hist_hi = static_cast<float>(r.hist_hi),
                      .histogram = {},
                      .zero_count = r.zero_count,
                      .saturated_count = r.saturated_count};
        if (data.bins > 0) {
          const auto first = data.histograms.begin() +
                             static_cast<ptrdiff_t>((s * data.tensors.size() + k) * data.bins);
          t.histogram.assign(first, first + static_cast<ptrdiff_t>(data.bins));
        }
        layer.tensors.push_back({data.tensors[k], std::move(t)});
      }
    }
  }
}

void ReadEpochs(hid_t run, RecordedRun& result, const std::string& path) {
  std::vector<hsize_t> dims;
  Handle dataset = OpenDataset(run, "epochs", dims, path);
  Handle type = Check(H5Dget_type(dataset.get()), H5Tclose, path, "epochs");
  result.metric = EpochMetric(type.get(), path);
  std::vector<EpochRecord> records(dims.at(0));
  ReadAll(dataset.get(), EpochType(result.metric).get(), records.data(), path, "epochs");
  for (const EpochRecord& r : records) {
    result.epochs.push_back({.epoch = static_cast<int>(r.epoch),
                             .loss = r.loss,
                             .metric = r.metric,
                             .penalty = r.penalty,
                             .val_loss = r.val_loss,
                             .val_metric = r.val_metric});
  }
}

std::vector<float> ReadFloats(hid_t group, const std::string& name, std::vector<hsize_t>& dims,
                              const std::string& path) {
  Handle dataset = OpenDataset(group, name, dims, path);
  size_t size = 1;
  for (hsize_t d : dims) size *= d;
  std::vector<float> values(size);
  ReadAll(dataset.get(), H5T_NATIVE_FLOAT, values.data(), path, name);
  return values;
}

void ReadWeights(hid_t run, const std::vector<std::string>& names, RecordedRun& result,
                 const std::string& path) {
  std::vector<hsize_t> dims;
  Handle epochs_dataset = OpenDataset(run, "weights/epoch", dims, path);
  std::vector<int64_t> epochs(dims.at(0));
  ReadAll(epochs_dataset.get(), H5T_NATIVE_INT64, epochs.data(), path, "weights/epoch");
  std::vector<std::pair<std::string, size_t>> rows = {{"weights/epoch", epochs.size()}};
  struct Layer {
    Shape kernel_shape;
    std::vector<float> kernels, biases;
    size_t kernel_size = 0, bias_size = 0;  // per row
  };
  std::vector<Layer> layers;
  for (const std::string& name : names) {
    const std::string prefix = "weights/" + name;
    if (!LinkExists(run, prefix + "/kernel")) continue;
    Layer& layer = layers.emplace_back();
    layer.kernels = ReadFloats(run, prefix + "/kernel", dims, path);
    rows.emplace_back(prefix + "/kernel", dims.at(0));
    layer.kernel_shape.assign(dims.begin() + 1, dims.end());
    layer.kernel_size = layer.kernels.size() / std::max<hsize_t>(dims[0], 1);
    if (LinkExists(run, prefix + "/bias")) {
      layer.biases = ReadFloats(run, prefix + "/bias", dims, path);
      rows.emplace_back(prefix + "/bias", dims.at(0));
      layer.bias_size = layer.biases.size() / std::max<hsize_t>(dims[0], 1);
    }
  }
  size_t complete = epochs.size();
  for (const auto& [name, count] : rows) complete = std::min(complete, count);
  NoteTorn(result, "weights row", complete, rows);
  result.weights.resize(complete);
  for (size_t e = 0; e < complete; ++e) {
    result.weights[e].epoch = static_cast<int>(epochs[e]);
    for (const Layer& layer : layers) {
      const auto row = [e](const std::vector<float>& values, size_t size) {
        const auto first = values.begin() + static_cast<ptrdiff_t>(e * size);
        return std::vector<float>(first, first + static_cast<ptrdiff_t>(size));
      };
      result.weights[e].layers.push_back({.kernel_shape = layer.kernel_shape,
                                          .kernel = row(layer.kernels, layer.kernel_size),
                                          .bias = row(layer.biases, layer.bias_size)});
    }
  }
}

}  // namespace

RecordedRun ReadRun(const std::string& path, const std::string& group) {
  ErrorSilencer silencer;
  Handle file = OpenExisting(path, H5F_ACC_RDONLY);
  if (!LinkExists(file.get(), group)) Fail(path, "no group '" + group + "'");
  Handle run = Check(H5Gopen2(file.get(), group.c_str(), H5P_DEFAULT), H5Gclose, path,
                     "'" + group + "' is not a group");
  // CreateRun marks every run; a parent group ("tanh_glorot_normal") would read as an
  // empty run.
  if (H5Aexists(run.get(), "fanin_version") <= 0) {
    Fail(path, "group '" + group + "' is not a run (it has no attribute fanin_version)");
  }
  RecordedRun result;
  result.attributes = ReadAttributes(run.get(), path);
  const std::vector<std::string> names = LayerNames(run.get(), path);
  if (LinkExists(run.get(), "steps")) ReadStats(run.get(), names, result, path);
  if (LinkExists(run.get(), "epochs")) ReadEpochs(run.get(), result, path);
  if (LinkExists(run.get(), "weights/epoch")) ReadWeights(run.get(), names, result, path);
  return result;
}

std::vector<std::string> ListGroups(const std::string& path, const std::string& parent) {
  ErrorSilencer silencer;
  Handle file = OpenExisting(path, H5F_ACC_RDONLY);
  const std::string name = parent.empty() ? "/" : parent;
  if (name != "/" && !LinkExists(file.get(), name)) Fail(path, "no group '" + name + "'");
  Handle group = Check(H5Gopen2(file.get(), name.c_str(), H5P_DEFAULT), H5Gclose, path,
                       "cannot open group '" + name + "'");
  H5G_info_t info;
  Check(H5Gget_info(group.get(), &info), path, "cannot list group '" + name + "'");
  Handle plist(H5Gget_create_plist(group.get()), H5Pclose);
  unsigned flags = 0;
  H5Pget_link_creation_order(plist.get(), &flags);
  const H5_index_t index = (flags & H5P_CRT_ORDER_TRACKED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> groups;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t length =
        H5Lget_name_by_idx(group.get(), ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    std::string link(static_cast<size_t>(std::max<ssize_t>(length, 0)), '\0');
    H5Lget_name_by_idx(group.get(), ".", index, H5_ITER_INC, i, link.data(), link.size() + 1,
                       H5P_DEFAULT);
    Handle object(H5Oopen(group.get(), link.c_str(), H5P_DEFAULT), H5Oclose);
    if (object.get() >= 0 && H5Iget_type(object.get()) == H5I_GROUP) groups.push_back(link);
  }
  return groups;
}

}  // namespace fanin
