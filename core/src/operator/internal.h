// The operator's internals shared by its controllers: conditions, status writes, finalizers,
// ownership, apply order and the environment every controller reads (caches, client, plugins).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/object.h"
#include "kubeop/core/status.h"
#include "kubeop/core/time.h"
#include "kubeop/kube/client.h"
#include "kubeop/kube/informer.h"
#include "kubeop/metrics/metrics.h"
#include "kubeop/operator/operator.h"
#include "kubeop/plugin/registry.h"
#include "kubeop/reconcile/controller.h"

namespace kubeop::op::detail {

// Time: kubeop::nowRfc3339 (kubeop/core/time.h).
using kubeop::nowRfc3339;

// ---------------------------------------------------------------------------------------------
// Conditions (metav1.Condition): lastTransitionTime moves only when status changes (kubeOP
// stamped it on every pass).

struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
  int64_t observedGeneration = 0;
  std::string lastTransitionTime;
};

std::vector<Condition> readConditions(const Object& obj);
const Condition* findCondition(const std::vector<Condition>& conds, std::string_view type);
// Sets `c` (by type), keeping the old lastTransitionTime when the status did not change.
void setCondition(std::vector<Condition>& conds, Condition c);
json::Value conditionsJson(const std::vector<Condition>& conds, json::Allocator& a);

// ---------------------------------------------------------------------------------------------
// Writes

// Makes `obj`'s status equal `desired` (a JSON object) with one merge patch to the status
// subresource; members the old status has and `desired` lacks are removed. No request when
// nothing changes. Returns whether it wrote.
StatusOr<bool> writeStatus(kube::Client& client, const Object& obj, const json::Value& desired);

bool hasFinalizer(const Object& obj, std::string_view finalizer);
bool isDeleting(const Object& obj);
// Adds / removes a finalizer with a JSON patch that tests the current list first (a concurrent
// change makes it fail with Conflict/Invalid and the pass retries on fresh state).
Status addFinalizer(kube::Client& client, const Object& obj, std::string_view finalizer);
Status removeFinalizer(kube::Client& client, const Object& obj, std::string_view finalizer);

kubeop::OwnerReference controllerRef(const Object& owner);
bool isOwnedBy(const Object& obj, std::string_view ownerUid);

// Helm's install order by kind (Namespace, NetworkPolicy, …, Service, workloads, Job, Ingress);
// unknown kinds last. Stable for equal ranks.
int installRank(std::string_view kind);
void sortForApply(std::vector<Object>& objects);

// "Kind/name" or "Kind/ns/name" for messages.
std::string describeRef(std::string_view kind, std::string_view ns, std::string_view name);

// Drift detection: every object kubeop applies carries the digest of what it applied
// (annotation app.kubeop.io/applied-digest). When an apply of the same desired state changes the
// live object, someone else changed it in between: that is drift, and the apply undid it. The
// rule needs no knowledge of the owner's (possibly stale) status.
inline constexpr std::string_view kAppliedDigestAnnotation = "app.kubeop.io/applied-digest";
// Stamps `desired` with the digest of what kubeop applies (before the stamp) and returns it.
std::string stampDigest(Object& desired);
// Whether applying `desired` (stamped with `digest`) over `before` with result `after` undid a
// change made by someone else.
bool isDrift(const Object* before, const Object& after, std::string_view digest);

// Server-side apply with field manager kubeop. Applied without force first: a conflict means
// another manager (kubectl edit/scale, another controller) changed a field kubeop sets. Then it
// is applied again with force, taking the fields back, and `tookBack` says so.
struct OwnedApply {
  Object object;
  bool tookBack = false;
};
StatusOr<OwnedApply> applyOwned(kube::Client& client, const Object& desired, kube::ApiError* error = nullptr);

// Whether `live` (from the cache) already is what applying `desired` (stamped with `digest`)
// would make it: kubeop applied this very content last, and no other manager has touched a field
// since (every other managedFields entry is a status writer). Such an apply would be a no-op, so
// the pass skips the request; a stale cache only delays the apply to the next event's pass.
bool upToDate(const Object* live, std::string_view digest);

// The digest of what an object asks for: everything but status, resourceVersion, managedFields
// and generation. Cached objects carry it precomputed (member kContentDigestMember), so that the
// cache can drop their content.
inline constexpr std::string_view kContentDigestMember = "kubeopContentDigest";
std::string contentDigest(const Object& o);
// A cached App carries the number of its status.history entries here instead of the entries.
inline constexpr std::string_view kHistoryEntriesMember = "kubeopHistoryEntries";
// The informers' transform: kubeop-managed objects keep their digest (ConfigMap and Secret data
// dropped), managedFields keep who wrote but not what.
void compactForCache(Object& o);

// The kubeop code of a plugin failure decides retry: KUBEOP_RETRY → Unavailable (retryable);
// invalid input/config → terminal.
bool isRetryablePluginError(const Status& st);

// ---------------------------------------------------------------------------------------------
// Environment

struct Metrics {
  metrics::Counter* driftCorrections = nullptr;
  metrics::Counter* applied = nullptr;
  metrics::Counter* pruned = nullptr;
};

// What every controller reads. Owned by Operator::Impl; outlives the controllers.
struct Env {
  OperatorOptions options;
  kube::Client* client = nullptr;
  const plugin::Registry* plugins = nullptr;
  std::shared_ptr<kube::Informer> tenants, projects, apps, namespaces;
  // Owned objects by "apiVersion/Kind" (label app.kubernetes.io/managed-by=kubeop).
  std::vector<std::pair<std::string, std::shared_ptr<kube::Informer>>> owned;
  EventFunc event;
  Metrics metrics;
  std::atomic<uint64_t> driftCount{0};

  // The cached owned object, or nullptr (kind not watched, or absent).
  kube::ObjectPtr ownedObject(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                              std::string_view name) const;
  bool watchesKind(std::string_view apiVersion, std::string_view kind) const;
  // Projects whose spec.tenantRef is `tenant` (cache index "tenant").
  std::vector<kube::ObjectPtr> projectsOf(std::string_view tenant) const;
  // The Tenant a tenantRef names (by metadata.name, as the quota plugin counts it).
  kube::ObjectPtr tenantNamed(std::string_view ref) const;
  // The tenant a namespace belongs to (its app.kubeop.io/tenant label), else "".
  std::string tenantOfNamespace(std::string_view ns) const;
};

inline constexpr std::string_view kTenantIndex = "tenant";

// Reconcile functions (one per controller).
reconcile::ReconcileResult reconcileTenant(Env& env, const reconcile::ReconcileContext& ctx, const reconcile::Key& key);
reconcile::ReconcileResult reconcileProject(Env& env, const reconcile::ReconcileContext& ctx,
                                            const reconcile::Key& key);
reconcile::ReconcileResult reconcileApp(Env& env, const reconcile::ReconcileContext& ctx, const reconcile::Key& key);

}  // namespace kubeop::op::detail
