// The controller runner: worker threads that take keys from a WorkQueue and run a reconcile
// function on each, then decide from its result what happens to the key — the engine of
// controller-runtime's pkg/internal/controller, without a Kubernetes client.
//
//   result                               queue action                 reconcile_total result
//   OK, no requeue                       forget                       success
//   requeueAfter > 0                     forget, addAfter(d)          requeue_after
//   requeue                              addRateLimited               requeue
//   error, isRetryable(code)             addRateLimited               error
//   error, isTerminal(code)              forget; no retry until the   terminal_error
//                                        key is added again (event)
//   exception thrown by reconcile        addRateLimited (as Internal) error
// An error wins over requeue/requeueAfter (both ignored, as in controller-runtime).
//
// One key is never reconciled by two workers at once (the queue's processing set), so a pass
// may assume it is the only one acting on its object in this process.
//
// Every log line of a pass carries the pass's reconcile id (a random 16-hex-digit string) in
// the field "reconcile_id", with "controller", "tenant", "namespace" and "name"; reconcilers
// log through ReconcileContext::info() & co. to get the same fields.
//
// Thread-safety: start() and stop() from one owning thread; queue() and enqueue() from any
// thread (event handlers). Ownership: the controller owns its queue and threads; the reconcile
// function, listKeys, clock and metrics registry must outlive it (or stop()).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "kubeop/core/status.h"
#include "kubeop/log/log.h"
#include "kubeop/reconcile/work_queue.h"

namespace kubeop::reconcile {

// One reconcile pass's identity, handed to the reconcile function.
struct ReconcileContext {
  std::string controller;
  std::string reconcileId;
  Key key;
  // Requested when the controller stops: a long pass may end early (returning Cancelled or a
  // retryable error); a short one need not look.
  std::stop_token stop;

  // log::write with this pass's fields first: controller, reconcile_id, tenant, namespace, name.
  //   ctx.info("namespace created", log::Field("namespace_name", nsName));
  template <typename... F>
  void log(log::Level level, std::string_view msg, const F&... fields) const {
    if (!log::enabled(level)) return;
    log::write(level, msg,
               {log::Field("controller", controller), log::Field("reconcile_id", reconcileId),
                log::Field("tenant", key.tenant), log::Field("namespace", key.ns),
                log::Field("name", key.name), log::Field(fields)...});
  }
  template <typename... F>
  void debug(std::string_view msg, const F&... fields) const { log(log::Level::kDebug, msg, fields...); }
  template <typename... F>
  void info(std::string_view msg, const F&... fields) const { log(log::Level::kInfo, msg, fields...); }
  template <typename... F>
  void warn(std::string_view msg, const F&... fields) const { log(log::Level::kWarn, msg, fields...); }
  template <typename... F>
  void error(std::string_view msg, const F&... fields) const { log(log::Level::kError, msg, fields...); }
};

// What a pass asks for next. A Status converts implicitly, so a reconciler can
// `KUBEOP_RETURN_IF_ERROR(ensureNamespace(...));` and `return Status::ok();`.
struct ReconcileResult {
  // Pass again after the key's backoff (a rate-limited requeue; not an error).
  bool requeue = false;
  // Pass again after this long (> 0), e.g. to poll an external system; resets the backoff.
  Clock::Duration requeueAfter = Clock::Duration::zero();
  // Non-OK: the pass failed; its code decides retry (isRetryable) or not (isTerminal).
  Status error;

  ReconcileResult() = default;
  ReconcileResult(Status status) : error(std::move(status)) {}  // NOLINT: implicit on purpose

  static ReconcileResult success() { return {}; }
  static ReconcileResult requeueWithBackoff() {
    ReconcileResult r;
    r.requeue = true;
    return r;
  }
  static ReconcileResult requeueIn(Clock::Duration d) {
    ReconcileResult r;
    r.requeueAfter = d;
    return r;
  }
};

// Must not be empty. May throw: the controller catches everything (exception barrier).
using ReconcileFunc = std::function<ReconcileResult(const ReconcileContext&, const Key&)>;

struct ControllerOptions {
  // Worker threads, hence the most keys reconciled at once (different keys only).
  int maxConcurrentReconciles = 1;
  // > 0: every period, listKeys() is called and each key it returns is added (a resync repairs
  // drift nobody sent an event for). The first resync comes one period after start().
  Clock::Duration resyncPeriod = Clock::Duration::zero();
  // Every key the controller is responsible for. Required when resyncPeriod > 0. Called on the
  // controller's resync thread; an exception from it is logged and that resync skipped.
  std::function<std::vector<Key>()> listKeys{};
  // Borrowed; nullptr → no metrics. Families:
  //   kubeop_reconcile_total{controller,result}      counter   passes by outcome (table above)
  //   kubeop_reconcile_duration_seconds{controller}  histogram time inside the reconcile function
  //   kubeop_reconcile_exceptions_total{controller}  counter   exceptions caught from it
  //   kubeop_controller_active_workers{controller}   gauge     workers inside a pass now
  // and the queue's kubeop_workqueue_* families with name = the controller's name.
  metrics::Registry* metrics = nullptr;
  // Borrowed; nullptr → realClock(). Drives backoff, requeueAfter, resync and durations.
  Clock* clock = nullptr;
  // nullptr → defaultControllerRateLimiter().
  std::unique_ptr<RateLimiter> rateLimiter{};
};

// Runs one reconcile function over a work queue of keys. Single use: start() once, stop() once
// (the destructor stops a running controller).
class Controller {
 public:
  Controller(std::string name, ReconcileFunc reconcile, ControllerOptions options = {});
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Starts the workers (and the resync thread). InvalidArgument for an empty name or reconcile
  // function, maxConcurrentReconciles < 1, or a resyncPeriod without listKeys;
  // FailedPrecondition when already started.
  [[nodiscard]] Status start();
  // Graceful: no new pass starts; the stop token of running passes is requested and stop()
  // waits for them to return. Keys still queued are dropped (level-triggered: the next start's
  // list or resync finds them again). Idempotent.
  void stop();

  // Adds a key (event handlers call this). Before start() the key waits for the workers.
  void enqueue(const Key& key) { queue_.add(key); }
  WorkQueue& queue() { return queue_; }
  const std::string& name() const { return name_; }

  // Passes finished since construction (any outcome). For tests and status pages.
  std::uint64_t passes() const { return passes_.load(std::memory_order_acquire); }

 private:
  struct Metrics;

  void workerLoop();
  void resyncLoop();
  void processOne(const Key& key);

  const std::string name_;
  const ReconcileFunc reconcile_;
  ControllerOptions options_;
  Clock* const clock_;
  std::unique_ptr<Metrics> metrics_;
  WorkQueue queue_;

  std::stop_source stopSource_;
  std::vector<std::thread> workers_;
  std::thread resync_;
  bool started_ = false;
  bool stopped_ = false;

  std::mutex resyncMu_;
  std::condition_variable resyncCv_;
  Clock::TimePoint nextResync_{};  // guarded by resyncMu_
  std::uint64_t jumpListener_ = 0;

  std::atomic<std::uint64_t> passes_{0};
};

}  // namespace kubeop::reconcile
