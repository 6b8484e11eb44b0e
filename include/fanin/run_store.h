// An output directory that always holds one complete result set, for programs that make
// many independent runs and then a report from them (the studies; an experiment runner).
//
//   fanin::RunStore store("out/init_study", key);   // key: what the results depend on
//   for (int64_t i = 0; i < n; ++i) {
//     if (store.completed().count(i)) continue;     // done by an interrupted attempt
//     store.Record(i, RunAndEncode(i));             // kept before the next run starts
//   }
//   WriteReport(store.dir());                       // every file of the new set
//   store.Commit();                                 // swapped in whole
//
// Until Commit the new set is built in the staging directory `<out>.staging` next to
// `out` (the same file system, so the swap is a rename): `out` keeps the previous set,
// untouched, however the program ends. Each run's result is appended to a journal there
// as it finishes, so rerunning the same command after a kill, a crash or a full disk
// reuses the runs already done; a journal made under another key (other options, another
// device, another fanin version) is discarded, never mixed in. A lock on the staging
// directory keeps a second process from writing the same `out` at the same time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace fanin {

class RunStore {
 public:
  // Takes the staging directory of `out` (creating it and out's parent folders), and the
  // results recorded there under the same `key`. Throws std::runtime_error naming the
  // directory when another process holds it, when `out` exists but is neither a directory
  // of results (a set this class committed) nor empty, or when a folder cannot be made.
  RunStore(const std::string& out, const std::string& key);
  ~RunStore();  // releases the lock; the staging directory stays for a resume
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  // Where the new set's files go until Commit.
  const std::string& dir() const { return dir_; }
  // The results of the runs an earlier, interrupted attempt recorded, by run index.
  const std::map<int64_t, std::string>& completed() const { return completed_; }
  // Appends run `index`'s result to the journal (written to the file before it returns: a
  // killed process loses no recorded run). Throws std::runtime_error naming the journal.
  void Record(int64_t index, std::string_view result);
  // Makes dir() durable and swaps it in for `out` in one rename (the previous set is then
  // deleted), and removes the staging directory with its journal. Call once, last.
  void Commit();

 private:
  std::string out_, staging_, dir_, journal_path_;
  int lock_fd_ = -1, journal_fd_ = -1;
  std::map<int64_t, std::string> completed_;
};

}  // namespace fanin
