#include "kubeop/kube/patch.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace kubeop::kube {

using json::Allocator;
using json::Document;
using json::Value;

// ---------------------------------------------------------------------------------------------
// PatchMeta

const FieldMeta* PatchMeta::field(std::string_view name) const {
  auto it = fields_.find(name);
  return it == fields_.end() ? nullptr : &it->second;
}

namespace {

// --- Small constructors for the tables below, one per shape of field.

// patchStrategy=merge + patchMergeKey on a list of objects that is also +listType=map.
FieldMeta keyedList(std::string mergeKey, std::vector<ListMapKey> keys, const PatchMeta* item) {
  FieldMeta f;
  f.mergeList = true;
  f.patchMergeKey = std::move(mergeKey);
  f.listType = ListType::kMap;
  f.listMapKeys = std::move(keys);
  f.type = item;
  return f;
}

// A list strategic merge patch merges by key while apply owns it whole (+listType=atomic), as
// JobStatus.conditions and PodStatus.hostIPs.
FieldMeta keyedForPatchAtomicForApply(std::string mergeKey) {
  FieldMeta f;
  f.mergeList = true;
  f.patchMergeKey = std::move(mergeKey);
  return f;
}

// patchStrategy=merge on a list of scalars that is +listType=set (finalizers, podCIDRs).
FieldMeta scalarSet() {
  FieldMeta f;
  f.mergeList = true;
  f.listType = ListType::kSet;
  return f;
}

FieldMeta object(const PatchMeta* type) {
  FieldMeta f;
  f.type = type;
  return f;
}

FieldMeta granularMap() {
  FieldMeta f;
  f.granularMap = true;
  return f;
}

FieldMeta atomicObject() {
  FieldMeta f;
  f.atomic = true;
  return f;
}

// The field tables. Facts from k8s.io/api (struct tags and +listType/+mapType markers); only the
// fields whose behaviour differs from the defaults are listed.
struct Registry {
  PatchMeta objectMeta;
  PatchMeta resourceRequirements;
  PatchMeta container;
  PatchMeta podSpec;
  PatchMeta podTemplateSpec;
  PatchMeta podStatus;
  PatchMeta conditionsStatus;       // status.conditions keyed by type (patch and apply)
  PatchMeta conditionsStatusPatch;  // keyed by type for patch, atomic for apply (JobStatus)
  PatchMeta workloadSpec;           // selector (atomic LabelSelector) + template
  PatchMeta statefulSetSpec;
  PatchMeta jobSpec;
  PatchMeta jobTemplateSpec;
  PatchMeta cronJobSpec;
  PatchMeta replicationControllerSpec;
  PatchMeta podTemplate;
  PatchMeta serviceSpec;
  PatchMeta nodeSpec;
  PatchMeta nodeStatus;
  PatchMeta pvcSpec;
  PatchMeta pvSpec;
  PatchMeta quotaSpec;
  PatchMeta pdbSpec;
  PatchMeta networkPolicySpec;
  PatchMeta customResource;
  std::map<std::pair<std::string, std::string>, PatchMeta, std::less<>> kinds;

  Registry() {
    objectMeta = {
        {"labels", granularMap()},
        {"annotations", granularMap()},
        {"finalizers", scalarSet()},
        {"ownerReferences", keyedList("uid", {{"uid", ""}}, nullptr)},
    };
    resourceRequirements = {
        {"limits", granularMap()},
        {"requests", granularMap()},
        {"claims", [] {
           FieldMeta f;  // +listType=map, no patch strategy
           f.listType = ListType::kMap;
           f.listMapKeys = {{"name", ""}};
           return f;
         }()},
    };
    container = {
        {"ports", keyedList("containerPort", {{"containerPort", ""}, {"protocol", "TCP"}}, nullptr)},
        {"env", keyedList("name", {{"name", ""}}, nullptr)},
        {"volumeMounts", keyedList("mountPath", {{"mountPath", ""}}, nullptr)},
        {"volumeDevices", keyedList("devicePath", {{"devicePath", ""}}, nullptr)},
        {"resources", object(&resourceRequirements)},
    };
    podSpec = {
        {"volumes", keyedList("name", {{"name", ""}}, nullptr)},
        {"initContainers", keyedList("name", {{"name", ""}}, &container)},
        {"containers", keyedList("name", {{"name", ""}}, &container)},
        {"ephemeralContainers", keyedList("name", {{"name", ""}}, &container)},
        {"imagePullSecrets", keyedList("name", {{"name", ""}}, nullptr)},
        {"hostAliases", keyedList("ip", {{"ip", ""}}, nullptr)},
        {"topologySpreadConstraints",
         keyedList("topologyKey", {{"topologyKey", ""}, {"whenUnsatisfiable", ""}}, nullptr)},
        {"schedulingGates", keyedList("name", {{"name", ""}}, nullptr)},
        {"resourceClaims", keyedList("name", {{"name", ""}}, nullptr)},
        {"nodeSelector", atomicObject()},
        {"overhead", granularMap()},
    };
    podTemplateSpec = {{"metadata", object(&objectMeta)}, {"spec", object(&podSpec)}};
    podStatus = {
        {"conditions", keyedList("type", {{"type", ""}}, nullptr)},
        {"podIPs", keyedList("ip", {{"ip", ""}}, nullptr)},
        {"hostIPs", keyedForPatchAtomicForApply("ip")},
    };
    conditionsStatus = {{"conditions", keyedList("type", {{"type", ""}}, nullptr)}};
    conditionsStatusPatch = {{"conditions", keyedForPatchAtomicForApply("type")}};
    workloadSpec = {{"selector", atomicObject()}, {"template", object(&podTemplateSpec)}};
    statefulSetSpec = workloadSpec;
    jobSpec = workloadSpec;
    jobTemplateSpec = {{"metadata", object(&objectMeta)}, {"spec", object(&jobSpec)}};
    cronJobSpec = {{"jobTemplate", object(&jobTemplateSpec)}};
    replicationControllerSpec = {{"selector", atomicObject()}, {"template", object(&podTemplateSpec)}};
    podTemplate = {{"metadata", object(&objectMeta)}, {"template", object(&podTemplateSpec)}};
    serviceSpec = {
        {"ports", keyedList("port", {{"port", ""}, {"protocol", "TCP"}}, nullptr)},
        {"selector", atomicObject()},
    };
    nodeSpec = {{"podCIDRs", scalarSet()}};
    nodeStatus = {
        {"conditions", keyedList("type", {{"type", ""}}, nullptr)},
        {"addresses", keyedList("type", {{"type", ""}}, nullptr)},
        {"capacity", granularMap()},
        {"allocatable", granularMap()},
    };
    pvcSpec = {{"resources", object(&resourceRequirements)}, {"selector", atomicObject()}};
    pvSpec = {{"capacity", granularMap()}};
    quotaSpec = {{"hard", granularMap()}};
    FieldMeta pdbSelector = atomicObject();
    pdbSelector.replaceObject = true;  // patchStrategy:"replace"
    pdbSpec.set("selector", pdbSelector);
    networkPolicySpec = {{"podSelector", atomicObject()}};
    customResource = {{"metadata", object(&objectMeta)}};

    auto kind = [&](std::string group, std::string name, PatchMeta fields) {
      fields.set("metadata", object(&objectMeta));
      kinds.emplace(std::make_pair(std::move(group), std::move(name)), std::move(fields));
    };
    auto plain = [&](std::string group, std::string name) { kind(std::move(group), std::move(name), {}); };

    // core
    kind("", "Pod", {{"spec", object(&podSpec)}, {"status", object(&podStatus)}});
    kind("", "PodTemplate", {{"template", object(&podTemplateSpec)}});
    kind("", "ReplicationController",
         {{"spec", object(&replicationControllerSpec)}, {"status", object(&conditionsStatus)}});
    kind("", "Service", {{"spec", object(&serviceSpec)}, {"status", object(&conditionsStatus)}});
    kind("", "ConfigMap", {{"data", granularMap()}, {"binaryData", granularMap()}});
    kind("", "Secret", {{"data", granularMap()}, {"stringData", granularMap()}});
    kind("", "Namespace", {{"status", object(&conditionsStatus)}});
    kind("", "ServiceAccount", {{"secrets", keyedList("name", {{"name", ""}}, nullptr)}});
    kind("", "Node", {{"spec", object(&nodeSpec)}, {"status", object(&nodeStatus)}});
    kind("", "PersistentVolumeClaim", {{"spec", object(&pvcSpec)}, {"status", object(&conditionsStatus)}});
    kind("", "PersistentVolume", {{"spec", object(&pvSpec)}});
    kind("", "ResourceQuota", {{"spec", object(&quotaSpec)}});
    for (const char* k : {"Endpoints", "Event", "LimitRange", "ComponentStatus", "Binding"}) plain("", k);
    // apps
    kind("apps", "Deployment", {{"spec", object(&workloadSpec)}, {"status", object(&conditionsStatus)}});
    kind("apps", "ReplicaSet", {{"spec", object(&workloadSpec)}, {"status", object(&conditionsStatus)}});
    kind("apps", "DaemonSet", {{"spec", object(&workloadSpec)}, {"status", object(&conditionsStatus)}});
    kind("apps", "StatefulSet", {{"spec", object(&statefulSetSpec)}, {"status", object(&conditionsStatus)}});
    plain("apps", "ControllerRevision");
    // batch
    kind("batch", "Job", {{"spec", object(&jobSpec)}, {"status", object(&conditionsStatusPatch)}});
    kind("batch", "CronJob", {{"spec", object(&cronJobSpec)}});
    // networking, policy, autoscaling
    kind("networking.k8s.io", "NetworkPolicy", {{"spec", object(&networkPolicySpec)}});
    kind("networking.k8s.io", "Ingress", {{"status", object(&conditionsStatus)}});
    plain("networking.k8s.io", "IngressClass");
    kind("policy", "PodDisruptionBudget", {{"spec", object(&pdbSpec)}, {"status", object(&conditionsStatus)}});
    kind("autoscaling", "HorizontalPodAutoscaler", {{"status", object(&conditionsStatus)}});
    // admission webhooks merge their webhooks by name
    for (const char* k : {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}) {
      kind("admissionregistration.k8s.io", k, {{"webhooks", keyedList("name", {{"name", ""}}, nullptr)}});
    }
    // the rest: metadata only
    for (const char* k : {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}) {
      plain("rbac.authorization.k8s.io", k);
    }
    plain("coordination.k8s.io", "Lease");
    plain("discovery.k8s.io", "EndpointSlice");
    plain("events.k8s.io", "Event");
    plain("storage.k8s.io", "StorageClass");
    plain("scheduling.k8s.io", "PriorityClass");
    plain("apiextensions.k8s.io", "CustomResourceDefinition");
    plain("certificates.k8s.io", "CertificateSigningRequest");
  }
};

const Registry& registry() {
  static const Registry r;
  return r;
}

}  // namespace

const PatchMeta* patchMetaFor(std::string_view group, std::string_view kind) {
  const auto& kinds = registry().kinds;
  auto it = kinds.find(std::make_pair(std::string(group), std::string(kind)));
  return it == kinds.end() ? nullptr : &it->second;
}

const PatchMeta& customResourcePatchMeta() { return registry().customResource; }

// ---------------------------------------------------------------------------------------------
// Patch types

std::string_view contentTypeFor(PatchType type) {
  switch (type) {
    case PatchType::kJson: return "application/json-patch+json";
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kApply: return "application/apply-patch+yaml";
  }
  return "";
}

Status unsupportedPatchType(bool builtInKind) {
  // k8s.io/apiserver negotiation.errUnsupportedMediaType over the handler's accepted patch types;
  // the custom resource handler leaves strategic merge patch out of that list.
  std::string accepted = std::string(contentTypeFor(PatchType::kJson)) + ", " +
                         std::string(contentTypeFor(PatchType::kMerge)) + ", ";
  if (builtInKind) accepted += std::string(contentTypeFor(PatchType::kStrategicMerge)) + ", ";
  accepted += std::string(contentTypeFor(PatchType::kApply));
  return unimplemented("the body of the request was in an unknown format - accepted media types include: " +
                       accepted);
}

StatusOr<PatchType> patchTypeFromContentType(std::string_view contentType, bool builtInKind) {
  std::string_view t = contentType.substr(0, contentType.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  for (PatchType type : {PatchType::kJson, PatchType::kMerge, PatchType::kStrategicMerge, PatchType::kApply}) {
    if (t != contentTypeFor(type)) continue;
    if (type == PatchType::kStrategicMerge && !builtInKind) break;
    return type;
  }
  return unsupportedPatchType(builtInKind);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

namespace {

// A short rendering of a value for error messages.
std::string brief(const Value& v) {
  std::string s = json::write(v);
  if (s.size() > 200) s = s.substr(0, 197) + "...";
  return s;
}

// A canonical string for matching merge keys and set items: numbers compare by value (80 and 80.0
// are the same key, as they are in Go where every JSON number is a float64).
std::string keyString(const Value& v) {
  if (v.IsNumber() && !v.IsInt64() && !v.IsUint64()) {
    double d = v.GetDouble();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
      return std::to_string(static_cast<int64_t>(d));
    }
  }
  return json::write(v);
}

Value copyOf(const Value& v, Allocator& a) { return Value(v, a); }

bool startsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// JSON Patch (RFC 6902)

namespace {

constexpr size_t kMaxJsonPatchOperations = 10000;  // apiserver's maxJSONPatchOperations

// Splits a JSON Pointer (RFC 6901) into unescaped reference tokens; nullopt-like error text on
// malformed input.
Status parsePointer(std::string_view p, std::vector<std::string>& tokens) {
  tokens.clear();
  if (p.empty()) return Status::ok();
  if (p[0] != '/') return invalidArgument("a JSON pointer must be empty or start with '/'");
  std::string cur;
  for (size_t i = 1; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      tokens.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (p[i] == '~') {
      if (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1')) {
        return invalidArgument("invalid escape in JSON pointer: '~' must be followed by '0' or '1'");
      }
      cur.push_back(p[i + 1] == '0' ? '~' : '/');
      ++i;
    } else {
      cur.push_back(p[i]);
    }
  }
  return Status::ok();
}

// An array index token: digits without leading zeros. nullopt otherwise (including "-").
std::optional<size_t> parseIndex(const std::string& t) {
  if (t.empty() || t.size() > 15) return std::nullopt;
  if (t.size() > 1 && t[0] == '0') return std::nullopt;
  size_t n = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  return n;
}

class JsonPatcher {
 public:
  explicit JsonPatcher(Document& doc) : doc_(doc), a_(doc.GetAllocator()) {}

  Status run(const Value& ops) {
    if (!ops.IsArray()) {
      return invalidArgument(std::string("a json patch must be a JSON array of operations, got ") + json::typeName(ops));
    }
    if (ops.Size() > kMaxJsonPatchOperations) {
      return payloadTooLarge("The allowed maximum operations in a JSON patch is " +
                             std::to_string(kMaxJsonPatchOperations) + ", got " + std::to_string(ops.Size()));
    }
    for (rapidjson::SizeType i = 0; i < ops.Size(); ++i) {
      KUBEOP_RETURN_IF_ERROR(runOne(i, ops[i]));
    }
    return Status::ok();
  }

 private:
  Status fail(size_t i, std::string_view op, std::string_view path, std::string_view what) const {
    std::string head = "json patch operation " + std::to_string(i);
    if (!op.empty()) head += " (" + std::string(op) + " \"" + std::string(path) + "\")";
    return invalidArgument(head + ": " + std::string(what));
  }

  Status runOne(size_t i, const Value& op) {
    if (!op.IsObject()) return fail(i, "", "", std::string("an operation must be an object, got ") + json::typeName(op));
    const Value* opName = json::find(op, "op");
    if (!opName || !opName->IsString()) return fail(i, "", "", "missing \"op\"");
    const Value* pathV = json::find(op, "path");
    std::string_view name = json::view(*opName);
    if (!pathV || !pathV->IsString()) return fail(i, name, "", "missing \"path\"");
    std::string_view path = json::view(*pathV);
    std::vector<std::string> tokens;
    if (Status s = parsePointer(path, tokens); !s.isOk()) return fail(i, name, path, s.message());

    const Value* value = json::find(op, "value");
    auto needValue = [&]() -> Status {
      return value ? Status::ok() : fail(i, name, path, "missing \"value\"");
    };
    std::vector<std::string> fromTokens;
    std::string_view from;
    auto needFrom = [&]() -> Status {
      const Value* f = json::find(op, "from");
      if (!f || !f->IsString()) return fail(i, name, path, "missing \"from\"");
      from = json::view(*f);
      if (Status s = parsePointer(from, fromTokens); !s.isOk()) return fail(i, name, path, "from: " + s.message());
      return Status::ok();
    };

    std::string err;
    if (name == "add") {
      KUBEOP_RETURN_IF_ERROR(needValue());
      if (!add(tokens, copyOf(*value, a_), err)) return fail(i, name, path, err);
    } else if (name == "remove") {
      Value removed;
      if (!remove(tokens, removed, err)) return fail(i, name, path, err);
    } else if (name == "replace") {
      KUBEOP_RETURN_IF_ERROR(needValue());
      Value* target = resolve(tokens, tokens.size(), err);
      if (!target) return fail(i, name, path, err);
      *target = copyOf(*value, a_);
    } else if (name == "move") {
      KUBEOP_RETURN_IF_ERROR(needFrom());
      if (!resolve(fromTokens, fromTokens.size(), err)) return fail(i, name, path, "from: " + err);
      if (from == path) return Status::ok();
      if (startsWith(path, std::string(from) + "/")) {
        return fail(i, name, path, "cannot move \"" + std::string(from) + "\" into one of its own children");
      }
      Value moved;
      if (!remove(fromTokens, moved, err)) return fail(i, name, path, "from: " + err);
      if (!add(tokens, std::move(moved), err)) return fail(i, name, path, err);
    } else if (name == "copy") {
      KUBEOP_RETURN_IF_ERROR(needFrom());
      Value* source = resolve(fromTokens, fromTokens.size(), err);
      if (!source) return fail(i, name, path, "from: " + err);
      if (!add(tokens, copyOf(*source, a_), err)) return fail(i, name, path, err);
    } else if (name == "test") {
      KUBEOP_RETURN_IF_ERROR(needValue());
      Value* target = resolve(tokens, tokens.size(), err);
      if (!target) return fail(i, name, path, err);
      if (!(*target == *value)) {
        return fail(i, name, path, "test failed: the value is " + brief(*target) + ", expected " + brief(*value));
      }
    } else {
      return fail(i, "", "", "unknown op \"" + std::string(name) + "\"");
    }
    return Status::ok();
  }

  // The value at the first `count` tokens, or nullptr with `err` set.
  Value* resolve(const std::vector<std::string>& tokens, size_t count, std::string& err) {
    Value* cur = &doc_;
    for (size_t k = 0; k < count; ++k) {
      const std::string& t = tokens[k];
      if (cur->IsObject()) {
        cur = json::find(*cur, t);
        if (!cur) {
          err = "path not found: no member \"" + t + "\"";
          return nullptr;
        }
      } else if (cur->IsArray()) {
        auto idx = parseIndex(t);
        if (!idx) {
          err = "invalid array index \"" + t + "\"";
          return nullptr;
        }
        if (*idx >= cur->Size()) {
          err = "path not found: index " + t + " is out of range (the array has " + std::to_string(cur->Size()) +
                " items)";
          return nullptr;
        }
        cur = &(*cur)[static_cast<rapidjson::SizeType>(*idx)];
      } else {
        err = "path not found: cannot look up \"" + t + "\" in a " + json::typeName(*cur);
        return nullptr;
      }
    }
    return cur;
  }

  bool add(const std::vector<std::string>& tokens, Value v, std::string& err) {
    if (tokens.empty()) {
      static_cast<Value&>(doc_) = v;
      return true;
    }
    Value* parent = resolve(tokens, tokens.size() - 1, err);
    if (!parent) return false;
    const std::string& last = tokens.back();
    if (parent->IsObject()) {
      if (Value* existing = json::find(*parent, last)) {
        *existing = v;
      } else {
        parent->AddMember(json::str(last, a_), v, a_);
      }
      return true;
    }
    if (parent->IsArray()) {
      size_t size = parent->Size();
      size_t at = size;
      if (last != "-") {
        auto idx = parseIndex(last);
        if (!idx) {
          err = "invalid array index \"" + last + "\"";
          return false;
        }
        if (*idx > size) {
          err = "index " + last + " is out of range (the array has " + std::to_string(size) + " items)";
          return false;
        }
        at = *idx;
      }
      parent->PushBack(v, a_);
      for (size_t k = size; k > at; --k) {
        (*parent)[static_cast<rapidjson::SizeType>(k)].Swap((*parent)[static_cast<rapidjson::SizeType>(k - 1)]);
      }
      return true;
    }
    err = std::string("cannot add a member to a ") + json::typeName(*parent);
    return false;
  }

  bool remove(const std::vector<std::string>& tokens, Value& out, std::string& err) {
    if (tokens.empty()) {
      err = "cannot remove the whole document";
      return false;
    }
    Value* parent = resolve(tokens, tokens.size() - 1, err);
    if (!parent) return false;
    const std::string& last = tokens.back();
    if (parent->IsObject()) {
      auto it = parent->FindMember(Value(rapidjson::StringRef(last.data(), static_cast<rapidjson::SizeType>(last.size()))));
      if (it == parent->MemberEnd()) {
        err = "path not found: no member \"" + last + "\"";
        return false;
      }
      out = it->value;
      parent->EraseMember(it);
      return true;
    }
    if (parent->IsArray()) {
      auto idx = parseIndex(last);
      if (!idx) {
        err = "invalid array index \"" + last + "\"";
        return false;
      }
      if (*idx >= parent->Size()) {
        err = "path not found: index " + last + " is out of range (the array has " + std::to_string(parent->Size()) +
              " items)";
        return false;
      }
      out = (*parent)[static_cast<rapidjson::SizeType>(*idx)];
      parent->Erase(parent->Begin() + *idx);
      return true;
    }
    err = std::string("path not found: cannot remove from a ") + json::typeName(*parent);
    return false;
  }

  Document& doc_;
  Allocator& a_;
};

}  // namespace

StatusOr<Document> jsonPatch(const Value& doc, const Value& patch) {
  Document out;
  out.CopyFrom(doc, out.GetAllocator());
  JsonPatcher patcher(out);
  KUBEOP_RETURN_IF_ERROR(patcher.run(patch));
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON merge patch (RFC 7386)

namespace {

// MergePatch(target, patch) of RFC 7386 section 2, in place.
void mergeInto(Value& target, const Value& patch, Allocator& a) {
  if (!patch.IsObject()) {
    target = copyOf(patch, a);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (auto m = patch.MemberBegin(); m != patch.MemberEnd(); ++m) {
    auto it = target.FindMember(m->name);
    if (m->value.IsNull()) {
      if (it != target.MemberEnd()) target.EraseMember(it);
      continue;
    }
    if (it != target.MemberEnd()) {
      mergeInto(it->value, m->value, a);
    } else {
      Value fresh;
      mergeInto(fresh, m->value, a);
      target.AddMember(Value(m->name, a), fresh, a);
    }
  }
}

}  // namespace

StatusOr<Document> mergePatch(const Value& doc, const Value& patch) {
  if (!patch.IsObject()) {
    return invalidArgument(std::string("a merge patch must be a JSON object, got ") + json::typeName(patch));
  }
  Document out;
  out.CopyFrom(doc, out.GetAllocator());
  mergeInto(out, patch, out.GetAllocator());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch

namespace {

constexpr std::string_view kDirective = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";

enum class ItemKind { kNone, kObject, kScalar };

class StrategicMerger {
 public:
  explicit StrategicMerger(Allocator& a) : a_(a) {}

  // mergeMap of upstream: `original` becomes the merge of itself and `patch` (both objects).
  Status mergeMap(Value& original, const Value& patch, const PatchMeta* type, const std::string& path) {
    if (const Value* d = json::find(patch, kDirective)) {
      std::string_view directive = json::view(*d);
      if (d->IsString() && directive == "replace") {
        Value fresh(rapidjson::kObjectType);
        KUBEOP_RETURN_IF_ERROR(mergeEntries(fresh, patch, type, path));
        original = fresh;
        return Status::ok();
      }
      if (d->IsString() && directive == "delete") {
        original.SetObject();
        return Status::ok();
      }
      return fail(path, "unknown patch type: " + (d->IsString() ? std::string(directive) : brief(*d)) +
                            " in map: " + brief(patch));
    }
    if (!original.IsObject()) original.SetObject();
    return mergeEntries(original, patch, type, path);
  }

 private:
  static Status fail(const std::string& path, std::string_view what) {
    return invalidArgument("strategic merge patch at " + (path.empty() ? std::string(".") : path) + ": " +
                           std::string(what));
  }

  static std::string child(const std::string& path, std::string_view key) { return path + "." + std::string(key); }

  static const FieldMeta* fieldOf(const PatchMeta* type, std::string_view key) {
    return type ? type->field(key) : nullptr;
  }

  Status mergeEntries(Value& original, const Value& patch, const PatchMeta* type, const std::string& path) {
    KUBEOP_RETURN_IF_ERROR(applyRetainKeys(original, patch, path));
    std::unordered_set<std::string> done;  // list fields already merged by $setElementOrder
    KUBEOP_RETURN_IF_ERROR(applySetElementOrder(original, patch, type, path, done));

    for (auto m = patch.MemberBegin(); m != patch.MemberEnd(); ++m) {
      std::string_view key(m->name.GetString(), m->name.GetStringLength());
      if (key == kDirective || key == kRetainKeys || startsWith(key, kSetElementOrder)) continue;
      if (done.count(std::string(key))) continue;
      const Value& pv = m->value;

      if (startsWith(key, kDeleteFromPrimitiveList)) {
        KUBEOP_RETURN_IF_ERROR(deleteFromPrimitiveList(original, key.substr(kDeleteFromPrimitiveList.size()), pv, path));
        continue;
      }
      auto it = original.FindMember(m->name);
      if (pv.IsNull()) {
        if (it != original.MemberEnd()) original.EraseMember(it);
        continue;
      }
      const FieldMeta* fm = fieldOf(type, key);
      std::string at = child(path, key);
      if (it == original.MemberEnd()) {
        Value fresh;
        KUBEOP_RETURN_IF_ERROR(clean(fresh, pv, fm, at));
        original.AddMember(Value(m->name, a_), fresh, a_);
        continue;
      }
      Value& ov = it->value;
      if (ov.IsObject() && pv.IsObject() && !(fm && fm->replaceObject)) {
        KUBEOP_RETURN_IF_ERROR(mergeMap(ov, pv, fm ? fm->type : nullptr, at));
      } else if (ov.IsArray() && pv.IsArray() && fm && fm->mergeList) {
        KUBEOP_RETURN_IF_ERROR(mergeList(ov, pv, *fm, at));
      } else {
        Value fresh;
        KUBEOP_RETURN_IF_ERROR(clean(fresh, pv, fm, at));
        ov = fresh;
      }
    }
    return Status::ok();
  }

  // A patch value taking a place the original does not have: merged into nothing, so nulls and
  // directives inside it do not leak into the object.
  Status clean(Value& out, const Value& pv, const FieldMeta* fm, const std::string& path) {
    if (pv.IsObject()) {
      out.SetObject();
      if (fm && fm->replaceObject) {
        // Still drop directives and nulls of the replacing object.
        return mergeEntries(out, pv, fm->type, path);
      }
      return mergeMap(out, pv, fm ? fm->type : nullptr, path);
    }
    if (pv.IsArray()) {
      out.SetArray();
      if (fm && fm->mergeList) return mergeList(out, pv, *fm, path);
      for (const auto& item : pv.GetArray()) {
        Value v;
        if (item.IsObject()) {
          v.SetObject();
          KUBEOP_RETURN_IF_ERROR(mergeMap(v, item, fm ? fm->type : nullptr, path));
        } else {
          v = copyOf(item, a_);
        }
        out.PushBack(v, a_);
      }
      return Status::ok();
    }
    out = copyOf(pv, a_);
    return Status::ok();
  }

  Status applyRetainKeys(Value& original, const Value& patch, const std::string& path) {
    const Value* retain = json::find(patch, kRetainKeys);
    if (!retain) return Status::ok();
    if (!retain->IsArray()) return fail(path, "invalid patch format of retainKeys: $retainKeys must be a list");
    std::unordered_set<std::string> keep;
    for (const auto& k : retain->GetArray()) {
      if (!k.IsString()) return fail(path, "invalid patch format of retainKeys: " + brief(k) + " is not a field name");
      keep.emplace(k.GetString(), k.GetStringLength());
    }
    for (auto m = patch.MemberBegin(); m != patch.MemberEnd(); ++m) {
      std::string_view key(m->name.GetString(), m->name.GetStringLength());
      if (m->value.IsNull() || key == kRetainKeys || key == kDirective || startsWith(key, kDeleteFromPrimitiveList) ||
          startsWith(key, kSetElementOrder)) {
        continue;
      }
      if (!keep.count(std::string(key))) {
        return fail(path, "invalid patch format of retainKeys: \"" + std::string(key) +
                              "\" is in the patch but not in $retainKeys");
      }
    }
    for (auto it = original.MemberBegin(); it != original.MemberEnd();) {
      if (keep.count(std::string(it->name.GetString(), it->name.GetStringLength()))) {
        ++it;
      } else {
        it = original.EraseMember(it);
      }
    }
    return Status::ok();
  }

  Status deleteFromPrimitiveList(Value& original, std::string_view field, const Value& toDelete,
                                 const std::string& path) {
    if (field.empty() || !toDelete.IsArray()) {
      return fail(path, "invalid patch format of primitive list: $deleteFromPrimitiveList/<field> must name a field "
                        "and hold a list");
    }
    Value* list = json::find(original, field);
    if (!list || !list->IsArray()) return Status::ok();  // nothing to delete from
    std::unordered_set<std::string> gone;
    for (const auto& v : toDelete.GetArray()) gone.insert(keyString(v));
    Value kept(rapidjson::kArrayType);
    for (auto& v : list->GetArray()) {
      if (!gone.count(keyString(v))) kept.PushBack(v, a_);
    }
    *list = kept;
    return Status::ok();
  }

  // The kind of every item of the given lists, or an error for lists of lists and mixed lists
  // (upstream sliceElementType).
  static Status itemKind(std::initializer_list<const Value*> lists, ItemKind& kind, const std::string& path) {
    kind = ItemKind::kNone;
    rapidjson::Type scalarType = rapidjson::kNullType;
    for (const Value* list : lists) {
      if (!list) continue;
      for (const auto& v : list->GetArray()) {
        if (v.IsArray()) return fail(path, "lists of lists are not supported");
        ItemKind k = v.IsObject() ? ItemKind::kObject : ItemKind::kScalar;
        rapidjson::Type t = v.GetType() == rapidjson::kTrueType ? rapidjson::kFalseType : v.GetType();
        if (kind == ItemKind::kNone) {
          kind = k;
          scalarType = t;
        } else if (kind != k || (k == ItemKind::kScalar && t != scalarType)) {
          return fail(path, "list element types are not identical");
        }
      }
    }
    return Status::ok();
  }

  // The merge key of an item, or an error naming the item.
  static Status mergeKeyOf(const Value& item, const std::string& mergeKey, std::string& out, const std::string& path) {
    const Value* k = item.IsObject() ? json::find(item, mergeKey) : nullptr;
    if (!k) return fail(path, "map: " + brief(item) + " does not contain declared merge key: " + mergeKey);
    out = keyString(*k);
    return Status::ok();
  }

  // Orders merged items as upstream's normalizeElementOrder + mergeSortedSlice: items named by the
  // patch (or by $setElementOrder) come in that order; items only the server had keep their
  // relative order and their place before patch items that followed them in the original.
  static std::vector<Value> order(std::vector<Value> items, const std::vector<std::string>& itemKeys,
                                  const std::unordered_map<std::string, size_t>& patchOrder,
                                  const std::unordered_map<std::string, size_t>& serverOrder) {
    std::vector<size_t> fromPatch, serverOnly;
    for (size_t i = 0; i < items.size(); ++i) {
      (patchOrder.count(itemKeys[i]) ? fromPatch : serverOnly).push_back(i);
    }
    auto indexIn = [&](const std::unordered_map<std::string, size_t>& m, size_t i) -> std::optional<size_t> {
      auto it = m.find(itemKeys[i]);
      if (it == m.end()) return std::nullopt;
      return it->second;
    };
    std::stable_sort(fromPatch.begin(), fromPatch.end(),
                     [&](size_t x, size_t y) { return *indexIn(patchOrder, x) < *indexIn(patchOrder, y); });
    std::stable_sort(serverOnly.begin(), serverOnly.end(), [&](size_t x, size_t y) {
      auto ix = indexIn(serverOrder, x), iy = indexIn(serverOrder, y);
      if (ix && iy) return *ix < *iy;
      return false;
    });
    std::vector<Value> out;
    out.reserve(items.size());
    size_t i = 0, j = 0;
    while (i < serverOnly.size() || j < fromPatch.size()) {
      bool takeServer;
      if (j >= fromPatch.size()) {
        takeServer = true;
      } else if (i >= serverOnly.size()) {
        takeServer = false;
      } else {
        auto li = indexIn(serverOrder, serverOnly[i]);
        auto ri = indexIn(serverOrder, fromPatch[j]);
        takeServer = li && ri && *li < *ri;
      }
      out.push_back(std::move(items[takeServer ? serverOnly[i++] : fromPatch[j++]]));
    }
    return out;
  }

  void assign(Value& list, std::vector<Value>& items) {
    list.SetArray();
    list.Reserve(static_cast<rapidjson::SizeType>(items.size()), a_);
    for (auto& v : items) list.PushBack(v, a_);
  }

  // mergeSlice of upstream for a list with patchStrategy=merge.
  Status mergeList(Value& original, const Value& patch, const FieldMeta& fm, const std::string& path) {
    if (original.Empty() && patch.Empty()) return Status::ok();
    ItemKind kind;
    KUBEOP_RETURN_IF_ERROR(itemKind({&original, &patch}, kind, path));
    if (kind == ItemKind::kScalar) return mergeScalarSet(original, patch);

    const std::string& mergeKey = fm.patchMergeKey;
    if (mergeKey.empty()) return fail(path, "cannot merge lists without merge key");

    // Directive items: $patch: delete removes by key, $patch: replace replaces the whole list.
    std::unordered_set<std::string> deleted;
    bool replace = false;
    std::vector<const Value*> plain;
    for (const auto& item : patch.GetArray()) {
      const Value* d = json::find(item, kDirective);
      if (!d) {
        plain.push_back(&item);
        continue;
      }
      std::string_view directive = json::view(*d);
      if (d->IsString() && directive == "delete") {
        std::string k;
        KUBEOP_RETURN_IF_ERROR(mergeKeyOf(item, mergeKey, k, path));
        deleted.insert(std::move(k));
      } else if (d->IsString() && directive == "replace") {
        replace = true;
      } else if (d->IsString() && directive == "merge") {
        return fail(path, "merging lists cannot yet be specified in the patch");
      } else {
        return fail(path, "unknown patch type: " + brief(*d) + " in map: " + brief(item));
      }
    }
    if (replace) {
      Value fresh(rapidjson::kArrayType);
      for (const Value* item : plain) {
        Value v(rapidjson::kObjectType);
        KUBEOP_RETURN_IF_ERROR(mergeMap(v, *item, fm.type, path));
        fresh.PushBack(v, a_);
      }
      original = fresh;
      return Status::ok();
    }

    // Index the surviving original items by merge key (first occurrence wins, as upstream's
    // linear search does).
    std::vector<Value> items;
    std::vector<std::string> keys;
    std::unordered_map<std::string, size_t> serverOrder;
    items.reserve(original.Size() + plain.size());
    for (auto& v : original.GetArray()) {
      std::string k;
      KUBEOP_RETURN_IF_ERROR(mergeKeyOf(v, mergeKey, k, path));
      if (deleted.count(k)) continue;
      serverOrder.emplace(k, items.size());
      keys.push_back(std::move(k));
      items.emplace_back(std::move(v));
    }
    std::unordered_map<std::string, size_t> position = serverOrder;
    std::unordered_map<std::string, size_t> patchOrder;
    for (const Value* item : plain) {
      std::string k;
      KUBEOP_RETURN_IF_ERROR(mergeKeyOf(*item, mergeKey, k, path));
      patchOrder.emplace(k, patchOrder.size());
      auto found = position.find(k);
      if (found != position.end()) {
        KUBEOP_RETURN_IF_ERROR(mergeMap(items[found->second], *item, fm.type, path + "[" + k + "]"));
      } else {
        Value v(rapidjson::kObjectType);
        KUBEOP_RETURN_IF_ERROR(mergeMap(v, *item, fm.type, path + "[" + k + "]"));
        position.emplace(k, items.size());
        keys.push_back(k);
        items.push_back(std::move(v));
      }
    }
    std::vector<Value> ordered = order(std::move(items), keys, patchOrder, serverOrder);
    assign(original, ordered);
    return Status::ok();
  }

  // A list of scalars with patchStrategy=merge: the union, without duplicates.
  Status mergeScalarSet(Value& original, const Value& patch) {
    std::vector<Value> items;
    std::vector<std::string> keys;
    std::unordered_map<std::string, size_t> serverOrder, patchOrder, seen;
    for (auto& v : original.GetArray()) {
      std::string k = keyString(v);
      serverOrder.emplace(k, serverOrder.size());
      if (!seen.emplace(k, items.size()).second) continue;
      keys.push_back(std::move(k));
      items.emplace_back(std::move(v));
    }
    for (const auto& v : patch.GetArray()) {
      std::string k = keyString(v);
      patchOrder.emplace(k, patchOrder.size());
      if (!seen.emplace(k, items.size()).second) continue;
      keys.push_back(std::move(k));
      items.push_back(copyOf(v, a_));
    }
    std::vector<Value> ordered = order(std::move(items), keys, patchOrder, serverOrder);
    assign(original, ordered);
    return Status::ok();
  }

  // $setElementOrder/<field>: merges the field's list now (so the main loop skips it) and puts the
  // items in the order the list gives, server-only items keeping their relative places.
  Status applySetElementOrder(Value& original, const Value& patch, const PatchMeta* type, const std::string& path,
                              std::unordered_set<std::string>& done) {
    for (auto m = patch.MemberBegin(); m != patch.MemberEnd(); ++m) {
      std::string_view key(m->name.GetString(), m->name.GetStringLength());
      if (!startsWith(key, kSetElementOrder)) continue;
      std::string field(key.substr(kSetElementOrder.size()));
      const Value& orderList = m->value;
      if (field.empty() || !orderList.IsArray()) {
        return fail(path, "invalid patch format of setElementOrder list: $setElementOrder/<field> must name a field "
                          "and hold a list");
      }
      std::string at = child(path, field);
      const FieldMeta* fm = fieldOf(type, field);
      Value* originalList = json::find(original, field);
      const Value* patchList = json::find(patch, field);
      // A non-list on either side is a replacement (or a deletion): the main loop handles it.
      if ((originalList && !originalList->IsArray()) || (patchList && !patchList->IsArray())) continue;
      if (!originalList && !patchList) continue;
      // Order only lists that merge; other lists are replaced by the patch as they stand.
      if (!fm || !fm->mergeList) continue;

      ItemKind kind;
      KUBEOP_RETURN_IF_ERROR(itemKind({originalList, patchList, &orderList}, kind, at));
      const std::string mergeKey = kind == ItemKind::kObject ? fm->patchMergeKey : std::string();
      if (kind == ItemKind::kObject && mergeKey.empty()) return fail(at, "cannot merge lists without merge key");
      auto keyOf = [&](const Value& v, std::string& k) -> Status {
        if (mergeKey.empty()) {
          k = keyString(v);
          return Status::ok();
        }
        return mergeKeyOf(v, mergeKey, k, at);
      };

      std::unordered_map<std::string, size_t> wanted;
      for (const auto& v : orderList.GetArray()) {
        std::string k;
        KUBEOP_RETURN_IF_ERROR(keyOf(v, k));
        wanted.emplace(std::move(k), wanted.size());
      }
      // The patch's own items must already be in the order the list gives (upstream
      // validatePatchWithSetOrderList); deletions are exempt.
      if (patchList) {
        size_t last = 0;
        bool first = true;
        for (const auto& v : patchList->GetArray()) {
          if (v.IsObject() && json::find(v, kDirective)) continue;
          std::string k;
          KUBEOP_RETURN_IF_ERROR(keyOf(v, k));
          auto it = wanted.find(k);
          if (it == wanted.end() || (!first && it->second < last)) {
            return fail(at, "the order in the patch list doesn't match its $setElementOrder list");
          }
          last = it->second;
          first = false;
        }
      }

      std::unordered_map<std::string, size_t> serverOrder;
      if (originalList) {
        for (const auto& v : originalList->GetArray()) {
          std::string k;
          KUBEOP_RETURN_IF_ERROR(keyOf(v, k));
          serverOrder.emplace(std::move(k), serverOrder.size());
        }
      }
      Value merged(rapidjson::kArrayType);
      if (originalList) merged = *originalList;  // moved: the list is re-seated below
      if (patchList) {
        if (originalList) {
          KUBEOP_RETURN_IF_ERROR(mergeList(merged, *patchList, *fm, at));
        } else {
          KUBEOP_RETURN_IF_ERROR(clean(merged, *patchList, fm, at));
        }
      }
      std::vector<Value> items;
      std::vector<std::string> keys;
      for (auto& v : merged.GetArray()) {
        std::string k;
        KUBEOP_RETURN_IF_ERROR(keyOf(v, k));
        keys.push_back(std::move(k));
        items.emplace_back(std::move(v));
      }
      std::vector<Value> ordered = order(std::move(items), keys, wanted, serverOrder);
      Value result(rapidjson::kArrayType);
      assign(result, ordered);
      if (originalList) {
        *originalList = result;
      } else {
        original.AddMember(json::str(field, a_), result, a_);
      }
      done.insert(field);
    }
    return Status::ok();
  }

  Allocator& a_;
};

}  // namespace

StatusOr<Document> strategicMergePatch(const Value& doc, const Value& patch, const PatchMeta* meta) {
  if (!meta) return unsupportedPatchType(false);
  if (!patch.IsObject()) {
    return invalidArgument(std::string("a strategic merge patch must be a JSON object, got ") + json::typeName(patch));
  }
  Document out;
  out.CopyFrom(doc, out.GetAllocator());
  if (!out.IsObject()) out.SetObject();
  StrategicMerger merger(out.GetAllocator());
  KUBEOP_RETURN_IF_ERROR(merger.mergeMap(out, patch, meta, ""));
  return out;
}

StatusOr<Document> applyPatch(PatchType type, const Value& doc, std::string_view body, const PatchMeta* meta) {
  if (type == PatchType::kApply) {
    return invalidArgument("apply patches are merged by server-side apply, not applied as patches");
  }
  if (type == PatchType::kStrategicMerge && !meta) return unsupportedPatchType(false);
  KUBEOP_ASSIGN_OR_RETURN(Document patch, json::parse(body));
  switch (type) {
    case PatchType::kJson: return jsonPatch(doc, patch);
    case PatchType::kMerge: return mergePatch(doc, patch);
    case PatchType::kStrategicMerge: return strategicMergePatch(doc, patch, meta);
    case PatchType::kApply: break;
  }
  return invalidArgument("unknown patch type");
}

}  // namespace kubeop::kube
