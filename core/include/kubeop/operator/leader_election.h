// Lease-based leader election: of the replicas of the operator, one leads (runs the controllers)
// while the others wait warm, ready to take over — client-go's tools/leaderelection over a
// coordination.k8s.io/v1 Lease, re-implemented on kube::Client.
//
// The protocol (every replica runs the same loop; the API server's optimistic concurrency is the
// only arbiter):
//  - Acquire: every retryPeriod (plus up to 1.2 × retryPeriod of jitter) read the Lease. Absent:
//    create it naming this replica. Held by another: take it over only when the holder is empty
//    (released) or the record has not changed for leaseDuration as *observed locally* — the
//    time this replica last saw the record change, never the timestamps written in it, so clocks
//    of different machines are never compared. A takeover is an update carrying the read
//    resourceVersion: of two replicas racing, one gets Conflict and stays a candidate.
//  - Lead: onStartedLeading runs on its own thread with a stop token. Every retryPeriod the
//    leader renews (renewTime = now); a renew is retried every retryPeriod until renewDeadline
//    has passed, and then leadership is lost: the token is requested, onStartedLeading is waited
//    for, and onStoppedLeading is called. A lost elector does not compete again (as in client-go,
//    the process is expected to exit or to build a new elector).
//  - Release: stop() while leading with releaseOnCancel writes the Lease with an empty holder (an
//    update with the leader's last resourceVersion, so a Lease someone else took meanwhile is left
//    alone) and another replica acquires it on its next try instead of waiting leaseDuration.
//
// Lease fields written: spec.holderIdentity, spec.leaseDurationSeconds (leaseDuration rounded up
// to whole seconds), spec.acquireTime (kept while the same holder renews), spec.renewTime
// (MicroTime, "2006-01-02T15:04:05.000000Z") and spec.leaseTransitions (incremented whenever the
// holder changes). Other spec fields and the metadata of an existing Lease are preserved.
//
// Safety relies on the usual client-go assumptions: leaseDuration > renewDeadline (a leader that
// cannot renew stops acting before anyone may take over) and local clocks that run at the same
// rate. Every call of `client` must be bounded well below renewDeadline (ClientConfig::timeout;
// controller-runtime uses max(1s, renewDeadline / 2)) or one hung request costs leadership late.
//
// Metrics (when LeaderElectionConfig::metrics is set):
//   kubeop_leader_election_master_status{name}  gauge  1 while this replica leads the Lease `name`
//
// Thread-safety: start() and stop() from one owning thread; isLeader(), leaderIdentity(),
// identity() and finished() from any thread. Callbacks must not call start() or stop().
// Ownership: the elector owns its threads; it shares the client; the metrics registry is
// borrowed (must outlive the elector). The destructor stops (and releases) like stop().
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

#include "kubeop/core/object.h"
#include "kubeop/core/time.h"
#include "kubeop/core/status.h"
#include "kubeop/kube/client.h"
#include "kubeop/log/log.h"

namespace kubeop::metrics {
class Gauge;
class Registry;
}  // namespace kubeop::metrics

namespace kubeop::op {

inline constexpr std::string_view kLeaseApiVersion = "coordination.k8s.io/v1";
inline constexpr std::string_view kLeaseKind = "Lease";

// What a replica is told. Every callback is optional; an exception thrown by one is caught and
// logged.
struct LeaderCallbacks {
  // On a thread of its own once leadership is acquired. Typically runs the controllers until the
  // token is requested (leadership lost or stop()), and must return promptly then: the elector
  // waits for it before releasing the Lease and calling onStoppedLeading.
  std::function<void(std::stop_token)> onStartedLeading;
  // On the elector's thread after leadership ended (lost, or stopped and released), after
  // onStartedLeading returned. Not called when this replica never led.
  std::function<void()> onStoppedLeading;
  // On the elector's thread whenever the observed holder changes (this replica included; "" when
  // a holder released the Lease). Must not block: it delays the next renew.
  std::function<void(const std::string& identity)> onNewLeader;
};

struct LeaderElectionConfig {
  std::shared_ptr<kube::Client> client;  // required
  std::string leaseNamespace;            // empty: the client's default namespace
  std::string leaseName;                 // required
  // This replica's name in spec.holderIdentity; unique among the replicas. Empty:
  // defaultLeaderIdentity().
  std::string identity;
  // How long a candidate waits, from the last change it saw, before taking over an un-renewed
  // Lease. Must exceed renewDeadline.
  std::chrono::milliseconds leaseDuration{15000};
  // How long a leader keeps retrying a renew before giving up leadership. Must exceed
  // 1.2 × retryPeriod.
  std::chrono::milliseconds renewDeadline{10000};
  // Between tries (acquire: plus jitter; renew: between renews and between a renew's retries).
  std::chrono::milliseconds retryPeriod{2000};
  // stop() while leading clears spec.holderIdentity so another replica takes over at once.
  bool releaseOnCancel = true;
  LeaderCallbacks callbacks;
  // Borrowed; nullptr: no metrics.
  metrics::Registry* metrics = nullptr;
  // Test seams. `now` (empty: steady_clock) dates observations and renew deadlines; `wallNow`
  // (empty: system_clock) is written into acquireTime/renewTime. Waits always take real time.
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<std::chrono::system_clock::time_point()> wallNow;
};

// The leader-election part of a Lease's spec (client-go's LeaderElectionRecord). Times are kept
// as written: nothing compares them.
struct LeaderElectionRecord {
  std::string holderIdentity;
  int64_t leaseDurationSeconds = 0;
  std::string acquireTime;
  std::string renewTime;
  int64_t leaseTransitions = 0;
  friend bool operator==(const LeaderElectionRecord&, const LeaderElectionRecord&) = default;
};

// The record in `lease`'s spec; missing or mistyped fields read as empty / 0.
LeaderElectionRecord leaderElectionRecordOf(const Object& lease);
// Writes `record` into `lease`'s spec (creating it), keeping other spec fields.
void setLeaderElectionRecord(Object& lease, const LeaderElectionRecord& record);
// metav1.MicroTime in UTC: "2006-01-02T15:04:05.000000Z" (kubeop/core/time.h).
using kubeop::formatMicroTime;
// The host name, "_" and 16 random hex digits (client-go: hostname + "_" + a UUID).
std::string defaultLeaderIdentity();

// One replica's candidacy for one Lease. Single use: start() once, stop() once.
class LeaderElector {
 public:
  explicit LeaderElector(LeaderElectionConfig config);
  ~LeaderElector();  // stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Starts the elector's thread. InvalidArgument without a client or lease name, without a
  // namespace (given or the client's default), or when the durations break
  // leaseDuration > renewDeadline > 1.2 × retryPeriod > 0; FailedPrecondition when already
  // started.
  [[nodiscard]] Status start();
  // Ends the candidacy: a leader's onStartedLeading token is requested and waited for, the Lease
  // is released (releaseOnCancel), and onStoppedLeading is called. Blocks for the client call in
  // flight, the release and the callbacks. Idempotent.
  void stop();

  // True from the acquisition until leadership is lost or stop() begins.
  bool isLeader() const { return leading_.load(std::memory_order_acquire); }
  // The holder last observed in the Lease ("" before the first read or when released).
  std::string leaderIdentity() const;
  const std::string& identity() const { return config_.identity; }
  // The elector's thread has ended: leadership was lost, or stop() was called.
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  void run(std::stop_token stop);
  bool acquire(std::stop_token stop);
  // Returns false when leadership was lost, true when `stop` was requested.
  bool renewUntilLostOrStopped(std::stop_token stop);
  bool tryAcquireOrRenew();
  void release();
  void reportTransition();
  // After a create or update: keeps the Lease the server returned and observes `record`; a
  // failure is logged at `failureLevel` with `failure` as the message. Returns written.ok().
  bool keepWritten(StatusOr<Object> written, const LeaderElectionRecord& record, log::Level failureLevel,
                   std::string_view failure);
  void setObserved(const LeaderElectionRecord& record);
  void setLeading(bool leading);
  // Sleeps `d` unless `stop` is requested first; false when it was.
  bool sleepFor(std::stop_token stop, std::chrono::steady_clock::duration d);
  std::chrono::steady_clock::time_point now() const;
  std::chrono::system_clock::time_point wallNow() const;

  LeaderElectionConfig config_;
  metrics::Gauge* masterStatus_ = nullptr;

  // Elector thread only.
  Object lease_;  // the Lease as last read or written (its resourceVersion for the next write)
  std::chrono::steady_clock::time_point observedTime_{};
  std::string reportedLeader_;  // the holder onNewLeader was last called with

  mutable std::mutex mu_;  // guards observed_
  LeaderElectionRecord observed_;

  std::mutex waitMu_;
  std::condition_variable_any waitCv_;  // never notified: waits end by time or stop token

  std::atomic<bool> leading_{false};
  std::atomic<bool> finished_{false};
  bool started_ = false;
  std::jthread thread_;
};

}  // namespace kubeop::op
