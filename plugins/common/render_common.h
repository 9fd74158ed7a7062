// Helpers every in-tree delivery plugin needs: reading the render request, stamping kubeop's
// labels, and computing a content digest of what was rendered. No ABI types here.
#pragma once

#include <string>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/object.h"
#include "kubeop/core/status.h"

namespace kubeop::plugins {

inline constexpr const char* kLabelApp = "app.kubeop.io/app";
inline constexpr const char* kLabelTenant = "app.kubeop.io/tenant";
inline constexpr const char* kLabelProject = "app.kubeop.io/project";

// The parts of a render request {"app":{…},"context":{…}} a plugin needs.
struct RenderRequest {
  Object app;
  std::string appName;
  std::string ns;       // context.namespace, else the App's namespace, else "default"
  std::string tenant;   // context.tenant, else the App's app.kubeop.io/tenant label
  std::string project;  // context.project, else the App's app.kubeop.io/project label
};

// Accepts either a render request or a bare App object.
StatusOr<RenderRequest> parseRenderRequest(std::string_view json);

// Labels an object as delivered for the request's App (and tenant/project when known).
void stampLabels(Object& obj, const RenderRequest& req);

// JSON with object keys sorted recursively: the canonical form hashed for revisions.
std::string canonicalJson(const json::Value& v);

// {"objects":[…],"revision":"<12 hex>","provenance":{"digest":"sha256:…",…extra}}.
// The revision is the first 12 hex characters of the SHA-256 of the canonical objects.
std::string renderResult(const std::vector<Object>& objects, const json::Value* extraProvenance);

}  // namespace kubeop::plugins
