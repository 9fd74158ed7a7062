// The one adapter around yaml-cpp: it throws; everything here returns Status.
//
// Parsing drives yaml-cpp's event API straight into RapidJSON values (no intermediate
// YAML::Node tree), which gives every node a position for error messages, lets kubeop resolve
// scalars with YAML 1.1 rules (as go-yaml v2 does for kubectl), and is faster.
#include "kubeop/core/yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <istream>
#include <limits>
#include <streambuf>
#include <unordered_map>

namespace kubeop::yaml {
namespace {

// An istream over memory without copying.
class MemBuf : public std::streambuf {
 public:
  MemBuf(const char* p, size_t n) {
    char* b = const_cast<char*>(p);
    setg(b, b, b + n);
  }
};

struct YamlError {
  YAML::Mark mark;
  std::string msg;
};

enum class ScalarKind { kString, kNull, kBool, kInt, kUint, kFloat, kBadFloat };

struct Resolved {
  ScalarKind kind = ScalarKind::kString;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
};

bool isDigits(std::string_view s, int base) {
  if (s.empty()) return false;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return false;
    if (v >= base) return false;
  }
  return true;
}

// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$  (go-yaml v2's yamlStyleFloat)
bool isYamlFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    if (digits == 0) return false;
  } else {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    if (digits == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t e = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++e;
    if (e == 0) return false;
  }
  return i == s.size();
}

bool parseUnsigned(std::string_view digits, int base, uint64_t& out) {
  if (!isDigits(digits, base)) return false;
  uint64_t v = 0;
  for (char c : digits) {
    unsigned d = (c >= '0' && c <= '9') ? unsigned(c - '0') : unsigned((c | 0x20) - 'a' + 10);
    if (v > (std::numeric_limits<uint64_t>::max() - d) / unsigned(base)) return false;
    v = v * unsigned(base) + d;
  }
  out = v;
  return true;
}

// go-yaml v2 resolve() for an untagged plain scalar.
Resolved resolvePlain(const std::string& in) {
  Resolved r;
  static const std::unordered_map<std::string_view, int> kMap = {
      {"y", 1}, {"Y", 1}, {"yes", 1}, {"Yes", 1}, {"YES", 1}, {"true", 1}, {"True", 1}, {"TRUE", 1},
      {"on", 1}, {"On", 1}, {"ON", 1}, {"n", 0}, {"N", 0}, {"no", 0}, {"No", 0}, {"NO", 0},
      {"false", 0}, {"False", 0}, {"FALSE", 0}, {"off", 0}, {"Off", 0}, {"OFF", 0},
      {"", 2}, {"~", 2}, {"null", 2}, {"Null", 2}, {"NULL", 2},
      {".nan", 3}, {".NaN", 3}, {".NAN", 3}, {".inf", 3}, {".Inf", 3}, {".INF", 3},
      {"+.inf", 3}, {"+.Inf", 3}, {"+.INF", 3}, {"-.inf", 3}, {"-.Inf", 3}, {"-.INF", 3}};
  auto it = kMap.find(in);
  if (it != kMap.end()) {
    switch (it->second) {
      case 0: r.kind = ScalarKind::kBool; r.b = false; return r;
      case 1: r.kind = ScalarKind::kBool; r.b = true; return r;
      case 2: r.kind = ScalarKind::kNull; return r;
      default: r.kind = ScalarKind::kBadFloat; return r;
    }
  }
  char c0 = in[0];
  if (!(c0 == '+' || c0 == '-' || c0 == '.' || (c0 >= '0' && c0 <= '9'))) return r;
  std::string plain;
  plain.reserve(in.size());
  for (char c : in) {
    if (c != '_') plain += c;
  }
  std::string_view s = plain;
  bool neg = false;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  uint64_t u = 0;
  bool isInt = false;
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    isInt = parseUnsigned(body.substr(2), 16, u);
  } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'o' || body[1] == 'O')) {
    isInt = parseUnsigned(body.substr(2), 8, u);
  } else if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) {
    isInt = parseUnsigned(body.substr(2), 2, u);
  } else if (body.size() > 1 && body[0] == '0') {
    isInt = parseUnsigned(body.substr(1), 8, u);  // Go's base-0 rule: leading 0 is octal
  } else {
    isInt = parseUnsigned(body, 10, u);
  }
  if (isInt) {
    if (!neg && u <= uint64_t(std::numeric_limits<int64_t>::max())) {
      r.kind = ScalarKind::kInt;
      r.i = int64_t(u);
      return r;
    }
    if (neg && u <= uint64_t(std::numeric_limits<int64_t>::max()) + 1) {
      r.kind = ScalarKind::kInt;
      r.i = u == uint64_t(std::numeric_limits<int64_t>::max()) + 1 ? std::numeric_limits<int64_t>::min()
                                                                   : -int64_t(u);
      return r;
    }
    if (!neg) {
      r.kind = ScalarKind::kUint;
      r.u = u;
      return r;
    }
  }
  if (isYamlFloat(s)) {
    errno = 0;
    double d = std::strtod(plain.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(d)) {
      r.kind = ScalarKind::kBadFloat;
      return r;
    }
    r.kind = ScalarKind::kFloat;
    r.d = d;
    return r;
  }
  return r;  // a string
}

std::string keyText(const std::string& tag, const std::string& value) {
  // sigs.k8s.io/yaml turns non-string keys into their JSON text: `on:` → "true", `1:` → "1".
  if (tag != "?") return value;
  Resolved r = resolvePlain(value);
  switch (r.kind) {
    case ScalarKind::kBool: return r.b ? "true" : "false";
    case ScalarKind::kNull: return "null";
    case ScalarKind::kInt: return std::to_string(r.i);
    case ScalarKind::kUint: return std::to_string(r.u);
    default: return value;
  }
}

class JsonBuilder : public YAML::EventHandler {
 public:
  explicit JsonBuilder(int maxDepth) : max_depth_(maxDepth) {}

  json::Document& doc() { return doc_; }
  bool empty() const { return empty_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    doc_ = json::Document();
    doc_.SetNull();
    anchors_.clear();
    stack_.clear();
    empty_ = true;
    start_line_ = mark.line + 1;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (awaitingKey()) {
      setKey(mark, "null", false);
      return;
    }
    complete(json::Value(rapidjson::kNullType), anchor, mark, /*isNullDoc=*/true);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw YamlError{mark, "unknown anchor referenced by alias"};
    if (awaitingKey()) {
      if (!it->second.IsString()) throw YamlError{mark, "an alias used as a map key must refer to a string"};
      setKey(mark, std::string(json::view(it->second)), false);
      return;
    }
    json::Value copy(it->second, doc_.GetAllocator());
    complete(std::move(copy), 0, mark);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (awaitingKey()) {
      setKey(mark, keyText(tag, value), tag == "?" && value == "<<");
      if (anchor) anchors_[anchor] = json::str(value, doc_.GetAllocator());
      return;
    }
    complete(scalar(mark, tag, value), anchor, mark);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    push(mark, false, anchor);
  }
  void OnSequenceEnd() override { pop(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    push(mark, true, anchor);
  }
  void OnMapEnd() override { pop(); }

 private:
  struct Frame {
    bool isMap = false;
    json::Value value;
    YAML::anchor_t anchor = 0;
    YAML::Mark mark;
    bool haveKey = false;
    bool keyIsMerge = false;
    std::string key;
    YAML::Mark keyMark;
    std::vector<json::Value> merges;
  };

  bool awaitingKey() const { return !stack_.empty() && stack_.back().isMap && !stack_.back().haveKey; }

  void setKey(const YAML::Mark& mark, std::string key, bool isMerge) {
    Frame& f = stack_.back();
    f.haveKey = true;
    f.keyIsMerge = isMerge;
    f.key = std::move(key);
    f.keyMark = mark;
  }

  void push(const YAML::Mark& mark, bool isMap, YAML::anchor_t anchor) {
    if (awaitingKey()) throw YamlError{mark, "complex (map or list) keys are not supported"};
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      throw YamlError{mark, "nesting deeper than " + std::to_string(max_depth_) + " levels"};
    }
    Frame f;
    f.isMap = isMap;
    f.value = json::Value(isMap ? rapidjson::kObjectType : rapidjson::kArrayType);
    f.anchor = anchor;
    f.mark = mark;
    stack_.push_back(std::move(f));
  }

  void pop() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.isMap && !f.merges.empty()) {
      auto& a = doc_.GetAllocator();
      for (auto& src : f.merges) {  // earlier sources win; explicit keys win over all
        for (auto m = src.MemberBegin(); m != src.MemberEnd(); ++m) {
          if (f.value.FindMember(m->name) == f.value.MemberEnd()) {
            f.value.AddMember(json::Value(m->name, a), json::Value(m->value, a), a);
          }
        }
      }
    }
    complete(std::move(f.value), f.anchor, f.mark);
  }

  void complete(json::Value&& v, YAML::anchor_t anchor, const YAML::Mark& mark, bool isNullDoc = false) {
    auto& a = doc_.GetAllocator();
    if (anchor) anchors_[anchor] = json::Value(v, a);
    if (stack_.empty()) {
      static_cast<json::Value&>(doc_).Swap(v);
      empty_ = isNullDoc;
      return;
    }
    Frame& top = stack_.back();
    if (!top.isMap) {
      top.value.PushBack(v, a);
      return;
    }
    top.haveKey = false;
    if (top.keyIsMerge) {
      if (v.IsObject()) {
        top.merges.push_back(std::move(v));
      } else if (v.IsArray()) {
        for (auto& e : v.GetArray()) {
          if (!e.IsObject()) throw YamlError{mark, "merge key << needs a map or a list of maps"};
          top.merges.push_back(json::Value(e, a));
        }
      } else {
        throw YamlError{mark, "merge key << needs a map or a list of maps"};
      }
      return;
    }
    json::Value key = json::str(top.key, a);
    if (top.value.FindMember(key) != top.value.MemberEnd()) {
      throw YamlError{top.keyMark, "duplicate key \"" + top.key + "\" (mapping key already defined)"};
    }
    top.value.AddMember(key, v, a);
  }

  json::Value scalar(const YAML::Mark& mark, const std::string& tag, const std::string& value) {
    auto& a = doc_.GetAllocator();
    static const std::string kPrefix = "tag:yaml.org,2002:";
    if (tag == "!" || tag == kPrefix + "str" || tag == kPrefix + "binary" || tag == kPrefix + "timestamp") {
      return json::str(value, a);
    }
    if (tag != "?" && tag.rfind(kPrefix, 0) != 0) return json::str(value, a);  // custom tags: keep text
    Resolved r = resolvePlain(value);
    std::string want = tag == "?" ? "" : tag.substr(kPrefix.size());
    auto wrongType = [&](const char* t) {
      return YamlError{mark, "cannot decode \"" + value + "\" as !!" + t};
    };
    if (want == "int" && r.kind != ScalarKind::kInt && r.kind != ScalarKind::kUint) throw wrongType("int");
    if (want == "bool" && r.kind != ScalarKind::kBool) throw wrongType("bool");
    if (want == "null" && r.kind != ScalarKind::kNull) throw wrongType("null");
    if (want == "float") {
      if (r.kind == ScalarKind::kInt) return json::Value(static_cast<double>(r.i));
      if (r.kind == ScalarKind::kUint) return json::Value(static_cast<double>(r.u));
      if (r.kind != ScalarKind::kFloat && r.kind != ScalarKind::kBadFloat) throw wrongType("float");
    }
    switch (r.kind) {
      case ScalarKind::kString: return json::str(value, a);
      case ScalarKind::kNull: return json::Value(rapidjson::kNullType);
      case ScalarKind::kBool: return json::Value(r.b);
      case ScalarKind::kInt: return json::Value(r.i);
      case ScalarKind::kUint: return json::Value(r.u);
      case ScalarKind::kFloat: return json::Value(r.d);
      case ScalarKind::kBadFloat:
        throw YamlError{mark, "\"" + value + "\" is not representable in JSON (infinity or NaN)"};
    }
    return json::str(value, a);
  }

  int max_depth_;
  json::Document doc_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, json::Value> anchors_;
  bool empty_ = true;
  int start_line_ = 1;

 public:
  int startLine() const { return start_line_; }
};

std::string position(const ParseOptions& o, int docIndex, const YAML::Mark& m) {
  std::string s;
  if (!o.source.empty()) s += o.source + ": ";
  s += "document " + std::to_string(docIndex);
  if (m.line >= 0) s += ", line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
  return s;
}

}  // namespace

StatusOr<std::vector<ParsedDocument>> parseStream(std::string_view text, const ParseOptions& opts) {
  if (text.size() > opts.max_bytes) {
    return payloadTooLarge((opts.source.empty() ? std::string() : opts.source + ": ") + "YAML input of " +
                           std::to_string(text.size()) + " bytes exceeds the limit of " +
                           std::to_string(opts.max_bytes) + " bytes");
  }
  std::vector<ParsedDocument> out;
  MemBuf buf(text.data(), text.size());
  std::istream in(&buf);
  int index = 0;
  try {
    YAML::Parser parser(in);
    JsonBuilder b(opts.max_depth);
    while (true) {
      bool more;
      try {
        more = parser.HandleNextDocument(b);
      } catch (const YamlError& e) {
        return invalidArgument(position(opts, index, e.mark) + ": " + e.msg);
      } catch (const YAML::Exception& e) {
        return invalidArgument(position(opts, index, e.mark) + ": " + e.msg);
      }
      if (!more) break;
      if (!b.empty()) {
        ParsedDocument d;
        d.doc.Swap(b.doc());
        d.index = index;
        d.line = b.startLine();
        out.push_back(std::move(d));
      }
      ++index;
    }
  } catch (const std::exception& e) {
    return invalidArgument(position(opts, index, YAML::Mark::null_mark()) + ": " + e.what());
  }
  return out;
}

StatusOr<json::Document> parseOne(std::string_view text, const ParseOptions& opts) {
  auto docs = parseStream(text, opts);
  if (!docs.ok()) return docs.status();
  if (docs->empty()) return invalidArgument((opts.source.empty() ? "" : opts.source + ": ") + "no document found");
  if (docs->size() > 1) {
    return invalidArgument((opts.source.empty() ? "" : opts.source + ": ") + "expected one document, found " +
                           std::to_string(docs->size()));
  }
  return std::move((*docs)[0].doc);
}

namespace {

bool needsQuotes(const std::string& s) {
  if (s.empty()) return true;
  if (resolvePlain(s).kind != ScalarKind::kString) return true;
  if (s == "<<") return true;
  return false;
}

void emit(YAML::Emitter& e, const json::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: e << YAML::Null; break;
    case rapidjson::kFalseType: e << false; break;
    case rapidjson::kTrueType: e << true; break;
    case rapidjson::kNumberType:
      if (v.IsInt64()) e << v.GetInt64();
      else if (v.IsUint64()) e << v.GetUint64();
      else {
        double d = v.GetDouble();
        if (std::floor(d) == d && std::fabs(d) < 1e15) {
          e << static_cast<int64_t>(d);
        } else {
          e << d;
        }
      }
      break;
    case rapidjson::kStringType: {
      std::string s(v.GetString(), v.GetStringLength());
      if (s.find('\n') != std::string::npos) {
        e << YAML::Literal << s;
      } else if (needsQuotes(s)) {
        e << YAML::DoubleQuoted << s;
      } else {
        e << s;
      }
      break;
    }
    case rapidjson::kArrayType:
      e << YAML::BeginSeq;
      for (const auto& x : v.GetArray()) emit(e, x);
      e << YAML::EndSeq;
      break;
    case rapidjson::kObjectType:
      e << YAML::BeginMap;
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        std::string k(m->name.GetString(), m->name.GetStringLength());
        e << YAML::Key;
        if (needsQuotes(k)) e << YAML::DoubleQuoted;
        e << k << YAML::Value;
        emit(e, m->value);
      }
      e << YAML::EndMap;
      break;
  }
}

}  // namespace

std::string toYaml(const json::Value& v) {
  YAML::Emitter e;
  e.SetIndent(2);
  e.SetSeqFormat(YAML::Block);
  e.SetMapFormat(YAML::Block);
  e.SetFloatPrecision(17);
  e.SetDoublePrecision(17);
  emit(e, v);
  std::string s = e.c_str();
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

std::string toYamlStream(const std::vector<const json::Value*>& docs) {
  std::string out;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (i > 0) out += "---\n";
    out += toYaml(*docs[i]);
  }
  return out;
}

}  // namespace kubeop::yaml
