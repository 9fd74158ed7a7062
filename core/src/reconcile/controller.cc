#include "kubeop/reconcile/controller.h"

#include <exception>
#include <random>
#include <system_error>
#include <utility>

#include "kubeop/metrics/metrics.h"

namespace kubeop::reconcile {

namespace {

// 16 hex digits from a per-thread generator: unique enough to find one pass in the logs, and
// cheap (no lock, no syscall after the first pass on a thread).
std::string newReconcileId() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = kHex[v & 15];
    v >>= 4;
  }
  return id;
}

double seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

std::string describeDuration(Clock::Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

}  // namespace

struct Controller::Metrics {
  metrics::Counter* success;
  metrics::Counter* error;
  metrics::Counter* terminalError;
  metrics::Counter* requeue;
  metrics::Counter* requeueAfter;
  metrics::Counter* exceptions;
  metrics::Histogram* duration;
  metrics::Gauge* activeWorkers;
};

Controller::Controller(std::string name, ReconcileFunc reconcile, ControllerOptions options)
    : name_(std::move(name)),
      reconcile_(std::move(reconcile)),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &realClock()),
      queue_(WorkQueueOptions{name_, clock_, std::move(options_.rateLimiter), options_.metrics}) {
  if (options_.metrics) {
    metrics::Registry& r = *options_.metrics;
    auto& total = r.counter("kubeop_reconcile_total", "Reconcile passes by outcome.", {"controller", "result"});
    // Reconciles talk to the API server and to external systems: milliseconds to a minute.
    auto& duration = r.histogram("kubeop_reconcile_duration_seconds", "Time spent in one reconcile pass.",
                                 {"controller"},
                                 {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60});
    metrics_ = std::make_unique<Metrics>(Metrics{
        &total.labels({name_, "success"}),
        &total.labels({name_, "error"}),
        &total.labels({name_, "terminal_error"}),
        &total.labels({name_, "requeue"}),
        &total.labels({name_, "requeue_after"}),
        &r.counter("kubeop_reconcile_exceptions_total", "Exceptions caught from reconcile functions.",
                   {"controller"})
             .labels({name_}),
        &duration.labels({name_}),
        &r.gauge("kubeop_controller_active_workers", "Workers inside a reconcile pass now.", {"controller"})
             .labels({name_}),
    });
  }
}

Controller::~Controller() { stop(); }

Status Controller::start() {
  if (started_ || stopped_) return failedPrecondition("controller " + name_ + " was already started or stopped");
  if (name_.empty()) return invalidArgument("controller name is empty");
  if (!reconcile_) return invalidArgument("controller " + name_ + " has no reconcile function");
  if (options_.maxConcurrentReconciles < 1) {
    return invalidArgument("controller " + name_ + ": maxConcurrentReconciles must be at least 1, got " +
                           std::to_string(options_.maxConcurrentReconciles));
  }
  if (options_.resyncPeriod < Clock::Duration::zero()) {
    return invalidArgument("controller " + name_ + ": resyncPeriod is negative");
  }
  if (options_.resyncPeriod > Clock::Duration::zero() && !options_.listKeys) {
    return invalidArgument("controller " + name_ + ": a resyncPeriod needs listKeys");
  }
  started_ = true;
  try {
    if (options_.resyncPeriod > Clock::Duration::zero()) {
      {
        std::lock_guard lk(resyncMu_);
        nextResync_ = clock_->now() + options_.resyncPeriod;
      }
      jumpListener_ = clock_->addJumpListener([this] {
        { std::lock_guard lk(resyncMu_); }
        resyncCv_.notify_all();
      });
      resync_ = std::thread([this] { resyncLoop(); });
    }
    workers_.reserve(static_cast<std::size_t>(options_.maxConcurrentReconciles));
    for (int i = 0; i < options_.maxConcurrentReconciles; ++i) workers_.emplace_back([this] { workerLoop(); });
  } catch (const std::system_error& e) {
    stop();
    return internalError("controller " + name_ + ": starting threads: " + e.what());
  }
  const auto resyncMs = std::chrono::duration_cast<std::chrono::milliseconds>(options_.resyncPeriod).count();
  log::info("controller started", {{"controller", name_},
                                   {"workers", options_.maxConcurrentReconciles},
                                   {"resync_ms", static_cast<long long>(resyncMs)}});
  return Status::ok();
}

void Controller::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopSource_.request_stop();
  queue_.shutDown();  // no new pass starts; get() returns nullopt to idle workers
  {
    std::lock_guard lk(resyncMu_);
  }
  resyncCv_.notify_all();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
  if (resync_.joinable()) resync_.join();
  if (jumpListener_ != 0) {
    clock_->removeJumpListener(jumpListener_);
    jumpListener_ = 0;
  }
  if (started_) log::info("controller stopped", {{"controller", name_}});
}

void Controller::workerLoop() {
  while (std::optional<Key> key = queue_.get()) {
    try {
      processOne(*key);
    } catch (...) {
      // Only logging or metrics can get here (the reconcile function has its own barrier).
      // The key is retried rather than lost.
      queue_.addRateLimited(*key);
    }
    queue_.done(*key);
    passes_.fetch_add(1, std::memory_order_acq_rel);
  }
}

void Controller::processOne(const Key& key) {
  const ReconcileContext ctx{name_, newReconcileId(), key, stopSource_.get_token()};
  if (metrics_) metrics_->activeWorkers->inc();
  ctx.debug("reconcile starting");

  const Clock::TimePoint started = clock_->now();
  ReconcileResult result;
  std::string exceptionWhat;
  bool threw = false;
  // The exception barrier: nothing a reconciler throws may take down a worker thread.
  try {
    result = reconcile_(ctx, key);
  } catch (const std::exception& e) {
    threw = true;
    exceptionWhat = e.what();
  } catch (...) {
    threw = true;
    exceptionWhat = "an exception not derived from std::exception";
  }
  const Clock::Duration took = clock_->now() - started;
  if (metrics_) {
    metrics_->duration->observe(seconds(took));
    metrics_->activeWorkers->dec();
  }
  const long long tookMs = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();

  if (threw) {
    if (metrics_) {
      metrics_->exceptions->inc();
      metrics_->error->inc();
    }
    queue_.addRateLimited(key);
    ctx.error("reconcile threw an exception; retrying with backoff", log::Field("error", exceptionWhat),
              log::Field("requeues", queue_.numRequeues(key)), log::Field("duration_ms", tookMs));
    return;
  }

  if (!result.error.isOk()) {
    if (result.requeue || result.requeueAfter > Clock::Duration::zero()) {
      ctx.warn("reconcile returned both an error and a requeue request; the requeue request is ignored");
    }
    const std::string err = result.error.toString();
    if (isTerminal(result.error.code())) {
      // No retry storm: a terminal error (bad spec, forbidden state) is not retried until an
      // event adds the key again, e.g. because the spec changed.
      queue_.forget(key);
      if (metrics_) metrics_->terminalError->inc();
      ctx.error("reconcile failed with a terminal error; not retrying until the object changes",
                log::Field("error", err), log::Field("duration_ms", tookMs));
    } else {
      queue_.addRateLimited(key);
      if (metrics_) metrics_->error->inc();
      ctx.error("reconcile failed; retrying with backoff", log::Field("error", err),
                log::Field("requeues", queue_.numRequeues(key)), log::Field("duration_ms", tookMs));
    }
    return;
  }

  if (result.requeueAfter > Clock::Duration::zero()) {
    queue_.forget(key);
    queue_.addAfter(key, result.requeueAfter);
    if (metrics_) metrics_->requeueAfter->inc();
    ctx.debug("reconcile done; requeueing after a delay", log::Field("requeue_after", describeDuration(result.requeueAfter)),
              log::Field("duration_ms", tookMs));
  } else if (result.requeue) {
    queue_.addRateLimited(key);
    if (metrics_) metrics_->requeue->inc();
    ctx.debug("reconcile done; requeueing with backoff", log::Field("requeues", queue_.numRequeues(key)),
              log::Field("duration_ms", tookMs));
  } else {
    queue_.forget(key);
    if (metrics_) metrics_->success->inc();
    ctx.debug("reconcile succeeded", log::Field("duration_ms", tookMs));
  }
}

void Controller::resyncLoop() {
  const std::stop_token stop = stopSource_.get_token();
  std::unique_lock lk(resyncMu_);
  while (!stop.stop_requested()) {
    const Clock::TimePoint now = clock_->now();
    if (now < nextResync_) {
      resyncCv_.wait_for(lk, nextResync_ - now);
      continue;
    }
    // From now, not from the missed deadline: a clock that jumped far resyncs once, not in a burst.
    nextResync_ = now + options_.resyncPeriod;
    lk.unlock();
    std::size_t count = 0;
    try {
      for (const Key& key : options_.listKeys()) {
        queue_.add(key);
        ++count;
      }
      log::debug("controller resync", {{"controller", name_}, {"keys", static_cast<unsigned long>(count)}});
    } catch (const std::exception& e) {
      log::error("controller resync: listing keys threw; skipping this resync",
                 {{"controller", name_}, {"error", e.what()}});
    } catch (...) {
      log::error("controller resync: listing keys threw; skipping this resync", {{"controller", name_}});
    }
    lk.lock();
  }
}

}  // namespace kubeop::reconcile
