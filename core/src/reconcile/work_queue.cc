#include "kubeop/reconcile/work_queue.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <deque>
#include <utility>

#include "kubeop/metrics/metrics.h"

namespace kubeop::reconcile {

// ---------------------------------------------------------------------------------------------
// Keys

std::string Key::toString() const {
  std::string s;
  s.reserve(tenant.size() + ns.size() + name.size() + 2);
  s += tenant;
  s += ':';
  if (!ns.empty()) {
    s += ns;
    s += '/';
  }
  s += name;
  return s;
}

std::size_t KeyHash::operator()(const Key& key) const noexcept {
  const std::hash<std::string> h;
  std::size_t seed = h(key.tenant);
  seed ^= h(key.ns) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  seed ^= h(key.name) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
}

// ---------------------------------------------------------------------------------------------
// Clocks

namespace {
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};
}  // namespace

Clock& realClock() {
  // Never destroyed: queues with static storage may still unregister from it at exit.
  static SteadyClock* const clock = new SteadyClock;
  return *clock;
}

Clock::TimePoint FakeClock::now() const {
  std::lock_guard lk(timeMu_);
  return now_;
}

void FakeClock::advance(Duration d) {
  if (d <= Duration::zero()) return;
  {
    std::lock_guard lk(timeMu_);
    now_ += d;
  }
  // Listeners run under listenersMu_ so that removeJumpListener() waits for a running one: the
  // owner of a listener may be destroyed as soon as removal returns.
  std::lock_guard lk(listenersMu_);
  for (auto& [id, listener] : listeners_) listener();
}

std::uint64_t FakeClock::addJumpListener(std::function<void()> listener) {
  std::lock_guard lk(listenersMu_);
  const std::uint64_t id = nextId_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void FakeClock::removeJumpListener(std::uint64_t id) {
  std::lock_guard lk(listenersMu_);
  listeners_.erase(id);
}

// ---------------------------------------------------------------------------------------------
// Rate limiters

ItemExponentialRateLimiter::ItemExponentialRateLimiter(Clock::Duration base, Clock::Duration max)
    : base_(std::max(base, Clock::Duration(1))), max_(std::max(max, base_)) {}

Clock::Duration ItemExponentialRateLimiter::when(const Key& key, Clock::TimePoint /*now*/) {
  int& failures = failures_[key];
  const int exponent = failures;
  if (failures < INT_MAX) ++failures;
  // In doubles: 2^exponent overflows any integer long before the cap stops mattering.
  const double delay = static_cast<double>(base_.count()) * std::pow(2.0, exponent);
  if (!(delay < static_cast<double>(max_.count()))) return max_;
  return Clock::Duration(static_cast<Clock::Duration::rep>(delay));
}

void ItemExponentialRateLimiter::forget(const Key& key) { failures_.erase(key); }

int ItemExponentialRateLimiter::numRequeues(const Key& key) const {
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

TokenBucketRateLimiter::TokenBucketRateLimiter(double qps, int burst)
    : qps_(qps), burst_(static_cast<double>(std::max(burst, 1))), tokens_(burst_) {}

Clock::Duration TokenBucketRateLimiter::when(const Key& /*key*/, Clock::TimePoint now) {
  if (!(qps_ > 0)) return Clock::Duration::zero();  // no limit
  if (!last_) last_ = now;
  if (now > *last_) {
    const double elapsed = std::chrono::duration<double>(now - *last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return Clock::Duration::zero();
  const double seconds = -tokens_ / qps_;
  return std::chrono::round<Clock::Duration>(std::chrono::duration<double>(seconds));
}

void TokenBucketRateLimiter::forget(const Key& /*key*/) {}

int TokenBucketRateLimiter::numRequeues(const Key& /*key*/) const { return 0; }

MaxOfRateLimiter::MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters)
    : limiters_(std::move(limiters)) {
  std::erase(limiters_, nullptr);
}

Clock::Duration MaxOfRateLimiter::when(const Key& key, Clock::TimePoint now) {
  Clock::Duration longest = Clock::Duration::zero();
  for (auto& l : limiters_) longest = std::max(longest, l->when(key, now));
  return longest;
}

void MaxOfRateLimiter::forget(const Key& key) {
  for (auto& l : limiters_) l->forget(key);
}

int MaxOfRateLimiter::numRequeues(const Key& key) const {
  int most = 0;
  for (const auto& l : limiters_) most = std::max(most, l->numRequeues(key));
  return most;
}

std::unique_ptr<RateLimiter> defaultControllerRateLimiter() {
  std::vector<std::unique_ptr<RateLimiter>> limiters;
  limiters.push_back(std::make_unique<ItemExponentialRateLimiter>(kDefaultBackoffBase, kDefaultBackoffMax));
  limiters.push_back(std::make_unique<TokenBucketRateLimiter>(kDefaultBucketQps, kDefaultBucketBurst));
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

// ---------------------------------------------------------------------------------------------
// WorkQueue internals

// The ready keys: one FIFO per tenant, and the tenants that have keys in a ring. pop() takes the
// head of the first tenant's FIFO and moves that tenant to the back of the ring. Every
// operation is O(1) on average. Not thread-safe: guarded by the queue's mutex.
class WorkQueue::TenantFifos {
 public:
  void push(const Key& key) {
    std::deque<Key>& fifo = fifos_[key.tenant];
    if (fifo.empty()) ring_.push_back(key.tenant);
    fifo.push_back(key);
    ++size_;
  }

  // Requires !empty().
  Key pop() {
    std::string tenant = std::move(ring_.front());
    ring_.pop_front();
    auto it = fifos_.find(tenant);
    Key key = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) {
      fifos_.erase(it);
    } else {
      ring_.push_back(std::move(tenant));
    }
    --size_;
    return key;
  }

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  void clear() {
    fifos_.clear();
    ring_.clear();
    size_ = 0;
  }

 private:
  std::unordered_map<std::string, std::deque<Key>> fifos_;  // never holds an empty FIFO
  std::deque<std::string> ring_;                            // tenants with keys, in serving order
  std::size_t size_ = 0;
};

struct WorkQueue::Metrics {
  metrics::Gauge* depth;
  metrics::Counter* adds;
  metrics::Counter* retries;
  metrics::Histogram* queueDuration;
  metrics::Histogram* workDuration;
};

namespace {
double seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

WorkQueue::WorkQueue(WorkQueueOptions options)
    : name_(std::move(options.name)),
      clock_(options.clock ? options.clock : &realClock()),
      limiter_(options.rateLimiter ? std::move(options.rateLimiter) : defaultControllerRateLimiter()),
      ready_(std::make_unique<TenantFifos>()) {
  if (options.metrics) {
    metrics::Registry& r = *options.metrics;
    // 1 µs … 1000 s: a key may legitimately wait behind the maximum backoff.
    const std::vector<double> buckets = metrics::exponentialBuckets(1e-6, 10, 10);
    const std::vector<std::string> labels{"name"};
    metrics_ = std::make_unique<Metrics>(Metrics{
        &r.gauge("kubeop_workqueue_depth", "Keys ready to be handed to a worker.", labels).labels({name_}),
        &r.counter("kubeop_workqueue_adds_total", "Keys queued (adds absorbed by deduplication excluded).",
                   labels)
             .labels({name_}),
        &r.counter("kubeop_workqueue_retries_total", "Rate-limited re-queues (failed passes).", labels)
             .labels({name_}),
        &r.histogram("kubeop_workqueue_queue_duration_seconds",
                     "Time a key waits in the queue before a worker takes it.", labels, buckets)
             .labels({name_}),
        &r.histogram("kubeop_workqueue_work_duration_seconds",
                     "Time from a worker taking a key to done().", labels, buckets)
             .labels({name_}),
    });
  }
  // A jumping clock wakes sleeping get()s so they look at the time again. Taking mu_ first
  // means a waiter that read the old time is already waiting and cannot miss the notification.
  jumpListener_ = clock_->addJumpListener([this] {
    { std::lock_guard lk(mu_); }
    cv_.notify_all();
  });
}

WorkQueue::~WorkQueue() { clock_->removeJumpListener(jumpListener_); }

void WorkQueue::updateDepthLocked() {
  if (metrics_) metrics_->depth->set(static_cast<double>(ready_->size()));
}

void WorkQueue::addLocked(const Key& key, Clock::TimePoint now) {
  if (!dirty_.try_emplace(key, now).second) return;  // already queued, or already dirty
  if (metrics_) metrics_->adds->inc();
  if (processing_.contains(key)) return;  // done() queues it
  ready_->push(key);
  updateDepthLocked();
  cv_.notify_one();
}

void WorkQueue::promoteDueLocked(Clock::TimePoint now) {
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    auto node = waiting_.extract(waiting_.begin());
    waitingByKey_.erase(node.mapped());
    addLocked(node.mapped(), now);
  }
}

std::optional<Key> WorkQueue::popLocked(Clock::TimePoint now) {
  if (ready_->empty()) return std::nullopt;
  Key key = ready_->pop();
  const auto d = dirty_.find(key);
  if (d != dirty_.end()) {
    if (metrics_) metrics_->queueDuration->observe(seconds(now - d->second));
    dirty_.erase(d);
  }
  processing_.emplace(key, now);
  updateDepthLocked();
  return key;
}

void WorkQueue::clearQueuedLocked() {
  ready_->clear();
  dirty_.clear();
  waiting_.clear();
  waitingByKey_.clear();
  updateDepthLocked();
}

// ---------------------------------------------------------------------------------------------
// WorkQueue

void WorkQueue::add(const Key& key) {
  std::lock_guard lk(mu_);
  if (shuttingDown_) return;
  addLocked(key, clock_->now());
}

void WorkQueue::addAfter(const Key& key, Clock::Duration delay) {
  std::lock_guard lk(mu_);
  if (shuttingDown_) return;
  const Clock::TimePoint now = clock_->now();
  if (delay <= Clock::Duration::zero()) {
    addLocked(key, now);
    return;
  }
  const Clock::TimePoint deadline = now + delay;
  const auto known = waitingByKey_.find(key);
  if (known != waitingByKey_.end()) {
    if (known->second->first <= deadline) return;  // the earlier deadline wins
    waiting_.erase(known->second);
    known->second = waiting_.emplace(deadline, key);
  } else {
    waitingByKey_.emplace(key, waiting_.emplace(deadline, key));
  }
  // Sleeping workers computed their timeout from the previous earliest deadline.
  if (waiting_.begin()->first == deadline) cv_.notify_all();
}

void WorkQueue::addRateLimited(const Key& key) {
  Clock::Duration delay;
  {
    std::lock_guard lk(mu_);
    if (shuttingDown_) return;
    delay = limiter_->when(key, clock_->now());
    if (metrics_) metrics_->retries->inc();
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const Key& key) {
  std::lock_guard lk(mu_);
  limiter_->forget(key);
}

int WorkQueue::numRequeues(const Key& key) const {
  std::lock_guard lk(mu_);
  return limiter_->numRequeues(key);
}

std::optional<Key> WorkQueue::get() {
  std::unique_lock lk(mu_);
  for (;;) {
    if (shuttingDown_ && !draining_) return std::nullopt;
    const Clock::TimePoint now = clock_->now();
    promoteDueLocked(now);
    if (auto key = popLocked(now)) return key;
    if (shuttingDown_) {
      // Draining: a key being processed may be dirty and come back in done().
      if (processing_.empty()) return std::nullopt;
      cv_.wait(lk);
    } else if (waiting_.empty()) {
      cv_.wait(lk);
    } else {
      cv_.wait_for(lk, waiting_.begin()->first - now);
    }
  }
}

std::optional<Key> WorkQueue::tryGet() {
  std::lock_guard lk(mu_);
  if (shuttingDown_ && !draining_) return std::nullopt;
  const Clock::TimePoint now = clock_->now();
  promoteDueLocked(now);
  return popLocked(now);
}

void WorkQueue::done(const Key& key) {
  std::lock_guard lk(mu_);
  const auto p = processing_.find(key);
  if (p == processing_.end()) return;
  if (metrics_) metrics_->workDuration->observe(seconds(clock_->now() - p->second));
  processing_.erase(p);
  if (dirty_.contains(key)) {
    ready_->push(key);
    updateDepthLocked();
    cv_.notify_one();
  }
  if (shuttingDown_ && processing_.empty()) {
    cv_.notify_all();
    drainCv_.notify_all();
  }
}

void WorkQueue::shutDown() {
  std::lock_guard lk(mu_);
  shuttingDown_ = true;
  draining_ = false;
  clearQueuedLocked();
  cv_.notify_all();
  drainCv_.notify_all();
}

void WorkQueue::shutDownWithDrain() {
  std::unique_lock lk(mu_);
  if (!shuttingDown_) {
    shuttingDown_ = true;
    draining_ = true;
    waiting_.clear();
    waitingByKey_.clear();
  } else if (!draining_) {
    return;  // already shut down at once
  }
  cv_.notify_all();
  drainCv_.wait(lk, [this] { return !draining_ || (ready_->empty() && processing_.empty()); });
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lk(mu_);
  return shuttingDown_;
}

std::size_t WorkQueue::len() const {
  std::lock_guard lk(mu_);
  if (shuttingDown_ && !draining_) return 0;
  std::size_t n = ready_->size();
  const Clock::TimePoint now = clock_->now();
  for (auto it = waiting_.begin(); it != waiting_.end() && it->first <= now; ++it) {
    if (!dirty_.contains(it->second) && !processing_.contains(it->second)) ++n;
  }
  return n;
}

std::size_t WorkQueue::numWaiting() const {
  std::lock_guard lk(mu_);
  const Clock::TimePoint now = clock_->now();
  return static_cast<std::size_t>(
      std::distance(waiting_.upper_bound(now), waiting_.end()));
}

std::size_t WorkQueue::numProcessing() const {
  std::lock_guard lk(mu_);
  return processing_.size();
}

}  // namespace kubeop::reconcile
