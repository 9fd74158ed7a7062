// CRD semantics of the kube-apiserver (see crd.h for the upstream files each part follows).
//
// Layout of this file:
//   1. Go-compatible rendering (strconv.Quote, %v of floats, encoding/json) and field errors
//   2. the compiled schema (Node) and its decoder
//   3. structural pruning, null dropping, defaulting
//   4. the value validator (kube-openapi semantics and messages)
//   5. list-type, embedded-resource and scale checks
//   6. JSONPath and printer columns
//   7. CRD decoding, create validation (structural schema rules), status
#include "kubeop/sandbox/crd.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <functional>
#include <limits>
#include <map>
#include <regex>
#include <unordered_map>
#include <utility>

namespace kubeop::sandbox {
namespace {

using json::Value;

// =============================================================================================
// 1. Go-compatible rendering

// Decodes one UTF-8 sequence at s[i]; invalid bytes decode as U+FFFD with size 1 and `ok` false.
char32_t decodeRune(std::string_view s, size_t i, size_t* size, bool* ok) {
  auto b0 = static_cast<unsigned char>(s[i]);
  *ok = true;
  if (b0 < 0x80) {
    *size = 1;
    return b0;
  }
  auto cont = [&](size_t k) -> int {
    if (i + k >= s.size()) return -1;
    auto b = static_cast<unsigned char>(s[i + k]);
    return (b & 0xC0) == 0x80 ? (b & 0x3F) : -1;
  };
  char32_t r = 0;
  size_t n = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    r = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    r = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    r = b0 & 0x07;
  } else {
    *size = 1;
    *ok = false;
    return 0xFFFD;
  }
  for (size_t k = 1; k < n; ++k) {
    int c = cont(k);
    if (c < 0) {
      *size = 1;
      *ok = false;
      return 0xFFFD;
    }
    r = (r << 6) | static_cast<char32_t>(c);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (r < kMin[n] || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) {
    *size = 1;
    *ok = false;
    return 0xFFFD;
  }
  *size = n;
  return r;
}

void appendUtf8(std::string& out, char32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

size_t runeCount(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    size_t sz = 1;
    bool ok = true;
    decodeRune(s, i, &sz, &ok);
    i += sz;
    ++n;
  }
  return n;
}

std::string hex(unsigned v, int width) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(width), '0');
  for (int i = width - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kDigits[v & 0xF];
    v >>= 4;
  }
  return out;
}

// unicode.IsPrint, approximately: no C0/C1 controls, DEL, surrogates or U+FFFD from bad bytes.
bool goIsPrint(char32_t r) {
  if (r < 0x20 || r == 0x7F) return false;
  if (r >= 0x80 && r < 0xA0) return false;
  if (r == 0xAD) return false;
  if (r == 0x2028 || r == 0x2029) return false;
  if (r >= 0xFFF9 && r <= 0xFFFB) return false;
  return true;
}

// strconv.Quote: what %q prints for a string.
std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    size_t sz = 1;
    bool ok = true;
    char32_t r = decodeRune(s, i, &sz, &ok);
    if (!ok) {
      out += "\\x" + hex(static_cast<unsigned char>(s[i]), 2);
      i += 1;
      continue;
    }
    i += sz;
    switch (r) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      default:
        break;
    }
    if (goIsPrint(r)) {
      appendUtf8(out, r);
    } else if (r < 0x20 || r == 0x7F) {
      out += "\\x" + hex(static_cast<unsigned>(r), 2);
    } else if (r < 0x10000) {
      out += "\\u" + hex(static_cast<unsigned>(r), 4);
    } else {
      out += "\\U" + hex(static_cast<unsigned>(r), 8);
    }
  }
  out += '"';
  return out;
}

// The shortest decimal digits of |f| and the decimal point position: |f| = 0.DIGITS × 10^dp.
void shortestDigits(double f, std::string* digits, int* dp) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(f), std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));  // "d.ddde+XX"
  size_t e = sci.find('e');
  digits->clear();
  for (size_t i = 0; i < e; ++i) {
    if (sci[i] != '.') *digits += sci[i];
  }
  int exp = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp);
  while (digits->size() > 1 && digits->back() == '0') digits->pop_back();
  *dp = exp + 1;
}

// %e with the shortest digits: "1.5e+07", "1e-05" (at least two exponent digits).
std::string fmtE(bool neg, const std::string& d, int dp) {
  std::string out = neg ? "-" : "";
  out += d[0];
  if (d.size() > 1) out += "." + d.substr(1);
  int exp = dp - 1;
  out += 'e';
  out += exp < 0 ? '-' : '+';
  std::string e = std::to_string(std::abs(exp));
  if (e.size() < 2) e = "0" + e;
  out += e;
  return out;
}

std::string fmtF(bool neg, const std::string& d, int dp) {
  std::string out = neg ? "-" : "";
  int nd = static_cast<int>(d.size());
  if (dp > 0) {
    out += d.substr(0, static_cast<size_t>(std::min(dp, nd)));
    for (int i = nd; i < dp; ++i) out += '0';
  } else {
    out += '0';
  }
  if (nd > dp) {
    out += '.';
    for (int i = dp; i < 0; ++i) out += '0';
    out += d.substr(static_cast<size_t>(std::max(dp, 0)));
  }
  return out;
}

// strconv.FormatFloat(f, 'g', -1, 64) — what %v prints for a float64.
std::string goFloat(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  bool neg = std::signbit(f);
  if (f == 0) return neg ? "-0" : "0";
  std::string d;
  int dp = 0;
  shortestDigits(f, &d, &dp);
  int exp = dp - 1;
  if (exp < -4 || exp >= 6) return fmtE(neg, d, dp);  // shortest 'g' decides with precision 6
  return fmtF(neg, d, dp);
}

// encoding/json's float64 encoding.
std::string goJsonFloat(double f) {
  if (!std::isfinite(f)) return "null";  // encoding/json refuses; never produced from JSON input
  if (f == 0) return std::signbit(f) ? "-0" : "0";
  bool neg = std::signbit(f);
  std::string d;
  int dp = 0;
  shortestDigits(f, &d, &dp);
  double a = std::fabs(f);
  if (a < 1e-6 || a >= 1e21) {
    std::string s = fmtE(neg, d, dp);
    // "e-07" → "e-7" as encoding/json does
    size_t n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
    return s;
  }
  return fmtF(neg, d, dp);
}

void goJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    size_t sz = 1;
    bool ok = true;
    char32_t r = decodeRune(s, i, &sz, &ok);
    i += sz;
    if (!ok) {
      out += "\\ufffd";
      continue;
    }
    switch (r) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '<':
        out += "\\u003c";
        continue;
      case '>':
        out += "\\u003e";
        continue;
      case '&':
        out += "\\u0026";
        continue;
      case 0x2028:
        out += "\\u2028";
        continue;
      case 0x2029:
        out += "\\u2029";
        continue;
      default:
        break;
    }
    if (r < 0x20) {
      out += "\\u" + hex(static_cast<unsigned>(r), 4);
    } else {
      appendUtf8(out, r);
    }
  }
  out += '"';
}

std::string sv(const Value& v) { return std::string(json::view(v)); }

// json.Marshal of an unstructured value: sorted keys, HTML-safe escaping.
void goJson(std::string& out, const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      out += "null";
      return;
    case rapidjson::kFalseType:
      out += "false";
      return;
    case rapidjson::kTrueType:
      out += "true";
      return;
    case rapidjson::kStringType:
      goJsonString(out, json::view(v));
      return;
    case rapidjson::kNumberType:
      if (v.IsInt64()) {
        out += std::to_string(v.GetInt64());
      } else {
        out += goJsonFloat(v.GetDouble());
      }
      return;
    case rapidjson::kArrayType: {
      out += '[';
      bool first = true;
      for (const auto& e : v.GetArray()) {
        if (!first) out += ',';
        first = false;
        goJson(out, e);
      }
      out += ']';
      return;
    }
    case rapidjson::kObjectType: {
      std::vector<std::pair<std::string_view, const Value*>> members;
      for (const auto& m : v.GetObject()) members.emplace_back(json::view(m.name), &m.value);
      std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      bool first = true;
      for (const auto& [k, val] : members) {
        if (!first) out += ',';
        first = false;
        goJsonString(out, k);
        out += ':';
        goJson(out, *val);
      }
      out += '}';
      return;
    }
  }
}

std::string goJson(const Value& v) {
  std::string out;
  goJson(out, v);
  return out;
}

// fmt's %v of an unstructured value (map[k:v] with sorted keys, [a b], <nil>).
void goV(std::string& out, const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      out += "<nil>";
      return;
    case rapidjson::kFalseType:
      out += "false";
      return;
    case rapidjson::kTrueType:
      out += "true";
      return;
    case rapidjson::kStringType:
      out += json::view(v);
      return;
    case rapidjson::kNumberType:
      out += v.IsInt64() ? std::to_string(v.GetInt64()) : goFloat(v.GetDouble());
      return;
    case rapidjson::kArrayType: {
      out += '[';
      bool first = true;
      for (const auto& e : v.GetArray()) {
        if (!first) out += ' ';
        first = false;
        goV(out, e);
      }
      out += ']';
      return;
    }
    case rapidjson::kObjectType: {
      std::vector<std::pair<std::string_view, const Value*>> members;
      for (const auto& m : v.GetObject()) members.emplace_back(json::view(m.name), &m.value);
      std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out += "map[";
      bool first = true;
      for (const auto& [k, val] : members) {
        if (!first) out += ' ';
        first = false;
        out += k;
        out += ':';
        goV(out, *val);
      }
      out += ']';
      return;
    }
  }
}

std::string goV(const Value& v) {
  std::string out;
  goV(out, v);
  return out;
}

// fmt's %T of an unstructured value.
const char* goT(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "<nil>";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "bool";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return v.IsInt64() ? "int64" : "float64";
    case rapidjson::kArrayType:
      return "[]interface {}";
    case rapidjson::kObjectType:
      return "map[string]interface {}";
  }
  return "<nil>";
}

// How field.Error renders a BadValue that is an unstructured value: strings with %q, scalars
// with %v, everything else as JSON.
std::string renderValue(const Value& v) {
  if (v.IsString()) return goQuote(json::view(v));
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsNumber()) return goFloat(v.GetDouble());
  return goJson(v);
}

std::string joinStrings(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// field.Path and field.Error

// field.Path.String() pieces: Child("a") → "a" or "p.a"; Key("k") → "p[k]"; Index(i) → "p[i]".
std::string child(std::string_view p, std::string_view name) {
  if (p.empty()) return std::string(name);
  std::string out(p);
  out += '.';
  out += name;
  return out;
}
std::string key(std::string_view p, std::string_view k) { return std::string(p) + "[" + std::string(k) + "]"; }
std::string index(std::string_view p, size_t i) { return std::string(p) + "[" + std::to_string(i) + "]"; }

Cause makeCause(const char* type, std::string field, std::string message) {
  return Cause{type, std::move(field), std::move(message)};
}

Cause required(std::string field, std::string_view detail) {
  std::string m = "Required value";
  if (!detail.empty()) m += ": " + std::string(detail);
  return makeCause("FieldValueRequired", std::move(field), std::move(m));
}
Cause forbidden(std::string field, std::string_view detail) {
  std::string m = "Forbidden";
  if (!detail.empty()) m += ": " + std::string(detail);
  return makeCause("FieldValueForbidden", std::move(field), std::move(m));
}
// `rendered` is the already rendered bad value (renderValue / renderString / a Go literal).
Cause invalid(std::string field, std::string_view rendered, std::string_view detail) {
  std::string m = "Invalid value: " + std::string(rendered);
  if (!detail.empty()) m += ": " + std::string(detail);
  return makeCause("FieldValueInvalid", std::move(field), std::move(m));
}
Cause typeInvalid(std::string field, std::string_view rendered, std::string_view detail) {
  std::string m = "Invalid value: " + std::string(rendered);
  if (!detail.empty()) m += ": " + std::string(detail);
  return makeCause("FieldValueTypeInvalid", std::move(field), std::move(m));
}
Cause notSupported(std::string field, std::string_view rendered, const std::vector<std::string>& valid) {
  std::string m = "Unsupported value: " + std::string(rendered);
  if (!valid.empty()) {
    std::vector<std::string> q;
    q.reserve(valid.size());
    for (const auto& v : valid) q.push_back(goQuote(v));
    m += ": supported values: " + joinStrings(q, ", ");
  }
  return makeCause("FieldValueNotSupported", std::move(field), std::move(m));
}
Cause duplicate(std::string field, std::string_view rendered) {
  return makeCause("FieldValueDuplicate", std::move(field), "Duplicate value: " + std::string(rendered));
}
Cause tooLong(std::string field, int64_t max) {
  std::string m = "Too long: ";
  if (max >= 0) {
    m += "may not be more than " + std::to_string(max) + (max == 1 ? " byte" : " bytes");
  } else {
    m += "value is too long";
  }
  return makeCause("FieldValueTooLong", std::move(field), std::move(m));
}
Cause tooMany(std::string field, int64_t actual, int64_t max) {
  std::string m = "Too many";
  if (actual >= 0) m += ": " + std::to_string(actual);
  if (max >= 0) {
    m += ": must have at most " + std::to_string(max) + (max == 1 ? " item" : " items");
  } else {
    m += ": has too many items";
  }
  return makeCause("FieldValueTooMany", std::move(field), std::move(m));
}

// ---------------------------------------------------------------------------------------------
// Kubernetes name validators with the apiserver's full wording (utilvalidation.IsDNS1035Label,
// IsDNS1123Subdomain).

constexpr std::string_view kDns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDns1035LabelFmt = "[a-z]([-a-z0-9]*[a-z0-9])?";

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isLowerAlpha(char c) { return c >= 'a' && c <= 'z'; }

bool matchesDns1123Label(std::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

bool matchesDns1123Subdomain(std::string_view s) {
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!matchesDns1123Label(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string regexError(std::string_view msg, std::string_view fmt, std::initializer_list<std::string_view> examples) {
  std::string out(msg);
  if (examples.size() == 0) return out + " (regex used for validation is '" + std::string(fmt) + "')";
  out += " (e.g. ";
  bool first = true;
  for (auto e : examples) {
    if (!first) out += " or ";
    first = false;
    out += "'" + std::string(e) + "', ";
  }
  out += "regex used for validation is '" + std::string(fmt) + "')";
  return out;
}

std::vector<std::string> isDns1035Label(std::string_view s) {
  std::vector<std::string> errs;
  if (s.size() > 63) errs.push_back("must be no more than 63 characters");
  bool ok = !s.empty() && isLowerAlpha(s.front()) && isLowerAlnum(s.back()) &&
            std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
  if (!ok) {
    errs.push_back(
        regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
                   "with an alphabetic character, and end with an alphanumeric character",
                   kDns1035LabelFmt, {"my-name", "abc-123"}));
  }
  return errs;
}

std::vector<std::string> isDns1123Label(std::string_view s) {
  std::vector<std::string> errs;
  if (s.size() > 63) errs.push_back("must be no more than 63 characters");
  if (!matchesDns1123Label(s)) {
    if (matchesDns1123Subdomain(s)) {
      errs.push_back("must not contain dots");
    } else {
      errs.push_back(
          regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                     "'-', and must start and end with an alphanumeric character",
                     kDns1123LabelFmt, {"my-name", "123-abc"}));
    }
  }
  return errs;
}

std::vector<std::string> isDns1123Subdomain(std::string_view s) {
  std::vector<std::string> errs;
  if (s.size() > 253) errs.push_back("must be no more than 253 characters");
  if (!matchesDns1123Subdomain(s)) {
    static const std::string kFmt = std::string(kDns1123LabelFmt) + "(\\." + std::string(kDns1123LabelFmt) + ")*";
    errs.push_back(
        regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                   "'-' or '.', and must start and end with an alphanumeric character",
                   kFmt, {"example.com"}));
  }
  return errs;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

// =============================================================================================
// Invalid status

std::string invalidMessage(std::string_view group, std::string_view kind, std::string_view name,
                           const std::vector<Cause>& causes) {
  std::string qualified(kind);
  if (!group.empty()) qualified += "." + std::string(group);
  std::string out = qualified + " " + goQuote(name) + " is invalid";
  // ErrorList.ToAggregate drops repeated texts; the aggregate prints one bare or several in [].
  std::vector<std::string> distinct;
  for (const auto& c : causes) {
    std::string s = c.toString();
    if (std::find(distinct.begin(), distinct.end(), s) == distinct.end()) distinct.push_back(std::move(s));
  }
  if (distinct.empty()) return out;
  out += ": ";
  if (distinct.size() == 1) return out + distinct[0];
  return out + "[" + joinStrings(distinct, ", ") + "]";
}

Status invalidStatus(std::string_view group, std::string_view kind, std::string_view name,
                     const std::vector<Cause>& causes) {
  return invalidArgument(invalidMessage(group, kind, name, causes));
}

json::Document invalidStatusBody(std::string_view group, std::string_view kind, std::string_view name,
                                 const std::vector<Cause>& causes) {
  json::Document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  json::setString(d, "kind", "Status", a);
  json::setString(d, "apiVersion", "v1", a);
  Value meta(rapidjson::kObjectType);
  json::setMember(d, "metadata", meta, a);
  json::setString(d, "status", "Failure", a);
  json::setString(d, "message", invalidMessage(group, kind, name, causes), a);
  json::setString(d, "reason", "Invalid", a);
  Value details(rapidjson::kObjectType);
  json::setString(details, "name", name, a);
  if (!group.empty()) json::setString(details, "group", group, a);
  json::setString(details, "kind", kind, a);
  Value arr(rapidjson::kArrayType);
  for (const auto& c : causes) {
    Value cv(rapidjson::kObjectType);
    json::setString(cv, "reason", c.type, a);
    json::setString(cv, "message", c.message, a);
    json::setString(cv, "field", c.field, a);
    arr.PushBack(cv, a);
  }
  if (!causes.empty()) json::setMember(details, "causes", arr, a);
  json::setMember(d, "details", details, a);
  Value code(422);
  json::setMember(d, "code", code, a);
  return d;
}

// =============================================================================================
// 2. The compiled schema

namespace {

// One JSONSchemaProps, compiled. Holds everything the apiserver looks at: the structural parts
// (type, properties, items, additionalProperties, extensions), the value validations, and
// presence flags for the keywords CRDs may not use (so validateCrd can name them).
struct Node {
  const Value* src = nullptr;  // the raw schema (in Impl::doc)

  std::string type;
  std::string format;     // as written
  std::string effFormat;  // after StripUnsupportedFormatsPostProcessor (what validation uses)
  std::string title;
  std::string description;
  bool nullable = false;
  const Value* defaultValue = nullptr;  // null JSON counts as absent, as in Go
  bool hasExample = false;
  bool hasExternalDocs = false;

  std::optional<double> maximum;
  std::optional<double> minimum;
  const Value* maximumRaw = nullptr;
  const Value* minimumRaw = nullptr;
  bool exclusiveMaximum = false;
  bool exclusiveMinimum = false;
  std::optional<int64_t> maxLength, minLength, maxItems, minItems, maxProperties, minProperties;
  std::optional<double> multipleOf;
  const Value* multipleOfRaw = nullptr;
  std::optional<std::string> pattern;
  std::shared_ptr<const std::regex> regex;
  std::string regexError;  // Go-style compile error when the pattern is refused
  bool uniqueItems = false;
  std::vector<std::string> required;
  bool hasRequired = false;  // present, even as []
  bool hasEnum = false;
  std::vector<const Value*> enumValues;
  std::vector<Node> allOf, anyOf, oneOf;
  std::unique_ptr<Node> notSchema;

  std::vector<std::pair<std::string, Node>> properties;
  std::map<std::string, size_t, std::less<>> propIndex;
  std::unique_ptr<Node> items;
  bool itemsIsArray = false;
  std::vector<Node> itemsArray;
  enum class Ap { kAbsent, kFalse, kTrue, kSchema };
  Ap ap = Ap::kAbsent;
  std::unique_ptr<Node> apSchema;

  bool hasId = false, hasSchemaUri = false, hasRef = false, hasPatternProperties = false, hasDependencies = false,
       hasAdditionalItems = false, hasDefinitions = false;

  bool preserveUnknownFields = false;  // x-kubernetes-preserve-unknown-fields: true
  bool preserveExplicitFalse = false;  // … : false (refused by validateCrd)
  bool embeddedResource = false;
  bool intOrString = false;
  std::optional<std::string> listType;
  std::optional<std::string> mapType;
  std::vector<std::string> listMapKeys;
  bool hasListMapKeys = false;     // present, even as []
  std::vector<CelRule> celRules;   // this node's own x-kubernetes-validations
  std::vector<bool> celReasonSet;  // per rule: `reason` was present

  const Node* prop(std::string_view k) const {
    auto it = propIndex.find(k);
    return it == propIndex.end() ? nullptr : &properties[it->second].second;
  }
  bool hasAp() const { return ap != Ap::kAbsent; }
  // The structural additionalProperties schema (nullptr for true/false).
  const Node* apNode() const { return ap == Ap::kSchema ? apSchema.get() : nullptr; }
};

// --- formats (kube-openapi strfmt + the apiserver's supported list)

std::string normalizeFormat(std::string_view f) {
  std::string out;
  for (char c : f) {
    if (c != '-') out += c;
  }
  return out;
}

bool isSupportedStringFormat(std::string_view normalized) {
  static const std::array<std::string_view, 26> kFormats = {
      "bsonobjectid", "uri",   "email",    "hostname", "ipv4",     "ipv6",     "cidr",         "mac",        "uuid",
      "uuid3",        "uuid4", "uuid5",    "isbn",     "isbn10",   "isbn13",   "creditcard",   "ssn",        "hexcolor",
      "rgbcolor",     "byte",  "password", "date",     "duration", "datetime", "k8sshortname", "k8slongname"};
  return std::find(kFormats.begin(), kFormats.end(), normalized) != kFormats.end();
}

std::string effectiveFormat(const Node& n) {
  if (n.format.empty()) return "";
  std::string schemaType = n.intOrString ? "" : n.type;
  if (schemaType.empty() || schemaType == "string") {
    return isSupportedStringFormat(normalizeFormat(n.format)) ? n.format : "";
  }
  if (schemaType == "integer") return n.format == "int32" || n.format == "int64" ? n.format : "";
  if (schemaType == "number") return n.format == "float" || n.format == "double" ? n.format : "";
  return "";
}

// --- pattern compilation

std::string regexCodeText(std::regex_constants::error_type code) {
  switch (code) {
    case std::regex_constants::error_collate:
      return "invalid character class";
    case std::regex_constants::error_ctype:
      return "invalid character class";
    case std::regex_constants::error_escape:
      return "invalid escape sequence";
    case std::regex_constants::error_backref:
      return "invalid escape sequence";
    case std::regex_constants::error_brack:
      return "missing closing ]";
    case std::regex_constants::error_paren:
      return "missing closing )";
    case std::regex_constants::error_brace:
      return "invalid repeat count";
    case std::regex_constants::error_badbrace:
      return "invalid repeat count";
    case std::regex_constants::error_range:
      return "invalid character class range";
    case std::regex_constants::error_space:
      return "expression too large";
    case std::regex_constants::error_badrepeat:
      return "missing argument to repetition operator";
    case std::regex_constants::error_complexity:
      return "expression too large";
    case std::regex_constants::error_stack:
      return "expression too large";
    default:
      return "invalid regular expression";
  }
}

// Compiles a schema pattern. Go's RE2 is the reference; see the note in crd.h for differences.
std::shared_ptr<const std::regex> compilePattern(const std::string& pattern, std::string* error) {
  int depth = 0, maxDepth = 0;
  bool escaped = false, inClass = false;
  for (char c : pattern) {
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c == '\\') {
      escaped = true;
    } else if (inClass) {
      if (c == ']') inClass = false;
    } else if (c == '[') {
      inClass = true;
    } else if (c == '(') {
      maxDepth = std::max(maxDepth, ++depth);
    } else if (c == ')') {
      --depth;
    }
  }
  if (maxDepth > 1000 || pattern.size() > 65536) {
    *error = "error parsing regexp: expression nests too deeply: `" + pattern + "`";
    return nullptr;
  }
  try {
    auto flags = std::regex::ECMAScript;
#if defined(__GLIBCXX__)
    // The BFS (Thompson) executor: no recursion per input character, so a long value cannot
    // overflow the stack; it refuses backreferences, which RE2 does not have either.
    flags |= std::regex_constants::__polynomial;
#endif
    return std::make_shared<const std::regex>(pattern, flags);
  } catch (const std::regex_error& e) {
    *error = "error parsing regexp: " + regexCodeText(e.code()) + ": `" + pattern + "`";
    return nullptr;
  } catch (const std::exception&) {
    *error = "error parsing regexp: invalid regular expression: `" + pattern + "`";
    return nullptr;
  }
}

// The fixed regexes of the format checkers, on the same stack-safe executor as patterns.
std::regex safeRegex(const char* pattern, std::regex::flag_type extra = std::regex::flag_type()) {
  auto flags = std::regex::ECMAScript | extra;
#if defined(__GLIBCXX__)
  flags |= std::regex_constants::__polynomial;
#endif
  return std::regex(pattern, flags);
}

bool patternMatches(const std::regex& re, std::string_view s) {
  try {
    return std::regex_search(s.begin(), s.end(), re);
  } catch (const std::exception&) {
    return false;
  }
}

// --- decoding (the Go JSON decoder's type checks)

// The apiserver cannot decode a CRD whose fields have the wrong JSON type; it answers 400 with
// the Go decoder's message. `path` is the dotted JSON path of the field (indexes omitted).
struct Decoder {
  std::string error;
  int depth = 0;

  bool ok() const { return error.empty(); }

  bool fail(const Value& v, std::string_view structName, std::string_view path, std::string_view goType,
            bool intTarget = false) {
    if (!error.empty()) return false;
    std::string desc;
    switch (v.GetType()) {
      case rapidjson::kStringType:
        desc = "string";
        break;
      case rapidjson::kFalseType:
      case rapidjson::kTrueType:
        desc = "bool";
        break;
      case rapidjson::kArrayType:
        desc = "array";
        break;
      case rapidjson::kObjectType:
        desc = "object";
        break;
      case rapidjson::kNumberType:
        desc = "number";
        if (intTarget) desc += " " + goJson(v);
        break;
      case rapidjson::kNullType:
        desc = "null";
        break;
    }
    error = "json: cannot unmarshal " + desc + " into Go struct field " + std::string(structName) + "." +
            std::string(path) + " of type " + std::string(goType);
    return false;
  }

  static std::string at(std::string_view base, std::string_view k) { return child(base, k); }

  const Value* field(const Value& obj, const char* k) {
    const Value* v = json::find(obj, k);
    return v && !v->IsNull() ? v : nullptr;
  }

  bool str(const Value& obj, const char* k, std::string* out, std::string_view st, std::string_view base) {
    const Value* v = field(obj, k);
    if (!v) return true;
    if (!v->IsString()) return fail(*v, st, at(base, k), "string");
    *out = sv(*v);
    return true;
  }
  bool optStr(const Value& obj, const char* k, std::optional<std::string>* out, std::string_view st,
              std::string_view base) {
    const Value* v = field(obj, k);
    if (!v) return true;
    if (!v->IsString()) return fail(*v, st, at(base, k), "string");
    *out = sv(*v);
    return true;
  }
  bool boolean(const Value& obj, const char* k, bool* out, std::string_view st, std::string_view base) {
    const Value* v = field(obj, k);
    if (!v) return true;
    if (!v->IsBool()) return fail(*v, st, at(base, k), "bool");
    *out = v->GetBool();
    return true;
  }
  bool optBool(const Value& obj, const char* k, std::optional<bool>* out, std::string_view st, std::string_view base) {
    const Value* v = field(obj, k);
    if (!v) return true;
    if (!v->IsBool()) return fail(*v, st, at(base, k), "bool");
    *out = v->GetBool();
    return true;
  }
  bool int64(const Value& obj, const char* k, std::optional<int64_t>* out, std::string_view st, std::string_view base) {
    const Value* v = field(obj, k);
    if (!v) return true;
    if (!v->IsInt64()) return fail(*v, st, at(base, k), "int64", true);
    *out = v->GetInt64();
    return true;
  }
  bool int32(const Value& obj, const char* k, int32_t* out, std::string_view st, std::string_view base) {
    const Value* v = field(obj, k);
    if (!v) return true;
    if (!v->IsInt()) return fail(*v, st, at(base, k), "int32", true);
    *out = v->GetInt();
    return true;
  }
  bool number(const Value& obj, const char* k, std::optional<double>* out, const Value** raw, std::string_view st,
              std::string_view base) {
    const Value* v = field(obj, k);
    if (!v) return true;
    if (!v->IsNumber()) return fail(*v, st, at(base, k), "float64");
    *out = v->GetDouble();
    if (raw) *raw = v;
    return true;
  }
  bool strList(const Value& obj, const char* k, std::vector<std::string>* out, std::string_view st,
               std::string_view base) {
    const Value* v = field(obj, k);
    if (!v) return true;
    if (!v->IsArray()) return fail(*v, st, at(base, k), "[]string");
    for (const auto& e : v->GetArray()) {
      if (e.IsNull()) {
        out->emplace_back();
        continue;
      }
      if (!e.IsString()) return fail(e, st, at(base, k), "string");
      out->push_back(sv(e));
    }
    return true;
  }
  bool object(const Value& obj, const char* k, const Value** out, std::string_view st, std::string_view base,
              std::string_view goType) {
    const Value* v = field(obj, k);
    *out = nullptr;
    if (!v) return true;
    if (!v->IsObject()) return fail(*v, st, at(base, k), goType);
    *out = v;
    return true;
  }

  // JSONSchemaProps. `schemaPath` is the field.Path-style location used for CelRule.schemaPath.
  bool schema(const Value& v, Node& n, const std::string& base, const std::string& schemaPath) {
    constexpr std::string_view kSt = "JSONSchemaProps";
    if (!v.IsObject()) return fail(v, kSt, base, "v1.JSONSchemaProps");
    if (depth >= 200) {
      if (error.empty()) error = "json: exceeded max depth at " + base;
      return false;
    }
    struct DepthGuard {
      int& d;
      explicit DepthGuard(int& x) : d(++x) {}
      ~DepthGuard() { --d; }
    } guard(depth);
    n.src = &v;
    n.hasId = field(v, "id") != nullptr;
    n.hasSchemaUri = field(v, "$schema") != nullptr;
    std::optional<std::string> ref;
    std::string ignored;
    if (!str(v, "id", &ignored, kSt, base) || !str(v, "$schema", &ignored, kSt, base) ||
        !optStr(v, "$ref", &ref, kSt, base)) {
      return false;
    }
    n.hasRef = ref.has_value() && !ref->empty();
    if (!str(v, "description", &n.description, kSt, base) || !str(v, "type", &n.type, kSt, base) ||
        !str(v, "format", &n.format, kSt, base) || !str(v, "title", &n.title, kSt, base) ||
        !number(v, "maximum", &n.maximum, &n.maximumRaw, kSt, base) ||
        !boolean(v, "exclusiveMaximum", &n.exclusiveMaximum, kSt, base) ||
        !number(v, "minimum", &n.minimum, &n.minimumRaw, kSt, base) ||
        !boolean(v, "exclusiveMinimum", &n.exclusiveMinimum, kSt, base) ||
        !int64(v, "maxLength", &n.maxLength, kSt, base) || !int64(v, "minLength", &n.minLength, kSt, base) ||
        !optStr(v, "pattern", &n.pattern, kSt, base) || !int64(v, "maxItems", &n.maxItems, kSt, base) ||
        !int64(v, "minItems", &n.minItems, kSt, base) || !boolean(v, "uniqueItems", &n.uniqueItems, kSt, base) ||
        !number(v, "multipleOf", &n.multipleOf, &n.multipleOfRaw, kSt, base) ||
        !int64(v, "maxProperties", &n.maxProperties, kSt, base) ||
        !int64(v, "minProperties", &n.minProperties, kSt, base) || !strList(v, "required", &n.required, kSt, base) ||
        !boolean(v, "nullable", &n.nullable, kSt, base)) {
      return false;
    }
    if (n.pattern && n.pattern->empty()) n.pattern.reset();
    n.hasRequired = field(v, "required") != nullptr;
    n.hasListMapKeys = field(v, "x-kubernetes-list-map-keys") != nullptr;
    n.defaultValue = field(v, "default");
    n.hasExample = field(v, "example") != nullptr;
    if (const Value* ed = field(v, "externalDocs")) {
      if (!ed->IsObject()) return fail(*ed, kSt, at(base, "externalDocs"), "v1.ExternalDocumentation");
      n.hasExternalDocs = true;
    }
    if (const Value* e = field(v, "enum")) {
      if (!e->IsArray()) return fail(*e, kSt, at(base, "enum"), "[]v1.JSON");
      n.hasEnum = true;
      for (const auto& x : e->GetArray()) n.enumValues.push_back(&x);
    }
    auto schemaList = [&](const char* k, std::vector<Node>* out) {
      const Value* l = field(v, k);
      if (!l) return true;
      if (!l->IsArray()) return fail(*l, kSt, at(base, k), "[]v1.JSONSchemaProps");
      size_t i = 0;
      for (const auto& x : l->GetArray()) {
        out->emplace_back();
        if (!schema(x, out->back(), at(base, k), index(child(schemaPath, k), i++))) return false;
      }
      return true;
    };
    if (!schemaList("allOf", &n.allOf) || !schemaList("anyOf", &n.anyOf) || !schemaList("oneOf", &n.oneOf)) {
      return false;
    }
    if (const Value* x = field(v, "not")) {
      n.notSchema = std::make_unique<Node>();
      if (!schema(*x, *n.notSchema, at(base, "not"), child(schemaPath, "not"))) return false;
    }
    if (const Value* p = field(v, "properties")) {
      if (!p->IsObject()) return fail(*p, kSt, at(base, "properties"), "map[string]v1.JSONSchemaProps");
      for (const auto& m : p->GetObject()) {
        std::string k = sv(m.name);
        Node child_;
        if (!schema(m.value, child_, at(base, "properties"), key(child(schemaPath, "properties"), k))) return false;
        auto it = n.propIndex.find(k);
        if (it != n.propIndex.end()) {
          n.properties[it->second].second = std::move(child_);  // duplicate key: the last one wins
        } else {
          n.propIndex.emplace(k, n.properties.size());
          n.properties.emplace_back(k, std::move(child_));
        }
      }
    }
    if (const Value* it = field(v, "items")) {
      if (it->IsArray()) {
        n.itemsIsArray = true;
        size_t i = 0;
        for (const auto& x : it->GetArray()) {
          n.itemsArray.emplace_back();
          if (!schema(x, n.itemsArray.back(), at(base, "items"), index(child(schemaPath, "items"), i++))) return false;
        }
      } else if (it->IsObject()) {
        n.items = std::make_unique<Node>();
        if (!schema(*it, *n.items, at(base, "items"), child(schemaPath, "items"))) return false;
      } else {
        return fail(*it, kSt, at(base, "items"), "v1.JSONSchemaPropsOrArray");
      }
    }
    if (const Value* apv = field(v, "additionalProperties")) {
      if (apv->IsBool()) {
        n.ap = apv->GetBool() ? Node::Ap::kTrue : Node::Ap::kFalse;
      } else if (apv->IsObject()) {
        n.ap = Node::Ap::kSchema;
        n.apSchema = std::make_unique<Node>();
        if (!schema(*apv, *n.apSchema, at(base, "additionalProperties"), child(schemaPath, "additionalProperties"))) {
          return false;
        }
      } else {
        return fail(*apv, kSt, at(base, "additionalProperties"), "v1.JSONSchemaPropsOrBool");
      }
    }
    if (const Value* pp = field(v, "patternProperties")) {
      if (!pp->IsObject()) return fail(*pp, kSt, at(base, "patternProperties"), "map[string]v1.JSONSchemaProps");
      n.hasPatternProperties = pp->MemberCount() > 0;
    }
    if (const Value* d = field(v, "dependencies")) {
      if (!d->IsObject()) return fail(*d, kSt, at(base, "dependencies"), "v1.JSONSchemaDependencies");
      n.hasDependencies = d->MemberCount() > 0;
    }
    if (const Value* ai = field(v, "additionalItems")) {
      if (!ai->IsObject() && !ai->IsBool()) {
        return fail(*ai, kSt, at(base, "additionalItems"), "v1.JSONSchemaPropsOrBool");
      }
      n.hasAdditionalItems = true;
    }
    if (const Value* defs = field(v, "definitions")) {
      if (!defs->IsObject()) return fail(*defs, kSt, at(base, "definitions"), "v1.JSONSchemaDefinitions");
      n.hasDefinitions = defs->MemberCount() > 0;
    }
    std::optional<bool> preserve;
    if (!optBool(v, "x-kubernetes-preserve-unknown-fields", &preserve, kSt, base) ||
        !boolean(v, "x-kubernetes-embedded-resource", &n.embeddedResource, kSt, base) ||
        !boolean(v, "x-kubernetes-int-or-string", &n.intOrString, kSt, base) ||
        !strList(v, "x-kubernetes-list-map-keys", &n.listMapKeys, kSt, base) ||
        !optStr(v, "x-kubernetes-list-type", &n.listType, kSt, base) ||
        !optStr(v, "x-kubernetes-map-type", &n.mapType, kSt, base)) {
      return false;
    }
    n.preserveUnknownFields = preserve.value_or(false);
    n.preserveExplicitFalse = preserve.has_value() && !*preserve;
    if (const Value* xv = field(v, "x-kubernetes-validations")) {
      if (!xv->IsArray()) return fail(*xv, kSt, at(base, "x-kubernetes-validations"), "v1.ValidationRules");
      for (const auto& r : xv->GetArray()) {
        constexpr std::string_view kRuleSt = "ValidationRule";
        std::string rb = at(base, "x-kubernetes-validations");
        if (!r.IsObject()) return fail(r, kSt, rb, "v1.ValidationRule");
        CelRule rule;
        rule.schemaPath = schemaPath;
        std::optional<bool> optionalOldSelf;
        if (!str(r, "rule", &rule.rule, kRuleSt, rb) || !str(r, "message", &rule.message, kRuleSt, rb) ||
            !str(r, "messageExpression", &rule.messageExpression, kRuleSt, rb) ||
            !str(r, "reason", &rule.reason, kRuleSt, rb) || !str(r, "fieldPath", &rule.fieldPath, kRuleSt, rb) ||
            !optBool(r, "optionalOldSelf", &optionalOldSelf, kRuleSt, rb)) {
          return false;
        }
        n.celReasonSet.push_back(field(r, "reason") != nullptr);
        n.celRules.push_back(std::move(rule));
      }
    }
    n.effFormat = effectiveFormat(n);
    if (n.pattern) n.regex = compilePattern(*n.pattern, &n.regexError);
    return true;
  }
};

void collectCelRules(const Node& n, std::vector<CelRule>* out) {
  out->insert(out->end(), n.celRules.begin(), n.celRules.end());
  for (const auto& [k, p] : n.properties) collectCelRules(p, out);
  if (n.items) collectCelRules(*n.items, out);
  if (n.apSchema) collectCelRules(*n.apSchema, out);
  for (const auto& x : n.allOf) collectCelRules(x, out);
  for (const auto& x : n.anyOf) collectCelRules(x, out);
  for (const auto& x : n.oneOf) collectCelRules(x, out);
  if (n.notSchema) collectCelRules(*n.notSchema, out);
}

}  // namespace

struct CrdVersionSchema::Impl {
  json::Document doc;  // a private copy of the openAPIV3Schema the nodes point into
  Node root;
  std::vector<CelRule> celRules;
};

// Attaches subresources and printer columns to a compiled schema (parseCrd), and builds schemas
// with a decoder error prefix of the CRD field they come from.
struct CrdVersionSchemaAccess {
  static StatusOr<CrdVersionSchema> compile(const Value& schema, const std::string& goPath, std::string* decodeError) {
    auto impl = std::make_shared<CrdVersionSchema::Impl>();
    impl->doc.CopyFrom(schema, impl->doc.GetAllocator());
    Decoder d;
    if (!d.schema(impl->doc, impl->root, goPath, "openAPIV3Schema")) {
      *decodeError = d.error;
      return invalidArgument(d.error);
    }
    collectCelRules(impl->root, &impl->celRules);
    CrdVersionSchema s;
    s.impl_ = std::move(impl);
    return s;
  }
  static void attach(CrdVersionSchema& s, bool hasStatus, std::optional<ScaleSubresource> scale,
                     std::vector<PrinterColumn> columns) {
    s.hasStatus_ = hasStatus;
    s.scale_ = std::move(scale);
    s.columns_ = std::move(columns);
  }
  static const Node* root(const CrdVersionSchema& s) { return s.impl_ ? &s.impl_->root : nullptr; }
};

// =============================================================================================
// 3. Pruning, null dropping, defaulting

namespace {

constexpr size_t kMaxDepth = 1000;  // guards recursion over values no schema bounds

bool isMetaField(std::string_view k) { return k == "apiVersion" || k == "kind" || k == "metadata"; }

// Pruning with no schema: objects lose every field; arrays are walked (iteratively, since no
// schema bounds their depth) so objects inside them are emptied too.
void pruneAll(Value& x) {
  std::vector<Value*> stack{&x};
  while (!stack.empty()) {
    Value* v = stack.back();
    stack.pop_back();
    if (v->IsObject()) {
      v->RemoveAllMembers();
    } else if (v->IsArray()) {
      for (auto& e : v->GetArray()) stack.push_back(&e);
    }
  }
}

void pruneValue(Value& x, const Node* s, bool asResource);

// skipPrune: under x-kubernetes-preserve-unknown-fields, unknown fields stay but known ones are
// still pruned by their own schemas.
void skipPrune(Value& x, const Node* s, bool asResource) {
  if (!s) return;
  if (x.IsObject()) {
    bool embedded = asResource || s->embeddedResource;
    for (auto& m : x.GetObject()) {
      std::string_view k = json::view(m.name);
      if (embedded && isMetaField(k)) continue;
      if (const Node* p = s->prop(k)) {
        pruneValue(m.value, p, false);
      } else if (s->hasAp()) {
        pruneValue(m.value, s->apNode(), false);
      }
    }
  } else if (x.IsArray()) {
    for (auto& e : x.GetArray()) skipPrune(e, s->items.get(), false);
  }
}

void pruneValue(Value& x, const Node* s, bool asResource) {
  if (s && s->preserveUnknownFields) {
    skipPrune(x, s, asResource);
    return;
  }
  if (!s && !asResource) {
    pruneAll(x);
    return;
  }
  if (x.IsObject()) {
    bool embedded = asResource || (s && s->embeddedResource);
    for (auto it = x.MemberBegin(); it != x.MemberEnd();) {
      std::string_view k = json::view(it->name);
      if (embedded && isMetaField(k)) {
        ++it;
        continue;
      }
      const Node* p = s ? s->prop(k) : nullptr;
      if (p) {
        pruneValue(it->value, p, false);
        ++it;
      } else if (s && s->hasAp()) {
        pruneValue(it->value, s->apNode(), false);
        ++it;
      } else {
        it = x.EraseMember(it);  // keeps the order of the remaining fields
      }
    }
  } else if (x.IsArray()) {
    for (auto& e : x.GetArray()) pruneValue(e, s ? s->items.get() : nullptr, false);
  }
}

// ObjectMeta's JSON fields: decoding metadata into ObjectMeta drops everything else.
bool isObjectMetaField(std::string_view k) {
  static const std::array<std::string_view, 15> kFields = {"name",
                                                           "generateName",
                                                           "namespace",
                                                           "selfLink",
                                                           "uid",
                                                           "resourceVersion",
                                                           "generation",
                                                           "creationTimestamp",
                                                           "deletionTimestamp",
                                                           "deletionGracePeriodSeconds",
                                                           "labels",
                                                           "annotations",
                                                           "ownerReferences",
                                                           "finalizers",
                                                           "managedFields"};
  return std::find(kFields.begin(), kFields.end(), k) != kFields.end();
}

bool isEmptyForOmitempty(const Value& v) {
  if (v.IsNull()) return true;
  if (v.IsString()) return v.GetStringLength() == 0;
  if (v.IsObject()) return v.MemberCount() == 0;
  if (v.IsArray()) return v.Empty();
  if (v.IsNumber()) return v.GetDouble() == 0;
  if (v.IsBool()) return !v.GetBool();
  return false;
}

// metadata round-tripped through ObjectMeta: unknown fields go; in embedded resources the
// omitempty fields that are empty (and a zero creationTimestamp) go too.
void coerceMetadata(Value& meta, bool embedded) {
  if (!meta.IsObject()) return;
  for (auto it = meta.MemberBegin(); it != meta.MemberEnd();) {
    std::string_view k = json::view(it->name);
    if (!isObjectMetaField(k) || (embedded && isEmptyForOmitempty(it->value))) {
      it = meta.EraseMember(it);
    } else {
      ++it;
    }
  }
}

void coerceEmbedded(Value& x, const Node* s) {
  if (!s) return;
  if (x.IsObject()) {
    if (s->embeddedResource) {
      if (Value* m = json::find(x, "metadata")) coerceMetadata(*m, true);
    }
    for (auto& m : x.GetObject()) {
      std::string_view k = json::view(m.name);
      if (const Node* p = s->prop(k)) {
        coerceEmbedded(m.value, p);
      } else if (s->hasAp()) {
        coerceEmbedded(m.value, s->apNode());
      }
    }
  } else if (x.IsArray()) {
    for (auto& e : x.GetArray()) coerceEmbedded(e, s->items.get());
  }
}

const Node* schemaForField(const Node* s, std::string_view k) {
  if (!s) return nullptr;
  if (const Node* p = s->prop(k)) return p;
  return s->apNode();
}

void dropNulls(Value& x, const Node* s) {
  if (!s) return;  // without a schema nothing is non-nullable: a no-op however deep x is
  if (x.IsObject()) {
    for (auto it = x.MemberBegin(); it != x.MemberEnd();) {
      const Node* fs = schemaForField(s, json::view(it->name));
      if (it->value.IsNull() && fs && !fs->nullable && !fs->defaultValue) {
        it = x.EraseMember(it);
      } else {
        dropNulls(it->value, fs);
        ++it;
      }
    }
  } else if (x.IsArray()) {
    for (auto& e : x.GetArray()) dropNulls(e, s->items.get());
  }
}

bool isNonNullableNull(const Value& x, const Node* s) { return x.IsNull() && s && !s->nullable; }

void applyDefaultsTo(Value& x, const Node* s, json::Allocator& a) {
  if (!s) return;
  if (x.IsObject()) {
    for (const auto& [k, prop] : s->properties) {
      if (!prop.defaultValue) continue;
      Value* cur = json::find(x, k);
      if (!cur) {
        Value copy(*prop.defaultValue, a);
        x.AddMember(json::str(k, a), copy, a);
      } else if (isNonNullableNull(*cur, &prop)) {
        Value copy(*prop.defaultValue, a);
        *cur = copy;
      }
    }
    for (auto& m : x.GetObject()) {
      std::string_view k = json::view(m.name);
      if (const Node* p = s->prop(k)) {
        applyDefaultsTo(m.value, p, a);
      } else if (s->hasAp()) {
        const Node* ap = s->apNode();
        if (isNonNullableNull(m.value, ap) && ap->defaultValue) {
          Value copy(*ap->defaultValue, a);
          m.value = copy;
        }
        applyDefaultsTo(m.value, ap, a);
      }
    }
  } else if (x.IsArray()) {
    const Node* items = s->items.get();
    for (auto& e : x.GetArray()) {
      if (isNonNullableNull(e, items) && items->defaultValue) {
        Value copy(*items->defaultValue, a);
        e = copy;
      }
      applyDefaultsTo(e, items, a);
    }
  }
}

// =============================================================================================
// 4. The value validator: kube-openapi's SchemaValidator with the apiserver's CRD setup
//    (in = "body", root path "", int-or-string as type [integer, string], unsupported formats
//    stripped), then kubeOpenAPIResultToFieldErrors.

enum class ErrCode {
  kPlain,  // errors.New / fmt.Errorf: no path, becomes `<nil>: Invalid value: ""`
  kInvalidType,
  kRequired,
  kTooLong,
  kTooShort,
  kPattern,
  kEnum,
  kMultipleOf,
  kMax,
  kMin,
  kUnique,
  kMaxItems,
  kMinItems,
  kTooFewProps,
  kTooManyProps,
  kUnallowedProp,
  kMultipleOfPositive,
};

struct OErr {
  ErrCode code = ErrCode::kPlain;
  std::string name;                  // the validator's path ("spec.replicas", ".x" for a root required field)
  std::string message;               // Error()
  std::optional<std::string> value;  // the rendered BadValue; nullopt renders as ""
  int64_t actual = -1;
  int64_t max = -1;
  std::vector<std::string> enumValues;
};

struct OResult {
  std::vector<OErr> errors;
  bool valid() const { return errors.empty(); }
  // Result.AddErrors: an error whose text is already reported is dropped.
  void add(OErr e) {
    for (const auto& x : errors) {
      if (x.message == e.message) return;
    }
    errors.push_back(std::move(e));
  }
  void merge(OResult&& o) {
    for (auto& e : o.errors) add(std::move(e));
  }
};

OErr plainErr(std::string message) {
  OErr e;
  e.message = std::move(message);
  return e;
}

OErr valErr(ErrCode code, std::string name, std::string message, std::optional<std::string> value = std::nullopt) {
  OErr e;
  e.code = code;
  e.name = std::move(name);
  e.message = std::move(message);
  e.value = std::move(value);
  return e;
}

// errors.InvalidType with a string value: `<path> in body must be of type <t>: "<value>"`.
OErr invalidTypeErr(const std::string& path, std::string_view typeName, std::string_view value) {
  return valErr(ErrCode::kInvalidType, path,
                path + " in body must be of type " + std::string(typeName) + ": " + goQuote(value), goQuote(value));
}

bool jsonIntegerFloat(double f) {  // swag.IsFloat64AJSONInteger
  if (!std::isfinite(f) || f < -9007199254740991.0 || f > 9007199254740991.0) return false;
  double r = std::round(f);
  if (f == r) return true;
  return std::fabs(f - r) < 1e-9 * std::fabs(f);
}

// Go's int64(f) on amd64: truncation, 0x8000000000000000 when out of range.
int64_t goInt64(double f) {
  if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(f);
}

struct Num {
  bool isInt = false;
  int64_t i = 0;
  double f = 0;
  double asFloat() const { return isInt ? static_cast<double>(i) : f; }
  std::string render() const { return isInt ? std::to_string(i) : goFloat(f); }
};

Num numOf(const Value& v) {
  Num n;
  if (v.IsInt64()) {
    n.isInt = true;
    n.i = v.GetInt64();
  } else {
    n.f = v.GetDouble();
  }
  return n;
}

std::vector<std::string> typeList(const Node& s) {
  if (s.intOrString) return {"integer", "string"};
  if (!s.type.empty()) return {s.type};
  return {};
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The Go type and format kube-openapi derives from an unstructured value.
std::pair<const char*, const char*> schemaInfo(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return {"boolean", ""};
    case rapidjson::kStringType:
      return {"string", ""};
    case rapidjson::kNumberType:
      return v.IsInt64() ? std::pair{"integer", "int64"} : std::pair{"number", "float64"};
    case rapidjson::kArrayType:
      return {"array", ""};
    case rapidjson::kObjectType:
      return {"object", ""};
    case rapidjson::kNullType:
      break;
  }
  return {"", ""};
}

void typeCheck(const Node& s, const Value& data, const std::string& path, OResult& r) {
  std::vector<std::string> tl = typeList(s);
  const std::string& fmt = s.effFormat;
  if (data.IsNull()) {
    if (!tl.empty() && !contains(tl, "null") && !s.nullable) r.add(invalidTypeErr(path, joinStrings(tl, ","), "null"));
    return;
  }
  if (tl.empty() && fmt.empty()) return;
  auto [schType, valFormat] = schemaInfo(data);
  bool isFloatInt =
      std::string_view(schType) == "number" && jsonIntegerFloat(data.GetDouble()) && contains(tl, "integer");
  bool isIntFloat = std::string_view(schType) == "integer" && contains(tl, "number");
  bool strOrSlice = data.IsString() || data.IsArray();
  if (!strOrSlice && !fmt.empty() && !(contains(tl, schType) || fmt == valFormat || isFloatInt || isIntFloat)) {
    r.add(invalidTypeErr(path, fmt, valFormat));
    return;
  }
  if (!(contains(tl, "number") || contains(tl, "integer")) && !fmt.empty() && strOrSlice) return;
  if (!(contains(tl, schType) || isFloatInt || isIntFloat)) r.add(invalidTypeErr(path, joinStrings(tl, ","), schType));
}

// --- formats

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool isLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int daysIn(int m, int y) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

bool isDate(std::string_view s) {  // time.Parse("2006-01-02")
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!allDigits(s.substr(0, 4)) || !allDigits(s.substr(5, 2)) || !allDigits(s.substr(8, 2))) return false;
  int y = std::stoi(std::string(s.substr(0, 4)));
  int m = std::stoi(std::string(s.substr(5, 2)));
  int d = std::stoi(std::string(s.substr(8, 2)));
  return m >= 1 && m <= 12 && d >= 1 && d <= daysIn(m, y);
}

bool isDateTime(std::string_view str) {  // strfmt.IsDateTime
  if (str.size() < 4) return false;
  std::string lower = toLower(str);
  size_t t = lower.find('t');
  if (t == std::string::npos) return false;
  if (!isDate(std::string_view(lower).substr(0, t))) return false;
  std::string_view rest = std::string_view(lower).substr(t + 1);
  if (rest.find('t') != std::string_view::npos) rest = rest.substr(0, rest.find('t'));
  static const std::regex kTime = safeRegex("^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(rest.begin(), rest.end(), m, kTime)) return false;
  return m[1].str() <= "23" && m[2].str() <= "59" && m[3].str() <= "59";
}

bool isBase64(std::string_view s) {  // govalidator.IsBase64
  if (s.empty() || s.size() % 4 != 0) return false;
  auto b64 = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/'; };
  size_t pad = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '=') {
      if (i < s.size() - 2) return false;
      ++pad;
    } else if (pad > 0 || !b64(c)) {
      return false;
    }
  }
  return pad <= 2;
}

bool isUuid(std::string_view s, char version) {
  std::string h;
  for (char c : s) {
    if (c != '-') h += c;
  }
  if (h.size() != 32 || !std::all_of(h.begin(), h.end(), isHex)) return false;
  // The optional dashes sit at the usual places only.
  static const std::regex kShape =
      safeRegex("^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$");
  if (!std::regex_match(s.begin(), s.end(), kShape)) return false;
  if (version == 0) return true;
  if (h[12] != version) return false;
  if (version == '4' || version == '5') {
    char v = static_cast<char>(std::tolower(static_cast<unsigned char>(h[16])));
    return v == '8' || v == '9' || v == 'a' || v == 'b';
  }
  return true;
}

bool isIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t j = s.find('.', i);
    std::string_view p = s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (!allDigits(p) || p.size() > 3 || std::stoi(std::string(p)) > 255) return false;
    if (p.size() > 1 && p[0] == '0') return false;  // net.ParseIP refuses leading zeros since Go 1.17
    ++parts;
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return parts == 4;
}

bool isIpv6(std::string_view s) {
  if (s.find(':') == std::string_view::npos) return false;
  int groups = 0;
  bool doubleColon = false;
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    doubleColon = true;
    i = 2;
    if (s.size() == 2) return true;
  }
  while (i < s.size()) {
    size_t j = s.find(':', i);
    std::string_view g = s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (j == std::string_view::npos && g.find('.') != std::string_view::npos) {
      if (!isIpv4(g)) return false;
      groups += 2;
      break;
    }
    if (g.empty() || g.size() > 4 || !std::all_of(g.begin(), g.end(), isHex)) return false;
    ++groups;
    if (j == std::string_view::npos) break;
    if (j + 1 < s.size() && s[j + 1] == ':') {
      if (doubleColon) return false;
      doubleColon = true;
      i = j + 2;
      if (i == s.size()) break;
    } else {
      i = j + 1;
      if (i == s.size()) return false;
    }
  }
  return doubleColon ? groups < 8 : groups == 8;
}

bool isCidr(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view ip = s.substr(0, slash), bits = s.substr(slash + 1);
  if (!allDigits(bits) || bits.size() > 3 || (bits.size() > 1 && bits[0] == '0')) return false;
  int b = std::stoi(std::string(bits));
  if (isIpv4(ip)) return b <= 32;
  if (isIpv6(ip)) return b <= 128;
  return false;
}

bool isMac(std::string_view s) {  // net.ParseMAC: 6, 8 or 20 octets with ':' or '-', or dotted quads
  for (char sep : {':', '-'}) {
    if (s.find(sep) == std::string_view::npos) continue;
    size_t n = 0;
    for (size_t i = 0; i <= s.size(); i += 3) {
      std::string_view oct = s.substr(i, 2);
      if (oct.size() != 2 || !isHex(oct[0]) || !isHex(oct[1])) return false;
      ++n;
      if (i + 2 == s.size()) break;
      if (s[i + 2] != sep) return false;
    }
    return n == 6 || n == 8 || n == 20;
  }
  if (s.find('.') != std::string_view::npos) {
    size_t n = 0;
    for (size_t i = 0; i <= s.size(); i += 5) {
      std::string_view q = s.substr(i, 4);
      if (q.size() != 4 || !std::all_of(q.begin(), q.end(), isHex)) return false;
      ++n;
      if (i + 4 == s.size()) break;
      if (s[i + 4] != '.') return false;
    }
    return n == 3 || n == 4 || n == 10;
  }
  return false;
}

bool isHostname(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  size_t i = 0;
  while (true) {
    size_t j = s.find('.', i);
    std::string_view l = s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
    for (char c : l) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || static_cast<unsigned char>(c) >= 0x80))
        return false;
    }
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return true;
}

bool isEmail(std::string_view s) {  // net/mail.ParseAddress, pragmatically: local@domain
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) return false;
  for (char c : s) {
    if (c == ' ' || c == '<' || c == '>' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return s.find('@') == at && s.back() != '.';
}

bool isRequestUri(std::string_view s) {  // url.ParseRequestURI: absolute URI or absolute path
  if (s.empty()) return false;
  if (s[0] == '/') return s.find(' ') == std::string_view::npos;
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = s[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.')) return false;
  }
  return s.find(' ') == std::string_view::npos;
}

bool isDuration(std::string_view s) {  // time.ParseDuration, plus strfmt's "3 days" forms
  static const std::regex kGo = safeRegex("^[-+]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?0$");
  static const std::regex kHuman = safeRegex(
      "^(\\s*[0-9]+\\s*(ns|nanoseconds?|us|microseconds?|ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?|w|"
      "weeks?)\\s*)+$",
      std::regex::icase);
  std::string str(s);
  return std::regex_match(str, kGo) || std::regex_match(str, kHuman);
}

bool isLongName(std::string_view s) {  // k8s-long-name: dot-separated short names, no length cap per label
  if (s.empty()) return false;
  size_t i = 0;
  while (true) {
    size_t j = s.find('.', i);
    std::string_view l = s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (l.empty() || !isLowerAlnum(l.front()) || !isLowerAlnum(l.back())) return false;
    if (!std::all_of(l.begin(), l.end(), [](char c) { return isLowerAlnum(c) || c == '-'; })) return false;
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return s.size() <= 253;
}

// Returns false when `s` is not a valid value of the (normalized) format. Formats without a
// checker here (isbn, creditcard) accept everything.
bool checkFormat(std::string_view normalized, std::string_view s) {
  if (normalized == "datetime") return isDateTime(s);
  if (normalized == "date") return isDate(s);
  if (normalized == "byte") return isBase64(s);
  if (normalized == "uuid") return isUuid(s, 0);
  if (normalized == "uuid3") return isUuid(s, '3');
  if (normalized == "uuid4") return isUuid(s, '4');
  if (normalized == "uuid5") return isUuid(s, '5');
  if (normalized == "ipv4") return isIpv4(s);
  if (normalized == "ipv6") return isIpv6(s);
  if (normalized == "cidr") return isCidr(s);
  if (normalized == "mac") return isMac(s);
  if (normalized == "hostname") return isHostname(s);
  if (normalized == "email") return isEmail(s);
  if (normalized == "uri") return isRequestUri(s);
  if (normalized == "duration") return isDuration(s);
  if (normalized == "k8sshortname") return s.size() <= 63 && matchesDns1123Label(s);
  if (normalized == "k8slongname") return isLongName(s);
  if (normalized == "bsonobjectid") return s.size() == 24 && std::all_of(s.begin(), s.end(), isHex);
  if (normalized == "hexcolor") {
    std::string_view h = !s.empty() && s[0] == '#' ? s.substr(1) : s;
    return (h.size() == 3 || h.size() == 6) && std::all_of(h.begin(), h.end(), isHex);
  }
  if (normalized == "rgbcolor") {
    static const std::regex kRgb = safeRegex(
        "^rgb\\(\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*,\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*,"
        "\\s*(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])\\s*\\)$");
    std::string str(s);
    return std::regex_match(str, kRgb);
  }
  if (normalized == "ssn") {
    static const std::regex kSsn = safeRegex("^\\d{3}[- ]?\\d{2}[- ]?\\d{4}$");
    std::string str(s);
    return std::regex_match(str, kSsn);
  }
  return true;
}

// --- deep equality (reflect.DeepEqual over unstructured values)

bool deepEqual(const Value& a, const Value& b, size_t depth = 0) {
  if (depth > kMaxDepth) return false;
  if (a.IsNumber() && b.IsNumber()) {
    if (a.IsInt64() != b.IsInt64()) return false;  // int64 and float64 never DeepEqual
    return a.IsInt64() ? a.GetInt64() == b.GetInt64() : a.GetDouble() == b.GetDouble();
  }
  if (a.GetType() != b.GetType()) {
    return a.IsBool() && b.IsBool() ? a.GetBool() == b.GetBool() : false;
  }
  switch (a.GetType()) {
    case rapidjson::kNullType:
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return true;
    case rapidjson::kStringType:
      return json::view(a) == json::view(b);
    case rapidjson::kArrayType: {
      if (a.Size() != b.Size()) return false;
      for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
        if (!deepEqual(a[i], b[i], depth + 1)) return false;
      }
      return true;
    }
    case rapidjson::kObjectType: {
      if (a.MemberCount() != b.MemberCount()) return false;
      for (const auto& m : a.GetObject()) {
        const Value* o = json::find(b, json::view(m.name));
        if (!o || !deepEqual(m.value, *o, depth + 1)) return false;
      }
      return true;
    }
    case rapidjson::kNumberType:
      break;
  }
  return false;
}

// basicCommonValidator: reflect Convert of the value to the enum value's type, then DeepEqual.
bool enumMatches(const Value& data, const Value& e) {
  if (e.IsNull() || data.IsNull()) return false;
  if (e.IsNumber() && data.IsNumber()) {
    if (e.IsInt64())
      return data.IsInt64() ? data.GetInt64() == e.GetInt64() : goInt64(data.GetDouble()) == e.GetInt64();
    double d = data.IsInt64() ? static_cast<double>(data.GetInt64()) : data.GetDouble();
    return d == e.GetDouble();
  }
  if (e.IsString() && data.IsInt64()) {  // Go converts an integer to the string of that rune
    int64_t r = data.GetInt64();
    std::string s;
    appendUtf8(s, r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF) ? 0xFFFD : static_cast<char32_t>(r));
    return s == json::view(e);
  }
  return deepEqual(data, e);
}

// --- the validators

OResult validateNode(const Node& s, const Value& data, const std::string& path);

void schemaPropsCheck(const Node& s, const Value& data, const std::string& path, OResult& main) {
  if (!s.anyOf.empty()) {
    bool succeeded = false;
    std::optional<OResult> best, firstSuccess;
    for (const auto& branch : s.anyOf) {
      OResult res = validateNode(branch, data, path);
      if (res.valid()) {
        succeeded = true;
        best.reset();
        firstSuccess = std::move(res);
        break;
      }
      if (!best) best = std::move(res);  // upstream: the failing branch with the most matches
    }
    if (!succeeded) main.add(plainErr(goQuote(path) + " must validate at least one schema (anyOf)"));
    if (best) {
      main.merge(std::move(*best));
    } else if (firstSuccess) {
      main.merge(std::move(*firstSuccess));
    }
  }
  if (!s.oneOf.empty()) {
    int validated = 0;
    std::optional<OResult> best, firstSuccess;
    for (const auto& branch : s.oneOf) {
      OResult res = validateNode(branch, data, path);
      if (res.valid()) {
        ++validated;
        best.reset();
        if (!firstSuccess) firstSuccess = std::move(res);
        continue;
      }
      if (validated == 0 && !best) best = std::move(res);
    }
    if (validated != 1) {
      std::string extra =
          validated == 0 ? "Found none valid" : "Found " + std::to_string(validated) + " valid alternatives";
      main.add(plainErr(goQuote(path) + " must validate one and only one schema (oneOf). " + extra));
      if (best) main.merge(std::move(*best));
    } else if (firstSuccess) {
      main.merge(std::move(*firstSuccess));
    }
  }
  if (!s.allOf.empty()) {
    size_t validated = 0;
    for (const auto& branch : s.allOf) {
      OResult res = validateNode(branch, data, path);
      if (res.valid()) ++validated;
      main.merge(std::move(res));
    }
    if (validated != s.allOf.size()) {
      main.add(plainErr(goQuote(path) + " must validate all the schemas (allOf)" +
                        (validated == 0 ? ". None validated" : "")));
    }
  }
  if (s.notSchema) {
    if (validateNode(*s.notSchema, data, path).valid()) {
      main.add(plainErr(goQuote(path) + " must not validate the schema (not)"));
    }
  }
}

void stringCheck(const Node& s, const Value& data, const std::string& path, OResult& r) {
  std::string_view str = json::view(data);
  int64_t len = static_cast<int64_t>(runeCount(str));
  if (s.maxLength && len > *s.maxLength) {
    OErr e = valErr(ErrCode::kTooLong, path,
                    path + " in body should be at most " + std::to_string(*s.maxLength) + " chars long", goQuote(str));
    e.max = *s.maxLength;
    r.add(std::move(e));
    return;
  }
  if (s.minLength && len < *s.minLength) {
    r.add(valErr(ErrCode::kTooShort, path,
                 path + " in body should be at least " + std::to_string(*s.minLength) + " chars long", goQuote(str)));
    return;
  }
  if (s.pattern) {
    if (!s.regex) {
      r.add(valErr(ErrCode::kPattern, path,
                   path + " in body should match '" + *s.pattern + ", but pattern is invalid: " + s.regexError + "'",
                   goQuote(str)));
    } else if (!patternMatches(*s.regex, str)) {
      r.add(valErr(ErrCode::kPattern, path, path + " in body should match '" + *s.pattern + "'", goQuote(str)));
    }
  }
}

void formatCheck(const Node& s, const Value& data, const std::string& path, OResult& r) {
  if (s.effFormat.empty()) return;
  std::string normalized = normalizeFormat(s.effFormat);
  if (!isSupportedStringFormat(normalized)) return;
  std::string_view str = json::view(data);
  bool valid = false;
  try {
    valid = checkFormat(normalized, str);
  } catch (const std::exception&) {
    valid = false;  // a checker that cannot decide refuses, never crashes
  }
  if (!valid) r.add(invalidTypeErr(path, s.effFormat, str));
}

// IsValueValidAgainstRange: does the value fit the schema's declared type and format?
std::optional<std::string> rangeError(const Num& v, const std::string& typeName, const std::string& format,
                                      std::string_view prefix, const std::string& path) {
  bool ok = true;
  if (typeName == "integer") {
    if (format == "int32") {
      ok = v.isInt ? v.i >= std::numeric_limits<int32_t>::min() && v.i <= std::numeric_limits<int32_t>::max()
                   : std::trunc(v.f) == v.f && v.f >= -2147483648.0 && v.f <= 2147483647.0;
    } else {
      ok = v.isInt || (std::trunc(v.f) == v.f && v.f >= -9223372036854775808.0 && v.f < 9223372036854775808.0);
    }
  } else if (format == "float") {
    ok = v.isInt || std::fabs(v.f) <= static_cast<double>(std::numeric_limits<float>::max());
  }
  if (ok) return std::nullopt;
  std::string out = std::string(prefix) + " value must be of type " + typeName;
  out += format.empty() ? " (default format)" : " with format " + format;
  return out + " in " + path;
}

void numberCheck(const Node& s, const Value& data, const std::string& path, OResult& r) {
  std::string typeName, format;
  if (!s.intOrString && (s.type == "integer" || s.type == "number")) {
    typeName = s.type;
    format = s.effFormat;
  }
  Num v = numOf(data);
  std::string rendered = v.render();
  if (auto e = rangeError(v, typeName, format, "Checked", path)) r.add(plainErr(*e));

  OResult resMultiple, resMinimum, resMaximum;
  if (s.multipleOf) {
    double factor = *s.multipleOf;
    Num fn = numOf(*s.multipleOfRaw);
    auto floatCheck = [&] {
      if (factor <= 0) {
        resMultiple.add(valErr(ErrCode::kMultipleOfPositive, path,
                               "factor MultipleOf declared for " + path + " must be positive: " + goFloat(factor),
                               goFloat(factor)));
        return;
      }
      double d = v.asFloat();
      double mult = factor < 1 ? 1 / factor * d : d / factor;
      if (!jsonIntegerFloat(mult)) {
        resMultiple.add(
            valErr(ErrCode::kMultipleOf, path, path + " in body should be a multiple of " + goFloat(factor), rendered));
      }
    };
    if (auto e = rangeError(fn, typeName, format, "MultipleOf", path)) {
      resMultiple.add(plainErr(*e));
      floatCheck();
    } else if (v.isInt) {
      int64_t f = goInt64(factor);
      if (f <= 0) {
        resMultiple.add(valErr(ErrCode::kMultipleOfPositive, path,
                               "factor MultipleOf declared for " + path + " must be positive: " + std::to_string(f),
                               std::to_string(f)));
      } else if (v.i % f != 0) {
        resMultiple.add(valErr(ErrCode::kMultipleOf, path,
                               path + " in body should be a multiple of " + std::to_string(f), rendered));
      }
    } else {
      floatCheck();
    }
  }
  auto bound = [&](const std::optional<double>& limit, const Value* raw, bool exclusive, bool isMax, OResult& res) {
    if (!limit) return;
    Num ln = numOf(*raw);
    const char* word = isMax ? (exclusive ? "less than" : "less than or equal to")
                             : (exclusive ? "greater than" : "greater than or equal to");
    auto floatCompare = [&] {
      double d = v.asFloat();
      bool bad = isMax ? (exclusive ? d >= *limit : d > *limit) : (exclusive ? d <= *limit : d < *limit);
      if (bad) {
        res.add(valErr(isMax ? ErrCode::kMax : ErrCode::kMin, path,
                       path + " in body should be " + word + " " + goFloat(*limit), rendered));
      }
    };
    if (auto e = rangeError(ln, typeName, format, isMax ? "Maximum boundary" : "Minimum boundary", path)) {
      res.add(plainErr(*e));
      floatCompare();
    } else if (v.isInt) {
      int64_t l = goInt64(*limit);
      bool bad = isMax ? (exclusive ? v.i >= l : v.i > l) : (exclusive ? v.i <= l : v.i < l);
      if (bad) {
        res.add(valErr(isMax ? ErrCode::kMax : ErrCode::kMin, path,
                       path + " in body should be " + word + " " + std::to_string(l), rendered));
      }
    } else {
      floatCompare();
    }
  };
  bound(s.maximum, s.maximumRaw, s.exclusiveMaximum, true, resMaximum);
  bound(s.minimum, s.minimumRaw, s.exclusiveMinimum, false, resMinimum);
  r.merge(std::move(resMultiple));
  r.merge(std::move(resMinimum));
  r.merge(std::move(resMaximum));
}

void sliceCheck(const Node& s, const Value& data, const std::string& path, OResult& r) {
  size_t size = data.Size();
  if (s.items) {
    for (size_t i = 0; i < size; ++i) {
      r.merge(validateNode(*s.items, data[static_cast<rapidjson::SizeType>(i)], index(path, i)));
    }
  }
  auto n = static_cast<int64_t>(size);
  if (s.minItems && n < *s.minItems) {
    r.add(valErr(ErrCode::kMinItems, path,
                 path + " in body should have at least " + std::to_string(*s.minItems) + " items", std::to_string(n)));
  }
  if (s.maxItems && n > *s.maxItems) {
    OErr e = valErr(ErrCode::kMaxItems, path,
                    path + " in body should have at most " + std::to_string(*s.maxItems) + " items", std::to_string(n));
    e.actual = n;
    e.max = *s.maxItems;
    r.add(std::move(e));
  }
  if (s.uniqueItems) {
    bool dup = false;
    for (size_t i = 0; i < size && !dup; ++i) {
      for (size_t j = 0; j < i && !dup; ++j) {
        dup = deepEqual(data[static_cast<rapidjson::SizeType>(i)], data[static_cast<rapidjson::SizeType>(j)]);
      }
    }
    if (dup) r.add(valErr(ErrCode::kUnique, path, path + " in body shouldn't contain duplicates"));
  }
}

void enumCheck(const Node& s, const Value& data, const std::string& path, OResult& r) {
  if (!s.hasEnum || s.enumValues.empty()) return;
  for (const Value* e : s.enumValues) {
    if (enumMatches(data, *e)) return;
  }
  OErr err;
  err.code = ErrCode::kEnum;
  err.name = path;
  std::string listed;
  for (const Value* e : s.enumValues) {
    err.enumValues.push_back(e->IsString() ? sv(*e) : goJson(*e));
    if (!listed.empty()) listed += ' ';
    listed += goV(*e);
  }
  err.message = path + " in body should be one of [" + listed + "]";
  err.value = renderValue(data);
  r.add(std::move(err));
}

void objectCheck(const Node& s, const Value& data, const std::string& path, OResult& r) {
  auto numKeys = static_cast<int64_t>(data.MemberCount());
  if (s.minProperties && numKeys < *s.minProperties) {
    r.add(valErr(ErrCode::kTooFewProps, path,
                 path + " in body should have at least " + std::to_string(*s.minProperties) + " properties",
                 std::to_string(numKeys)));
  }
  if (s.maxProperties && numKeys > *s.maxProperties) {
    OErr e = valErr(ErrCode::kTooManyProps, path,
                    path + " in body should have at most " + std::to_string(*s.maxProperties) + " properties",
                    std::to_string(numKeys));
    e.actual = numKeys;
    e.max = *s.maxProperties;
    r.add(std::move(e));
  }
  if (s.ap == Node::Ap::kFalse) {
    for (const auto& m : data.GetObject()) {
      std::string k = sv(m.name);
      if (!s.prop(k)) {
        r.add(valErr(ErrCode::kUnallowedProp, path, path + "." + k + " in body is a forbidden property", goQuote(k)));
      }
    }
  } else if (s.ap == Node::Ap::kSchema) {
    for (const auto& m : data.GetObject()) {
      std::string k = sv(m.name);
      if (!s.prop(k)) r.merge(validateNode(*s.apSchema, m.value, path + "." + k));
    }
  }
  for (const auto& [name, prop] : s.properties) {
    if (const Value* v = json::find(data, name)) {
      r.merge(validateNode(prop, *v, path.empty() ? name : path + "." + name));
    }
  }
  for (const auto& k : s.required) {
    if (!json::find(data, k))
      r.add(valErr(ErrCode::kRequired, path + "." + k, path + "." + k + " in body is required"));
  }
}

OResult validateNode(const Node& s, const Value& data, const std::string& path) {
  OResult r;
  if (data.IsNull()) {
    typeCheck(s, data, path, r);
    enumCheck(s, data, path, r);
    return r;
  }
  typeCheck(s, data, path, r);
  schemaPropsCheck(s, data, path, r);
  if (data.IsString()) {
    stringCheck(s, data, path, r);
    formatCheck(s, data, path, r);
  }
  if (data.IsNumber()) numberCheck(s, data, path, r);
  if (data.IsArray()) sliceCheck(s, data, path, r);
  enumCheck(s, data, path, r);
  if (data.IsObject()) objectCheck(s, data, path, r);
  return r;
}

// kubeOpenAPIResultToFieldErrors. `fld` is the field path the validation is rooted at (nullopt
// for a whole object, where the apiserver passes a nil path).
void toCauses(const OResult& r, const std::optional<std::string>& fld, std::vector<Cause>& out) {
  for (const auto& e : r.errors) {
    if (e.code == ErrCode::kPlain) {
      out.push_back(invalid(fld.value_or("<nil>"), "\"\"", e.message));
      continue;
    }
    std::optional<std::string> errPath = fld;
    if (!e.name.empty() && e.name != ".") {
      std::string_view n = e.name;
      if (n.front() == '.') n.remove_prefix(1);
      errPath = fld ? child(*fld, n) : std::string(n);
    }
    std::string field = errPath.value_or("<nil>");
    std::string value = e.value.value_or("\"\"");
    switch (e.code) {
      case ErrCode::kRequired:
        out.push_back(required(field, ""));
        break;
      case ErrCode::kEnum:
        out.push_back(notSupported(field, value, e.enumValues));
        break;
      case ErrCode::kTooLong:
        out.push_back(tooLong(field, e.max));
        break;
      case ErrCode::kMaxItems:
      case ErrCode::kTooManyProps:
        out.push_back(tooMany(field, e.actual, e.max));
        break;
      case ErrCode::kInvalidType:
        out.push_back(typeInvalid(field, value, e.message));
        break;
      default:
        out.push_back(invalid(field, value, e.message));
        break;
    }
  }
}

// =============================================================================================
// 5. List types, embedded resources, scale

// A key identifying an element for set semantics: scalars by Go interface equality (so 1 and
// 1.0 differ), compounds by their JSON encoding.
std::string setKey(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "n";
    case rapidjson::kFalseType:
      return "b0";
    case rapidjson::kTrueType:
      return "b1";
    case rapidjson::kStringType:
      return "s" + sv(v);
    case rapidjson::kNumberType:
      return v.IsInt64() ? "i" + std::to_string(v.GetInt64()) : "f" + goFloat(v.GetDouble());
    case rapidjson::kArrayType:
    case rapidjson::kObjectType:
      return "c" + goJson(v);
  }
  return "";
}

// validateListSet: the indexes of the first repeated appearance of each non-unique key.
std::vector<size_t> nonUniqueIndexes(const std::vector<std::string>& keys) {
  std::unordered_map<std::string, int> seen;
  std::vector<size_t> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    int& times = seen[keys[i]];
    if (times == 1) out.push_back(i);
    ++times;
  }
  return out;
}

void listValue(const std::string& path, const Node* s, const Value& v, std::vector<Cause>& out);

void listObject(const std::string& path, const Node* s, const Value& obj, std::vector<Cause>& out) {
  if (!s || !obj.IsObject()) return;
  if (const Node* ap = s->apNode()) {
    for (const auto& m : obj.GetObject()) listValue(key(path, json::view(m.name)), ap, m.value, out);
  }
  if (!s->properties.empty()) {
    for (const auto& m : obj.GetObject()) {
      std::string_view k = json::view(m.name);
      if (const Node* p = s->prop(k)) listValue(child(path, k), p, m.value, out);
    }
  }
}

void listMap(const std::string& path, const Node& s, const Value& arr, std::vector<Cause>& out) {
  for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
    const Value& x = arr[i];
    if (!x.IsNull() && !x.IsObject()) {
      out.push_back(invalid(index(path, i), renderValue(x), "must be an object for an array of list-type map"));
      return;
    }
  }
  if (arr.Size() <= 1) return;
  std::vector<std::string> keys, rendered;
  for (const auto& x : arr.GetArray()) {
    std::string r = "{";
    bool first = true;
    std::vector<std::pair<std::string_view, const Value*>> present;
    if (x.IsObject()) {
      for (const auto& k : s.listMapKeys) {
        if (const Value* kv = json::find(x, k)) present.emplace_back(k, kv);
      }
    }
    std::sort(present.begin(), present.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [k, kv] : present) {
      if (!first) r += ',';
      first = false;
      goJsonString(r, k);
      r += ':';
      goJson(r, *kv);
    }
    r += '}';
    if (s.listMapKeys.size() == 1) {
      // One key: compared as a scalar, a missing key (or a null item) as its own value.
      keys.push_back(present.empty() ? std::string("u") : setKey(*present[0].second));
    } else {
      keys.push_back("c" + r);
    }
    rendered.push_back(std::move(r));
  }
  for (size_t i : nonUniqueIndexes(keys)) out.push_back(duplicate(index(path, i), rendered[i]));
}

void listArray(const std::string& path, const Node& s, const Value& arr, std::vector<Cause>& out) {
  if (s.listType) {
    if (*s.listType == "set" && arr.Size() > 1) {
      std::vector<std::string> keys;
      keys.reserve(arr.Size());
      for (const auto& x : arr.GetArray()) keys.push_back(setKey(x));
      for (size_t i : nonUniqueIndexes(keys)) {
        out.push_back(duplicate(index(path, i), renderValue(arr[static_cast<rapidjson::SizeType>(i)])));
      }
    } else if (*s.listType == "map") {
      listMap(path, s, arr, out);
    }
  }
  if (s.items) {
    for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) listValue(index(path, i), s.items.get(), arr[i], out);
  }
}

void listValue(const std::string& path, const Node* s, const Value& v, std::vector<Cause>& out) {
  if (!s) return;
  if (v.IsArray()) {
    listArray(path, *s, v, out);
  } else if (v.IsObject()) {
    listObject(path, s, v, out);
  }
}

std::vector<std::string> pathSegmentErrors(std::string_view name, bool prefix) {
  std::vector<std::string> errs;
  if (!prefix) {
    if (name == ".") errs.push_back("may not be '.'");
    if (name == "..") errs.push_back("may not be '..'");
  }
  if (name.find('/') != std::string_view::npos) errs.push_back("may not contain '/'");
  if (name.find('%') != std::string_view::npos) errs.push_back("may not contain '%'");
  return errs;
}

// objectmeta.validateEmbeddedResource: apiVersion and kind required, typed and well-formed;
// metadata an object whose name (path segment) and namespace (DNS label) are valid.
void validateEmbeddedResource(const std::string& pth, const Value& x, std::vector<Cause>& out) {
  if (!json::find(x, "apiVersion")) out.push_back(required(child(pth, "apiVersion"), ""));
  if (!json::find(x, "kind")) out.push_back(required(child(pth, "kind"), ""));
  for (const auto& m : x.GetObject()) {
    std::string_view k = json::view(m.name);
    const Value& v = m.value;
    if (k == "apiVersion") {
      std::string p = child(pth, "apiVersion");
      if (!v.IsString()) {
        out.push_back(invalid(p, renderValue(v), "must be a string"));
      } else if (v.GetStringLength() == 0) {
        out.push_back(invalid(p, "\"\"", "must not be empty"));
      } else if (std::string_view s = json::view(v); s != "/" && std::count(s.begin(), s.end(), '/') > 1) {
        out.push_back(invalid(p, goQuote(s), "unexpected GroupVersion string: " + std::string(s)));
      }
    } else if (k == "kind") {
      std::string p = child(pth, "kind");
      if (!v.IsString()) {
        out.push_back(invalid(p, renderValue(v), "must be a string"));
      } else if (v.GetStringLength() == 0) {
        out.push_back(invalid(p, "\"\"", "must not be empty"));
      } else if (auto errs = isDns1035Label(toLower(json::view(v))); !errs.empty()) {
        out.push_back(invalid(p, goQuote(json::view(v)),
                              "may have mixed case, but should otherwise match: " + joinStrings(errs, ",")));
      }
    } else if (k == "metadata") {
      std::string p = child(pth, "metadata");
      if (!v.IsObject()) {
        out.push_back(invalid(p, renderValue(v),
                              std::string("json: cannot unmarshal ") +
                                  (v.IsString()  ? "string"
                                   : v.IsArray() ? "array"
                                   : v.IsBool()  ? "bool"
                                                 : "number") +
                                  " into Go value of type v1.ObjectMeta"));
        continue;
      }
      std::string_view generateName = json::getString(v, "generateName");
      std::string_view name = json::getString(v, "name");
      if (!generateName.empty()) {
        for (const auto& e : pathSegmentErrors(generateName, true)) {
          out.push_back(invalid(child(p, "generateName"), goQuote(generateName), e));
        }
      }
      if (!name.empty()) {
        for (const auto& e : pathSegmentErrors(name, false)) out.push_back(invalid(child(p, "name"), goQuote(name), e));
      }
      std::string_view ns = json::getString(v, "namespace");
      if (!ns.empty()) {
        for (const auto& e : isDns1123Label(ns)) out.push_back(invalid(child(p, "namespace"), goQuote(ns), e));
      }
    }
  }
}

void embeddedWalk(const std::string& pth, const Value& x, const Node* s, std::vector<Cause>& out) {
  if (!s) return;
  if (x.IsObject()) {
    if (s->embeddedResource) validateEmbeddedResource(pth, x, out);
    for (const auto& m : x.GetObject()) {
      std::string_view k = json::view(m.name);
      if (const Node* p = s->prop(k)) {
        embeddedWalk(child(pth, k), m.value, p, out);
      } else if (s->hasAp()) {
        embeddedWalk(key(pth, k), m.value, s->apNode(), out);
      }
    }
  } else if (x.IsArray()) {
    for (rapidjson::SizeType i = 0; i < x.Size(); ++i) embeddedWalk(index(pth, i), x[i], s->items.get(), out);
  }
}

std::vector<std::string> splitPath(std::string_view path) {
  if (!path.empty() && path.front() == '.') path.remove_prefix(1);
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    out.emplace_back(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

std::string jsonPathOf(const std::vector<std::string>& fields, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "." + fields[i];
  return out;
}

// unstructured.NestedFieldNoCopy: the value, nullptr when absent, or the accessor error.
const Value* nestedField(const Value& obj, const std::vector<std::string>& fields, std::string* err) {
  const Value* cur = &obj;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!cur->IsObject()) {
      *err = jsonPathOf(fields, i + 1) + " accessor error: " + goV(*cur) + " is of the type " + goT(*cur) +
             ", expected map[string]interface{}";
      return nullptr;
    }
    cur = json::find(*cur, fields[i]);
    if (!cur) return nullptr;
  }
  return cur;
}

void checkReplicas(const Value& obj, const std::string& path, std::vector<Cause>& out) {
  auto fields = splitPath(path);
  std::string err;
  const Value* v = nestedField(obj, fields, &err);
  if (!err.empty()) {
    out.push_back(invalid(path, "0", err));
    return;
  }
  if (!v) return;
  if (!v->IsInt64()) {
    out.push_back(invalid(path, "0",
                          jsonPathOf(fields, fields.size()) + " accessor error: " + goV(*v) + " is of the type " +
                              goT(*v) + ", expected int64"));
    return;
  }
  int64_t n = v->GetInt64();
  if (n < 0) {
    out.push_back(invalid(path, std::to_string(n), "should be a non-negative integer"));
  } else if (n > std::numeric_limits<int32_t>::max()) {
    out.push_back(invalid(path, std::to_string(n), "should be less than or equal to 2147483647"));
  }
}

void checkScale(const Value& obj, const ScaleSubresource& sc, std::vector<Cause>& out) {
  checkReplicas(obj, sc.specReplicasPath, out);
  checkReplicas(obj, sc.statusReplicasPath, out);
  if (sc.labelSelectorPath) {
    auto fields = splitPath(*sc.labelSelectorPath);
    std::string err;
    const Value* v = nestedField(obj, fields, &err);
    if (err.empty() && v && !v->IsString()) {
      err = jsonPathOf(fields, fields.size()) + " accessor error: " + goV(*v) + " is of the type " + goT(*v) +
            ", expected string";
    }
    if (!err.empty()) out.push_back(invalid(*sc.labelSelectorPath, "\"\"", err));
  }
}

// --- x-kubernetes-validations: a small CEL subset
//
// Supported: `self` and field selection (`self.a.b`, `self['a']`, `self.items[0]`), `has(self.a)`,
// literals (int, double, 'string', "string", true, false, null, [lists]), ! && || with CEL's
// commutative error handling, == != < <= > >=, `in`, `size()` (function and method), and the
// string methods startsWith/endsWith/contains. Anything else (oldSelf, macros such as all/exists,
// matches, casts, arithmetic, messageExpression) leaves the rule unevaluated: the object passes,
// as it would with no rule at all. A rule is only ever reported when this subset decides it.

struct CelVal {
  enum class K { kNull, kBool, kInt, kDouble, kString, kList, kMap };
  K k = K::kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;
  const Value* json = nullptr;  // kList / kMap backed by the object
  std::vector<CelVal> items;    // kList literal
};

CelVal celFromJson(const Value& v) {
  CelVal c;
  switch (v.GetType()) {
    case rapidjson::kNullType:
      break;
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      c.k = CelVal::K::kBool;
      c.b = v.GetBool();
      break;
    case rapidjson::kStringType:
      c.k = CelVal::K::kString;
      c.s = sv(v);
      break;
    case rapidjson::kNumberType:
      if (v.IsInt64()) {
        c.k = CelVal::K::kInt;
        c.i = v.GetInt64();
      } else {
        c.k = CelVal::K::kDouble;
        c.d = v.GetDouble();
      }
      break;
    case rapidjson::kArrayType:
      c.k = CelVal::K::kList;
      c.json = &v;
      break;
    case rapidjson::kObjectType:
      c.k = CelVal::K::kMap;
      c.json = &v;
      break;
  }
  return c;
}

size_t celListSize(const CelVal& v) { return v.json ? v.json->Size() : v.items.size(); }
CelVal celListAt(const CelVal& v, size_t i) {
  return v.json ? celFromJson((*v.json)[static_cast<rapidjson::SizeType>(i)]) : v.items[i];
}

class CelEval {
 public:
  // The outcome of a rule: decided true/false, a runtime error, or not decidable here.
  enum class Result { kTrue, kFalse, kError, kUndecided };

  CelEval(std::string_view src, const Value& self) : src_(src), self_(self) {}

  Result run() {
    Out o = orExpr();
    skipWs();
    if (unsupported_ || pos_ != src_.size()) return Result::kUndecided;
    if (o.err) {
      error_ = *o.err;
      return Result::kError;
    }
    if (o.v.k != CelVal::K::kBool) return Result::kUndecided;
    return o.v.b ? Result::kTrue : Result::kFalse;
  }
  const std::string& error() const { return error_; }

 private:
  struct Out {
    CelVal v;
    std::optional<std::string> err;
  };

  Out unsupported() {
    unsupported_ = true;
    return {};
  }
  static Out error(std::string e) {
    Out o;
    o.err = std::move(e);
    return o;
  }
  static Out boolean(bool b) {
    Out o;
    o.v.k = CelVal::K::kBool;
    o.v.b = b;
    return o;
  }

  void skipWs() {
    while (pos_ < src_.size() && std::isspace(static_cast<unsigned char>(src_[pos_]))) ++pos_;
  }
  bool peek(std::string_view t) {
    skipWs();
    return src_.substr(pos_, t.size()) == t;
  }
  bool match(std::string_view t) {
    if (!peek(t)) return false;
    pos_ += t.size();
    return true;
  }
  static bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
  std::string ident() {
    skipWs();
    size_t start = pos_;
    if (pos_ < src_.size() && (std::isalpha(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) {
      while (pos_ < src_.size() && identChar(src_[pos_])) ++pos_;
    }
    return std::string(src_.substr(start, pos_ - start));
  }
  bool matchKeyword(std::string_view k) {
    skipWs();
    if (src_.substr(pos_, k.size()) != k) return false;
    if (pos_ + k.size() < src_.size() && identChar(src_[pos_ + k.size()])) return false;
    pos_ += k.size();
    return true;
  }

  static bool isNumber(const CelVal& v) { return v.k == CelVal::K::kInt || v.k == CelVal::K::kDouble; }
  static double num(const CelVal& v) { return v.k == CelVal::K::kInt ? static_cast<double>(v.i) : v.d; }

  bool equal(const CelVal& a, const CelVal& b, int depth = 0) {
    if (depth > 64) {
      unsupported_ = true;
      return false;
    }
    if (isNumber(a) && isNumber(b)) {
      if (a.k == CelVal::K::kInt && b.k == CelVal::K::kInt) return a.i == b.i;
      return num(a) == num(b);
    }
    if (a.k != b.k) return false;  // heterogeneous equality is false
    switch (a.k) {
      case CelVal::K::kNull:
        return true;
      case CelVal::K::kBool:
        return a.b == b.b;
      case CelVal::K::kString:
        return a.s == b.s;
      case CelVal::K::kList: {
        size_t n = celListSize(a);
        if (n != celListSize(b)) return false;
        for (size_t i = 0; i < n; ++i) {
          if (!equal(celListAt(a, i), celListAt(b, i), depth + 1)) return false;
        }
        return true;
      }
      case CelVal::K::kMap: {
        if (a.json->MemberCount() != b.json->MemberCount()) return false;
        for (const auto& m : a.json->GetObject()) {
          const Value* o = json::find(*b.json, json::view(m.name));
          if (!o || !equal(celFromJson(m.value), celFromJson(*o), depth + 1)) return false;
        }
        return true;
      }
      default:
        return false;
    }
  }

  Out orExpr() {
    Out l = andExpr();
    while (match("||")) {
      Out r = andExpr();
      bool lt = !l.err && l.v.k == CelVal::K::kBool && l.v.b, rt = !r.err && r.v.k == CelVal::K::kBool && r.v.b;
      if (lt || rt) {
        l = boolean(true);
      } else if (l.err || r.err) {
        l = l.err ? l : r;
      } else if (l.v.k != CelVal::K::kBool || r.v.k != CelVal::K::kBool) {
        return unsupported();
      } else {
        l = boolean(false);
      }
    }
    return l;
  }

  Out andExpr() {
    Out l = unary();
    while (match("&&")) {
      Out r = unary();
      bool lf = !l.err && l.v.k == CelVal::K::kBool && !l.v.b, rf = !r.err && r.v.k == CelVal::K::kBool && !r.v.b;
      if (lf || rf) {
        l = boolean(false);
      } else if (l.err || r.err) {
        l = l.err ? l : r;
      } else if (l.v.k != CelVal::K::kBool || r.v.k != CelVal::K::kBool) {
        return unsupported();
      } else {
        l = boolean(true);
      }
    }
    return l;
  }

  Out unary() {
    skipWs();
    if (pos_ < src_.size() && src_[pos_] == '!' && !peek("!=")) {
      ++pos_;
      Out x = unary();
      if (x.err) return x;
      if (x.v.k != CelVal::K::kBool) return unsupported();
      return boolean(!x.v.b);
    }
    return relation();
  }

  Out relation() {
    Out l = member();
    static constexpr std::array<std::string_view, 6> kOps = {"==", "!=", "<=", ">=", "<", ">"};
    for (auto op : kOps) {
      if (!match(op)) continue;
      Out r = member();
      if (l.err) return l;
      if (r.err) return r;
      if (op == "==") return boolean(equal(l.v, r.v));
      if (op == "!=") return boolean(!equal(l.v, r.v));
      int c = 0;
      if (isNumber(l.v) && isNumber(r.v)) {
        double a = num(l.v), b = num(r.v);
        c = a < b ? -1 : a > b ? 1 : 0;
      } else if (l.v.k == CelVal::K::kString && r.v.k == CelVal::K::kString) {
        c = l.v.s.compare(r.v.s);
      } else {
        return unsupported();  // a no-such-overload error upstream
      }
      if (op == "<") return boolean(c < 0);
      if (op == "<=") return boolean(c <= 0);
      if (op == ">") return boolean(c > 0);
      return boolean(c >= 0);
    }
    if (matchKeyword("in")) {
      Out r = member();
      if (l.err) return l;
      if (r.err) return r;
      if (r.v.k == CelVal::K::kList) {
        for (size_t i = 0; i < celListSize(r.v); ++i) {
          if (equal(l.v, celListAt(r.v, i))) return boolean(true);
        }
        return boolean(false);
      }
      if (r.v.k == CelVal::K::kMap && l.v.k == CelVal::K::kString)
        return boolean(json::find(*r.v.json, l.v.s) != nullptr);
      return unsupported();
    }
    return l;
  }

  Out size(const Out& x) {
    if (x.err) return x;
    Out o;
    o.v.k = CelVal::K::kInt;
    switch (x.v.k) {
      case CelVal::K::kString:
        o.v.i = static_cast<int64_t>(runeCount(x.v.s));
        return o;
      case CelVal::K::kList:
        o.v.i = static_cast<int64_t>(celListSize(x.v));
        return o;
      case CelVal::K::kMap:
        o.v.i = static_cast<int64_t>(x.v.json->MemberCount());
        return o;
      default:
        return unsupported();
    }
  }

  Out select(const Out& x, const std::string& name) {
    if (x.err) return x;
    if (x.v.k != CelVal::K::kMap) return unsupported();
    const Value* f = json::find(*x.v.json, name);
    if (!f) return error("no such key: " + name);
    return Out{celFromJson(*f), std::nullopt};
  }

  Out member() {
    Out v = primary();
    while (!unsupported_) {
      if (match(".")) {
        std::string name = ident();
        if (name.empty()) return unsupported();
        if (match("(")) {
          std::vector<Out> args;
          if (!match(")")) {
            do {
              args.push_back(orExpr());
            } while (match(","));
            if (!match(")")) return unsupported();
          }
          if (name == "size" && args.empty()) {
            v = size(v);
          } else if ((name == "startsWith" || name == "endsWith" || name == "contains") && args.size() == 1) {
            if (v.err) continue;
            if (args[0].err) {
              v = args[0];
              continue;
            }
            if (v.v.k != CelVal::K::kString || args[0].v.k != CelVal::K::kString) return unsupported();
            const std::string &a = v.v.s, &b = args[0].v.s;
            bool r = name == "startsWith" ? a.rfind(b, 0) == 0
                     : name == "endsWith" ? a.size() >= b.size() && a.compare(a.size() - b.size(), b.size(), b) == 0
                                          : a.find(b) != std::string::npos;
            v = boolean(r);
          } else {
            return unsupported();
          }
        } else {
          v = select(v, name);
        }
      } else if (match("[")) {
        Out idx = orExpr();
        if (!match("]")) return unsupported();
        if (v.err) continue;
        if (idx.err) {
          v = idx;
          continue;
        }
        if (v.v.k == CelVal::K::kList && idx.v.k == CelVal::K::kInt) {
          if (idx.v.i < 0 || static_cast<size_t>(idx.v.i) >= celListSize(v.v)) {
            v = error("index out of bounds: " + std::to_string(idx.v.i));
          } else {
            v = Out{celListAt(v.v, static_cast<size_t>(idx.v.i)), std::nullopt};
          }
        } else if (v.v.k == CelVal::K::kMap && idx.v.k == CelVal::K::kString) {
          v = select(v, idx.v.s);
        } else {
          return unsupported();
        }
      } else {
        break;
      }
    }
    return v;
  }

  Out primary() {
    skipWs();
    if (pos_ >= src_.size()) return unsupported();
    char c = src_[pos_];
    if (c == '(') {
      ++pos_;
      Out o = orExpr();
      if (!match(")")) return unsupported();
      return o;
    }
    if (c == '[') {
      ++pos_;
      Out o;
      o.v.k = CelVal::K::kList;
      if (!match("]")) {
        do {
          Out e = orExpr();
          if (e.err) return e;
          o.v.items.push_back(e.v);
        } while (match(","));
        if (!match("]")) return unsupported();
      }
      return o;
    }
    if (c == '\'' || c == '"') return stringLiteral();
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '-' && pos_ + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))) {
      return numberLiteral();
    }
    std::string id = ident();
    if (id == "self") return Out{celFromJson(self_), std::nullopt};
    if (id == "true" || id == "false") return boolean(id == "true");
    if (id == "null") return Out{};
    if (id == "size" && match("(")) {
      Out x = orExpr();
      if (!match(")")) return unsupported();
      return size(x);
    }
    if (id == "has" && match("(")) return has();
    return unsupported();  // oldSelf, macros, casts, other functions
  }

  // has(self.a.b): the last selection tests presence instead of failing.
  Out has() {
    if (!matchKeyword("self")) return unsupported();
    Out v{celFromJson(self_), std::nullopt};
    std::string last;
    while (match(".")) {
      std::string name = ident();
      if (name.empty()) return unsupported();
      if (!last.empty()) v = select(v, last);
      last = name;
    }
    if (last.empty() || !match(")")) return unsupported();
    if (v.err) return v;
    if (v.v.k != CelVal::K::kMap) return unsupported();
    return boolean(json::find(*v.v.json, last) != nullptr);
  }

  Out stringLiteral() {
    char q = src_[pos_++];
    if (src_.substr(pos_, 2) == std::string(2, q)) return unsupported();  // triple-quoted
    Out o;
    o.v.k = CelVal::K::kString;
    while (pos_ < src_.size() && src_[pos_] != q) {
      char c = src_[pos_++];
      if (c == '\\') {
        if (pos_ >= src_.size()) return unsupported();
        char e = src_[pos_++];
        switch (e) {
          case 'n':
            o.v.s += '\n';
            break;
          case 't':
            o.v.s += '\t';
            break;
          case 'r':
            o.v.s += '\r';
            break;
          case '\\':
          case '\'':
          case '"':
            o.v.s += e;
            break;
          default:
            return unsupported();
        }
      } else {
        o.v.s += c;
      }
    }
    if (pos_ >= src_.size()) return unsupported();
    ++pos_;
    return o;
  }

  Out numberLiteral() {
    size_t start = pos_;
    if (src_[pos_] == '-') ++pos_;
    bool isDouble = false;
    while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '.' ||
                                  src_[pos_] == 'e' || src_[pos_] == 'E')) {
      if (!std::isdigit(static_cast<unsigned char>(src_[pos_]))) isDouble = true;
      ++pos_;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'u' || src_[pos_] == 'x' || identChar(src_[pos_]))) return unsupported();
    Out o;
    const char* b = src_.data() + start;
    const char* e = src_.data() + pos_;
    if (isDouble) {
      o.v.k = CelVal::K::kDouble;
      auto r = std::from_chars(b, e, o.v.d);
      if (r.ec != std::errc() || r.ptr != e) return unsupported();
    } else {
      o.v.k = CelVal::K::kInt;
      auto r = std::from_chars(b, e, o.v.i);
      if (r.ec != std::errc() || r.ptr != e) return unsupported();
    }
    return o;
  }

  std::string_view src_;
  const Value& self_;
  size_t pos_ = 0;
  bool unsupported_ = false;
  std::string error_;
};

// cel.Validator.validate: the rules of each schema node against the value there, then the
// node's properties (Child), additionalProperties (Key) and items (Index).
void celWalk(const Node& s, const Value& x, const std::optional<std::string>& fld, std::vector<Cause>& out) {
  if (x.IsNull()) return;
  std::string field = fld.value_or("<nil>");
  for (size_t i = 0; i < s.celRules.size(); ++i) {
    const CelRule& rule = s.celRules[i];
    auto trim = [](std::string_view v) {
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
      return std::string(v);
    };
    std::string ruleText = rule.message.empty() ? trim(rule.rule) : trim(rule.message);
    bool omit = s.type == "object" || s.type == "array";
    std::string typeValue = goQuote(s.type);
    CelEval eval(rule.rule, x);
    switch (eval.run()) {
      case CelEval::Result::kTrue:
      case CelEval::Result::kUndecided:
        break;
      case CelEval::Result::kError:
        out.push_back(invalid(field, typeValue, eval.error() + " evaluating rule: " + ruleText));
        break;
      case CelEval::Result::kFalse: {
        std::string path = field;
        if (!rule.fieldPath.empty()) {
          std::string_view fp = rule.fieldPath;
          if (fp.front() == '.') fp.remove_prefix(1);
          path = fld ? child(*fld, fp) : std::string(fp);
        }
        std::string detail = rule.message.empty() ? "failed rule: " + ruleText : trim(rule.message);
        std::string rendered = renderValue(x);
        bool reasonSet = i < s.celReasonSet.size() && s.celReasonSet[i];
        if (reasonSet && rule.reason == "FieldValueForbidden") {
          out.push_back(forbidden(path, detail));
        } else if (reasonSet && rule.reason == "FieldValueRequired") {
          out.push_back(required(path, detail));
        } else if (reasonSet && rule.reason == "FieldValueDuplicate") {
          out.push_back(omit ? makeCause("FieldValueDuplicate", path, "Duplicate value") : duplicate(path, rendered));
        } else {
          out.push_back(omit ? makeCause("FieldValueInvalid", path, "Invalid value: " + detail)
                             : invalid(path, rendered, detail));
        }
        break;
      }
    }
  }
  if (x.IsObject()) {
    for (const auto& m : x.GetObject()) {
      std::string_view k = json::view(m.name);
      if (const Node* p = s.prop(k)) {
        celWalk(*p, m.value, fld ? child(*fld, k) : std::string(k), out);
      } else if (const Node* ap = s.apNode()) {
        celWalk(*ap, m.value, key(fld.value_or(""), k), out);
      }
    }
  } else if (x.IsArray() && s.items) {
    for (rapidjson::SizeType i = 0; i < x.Size(); ++i) celWalk(*s.items, x[i], index(fld.value_or(""), i), out);
  }
}

// CEL rules run only on objects without blocking errors (customResourceStrategy.Validate).
void celRulesOrNotice(const Node& s, const Value& x, const std::optional<std::string>& fld, bool hasRules,
                      std::vector<Cause>& out) {
  if (!hasRules) return;
  for (const auto& c : out) {
    if (c.type == "FieldValueNotSupported" || c.type == "FieldValueRequired" || c.type == "FieldValueTooLong" ||
        c.type == "FieldValueTooMany" || c.type == "FieldValueTypeInvalid") {
      out.push_back(invalid("<nil>", "null",
                            "some validation rules were not checked because the object was invalid; correct the "
                            "existing errors to complete validation"));
      return;
    }
  }
  celWalk(s, x, fld, out);
}

}  // namespace

// =============================================================================================
// CrdVersionSchema

CrdVersionSchema::CrdVersionSchema() = default;

StatusOr<CrdVersionSchema> CrdVersionSchema::compile(const json::Value& openAPIV3Schema) {
  std::string err;
  auto s = CrdVersionSchemaAccess::compile(openAPIV3Schema, "openAPIV3Schema", &err);
  if (!s.ok()) return invalidArgument("invalid openAPIV3Schema: " + err);
  return s;
}

bool CrdVersionSchema::empty() const { return impl_ == nullptr; }
const json::Value* CrdVersionSchema::raw() const { return impl_ ? &impl_->doc : nullptr; }

void CrdVersionSchema::prune(json::Value& obj) const {
  const Node* root = impl_ ? &impl_->root : nullptr;
  pruneValue(obj, root, true);
  if (Value* m = json::find(obj, "metadata")) coerceMetadata(*m, false);
  coerceEmbedded(obj, root);
}

void CrdVersionSchema::dropNonNullableNulls(json::Value& obj) const {
  if (impl_) dropNulls(obj, &impl_->root);
}

void CrdVersionSchema::applyDefaults(json::Value& obj, json::Allocator& a) const {
  if (impl_) applyDefaultsTo(obj, &impl_->root, a);
}

void CrdVersionSchema::normalize(json::Value& obj, json::Allocator& a) const {
  prune(obj);
  dropNonNullableNulls(obj);
  applyDefaults(obj, a);
}

std::vector<Cause> CrdVersionSchema::validate(const json::Value& obj) const {
  std::vector<Cause> out;
  if (impl_) toCauses(validateNode(impl_->root, obj, ""), std::nullopt, out);
  if (scale_) checkScale(obj, *scale_, out);
  if (impl_) {
    embeddedWalk("", obj, &impl_->root, out);
    listObject("", &impl_->root, obj, out);
    celRulesOrNotice(impl_->root, obj, std::nullopt, !impl_->celRules.empty(), out);
  }
  return out;
}

std::vector<Cause> CrdVersionSchema::validateStatus(const json::Value& status) const {
  std::vector<Cause> out;
  const Node* s = impl_ ? impl_->root.prop("status") : nullptr;
  if (!s) return out;
  toCauses(validateNode(*s, status, ""), std::string("status"), out);
  listValue("status", s, status, out);
  std::vector<CelRule> statusRules;
  collectCelRules(*s, &statusRules);
  celRulesOrNotice(*s, status, std::string("status"), !statusRules.empty(), out);
  return out;
}

const std::vector<CelRule>& CrdVersionSchema::celRules() const {
  static const std::vector<CelRule> kNone;
  return impl_ ? impl_->celRules : kNone;
}

bool CrdVersionSchema::hasStatusSubresource() const { return hasStatus_; }
const std::optional<ScaleSubresource>& CrdVersionSchema::scale() const { return scale_; }
const std::vector<PrinterColumn>& CrdVersionSchema::printerColumns() const { return columns_; }

// =============================================================================================
// 6. JSONPath and printer columns

namespace {

struct JpStep;

struct JpFilter {
  std::vector<JpStep> left;  // relative to @
  std::string op;            // "" means existence
  enum class Rhs { kNone, kString, kNumber, kBool, kPath } rhs = Rhs::kNone;
  std::string str;
  double num = 0;
  bool boolean = false;
  std::vector<JpStep> rightPath;
};

struct JpStep {
  enum class Kind { kField, kWildcard, kRecursive, kIndex, kSlice, kFilter, kKeys };
  Kind kind = Kind::kField;
  std::string name;                         // kField; kRecursive ("*" for any)
  std::vector<std::string> keys;            // kKeys: ['a','b']
  int64_t idx = 0;                          // kIndex
  std::optional<int64_t> start, end, step;  // kSlice
  std::shared_ptr<JpFilter> filter;
};

class JpParser {
 public:
  explicit JpParser(std::string_view s) : s_(s) {}

  Status parse(std::vector<JpStep>* out) {
    skipSpaces();
    if (i_ < s_.size() && s_[i_] == '$') ++i_;
    KUBEOP_RETURN_IF_ERROR(steps(out, false));
    skipSpaces();
    if (i_ != s_.size()) return err("unexpected character");
    return Status::ok();
  }

 private:
  Status err(std::string_view what) const {
    return invalidArgument("invalid JSONPath " + goQuote(s_) + " at offset " + std::to_string(i_) + ": " +
                           std::string(what));
  }
  void skipSpaces() {
    while (i_ < s_.size() && s_[i_] == ' ') ++i_;
  }
  bool isNameEnd(char c, bool inFilter) const {
    if (c == '.' || c == '[') return true;
    return inFilter && (c == ' ' || c == ')' || c == '=' || c == '!' || c == '<' || c == '>' || c == ']');
  }
  std::string name(bool inFilter) {
    std::string out;
    while (i_ < s_.size() && !isNameEnd(s_[i_], inFilter)) {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;  // `\.` escapes a dot in a key
      out += s_[i_++];
    }
    return out;
  }
  StatusOr<std::string> quoted() {
    char q = s_[i_++];
    std::string out;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_++];
    }
    if (i_ >= s_.size()) return err("unterminated quoted string");
    ++i_;
    return out;
  }
  std::optional<int64_t> integer() {
    size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    if (i_ == start || (i_ == start + 1 && s_[start] == '-')) {
      i_ = start;
      return std::nullopt;
    }
    int64_t v = 0;
    auto r = std::from_chars(s_.data() + start, s_.data() + i_, v);
    if (r.ec != std::errc()) return std::nullopt;
    return v;
  }

  Status steps(std::vector<JpStep>* out, bool inFilter) {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '.') {
        if (i_ + 1 < s_.size() && s_[i_ + 1] == '.') {
          i_ += 2;
          JpStep st;
          st.kind = JpStep::Kind::kRecursive;
          if (i_ < s_.size() && s_[i_] == '*') {
            ++i_;
            st.name = "*";
          } else {
            st.name = name(inFilter);
            if (st.name.empty()) return err("expected a field name after '..'");
          }
          out->push_back(std::move(st));
          continue;
        }
        ++i_;
        if (i_ < s_.size() && s_[i_] == '*') {
          ++i_;
          JpStep st;
          st.kind = JpStep::Kind::kWildcard;
          out->push_back(std::move(st));
          continue;
        }
        std::string n = name(inFilter);
        if (!n.empty()) {
          JpStep st;
          st.name = std::move(n);
          out->push_back(std::move(st));
        }
        continue;
      }
      if (c == '[') {
        ++i_;
        skipSpaces();
        KUBEOP_RETURN_IF_ERROR(bracket(out));
        continue;
      }
      if (inFilter) break;
      return err("unexpected character");
    }
    return Status::ok();
  }

  Status bracket(std::vector<JpStep>* out) {
    if (i_ >= s_.size()) return err("unterminated [");
    JpStep st;
    char c = s_[i_];
    if (c == '?') {
      ++i_;
      skipSpaces();
      if (i_ >= s_.size() || s_[i_] != '(') return err("expected ( after ?");
      ++i_;
      KUBEOP_ASSIGN_OR_RETURN(st.filter, filter());
      st.kind = JpStep::Kind::kFilter;
    } else if (c == '*') {
      ++i_;
      st.kind = JpStep::Kind::kWildcard;
    } else if (c == '\'' || c == '"') {
      st.kind = JpStep::Kind::kKeys;
      while (true) {
        skipSpaces();
        if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) return err("expected a quoted key");
        KUBEOP_ASSIGN_OR_RETURN(std::string k, quoted());
        st.keys.push_back(std::move(k));
        skipSpaces();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        break;
      }
    } else {
      auto a = integer();
      skipSpaces();
      if (i_ < s_.size() && s_[i_] == ':') {
        st.kind = JpStep::Kind::kSlice;
        st.start = a;
        ++i_;
        skipSpaces();
        st.end = integer();
        skipSpaces();
        if (i_ < s_.size() && s_[i_] == ':') {
          ++i_;
          skipSpaces();
          st.step = integer();
        }
      } else {
        if (!a) return err("expected an index, a slice, *, a quoted key or a filter");
        st.kind = JpStep::Kind::kIndex;
        st.idx = *a;
      }
    }
    skipSpaces();
    if (i_ >= s_.size() || s_[i_] != ']') return err("expected ]");
    ++i_;
    out->push_back(std::move(st));
    return Status::ok();
  }

  StatusOr<std::shared_ptr<JpFilter>> filter() {
    auto f = std::make_shared<JpFilter>();
    skipSpaces();
    if (i_ >= s_.size() || s_[i_] != '@') return err("expected @ in filter");
    ++i_;
    KUBEOP_RETURN_IF_ERROR(steps(&f->left, true));
    skipSpaces();
    static constexpr std::array<std::string_view, 6> kOps = {"==", "!=", "<=", ">=", "<", ">"};
    for (auto op : kOps) {
      if (s_.substr(i_, op.size()) == op) {
        f->op = std::string(op);
        i_ += op.size();
        break;
      }
    }
    if (!f->op.empty()) {
      skipSpaces();
      if (i_ >= s_.size()) return err("expected a value after the operator");
      char c = s_[i_];
      if (c == '\'' || c == '"') {
        f->rhs = JpFilter::Rhs::kString;
        KUBEOP_ASSIGN_OR_RETURN(f->str, quoted());
      } else if (c == '@') {
        ++i_;
        f->rhs = JpFilter::Rhs::kPath;
        KUBEOP_RETURN_IF_ERROR(steps(&f->rightPath, true));
      } else if (s_.substr(i_, 4) == "true") {
        f->rhs = JpFilter::Rhs::kBool;
        f->boolean = true;
        i_ += 4;
      } else if (s_.substr(i_, 5) == "false") {
        f->rhs = JpFilter::Rhs::kBool;
        i_ += 5;
      } else {
        size_t start = i_;
        while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '+' ||
                                  s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) {
          ++i_;
        }
        double d = 0;
        auto r = std::from_chars(s_.data() + start, s_.data() + i_, d);
        if (i_ == start || r.ec != std::errc() || r.ptr != s_.data() + i_) return err("invalid filter value");
        f->rhs = JpFilter::Rhs::kNumber;
        f->num = d;
      }
    }
    skipSpaces();
    if (i_ >= s_.size() || s_[i_] != ')') return err("expected ) to close the filter");
    ++i_;
    return f;
  }

  std::string_view s_;
  size_t i_ = 0;
};

std::vector<const Value*> jpEval(const std::vector<JpStep>& steps, std::vector<const Value*> cur);

bool jpCompare(const Value& l, const JpFilter& f, const Value* rightValue) {
  const std::string& op = f.op;
  auto cmp = [&](auto a, auto b) {
    if (op == "==") return a == b;
    if (op == "!=") return a != b;
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == ">") return a > b;
    return a >= b;
  };
  switch (f.rhs) {
    case JpFilter::Rhs::kString:
      return l.IsString() && cmp(json::view(l), std::string_view(f.str));
    case JpFilter::Rhs::kNumber:
      return l.IsNumber() && cmp(l.GetDouble(), f.num);
    case JpFilter::Rhs::kBool:
      return l.IsBool() && (op == "==" || op == "!=") && cmp(l.GetBool(), f.boolean);
    case JpFilter::Rhs::kPath:
      if (!rightValue) return false;
      if (l.IsString() && rightValue->IsString()) return cmp(json::view(l), json::view(*rightValue));
      if (l.IsNumber() && rightValue->IsNumber()) return cmp(l.GetDouble(), rightValue->GetDouble());
      if (l.IsBool() && rightValue->IsBool() && (op == "==" || op == "!="))
        return cmp(l.GetBool(), rightValue->GetBool());
      return false;
    case JpFilter::Rhs::kNone:
      break;
  }
  return false;
}

std::vector<const Value*> jpEval(const std::vector<JpStep>& steps, std::vector<const Value*> cur) {
  for (const auto& st : steps) {
    std::vector<const Value*> next;
    for (const Value* v : cur) {
      switch (st.kind) {
        case JpStep::Kind::kField:
          if (const Value* f = json::find(*v, st.name)) next.push_back(f);
          break;
        case JpStep::Kind::kKeys:
          for (const auto& k : st.keys) {
            if (const Value* f = json::find(*v, k)) next.push_back(f);
          }
          break;
        case JpStep::Kind::kWildcard:
          if (v->IsObject()) {
            for (const auto& m : v->GetObject()) next.push_back(&m.value);
          } else if (v->IsArray()) {
            for (const auto& e : v->GetArray()) next.push_back(&e);
          }
          break;
        case JpStep::Kind::kRecursive: {
          std::vector<const Value*> stack{v};  // pre-order, iterative: no schema bounds the depth
          while (!stack.empty()) {
            const Value* x = stack.back();
            stack.pop_back();
            std::vector<const Value*> children;
            if (x->IsObject()) {
              for (const auto& m : x->GetObject()) {
                if (st.name == "*" || json::view(m.name) == st.name) next.push_back(&m.value);
                children.push_back(&m.value);
              }
            } else if (x->IsArray()) {
              for (const auto& e : x->GetArray()) {
                if (st.name == "*") next.push_back(&e);
                children.push_back(&e);
              }
            }
            for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(*it);
          }
          break;
        }
        case JpStep::Kind::kIndex:
          if (v->IsArray()) {
            auto n = static_cast<int64_t>(v->Size());
            int64_t i = st.idx < 0 ? st.idx + n : st.idx;
            if (i >= 0 && i < n) next.push_back(&(*v)[static_cast<rapidjson::SizeType>(i)]);
          }
          break;
        case JpStep::Kind::kSlice:
          if (v->IsArray()) {
            auto n = static_cast<int64_t>(v->Size());
            int64_t step = st.step.value_or(1);
            if (step <= 0) break;
            int64_t b = st.start.value_or(0), e = st.end.value_or(n);
            if (b < 0) b += n;
            if (e < 0) e += n;
            b = std::clamp<int64_t>(b, 0, n);
            e = std::clamp<int64_t>(e, 0, n);
            for (int64_t i = b; i < e; i += step) next.push_back(&(*v)[static_cast<rapidjson::SizeType>(i)]);
          }
          break;
        case JpStep::Kind::kFilter:
          if (v->IsArray()) {
            for (const auto& e : v->GetArray()) {
              auto lefts = jpEval(st.filter->left, {&e});
              if (lefts.empty()) continue;
              if (st.filter->op.empty()) {
                next.push_back(&e);
                continue;
              }
              const Value* right = nullptr;
              if (st.filter->rhs == JpFilter::Rhs::kPath) {
                auto rights = jpEval(st.filter->rightPath, {&e});
                if (rights.empty()) continue;
                right = rights[0];
              }
              if (jpCompare(*lefts[0], *st.filter, right)) next.push_back(&e);
            }
          }
          break;
      }
    }
    cur = std::move(next);
  }
  return cur;
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

StatusOr<std::vector<const json::Value*>> evaluateJsonPath(const json::Value& obj, std::string_view path) {
  std::string_view p = path;
  while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
  while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
  if (p.size() >= 2 && p.front() == '{' && p.back() == '}') p = p.substr(1, p.size() - 2);
  std::vector<JpStep> steps;
  JpParser parser(p);
  KUBEOP_RETURN_IF_ERROR(parser.parse(&steps));
  return jpEval(steps, {&obj});
}

std::string humanDuration(std::chrono::nanoseconds d) {
  constexpr int64_t kNsPerSecond = 1000000000;
  constexpr int64_t kNsPerMinute = 60 * kNsPerSecond;
  constexpr int64_t kNsPerHour = 60 * kNsPerMinute;
  int64_t ns = d.count();
  auto seconds = static_cast<int64_t>(static_cast<double>(ns) / 1e9);  // int(d.Seconds())
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  int64_t minutes = ns / kNsPerMinute;
  if (minutes < 10) {
    int64_t s = (ns / kNsPerSecond) % 60;
    if (s == 0) return std::to_string(minutes) + "m";
    return std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  int64_t hours = ns / kNsPerHour;
  if (hours < 8) {
    int64_t m = minutes % 60;
    if (m == 0) return std::to_string(hours) + "h";
    return std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    if (h == 0) return std::to_string(hours / 24) + "d";
    return std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    int64_t dy = (hours / 24) % 365;
    if (dy == 0) return std::to_string(hours / 24 / 365) + "y";
    return std::to_string(hours / 24 / 365) + "y" + std::to_string(dy) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

namespace {

struct Rfc3339 {
  int64_t seconds = 0;  // since the Unix epoch
  int64_t nanos = 0;
};

// YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), as time.Parse(time.RFC3339) accepts it.
std::optional<Rfc3339> parseRfc3339Parts(std::string_view s) {
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
  auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2), mi = digits(14, 2), se = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > daysIn(*mo, *y) || *h > 23 || *mi > 59 || *se > 59) return std::nullopt;
  size_t i = 19;
  int64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int64_t scale = 100000000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (scale > 0) nanos += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  int64_t offset = 0;
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    auto oh = digits(i + 1, 2), om = digits(i + 4, 2);
    if (!oh || !om || i + 3 >= s.size() || s[i + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset = (*oh * 3600 + *om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  int64_t days = daysFromCivil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  return Rfc3339{days * 86400 + *h * 3600 + *mi * 60 + *se - offset, nanos};
}

constexpr int64_t kMaxDurationSeconds = std::numeric_limits<int64_t>::max() / 1000000000 - 1;

// t2 - t1 as time.Time.Sub does it: saturating at the limits of a Duration.
std::chrono::nanoseconds saturatingSub(const Rfc3339& t2, const Rfc3339& t1) {
  int64_t secs = t2.seconds - t1.seconds;
  if (secs > kMaxDurationSeconds) return std::chrono::nanoseconds(std::numeric_limits<int64_t>::max());
  if (secs < -kMaxDurationSeconds) return std::chrono::nanoseconds(std::numeric_limits<int64_t>::min());
  return std::chrono::nanoseconds(secs * 1000000000 + (t2.nanos - t1.nanos));
}

Rfc3339 toParts(std::chrono::system_clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  int64_t secs = ns / 1000000000, rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --secs;
  }
  return Rfc3339{secs, rem};
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parseRfc3339(std::string_view s) {
  auto p = parseRfc3339Parts(s);
  // system_clock counts nanoseconds: about 292 years either side of 1970.
  if (!p || p->seconds > kMaxDurationSeconds || p->seconds < -kMaxDurationSeconds) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(p->seconds) + std::chrono::nanoseconds(p->nanos)));
}

std::string ColumnCell::text() const {
  switch (kind) {
    case Kind::kString:
      return string;
    case Kind::kInteger:
      return std::to_string(integer);
    case Kind::kNumber:
      return goFloat(number);
    case Kind::kBoolean:
      return boolean ? "true" : "false";
    case Kind::kNull:
      break;
  }
  return "";
}

json::Value ColumnCell::toJson(json::Allocator& a) const {
  switch (kind) {
    case Kind::kString:
      return json::str(string, a);
    case Kind::kInteger:
      return json::Value(static_cast<int64_t>(integer));
    case Kind::kNumber:
      return json::Value(number);
    case Kind::kBoolean:
      return json::Value(boolean);
    case Kind::kNull:
      break;
  }
  return json::Value();
}

ColumnCell evaluateColumn(const PrinterColumn& column, const json::Value& obj,
                          std::chrono::system_clock::time_point now) {
  ColumnCell cell;
  auto found = evaluateJsonPath(obj, column.jsonPath);
  if (!found.ok() || found->empty()) return cell;
  const Value& v = *(*found)[0];  // the table convertor shows the first result only
  if (v.IsNull()) return cell;
  if (column.type == "string") {
    cell.kind = ColumnCell::Kind::kString;
    if (v.IsString()) {
      cell.string = sv(v);
    } else if (v.IsObject() || v.IsArray()) {
      cell.string = goJson(v);
    } else {
      cell.string = goV(v);
    }
  } else if (column.type == "integer") {
    if (v.IsNumber()) {
      cell.kind = ColumnCell::Kind::kInteger;
      cell.integer = v.IsInt64() ? v.GetInt64() : goInt64(v.GetDouble());
    }
  } else if (column.type == "number") {
    if (v.IsNumber()) {
      cell.kind = ColumnCell::Kind::kNumber;
      cell.number = v.GetDouble();
    }
  } else if (column.type == "boolean") {
    if (v.IsBool()) {
      cell.kind = ColumnCell::Kind::kBoolean;
      cell.boolean = v.GetBool();
    }
  } else if (column.type == "date") {
    if (v.IsString()) {
      cell.kind = ColumnCell::Kind::kString;
      std::string_view s = json::view(v);
      constexpr int64_t kZeroTime = -62135596800;  // 0001-01-01T00:00:00Z, metav1.Time's zero
      auto t = parseRfc3339Parts(s);
      if (s.empty() || s == "null" || (t && t->seconds == kZeroTime && t->nanos == 0)) {
        cell.string = "<unknown>";
      } else if (t) {
        cell.string = humanDuration(saturatingSub(toParts(now), *t));
      } else {
        cell.string = "<invalid>";
      }
    }
  }
  return cell;
}

const json::Value* findSimpleJsonPath(const json::Value& obj, std::string_view path) {
  if (path.empty() || path == ".") return &obj;
  const Value* cur = &obj;
  for (const auto& f : splitPath(path)) {
    if (!cur->IsObject()) return nullptr;
    cur = json::find(*cur, f);
    if (!cur) return nullptr;
  }
  return cur;
}

Status setSimpleJsonPath(json::Value& obj, std::string_view path, json::Value& value, json::Allocator& a) {
  if (path.size() < 2 || path.front() != '.') return invalidArgument("invalid path " + goQuote(path));
  auto fields = splitPath(path);
  for (const auto& f : fields) {
    if (f.empty()) return invalidArgument("invalid path " + goQuote(path));
  }
  if (!obj.IsObject()) return invalidArgument("cannot set " + std::string(path) + ": the object is not a JSON object");
  Value* cur = &obj;
  for (size_t i = 0; i + 1 < fields.size(); ++i) {
    Value* next = json::find(*cur, fields[i]);
    if (!next) {
      cur->AddMember(json::str(fields[i], a), Value(rapidjson::kObjectType), a);
      next = &(cur->MemberEnd() - 1)->value;
    } else if (!next->IsObject()) {
      return invalidArgument("cannot set " + std::string(path) + ": " + jsonPathOf(fields, i + 1) +
                             " is not an object");
    }
    cur = next;
  }
  json::setMember(*cur, fields.back(), value, a);
  return Status::ok();
}

// =============================================================================================
// 7. The CustomResourceDefinition: decoding, create validation, status

struct CustomResourceDefinition::Source {
  json::Document doc;  // the CRD as received; the pointers below point into it
  std::string namespace_;
  std::optional<std::string> approval;  // metadata.annotations["api-approved.kubernetes.io"]
  bool versionsPresent = false;
  struct Version {
    const Value* schema = nullptr;  // the `schema` field
    const Value* openAPIV3Schema = nullptr;
    const Value* subresources = nullptr;
    bool statusPresent = false;
    std::optional<ScaleSubresource> scale;
    const Value* columnsRaw = nullptr;
    std::vector<PrinterColumn> columns;
    const Value* selectableFields = nullptr;
  };
  std::vector<Version> versions;
  bool conversionPresent = false;
  std::string strategy;
  bool clientConfig = false;
  bool clientConfigUrl = false;
  bool clientConfigService = false;
  bool reviewVersionsPresent = false;
  std::vector<std::string> reviewVersions;
};

const CrdVersion* CustomResourceDefinition::version(std::string_view n) const {
  for (const auto& v : versions) {
    if (v.name == n) return &v;
  }
  return nullptr;
}

const CrdVersion* CustomResourceDefinition::storageVersion() const {
  const CrdVersion* found = nullptr;
  for (const auto& v : versions) {
    if (!v.storage) continue;
    if (found) return nullptr;
    found = &v;
  }
  return found;
}

StatusOr<CustomResourceDefinition> parseCrd(const json::Value& in) {
  auto fail = [](const std::string& msg) {
    return invalidArgument(
        "CustomResourceDefinition in version \"v1\" cannot be handled as a "
        "CustomResourceDefinition: " +
        msg);
  };
  if (!in.IsObject()) {
    return fail(std::string("json: cannot unmarshal ") + json::typeName(in) +
                " into Go value of type v1.CustomResourceDefinition");
  }
  auto src = std::make_shared<CustomResourceDefinition::Source>();
  src->doc.CopyFrom(in, src->doc.GetAllocator());
  const Value& crd = src->doc;
  Decoder d;
  CustomResourceDefinition out;

  const Value* meta = nullptr;
  if (!d.object(crd, "metadata", &meta, "CustomResourceDefinition", "", "v1.ObjectMeta")) return fail(d.error);
  if (meta) {
    if (!d.str(*meta, "name", &out.name, "ObjectMeta", "metadata") ||
        !d.str(*meta, "namespace", &src->namespace_, "ObjectMeta", "metadata")) {
      return fail(d.error);
    }
    const Value* ann = nullptr;
    if (!d.object(*meta, "annotations", &ann, "ObjectMeta", "metadata", "map[string]string")) return fail(d.error);
    if (ann) {
      for (const auto& m : ann->GetObject()) {
        if (m.value.IsNull()) continue;
        if (!m.value.IsString()) {
          d.fail(m.value, "ObjectMeta", "metadata.annotations", "string");
          return fail(d.error);
        }
        if (json::view(m.name) == "api-approved.kubernetes.io") src->approval = sv(m.value);
      }
    }
  }

  const Value* spec = nullptr;
  if (!d.object(crd, "spec", &spec, "CustomResourceDefinition", "", "v1.CustomResourceDefinitionSpec")) {
    return fail(d.error);
  }
  static const Value kEmptyObject(rapidjson::kObjectType);
  if (!spec) spec = &kEmptyObject;
  constexpr std::string_view kSpecSt = "CustomResourceDefinitionSpec";
  if (!d.str(*spec, "group", &out.group, kSpecSt, "spec") || !d.str(*spec, "scope", &out.scope, kSpecSt, "spec") ||
      !d.boolean(*spec, "preserveUnknownFields", &out.preserveUnknownFields, kSpecSt, "spec")) {
    return fail(d.error);
  }
  const Value* names = nullptr;
  if (!d.object(*spec, "names", &names, kSpecSt, "spec", "v1.CustomResourceDefinitionNames")) return fail(d.error);
  if (names) {
    constexpr std::string_view kSt = "CustomResourceDefinitionNames";
    if (!d.str(*names, "plural", &out.names.plural, kSt, "spec.names") ||
        !d.str(*names, "singular", &out.names.singular, kSt, "spec.names") ||
        !d.str(*names, "kind", &out.names.kind, kSt, "spec.names") ||
        !d.str(*names, "listKind", &out.names.listKind, kSt, "spec.names") ||
        !d.strList(*names, "shortNames", &out.names.shortNames, kSt, "spec.names") ||
        !d.strList(*names, "categories", &out.names.categories, kSt, "spec.names")) {
      return fail(d.error);
    }
  }

  if (const Value* versions = d.field(*spec, "versions")) {
    if (!versions->IsArray()) {
      d.fail(*versions, kSpecSt, "spec.versions", "[]v1.CustomResourceDefinitionVersion");
      return fail(d.error);
    }
    src->versionsPresent = true;
    constexpr std::string_view kSt = "CustomResourceDefinitionVersion";
    constexpr std::string_view kBase = "spec.versions";
    for (const auto& vv : versions->GetArray()) {
      if (!vv.IsObject()) {
        d.fail(vv, kSpecSt, kBase, "v1.CustomResourceDefinitionVersion");
        return fail(d.error);
      }
      CrdVersion v;
      CustomResourceDefinition::Source::Version raw;
      if (!d.str(vv, "name", &v.name, kSt, kBase) || !d.boolean(vv, "served", &v.served, kSt, kBase) ||
          !d.boolean(vv, "storage", &v.storage, kSt, kBase) ||
          !d.boolean(vv, "deprecated", &v.deprecated, kSt, kBase) ||
          !d.optStr(vv, "deprecationWarning", &v.deprecationWarning, kSt, kBase) ||
          !d.object(vv, "schema", &raw.schema, kSt, kBase, "v1.CustomResourceValidation") ||
          !d.object(vv, "subresources", &raw.subresources, kSt, kBase, "v1.CustomResourceSubresources")) {
        return fail(d.error);
      }
      if (raw.schema && !d.object(*raw.schema, "openAPIV3Schema", &raw.openAPIV3Schema, "CustomResourceValidation",
                                  "spec.versions.schema", "v1.JSONSchemaProps")) {
        return fail(d.error);
      }
      if (raw.subresources) {
        constexpr std::string_view kSubSt = "CustomResourceSubresources";
        const Value* status = nullptr;
        const Value* scale = nullptr;
        if (!d.object(*raw.subresources, "status", &status, kSubSt, "spec.versions.subresources",
                      "v1.CustomResourceSubresourceStatus") ||
            !d.object(*raw.subresources, "scale", &scale, kSubSt, "spec.versions.subresources",
                      "v1.CustomResourceSubresourceScale")) {
          return fail(d.error);
        }
        raw.statusPresent = status != nullptr;
        if (scale) {
          constexpr std::string_view kScSt = "CustomResourceSubresourceScale";
          constexpr std::string_view kScBase = "spec.versions.subresources.scale";
          ScaleSubresource sc;
          if (!d.str(*scale, "specReplicasPath", &sc.specReplicasPath, kScSt, kScBase) ||
              !d.str(*scale, "statusReplicasPath", &sc.statusReplicasPath, kScSt, kScBase) ||
              !d.optStr(*scale, "labelSelectorPath", &sc.labelSelectorPath, kScSt, kScBase)) {
            return fail(d.error);
          }
          raw.scale = std::move(sc);
        }
      }
      if (const Value* cols = d.field(vv, "additionalPrinterColumns")) {
        if (!cols->IsArray()) {
          d.fail(*cols, kSt, "spec.versions.additionalPrinterColumns", "[]v1.CustomResourceColumnDefinition");
          return fail(d.error);
        }
        raw.columnsRaw = cols;
        constexpr std::string_view kColSt = "CustomResourceColumnDefinition";
        constexpr std::string_view kColBase = "spec.versions.additionalPrinterColumns";
        for (const auto& c : cols->GetArray()) {
          if (!c.IsObject()) {
            d.fail(c, kSt, kColBase, "v1.CustomResourceColumnDefinition");
            return fail(d.error);
          }
          PrinterColumn col;
          if (!d.str(c, "name", &col.name, kColSt, kColBase) || !d.str(c, "type", &col.type, kColSt, kColBase) ||
              !d.str(c, "format", &col.format, kColSt, kColBase) ||
              !d.str(c, "description", &col.description, kColSt, kColBase) ||
              !d.str(c, "jsonPath", &col.jsonPath, kColSt, kColBase) ||
              !d.int32(c, "priority", &col.priority, kColSt, kColBase)) {
            return fail(d.error);
          }
          raw.columns.push_back(std::move(col));
        }
      }
      if (const Value* sf = d.field(vv, "selectableFields")) {
        if (!sf->IsArray()) {
          d.fail(*sf, kSt, "spec.versions.selectableFields", "[]v1.SelectableField");
          return fail(d.error);
        }
        raw.selectableFields = sf;
      }
      if (raw.openAPIV3Schema) {
        std::string err;
        auto compiled =
            CrdVersionSchemaAccess::compile(*raw.openAPIV3Schema, "spec.versions.schema.openAPIV3Schema", &err);
        if (!compiled.ok()) return fail(err);
        v.schema = std::move(compiled).value();
      }
      CrdVersionSchemaAccess::attach(v.schema, raw.statusPresent, raw.scale, raw.columns);
      out.versions.push_back(std::move(v));
      src->versions.push_back(std::move(raw));
    }
  }

  const Value* conversion = nullptr;
  if (!d.object(*spec, "conversion", &conversion, kSpecSt, "spec", "v1.CustomResourceConversion")) return fail(d.error);
  if (conversion) {
    src->conversionPresent = true;
    constexpr std::string_view kSt = "CustomResourceConversion";
    if (!d.str(*conversion, "strategy", &src->strategy, kSt, "spec.conversion")) return fail(d.error);
    const Value* webhook = nullptr;
    if (!d.object(*conversion, "webhook", &webhook, kSt, "spec.conversion", "v1.WebhookConversion")) {
      return fail(d.error);
    }
    if (webhook) {
      const Value* cc = nullptr;
      if (!d.object(*webhook, "clientConfig", &cc, "WebhookConversion", "spec.conversion.webhook",
                    "v1.WebhookClientConfig") ||
          !d.strList(*webhook, "conversionReviewVersions", &src->reviewVersions, "WebhookConversion",
                     "spec.conversion.webhook")) {
        return fail(d.error);
      }
      src->reviewVersionsPresent = d.field(*webhook, "conversionReviewVersions") != nullptr;
      if (cc) {
        src->clientConfig = true;
        src->clientConfigUrl = d.field(*cc, "url") != nullptr;
        src->clientConfigService = d.field(*cc, "service") != nullptr;
      }
    }
    out.conversionStrategy = src->strategy;
  }

  // v1 defaulting (SetDefaults_CustomResourceDefinitionSpec).
  if (out.names.singular.empty()) out.names.singular = toLower(out.names.kind);
  if (out.names.listKind.empty() && !out.names.kind.empty()) out.names.listKind = out.names.kind + "List";
  if (!conversion) out.conversionStrategy = "None";
  out.source = std::move(src);
  return out;
}

namespace {

// --- structural schema rules (schema/validation.go, schema/complete.go)

enum class Level { kRoot, kItem, kField };

bool bareType(const Node& n, std::string_view type) {
  if (n.type != type || !n.src || !n.src->IsObject()) return false;
  for (const auto& m : n.src->GetObject()) {
    if (json::view(m.name) == "type") continue;
    if (m.value.IsNull() || (m.value.IsBool() && !m.value.GetBool())) continue;
    return false;
  }
  return true;
}

bool intOrStringAnyOf(const std::vector<Node>& anyOf) {
  return anyOf.size() == 2 && bareType(anyOf[0], "integer") && bareType(anyOf[1], "string");
}

void valueValidationRules(const Node& v, bool skipAnyOf, bool skipFirstAllOfAnyOf, Level lvl, const std::string& path,
                          std::vector<Cause>& out);

void nestedValueValidationRules(const Node& v, bool skipAnyOf, bool skipAllOfAnyOf, Level lvl, const std::string& path,
                                std::vector<Cause>& out) {
  valueValidationRules(v, skipAnyOf, skipAllOfAnyOf, lvl, path, out);
  if (v.items) nestedValueValidationRules(*v.items, false, false, lvl, child(path, "items"), out);
  for (const auto& [k, p] : v.properties) {
    nestedValueValidationRules(p, false, false, Level::kField, key(child(path, "properties"), k), out);
  }
  if (!v.type.empty()) out.push_back(forbidden(child(path, "type"), "must be empty to be structural"));
  if (v.hasAp()) out.push_back(forbidden(child(path, "additionalProperties"), "must be undefined to be structural"));
  if (v.defaultValue) out.push_back(forbidden(child(path, "default"), "must be undefined to be structural"));
  if (!v.title.empty()) out.push_back(forbidden(child(path, "title"), "must be empty to be structural"));
  if (!v.description.empty()) out.push_back(forbidden(child(path, "description"), "must be empty to be structural"));
  if (v.nullable) out.push_back(forbidden(child(path, "nullable"), "must be false to be structural"));
  if (v.hasExternalDocs) out.push_back(forbidden(child(path, "externalDocs"), "must be undefined to be structural"));
  if (v.preserveUnknownFields) {
    out.push_back(forbidden(child(path, "x-kubernetes-preserve-unknown-fields"), "must be false to be structural"));
  }
  if (v.embeddedResource) {
    out.push_back(forbidden(child(path, "x-kubernetes-embedded-resource"), "must be false to be structural"));
  }
  if (v.intOrString)
    out.push_back(forbidden(child(path, "x-kubernetes-int-or-string"), "must be false to be structural"));
  if (!v.listMapKeys.empty()) {
    out.push_back(forbidden(child(path, "x-kubernetes-list-map-keys"), "must be empty to be structural"));
  }
  if (v.listType) out.push_back(forbidden(child(path, "x-kubernetes-list-type"), "must be undefined to be structural"));
  if (v.mapType) out.push_back(forbidden(child(path, "x-kubernetes-map-type"), "must be undefined to be structural"));
  if (!v.celRules.empty()) {
    out.push_back(forbidden(child(path, "x-kubernetes-validations"), "must be empty to be structural"));
  }
  if (v.prop("metadata")) {
    out.push_back(forbidden(key(child(path, "properties"), "metadata"), "must not be specified in a nested context"));
  }
}

void valueValidationRules(const Node& v, bool skipAnyOf, bool skipFirstAllOfAnyOf, Level lvl, const std::string& path,
                          std::vector<Cause>& out) {
  if (!skipAnyOf) {
    for (size_t i = 0; i < v.anyOf.size(); ++i) {
      nestedValueValidationRules(v.anyOf[i], false, false, lvl, index(child(path, "anyOf"), i), out);
    }
  }
  for (size_t i = 0; i < v.allOf.size(); ++i) {
    nestedValueValidationRules(v.allOf[i], skipFirstAllOfAnyOf && i == 0, false, lvl, index(child(path, "allOf"), i),
                               out);
  }
  for (size_t i = 0; i < v.oneOf.size(); ++i) {
    nestedValueValidationRules(v.oneOf[i], false, false, lvl, index(child(path, "oneOf"), i), out);
  }
  if (v.notSchema) nestedValueValidationRules(*v.notSchema, false, false, lvl, child(path, "not"), out);
  if (v.pattern && !v.regex) {
    out.push_back(invalid(child(path, "pattern"), goQuote(*v.pattern),
                          "must be a valid regular expression, but isn't: " + v.regexError));
  }
}

// True when metadata's schema says more than "an object, maybe restricting name/generateName".
bool metadataSaysTooMuch(const Node& m) {
  bool onlyNames = false;
  if (!m.properties.empty()) {
    bool name = m.prop("name") != nullptr, generateName = m.prop("generateName") != nullptr;
    onlyNames =
        (name && generateName && m.properties.size() == 2) || ((name || generateName) && m.properties.size() == 1);
    if (!onlyNames) return true;
  }
  return !m.description.empty() || !m.title.empty() || m.nullable || m.hasExternalDocs || m.hasExample ||
         m.preserveUnknownFields || m.embeddedResource || m.intOrString || m.hasListMapKeys || m.listType ||
         m.mapType || !m.celRules.empty() || !m.format.empty() || m.maximum || m.minimum || m.exclusiveMaximum ||
         m.exclusiveMinimum || m.maxLength || m.minLength || m.pattern || m.maxItems || m.minItems || m.uniqueItems ||
         m.multipleOf || !m.enumValues.empty() || m.maxProperties || m.minProperties || m.hasRequired ||
         !m.allOf.empty() || !m.oneOf.empty() || !m.anyOf.empty() || m.notSchema || m.items || m.hasAp();
}

void structuralInvariants(const Node& s, Level lvl, const std::string& path, std::vector<Cause>& out) {
  if (s.type == "array" && !s.items) out.push_back(required(child(path, "items"), "must be specified"));
  if (s.items) structuralInvariants(*s.items, Level::kItem, child(path, "items"), out);
  for (const auto& [k, p] : s.properties)
    structuralInvariants(p, Level::kField, key(child(path, "properties"), k), out);
  if (s.hasAp()) {
    if (lvl == Level::kRoot)
      out.push_back(forbidden(child(path, "additionalProperties"), "must not be used at the root"));
    if (s.apSchema) structuralInvariants(*s.apSchema, Level::kField, child(path, "additionalProperties"), out);
  }
  if (s.intOrString && s.preserveUnknownFields) {
    out.push_back(invalid(child(path, "x-kubernetes-preserve-unknown-fields"), "true",
                          "must be false if x-kubernetes-int-or-string is true"));
  }
  if (s.intOrString && s.embeddedResource) {
    out.push_back(invalid(child(path, "x-kubernetes-embedded-resource"), "true",
                          "must be false if x-kubernetes-int-or-string is true"));
  }
  bool skipAnyOf = intOrStringAnyOf(s.anyOf);
  bool skipFirstAllOfAnyOf = !s.allOf.empty() && intOrStringAnyOf(s.allOf[0].anyOf);
  valueValidationRules(s, skipAnyOf, skipFirstAllOfAnyOf, lvl, path, out);

  bool checkMetadata = lvl == Level::kRoot || s.embeddedResource;
  if (s.embeddedResource && s.type != "object") {
    if (s.type.empty()) {
      out.push_back(required(child(path, "type"), "must be object if x-kubernetes-embedded-resource is true"));
    } else {
      out.push_back(
          invalid(child(path, "type"), goQuote(s.type), "must be object if x-kubernetes-embedded-resource is true"));
    }
  } else if (s.type.empty() && !s.intOrString && !s.preserveUnknownFields) {
    const char* detail = lvl == Level::kRoot   ? "must not be empty at the root"
                         : lvl == Level::kItem ? "must not be empty for specified array items"
                                               : "must not be empty for specified object fields";
    out.push_back(required(child(path, "type"), detail));
  }
  if (s.embeddedResource && s.hasAp()) {
    out.push_back(
        forbidden(child(path, "additionalProperties"), "must not be used if x-kubernetes-embedded-resource is set"));
  }
  if (lvl == Level::kRoot && !s.type.empty() && s.type != "object") {
    out.push_back(invalid(child(path, "type"), goQuote(s.type), "must be object at the root"));
  }
  if (checkMetadata) {
    for (const char* k : {"kind", "apiVersion"}) {
      const Node* p = s.prop(k);
      if (p && p->type != "string") {
        out.push_back(invalid(child(key(child(path, "properties"), k), "type"), goQuote(p->type), "must be string"));
      }
    }
  }
  if (const Node* m = s.prop("metadata")) {
    std::string mp = key(child(path, "properties"), "metadata");
    if (checkMetadata && m->type != "object")
      out.push_back(invalid(child(mp, "type"), goQuote(m->type), "must be object"));
    if (lvl == Level::kRoot && metadataSaysTooMuch(*m)) {
      out.push_back(forbidden(mp,
                              "must not specify anything other than name and generateName, but metadata is "
                              "implicitly specified"));
    }
  }
  if (s.embeddedResource && !s.preserveUnknownFields && s.properties.empty()) {
    out.push_back(required(child(path, "properties"),
                           "must not be empty if x-kubernetes-embedded-resource is true without "
                           "x-kubernetes-preserve-unknown-fields"));
  }
}

void vvCompleteness(const Node& v, const Node* s, const std::string& sPath, const std::string& vPath,
                    std::vector<Cause>& out);

void nestedCompleteness(const Node& v, const Node* s, const std::string& sPath, const std::string& vPath,
                        std::vector<Cause>& out) {
  if (!s) {
    out.push_back(required(sPath, "because it is defined in " + vPath));
    return;
  }
  vvCompleteness(v, s, sPath, vPath, out);
  if (v.items) nestedCompleteness(*v.items, s->items.get(), child(sPath, "items"), child(vPath, "items"), out);
  for (const auto& [k, vf] : v.properties) {
    std::string sp = key(child(sPath, "properties"), k), vp = key(child(vPath, "properties"), k);
    if (const Node* sf = s->prop(k)) {
      nestedCompleteness(vf, sf, sp, vp, out);
    } else {
      out.push_back(required(sp, "because it is defined in " + vp));
    }
  }
}

void vvCompleteness(const Node& v, const Node* s, const std::string& sPath, const std::string& vPath,
                    std::vector<Cause>& out) {
  if (!s) {
    out.push_back(required(sPath, "because it is defined in " + vPath));
    return;
  }
  if (v.notSchema) nestedCompleteness(*v.notSchema, s, sPath, child(vPath, "not"), out);
  for (size_t i = 0; i < v.allOf.size(); ++i)
    nestedCompleteness(v.allOf[i], s, sPath, index(child(vPath, "allOf"), i), out);
  for (size_t i = 0; i < v.anyOf.size(); ++i)
    nestedCompleteness(v.anyOf[i], s, sPath, index(child(vPath, "anyOf"), i), out);
  for (size_t i = 0; i < v.oneOf.size(); ++i)
    nestedCompleteness(v.oneOf[i], s, sPath, index(child(vPath, "oneOf"), i), out);
}

// ValidateStructural: invariants plus completeness, sorted by their text as upstream does.
std::vector<Cause> validateStructural(const Node& root, const std::string& path) {
  std::vector<Cause> out;
  structuralInvariants(root, Level::kRoot, path, out);
  vvCompleteness(root, &root, path, path, out);
  std::stable_sort(out.begin(), out.end(), [](const Cause& a, const Cause& b) { return a.toString() < b.toString(); });
  return out;
}

// --- defaults (defaulting/validation.go)

void validateDefaultsRec(const Node& s, const std::string& pth, bool insideMeta, bool forcedEmbedded,
                         std::vector<Cause>& out) {
  bool embedded = forcedEmbedded || s.embeddedResource;
  if (embedded) insideMeta = false;
  if (s.defaultValue) {
    const Value& def = *s.defaultValue;
    std::string dp = child(pth, "default");
    if (!insideMeta) {
      json::Document pruned;
      pruned.CopyFrom(def, pruned.GetAllocator());
      pruneValue(pruned, &s, embedded);
      if (!deepEqual(pruned, def)) out.push_back(invalid(dp, renderValue(def), "must not have unknown fields"));
    }
    std::vector<Cause> meta;
    if (s.embeddedResource && def.IsObject()) validateEmbeddedResource(dp, def, meta);
    if (!meta.empty()) {
      out.insert(out.end(), meta.begin(), meta.end());
    } else {
      toCauses(validateNode(s, def, ""), dp, out);
    }
  }
  // additionalProperties is not followed: defaults there are checked by the OpenAPI rules.
  if (s.items) validateDefaultsRec(*s.items, child(pth, "items"), insideMeta, false, out);
  for (const auto& [k, p] : s.properties) {
    bool subInsideMeta = insideMeta || (embedded && isMetaField(k));
    validateDefaultsRec(p, key(child(pth, "properties"), k), subInsideMeta, false, out);
  }
}

// --- the OpenAPI rules of CRD validation (ValidateCustomResourceDefinitionOpenAPISchema)

struct SchemaRules {
  bool allowDefaults = true;
  std::string disallowDefaultsReason;
  bool insideResourceMeta = false;

  SchemaRules withForbiddenDefaults(std::string reason) const {
    SchemaRules r = *this;
    r.allowDefaults = false;
    r.disallowDefaultsReason = std::move(reason);
    return r;
  }
};

void openApiRules(const Node& s, const std::string& path, const SchemaRules& rules, bool isRoot,
                  std::vector<Cause>& out) {
  static const std::vector<std::string> kTypes = {"array", "boolean", "integer", "number", "object", "string"};
  // specStandardValidatorV3.validate
  if (!s.type.empty() && !contains(kTypes, s.type))
    out.push_back(notSupported(child(path, "type"), goQuote(s.type), kTypes));
  if (s.defaultValue && !rules.allowDefaults) {
    std::string detail = "must not be set";
    if (!rules.disallowDefaultsReason.empty()) detail += " " + rules.disallowDefaultsReason;
    out.push_back(forbidden(child(path, "default"), detail));
  }
  if (s.hasId) out.push_back(forbidden(child(path, "id"), "id is not supported"));
  if (s.hasAdditionalItems)
    out.push_back(forbidden(child(path, "additionalItems"), "additionalItems is not supported"));
  if (s.hasPatternProperties) {
    out.push_back(forbidden(child(path, "patternProperties"), "patternProperties is not supported"));
  }
  if (s.hasDefinitions) out.push_back(forbidden(child(path, "definitions"), "definitions is not supported"));
  if (s.hasDependencies) out.push_back(forbidden(child(path, "dependencies"), "dependencies is not supported"));
  if (s.hasRef) out.push_back(forbidden(child(path, "$ref"), "$ref is not supported"));
  if (s.type == "null") {
    out.push_back(forbidden(child(path, "type"), "type cannot be set to null, use nullable as an alternative"));
  }
  if (s.itemsIsArray && !s.itemsArray.empty()) {
    out.push_back(forbidden(child(path, "items"), "items must be a schema object and not an array"));
  }
  if (rules.insideResourceMeta && s.embeddedResource) {
    out.push_back(forbidden(child(path, "x-kubernetes-embedded-resource"), "must not be used inside of resource meta"));
  }

  if (s.uniqueItems) {
    out.push_back(forbidden(child(path, "uniqueItems"),
                            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"));
  }
  if (s.hasAp()) {
    if (!s.properties.empty() && s.ap != Node::Ap::kTrue) {
      out.push_back(
          forbidden(child(path, "additionalProperties"), "additionalProperties and properties are mutual exclusive"));
    }
    SchemaRules sub = rules.insideResourceMeta
                          ? rules.withForbiddenDefaults("inside additionalProperties applying to object metadata")
                          : rules;
    if (s.apSchema) openApiRules(*s.apSchema, child(path, "additionalProperties"), sub, false, out);
  }
  for (const auto& [k, p] : s.properties) {
    SchemaRules sub = rules;
    if ((isRoot || s.embeddedResource) && isMetaField(k)) {
      sub.insideResourceMeta = true;
      if (isRoot) sub = sub.withForbiddenDefaults("in top-level " + k);
    }
    openApiRules(p, key(child(path, "properties"), k), sub, false, out);
  }
  if (s.notSchema) openApiRules(*s.notSchema, child(path, "not"), rules, false, out);
  for (size_t i = 0; i < s.allOf.size(); ++i)
    openApiRules(s.allOf[i], index(child(path, "allOf"), i), rules, false, out);
  for (size_t i = 0; i < s.oneOf.size(); ++i)
    openApiRules(s.oneOf[i], index(child(path, "oneOf"), i), rules, false, out);
  for (size_t i = 0; i < s.anyOf.size(); ++i)
    openApiRules(s.anyOf[i], index(child(path, "anyOf"), i), rules, false, out);
  if (s.items) openApiRules(*s.items, child(path, "items"), rules, false, out);
  for (size_t i = 0; i < s.itemsArray.size(); ++i) {
    openApiRules(s.itemsArray[i], index(child(path, "items"), i), rules, false, out);
  }

  if (s.preserveExplicitFalse) {
    out.push_back(invalid(child(path, "x-kubernetes-preserve-unknown-fields"), "false", "must be true or undefined"));
  }
  if (s.mapType && s.type != "object") {
    if (s.type.empty()) {
      out.push_back(required(child(path, "type"), "must be object if x-kubernetes-map-type is specified"));
    } else {
      out.push_back(
          invalid(child(path, "type"), goQuote(s.type), "must be object if x-kubernetes-map-type is specified"));
    }
  }
  if (s.mapType && *s.mapType != "atomic" && *s.mapType != "granular") {
    out.push_back(notSupported(child(path, "x-kubernetes-map-type"), goQuote(*s.mapType), {"atomic", "granular"}));
  }
  if (s.listType && s.type != "array") {
    if (s.type.empty()) {
      out.push_back(required(child(path, "type"), "must be array if x-kubernetes-list-type is specified"));
    } else {
      out.push_back(
          invalid(child(path, "type"), goQuote(s.type), "must be array if x-kubernetes-list-type is specified"));
    }
  } else if (s.listType && *s.listType == "set" && s.items) {
    const Node& is = *s.items;
    std::string ip = child(path, "items");
    std::string isListType = is.listType ? goJson(*json::find(*is.src, "x-kubernetes-list-type")) : "null";
    if (is.type == "array" && is.listType && *is.listType != "atomic") {
      out.push_back(invalid(child(ip, "x-kubernetes-list-type"), isListType,
                            "must be atomic as item of a list with x-kubernetes-list-type=set"));
    } else if (is.type == "object" && (!is.mapType || *is.mapType != "atomic")) {
      // Upstream reports the items' list type here (sic).
      out.push_back(invalid(child(ip, "x-kubernetes-map-type"), isListType,
                            "must be atomic as item of a list with x-kubernetes-list-type=set"));
    }
  }
  if (s.listType && *s.listType != "atomic" && *s.listType != "set" && *s.listType != "map") {
    out.push_back(notSupported(child(path, "x-kubernetes-list-type"), goQuote(*s.listType), {"atomic", "set", "map"}));
  }
  if (!s.listMapKeys.empty()) {
    if (!s.listType) {
      out.push_back(
          required(child(path, "x-kubernetes-list-type"), "must be map if x-kubernetes-list-map-keys is non-empty"));
    } else if (*s.listType != "map") {
      out.push_back(invalid(child(path, "x-kubernetes-list-type"), goQuote(*s.listType),
                            "must be map if x-kubernetes-list-map-keys is non-empty"));
    }
  }
  auto renderKeys = [&] {
    const Value* raw = s.src ? json::find(*s.src, "x-kubernetes-list-map-keys") : nullptr;
    return raw ? goJson(*raw) : "null";
  };
  if (s.listType && *s.listType == "map") {
    if (s.listMapKeys.empty()) {
      out.push_back(
          required(child(path, "x-kubernetes-list-map-keys"), "must not be empty if x-kubernetes-list-type is map"));
    }
    if (!s.items && !s.itemsIsArray) {
      out.push_back(required(child(path, "items"), "must have a schema if x-kubernetes-list-type is map"));
    }
    if (s.itemsIsArray) {
      out.push_back(invalid(child(path, "items"), goJson(*json::find(*s.src, "items")),
                            "must only have a single schema if x-kubernetes-list-type is map"));
    }
    if (s.items && s.items->type != "object") {
      out.push_back(invalid(child(child(path, "items"), "type"), goQuote(s.items->type),
                            "must be object if parent array's x-kubernetes-list-type is map"));
    }
    if (s.items && s.items->type == "object") {
      std::set<std::string> seen;
      for (const auto& k : s.listMapKeys) {
        if (const Node* p = s.items->prop(k)) {
          if (p->type == "array" || p->type == "object") {
            // Upstream reports the items' type as the bad value (sic).
            out.push_back(invalid(child(key(child(child(path, "items"), "properties"), k), "type"),
                                  goQuote(s.items->type),
                                  "must be a scalar type if parent array's x-kubernetes-list-type is map"));
          }
        } else {
          out.push_back(invalid(child(path, "x-kubernetes-list-map-keys"), renderKeys(),
                                "entries must all be names of item properties"));
        }
        if (!seen.insert(k).second) {
          out.push_back(
              invalid(child(path, "x-kubernetes-list-map-keys"), renderKeys(), "must not contain duplicate entries"));
        }
      }
    }
  }
  // validateMapListKeysMapSet
  if (s.items && s.listType && (*s.listType == "set" || *s.listType == "map")) {
    std::string ip = child(path, "items");
    if (s.items->nullable) {
      out.push_back(
          forbidden(child(ip, "nullable"), "cannot be nullable when x-kubernetes-list-type is " + *s.listType));
    }
    if (*s.listType == "map") {
      for (const auto& k : s.listMapKeys) {
        const Node* p = s.items->prop(k);
        if (!p) continue;
        std::string pp = key(child(ip, "properties"), k);
        if (!contains(s.items->required, k) && !p->defaultValue) {
          out.push_back(required(child(pp, "default"),
                                 "this property is in x-kubernetes-list-map-keys, so it must have a default or be a "
                                 "required property"));
        }
        if (p->nullable) {
          out.push_back(forbidden(child(pp, "nullable"),
                                  "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"));
        }
      }
    }
  }
  // x-kubernetes-validations: the static checks (rules are never compiled: no CEL here).
  for (size_t i = 0; i < s.celRules.size(); ++i) {
    const CelRule& r = s.celRules[i];
    std::string rp = index(child(path, "x-kubernetes-validations"), i);
    auto trim = [](std::string_view x) {
      while (!x.empty() && std::isspace(static_cast<unsigned char>(x.front()))) x.remove_prefix(1);
      while (!x.empty() && std::isspace(static_cast<unsigned char>(x.back()))) x.remove_suffix(1);
      return x;
    };
    auto hasNewline = [](std::string_view x) { return x.find_first_of("\n\r") != std::string_view::npos; };
    std::string_view rule = trim(r.rule), msg = trim(r.message);
    if (rule.empty()) {
      out.push_back(required(child(rp, "rule"), "rule is not specified"));
    } else if (!r.message.empty() && msg.empty()) {
      out.push_back(invalid(child(rp, "message"), goQuote(r.message), "must be non-empty if specified"));
    } else if (hasNewline(msg)) {
      out.push_back(invalid(child(rp, "message"), goQuote(r.message), "must not contain line breaks"));
    } else if (hasNewline(rule) && msg.empty()) {
      out.push_back(required(child(rp, "message"), "message must be specified if rule contains line breaks"));
    }
    if (!r.messageExpression.empty() && trim(r.messageExpression).empty()) {
      out.push_back(required(child(rp, "messageExpression"), "messageExpression must be non-empty if specified"));
    }
    static const std::vector<std::string> kReasons = {"FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid",
                                                      "FieldValueRequired"};
    if (i < s.celReasonSet.size() && s.celReasonSet[i] && !contains(kReasons, r.reason)) {
      out.push_back(notSupported(child(rp, "reason"), goQuote(r.reason), kReasons));
    }
    if (!r.fieldPath.empty() && trim(r.fieldPath).empty()) {
      out.push_back(invalid(child(rp, "fieldPath"), goQuote(r.fieldPath), "must be non-empty if specified"));
    }
    if (hasNewline(r.fieldPath)) {
      out.push_back(invalid(child(rp, "fieldPath"), goQuote(r.fieldPath), "must not contain line breaks"));
    }
  }
}

bool schemaHas(const Node& s, const std::function<bool(const Node&)>& pred) {
  if (pred(s)) return true;
  if (s.items && schemaHas(*s.items, pred)) return true;
  for (const auto& x : s.itemsArray) {
    if (schemaHas(x, pred)) return true;
  }
  for (const auto* list : {&s.allOf, &s.anyOf, &s.oneOf}) {
    for (const auto& x : *list) {
      if (schemaHas(x, pred)) return true;
    }
  }
  if (s.notSchema && schemaHas(*s.notSchema, pred)) return true;
  for (const auto& [k, p] : s.properties) {
    if (schemaHas(p, pred)) return true;
  }
  return s.apSchema && schemaHas(*s.apSchema, pred);
}

// NewStructural refuses schemas using keywords CRDs do not support; the structural checks are
// then skipped, and its error is reported only when nothing else was.
std::optional<std::string> structuralInitError(const Node& s) {
  if (s.hasId) return "OpenAPIV3Schema 'id' is not supported";
  if (s.hasSchemaUri) return "OpenAPIV3Schema 'schema' is not supported";
  if (s.hasRef) return "OpenAPIV3Schema '$ref' is not supported";
  if (s.hasPatternProperties) return "OpenAPIV3Schema 'patternProperties' is not supported";
  if (s.hasDependencies) return "OpenAPIV3Schema 'dependencies' is not supported";
  if (s.hasAdditionalItems) return "OpenAPIV3Schema 'additionalItems' is not supported";
  if (s.hasDefinitions) return "OpenAPIV3Schema 'definitions' is not supported";
  if (s.notSchema) {
    if (auto e = structuralInitError(*s.notSchema)) return e;
  }
  for (const auto* list : {&s.allOf, &s.anyOf, &s.oneOf}) {
    for (const auto& x : *list) {
      if (auto e = structuralInitError(x)) return e;
    }
  }
  if (s.preserveExplicitFalse)
    return "internal error: 'x-kubernetes-preserve-unknown-fields' must be true or undefined";
  if (s.itemsIsArray) return "OpenAPIV3Schema 'items' must be a schema, but is an array";
  if (s.items) {
    if (auto e = structuralInitError(*s.items)) return e;
  }
  for (const auto& [k, p] : s.properties) {
    if (auto e = structuralInitError(p)) return e;
  }
  if (s.apSchema) return structuralInitError(*s.apSchema);
  return std::nullopt;
}

// The fields of JSONSchemaProps allowed at the root when the status subresource is enabled.
constexpr std::string_view kAllowedAtRoot =
    "[Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern "
    "MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields "
    "XValidations]";

// validateCustomResourceDefinitionValidation for one schema at `fldPath` ("spec.validation" or
// "spec.versions[i].schema").
void validateValidation(const Node& root, bool statusEnabled, const std::string& fldPath, std::vector<Cause>& out) {
  std::string p = child(fldPath, "openAPIV3Schema");
  const size_t before = out.size();
  if (statusEnabled) {
    // Walk the fields in JSONSchemaProps order; the first non-zero one decides.
    bool disallowedBeforeType = root.hasId || root.hasSchemaUri || root.hasRef;
    bool disallowedAfterType = root.defaultValue || !root.enumValues.empty() || root.hasEnum || root.maxProperties ||
                               root.minProperties || !root.allOf.empty() || !root.oneOf.empty() ||
                               !root.anyOf.empty() || root.notSchema || root.hasAp() || root.hasPatternProperties ||
                               root.hasDependencies || root.hasAdditionalItems || root.hasDefinitions ||
                               root.nullable || root.embeddedResource || root.intOrString || root.hasListMapKeys ||
                               root.listType || root.mapType;
    std::string rendered = root.src ? goJson(*root.src) : "null";
    if (disallowedBeforeType) {
      out.push_back(invalid(p, rendered,
                            "only " + std::string(kAllowedAtRoot) +
                                " fields are allowed at the root of the schema if the status subresource is enabled"));
    } else if (!root.type.empty() && root.type != "object") {
      out.push_back(
          invalid(child(fldPath, "openAPIV3Schema.type"), goQuote(root.type),
                  "only \"object\" is allowed as the type at the root of the schema if the status subresource "
                  "is enabled"));
    } else if (disallowedAfterType) {
      out.push_back(invalid(p, rendered,
                            "only " + std::string(kAllowedAtRoot) +
                                " fields are allowed at the root of the schema if the status subresource is enabled"));
    }
  }
  if (root.nullable)
    out.push_back(forbidden(child(fldPath, "openAPIV3Schema.nullable"), "nullable cannot be true at the root"));
  auto initError = structuralInitError(root);
  if (!initError) {
    auto structural = validateStructural(root, p);
    if (!structural.empty()) {
      out.insert(out.end(), structural.begin(), structural.end());
    } else {
      validateDefaultsRec(root, p, false, true, out);
    }
  }
  openApiRules(root, p, SchemaRules{}, true, out);
  if (initError && out.size() == before) out.push_back(invalid(p, "\"\"", *initError));
}

void validateSimpleJsonPath(std::string_view s, const std::string& path, std::vector<Cause>& out) {
  if (s.empty()) {
    out.push_back(invalid(path, goQuote(s), "must not be empty"));
  } else if (s[0] != '.') {
    out.push_back(invalid(path, goQuote(s), "must be a simple json path starting with ."));
  }
}

void validateSubresources(const std::optional<ScaleSubresource>& scale, const std::string& path,
                          std::vector<Cause>& out) {
  if (!scale) return;
  auto check = [&](const std::string& value, const char* field, std::string_view prefix, const char* msg) {
    std::string fp = child(path, field);
    if (value.empty()) {
      out.push_back(required(fp, ""));
      return;
    }
    size_t before = out.size();
    validateSimpleJsonPath(value, fp, out);
    if (out.size() == before && value.rfind(prefix, 0) != 0) out.push_back(invalid(fp, goQuote(value), msg));
  };
  check(scale->specReplicasPath, "scale.specReplicasPath", ".spec.", "should be a json path under .spec");
  check(scale->statusReplicasPath, "scale.statusReplicasPath", ".status.", "should be a json path under .status");
  if (scale->labelSelectorPath && !scale->labelSelectorPath->empty()) {
    const std::string& l = *scale->labelSelectorPath;
    std::string fp = child(path, "scale.labelSelectorPath");
    size_t before = out.size();
    validateSimpleJsonPath(l, fp, out);
    if (out.size() == before && l.rfind(".spec.", 0) != 0 && l.rfind(".status.", 0) != 0) {
      out.push_back(invalid(fp, goQuote(l), "should be a json path under either .spec or .status"));
    }
  }
}

void validateColumn(const PrinterColumn& c, const std::string& path, std::vector<Cause>& out) {
  static const std::vector<std::string> kTypes = {"boolean", "date", "integer", "number", "string"};
  static const std::vector<std::string> kFormats = {"byte",  "date",  "date-time", "double",
                                                    "float", "int32", "int64",     "password"};
  if (c.name.empty()) out.push_back(required(child(path, "name"), ""));
  std::string typesMsg = "must be one of " + joinStrings(kTypes, ",");
  if (c.type.empty()) {
    out.push_back(required(child(path, "type"), typesMsg));
  } else if (!contains(kTypes, c.type)) {
    out.push_back(invalid(child(path, "type"), goQuote(c.type), typesMsg));
  }
  if (!c.format.empty() && !contains(kFormats, c.format)) {
    out.push_back(invalid(child(path, "format"), goQuote(c.format), "must be one of " + joinStrings(kFormats, ",")));
  }
  if (c.jsonPath.empty()) {
    out.push_back(required(child(path, "JSONPath"), ""));
  } else {
    validateSimpleJsonPath(c.jsonPath, child(path, "JSONPath"), out);
  }
}

void validateNames(const CrdNames& n, const std::string& path, std::vector<Cause>& out) {
  auto check = [&](const std::string& value, const char* field, bool mixedCase) {
    if (value.empty()) return;
    auto errs = isDns1035Label(mixedCase ? toLower(value) : value);
    if (errs.empty()) return;
    std::string detail = joinStrings(errs, ",");
    if (mixedCase) detail = "may have mixed case, but should otherwise match: " + detail;
    out.push_back(invalid(child(path, field), goQuote(value), detail));
  };
  check(n.plural, "plural", false);
  check(n.singular, "singular", false);
  check(n.kind, "kind", true);
  check(n.listKind, "listKind", true);
  for (size_t i = 0; i < n.shortNames.size(); ++i) {
    auto errs = isDns1035Label(n.shortNames[i]);
    if (!errs.empty())
      out.push_back(invalid(index(child(path, "shortNames"), i), goQuote(n.shortNames[i]), joinStrings(errs, ",")));
  }
  if (!n.kind.empty() && n.kind == n.listKind) {
    out.push_back(invalid(child(path, "listKind"), goQuote(n.listKind), "kind and listKind may not be the same"));
  }
  for (size_t i = 0; i < n.categories.size(); ++i) {
    auto errs = isDns1035Label(n.categories[i]);
    if (!errs.empty())
      out.push_back(invalid(index(child(path, "categories"), i), goQuote(n.categories[i]), joinStrings(errs, ",")));
  }
}

std::vector<std::string> deprecationWarningErrors(bool deprecated, const std::optional<std::string>& w) {
  std::vector<std::string> errs;
  if (!deprecated && w) return {"can only be set for deprecated versions"};
  if (!w) return errs;
  if (w->size() > 256) errs.push_back("must be <= 256 characters long");
  if (w->empty()) errs.push_back("must not be an empty string");
  bool valid = true;
  for (size_t i = 0; i < w->size();) {
    size_t sz = 1;
    bool ok = true;
    char32_t r = decodeRune(*w, i, &sz, &ok);
    if (!ok) valid = false;
    if (ok && (r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0))) {
      errs.push_back("must only contain printable UTF-8 characters; control character found at index " +
                     std::to_string(i));
      break;
    }
    if (ok && !goIsPrint(r)) {
      errs.push_back("must only contain printable UTF-8 characters; non-printable character found at index " +
                     std::to_string(i));
      break;
    }
    i += sz;
  }
  if (!valid) errs.push_back("must only contain printable UTF-8 characters");
  return errs;
}

bool jsonEqualOrBothAbsent(const Value* a, const Value* b) {
  if (!a || !b) return a == b;
  return deepEqual(*a, *b);
}

// spec.versions as the internal type's JSON (Go field names), the BadValue of version errors.
std::string renderVersions(const CustomResourceDefinition& crd, const CustomResourceDefinition::Source& src,
                           bool schemasMoved, bool subresourcesMoved, bool columnsMoved) {
  if (!src.versionsPresent) return "null";
  std::string out = "[";
  for (size_t i = 0; i < crd.versions.size(); ++i) {
    const CrdVersion& v = crd.versions[i];
    static const CustomResourceDefinition::Source::Version kNoRaw;
    const auto& raw = i < src.versions.size() ? src.versions[i] : kNoRaw;
    if (i) out += ',';
    out += "{\"Name\":";
    goJsonString(out, v.name);
    out += std::string(",\"Served\":") + (v.served ? "true" : "false");
    out += std::string(",\"Storage\":") + (v.storage ? "true" : "false");
    out += std::string(",\"Deprecated\":") + (v.deprecated ? "true" : "false");
    out += ",\"DeprecationWarning\":";
    if (v.deprecationWarning) {
      goJsonString(out, *v.deprecationWarning);
    } else {
      out += "null";
    }
    out += ",\"Schema\":" + (!schemasMoved && raw.schema ? goJson(*raw.schema) : std::string("null"));
    out += ",\"Subresources\":" +
           (!subresourcesMoved && raw.subresources ? goJson(*raw.subresources) : std::string("null"));
    out += ",\"AdditionalPrinterColumns\":" +
           (!columnsMoved && raw.columnsRaw ? goJson(*raw.columnsRaw) : std::string("null"));
    out += ",\"SelectableFields\":" + (raw.selectableFields ? goJson(*raw.selectableFields) : std::string("null"));
    out += "}";
  }
  return out + "]";
}

bool isProtectedGroup(std::string_view g) {
  auto endsWith = [&](std::string_view suffix) {
    return g.size() >= suffix.size() && g.substr(g.size() - suffix.size()) == suffix;
  };
  return g == "k8s.io" || endsWith(".k8s.io") || g == "kubernetes.io" || endsWith(".kubernetes.io");
}

bool isApprovalUrl(std::string_view s) {  // url.ParseRequestURI with a scheme and a host
  size_t colon = s.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = s[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
              (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  std::string_view rest = s.substr(colon + 3);
  size_t hostEnd = rest.find_first_of("/?#");
  return hostEnd != 0 && !rest.empty() && s.find(' ') == std::string_view::npos;
}

}  // namespace

std::vector<Cause> validateCrd(const CustomResourceDefinition& crd) {
  static const CustomResourceDefinition::Source kNoSource;
  const auto& src = crd.source ? *crd.source : kNoSource;
  std::vector<Cause> out;

  // metadata (ValidateObjectMeta with the CRD's name rule)
  if (crd.name.empty()) {
    out.push_back(required("metadata.name", "name or generateName is required"));
  } else {
    for (const auto& e : isDns1123Subdomain(crd.name)) out.push_back(invalid("metadata.name", goQuote(crd.name), e));
    if (crd.name != crd.names.plural + "." + crd.group) {
      out.push_back(invalid("metadata.name", goQuote(crd.name), "must be spec.names.plural+\".\"+spec.group"));
    }
  }
  if (!src.namespace_.empty()) out.push_back(forbidden("metadata.namespace", "not allowed on this type"));

  // spec
  if (crd.group.empty()) {
    out.push_back(required("spec.group", ""));
  } else if (auto errs = isDns1123Subdomain(crd.group); !errs.empty()) {
    out.push_back(invalid("spec.group", goQuote(crd.group), joinStrings(errs, ",")));
  } else if (crd.group.find('.') == std::string::npos) {
    out.push_back(invalid("spec.group", goQuote(crd.group), "should be a domain with at least one dot"));
  }
  if (crd.scope.empty()) {
    out.push_back(required("spec.scope", ""));
  } else if (crd.scope != "Cluster" && crd.scope != "Namespaced") {
    out.push_back(notSupported("spec.scope", goQuote(crd.scope), {"Cluster", "Namespaced"}));
  }

  // The v1 → internal conversion moves parts identical across all versions to the top level.
  const size_t n = crd.versions.size();
  bool sameSchema = n > 0, sameSub = n > 0, sameColumns = n > 0;
  for (size_t i = 1; i < n && i < src.versions.size(); ++i) {
    sameSchema = sameSchema && jsonEqualOrBothAbsent(src.versions[i].schema, src.versions[0].schema);
    sameSub = sameSub && jsonEqualOrBothAbsent(src.versions[i].subresources, src.versions[0].subresources);
    sameColumns = sameColumns && src.versions[i].columns == src.versions[0].columns;
  }
  bool versionsRaw = src.versions.size() == n;
  if (!versionsRaw) sameSchema = sameSub = sameColumns = false;
  const CustomResourceDefinition::Source::Version* top =
      sameSchema || sameSub || sameColumns ? &src.versions[0] : nullptr;
  bool topHasSchema = sameSchema && top->openAPIV3Schema;
  bool anyPerVersionSub = false;
  if (!sameSub && versionsRaw) {
    for (const auto& v : src.versions) anyPerVersionSub = anyPerVersionSub || v.subresources;
  }
  auto statusFor = [&](size_t i) {
    if (!versionsRaw) return false;
    if (sameSub) return top->statusPresent;
    return anyPerVersionSub && src.versions[i].statusPresent;
  };
  bool anyStatus = false;
  for (size_t i = 0; i < n; ++i) anyStatus = anyStatus || statusFor(i);

  if (!topHasSchema) {
    for (size_t i = 0; i < n; ++i) {
      bool has = versionsRaw && !sameSchema && src.versions[i].openAPIV3Schema;
      if (!has) out.push_back(required(child(index("spec.versions", i), "schema.openAPIV3Schema"), ""));
    }
  }
  bool hasDefaults = false;
  for (const auto& v : crd.versions) {
    if (const Node* r = CrdVersionSchemaAccess::root(v.schema)) {
      hasDefaults = hasDefaults || schemaHas(*r, [](const Node& x) { return x.defaultValue != nullptr; });
    }
  }
  if (hasDefaults && crd.preserveUnknownFields) {
    out.push_back(
        invalid("spec.preserveUnknownFields", "true", "must be false in order to use defaults in the schema"));
  }

  int storage = 0;
  std::set<std::string> seen;
  bool unique = true;
  for (size_t i = 0; i < n; ++i) {
    const CrdVersion& v = crd.versions[i];
    std::string vp = index("spec.versions", i);
    if (v.storage) ++storage;
    if (!seen.insert(v.name).second) unique = false;
    if (auto errs = isDns1035Label(v.name); !errs.empty()) {
      out.push_back(invalid(child(vp, "name"), goQuote(v.name), joinStrings(errs, ",")));
    }
    for (const auto& e : deprecationWarningErrors(v.deprecated, v.deprecationWarning)) {
      std::string rendered;
      goJsonString(rendered, *v.deprecationWarning);
      out.push_back(invalid(child(vp, "deprecationWarning"), rendered, e));
    }
    if (!sameSchema && versionsRaw && src.versions[i].openAPIV3Schema) {
      if (const Node* r = CrdVersionSchemaAccess::root(v.schema))
        validateValidation(*r, statusFor(i), child(vp, "schema"), out);
    }
    if (!sameSub && versionsRaw) validateSubresources(src.versions[i].scale, child(vp, "subresources"), out);
    if (!sameColumns && versionsRaw) {
      const auto& cols = src.versions[i].columns;
      for (size_t j = 0; j < cols.size(); ++j) {
        validateColumn(cols[j], index(child(vp, "additionalPrinterColumns"), j), out);
      }
    }
  }
  if (!unique) {
    out.push_back(invalid("spec.versions", renderVersions(crd, src, sameSchema, sameSub, sameColumns),
                          "must contain unique version names"));
  }
  if (storage != 1) {
    out.push_back(invalid("spec.versions", renderVersions(crd, src, sameSchema, sameSub, sameColumns),
                          "must have exactly one version marked as storage version"));
  }
  if (crd.names.plural.empty()) out.push_back(required("spec.names.plural", ""));
  if (crd.names.singular.empty()) out.push_back(required("spec.names.singular", ""));
  if (crd.names.kind.empty()) out.push_back(required("spec.names.kind", ""));
  if (crd.names.listKind.empty()) out.push_back(required("spec.names.listKind", ""));
  validateNames(crd.names, "spec.names", out);
  if (topHasSchema) {
    if (const Node* r = CrdVersionSchemaAccess::root(crd.versions[0].schema))
      validateValidation(*r, anyStatus, "spec.validation", out);
  }
  if (sameSub && top) validateSubresources(top->scale, "spec.subresources", out);
  if (sameColumns && top) {
    for (size_t j = 0; j < top->columns.size(); ++j) {
      validateColumn(top->columns[j], index("spec.additionalPrinterColumns", j), out);
    }
  }

  // conversion (internal field names: webhookClientConfig, conversionReviewVersions)
  const std::string& strategy = crd.conversionStrategy;
  if (strategy != "None" && crd.preserveUnknownFields) {
    out.push_back(
        invalid("spec.conversion.strategy", goQuote(strategy), "must be None if spec.preserveUnknownFields is true"));
  }
  if (strategy.empty()) {
    out.push_back(required("spec.conversion.strategy", ""));
  } else if (strategy != "None" && strategy != "Webhook") {
    out.push_back(notSupported("spec.conversion.strategy", goQuote(strategy), {"None", "Webhook"}));
  }
  if (strategy == "Webhook") {
    if (!src.clientConfig) {
      out.push_back(required("spec.conversion.webhookClientConfig", "required when strategy is set to Webhook"));
    } else if (src.clientConfigUrl == src.clientConfigService) {
      out.push_back(required("spec.conversion.webhookClientConfig", "exactly one of url or service is required"));
    }
    if (src.reviewVersions.empty()) {
      out.push_back(required("spec.conversion.conversionReviewVersions", ""));
    } else {
      std::set<std::string> seenReview;
      bool accepted = false;
      for (size_t i = 0; i < src.reviewVersions.size(); ++i) {
        const std::string& v = src.reviewVersions[i];
        std::string p = index("spec.conversion.conversionReviewVersions", i);
        if (!seenReview.insert(v).second) {
          out.push_back(invalid(p, goQuote(v), "duplicate version"));
          continue;
        }
        for (const auto& e : isDns1035Label(v)) out.push_back(invalid(p, goQuote(v), e));
        accepted = accepted || v == "v1" || v == "v1beta1";
      }
      if (!accepted) {
        std::vector<std::string> quoted;
        std::string rendered = "[";
        for (size_t i = 0; i < src.reviewVersions.size(); ++i) {
          if (i) rendered += ',';
          goJsonString(rendered, src.reviewVersions[i]);
        }
        rendered += "]";
        out.push_back(
            invalid("spec.conversion.conversionReviewVersions", rendered, "must include at least one of v1, v1beta1"));
      }
    }
  } else if (strategy == "None") {
    if (src.clientConfig) {
      out.push_back(
          forbidden("spec.conversion.webhookClientConfig", "should not be set when strategy is not set to Webhook"));
    }
    if (src.reviewVersionsPresent && !src.reviewVersions.empty()) {
      out.push_back(forbidden("spec.conversion.conversionReviewVersions",
                              "should not be set when strategy is not set to Webhook"));
    }
  }

  // status: create resets it to storedVersions = [the first storage version]
  std::string stored;
  for (const auto& v : crd.versions) {
    if (v.storage) {
      stored = v.name;
      break;
    }
  }
  if (stored.empty()) {
    out.push_back(invalid("status.storedVersions", "null", "must have at least one stored version"));
  } else {
    std::string rendered = "[";
    goJsonString(rendered, stored);
    rendered += "]";
    for (const auto& v : crd.versions) {
      if (v.storage && v.name != stored) {
        out.push_back(invalid("status.storedVersions", rendered, "must have the storage version " + v.name));
      }
    }
  }

  // API approval of protected groups
  if (isProtectedGroup(crd.group)) {
    constexpr std::string_view kField = "metadata.annotations[api-approved.kubernetes.io]";
    std::string a = src.approval.value_or("");
    if (a.empty()) {
      out.push_back(required(std::string(kField),
                             "protected groups must have approval annotation \"api-approved.kubernetes.io\", see "
                             "https://github.com/kubernetes/enhancements/pull/1111"));
    } else if (a.rfind("unapproved", 0) != 0 && !isApprovalUrl(a)) {
      out.push_back(
          invalid(std::string(kField), goQuote(a),
                  "protected groups must have approval annotation \"api-approved.kubernetes.io\" with either a "
                  "URL or a reason starting with \"unapproved\", see "
                  "https://github.com/kubernetes/enhancements/pull/1111"));
    }
  }
  if (crd.preserveUnknownFields) {
    out.push_back(
        invalid("spec.preserveUnknownFields", "true",
                "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema "
                "instead"));
  }
  return out;
}

StatusOr<CustomResourceDefinition> admitCrd(const json::Value& crd) {
  KUBEOP_ASSIGN_OR_RETURN(CustomResourceDefinition parsed, parseCrd(crd));
  auto causes = validateCrd(parsed);
  if (!causes.empty()) return invalidStatus("apiextensions.k8s.io", "CustomResourceDefinition", parsed.name, causes);
  return parsed;
}

json::Document crdStatus(const CustomResourceDefinition& crd, const AcceptedNamesInGroup& taken, std::string_view now) {
  json::Document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  const CrdNames& req = crd.names;
  CrdNames accepted;
  std::string reason, message;
  auto check = [&](const std::string& name, const std::set<std::string>& used, const char* conflict) {
    if (name.empty() || !used.count(name)) return true;
    reason = conflict;
    message = goQuote(name) + " is already in use";
    return false;
  };
  if (check(req.plural, taken.resources, "PluralConflict")) accepted.plural = req.plural;
  if (check(req.singular, taken.resources, "SingularConflict")) accepted.singular = req.singular;
  {
    std::vector<std::string> errs;
    for (const auto& s : req.shortNames) {
      if (taken.resources.count(s)) errs.push_back(goQuote(s) + " is already in use");
    }
    if (errs.empty()) {
      accepted.shortNames = req.shortNames;
    } else {
      reason = "ShortNamesConflict";
      message = errs.size() == 1 ? errs[0] : "[" + joinStrings(errs, ", ") + "]";
    }
  }
  if (check(req.kind, taken.kinds, "KindConflict")) accepted.kind = req.kind;
  if (check(req.listKind, taken.kinds, "ListKindConflict")) accepted.listKind = req.listKind;
  accepted.categories = req.categories;
  bool namesOk = reason.empty();

  auto condition = [&](const char* type, bool ok, std::string_view r, std::string_view m) {
    Value c(rapidjson::kObjectType);
    json::setString(c, "type", type, a);
    json::setString(c, "status", ok ? "True" : "False", a);
    json::setString(c, "lastTransitionTime", now, a);
    json::setString(c, "reason", r, a);
    json::setString(c, "message", m, a);
    return c;
  };
  Value conditions(rapidjson::kArrayType);
  Value namesAccepted = namesOk ? condition("NamesAccepted", true, "NoConflicts", "no conflicts found")
                                : condition("NamesAccepted", false, reason, message);
  Value established =
      namesOk ? condition("Established", true, "InitialNamesAccepted", "the initial names have been accepted")
              : condition("Established", false, "NotAccepted", "not all names are accepted");
  conditions.PushBack(namesAccepted, a);
  conditions.PushBack(established, a);
  json::setMember(d, "conditions", conditions, a);

  Value names(rapidjson::kObjectType);
  json::setString(names, "plural", accepted.plural, a);
  if (!accepted.singular.empty()) json::setString(names, "singular", accepted.singular, a);
  auto list = [&](const char* k, const std::vector<std::string>& v) {
    if (v.empty()) return;
    Value arr(rapidjson::kArrayType);
    for (const auto& s : v) arr.PushBack(json::str(s, a), a);
    json::setMember(names, k, arr, a);
  };
  list("shortNames", accepted.shortNames);
  json::setString(names, "kind", accepted.kind, a);
  if (!accepted.listKind.empty()) json::setString(names, "listKind", accepted.listKind, a);
  list("categories", accepted.categories);
  json::setMember(d, "acceptedNames", names, a);

  Value stored(rapidjson::kArrayType);
  for (const auto& v : crd.versions) {
    if (v.storage) {
      stored.PushBack(json::str(v.name, a), a);
      break;
    }
  }
  json::setMember(d, "storedVersions", stored, a);
  return d;
}

}  // namespace kubeop::sandbox
