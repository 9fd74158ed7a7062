#include "kubeop/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace kubeop::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Registry plainRegistry() { return Registry(RegistryOptions{kDefaultMaxSeries, /*processMetrics=*/false}); }

// Every non-comment line must be `name{labels} value` or `name value`, and every sample's
// family must have been declared by a preceding TYPE line.
void expectValidExposition(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> typed;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty()) << "blank line in exposition";
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name;
      t >> name;
      typed.push_back(name);
      continue;
    }
    ASSERT_NE(line[0], '#') << line;
    const auto end = line.find_first_of("{ ");
    ASSERT_NE(end, std::string::npos) << line;
    const std::string name = line.substr(0, end);
    ASSERT_FALSE(typed.empty()) << line;
    const std::string& family = typed.back();
    EXPECT_TRUE(name == family || name == family + "_bucket" || name == family + "_sum" ||
                name == family + "_count")
        << line;
    const auto space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos);
    EXPECT_GT(line.size(), space + 1) << line;
  }
  EXPECT_EQ(text.back(), '\n');
}

TEST(MetricsTest, CounterValueAppearsWithItsLabels) {
  Registry r = plainRegistry();
  auto& family = r.counter("kubeop_test_requests_total", "Requests.", {"method", "code"});
  family.labels({"GET", "200"}).inc();
  family.labels({"GET", "200"}).inc(2);
  family.labels({"POST", "500"}).inc(0.5);
  const std::string text = r.serialize();
  EXPECT_THAT(text, HasSubstr("# HELP kubeop_test_requests_total Requests.\n"
                              "# TYPE kubeop_test_requests_total counter\n"
                              "kubeop_test_requests_total{method=\"GET\",code=\"200\"} 3\n"
                              "kubeop_test_requests_total{method=\"POST\",code=\"500\"} 0.5\n"));
  expectValidExposition(text);
}

TEST(MetricsTest, CounterIgnoresNegativeIncrements) {
  Registry r = plainRegistry();
  Counter& c = r.counter("kubeop_test_total", "t").labels({});
  c.inc(5);
  c.inc(-3);
  EXPECT_DOUBLE_EQ(c.value(), 5);
}

TEST(MetricsTest, GaugeGoesUpAndDownAndCanBeSet) {
  Registry r = plainRegistry();
  Gauge& g = r.gauge("kubeop_test_queue_depth", "Depth.").labels({});
  g.inc();
  g.inc(4);
  g.dec(2);
  EXPECT_DOUBLE_EQ(g.value(), 3);
  EXPECT_THAT(r.serialize(), HasSubstr("# TYPE kubeop_test_queue_depth gauge\nkubeop_test_queue_depth 3\n"));
  g.set(-1.25);
  EXPECT_THAT(r.serialize(), HasSubstr("kubeop_test_queue_depth -1.25\n"));
}

TEST(MetricsTest, CollectorsRefreshGaugesAtEachScrapeUntilRemoved) {
  Registry r = plainRegistry();
  Gauge& g = r.gauge("kubeop_test_cache_objects", "Objects.").labels({});
  int size = 3, runs = 0;
  auto id = r.addCollector([&] {
    ++runs;
    g.set(size);
  });
  EXPECT_THAT(r.serialize(), HasSubstr("kubeop_test_cache_objects 3\n"));
  size = 7;
  EXPECT_THAT(r.serialize(), HasSubstr("kubeop_test_cache_objects 7\n"));
  EXPECT_EQ(runs, 2);
  r.addCollector([] { throw std::runtime_error("a broken collector"); });
  EXPECT_THAT(r.serialize(), HasSubstr("kubeop_test_cache_objects 7\n")) << "a throwing collector spoils nothing";
  r.removeCollector(id);
  size = 9;
  EXPECT_THAT(r.serialize(), HasSubstr("kubeop_test_cache_objects 7\n"));
  EXPECT_EQ(runs, 3);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r = plainRegistry();
  auto& family = r.histogram("kubeop_test_latency_seconds", "Latency.", {"route"}, {0.1, 1, 10});
  Histogram& h = family.labels({"/x"});
  h.observe(0.05);
  h.observe(0.1);  // upper bounds are inclusive
  h.observe(0.5);
  h.observe(20);
  const std::string text = r.serialize();
  EXPECT_THAT(text, HasSubstr("# TYPE kubeop_test_latency_seconds histogram\n"
                              "kubeop_test_latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
                              "kubeop_test_latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
                              "kubeop_test_latency_seconds_bucket{route=\"/x\",le=\"10\"} 3\n"
                              "kubeop_test_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
                              "kubeop_test_latency_seconds_sum{route=\"/x\"} 20.65\n"
                              "kubeop_test_latency_seconds_count{route=\"/x\"} 4\n"));
  EXPECT_EQ(h.cumulativeCounts(), (std::vector<std::uint64_t>{2, 3, 3, 4}));
  expectValidExposition(text);
}

TEST(MetricsTest, HistogramWithoutLabelsUsesDefaultBuckets) {
  Registry r = plainRegistry();
  Histogram& h = r.histogram("kubeop_test_op_seconds", "Op.").labels({});
  h.observe(0.003);
  const std::string text = r.serialize();
  EXPECT_THAT(text, HasSubstr("kubeop_test_op_seconds_bucket{le=\"0.005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kubeop_test_op_seconds_bucket{le=\"10\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kubeop_test_op_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kubeop_test_op_seconds_sum 0.003\n"));
  EXPECT_THAT(text, HasSubstr("kubeop_test_op_seconds_count 1\n"));
  EXPECT_EQ(h.bounds().size(), defaultBuckets().size());
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Registry r = plainRegistry();
  r.counter("kubeop_test_escape_total", "Help with \\ and\nnewline.", {"v"}).labels({"a\\b\"c\nd"}).inc();
  const std::string text = r.serialize();
  EXPECT_THAT(text, HasSubstr("# HELP kubeop_test_escape_total Help with \\\\ and\\nnewline.\n"));
  EXPECT_THAT(text, HasSubstr("kubeop_test_escape_total{v=\"a\\\\b\\\"c\\nd\"} 1\n"));
  expectValidExposition(text);
}

TEST(MetricsTest, FamiliesAreSortedByNameAndChildrenByLabelValues) {
  Registry r = plainRegistry();
  auto& b = r.counter("kubeop_test_b_total", "b", {"k"});
  r.counter("kubeop_test_a_total", "a").labels({}).inc();
  b.labels({"z"}).inc();
  b.labels({"a"}).inc();
  const std::string text = r.serialize();
  const auto a = text.find("kubeop_test_a_total 1");
  const auto bA = text.find("kubeop_test_b_total{k=\"a\"}");
  const auto bZ = text.find("kubeop_test_b_total{k=\"z\"}");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(bA, std::string::npos);
  ASSERT_NE(bZ, std::string::npos);
  EXPECT_LT(a, bA);
  EXPECT_LT(bA, bZ);
  EXPECT_EQ(text, r.serialize());  // deterministic
}

TEST(MetricsTest, ChildReferencesAreStableAcrossLookups) {
  Registry r = plainRegistry();
  auto& family = r.counter("kubeop_test_stable_total", "s", {"k"});
  Counter& first = family.labels({"x"});
  for (int i = 0; i < 100; ++i) family.labels({std::to_string(i)});
  EXPECT_EQ(&first, &family.labels({"x"}));
  EXPECT_EQ(&first, &family.labels(std::vector<std::string>{"x"}));
}

TEST(MetricsTest, LabelSetsBeyondTheSeriesLimitFoldIntoOverflow) {
  Registry r = plainRegistry();
  auto& family = r.counter("kubeop_test_users_total", "u", {"user", "verb"}, FamilyOptions{3});
  Counter& a = family.labels({"a", "get"});
  family.labels({"b", "get"}).inc();
  family.labels({"c", "get"}).inc();
  Counter& d = family.labels({"d", "get"});
  Counter& e = family.labels({"e", "get"});
  EXPECT_NE(&a, &d);
  EXPECT_EQ(&d, &e);  // one shared overflow child
  d.inc();
  e.inc();
  a.inc();
  EXPECT_EQ(family.seriesCount(), 3u);
  EXPECT_EQ(&family.labels({"a", "get"}), &a);  // existing children still resolve
  const std::string text = r.serialize();
  EXPECT_THAT(text, HasSubstr("kubeop_test_users_total{user=\"__overflow__\",verb=\"__overflow__\"} 2\n"));
  EXPECT_THAT(text, Not(HasSubstr("user=\"d\"")));
  EXPECT_THAT(text, HasSubstr("kubeop_metrics_series_overflow_total{family=\"kubeop_test_users_total\"} 2\n"));
  expectValidExposition(text);
}

TEST(MetricsTest, DefaultSeriesLimitIsOneThousand) {
  Registry r = plainRegistry();
  auto& family = r.gauge("kubeop_test_many", "m", {"i"});
  EXPECT_EQ(family.maxSeries(), 1000u);
  for (int i = 0; i < 1005; ++i) family.labels({std::to_string(i)}).set(1);
  EXPECT_EQ(family.seriesCount(), 1000u);
  EXPECT_THAT(r.serialize(), HasSubstr("kubeop_metrics_series_overflow_total{family=\"kubeop_test_many\"} 5\n"));
}

TEST(MetricsTest, WrongNumberOfLabelValuesFoldsIntoOverflowInsteadOfCrashing) {
  Registry r = plainRegistry();
  auto& family = r.counter("kubeop_test_arity_total", "a", {"x", "y"});
  family.labels({"only-one"}).inc();
  EXPECT_THAT(r.serialize(), HasSubstr("kubeop_test_arity_total{x=\"__overflow__\",y=\"__overflow__\"} 1\n"));
}

TEST(MetricsTest, ConcurrentIncrementsFromFourThreadsSumExactly) {
  Registry r = plainRegistry();
  auto& family = r.counter("kubeop_test_concurrent_total", "c", {"k"});
  auto& hist = r.histogram("kubeop_test_concurrent_seconds", "h", {}, {1});
  Gauge& gauge = r.gauge("kubeop_test_concurrent_gauge", "g").labels({});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Counter& c = family.labels({"shared"});  // resolved concurrently, then cached
      Histogram& h = hist.labels({});
      for (int i = 0; i < kPerThread; ++i) {
        c.inc();
        h.observe(0.5);
        gauge.inc();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_DOUBLE_EQ(family.labels({"shared"}).value(), kThreads * kPerThread);
  EXPECT_EQ(hist.labels({}).count(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_DOUBLE_EQ(hist.labels({}).sum(), kThreads * kPerThread * 0.5);
  EXPECT_DOUBLE_EQ(gauge.value(), kThreads * kPerThread);
  EXPECT_THAT(r.serialize(), HasSubstr("kubeop_test_concurrent_total{k=\"shared\"} 400000\n"));
}

TEST(MetricsTest, ReRegisteringTheSameFamilyReturnsIt) {
  Registry r = plainRegistry();
  auto& a = r.counter("kubeop_test_twice_total", "t", {"k"});
  auto& b = r.counter("kubeop_test_twice_total", "t", {"k"});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsTest, ConflictingOrInvalidRegistrationsThrow) {
  Registry r = plainRegistry();
  r.counter("kubeop_test_conflict_total", "t", {"k"});
  EXPECT_THROW(r.gauge("kubeop_test_conflict_total", "t", {"k"}), std::invalid_argument);
  EXPECT_THROW(r.counter("kubeop_test_conflict_total", "t", {"other"}), std::invalid_argument);
  EXPECT_THROW(r.counter("0bad", "t"), std::invalid_argument);
  EXPECT_THROW(r.counter("kubeop_test_bad_label_total", "t", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.counter("kubeop_test_dup_label_total", "t", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("kubeop_test_le_seconds", "t", {"le"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("kubeop_test_unsorted_seconds", "t", {}, {1, 0.5}), std::invalid_argument);
}

TEST(MetricsTest, SampleValuesUseShortestFormAndSpecialValues) {
  std::string s;
  appendSampleValue(s, 1);
  s += ' ';
  appendSampleValue(s, 0.1);
  s += ' ';
  appendSampleValue(s, 1e-7);
  s += ' ';
  appendSampleValue(s, std::numeric_limits<double>::infinity());
  s += ' ';
  appendSampleValue(s, -std::numeric_limits<double>::infinity());
  s += ' ';
  appendSampleValue(s, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(s, "1 0.1 1e-07 +Inf -Inf NaN");
}

TEST(MetricsTest, BucketHelpersProduceTheExpectedBounds) {
  EXPECT_EQ(exponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(linearBuckets(0.5, 0.5, 3), (std::vector<double>{0.5, 1, 1.5}));
}

TEST(MetricsTest, ProcessMetricsAreExposedFromProc) {
  Registry r;  // process metrics on by default
  r.counter("kubeop_test_x_total", "x").labels({}).inc();
  const std::string text = r.serialize();
  for (const char* name : {"process_resident_memory_bytes", "process_cpu_seconds_total",
                           "process_start_time_seconds", "process_open_fds"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + name)) << name;
    EXPECT_THAT(text, HasSubstr(std::string("\n") + name + " ")) << name;
  }
  expectValidExposition(text);
  // Sorted among the registered families: kubeop_* before process_*.
  EXPECT_LT(text.find("kubeop_test_x_total"), text.find("process_cpu_seconds_total"));
  EXPECT_LT(text.find("process_cpu_seconds_total"), text.find("process_resident_memory_bytes"));
}

TEST(MetricsTest, ProcessStartTimeIsRecent) {
  Registry r;
  const std::string text = r.serialize();
  const auto pos = text.find("\nprocess_start_time_seconds ");
  ASSERT_NE(pos, std::string::npos);
  const double start = std::stod(text.substr(pos + 28));
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(start, now - 3600);
  EXPECT_LE(start, now + 5);
}

}  // namespace
}  // namespace kubeop::metrics
