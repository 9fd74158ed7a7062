// Leader election against `kubeop sandbox`: the Lease a leader writes, candidates that wait,
// release on stop, takeover of a Lease nobody renews, and loss of a Lease taken by someone else.
// Durations are short (lease 1s, renew 700ms, retry 200ms); every wait polls with a deadline.
#include "kubeop/operator/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "../kube/client/sandbox_fixture.h"
#include "kubeop/metrics/metrics.h"

namespace kubeop::op {
namespace {

using namespace std::chrono_literals;
using kube::testing::eventually;
using kube::testing::Sandbox;

constexpr std::string_view kLeaseName = "kubeop-leader";

// Records what an elector told its replica. Must outlive the elector.
struct Recorder {
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  // onStoppedLeading came after onStartedLeading saw its token requested and returned.
  std::atomic<bool> stoppedAfterStartedReturned{false};
  std::atomic<bool> startedReturned{false};
  std::mutex mu;
  std::vector<std::string> leaders;  // onNewLeader, in order

  LeaderCallbacks callbacks() {
    LeaderCallbacks cb;
    cb.onStartedLeading = [this](std::stop_token leading) {
      ++started;
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait(lock, leading, [] { return false; });
      startedReturned = true;
    };
    cb.onStoppedLeading = [this] {
      stoppedAfterStartedReturned = startedReturned.load();
      ++stopped;
    };
    cb.onNewLeader = [this](const std::string& identity) {
      std::lock_guard lock(mu);
      leaders.push_back(identity);
    };
    return cb;
  }
  std::vector<std::string> newLeaders() {
    std::lock_guard lock(mu);
    return leaders;
  }
};

TEST(LeaderElectionRecordTest, FormatsMicroTimeInUtcWithMicroseconds) {
  using namespace std::chrono;
  const auto t = sys_days{year{2024} / 3 / 9} + 7h + 5min + 3s + 42us;
  EXPECT_EQ(formatMicroTime(t), "2024-03-09T07:05:03.000042Z");
}

TEST(LeaderElectionRecordTest, RoundTripsTheRecordThroughALeaseSpecKeepingOtherFields) {
  auto lease = kube::testing::parseObject(
      R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"l"},)"
      R"("spec":{"strategy":"OldestEmulationVersion","holderIdentity":"old"}})");
  LeaderElectionRecord r{"a", 15, "2024-03-09T07:05:03.000042Z", "2024-03-09T07:05:04.000000Z", 3};
  setLeaderElectionRecord(lease, r);
  EXPECT_EQ(leaderElectionRecordOf(lease), r);
  EXPECT_EQ(json::getString(*lease.spec(), "strategy"), "OldestEmulationVersion");
  EXPECT_EQ(leaderElectionRecordOf(Object()), LeaderElectionRecord{});
}

TEST(LeaderElectionRecordTest, DefaultIdentityIsHostNameAndRandomHex) {
  const std::string a = defaultLeaderIdentity();
  EXPECT_TRUE(std::regex_match(a, std::regex(".+_[0-9a-f]{16}"))) << a;
  EXPECT_NE(a, defaultLeaderIdentity());
}

class LeaderElectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sandbox_ = Sandbox::start().release(); }
  static void TearDownTestSuite() {
    delete sandbox_;
    sandbox_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(sandbox_, nullptr) << "kubeop sandbox did not start";
    kube::ClientConfig cc;
    cc.timeout = 2000ms;  // bounded below the longest renewDeadline used here
    client_ = sandbox_->client(cc);
    ASSERT_NE(client_, nullptr);
    ns_ = kube::testing::makeNamespace(*client_, "leader");
  }

  LeaderElectionConfig config(const std::string& identity, Recorder& recorder) {
    LeaderElectionConfig c;
    c.client = client_;
    c.leaseNamespace = ns_;
    c.leaseName = std::string(kLeaseName);
    c.identity = identity;
    c.leaseDuration = 1000ms;
    c.renewDeadline = 700ms;
    c.retryPeriod = 200ms;
    c.callbacks = recorder.callbacks();
    return c;
  }

  StatusOr<LeaderElectionRecord> record() {
    auto lease = client_->get(kLeaseApiVersion, kLeaseKind, ns_, kLeaseName);
    if (!lease.ok()) return lease.status();
    return leaderElectionRecordOf(*lease);
  }
  std::string holder() {
    auto r = record();
    return r.ok() ? r->holderIdentity : "<" + r.status().toString() + ">";
  }

  // Writes the Lease as another party would (re-reading on Conflict with a renewing leader).
  Status overwriteHolder(const std::string& identity) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto lease = client_->get(kLeaseApiVersion, kLeaseKind, ns_, kLeaseName);
      if (!lease.ok()) return lease.status();
      LeaderElectionRecord r = leaderElectionRecordOf(*lease);
      r.holderIdentity = identity;
      r.renewTime = formatMicroTime(std::chrono::system_clock::now());
      setLeaderElectionRecord(*lease, r);
      auto updated = client_->update(*lease);
      if (updated.ok() || updated.status().code() != StatusCode::kAborted) return updated.status();
    }
    return aborted("the Lease kept changing");
  }

  static Sandbox* sandbox_;
  std::shared_ptr<kube::Client> client_;
  std::string ns_;
};

Sandbox* LeaderElectionTest::sandbox_ = nullptr;

TEST_F(LeaderElectionTest, StartRejectsInconsistentConfiguration) {
  Recorder rec;
  auto bad = [&](auto mutate) {
    LeaderElectionConfig c = config("a", rec);
    mutate(c);
    return LeaderElector(std::move(c)).start().code();
  };
  EXPECT_EQ(bad([](LeaderElectionConfig& c) { c.client = nullptr; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](LeaderElectionConfig& c) { c.leaseName.clear(); }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](LeaderElectionConfig& c) { c.renewDeadline = c.leaseDuration; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](LeaderElectionConfig& c) { c.retryPeriod = 600ms; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](LeaderElectionConfig& c) { c.retryPeriod = 0ms; }), StatusCode::kInvalidArgument);

  LeaderElector elector(config("a", rec));
  ASSERT_TRUE(elector.start().isOk());
  EXPECT_EQ(elector.start().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LeaderElectionTest, FirstElectorCreatesTheLeaseAndLeads) {
  metrics::Registry registry;
  Recorder rec;
  LeaderElectionConfig c = config("replica-a", rec);
  c.metrics = &registry;
  LeaderElector a(std::move(c));
  EXPECT_EQ(a.identity(), "replica-a");
  ASSERT_TRUE(a.start().isOk());
  ASSERT_TRUE(eventually([&] { return a.isLeader() && rec.started == 1; }));

  auto r = record();
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->holderIdentity, "replica-a");
  EXPECT_EQ(r->leaseDurationSeconds, 1);
  EXPECT_EQ(r->leaseTransitions, 0);
  const std::regex microTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  EXPECT_TRUE(std::regex_match(r->acquireTime, microTime)) << r->acquireTime;
  EXPECT_TRUE(std::regex_match(r->renewTime, microTime)) << r->renewTime;
  EXPECT_EQ(a.leaderIdentity(), "replica-a");
  EXPECT_EQ(rec.newLeaders(), std::vector<std::string>{"replica-a"});
  EXPECT_NE(registry.serialize().find("kubeop_leader_election_master_status{name=\"kubeop-leader\"} 1"),
            std::string::npos);

  // Renewing moves renewTime and keeps acquireTime.
  const std::string firstRenew = r->renewTime;
  ASSERT_TRUE(eventually([&] {
    auto now = record();
    return now.ok() && now->renewTime != firstRenew;
  }));
  EXPECT_EQ(record()->acquireTime, r->acquireTime);

  a.stop();
  EXPECT_FALSE(a.isLeader());
  EXPECT_TRUE(a.finished());
  EXPECT_EQ(rec.stopped, 1);
  EXPECT_TRUE(rec.stoppedAfterStartedReturned);
  EXPECT_NE(registry.serialize().find("kubeop_leader_election_master_status{name=\"kubeop-leader\"} 0"),
            std::string::npos);
}

// kube-system exists on every cluster, kubeop-system does not: the elector makes its namespace.
TEST_F(LeaderElectionTest, ALeaseNamespaceThatDoesNotExistIsCreated) {
  std::string ns = ns_ + "-new";
  ASSERT_EQ(client_->get("v1", "Namespace", "", ns).status().code(), StatusCode::kNotFound);
  Recorder rec;
  LeaderElectionConfig c = config("replica-a", rec);
  c.leaseNamespace = ns;
  LeaderElector a(std::move(c));
  ASSERT_TRUE(a.start().isOk());
  ASSERT_TRUE(eventually([&] { return a.isLeader(); })) << "no replica leads when the namespace is missing";
  auto made = client_->get("v1", "Namespace", "", ns);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->label("app.kubernetes.io/managed-by").value_or(""), "kubeop");
  EXPECT_TRUE(client_->get(kLeaseApiVersion, kLeaseKind, ns, kLeaseName).ok());
  a.stop();
  (void)client_->remove("v1", "Namespace", "", ns);
}

TEST_F(LeaderElectionTest, SecondElectorWaitsWhileTheLeaderRenews) {
  Recorder recA, recB;
  LeaderElector a(config("replica-a", recA));
  ASSERT_TRUE(a.start().isOk());
  ASSERT_TRUE(eventually([&] { return a.isLeader(); }));
  LeaderElector b(config("replica-b", recB));
  ASSERT_TRUE(b.start().isOk());
  ASSERT_TRUE(eventually([&] { return b.leaderIdentity() == "replica-a"; }));

  // Eight renews span well over the 1s lease: had A stopped renewing, B would have taken over.
  std::set<std::string> renewTimes;
  bool bLed = false;
  ASSERT_TRUE(eventually(
      [&] {
        bLed = bLed || b.isLeader() || recB.started > 0;
        auto r = record();
        if (r.ok() && r->holderIdentity == "replica-a") renewTimes.insert(r->renewTime);
        return renewTimes.size() >= 8;
      },
      20000ms));
  EXPECT_FALSE(bLed);
  EXPECT_TRUE(a.isLeader());
  EXPECT_EQ(holder(), "replica-a");
  EXPECT_EQ(recB.newLeaders(), std::vector<std::string>{"replica-a"});
}

TEST_F(LeaderElectionTest, StoppingTheLeaderReleasesTheLeaseForAnotherAtOnce) {
  Recorder recA, recB;
  LeaderElector a(config("replica-a", recA));
  ASSERT_TRUE(a.start().isOk());
  ASSERT_TRUE(eventually([&] { return a.isLeader(); }));
  // B would wait a minute for an un-renewed Lease: only the release lets it in within the poll.
  LeaderElectionConfig cb = config("replica-b", recB);
  cb.leaseDuration = 60s;
  LeaderElector b(std::move(cb));
  ASSERT_TRUE(b.start().isOk());
  ASSERT_TRUE(eventually([&] { return b.leaderIdentity() == "replica-a"; }));

  a.stop();
  EXPECT_EQ(recA.stopped, 1);
  EXPECT_FALSE(a.isLeader());
  ASSERT_TRUE(eventually([&] { return b.isLeader() && recB.started == 1; }));
  auto r = record();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->holderIdentity, "replica-b");
  EXPECT_EQ(r->leaseTransitions, 1);
  EXPECT_EQ(r->leaseDurationSeconds, 60);
  const auto leaders = recB.newLeaders();
  ASSERT_FALSE(leaders.empty());
  EXPECT_EQ(leaders.front(), "replica-a");
  EXPECT_EQ(leaders.back(), "replica-b");
}

TEST_F(LeaderElectionTest, ALeaseNoLongerRenewedIsTakenOverAfterLeaseDuration) {
  Recorder recA, recB;
  LeaderElectionConfig ca = config("replica-a", recA);
  ca.releaseOnCancel = false;  // stop() then leaves the Lease as a crashed leader would
  LeaderElector a(std::move(ca));
  ASSERT_TRUE(a.start().isOk());
  ASSERT_TRUE(eventually([&] { return a.isLeader(); }));
  LeaderElector b(config("replica-b", recB));
  ASSERT_TRUE(b.start().isOk());
  ASSERT_TRUE(eventually([&] { return b.leaderIdentity() == "replica-a"; }));
  auto before = record();
  ASSERT_TRUE(before.ok());

  a.stop();
  EXPECT_EQ(recA.stopped, 1);
  EXPECT_EQ(holder(), "replica-a");  // not released

  ASSERT_TRUE(eventually([&] { return b.isLeader(); }));
  auto r = record();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->holderIdentity, "replica-b");
  EXPECT_EQ(r->leaseTransitions, before->leaseTransitions + 1);
  EXPECT_NE(r->acquireTime, before->acquireTime);
  EXPECT_EQ(recB.newLeaders(), (std::vector<std::string>{"replica-a", "replica-b"}));

  // B's renews are no transitions.
  ASSERT_TRUE(eventually([&] {
    auto now = record();
    return now.ok() && now->renewTime != r->renewTime;
  }));
  EXPECT_EQ(record()->leaseTransitions, r->leaseTransitions);
}

TEST_F(LeaderElectionTest, TheLeaderStopsLeadingWhenItsLeaseIsTaken) {
  Recorder rec;
  LeaderElectionConfig c = config("replica-a", rec);
  c.leaseDuration = 3s;  // the thief's record stays unexpired for A's whole renew deadline
  LeaderElector a(std::move(c));
  ASSERT_TRUE(a.start().isOk());
  ASSERT_TRUE(eventually([&] { return a.isLeader() && rec.started == 1; }));

  ASSERT_TRUE(overwriteHolder("thief").isOk());
  ASSERT_TRUE(eventually([&] { return rec.stopped == 1; }));
  EXPECT_FALSE(a.isLeader());
  EXPECT_TRUE(rec.stoppedAfterStartedReturned);
  ASSERT_TRUE(eventually([&] { return a.finished(); }));
  EXPECT_EQ(a.leaderIdentity(), "thief");
  EXPECT_EQ(holder(), "thief");  // a Lease that is no longer A's is not released
  EXPECT_EQ(rec.newLeaders(), (std::vector<std::string>{"replica-a", "thief"}));
}

TEST_F(LeaderElectionTest, TheLeaderRecreatesADeletedLease) {
  Recorder rec;
  LeaderElector a(config("replica-a", rec));
  ASSERT_TRUE(a.start().isOk());
  ASSERT_TRUE(eventually([&] { return a.isLeader(); }));
  auto before = client_->get(kLeaseApiVersion, kLeaseKind, ns_, kLeaseName);
  ASSERT_TRUE(before.ok());

  ASSERT_TRUE(client_->remove(kLeaseApiVersion, kLeaseKind, ns_, kLeaseName).ok());
  ASSERT_TRUE(eventually([&] {
    auto now = client_->get(kLeaseApiVersion, kLeaseKind, ns_, kLeaseName);
    return now.ok() && now->uid() != before->uid();
  }));
  EXPECT_EQ(holder(), "replica-a");
  EXPECT_TRUE(a.isLeader());
  EXPECT_EQ(rec.stopped, 0);
}

}  // namespace
}  // namespace kubeop::op
