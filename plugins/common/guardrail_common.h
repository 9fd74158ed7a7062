// Helpers every in-tree guardrail plugin needs: reading a contribute scope, labelling the
// contributed objects, passing rendered objects through mutate, and reading an AdmissionReview.
// No ABI types here. Header-only so that plugins/common's build list stays unchanged.
//
// Thread-safety: free functions over values; no shared state.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/render_common.h"
#include "kubeop/core/json.h"
#include "kubeop/core/names.h"
#include "kubeop/core/object.h"
#include "kubeop/core/status.h"

namespace kubeop::plugins {

inline constexpr const char* kLabelManagedBy = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByKubeop = "kubeop";

// A contribute request as the operator sends it:
//   {"scope":"project","object":<Project>,"tenant":<Tenant>|null,"namespace":"kubeop-<t>-<p>"}
//   {"scope":"tenant","object":<Tenant>,"projects":[<Project>…]}
//   {"scope":"app","object":<App>,"namespace":…}
struct GuardrailScope {
  std::string scope;             // "tenant", "project" or "app"
  Object object;                 // the Tenant, Project or App
  std::optional<Object> tenant;  // project scope: the Tenant, when the operator has it
  std::vector<Object> projects;  // tenant scope: the tenant's projects
  std::string ns;                // project/app scope: the target namespace
  std::string tenantName;        // the value of app.kubeop.io/tenant
  std::string projectName;       // project scope: the value of app.kubeop.io/project
};

namespace detail {

inline std::string_view specString(const Object& o, std::string_view key) {
  const json::Value* spec = o.spec();
  return spec ? json::getString(*spec, key) : std::string_view();
}

inline Status checkLabelValue(std::string_view what, std::string_view value) {
  if (value.empty()) return invalidArgument(std::string(what) + " is empty; it is required to label the objects");
  if (auto bad = names::validateLabelValue(value)) {
    return invalidArgument(std::string(what) + " \"" + std::string(value) + "\" cannot be a label value: " + *bad);
  }
  return Status::ok();
}

}  // namespace detail

// Parses and checks a contribute request. Names: a Project's tenant is spec.tenantRef (else the
// Tenant's metadata.name), its project name spec.name (else metadata.name); the namespace
// defaults to kubeOP's "kubeop-<tenant>-<project>" when the request has none.
inline StatusOr<GuardrailScope> parseGuardrailScope(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc.ok()) return invalidArgument("contribute request: " + doc.status().message());
  if (!doc->IsObject()) return invalidArgument("contribute request must be a JSON object");
  GuardrailScope s;
  s.scope = std::string(json::getString(*doc, "scope"));
  if (s.scope != "tenant" && s.scope != "project" && s.scope != "app") {
    return invalidArgument("contribute request: scope must be \"tenant\", \"project\" or \"app\", got \"" + s.scope +
                           "\"");
  }
  const json::Value* obj = json::find(*doc, "object");
  if (!obj || !obj->IsObject()) {
    return invalidArgument("contribute request: \"object\" must be the " + s.scope + " object");
  }
  KUBEOP_ASSIGN_OR_RETURN(s.object, Object::fromValue(*obj));
  if (const json::Value* t = json::find(*doc, "tenant"); t && !t->IsNull()) {
    if (!t->IsObject()) return invalidArgument("contribute request: \"tenant\" must be the Tenant object or null");
    KUBEOP_ASSIGN_OR_RETURN(s.tenant, Object::fromValue(*t));
  }
  if (const json::Value* ps = json::find(*doc, "projects"); ps && !ps->IsNull()) {
    if (!ps->IsArray()) return invalidArgument("contribute request: \"projects\" must be a list of Project objects");
    for (const auto& p : ps->GetArray()) {
      auto po = Object::fromValue(p);
      if (!po.ok()) {
        return invalidArgument("contribute request: projects[" + std::to_string(s.projects.size()) +
                               "]: " + po.status().message());
      }
      s.projects.push_back(std::move(po).value());
    }
  }
  s.ns = std::string(json::getString(*doc, "namespace"));

  if (s.scope == "tenant") {
    s.tenantName = std::string(s.object.name());
    if (s.tenantName.empty()) s.tenantName = std::string(detail::specString(s.object, "name"));
    KUBEOP_RETURN_IF_ERROR(detail::checkLabelValue("the Tenant's name", s.tenantName));
    return s;
  }
  if (s.scope == "project") {
    s.tenantName = std::string(detail::specString(s.object, "tenantRef"));
    if (s.tenantName.empty() && s.tenant) s.tenantName = std::string(s.tenant->name());
    s.projectName = std::string(detail::specString(s.object, "name"));
    if (s.projectName.empty()) s.projectName = std::string(s.object.name());
    KUBEOP_RETURN_IF_ERROR(detail::checkLabelValue("the Project's spec.tenantRef", s.tenantName));
    KUBEOP_RETURN_IF_ERROR(detail::checkLabelValue("the Project's spec.name", s.projectName));
    if (s.ns.empty()) s.ns = "kubeop-" + s.tenantName + "-" + s.projectName;
  } else {  // app
    if (s.ns.empty()) s.ns = std::string(s.object.namespace_());
    s.tenantName = s.object.label(kLabelTenant).value_or("");
    s.projectName = s.object.label(kLabelProject).value_or("");
  }
  if (auto bad = names::validateDns1123Label(s.ns)) {
    return invalidArgument("contribute request: namespace \"" + s.ns + "\" is not a valid namespace name: " + *bad);
  }
  return s;
}

// Places a contributed object in the scope's namespace and labels it as kubeop's.
inline void stampGuardrailMetadata(Object& obj, const GuardrailScope& s) {
  obj.setNamespace(s.ns);
  if (!s.tenantName.empty()) obj.setLabel(kLabelTenant, s.tenantName);
  if (!s.projectName.empty()) obj.setLabel(kLabelProject, s.projectName);
  obj.setLabel(kLabelManagedBy, kManagedByKubeop);
}

// {"objects":[…]} plus the members of `extra` (an object), if any.
inline std::string objectsResult(const std::vector<Object>& objects, const json::Value* extra = nullptr) {
  json::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  json::Value arr(rapidjson::kArrayType);
  for (const auto& o : objects) arr.PushBack(json::Value(o.root(), a), a);
  out.AddMember("objects", arr, a);
  if (extra && extra->IsObject()) {
    for (auto m = extra->MemberBegin(); m != extra->MemberEnd(); ++m) {
      json::Value v(m->value, a);
      json::setMember(out, json::view(m->name), v, a);
    }
  }
  return json::write(out);
}

// mutate for guardrails that change nothing: checks {"app":…,"objects":[…]} and returns
// {"objects":[…]} with the objects as they came.
inline StatusOr<std::string> passThroughMutate(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc.ok()) return invalidArgument("mutate request: " + doc.status().message());
  if (!doc->IsObject()) return invalidArgument("mutate request must be a JSON object");
  json::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  json::Value arr(rapidjson::kArrayType);
  if (const json::Value* objs = json::find(*doc, "objects"); objs && !objs->IsNull()) {
    if (!objs->IsArray()) return invalidArgument("mutate request: \"objects\" must be a list");
    for (const auto& o : objs->GetArray()) {
      if (!o.IsObject()) {
        return invalidArgument("mutate request: objects[" + std::to_string(arr.Size()) + "] is a " + json::typeName(o) +
                               ", not an object");
      }
      arr.PushBack(json::Value(o, a), a);
    }
  }
  out.AddMember("objects", arr, a);
  return json::write(out);
}

// The parts of an AdmissionReview v1 a guardrail reads. kubeop's host adds the labels of the
// request's namespace as a top-level "namespaceLabels" object next to "request".
struct AdmissionRequest {
  std::string uid;
  std::string operation;         // CREATE, UPDATE, DELETE, CONNECT
  std::string group;             // request.kind.group ("" for core)
  std::string kind;              // request.kind.kind (else request.object.kind)
  std::string ns;                // request.namespace (else request.object.metadata.namespace)
  std::optional<Object> object;  // request.object; absent for DELETE
  // nullopt when the review carries no "namespaceLabels" (or null).
  std::optional<std::map<std::string, std::string>> namespaceLabels;

  bool inTenantNamespace() const { return namespaceLabels && namespaceLabels->count(kLabelTenant) > 0; }
};

inline StatusOr<AdmissionRequest> parseAdmissionReview(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc.ok()) return invalidArgument("admission review: " + doc.status().message());
  if (!doc->IsObject()) return invalidArgument("admission review must be a JSON object");
  const json::Value* req = json::find(*doc, "request");
  if (!req || !req->IsObject()) return invalidArgument("admission review has no \"request\" object");
  AdmissionRequest r;
  r.uid = std::string(json::getString(*req, "uid"));
  r.operation = std::string(json::getString(*req, "operation"));
  if (const json::Value* k = json::find(*req, "kind"); k && k->IsObject()) {
    r.group = std::string(json::getString(*k, "group"));
    r.kind = std::string(json::getString(*k, "kind"));
  }
  if (const json::Value* o = json::find(*req, "object"); o && !o->IsNull()) {
    if (!o->IsObject()) return invalidArgument("admission review: request.object must be an object");
    KUBEOP_ASSIGN_OR_RETURN(r.object, Object::fromValue(*o));
    if (r.kind.empty()) {
      r.kind = std::string(r.object->kind());
      r.group = r.object->gvk().group;
    }
  }
  r.ns = std::string(json::getString(*req, "namespace"));
  if (r.ns.empty() && r.object) r.ns = std::string(r.object->namespace_());
  if (const json::Value* l = json::find(*doc, "namespaceLabels"); l && !l->IsNull()) {
    if (!l->IsObject()) return invalidArgument("admission review: namespaceLabels must be a map of strings");
    std::map<std::string, std::string> labels;
    for (auto m = l->MemberBegin(); m != l->MemberEnd(); ++m) {
      if (!m->value.IsString()) {
        return invalidArgument("admission review: namespaceLabels[" + std::string(json::view(m->name)) +
                               "] must be a string");
      }
      labels.emplace(std::string(json::view(m->name)), std::string(json::view(m->value)));
    }
    r.namespaceLabels = std::move(labels);
  }
  return r;
}

// {"allowed":…,"message":"…"}
inline std::string admissionResult(bool allowed, std::string_view message) {
  json::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  out.AddMember("allowed", allowed, a);
  out.AddMember("message", json::str(message, a), a);
  return json::write(out);
}

// Joins denial reasons with "; ".
inline std::string joinReasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) {
    if (!out.empty()) out += "; ";
    out += r;
  }
  return out;
}

}  // namespace kubeop::plugins
