// RunStore: the output directory keeps its previous set until the new one is committed,
// recorded runs survive for a resume under the same key only, a torn journal tail is
// dropped, and two writers of one output are refused.
#include "fanin/run_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace fanin {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;

class RunStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::FreshTestDirectory("fanin_run_store");
    out_ = (root_ / "out").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  // The message of the runtime_error that `f` throws.
  template <typename F>
  static std::string ErrorOf(F f) {
    try {
      f();
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "(no error)";
  }

  fs::path root_;
  std::string out_;
};

TEST_F(RunStoreTest, TheOldSetStaysUntilTheNewOneIsCommittedWhole) {
  {
    RunStore store(out_, "key");
    std::ofstream(store.dir() + "/report.txt") << "first";
    store.Commit();
  }
  EXPECT_EQ(ReadFile(fs::path(out_) / "report.txt"), "first");
  EXPECT_FALSE(fs::exists(out_ + ".staging"));
  {
    RunStore store(out_, "key");
    std::ofstream(store.dir() + "/report.txt") << "second";
    std::ofstream(store.dir() + "/more.txt") << "more";
    // Not committed (the process dies here): the old set is untouched.
  }
  EXPECT_EQ(ReadFile(fs::path(out_) / "report.txt"), "first");
  EXPECT_FALSE(fs::exists(fs::path(out_) / "more.txt"));
  {
    RunStore store(out_, "key");
    std::ofstream(store.dir() + "/report.txt") << "third";
    store.Commit();
  }
  EXPECT_EQ(ReadFile(fs::path(out_) / "report.txt"), "third");
  EXPECT_FALSE(fs::exists(fs::path(out_) / "more.txt"));
}

TEST_F(RunStoreTest, RecordedRunsAreReusedUnderTheSameKeyOnly) {
  {
    RunStore store(out_, "--seeds 2");
    EXPECT_TRUE(store.completed().empty());
    store.Record(0, "zero");
    store.Record(3, std::string("th\0ree", 6));
  }  // interrupted
  {
    RunStore store(out_, "--seeds 2");
    ASSERT_EQ(store.completed().size(), 2u);
    EXPECT_EQ(store.completed().at(0), "zero");
    EXPECT_EQ(store.completed().at(3), std::string("th\0ree", 6));
    store.Record(1, "one");
  }
  {
    RunStore store(out_, "--seeds 3");  // other options: nothing reused
    EXPECT_TRUE(store.completed().empty());
  }
  RunStore store(out_, "--seeds 2");
  EXPECT_TRUE(store.completed().empty());  // the --seeds 3 attempt replaced the journal
}

TEST_F(RunStoreTest, ATornJournalTailIsDropped) {
  {
    RunStore store(out_, "key");
    store.Record(0, "zero");
    store.Record(1, "one");
  }
  const fs::path journal = out_ + ".staging/journal";
  // A kill in the middle of the second record's write, then zeros from a crashed machine.
  fs::resize_file(journal, fs::file_size(journal) - 3);
  { std::ofstream(journal, std::ios::app | std::ios::binary) << std::string(40, '\0'); }
  {
    RunStore store(out_, "key");
    ASSERT_EQ(store.completed().size(), 1u);
    EXPECT_EQ(store.completed().at(0), "zero");
    store.Record(1, "one again");
  }
  RunStore store(out_, "key");
  ASSERT_EQ(store.completed().size(), 2u);
  EXPECT_EQ(store.completed().at(1), "one again");
}

TEST_F(RunStoreTest, ASecondWriterOfTheSameOutputIsRefused) {
  RunStore first(out_, "key");
  const std::string message = ErrorOf([&] { RunStore second(out_ + "/", "key"); });
  EXPECT_NE(message.find(out_), std::string::npos) << message;
  EXPECT_NE(message.find("another process (pid " + std::to_string(getpid()) + ")"),
            std::string::npos)
      << message;
}

TEST_F(RunStoreTest, FilesThatAreNotAResultSetAreNeverReplaced) {
  fs::create_directories(out_);
  std::ofstream(fs::path(out_) / "thesis.tex") << "years of work";
  std::string message = ErrorOf([&] { RunStore store(out_, "key"); });
  EXPECT_NE(message.find("not a result set"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(out_ + ".staging"));

  std::ofstream(root_ / "file") << "a file";
  message = ErrorOf([&] { RunStore store((root_ / "file").string(), "key"); });
  EXPECT_NE(message.find("not a directory"), std::string::npos) << message;
}

}  // namespace
}  // namespace fanin
