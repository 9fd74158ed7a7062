// The operator: Tenant, Project and App controllers that keep a cluster converged to kubeop's
// objects through the plugin registry (controller-runtime's manager, for kubeop's three kinds).
//
//  - Tenant: Ready; the quota envelope of its projects (status.projects, status.quotaUsed,
//    condition QuotaWithinEnvelope); deleting a Tenant deletes its Projects first (finalizer).
//  - Project: namespace kubeop-<tenant>-<project> (naming.h) labelled app.kubeop.io/tenant and
//    app.kubeop.io/project, owned by the Project; the guardrail plugins' objects for the project
//    (LimitRange, ResourceQuota, NetworkPolicies…) server-side applied into it; a project beyond
//    its tenant's envelope gets Ready=False/QuotaExceeded and nothing is created for it. Deleting
//    a Project deletes its namespace (finalizer) unless spec.retainNamespace.
//  - App: the delivery plugin for spec.type renders; guardrails mutate and contribute; the
//    objects are server-side applied (field manager `kubeop`, forced) with an owner reference to
//    the App; status.inventory lists them and what the previous revision applied but this one
//    does not is pruned; health (health.h) becomes conditions Ready/Progressing/Degraded; hooks
//    run as Jobs; the last 10 revisions are kept (status.history + ConfigMap
//    kubeop-revision-<app>) and spec.rollbackTo re-delivers one; drift on owned objects is undone
//    and counted. Bad input is terminal until the App's generation changes.
//
// Every object the operator writes carries app.kubernetes.io/managed-by=kubeop; the operator
// watches those objects (one informer per kind it knows) to see drift and rollout progress.
//
// Thread-safety: start*/stop from one owning thread; ready() and stats() from any thread.
// Ownership: owns its informers, controllers and event recorder; shares the client and the
// plugin registry; borrows the metrics registry (must outlive the Operator).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/object.h"
#include "kubeop/core/status.h"
#include "kubeop/kube/client.h"

namespace kubeop::metrics {
class Registry;
}
namespace kubeop::plugin {
class Registry;
}

namespace kubeop::op {

inline constexpr std::string_view kGroup = "paas.kubeop.io";
inline constexpr std::string_view kApiVersion = "paas.kubeop.io/v1alpha1";
inline constexpr std::string_view kFinalizer = "kubeop.io/cleanup";  // kubeOP's documented name
inline constexpr std::string_view kFieldManager = "kubeop";
inline constexpr std::string_view kLabelTenant = "app.kubeop.io/tenant";
inline constexpr std::string_view kLabelProject = "app.kubeop.io/project";
inline constexpr std::string_view kLabelApp = "app.kubeop.io/app";
inline constexpr std::string_view kLabelManagedBy = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedBy = "kubeop";
inline constexpr std::string_view kRollbackAnnotation = "app.kubeop.io/rollback-to";
inline constexpr size_t kHistoryLimit = 10;

// An event sink: (involved object, warning?, reason, message). The default is an EventRecorder
// writing core/v1 Events.
using EventFunc = std::function<void(const Object& involved, bool warning, std::string_view reason,
                                     std::string_view message)>;

struct OperatorOptions {
  std::shared_ptr<kube::Client> client;             // required
  std::shared_ptr<const plugin::Registry> plugins;  // required
  metrics::Registry* metrics = nullptr;             // borrowed; nullptr: no metrics
  // Workers per controller (App; Tenant and Project get half, at least 1).
  int maxConcurrentReconciles = 4;
  // Every App, Project and Tenant is reconciled again this often (drift nobody sent an event for).
  std::chrono::milliseconds resyncPeriod{std::chrono::minutes(10)};
  // Creates or updates kubeop's CRDs (embedded in the binary) before watching.
  bool installCrds = true;
  std::chrono::milliseconds cacheSyncTimeout{std::chrono::seconds(60)};
  // A Progressing App (rollout or hook under way) is looked at again after at most this long even
  // when no event comes.
  std::chrono::milliseconds progressRequeue{std::chrono::seconds(5)};
  // Empty: an EventRecorder on `client` with component "kubeop-operator".
  EventFunc events;
  // Informer watch timeouts and backoff (tests shorten them).
  std::chrono::seconds minWatchTimeout{300};
};

class Operator {
 public:
  // InvalidArgument without a client or plugin registry.
  static StatusOr<std::unique_ptr<Operator>> create(OperatorOptions options);
  ~Operator();  // stop()
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  // Installs the CRDs (when asked), starts the informers and waits for their caches. A standby
  // replica calls only this (warm caches, ready for leadership). Unavailable when the caches do
  // not sync in time (the message names the kinds still missing).
  [[nodiscard]] Status startCaches();
  // Starts the controllers (after startCaches; the leader calls it). FailedPrecondition before
  // startCaches.
  [[nodiscard]] Status startControllers();
  // startCaches + startControllers.
  [[nodiscard]] Status start();
  // Stops controllers, then informers; waits for passes in flight. Idempotent.
  void stop();

  // Caches synced (readiness).
  bool ready() const;
  bool leading() const;
  // The client it acts through (leader election shares it).
  std::shared_ptr<kube::Client> client() const;

  struct Stats {
    uint64_t tenantPasses = 0;
    uint64_t projectPasses = 0;
    uint64_t appPasses = 0;
    uint64_t driftCorrections = 0;
  };
  Stats stats() const;

  struct Impl;

 private:
  explicit Operator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// kubeop's CRDs (deploy/crds/*.yaml, embedded at build time), one YAML document each.
const std::vector<std::string_view>& embeddedCrds();
// Creates or updates them (server-side apply, field manager kubeop) and waits until each is
// Established and served (discovery knows the kind). The message of an error names the CRD.
Status installCrds(kube::Client& client, std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace kubeop::op
