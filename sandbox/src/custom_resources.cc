#include "kubeop/sandbox/custom_resources.h"

#include <algorithm>
#include <cctype>

#include "kubeop/core/object.h"
#include "kubeop/log/log.h"

namespace kubeop::sandbox {

struct CustomResources::Compiled {
  ResourceType type;
  std::vector<PrinterColumn> columns;
  std::optional<CustomResources::Scale> scale;
  std::optional<CrdVersionSchema> schema;
};

namespace {

bool isCrd(const ResourceType& t) {
  return t.group == "apiextensions.k8s.io" && t.plural == "customresourcedefinitions";
}

std::vector<std::string> strings(const json::Value* v) {
  std::vector<std::string> out;
  if (v && v->IsArray()) {
    for (const auto& s : v->GetArray()) {
      if (s.IsString()) out.emplace_back(json::view(s));
    }
  }
  return out;
}

std::string key(const std::string& g, const std::string& v, const std::string& p) { return g + "/" + v + "/" + p; }

}  // namespace

CustomResources::CustomResources(std::shared_ptr<ResourceRegistry> registry, std::shared_ptr<Store> store)
    : registry_(std::move(registry)), store_(std::move(store)) {}

CustomResources::~CustomResources() = default;

namespace {
void fillInvalid(ErrorDetails& d, const std::string& group, const std::string& kind, const std::string& name,
                 const std::vector<Cause>& causes) {
  d.code = 422;
  d.reason = "Invalid";
  d.group = group;
  d.kind = kind;
  d.name = name;
  d.causes.clear();
  for (const auto& c : causes) d.causes.push_back(StatusCause{c.type, c.message, c.field});
}
}  // namespace

Status CustomResources::validateDefinition(const json::Value& crd, ErrorDetails& details) const {
  const json::Value* meta = json::find(crd, "metadata");
  std::string name = meta ? std::string(json::getString(*meta, "name")) : "";
  auto parsed = parseCrd(crd);
  if (!parsed.ok()) {
    details.code = 400;
    details.reason = "BadRequest";
    return parsed.status();
  }
  auto causes = validateCrd(*parsed);
  if (causes.empty()) return Status::ok();
  fillInvalid(details, "apiextensions.k8s.io", "CustomResourceDefinition", name, causes);
  return invalidStatus("apiextensions.k8s.io", "CustomResourceDefinition", name, causes);
}

void CustomResources::onWrite(const ResourceType& type, const std::string& objectJson) {
  if (!isCrd(type)) return;
  auto d = json::parse(objectJson);
  if (!d.ok()) return;
  const json::Value* meta = json::find(*d, "metadata");
  if (meta && json::find(*meta, "deletionTimestamp")) return;  // terminating: keep serving until gone
  registerCrd(*d, true);
}

void CustomResources::onDelete(const ResourceType& type, const std::string& objectJson) {
  if (!isCrd(type)) return;
  auto d = json::parse(objectJson);
  if (!d.ok()) return;
  const json::Value* meta = json::find(*d, "metadata");
  if (meta) unregister(std::string(json::getString(*meta, "name")));
}

void CustomResources::registerCrd(const json::Value& crd, bool updateStatus) {
  const json::Value* spec = json::find(crd, "spec");
  const json::Value* meta = json::find(crd, "metadata");
  if (!spec || !meta) return;
  std::string crdName(json::getString(*meta, "name"));
  std::string group(json::getString(*spec, "group"));
  const json::Value* names = json::find(*spec, "names");
  if (!names) return;
  ResourceType base;
  base.group = group;
  base.kind = json::getString(*names, "kind");
  base.plural = json::getString(*names, "plural");
  base.singular = json::getString(*names, "singular");
  if (base.singular.empty()) {
    base.singular = base.kind;
    for (auto& c : base.singular) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  base.shortNames = strings(json::find(*names, "shortNames"));
  base.categories = strings(json::find(*names, "categories"));
  base.namespaced = json::getString(*spec, "scope") != "Cluster";
  base.verbs = standardVerbs();
  base.custom = true;
  base.generation = GenerationPolicy::kAllButMetadata;

  std::vector<std::shared_ptr<const Compiled>> compiled;
  const json::Value* versions = json::find(*spec, "versions");
  if (versions && versions->IsArray()) {
    for (const auto& v : versions->GetArray()) {
      const json::Value* served = json::find(v, "served");
      if (served && served->IsBool() && !served->GetBool()) continue;
      auto c = std::make_shared<Compiled>();
      c->type = base;
      c->type.version = json::getString(v, "name");
      const json::Value* sub = json::find(v, "subresources");
      c->type.hasStatusSubresource = sub && json::find(*sub, "status");
      if (const json::Value* sc = sub ? json::find(*sub, "scale") : nullptr; sc && sc->IsObject()) {
        Scale s;
        s.specReplicasPath = json::getString(*sc, "specReplicasPath", ".spec.replicas");
        s.statusReplicasPath = json::getString(*sc, "statusReplicasPath", ".status.replicas");
        if (auto l = json::getString(*sc, "labelSelectorPath"); !l.empty()) s.labelSelectorPath = std::string(l);
        c->scale = s;
      }
      const json::Value* cols = json::find(v, "additionalPrinterColumns");
      if (cols && cols->IsArray()) {
        for (const auto& col : cols->GetArray()) {
          PrinterColumn pc;
          pc.name = json::getString(col, "name");
          pc.type = json::getString(col, "type");
          pc.format = json::getString(col, "format");
          pc.description = json::getString(col, "description");
          pc.jsonPath = json::getString(col, "jsonPath");
          const json::Value* pr = json::find(col, "priority");
          pc.priority = pr && pr->IsInt() ? pr->GetInt() : 0;
          c->columns.push_back(std::move(pc));
        }
      }
      if (const json::Value* sch = json::findPath(v, {"schema", "openAPIV3Schema"})) {
        auto compiledSchema = CrdVersionSchema::compile(*sch);
        if (compiledSchema.ok()) c->schema = std::move(compiledSchema).value();
        else log::warn("CRD schema not compiled", {{"crd", crdName}, {"error", compiledSchema.status().message()}});
      }
      compiled.push_back(std::move(c));
    }
  }
  {
    std::lock_guard lk(mu_);
    // Replace whatever this CRD served before.
    for (const auto& k : byCrd_[crdName]) {
      auto it = versions_.find(k);
      if (it != versions_.end()) {
        registry_->removeCustom(it->second->type.group, it->second->type.version, it->second->type.plural).ignoreError();
        versions_.erase(it);
      }
    }
    byCrd_[crdName].clear();
    for (const auto& c : compiled) {
      Status st = registry_->addCustom(c->type);
      if (!st.isOk()) {
        log::warn("custom resource not served", {{"crd", crdName}, {"error", st.message()}});
        continue;
      }
      std::string k = key(c->type.group, c->type.version, c->type.plural);
      versions_[k] = c;
      byCrd_[crdName].push_back(k);
    }
  }
  if (!updateStatus) return;
  // status: NamesAccepted + Established, acceptedNames, storedVersions (as the apiextensions
  // controllers set them).
  auto obj = Object::fromValue(crd);
  if (!obj.ok()) return;
  auto& a = obj->allocator();
  json::Value status(rapidjson::kObjectType);
  json::Value conds(rapidjson::kArrayType);
  std::string now;
  {
    const json::Value* ct = json::find(*meta, "creationTimestamp");
    now = ct && ct->IsString() ? std::string(json::view(*ct)) : "";
  }
  for (const char* type : {"NamesAccepted", "Established"}) {
    json::Value c(rapidjson::kObjectType);
    c.AddMember("type", json::str(type, a), a);
    c.AddMember("status", "True", a);
    c.AddMember("lastTransitionTime", json::str(now, a), a);
    c.AddMember("reason", json::str(std::string(type) == "Established" ? "InitialNamesAccepted" : "NoConflicts", a), a);
    c.AddMember("message", json::str(std::string(type) == "Established" ? "the initial names have been accepted"
                                                                          : "no conflicts found", a), a);
    conds.PushBack(c, a);
  }
  status.AddMember("conditions", conds, a);
  json::Value accepted(*names, a);
  if (!json::find(accepted, "singular")) accepted.AddMember("singular", json::str(base.singular, a), a);
  if (!json::find(accepted, "listKind")) accepted.AddMember("listKind", json::str(base.kind + "List", a), a);
  status.AddMember("acceptedNames", accepted, a);
  json::Value stored(rapidjson::kArrayType);
  if (versions && versions->IsArray()) {
    for (const auto& v : versions->GetArray()) {
      const json::Value* st = json::find(v, "storage");
      if (st && st->IsBool() && st->GetBool()) stored.PushBack(json::str(json::getString(v, "name"), a), a);
    }
  }
  status.AddMember("storedVersions", stored, a);
  const json::Value* oldStatus = obj->status();
  if (oldStatus && json::write(*oldStatus) == json::write(status)) return;  // converged
  json::setMember(obj->root(), "status", status, a);
  UpdateOptions uo;
  uo.subresource = Subresource::kStatus;
  auto r = store_->update(GroupResource{"apiextensions.k8s.io", "customresourcedefinitions"}, "", crdName,
                          std::move(obj).value(), uo);
  if (!r.ok()) log::debug("crd status not updated", {{"crd", crdName}, {"error", r.status().message()}});
}

void CustomResources::unregister(const std::string& crdName) {
  std::vector<GroupResource> drop;
  {
    std::lock_guard lk(mu_);
    for (const auto& k : byCrd_[crdName]) {
      auto it = versions_.find(k);
      if (it == versions_.end()) continue;
      registry_->removeCustom(it->second->type.group, it->second->type.version, it->second->type.plural).ignoreError();
      GroupResource gr{it->second->type.group, it->second->type.plural};
      if (std::none_of(drop.begin(), drop.end(), [&](auto& x) { return x.group == gr.group && x.resource == gr.resource; })) {
        drop.push_back(gr);
      }
      versions_.erase(it);
    }
    byCrd_.erase(crdName);
  }
  for (const auto& gr : drop) store_->dropResource(gr);
}

Status CustomResources::validateObject(const ResourceType& type, json::Document& obj, ErrorDetails& details) const {
  if (type.group == "apiextensions.k8s.io" && type.plural == "customresourcedefinitions") {
    return validateDefinition(obj, details);
  }
  if (!type.custom) return Status::ok();
  std::shared_ptr<const Compiled> c;
  {
    std::lock_guard lk(mu_);
    auto it = versions_.find(key(type.group, type.version, type.plural));
    if (it != versions_.end()) c = it->second;
  }
  if (!c || !c->schema) return Status::ok();
  c->schema->normalize(obj, obj.GetAllocator());
  auto causes = c->schema->validate(obj);
  if (causes.empty()) return Status::ok();
  const json::Value* meta = json::find(obj, "metadata");
  std::string name = meta ? std::string(json::getString(*meta, "name")) : "";
  fillInvalid(details, type.group, type.kind, name, causes);
  return invalidStatus(type.group, type.kind, name, causes);
}

std::vector<PrinterColumn> CustomResources::columnsFor(const ResourceType& type) const {
  if (!type.custom) return {};
  std::lock_guard lk(mu_);
  auto it = versions_.find(key(type.group, type.version, type.plural));
  return it == versions_.end() ? std::vector<PrinterColumn>{} : it->second->columns;
}

std::optional<CustomResources::Scale> CustomResources::scaleFor(const ResourceType& type) const {
  std::lock_guard lk(mu_);
  auto it = versions_.find(key(type.group, type.version, type.plural));
  if (it == versions_.end()) return std::nullopt;
  return it->second->scale;
}

void CustomResources::restore() {
  auto list = store_->list(GroupResource{"apiextensions.k8s.io", "customresourcedefinitions"}, "", ListOptions{});
  if (!list.ok()) return;
  for (const auto& item : list->items) {
    auto d = json::parse(*item);
    if (d.ok()) registerCrd(*d, false);
  }
}

}  // namespace kubeop::sandbox
