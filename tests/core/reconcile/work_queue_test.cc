// Each test names the client-go workqueue rule (util/workqueue: queue.go, delaying_queue.go,
// rate_limiting_queue.go, default_rate_limiters.go) or the kubeop addition it pins.
#include "kubeop/reconcile/work_queue.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kubeop/metrics/metrics.h"

namespace kubeop::reconcile {
namespace {

using namespace std::chrono_literals;

Key key(std::string name, std::string tenant = "t1", std::string ns = "default") {
  return Key{std::move(tenant), std::move(ns), std::move(name)};
}

// Polls `pred` until it holds or `timeout` passes (for the few waits on real threads).
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

WorkQueueOptions fakeClockOptions(FakeClock& clock, std::string name = "test") {
  WorkQueueOptions o;
  o.name = std::move(name);
  o.clock = &clock;
  return o;
}

// --- Keys -----------------------------------------------------------------------------------

TEST(KeyTest, PrintsTenantNamespaceAndName) {
  EXPECT_EQ(key("web", "acme", "shop").toString(), "acme:shop/web");
  EXPECT_EQ((Key{"acme", "", "cluster-thing"}).toString(), "acme:cluster-thing");
}

TEST(KeyTest, KeysDifferingOnlyInTenantAreDifferentItems) {
  // The tenant is part of the identity: two tenants' objects never deduplicate into one pass.
  WorkQueue q;
  q.add(key("web", "acme"));
  q.add(key("web", "globex"));
  EXPECT_EQ(q.len(), 2u);
  EXPECT_NE(KeyHash{}(key("web", "acme")), KeyHash{}(key("web", "globex")));
}

// --- Deduplication and the processing set (queue.go) -------------------------------------------

TEST(WorkQueueTest, QueuesAKeyOnceHoweverOftenItIsAdded) {
  // queue.go Add: an item already in the dirty set is not queued again.
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  for (int i = 0; i < 5; ++i) q.add(key("a"));
  q.add(key("b"));
  EXPECT_EQ(q.len(), 2u);
  EXPECT_EQ(q.tryGet(), key("a"));
  EXPECT_EQ(q.tryGet(), key("b"));
  EXPECT_EQ(q.tryGet(), std::nullopt);
}

TEST(WorkQueueTest, NeverHandsOutAKeyThatIsBeingProcessed) {
  // queue.go: an item in the processing set is not queued, only marked dirty.
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.add(key("a"));
  ASSERT_EQ(q.tryGet(), key("a"));
  q.add(key("a"));
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.tryGet(), std::nullopt);
  EXPECT_EQ(q.numProcessing(), 1u);
}

TEST(WorkQueueTest, RequeuesADirtyKeyOnceWhenItsPassIsDone) {
  // queue.go Done: an item added while processing goes back to the queue, once, however many
  // adds happened meanwhile.
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.add(key("a"));
  ASSERT_EQ(q.tryGet(), key("a"));
  q.add(key("a"));
  q.add(key("a"));
  q.add(key("a"));
  q.done(key("a"));
  EXPECT_EQ(q.len(), 1u);
  ASSERT_EQ(q.tryGet(), key("a"));
  q.done(key("a"));
  EXPECT_EQ(q.tryGet(), std::nullopt);
}

TEST(WorkQueueTest, DoneWithoutAnAddDuringProcessingDropsTheKey) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.add(key("a"));
  ASSERT_EQ(q.tryGet(), key("a"));
  q.done(key("a"));
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.numProcessing(), 0u);
}

TEST(WorkQueueTest, IgnoresDoneForAKeyThatIsNotBeingProcessed) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.add(key("a"));
  q.done(key("a"));  // queued, not processing: nothing changes
  q.done(key("zzz"));
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(q.tryGet(), key("a"));
}

TEST(WorkQueueTest, NeverHandsOneKeyToTwoWorkersAtOnceUnderLoad) {
  // The controller-runtime guarantee the reconcilers rely on: "never one key on two workers".
  // 4 workers, 10,000 adds over 50 keys; also checks that no add is lost: every key gets a pass
  // that started after its last add (level-triggered).
  constexpr int kKeys = 50;
  constexpr int kAdds = 10000;
  WorkQueue q;
  std::array<std::atomic<int>, kKeys> inFlight{};
  std::array<std::atomic<int>, kKeys> maxInFlight{};
  std::array<std::atomic<int>, kKeys> generation{};  // bumped before each add
  std::array<std::atomic<int>, kKeys> seenGeneration{};
  std::atomic<int> passes{0};
  auto indexOf = [](const Key& k) { return std::stoi(k.name); };

  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto k = q.get()) {
        const int i = indexOf(*k);
        const int now = ++inFlight[i];
        int prev = maxInFlight[i].load();
        while (now > prev && !maxInFlight[i].compare_exchange_weak(prev, now)) {
        }
        const int gen = generation[i].load();
        if (gen > seenGeneration[i].load()) seenGeneration[i].store(gen);
        if (passes.fetch_add(1) % 7 == 0) std::this_thread::yield();
        --inFlight[i];
        q.done(*k);
      }
    });
  }
  for (int n = 0; n < kAdds; ++n) {
    const int i = n % kKeys;
    ++generation[i];
    // Spread keys over a few tenants so the fairness ring is exercised too.
    q.add(Key{"tenant-" + std::to_string(i % 3), "ns", std::to_string(i)});
  }
  q.shutDownWithDrain();
  for (auto& w : workers) w.join();

  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ(maxInFlight[i].load(), 1) << "key " << i;
    EXPECT_EQ(seenGeneration[i].load(), generation[i].load()) << "key " << i << " lost an add";
  }
  EXPECT_GE(passes.load(), kKeys);
  EXPECT_LE(passes.load(), kAdds);
}

// --- Per-tenant fairness (kubeop) ---------------------------------------------------------------

TEST(WorkQueueTest, ServesASmallTenantWithinTheFirstGetsDespiteABigBacklog) {
  // kubeop's addition to client-go: one FIFO per tenant served round-robin, so 5,000 keys of
  // tenant A cannot starve tenant B's 5.
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  for (int i = 0; i < 5000; ++i) q.add(key("a-" + std::to_string(i), "tenant-a"));
  for (int i = 0; i < 5; ++i) q.add(key("b-" + std::to_string(i), "tenant-b"));
  ASSERT_EQ(q.len(), 5005u);

  int bSeen = 0;
  int aSeen = 0;
  for (int get = 0; get < 10; ++get) {
    auto k = q.get();
    ASSERT_TRUE(k);
    if (k->tenant == "tenant-b") {
      EXPECT_EQ(k->name, "b-" + std::to_string(bSeen)) << "FIFO within a tenant";
      ++bSeen;
    } else {
      EXPECT_EQ(k->name, "a-" + std::to_string(aSeen)) << "FIFO within a tenant";
      ++aSeen;
    }
    q.done(*k);
  }
  EXPECT_EQ(bSeen, 5);
  // Then A has the queue to itself, still in order.
  EXPECT_EQ(q.tryGet(), key("a-5", "tenant-a"));
}

TEST(WorkQueueTest, RotatesAmongEveryTenantWithQueuedKeys) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  for (int i = 0; i < 3; ++i) {
    q.add(key("x" + std::to_string(i), "a"));
    q.add(key("y" + std::to_string(i), "b"));
    q.add(key("z" + std::to_string(i), "c"));
  }
  std::string order;
  while (auto k = q.tryGet()) order += k->tenant;
  EXPECT_EQ(order, "abcabcabc");
}

TEST(WorkQueueTest, ADirtyKeyRejoinsTheBackOfItsTenantsFifo) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.add(key("a1", "a"));
  q.add(key("a2", "a"));
  ASSERT_EQ(q.tryGet(), key("a1", "a"));
  q.add(key("a1", "a"));
  q.done(key("a1", "a"));
  EXPECT_EQ(q.tryGet(), key("a2", "a"));
  EXPECT_EQ(q.tryGet(), key("a1", "a"));
}

// --- Delays (delaying_queue.go) -------------------------------------------------------------------

TEST(WorkQueueTest, AddAfterQueuesTheKeyOnlyOnceTheDelayHasPassed) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.addAfter(key("a"), 10s);
  EXPECT_EQ(q.tryGet(), std::nullopt);
  EXPECT_EQ(q.numWaiting(), 1u);
  clock.advance(9999ms);
  EXPECT_EQ(q.tryGet(), std::nullopt);
  clock.advance(1ms);
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(q.numWaiting(), 0u);
  EXPECT_EQ(q.tryGet(), key("a"));
}

TEST(WorkQueueTest, AddAfterWithoutAPositiveDelayAddsAtOnce) {
  // delaying_queue.go AddAfter: duration <= 0 → Add.
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.addAfter(key("a"), 0s);
  q.addAfter(key("b"), -5s);
  EXPECT_EQ(q.numWaiting(), 0u);
  EXPECT_EQ(q.len(), 2u);
}

TEST(WorkQueueTest, AddAfterKeepsTheEarliestDeadlineOfAKey) {
  // delaying_queue.go insert: a known entry only ever moves earlier.
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.addAfter(key("later-first"), 10s);
  q.addAfter(key("later-first"), 1s);
  q.addAfter(key("sooner-first"), 1s);
  q.addAfter(key("sooner-first"), 10s);
  EXPECT_EQ(q.numWaiting(), 2u);
  clock.advance(1s);
  EXPECT_EQ(q.tryGet(), key("later-first"));
  EXPECT_EQ(q.tryGet(), key("sooner-first"));
  q.done(key("later-first"));
  q.done(key("sooner-first"));
  // One entry per key: nothing fires again at 10 s.
  EXPECT_EQ(q.numWaiting(), 0u);
  clock.advance(10s);
  EXPECT_EQ(q.tryGet(), std::nullopt);
}

TEST(WorkQueueTest, DelayedKeysBecomeReadyInDeadlineOrder) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.addAfter(key("three"), 3s);
  q.addAfter(key("one"), 1s);
  q.addAfter(key("two"), 2s);
  clock.advance(5s);
  EXPECT_EQ(q.tryGet(), key("one"));
  EXPECT_EQ(q.tryGet(), key("two"));
  EXPECT_EQ(q.tryGet(), key("three"));
}

TEST(WorkQueueTest, ADelayedKeyThatIsAlreadyQueuedIsNotQueuedTwice) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.add(key("a"));
  q.addAfter(key("a"), 1s);
  clock.advance(1s);
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(q.tryGet(), key("a"));
  EXPECT_EQ(q.tryGet(), std::nullopt);
}

TEST(WorkQueueTest, ABlockedGetWakesWhenTheClockReachesTheDeadline) {
  // delaying_queue.go waitingLoop, without its goroutine: the sleeping get() is the timer.
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.addAfter(key("a"), 1h);
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  EXPECT_NE(got.wait_for(0s), std::future_status::ready);
  clock.advance(1h);
  ASSERT_EQ(got.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(got.get(), key("a"));
}

TEST(WorkQueueTest, ABlockedGetNoticesAnEarlierDeadlineAddedWhileItSleeps) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.addAfter(key("late"), 1h);
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  q.addAfter(key("soon"), 1s);
  clock.advance(1s);
  ASSERT_EQ(got.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(got.get(), key("soon"));
}

TEST(WorkQueueTest, RealClockDelaysElapseWithoutAnyoneAdvancingThem) {
  WorkQueue q;
  q.addAfter(key("a"), 20ms);
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  ASSERT_EQ(got.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(got.get(), key("a"));
}

// --- Rate limiting (default_rate_limiters.go, rate_limiting_queue.go) --------------------------

TEST(RateLimiterTest, BacksOffPerKeyFrom5msDoublingUpTo1000s) {
  // ItemExponentialFailureRateLimiter(5ms, 1000s): base * 2^failures, capped.
  ItemExponentialRateLimiter rl(kDefaultBackoffBase, kDefaultBackoffMax);
  const Clock::TimePoint t{};
  std::vector<Clock::Duration> got;
  for (int i = 0; i < 20; ++i) got.push_back(rl.when(key("a"), t));
  EXPECT_EQ(got[0], 5ms);
  EXPECT_EQ(got[1], 10ms);
  EXPECT_EQ(got[2], 20ms);
  EXPECT_EQ(got[3], 40ms);
  EXPECT_EQ(got[10], 5120ms);
  EXPECT_EQ(got[17], 655360ms);  // 5 ms * 2^17 = 655 s
  EXPECT_EQ(got[18], 1000s);     // 1310 s → capped
  EXPECT_EQ(got[19], 1000s);
  EXPECT_EQ(rl.numRequeues(key("a")), 20);
  // Far past any exponent an integer could hold, still the cap.
  for (int i = 0; i < 2000; ++i) (void)rl.when(key("a"), t);
  EXPECT_EQ(rl.when(key("a"), t), 1000s);
}

TEST(RateLimiterTest, BackoffIsPerKeyAndForgetResetsIt) {
  ItemExponentialRateLimiter rl(kDefaultBackoffBase, kDefaultBackoffMax);
  const Clock::TimePoint t{};
  (void)rl.when(key("a"), t);
  (void)rl.when(key("a"), t);
  EXPECT_EQ(rl.when(key("b"), t), 5ms);
  EXPECT_EQ(rl.numRequeues(key("a")), 2);
  rl.forget(key("a"));
  EXPECT_EQ(rl.numRequeues(key("a")), 0);
  EXPECT_EQ(rl.when(key("a"), t), 5ms);
  EXPECT_EQ(rl.numRequeues(key("b")), 1);
}

TEST(RateLimiterTest, TokenBucketAllowsTheBurstThenOneKeyPerTokenAtQps) {
  // BucketRateLimiter(rate.NewLimiter(10, 100)): Reserve().Delay() borrows against the future.
  TokenBucketRateLimiter rl(10, 100);
  Clock::TimePoint t{};
  for (int i = 0; i < 100; ++i) ASSERT_EQ(rl.when(key(std::to_string(i)), t), 0ms) << i;
  EXPECT_EQ(rl.when(key("x"), t), 100ms);
  EXPECT_EQ(rl.when(key("y"), t), 200ms);
  EXPECT_EQ(rl.when(key("z"), t), 300ms);
  // 1 s refills 10 tokens and pays the 3 borrowed: 7 free, then waiting resumes.
  t += 1s;
  for (int i = 0; i < 7; ++i) ASSERT_EQ(rl.when(key("w" + std::to_string(i)), t), 0ms) << i;
  EXPECT_EQ(rl.when(key("v"), t), 100ms);
  // No per-key memory.
  EXPECT_EQ(rl.numRequeues(key("x")), 0);
}

TEST(RateLimiterTest, TokenBucketRefillsNoFurtherThanItsBurst) {
  TokenBucketRateLimiter rl(10, 5);
  Clock::TimePoint t{};
  (void)rl.when(key("a"), t);
  t += 1h;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(rl.when(key("a"), t), 0ms) << i;
  EXPECT_EQ(rl.when(key("a"), t), 100ms);
}

TEST(RateLimiterTest, DefaultControllerLimiterWaitsForTheLongerOfBackoffAndBucket) {
  // DefaultControllerRateLimiter = MaxOf(exponential 5ms..1000s, bucket 10 qps / 100 burst).
  auto rl = defaultControllerRateLimiter();
  const Clock::TimePoint t{};
  for (int i = 0; i < 100; ++i) ASSERT_EQ(rl->when(key(std::to_string(i)), t), 5ms) << i;
  // The bucket is empty: the 101st distinct failing key waits for a token, not 5 ms.
  EXPECT_EQ(rl->when(key("100"), t), 100ms);
  EXPECT_EQ(rl->numRequeues(key("0")), 1);
  rl->forget(key("0"));
  EXPECT_EQ(rl->numRequeues(key("0")), 0);
}

TEST(WorkQueueTest, AddRateLimitedBacksOffOnTheQueuesClock) {
  // rate_limiting_queue.go AddRateLimited = AddAfter(item, When(item)).
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  const Key a = key("a");
  const std::vector<Clock::Duration> expected{5ms, 10ms, 20ms, 40ms, 80ms};
  for (Clock::Duration d : expected) {
    q.addRateLimited(a);
    clock.advance(d - 1ms);
    EXPECT_EQ(q.tryGet(), std::nullopt) << "ready before " << d.count() << "ns";
    clock.advance(1ms);
    ASSERT_EQ(q.tryGet(), a) << "not ready after " << d.count() << "ns";
    q.done(a);
  }
  EXPECT_EQ(q.numRequeues(a), 5);
}

TEST(WorkQueueTest, ForgetResetsTheBackoffOfAKey) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  const Key a = key("a");
  q.addRateLimited(a);
  q.addRateLimited(a);
  q.addRateLimited(a);
  EXPECT_EQ(q.numRequeues(a), 3);
  clock.advance(5ms);  // the earliest (first) deadline
  ASSERT_EQ(q.tryGet(), a);
  q.forget(a);
  q.done(a);
  EXPECT_EQ(q.numRequeues(a), 0);
  q.addRateLimited(a);
  clock.advance(5ms);
  EXPECT_EQ(q.tryGet(), a);
}

TEST(WorkQueueTest, TokenBucketLimitsHowFastFailingKeysComeBack) {
  // With the default limiter, 150 keys failing at once: 100 return after 5 ms (the burst), the
  // rest at 10 per second.
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  for (int i = 0; i < 150; ++i) q.addRateLimited(key(std::to_string(i)));
  clock.advance(5ms);
  EXPECT_EQ(q.len(), 100u);
  clock.advance(95ms);  // t = 100 ms: the first borrowed token is paid
  EXPECT_EQ(q.len(), 101u);
  clock.advance(900ms);  // t = 1 s
  EXPECT_EQ(q.len(), 110u);
  clock.advance(4s);  // t = 5 s: all 50 paid
  EXPECT_EQ(q.len(), 150u);
}

TEST(WorkQueueTest, UsesAnInjectedRateLimiter) {
  FakeClock clock;
  WorkQueueOptions o = fakeClockOptions(clock);
  o.rateLimiter = std::make_unique<ItemExponentialRateLimiter>(1s, 4s);
  WorkQueue q(std::move(o));
  q.addRateLimited(key("a"));
  clock.advance(999ms);
  EXPECT_EQ(q.len(), 0u);
  clock.advance(1ms);
  EXPECT_EQ(q.len(), 1u);
}

// --- Shutdown (queue.go ShutDown / ShutDownWithDrain) -----------------------------------------

TEST(WorkQueueTest, ShutDownReleasesBlockedWorkersAndIgnoresLaterAdds) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  auto w1 = std::async(std::launch::async, [&] { return q.get(); });
  auto w2 = std::async(std::launch::async, [&] { return q.get(); });
  q.shutDown();
  ASSERT_EQ(w1.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(w2.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(w1.get(), std::nullopt);
  EXPECT_EQ(w2.get(), std::nullopt);
  EXPECT_TRUE(q.shuttingDown());
  q.add(key("a"));
  q.addAfter(key("b"), 1s);
  q.addRateLimited(key("c"));
  clock.advance(1h);
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownStopsHandingOutQueuedKeysButAcceptsDoneOfInFlightOnes) {
  // kubeop differs from client-go here on purpose: ShutDown() means "take no new work"
  // (controller stop), so queued keys are dropped instead of handed out.
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.add(key("a"));
  q.add(key("b"));
  ASSERT_EQ(q.tryGet(), key("a"));
  q.add(key("a"));  // dirty
  q.shutDown();
  EXPECT_EQ(q.tryGet(), std::nullopt);
  q.done(key("a"));
  EXPECT_EQ(q.numProcessing(), 0u);
  EXPECT_EQ(q.get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownWithDrainFinishesQueuedAndInFlightKeysFirst) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.add(key("a"));
  q.add(key("b"));
  ASSERT_EQ(q.tryGet(), key("a"));  // in flight
  q.add(key("a"));                  // dirty: comes back after done()
  q.addAfter(key("later"), 1s);     // not due: dropped by the drain

  auto drained = std::async(std::launch::async, [&] { q.shutDownWithDrain(); });
  ASSERT_TRUE(eventually([&] { return q.shuttingDown(); }));
  q.add(key("c"));  // ignored
  EXPECT_NE(drained.wait_for(0s), std::future_status::ready);

  std::vector<std::string> handedOut;
  auto worker = std::async(std::launch::async, [&] {
    while (auto k = q.get()) {
      handedOut.push_back(k->name);
      q.done(*k);
    }
  });
  EXPECT_NE(drained.wait_for(0s), std::future_status::ready) << "'a' is still in flight";
  q.done(key("a"));
  ASSERT_EQ(drained.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(worker.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(handedOut, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(q.get(), std::nullopt);
}

TEST(WorkQueueTest, ShutDownCutsAWaitingDrainShort) {
  FakeClock clock;
  WorkQueue q(fakeClockOptions(clock));
  q.add(key("a"));
  auto drained = std::async(std::launch::async, [&] { q.shutDownWithDrain(); });
  ASSERT_TRUE(eventually([&] { return q.shuttingDown(); }));
  q.shutDown();
  ASSERT_EQ(drained.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(q.get(), std::nullopt);
}

// --- Metrics --------------------------------------------------------------------------------

TEST(WorkQueueTest, ExportsDepthAddsRetriesAndDurations) {
  metrics::Registry registry(metrics::RegistryOptions{metrics::kDefaultMaxSeries, false});
  FakeClock clock;
  WorkQueueOptions o = fakeClockOptions(clock, "apps");
  o.metrics = &registry;
  WorkQueue q(std::move(o));
  auto& depth = registry.gauge("kubeop_workqueue_depth", "", {"name"}).labels({"apps"});
  auto& adds = registry.counter("kubeop_workqueue_adds_total", "", {"name"}).labels({"apps"});
  auto& retries = registry.counter("kubeop_workqueue_retries_total", "", {"name"}).labels({"apps"});
  const auto buckets = metrics::exponentialBuckets(1e-6, 10, 10);
  auto& queued = registry.histogram("kubeop_workqueue_queue_duration_seconds", "", {"name"}, buckets).labels({"apps"});
  auto& work = registry.histogram("kubeop_workqueue_work_duration_seconds", "", {"name"}, buckets).labels({"apps"});

  q.add(key("a"));
  q.add(key("a"));
  q.add(key("b"));
  EXPECT_EQ(depth.value(), 2);
  EXPECT_EQ(adds.value(), 2);
  clock.advance(2s);
  ASSERT_EQ(q.tryGet(), key("a"));
  EXPECT_EQ(depth.value(), 1);
  EXPECT_EQ(queued.count(), 1u);
  EXPECT_DOUBLE_EQ(queued.sum(), 2.0);
  clock.advance(3s);
  q.done(key("a"));
  EXPECT_EQ(work.count(), 1u);
  EXPECT_DOUBLE_EQ(work.sum(), 3.0);

  q.addRateLimited(key("c"));
  EXPECT_EQ(retries.value(), 1);
  EXPECT_EQ(adds.value(), 2) << "a delayed key counts as an add when it is queued";
  clock.advance(5ms);
  EXPECT_EQ(q.tryGet(), key("b"));
  EXPECT_EQ(adds.value(), 3);
  EXPECT_NE(registry.serialize().find("kubeop_workqueue_depth{name=\"apps\"}"), std::string::npos);
}

}  // namespace
}  // namespace kubeop::reconcile
