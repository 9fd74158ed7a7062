// CustomResourceDefinitions (apiextensions.k8s.io/v1) with the kube-apiserver's semantics, minus
// HTTP: what the apiserver refuses when a CRD is created, the status it writes back, and, per
// served version, the schema machinery applied to every custom resource (structural pruning,
// defaulting, OpenAPI validation with the apiserver's error wording, list-type invariants,
// printer columns, subresource facts).
//
// Upstream references (behaviour, not code): k8s.io/apiextensions-apiserver
//   pkg/apis/apiextensions/validation/validation.go     CRD create validation
//   pkg/apiserver/schema/{validation,complete}.go        structural schema rules
//   pkg/apiserver/schema/pruning/algorithm.go            pruning
//   pkg/apiserver/schema/defaulting/{algorithm,prunenulls}.go
//   pkg/apiserver/schema/listtype/validation.go           x-kubernetes-list-type set/map
//   pkg/apiserver/schema/objectmeta/                      embedded resources
//   pkg/apiserver/validation/validation.go                kube-openapi errors → field errors
//   pkg/registry/customresource/{validator,tableconvertor}
// and k8s.io/kube-openapi pkg/validation/{validate,errors,strfmt} for the value validator and
// its messages, k8s.io/apimachinery pkg/util/validation/field for the cause format.
//
// Deliberate gaps (documented where they matter): x-kubernetes-validations (CEL) rules are
// evaluated only within a small subset (see CelRule), others are recorded and skipped;
// selectableFields and conversion webhooks are not
// validated beyond their basic shape; anyOf/oneOf report the first failing branch where
// kube-openapi picks the branch with the most successful checks; `pattern` runs on std::regex
// (ECMAScript), not Go's RE2 (see CrdVersionSchema).
//
// Thread-safety: every type here is a value type. CrdVersionSchema shares its compiled, immutable
// schema between copies, so one compiled schema may be used from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"

namespace kubeop::sandbox {

// ---------------------------------------------------------------------------------------------
// Field errors: metav1.StatusCause as the apiserver fills it from a field.Error.

struct Cause {
  // metav1.CauseType: "FieldValueRequired", "FieldValueInvalid", "FieldValueTypeInvalid",
  // "FieldValueNotSupported", "FieldValueForbidden", "FieldValueDuplicate",
  // "FieldValueTooLong", "FieldValueTooMany", "InternalError".
  std::string type;
  // The field path ("spec.replicas", "spec.ports[1]", "metadata.annotations[x]"). "<nil>" where
  // the apiserver itself has no path (kube-openapi anyOf/oneOf/allOf/not and range errors).
  std::string field;
  // field.Error.ErrorBody(): `Invalid value: "string": spec.replicas in body must be of type
  // integer: "string"`, `Required value`, `Unsupported value: "x": supported values: "a", "b"`.
  std::string message;

  // field.Error.Error(): "<field>: <message>".
  std::string toString() const { return field + ": " + message; }
  friend bool operator==(const Cause&, const Cause&) = default;
};

// The message of an Invalid (422) status, errors.NewInvalid: `App.paas.kubeop.io "x" is
// invalid: spec.a: Required value` with one distinct cause, `…: [c1, c2]` with several,
// `… is invalid` with none. Causes with the same text are listed once (ErrorList.ToAggregate).
// `group` may be empty (core kinds: `Pod "x" is invalid: …`).
std::string invalidMessage(std::string_view group, std::string_view kind, std::string_view name,
                           const std::vector<Cause>& causes);
// InvalidArgument carrying invalidMessage(); the code maps to 422 / reason Invalid.
Status invalidStatus(std::string_view group, std::string_view kind, std::string_view name,
                     const std::vector<Cause>& causes);
// The complete metav1.Status body of a 422 answer (kind Status, reason Invalid, details with
// name/group/kind and causes as {reason, message, field}).
json::Document invalidStatusBody(std::string_view group, std::string_view kind, std::string_view name,
                                 const std::vector<Cause>& causes);

// ---------------------------------------------------------------------------------------------
// Printer columns (additionalPrinterColumns) and the simple JSONPath they use.

struct PrinterColumn {
  std::string name;
  std::string type;  // integer, number, string, boolean, date
  std::string format;
  std::string description;
  std::string jsonPath;
  int32_t priority = 0;
  friend bool operator==(const PrinterColumn&, const PrinterColumn&) = default;
};

// One Table cell as the apiserver's CRD table convertor produces it.
struct ColumnCell {
  enum class Kind { kNull, kString, kInteger, kNumber, kBoolean };
  Kind kind = Kind::kNull;
  std::string string;  // kString (a "date" column yields its age here: "5m", "3h", "<invalid>")
  int64_t integer = 0;
  double number = 0;
  bool boolean = false;

  bool isNull() const { return kind == Kind::kNull; }
  // The cell as kubectl prints it: strings verbatim, numbers as Go's %v, booleans true/false,
  // null as the empty string.
  std::string text() const;
  // The cell as JSON for a meta.k8s.io Table row (null for kNull).
  json::Value toJson(json::Allocator& a) const;
};

// Evaluates `column` against `obj` (a whole custom resource) at time `now` (for "date"). A path
// that matches nothing, a value of another type than the column's, or a malformed path yield a
// null cell; "string" columns print whatever the path finds (objects and arrays as compact JSON).
ColumnCell evaluateColumn(const PrinterColumn& column, const json::Value& obj,
                          std::chrono::system_clock::time_point now);

// client-go JSONPath, the subset CRD columns use: `.a.b`, `['a.b']`, `[0]`, `[-1]`, `[*]`, `.*`,
// `..name`, `[1:3]`, and filters `[?(@.type=="Ready")]` with ==, !=, <, <=, >, >= against quoted
// strings, numbers, true/false or another `@` path, or `[?(@.x)]` for existence. The path may be
// wrapped in `{…}`. Missing keys are skipped (AllowMissingKeys). A syntax error is
// InvalidArgument.
StatusOr<std::vector<const json::Value*>> evaluateJsonPath(const json::Value& obj, std::string_view path);

// kubectl's age of a duration (k8s.io/apimachinery/pkg/util/duration.HumanDuration): "45s",
// "5m30s", "3h", "2d4h", "1y20d", "<invalid>" for a negative duration beyond two seconds.
std::string humanDuration(std::chrono::nanoseconds d);

// Parses an RFC 3339 timestamp ("2024-05-01T10:00:00Z", fractional seconds and offsets allowed).
std::optional<std::chrono::system_clock::time_point> parseRfc3339(std::string_view s);

// A ".spec.replicas"-style path (scale subresource): the value, or nullptr when any step is
// missing or not an object.
const json::Value* findSimpleJsonPath(const json::Value& obj, std::string_view path);
// Sets the value at a ".a.b.c" path, creating intermediate objects. InvalidArgument when the
// path is malformed or crosses a non-object.
[[nodiscard]] Status setSimpleJsonPath(json::Value& obj, std::string_view path, json::Value& value, json::Allocator& a);

// ---------------------------------------------------------------------------------------------
// Subresources.

struct ScaleSubresource {
  std::string specReplicasPath;    // ".spec.replicas"
  std::string statusReplicasPath;  // ".status.replicas"
  std::optional<std::string> labelSelectorPath;
  friend bool operator==(const ScaleSubresource&, const ScaleSubresource&) = default;
};

// One x-kubernetes-validations entry. The sandbox has no CEL engine; validate() evaluates a rule
// only when it fits a small subset — `self`, field selection and indexing, has(), literals,
// ! && || (with CEL's error absorption), == != < <= > >=, `in`, size(), startsWith/endsWith/
// contains — and reports it as the apiserver does (`Invalid value: <message or "failed rule:
// <rule>">`, the value omitted for objects and arrays; `reason` and `fieldPath` honoured; "no
// such key: x evaluating rule: …" for a missing field). Any other rule (oldSelf, all/exists/map
// macros, matches, arithmetic, casts, messageExpression) is skipped: the object passes as if the
// rule were absent. As upstream, rules are not run when other errors would block them.
struct CelRule {
  std::string schemaPath;  // where the rule sits: "openAPIV3Schema.properties[spec]"
  std::string rule;
  std::string message;
  std::string messageExpression;
  std::string reason;
  std::string fieldPath;
};

// ---------------------------------------------------------------------------------------------
// The schema of one CRD version, compiled once.

// A compiled schema plus the subresource and column facts of its version. Copies share the
// compiled, immutable schema (no copy of the tree), so a CrdVersionSchema is cheap to pass by
// value and safe to use from several threads at once. The object values passed to prune,
// applyDefaults and validate are owned by the caller and must not be shared while mutated.
//
// `pattern` is matched with std::regex (ECMAScript grammar, search semantics, Thompson-NFA
// executor so long inputs cannot exhaust the stack). Go's RE2 differs: it has no backreferences
// or lookaround (rejected here too), but supports `\z`, `\pL`/`\p{Greek}`, `(?i)`/`(?s)` flags,
// `(?P<name>…)` and POSIX classes `[[:alpha:]]` outside brackets — patterns using those may be
// rejected or match differently here. Nesting deeper than 1000 is refused, as RE2 does.
class CrdVersionSchema {
 public:
  // No schema: everything but apiVersion, kind and metadata is pruned; nothing is validated.
  CrdVersionSchema();

  // Compiles an openAPIV3Schema. Fields of the wrong JSON type are InvalidArgument (the
  // apiserver cannot decode such a CRD). Unknown keys are ignored, as the apiserver drops them.
  // A schema that compiles may still be one the apiserver refuses: see validateCrd().
  static StatusOr<CrdVersionSchema> compile(const json::Value& openAPIV3Schema);

  bool empty() const;
  // The openAPIV3Schema this was compiled from (nullptr when empty()).
  const json::Value* raw() const;

  // Structural pruning of a whole custom resource: drops every field the schema does not
  // specify, honouring x-kubernetes-preserve-unknown-fields at any level, additionalProperties,
  // and x-kubernetes-embedded-resource (whose apiVersion/kind/metadata are kept). apiVersion,
  // kind and metadata at the root are never pruned by the schema; unknown fields inside root and
  // embedded metadata are dropped as decoding into ObjectMeta does.
  void prune(json::Value& obj) const;
  // Removes null values the schema neither allows (nullable) nor defaults
  // (PruneNonNullableNullsWithoutDefaults).
  void dropNonNullableNulls(json::Value& obj) const;
  // Fills `default` values into missing fields and into nulls of non-nullable fields, at every
  // level reached, as the apiserver does when it decodes a request and when it reads storage.
  // `a` must be the allocator of the document that holds `obj`.
  void applyDefaults(json::Value& obj, json::Allocator& a) const;
  // The decode pipeline for an incoming or stored object: prune, drop non-nullable nulls,
  // default.
  void normalize(json::Value& obj, json::Allocator& a) const;

  // Validates a whole custom resource after normalize(): the OpenAPI schema (kube-openapi
  // semantics and wording), the scale subresource's replicas, embedded resources,
  // x-kubernetes-list-type set/map uniqueness, and the CEL subset, in the apiserver's order. Field paths are
  // relative to the object ("spec.replicas"). ObjectMeta and apiVersion/kind are left to the
  // caller (they are the same for every kind).
  std::vector<Cause> validate(const json::Value& obj) const;
  // Validates .status alone, as an update of the status subresource does: against the schema's
  // properties.status, causes prefixed "status." while messages name the path inside status.
  std::vector<Cause> validateStatus(const json::Value& status) const;

  // x-kubernetes-validations found anywhere in the schema (see CelRule for what is evaluated).
  const std::vector<CelRule>& celRules() const;

  // Subresource and column facts of the version this schema belongs to (set by parseCrd).
  bool hasStatusSubresource() const;
  const std::optional<ScaleSubresource>& scale() const;
  const std::vector<PrinterColumn>& printerColumns() const;

 private:
  struct Impl;
  friend struct CrdVersionSchemaAccess;  // crd.cc: compiles with CRD paths, attaches subresources
  std::shared_ptr<const Impl> impl_;
  bool hasStatus_ = false;
  std::optional<ScaleSubresource> scale_;
  std::vector<PrinterColumn> columns_;
};

// ---------------------------------------------------------------------------------------------
// The CRD itself.

struct CrdNames {
  std::string plural;
  std::string singular;
  std::string kind;
  std::string listKind;
  std::vector<std::string> shortNames;
  std::vector<std::string> categories;
  friend bool operator==(const CrdNames&, const CrdNames&) = default;
};

struct CrdVersion {
  std::string name;
  bool served = false;
  bool storage = false;
  bool deprecated = false;
  std::optional<std::string> deprecationWarning;
  // The version's schema, with its subresources and printer columns attached.
  CrdVersionSchema schema;
  bool hasStatus() const { return schema.hasStatusSubresource(); }
  const std::optional<ScaleSubresource>& scale() const { return schema.scale(); }
  const std::vector<PrinterColumn>& printerColumns() const { return schema.printerColumns(); }
};

struct CustomResourceDefinition {
  std::string name;  // metadata.name: "<plural>.<group>"
  std::string group;
  std::string scope;  // "Namespaced" | "Cluster" (anything else fails validateCrd)
  CrdNames names;     // after v1 defaulting (singular, listKind)
  std::vector<CrdVersion> versions;
  std::string conversionStrategy = "None";
  bool preserveUnknownFields = false;

  bool namespaced() const { return scope == "Namespaced"; }
  const CrdVersion* version(std::string_view name) const;
  const CrdVersion* storageVersion() const;  // nullptr unless exactly one is marked

  // Internal: the decoded document the validation walks (annotations, raw per-version parts).
  struct Source;
  std::shared_ptr<const Source> source;
};

// Decodes a CRD (apiextensions.k8s.io/v1 JSON) and applies the v1 defaults (names.singular from
// the kind, names.listKind = kind+"List", conversion strategy None). A field of the wrong JSON
// type is InvalidArgument with the decoder's wording — the apiserver answers 400 BadRequest
// before any validation runs.
StatusOr<CustomResourceDefinition> parseCrd(const json::Value& crd);

// What the apiserver refuses (422 Invalid) when the CRD is created, in its order and wording:
// metadata.name = plural.group, group, scope, names, versions (unique, DNS-1035, exactly one
// storage), deprecationWarning, schema required and structural, defaults valid and pruned,
// list/map type extensions, subresources, printer columns, conversion, the api-approval
// annotation of protected groups, preserveUnknownFields. As upstream (v1 → internal
// conversion), parts identical across all versions are reported at spec.validation,
// spec.subresources and spec.additionalPrinterColumns. Empty when the CRD is accepted.
std::vector<Cause> validateCrd(const CustomResourceDefinition& crd);

// parseCrd + validateCrd: the accepted CRD, or InvalidArgument with the apiserver's message
// (`CustomResourceDefinition.apiextensions.k8s.io "x" is invalid: [...]`).
StatusOr<CustomResourceDefinition> admitCrd(const json::Value& crd);

// Names already accepted by the other CRDs of the same group (the naming controller's view).
struct AcceptedNamesInGroup {
  std::set<std::string> resources;  // plurals, singulars, short names
  std::set<std::string> kinds;      // kinds and list kinds
};

// The status the apiserver's controllers converge to for `crd`: conditions NamesAccepted
// (NoConflicts / PluralConflict / …) and Established (InitialNamesAccepted, or NotAccepted when
// a name conflicts), acceptedNames, storedVersions. `now` is the conditions'
// lastTransitionTime (RFC 3339).
json::Document crdStatus(const CustomResourceDefinition& crd, const AcceptedNamesInGroup& taken, std::string_view now);

}  // namespace kubeop::sandbox
