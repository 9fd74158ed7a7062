// Label and field selectors with the apiserver's syntax, semantics and error wording.
//
//  - LabelSelector::parse: the query-string syntax of k8s.io/apimachinery/pkg/labels.Parse
//    (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`; comma = AND).
//  - LabelSelector::fromJson: a metav1.LabelSelector (matchLabels + matchExpressions), as
//    metav1.LabelSelectorAsSelector converts it (webhook namespaceSelector/objectSelector,
//    workload selectors).
//  - FieldSelector::parse: k8s.io/apimachinery/pkg/fields.ParseSelector (`f=v`, `f==v`, `f!=v`,
//    backslash escapes in values); FieldSelector::validateFor rejects labels the kind does not
//    support ("field label not supported: …").
//
// Errors are InvalidArgument Statuses carrying the apiserver's message; the HTTP layer answers
// them as 400 BadRequest, as the apiserver does for bad list/watch parameters.
//
// Thread-safety: immutable value types once built.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"

namespace kubeop::sandbox {

struct ResourceType;

// Read-only access to an object's labels.
class LabelSource {
 public:
  virtual ~LabelSource() = default;
  virtual std::optional<std::string_view> get(std::string_view key) const = 0;
};

// A LabelSource over a std::map (tests, callers holding parsed labels).
class MapLabels : public LabelSource {
 public:
  explicit MapLabels(const std::map<std::string, std::string>& m) : m_(m) {}
  std::optional<std::string_view> get(std::string_view key) const override;

 private:
  const std::map<std::string, std::string>& m_;
};

enum class SelectorOperator { kIn, kNotIn, kEquals, kDoubleEquals, kNotEquals, kExists, kDoesNotExist, kGreaterThan, kLessThan };

struct LabelRequirement {
  std::string key;
  SelectorOperator op = SelectorOperator::kExists;
  std::vector<std::string> values;  // sorted, unique for the parsed form

  bool matches(const LabelSource& labels) const;
  // labels.Requirement.String(): "a in (x,y)", "!a", "a!=b".
  std::string toString() const;
};

class LabelSelector {
 public:
  // Matches everything.
  LabelSelector() = default;
  static LabelSelector everything() { return LabelSelector(); }
  // Matches nothing (a nil metav1.LabelSelector).
  static LabelSelector nothing();

  // labels.Parse. Errors read as the apiserver's, e.g.
  //   "unable to parse requirement: <nil>: Invalid value: \"-a\": name part must consist of …"
  //   "found 'b', expected: ',' or 'end of string'".
  static StatusOr<LabelSelector> parse(std::string_view text);
  // metav1.LabelSelectorAsSelector. `v` null → nothing(); {} → everything(). Errors:
  // "\"Foo\" is not a valid label selector operator", requirement validation errors.
  static StatusOr<LabelSelector> fromJson(const json::Value* v);
  // A selector requiring every (key, value) pair (SelectorFromSet; not validated).
  static LabelSelector fromSet(const std::map<std::string, std::string>& set);

  bool matches(const LabelSource& labels) const;
  bool matches(const std::map<std::string, std::string>& labels) const { return matches(MapLabels(labels)); }
  bool empty() const { return !nothing_ && reqs_.empty(); }
  bool matchesNothing() const { return nothing_; }
  const std::vector<LabelRequirement>& requirements() const { return reqs_; }
  // The canonical string form (requirements sorted by key), "" for everything.
  std::string toString() const;

 private:
  std::vector<LabelRequirement> reqs_;
  bool nothing_ = false;
};

struct FieldRequirement {
  std::string field;
  bool notEquals = false;
  std::string value;  // unescaped
};

// Yields the value of a field label of one object (metadata.name, spec.nodeName, …).
using FieldValueFn = std::function<std::string(std::string_view label)>;

class FieldSelector {
 public:
  FieldSelector() = default;  // everything

  // fields.ParseSelector. Errors: "invalid selector: 'x'; can't understand 'x'",
  // "invalid field selector: invalid escape sequence: \\q",
  // "invalid field selector: unescaped character in value: 61".
  static StatusOr<FieldSelector> parse(std::string_view text);
  static FieldSelector oneTerm(std::string field, std::string value);

  // The kind's field label conversion: "field label not supported: spec.foo". Rewrites the
  // legacy Pod label spec.host to spec.nodeName.
  [[nodiscard]] Status validateFor(const ResourceType& type);

  bool matches(const FieldValueFn& value) const;
  bool empty() const { return reqs_.empty(); }
  const std::vector<FieldRequirement>& requirements() const { return reqs_; }
  // The value an `=` term pins `field` to (metadata.name for single-object watches).
  std::optional<std::string> requiresExactMatch(std::string_view field) const;
  // Whether any term reads a label other than metadata.name / metadata.namespace.
  bool needsObjectFields() const;
  std::string toString() const;

 private:
  std::vector<FieldRequirement> reqs_;
};

// The string value of a field label of `obj` per the kind's selectable fields; missing fields
// read as the field's default (bools "true"/"false", numbers in decimal).
std::string fieldLabelValue(const ResourceType& type, const json::Value& obj, std::string_view label);

// Label key/value validation as ValidateLabels does (IsQualifiedName / IsValidLabelValue):
// the error strings, empty when valid.
std::vector<std::string> validateLabelKey(std::string_view key);
std::vector<std::string> validateLabelValue(std::string_view value);

// Go's %q for strings, as the apiserver renders bad values in field errors.
std::string goQuote(std::string_view s);

}  // namespace kubeop::sandbox
