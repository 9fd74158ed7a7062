#include "kubeop/metrics/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace kubeop::metrics {

static_assert(std::atomic<double>::is_always_lock_free, "metric updates must be lock-free");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "metric updates must be lock-free");

namespace {

// Largest double below which every whole number is exactly representable (2^53).
constexpr double kMaxExactWhole = 9007199254740992.0;

bool validMetricName(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

bool validLabelName(std::string_view n) {
  if (n.empty() || n.substr(0, 2) == "__") return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

void appendEscapedHelp(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

const char* typeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// Adds `v` to an atomic double; fetch_add on atomic<double> is itself a CAS loop, spelled out
// here only where we need the relaxed ordering explicitly.
void atomicAdd(std::atomic<double>& a, double v) noexcept { a.fetch_add(v, std::memory_order_relaxed); }

// --- process metrics (Linux /proc) ---------------------------------------------------------

struct ProcessStats {
  bool ok = false;
  double cpuSeconds = 0;
  double residentBytes = 0;
  double virtualBytes = 0;
  double startTimeSeconds = 0;
  double openFds = -1;
  double maxFds = -1;
};

std::string readSmallFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ProcessStats readProcessStats() {
  ProcessStats s;
  const std::string stat = readSmallFile("/proc/self/stat");
  // The command name (field 2) is in parentheses and may hold spaces: parse after the last ')'.
  const auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 1));
    std::vector<std::string> f;  // f[0] is field 3 (state)
    for (std::string tok; rest >> tok;) f.push_back(std::move(tok));
    if (f.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
      const auto num = [](const std::string& t) { return std::strtod(t.c_str(), nullptr); };
      s.cpuSeconds = (num(f[11]) + num(f[12])) / ticks;  // utime + stime
      const double startTicks = num(f[19]);
      s.virtualBytes = num(f[20]);
      s.residentBytes = num(f[21]) * page;
      const std::string procStat = readSmallFile("/proc/stat");
      const auto pos = procStat.find("\nbtime ");
      if (pos != std::string::npos) {
        s.startTimeSeconds = std::strtod(procStat.c_str() + pos + 7, nullptr) + startTicks / ticks;
      }
      s.ok = true;
    }
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    int n = 0;
    while (const dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
    s.openFds = n - 1;  // not counting the descriptor of the listing itself
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    s.maxFds = static_cast<double>(rl.rlim_cur);
  }
  return s;
}

struct Block {
  std::string name;
  std::string text;
};

void addProcessBlock(std::vector<Block>& blocks, const char* name, const char* type, const char* help,
                     double value) {
  Block b{name, {}};
  b.text.append("# HELP ").append(name).append(" ").append(help).append("\n");
  b.text.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  b.text.append(name).append(" ");
  appendSampleValue(b.text, value);
  b.text += '\n';
  blocks.push_back(std::move(b));
}

std::vector<Block> processBlocks() {
  std::vector<Block> blocks;
  const ProcessStats s = readProcessStats();
  if (s.ok) {
    addProcessBlock(blocks, "process_cpu_seconds_total", "counter",
                    "Total user and system CPU time spent in seconds.", s.cpuSeconds);
    addProcessBlock(blocks, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                    s.residentBytes);
    addProcessBlock(blocks, "process_start_time_seconds", "gauge",
                    "Start time of the process since unix epoch in seconds.", s.startTimeSeconds);
    addProcessBlock(blocks, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                    s.virtualBytes);
  }
  if (s.openFds >= 0) {
    addProcessBlock(blocks, "process_open_fds", "gauge", "Number of open file descriptors.", s.openFds);
  }
  if (s.maxFds >= 0) {
    addProcessBlock(blocks, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                    s.maxFds);
  }
  std::sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) { return a.name < b.name; });
  return blocks;
}

}  // namespace

// --- helpers --------------------------------------------------------------------------------

void appendEscapedLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

void appendSampleValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  if (v == std::trunc(v) && std::fabs(v) < kMaxExactWhole) {
    // Whole numbers as integers: "3", not "3e+00".
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    out.append(buf, r.ptr);
    return;
  }
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, r.ptr);
}

std::vector<double> defaultBuckets() { return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}; }

std::vector<double> exponentialBuckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    throw std::invalid_argument("exponentialBuckets needs start > 0, factor > 1, count >= 1");
  }
  std::vector<double> b;
  b.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i, start *= factor) b.push_back(start);
  return b;
}

std::vector<double> linearBuckets(double start, double width, int count) {
  if (!(width > 0) || count < 1) throw std::invalid_argument("linearBuckets needs width > 0, count >= 1");
  std::vector<double> b;
  b.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) b.push_back(start + width * i);
  return b;
}

// --- children -------------------------------------------------------------------------------

void Counter::inc(double v) noexcept {
  if (!(v >= 0)) return;  // negative or NaN
  if (v < kMaxExactWhole && v == std::trunc(v)) {
    whole_.fetch_add(static_cast<std::uint64_t>(v), std::memory_order_relaxed);
  } else {
    atomicAdd(fraction_, v);
  }
}

double Counter::value() const noexcept {
  return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
         fraction_.load(std::memory_order_relaxed);
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  std::size_t i = bounds_.size();  // +Inf, also for NaN
  if (!std::isnan(v)) {
    // Buckets are few (≈10): a linear scan beats binary search and stays branch-predictable.
    for (std::size_t b = 0; b < bounds_.size(); ++b) {
      if (v <= bounds_[b]) {
        i = b;
        break;
      }
    }
  }
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  atomicAdd(sum_, v);
}

std::vector<std::uint64_t> Histogram::cumulativeCounts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += counts_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

std::uint64_t Histogram::count() const { return cumulativeCounts().back(); }

// --- families -------------------------------------------------------------------------------

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> labelNames, std::size_t maxSeries, Counter* overflowCounter)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labelNames_(std::move(labelNames)),
      maxSeries_(maxSeries),
      overflowCounter_(overflowCounter) {}

FamilyBase::~FamilyBase() = default;

void FamilyBase::appendHeader(std::string& out) const {
  out.append("# HELP ").append(name_).append(" ");
  appendEscapedHelp(out, help_);
  out.append("\n# TYPE ").append(name_).append(" ").append(typeName(type_)).append("\n");
}

void FamilyBase::appendSeriesPrefix(std::string& out, std::string_view suffix,
                                    std::span<const std::string> values) const {
  out.append(name_).append(suffix);
  if (labelNames_.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < labelNames_.size(); ++i) {
    if (i > 0) out += ',';
    out.append(labelNames_[i]).append("=\"");
    appendEscapedLabelValue(out, values[i]);
    out += '"';
  }
}

template <typename Child>
Family<Child>::Family(std::string name, std::string help, MetricType type, std::vector<std::string> labelNames,
                      std::size_t maxSeries, Counter* overflowCounter, std::vector<double> buckets)
    : FamilyBase(std::move(name), std::move(help), type, std::move(labelNames), maxSeries, overflowCounter),
      buckets_(std::move(buckets)),
      overflowValues_(labelNames_.size(), std::string(kOverflowLabelValue)) {}

template <typename Child>
Family<Child>::~Family() = default;

template <typename Child>
std::unique_ptr<Child> Family<Child>::makeChild() const {
  if constexpr (std::is_same_v<Child, Histogram>) {
    return std::make_unique<Histogram>(buckets_);
  } else {
    return std::make_unique<Child>();
  }
}

template <typename Child>
Child& Family<Child>::overflowChild() {
  if (!overflow_) overflow_ = makeChild();
  return *overflow_;
}

template <typename Child>
Child& Family<Child>::labels(const std::vector<std::string>& values) {
  // Small label tuples: views on the stack, no allocation on the lookup path.
  constexpr std::size_t kInline = 8;
  if (values.size() <= kInline) {
    std::string_view views[kInline];
    for (std::size_t i = 0; i < values.size(); ++i) views[i] = values[i];
    return labels(std::span<const std::string_view>(views, values.size()));
  }
  std::vector<std::string_view> views(values.begin(), values.end());
  return labels(std::span<const std::string_view>(views));
}

template <typename Child>
Child& Family<Child>::labels(std::span<const std::string_view> values) {
  if (values.size() == labelNames_.size()) {
    std::shared_lock lk(mu_);
    if (auto it = children_.find(values); it != children_.end()) return *it->second;
  }
  std::unique_lock lk(mu_);
  if (values.size() != labelNames_.size()) {
    if (overflowCounter_) overflowCounter_->inc();
    return overflowChild();
  }
  if (auto it = children_.find(values); it != children_.end()) return *it->second;
  const bool isOverflowKey = !values.empty() && std::all_of(values.begin(), values.end(), [](std::string_view v) {
    return v == kOverflowLabelValue;
  });
  if (isOverflowKey) return overflowChild();
  if (children_.size() >= maxSeries_) {
    if (overflowCounter_) overflowCounter_->inc();
    return overflowChild();
  }
  auto [it, inserted] =
      children_.emplace(std::vector<std::string>(values.begin(), values.end()), makeChild());
  return *it->second;
}

template <typename Child>
std::size_t Family<Child>::seriesCount() const {
  std::shared_lock lk(mu_);
  return children_.size();
}

template <typename Child>
void Family<Child>::appendChild(std::string& out, std::span<const std::string> values,
                                const Child& child) const {
  if constexpr (std::is_same_v<Child, Histogram>) {
    const auto counts = child.cumulativeCounts();
    for (std::size_t i = 0; i < counts.size(); ++i) {
      appendSeriesPrefix(out, "_bucket", values);
      out += labelNames_.empty() ? "{le=\"" : ",le=\"";
      if (i < buckets_.size()) {
        appendSampleValue(out, buckets_[i]);
      } else {
        out += "+Inf";
      }
      out += "\"} ";
      appendSampleValue(out, static_cast<double>(counts[i]));
      out += '\n';
    }
    appendSeriesPrefix(out, "_sum", values);
    if (!labelNames_.empty()) out += '}';
    out += ' ';
    appendSampleValue(out, child.sum());
    out += '\n';
    appendSeriesPrefix(out, "_count", values);
    if (!labelNames_.empty()) out += '}';
    out += ' ';
    appendSampleValue(out, static_cast<double>(counts.back()));
    out += '\n';
  } else {
    appendSeriesPrefix(out, "", values);
    if (!labelNames_.empty()) out += '}';
    out += ' ';
    appendSampleValue(out, child.value());
    out += '\n';
  }
}

template <typename Child>
void Family<Child>::serialize(std::string& out) const {
  appendHeader(out);
  std::shared_lock lk(mu_);
  for (const auto& [values, child] : children_) appendChild(out, values, *child);
  if (overflow_) appendChild(out, overflowValues_, *overflow_);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- registry -------------------------------------------------------------------------------

Registry::Registry() : Registry(RegistryOptions{}) {}

Registry::Registry(RegistryOptions options) : options_(options) {
  if (options_.defaultMaxSeries == 0) options_.defaultMaxSeries = kDefaultMaxSeries;
  // One child per family at most: the overflow counter cannot itself overflow.
  overflow_ = &add<Counter>(kSeriesOverflowMetric,
                            "Label sets folded into the __overflow__ series because a family reached "
                            "its series limit.",
                            MetricType::kCounter, {"family"}, {},
                            FamilyOptions{std::numeric_limits<std::size_t>::max()});
}

Registry::~Registry() = default;

template <typename Child>
Family<Child>& Registry::add(std::string_view name, std::string_view help, MetricType type,
                             std::vector<std::string> labelNames, std::vector<double> buckets,
                             FamilyOptions options) {
  if (!validMetricName(name)) throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
  for (const auto& l : labelNames) {
    if (!validLabelName(l) || (type == MetricType::kHistogram && l == "le")) {
      throw std::invalid_argument("metric " + std::string(name) + ": invalid label name '" + l + "'");
    }
  }
  for (std::size_t i = 0; i < labelNames.size(); ++i) {
    for (std::size_t j = i + 1; j < labelNames.size(); ++j) {
      if (labelNames[i] == labelNames[j]) {
        throw std::invalid_argument("metric " + std::string(name) + ": duplicate label '" + labelNames[i] + "'");
      }
    }
  }
  if (type == MetricType::kHistogram) {
    if (buckets.empty()) buckets = defaultBuckets();
    if (std::isinf(buckets.back()) && buckets.back() > 0) buckets.pop_back();
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      if (!std::isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
        throw std::invalid_argument("metric " + std::string(name) +
                                    ": buckets must be finite and strictly increasing");
      }
    }
  }

  std::lock_guard lk(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    auto* existing = dynamic_cast<Family<Child>*>(it->second.get());
    if (existing == nullptr || existing->type() != type || existing->labelNames() != labelNames ||
        existing->buckets() != buckets) {
      throw std::invalid_argument("metric " + std::string(name) +
                                  " is already registered with a different type, labels or buckets");
    }
    return *existing;
  }
  const std::size_t maxSeries = options.maxSeries ? options.maxSeries : options_.defaultMaxSeries;
  Counter* overflowCounter = overflow_ ? &overflow_->labels({name}) : nullptr;
  auto family = std::make_unique<Family<Child>>(std::string(name), std::string(help), type,
                                                std::move(labelNames), maxSeries, overflowCounter,
                                                std::move(buckets));
  auto& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

CounterFamily& Registry::counter(std::string_view name, std::string_view help,
                                 std::vector<std::string> labelNames, FamilyOptions options) {
  return add<Counter>(name, help, MetricType::kCounter, std::move(labelNames), {}, options);
}

GaugeFamily& Registry::gauge(std::string_view name, std::string_view help, std::vector<std::string> labelNames,
                             FamilyOptions options) {
  return add<Gauge>(name, help, MetricType::kGauge, std::move(labelNames), {}, options);
}

HistogramFamily& Registry::histogram(std::string_view name, std::string_view help,
                                     std::vector<std::string> labelNames, std::vector<double> buckets,
                                     FamilyOptions options) {
  return add<Histogram>(name, help, MetricType::kHistogram, std::move(labelNames), std::move(buckets),
                        options);
}

Registry::CollectorId Registry::addCollector(std::function<void()> collect) {
  std::lock_guard lk(collectorsMu_);
  CollectorId id = ++nextCollector_;
  collectors_.emplace(id, std::move(collect));
  return id;
}

void Registry::removeCollector(CollectorId id) {
  std::lock_guard lk(collectorsMu_);
  collectors_.erase(id);
}

std::string Registry::serialize() const {
  {
    std::lock_guard lk(collectorsMu_);
    for (const auto& [_, collect] : collectors_) {
      try {
        collect();
      } catch (...) {
        // A failing collector leaves its gauges as they were; the scrape goes on.
      }
    }
  }
  std::vector<Block> process;
  if (options_.processMetrics) process = processBlocks();
  std::string out;
  out.reserve(4096);
  std::lock_guard lk(mu_);
  auto p = process.begin();
  for (const auto& [name, family] : families_) {
    for (; p != process.end() && p->name <= name; ++p) {
      if (p->name != name) out += p->text;  // a registered family of the same name wins
    }
    family->serialize(out);
  }
  for (; p != process.end(); ++p) out += p->text;
  return out;
}

}  // namespace kubeop::metrics
