#include "common/render_common.h"

#include <algorithm>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kubeop/core/digest.h"

namespace kubeop::plugins {

StatusOr<RenderRequest> parseRenderRequest(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc.ok()) return invalidArgument("render request: " + doc.status().message());
  if (!doc->IsObject()) return invalidArgument("render request must be a JSON object");
  const json::Value* app = json::find(*doc, "app");
  const json::Value* ctx = json::find(*doc, "context");
  if (!app) app = &*doc;  // a bare App
  auto obj = Object::fromValue(*app);
  if (!obj.ok()) return invalidArgument("render request: app: " + obj.status().message());
  RenderRequest r;
  r.app = std::move(obj).value();
  r.appName = std::string(r.app.name());
  if (r.appName.empty()) return invalidArgument("the App has no metadata.name");
  std::string_view ns = ctx ? json::getString(*ctx, "namespace") : std::string_view();
  if (ns.empty()) ns = r.app.namespace_();
  r.ns = ns.empty() ? "default" : std::string(ns);
  std::string_view t = ctx ? json::getString(*ctx, "tenant") : std::string_view();
  r.tenant = !t.empty() ? std::string(t) : r.app.label(kLabelTenant).value_or("");
  std::string_view p = ctx ? json::getString(*ctx, "project") : std::string_view();
  r.project = !p.empty() ? std::string(p) : r.app.label(kLabelProject).value_or("");
  return r;
}

void stampLabels(Object& obj, const RenderRequest& req) {
  obj.setLabel(kLabelApp, req.appName);
  if (!req.tenant.empty()) obj.setLabel(kLabelTenant, req.tenant);
  if (!req.project.empty()) obj.setLabel(kLabelProject, req.project);
}

namespace {
void writeCanonical(rapidjson::Writer<rapidjson::StringBuffer>& w, const json::Value& v) {
  if (v.IsObject()) {
    std::vector<const json::Value::Member*> members;
    members.reserve(v.MemberCount());
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) members.push_back(&*m);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) {
      return json::view(a->name) < json::view(b->name);
    });
    w.StartObject();
    for (auto* m : members) {
      w.Key(m->name.GetString(), m->name.GetStringLength());
      writeCanonical(w, m->value);
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray()) writeCanonical(w, e);
    w.EndArray();
  } else {
    v.Accept(w);
  }
}
}  // namespace

std::string canonicalJson(const json::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  writeCanonical(w, v);
  return std::string(sb.GetString(), sb.GetSize());
}

std::string renderResult(const std::vector<Object>& objects, const json::Value* extraProvenance) {
  json::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  json::Value arr(rapidjson::kArrayType);
  arr.Reserve(static_cast<rapidjson::SizeType>(objects.size()), a);
  for (const auto& o : objects) arr.PushBack(json::Value(o.root(), a), a);
  std::string digest = digest::sha256Hex(canonicalJson(arr));
  out.AddMember("objects", arr, a);
  out.AddMember("revision", json::str(digest.substr(0, 12), a), a);
  json::Value prov(rapidjson::kObjectType);
  if (extraProvenance && extraProvenance->IsObject()) prov.CopyFrom(*extraProvenance, a);
  json::setString(prov, "digest", "sha256:" + digest, a);
  out.AddMember("provenance", prov, a);
  return json::write(out);
}

}  // namespace kubeop::plugins
