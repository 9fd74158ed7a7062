#include "kubeop/sandbox/resources.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <utility>

namespace kubeop::sandbox {

namespace {

std::string gvrKey(std::string_view group, std::string_view version, std::string_view plural) {
  std::string k(group);
  k += '/';
  k += version;
  k += '/';
  k += plural;
  return k;
}

// Builder for the built-in table below: one line per kind reads better than aggregate
// initialisation of a dozen fields.
struct T {
  ResourceType t;
  T(std::string group, std::string version, std::string kind, std::string plural) {
    t.group = std::move(group);
    t.version = std::move(version);
    t.kind = std::move(kind);
    t.plural = std::move(plural);
    std::string s = t.kind;
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t.singular = s;
    t.verbs = standardVerbs();
  }
  T& cluster() {
    t.namespaced = false;
    return *this;
  }
  T& shortNames(std::vector<std::string> s) {
    t.shortNames = std::move(s);
    return *this;
  }
  T& status(std::string initial = "{}") {
    t.hasStatusSubresource = true;
    t.initialStatus = std::move(initial);
    return *this;
  }
  T& categories(std::vector<std::string> c) {
    t.categories = std::move(c);
    return *this;
  }
  T& generation(GenerationPolicy p = GenerationPolicy::kAllButMetadata) {
    t.generation = p;
    return *this;
  }
  T& name(NameRule r) {
    t.nameRule = r;
    return *this;
  }
  T& createOnUpdate() {
    t.allowCreateOnUpdate = true;
    return *this;
  }
  T& fields(std::vector<SelectableField> f) {
    t.selectableFields = std::move(f);
    return *this;
  }
  T& verbs(std::vector<std::string> v) {
    t.verbs = std::move(v);
    return *this;
  }
  T& storedAs(std::string group, std::string resource, ObjectConversion toStorage, ObjectConversion fromStorage) {
    t.storage = StorageAlias{std::move(group), std::move(resource), toStorage, fromStorage};
    return *this;
  }
};

// pkg/apis/events/v1 conversion: {events.k8s.io/v1 field, core/v1 field}. The fields both
// shapes share (action, eventTime, reason, related, reportingInstance, series, type) pass
// through.
constexpr std::pair<std::string_view, std::string_view> kEventFieldNames[] = {
    {"regarding", "involvedObject"},
    {"note", "message"},
    {"reportingController", "reportingComponent"},
    {"deprecatedSource", "source"},
    {"deprecatedFirstTimestamp", "firstTimestamp"},
    {"deprecatedLastTimestamp", "lastTimestamp"},
    {"deprecatedCount", "count"},
};

// Renames member `from` to `to` in place. A member already named `to` goes first: in the source
// shape it is an unknown field, which decoding into the typed struct drops.
void renameMember(json::Value& obj, std::string_view from, std::string_view to, json::Allocator& a) {
  json::removeMember(obj, to);
  for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
    if (json::view(m->name) == from) {
      m->name.SetString(to.data(), static_cast<rapidjson::SizeType>(to.size()), a);
      return;
    }
  }
}

void eventsV1ToCore(json::Value& obj, json::Allocator& a) {
  if (!obj.IsObject()) return;
  for (const auto& [events, core] : kEventFieldNames) renameMember(obj, events, core, a);
  json::setString(obj, "apiVersion", "v1", a);
  json::setString(obj, "kind", "Event", a);
}

void coreToEventsV1(json::Value& obj, json::Allocator& a) {
  if (!obj.IsObject()) return;
  for (const auto& [events, core] : kEventFieldNames) renameMember(obj, core, events, a);
  json::setString(obj, "apiVersion", "events.k8s.io/v1", a);
  json::setString(obj, "kind", "Event", a);
}

}  // namespace

bool ResourceType::supportsFieldLabel(std::string_view label) const {
  if (label == "metadata.name") return true;
  // The Namespace conversion func accepts only metadata.name and status.phase; other
  // cluster-scoped kinds accept metadata.name only.
  if (label == "metadata.namespace") return namespaced;
  return std::any_of(selectableFields.begin(), selectableFields.end(),
                     [&](const SelectableField& f) { return f.label == label; });
}

const std::vector<std::string>& standardVerbs() {
  static const std::vector<std::string> kVerbs = {"create", "delete", "deletecollection", "get",
                                                  "list",   "patch",  "update",           "watch"};
  return kVerbs;
}

std::vector<ResourceType> builtinResourceTypes() {
  using G = GenerationPolicy;
  const std::vector<std::string> kAll = {"all"};
  const std::vector<std::string> kApiExtensions = {"api-extensions"};
  std::vector<T> v;
  // core/v1. Field labels follow pkg/apis/core/v1/conversion.go.
  v.push_back(T("", "v1", "Namespace", "namespaces")
                  .cluster()
                  .shortNames({"ns"})
                  .status(R"({"phase":"Active"})")
                  .name(NameRule::kDns1123Label)
                  .verbs({"create", "delete", "get", "list", "patch", "update", "watch"})
                  .fields({{"status.phase", "status.phase", ""}}));
  v.push_back(T("", "v1", "ConfigMap", "configmaps").shortNames({"cm"}));
  v.push_back(T("", "v1", "Secret", "secrets").fields({{"type", "type", ""}}));
  v.push_back(T("", "v1", "Service", "services")
                  .shortNames({"svc"})
                  .status()
                  .categories(kAll)
                  .name(NameRule::kDns1035Label)
                  .fields({{"spec.clusterIP", "spec.clusterIP", ""}, {"spec.type", "spec.type", ""}}));
  v.push_back(T("", "v1", "ServiceAccount", "serviceaccounts").shortNames({"sa"}));
  v.push_back(T("", "v1", "Pod", "pods")
                  .shortNames({"po"})
                  .status(R"({"phase":"Pending"})")
                  .categories(kAll)
                  // PodObservedGenerationTracking (beta, on by default since 1.34).
                  .generation()
                  .fields({{"spec.nodeName", "spec.nodeName", ""},
                           {"spec.restartPolicy", "spec.restartPolicy", ""},
                           {"spec.schedulerName", "spec.schedulerName", ""},
                           {"spec.serviceAccountName", "spec.serviceAccountName", ""},
                           {"spec.hostNetwork", "spec.hostNetwork", "false"},
                           {"status.phase", "status.phase", ""},
                           {"status.podIP", "status.podIP", ""},
                           {"status.podIPs", "status.podIPs", ""},
                           {"status.nominatedNodeName", "status.nominatedNodeName", ""}}));
  v.push_back(T("", "v1", "Event", "events")
                  .shortNames({"ev"})
                  .createOnUpdate()
                  .fields({{"involvedObject.kind", "involvedObject.kind", ""},
                           {"involvedObject.namespace", "involvedObject.namespace", ""},
                           {"involvedObject.name", "involvedObject.name", ""},
                           {"involvedObject.uid", "involvedObject.uid", ""},
                           {"involvedObject.apiVersion", "involvedObject.apiVersion", ""},
                           {"involvedObject.resourceVersion", "involvedObject.resourceVersion", ""},
                           {"involvedObject.fieldPath", "involvedObject.fieldPath", ""},
                           {"reason", "reason", ""},
                           {"reportingComponent", "reportingComponent", ""},
                           {"source", "source.component", ""},
                           {"type", "type", ""}}));
  v.push_back(T("", "v1", "ResourceQuota", "resourcequotas").shortNames({"quota"}).status());
  v.push_back(T("", "v1", "LimitRange", "limitranges").shortNames({"limits"}).createOnUpdate());
  v.push_back(T("", "v1", "Endpoints", "endpoints").shortNames({"ep"}).createOnUpdate());
  v.push_back(T("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims").shortNames({"pvc"}).status());
  // events.k8s.io/v1: the core Event storage in another shape (pkg/registry/events reuses the
  // core event registry). Field labels follow pkg/apis/events/v1/conversion.go, mapped onto the
  // core fields.
  v.push_back(T("events.k8s.io", "v1", "Event", "events")
                  .shortNames({"ev"})
                  .createOnUpdate()
                  .storedAs("", "events", eventsV1ToCore, coreToEventsV1)
                  .fields({{"regarding.kind", "involvedObject.kind", ""},
                           {"regarding.namespace", "involvedObject.namespace", ""},
                           {"regarding.name", "involvedObject.name", ""},
                           {"regarding.uid", "involvedObject.uid", ""},
                           {"regarding.apiVersion", "involvedObject.apiVersion", ""},
                           {"regarding.resourceVersion", "involvedObject.resourceVersion", ""},
                           {"regarding.fieldPath", "involvedObject.fieldPath", ""},
                           {"reason", "reason", ""},
                           {"reportingController", "reportingComponent", ""},
                           {"source", "source.component", ""},
                           {"type", "type", ""}}));
  // apps/v1
  v.push_back(T("apps", "v1", "Deployment", "deployments")
                  .shortNames({"deploy"})
                  .status()
                  .categories(kAll)
                  .generation(G::kSpecAndAnnotations));
  v.push_back(T("apps", "v1", "ReplicaSet", "replicasets")
                  .shortNames({"rs"})
                  .status()
                  .categories(kAll)
                  .generation()
                  .fields({{"status.replicas", "status.replicas", "0"}}));
  v.push_back(T("apps", "v1", "StatefulSet", "statefulsets").shortNames({"sts"}).status().categories(kAll).generation());
  v.push_back(T("apps", "v1", "DaemonSet", "daemonsets").shortNames({"ds"}).status().categories(kAll).generation());
  // batch/v1
  v.push_back(T("batch", "v1", "Job", "jobs")
                  .status()
                  .categories(kAll)
                  .generation()
                  .fields({{"status.successful", "status.succeeded", "0"}}));
  v.push_back(T("batch", "v1", "CronJob", "cronjobs").shortNames({"cj"}).status().categories(kAll).generation());
  // networking.k8s.io/v1
  v.push_back(T("networking.k8s.io", "v1", "Ingress", "ingresses").shortNames({"ing"}).status().generation());
  v.push_back(T("networking.k8s.io", "v1", "IngressClass", "ingressclasses").cluster().generation());
  v.push_back(T("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies").shortNames({"netpol"}).generation());
  // rbac.authorization.k8s.io/v1
  const std::string rbac = "rbac.authorization.k8s.io";
  v.push_back(T(rbac, "v1", "Role", "roles").name(NameRule::kPathSegment).createOnUpdate());
  v.push_back(T(rbac, "v1", "RoleBinding", "rolebindings").name(NameRule::kPathSegment).createOnUpdate());
  v.push_back(T(rbac, "v1", "ClusterRole", "clusterroles").cluster().name(NameRule::kPathSegment).createOnUpdate());
  v.push_back(
      T(rbac, "v1", "ClusterRoleBinding", "clusterrolebindings").cluster().name(NameRule::kPathSegment).createOnUpdate());
  // coordination.k8s.io/v1, policy/v1, autoscaling/v2
  v.push_back(T("coordination.k8s.io", "v1", "Lease", "leases").createOnUpdate());
  v.push_back(T("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets").shortNames({"pdb"}).status().generation());
  v.push_back(T("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers")
                  .shortNames({"hpa"})
                  .status()
                  .categories(kAll));
  // apiextensions.k8s.io/v1, admissionregistration.k8s.io/v1
  v.push_back(T("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions")
                  .cluster()
                  .shortNames({"crd", "crds"})
                  .status()
                  .categories(kApiExtensions)
                  .generation());
  v.push_back(T("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
                "validatingwebhookconfigurations")
                  .cluster()
                  .categories(kApiExtensions)
                  .generation());
  v.push_back(T("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations")
                  .cluster()
                  .categories(kApiExtensions)
                  .generation());
  std::vector<ResourceType> out;
  out.reserve(v.size());
  for (auto& b : v) out.push_back(std::move(b.t));
  return out;
}

ResourceRegistry::ResourceRegistry() {
  for (auto& t : builtinResourceTypes()) addLocked(std::make_shared<const ResourceType>(std::move(t)));
}

ResourceRegistry::ResourceRegistry(Empty) {}

void ResourceRegistry::addLocked(TypePtr t) {
  byGvr_[gvrKey(t->group, t->version, t->plural)] = t;
  types_.push_back(std::move(t));
}

ResourceRegistry::TypePtr ResourceRegistry::find(std::string_view group, std::string_view version,
                                                 std::string_view plural) const {
  std::shared_lock lock(mu_);
  auto it = byGvr_.find(gvrKey(group, version, plural));
  return it == byGvr_.end() ? nullptr : it->second;
}

ResourceRegistry::TypePtr ResourceRegistry::findGroupResource(std::string_view group, std::string_view plural) const {
  std::shared_lock lock(mu_);
  for (const auto& t : types_) {
    if (t->group == group && t->plural == plural) return t;
  }
  return nullptr;
}

ResourceRegistry::TypePtr ResourceRegistry::findKind(std::string_view group, std::string_view version,
                                                     std::string_view kind) const {
  std::shared_lock lock(mu_);
  for (const auto& t : types_) {
    if (t->group == group && t->version == version && t->kind == kind) return t;
  }
  return nullptr;
}

ResourceRegistry::TypePtr ResourceRegistry::findGroupKind(std::string_view group, std::string_view kind) const {
  std::shared_lock lock(mu_);
  for (const auto& t : types_) {
    if (t->group == group && t->kind == kind) return t;
  }
  return nullptr;
}

std::vector<ResourceRegistry::TypePtr> ResourceRegistry::findShortName(std::string_view shortName) const {
  std::shared_lock lock(mu_);
  std::vector<TypePtr> out;
  for (const auto& t : types_) {
    if (std::find(t->shortNames.begin(), t->shortNames.end(), shortName) != t->shortNames.end()) out.push_back(t);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const TypePtr& a, const TypePtr& b) { return a->group.empty() && !b->group.empty(); });
  return out;
}

std::vector<ResourceRegistry::TypePtr> ResourceRegistry::all() const {
  std::shared_lock lock(mu_);
  return types_;
}

Status ResourceRegistry::addCustom(ResourceType type) {
  if (type.group.empty() || type.version.empty() || type.kind.empty() || type.plural.empty()) {
    return invalidArgument("a custom resource needs a group, version, kind and plural");
  }
  type.custom = true;
  if (type.singular.empty()) {
    type.singular = type.kind;
    for (char& c : type.singular) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (type.verbs.empty()) type.verbs = standardVerbs();
  // The custom resource strategy always maintains metadata.generation.
  if (type.generation == GenerationPolicy::kNone) type.generation = GenerationPolicy::kAllButMetadata;
  std::unique_lock lock(mu_);
  if (byGvr_.count(gvrKey(type.group, type.version, type.plural)) != 0) {
    return alreadyExists(type.plural + "." + type.group + "/" + type.version + " is already served");
  }
  addLocked(std::make_shared<const ResourceType>(std::move(type)));
  ++revision_;
  return Status::ok();
}

Status ResourceRegistry::removeCustom(std::string_view group, std::string_view version, std::string_view plural) {
  std::unique_lock lock(mu_);
  auto it = byGvr_.find(gvrKey(group, version, plural));
  if (it == byGvr_.end()) {
    return notFound(std::string(plural) + "." + std::string(group) + "/" + std::string(version) + " is not served");
  }
  if (!it->second->custom) {
    return failedPrecondition(it->second->groupResource() + " is a built-in resource");
  }
  TypePtr t = it->second;
  byGvr_.erase(it);
  types_.erase(std::remove(types_.begin(), types_.end(), t), types_.end());
  ++revision_;
  return Status::ok();
}

uint64_t ResourceRegistry::revision() const {
  std::shared_lock lock(mu_);
  return revision_;
}

}  // namespace kubeop::sandbox
