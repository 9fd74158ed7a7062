#include "kubeop/kube/managed_fields.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <tuple>

namespace kubeop::kube {

namespace {

using json::Allocator;
using json::Document;
using json::Value;

// ---------------------------------------------------------------------------------------------
// Path elements: one step of a field path, ordered and printed as structured-merge-diff does.

// A JSON value inside a path element (an associative-list key value or a set item).
struct Atom {
  // Declaration order is the order of upstream value.Compare across types.
  enum class Kind { kNumber, kString, kBool, kList, kMap, kNull };
  Kind kind = Kind::kNull;
  bool isInt = false;
  int64_t i = 0;
  double d = 0;
  bool b = false;
  std::string s;     // a string's content
  std::string json;  // the value as compact JSON
};

Atom atomOf(const Value& v) {
  Atom a;
  a.json = json::write(v);
  switch (v.GetType()) {
    case rapidjson::kNullType: a.kind = Atom::Kind::kNull; break;
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      a.kind = Atom::Kind::kBool;
      a.b = v.GetBool();
      break;
    case rapidjson::kNumberType:
      a.kind = Atom::Kind::kNumber;
      if (v.IsInt64()) {
        a.isInt = true;
        a.i = v.GetInt64();
        a.d = static_cast<double>(a.i);
      } else {
        a.d = v.GetDouble();
      }
      break;
    case rapidjson::kStringType:
      a.kind = Atom::Kind::kString;
      a.s.assign(v.GetString(), v.GetStringLength());
      break;
    case rapidjson::kArrayType: a.kind = Atom::Kind::kList; break;
    case rapidjson::kObjectType: a.kind = Atom::Kind::kMap; break;
  }
  return a;
}

Atom stringAtom(std::string_view s) {
  Value v(rapidjson::StringRef(s.data(), static_cast<rapidjson::SizeType>(s.size())));
  return atomOf(v);
}

template <typename T>
int threeWay(const T& x, const T& y) {
  return x < y ? -1 : (y < x ? 1 : 0);
}

int compareAtoms(const Atom& x, const Atom& y) {
  if (x.kind != y.kind) return threeWay(x.kind, y.kind);
  switch (x.kind) {
    case Atom::Kind::kNumber: return x.isInt && y.isInt ? threeWay(x.i, y.i) : threeWay(x.d, y.d);
    case Atom::Kind::kString: return threeWay(x.s, y.s);
    case Atom::Kind::kBool: return threeWay(x.b, y.b);
    case Atom::Kind::kList:
    case Atom::Kind::kMap: return threeWay(x.json, y.json);
    case Atom::Kind::kNull: return 0;
  }
  return 0;
}

// value.ToString: numbers and booleans bare, strings quoted.
std::string printAtom(const Atom& a) { return a.kind == Atom::Kind::kNumber && a.isInt ? std::to_string(a.i) : a.json; }

std::string quote(std::string_view s) { return stringAtom(s).json; }

struct PathElement {
  // Declaration order is upstream's order across kinds: fields, keys, values, indexes.
  enum class Kind { kField, kKey, kValue, kIndex };
  Kind kind = Kind::kField;
  std::string name;                                // kField
  std::vector<std::pair<std::string, Atom>> key;   // kKey, sorted by field name
  Atom value;                                      // kValue
  int64_t index = 0;                               // kIndex

  static PathElement field(std::string_view n) {
    PathElement pe;
    pe.name = std::string(n);
    return pe;
  }
};

int compare(const PathElement& x, const PathElement& y) {
  if (x.kind != y.kind) return threeWay(x.kind, y.kind);
  switch (x.kind) {
    case PathElement::Kind::kField: return threeWay(x.name, y.name);
    case PathElement::Kind::kKey:
      for (size_t k = 0;; ++k) {
        if (k >= x.key.size() && k >= y.key.size()) return 0;
        if (k >= x.key.size()) return -1;
        if (k >= y.key.size()) return 1;
        if (int c = threeWay(x.key[k].first, y.key[k].first)) return c;
        if (int c = compareAtoms(x.key[k].second, y.key[k].second)) return c;
      }
    case PathElement::Kind::kValue: return compareAtoms(x.value, y.value);
    case PathElement::Kind::kIndex: return threeWay(x.index, y.index);
  }
  return 0;
}

bool operator<(const PathElement& x, const PathElement& y) { return compare(x, y) < 0; }

// The FieldsV1 key: "f:name", "k:{\"name\":\"web\"}", "v:\"finalizer\"", "i:0".
std::string serialize(const PathElement& pe) {
  switch (pe.kind) {
    case PathElement::Kind::kField: return "f:" + pe.name;
    case PathElement::Kind::kKey: {
      std::string s = "k:{";
      for (size_t k = 0; k < pe.key.size(); ++k) {
        if (k) s += ',';
        s += quote(pe.key[k].first) + ":" + pe.key[k].second.json;
      }
      return s + "}";
    }
    case PathElement::Kind::kValue: return "v:" + pe.value.json;
    case PathElement::Kind::kIndex: return "i:" + std::to_string(pe.index);
  }
  return "";
}

// The path element as fieldpath.PathElement.String prints it in conflict messages.
std::string print(const PathElement& pe) {
  switch (pe.kind) {
    case PathElement::Kind::kField: return "." + pe.name;
    case PathElement::Kind::kKey: {
      std::string s = "[";
      for (size_t k = 0; k < pe.key.size(); ++k) {
        if (k) s += ',';
        s += pe.key[k].first + "=" + printAtom(pe.key[k].second);
      }
      return s + "]";
    }
    case PathElement::Kind::kValue: return "[=" + printAtom(pe.value) + "]";
    case PathElement::Kind::kIndex: return "[" + std::to_string(pe.index) + "]";
  }
  return "";
}

using Path = std::vector<PathElement>;

std::string print(const Path& path) {
  std::string s;
  for (const auto& pe : path) s += print(pe);
  return s;
}

void sortKey(PathElement& pe) {
  std::stable_sort(pe.key.begin(), pe.key.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
}

// Parses a FieldsV1 key. `unknown` is set (without error) for prefixes other than f/k/v/i, which
// upstream skips for forward compatibility.
Status parsePathElement(std::string_view s, PathElement& pe, bool& unknown) {
  unknown = false;
  if (s.size() < 2) return invalidArgument("key must be 2 characters long: \"" + std::string(s) + "\"");
  if (s[1] != ':') return invalidArgument("missing colon: \"" + std::string(s) + "\"");
  std::string_view rest = s.substr(2);
  pe = PathElement();
  switch (s[0]) {
    case 'f':
      pe.kind = PathElement::Kind::kField;
      pe.name = std::string(rest);
      return Status::ok();
    case 'v': {
      KUBEOP_ASSIGN_OR_RETURN(Document v, json::parse(rest));
      pe.kind = PathElement::Kind::kValue;
      pe.value = atomOf(v);
      return Status::ok();
    }
    case 'k': {
      KUBEOP_ASSIGN_OR_RETURN(Document v, json::parse(rest));
      if (!v.IsObject()) return invalidArgument("a k: key must hold a JSON object: \"" + std::string(s) + "\"");
      pe.kind = PathElement::Kind::kKey;
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        pe.key.emplace_back(std::string(m->name.GetString(), m->name.GetStringLength()), atomOf(m->value));
      }
      sortKey(pe);
      return Status::ok();
    }
    case 'i': {
      if (rest.empty() || rest.size() > 18) return invalidArgument("invalid index key: \"" + std::string(s) + "\"");
      int64_t n = 0;
      for (char c : rest) {
        if (c < '0' || c > '9') return invalidArgument("invalid index key: \"" + std::string(s) + "\"");
        n = n * 10 + (c - '0');
      }
      pe.kind = PathElement::Kind::kIndex;
      pe.index = n;
      return Status::ok();
    }
    default:
      unknown = true;
      return Status::ok();
  }
}

// ---------------------------------------------------------------------------------------------
// FieldSet: fieldpath.Set. `members` are paths owned themselves (leaves, list items, map entries);
// `children` hold deeper paths. A node can be both (serialized with a "." entry).

struct FieldSet {
  std::set<PathElement> members;
  std::map<PathElement, std::unique_ptr<FieldSet>> children;

  FieldSet() = default;
  FieldSet(const FieldSet& o) { *this = o; }
  FieldSet& operator=(const FieldSet& o) {
    if (this == &o) return *this;
    members = o.members;
    children.clear();
    for (const auto& [pe, c] : o.children) children.emplace(pe, std::make_unique<FieldSet>(*c));
    return *this;
  }
  FieldSet(FieldSet&&) noexcept = default;
  FieldSet& operator=(FieldSet&&) noexcept = default;

  bool empty() const {
    if (!members.empty()) return false;
    for (const auto& [pe, c] : children) {
      if (!c->empty()) return false;
    }
    return true;
  }

  FieldSet& descend(const PathElement& pe) {
    auto& slot = children[pe];
    if (!slot) slot = std::make_unique<FieldSet>();
    return *slot;
  }

  const FieldSet* child(const PathElement& pe) const {
    auto it = children.find(pe);
    return it == children.end() ? nullptr : it->second.get();
  }

  void insert(const Path& path) {
    if (path.empty()) return;
    FieldSet* s = this;
    for (size_t k = 0; k + 1 < path.size(); ++k) s = &s->descend(path[k]);
    s->members.insert(path.back());
  }

  // Members first, then each child's paths (fieldpath.Set.Iterate order).
  void iterate(Path& prefix, const std::function<void(const Path&)>& fn) const {
    for (const auto& m : members) {
      prefix.push_back(m);
      fn(prefix);
      prefix.pop_back();
    }
    for (const auto& [pe, c] : children) {
      prefix.push_back(pe);
      c->iterate(prefix, fn);
      prefix.pop_back();
    }
  }
};

FieldSet unite(const FieldSet& x, const FieldSet& y) {
  FieldSet out = x;
  out.members.insert(y.members.begin(), y.members.end());
  for (const auto& [pe, c] : y.children) {
    auto it = out.children.find(pe);
    if (it == out.children.end()) {
      out.children.emplace(pe, std::make_unique<FieldSet>(*c));
    } else {
      *it->second = unite(*it->second, *c);
    }
  }
  return out;
}

FieldSet intersect(const FieldSet& x, const FieldSet& y) {
  FieldSet out;
  for (const auto& m : x.members) {
    if (y.members.count(m)) out.members.insert(m);
  }
  for (const auto& [pe, c] : x.children) {
    if (const FieldSet* yc = y.child(pe)) {
      FieldSet r = intersect(*c, *yc);
      if (!r.empty()) out.children.emplace(pe, std::make_unique<FieldSet>(std::move(r)));
    }
  }
  return out;
}

// fieldpath.Set.Difference: members of y leave x's members only, not x's children.
FieldSet subtract(const FieldSet& x, const FieldSet& y) {
  FieldSet out;
  for (const auto& m : x.members) {
    if (!y.members.count(m)) out.members.insert(m);
  }
  for (const auto& [pe, c] : x.children) {
    const FieldSet* yc = y.child(pe);
    FieldSet r = yc ? subtract(*c, *yc) : *c;
    if (!r.empty()) out.children.emplace(pe, std::make_unique<FieldSet>(std::move(r)));
  }
  return out;
}

// Drops `name` (as a member and with everything under it) from the top of `s`.
void dropTop(FieldSet& s, std::string_view name) {
  PathElement pe = PathElement::field(name);
  s.members.erase(pe);
  s.children.erase(pe);
}

// FieldsV1 encoding (fieldpath.Set.ToJSON).
void writeSet(const FieldSet& s, bool includeSelf, Value& out, Allocator& a) {
  out.SetObject();
  if (includeSelf && !s.empty()) out.AddMember(".", Value(rapidjson::kObjectType), a);
  auto m = s.members.begin();
  auto c = s.children.begin();
  while (m != s.members.end() || c != s.children.end()) {
    int order;
    if (m == s.members.end()) {
      order = 1;
    } else if (c == s.children.end()) {
      order = -1;
    } else {
      order = compare(*m, c->first);
    }
    if (order < 0) {
      out.AddMember(json::str(serialize(*m), a), Value(rapidjson::kObjectType), a);
      ++m;
      continue;
    }
    Value sub;
    writeSet(*c->second, order == 0, sub, a);
    if (order == 0) ++m;
    if (sub.MemberCount() > 0 || order == 0) out.AddMember(json::str(serialize(c->first), a), sub, a);
    ++c;
  }
}

// FieldsV1 decoding (fieldpath.Set.FromJSON): `{}` marks a member, "." marks a node that is a
// member and has children.
Status readSet(const Value& obj, FieldSet& out) {
  if (!obj.IsObject()) return invalidArgument(std::string("expected a JSON object, got ") + json::typeName(obj));
  for (auto m = obj.MemberBegin(); m != obj.MemberEnd(); ++m) {
    std::string_view key(m->name.GetString(), m->name.GetStringLength());
    if (key == ".") continue;
    PathElement pe;
    bool unknown = false;
    KUBEOP_RETURN_IF_ERROR(parsePathElement(key, pe, unknown));
    if (unknown) continue;
    if (!m->value.IsObject()) return invalidArgument("the value of \"" + std::string(key) + "\" must be an object");
    FieldSet sub;
    KUBEOP_RETURN_IF_ERROR(readSet(m->value, sub));
    bool member = m->value.MemberCount() == 0 || json::find(m->value, ".") != nullptr || sub.empty();
    if (member) out.members.insert(pe);
    if (!sub.empty()) out.children.emplace(pe, std::make_unique<FieldSet>(std::move(sub)));
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------
// Schema helpers over PatchMeta.

const FieldMeta* childOf(const FieldMeta* fm, std::string_view name) {
  if (!fm || fm->granularMap || !fm->type) return nullptr;
  return fm->type->field(name);
}

FieldMeta itemOf(const FieldMeta* fm) {
  FieldMeta item;
  item.type = fm ? fm->type : nullptr;
  return item;
}

bool isAtomicObject(const FieldMeta* fm) { return fm && fm->atomic; }
bool isGranularMap(const FieldMeta* fm) { return fm && fm->granularMap; }
ListType listTypeOf(const FieldMeta* fm) { return fm ? fm->listType : ListType::kAtomic; }

bool isEmptyContainer(const Value& v) {
  return (v.IsObject() && v.MemberCount() == 0) || (v.IsArray() && v.Empty());
}

// The path element of one item of a set or associative list (listItemToPathElement).
Status itemPathElement(const FieldMeta& list, const Value& item, PathElement& pe) {
  pe = PathElement();
  if (list.listType == ListType::kSet) {
    if (item.IsObject() || item.IsArray() || item.IsNull()) {
      return invalidArgument(std::string("a set may only hold scalars, got ") + json::typeName(item));
    }
    pe.kind = PathElement::Kind::kValue;
    pe.value = atomOf(item);
    return Status::ok();
  }
  if (item.IsNull()) return invalidArgument("associative list with keys may not have a null element");
  if (!item.IsObject()) return invalidArgument("associative list with keys may not have non-map elements");
  pe.kind = PathElement::Kind::kKey;
  std::string names;
  for (const auto& k : list.listMapKeys) {
    names += (names.empty() ? "" : " ") + k.name;
    const Value* v = json::find(item, k.name);
    if (v && !v->IsNull()) {
      pe.key.emplace_back(k.name, atomOf(*v));
    } else if (!k.defaultString.empty()) {
      pe.key.emplace_back(k.name, stringAtom(k.defaultString));
    }
  }
  if (pe.key.empty()) {
    return invalidArgument("associative list with keys has an element that omits all key fields [" + names +
                           "] (and doesn't have default values for any key fields)");
  }
  sortKey(pe);
  return Status::ok();
}

Status atPath(const Status& s, const Path& path) {
  return Status(s.code(), (path.empty() ? std::string(".") : print(path)) + ": " + s.message());
}

// Indexes the items of a list by path element; the first of duplicates wins.
Status indexItems(const FieldMeta& list, const Value& arr, const Path& path, bool allowDuplicates,
                  std::vector<PathElement>& order, std::map<PathElement, const Value*>& byElement) {
  for (const auto& item : arr.GetArray()) {
    PathElement pe;
    if (Status s = itemPathElement(list, item, pe); !s.isOk()) return atPath(s, path);
    if (byElement.count(pe)) {
      if (!allowDuplicates) {
        Path at = path;
        at.push_back(pe);
        return invalidArgument(print(at) + ": duplicate entries for key " + print(pe));
      }
      continue;
    }
    byElement.emplace(pe, &item);
    order.push_back(std::move(pe));
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------
// Walks over values (typed.TypedValue's ToFieldSet, Merge, Compare and RemoveItems).

// The fields a value sets. For an applied configuration (`applied`) explicit nulls are owned and
// duplicate keys are errors; for a live object nulls are absent fields.
Status toFieldSet(const Value& v, const FieldMeta* fm, Path& path, FieldSet& out, bool applied) {
  if (v.IsObject()) {
    if (isAtomicObject(fm)) {
      out.insert(path);
      return Status::ok();
    }
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      if (m->value.IsNull() && !applied) continue;
      std::string_view name(m->name.GetString(), m->name.GetStringLength());
      path.push_back(PathElement::field(name));
      KUBEOP_RETURN_IF_ERROR(toFieldSet(m->value, childOf(fm, name), path, out, applied));
      // Struct fields are owned through their leaves; map entries, nulls and empty objects
      // are owned themselves.
      if (m->value.IsNull() || (m->value.IsObject() && m->value.MemberCount() == 0) || isGranularMap(fm)) {
        out.insert(path);
      }
      path.pop_back();
    }
    return Status::ok();
  }
  if (v.IsArray()) {
    if (listTypeOf(fm) == ListType::kAtomic) {
      out.insert(path);
      return Status::ok();
    }
    FieldMeta item = itemOf(fm);
    std::vector<PathElement> order;
    std::map<PathElement, const Value*> byElement;
    KUBEOP_RETURN_IF_ERROR(indexItems(*fm, v, path, !applied, order, byElement));
    for (const auto& pe : order) {
      path.push_back(pe);
      KUBEOP_RETURN_IF_ERROR(toFieldSet(*byElement[pe], &item, path, out, applied));
      out.insert(path);
      path.pop_back();
    }
    return Status::ok();
  }
  out.insert(path);
  return Status::ok();
}

// A deep copy of an applied value without its explicit nulls (which unset fields).
void copyApplied(const Value& v, Value& out, Allocator& a) {
  if (v.IsObject()) {
    out.SetObject();
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      if (m->value.IsNull()) continue;
      Value c;
      copyApplied(m->value, c, a);
      out.AddMember(Value(m->name, a), c, a);
    }
  } else if (v.IsArray()) {
    out.SetArray();
    for (const auto& item : v.GetArray()) {
      Value c;
      copyApplied(item, c, a);
      out.PushBack(c, a);
    }
  } else {
    out.CopyFrom(v, a);
  }
}

Status merge(const Value* lhs, const Value* rhs, const FieldMeta* fm, Path& path, Value& out, Allocator& a);

// Merges two granular lists keeping the order of both where they agree (typed merge's
// visitListItems): shared items follow the applied order; live-only items keep their places.
Status mergeList(const Value& lhs, const Value& rhs, const FieldMeta& fm, Path& path, Value& out, Allocator& a) {
  FieldMeta item = itemOf(&fm);
  std::vector<PathElement> lpe, rpe;
  std::map<PathElement, const Value*> lIdx, rIdx;
  KUBEOP_RETURN_IF_ERROR(indexItems(fm, lhs, path, true, lpe, lIdx));
  KUBEOP_RETURN_IF_ERROR(indexItems(fm, rhs, path, false, rpe, rIdx));
  std::vector<const PathElement*> shared;
  for (const auto& pe : rpe) {
    if (lIdx.count(pe)) shared.push_back(&pe);
  }
  size_t nextShared = 0;
  auto advanceShared = [&](const PathElement& pe) {
    if (nextShared < shared.size() && compare(*shared[nextShared], pe) == 0) ++nextShared;
  };
  std::set<PathElement> emitted;
  out.SetArray();
  auto emit = [&](const PathElement& pe, const Value* l, const Value* r) -> Status {
    path.push_back(pe);
    Value v;
    Status s = r ? merge(l, r, &item, path, v, a) : (v.CopyFrom(*l, a), Status::ok());
    path.pop_back();
    KUBEOP_RETURN_IF_ERROR(s);
    out.PushBack(v, a);
    emitted.insert(pe);
    return Status::ok();
  };
  size_t li = 0, ri = 0;
  while (li < lpe.size() || ri < rpe.size()) {
    if (li < lpe.size() && ri < rpe.size()) {
      const PathElement& pe = lpe[li];
      if (compare(pe, rpe[ri]) == 0) {
        KUBEOP_RETURN_IF_ERROR(emit(pe, lIdx[pe], rIdx[pe]));
        ++li;
        ++ri;
        advanceShared(pe);
        continue;
      }
      // A shared item out of the applied order waits for its turn on the applied side.
      if (rIdx.count(pe) && nextShared < shared.size() && compare(*shared[nextShared], pe) != 0) {
        ++li;
        continue;
      }
    }
    if (li < lpe.size()) {
      const PathElement& pe = lpe[li];
      if (!rIdx.count(pe)) {
        KUBEOP_RETURN_IF_ERROR(emit(pe, lIdx[pe], nullptr));
        ++li;
        continue;
      }
      if (emitted.count(pe)) ++li;
    }
    if (ri < rpe.size()) {
      const PathElement& pe = rpe[ri];
      auto l = lIdx.find(pe);
      KUBEOP_RETURN_IF_ERROR(emit(pe, l == lIdx.end() ? nullptr : l->second, rIdx[pe]));
      ++ri;
      advanceShared(pe);
    }
  }
  return Status::ok();
}

// The live value `lhs` with the applied `rhs` merged in (typed.Merge, "keep rhs" on leaves).
Status merge(const Value* lhs, const Value* rhs, const FieldMeta* fm, Path& path, Value& out, Allocator& a) {
  if (!rhs) {
    out.CopyFrom(*lhs, a);
    return Status::ok();
  }
  if (!lhs) {
    copyApplied(*rhs, out, a);
    return Status::ok();
  }
  if (lhs->IsObject() && rhs->IsObject()) {
    if (isAtomicObject(fm) || (lhs->MemberCount() == 0 && rhs->MemberCount() == 0)) {
      copyApplied(*rhs, out, a);
      return Status::ok();
    }
    out.SetObject();
    for (auto m = lhs->MemberBegin(); m != lhs->MemberEnd(); ++m) {
      auto r = rhs->FindMember(m->name);
      if (r == rhs->MemberEnd()) {
        out.AddMember(Value(m->name, a), Value(m->value, a), a);
        continue;
      }
      if (r->value.IsNull()) continue;  // explicitly unset
      std::string_view name(m->name.GetString(), m->name.GetStringLength());
      path.push_back(PathElement::field(name));
      Value c;
      Status s = merge(&m->value, &r->value, childOf(fm, name), path, c, a);
      path.pop_back();
      KUBEOP_RETURN_IF_ERROR(s);
      out.AddMember(Value(m->name, a), c, a);
    }
    for (auto r = rhs->MemberBegin(); r != rhs->MemberEnd(); ++r) {
      if (r->value.IsNull() || lhs->HasMember(r->name)) continue;
      Value c;
      copyApplied(r->value, c, a);
      out.AddMember(Value(r->name, a), c, a);
    }
    return Status::ok();
  }
  if (lhs->IsArray() && rhs->IsArray() && listTypeOf(fm) != ListType::kAtomic && !(lhs->Empty() && rhs->Empty())) {
    return mergeList(*lhs, *rhs, *fm, path, out, a);
  }
  copyApplied(*rhs, out, a);
  return Status::ok();
}

struct Comparison {
  FieldSet added, modified, removed;
};

enum class Shape { kAbsent, kObject, kArray, kScalar };

Shape shapeOf(const Value* v) {
  if (!v) return Shape::kAbsent;
  if (v->IsObject()) return Shape::kObject;
  if (v->IsArray()) return Shape::kArray;
  return Shape::kScalar;
}

bool granular(Shape s, const FieldMeta* fm) {
  return (s == Shape::kObject && !isAtomicObject(fm)) || (s == Shape::kArray && listTypeOf(fm) != ListType::kAtomic);
}

// A member's value, nullptr when absent or null (a null field is an unset field).
const Value* memberOf(const Value* obj, const Value& name) {
  if (!obj || !obj->IsObject()) return nullptr;
  auto it = obj->FindMember(name);
  return it == obj->MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
}

Status compareValues(const Value* l, const Value* r, const FieldMeta* fm, Path& path, Comparison& c);

Status compareChildren(const Value* l, const Value* r, Shape shape, const FieldMeta* fm, Path& path, Comparison& c) {
  if (shape == Shape::kObject) {
    auto visit = [&](const Value& name, const Value* lv, const Value* rv) -> Status {
      std::string_view n(name.GetString(), name.GetStringLength());
      path.push_back(PathElement::field(n));
      Status s = compareValues(lv, rv, childOf(fm, n), path, c);
      path.pop_back();
      return s;
    };
    if (l) {
      for (auto m = l->MemberBegin(); m != l->MemberEnd(); ++m) {
        if (m->value.IsNull()) continue;
        KUBEOP_RETURN_IF_ERROR(visit(m->name, &m->value, memberOf(r, m->name)));
      }
    }
    if (r) {
      for (auto m = r->MemberBegin(); m != r->MemberEnd(); ++m) {
        if (m->value.IsNull() || memberOf(l, m->name)) continue;
        KUBEOP_RETURN_IF_ERROR(visit(m->name, nullptr, &m->value));
      }
    }
    return Status::ok();
  }
  FieldMeta item = itemOf(fm);
  std::vector<PathElement> lpe, rpe;
  std::map<PathElement, const Value*> lIdx, rIdx;
  if (l) KUBEOP_RETURN_IF_ERROR(indexItems(*fm, *l, path, true, lpe, lIdx));
  if (r) KUBEOP_RETURN_IF_ERROR(indexItems(*fm, *r, path, true, rpe, rIdx));
  for (const auto& pe : lpe) rpe.push_back(pe);  // every element once: lhs's then rhs's new ones
  std::set<PathElement> seen;
  for (const auto& pe : rpe) {
    if (!seen.insert(pe).second) continue;
    auto li = lIdx.find(pe);
    auto ri = rIdx.find(pe);
    path.push_back(pe);
    Status s = compareValues(li == lIdx.end() ? nullptr : li->second, ri == rIdx.end() ? nullptr : ri->second, &item,
                             path, c);
    path.pop_back();
    KUBEOP_RETURN_IF_ERROR(s);
  }
  return Status::ok();
}

// Which fields `r` added, modified or removed relative to `l` (typed.Compare).
Status compareValues(const Value* l, const Value* r, const FieldMeta* fm, Path& path, Comparison& c) {
  Shape ls = shapeOf(l), rs = shapeOf(r);
  if (ls != Shape::kAbsent && rs != Shape::kAbsent && ls != rs) {
    if (granular(ls, fm)) KUBEOP_RETURN_IF_ERROR(compareChildren(l, nullptr, ls, fm, path, c));
    if (granular(rs, fm)) KUBEOP_RETURN_IF_ERROR(compareChildren(nullptr, r, rs, fm, path, c));
    c.modified.insert(path);
    return Status::ok();
  }
  Shape s = ls != Shape::kAbsent ? ls : rs;
  bool bothEmpty = (!l || isEmptyContainer(*l)) && (!r || isEmptyContainer(*r));
  if (!granular(s, fm) || bothEmpty) {
    if (!l) {
      c.added.insert(path);
    } else if (!r) {
      c.removed.insert(path);
    } else if (!(*l == *r)) {
      c.modified.insert(path);
    }
    return Status::ok();
  }
  KUBEOP_RETURN_IF_ERROR(compareChildren(l, r, s, fm, path, c));
  if (!l) {
    c.added.insert(path);
  } else if (!r) {
    c.removed.insert(path);
  }
  return Status::ok();
}

// Removes the paths of `rm` from `v` (typed.RemoveItems); containers emptied by it go too.
void removeItems(Value& v, const FieldSet& rm, const FieldMeta* fm, Allocator& a) {
  if (v.IsObject()) {
    if (isAtomicObject(fm)) return;
    for (auto it = v.MemberBegin(); it != v.MemberEnd();) {
      std::string_view name(it->name.GetString(), it->name.GetStringLength());
      PathElement pe = PathElement::field(name);
      if (rm.members.count(pe)) {
        it = v.EraseMember(it);
        continue;
      }
      if (const FieldSet* sub = rm.child(pe); sub && !sub->empty() && !isEmptyContainer(it->value)) {
        removeItems(it->value, *sub, childOf(fm, name), a);
        if (isEmptyContainer(it->value)) {
          it = v.EraseMember(it);
          continue;
        }
      }
      ++it;
    }
    return;
  }
  if (v.IsArray() && listTypeOf(fm) != ListType::kAtomic) {
    FieldMeta item = itemOf(fm);
    Value kept(rapidjson::kArrayType);
    kept.Reserve(v.Size(), a);
    for (auto& element : v.GetArray()) {
      PathElement pe;
      if (itemPathElement(*fm, element, pe).isOk()) {
        if (rm.members.count(pe)) continue;
        if (const FieldSet* sub = rm.child(pe)) removeItems(element, *sub, &item, a);
      }
      kept.PushBack(element, a);
    }
    v = kept;
  }
}

// fieldpath.Set.EnsureNamedFieldsAreMembers: struct fields with owned children count as owned.
FieldSet ensureNamedFieldsAreMembers(const FieldSet& s, const FieldMeta* fm) {
  FieldSet out;
  out.members = s.members;
  for (const auto& [pe, c] : s.children) {
    FieldSet sub;
    if (pe.kind == PathElement::Kind::kField) {
      if (!isGranularMap(fm)) out.members.insert(pe);
      sub = ensureNamedFieldsAreMembers(*c, childOf(fm, pe.name));
    } else {
      FieldMeta item = itemOf(fm);
      sub = ensureNamedFieldsAreMembers(*c, &item);
    }
    out.children.emplace(pe, std::make_unique<FieldSet>(std::move(sub)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Managers (metadata.managedFields entries).

struct Entry {
  std::string manager;
  std::string operation;  // "Apply" or "Update"
  std::string apiVersion;
  std::string subresource;
  std::string time;  // RFC 3339; empty when unknown
  FieldSet fields;

  bool applied() const { return operation == "Apply"; }

  // BuildManagerIdentifier: the entry as JSON without time and fields, and without apiVersion for
  // Apply (an applier is one manager whatever version it applies with).
  std::string identifier() const {
    std::string s = "{";
    auto add = [&](std::string_view k, std::string_view v) {
      if (v.empty()) return;
      if (s.size() > 1) s += ',';
      s += quote(k) + ":" + quote(v);
    };
    add("manager", manager);
    add("operation", operation);
    if (!applied()) add("apiVersion", apiVersion);
    add("subresource", subresource);
    return s + "}";
  }
};

using Managers = std::vector<Entry>;

Entry* findEntry(Managers& managers, const std::string& identifier) {
  for (auto& e : managers) {
    if (e.identifier() == identifier) return &e;
  }
  return nullptr;
}

Status decodeManaged(const Value* list, Managers& out) {
  out.clear();
  if (!list || list->IsNull()) return Status::ok();
  if (!list->IsArray()) return invalidArgument(std::string("managedFields must be a list, got ") + json::typeName(*list));
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const Value& e = (*list)[i];
    std::string at = "managed fields entry " + std::to_string(i);
    if (!e.IsObject()) return invalidArgument(at + " is not an object");
    Entry entry;
    entry.manager = std::string(json::getString(e, "manager"));
    entry.operation = std::string(json::getString(e, "operation"));
    entry.apiVersion = std::string(json::getString(e, "apiVersion"));
    entry.subresource = std::string(json::getString(e, "subresource"));
    entry.time = std::string(json::getString(e, "time"));
    if (entry.operation != "Apply" && entry.operation != "Update") {
      return invalidArgument(at + ": operation must be `Apply` or `Update`");
    }
    if (entry.apiVersion.empty()) return invalidArgument(at + ": apiVersion must not be empty");
    std::string_view fieldsType = json::getString(e, "fieldsType");
    if (fieldsType.empty()) return invalidArgument("missing fieldsType in " + at);
    if (fieldsType != "FieldsV1") return invalidArgument("invalid fieldsType " + quote(fieldsType) + " in " + at);
    if (const Value* f = json::find(e, "fieldsV1"); f && !f->IsNull()) {
      if (Status s = readSet(*f, entry.fields); !s.isOk()) return invalidArgument(at + ": " + s.message());
    }
    // Later entries with the same identity win, as in upstream's map.
    if (Entry* existing = findEntry(out, entry.identifier())) {
      *existing = std::move(entry);
    } else {
      out.push_back(std::move(entry));
    }
  }
  return Status::ok();
}

// Writes metadata.managedFields, sorted as upstream's sortEncodedManagedFields (operation, time,
// manager, apiVersion, subresource); removes it when there are no entries.
void encodeManaged(Managers managers, Value& object, Allocator& a) {
  if (!object.IsObject()) object.SetObject();
  if (managers.empty()) {
    if (Value* md = json::find(object, "metadata")) json::removeMember(*md, "managedFields");
    return;
  }
  std::sort(managers.begin(), managers.end(), [](const Entry& x, const Entry& y) {
    return std::tie(x.operation, x.time, x.manager, x.apiVersion, x.subresource) <
           std::tie(y.operation, y.time, y.manager, y.apiVersion, y.subresource);
  });
  Value list(rapidjson::kArrayType);
  for (const auto& e : managers) {
    Value v(rapidjson::kObjectType);
    if (!e.manager.empty()) json::setString(v, "manager", e.manager, a);
    json::setString(v, "operation", e.operation, a);
    json::setString(v, "apiVersion", e.apiVersion, a);
    if (!e.time.empty()) json::setString(v, "time", e.time, a);
    json::setString(v, "fieldsType", "FieldsV1", a);
    Value fields;
    writeSet(e.fields, false, fields, a);
    v.AddMember("fieldsV1", fields, a);
    if (!e.subresource.empty()) json::setString(v, "subresource", e.subresource, a);
    list.PushBack(v, a);
  }
  Value& md = json::ensureObject(object, "metadata", a);
  json::setMember(md, "managedFields", list, a);
}

// stripMetaManager: type and object-identity fields are nobody's.
void stripMeta(FieldSet& s) {
  for (const char* f : {"apiVersion", "kind", "metadata"}) s.members.erase(PathElement::field(f));
  auto it = s.children.find(PathElement::field("metadata"));
  if (it == s.children.end()) return;
  for (const char* f : {"name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
                        "managedFields", "resourceVersion"}) {
    it->second->members.erase(PathElement::field(f));
  }
  if (it->second->empty()) s.children.erase(it);
}

// The reset fields of the write's strategy: status for the main resource, spec for status.
const char* ignoredField(const ApplyOptions& o) {
  if (o.subresource == Subresource::kStatus) return "spec";
  return o.hasStatusSubresource ? "status" : nullptr;
}

std::string subresourceName(const ApplyOptions& o) { return o.subresource == Subresource::kStatus ? "status" : ""; }

void removeManagedFields(Value& object) {
  if (Value* md = json::find(object, "metadata")) json::removeMember(*md, "managedFields");
}

void eraseEmpty(Managers& managers) {
  managers.erase(std::remove_if(managers.begin(), managers.end(), [](const Entry& e) { return e.fields.empty(); }),
                 managers.end());
}

// capManagersManager: at most 10 Update entries; the oldest fold into "ancient-changes" per
// apiVersion.
constexpr size_t kMaxUpdateManagers = 10;

void capUpdateManagers(Managers& managers) {
  std::vector<size_t> updaters;
  for (size_t k = 0; k < managers.size(); ++k) {
    if (!managers[k].applied()) updaters.push_back(k);
  }
  if (updaters.size() <= kMaxUpdateManagers) return;
  std::sort(updaters.begin(), updaters.end(), [&](size_t x, size_t y) {
    const Entry& ex = managers[x];
    const Entry& ey = managers[y];
    if (ex.time != ey.time) return ex.time < ey.time;
    return ex.identifier() < ey.identifier();
  });
  std::vector<bool> gone(managers.size(), false);
  std::map<std::string, size_t> firstOfVersion;
  size_t length = updaters.size();
  for (size_t k = 0; k < updaters.size() && length > kMaxUpdateManagers; ++k) {
    Entry& e = managers[updaters[k]];
    Entry bucketId{"ancient-changes", "Update", e.apiVersion, "", "", {}};
    std::string bucket = bucketId.identifier();
    auto first = firstOfVersion.find(e.apiVersion);
    if (first == firstOfVersion.end()) {
      firstOfVersion.emplace(e.apiVersion, updaters[k]);
      continue;
    }
    if (e.identifier() == bucket) continue;
    Entry* b = nullptr;
    for (size_t j = 0; j < managers.size(); ++j) {
      if (!gone[j] && managers[j].identifier() == bucket) b = &managers[j];
    }
    if (!b) {
      b = &managers[first->second];
      b->manager = "ancient-changes";
      b->subresource.clear();
    }
    b->fields = unite(e.fields, b->fields);
    b->time = e.time;
    gone[updaters[k]] = true;
    --length;
  }
  Managers kept;
  for (size_t k = 0; k < managers.size(); ++k) {
    if (!gone[k]) kept.push_back(std::move(managers[k]));
  }
  managers = std::move(kept);
}

// printManager of upstream's conflict error.
std::string describeManager(const Entry& e) {
  std::string s = quote(e.manager);
  if (!e.subresource.empty()) s += " with subresource " + quote(e.subresource);
  if (!e.applied()) s += " using " + e.apiVersion;
  return s;
}

struct Conflicts {
  const Entry* entry;
  FieldSet fields;
};

Status conflictError(std::vector<Conflicts> conflicts, std::vector<FieldConflict>* out) {
  std::sort(conflicts.begin(), conflicts.end(),
            [](const Conflicts& x, const Conflicts& y) { return x.entry->identifier() < y.entry->identifier(); });
  std::vector<std::pair<const Entry*, std::string>> all;
  for (const auto& c : conflicts) {
    Path prefix;
    c.fields.iterate(prefix, [&](const Path& p) { all.emplace_back(c.entry, print(p)); });
  }
  if (out) {
    out->clear();
    for (const auto& [e, path] : all) out->push_back({e->manager, "conflict with " + describeManager(*e), path});
  }
  if (all.size() == 1) {
    return aborted("Apply failed with 1 conflict: conflict with " + describeManager(*all[0].first) + ": " +
                   all[0].second);
  }
  std::string msg = "Apply failed with " + std::to_string(all.size()) + " conflicts: ";
  const Entry* current = nullptr;
  bool firstLine = true;
  for (const auto& [e, path] : all) {
    if (e != current) {
      msg += (firstLine ? "" : "\n") + std::string("conflicts with ") + describeManager(*e) + ":";
      firstLine = false;
      current = e;
    }
    msg += "\n- " + path;
  }
  return aborted(msg);
}

// Fields of `updated` that `live` lacked or held with another value, and those it removed.
Status diff(const Value& live, const Value& updated, const FieldMeta& root, const ApplyOptions& o, Comparison& c) {
  Path path;
  KUBEOP_RETURN_IF_ERROR(compareValues(&live, &updated, &root, path, c));
  if (const char* ignored = ignoredField(o)) {
    dropTop(c.added, ignored);
    dropTop(c.modified, ignored);
    dropTop(c.removed, ignored);
  }
  return Status::ok();
}

bool isResetManagedFields(const Value* mf) {
  if (!mf || !mf->IsArray()) return false;
  if (mf->Empty()) return true;
  return mf->Size() == 1 && (*mf)[0].IsObject() && (*mf)[0].MemberCount() == 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

StatusOr<ApplyResult> apply(const Value* live, const Value& applied, std::string_view manager, bool force,
                            const PatchMeta* meta, std::string_view now, const ApplyOptions& options) {
  if (!applied.IsObject()) {
    return invalidArgument(std::string("an apply patch must be an object, got ") + json::typeName(applied));
  }
  std::string apiVersion(json::getString(applied, "apiVersion"));
  if (apiVersion.empty() || json::getString(applied, "kind").empty()) {
    return invalidArgument("an apply patch must set apiVersion and kind");
  }
  if (const Value* mf = json::findPath(applied, {"metadata", "managedFields"}); mf && !mf->IsNull()) {
    return invalidArgument("metadata.managedFields must be nil");
  }
  if (live && !live->IsObject()) return invalidArgument("the live object is not a JSON object");

  FieldMeta root;
  root.type = meta ? meta : &customResourcePatchMeta();
  const std::string subresource = subresourceName(options);

  Document out;
  Allocator& a = out.GetAllocator();
  Value liveObj(rapidjson::kObjectType);
  if (live) liveObj.CopyFrom(*live, a);
  removeManagedFields(liveObj);

  // The configuration as the merge sees it: the strategy's reset field is not the applier's,
  // and null identity fields are not requests to unset them.
  Value config(applied, a);
  removeManagedFields(config);
  if (const char* ignored = ignoredField(options)) json::removeMember(config, ignored);
  if (Value* md = json::find(config, "metadata"); md && md->IsObject()) {
    for (const char* f : {"name", "namespace", "creationTimestamp", "selfLink", "uid", "generation", "resourceVersion"}) {
      if (const Value* v = json::find(*md, f); v && v->IsNull()) json::removeMember(*md, f);
    }
  }

  Managers managers;
  if (live) {
    if (Status s = decodeManaged(json::findPath(*live, {"metadata", "managedFields"}), managers); !s.isOk()) {
      return internalError("failed to decode managed fields: " + s.message());
    }
    if (managers.empty()) {
      // skipNonAppliedManager: what the object already holds belongs to "before-first-apply".
      Value empty(rapidjson::kObjectType);
      Comparison c;
      KUBEOP_RETURN_IF_ERROR(diff(empty, liveObj, root, options, c));
      Entry before{"before-first-apply", "Update", apiVersion, subresource, std::string(now),
                   unite(c.added, c.modified)};
      stripMeta(before.fields);
      if (!before.fields.empty()) managers.push_back(std::move(before));
    }
  }

  Entry self{std::string(manager), "Apply", apiVersion, subresource, "", {}};
  const std::string selfId = self.identifier();
  FieldSet lastSet;
  if (Entry* previous = findEntry(managers, selfId)) {
    lastSet = previous->fields;
    self.time = previous->time;
  }
  {
    Path path;
    if (Status s = toFieldSet(config, &root, path, self.fields, true); !s.isOk()) {
      return invalidArgument("invalid apply patch: " + s.message());
    }
  }

  Value merged;
  {
    Path path;
    if (Status s = merge(&liveObj, &config, &root, path, merged, a); !s.isOk()) {
      return invalidArgument("cannot merge the apply patch into the live object: " + s.message());
    }
  }

  // Prune what the applier applied last time and no longer does, unless someone still owns it.
  if (!lastSet.empty()) {
    FieldSet owned = self.fields;
    for (const auto& e : managers) {
      if (e.identifier() != selfId) owned = unite(owned, e.fields);
    }
    FieldSet prune = subtract(ensureNamedFieldsAreMembers(lastSet, &root), ensureNamedFieldsAreMembers(owned, &root));
    removeItems(merged, prune, &root, a);
  }

  Comparison c;
  KUBEOP_RETURN_IF_ERROR(diff(liveObj, merged, root, options, c));
  // Upstream's merged object keeps an applied null as a value, so unsetting a field another
  // manager owns is a modification (and conflicts); here the field is gone, hence `removed`.
  FieldSet touched = unite(unite(c.modified, c.added), intersect(c.removed, self.fields));
  std::vector<Conflicts> conflicts;
  for (const auto& e : managers) {
    if (e.identifier() == selfId) continue;
    FieldSet x = intersect(e.fields, touched);
    if (!x.empty()) conflicts.push_back({&e, std::move(x)});
  }
  if (!conflicts.empty() && !force) return conflictError(std::move(conflicts), options.conflicts);
  for (auto& cf : conflicts) {
    Entry& e = *findEntry(managers, cf.entry->identifier());
    e.fields = subtract(e.fields, cf.fields);
  }
  if (!c.removed.empty()) {
    for (auto& e : managers) {
      if (e.identifier() != selfId) e.fields = subtract(e.fields, c.removed);
    }
  }

  ApplyResult result;
  result.changed = !(liveObj == merged);
  if (result.changed) self.time = std::string(now);
  stripMeta(self.fields);
  if (Entry* previous = findEntry(managers, selfId)) {
    *previous = std::move(self);
  } else {
    managers.push_back(std::move(self));
  }
  eraseEmpty(managers);
  encodeManaged(std::move(managers), merged, a);
  static_cast<Value&>(out) = merged;
  result.object = std::move(out);
  return result;
}

StatusOr<Document> recordUpdate(const Value* live, const Value& updated, std::string_view manager,
                                const PatchMeta* meta, std::string_view now, const ApplyOptions& options) {
  if (!updated.IsObject()) {
    return invalidArgument(std::string("the updated object must be an object, got ") + json::typeName(updated));
  }
  if (live && !live->IsObject()) return invalidArgument("the live object is not a JSON object");
  FieldMeta root;
  root.type = meta ? meta : &customResourcePatchMeta();
  std::string apiVersion(json::getString(updated, "apiVersion"));
  if (apiVersion.empty() && live) apiVersion = std::string(json::getString(*live, "apiVersion"));
  if (apiVersion.empty()) return invalidArgument("the updated object must set apiVersion");

  // decodeLiveOrNew: the request's managedFields win when valid and non-empty (a subresource
  // write cannot set them); [] or [{}] clears them; otherwise the live ones carry over.
  const Value* liveMf = live ? json::findPath(*live, {"metadata", "managedFields"}) : nullptr;
  const Value* newMf = json::findPath(updated, {"metadata", "managedFields"});
  Managers managers;
  if (options.subresource != Subresource::kNone) {
    if (!decodeManaged(liveMf, managers).isOk()) managers.clear();
  } else if (!isResetManagedFields(newMf)) {
    if (!decodeManaged(newMf, managers).isOk() || managers.empty()) {
      if (!decodeManaged(liveMf, managers).isOk()) managers.clear();
    }
  }

  Document out;
  Allocator& a = out.GetAllocator();
  out.CopyFrom(updated, a);
  removeManagedFields(out);
  // skipNonAppliedManager: an existing object nobody tracks stays untracked by updates.
  if (managers.empty() && live) return out;

  Value liveObj(rapidjson::kObjectType);
  if (live) liveObj.CopyFrom(*live, a);
  removeManagedFields(liveObj);

  Comparison c;
  if (!diff(liveObj, out, root, options, c).isOk()) {
    // FieldManager.UpdateNoErrors: bookkeeping never fails a write; the live entries carry over
    // unchanged (validation rejects objects whose lists lack their keys anyway).
    if (liveMf) {
      Value keep(*liveMf, a);
      json::setMember(json::ensureObject(out, "metadata", a), "managedFields", keep, a);
    }
    return out;
  }
  FieldSet touched = unite(c.modified, c.added);
  for (auto& e : managers) {
    e.fields = subtract(subtract(e.fields, touched), c.removed);
  }
  if (!touched.empty()) {
    Entry self{std::string(manager), "Update", apiVersion, subresourceName(options), std::string(now), touched};
    if (Entry* previous = findEntry(managers, self.identifier())) {
      previous->fields = unite(touched, previous->fields);
      previous->time = std::string(now);
      stripMeta(previous->fields);
    } else {
      stripMeta(self.fields);
      managers.push_back(std::move(self));
    }
  }
  eraseEmpty(managers);
  capUpdateManagers(managers);
  encodeManaged(std::move(managers), out, a);
  return out;
}

}  // namespace kubeop::kube
