// Each test names the controller-runtime rule (pkg/internal/controller/controller.go,
// reconcileHandler and processNextWorkItem) or the kubeop rule it pins.
#include "kubeop/reconcile/controller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kubeop/metrics/metrics.h"

namespace kubeop::reconcile {
namespace {

using namespace std::chrono_literals;

const Key kA{"acme", "shop", "web"};
const Key kB{"acme", "shop", "db"};

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Captures log lines for one test and restores stderr afterwards.
class LogCapture {
 public:
  explicit LogCapture(log::Level level = log::Level::kInfo) : previous_(log::level()) {
    log::setLevel(level);
    log::setSink([this](std::string_view line) {
      std::lock_guard lk(mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() {
    log::setSink(nullptr);
    log::setLevel(previous_);
  }
  std::vector<std::string> lines() const {
    std::lock_guard lk(mu_);
    return lines_;
  }
  std::vector<std::string> linesContaining(std::string_view text) const {
    std::vector<std::string> out;
    for (auto& l : lines()) {
      if (l.find(text) != std::string::npos) out.push_back(l);
    }
    return out;
  }

 private:
  log::Level previous_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

std::string reconcileIdOf(const std::string& line) {
  static constexpr std::string_view kField = "\"reconcile_id\":\"";
  const auto start = line.find(kField);
  if (start == std::string::npos) return {};
  const auto from = start + kField.size();
  return line.substr(from, line.find('"', from) - from);
}

bool isLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A controller on a fake clock whose reconcile function answers from a script, one result per
// pass (the last one repeats), and counts passes per key.
struct Harness {
  FakeClock clock;
  metrics::Registry registry{metrics::RegistryOptions{metrics::kDefaultMaxSeries, false}};
  std::mutex mu;
  std::vector<std::function<ReconcileResult()>> script;
  std::size_t next = 0;
  std::vector<std::string> ids;
  std::unique_ptr<Controller> controller;

  explicit Harness(ControllerOptions options = {}) {
    options.clock = &clock;
    options.metrics = &registry;
    controller = std::make_unique<Controller>(
        "apps",
        [this](const ReconcileContext& ctx, const Key&) {
          std::function<ReconcileResult()> step;
          {
            std::lock_guard lk(mu);
            ids.push_back(ctx.reconcileId);
            step = script.empty() ? [] { return ReconcileResult(); } : script[std::min(next, script.size() - 1)];
            ++next;
          }
          return step();
        },
        std::move(options));
  }
  ~Harness() { controller->stop(); }

  void start() { ASSERT_TRUE(controller->start().isOk()); }
  bool waitPasses(std::uint64_t n) { return eventually([&] { return controller->passes() >= n; }); }
  double total(std::string_view result) {
    return registry.counter("kubeop_reconcile_total", "", {"controller", "result"}).labels({"apps", result}).value();
  }
  WorkQueue& queue() { return controller->queue(); }
};

// --- Result handling (reconcileHandler) -------------------------------------------------------

TEST(ControllerTest, ForgetsTheKeyAfterASuccessfulPass) {
  // controller-runtime: success → Queue.Forget; nothing is queued again.
  Harness h;
  h.script = {[] { return ReconcileResult(); }};
  h.queue().addRateLimited(kA);  // one earlier failure on record
  h.clock.advance(5ms);
  h.start();
  ASSERT_TRUE(h.waitPasses(1));
  EXPECT_EQ(h.queue().numRequeues(kA), 0);
  EXPECT_EQ(h.queue().len(), 0u);
  EXPECT_EQ(h.queue().numWaiting(), 0u);
  EXPECT_EQ(h.total("success"), 1);
}

TEST(ControllerTest, RetriesARetryableErrorWithPerKeyBackoff) {
  // controller-runtime: a non-terminal error → Queue.AddRateLimited.
  Harness h;
  h.script = {[] { return ReconcileResult(unavailable("api server down")); },
              [] { return ReconcileResult(aborted("conflict")); },
              [] { return ReconcileResult::success(); }};
  h.start();
  h.controller->enqueue(kA);
  ASSERT_TRUE(h.waitPasses(1));
  EXPECT_EQ(h.queue().numRequeues(kA), 1);
  EXPECT_EQ(h.queue().numWaiting(), 1u);
  h.clock.advance(5ms);  // first backoff
  ASSERT_TRUE(h.waitPasses(2));
  EXPECT_EQ(h.queue().numRequeues(kA), 2);
  h.clock.advance(9ms);
  EXPECT_EQ(h.queue().len(), 0u) << "second backoff is 10 ms";
  h.clock.advance(1ms);
  ASSERT_TRUE(h.waitPasses(3));
  EXPECT_EQ(h.queue().numRequeues(kA), 0) << "success forgets the backoff";
  EXPECT_EQ(h.total("error"), 2);
  EXPECT_EQ(h.total("success"), 1);
}

TEST(ControllerTest, DoesNotRetryATerminalErrorUntilTheKeyIsAddedAgain) {
  // controller-runtime TerminalError: no AddRateLimited, so a bad spec causes no retry storm;
  // kubeop also forgets the backoff so the next event starts fresh.
  Harness h;
  h.script = {[] { return ReconcileResult(invalidArgument("spec.replicas must be positive")); },
              [] { return ReconcileResult::success(); }};
  h.start();
  h.controller->enqueue(kA);
  ASSERT_TRUE(h.waitPasses(1));
  EXPECT_EQ(h.queue().numRequeues(kA), 0);
  EXPECT_EQ(h.queue().numWaiting(), 0u);
  h.clock.advance(kDefaultBackoffMax * 2);
  EXPECT_EQ(h.queue().len(), 0u);
  EXPECT_EQ(h.controller->passes(), 1u);
  EXPECT_EQ(h.total("terminal_error"), 1);

  h.controller->enqueue(kA);  // the spec changed: an event
  ASSERT_TRUE(h.waitPasses(2));
  EXPECT_EQ(h.total("success"), 1);
}

TEST(ControllerTest, RequeueAfterSchedulesTheNextPassAndResetsTheBackoff) {
  // controller-runtime: RequeueAfter > 0 → Forget, then AddAfter(RequeueAfter).
  Harness h;
  h.script = {[] { return ReconcileResult(unavailable("flaky")); },
              [] { return ReconcileResult::requeueIn(30s); },
              [] { return ReconcileResult::success(); }};
  h.start();
  h.controller->enqueue(kA);
  ASSERT_TRUE(h.waitPasses(1));
  h.clock.advance(5ms);
  ASSERT_TRUE(h.waitPasses(2));
  EXPECT_EQ(h.queue().numRequeues(kA), 0);
  EXPECT_EQ(h.queue().numWaiting(), 1u);
  h.clock.advance(29s);
  EXPECT_EQ(h.queue().len(), 0u);
  EXPECT_EQ(h.controller->passes(), 2u);
  h.clock.advance(1s);
  ASSERT_TRUE(h.waitPasses(3));
  EXPECT_EQ(h.total("requeue_after"), 1);
}

TEST(ControllerTest, RequeueRequestsARateLimitedPassWithoutCountingAnError) {
  // controller-runtime: Requeue → AddRateLimited, result label "requeue".
  Harness h;
  h.script = {[] { return ReconcileResult::requeueWithBackoff(); }, [] { return ReconcileResult(); }};
  h.start();
  h.controller->enqueue(kA);
  ASSERT_TRUE(h.waitPasses(1));
  EXPECT_EQ(h.queue().numRequeues(kA), 1);
  h.clock.advance(5ms);
  ASSERT_TRUE(h.waitPasses(2));
  EXPECT_EQ(h.total("requeue"), 1);
  EXPECT_EQ(h.total("error"), 0);
}

TEST(ControllerTest, AnErrorWinsOverARequestedRequeueAfter) {
  // controller-runtime: "the result will always be ignored if the error is non-nil".
  LogCapture logs;
  Harness h;
  h.script = {[] {
    ReconcileResult r = unavailable("down");
    r.requeueAfter = 1h;
    return r;
  }};
  h.start();
  h.controller->enqueue(kA);
  ASSERT_TRUE(h.waitPasses(1));
  EXPECT_EQ(h.queue().numRequeues(kA), 1) << "rate-limited, not requeued after 1h";
  h.clock.advance(5ms);
  ASSERT_TRUE(h.waitPasses(2));
  EXPECT_FALSE(logs.linesContaining("the requeue request is ignored").empty());
}

TEST(ControllerTest, CatchesAnExceptionLogsItWithTheReconcileIdAndRetries) {
  // The exception barrier (controller-runtime recovers panics): a throwing reconciler neither
  // kills its worker nor loses the key; it is retried like a retryable error.
  LogCapture logs;
  Harness h;
  h.script = {[]() -> ReconcileResult { throw std::runtime_error("boom"); },
              []() -> ReconcileResult { throw 42; },
              [] { return ReconcileResult(); }};
  h.start();
  h.controller->enqueue(kA);
  ASSERT_TRUE(h.waitPasses(1));
  EXPECT_EQ(h.queue().numRequeues(kA), 1);
  h.clock.advance(5ms);
  ASSERT_TRUE(h.waitPasses(2));
  h.clock.advance(10ms);
  ASSERT_TRUE(h.waitPasses(3));

  const auto lines = logs.linesContaining("reconcile threw an exception");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("boom"), std::string::npos);
  EXPECT_NE(lines[0].find("\"level\":\"error\""), std::string::npos);
  std::lock_guard lk(h.mu);
  EXPECT_EQ(reconcileIdOf(lines[0]), h.ids[0]);
  EXPECT_EQ(reconcileIdOf(lines[1]), h.ids[1]);
  EXPECT_EQ(h.registry.counter("kubeop_reconcile_exceptions_total", "", {"controller"}).labels({"apps"}).value(), 2);
  EXPECT_EQ(h.total("error"), 2);
  EXPECT_EQ(h.total("success"), 1);
}

TEST(ControllerTest, PutsTheReconcileIdOnEveryLogLineOfAPass) {
  // STYLE.md: every log line of a pass carries its reconcile id.
  LogCapture logs(log::Level::kDebug);
  FakeClock clock;
  Controller c(
      "apps",
      [](const ReconcileContext& ctx, const Key&) {
        ctx.info("ensuring namespace", log::Field("step", "ensureNamespace"));
        return ReconcileResult(unavailable("dns provider down"));
      },
      ControllerOptions{.clock = &clock});
  ASSERT_TRUE(c.start().isOk());
  c.enqueue(kA);
  ASSERT_TRUE(eventually([&] { return c.passes() >= 1; }));
  c.stop();

  std::vector<std::string> passLines;
  for (const auto& l : logs.lines()) {
    if (l.find("\"controller\":\"apps\"") != std::string::npos && l.find("controller st") == std::string::npos) {
      passLines.push_back(l);
    }
  }
  ASSERT_GE(passLines.size(), 3u);  // starting, the reconciler's own line, the failure
  const std::string id = reconcileIdOf(passLines[0]);
  EXPECT_EQ(id.size(), 16u);
  EXPECT_TRUE(isLowerHex(id)) << id;
  for (const auto& l : passLines) {
    EXPECT_EQ(reconcileIdOf(l), id) << l;
    EXPECT_NE(l.find("\"tenant\":\"acme\",\"namespace\":\"shop\",\"name\":\"web\""), std::string::npos) << l;
  }
  EXPECT_EQ(logs.linesContaining("\"step\":\"ensureNamespace\"").size(), 1u);
}

TEST(ControllerTest, GivesEveryPassItsOwnReconcileId) {
  Harness h;
  h.script = {[] { return ReconcileResult(); }};
  h.start();
  h.controller->enqueue(kA);
  ASSERT_TRUE(h.waitPasses(1));
  h.controller->enqueue(kA);
  ASSERT_TRUE(h.waitPasses(2));
  std::lock_guard lk(h.mu);
  ASSERT_EQ(h.ids.size(), 2u);
  EXPECT_NE(h.ids[0], h.ids[1]);
}

TEST(ControllerTest, NeverReconcilesOneKeyOnTwoWorkersAtOnce) {
  // controller-runtime: MaxConcurrentReconciles workers, but one key is never processed twice
  // concurrently (the queue's processing set).
  constexpr int kKeys = 50;
  std::array<std::atomic<int>, kKeys> inFlight{};
  std::atomic<int> worst{0};
  std::atomic<int> concurrentKeys{0};
  std::atomic<int> mostConcurrentKeys{0};
  Controller c(
      "stress",
      [&](const ReconcileContext&, const Key& k) {
        const int i = std::stoi(k.name);
        const int n = ++inFlight[i];
        const int all = ++concurrentKeys;
        if (n > worst.load()) worst.store(n);
        if (all > mostConcurrentKeys.load()) mostConcurrentKeys.store(all);
        std::this_thread::yield();
        --concurrentKeys;
        --inFlight[i];
        return ReconcileResult();
      },
      ControllerOptions{.maxConcurrentReconciles = 4});
  ASSERT_TRUE(c.start().isOk());
  for (int n = 0; n < 10000; ++n) c.enqueue(Key{"t", "ns", std::to_string(n % kKeys)});
  ASSERT_TRUE(eventually([&] { return c.queue().len() == 0 && c.queue().numProcessing() == 0; }));
  c.stop();
  EXPECT_EQ(worst.load(), 1);
  EXPECT_LE(mostConcurrentKeys.load(), 4);
  EXPECT_GE(c.passes(), static_cast<std::uint64_t>(kKeys));
}

// --- Resync -------------------------------------------------------------------------------------

TEST(ControllerTest, ResyncEnqueuesEveryListedKeyOncePerPeriod) {
  // controller-runtime SyncPeriod: every object is reconciled periodically even without events.
  std::atomic<int> lists{0};
  ControllerOptions o;
  o.resyncPeriod = 10min;
  o.listKeys = [&] {
    ++lists;
    return std::vector<Key>{kA, kB, Key{"globex", "", "cluster-wide"}};
  };
  Harness h(std::move(o));
  h.start();
  h.clock.advance(10min - 1s);
  EXPECT_EQ(lists.load(), 0);
  h.clock.advance(1s);
  ASSERT_TRUE(h.waitPasses(3));
  EXPECT_EQ(lists.load(), 1);
  h.clock.advance(10min);
  ASSERT_TRUE(h.waitPasses(6));
  EXPECT_EQ(lists.load(), 2);
}

TEST(ControllerTest, SurvivesAListKeysThatThrows) {
  LogCapture logs;
  std::atomic<int> lists{0};
  ControllerOptions o;
  o.resyncPeriod = 1min;
  o.listKeys = [&]() -> std::vector<Key> {
    if (++lists == 1) throw std::runtime_error("cache not synced");
    return {kA};
  };
  Harness h(std::move(o));
  h.start();
  h.clock.advance(1min);
  ASSERT_TRUE(eventually([&] { return lists.load() == 1; }));
  h.clock.advance(1min);
  ASSERT_TRUE(h.waitPasses(1));
  EXPECT_EQ(logs.linesContaining("cache not synced").size(), 1u);
}

// --- Lifecycle -----------------------------------------------------------------------------------

TEST(ControllerTest, StopLetsTheInFlightPassFinishAndStartsNoNewOne) {
  // controller-runtime: on stop the queue shuts down and Start waits for the workers.
  std::atomic<bool> aStarted{false};
  std::atomic<bool> aFinished{false};
  std::atomic<int> bPasses{0};
  Controller c(
      "apps",
      [&](const ReconcileContext& ctx, const Key& k) {
        if (k == kB) {
          ++bPasses;
          return ReconcileResult();
        }
        aStarted = true;
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lk(m);
        cv.wait(lk, ctx.stop, [] { return false; });  // returns when stop is requested
        aFinished = true;
        return ReconcileResult();
      },
      ControllerOptions{.maxConcurrentReconciles = 1});
  ASSERT_TRUE(c.start().isOk());
  c.enqueue(kA);
  ASSERT_TRUE(eventually([&] { return aStarted.load(); }));
  c.enqueue(kB);
  c.stop();
  EXPECT_TRUE(aFinished.load()) << "stop() returned before the in-flight pass ended";
  EXPECT_EQ(bPasses.load(), 0) << "a queued key was reconciled after stop()";
  EXPECT_EQ(c.passes(), 1u);
  c.enqueue(kB);  // ignored
  EXPECT_EQ(c.queue().len(), 0u);
}

TEST(ControllerTest, RejectsInvalidOptionsAtStart) {
  auto ok = [](const ReconcileContext&, const Key&) { return ReconcileResult(); };
  EXPECT_EQ(Controller("", ok).start().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Controller("x", nullptr).start().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Controller("x", ok, ControllerOptions{.maxConcurrentReconciles = 0}).start().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Controller("x", ok, ControllerOptions{.resyncPeriod = 1min}).start().code(),
            StatusCode::kInvalidArgument);

  Controller twice("x", ok);
  ASSERT_TRUE(twice.start().isOk());
  EXPECT_EQ(twice.start().code(), StatusCode::kFailedPrecondition);
  twice.stop();
  twice.stop();  // idempotent
}

TEST(ControllerTest, KeysEnqueuedBeforeStartWaitForTheWorkers) {
  Harness h;
  h.controller->enqueue(kA);
  h.controller->enqueue(kB);
  EXPECT_EQ(h.controller->passes(), 0u);
  h.start();
  ASSERT_TRUE(h.waitPasses(2));
}

TEST(ControllerTest, ExportsReconcileMetrics) {
  Harness h;
  h.script = {[] { return ReconcileResult(); }};
  h.start();
  h.controller->enqueue(kA);
  ASSERT_TRUE(h.waitPasses(1));
  const std::string text = h.registry.serialize();
  EXPECT_NE(text.find("kubeop_reconcile_total{controller=\"apps\",result=\"success\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("kubeop_reconcile_total{controller=\"apps\",result=\"terminal_error\"} 0"), std::string::npos);
  EXPECT_NE(text.find("kubeop_reconcile_duration_seconds_count{controller=\"apps\"} 1"), std::string::npos);
  EXPECT_NE(text.find("kubeop_controller_active_workers{controller=\"apps\"} 0"), std::string::npos);
  EXPECT_NE(text.find("kubeop_workqueue_adds_total{name=\"apps\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace kubeop::reconcile
