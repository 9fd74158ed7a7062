// Server-side apply and field ownership (metadata.managedFields), as the apiserver computes them
// with sigs.k8s.io/structured-merge-diff: pure functions over RapidJSON values for
// `kubeop sandbox` and for kubeop's client, which predicts what the server will store.
//
// Ownership model:
//  - Every manager's entry lists the fields it owns in the FieldsV1 format: "f:<field>" for object
//    fields, "k:{...}" for items of associative lists (keyed by their list-map keys), "v:<value>"
//    for items of sets, "." for a node that is owned itself as well as through its children.
//  - An Apply entry owns exactly the fields of the manager's last applied configuration. Fields a
//    manager stops applying are removed from the object unless another manager still owns them.
//  - An Update entry (recordUpdate: create, update, and patches other than apply) owns the fields
//    its writes set or changed; such writes take ownership from everyone else without conflict.
//  - Applying a value different from the live one for a field another manager owns is a conflict
//    (Aborted, the apiserver's 409 wording) unless `force`, which takes the field over. Applying
//    the same value shares ownership.
//
// What the caller (the API server) still does, as the apiserver's handlers do around the field
// manager: check `metadata.resourceVersion` of an apply body as a precondition when present; check
// apiVersion/kind/name against the URL; restore server-owned metadata (uid, creationTimestamp,
// resourceVersion, generation, deletionTimestamp) and default and validate the result.
//
// Thread-safety: pure functions; no shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"
#include "kubeop/kube/patch.h"

namespace kubeop::kube {

// What a write targets.
enum class Subresource {
  kNone,    // the resource itself: `.status` is ignored (the live status is kept)
  kStatus,  // the status subresource: `.spec` is ignored; entries record subresource "status"
};

// One field in conflict, shaped like the apiserver's StatusCause (type FieldManagerConflict).
struct FieldConflict {
  std::string manager;  // the manager's name ("kubectl-client-side-apply")
  std::string message;  // "conflict with \"kubectl-client-side-apply\" using apps/v1"
  std::string field;    // ".spec.replicas", ".spec.template.spec.containers[name=\"web\"].image"
};

struct ApplyOptions {
  Subresource subresource = Subresource::kNone;
  // False for custom resources without a status subresource: `.status` is then an ordinary field.
  bool hasStatusSubresource = true;
  // When set, filled with the conflicts of an apply that fails with them (for the 409's causes).
  std::vector<FieldConflict>* conflicts = nullptr;
};

struct ApplyResult {
  json::Document object;  // the merged object, with metadata.managedFields
  // The object's content (managedFields aside) differs from the live object. When false the
  // apply was a no-op for the content, though ownership may still have changed: compare the
  // whole object to decide whether to write, as the apiserver's storage does.
  bool changed = false;
};

// Server-side apply of `applied` (an apply patch body, already parsed from YAML/JSON) over `live`
// (nullptr when the object does not exist yet) on behalf of `manager`.
//  - `meta` is the kind's table (patchMetaFor); nullptr for custom resources, whose lists are
//    then atomic and objects structs (metadata still follows ObjectMeta).
//  - `now` is the RFC 3339 time recorded in the applier's entry ("2024-05-01T12:00:00Z").
//  - Errors: InvalidArgument for a malformed body (not an object, no apiVersion/kind, a non-null
//    metadata.managedFields — "metadata.managedFields must be nil" as upstream —, list items
//    without their keys, duplicate keys); Aborted for conflicts, with the apiserver's message:
//    `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1:
//    .spec.replicas`; Internal when live's managedFields cannot be decoded.
//  - A live object without managedFields first has its fields attributed to an Update entry
//    "before-first-apply", as the apiserver does, so applies conflict with pre-existing values.
StatusOr<ApplyResult> apply(const json::Value* live, const json::Value& applied, std::string_view manager,
                            bool force, const PatchMeta* meta, std::string_view now,
                            const ApplyOptions& options = {});

// Records a non-apply write (create when `live` is nullptr, update, JSON/merge/strategic patch)
// of `updated` — the object about to be stored, after the strategy reset what the write may not
// change — by `manager`, returning `updated` with metadata.managedFields brought up to date:
// the manager's Update entry gains every field the write added or changed, other managers lose
// those fields and every removed field. As the apiserver:
//  - managedFields sent in `updated` replace the live ones when valid and non-empty; `[]` or
//    `[{}]` clears them, and a live object without managedFields is not tracked by updates;
//  - at most 10 Update entries are kept, the oldest folded into "ancient-changes".
//  - when ownership cannot be computed (list items without their keys) the live entries carry
//    over unchanged: bookkeeping never fails a write (FieldManager.UpdateNoErrors).
// InvalidArgument only when `updated` (or `live`) is not an object or has no apiVersion.
// `options.conflicts` is not used (updates never conflict).
StatusOr<json::Document> recordUpdate(const json::Value* live, const json::Value& updated, std::string_view manager,
                                      const PatchMeta* meta, std::string_view now,
                                      const ApplyOptions& options = {});

}  // namespace kubeop::kube
