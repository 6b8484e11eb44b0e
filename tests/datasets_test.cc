// Tests of the data sets: DeepReplay's ball, the parabolas, and the CSV loader's parsing
// and its error messages.

#include "fanin/datasets.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "expect_error.h"
#include "test_util.h"

namespace fanin {
namespace {

// ---- Ball ---------------------------------------------------------------------------------------

TEST(BallTest, ShapeScaleAndLabels) {
  const Dataset ball = Ball();
  ASSERT_EQ(ball.x.shape(), (Shape{1000, 10}));
  ASSERT_EQ(ball.y.shape(), (Shape{1000, 1}));
  const std::vector<float> x = ball.x.ToHost();
  const std::vector<float> y = ball.y.ToHost();

  // X is divided by the (population, numpy's default) std of all its entries. 1e-5 leaves
  // room for float storage and accumulation, and excludes an n-1 std (off by 5e-5).
  EXPECT_NEAR(testing::Moments(x).std, 1.0, 1e-5);

  // Labels: |sum of coordinates| > radius / 2. The sum is sqrt(10) R t with t a coordinate
  // of the unit ball, whose density is proportional to (1 - t^2)^4.5, so the positive
  // fraction is P(|t| > 0.5 / sqrt(10)) = 0.6059 (numerical integration). The count of
  // positives is binomial(1000, 0.606), std 15.5: accept 5 std either side.
  int64_t positives = 0;
  for (float label : y) {
    ASSERT_TRUE(label == 0.0f || label == 1.0f) << label;
    positives += label == 1.0f;
  }
  EXPECT_GE(positives, 606 - 77);
  EXPECT_LE(positives, 606 + 77);

  // The labels are a threshold T on |sum| with T = radius / 2, and the points fill the ball
  // of that radius: with 1000 points in 10-D the largest norm is within 1% of the radius
  // (P(all below 0.99 R) = (0.99^10)^1000 ~ 1e-44).
  double max_negative = 0.0, min_positive = 1e300, max_norm = 0.0;
  std::vector<double> norms;
  for (int64_t i = 0; i < 1000; ++i) {
    double sum = 0.0, norm2 = 0.0;
    for (int64_t j = 0; j < 10; ++j) {
      sum += x[i * 10 + j];
      norm2 += static_cast<double>(x[i * 10 + j]) * x[i * 10 + j];
    }
    norms.push_back(std::sqrt(norm2));
    max_norm = std::max(max_norm, norms.back());
    if (y[i] == 1.0f) {
      min_positive = std::min(min_positive, std::fabs(sum));
    } else {
      max_negative = std::max(max_negative, std::fabs(sum));
    }
  }
  ASSERT_LT(max_negative, min_positive) << "labels are not a threshold on |sum|";
  EXPECT_LE(max_norm, 2 * min_positive * (1 + 1e-5));
  EXPECT_GE(max_norm, 0.99 * 2 * max_negative);

  // Radius ~ U^(1/10): (norm / R)^10 is uniform on [0, 1], mean 1/2, std error
  // sqrt(1/12 / 1000); R estimated as 2T to ~0.1%.
  const double radius = max_negative + min_positive;  // 2T, T between the two
  double mean_u = 0.0;
  for (double r : norms) mean_u += std::pow(r / radius, 10.0) / 1000.0;
  EXPECT_NEAR(mean_u, 0.5, 5 * std::sqrt(1.0 / 12 / 1000));
}

TEST(BallTest, DeterministicInSeedAndParameters) {
  const Dataset a = Ball(10, 1000, 0.5, 7);
  const Dataset b = Ball(10, 1000, 0.5, 7);
  EXPECT_EQ(a.x.ToHost(), b.x.ToHost());
  EXPECT_EQ(a.y.ToHost(), b.y.ToHost());
  EXPECT_NE(a.x.ToHost(), Ball(10, 1000, 0.5, 8).x.ToHost());

  const Dataset small = Ball(3, 200, 0.5, 1);
  EXPECT_EQ(small.x.shape(), (Shape{200, 3}));
  EXPECT_EQ(small.y.shape(), (Shape{200, 1}));
  // radius_fraction 0: every point is outside the zero-width band.
  for (float label : Ball(10, 300, 0.0, 2).y.ToHost()) EXPECT_EQ(label, 1.0f);
}

TEST(BallTest, RefusesRadiusFractionThatIsNegativeOrNotFinite) {
  for (double fraction : {-0.5, std::nan(""), std::numeric_limits<double>::infinity()}) {
    testing::ExpectThrowsWith<std::invalid_argument>([&] { Ball(10, 100, fraction); },
                                                     {"Ball", "radius_fraction"});
  }
  testing::ExpectThrowsWith<std::length_error>([] { Ball(int64_t{1} << 40, int64_t{1} << 40); },
                                               {"[1099511627776 x 1099511627776]"});
}

// ---- Parabola
// -------------------------------------------------------------------------------------

TEST(ParabolaTest, ValuesAsSpecified) {
  const Dataset d = Parabola(1000);
  ASSERT_EQ(d.x.shape(), (Shape{2000, 2}));
  ASSERT_EQ(d.y.shape(), (Shape{2000, 1}));
  const std::vector<float> x = d.x.ToHost();
  const std::vector<float> y = d.y.ToHost();
  for (int64_t i = 0; i < 2000; ++i) {
    const int64_t k = i % 1000;
    const double x1 = -1.0 + 2.0 * static_cast<double>(k) / 999.0;  // linspace(-1, 1, 1000)
    const bool upper = i < 1000;                                    // class 0 first
    ASSERT_NEAR(x[i * 2], x1, 1e-6) << i;
    ASSERT_NEAR(x[i * 2 + 1], upper ? x1 * x1 : x1 * x1 - 0.5, 1e-6) << i;
    ASSERT_EQ(y[i], upper ? 0.0f : 1.0f) << i;
  }
  const std::vector<float> tiny = Parabola(3).x.ToHost();
  EXPECT_EQ(tiny, (std::vector<float>{-1, 1, 0, 0, 1, 1, -1, 0.5f, 0, -0.5f, 1, 0.5f}));
}

// ---- LoadCsv
// ----------------------------------------------------------------------------------------

class LoadCsvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "fanin-csv-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << contents;
    return path;
  }

  // Loads `contents` with label column "label" and expects std::invalid_argument naming
  // the file, the column (when given) and the row: either the 1-based data row or the
  // 1-based line of the file (header = line 1).
  void ExpectError(const std::string& contents, const char* column, int data_row) {
    const std::string path = Write("bad.csv", contents);
    try {
      LoadCsv(path, "label");
      ADD_FAILURE() << "no exception for:\n" << contents;
    } catch (const std::invalid_argument& error) {
      std::string message = error.what();
      SCOPED_TRACE(message);
      const size_t at = message.find(path);
      EXPECT_NE(at, std::string::npos) << "file not named";
      if (at != std::string::npos) message.erase(at, path.size());
      if (column != nullptr) {
        EXPECT_NE(message.find(column), std::string::npos) << "column not named";
      }
      const std::regex row("\\b(" + std::to_string(data_row) + "|" + std::to_string(data_row + 1) +
                           ")\\b");
      EXPECT_TRUE(std::regex_search(message, row)) << "row " << data_row << " not named";
    }
  }

  std::filesystem::path dir_;
};

TEST_F(LoadCsvTest, ParsesAGoodFile) {
  const Dataset d =
      LoadCsv(Write("good.csv", "alpha,beta,label\n1,2.5,0\n-3e-2,4,1\n0.5,-1,1\n"), "label");
  EXPECT_EQ(d.x.shape(), (Shape{3, 2}));
  EXPECT_EQ(d.y.shape(), (Shape{3, 1}));
  EXPECT_EQ(d.x.ToHost(), (std::vector<float>{1, 2.5f, -0.03f, 4, 0.5f, -1}));
  EXPECT_EQ(d.y.ToHost(), (std::vector<float>{0, 1, 1}));
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"alpha", "beta"}));

  // The label may be any column; a missing final newline is fine.
  const Dataset m = LoadCsv(Write("middle.csv", "alpha,label,beta\n1,0,2\n3,1,4"), "label");
  EXPECT_EQ(m.x.ToHost(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(m.y.ToHost(), (std::vector<float>{0, 1}));
  EXPECT_EQ(m.feature_names, (std::vector<std::string>{"alpha", "beta"}));
}

TEST_F(LoadCsvTest, BadCellsNameRowAndColumn) {
  const std::string header = "alpha,beta,label\n1,2,0\n3,4,1\n";
  ExpectError(header + "5,,1\n", "beta", 3);      // missing cell
  ExpectError(header + "5,abc,1\n", "beta", 3);   // non-numeric
  ExpectError(header + "5,1.5x,1\n", "beta", 3);  // numeric prefix, then garbage
  ExpectError(header + "5,nan,1\n", "beta", 3);   // NaN
  ExpectError(header + "5,NaN,1\n", "beta", 3);
  ExpectError(header + "abc,6,1\n", "alpha", 3);  // first column
  ExpectError(header + "5,6,\n", "label", 3);     // missing label
  ExpectError("alpha,beta,label\n1,x,0\n", "beta", 1);
}

TEST_F(LoadCsvTest, RaggedRowsNameTheRow) {
  const std::string header = "alpha,beta,label\n1,2,0\n3,4,1\n";
  ExpectError(header + "5,6\n", nullptr, 3);
  ExpectError(header + "5,6,1,7\n", nullptr, 3);
}

TEST_F(LoadCsvTest, UnknownLabelColumnAndMissingFile) {
  const std::string path = Write("good.csv", "alpha,beta,label\n1,2,0\n");
  try {
    LoadCsv(path, "target");
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("target"), std::string::npos) << error.what();
  }
  const std::string missing = (dir_ / "does-not-exist.csv").string();
  try {
    LoadCsv(missing, "label");
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find(missing), std::string::npos) << error.what();
  }
}

TEST_F(LoadCsvTest, ByteOrderMarkIsNotPartOfTheFirstName) {
  const std::string bom = "\xEF\xBB\xBF";
  const Dataset d = LoadCsv(Write("bom.csv", bom + "alpha,label\n1,0\n2,1\n"), "label");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"alpha"}));
  // The label may be the first column too.
  const Dataset l = LoadCsv(Write("bom-label.csv", bom + "label,alpha\n1,0\n"), "label");
  EXPECT_EQ(l.y.ToHost(), (std::vector<float>{1}));
}

TEST_F(LoadCsvTest, RepeatedLabelColumnNamesFileAndColumn) {
  const std::string path = Write("twice.csv", "label,alpha,label\n0,1,0\n");
  testing::ExpectThrowsWith<std::invalid_argument>([&] { LoadCsv(path, "label"); },
                                                   {path, "'label'", "twice", "columns 1 and 3"});
}

TEST_F(LoadCsvTest, QuotedCellsFollowRfc4180InHeaderAndRows) {
  const Dataset d = LoadCsv(
      Write("quoted.csv", "\"mass, kg\",\"say \"\"hi\"\"\", label \n \"1.5\" ,2,\"1\"\n"), "label");
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"mass, kg", "say \"hi\""}));
  EXPECT_EQ(d.x.ToHost(), (std::vector<float>{1.5f, 2}));
  EXPECT_EQ(d.y.ToHost(), (std::vector<float>{1}));
  ExpectError("alpha,label\n\"1,0\n", nullptr, 1);     // no closing quote
  ExpectError("alpha,label\n\"1\"x,0\n", nullptr, 1);  // text after the closing quote
  testing::ExpectThrowsWith<std::invalid_argument>(
      [&] { LoadCsv(Write("header.csv", "\"alpha,label\n1,0\n"), "label"); },
      {"header", "column 1", "closing quote"});
}

TEST_F(LoadCsvTest, OutOfFloatRangeIsNotCalledNotANumber) {
  for (const char* cell : {"1e39", "-1e39", "1e-400", "3.4028236e38"}) {
    SCOPED_TRACE(cell);
    const std::string contents = std::string("alpha,label\n1,0\n") + cell + ",1\n";
    ExpectError(contents, "alpha", 2);
    testing::ExpectThrowsWith<std::invalid_argument>(
        [&] { LoadCsv(Write("range.csv", contents), "label"); }, {"out of float range"});
  }
  // The smallest float denormal and the largest float still load.
  const Dataset d =
      LoadCsv(Write("edges.csv", "alpha,label\n1.5e-45,0\n3.4028234e38,1\n"), "label");
  EXPECT_EQ(d.x.ToHost(), (std::vector<float>{std::numeric_limits<float>::denorm_min(),
                                              std::numeric_limits<float>::max()}));
}

// ---- TrainTestSplit ---------------------------------------------------------------------

// Rows as (features..., label) tuples, sorted: a multiset to compare splits with.
std::vector<std::vector<float>> SortedRows(const std::vector<const Dataset*>& parts) {
  std::vector<std::vector<float>> rows;
  for (const Dataset* d : parts) {
    const std::vector<float> x = d->x.ToHost(), y = d->y.ToHost();
    for (int64_t r = 0; r < d->x.rows(); ++r) {
      std::vector<float> row(x.begin() + r * d->x.cols(), x.begin() + (r + 1) * d->x.cols());
      row.push_back(y[static_cast<size_t>(r)]);
      rows.push_back(row);
    }
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

double Positives(const Dataset& d) {
  double sum = 0;
  for (float v : d.y.ToHost()) sum += v;
  return sum;
}

TEST(TrainTestSplitTest, SplitsEveryRowOnceKeepingEachLabelsShare) {
  const Dataset data = Ball(3, 1000, 1.2, 4);  // about 20% positives
  const double positives = Positives(data);
  const Split split = TrainTestSplit(data, 0.25, 7);
  EXPECT_EQ(split.test.x.rows(), 250);
  EXPECT_EQ(split.train.x.rows(), 750);
  EXPECT_EQ(split.test.x.cols(), 3);
  EXPECT_EQ(split.train.feature_names, data.feature_names);
  // Stratified: each label's rows split 1:3 (round(0.25 * count) to test).
  EXPECT_EQ(Positives(split.test), std::round(0.25 * positives));
  EXPECT_EQ(Positives(split.train), positives - std::round(0.25 * positives));
  EXPECT_EQ(SortedRows({&split.train, &split.test}), SortedRows({&data}));
  // Seeded: the same seed gives the same split, another seed another one.
  const Split again = TrainTestSplit(data, 0.25, 7), other = TrainTestSplit(data, 0.25, 8);
  EXPECT_EQ(again.test.x.ToHost(), split.test.x.ToHost());
  EXPECT_NE(other.test.x.ToHost(), split.test.x.ToHost());
  // Shuffled, not the first rows.
  EXPECT_NE(split.test.x.ToHost(), data.x.Rows(0, 250).ToHost());
  // Unstratified: round(0.25 * n) rows, whatever their labels.
  const Split plain = TrainTestSplit(data, 0.25, 7, /*stratify=*/false);
  EXPECT_EQ(plain.test.x.rows(), 250);
  EXPECT_EQ(SortedRows({&plain.train, &plain.test}), SortedRows({&data}));
}

TEST(TrainTestSplitTest, RefusesAFractionThatLeavesASideEmpty) {
  const Dataset data = Ball(3, 10, 0.5, 4);
  testing::ExpectThrowsWith<std::invalid_argument>([&] { TrainTestSplit(data, 1.0, 0); },
                                                   {"TrainTestSplit", "test_fraction 1", "(0, 1)"});
  testing::ExpectThrowsWith<std::invalid_argument>([&] { TrainTestSplit(data, 0.01, 0, false); },
                                                   {"10 rows give 0 to the test side"});
  // Stratified, a label with 2 rows cannot give 0.1 of them.
  std::vector<float> x(10, 0.0f), y(10, 0.0f);
  y[0] = y[1] = 1.0f;
  const Dataset few{Tensor::FromHost(HostBackend(), {10, 1}, x),
                    Tensor::FromHost(HostBackend(), {10, 1}, y),
                    {"x"}};
  testing::ExpectThrowsWith<std::invalid_argument>([&] { TrainTestSplit(few, 0.1, 0); },
                                                   {"label 1's 2 rows give 0"});
}

}  // namespace
}  // namespace fanin

namespace fanin {
namespace {

TEST_F(LoadCsvTest, LabelKindsTakeClassIndicesSoftLabelsAndTargets) {
  const std::string path = Write("kinds.csv", "a,label\n1,2\n2,0\n3,1\n");
  testing::ExpectThrowsWith<std::invalid_argument>(
      [&] { LoadCsv(path, "label"); },
      {"label '2' is not 0 or 1", "CsvLabels::kClassIndex", "kContinuous"});
  EXPECT_EQ(LoadCsv(path, "label", CsvLabels::kClassIndex).y.ToHost(),
            (std::vector<float>{2, 0, 1}));
  testing::ExpectThrowsWith<std::invalid_argument>(
      [&] { LoadCsv(path, "label", CsvLabels::kSoft); }, {"label '2' is not in [0, 1]"});
  const std::string soft = Write("soft.csv", "a,label\n1,0.25\n2,1\n");
  EXPECT_EQ(LoadCsv(soft, "label", CsvLabels::kSoft).y.ToHost(), (std::vector<float>{0.25f, 1}));
  testing::ExpectThrowsWith<std::invalid_argument>(
      [&] { LoadCsv(soft, "label", CsvLabels::kClassIndex); },
      {"row 1 (line 2)", "label '0.25' is not a class index"});
  const std::string target = Write("target.csv", "a,label\n1,-3.5\n2,1e6\n");
  EXPECT_EQ(LoadCsv(target, "label", CsvLabels::kContinuous).y.ToHost(),
            (std::vector<float>{-3.5f, 1e6f}));
}

TEST(BlobsTest, ClassesInOrderAroundSeededCenters) {
  const Dataset d = Blobs(4, 3, 102, 0.5, 5.0, 9);
  ASSERT_EQ(d.x.shape(), (Shape{102, 3}));
  const std::vector<float> x = d.x.ToHost(), y = d.y.ToHost();
  // 102 = 4 x 25 + 2: the first two classes get one more point.
  std::vector<int> count(4, 0);
  for (const float label : y) ++count[static_cast<size_t>(label)];
  EXPECT_EQ(count, (std::vector<int>{26, 26, 25, 25}));
  EXPECT_TRUE(std::is_sorted(y.begin(), y.end()));
  // Each class's mean lies within 4 standard errors (0.5 / sqrt(25) = 0.1) of one center,
  // inside the box; the centers are apart.
  std::vector<double> mean(12, 0.0);
  for (size_t i = 0; i < y.size(); ++i) {
    for (size_t j = 0; j < 3; ++j) mean[static_cast<size_t>(y[i]) * 3 + j] += x[i * 3 + j];
  }
  for (size_t c = 0; c < 4; ++c) {
    for (size_t j = 0; j < 3; ++j) {
      const double m = mean[c * 3 + j] / count[c];
      EXPECT_LE(std::fabs(m), 5.0 + 0.4) << c << " " << j;
    }
  }
  EXPECT_EQ(Blobs(4, 3, 102, 0.5, 5.0, 9).x.ToHost(), x);
  EXPECT_NE(Blobs(4, 3, 102, 0.5, 5.0, 10).x.ToHost(), x);
  testing::ExpectThrowsWith<std::invalid_argument>([] { Blobs(1); }, {"Blobs", "classes >= 2"});
  testing::ExpectThrowsWith<std::invalid_argument>([] { Blobs(3, 2, 100, 0.0); },
                                                   {"Blobs", "spread and center_box"});
}

TEST(RegressionTest, TargetIsTheStatedFunctionPlusNoise) {
  const Dataset clean = Regression(3, 200, 0.0, 2);
  const std::vector<float> x = clean.x.ToHost(), y = clean.y.ToHost();
  for (size_t i = 0; i < y.size(); ++i) {
    const double f =
        std::sin(3.14159265358979323846 * x[3 * i]) + x[3 * i + 1] / 2.0 + x[3 * i + 2] / 3.0;
    EXPECT_NEAR(y[i], f, 1e-6) << i;
    for (size_t j = 0; j < 3; ++j) EXPECT_LE(std::fabs(x[3 * i + j]), 1.0f);
  }
  // The noise: same inputs, residuals with the stated std (within 15% at 200 points).
  const Dataset noisy = Regression(3, 200, 0.1, 2);
  EXPECT_EQ(noisy.x.ToHost(), x);
  const std::vector<float> yn = noisy.y.ToHost();
  double ss = 0.0;
  for (size_t i = 0; i < y.size(); ++i) ss += (yn[i] - y[i]) * (yn[i] - y[i]);
  EXPECT_NEAR(std::sqrt(ss / 200.0), 0.1, 0.015);
  testing::ExpectThrowsWith<std::invalid_argument>([] { Regression(3, 10, -1.0); },
                                                   {"Regression", "noise"});
}

}  // namespace
}  // namespace fanin
