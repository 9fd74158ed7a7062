// The event recorder (core/src/operator/events.cc) against `kubeop sandbox`: the Event it writes,
// deduplication into count, distinct messages, the spam filter and aggregation of a flood, the
// namespace of cluster-scoped objects, failures that are logged and never block, and stop()'s
// flush with a deadline. Then assessHealth over objects the sandbox's simulator rolls out
// (sandbox/src/simulator.cc). Time-dependent rules run on an injected clock; waits poll with a
// deadline (flush(), eventually()).
#include "kubeop/operator/events.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "../kube/client/sandbox_fixture.h"
#include "kubeop/log/log.h"
#include "kubeop/operator/health.h"

namespace kubeop::op {
namespace {

using namespace std::chrono_literals;
using kube::testing::eventually;
using kube::testing::parseObject;
using kube::testing::Sandbox;

constexpr auto kFlush = 20s;

// A wall clock the test moves by hand.
struct FakeClock {
  std::atomic<int64_t> offsetMs{0};
  std::chrono::system_clock::time_point start = std::chrono::system_clock::now();
  void advance(std::chrono::milliseconds d) { offsetMs += d.count(); }
  std::function<std::chrono::system_clock::time_point()> fn() {
    return [this] { return start + std::chrono::milliseconds(offsetMs.load()); };
  }
};

// Captures log lines (restores stderr on destruction).
struct LogCapture {
  std::mutex mu;
  std::vector<std::string> lines;
  LogCapture() {
    log::setSink([this](std::string_view line) {
      std::lock_guard lock(mu);
      lines.emplace_back(line);
    });
  }
  ~LogCapture() { log::setSink(nullptr); }
  bool contains(std::string_view text) {
    std::lock_guard lock(mu);
    for (const auto& l : lines) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

std::string str(const Object& o, std::initializer_list<std::string_view> path) {
  const json::Value* v = json::findPath(o.root(), path);
  return v ? std::string(json::view(*v)) : std::string();
}

int64_t count(const Object& o) {
  const json::Value* v = json::find(o.root(), "count");
  return v && v->IsInt64() ? v->GetInt64() : -1;
}

// One sandbox per suite; a fresh namespace per test.
class SandboxSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sandbox_ = Sandbox::start().release(); }
  static void TearDownTestSuite() {
    delete sandbox_;
    sandbox_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(sandbox_, nullptr);
    client_ = sandbox_->client();
    ASSERT_NE(client_, nullptr);
    ns_ = kube::testing::makeNamespace(*client_, "observe");
  }

  static Sandbox* sandbox_;
  std::shared_ptr<kube::Client> client_;
  std::string ns_;
};

Sandbox* SandboxSuite::sandbox_ = nullptr;

class EventsTest : public SandboxSuite {
 protected:

  // A ConfigMap created in the test's namespace: an involved object with uid and resourceVersion.
  Object involved(std::string_view name) {
    auto r = client_->create(kube::testing::configMap(ns_, name));
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? std::move(r).value() : Object();
  }

  // The Events in `ns` about the object with `uid`.
  std::vector<Object> eventsAbout(std::string_view uid, std::string_view ns = {}) {
    auto l = client_->list("v1", "Event", ns.empty() ? ns_ : ns);
    EXPECT_TRUE(l.ok()) << l.status().toString();
    std::vector<Object> out;
    if (!l.ok()) return out;
    for (auto& e : l->items) {
      if (str(e, {"involvedObject", "uid"}) == uid) out.push_back(std::move(e));
    }
    return out;
  }

  EventRecorderOptions withClock(FakeClock& clock) {
    EventRecorderOptions o;
    o.clock = clock.fn();
    return o;
  }
};

TEST(TruncateUtf8Test, CutsAtACharacterBoundary) {
  EXPECT_EQ(truncateUtf8("abc", 3), "abc");
  EXPECT_EQ(truncateUtf8("abcd", 3), "abc");
  // "é" is two bytes (C3 A9), "€" three (E2 82 AC): a cut inside either drops the whole character.
  EXPECT_EQ(truncateUtf8("a\xC3\xA9", 2), "a");
  EXPECT_EQ(truncateUtf8("a\xE2\x82\xAC", 3), "a");
  EXPECT_EQ(truncateUtf8("a\xE2\x82\xAC", 4), "a\xE2\x82\xAC");
  EXPECT_EQ(truncateUtf8("\xE2\x82\xAC\xE2\x82\xAC", 5), "\xE2\x82\xAC");
}

TEST_F(EventsTest, AnEventAppearsWithItsFields) {
  Object cm = involved("web");
  EventRecorder recorder(client_, "kubeop-operator", "node-1");
  recorder.event(cm, EventType::kWarning, "ApplyFailed", "could not apply Deployment/web");
  ASSERT_TRUE(recorder.flush(kFlush));

  auto events = eventsAbout(cm.uid());
  ASSERT_EQ(events.size(), 1u);
  const Object& e = events[0];
  EXPECT_TRUE(std::regex_match(std::string(e.name()), std::regex("web\\.[0-9a-f]{16}"))) << e.name();
  EXPECT_EQ(e.namespace_(), ns_);
  EXPECT_EQ(str(e, {"involvedObject", "apiVersion"}), "v1");
  EXPECT_EQ(str(e, {"involvedObject", "kind"}), "ConfigMap");
  EXPECT_EQ(str(e, {"involvedObject", "name"}), "web");
  EXPECT_EQ(str(e, {"involvedObject", "namespace"}), ns_);
  EXPECT_EQ(str(e, {"involvedObject", "uid"}), cm.uid());
  EXPECT_EQ(str(e, {"involvedObject", "resourceVersion"}), cm.resourceVersion());
  EXPECT_EQ(str(e, {"reason"}), "ApplyFailed");
  EXPECT_EQ(str(e, {"message"}), "could not apply Deployment/web");
  EXPECT_EQ(str(e, {"type"}), "Warning");
  EXPECT_EQ(str(e, {"source", "component"}), "kubeop-operator");
  EXPECT_EQ(str(e, {"source", "host"}), "node-1");
  EXPECT_EQ(str(e, {"reportingComponent"}), "kubeop-operator");
  EXPECT_EQ(str(e, {"reportingInstance"}), "node-1");
  EXPECT_TRUE(std::regex_match(str(e, {"firstTimestamp"}), std::regex("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ")));
  EXPECT_EQ(str(e, {"lastTimestamp"}), str(e, {"firstTimestamp"}));
  EXPECT_EQ(count(e), 1);
  EXPECT_EQ(recorder.stats().created, 1u);
}

TEST_F(EventsTest, ARepeatedIdenticalEventIncrementsCountOnTheSameEvent) {
  Object cm = involved("repeat");
  FakeClock clock;
  EventRecorder recorder(client_, "kubeop-operator", "", withClock(clock));
  for (int i = 0; i < 3; ++i) {
    recorder.event(cm, EventType::kNormal, "Synced", "revision 1 delivered");
    clock.advance(1min);
  }
  ASSERT_TRUE(recorder.flush(kFlush));

  auto events = eventsAbout(cm.uid());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(count(events[0]), 3);
  EXPECT_NE(str(events[0], {"lastTimestamp"}), str(events[0], {"firstTimestamp"}));
  EXPECT_EQ(recorder.stats().created, 1u);
  EXPECT_EQ(recorder.stats().patched, 2u);
  // No host given: the reporting instance is this machine.
  EXPECT_FALSE(str(events[0], {"reportingInstance"}).empty());
  EXPECT_EQ(str(events[0], {"source", "host"}), "");
}

TEST_F(EventsTest, AnIdenticalEventAfterTheWindowIsANewEvent) {
  Object cm = involved("late");
  FakeClock clock;
  EventRecorder recorder(client_, "kubeop-operator", "", withClock(clock));
  recorder.event(cm, EventType::kNormal, "Synced", "same");
  clock.advance(11min);
  recorder.event(cm, EventType::kNormal, "Synced", "same");
  ASSERT_TRUE(recorder.flush(kFlush));

  auto events = eventsAbout(cm.uid());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(count(events[0]), 1);
  EXPECT_EQ(count(events[1]), 1);
}

TEST_F(EventsTest, DifferentMessagesOrTypesMakeDifferentEvents) {
  Object cm = involved("distinct");
  EventRecorder recorder(client_, "kubeop-operator");
  recorder.event(cm, EventType::kNormal, "Synced", "revision 1 delivered");
  recorder.event(cm, EventType::kNormal, "Synced", "revision 2 delivered");
  recorder.event(cm, EventType::kWarning, "Synced", "revision 2 delivered");
  ASSERT_TRUE(recorder.flush(kFlush));

  auto events = eventsAbout(cm.uid());
  ASSERT_EQ(events.size(), 3u);
  for (const auto& e : events) EXPECT_EQ(count(e), 1);
}

// 40 distinct events about one object: the spam filter lets 25 through (burst), the aggregator
// keeps 9 apart and combines the other 16 into one Event; a token comes back after 5 minutes.
TEST_F(EventsTest, AFloodIsCappedByTheSpamFilterAndCombined) {
  Object cm = involved("flood");
  FakeClock clock;
  EventRecorder recorder(client_, "kubeop-operator", "", withClock(clock));
  for (int i = 0; i < 40; ++i) recorder.event(cm, EventType::kWarning, "Failed", "attempt " + std::to_string(i));
  ASSERT_TRUE(recorder.flush(kFlush));

  auto events = eventsAbout(cm.uid());
  int64_t total = 0;
  int combined = 0;
  for (const auto& e : events) {
    total += count(e);
    if (str(e, {"message"}).starts_with("(combined from similar events): ")) {
      ++combined;
      EXPECT_EQ(count(e), 16);
      EXPECT_EQ(str(e, {"message"}), "(combined from similar events): attempt 24");
    }
  }
  EXPECT_EQ(events.size(), 10u);
  EXPECT_EQ(combined, 1);
  EXPECT_EQ(total, 25);
  EXPECT_EQ(recorder.stats().droppedSpam, 15u);

  recorder.event(cm, EventType::kWarning, "Failed", "still failing");
  EXPECT_EQ(recorder.stats().droppedSpam, 16u);
  clock.advance(5min);
  recorder.event(cm, EventType::kWarning, "Failed", "still failing");
  EXPECT_EQ(recorder.stats().droppedSpam, 16u);
  EXPECT_EQ(recorder.stats().queued, 26u);

  // Another object has its own bucket.
  Object other = involved("flood-other");
  recorder.event(other, EventType::kWarning, "Failed", "attempt 0");
  ASSERT_TRUE(recorder.flush(kFlush));
  EXPECT_EQ(eventsAbout(other.uid()).size(), 1u);
}

TEST_F(EventsTest, AClusterScopedObjectsEventLandsInDefault) {
  auto live = client_->get("v1", "Namespace", "", ns_);
  ASSERT_TRUE(live.ok()) << live.status().toString();

  EventRecorder recorder(client_, "kubeop-operator");
  recorder.event(*live, EventType::kNormal, "Created", "namespace ready");
  ASSERT_TRUE(recorder.flush(kFlush));

  auto events = eventsAbout(live->uid(), "default");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].namespace_(), "default");
  EXPECT_EQ(str(events[0], {"involvedObject", "kind"}), "Namespace");
  EXPECT_EQ(str(events[0], {"involvedObject", "name"}), ns_);
  EXPECT_EQ(str(events[0], {"involvedObject", "namespace"}), "");
}

TEST_F(EventsTest, AnEventInAMissingNamespaceIsLoggedAndDoesNotBlock) {
  LogCapture logs;
  Object ghost = kube::testing::configMap("no-such-namespace-xyz", "ghost");
  EventRecorder recorder(client_, "kubeop-operator");
  const auto start = std::chrono::steady_clock::now();
  recorder.event(ghost, EventType::kWarning, "Lost", "nobody will read this");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  ASSERT_TRUE(recorder.flush(kFlush));
  EXPECT_EQ(recorder.stats().failed, 1u);
  EXPECT_EQ(recorder.stats().created, 0u);
  EXPECT_TRUE(logs.contains("cannot record an event"));
  EXPECT_TRUE(logs.contains("no-such-namespace-xyz"));

  // The recorder carries on.
  Object cm = involved("after");
  recorder.event(cm, EventType::kNormal, "Synced", "fine");
  ASSERT_TRUE(recorder.flush(kFlush));
  EXPECT_EQ(eventsAbout(cm.uid()).size(), 1u);
}

TEST_F(EventsTest, AMessageIsTruncatedTo1024BytesAtACharacterBoundary) {
  Object cm = involved("long");
  std::string message = "x";
  while (message.size() < 2000) message += "\xE2\x82\xAC";  // "x€€€…": a cut at 1024 falls mid-character
  EventRecorder recorder(client_, "kubeop-operator");
  recorder.event(cm, EventType::kNormal, "Long", message);
  ASSERT_TRUE(recorder.flush(kFlush));

  auto events = eventsAbout(cm.uid());
  ASSERT_EQ(events.size(), 1u);
  std::string stored = str(events[0], {"message"});
  EXPECT_EQ(stored.size(), 1 + 341 * 3u);  // 1024 would split the 342nd "€"
  EXPECT_EQ(stored, message.substr(0, stored.size()));
}

TEST_F(EventsTest, StopSendsWhatIsQueued) {
  Object cm = involved("stop");
  auto recorder = std::make_unique<EventRecorder>(client_, "kubeop-operator");
  for (int i = 0; i < 5; ++i) recorder->event(cm, EventType::kNormal, "Step", "step " + std::to_string(i));
  recorder->stop();
  EXPECT_EQ(recorder->stats().created, 5u);
  recorder->event(cm, EventType::kNormal, "Step", "after stop");
  EXPECT_EQ(recorder->stats().droppedStopped, 1u);
  recorder->stop();  // idempotent
  recorder.reset();
  EXPECT_EQ(eventsAbout(cm.uid()).size(), 5u);
}

// An API server that cannot be reached: event() neither blocks nor grows the queue past its
// bound, and stop() gives up at its deadline instead of retrying on. (A call in flight is bounded
// by the client's own retries and timeout, so this client has none to speak of.)
TEST_F(EventsTest, AnUnreachableServerNeitherBlocksEventNorStop) {
  LogCapture logs;
  kube::RestConfig rest = sandbox_->rest();
  rest.server = "https://127.0.0.1:1";
  kube::ClientConfig config;
  config.maxRetries = 0;
  config.timeout = 2s;
  auto c = kube::Client::create(rest, config);
  ASSERT_TRUE(c.ok()) << c.status().toString();
  std::shared_ptr<kube::Client> dead(std::move(c).value());

  EventRecorderOptions options;
  options.queueCapacity = 1;
  options.maxAttempts = 1000;
  options.retryBackoff = 1h;
  options.flushTimeout = 200ms;
  auto recorder = std::make_unique<EventRecorder>(dead, "kubeop-operator", "", options);
  Object cm = kube::testing::configMap(ns_, "unreachable");
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) recorder->event(cm, EventType::kNormal, "Step", "step " + std::to_string(i));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EventRecorder::Stats s = recorder->stats();
  EXPECT_GE(s.droppedQueueFull, 3u);  // at most one in flight and one queued
  EXPECT_EQ(s.queued + s.droppedQueueFull, 5u);
  EXPECT_TRUE(logs.contains("event queue full"));

  recorder->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  s = recorder->stats();
  EXPECT_EQ(s.created, 0u);
  EXPECT_EQ(s.failed + s.droppedStopped, s.queued);
}

// Health over simulated rollouts: Deployments and StatefulSets go from Progressing to Healthy,
// a Job completes, a Job whose image matches the failing pattern ("fail") becomes Degraded.
class HealthSandboxTest : public SandboxSuite {
 protected:
  Object create(const std::string& json) {
    Object o = parseObject(json);
    o.setNamespace(ns_);
    auto r = client_->create(o);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? std::move(r).value() : Object();
  }

  // Polls the live object until its health is `want`; returns the last status seen.
  HealthStatus waitFor(const Object& o, Health want) {
    HealthStatus last;
    eventually(
        [&] {
          auto live = client_->get(o.apiVersion(), o.kind(), ns_, o.name());
          if (!live.ok()) return false;
          last = assessHealth(*live);
          return last.health == want;
        },
        20000ms);
    return last;
  }
};

constexpr const char* kPodTemplate =
    R"("template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"IMAGE"}]}})";

std::string podTemplate(const std::string& image) {
  std::string t = kPodTemplate;
  t.replace(t.find("IMAGE"), 5, image);
  return t;
}

TEST_F(HealthSandboxTest, ADeploymentIsProgressingUntilTheSimulatorRollsItOut) {
  Object d = create(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
      "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},)" + podTemplate("nginx:1.27") + "}}");
  HealthStatus first = assessHealth(d);
  EXPECT_EQ(first.health, Health::kProgressing);
  EXPECT_EQ(first.message, "Deployment/web: Waiting for deployment spec update to be observed...");

  HealthStatus done = waitFor(d, Health::kHealthy);
  EXPECT_EQ(done.health, Health::kHealthy) << done.message;
}

TEST_F(HealthSandboxTest, AStatefulSetBecomesHealthyOnceRolledOut) {
  Object s = create(R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db"},
      "spec":{"replicas":2,"serviceName":"db","selector":{"matchLabels":{"app":"web"}},)" + podTemplate("postgres:16") +
                    "}}");
  EXPECT_EQ(assessHealth(s).health, Health::kProgressing);
  HealthStatus done = waitFor(s, Health::kHealthy);
  EXPECT_EQ(done.health, Health::kHealthy) << done.message;
}

TEST_F(HealthSandboxTest, AJobIsHealthyWhenItCompletes) {
  Object j = create(R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},
      "spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"m","image":"example/migrate:1"}]}}}})");
  EXPECT_EQ(assessHealth(j).health, Health::kProgressing);
  HealthStatus done = waitFor(j, Health::kHealthy);
  EXPECT_EQ(done.health, Health::kHealthy) << done.message;
}

TEST_F(HealthSandboxTest, AJobWithAFailingImageIsDegraded) {
  Object j = create(R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"broken"},
      "spec":{"backoffLimit":1,"template":{"spec":{"restartPolicy":"Never",
      "containers":[{"name":"m","image":"example/fail:1"}]}}}})");
  EXPECT_EQ(assessHealth(j).health, Health::kProgressing);
  HealthStatus done = waitFor(j, Health::kDegraded);
  EXPECT_EQ(done.health, Health::kDegraded) << done.message;
  EXPECT_EQ(done.message, "Job/broken: Job has reached the specified backoff limit");

  // Together with a healthy object, the Job's failure wins and is named.
  HealthStatus all = aggregate({HealthStatus{}, done, missingHealth("Service", "api")});
  EXPECT_EQ(all.health, Health::kDegraded);
  EXPECT_EQ(all.message, "Job/broken: Job has reached the specified backoff limit; Service/api: not found");
}

}  // namespace
}  // namespace kubeop::op
