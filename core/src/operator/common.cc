#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

#include "internal.h"
#include "kubeop/operator/health.h"
#include "kubeop/core/digest.h"

namespace kubeop::op::detail {

// ---------------------------------------------------------------------------------------------
// Conditions

std::vector<Condition> readConditions(const Object& obj) {
  std::vector<Condition> out;
  const json::Value* st = obj.status();
  const json::Value* cs = st ? json::find(*st, "conditions") : nullptr;
  if (!cs || !cs->IsArray()) return out;
  for (const auto& c : cs->GetArray()) {
    if (!c.IsObject()) continue;
    Condition x;
    x.type = json::getString(c, "type");
    x.status = json::getString(c, "status");
    x.reason = json::getString(c, "reason");
    x.message = json::getString(c, "message");
    x.lastTransitionTime = json::getString(c, "lastTransitionTime");
    if (const json::Value* g = json::find(c, "observedGeneration"); g && g->IsInt64()) x.observedGeneration = g->GetInt64();
    if (!x.type.empty()) out.push_back(std::move(x));
  }
  return out;
}

const Condition* findCondition(const std::vector<Condition>& conds, std::string_view type) {
  for (const auto& c : conds) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

void setCondition(std::vector<Condition>& conds, Condition c) {
  for (auto& old : conds) {
    if (old.type != c.type) continue;
    if (old.status == c.status && !old.lastTransitionTime.empty()) {
      c.lastTransitionTime = old.lastTransitionTime;
    } else if (c.lastTransitionTime.empty()) {
      c.lastTransitionTime = nowRfc3339();
    }
    old = std::move(c);
    return;
  }
  if (c.lastTransitionTime.empty()) c.lastTransitionTime = nowRfc3339();
  conds.push_back(std::move(c));
}

json::Value conditionsJson(const std::vector<Condition>& conds, json::Allocator& a) {
  json::Value arr(rapidjson::kArrayType);
  for (const auto& c : conds) {
    json::Value o(rapidjson::kObjectType);
    o.AddMember("type", json::str(c.type, a), a);
    o.AddMember("status", json::str(c.status, a), a);
    if (c.observedGeneration > 0) o.AddMember("observedGeneration", json::Value(c.observedGeneration), a);
    o.AddMember("lastTransitionTime", json::str(c.lastTransitionTime, a), a);
    o.AddMember("reason", json::str(c.reason, a), a);
    o.AddMember("message", json::str(c.message, a), a);
    arr.PushBack(o, a);
  }
  return arr;
}

// ---------------------------------------------------------------------------------------------
// Writes

StatusOr<bool> writeStatus(kube::Client& client, const Object& obj, const json::Value& desired) {
  static const json::Value kEmpty(rapidjson::kObjectType);
  const json::Value* cur = obj.status();
  if (!cur) cur = &kEmpty;
  if (*cur == desired) return false;
  json::Document patch(rapidjson::kObjectType);
  auto& a = patch.GetAllocator();
  json::Value st(desired, a);
  for (auto it = cur->MemberBegin(); it != cur->MemberEnd(); ++it) {
    if (!desired.HasMember(it->name)) st.AddMember(json::Value(it->name, a), json::Value(rapidjson::kNullType), a);
  }
  patch.AddMember("status", st, a);
  kube::PatchOptions po;
  po.subresource = "status";
  po.fieldManager = std::string(kFieldManager);
  auto r = client.patch(obj.apiVersion(), obj.kind(), obj.namespace_(), obj.name(), kube::PatchType::kMerge,
                        json::write(patch), po);
  if (!r.ok()) return r.status();
  return true;
}

bool hasFinalizer(const Object& obj, std::string_view finalizer) {
  const json::Value* md = obj.metadata();
  const json::Value* f = md ? json::find(*md, "finalizers") : nullptr;
  if (!f || !f->IsArray()) return false;
  for (const auto& v : f->GetArray()) {
    if (v.IsString() && json::view(v) == finalizer) return true;
  }
  return false;
}

bool isDeleting(const Object& obj) {
  const json::Value* md = obj.metadata();
  return md && json::find(*md, "deletionTimestamp") != nullptr;
}

namespace {

Status patchFinalizers(kube::Client& client, const Object& obj, std::string_view finalizer, bool add) {
  const json::Value* md = obj.metadata();
  const json::Value* f = md ? json::find(*md, "finalizers") : nullptr;
  json::Document patch(rapidjson::kArrayType);
  auto& a = patch.GetAllocator();
  json::Value next(rapidjson::kArrayType);
  if (f && f->IsArray()) {
    for (const auto& v : f->GetArray()) {
      if (v.IsString() && json::view(v) == finalizer) continue;
      next.PushBack(json::Value(v, a), a);
    }
  }
  if (add) next.PushBack(json::str(finalizer, a), a);
  // The test op makes the patch fail when someone changed the list meanwhile (no lost update).
  json::Value test(rapidjson::kObjectType);
  if (f && f->IsArray()) {
    test.AddMember("op", "test", a);
    test.AddMember("path", "/metadata/finalizers", a);
    test.AddMember("value", json::Value(*f, a), a);
    patch.PushBack(test, a);
  }
  json::Value op(rapidjson::kObjectType);
  op.AddMember("op", json::str(f ? "replace" : "add", a), a);
  op.AddMember("path", "/metadata/finalizers", a);
  op.AddMember("value", next, a);
  patch.PushBack(op, a);
  kube::PatchOptions po;
  po.fieldManager = std::string(kFieldManager);
  auto r = client.patch(obj.apiVersion(), obj.kind(), obj.namespace_(), obj.name(), kube::PatchType::kJson,
                        json::write(patch), po);
  if (!r.ok()) {
    // A vanished object needs no finalizer change; a failed test means "re-read and retry".
    if (r.status().code() == StatusCode::kNotFound) return Status::ok();
    if (r.status().code() == StatusCode::kInvalidArgument) return aborted("finalizers changed meanwhile: " + r.status().message());
    return r.status();
  }
  return Status::ok();
}

}  // namespace

Status addFinalizer(kube::Client& client, const Object& obj, std::string_view finalizer) {
  if (hasFinalizer(obj, finalizer)) return Status::ok();
  return patchFinalizers(client, obj, finalizer, true);
}

Status removeFinalizer(kube::Client& client, const Object& obj, std::string_view finalizer) {
  if (!hasFinalizer(obj, finalizer)) return Status::ok();
  return patchFinalizers(client, obj, finalizer, false);
}

kubeop::OwnerReference controllerRef(const Object& owner) {
  kubeop::OwnerReference r;
  r.apiVersion = std::string(owner.apiVersion());
  r.kind = std::string(owner.kind());
  r.name = std::string(owner.name());
  r.uid = std::string(owner.uid());
  r.controller = true;
  r.blockOwnerDeletion = true;
  return r;
}

bool isOwnedBy(const Object& obj, std::string_view ownerUid) {
  for (const auto& r : obj.ownerReferences()) {
    if (r.uid == ownerUid) return true;
  }
  return false;
}

int installRank(std::string_view kind) {
  static const std::vector<std::string_view> kOrder = {
      "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
      "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
      "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
      "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
      "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
      "IngressClass", "Ingress", "APIService"};
  auto it = std::find(kOrder.begin(), kOrder.end(), kind);
  return it == kOrder.end() ? static_cast<int>(kOrder.size()) : static_cast<int>(it - kOrder.begin());
}

void sortForApply(std::vector<Object>& objects) {
  std::stable_sort(objects.begin(), objects.end(),
                   [](const Object& a, const Object& b) { return installRank(a.kind()) < installRank(b.kind()); });
}

std::string describeRef(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string s(kind);
  s += "/";
  if (!ns.empty()) {
    s += ns;
    s += "/";
  }
  s += name;
  return s;
}

std::string contentDigest(const Object& o) {
  if (const json::Value* d = json::find(o.root(), kContentDigestMember); d && d->IsString()) {
    return std::string(json::view(*d));
  }
  // A shallow view without the members that change without anyone changing the object's ask.
  json::Document view(rapidjson::kObjectType);
  auto& a = view.GetAllocator();
  for (auto it = o.root().MemberBegin(); it != o.root().MemberEnd(); ++it) {
    std::string_view k = json::view(it->name);
    if (k == "status" || k == kContentDigestMember) continue;
    if (k != "metadata" || !it->value.IsObject()) {
      view.AddMember(json::Value(it->name, a), json::Value(it->value, a), a);
      continue;
    }
    json::Value md(rapidjson::kObjectType);
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
      std::string_view mk = json::view(m->name);
      if (mk == "resourceVersion" || mk == "managedFields" || mk == "generation") continue;
      md.AddMember(json::Value(m->name, a), json::Value(m->value, a), a);
    }
    view.AddMember("metadata", md, a);
  }
  return digest::sha256Hex(json::write(view)).substr(0, 32);
}

namespace {

// Keeps only the members of `v` (an object) that `keep` accepts.
template <typename Keep>
void keepMembers(json::Value& v, Keep keep) {
  if (!v.IsObject()) return;
  for (auto it = v.MemberBegin(); it != v.MemberEnd();) {
    if (keep(json::view(it->name))) {
      ++it;
    } else {
      it = v.EraseMember(it);
    }
  }
}

template <size_t N>
bool oneOf(std::string_view k, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), k) != std::end(set);
}

// managedFields entries keep who wrote (manager, operation, subresource): what upToDate() reads.
void trimManagedFields(json::Value& md) {
  json::Value* mf = json::find(md, "managedFields");
  if (!mf || !mf->IsArray()) return;
  static constexpr std::string_view kKeep[] = {"manager", "operation", "subresource"};
  for (auto& e : mf->GetArray()) keepMembers(e, [](std::string_view k) { return oneOf(k, kKeep); });
}

// A kubeop-owned object (a child of an App or a Project's guardrail) as the controllers read it
// from the cache: enough to route its events (namespace, owner references), to decide that an
// apply would be a no-op (applied digest, managers), to see drift (the content digest, taken
// before anything is dropped) and to judge health (status and the few spec fields health reads).
void skeletonOfOwned(Object& o) {
  json::setString(o.root(), kContentDigestMember, contentDigest(o), o.allocator());
  static constexpr std::string_view kRoot[] = {"apiVersion", "kind", "metadata", "spec", "status", kContentDigestMember};
  keepMembers(o.root(), [](std::string_view k) { return oneOf(k, kRoot); });
  if (json::Value* spec = json::find(o.root(), "spec")) {
    keepMembers(*spec, [](std::string_view k) { return oneOf(k, kHealthSpecFields); });
  }
  if (json::Value* conds = json::find(o.root(), "status")) {
    if (json::Value* c = json::find(*conds, "conditions"); c && c->IsArray()) {
      static constexpr std::string_view kTimes[] = {"lastTransitionTime", "lastUpdateTime", "lastProbeTime",
                                                    "lastHeartbeatTime"};
      for (auto& e : c->GetArray()) keepMembers(e, [](std::string_view k) { return !oneOf(k, kTimes); });
    }
  }
  json::Value& md = o.mutableMetadata();
  static constexpr std::string_view kMeta[] = {"name",       "namespace",         "resourceVersion", "generation",
                                               "finalizers", "deletionTimestamp", "annotations",     "ownerReferences",
                                               "managedFields"};
  keepMembers(md, [](std::string_view k) { return oneOf(k, kMeta); });
  if (json::Value* an = json::find(md, "annotations")) {
    keepMembers(*an, [](std::string_view k) { return k == kAppliedDigestAnnotation; });
  }
  if (json::Value* refs = json::find(md, "ownerReferences"); refs && refs->IsArray()) {
    static constexpr std::string_view kRef[] = {"apiVersion", "kind", "name"};
    for (auto& r : refs->GetArray()) keepMembers(r, [](std::string_view k) { return oneOf(k, kRef); });
  }
  trimManagedFields(md);
}

}  // namespace

void compactForCache(Object& o) {
  std::string_view kind = o.kind();
  if (o.label(kLabelManagedBy) == std::string(kManagedBy) && kind != "Namespace") {
    skeletonOfOwned(o);
    return;
  }
  json::Value& md = o.mutableMetadata();
  if (o.apiVersion() == kApiVersion) {
    // Tenants, Projects, Apps: nothing reads their managedFields; an App's history (up to ten
    // revisions with digests and provenance) is read from the API when a revision is recorded
    // or rolled back, not on every pass.
    json::removeMember(md, "managedFields");
    if (kind == "App") {
      // How many entries there were: none (a first delivery) needs no read from the API.
      int64_t entries = 0;
      if (json::Value* st = json::find(o.root(), "status")) {
        if (const json::Value* h = json::find(*st, "history"); h && h->IsArray()) entries = h->Size();
        json::removeMember(*st, "history");
      }
      json::removeMember(o.root(), kHistoryEntriesMember);
      o.root().AddMember(json::str(kHistoryEntriesMember, o.allocator()), json::Value(entries), o.allocator());
    }
    return;
  }
  trimManagedFields(md);
}

std::string stampDigest(Object& desired) {
  std::string d = digest::sha256Hex(desired.toJson()).substr(0, 16);
  desired.setAnnotation(kAppliedDigestAnnotation, d);
  return d;
}

bool isDrift(const Object* before, const Object& after, std::string_view digest) {
  if (!before) return false;
  auto last = before->annotation(kAppliedDigestAnnotation);
  return last && *last == digest && contentDigest(*before) != contentDigest(after);
}

bool upToDate(const Object* live, std::string_view digest) {
  if (!live || isDeleting(*live)) return false;
  auto last = live->annotation(kAppliedDigestAnnotation);
  if (!last || *last != digest) return false;
  const json::Value* md = live->metadata();
  const json::Value* mf = md ? json::find(*md, "managedFields") : nullptr;
  if (!mf || !mf->IsArray()) return false;
  bool ours = false;
  for (const auto& e : mf->GetArray()) {
    bool self = json::getString(e, "manager") == kFieldManager && json::getString(e, "operation") == "Apply" &&
                json::getString(e, "subresource").empty();
    if (self) {
      ours = true;
    } else if (json::getString(e, "subresource") != "status") {
      return false;
    }
  }
  return ours;
}

StatusOr<OwnedApply> applyOwned(kube::Client& client, const Object& desired, kube::ApiError* error) {
  kube::ApplyOptions ao;
  ao.fieldManager = std::string(kFieldManager);
  ao.force = false;
  kube::ApiError err;
  auto r = client.apply(desired, ao, &err);
  if (r.ok()) return OwnedApply{std::move(r).value(), false};
  bool conflict = err.httpStatus == 409 &&
                  std::any_of(err.causes.begin(), err.causes.end(),
                              [](const kube::StatusCause& c) { return c.reason == "FieldManagerConflict"; });
  if (!conflict) {
    if (error) *error = std::move(err);
    return r.status();
  }
  ao.force = true;
  auto forced = client.apply(desired, ao, error);
  if (!forced.ok()) return forced.status();
  return OwnedApply{std::move(forced).value(), true};
}

bool isRetryablePluginError(const Status& st) { return !st.isOk() && isRetryable(st.code()); }

// ---------------------------------------------------------------------------------------------
// Env

kube::ObjectPtr Env::ownedObject(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                                 std::string_view name) const {
  std::string gvk = std::string(apiVersion) + "/" + std::string(kind);
  for (const auto& [k, inf] : owned) {
    if (k == gvk) return inf->cache().get(ns, name);
  }
  return nullptr;
}

bool Env::watchesKind(std::string_view apiVersion, std::string_view kind) const {
  std::string gvk = std::string(apiVersion) + "/" + std::string(kind);
  for (const auto& entry : owned) {
    if (entry.first == gvk) return true;
  }
  return false;
}

std::vector<kube::ObjectPtr> Env::projectsOf(std::string_view tenant) const {
  auto r = projects->cache().byIndex(kTenantIndex, tenant);
  return r.ok() ? std::move(r).value() : std::vector<kube::ObjectPtr>{};
}

kube::ObjectPtr Env::tenantNamed(std::string_view ref) const {
  return tenants->cache().get("", ref);
}

std::string Env::tenantOfNamespace(std::string_view ns) const {
  auto n = namespaces->cache().get("", ns);
  if (!n) return {};
  return n->label(kLabelTenant).value_or("");
}

}  // namespace kubeop::op::detail
