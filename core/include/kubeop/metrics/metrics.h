// Prometheus metrics: counters, gauges and histograms grouped in labelled families, exposed in
// the text exposition format 0.0.4 by Registry::serialize().
//
// Usage: register a family once at start-up, resolve the children you need once, cache the
// reference, and update it on the hot path:
//
//   auto& requests = registry.counter("kubeop_http_requests_total", "HTTP requests.",
//                                     {"method", "route", "code"});
//   metrics::Counter& ok = requests.labels({"GET", "/healthz", "200"});  // map lookup + lock
//   ok.inc();                                                            // one atomic add
//
// Cardinality is bounded: a family holds at most `maxSeries` label sets (default 1000). Further
// new label sets are folded into one child whose label values are all "__overflow__", and
// kubeop_metrics_series_overflow_total{family="<name>"} counts each fold, so a label fed from
// user input can never grow memory without bound.
//
// Thread-safety: everything here may be used from any thread. Child updates (inc, set,
// observe) are lock-free atomics. Family::labels() takes a shared lock (exclusive only when a
// new child is created). serialize() reads the atomics without stopping writers, so a scrape
// racing with updates sees each value at some moment during the scrape.
//
// Ownership: the Registry owns its families, a family owns its children. References returned by
// counter()/gauge()/histogram()/labels() stay valid for the lifetime of the Registry.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kubeop::metrics {

inline constexpr std::size_t kDefaultMaxSeries = 1000;
// The value of every label of the child that absorbs label sets beyond a family's maxSeries.
inline constexpr std::string_view kOverflowLabelValue = "__overflow__";
// The counter that counts folds into an overflow child; label "family".
inline constexpr std::string_view kSeriesOverflowMetric = "kubeop_metrics_series_overflow_total";

// Prometheus' default buckets: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 (seconds).
std::vector<double> defaultBuckets();
// start, start*factor, ... (`count` bounds). Requires start > 0, factor > 1, count >= 1.
std::vector<double> exponentialBuckets(double start, double factor, int count);
// start, start+width, ... (`count` bounds). Requires width > 0, count >= 1.
std::vector<double> linearBuckets(double start, double width, int count);

enum class MetricType { kCounter, kGauge, kHistogram };

// A monotonically increasing value. Lock-free.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `v` (default 1). Negative and NaN increments are ignored: a counter never goes down.
  // Whole numbers take a single atomic integer add; fractions a compare-and-swap loop.
  void inc(double v = 1.0) noexcept;
  double value() const noexcept;

 private:
  std::atomic<std::uint64_t> whole_{0};
  std::atomic<double> fraction_{0.0};
};

// A value that goes up and down. Lock-free.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1.0) noexcept { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets (upper bounds, inclusive) plus +Inf, with a sum.
// Lock-free. The exposed _count is the sum of the bucket counts, so it always equals the +Inf
// bucket even while observations race with a scrape.
class Histogram {
 public:
  // `bounds` must outlive the histogram (its family owns them); sorted, finite, no +Inf.
  explicit Histogram(const std::vector<double>& bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // NaN lands in the +Inf bucket (and makes the sum NaN), as in the Go client.
  void observe(double v) noexcept;

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts, one per bound plus the +Inf bucket last.
  std::vector<std::uint64_t> cumulativeCounts() const;
  std::uint64_t count() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0.0};
};

struct FamilyOptions {
  // Most label sets this family holds before folding new ones into the overflow child.
  // 0 means the registry's default (RegistryOptions::defaultMaxSeries).
  std::size_t maxSeries = 0;
};

// Orders label-value tuples; lets a family find a child from string_views without allocating.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return compare(std::span(a.data(), a.size()), std::span(b.data(), b.size()));
  }

 private:
  template <typename X, typename Y>
  static bool compare(std::span<X> a, std::span<Y> b) {
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i) {
      const int c = std::string_view(a[i]).compare(std::string_view(b[i]));
      if (c != 0) return c < 0;
    }
    return a.size() < b.size();
  }
};

// The type-independent part of a family: identity and exposition. See Family<Child>.
class FamilyBase {
 public:
  virtual ~FamilyBase();
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return labelNames_; }
  std::size_t maxSeries() const { return maxSeries_; }

  // Appends the HELP and TYPE lines and one sample line per child (histograms: several).
  virtual void serialize(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> labelNames,
             std::size_t maxSeries, Counter* overflowCounter);

  void appendHeader(std::string& out) const;
  // `name{l1="v1",l2="v2"` without the closing brace, so histograms can append `le`.
  void appendSeriesPrefix(std::string& out, std::string_view suffix,
                          std::span<const std::string> values) const;

  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> labelNames_;
  std::size_t maxSeries_;
  Counter* overflowCounter_;  // this family's child of kubeop_metrics_series_overflow_total
};

// A metric family: children keyed by label values, all sharing the family's label names.
// Child is Counter, Gauge or Histogram.
template <typename Child>
class Family final : public FamilyBase {
 public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> labelNames,
         std::size_t maxSeries, Counter* overflowCounter, std::vector<double> buckets = {});
  ~Family() override;

  // The child for these label values (in the order of labelNames()), created on first use.
  // A wrong number of values is a programming error; it is folded into the overflow child
  // rather than crashing. Callers on hot paths resolve once and cache the reference.
  Child& labels(std::initializer_list<std::string_view> values) {
    return labels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Child& labels(std::span<const std::string_view> values);
  Child& labels(const std::vector<std::string>& values);

  // Regular children, excluding the overflow child.
  std::size_t seriesCount() const;
  // Histogram families: the bucket upper bounds (without +Inf). Empty for the others.
  const std::vector<double>& buckets() const { return buckets_; }

  void serialize(std::string& out) const override;

 private:
  Child& overflowChild();  // requires mu_ held exclusively
  std::unique_ptr<Child> makeChild() const;
  void appendChild(std::string& out, std::span<const std::string> values, const Child& child) const;

  std::vector<double> buckets_;
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>, LabelValuesLess> children_;
  std::unique_ptr<Child> overflow_;
  std::vector<std::string> overflowValues_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

struct RegistryOptions {
  std::size_t defaultMaxSeries = kDefaultMaxSeries;
  // Adds process_* metrics (from /proc/self) to every serialize().
  bool processMetrics = true;
};

// Holds families and renders them. Registration is idempotent: registering the same name again
// with the same type, label names (and buckets) returns the existing family, so two components
// may share a registry and declare the same metric.
//
// Metric and label names are constants chosen by the programmer, so invalid names or a
// conflicting re-registration throw std::invalid_argument (at start-up, never per request).
class Registry {
 public:
  Registry();
  explicit Registry(RegistryOptions options);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& counter(std::string_view name, std::string_view help,
                         std::vector<std::string> labelNames = {}, FamilyOptions options = {});
  GaugeFamily& gauge(std::string_view name, std::string_view help,
                     std::vector<std::string> labelNames = {}, FamilyOptions options = {});
  // `buckets` empty → defaultBuckets(). Must be strictly increasing; a trailing +Inf is dropped.
  HistogramFamily& histogram(std::string_view name, std::string_view help,
                             std::vector<std::string> labelNames = {}, std::vector<double> buckets = {},
                             FamilyOptions options = {});

  // The exposition text (format 0.0.4): families sorted by name, children by label values,
  // the overflow child last. Content type: "text/plain; version=0.0.4; charset=utf-8".
  // Runs the collectors first.
  std::string serialize() const;

  // A collector refreshes gauges that are cheaper to read on demand than to keep current (a
  // cache's size): it runs at the start of every serialize(), on the caller's thread, and must not
  // call serialize(). Returns an id for removeCollector(); after removeCollector() returns, the
  // collector is not running and never runs again.
  using CollectorId = uint64_t;
  CollectorId addCollector(std::function<void()> collect);
  void removeCollector(CollectorId id);

 private:
  template <typename Child>
  Family<Child>& add(std::string_view name, std::string_view help, MetricType type,
                     std::vector<std::string> labelNames, std::vector<double> buckets,
                     FamilyOptions options);

  RegistryOptions options_;
  mutable std::mutex mu_;  // guards families_ (the map, not the families)
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;
  CounterFamily* overflow_ = nullptr;
  mutable std::mutex collectorsMu_;  // held while collectors run
  std::map<CollectorId, std::function<void()>> collectors_;
  CollectorId nextCollector_ = 0;
};

// The content type of Registry::serialize() output.
inline constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// Exposition helpers, exposed for tests and for custom collectors.
// Escapes `\`, `"` and newline as the format requires for label values.
void appendEscapedLabelValue(std::string& out, std::string_view value);
// Shortest round-trip text for a sample value; "+Inf", "-Inf", "NaN" for the special values.
void appendSampleValue(std::string& out, double value);

}  // namespace kubeop::metrics
