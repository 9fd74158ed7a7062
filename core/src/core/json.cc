#include "kubeop/core/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace kubeop::json {

StatusOr<Document> parse(std::string_view text) {
  Document d;
  if (Status s = parseInto(d, text); !s.isOk()) return s;
  return d;
}

Status parseInto(Document& d, std::string_view text) {
  d.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  if (d.HasParseError()) {
    size_t off = d.GetErrorOffset();
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return invalidArgument("invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) +
                           ": " + rapidjson::GetParseError_En(d.GetParseError()));
  }
  return Status::ok();
}

std::string write(const Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

std::string writePretty(const Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.SetIndent(' ', 2);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

const Value* find(const Value& obj, std::string_view key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(Value(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

Value* find(Value& obj, std::string_view key) {
  return const_cast<Value*>(find(static_cast<const Value&>(obj), key));
}

const Value* findPath(const Value& obj, std::initializer_list<std::string_view> path) {
  const Value* cur = &obj;
  for (auto k : path) {
    cur = find(*cur, k);
    if (!cur) return nullptr;
  }
  return cur;
}

std::string_view getString(const Value& obj, std::string_view key, std::string_view fallback) {
  const Value* v = find(obj, key);
  return v && v->IsString() ? view(*v) : fallback;
}

Value& ensureObject(Value& obj, std::string_view key, Allocator& a) {
  Value* v = find(obj, key);
  if (v) {
    if (!v->IsObject()) v->SetObject();
    return *v;
  }
  obj.AddMember(str(key, a), Value(rapidjson::kObjectType), a);
  return (obj.MemberEnd() - 1)->value;
}

void setMember(Value& obj, std::string_view key, Value& v, Allocator& a) {
  if (Value* cur = find(obj, key)) {
    *cur = v;  // move
    return;
  }
  obj.AddMember(str(key, a), v, a);
}

void setString(Value& obj, std::string_view key, std::string_view value, Allocator& a) {
  Value v = str(value, a);
  setMember(obj, key, v, a);
}

bool removeMember(Value& obj, std::string_view key) {
  if (!obj.IsObject()) return false;
  return obj.RemoveMember(Value(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
}

const char* typeName(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kObjectType: return "object";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return "number";
  }
  return "unknown";
}

}  // namespace kubeop::json
