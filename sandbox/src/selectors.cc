#include "kubeop/sandbox/selectors.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <set>

#include "kubeop/sandbox/resources.h"

namespace kubeop::sandbox {

// ---------------------------------------------------------------------------------------------
// Validation helpers (k8s.io/apimachinery/pkg/api/validate/content wording).
namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool matchesDns1123Label(std::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

bool matchesDns1123Subdomain(std::string_view s) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!matchesDns1123Label(part)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool matchesQualifiedNamePart(std::string_view s) {
  if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string maxLenError(size_t n) { return "must be no more than " + std::to_string(n) + " bytes"; }

constexpr const char* kLabelKeyMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
constexpr const char* kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
constexpr const char* kLabelValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
    "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

std::vector<std::string> dns1123SubdomainErrors(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > 253) errs.push_back(maxLenError(253));
  if (!matchesDns1123Subdomain(v)) errs.emplace_back(kSubdomainMsg);
  return errs;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// encoding/json rendering of a []string bad value (nil → null).
std::string jsonStrings(const std::vector<std::string>* v) {
  if (!v) return "null";
  std::string out = "[";
  for (size_t i = 0; i < v->size(); ++i) {
    if (i) out += ',';
    out += goQuote((*v)[i]);  // close enough to JSON for label-ish strings
  }
  out += ']';
  return out;
}

// field.Error.Error() for an Invalid value.
std::string invalidField(std::string_view field, std::string_view renderedValue, std::string_view detail) {
  std::string s(field);
  s += ": Invalid value: ";
  s += renderedValue;
  if (!detail.empty()) {
    s += ": ";
    s += detail;
  }
  return s;
}

// utilerrors.NewAggregate(...).Error(): one message as is, several deduplicated in brackets.
std::string aggregate(const std::vector<std::string>& errs) {
  std::vector<std::string> seen;
  for (const auto& e : errs) {
    if (std::find(seen.begin(), seen.end(), e) == seen.end()) seen.push_back(e);
  }
  if (seen.size() == 1) return seen[0];
  return "[" + join(seen, ", ") + "]";
}

bool parseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  size_t i = 0;
  if (s[0] == '+') i = 1;  // strconv.ParseInt accepts a leading sign
  auto r = std::from_chars(s.data() + i, s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !(i == 1 && s.size() > 1 && s[1] == '-');
}

}  // namespace

std::vector<std::string> validateLabelKey(std::string_view value) {
  std::vector<std::string> errs;
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t slash = value.find('/', start);
    parts.push_back(value.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string_view name;
  if (parts.size() == 1) {
    name = parts[0];
  } else if (parts.size() == 2) {
    std::string_view prefix = parts[0];
    name = parts[1];
    if (prefix.empty()) {
      errs.emplace_back("prefix part must be non-empty");
    } else {
      for (const auto& m : dns1123SubdomainErrors(prefix)) errs.push_back("prefix part " + m);
    }
  } else {
    errs.push_back(std::string("a valid label key ") + kLabelKeyMsg +
                   " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    return errs;
  }
  if (name.empty()) {
    errs.emplace_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.push_back("name part " + maxLenError(63));
  }
  if (!matchesQualifiedNamePart(name)) errs.push_back(std::string("name part ") + kLabelKeyMsg);
  return errs;
}

std::vector<std::string> validateLabelValue(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > 63) errs.push_back(maxLenError(63));
  if (!value.empty() && !matchesQualifiedNamePart(value)) errs.emplace_back(kLabelValueMsg);
  return errs;
}

std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------------------------------------
// Label selectors.

std::optional<std::string_view> MapLabels::get(std::string_view key) const {
  auto it = m_.find(std::string(key));
  if (it == m_.end()) return std::nullopt;
  return std::string_view(it->second);
}

namespace {

const char* operatorString(SelectorOperator op) {
  switch (op) {
    case SelectorOperator::kIn: return "in";
    case SelectorOperator::kNotIn: return "notin";
    case SelectorOperator::kEquals: return "=";
    case SelectorOperator::kDoubleEquals: return "==";
    case SelectorOperator::kNotEquals: return "!=";
    case SelectorOperator::kExists: return "exists";
    case SelectorOperator::kDoesNotExist: return "!";
    case SelectorOperator::kGreaterThan: return "gt";
    case SelectorOperator::kLessThan: return "lt";
  }
  return "";
}

// labels.NewRequirement: validates key, operator/value arity and values. `values` null stands
// for a nil slice (rendered "null" in errors). Returns the aggregated error text, or "".
std::string newRequirement(const std::string& key, SelectorOperator op, const std::vector<std::string>* values,
                           LabelRequirement* out) {
  std::vector<std::string> errs;
  static const std::vector<std::string> kNone;
  const std::vector<std::string>& vals = values ? *values : kNone;
  if (auto ke = validateLabelKey(key); !ke.empty()) errs.push_back(invalidField("key", goQuote(key), join(ke, "; ")));
  switch (op) {
    case SelectorOperator::kIn:
    case SelectorOperator::kNotIn:
      if (vals.empty()) {
        errs.push_back(invalidField("values", jsonStrings(values), "for 'in', 'notin' operators, values set can't be empty"));
      }
      break;
    case SelectorOperator::kEquals:
    case SelectorOperator::kDoubleEquals:
    case SelectorOperator::kNotEquals:
      if (vals.size() != 1) {
        errs.push_back(invalidField("values", jsonStrings(values), "exact-match compatibility requires one single value"));
      }
      break;
    case SelectorOperator::kExists:
    case SelectorOperator::kDoesNotExist:
      if (!vals.empty()) {
        errs.push_back(
            invalidField("values", jsonStrings(values), "values set must be empty for exists and does not exist"));
      }
      break;
    case SelectorOperator::kGreaterThan:
    case SelectorOperator::kLessThan:
      if (vals.size() != 1) {
        errs.push_back(
            invalidField("values", jsonStrings(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      for (size_t i = 0; i < vals.size(); ++i) {
        int64_t n = 0;
        if (!parseInt64(vals[i], &n)) {
          errs.push_back(invalidField("values[" + std::to_string(i) + "]", goQuote(vals[i]),
                                      "for 'Gt', 'Lt' operators, the value must be an integer"));
        }
      }
      break;
  }
  for (size_t i = 0; i < vals.size(); ++i) {
    if (auto ve = validateLabelValue(vals[i]); !ve.empty()) {
      errs.push_back(invalidField("values[" + std::to_string(i) + "][" + key + "]", goQuote(vals[i]), join(ve, "; ")));
    }
  }
  out->key = key;
  out->op = op;
  out->values = vals;
  return errs.empty() ? std::string() : aggregate(errs);
}

// --- The labels.Parse lexer and parser.

enum class Tok {
  kError,
  kEnd,
  kClosePar,
  kComma,
  kNot,
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

struct Item {
  Tok tok;
  std::string lit;
};

std::optional<Tok> tokenFor(std::string_view s) {
  if (s == ")") return Tok::kClosePar;
  if (s == ",") return Tok::kComma;
  if (s == "!") return Tok::kNot;
  if (s == "==") return Tok::kDoubleEquals;
  if (s == "=") return Tok::kEquals;
  if (s == ">") return Tok::kGreaterThan;
  if (s == "in") return Tok::kIn;
  if (s == "<") return Tok::kLessThan;
  if (s == "!=") return Tok::kNotEquals;
  if (s == "notin") return Tok::kNotIn;
  if (s == "(") return Tok::kOpenPar;
  return std::nullopt;
}

bool isWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isSpecial(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Item lex() {
    char ch = skipWhitespace(read());
    if (ch == 0) return {Tok::kEnd, ""};
    unread();
    return isSpecial(ch) ? scanSpecial() : scanIdOrKeyword();
  }

 private:
  // Like the Go lexer, 0 marks the end of input and is not consumed.
  char read() {
    if (pos_ < s_.size()) return s_[pos_++];
    return 0;
  }
  void unread() { --pos_; }
  char skipWhitespace(char ch) {
    while (isWhitespace(ch)) ch = read();
    return ch;
  }
  Item scanIdOrKeyword() {
    std::string buf;
    while (true) {
      char ch = read();
      if (ch == 0) break;
      if (isSpecial(ch) || isWhitespace(ch)) {
        unread();
        break;
      }
      buf += ch;
    }
    if (auto t = tokenFor(buf)) return {*t, buf};
    return {Tok::kIdentifier, buf};
  }
  Item scanSpecial() {
    Item last{Tok::kError, ""};
    std::string buf;
    while (true) {
      char ch = read();
      if (ch == 0) break;
      if (!isSpecial(ch)) {
        unread();
        break;
      }
      buf += ch;
      if (auto t = tokenFor(buf)) {
        last = {*t, buf};
      } else if (last.tok != Tok::kError) {
        unread();
        break;
      }
    }
    if (last.tok == Tok::kError) return {Tok::kError, "error expected: keyword found '" + buf + "'"};
    return last;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view s) {
    Lexer l(s);
    while (true) {
      items_.push_back(l.lex());
      if (items_.back().tok == Tok::kEnd) break;
    }
  }

  // Returns an error message, or "" with `out` filled.
  std::string parse(std::vector<LabelRequirement>* out) {
    while (true) {
      Item la = lookahead(true);
      switch (la.tok) {
        case Tok::kIdentifier:
        case Tok::kNot: {
          LabelRequirement r;
          std::string err = parseRequirement(&r);
          if (!err.empty()) return "unable to parse requirement: " + err;
          out->push_back(std::move(r));
          Item t = consume(true);
          if (t.tok == Tok::kEnd) return "";
          if (t.tok == Tok::kComma) {
            Item t2 = lookahead(true);
            if (t2.tok != Tok::kIdentifier && t2.tok != Tok::kNot) {
              return "found '" + t2.lit + "', expected: identifier after ','";
            }
            break;
          }
          return "found '" + t.lit + "', expected: ',' or 'end of string'";
        }
        case Tok::kEnd:
          return "";
        default:
          return "found '" + la.lit + "', expected: !, identifier, or 'end of string'";
      }
    }
  }

 private:
  // In a values context the keywords "in"/"notin" are identifiers ("x in (in)").
  Item adjust(Item it, bool values) const {
    if (values && (it.tok == Tok::kIn || it.tok == Tok::kNotIn)) it.tok = Tok::kIdentifier;
    return it;
  }
  Item lookahead(bool values) const { return adjust(items_[std::min(pos_, items_.size() - 1)], values); }
  Item consume(bool values) {
    Item it = items_[std::min(pos_, items_.size() - 1)];
    if (pos_ < items_.size()) ++pos_;
    return adjust(std::move(it), values);
  }

  std::string parseRequirement(LabelRequirement* r) {
    std::string key;
    std::optional<SelectorOperator> op;
    if (std::string err = parseKeyAndInferOperator(&key, &op); !err.empty()) return err;
    if (op) {
      static const std::vector<std::string> kEmpty;
      return newRequirement(key, *op, &kEmpty, r);
    }
    SelectorOperator binary{};
    if (std::string err = parseOperator(&binary); !err.empty()) return err;
    std::set<std::string> values;
    std::string err = (binary == SelectorOperator::kIn || binary == SelectorOperator::kNotIn) ? parseValues(&values)
                                                                                            : parseExactValue(&values);
    if (!err.empty()) return err;
    std::vector<std::string> list(values.begin(), values.end());
    return newRequirement(key, binary, &list, r);
  }

  std::string parseKeyAndInferOperator(std::string* key, std::optional<SelectorOperator>* op) {
    Item t = consume(true);
    if (t.tok == Tok::kNot) {
      *op = SelectorOperator::kDoesNotExist;
      t = consume(true);
    }
    if (t.tok != Tok::kIdentifier) return "found '" + t.lit + "', expected: identifier";
    if (auto errs = validateLabelKey(t.lit); !errs.empty()) {
      // p.path is nil in labels.Parse, which field.Path renders as "<nil>".
      return invalidField("<nil>", goQuote(t.lit), join(errs, "; "));
    }
    Tok next = lookahead(true).tok;
    if ((next == Tok::kEnd || next == Tok::kComma) && !*op) *op = SelectorOperator::kExists;
    *key = t.lit;
    return "";
  }

  std::string parseOperator(SelectorOperator* op) {
    Item t = consume(false);
    switch (t.tok) {
      case Tok::kIn: *op = SelectorOperator::kIn; return "";
      case Tok::kEquals: *op = SelectorOperator::kEquals; return "";
      case Tok::kDoubleEquals: *op = SelectorOperator::kDoubleEquals; return "";
      case Tok::kGreaterThan: *op = SelectorOperator::kGreaterThan; return "";
      case Tok::kLessThan: *op = SelectorOperator::kLessThan; return "";
      case Tok::kNotIn: *op = SelectorOperator::kNotIn; return "";
      case Tok::kNotEquals: *op = SelectorOperator::kNotEquals; return "";
      default: return "found '" + t.lit + "', expected: in, notin, =, ==, !=, gt, lt";
    }
  }

  std::string parseValues(std::set<std::string>* out) {
    Item t = consume(true);
    if (t.tok != Tok::kOpenPar) return "found '" + t.lit + "' expected: '('";
    Item la = lookahead(true);
    switch (la.tok) {
      case Tok::kIdentifier:
      case Tok::kComma: {
        if (std::string err = parseIdentifiersList(out); !err.empty()) return err;
        if (consume(true).tok != Tok::kClosePar) return "found '" + la.lit + "', expected: ')'";
        return "";
      }
      case Tok::kClosePar:
        consume(true);
        out->insert("");
        return "";
      default:
        return "found '" + la.lit + "', expected: ',', ')' or identifier";
    }
  }

  std::string parseIdentifiersList(std::set<std::string>* out) {
    while (true) {
      Item t = consume(true);
      switch (t.tok) {
        case Tok::kIdentifier: {
          out->insert(t.lit);
          Item t2 = lookahead(true);
          if (t2.tok == Tok::kComma) continue;
          if (t2.tok == Tok::kClosePar) return "";
          return "found '" + t2.lit + "', expected: ',' or ')'";
        }
        case Tok::kComma: {
          if (out->empty()) out->insert("");  // "(,"
          Item t2 = lookahead(true);
          if (t2.tok == Tok::kClosePar) {
            out->insert("");  // ",)"
            return "";
          }
          if (t2.tok == Tok::kComma) {
            consume(true);
            out->insert("");  // ",,"
          }
          break;
        }
        default:
          return "found '" + t.lit + "', expected: ',', or identifier";
      }
    }
  }

  std::string parseExactValue(std::set<std::string>* out) {
    Tok la = lookahead(true).tok;
    if (la == Tok::kEnd || la == Tok::kComma) {
      out->insert("");
      return "";
    }
    Item t = consume(true);
    if (t.tok == Tok::kIdentifier) {
      out->insert(t.lit);
      return "";
    }
    return "found '" + t.lit + "', expected: identifier";
  }

  std::vector<Item> items_;
  size_t pos_ = 0;
};

void sortByKey(std::vector<LabelRequirement>* reqs) {
  std::stable_sort(reqs->begin(), reqs->end(),
                   [](const LabelRequirement& a, const LabelRequirement& b) { return a.key < b.key; });
}

}  // namespace

bool LabelRequirement::matches(const LabelSource& labels) const {
  auto v = labels.get(key);
  auto has = [&](std::string_view x) { return std::find(values.begin(), values.end(), x) != values.end(); };
  switch (op) {
    case SelectorOperator::kIn:
    case SelectorOperator::kEquals:
    case SelectorOperator::kDoubleEquals:
      return v && has(*v);
    case SelectorOperator::kNotIn:
    case SelectorOperator::kNotEquals:
      return !v || !has(*v);
    case SelectorOperator::kExists:
      return v.has_value();
    case SelectorOperator::kDoesNotExist:
      return !v.has_value();
    case SelectorOperator::kGreaterThan:
    case SelectorOperator::kLessThan: {
      if (!v || values.size() != 1) return false;
      int64_t have = 0, want = 0;
      if (!parseInt64(*v, &have) || !parseInt64(values[0], &want)) return false;
      return op == SelectorOperator::kGreaterThan ? have > want : have < want;
    }
  }
  return false;
}

std::string LabelRequirement::toString() const {
  std::string s;
  if (op == SelectorOperator::kDoesNotExist) s += '!';
  s += key;
  switch (op) {
    case SelectorOperator::kExists:
    case SelectorOperator::kDoesNotExist:
      return s;
    case SelectorOperator::kIn: s += " in "; break;
    case SelectorOperator::kNotIn: s += " notin "; break;
    case SelectorOperator::kGreaterThan: s += ">"; break;
    case SelectorOperator::kLessThan: s += "<"; break;
    default: s += operatorString(op); break;
  }
  bool set = op == SelectorOperator::kIn || op == SelectorOperator::kNotIn;
  if (set) s += '(';
  std::vector<std::string> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  s += join(sorted, ",");
  if (set) s += ')';
  return s;
}

LabelSelector LabelSelector::nothing() {
  LabelSelector s;
  s.nothing_ = true;
  return s;
}

StatusOr<LabelSelector> LabelSelector::parse(std::string_view text) {
  LabelSelector s;
  Parser p(text);
  if (std::string err = p.parse(&s.reqs_); !err.empty()) return invalidArgument(err);
  sortByKey(&s.reqs_);
  return s;
}

StatusOr<LabelSelector> LabelSelector::fromJson(const json::Value* v) {
  if (!v || v->IsNull()) return nothing();
  if (!v->IsObject()) return invalidArgument(std::string("label selector must be an object, got ") + json::typeName(*v));
  LabelSelector s;
  if (const json::Value* ml = json::find(*v, "matchLabels"); ml && !ml->IsNull()) {
    if (!ml->IsObject()) return invalidArgument("matchLabels must be an object");
    std::map<std::string, std::string> sorted;
    for (auto it = ml->MemberBegin(); it != ml->MemberEnd(); ++it) {
      if (!it->value.IsString()) return invalidArgument("matchLabels values must be strings");
      sorted[std::string(json::view(it->name))] = std::string(json::view(it->value));
    }
    for (const auto& [k, val] : sorted) {
      LabelRequirement r;
      std::vector<std::string> vals{val};
      if (std::string err = newRequirement(k, SelectorOperator::kEquals, &vals, &r); !err.empty()) {
        return invalidArgument(err);
      }
      s.reqs_.push_back(std::move(r));
    }
  }
  if (const json::Value* me = json::find(*v, "matchExpressions"); me && !me->IsNull()) {
    if (!me->IsArray()) return invalidArgument("matchExpressions must be an array");
    for (const auto& e : me->GetArray()) {
      if (!e.IsObject()) return invalidArgument("matchExpressions entries must be objects");
      std::string_view opName = json::getString(e, "operator");
      SelectorOperator op;
      if (opName == "In") {
        op = SelectorOperator::kIn;
      } else if (opName == "NotIn") {
        op = SelectorOperator::kNotIn;
      } else if (opName == "Exists") {
        op = SelectorOperator::kExists;
      } else if (opName == "DoesNotExist") {
        op = SelectorOperator::kDoesNotExist;
      } else {
        return invalidArgument(goQuote(opName) + " is not a valid label selector operator");
      }
      std::vector<std::string> vals;
      const json::Value* jv = json::find(e, "values");
      bool nil = !jv || jv->IsNull() || (jv->IsArray() && jv->Empty());
      if (jv && jv->IsArray()) {
        for (const auto& x : jv->GetArray()) {
          if (!x.IsString()) return invalidArgument("matchExpressions values must be strings");
          vals.emplace_back(json::view(x));
        }
      }
      LabelRequirement r;
      if (std::string err = newRequirement(std::string(json::getString(e, "key")), op, nil ? nullptr : &vals, &r);
          !err.empty()) {
        return invalidArgument(err);
      }
      s.reqs_.push_back(std::move(r));
    }
  }
  sortByKey(&s.reqs_);
  return s;
}

LabelSelector LabelSelector::fromSet(const std::map<std::string, std::string>& set) {
  LabelSelector s;
  for (const auto& [k, v] : set) s.reqs_.push_back(LabelRequirement{k, SelectorOperator::kEquals, {v}});
  return s;
}

bool LabelSelector::matches(const LabelSource& labels) const {
  if (nothing_) return false;
  return std::all_of(reqs_.begin(), reqs_.end(), [&](const LabelRequirement& r) { return r.matches(labels); });
}

std::string LabelSelector::toString() const {
  std::vector<std::string> parts;
  for (const auto& r : reqs_) parts.push_back(r.toString());
  return join(parts, ",");
}

// ---------------------------------------------------------------------------------------------
// Field selectors.

namespace {

// Splits on commas not escaped by a backslash; the backslashes stay in the terms.
std::vector<std::string> splitTerms(std::string_view s) {
  std::vector<std::string> terms;
  if (s.empty()) return terms;
  size_t start = 0;
  bool inSlash = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (inSlash) {
      inSlash = false;
    } else if (c == '\\') {
      inSlash = true;
    } else if (c == ',') {
      terms.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.emplace_back(s.substr(start));
  return terms;
}

// The first of "!=", "==", "=" found scanning left to right splits the term.
bool splitTerm(std::string_view term, std::string* lhs, std::string* op, std::string* rhs) {
  static constexpr std::string_view kOps[] = {"!=", "==", "="};
  for (size_t i = 0; i < term.size(); ++i) {
    for (std::string_view o : kOps) {
      if (term.substr(i, o.size()) == o) {
        *lhs = std::string(term.substr(0, i));
        *op = std::string(o);
        *rhs = std::string(term.substr(i + o.size()));
        return true;
      }
    }
  }
  return false;
}

std::string unescapeValue(std::string_view s, std::string* err) {
  if (s.find_first_of("\\,=") == std::string_view::npos) return std::string(s);
  std::string v;
  bool inSlash = false;
  for (char c : s) {
    if (inSlash) {
      if (c == '\\' || c == ',' || c == '=') {
        v += c;
      } else {
        *err = std::string("invalid field selector: invalid escape sequence: \\") + c;
        return "";
      }
      inSlash = false;
      continue;
    }
    if (c == '\\') {
      inSlash = true;
    } else if (c == ',' || c == '=') {
      // fields.UnescapedRune prints the rune with %v: its code point.
      *err = "invalid field selector: unescaped character in value: " + std::to_string(static_cast<int>(c));
      return "";
    } else {
      v += c;
    }
  }
  if (inSlash) {
    *err = "invalid field selector: invalid escape sequence: \\";
    return "";
  }
  return v;
}

std::string escapeValue(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == ',' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

StatusOr<FieldSelector> FieldSelector::parse(std::string_view text) {
  std::vector<std::string> parts = splitTerms(text);
  std::sort(parts.begin(), parts.end());
  FieldSelector fs;
  for (const auto& part : parts) {
    if (part.empty()) continue;
    std::string lhs, op, rhs;
    if (!splitTerm(part, &lhs, &op, &rhs)) {
      return invalidArgument("invalid selector: '" + std::string(text) + "'; can't understand '" + part + "'");
    }
    std::string err;
    std::string value = unescapeValue(rhs, &err);
    if (!err.empty()) return invalidArgument(err);
    fs.reqs_.push_back(FieldRequirement{lhs, op == "!=", value});
  }
  return fs;
}

FieldSelector FieldSelector::oneTerm(std::string field, std::string value) {
  FieldSelector fs;
  fs.reqs_.push_back(FieldRequirement{std::move(field), false, std::move(value)});
  return fs;
}

Status FieldSelector::validateFor(const ResourceType& type) {
  for (auto& r : reqs_) {
    // Old v1 clients send spec.host for pods.
    if (r.field == "spec.host" && type.group.empty() && type.kind == "Pod") r.field = "spec.nodeName";
    if (!type.supportsFieldLabel(r.field)) return invalidArgument("field label not supported: " + r.field);
  }
  return Status::ok();
}

bool FieldSelector::matches(const FieldValueFn& value) const {
  for (const auto& r : reqs_) {
    bool eq = value(r.field) == r.value;
    if (eq == r.notEquals) return false;
  }
  return true;
}

std::optional<std::string> FieldSelector::requiresExactMatch(std::string_view field) const {
  for (const auto& r : reqs_) {
    if (r.field == field && !r.notEquals) return r.value;
  }
  return std::nullopt;
}

bool FieldSelector::needsObjectFields() const {
  return std::any_of(reqs_.begin(), reqs_.end(), [](const FieldRequirement& r) {
    return r.field != "metadata.name" && r.field != "metadata.namespace";
  });
}

std::string FieldSelector::toString() const {
  std::vector<std::string> parts;
  for (const auto& r : reqs_) parts.push_back(r.field + (r.notEquals ? "!=" : "=") + escapeValue(r.value));
  return join(parts, ",");
}

std::string fieldLabelValue(const ResourceType& type, const json::Value& obj, std::string_view label) {
  if (label == "metadata.name" || label == "metadata.namespace") {
    const json::Value* v = json::findPath(obj, {"metadata", label == "metadata.name" ? "name" : "namespace"});
    return v ? std::string(json::view(*v)) : std::string();
  }
  for (const auto& f : type.selectableFields) {
    if (f.label != label) continue;
    const json::Value* cur = &obj;
    std::string_view path = f.path;
    while (cur && !path.empty()) {
      size_t dot = path.find('.');
      cur = json::find(*cur, path.substr(0, dot));
      path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    }
    if (!cur || cur->IsNull()) return f.defaultValue;
    if (cur->IsString()) return std::string(json::view(*cur));
    if (cur->IsBool()) return cur->GetBool() ? "true" : "false";
    if (cur->IsInt64()) return std::to_string(cur->GetInt64());
    if (cur->IsUint64()) return std::to_string(cur->GetUint64());
    if (cur->IsArray()) {
      std::vector<std::string> parts;
      for (const auto& e : cur->GetArray()) {
        if (e.IsString()) parts.emplace_back(json::view(e));
        if (e.IsObject()) parts.emplace_back(json::getString(e, "ip"));
      }
      return join(parts, ",");
    }
    return json::write(*cur);
  }
  return "";
}

}  // namespace kubeop::sandbox
