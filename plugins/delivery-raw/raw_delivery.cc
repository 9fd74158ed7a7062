#include "raw_delivery.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/render_common.h"
#include "kubeop/core/names.h"
#include "kubeop/core/object.h"
#include "kubeop/core/yaml.h"

namespace kubeop::plugins::raw {

const char* const kConfigSchema = R"({
  "type": "object",
  "properties": {
    "maxDocuments": {"type": "integer", "minimum": 1, "maximum": 100000},
    "forbiddenKinds": {"type": "array", "items": {"type": "string", "minLength": 1}}
  },
  "additionalProperties": false
})";

StatusOr<RawConfig> parseConfig(std::string_view configJson) {
  auto doc = json::parse(configJson.empty() ? std::string_view("{}") : configJson);
  if (!doc.ok()) return doc.status();
  RawConfig c;
  if (const json::Value* m = json::find(*doc, "maxDocuments"); m && m->IsUint64()) {
    c.maxDocuments = static_cast<size_t>(m->GetUint64());
  }
  if (const json::Value* f = json::find(*doc, "forbiddenKinds"); f && f->IsArray()) {
    for (const auto& k : f->GetArray()) {
      if (k.IsString()) c.forbiddenKinds.emplace_back(json::view(k));
    }
  }
  return c;
}

namespace {

struct Source {
  std::vector<json::Document> docs;  // each an object (Lists already expanded)
  std::vector<std::string> where;    // "document 2 (line 14)" per entry
};

std::string docRef(int index, int line) {
  std::string s = "rawManifests document " + std::to_string(index);
  if (line > 0) s += " (line " + std::to_string(line) + ")";
  return s;
}

// Expands `kind: List` (and *List kinds with items, as kubectl does) into its items.
Status addDocument(Source& src, json::Document doc, const std::string& where) {
  if (!doc.IsObject()) {
    return invalidArgument(where + ": expected a Kubernetes object (a map), got " + json::typeName(doc));
  }
  std::string_view kind = json::getString(doc, "kind");
  const json::Value* items = json::find(doc, "items");
  if (kind.size() >= 4 && kind.substr(kind.size() - 4) == "List" && items) {
    if (!items->IsArray()) return invalidArgument(where + ": " + std::string(kind) + ".items must be a list");
    int i = 0;
    for (const auto& item : items->GetArray()) {
      json::Document d;
      d.CopyFrom(item, d.GetAllocator());
      KUBEOP_RETURN_IF_ERROR(addDocument(src, std::move(d), where + " item " + std::to_string(i)));
      ++i;
    }
    return Status::ok();
  }
  src.docs.push_back(std::move(doc));
  src.where.push_back(where);
  return Status::ok();
}

StatusOr<Source> readSource(const Object& app) {
  const json::Value* spec = app.spec();
  if (!spec) return invalidArgument("the App has no spec");
  std::string_view type = json::getString(*spec, "type");
  if (names::toLower(type) != "raw") {
    return invalidArgument("spec.type is \"" + std::string(type) + "\", not Raw");
  }
  const json::Value* raw = json::find(*spec, "rawManifests");
  if (!raw || raw->IsNull() || (raw->IsString() && raw->GetStringLength() == 0)) {
    return invalidArgument("spec.rawManifests is required for type Raw (a multi-document YAML string or a list "
                           "of objects)");
  }
  Source src;
  if (raw->IsString()) {
    yaml::ParseOptions opts;
    opts.source = "spec.rawManifests";
    auto docs = yaml::parseStream(json::view(*raw), opts);
    if (!docs.ok()) return docs.status();
    for (auto& d : *docs) {
      KUBEOP_RETURN_IF_ERROR(addDocument(src, std::move(d.doc), docRef(d.index, d.line)));
    }
  } else if (raw->IsArray()) {
    int i = 0;
    for (const auto& item : raw->GetArray()) {
      json::Document d;
      d.CopyFrom(item, d.GetAllocator());
      KUBEOP_RETURN_IF_ERROR(addDocument(src, std::move(d), "rawManifests[" + std::to_string(i) + "]"));
      ++i;
    }
  } else {
    return invalidArgument(std::string("spec.rawManifests must be a YAML string or a list of objects, got ") +
                           json::typeName(*raw));
  }
  if (src.docs.empty()) return invalidArgument("spec.rawManifests contains no objects");
  return src;
}

}  // namespace

Status RawDelivery::validateApp(std::string_view appJson) const {
  auto req = parseRenderRequest(appJson);
  if (!req.ok()) return req.status();
  return render(appJson).status();
}

StatusOr<std::string> RawDelivery::render(std::string_view requestJson) const {
  auto reqOr = parseRenderRequest(requestJson);
  if (!reqOr.ok()) return reqOr.status();
  RenderRequest& req = *reqOr;
  auto srcOr = readSource(req.app);
  if (!srcOr.ok()) return srcOr.status();
  Source& src = *srcOr;
  if (src.docs.size() > config_.maxDocuments) {
    return invalidArgument("spec.rawManifests has " + std::to_string(src.docs.size()) +
                           " objects, more than the limit of " + std::to_string(config_.maxDocuments));
  }

  std::vector<Object> objects;
  objects.reserve(src.docs.size());
  std::map<std::string, std::string> seen;  // group/kind/name → where
  for (size_t i = 0; i < src.docs.size(); ++i) {
    Object obj(std::move(src.docs[i]));
    const std::string& where = src.where[i];
    if (obj.apiVersion().empty()) return invalidArgument(where + ": apiVersion is required");
    if (obj.kind().empty()) return invalidArgument(where + ": kind is required");
    const json::Value* metaVal = json::find(obj.root(), "metadata");
    if (metaVal && !metaVal->IsObject()) return invalidArgument(where + ": metadata must be a map");
    std::string what = std::string(obj.kind());
    if (obj.name().empty()) {
      if (!obj.generateName().empty()) {
        return invalidArgument(where + " (" + what + "): metadata.name is required (generateName is not supported: "
                               "kubeop applies objects by name)");
      }
      return invalidArgument(where + " (" + what + "): metadata.name is required");
    }
    what += " " + std::string(obj.name());
    if (auto bad = names::validateObjectName(obj.kind(), obj.name())) {
      return invalidArgument(where + " (" + what + "): metadata.name \"" + std::string(obj.name()) +
                             "\" is invalid: " + *bad);
    }
    GroupVersionKind gvk = obj.gvk();
    if (names::isClusterScopedKind(gvk.group, gvk.kind)) {
      return invalidArgument(where + " (" + what + "): kind " + gvk.kind +
                             " is cluster-scoped; a Raw app may only deliver namespaced objects into its own "
                             "namespace " + req.ns);
    }
    if (std::find(config_.forbiddenKinds.begin(), config_.forbiddenKinds.end(), gvk.kind) !=
        config_.forbiddenKinds.end()) {
      return invalidArgument(where + " (" + what + "): kind " + gvk.kind + " is forbidden by the platform");
    }
    if (!obj.namespace_().empty() && obj.namespace_() != req.ns) {
      return invalidArgument(where + " (" + what + "): metadata.namespace \"" + std::string(obj.namespace_()) +
                             "\" is not the App's namespace \"" + req.ns +
                             "\"; tenants must not escape their namespace");
    }
    std::string key = gvk.group + "/" + gvk.kind + "/" + std::string(obj.name());
    if (auto it = seen.find(key); it != seen.end()) {
      return invalidArgument(where + " (" + what + "): duplicates " + it->second);
    }
    seen.emplace(key, where);
    obj.setNamespace(req.ns);
    stampLabels(obj, req);
    objects.push_back(std::move(obj));
  }

  json::Document prov(rapidjson::kObjectType);
  auto& a = prov.GetAllocator();
  prov.AddMember("source", "rawManifests", a);
  prov.AddMember("objects", static_cast<uint64_t>(objects.size()), a);
  return renderResult(objects, &prov);
}

}  // namespace kubeop::plugins::raw
