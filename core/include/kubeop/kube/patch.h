// Patch engines of the Kubernetes API, as pure functions over RapidJSON values: JSON Patch
// (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch as the apiserver applies it to
// built-in kinds. `kubeop sandbox` serves PATCH with them and kubeop's client uses them to predict
// what the server will store.
//
// Strategic merge patch and server-side apply (managed_fields.h) need to know how each field of a
// kind merges: that knowledge lives in PatchMeta, a small schema-ish table covering the built-in
// kinds the sandbox serves (patchMetaFor). Unknown kinds (custom resources) have no table, and
// strategic merge patch is refused for them exactly as the apiserver refuses it.
//
// No function here asserts on its input: malformed patches, pointers and directives are
// InvalidArgument errors whose message names the operation, path or field at fault.
//
// Thread-safety: the functions are pure; PatchMeta tables returned by patchMetaFor are built once
// and immutable, safe to share between threads.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"

namespace kubeop::kube {

// ---------------------------------------------------------------------------------------------
// Field metadata

class PatchMeta;

// How server-side apply tracks the items of a list (the `+listType` marker).
enum class ListType {
  kAtomic,  // the list is one value, owned and replaced whole (the default)
  kSet,     // a set of scalars: each value is owned separately ("v:<value>")
  kMap,     // an associative list keyed by `listMapKeys` ("k:{...}")
};

// One key field of an associative list (`+listMapKey`). A schema default stands in for a key an
// item omits: container ports are keyed by containerPort and protocol, protocol defaulting to TCP.
struct ListMapKey {
  std::string name;
  std::string defaultString;  // the default string value; empty = no default
};

// What the patch engines know about one field. A field without metadata takes the defaults:
// objects merge field by field; lists are replaced (strategic merge) or owned whole (apply).
struct FieldMeta {
  // --- Strategic merge patch (the Go struct tags patchStrategy / patchMergeKey).
  // patchStrategy=merge on a list: lists of objects merge item by item on `patchMergeKey`,
  // lists of scalars merge as sets. Without it lists are replaced.
  bool mergeList = false;
  std::string patchMergeKey;
  // patchStrategy=replace on an object: the patch value replaces the object instead of merging.
  bool replaceObject = false;

  // --- Server-side apply (the +listType, +listMapKey, +mapType and +structType markers).
  ListType listType = ListType::kAtomic;
  std::vector<ListMapKey> listMapKeys;
  // +mapType=atomic / +structType=atomic: the object is one value (label selectors, nodeSelector).
  bool atomic = false;
  // A map[string]T (labels, annotations, ConfigMap data): every key is an owned member of its own.
  // Objects without this flag are structs, owned through their leaves.
  bool granularMap = false;

  // The fields of the object value (of each item, for lists); nullptr when unknown.
  const PatchMeta* type = nullptr;
};

// The fields of one object type.
// Ownership: a PatchMeta owns its FieldMeta entries; FieldMeta::type points at another table it
// does not own, which must outlive it (patchMetaFor's tables are static and live for the process).
// Thread-safety: immutable once built; patchMetaFor's tables are built once, on first use.
class PatchMeta {
 public:
  PatchMeta() = default;
  PatchMeta(std::initializer_list<std::pair<const std::string, FieldMeta>> fields) : fields_(fields) {}

  // nullptr when the field has no metadata (it then takes the defaults).
  const FieldMeta* field(std::string_view name) const;
  void set(std::string name, FieldMeta meta) { fields_[std::move(name)] = std::move(meta); }

 private:
  std::map<std::string, FieldMeta, std::less<>> fields_;
};

// The table of a built-in kind ("" is the core group: patchMetaFor("apps", "Deployment")), or
// nullptr for kinds this build does not know (custom resources).
const PatchMeta* patchMetaFor(std::string_view group, std::string_view kind);

// The table of a custom resource for server-side apply: only metadata (labels, annotations,
// finalizers, ownerReferences) is known; everything else takes the defaults.
const PatchMeta& customResourcePatchMeta();

// ---------------------------------------------------------------------------------------------
// Patch types

enum class PatchType { kJson, kMerge, kStrategicMerge, kApply };

// "application/json-patch+json", "application/merge-patch+json",
// "application/strategic-merge-patch+json", "application/apply-patch+yaml".
std::string_view contentTypeFor(PatchType type);

// The apiserver's wording when a PATCH Content-Type is not accepted, which includes strategic merge
// patch sent to a custom resource. It lists what is accepted:
//   "the body of the request was in an unknown format - accepted media types include:
//    application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
// The status code is Unimplemented; the HTTP layer must answer 415 UnsupportedMediaType for it
// (httpStatusFor maps Unimplemented to 501, which is not what the apiserver sends here).
Status unsupportedPatchType(bool builtInKind);

// Parses a PATCH Content-Type header (parameters after ';' are ignored). Unimplemented
// (unsupportedPatchType) for unknown types and for strategic merge patch on a non-built-in kind.
StatusOr<PatchType> patchTypeFromContentType(std::string_view contentType, bool builtInKind);

// ---------------------------------------------------------------------------------------------
// Patch engines. Each returns a new document and leaves its inputs untouched.

// RFC 6902 JSON Patch: add, remove, replace, move, copy, test; JSON Pointers with ~0/~1 escapes and
// "-" to append. Errors name the operation index and path ("json patch operation 2 (remove
// \"/spec/x\"): ..."); a failed test is an error. More than 10000 operations is PayloadTooLarge,
// as in the apiserver.
StatusOr<json::Document> jsonPatch(const json::Value& doc, const json::Value& patch);

// RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces.
// The patch must be an object (a PATCH body for a Kubernetes object always is).
StatusOr<json::Document> mergePatch(const json::Value& doc, const json::Value& patch);

// Strategic merge patch as the apiserver applies it (k8s.io/apimachinery strategicpatch,
// StrategicMergeMapPatch): lists merge by their patchMergeKey or are replaced, scalar lists with
// patchStrategy=merge are sets, null deletes, and the directives `$patch: replace|delete` (maps and
// list items), `$retainKeys`, `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`
// are honoured. `$patch: merge` is refused as upstream refuses it. `meta` == nullptr means a kind
// without a table: Unimplemented with unsupportedPatchType(false), as the apiserver answers.
StatusOr<json::Document> strategicMergePatch(const json::Value& doc, const json::Value& patch,
                                             const PatchMeta* meta);

// Dispatches on `type` after parsing `body` as JSON. kApply is InvalidArgument here: apply is
// managed_fields.h's apply().
StatusOr<json::Document> applyPatch(PatchType type, const json::Value& doc, std::string_view body,
                                    const PatchMeta* meta);

}  // namespace kubeop::kube
