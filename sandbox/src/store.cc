#include "kubeop/sandbox/store.h"

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "kubeop/core/time.h"

namespace kubeop::sandbox {

// Internal types live in a named namespace: Store::State holds them, and a class with external
// linkage must not have members of anonymous-namespace types.
namespace store_detail {}
using namespace store_detail;

namespace store_detail {

using SysClock = std::chrono::system_clock;

constexpr std::string_view kFinalizerOrphan = "orphan";
constexpr std::string_view kFinalizerForeground = "foregroundDeletion";
constexpr std::string_view kFinalizerKubernetes = "kubernetes";
constexpr const char* kOptimisticLockMsg =
    "the object has been modified; please apply your changes to the latest version and try again";
constexpr const char* kContinueExpiredMsg =
    "The provided continue parameter is too old to display a consistent list result. You can start a new list "
    "without the continue parameter, or use the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may show up in the list.";
constexpr const char* kContinueVersion = "meta.k8s.io/v1";
constexpr size_t kAnnotationsLimit = 256 * 1024;
constexpr int kGenerateNameAttempts = 8;

// ---------------------------------------------------------------------------------------------
// Small utilities.

// The deletionTimestamps this store wrote itself (formatRfc3339).
std::optional<SysClock::time_point> parseRfc3339(std::string_view s) {
  std::tm g{};
  int y, mo, d, h, mi, sec;
  std::string z(s);
  if (std::sscanf(z.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) != 6) return std::nullopt;
  g.tm_year = y - 1900;
  g.tm_mon = mo - 1;
  g.tm_mday = d;
  g.tm_hour = h;
  g.tm_min = mi;
  g.tm_sec = sec;
  return SysClock::from_time_t(timegm(&g));
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64Encode(std::string_view in) {
  std::string out;
  size_t i = 0;
  while (i + 2 < in.size()) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// Standard (padded) base64, as Go's base64.RawURLEncoding is not what the apiserver uses.
std::optional<std::string> base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
      } else {
        if (pad) return std::nullopt;
        v[j] = val(c);
        if (v[j] < 0) return std::nullopt;
      }
    }
    uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::optional<uint64_t> parseUint(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t nv = v * 10 + uint64_t(c - '0');
    if (nv / 10 != v) return std::nullopt;
    v = nv;
  }
  return v;
}

// Deep JSON equality, member order ignored (apiequality.Semantic.DeepEqual on decoded objects).
bool jsonEqual(const json::Value& a, const json::Value& b) {
  if (a.IsNumber() && b.IsNumber()) {
    if (a.IsInt64() && b.IsInt64()) return a.GetInt64() == b.GetInt64();
    if (a.IsUint64() && b.IsUint64()) return a.GetUint64() == b.GetUint64();
    return a.GetDouble() == b.GetDouble();
  }
  if (a.GetType() != b.GetType()) return false;
  switch (a.GetType()) {
    case rapidjson::kObjectType: {
      if (a.MemberCount() != b.MemberCount()) return false;
      for (auto it = a.MemberBegin(); it != a.MemberEnd(); ++it) {
        const json::Value* o = json::find(b, json::view(it->name));
        if (!o || !jsonEqual(it->value, *o)) return false;
      }
      return true;
    }
    case rapidjson::kArrayType: {
      if (a.Size() != b.Size()) return false;
      for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
        if (!jsonEqual(a[i], b[i])) return false;
      }
      return true;
    }
    case rapidjson::kStringType:
      return json::view(a) == json::view(b);
    default:
      return true;  // null, true, false
  }
}

bool optionalEqual(const json::Value* a, const json::Value* b) {
  bool an = !a || a->IsNull(), bn = !b || b->IsNull();
  if (an || bn) return an == bn;
  return jsonEqual(*a, *b);
}

std::vector<std::string> stringArray(const json::Value* v) {
  std::vector<std::string> out;
  if (!v || !v->IsArray()) return out;
  for (const auto& e : v->GetArray()) {
    if (e.IsString()) out.emplace_back(json::view(e));
  }
  return out;
}

void setStringArray(json::Value& obj, std::string_view key, const std::vector<std::string>& vals, json::Allocator& a) {
  if (vals.empty()) {
    json::removeMember(obj, key);
    return;
  }
  json::Value arr(rapidjson::kArrayType);
  for (const auto& s : vals) arr.PushBack(json::str(s, a), a);
  json::setMember(obj, key, arr, a);
}

// dst[key] = copy of src[key], or removes dst[key] when src has none.
void copyMember(json::Value& dst, const json::Value* src, std::string_view key, json::Allocator& a) {
  const json::Value* v = src ? json::find(*src, key) : nullptr;
  if (!v) {
    json::removeMember(dst, key);
    return;
  }
  json::Value c;
  c.CopyFrom(*v, a);
  json::setMember(dst, key, c, a);
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Object metadata helpers.

const json::Value* metaField(const Object& o, std::string_view key) {
  const json::Value* m = o.metadata();
  return m ? json::find(*m, key) : nullptr;
}
std::vector<std::string> finalizersOf(const Object& o) { return stringArray(metaField(o, "finalizers")); }
void setFinalizers(Object& o, const std::vector<std::string>& f) {
  setStringArray(o.mutableMetadata(), "finalizers", f, o.allocator());
}
bool isDeleting(const Object& o) {
  const json::Value* v = metaField(o, "deletionTimestamp");
  return v && !v->IsNull();
}
std::optional<int64_t> gracePeriodOf(const Object& o) {
  const json::Value* v = metaField(o, "deletionGracePeriodSeconds");
  if (!v || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}
void setMetaInt(Object& o, std::string_view key, int64_t n) {
  json::Value v(static_cast<int64_t>(n));
  json::setMember(o.mutableMetadata(), key, v, o.allocator());
}
void setMetaString(Object& o, std::string_view key, std::string_view s) {
  json::setString(o.mutableMetadata(), key, s, o.allocator());
}
std::vector<std::string> specFinalizersOf(const Object& o) {
  return stringArray(o.spec() ? json::find(*o.spec(), "finalizers") : nullptr);
}

// Go's []string{"a", "b"} rendering (%#v), used in the no-new-finalizers message.
std::string goStringSlice(const std::vector<std::string>& v) {
  std::string s = "[]string{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += goQuote(v[i]);
  }
  return s + "}";
}

std::string jsonStringList(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += goQuote(v[i]);
  }
  return s + "]";
}

// ---------------------------------------------------------------------------------------------
// Field errors (k8s.io/apimachinery/pkg/util/validation/field).

struct FieldError {
  std::string type;  // CauseType
  std::string field;
  std::string body;  // ErrorBody()
  std::string full() const { return field + ": " + body; }
};

FieldError fieldInvalid(std::string field, const std::string& rendered, std::string_view detail) {
  std::string body = "Invalid value: " + rendered;
  if (!detail.empty()) body += ": " + std::string(detail);
  return {"FieldValueInvalid", std::move(field), std::move(body)};
}
FieldError fieldRequired(std::string field, std::string_view detail) {
  std::string body = "Required value";
  if (!detail.empty()) body += ": " + std::string(detail);
  return {"FieldValueRequired", std::move(field), std::move(body)};
}
FieldError fieldForbidden(std::string field, std::string_view detail) {
  return {"FieldValueForbidden", std::move(field), "Forbidden: " + std::string(detail)};
}
FieldError fieldTooLong(std::string field, size_t limit) {
  return {"FieldValueTooLong", std::move(field), "Too long: may not be more than " + std::to_string(limit) + " bytes"};
}

// ---------------------------------------------------------------------------------------------
// Name validation (apimachinery/pkg/api/validation, content.IsDNS1123*, path.IsValidPathSegmentName).

bool lowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool dnsLabelChars(std::string_view s) {
  if (s.empty() || !lowerAlnum(s.front()) || !lowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return lowerAlnum(c) || c == '-'; });
}
bool dnsSubdomainChars(std::string_view s) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!dnsLabelChars(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string maxLen(size_t n) { return "must be no more than " + std::to_string(n) + " bytes"; }

std::vector<std::string> nameErrors(NameRule rule, std::string name, bool prefix) {
  std::vector<std::string> errs;
  if (rule == NameRule::kPathSegment) {
    if (!prefix && (name == "." || name == "..")) {
      errs.push_back("may not be '" + name + "'");
      return errs;
    }
    for (const char* bad : {"/", "%"}) {
      if (name.find(bad) != std::string::npos) errs.push_back(std::string("may not contain '") + bad + "'");
    }
    return errs;
  }
  // maskTrailingDash: a generateName prefix may end in '-'.
  if (prefix && name.size() > 1 && name.back() == '-') name = name.substr(0, name.size() - 2) + "a";
  switch (rule) {
    case NameRule::kDns1123Subdomain:
      if (name.size() > 253) errs.push_back(maxLen(253));
      if (!dnsSubdomainChars(name)) {
        errs.emplace_back(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
      }
      break;
    case NameRule::kDns1123Label:
      if (name.size() > 63) errs.push_back(maxLen(63));
      if (!dnsLabelChars(name)) {
        if (dnsSubdomainChars(name)) {
          errs.emplace_back("must not contain dots");
        } else {
          errs.emplace_back(
              "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
              "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
              "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
        }
      }
      break;
    case NameRule::kDns1035Label:
      if (name.size() > 63) errs.push_back(maxLen(63));
      if (!dnsLabelChars(name) || !(name.front() >= 'a' && name.front() <= 'z')) {
        errs.emplace_back(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
            "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
            "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
      }
      break;
    case NameRule::kPathSegment:
      break;
  }
  return errs;
}

// ValidateObjectMeta minus the parts done elsewhere: name/generateName (create only),
// namespace, labels, annotations, ownerReferences, finalizers.
std::vector<FieldError> validateMeta(const ResourceType& type, const Object& obj, bool create) {
  std::vector<FieldError> errs;
  if (create) {
    std::string gen(obj.generateName());
    if (!gen.empty()) {
      for (auto& m : nameErrors(type.nameRule, gen, true)) errs.push_back(fieldInvalid("metadata.generateName", goQuote(gen), m));
    }
    std::string name(obj.name());
    if (name.empty()) {
      errs.push_back(fieldRequired("metadata.name", "name or generateName is required"));
    } else {
      for (auto& m : nameErrors(type.nameRule, name, false)) errs.push_back(fieldInvalid("metadata.name", goQuote(name), m));
    }
  }
  if (type.namespaced) {
    std::string ns(obj.namespace_());
    if (ns.empty()) {
      errs.push_back(fieldRequired("metadata.namespace", ""));
    } else {
      for (auto& m : nameErrors(NameRule::kDns1123Label, ns, false)) {
        errs.push_back(fieldInvalid("metadata.namespace", goQuote(ns), m));
      }
    }
  }
  if (const json::Value* labels = metaField(obj, "labels"); labels && labels->IsObject()) {
    for (auto it = labels->MemberBegin(); it != labels->MemberEnd(); ++it) {
      std::string k(json::view(it->name));
      for (auto& m : validateLabelKey(k)) errs.push_back(fieldInvalid("metadata.labels", goQuote(k), m));
      std::string v(json::view(it->value));
      for (auto& m : validateLabelValue(v)) errs.push_back(fieldInvalid("metadata.labels", goQuote(v), m));
    }
  }
  if (const json::Value* ann = metaField(obj, "annotations"); ann && ann->IsObject()) {
    size_t total = 0;
    for (auto it = ann->MemberBegin(); it != ann->MemberEnd(); ++it) {
      std::string k(json::view(it->name));
      std::string lower = k;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (auto& m : validateLabelKey(lower)) errs.push_back(fieldInvalid("metadata.annotations", goQuote(k), m));
      total += k.size() + json::view(it->value).size();
    }
    if (total > kAnnotationsLimit) errs.push_back(fieldTooLong("metadata.annotations", kAnnotationsLimit));
  }
  std::vector<std::string> controllers;
  if (const json::Value* refs = metaField(obj, "ownerReferences"); refs && refs->IsArray()) {
    for (const auto& r : refs->GetArray()) {
      std::string apiVersion(json::getString(r, "apiVersion")), kind(json::getString(r, "kind")),
          name(json::getString(r, "name")), uid(json::getString(r, "uid"));
      auto gv = GroupVersionKind::parse(apiVersion, kind);
      if (gv.version.empty()) {
        errs.push_back(fieldInvalid("metadata.ownerReferences.apiVersion", goQuote(apiVersion), "version must not be empty"));
      }
      if (kind.empty()) errs.push_back(fieldInvalid("metadata.ownerReferences.kind", goQuote(kind), "kind must not be empty"));
      if (name.empty()) errs.push_back(fieldInvalid("metadata.ownerReferences.name", goQuote(name), "name must not be empty"));
      if (uid.empty()) errs.push_back(fieldInvalid("metadata.ownerReferences.uid", goQuote(uid), "uid must not be empty"));
      const json::Value* c = json::find(r, "controller");
      if (c && c->IsBool() && c->GetBool()) controllers.push_back(name);
    }
  }
  if (controllers.size() > 1) {
    errs.push_back(fieldInvalid("metadata.ownerReferences", goQuote(controllers[1]),
                                "Only one reference can have Controller set to true. Found \"true\" in references for " +
                                    controllers[0] + " and " + controllers[1]));
  }
  std::vector<std::string> fins = finalizersOf(obj);
  for (const auto& f : fins) {
    for (auto& m : validateLabelKey(f)) errs.push_back(fieldInvalid("metadata.finalizers", goQuote(f), m));
  }
  if (contains(fins, kFinalizerOrphan) && contains(fins, kFinalizerForeground)) {
    errs.push_back(fieldInvalid("metadata.finalizers", jsonStringList(fins),
                                "finalizer orphan and foregroundDeletion cannot be both set"));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Stored records.

struct Rec {
  std::string json;
  uint64_t rv = 0;
  std::string labels;  // "key\0value\0" pairs: selectors match without parsing the JSON
};
using RecPtr = std::shared_ptr<const Rec>;

ObjectJson asJson(const RecPtr& r) { return ObjectJson(r, &r->json); }

// A stored object in the shape `type` serves: itself, or converted for a StorageAlias.
ObjectJson servedAs(const ResourceType& type, ObjectJson stored) {
  if (!type.storage || !stored) return stored;
  auto d = json::parse(*stored);
  if (!d.ok()) return stored;
  type.storage->fromStorage(*d, d->GetAllocator());
  return std::make_shared<const std::string>(json::write(*d));
}

// An incoming object in the storage shape.
void toStorage(const ResourceType& type, Object& obj) {
  if (type.storage) type.storage->toStorage(obj.root(), obj.allocator());
}

class PackedLabels : public LabelSource {
 public:
  explicit PackedLabels(std::string_view p) : p_(p) {}
  std::optional<std::string_view> get(std::string_view key) const override {
    size_t i = 0;
    while (i < p_.size()) {
      size_t ke = p_.find('\0', i);
      size_t ve = p_.find('\0', ke + 1);
      if (p_.substr(i, ke - i) == key) return p_.substr(ke + 1, ve - ke - 1);
      i = ve + 1;
    }
    return std::nullopt;
  }

 private:
  std::string_view p_;
};

std::string packLabels(const Object& o) {
  std::string out;
  const json::Value* labels = metaField(o, "labels");
  if (!labels || !labels->IsObject()) return out;
  for (auto it = labels->MemberBegin(); it != labels->MemberEnd(); ++it) {
    if (!it->value.IsString()) continue;
    out += json::view(it->name);
    out += '\0';
    out += json::view(it->value);
    out += '\0';
  }
  return out;
}

Object parseRec(const Rec& r) {
  auto o = Object::fromJson(r.json);
  return o.ok() ? std::move(o).value() : Object();
}

struct Table;
using ObjRef = std::pair<Table*, std::string>;

struct LogEvent {
  uint64_t rv = 0;
  Table* table = nullptr;
  std::string key;
  WatchEventType type = WatchEventType::kAdded;
  RecPtr obj;   // the new state; for DELETED the last state carrying the deletion's resourceVersion
  RecPtr prev;  // the state before (nullptr for a create)
  mutable RecPtr prevAtRv;  // prev re-stamped with rv: a selector watch's DELETED on "stopped matching"
};

std::string splitNamespace(std::string_view key, std::string* name) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) {
    *name = std::string(key);
    return "";
  }
  *name = std::string(key.substr(slash + 1));
  return std::string(key.substr(0, slash));
}

bool keyInNamespace(std::string_view key, std::string_view ns) {
  return key.size() > ns.size() && key.substr(0, ns.size()) == ns && key[ns.size()] == '/';
}

}  // namespace store_detail

// ---------------------------------------------------------------------------------------------
// Watch.

struct Watch::State {
  std::mutex mu;
  std::condition_variable cv;
  struct Queued {
    WatchEvent ev;
    bool live;
  };
  std::deque<Queued> queue;
  size_t liveQueued = 0;
  bool terminated = false;  // the store will queue nothing more
  std::atomic<bool> stopped{false};

  // The filter; immutable once registered.
  std::string ns;
  LabelSelector labels;
  FieldSelector fields;
  ResourceRegistry::TypePtr type;
  bool bookmarks = false;
  size_t limit = 0;
};

Watch::Watch(std::shared_ptr<State> state) : state_(std::move(state)) {}
Watch::~Watch() { stop(); }

std::optional<WatchEvent> Watch::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  // A zero timeout is a poll: no wait at all (even an already-expired condition-variable wait
  // costs a futex call and a trip through the scheduler, with the caller's locks held).
  if (timeout.count() > 0) {
    state_->cv.wait_for(lock, timeout,
                        [&] { return !state_->queue.empty() || state_->terminated || state_->stopped; });
  }
  if (state_->queue.empty() || state_->stopped) return std::nullopt;
  State::Queued q = std::move(state_->queue.front());
  state_->queue.pop_front();
  if (q.live) --state_->liveQueued;
  return std::move(q.ev);
}

void Watch::stop() {
  std::lock_guard lock(state_->mu);
  state_->stopped = true;
  state_->queue.clear();
  state_->liveQueued = 0;
  state_->cv.notify_all();
}

bool Watch::ended() const {
  std::lock_guard lock(state_->mu);
  return state_->stopped || (state_->terminated && state_->queue.empty());
}

const char* watchEventTypeName(WatchEventType t) {
  switch (t) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "";
}

std::string WatchEvent::toJson() const {
  std::string s = "{\"type\":\"";
  s += watchEventTypeName(type);
  s += "\",\"object\":";
  s += object ? *object : std::string("null");
  s += '}';
  return s;
}

std::string ListResult::toJson(const ResourceType& type) const {
  json::Document meta;
  meta.SetObject();
  auto& a = meta.GetAllocator();
  json::setString(meta, "resourceVersion", resourceVersion, a);
  if (!continueToken.empty()) json::setString(meta, "continue", continueToken, a);
  if (remainingItemCount) {
    json::Value n(static_cast<int64_t>(*remainingItemCount));
    json::setMember(meta, "remainingItemCount", n, a);
  }
  std::string s = "{\"kind\":" + json::write(json::Value(type.listKind().c_str(), a)) +
                  ",\"apiVersion\":" + json::write(json::Value(type.apiVersion().c_str(), a)) +
                  ",\"metadata\":" + json::write(meta) + ",\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) s += ',';
    s += *items[i];
  }
  s += "]}";
  return s;
}

std::string statusObjectJson(const Status& status, const ErrorDetails& d) {
  json::Document doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  json::setString(doc, "kind", "Status", a);
  json::setString(doc, "apiVersion", "v1", a);
  json::Value meta(rapidjson::kObjectType);
  if (!d.continueToken.empty()) meta.AddMember("continue", json::str(d.continueToken, a), a);
  doc.AddMember("metadata", meta, a);
  if (status.isOk()) {
    json::setString(doc, "status", "Success", a);
  } else {
    json::setString(doc, "status", "Failure", a);
    json::setString(doc, "message", status.message(), a);
    std::string reason = d.reason.empty() ? reasonFor(status.code()) : d.reason;
    if (!reason.empty()) json::setString(doc, "reason", reason, a);
  }
  bool hasDetails = !d.name.empty() || !d.group.empty() || !d.kind.empty() || !d.uid.empty() || !d.causes.empty() ||
                    d.retryAfterSeconds > 0;
  if (hasDetails) {
    json::Value det(rapidjson::kObjectType);
    if (!d.name.empty()) det.AddMember("name", json::str(d.name, a), a);
    if (!d.group.empty()) det.AddMember("group", json::str(d.group, a), a);
    if (!d.kind.empty()) det.AddMember("kind", json::str(d.kind, a), a);
    if (!d.uid.empty()) det.AddMember("uid", json::str(d.uid, a), a);
    if (!d.causes.empty()) {
      json::Value causes(rapidjson::kArrayType);
      for (const auto& c : d.causes) {
        json::Value cv(rapidjson::kObjectType);
        if (!c.type.empty()) cv.AddMember("reason", json::str(c.type, a), a);
        if (!c.message.empty()) cv.AddMember("message", json::str(c.message, a), a);
        if (!c.field.empty()) cv.AddMember("field", json::str(c.field, a), a);
        causes.PushBack(cv, a);
      }
      det.AddMember("causes", causes, a);
    }
    if (d.retryAfterSeconds > 0) det.AddMember("retryAfterSeconds", d.retryAfterSeconds, a);
    doc.AddMember("details", det, a);
  }
  int code = d.code ? d.code : (status.isOk() ? 200 : httpStatusFor(status.code()));
  doc.AddMember("code", code, a);
  return json::write(doc);
}

// ---------------------------------------------------------------------------------------------
// Store state.

namespace store_detail {

struct Table {
  std::string group;
  std::string resource;
  std::string name;  // GroupResource.String(): "deployments.apps"
  bool namespaced = true;
  std::map<std::string, RecPtr, std::less<>> objects;  // "namespace/name" or "name", etcd key order
  std::vector<std::shared_ptr<Watch::State>> watchers;
  ResourceRegistry::TypePtr fallbackType;  // when the registry no longer serves it
};

std::string groupResourceString(std::string_view group, std::string_view resource) {
  std::string s(resource);
  if (!group.empty()) {
    s += '.';
    s += group;
  }
  return s;
}

// Error builders: the apiserver's messages (k8s.io/apimachinery/pkg/api/errors) and details.
struct Errors {
  ErrorDetails& d;

  Status set(StatusCode code, int http, const char* reason, std::string msg) {
    d.code = http;
    d.reason = reason;
    return Status(code, std::move(msg));
  }
  void resource(const Table& t, std::string_view name) {
    d.group = t.group;
    d.kind = t.resource;
    d.name = std::string(name);
  }
  Status notFound(const Table& t, std::string_view name) {
    resource(t, name);
    return set(StatusCode::kNotFound, 404, "NotFound", t.name + " " + goQuote(name) + " not found");
  }
  Status namespaceNotFound(std::string_view ns) {
    d.kind = "namespaces";
    d.name = std::string(ns);
    return set(StatusCode::kNotFound, 404, "NotFound", "namespaces " + goQuote(ns) + " not found");
  }
  Status notServed() {
    return set(StatusCode::kNotFound, 404, "NotFound", "the server could not find the requested resource");
  }
  Status alreadyExists(const Table& t, std::string_view name) {
    resource(t, name);
    return set(StatusCode::kAlreadyExists, 409, "AlreadyExists", t.name + " " + goQuote(name) + " already exists");
  }
  Status conflict(const Table& t, std::string_view name, std::string_view why) {
    resource(t, name);
    return set(StatusCode::kAborted, 409, "Conflict",
               "Operation cannot be fulfilled on " + t.name + " " + goQuote(name) + ": " + std::string(why));
  }
  Status forbidden(const Table& t, std::string_view name, std::string_view why) {
    resource(t, name);
    std::string msg = t.name + (name.empty() ? std::string() : " " + goQuote(name)) + " is forbidden: " + std::string(why);
    return set(StatusCode::kPermissionDenied, 403, "Forbidden", msg);
  }
  Status invalid(const ResourceType& type, std::string_view name, const std::vector<FieldError>& errs) {
    d.group = type.group;
    d.kind = type.kind;
    d.name = std::string(name);
    std::vector<std::string> msgs;
    for (const auto& e : errs) {
      d.causes.push_back({e.type, e.body, e.field});
      std::string m = e.full();
      if (!contains(msgs, m)) msgs.push_back(m);
    }
    std::string agg = msgs.size() == 1 ? msgs[0] : "[" + join(msgs, ", ") + "]";
    return set(StatusCode::kInvalidArgument, 422, "Invalid", type.groupKind() + " " + goQuote(name) + " is invalid: " + agg);
  }
  Status badRequest(std::string msg) { return set(StatusCode::kInvalidArgument, 400, "BadRequest", std::move(msg)); }
  Status expired(std::string msg) { return set(StatusCode::kOutOfRange, 410, "Expired", std::move(msg)); }
  Status tooLarge() {
    return set(StatusCode::kPayloadTooLarge, 413, "RequestEntityTooLarge",
               "Request entity too large: etcdserver: request is too large");
  }
  Status internal(std::string msg) { return set(StatusCode::kInternal, 500, "InternalError", std::move(msg)); }
  Status tooLargeResourceVersion(uint64_t want, uint64_t have) {
    d.causes.push_back({"ResourceVersionTooLarge", "Too large resource version", ""});
    d.retryAfterSeconds = 1;
    return set(StatusCode::kDeadlineExceeded, 504, "Timeout",
               "Too large resource version: " + std::to_string(want) + ", current: " + std::to_string(have));
  }
};

Status invalidResourceVersion(Errors& e, std::string_view rv) {
  return e.badRequest("resourceVersion: Invalid value: " + goQuote(rv) + ": strconv.ParseUint: parsing " + goQuote(rv) +
                      ": invalid syntax");
}

}  // namespace store_detail

struct Store::State {
  std::shared_ptr<const ResourceRegistry> registry;
  StoreOptions opts;
  mutable std::shared_mutex mu;
  std::unordered_map<std::string, std::unique_ptr<Table>> tables;  // by GroupResource string
  uint64_t rv = 0;
  std::deque<LogEvent> history;
  uint64_t floor = 0;  // every event with rv > floor is in `history`
  std::mt19937_64 rng;

  // Garbage collector and namespace controller bookkeeping.
  std::unordered_map<std::string, std::set<ObjRef>> dependents;  // owner uid → dependents
  std::set<ObjRef> gcPending;           // deleting, with an orphan or foregroundDeletion finalizer
  std::set<std::string> ownersGone;     // uids whose dependents must be re-examined
  std::set<std::string> terminating;    // namespaces being deleted

  // ---- clock, ids

  SysClock::time_point now() const { return opts.clock ? opts.clock() : SysClock::now(); }

  std::string newUid() {
    uint64_t a = rng(), b = rng();
    a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, a >> 32,
                  (a >> 16) & 0xffff, a & 0xffff, b >> 48, static_cast<uint64_t>(b & 0xffffffffffffULL));
    return buf;
  }

  // names.SimpleNameGenerator: base (cut to 58 bytes) + 5 random characters.
  std::string generateName(std::string_view base) {
    static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    std::string out(base.substr(0, std::min<size_t>(base.size(), 58)));
    for (int i = 0; i < 5; ++i) out += kAlphabet[rng() % (sizeof kAlphabet - 1)];
    return out;
  }

  // ---- tables and types

  Table* findTable(std::string_view group, std::string_view resource) const {
    auto it = tables.find(groupResourceString(group, resource));
    return it == tables.end() ? nullptr : it->second.get();
  }

  Table* ensureTable(std::string_view group, std::string_view resource, bool namespaced) {
    std::string key = groupResourceString(group, resource);
    auto& slot = tables[key];
    if (!slot) {
      slot = std::make_unique<Table>();
      slot->group = std::string(group);
      slot->resource = std::string(resource);
      slot->name = key;
      slot->namespaced = namespaced;
    }
    return slot.get();
  }

  ResourceRegistry::TypePtr typeFor(Table& t) {
    if (auto ty = registry->findGroupResource(t.group, t.resource)) return ty;
    if (!t.fallbackType) {
      auto ty = std::make_shared<ResourceType>();
      ty->group = t.group;
      ty->plural = t.resource;
      ty->kind = t.resource;
      ty->version = "v1";
      ty->namespaced = t.namespaced;
      t.fallbackType = ty;
    }
    return t.fallbackType;
  }

  // A request's resource: the type it names (its shape, field labels and bookmarks) and the
  // type whose table and storage rules hold its objects — the same one unless the resource is a
  // StorageAlias. Both null when not served.
  std::pair<ResourceRegistry::TypePtr, ResourceRegistry::TypePtr> resolve(const GroupResource& gr) const {
    auto served = registry->findGroupResource(gr.group, gr.resource);
    if (!served || !served->storage) return {served, served};
    auto stored = registry->findGroupResource(served->storage->group, served->storage->resource);
    if (!stored) return {nullptr, nullptr};
    return {served, stored};
  }

  static bool isNamespaceTable(const Table& t) { return t.group.empty() && t.resource == "namespaces"; }
  static bool isPodTable(const Table& t) { return t.group.empty() && t.resource == "pods"; }

  Table* namespacesTable() { return ensureTable("", "namespaces", false); }

  RecPtr lookup(const Table& t, std::string_view key) const {
    auto it = t.objects.find(key);
    return it == t.objects.end() ? nullptr : it->second;
  }

  static std::string keyFor(const Table& t, std::string_view ns, std::string_view name) {
    if (!t.namespaced) return std::string(name);
    std::string k(ns);
    k += '/';
    k += name;
    return k;
  }

  // ---- history and watch dispatch

  void appendHistory(LogEvent ev) {
    history.push_back(std::move(ev));
    while (history.size() > opts.historyWindow && !history.empty()) {
      floor = history.front().rv;
      history.pop_front();
    }
  }

  static bool passes(const Watch::State& w, const Table& t, std::string_view key, const Rec& rec) {
    if (!w.ns.empty() && !keyInNamespace(key, w.ns)) return false;
    if (!w.labels.matches(PackedLabels(rec.labels))) return false;
    return matchesFields(*w.type, w.fields, t, key, rec);
  }

  static bool matchesFields(const ResourceType& type, const FieldSelector& fs, const Table& t, std::string_view key,
                            const Rec& rec) {
    if (fs.empty()) return true;
    std::string name;
    std::string ns = t.namespaced ? splitNamespace(key, &name) : (name = std::string(key), std::string());
    std::optional<json::Document> doc;
    return fs.matches([&](std::string_view label) -> std::string {
      if (label == "metadata.name") return name;
      if (label == "metadata.namespace") return ns;
      if (!doc) {
        auto parsed = json::parse(rec.json);
        doc.emplace();
        if (parsed.ok()) doc->Swap(*parsed);
      }
      return fieldLabelValue(type, *doc, label);
    });
  }

  static RecPtr restamp(const RecPtr& r, uint64_t rv) {
    Object o = parseRec(*r);
    setMetaString(o, "resourceVersion", std::to_string(rv));
    auto out = std::make_shared<Rec>();
    out->json = o.toJson();
    out->rv = rv;
    out->labels = r->labels;
    return out;
  }

  // The event a watcher sees for a history event (the watch cache's convertToWatchEvent).
  // Objects come in the watcher's shape (converted when it watches a StorageAlias).
  static std::optional<WatchEvent> transition(const Watch::State& w, const LogEvent& ev) {
    bool cur = ev.type != WatchEventType::kDeleted && passes(w, *ev.table, ev.key, *ev.obj);
    bool old = ev.prev && passes(w, *ev.table, ev.key, *ev.prev);
    if (!cur && !old) return std::nullopt;
    const ResourceType& type = *w.type;
    if (cur) return WatchEvent{old ? WatchEventType::kModified : WatchEventType::kAdded, servedAs(type, asJson(ev.obj))};
    if (ev.type == WatchEventType::kDeleted) return WatchEvent{WatchEventType::kDeleted, servedAs(type, asJson(ev.obj))};
    // Stopped matching: DELETED with the previous content at this event's resourceVersion.
    if (!ev.prevAtRv) ev.prevAtRv = restamp(ev.prev, ev.rv);
    return WatchEvent{WatchEventType::kDeleted, servedAs(type, asJson(ev.prevAtRv))};
  }

  static ObjectJson overflowError(size_t limit) {
    ErrorDetails d;
    d.code = 429;
    d.reason = "TooManyRequests";
    d.retryAfterSeconds = 1;
    Status st(StatusCode::kResourceExhausted, "the watcher fell too far behind (" + std::to_string(limit) +
                                                  " events not read): restart the watch from the last "
                                                  "resourceVersion received");
    return std::make_shared<const std::string>(statusObjectJson(st, d));
  }

  // Queues an event; false when the watcher is gone and should be dropped.
  static bool push(Watch::State& w, WatchEvent ev, bool live) {
    std::lock_guard lock(w.mu);
    if (w.stopped || w.terminated) return false;
    if (live && w.liveQueued >= w.limit) {
      w.queue.push_back({WatchEvent{WatchEventType::kError, overflowError(w.limit)}, false});
      w.terminated = true;
      w.cv.notify_all();
      return false;
    }
    w.queue.push_back({std::move(ev), live});
    if (live) ++w.liveQueued;
    w.cv.notify_one();
    return true;
  }

  static void terminate(Watch::State& w, ObjectJson error) {
    std::lock_guard lock(w.mu);
    if (w.terminated) return;
    if (error) w.queue.push_back({WatchEvent{WatchEventType::kError, std::move(error)}, false});
    w.terminated = true;
    w.cv.notify_all();
  }

  void dispatch(const LogEvent& ev) {
    auto& ws = ev.table->watchers;
    for (size_t i = 0; i < ws.size();) {
      Watch::State& w = *ws[i];
      bool keep = !w.stopped;
      if (keep) {
        if (auto out = transition(w, ev)) keep = push(w, std::move(*out), true);
      }
      if (keep) {
        ++i;
      } else {
        ws[i] = std::move(ws.back());
        ws.pop_back();
      }
    }
  }

  // ---- indexes

  static std::vector<OwnerReference> ownersOf(const Object& o) { return o.ownerReferences(); }

  void reindex(Table& t, const std::string& key, const Object* before, const Object* after) {
    ObjRef ref{&t, key};
    std::set<std::string> oldUids, newUids;
    if (before) {
      for (const auto& r : ownersOf(*before)) oldUids.insert(r.uid);
    }
    if (after) {
      for (const auto& r : ownersOf(*after)) {
        newUids.insert(r.uid);
        // A reference to an owner that does not exist (any more): the collector deletes the
        // dependent, as the GC does for owners it finds absent.
        if (!oldUids.count(r.uid) && !ownerPresent(r, t.namespaced ? std::string(after->namespace_()) : "")) {
          ownersGone.insert(r.uid);
        }
      }
    }
    for (const auto& u : oldUids) {
      if (newUids.count(u)) continue;
      auto it = dependents.find(u);
      if (it != dependents.end()) {
        it->second.erase(ref);
        if (it->second.empty()) dependents.erase(it);
      }
    }
    for (const auto& u : newUids) dependents[u].insert(ref);

    bool pending = false;
    if (after && isDeleting(*after)) {
      auto f = finalizersOf(*after);
      pending = contains(f, kFinalizerOrphan) || contains(f, kFinalizerForeground);
    }
    if (pending) {
      gcPending.insert(ref);
    } else {
      gcPending.erase(ref);
    }
    if (isNamespaceTable(t)) {
      if (after && isDeleting(*after)) {
        terminating.insert(key);
      } else {
        terminating.erase(key);
      }
    }
    if (before && !after) {
      std::string uid(before->uid());
      if (!uid.empty() && dependents.count(uid)) ownersGone.insert(uid);
    }
  }

  // Whether the owner an owner reference names exists with that uid.
  bool ownerPresent(const OwnerReference& r, const std::string& depNamespace) {
    RecPtr rec = findOwner(r, depNamespace);
    return rec != nullptr;
  }

  RecPtr findOwner(const OwnerReference& r, const std::string& depNamespace, Object* parsed = nullptr) {
    auto gvk = GroupVersionKind::parse(r.apiVersion, r.kind);
    auto type = registry->findGroupKind(gvk.group, gvk.kind);
    if (!type) return nullptr;
    Table* t = findTable(type->group, type->plural);
    if (!t) return nullptr;
    RecPtr rec = lookup(*t, type->namespaced ? depNamespace + "/" + r.name : r.name);
    if (!rec) return nullptr;
    Object o = parseRec(*rec);
    if (o.uid() != r.uid) return nullptr;
    if (parsed) *parsed = std::move(o);
    return rec;
  }

  // ---- commits: every write goes through here (one resourceVersion, one event)

  // Stores `obj` (its resourceVersion is set here) at `key`. PayloadTooLarge without
  // consuming a resourceVersion when the serialized object is over the limit.
  StatusOr<RecPtr> commit(Table& t, const std::string& key, Object& obj, const RecPtr& prev, const Object* prevObj,
                          Errors& e) {
    uint64_t next = rv + 1;
    setMetaString(obj, "resourceVersion", std::to_string(next));
    auto rec = std::make_shared<Rec>();
    rec->json = obj.toJson();
    if (rec->json.size() > opts.maxObjectBytes) return e.tooLarge();
    rec->rv = next;
    rec->labels = packLabels(obj);
    rv = next;
    t.objects[key] = rec;
    std::optional<Object> parsedPrev;
    if (prev && !prevObj) {
      parsedPrev = parseRec(*prev);
      prevObj = &*parsedPrev;
    }
    reindex(t, key, prevObj, &obj);
    LogEvent ev{next, &t, key, prev ? WatchEventType::kModified : WatchEventType::kAdded, rec, prev, nullptr};
    dispatch(ev);
    appendHistory(std::move(ev));
    return RecPtr(rec);
  }

  // Removes `key`; the DELETED event carries the last state at the deletion's resourceVersion.
  RecPtr commitDelete(Table& t, const std::string& key, const RecPtr& prev, const Object* prevObj) {
    uint64_t next = rv + 1;
    Object before = prevObj ? *prevObj : parseRec(*prev);
    Object last = before;
    setMetaString(last, "resourceVersion", std::to_string(next));
    auto rec = std::make_shared<Rec>();
    rec->json = last.toJson();
    rec->rv = next;
    rec->labels = prev->labels;
    rv = next;
    t.objects.erase(key);
    reindex(t, key, &before, nullptr);
    LogEvent ev{next, &t, key, WatchEventType::kDeleted, rec, prev, nullptr};
    dispatch(ev);
    appendHistory(std::move(ev));
    return rec;
  }

  // Declarations of the operations (defined below).
  StatusOr<RecPtr> createLocked(const ResourceType& type, Table& t, std::string_view reqNs, Object obj, bool dryRun,
                                Errors& e);
  StatusOr<UpdateResult> updateLocked(const ResourceType& type, Table& t, std::string_view reqNs, std::string_view name,
                                      Object obj, const UpdateOptions& opts, Errors& e);
  StatusOr<DeleteResult> deleteLocked(const ResourceType& type, Table& t, const std::string& key,
                                      const DeleteOptions& opts, Errors& e, bool userRequest);
  StatusOr<ListResult> listLocked(const ResourceType& type, const Table* t, std::string_view ns,
                                  const ListOptions& opts, Errors& e) const;
  // The object at `key` loses `finalizer`; it is deleted when that was the last one.
  void removeFinalizerLocked(Table& t, const std::string& key, std::string_view finalizer);
  bool collectOnce();
  bool processDependent(Table& t, const std::string& key, bool* blocksOwner, const std::string& ownerUid);
  bool namespaceStep(const std::string& ns);
  void collectGarbage();
  void afterWrite() {
    if (opts.synchronousGarbageCollection) collectGarbage();
  }
};

// ---------------------------------------------------------------------------------------------
// create

StatusOr<RecPtr> Store::State::createLocked(const ResourceType& type, Table& t, std::string_view reqNs, Object obj,
                                            bool dryRun, Errors& e) {
  if (obj.apiVersion().empty()) obj.setApiVersion(type.apiVersion());
  if (obj.kind().empty()) obj.setKind(type.kind);
  json::Value& meta = obj.mutableMetadata();
  auto& a = obj.allocator();

  // The storage layer refuses objects that carry a resourceVersion.
  if (!obj.resourceVersion().empty()) return e.internal("resourceVersion should not be set on objects to be created");

  // EnsureObjectNamespaceMatchesRequestNamespace.
  if (type.namespaced) {
    std::string objNs(obj.namespace_());
    if (objNs.empty()) {
      if (!reqNs.empty()) obj.setNamespace(reqNs);
    } else if (!reqNs.empty() && objNs != reqNs) {
      return e.badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
  } else {
    json::removeMember(meta, "namespace");
  }
  std::string ns(type.namespaced ? obj.namespace_() : std::string_view());
  std::string displayName(obj.name().empty() ? obj.generateName() : obj.name());

  // NamespaceLifecycle admission (before validation, as a mutating plugin).
  if (type.namespaced && !ns.empty()) {
    RecPtr nsRec = lookup(*namespacesTable(), ns);
    if (!nsRec) return e.namespaceNotFound(ns);
    Object nsObj = parseRec(*nsRec);
    const json::Value* phase = nsObj.status() ? json::find(*nsObj.status(), "phase") : nullptr;
    if (isDeleting(nsObj) || (phase && json::view(*phase) == "Terminating")) {
      Status st = e.forbidden(t, displayName,
                              "unable to create new content in namespace " + ns + " because it is being terminated");
      e.d.causes.push_back({"NamespaceTerminating", "namespace " + ns + " is being terminated", "metadata.namespace"});
      return st;
    }
  }

  // rest.BeforeCreate: system fields, then the kind's PrepareForCreate.
  json::removeMember(meta, "deletionTimestamp");
  json::removeMember(meta, "deletionGracePeriodSeconds");
  json::removeMember(meta, "selfLink");
  if (type.hasStatusSubresource) {
    if (type.initialStatus.empty()) {
      json::removeMember(obj.root(), "status");
    } else {
      auto st = json::parse(type.initialStatus);
      if (st.ok()) {
        json::Value v;
        v.CopyFrom(*st, a);
        json::setMember(obj.root(), "status", v, a);
      }
    }
  }
  if (type.generation != GenerationPolicy::kNone) {
    setMetaInt(obj, "generation", 1);
  } else {
    json::removeMember(meta, "generation");
  }
  if (isNamespaceTable(t)) {
    // The namespace strategy requires the "kubernetes" finalizer; defaulting labels the name.
    json::Value& spec = json::ensureObject(obj.root(), "spec", a);
    auto fins = stringArray(json::find(spec, "finalizers"));
    if (!contains(fins, kFinalizerKubernetes)) fins.emplace_back(kFinalizerKubernetes);
    setStringArray(spec, "finalizers", fins, a);
    if (!obj.name().empty()) obj.setLabel("kubernetes.io/metadata.name", obj.name());
  }
  setMetaString(obj, "uid", newUid());
  setMetaString(obj, "creationTimestamp", formatRfc3339(now()));

  std::string generateBase(obj.generateName());
  bool generated = obj.name().empty() && !generateBase.empty();
  for (int attempt = 0;; ++attempt) {
    if (generated) {
      obj.setName(generateName(generateBase));
      if (isNamespaceTable(t)) obj.setLabel("kubernetes.io/metadata.name", obj.name());
    }
    if (attempt == 0) {
      auto errs = validateMeta(type, obj, true);
      if (!errs.empty()) return e.invalid(type, obj.name().empty() ? generateBase : std::string(obj.name()), errs);
    }
    std::string key = keyFor(t, ns, obj.name());
    if (!lookup(t, key)) {
      if (dryRun) {
        auto rec = std::make_shared<Rec>();
        rec->json = obj.toJson();
        if (rec->json.size() > opts.maxObjectBytes) return e.tooLarge();
        rec->labels = packLabels(obj);
        return RecPtr(rec);
      }
      return commit(t, key, obj, nullptr, nullptr, e);
    }
    if (!generated) return e.alreadyExists(t, obj.name());
    if (attempt + 1 >= kGenerateNameAttempts) {
      e.resource(t, obj.name());
      return e.set(StatusCode::kDeadlineExceeded, 504, "ServerTimeout",
                   "The POST operation against " + t.name + " could not be completed at this time, please try again.");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// update

namespace store_detail {

// Whether the write changes what metadata.generation tracks for the kind.
bool generationChanges(const ResourceType& type, const Object& before, const Object& after) {
  switch (type.generation) {
    case GenerationPolicy::kNone:
      return false;
    case GenerationPolicy::kSpecAndAnnotations:
      return !optionalEqual(json::find(before.root(), "spec"), json::find(after.root(), "spec")) ||
             !optionalEqual(metaField(before, "annotations"), metaField(after, "annotations"));
    case GenerationPolicy::kAllButMetadata: {
      auto relevant = [&](std::string_view k) {
        return k != "metadata" && !(type.hasStatusSubresource && k == "status");
      };
      for (const json::Value* side : {&before.root(), &after.root()}) {
        const json::Value* other = side == &before.root() ? &after.root() : &before.root();
        for (auto it = side->MemberBegin(); it != side->MemberEnd(); ++it) {
          std::string_view k = json::view(it->name);
          if (!relevant(k)) continue;
          if (!optionalEqual(&it->value, json::find(*other, k))) return true;
        }
      }
      return false;
    }
  }
  return false;
}

}  // namespace store_detail

StatusOr<UpdateResult> Store::State::updateLocked(const ResourceType& type, Table& t, std::string_view reqNs,
                                                  std::string_view name, Object obj, const UpdateOptions& uo,
                                                  Errors& e) {
  // The handler's checkName: the body may omit name and namespace, not contradict the URL.
  if (!obj.name().empty() && obj.name() != name) {
    return e.badRequest("the name of the object (" + std::string(obj.name()) + ") does not match the name on the URL (" +
                        std::string(name) + ")");
  }
  if (obj.name().empty()) obj.setName(name);
  std::string ns;
  if (type.namespaced) {
    std::string objNs(obj.namespace_());
    if (!objNs.empty() && !reqNs.empty() && objNs != reqNs) {
      return e.badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    ns = reqNs.empty() ? objNs : std::string(reqNs);
    obj.setNamespace(ns);
  } else {
    json::removeMember(obj.mutableMetadata(), "namespace");
  }
  std::string key = keyFor(t, ns, name);
  RecPtr cur = lookup(t, key);
  if (!cur) {
    if ((!type.allowCreateOnUpdate && !uo.allowCreate) || uo.subresource != Subresource::kNone) {
      return e.notFound(t, name);
    }
    json::removeMember(obj.mutableMetadata(), "resourceVersion");
    auto created = createLocked(type, t, ns, std::move(obj), uo.dryRun, e);
    if (!created.ok()) return created.status();
    return UpdateResult{asJson(*created), true, false};
  }
  Object old = parseRec(*cur);

  // Optimistic concurrency: an empty resourceVersion is an unconditional update.
  std::string wantRv(obj.resourceVersion());
  if (!wantRv.empty()) {
    auto parsed = parseUint(wantRv);
    if (!parsed) return invalidResourceVersion(e, wantRv);
    if (*parsed != cur->rv) return e.conflict(t, name, kOptimisticLockMsg);
  }

  Object next;
  switch (uo.subresource) {
    case Subresource::kStatus: {
      // Only .status (and the managedFields tracking it) come from the request.
      next = old;
      auto& na = next.allocator();
      copyMember(next.root(), &obj.root(), "status", na);
      copyMember(next.mutableMetadata(), obj.metadata(), "managedFields", na);
      break;
    }
    case Subresource::kFinalize: {
      next = old;
      auto& na = next.allocator();
      json::Value& spec = json::ensureObject(next.root(), "spec", na);
      setStringArray(spec, "finalizers", specFinalizersOf(obj), na);
      break;
    }
    case Subresource::kNone: {
      next = std::move(obj);
      if (type.hasStatusSubresource) copyMember(next.root(), &old.root(), "status", next.allocator());
      if (isNamespaceTable(t)) {
        json::Value& spec = json::ensureObject(next.root(), "spec", next.allocator());
        setStringArray(spec, "finalizers", specFinalizersOf(old), next.allocator());
        next.setLabel("kubernetes.io/metadata.name", name);
      }
      break;
    }
  }
  if (next.apiVersion().empty()) copyMember(next.root(), &old.root(), "apiVersion", next.allocator());
  if (next.kind().empty()) copyMember(next.root(), &old.root(), "kind", next.allocator());

  // rest.BeforeUpdate: system fields come from the stored object.
  json::Value& nm = next.mutableMetadata();
  auto& na = next.allocator();
  copyMember(nm, old.metadata(), "generation", na);
  copyMember(nm, old.metadata(), "creationTimestamp", na);
  copyMember(nm, old.metadata(), "deletionTimestamp", na);
  copyMember(nm, old.metadata(), "deletionGracePeriodSeconds", na);
  copyMember(nm, old.metadata(), "resourceVersion", na);
  json::removeMember(nm, "selfLink");
  std::vector<FieldError> errs;
  if (next.uid().empty()) {
    copyMember(nm, old.metadata(), "uid", na);
  } else if (next.uid() != old.uid()) {
    errs.push_back(fieldInvalid("metadata.uid", goQuote(next.uid()), "field is immutable"));
  }
  for (auto& fe : validateMeta(type, next, false)) errs.push_back(std::move(fe));
  if (isDeleting(old)) {
    auto oldF = finalizersOf(old);
    std::vector<std::string> extra;
    for (const auto& f : finalizersOf(next)) {
      if (!contains(oldF, f) && !contains(extra, f)) extra.push_back(f);
    }
    std::sort(extra.begin(), extra.end());
    if (!extra.empty()) {
      errs.push_back(fieldForbidden("metadata.finalizers",
                                    "no new finalizers can be added if the object is being deleted, found new "
                                    "finalizers " + goStringSlice(extra)));
    }
  }
  if (!errs.empty()) return e.invalid(type, name, errs);

  if (uo.subresource == Subresource::kNone && generationChanges(type, old, next)) {
    setMetaInt(next, "generation", old.generation() + 1);
  }

  // The last finalizer of an object being deleted went away: delete it now
  // (ShouldDeleteDuringUpdate; namespaces also wait for spec.finalizers).
  bool oldGraceOver = !gracePeriodOf(old) || *gracePeriodOf(old) == 0;
  if (isDeleting(old) && !finalizersOf(old).empty() && finalizersOf(next).empty() && oldGraceOver &&
      !(isNamespaceTable(t) && !specFinalizersOf(next).empty())) {
    if (uo.dryRun) return UpdateResult{std::make_shared<const std::string>(next.toJson()), false, true};
    commitDelete(t, key, cur, &old);
    return UpdateResult{std::make_shared<const std::string>(next.toJson()), false, true};
  }

  // A write that changes nothing is not a write: same resourceVersion, no event.
  if (jsonEqual(next.root(), old.root())) return UpdateResult{asJson(cur), false, false};
  if (uo.dryRun) {
    std::string out = next.toJson();
    if (out.size() > opts.maxObjectBytes) return e.tooLarge();
    return UpdateResult{std::make_shared<const std::string>(std::move(out)), false, false};
  }
  auto rec = commit(t, key, next, cur, &old, e);
  if (!rec.ok()) return rec.status();
  return UpdateResult{asJson(*rec), false, false};
}

// ---------------------------------------------------------------------------------------------
// delete

namespace store_detail {

// The pod strategy's CheckGracefulDelete: the grace period a pod deletion gets.
int64_t podGracePeriod(const Object& pod, const DeleteOptions& o) {
  int64_t period = 30;  // spec.terminationGracePeriodSeconds defaults to 30
  if (o.gracePeriodSeconds) {
    period = *o.gracePeriodSeconds;
  } else if (const json::Value* g = pod.spec() ? json::find(*pod.spec(), "terminationGracePeriodSeconds") : nullptr;
             g && g->IsInt64()) {
    period = g->GetInt64();
  }
  const json::Value* node = pod.spec() ? json::find(*pod.spec(), "nodeName") : nullptr;
  if (!node || json::view(*node).empty()) period = 0;  // never scheduled
  const json::Value* phase = pod.status() ? json::find(*pod.status(), "phase") : nullptr;
  if (phase && (json::view(*phase) == "Failed" || json::view(*phase) == "Succeeded")) period = 0;
  if (period < 0) period = 1;
  return period;
}

// deletionFinalizersForGarbageCollection: the finalizer list the propagation policy asks for.
std::vector<std::string> gcFinalizers(const std::vector<std::string>& current, PropagationPolicy p) {
  bool orphan = false, foreground = false;
  switch (p) {
    case PropagationPolicy::kOrphan: orphan = true; break;
    case PropagationPolicy::kForeground: foreground = true; break;
    case PropagationPolicy::kBackground: break;
    case PropagationPolicy::kDefault:
      // Finalizers already on the object decide; the default policy is Background.
      for (const auto& f : current) {
        if (f == kFinalizerOrphan) {
          orphan = true;
          break;
        }
        if (f == kFinalizerForeground) {
          foreground = true;
          break;
        }
      }
      break;
  }
  std::vector<std::string> out;
  for (const auto& f : current) {
    if (f != kFinalizerOrphan && f != kFinalizerForeground) out.push_back(f);
  }
  if (orphan) out.emplace_back(kFinalizerOrphan);
  if (foreground) out.emplace_back(kFinalizerForeground);
  return out;
}

bool sameSet(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return a == b;
}

std::string etcdKey(const ResourceType& type, const Table& t, const std::string& key) {
  // Built-in resources live under /registry/<resource>, custom ones under /registry/<group>/<resource>.
  std::string prefix = "/registry/";
  if (type.custom) prefix += t.group + "/";
  return prefix + t.resource + "/" + key;
}

}  // namespace store_detail

StatusOr<DeleteResult> Store::State::deleteLocked(const ResourceType& type, Table& t, const std::string& key,
                                                  const DeleteOptions& o, Errors& e, bool userRequest) {
  RecPtr cur = lookup(t, key);
  std::string name;
  if (t.namespaced) {
    splitNamespace(key, &name);
  } else {
    name = key;
  }
  if (!cur) return e.notFound(t, name);
  bool isNs = isNamespaceTable(t);
  if (userRequest && isNs && contains(opts.immortalNamespaces, name)) {
    return e.forbidden(t, name, "this namespace may not be deleted");
  }
  Object obj = parseRec(*cur);

  // Preconditions fail as storage.NewInvalidObjError, which the registry answers as a Conflict.
  auto preconditionFailed = [&](const std::string& what) {
    return e.conflict(t, name,
                      "StorageError: invalid object, Code: 4, Key: " + etcdKey(type, t, key) +
                          ", ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: " + what);
  };
  if (o.preconditionUid && *o.preconditionUid != obj.uid()) {
    return preconditionFailed("UID in precondition: " + *o.preconditionUid +
                              ", UID in object meta: " + std::string(obj.uid()));
  }
  if (o.preconditionResourceVersion && *o.preconditionResourceVersion != obj.resourceVersion()) {
    return preconditionFailed("ResourceVersion in precondition: " + *o.preconditionResourceVersion +
                              ", ResourceVersion in object meta: " + std::string(obj.resourceVersion()));
  }

  auto deleteNow = [&]() -> StatusOr<DeleteResult> {
    if (!o.dryRun) commitDelete(t, key, cur, &obj);
    return DeleteResult{asJson(cur), true};
  };
  auto write = [&](Object& next) -> StatusOr<DeleteResult> {
    if (jsonEqual(next.root(), obj.root())) return DeleteResult{asJson(cur), false};
    if (o.dryRun) return DeleteResult{std::make_shared<const std::string>(next.toJson()), false};
    auto rec = commit(t, key, next, cur, &obj, e);
    if (!rec.ok()) return rec.status();
    return DeleteResult{asJson(*rec), false};
  };
  std::string nowStr = formatRfc3339(now());

  // Namespaces: the first delete only marks them Terminating; the namespace controller
  // (namespaceStep) empties them, then finalizes and deletes them.
  if (isNs && (!isDeleting(obj) || !specFinalizersOf(obj).empty())) {
    if (isDeleting(obj)) return DeleteResult{asJson(cur), false};
    Object next = obj;
    setMetaString(next, "deletionTimestamp", nowStr);
    json::Value& st = json::ensureObject(next.root(), "status", next.allocator());
    json::setString(st, "phase", "Terminating", next.allocator());
    setFinalizers(next, gcFinalizers(finalizersOf(obj), o.propagation));
    return write(next);
  }

  // Graceful deletion (pods): BeforeDelete.
  bool graceful = false;
  int64_t lastGrace = 0;
  Object next = obj;
  if (isPodTable(t) && opts.podGracefulDeletion) {
    if (isDeleting(obj)) {
      auto curGrace = gracePeriodOf(obj);
      if (curGrace && *curGrace > 0) {
        if (!o.gracePeriodSeconds || *o.gracePeriodSeconds >= *curGrace) {
          return DeleteResult{asJson(cur), false};  // graceful deletion pending: only a shorter period counts
        }
        int64_t period = std::max<int64_t>(*o.gracePeriodSeconds, 0);
        auto ts = parseRfc3339(json::view(*metaField(obj, "deletionTimestamp")));
        SysClock::time_point base = ts ? *ts : now();
        setMetaString(next, "deletionTimestamp",
                      formatRfc3339(base - std::chrono::seconds(*curGrace) + std::chrono::seconds(period)));
        setMetaInt(next, "deletionGracePeriodSeconds", period);
        graceful = true;
        lastGrace = period;
      }
    } else {
      int64_t period = podGracePeriod(obj, o);
      setMetaString(next, "deletionTimestamp", formatRfc3339(now() + std::chrono::seconds(period)));
      setMetaInt(next, "deletionGracePeriodSeconds", period);
      if (obj.generation() > 0) setMetaInt(next, "generation", obj.generation() + 1);
      graceful = true;
      lastGrace = period;
    }
  }

  std::vector<std::string> fins = gcFinalizers(finalizersOf(obj), o.propagation);
  bool finalizersChange = !sameSet(fins, finalizersOf(obj));
  bool pendingFinalizers = !fins.empty() || (isNs && !specFinalizersOf(obj).empty());
  if (finalizersChange) setFinalizers(next, fins);

  if (graceful) {
    if (pendingFinalizers || lastGrace > 0) return write(next);
    // Grace period 0 without finalizers: the update is written, then the object deleted.
    auto written = write(next);
    if (!written.ok()) return written.status();
    if (!o.dryRun) {
      cur = lookup(t, key);
      obj = parseRec(*cur);
    }
    return deleteNow();
  }
  if (!pendingFinalizers) return deleteNow();
  // markAsDeleting: deletionTimestamp now (kept if earlier), grace 0, generation bumped once.
  if (!isDeleting(obj)) {
    setMetaString(next, "deletionTimestamp", nowStr);
    if (obj.generation() > 0) setMetaInt(next, "generation", obj.generation() + 1);
  }
  setMetaInt(next, "deletionGracePeriodSeconds", 0);
  return write(next);
}

void Store::State::removeFinalizerLocked(Table& t, const std::string& key, std::string_view finalizer) {
  RecPtr cur = lookup(t, key);
  if (!cur) return;
  Object obj = parseRec(*cur);
  auto fins = finalizersOf(obj);
  auto it = std::find(fins.begin(), fins.end(), finalizer);
  if (it == fins.end()) return;
  fins.erase(it);
  bool graceOver = !gracePeriodOf(obj) || *gracePeriodOf(obj) == 0;
  if (fins.empty() && isDeleting(obj) && graceOver && !(isNamespaceTable(t) && !specFinalizersOf(obj).empty())) {
    commitDelete(t, key, cur, &obj);
    return;
  }
  Object next = obj;
  setFinalizers(next, fins);
  ErrorDetails ignored;
  Errors e{ignored};
  commit(t, key, next, cur, &obj, e).status().ignoreError();
}

// ---------------------------------------------------------------------------------------------
// Garbage collector and namespace controller.

bool Store::State::processDependent(Table& t, const std::string& key, bool* blocksOwner, const std::string& ownerUid) {
  RecPtr cur = lookup(t, key);
  if (!cur) return false;
  Object obj = parseRec(*cur);
  std::string depNs = t.namespaced ? std::string(obj.namespace_()) : std::string();
  auto refs = obj.ownerReferences();
  if (refs.empty()) return false;
  // classifyReferences: solid owners exist; dangling ones are gone (or have another uid);
  // waiting ones are being deleted in the foreground.
  std::set<std::string> dangling, waiting;
  bool solid = false;
  for (const auto& r : refs) {
    auto gvk = GroupVersionKind::parse(r.apiVersion, r.kind);
    if (!registry->findGroupKind(gvk.group, gvk.kind)) {
      solid = true;  // an owner kind the server does not serve: leave the reference alone
      continue;
    }
    Object owner;
    if (!findOwner(r, depNs, &owner)) {
      dangling.insert(r.uid);
    } else if (isDeleting(owner) && contains(finalizersOf(owner), kFinalizerForeground)) {
      waiting.insert(r.uid);
    } else {
      solid = true;
    }
  }
  ErrorDetails ignored;
  Errors e{ignored};
  bool progress = false;
  if (solid) {
    if (!dangling.empty() || !waiting.empty()) {
      // Another owner keeps it: only the references to owners that are gone go.
      Object next = obj;
      json::Value* arr = json::find(next.mutableMetadata(), "ownerReferences");
      json::Value kept(rapidjson::kArrayType);
      for (auto& r : arr->GetArray()) {
        std::string uid(json::getString(r, "uid"));
        if (dangling.count(uid) || waiting.count(uid)) continue;
        json::Value c;
        c.CopyFrom(r, next.allocator());
        kept.PushBack(c, next.allocator());
      }
      json::setMember(next.mutableMetadata(), "ownerReferences", kept, next.allocator());
      commit(t, key, next, cur, &obj, e).status().ignoreError();
      progress = true;
    }
  } else if (!isDeleting(obj)) {
    DeleteOptions o;
    auto fins = finalizersOf(obj);
    if (contains(fins, kFinalizerOrphan)) {
      o.propagation = PropagationPolicy::kOrphan;
    } else if (contains(fins, kFinalizerForeground) || (!waiting.empty() && dependents.count(std::string(obj.uid())))) {
      o.propagation = PropagationPolicy::kForeground;
    } else {
      o.propagation = PropagationPolicy::kBackground;
    }
    deleteLocked(*typeFor(t), t, key, o, e, false).status().ignoreError();
    progress = true;
  }
  if (blocksOwner) {
    *blocksOwner = false;
    if (RecPtr after = lookup(t, key)) {
      for (const auto& r : parseRec(*after).ownerReferences()) {
        if (r.uid == ownerUid && r.blockOwnerDeletion) *blocksOwner = true;
      }
    }
  }
  return progress;
}

bool Store::State::namespaceStep(const std::string& nsName) {
  Table* nst = namespacesTable();
  RecPtr rec = lookup(*nst, nsName);
  if (!rec) {
    terminating.erase(nsName);
    return false;
  }
  if (!isDeleting(parseRec(*rec))) {
    terminating.erase(nsName);
    return false;
  }
  bool progress = false;
  ErrorDetails ignored;
  Errors e{ignored};
  std::vector<Table*> namespaced;
  for (auto& [_, tp] : tables) {
    if (tp->namespaced) namespaced.push_back(tp.get());
  }
  std::sort(namespaced.begin(), namespaced.end(), [](Table* a, Table* b) { return a->name < b->name; });
  auto keysIn = [&](Table& t) {
    std::vector<std::string> keys;
    for (auto it = t.objects.lower_bound(nsName + "/"); it != t.objects.end() && keyInNamespace(it->first, nsName); ++it) {
      keys.push_back(it->first);
    }
    return keys;
  };
  // Delete the content, as the namespace controller's DeleteCollection calls do (Background).
  for (Table* t : namespaced) {
    for (const auto& k : keysIn(*t)) {
      RecPtr r = lookup(*t, k);
      if (!r || isDeleting(parseRec(*r))) continue;
      DeleteOptions o;
      o.propagation = PropagationPolicy::kBackground;
      deleteLocked(*typeFor(*t), *t, k, o, e, false).status().ignoreError();
      progress = true;
    }
  }
  // What remains (objects waiting on finalizers or graceful deletion) goes into the conditions.
  std::vector<std::string> remaining, finalizerMsgs;
  std::map<std::string, int> finalizerCounts;
  for (Table* t : namespaced) {
    auto keys = keysIn(*t);
    if (keys.empty()) continue;
    remaining.push_back(t->resource + "." + t->group + " has " + std::to_string(keys.size()) + " resource instances");
    for (const auto& k : keys) {
      for (const auto& f : finalizersOf(parseRec(*lookup(*t, k)))) ++finalizerCounts[f];
    }
  }
  std::sort(remaining.begin(), remaining.end());
  for (const auto& [f, n] : finalizerCounts) finalizerMsgs.push_back(f + " in " + std::to_string(n) + " resource instances");
  std::sort(finalizerMsgs.begin(), finalizerMsgs.end());
  struct Cond {
    const char* type;
    const char* status;
    const char* reason;
    std::string message;
  };
  std::vector<Cond> want = {
      {"NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"},
      {"NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
       "All legacy kube types successfully parsed"},
      {"NamespaceDeletionContentFailure", "False", "ContentDeleted",
       "All content successfully deleted, may be waiting on finalization"},
      remaining.empty()
          ? Cond{"NamespaceContentRemaining", "False", "ContentRemoved", "All content successfully removed"}
          : Cond{"NamespaceContentRemaining", "True", "SomeResourcesRemain",
                 "Some resources are remaining: " + join(remaining, ", ")},
      finalizerMsgs.empty()
          ? Cond{"NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers",
                 "All content-preserving finalizers finished"}
          : Cond{"NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
                 "Some content in the namespace has finalizers remaining: " + join(finalizerMsgs, ", ")},
  };
  rec = lookup(*nst, nsName);
  Object ns = parseRec(*rec);
  const json::Value* oldConds = ns.status() ? json::find(*ns.status(), "conditions") : nullptr;
  auto oldCond = [&](std::string_view type) -> const json::Value* {
    if (!oldConds || !oldConds->IsArray()) return nullptr;
    for (const auto& c : oldConds->GetArray()) {
      if (json::getString(c, "type") == type) return &c;
    }
    return nullptr;
  };
  bool changed = !oldConds || !oldConds->IsArray() || oldConds->Size() != want.size();
  for (const auto& c : want) {
    const json::Value* o = oldCond(c.type);
    if (!o || json::getString(*o, "status") != c.status || json::getString(*o, "reason") != c.reason ||
        json::getString(*o, "message") != c.message) {
      changed = true;
    }
  }
  if (changed) {
    Object next = ns;
    auto& a = next.allocator();
    std::string nowStr = formatRfc3339(now());
    json::Value arr(rapidjson::kArrayType);
    for (const auto& c : want) {
      const json::Value* o = oldCond(c.type);
      std::string ltt = o && json::getString(*o, "status") == c.status ? std::string(json::getString(*o, "lastTransitionTime"))
                                                                      : nowStr;
      json::Value cv(rapidjson::kObjectType);
      cv.AddMember("type", json::str(c.type, a), a);
      cv.AddMember("status", json::str(c.status, a), a);
      cv.AddMember("lastTransitionTime", json::str(ltt, a), a);
      cv.AddMember("reason", json::str(c.reason, a), a);
      cv.AddMember("message", json::str(c.message, a), a);
      arr.PushBack(cv, a);
    }
    json::setMember(json::ensureObject(next.root(), "status", a), "conditions", arr, a);
    commit(*nst, nsName, next, rec, &ns, e).status().ignoreError();
    progress = true;
  }
  if (!remaining.empty()) return progress;

  // Empty: finalize (drop the "kubernetes" spec finalizer), then delete when nothing else holds it.
  rec = lookup(*nst, nsName);
  ns = parseRec(*rec);
  auto specF = specFinalizersOf(ns);
  if (contains(specF, kFinalizerKubernetes)) {
    specF.erase(std::remove(specF.begin(), specF.end(), kFinalizerKubernetes), specF.end());
    Object next = ns;
    setStringArray(json::ensureObject(next.root(), "spec", next.allocator()), "finalizers", specF, next.allocator());
    commit(*nst, nsName, next, rec, &ns, e).status().ignoreError();
    progress = true;
    rec = lookup(*nst, nsName);
    ns = parseRec(*rec);
  }
  if (specF.empty() && finalizersOf(ns).empty()) {
    commitDelete(*nst, nsName, rec, &ns);
    terminating.erase(nsName);
    progress = true;
  }
  return progress;
}

bool Store::State::collectOnce() {
  bool progress = false;
  ErrorDetails ignored;
  Errors e{ignored};
  // Owners being deleted with the orphan or foregroundDeletion finalizer.
  for (ObjRef ref : std::vector<ObjRef>(gcPending.begin(), gcPending.end())) {
    Table& t = *ref.first;
    RecPtr rec = lookup(t, ref.second);
    if (!rec) {
      gcPending.erase(ref);
      continue;
    }
    Object owner = parseRec(*rec);
    std::string uid(owner.uid());
    auto fins = finalizersOf(owner);
    std::vector<ObjRef> deps;
    if (auto it = dependents.find(uid); it != dependents.end()) deps.assign(it->second.begin(), it->second.end());
    if (contains(fins, kFinalizerOrphan)) {
      // Orphan: the dependents lose their reference to the owner, then the owner goes.
      for (const auto& [dt, dk] : deps) {
        RecPtr drec = lookup(*dt, dk);
        if (!drec) continue;
        Object dep = parseRec(*drec);
        Object next = dep;
        json::Value* arr = json::find(next.mutableMetadata(), "ownerReferences");
        if (!arr || !arr->IsArray()) continue;
        json::Value kept(rapidjson::kArrayType);
        for (auto& r : arr->GetArray()) {
          if (json::getString(r, "uid") == uid) continue;
          json::Value c;
          c.CopyFrom(r, next.allocator());
          kept.PushBack(c, next.allocator());
        }
        if (kept.Empty()) {
          json::removeMember(next.mutableMetadata(), "ownerReferences");
        } else {
          json::setMember(next.mutableMetadata(), "ownerReferences", kept, next.allocator());
        }
        commit(*dt, dk, next, drec, &dep, e).status().ignoreError();
      }
      removeFinalizerLocked(t, ref.second, kFinalizerOrphan);
      progress = true;
    } else if (contains(fins, kFinalizerForeground)) {
      // Foreground: delete the dependents; the owner goes once none blocks it.
      bool blocked = false;
      for (const auto& [dt, dk] : deps) {
        bool blocks = false;
        progress |= processDependent(*dt, dk, &blocks, uid);
        blocked |= blocks;
      }
      if (!blocked) {
        removeFinalizerLocked(t, ref.second, kFinalizerForeground);
        progress = true;
      }
    } else {
      gcPending.erase(ref);
    }
  }
  // Dependents of owners that are gone.
  std::set<std::string> gone;
  gone.swap(ownersGone);
  for (const auto& uid : gone) {
    auto it = dependents.find(uid);
    if (it == dependents.end()) continue;
    std::vector<ObjRef> deps(it->second.begin(), it->second.end());
    for (const auto& [dt, dk] : deps) progress |= processDependent(*dt, dk, nullptr, uid);
  }
  for (const auto& ns : std::vector<std::string>(terminating.begin(), terminating.end())) progress |= namespaceStep(ns);
  return progress;
}

void Store::State::collectGarbage() {
  // Each pass either changes something or stops; the bound only guards against a bug looping.
  for (int i = 0; i < 100000 && collectOnce(); ++i) {
  }
}

// ---------------------------------------------------------------------------------------------
// list

namespace store_detail {

std::string encodeContinue(int64_t rv, const std::string& start) {
  json::Document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  json::setString(d, "v", kContinueVersion, a);
  d.AddMember("rv", rv, a);
  json::setString(d, "start", start, a);
  return base64Encode(json::write(d));
}

// storage.DecodeContinue; the error text without the "invalid continue token" prefix.
bool decodeContinue(std::string_view token, int64_t* rv, std::string* start, std::string* err) {
  auto raw = base64Decode(token);
  if (!raw) {
    *err = "continue key is not valid: illegal base64 data at input byte 0";
    return false;
  }
  auto doc = json::parse(*raw);
  if (!doc.ok() || !doc->IsObject()) {
    *err = "continue key is not valid: " + (doc.ok() ? std::string("not a JSON object") : doc.status().message());
    return false;
  }
  std::string_view v = json::getString(*doc, "v");
  if (v != kContinueVersion) {
    *err = "continue key is not valid: server does not recognize this encoded version " + goQuote(v);
    return false;
  }
  const json::Value* r = json::find(*doc, "rv");
  if (!r || !r->IsInt64() || r->GetInt64() == 0) {
    *err = "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)";
    return false;
  }
  *rv = r->GetInt64();
  *start = std::string(json::getString(*doc, "start"));
  if (start->empty()) {
    *err = "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)";
    return false;
  }
  return true;
}

}  // namespace store_detail

StatusOr<ListResult> Store::State::listLocked(const ResourceType& type, const Table* t, std::string_view ns,
                                              const ListOptions& lo, Errors& e) const {
  FieldSelector fields = lo.fieldSelector;
  if (Status st = fields.validateFor(type); !st.isOk()) return e.badRequest(st.message());

  uint64_t snapshot = rv;
  std::string startKey;
  if (!lo.continueToken.empty()) {
    if (!lo.resourceVersion.empty() && lo.resourceVersion != "0") {
      return e.badRequest("specifying resource version is not allowed when using continue");
    }
    int64_t tokenRv = 0;
    std::string err;
    if (!decodeContinue(lo.continueToken, &tokenRv, &startKey, &err)) return e.badRequest("invalid continue token: " + err);
    if (tokenRv > 0) {
      // Continue at the first page's resourceVersion; compacted away → 410 with a token that
      // continues (inconsistently) at the latest one.
      if (static_cast<uint64_t>(tokenRv) < floor) {
        e.d.continueToken = encodeContinue(-1, startKey);
        return e.expired(kContinueExpiredMsg);
      }
      snapshot = std::min<uint64_t>(static_cast<uint64_t>(tokenRv), rv);
    }
  } else if (!lo.resourceVersion.empty() && lo.resourceVersion != "0") {
    auto want = parseUint(lo.resourceVersion);
    if (!want) return invalidResourceVersion(e, lo.resourceVersion);
    if (*want > rv) return e.tooLargeResourceVersion(*want, rv);
    if (lo.resourceVersionMatch == "Exact") {
      if (*want < floor) {
        return e.expired("too old resource version: " + std::to_string(*want) + " (" + std::to_string(floor) + ")");
      }
      snapshot = *want;
    }
  }

  ListResult out;
  out.resourceVersion = std::to_string(snapshot);
  if (!t) return out;

  // The state at `snapshot`: the current objects with the history after it undone.
  std::map<std::string, RecPtr, std::less<>> overlay;
  if (snapshot < rv) {
    auto first = std::upper_bound(history.begin(), history.end(), snapshot,
                                  [](uint64_t v, const LogEvent& ev) { return v < ev.rv; });
    for (auto it = first; it != history.end(); ++it) {
      if (it->table == t) overlay.emplace(it->key, it->prev);  // the earliest change wins
    }
  }
  std::string prefix = ns.empty() ? std::string() : std::string(ns) + "/";
  std::string from = std::max(prefix, startKey);
  auto inRange = [&](const std::string& k) { return ns.empty() || keyInNamespace(k, ns); };
  bool selectorsEmpty = lo.labelSelector.empty() && fields.empty();
  size_t limit = lo.limit > 0 ? static_cast<size_t>(lo.limit) : 0;
  std::string lastKey;
  bool more = false;
  int64_t remaining = 0;

  auto ci = t->objects.lower_bound(from);
  auto oi = overlay.lower_bound(from);
  while (true) {
    bool cEnd = ci == t->objects.end() || !inRange(ci->first);
    bool oEnd = oi == overlay.end() || !inRange(oi->first);
    if (cEnd && oEnd) break;
    const std::string* key;
    RecPtr val;
    if (oEnd || (!cEnd && ci->first < oi->first)) {
      key = &ci->first;
      val = ci->second;
      ++ci;
    } else {
      if (!cEnd && ci->first == oi->first) ++ci;
      key = &oi->first;
      val = oi->second;
      ++oi;
    }
    if (!val) continue;
    if (!lo.labelSelector.matches(PackedLabels(val->labels))) continue;
    if (!matchesFields(type, fields, *t, *key, *val)) continue;
    if (limit && out.items.size() == limit) {
      more = true;
      if (!selectorsEmpty) break;
      ++remaining;
      continue;
    }
    out.items.push_back(asJson(val));
    lastKey = *key;
  }
  if (more) {
    out.continueToken = encodeContinue(static_cast<int64_t>(snapshot), lastKey + std::string(1, '\0'));
    if (selectorsEmpty) out.remainingItemCount = remaining;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Store: the public surface.

namespace store_detail {

// Runs `fn` with an Errors over a local ErrorDetails, copying it out when the caller asked.
template <typename Fn>
auto withDetails(ErrorDetails* out, Fn&& fn) {
  ErrorDetails local;
  Errors e{local};
  auto result = fn(e);
  if (out) *out = std::move(local);
  return result;
}

std::string bookmarkJson(const ResourceType& type, uint64_t rv, bool initialEventsEnd) {
  json::Document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  json::setString(d, "kind", type.kind, a);
  json::setString(d, "apiVersion", type.apiVersion(), a);
  json::Value meta(rapidjson::kObjectType);
  meta.AddMember("resourceVersion", json::str(std::to_string(rv), a), a);
  if (initialEventsEnd) {
    json::Value ann(rapidjson::kObjectType);
    ann.AddMember("k8s.io/initial-events-end", "true", a);
    meta.AddMember("annotations", ann, a);
  }
  d.AddMember("metadata", meta, a);
  return json::write(d);
}

}  // namespace store_detail

Store::Store(std::shared_ptr<const ResourceRegistry> registry, StoreOptions options) : s_(std::make_unique<State>()) {
  s_->registry = std::move(registry);
  s_->opts = std::move(options);
  if (s_->opts.historyWindow == 0) s_->opts.historyWindow = 1;
  if (s_->opts.watcherQueueLimit == 0) s_->opts.watcherQueueLimit = 1;
  s_->rng.seed(s_->opts.randomSeed ? s_->opts.randomSeed : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}());
}

Store::~Store() {
  std::unique_lock lock(s_->mu);
  for (auto& [_, t] : s_->tables) {
    for (auto& w : t->watchers) State::terminate(*w, nullptr);
  }
}

const ResourceRegistry& Store::registry() const { return *s_->registry; }

uint64_t Store::resourceVersion() const {
  std::shared_lock lock(s_->mu);
  return s_->rv;
}

size_t Store::objectCount() const {
  std::shared_lock lock(s_->mu);
  size_t n = 0;
  for (const auto& [_, t] : s_->tables) n += t->objects.size();
  return n;
}

StatusOr<ObjectJson> Store::create(const GroupResource& gr, std::string_view ns, Object obj, const WriteOptions& opts,
                                   ErrorDetails* details) {
  return withDetails(details, [&](Errors& e) -> StatusOr<ObjectJson> {
    auto [served, type] = s_->resolve(gr);
    if (!type) return e.notServed();
    toStorage(*served, obj);
    std::unique_lock lock(s_->mu);
    Table* t = s_->ensureTable(type->group, type->plural, type->namespaced);
    auto rec = s_->createLocked(*type, *t, ns, std::move(obj), opts.dryRun, e);
    if (!rec.ok()) return rec.status();
    if (!opts.dryRun) s_->afterWrite();
    return servedAs(*served, asJson(*rec));
  });
}

StatusOr<ObjectJson> Store::get(const GroupResource& gr, std::string_view ns, std::string_view name,
                                ErrorDetails* details) const {
  return withDetails(details, [&](Errors& e) -> StatusOr<ObjectJson> {
    auto [served, type] = s_->resolve(gr);
    if (!type) return e.notServed();
    std::shared_lock lock(s_->mu);
    const Table* t = s_->findTable(type->group, type->plural);
    if (t) {
      if (RecPtr r = s_->lookup(*t, State::keyFor(*t, ns, name))) return servedAs(*served, asJson(r));
    }
    Table shape;
    shape.group = type->group;
    shape.resource = type->plural;
    shape.name = type->groupResource();
    return e.notFound(shape, name);
  });
}

StatusOr<ListResult> Store::list(const GroupResource& gr, std::string_view ns, const ListOptions& opts,
                                 ErrorDetails* details) const {
  return withDetails(details, [&](Errors& e) -> StatusOr<ListResult> {
    auto [served, type] = s_->resolve(gr);
    if (!type) return e.notServed();
    std::shared_lock lock(s_->mu);
    // Field selectors are the served type's labels (read from the storage shape).
    auto r = s_->listLocked(*served, s_->findTable(type->group, type->plural),
                            type->namespaced ? ns : std::string_view(), opts, e);
    lock.unlock();
    if (r.ok() && served->storage) {
      for (auto& item : r->items) item = servedAs(*served, std::move(item));
    }
    return r;
  });
}

StatusOr<UpdateResult> Store::update(const GroupResource& gr, std::string_view ns, std::string_view name, Object obj,
                                     const UpdateOptions& opts, ErrorDetails* details) {
  return withDetails(details, [&](Errors& e) -> StatusOr<UpdateResult> {
    auto [served, type] = s_->resolve(gr);
    if (!type) return e.notServed();
    // /status and /finalize exist only where the kind serves them.
    if ((opts.subresource == Subresource::kStatus && !type->hasStatusSubresource) ||
        (opts.subresource == Subresource::kFinalize && !(type->group.empty() && type->plural == "namespaces"))) {
      return e.notServed();
    }
    toStorage(*served, obj);
    std::unique_lock lock(s_->mu);
    Table* t = s_->ensureTable(type->group, type->plural, type->namespaced);
    auto r = s_->updateLocked(*type, *t, type->namespaced ? ns : std::string_view(), name, std::move(obj), opts, e);
    if (r.ok() && !opts.dryRun) s_->afterWrite();
    if (r.ok()) r->object = servedAs(*served, std::move(r->object));
    return r;
  });
}

StatusOr<DeleteResult> Store::remove(const GroupResource& gr, std::string_view ns, std::string_view name,
                                     const DeleteOptions& opts, ErrorDetails* details) {
  return withDetails(details, [&](Errors& e) -> StatusOr<DeleteResult> {
    auto [served, type] = s_->resolve(gr);
    if (!type) return e.notServed();
    std::unique_lock lock(s_->mu);
    Table* t = s_->ensureTable(type->group, type->plural, type->namespaced);
    auto r = s_->deleteLocked(*type, *t, State::keyFor(*t, ns, name), opts, e, true);
    if (r.ok() && !opts.dryRun) s_->afterWrite();
    if (r.ok()) r->object = servedAs(*served, std::move(r->object));
    return r;
  });
}

StatusOr<std::unique_ptr<Watch>> Store::watch(const GroupResource& gr, std::string_view ns, const WatchOptions& opts,
                                              ErrorDetails* details) {
  return withDetails(details, [&](Errors& e) -> StatusOr<std::unique_ptr<Watch>> {
    auto [served, type] = s_->resolve(gr);
    if (!type) return e.notServed();
    auto w = std::make_shared<Watch::State>();
    w->ns = type->namespaced ? std::string(ns) : std::string();
    w->labels = opts.labelSelector;
    w->fields = opts.fieldSelector;
    if (Status st = w->fields.validateFor(*served); !st.isOk()) return e.badRequest(st.message());
    // The watcher sits on the storage table and sees objects (and bookmarks) in its own shape.
    w->type = served;
    w->bookmarks = opts.allowBookmarks;
    w->limit = s_->opts.watcherQueueLimit;

    std::unique_lock lock(s_->mu);
    Table* t = s_->ensureTable(type->group, type->plural, type->namespaced);
    const std::string& rvStr = opts.resourceVersion;
    bool fromNow = rvStr.empty() || rvStr == "0";
    uint64_t from = 0;
    if (!fromNow) {
      auto parsed = parseUint(rvStr);
      if (!parsed) return invalidResourceVersion(e, rvStr);
      from = *parsed;
      if (from > s_->rv) return e.tooLargeResourceVersion(from, s_->rv);
    }
    bool initial = opts.sendInitialEvents.value_or(fromNow);
    if (initial) {
      // The current state as synthetic ADDED events (each with its own resourceVersion).
      std::string prefix = w->ns.empty() ? std::string() : w->ns + "/";
      for (auto it = t->objects.lower_bound(prefix); it != t->objects.end(); ++it) {
        if (!w->ns.empty() && !keyInNamespace(it->first, w->ns)) break;
        if (State::passes(*w, *t, it->first, *it->second)) {
          State::push(*w, WatchEvent{WatchEventType::kAdded, servedAs(*served, asJson(it->second))}, false);
        }
      }
      if (opts.sendInitialEvents.value_or(false) && opts.allowBookmarks) {
        State::push(*w,
                    WatchEvent{WatchEventType::kBookmark,
                               std::make_shared<const std::string>(bookmarkJson(*served, s_->rv, true))},
                    false);
      }
    } else if (!fromNow) {
      // Replay what happened after `from` from the history window.
      if (from < s_->floor) {
        return e.expired("too old resource version: " + std::to_string(from) + " (" + std::to_string(s_->floor) + ")");
      }
      auto first = std::upper_bound(s_->history.begin(), s_->history.end(), from,
                                    [](uint64_t v, const LogEvent& ev) { return v < ev.rv; });
      for (auto it = first; it != s_->history.end(); ++it) {
        if (it->table != t) continue;
        if (auto ev = State::transition(*w, *it)) State::push(*w, std::move(*ev), false);
      }
    }
    t->watchers.push_back(w);
    return std::make_unique<Watch>(w);
  });
}

void Store::sendBookmarks() {
  std::unique_lock lock(s_->mu);
  for (auto& [_, t] : s_->tables) {
    for (auto& w : t->watchers) {
      if (!w->bookmarks) continue;
      State::push(*w,
                  WatchEvent{WatchEventType::kBookmark,
                             std::make_shared<const std::string>(bookmarkJson(*w->type, s_->rv, false))},
                  true);
    }
  }
}

void Store::runGarbageCollection() {
  std::unique_lock lock(s_->mu);
  s_->collectGarbage();
}

void Store::dropResource(const GroupResource& gr) {
  std::unique_lock lock(s_->mu);
  Table* t = s_->findTable(gr.group, gr.resource);
  if (!t) return;
  std::vector<std::string> keys;
  for (const auto& [k, _] : t->objects) keys.push_back(k);
  for (const auto& k : keys) {
    RecPtr r = s_->lookup(*t, k);
    Object o = parseRec(*r);
    s_->commitDelete(*t, k, r, &o);
  }
  for (auto& w : t->watchers) State::terminate(*w, nullptr);
  t->watchers.clear();
  s_->afterWrite();
}

// ---------------------------------------------------------------------------------------------
// Persistence: one JSON document per line; the first carries the resourceVersion counter.

namespace store_detail {
constexpr const char* kSnapshotFile = "snapshot.jsonl";
constexpr const char* kSnapshotKind = "KubeopSandboxSnapshot";
}  // namespace store_detail

Status Store::saveTo(const std::string& dir) const {
  uint64_t rv;
  std::vector<std::pair<std::string, RecPtr>> objects;
  {
    std::shared_lock lock(s_->mu);
    rv = s_->rv;
    for (const auto& [name, t] : s_->tables) {
      for (const auto& [_, r] : t->objects) objects.emplace_back(name, r);
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return unavailable("creating " + dir + ": " + ec.message());
  std::filesystem::path final = std::filesystem::path(dir) / kSnapshotFile;
  std::filesystem::path tmp = final;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return unavailable("writing " + tmp.string() + ": cannot open");
    out << "{\"kind\":\"" << kSnapshotKind << "\",\"version\":1,\"resourceVersion\":\"" << rv << "\"}\n";
    for (const auto& [name, r] : objects) {
      out << "{\"resource\":\"" << name << "\",\"object\":" << r->json << "}\n";
    }
    out.flush();
    if (!out) return unavailable("writing " + tmp.string() + ": write failed");
  }
  std::filesystem::rename(tmp, final, ec);
  if (ec) return unavailable("renaming " + tmp.string() + ": " + ec.message());
  return Status::ok();
}

Status Store::loadFrom(const std::string& dir) {
  std::filesystem::path path = std::filesystem::path(dir) / kSnapshotFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("no snapshot at " + path.string());
  std::string line;
  if (!std::getline(in, line)) return invalidArgument(path.string() + ": empty snapshot");
  auto header = json::parse(line);
  if (!header.ok() || json::getString(*header, "kind") != kSnapshotKind) {
    return invalidArgument(path.string() + ": not a sandbox snapshot");
  }
  auto counter = parseUint(json::getString(*header, "resourceVersion"));
  if (!counter) return invalidArgument(path.string() + ": bad resourceVersion in the header");

  struct Loaded {
    std::string resource;
    Object obj;
  };
  std::vector<Loaded> loaded;
  size_t lineNo = 1;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.empty()) continue;
    auto doc = json::parse(line);
    if (!doc.ok()) return invalidArgument(path.string() + ":" + std::to_string(lineNo) + ": " + doc.status().message());
    const json::Value* o = json::find(*doc, "object");
    if (!o || !o->IsObject()) return invalidArgument(path.string() + ":" + std::to_string(lineNo) + ": no object");
    auto obj = Object::fromValue(*o);
    if (!obj.ok()) return obj.status();
    loaded.push_back({std::string(json::getString(*doc, "resource")), std::move(obj).value()});
  }

  std::unique_lock lock(s_->mu);
  for (auto& [_, t] : s_->tables) {
    for (auto& w : t->watchers) {
      ErrorDetails d;
      d.code = 410;
      d.reason = "Expired";
      State::terminate(*w, std::make_shared<const std::string>(statusObjectJson(
                               Status(StatusCode::kOutOfRange, "the store was reloaded from a snapshot"), d)));
    }
  }
  s_->tables.clear();
  s_->history.clear();
  s_->dependents.clear();
  s_->gcPending.clear();
  s_->ownersGone.clear();
  s_->terminating.clear();
  s_->rv = *counter;
  s_->floor = *counter;
  for (auto& l : loaded) {
    size_t dot = l.resource.find('.');
    std::string resource = l.resource.substr(0, dot);
    std::string group = dot == std::string::npos ? std::string() : l.resource.substr(dot + 1);
    // Snapshots from before a resource became a StorageAlias kept its objects apart: they join
    // the storage resource now.
    if (auto ty = s_->registry->findGroupResource(group, resource); ty && ty->storage) {
      ty->storage->toStorage(l.obj.root(), l.obj.allocator());
      group = ty->storage->group;
      resource = ty->storage->resource;
    }
    std::string ns(l.obj.namespace_());
    Table* t = s_->ensureTable(group, resource, !ns.empty());
    auto rec = std::make_shared<Rec>();
    rec->json = l.obj.toJson();
    rec->rv = parseUint(l.obj.resourceVersion()).value_or(0);
    rec->labels = packLabels(l.obj);
    std::string key = State::keyFor(*t, ns, l.obj.name());
    t->objects[key] = rec;
  }
  // Indexes after every object is in place, so owner lookups see the whole state.
  for (auto& [_, t] : s_->tables) {
    for (const auto& [key, rec] : t->objects) {
      Object o = parseRec(*rec);
      s_->reindex(*t, key, nullptr, &o);
    }
  }
  s_->afterWrite();
  return Status::ok();
}

}  // namespace kubeop::sandbox
