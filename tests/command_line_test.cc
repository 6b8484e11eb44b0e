// The programs' command lines, run as a user would: malformed, out-of-range and non-finite
// values are refused with the flag named and exit status 2 (never silently read as 0 or 1),
// --help lists every flag with its default, train_ball's step time leaves out warm-up, and
// the programs that time devices say which they skipped and why.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fanin/backend.h"
#include "test_util.h"

namespace fanin {
namespace {

namespace fs = std::filesystem;

struct Result {
  int status = -1;     // the exit status; -1 when the program did not exit normally
  std::string output;  // stdout and stderr together
};

using testing::ProgramPath;

// Runs `program arguments` (arguments as the shell splits them) and collects its output.
Result RunProgram(const std::string& program, const std::string& arguments) {
  const fs::path log = fs::temp_directory_path() /
                       ("fanin_command_line_" + std::to_string(getpid()) + "_" + program);
  const std::string command =
      ProgramPath(program).string() + " " + arguments + " > " + log.string() + " 2>&1";
  const int raw = std::system(command.c_str());
  Result result;
  if (raw != -1 && WIFEXITED(raw)) result.status = WEXITSTATUS(raw);
  result.output = testing::ReadFile(log);
  fs::remove(log);
  return result;
}

#define SKIP_UNLESS_BUILT(program)                                \
  if (!fs::exists(ProgramPath(program))) {                        \
    GTEST_SKIP() << ProgramPath(program) << " is not built here"; \
  }

// Each `arguments` must exit with status 2 and name `flag` and the offending value.
void ExpectRefused(const std::string& program, const std::string& arguments,
                   const std::string& flag, const std::string& value) {
  SCOPED_TRACE(program + " " + arguments);
  const Result r = RunProgram(program, arguments);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(flag), std::string::npos) << "flag not named:\n" << r.output;
  EXPECT_NE(r.output.find(value), std::string::npos) << "value not named:\n" << r.output;
}

// --help exits 0 and shows every flag with its default ("--epochs ...=20").
void ExpectHelpListsDefaults(const std::string& program,
                             const std::vector<std::pair<std::string, std::string>>& flags) {
  const Result r = RunProgram(program, "--help");
  EXPECT_EQ(r.status, 0) << r.output;
  for (const auto& [flag, default_value] : flags) {
    const size_t at = r.output.find(flag);
    ASSERT_NE(at, std::string::npos) << flag << " missing from:\n" << r.output;
    const size_t line_end = r.output.find('\n', at);
    const std::string line = r.output.substr(at, line_end - at);
    EXPECT_NE(line.find("=" + default_value), std::string::npos)
        << flag << " without its default " << default_value << ": " << line;
  }
}

TEST(CommandLineTest, TrainBallRefusesMalformedValuesNamingTheFlag) {
  SKIP_UNLESS_BUILT("train_ball");
  ExpectRefused("train_ball", "--epochs abc", "--epochs", "abc");
  ExpectRefused("train_ball", "--epochs 99999999999", "--epochs", "99999999999");
  ExpectRefused("train_ball", "--epochs 0", "--epochs", "0");
  ExpectRefused("train_ball", "--epochs 1e3", "--epochs", "1e3");
  ExpectRefused("train_ball", "--lr abc", "--lr", "abc");
  ExpectRefused("train_ball", "--lr nan", "--lr", "nan");
  ExpectRefused("train_ball", "--lr inf", "--lr", "inf");
  ExpectRefused("train_ball", "--lr 1e39", "--lr", "1e39");  // Inf as a float
  ExpectRefused("train_ball", "--lr -0.1", "--lr", "-0.1");
  ExpectRefused("train_ball", "--seed abc", "--seed", "abc");
  ExpectRefused("train_ball", "--seed -1", "--seed", "-1");
  const std::string huge = "99999999999999999999999";
  ExpectRefused("train_ball", "--seed " + huge, "--seed", huge);
  ExpectRefused("train_ball", "--batch abc", "--batch", "abc");
  ExpectRefused("train_ball", "--batch 0", "--batch", "0");
  ExpectRefused("train_ball", "--warmup-epochs -1", "--warmup-epochs", "-1");
  ExpectRefused("train_ball", "--activation tanhh", "--activation", "tanhh");
  ExpectRefused("train_ball", "--initializer he_nromal", "--initializer", "he_nromal");
  ExpectRefused("train_ball", "--optimizer rmsprop", "--optimizer", "rmsprop");
  ExpectRefused("train_ball", "--device tpu", "--device", "tpu");
  ExpectRefused("train_ball", "--bogus 1", "--bogus", "--bogus");
  ExpectRefused("train_ball", "--verbose 3", "--verbose", "3");
  ExpectRefused("train_ball", "--epochs", "--epochs", "--epochs");  // value missing
}

TEST(CommandLineTest, TrainBallHelpListsEveryFlagWithItsDefault) {
  SKIP_UNLESS_BUILT("train_ball");
  ExpectHelpListsDefaults("train_ball", {{"--activation", "tanh"},
                                         {"--initializer", "glorot_normal"},
                                         {"--epochs", "20"},
                                         {"--warmup-epochs", "1"},
                                         {"--batch", "16"},
                                         {"--lr", "0.01"},
                                         {"--optimizer", "sgd"},
                                         {"--verbose", "0"},
                                         {"--seed", "42"},
                                         {"--device", "auto"}});
}

// Issue 11, item 7: the step time must not include one-time start-up, and must say what
// it timed.
TEST(CommandLineTest, TrainBallTimesOnlyTheEpochsAfterWarmUp) {
  SKIP_UNLESS_BUILT("train_ball");
  const Result r = RunProgram("train_ball", "--epochs 3 --batch 500 --device cpu");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("epoch   1  loss"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(warm-up, not timed)"), std::string::npos) << r.output;
  // 1000 rows in batches of 500: 2 steps an epoch, 4 in the two timed epochs.
  EXPECT_NE(r.output.find("timed epochs 2-3 (the first 1 left out as warm-up): 4 steps"),
            std::string::npos)
      << r.output;
  // The seed is read in base 10: "010" is 10, not octal 8.
  const std::string one_epoch = "--epochs 1 --batch 1000 --device cpu --seed ";
  const Result ten = RunProgram("train_ball", one_epoch + "10");
  const Result leading_zero = RunProgram("train_ball", one_epoch + "010");
  EXPECT_EQ(ten.output.substr(ten.output.find("epoch   1")),
            leading_zero.output.substr(leading_zero.output.find("epoch   1")));
  EXPECT_NE(leading_zero.output.find("not timed: all 1 epochs were warm-up"), std::string::npos)
      << leading_zero.output;
}

size_t Occurrences(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// The line a program prints for the CUDA device when it cannot use it here ("" with a GPU).
std::string CudaSkippedLine() {
  return CudaAvailable() ? "" : "cuda: skipped, " + CudaUnavailableReason() + "\n";
}

// A run on every device must be the run on each: the same model, seed and losses.
TEST(CommandLineTest, TrainBallDeviceAllTrainsOnEveryUsableDeviceAndNamesTheSkipped) {
  SKIP_UNLESS_BUILT("train_ball");
  const std::string arguments = "--epochs 2 --batch 500 --device ";
  const Result all = RunProgram("train_ball", arguments + "all");
  ASSERT_EQ(all.status, 0) << all.output;
  const Result cpu = RunProgram("train_ball", arguments + "cpu");
  ASSERT_EQ(cpu.status, 0) << cpu.output;
  const std::string cpu_run = cpu.output.substr(0, cpu.output.find("timed epochs"));
  EXPECT_NE(all.output.find(cpu_run), std::string::npos) << all.output;
  // The skipped line first, once; then one timing line per device trained.
  EXPECT_EQ(all.output.find(CudaSkippedLine()), 0u) << all.output;
  EXPECT_EQ(Occurrences(all.output, "skipped"), CudaAvailable() ? 0u : 1u) << all.output;
  EXPECT_EQ(Occurrences(all.output, "ms/step) on "), CudaAvailable() ? 2u : 1u) << all.output;
}

TEST(CommandLineTest, CompareNamesWhatItSkippedBeforeAndUnderTheTable) {
  SKIP_UNLESS_BUILT("fanin_compare");
  const Result r = RunProgram("fanin_compare", "--workloads=W1 --w1-steps=2 --torch=off");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string skipped = CudaSkippedLine() + "torch: skipped, turned off by --torch=off\n";
  const size_t table = r.output.find("| workload |");
  ASSERT_NE(table, std::string::npos) << r.output;
  const size_t before = r.output.find(skipped);
  EXPECT_LT(before, table) << r.output;
  EXPECT_NE(r.output.find("\nNot run:\n" + skipped, table), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("| W1 | torch"), std::string::npos) << r.output;
}

TEST(CommandLineTest, BenchNamesTheDevicesItSkippedBeforeTheResults) {
  SKIP_UNLESS_BUILT("fanin_bench");
  const Result r = RunProgram("fanin_bench",
                              "--benchmark_filter='^Bce/logits/n:1000/cpu1/' "
                              "--benchmark_min_time=0.01");
  ASSERT_EQ(r.status, 0) << r.output;
  const size_t result = r.output.find("Bce/logits/n:1000/cpu1/real_time");
  ASSERT_NE(result, std::string::npos) << r.output;
  for (const std::string label : {"cuda", "cuda_cudnn"}) {
    if (CudaAvailable()) {
      EXPECT_EQ(r.output.find(label + ": skipped"), std::string::npos) << r.output;
    } else {
      const std::string line = label + ": skipped, " + CudaUnavailableReason() + "\n";
      EXPECT_EQ(Occurrences(r.output, line), 1u) << r.output;
      EXPECT_LT(r.output.find(line), result) << r.output;
    }
  }
}

TEST(CommandLineTest, BceToyAnswersHelpAndRefusesFlags) {
  SKIP_UNLESS_BUILT("bce_toy");
  EXPECT_EQ(RunProgram("bce_toy", "--help").status, 0);
  ExpectRefused("bce_toy", "--epochs 5", "--epochs", "--epochs");
}

TEST(CommandLineTest, CompareRefusesMalformedValuesNamingTheFlag) {
  SKIP_UNLESS_BUILT("fanin_compare");
  ExpectRefused("fanin_compare", "--w1-steps=0", "--w1-steps", "0");
  ExpectRefused("fanin_compare", "--w1-steps=abc", "--w1-steps", "abc");
  ExpectRefused("fanin_compare", "--w1-steps=1e3", "--w1-steps", "1e3");
  ExpectRefused("fanin_compare", "--w2-steps=-4", "--w2-steps", "-4");
  ExpectRefused("fanin_compare", "--workloads=W3", "--workloads", "W3");
  ExpectRefused("fanin_compare", "--torch=on", "--torch", "on");
  ExpectHelpListsDefaults("fanin_compare", {{"--w1-steps", "200"},
                                            {"--w2-steps", "11"},
                                            {"--torch", "auto"},
                                            {"--workloads", "[W1,W2]"}});
  const Result help = RunProgram("fanin_compare", "--help");
  EXPECT_NE(help.output.find("--python"), std::string::npos) << help.output;
}

TEST(CommandLineTest, GemmLibsRefusesMalformedValuesNamingTheFlag) {
  SKIP_UNLESS_BUILT("fanin_gemm_libs");
  ExpectRefused("fanin_gemm_libs", "--threads=0", "--threads", "0");
  ExpectRefused("fanin_gemm_libs", "--threads=1,x", "--threads", "x");
  ExpectRefused("fanin_gemm_libs", "--min-time=nan", "--min-time", "nan");
  ExpectRefused("fanin_gemm_libs", "--min-time=-1", "--min-time", "-1");
  ExpectHelpListsDefaults("fanin_gemm_libs", {{"--threads", "[1,2]"}, {"--min-time", "0.3"}});
}

}  // namespace
}  // namespace fanin
