// JSON helpers over RapidJSON. Parsing never asserts on input: errors are Status values naming
// the line and column. Accessors check types before reading (RapidJSON's GetX() on the wrong
// type is an assertion, which input from a user, a cluster or a plugin must never reach).
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

#include "kubeop/core/status.h"

namespace kubeop::json {

using Document = rapidjson::Document;
using Value = rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

// Parses one JSON value (trailing content is an error). Errors read
// "invalid JSON at line 3, column 7: Missing a comma or '}' after an object member."
StatusOr<Document> parse(std::string_view text);
// Parses into `d` (whose allocator the caller chose); the same errors as parse().
Status parseInto(Document& d, std::string_view text);

std::string write(const Value& v);
std::string writePretty(const Value& v);

// Member lookup; nullptr when `obj` is not an object or the member is missing.
const Value* find(const Value& obj, std::string_view key);
Value* find(Value& obj, std::string_view key);
// Nested lookup: find(obj, {"metadata", "name"}).
const Value* findPath(const Value& obj, std::initializer_list<std::string_view> path);

// The string member or `fallback` when missing or not a string.
std::string_view getString(const Value& obj, std::string_view key, std::string_view fallback = {});
// Returns the object member `key`, creating it (as an empty object) when missing or not an object.
Value& ensureObject(Value& obj, std::string_view key, Allocator& a);
void setString(Value& obj, std::string_view key, std::string_view value, Allocator& a);
// Sets or replaces member `key` with `v` (moved).
void setMember(Value& obj, std::string_view key, Value& v, Allocator& a);
bool removeMember(Value& obj, std::string_view key);

inline Value str(std::string_view s, Allocator& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}
inline std::string_view view(const Value& v) {
  return v.IsString() ? std::string_view(v.GetString(), v.GetStringLength()) : std::string_view();
}
// A human-readable name of the JSON type, for error messages ("string", "object", …).
const char* typeName(const Value& v);

}  // namespace kubeop::json
