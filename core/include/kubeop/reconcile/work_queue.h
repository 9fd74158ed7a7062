// The work queue that feeds reconcilers: client-go's workqueue (queue.go, delaying_queue.go,
// rate_limiting_queue.go, default_rate_limiters.go) in one class, plus per-tenant fairness.
//
// Items are object keys, never objects: a pass re-reads the state it acts on, so a key queued
// once stands for any number of changes (level-triggered). The rules, as in client-go:
//  - add(key) deduplicates: a key waits in the queue at most once however often it is added.
//  - A key handed out by get() is "processing" until done(key). It is never handed to a second
//    worker meanwhile: adds during processing mark it dirty, and done() queues it again.
//  - addAfter(key, d) queues the key once `d` has passed on the queue's clock; of several
//    pending deadlines for one key the earliest wins.
//  - addRateLimited(key) = addAfter(key, rateLimiter.when(key)); forget(key) resets the key's
//    backoff once a pass succeeded; numRequeues(key) counts failures since the last forget.
//
// Fairness (kubeop's addition; client-go has one FIFO): the ready keys are kept in one FIFO per
// tenant and get() serves the tenants round-robin, so a tenant with 5,000 queued keys delays a
// tenant with 5 by at most one key per other busy tenant, never by 5,000.
//
// Time comes from an injected Clock. Nothing here spawns a thread: a worker blocked in get()
// sleeps (in real time) until the earliest delayed key is due, and a FakeClock wakes it when a
// test advances time, so tests never sleep.
//
// Thread-safety: every WorkQueue member may be called from any thread. Ownership: the queue owns
// its rate limiter; the clock and the metrics registry are borrowed and must outlive the queue.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace kubeop::metrics {
class Registry;
}  // namespace kubeop::metrics

namespace kubeop::reconcile {

// ---------------------------------------------------------------------------------------------
// Keys

// What a reconciler is asked to converge: one object, named by namespace and name, owned by a
// tenant. The tenant is the fairness group; cluster-scoped objects leave `ns` empty; objects that
// belong to no tenant (platform objects) share the empty tenant.
struct Key {
  std::string tenant;
  std::string ns;
  std::string name;

  // "tenant:ns/name", "tenant:name" when cluster-scoped: for messages and test output.
  std::string toString() const;

  friend bool operator==(const Key&, const Key&) = default;
  friend auto operator<=>(const Key&, const Key&) = default;
};

struct KeyHash {
  std::size_t operator()(const Key& key) const noexcept;
};

// ---------------------------------------------------------------------------------------------
// Clock

// The time source for delays (an Env-style seam). Waiters sleep in real time until a deadline
// on this clock; a clock that can jump (FakeClock) tells registered listeners after each jump so
// that they look at the time again.
// Thread-safety: implementations must be safe to call from any thread.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;

  // Registers `listener`, called (on the thread that moved the clock) after every jump. Returns
  // an id for removeJumpListener(). A listener must not call back into the clock. After
  // removeJumpListener() returns, the listener is not running and is never called again.
  // The real clock never jumps: the defaults do nothing.
  virtual std::uint64_t addJumpListener(std::function<void()> /*listener*/) { return 0; }
  virtual void removeJumpListener(std::uint64_t /*id*/) {}
};

// std::chrono::steady_clock. A process-wide instance that lives until exit.
Clock& realClock();

// A clock that moves only when told to. For tests. Starts at TimePoint{} unless given a start.
class FakeClock final : public Clock {
 public:
  FakeClock() = default;
  explicit FakeClock(TimePoint start) : now_(start) {}
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  TimePoint now() const override;
  // Moves the time forward by `d` (negative: ignored) and wakes every waiter.
  void advance(Duration d);

  std::uint64_t addJumpListener(std::function<void()> listener) override;
  void removeJumpListener(std::uint64_t id) override;

 private:
  mutable std::mutex timeMu_;  // guards now_; never held while calling listeners
  TimePoint now_{};
  std::mutex listenersMu_;  // guards listeners_; held while calling them (see removeJumpListener)
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, std::function<void()>> listeners_;
};

// ---------------------------------------------------------------------------------------------
// Rate limiters (client-go's default_rate_limiters.go)

// Decides how long a failing key waits before its next attempt.
// Thread-safety: not required; a WorkQueue owns its limiter and calls it under its own lock.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // The delay before the next attempt at `key`; records one more failure of it.
  virtual Clock::Duration when(const Key& key, Clock::TimePoint now) = 0;
  // The key succeeded: its failures are forgotten.
  virtual void forget(const Key& key) = 0;
  // Failures recorded for `key` since its last forget().
  virtual int numRequeues(const Key& key) const = 0;
};

// Per-key exponential backoff: the n-th failure since the last forget waits base * 2^(n-1),
// capped at `max` (client-go's ItemExponentialFailureRateLimiter).
class ItemExponentialRateLimiter final : public RateLimiter {
 public:
  ItemExponentialRateLimiter(Clock::Duration base, Clock::Duration max);
  Clock::Duration when(const Key& key, Clock::TimePoint now) override;
  void forget(const Key& key) override;
  int numRequeues(const Key& key) const override;

 private:
  Clock::Duration base_;
  Clock::Duration max_;
  std::unordered_map<Key, int, KeyHash> failures_;
};

// One token bucket for every key: `qps` tokens per second, at most `burst` banked. Each when()
// takes a token, borrowing against the future when none is left, and waits until the debt is
// paid (golang.org/x/time/rate's Reserve().Delay(), client-go's BucketRateLimiter). It keeps
// no per-key state: forget() does nothing and numRequeues() is 0.
class TokenBucketRateLimiter final : public RateLimiter {
 public:
  TokenBucketRateLimiter(double qps, int burst);
  Clock::Duration when(const Key& key, Clock::TimePoint now) override;
  void forget(const Key& key) override;
  int numRequeues(const Key& key) const override;

 private:
  double qps_;
  double burst_;
  double tokens_;
  std::optional<Clock::TimePoint> last_;
};

// The longest delay of its limiters (every limiter is asked, so each records the failure);
// forget() goes to all; numRequeues() is the largest count (client-go's MaxOfRateLimiter).
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters);
  Clock::Duration when(const Key& key, Clock::TimePoint now) override;
  void forget(const Key& key) override;
  int numRequeues(const Key& key) const override;

 private:
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

// client-go's DefaultControllerRateLimiter: per-key backoff 5 ms → 1000 s, doubling per failure,
// under a global bucket of 10 qps with a burst of 100; a key waits for the longer of the two.
inline constexpr Clock::Duration kDefaultBackoffBase = std::chrono::milliseconds(5);
inline constexpr Clock::Duration kDefaultBackoffMax = std::chrono::seconds(1000);
inline constexpr double kDefaultBucketQps = 10;
inline constexpr int kDefaultBucketBurst = 100;
std::unique_ptr<RateLimiter> defaultControllerRateLimiter();

// ---------------------------------------------------------------------------------------------
// WorkQueue

struct WorkQueueOptions {
  // Names the queue in metrics (label "name") and log lines.
  std::string name = "default";
  // Borrowed; nullptr → realClock().
  Clock* clock = nullptr;
  // nullptr → defaultControllerRateLimiter().
  std::unique_ptr<RateLimiter> rateLimiter{};
  // Borrowed; nullptr → no metrics. Families (label "name"):
  //   kubeop_workqueue_depth                  gauge      keys ready to hand out
  //   kubeop_workqueue_adds_total             counter    keys queued (adds not absorbed by dedup)
  //   kubeop_workqueue_retries_total          counter    addRateLimited() calls
  //   kubeop_workqueue_queue_duration_seconds histogram  from being queued to get()
  //   kubeop_workqueue_work_duration_seconds  histogram  from get() to done()
  // Durations are measured on the queue's clock.
  metrics::Registry* metrics = nullptr;
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is already queued; if it is being processed, marks it to be queued
  // again by done(). Ignored after shutdown.
  void add(const Key& key);
  // Queues `key` once `delay` has passed (now when delay <= 0). A key already waiting keeps the
  // earlier of its two deadlines. Ignored after shutdown.
  void addAfter(const Key& key, Clock::Duration delay);
  // addAfter(key, rateLimiter.when(key)): per-key backoff under the global bucket.
  void addRateLimited(const Key& key);
  // Resets the key's backoff (call after a successful pass). Does not unqueue it.
  void forget(const Key& key);
  int numRequeues(const Key& key) const;

  // Blocks until a key is ready, marks it processing and returns it; the caller must call
  // done(key) when the pass ends. nullopt once the queue is shut down (see shutDownWithDrain).
  std::optional<Key> get();
  // get() without blocking: nullopt when nothing is ready now or the queue is shut down.
  std::optional<Key> tryGet();
  // Ends the processing of `key`; queues it again if it was added meanwhile. A key that is not
  // being processed is ignored.
  void done(const Key& key);

  // Stops the queue at once: later adds are ignored, keys still queued or waiting are dropped,
  // and every get() returns nullopt. Keys being processed may still be done()'d. Returns at
  // once; the caller joins its workers.
  void shutDown();
  // Stops accepting adds (and drops waiting delayed keys), lets workers take the keys already
  // queued, and blocks until none is queued or being processed; then get() returns nullopt.
  // It needs workers calling get(); shutDown() from another thread cuts it short.
  void shutDownWithDrain();
  bool shuttingDown() const;

  // Keys ready to hand out now (including delayed keys whose deadline has passed).
  std::size_t len() const;
  // Keys waiting for a deadline that has not passed yet.
  std::size_t numWaiting() const;
  // Keys handed out and not yet done.
  std::size_t numProcessing() const;

  const std::string& name() const { return name_; }
  Clock& clock() const { return *clock_; }

 private:
  struct Metrics;
  class TenantFifos;

  void addLocked(const Key& key, Clock::TimePoint now);
  void promoteDueLocked(Clock::TimePoint now);
  std::optional<Key> popLocked(Clock::TimePoint now);
  void clearQueuedLocked();
  void updateDepthLocked();

  const std::string name_;
  Clock* const clock_;
  std::uint64_t jumpListener_ = 0;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // get() waiters
  std::condition_variable drainCv_;  // shutDownWithDrain() waiters
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<TenantFifos> ready_;
  // Keys that need a pass: queued in ready_, or processing and to be queued again by done().
  std::unordered_map<Key, Clock::TimePoint, KeyHash> dirty_;  // value: when it was first queued
  std::unordered_map<Key, Clock::TimePoint, KeyHash> processing_;  // value: when get() returned it
  // Delayed keys: by deadline, and the deadline of each key.
  std::multimap<Clock::TimePoint, Key> waiting_;
  std::unordered_map<Key, std::multimap<Clock::TimePoint, Key>::iterator, KeyHash> waitingByKey_;
  bool shuttingDown_ = false;
  bool draining_ = false;
};

}  // namespace kubeop::reconcile
