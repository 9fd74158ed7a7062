// The sandbox's resource type registry: what the sandbox serves (discovery facts) and the few
// per-kind storage semantics the Store needs (name rule, generation policy, status subresource,
// selectable fields, initial status).
//
// Built-in kinds are registered by the constructor; CustomResourceDefinitions add and remove
// served resources at run time through addCustom()/removeCustom().
//
// Thread-safety: every method is safe to call concurrently. Lookups return shared pointers to
// immutable ResourceType values, so a type removed by removeCustom() stays valid for callers
// still holding it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"

namespace kubeop::sandbox {

// When metadata.generation is maintained, and what bumps it (each kind's registry strategy).
enum class GenerationPolicy {
  // Not maintained: the object has no generation (ConfigMap, Secret, Service, Namespace, RBAC, …).
  kNone,
  // 1 on create; +1 when anything outside metadata changes, status excluded when the kind has a
  // status subresource (the custom-resource rule; ReplicaSet/StatefulSet/Job… amount to the same).
  kAllButMetadata,
  // Deployment: +1 when spec or metadata.annotations change (annotations are copied to the
  // ReplicaSets, so they are part of the desired state).
  kSpecAndAnnotations,
};

// Which validator applies to metadata.name (and generateName).
enum class NameRule {
  kDns1123Subdomain,  // most kinds
  kDns1123Label,      // Namespace
  kDns1035Label,      // Service (must start with a letter)
  kPathSegment,       // RBAC kinds ("system:controller:foo" is a valid ClusterRole name)
};

// A field selector label the kind supports besides metadata.name/metadata.namespace, read from
// `path` (dot-separated) of the object; `defaultValue` stands in when the field is absent.
struct SelectableField {
  std::string label;
  std::string path;
  std::string defaultValue;
};

// Rewrites one object between a served shape and its storage shape, in place: apiVersion, kind
// and the fields that differ. Metadata passes through untouched.
using ObjectConversion = void (*)(json::Value& object, json::Allocator& allocator);

// Where a resource served from another resource's storage keeps its objects, and how they are
// converted on the way in and out.
struct StorageAlias {
  std::string group;     // the storage resource's group ("" for core)
  std::string resource;  // and plural
  ObjectConversion toStorage = nullptr;
  ObjectConversion fromStorage = nullptr;
};

struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string kind;      // "Deployment"
  std::string plural;    // "deployments"
  std::string singular;  // "deployment"
  std::vector<std::string> shortNames;
  bool namespaced = true;
  std::vector<std::string> verbs;
  bool hasStatusSubresource = false;
  std::vector<std::string> categories;

  // Storage semantics.
  GenerationPolicy generation = GenerationPolicy::kNone;
  NameRule nameRule = NameRule::kDns1123Subdomain;
  bool allowCreateOnUpdate = false;  // PUT of a missing object creates it (Endpoints, Lease, RBAC, …)
  std::vector<SelectableField> selectableFields;
  // With a status subresource, create replaces .status with this JSON object (Pod: phase
  // Pending, Namespace: phase Active, other built-ins: {}); empty removes .status (custom
  // resources).
  std::string initialStatus;
  bool custom = false;
  // Served from another resource's storage through a conversion, as the apiserver serves
  // events.k8s.io/v1 Event from the core Event registry: one set of objects, visible through
  // both groups, each group in its own shape. The storage resource's semantics apply (name rule,
  // generation, create-on-update, error wording); selectableFields are this resource's labels
  // with paths into the storage shape (the field label conversion).
  std::optional<StorageAlias> storage;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps", or "configmaps" in the core group (schema.GroupResource.String()).
  std::string groupResource() const { return group.empty() ? plural : plural + "." + group; }
  // "Deployment.apps", or "ConfigMap" (schema.GroupKind.String()).
  std::string groupKind() const { return group.empty() ? kind : kind + "." + group; }
  std::string listKind() const { return kind + "List"; }
  // True for metadata.name, metadata.namespace (namespaced kinds) and selectableFields labels.
  bool supportsFieldLabel(std::string_view label) const;
};

// The verbs every built-in resource serves ("create", "delete", "deletecollection", "get",
// "list", "patch", "update", "watch").
const std::vector<std::string>& standardVerbs();

class ResourceRegistry {
 public:
  using TypePtr = std::shared_ptr<const ResourceType>;

  // The registry with every built-in kind (see builtinResourceTypes()).
  ResourceRegistry();
  struct Empty {};
  explicit ResourceRegistry(Empty);  // no kinds at all (tests)

  ResourceRegistry(const ResourceRegistry&) = delete;
  ResourceRegistry& operator=(const ResourceRegistry&) = delete;

  // By (group, version, plural), as in a request path. nullptr when not served.
  TypePtr find(std::string_view group, std::string_view version, std::string_view plural) const;
  // By (group, plural), any served version (the first registered one). The Store keys objects
  // by group and resource, like etcd, so every served version shares one set of objects.
  TypePtr findGroupResource(std::string_view group, std::string_view plural) const;
  // By group/version/kind, and by group/kind with any version (owner references).
  TypePtr findKind(std::string_view group, std::string_view version, std::string_view kind) const;
  TypePtr findGroupKind(std::string_view group, std::string_view kind) const;
  // Every served type with this short name, core group first (kubectl's "ev" matches the core
  // and the events.k8s.io Event).
  std::vector<TypePtr> findShortName(std::string_view shortName) const;
  std::vector<TypePtr> all() const;

  // Registers a served custom resource version. AlreadyExists when (group, version, plural) is
  // served already; InvalidArgument when group, version, kind or plural is empty. Defaults:
  // singular = lowercase kind, verbs = standardVerbs(), generation = kAllButMetadata (custom
  // resources always track it); initialStatus stays empty, so create drops .status when
  // hasStatusSubresource is set. Register the storage version first: findGroupResource() and
  // the Store use the first registered version of a (group, plural).
  [[nodiscard]] Status addCustom(ResourceType type);
  // Stops serving a custom resource version. NotFound when absent; FailedPrecondition for a
  // built-in kind.
  [[nodiscard]] Status removeCustom(std::string_view group, std::string_view version, std::string_view plural);

  // Bumped on every addCustom()/removeCustom(): discovery documents cache on it.
  uint64_t revision() const;

 private:
  void addLocked(TypePtr t);

  mutable std::shared_mutex mu_;
  std::vector<TypePtr> types_;                  // registration order
  std::map<std::string, TypePtr, std::less<>> byGvr_;  // "group/version/plural"
  uint64_t revision_ = 0;
};

// The built-in kinds the sandbox serves, in registration order.
std::vector<ResourceType> builtinResourceTypes();

}  // namespace kubeop::sandbox
