#include "kubeop/operator/leader_election.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <exception>
#include <random>
#include <utility>

#include "kubeop/core/time.h"
#include "kubeop/log/log.h"
#include "kubeop/metrics/metrics.h"

namespace kubeop::op {

namespace {

using SteadyClock = std::chrono::steady_clock;

// client-go's JitterFactor: an acquire try waits retryPeriod plus up to 1.2 × retryPeriod.
constexpr double kJitterFactor = 1.2;

int64_t wholeSecondsAtLeastOne(std::chrono::milliseconds d) {
  const int64_t s = (d.count() + 999) / 1000;
  return s < 1 ? 1 : s;
}

int64_t getInt(const json::Value& obj, std::string_view key) {
  const json::Value* v = json::find(obj, key);
  return v && v->IsInt64() ? v->GetInt64() : 0;
}

void setInt(Object& o, json::Value& obj, std::string_view key, int64_t value) {
  json::Value v(value);
  json::setMember(obj, key, v, o.allocator());
}

// Runs a user callback behind an exception barrier: a throw must not end the elector's thread.
template <typename F>
void guarded(std::string_view callback, const std::string& lease, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    log::error("leader election callback threw",
               {log::Field("callback", callback), log::Field("lease", lease), log::Field("error", e.what())});
  } catch (...) {
    log::error("leader election callback threw",
               {log::Field("callback", callback), log::Field("lease", lease), log::Field("error", "unknown exception")});
  }
}

}  // namespace

LeaderElectionRecord leaderElectionRecordOf(const Object& lease) {
  LeaderElectionRecord r;
  const json::Value* spec = lease.spec();
  if (!spec) return r;
  r.holderIdentity = json::getString(*spec, "holderIdentity");
  r.leaseDurationSeconds = getInt(*spec, "leaseDurationSeconds");
  r.acquireTime = json::getString(*spec, "acquireTime");
  r.renewTime = json::getString(*spec, "renewTime");
  r.leaseTransitions = getInt(*spec, "leaseTransitions");
  return r;
}

void setLeaderElectionRecord(Object& lease, const LeaderElectionRecord& record) {
  json::Value& spec = json::ensureObject(lease.root(), "spec", lease.allocator());
  json::setString(spec, "holderIdentity", record.holderIdentity, lease.allocator());
  setInt(lease, spec, "leaseDurationSeconds", record.leaseDurationSeconds);
  json::setString(spec, "acquireTime", record.acquireTime, lease.allocator());
  json::setString(spec, "renewTime", record.renewTime, lease.allocator());
  setInt(lease, spec, "leaseTransitions", record.leaseTransitions);
}


std::string defaultLeaderIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "kubeop");
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r));
  return std::string(host) + "_" + hex;
}

// ---------------------------------------------------------------------------------------------
// LeaderElector

LeaderElector::LeaderElector(LeaderElectionConfig config) : config_(std::move(config)) {
  if (config_.identity.empty()) config_.identity = defaultLeaderIdentity();
  if (config_.leaseNamespace.empty() && config_.client) config_.leaseNamespace = config_.client->defaultNamespace();
  if (config_.metrics) {
    auto& family = config_.metrics->gauge("kubeop_leader_election_master_status",
                                          "1 while this replica is the leader of the lease `name`, else 0.", {"name"});
    masterStatus_ = &family.labels({config_.leaseName});
    masterStatus_->set(0);
  }
}

LeaderElector::~LeaderElector() { stop(); }

Status LeaderElector::start() {
  if (started_) return failedPrecondition("leader elector already started");
  if (!config_.client) return invalidArgument("leader election needs a Kubernetes client");
  if (config_.leaseName.empty()) return invalidArgument("leader election needs a lease name");
  if (config_.leaseNamespace.empty()) return invalidArgument("leader election needs a lease namespace");
  if (config_.identity.empty()) return invalidArgument("leader election needs an identity");
  if (config_.retryPeriod <= std::chrono::milliseconds::zero())
    return invalidArgument("leader election retryPeriod must be positive");
  if (config_.leaseDuration <= config_.renewDeadline)
    return invalidArgument("leader election leaseDuration (" + std::to_string(config_.leaseDuration.count()) +
                           "ms) must be greater than renewDeadline (" + std::to_string(config_.renewDeadline.count()) +
                           "ms)");
  if (static_cast<double>(config_.renewDeadline.count()) <= kJitterFactor * static_cast<double>(config_.retryPeriod.count()))
    return invalidArgument("leader election renewDeadline (" + std::to_string(config_.renewDeadline.count()) +
                           "ms) must be greater than 1.2 x retryPeriod (" + std::to_string(config_.retryPeriod.count()) +
                           "ms)");
  started_ = true;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
  return Status::ok();
}

void LeaderElector::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

std::string LeaderElector::leaderIdentity() const {
  std::lock_guard lock(mu_);
  return observed_.holderIdentity;
}

SteadyClock::time_point LeaderElector::now() const { return config_.now ? config_.now() : SteadyClock::now(); }

std::chrono::system_clock::time_point LeaderElector::wallNow() const {
  return config_.wallNow ? config_.wallNow() : std::chrono::system_clock::now();
}

bool LeaderElector::sleepFor(std::stop_token stop, SteadyClock::duration d) {
  std::unique_lock lock(waitMu_);
  waitCv_.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

void LeaderElector::run(std::stop_token stop) {
  if (acquire(stop)) {
    setLeading(true);
    log::info("became leader", {log::Field("lease", config_.leaseName), log::Field("identity", config_.identity)});
    std::jthread leader;
    if (config_.callbacks.onStartedLeading) {
      leader = std::jthread([this](std::stop_token leading) {
        guarded("onStartedLeading", config_.leaseName, [&] { config_.callbacks.onStartedLeading(leading); });
      });
    }
    const bool stopped = renewUntilLostOrStopped(stop);
    setLeading(false);
    if (!stopped)
      log::warn("lost leadership", {log::Field("lease", config_.leaseName), log::Field("identity", config_.identity)});
    leader.request_stop();
    if (leader.joinable()) leader.join();
    // As client-go: release whenever asked to and the Lease still names this replica (after a
    // renew lost to network errors the write may well go through and spare the others a wait).
    if (config_.releaseOnCancel) release();
    if (config_.callbacks.onStoppedLeading)
      guarded("onStoppedLeading", config_.leaseName, [&] { config_.callbacks.onStoppedLeading(); });
  }
  finished_.store(true, std::memory_order_release);
}

bool LeaderElector::acquire(std::stop_token stop) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, kJitterFactor);
  while (!stop.stop_requested()) {
    const bool acquired = tryAcquireOrRenew();
    reportTransition();
    if (acquired) return true;
    const auto wait = std::chrono::duration_cast<SteadyClock::duration>(config_.retryPeriod * (1.0 + jitter(rng)));
    if (!sleepFor(stop, wait)) break;
  }
  return false;
}

bool LeaderElector::renewUntilLostOrStopped(std::stop_token stop) {
  while (sleepFor(stop, config_.retryPeriod)) {
    const auto deadline = now() + config_.renewDeadline;
    bool renewed = false;
    while (!stop.stop_requested()) {
      // A success that comes back after the deadline does not count: by then the others may
      // already be entitled to take over.
      renewed = tryAcquireOrRenew() && now() < deadline;
      if (renewed) break;
      const auto left = deadline - now();
      if (left <= SteadyClock::duration::zero()) break;
      sleepFor(stop, std::min<SteadyClock::duration>(config_.retryPeriod, left));
    }
    reportTransition();
    if (stop.stop_requested()) return true;
    if (!renewed) return false;
  }
  return true;
}

// One round of client-go's tryAcquireOrRenew: read (or create) the Lease, decide from the local
// observation whether it may be written, and write it with the read resourceVersion.
bool LeaderElector::tryAcquireOrRenew() {
  const std::string stamp = formatMicroTime(wallNow());
  LeaderElectionRecord desired{config_.identity, wholeSecondsAtLeastOne(config_.leaseDuration), stamp, stamp, 0};
  const log::Field leaseField("lease", config_.leaseName);

  kube::ApiError apiError;
  auto got = config_.client->get(kLeaseApiVersion, kLeaseKind, config_.leaseNamespace, config_.leaseName, {}, &apiError);
  if (!got.ok()) {
    if (got.status().code() != StatusCode::kNotFound) {
      log::warn("reading the leader election lease failed", {leaseField, log::Field("error", got.status().toString())});
      return false;
    }
    Object lease;
    lease.setApiVersion(kLeaseApiVersion);
    lease.setKind(kLeaseKind);
    lease.setNamespace(config_.leaseNamespace);
    lease.setName(config_.leaseName);
    setLeaderElectionRecord(lease, desired);
    auto created = config_.client->create(lease);
    if (!created.ok() && created.status().code() == StatusCode::kNotFound) {
      // The Lease's namespace does not exist (kubeop-system on a fresh cluster): make it, or no
      // replica could ever lead.
      Object ns;
      ns.setApiVersion("v1");
      ns.setKind("Namespace");
      ns.setName(config_.leaseNamespace);
      ns.setLabel("app.kubernetes.io/managed-by", "kubeop");
      auto made = config_.client->create(ns);
      if (made.ok() || made.status().code() == StatusCode::kAlreadyExists) {
        log::info("created the leader election namespace", {log::Field("namespace_name", config_.leaseNamespace)});
        created = config_.client->create(lease);
      } else {
        log::warn("the leader election namespace does not exist and cannot be created",
                  {log::Field("namespace_name", config_.leaseNamespace), log::Field("error", made.status().toString())});
      }
    }
    // AlreadyExists: another replica created it first; the next round reads it.
    return keepWritten(std::move(created), desired, log::Level::kDebug, "creating the leader election lease failed");
  }

  const LeaderElectionRecord current = leaderElectionRecordOf(*got);
  if (current != observed_) setObserved(current);
  const bool held = observed_.holderIdentity == config_.identity;
  if (!current.holderIdentity.empty() && !held && now() < observedTime_ + config_.leaseDuration) {
    log::debug("leader election lease is held by another replica",
               {leaseField, log::Field("holder", current.holderIdentity)});
    return false;
  }
  if (held) {
    desired.acquireTime = current.acquireTime;
    desired.leaseTransitions = current.leaseTransitions;
  } else {
    desired.leaseTransitions = current.leaseTransitions + 1;
  }
  Object lease = std::move(got).value();
  setLeaderElectionRecord(lease, desired);
  // Aborted (Conflict): another replica wrote it since it was read, and won.
  return keepWritten(config_.client->update(lease), desired, log::Level::kDebug,
                     "writing the leader election lease failed");
}

void LeaderElector::release() {
  if (observed_.holderIdentity != config_.identity) return;
  const std::string stamp = formatMicroTime(wallNow());
  // A released Lease: no holder, the shortest duration, transitions carried over.
  LeaderElectionRecord released{"", 1, stamp, stamp, observed_.leaseTransitions};
  Object lease = lease_;
  setLeaderElectionRecord(lease, released);
  if (!keepWritten(config_.client->update(lease), released, log::Level::kWarn,
                   "releasing the leader election lease failed"))
    return;
  log::info("released leadership", {log::Field("lease", config_.leaseName), log::Field("identity", config_.identity)});
}

void LeaderElector::reportTransition() {
  if (observed_.holderIdentity == reportedLeader_) return;
  reportedLeader_ = observed_.holderIdentity;
  if (config_.callbacks.onNewLeader)
    guarded("onNewLeader", config_.leaseName, [&] { config_.callbacks.onNewLeader(reportedLeader_); });
}

bool LeaderElector::keepWritten(StatusOr<Object> written, const LeaderElectionRecord& record, log::Level failureLevel,
                                std::string_view failure) {
  if (!written.ok()) {
    if (log::enabled(failureLevel))
      log::write(failureLevel, failure,
                 {log::Field("lease", config_.leaseName), log::Field("error", written.status().toString())});
    return false;
  }
  lease_ = std::move(written).value();
  setObserved(record);
  return true;
}

void LeaderElector::setObserved(const LeaderElectionRecord& record) {
  observedTime_ = now();
  std::lock_guard lock(mu_);
  observed_ = record;
}

void LeaderElector::setLeading(bool leading) {
  leading_.store(leading, std::memory_order_release);
  if (masterStatus_) masterStatus_->set(leading ? 1 : 0);
}

}  // namespace kubeop::op
