#include "kubeop/core/object.h"

#include <algorithm>

namespace kubeop {

GroupVersionKind GroupVersionKind::parse(std::string_view apiVersion, std::string_view kind) {
  GroupVersionKind g;
  g.kind = std::string(kind);
  auto slash = apiVersion.find('/');
  if (slash == std::string_view::npos) {
    g.version = std::string(apiVersion);
  } else {
    g.group = std::string(apiVersion.substr(0, slash));
    g.version = std::string(apiVersion.substr(slash + 1));
  }
  return g;
}

Object::Object() { doc_.SetObject(); }

Object::Object(json::Document doc) : doc_(std::move(doc)) {
  if (!doc_.IsObject()) doc_.SetObject();
}

Object::Object(const Object& other) { doc_.CopyFrom(other.doc_, doc_.GetAllocator()); }

Object& Object::operator=(const Object& other) {
  if (this != &other) *this = Object(other);
  return *this;
}

Object& Object::operator=(Object&& other) noexcept {
  // The document first: it may live in pool_, which must outlive it.
  doc_ = std::move(other.doc_);
  pool_ = std::move(other.pool_);
  return *this;
}

namespace {

constexpr size_t alignUp(size_t n) { return RAPIDJSON_ALIGN(n); }

// The bytes a MemoryPoolAllocator hands out when `v` is deep-copied into it: member and element
// arrays sized exactly, and every string longer than a short string (which lives inside its
// Value). Not the source pool's Size(): that still counts whatever a transform removed.
size_t copyFootprint(const json::Value& v) {
  size_t n = 0;
  if (v.IsObject()) {
    if (v.MemberCount() > 0) n += alignUp(v.MemberCount() * sizeof(json::Value::Member));
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      n += copyFootprint(it->name) + copyFootprint(it->value);
    }
  } else if (v.IsArray()) {
    if (v.Size() > 0) n += alignUp(v.Size() * sizeof(json::Value));
    for (const auto& e : v.GetArray()) n += copyFootprint(e);
  } else if (v.IsString()) {
    constexpr size_t kShortMax = sizeof(json::Value) - sizeof(uint16_t) - 1;  // rapidjson's ShortString
    if (v.GetStringLength() > kShortMax) n += alignUp(v.GetStringLength() + 1);
  }
  return n;
}

}  // namespace

Object Object::copyOf(const json::Value& v, size_t slack) {
  Object out;
  out.pool_ = std::make_unique<json::Allocator>(copyFootprint(v) + slack);
  json::Document d(out.pool_.get());
  d.CopyFrom(v, *out.pool_);
  out.doc_ = std::move(d);
  return out;
}

// Slack for the few members a reader may add to a compacted object.
Object Object::compacted(const Object& src) { return copyOf(src.doc_, 64); }

StatusOr<Object> Object::fromJson(std::string_view text) {
  // A pool about the size of the DOM (some 2–3× the text for Kubernetes objects), so that a
  // small object does not take RapidJSON's 64 KiB first chunk; big texts grow by 1 MiB chunks.
  size_t chunk = std::min<size_t>(text.size() * 5 / 2 + 256, size_t{1} << 20);
  auto pool = std::make_unique<json::Allocator>(chunk);
  json::Document d(pool.get());
  if (Status s = json::parseInto(d, text); !s.isOk()) return s;
  if (!d.IsObject()) return invalidArgument(std::string("expected a JSON object, got ") + json::typeName(d));
  Object out;
  out.pool_ = std::move(pool);
  out.doc_ = std::move(d);
  return out;
}

StatusOr<Object> Object::fromValue(const json::Value& v) {
  if (!v.IsObject()) return invalidArgument(std::string("expected an object, got ") + json::typeName(v));
  // Room for what a caller typically adds (an informer's transform, an apply's stamps).
  return copyOf(v, 512);
}

size_t Object::memoryBytes() const {
  return const_cast<json::Document&>(doc_).GetAllocator().Capacity();
}

std::string Object::toJson() const { return json::write(doc_); }
std::string Object::toPrettyJson() const { return json::writePretty(doc_); }

std::string_view Object::apiVersion() const { return json::getString(doc_, "apiVersion"); }
std::string_view Object::kind() const { return json::getString(doc_, "kind"); }
void Object::setApiVersion(std::string_view v) { json::setString(doc_, "apiVersion", v, allocator()); }
void Object::setKind(std::string_view v) { json::setString(doc_, "kind", v, allocator()); }

const json::Value* Object::metadata() const {
  const json::Value* m = json::find(doc_, "metadata");
  return m && m->IsObject() ? m : nullptr;
}
const json::Value* Object::spec() const {
  const json::Value* m = json::find(doc_, "spec");
  return m && m->IsObject() ? m : nullptr;
}
const json::Value* Object::status() const {
  const json::Value* m = json::find(doc_, "status");
  return m && m->IsObject() ? m : nullptr;
}
json::Value& Object::mutableMetadata() { return json::ensureObject(doc_, "metadata", allocator()); }

namespace {
std::string_view metaString(const json::Value* meta, std::string_view key) {
  return meta ? json::getString(*meta, key) : std::string_view();
}

std::map<std::string, std::string> stringMap(const json::Value* meta, std::string_view key) {
  std::map<std::string, std::string> out;
  if (!meta) return out;
  const json::Value* m = json::find(*meta, key);
  if (!m || !m->IsObject()) return out;
  for (auto it = m->MemberBegin(); it != m->MemberEnd(); ++it) {
    if (it->value.IsString()) out.emplace(std::string(json::view(it->name)), std::string(json::view(it->value)));
  }
  return out;
}

std::optional<std::string> mapEntry(const json::Value* meta, std::string_view map, std::string_view key) {
  if (!meta) return std::nullopt;
  const json::Value* m = json::find(*meta, map);
  if (!m) return std::nullopt;
  const json::Value* v = json::find(*m, key);
  if (!v || !v->IsString()) return std::nullopt;
  return std::string(json::view(*v));
}
}  // namespace

std::string_view Object::name() const { return metaString(metadata(), "name"); }
std::string_view Object::generateName() const { return metaString(metadata(), "generateName"); }
std::string_view Object::namespace_() const { return metaString(metadata(), "namespace"); }
std::string_view Object::uid() const { return metaString(metadata(), "uid"); }
std::string_view Object::resourceVersion() const { return metaString(metadata(), "resourceVersion"); }
int64_t Object::generation() const {
  const json::Value* m = metadata();
  const json::Value* g = m ? json::find(*m, "generation") : nullptr;
  return g && g->IsInt64() ? g->GetInt64() : 0;
}
void Object::setName(std::string_view v) { json::setString(mutableMetadata(), "name", v, allocator()); }
void Object::setNamespace(std::string_view v) { json::setString(mutableMetadata(), "namespace", v, allocator()); }

std::map<std::string, std::string> Object::labels() const { return stringMap(metadata(), "labels"); }
std::optional<std::string> Object::label(std::string_view k) const { return mapEntry(metadata(), "labels", k); }
void Object::setLabel(std::string_view k, std::string_view v) {
  auto& a = allocator();
  json::setString(json::ensureObject(mutableMetadata(), "labels", a), k, v, a);
}
std::map<std::string, std::string> Object::annotations() const { return stringMap(metadata(), "annotations"); }
std::optional<std::string> Object::annotation(std::string_view k) const {
  return mapEntry(metadata(), "annotations", k);
}
void Object::setAnnotation(std::string_view k, std::string_view v) {
  auto& a = allocator();
  json::setString(json::ensureObject(mutableMetadata(), "annotations", a), k, v, a);
}

std::vector<OwnerReference> Object::ownerReferences() const {
  std::vector<OwnerReference> out;
  const json::Value* m = metadata();
  const json::Value* refs = m ? json::find(*m, "ownerReferences") : nullptr;
  if (!refs || !refs->IsArray()) return out;
  for (const auto& r : refs->GetArray()) {
    if (!r.IsObject()) continue;
    OwnerReference o;
    o.apiVersion = json::getString(r, "apiVersion");
    o.kind = json::getString(r, "kind");
    o.name = json::getString(r, "name");
    o.uid = json::getString(r, "uid");
    const json::Value* c = json::find(r, "controller");
    o.controller = c && c->IsBool() && c->GetBool();
    const json::Value* b = json::find(r, "blockOwnerDeletion");
    o.blockOwnerDeletion = b && b->IsBool() && b->GetBool();
    out.push_back(std::move(o));
  }
  return out;
}

void Object::addOwnerReference(const OwnerReference& ref) {
  auto& a = allocator();
  json::Value& meta = mutableMetadata();
  json::Value* refs = json::find(meta, "ownerReferences");
  if (!refs || !refs->IsArray()) {
    json::Value arr(rapidjson::kArrayType);
    json::setMember(meta, "ownerReferences", arr, a);
    refs = json::find(meta, "ownerReferences");
  }
  json::Value r(rapidjson::kObjectType);
  r.AddMember("apiVersion", json::str(ref.apiVersion, a), a);
  r.AddMember("kind", json::str(ref.kind, a), a);
  r.AddMember("name", json::str(ref.name, a), a);
  r.AddMember("uid", json::str(ref.uid, a), a);
  if (ref.controller) r.AddMember("controller", true, a);
  if (ref.blockOwnerDeletion) r.AddMember("blockOwnerDeletion", true, a);
  for (auto& existing : refs->GetArray()) {
    if (existing.IsObject() && json::getString(existing, "uid") == ref.uid) {
      existing = r;
      return;
    }
  }
  refs->PushBack(r, a);
}

std::string Object::describe() const {
  std::string s(kind().empty() ? "object" : kind());
  s += ' ';
  if (!namespace_().empty()) {
    s += namespace_();
    s += '/';
  }
  s += name().empty() ? std::string_view("<unnamed>") : name();
  return s;
}

}  // namespace kubeop
