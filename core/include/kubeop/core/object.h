// Object: an unstructured Kubernetes object (apiVersion, kind, metadata, spec, status, and any
// other top-level field) over a RapidJSON document, with typed helpers for the metadata kubeop
// reads and writes. Helpers never assert on malformed input: a missing or mistyped field reads
// as empty.
//
// Thread-safety: a value type; not safe for concurrent mutation.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"

namespace kubeop {

struct OwnerReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
  bool blockOwnerDeletion = false;
};

// group/version/kind of an apiVersion + kind pair. Core group is "".
struct GroupVersionKind {
  std::string group;
  std::string version;
  std::string kind;
  static GroupVersionKind parse(std::string_view apiVersion, std::string_view kind);
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  friend bool operator==(const GroupVersionKind&, const GroupVersionKind&) = default;
};

class Object {
 public:
  Object();  // an empty JSON object
  explicit Object(json::Document doc);
  Object(const Object& other);
  Object& operator=(const Object& other);
  Object(Object&&) noexcept = default;
  Object& operator=(Object&& other) noexcept;

  // A deep copy whose memory is one block sized to the content. RapidJSON's default pool starts
  // every document with a 64 KiB chunk; a cache holding thousands of small objects (informers)
  // keeps a copy made by this instead.
  static Object compacted(const Object& src);
  // The bytes of memory this object's JSON holds (its pool's chunks), for accounting.
  size_t memoryBytes() const;

  // Parses a JSON object; an array or scalar is InvalidArgument.
  static StatusOr<Object> fromJson(std::string_view text);
  // Deep-copies `v` (must be an object).
  static StatusOr<Object> fromValue(const json::Value& v);

  std::string toJson() const;
  std::string toPrettyJson() const;

  json::Value& root() { return doc_; }
  const json::Value& root() const { return doc_; }
  json::Allocator& allocator() { return doc_.GetAllocator(); }
  json::Document& document() { return doc_; }

  std::string_view apiVersion() const;
  std::string_view kind() const;
  GroupVersionKind gvk() const { return GroupVersionKind::parse(apiVersion(), kind()); }
  void setApiVersion(std::string_view v);
  void setKind(std::string_view v);

  std::string_view name() const;
  std::string_view generateName() const;
  std::string_view namespace_() const;
  std::string_view uid() const;
  std::string_view resourceVersion() const;
  int64_t generation() const;
  void setName(std::string_view v);
  void setNamespace(std::string_view v);

  std::map<std::string, std::string> labels() const;
  std::optional<std::string> label(std::string_view key) const;
  void setLabel(std::string_view key, std::string_view value);
  std::map<std::string, std::string> annotations() const;
  std::optional<std::string> annotation(std::string_view key) const;
  void setAnnotation(std::string_view key, std::string_view value);

  std::vector<OwnerReference> ownerReferences() const;
  // Adds the reference, replacing an existing one with the same uid.
  void addOwnerReference(const OwnerReference& ref);

  // The metadata/spec/status objects, or nullptr when absent or not objects.
  const json::Value* metadata() const;
  const json::Value* spec() const;
  const json::Value* status() const;
  json::Value& mutableMetadata();

  // "namespace/name" or "name" for cluster-scoped objects, prefixed by kind: "ConfigMap ns/x".
  std::string describe() const;

 private:
  // A deep copy of `v` in one pool of exactly the size it needs plus `slack` bytes.
  static Object copyOf(const json::Value& v, size_t slack);
  // The memory pool of a compacted() object (doc_ allocates from it); declared first so that it
  // outlives doc_. Null for every other object (doc_ owns its allocator).
  std::unique_ptr<json::Allocator> pool_;
  json::Document doc_;
};

}  // namespace kubeop
