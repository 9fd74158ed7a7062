#include "quota.h"

#include <array>
#include <limits>

#include "common/guardrail_common.h"
#include "kubeop/core/object.h"
#include "kubeop/core/quantity.h"

namespace kubeop::plugins::quota {

// Quantities: the apiserver's grammar without a minus sign (no quota value may be negative).
// Strings go through the pattern; integers through "minimum".
const char* const kConfigSchema = R"({
  "type": "object",
  "definitions": {
    "quantity": {"type": ["string", "integer"], "minimum": 0,
                 "pattern": "^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$"},
    "quantityString": {"type": "string",
                 "pattern": "^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$"}
  },
  "properties": {
    "defaults": {
      "type": "object",
      "properties": {
        "pods": {"type": "integer", "minimum": 0},
        "requestsCPU": {"$ref": "#/definitions/quantity"},
        "requestsMemory": {"$ref": "#/definitions/quantity"},
        "limitsCPU": {"$ref": "#/definitions/quantity"},
        "limitsMemory": {"$ref": "#/definitions/quantity"},
        "defaultRequestCPU": {"$ref": "#/definitions/quantityString"},
        "defaultRequestMemory": {"$ref": "#/definitions/quantityString"},
        "defaultLimitCPU": {"$ref": "#/definitions/quantityString"},
        "defaultLimitMemory": {"$ref": "#/definitions/quantityString"}
      },
      "additionalProperties": false
    },
    "maxRequestsCPU": {"$ref": "#/definitions/quantity"},
    "maxRequestsMemory": {"$ref": "#/definitions/quantity"}
  },
  "additionalProperties": false
})";

namespace {

enum class Unit { kCount, kCpu, kMemory };

struct Field {
  const char* key;  // spec.quota key
  std::optional<Amount> QuotaSpec::*member;
  Unit unit;
};

constexpr std::array<Field, 9> kFields{{
    {"pods", &QuotaSpec::pods, Unit::kCount},
    {"requestsCPU", &QuotaSpec::requestsCPU, Unit::kCpu},
    {"requestsMemory", &QuotaSpec::requestsMemory, Unit::kMemory},
    {"limitsCPU", &QuotaSpec::limitsCPU, Unit::kCpu},
    {"limitsMemory", &QuotaSpec::limitsMemory, Unit::kMemory},
    {"defaultRequestCPU", &QuotaSpec::defaultRequestCPU, Unit::kCpu},
    {"defaultRequestMemory", &QuotaSpec::defaultRequestMemory, Unit::kMemory},
    {"defaultLimitCPU", &QuotaSpec::defaultLimitCPU, Unit::kCpu},
    {"defaultLimitMemory", &QuotaSpec::defaultLimitMemory, Unit::kMemory},
}};

Amount literal(std::string_view text) {
  auto m = quantity::parseMilli(text);
  return Amount{std::string(text), m.ok() ? *m : 0};
}

std::string formatSum(int64_t milli, Unit unit) {
  switch (unit) {
    case Unit::kCount:
      return milli % 1000 == 0 ? std::to_string(milli / 1000) : quantity::format(milli, false);
    case Unit::kCpu:
      return quantity::format(milli, false);
    case Unit::kMemory:
      return quantity::format(milli, true);
  }
  return quantity::format(milli, false);
}

int64_t saturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) return std::numeric_limits<int64_t>::max();
  return a + b;
}

std::string projectName(const Object& p) {
  const json::Value* spec = p.spec();
  std::string_view n = spec ? json::getString(*spec, "name") : std::string_view();
  return std::string(n.empty() ? p.name() : n);
}

StatusOr<QuotaSpec> quotaOf(const Object& o, std::string_view who) {
  const json::Value* q = o.spec() ? json::find(*o.spec(), "quota") : nullptr;
  if (!q || q->IsNull()) return QuotaSpec{};
  return parseQuotaSpec(*q, std::string(who) + ": spec.quota");
}

// The checks a project's effective quota must pass before it is applied.
Status checkEffective(const QuotaSpec& q, const QuotaConfig& config, std::string_view who) {
  auto over = [&](const std::optional<Amount>& v, const std::optional<Amount>& max, const char* key) -> Status {
    if (v && max && v->milli > max->milli) {
      return invalidArgument(std::string(who) + ": " + key + " " + v->text + " exceeds maximum " + max->text);
    }
    return Status::ok();
  };
  KUBEOP_RETURN_IF_ERROR(over(q.requestsCPU, config.maxRequestsCPU, "requests.cpu"));
  KUBEOP_RETURN_IF_ERROR(over(q.requestsMemory, config.maxRequestsMemory, "requests.memory"));
  auto ordered = [&](const std::optional<Amount>& req, const std::optional<Amount>& lim, const char* res,
                     const char* reqKey, const char* limKey) -> Status {
    if (req && lim && req->milli > lim->milli) {
      return invalidArgument(std::string(who) + ": the LimitRange default request for " + res + " (" + req->text +
                             ") is more than its default limit (" + lim->text + "); the apiserver refuses that, set " +
                             reqKey + " <= " + limKey);
    }
    return Status::ok();
  };
  KUBEOP_RETURN_IF_ERROR(
      ordered(q.defaultRequestCPU, q.defaultLimitCPU, "cpu", "defaultRequestCPU", "defaultLimitCPU"));
  KUBEOP_RETURN_IF_ERROR(
      ordered(q.defaultRequestMemory, q.defaultLimitMemory, "memory", "defaultRequestMemory", "defaultLimitMemory"));
  return Status::ok();
}

json::Value resourceMap(std::initializer_list<std::pair<const char*, const std::optional<Amount>*>> entries,
                        json::Allocator& a) {
  json::Value m(rapidjson::kObjectType);
  for (const auto& [key, v] : entries) {
    if (*v) m.AddMember(json::str(key, a), json::str((*v)->text, a), a);
  }
  return m;
}

Object limitRange(const QuotaSpec& q) {
  Object o;
  o.setApiVersion("v1");
  o.setKind("LimitRange");
  o.setName("kubeop-defaults");
  auto& a = o.allocator();
  json::Value item(rapidjson::kObjectType);
  item.AddMember("type", "Container", a);
  json::Value def = resourceMap({{"cpu", &q.defaultLimitCPU}, {"memory", &q.defaultLimitMemory}}, a);
  json::Value defReq = resourceMap({{"cpu", &q.defaultRequestCPU}, {"memory", &q.defaultRequestMemory}}, a);
  if (def.MemberCount() > 0) item.AddMember("default", def, a);
  if (defReq.MemberCount() > 0) item.AddMember("defaultRequest", defReq, a);
  json::Value limits(rapidjson::kArrayType);
  limits.PushBack(item, a);
  json::Value spec(rapidjson::kObjectType);
  spec.AddMember("limits", limits, a);
  o.root().AddMember("spec", spec, a);
  return o;
}

Object resourceQuota(const QuotaSpec& q) {
  Object o;
  o.setApiVersion("v1");
  o.setKind("ResourceQuota");
  o.setName("kubeop-quota");
  auto& a = o.allocator();
  json::Value hard = resourceMap({{"pods", &q.pods},
                                  {"requests.cpu", &q.requestsCPU},
                                  {"requests.memory", &q.requestsMemory},
                                  {"limits.cpu", &q.limitsCPU},
                                  {"limits.memory", &q.limitsMemory}},
                                 a);
  json::Value spec(rapidjson::kObjectType);
  spec.AddMember("hard", hard, a);
  o.root().AddMember("spec", spec, a);
  return o;
}

StatusOr<std::string> contributeProject(const GuardrailScope& s, const QuotaConfig& config) {
  const json::Value* tenant = s.tenant ? &s.tenant->root() : nullptr;
  KUBEOP_ASSIGN_OR_RETURN(QuotaSpec q, resolveProjectQuota(config, tenant, s.object.root()));
  std::vector<Object> objects;
  objects.push_back(limitRange(q));
  objects.push_back(resourceQuota(q));
  for (auto& o : objects) stampGuardrailMetadata(o, s);
  return objectsResult(objects);
}

StatusOr<std::string> contributeTenant(const GuardrailScope& s, const QuotaConfig& config) {
  KUBEOP_ASSIGN_OR_RETURN(QuotaSpec tenantQuota, quotaOf(s.object, "Tenant " + s.tenantName));
  std::vector<ProjectQuota> projects;
  for (size_t i = 0; i < s.projects.size(); ++i) {
    const Object& p = s.projects[i];
    std::string name = projectName(p);
    if (name.empty()) name = "projects[" + std::to_string(i) + "]";
    const json::Value* spec = p.spec();
    std::string_view ref = spec ? json::getString(*spec, "tenantRef") : std::string_view();
    if (!ref.empty() && ref != s.tenantName) {
      return invalidArgument("Project " + name + " belongs to tenant \"" + std::string(ref) + "\", not to \"" +
                             s.tenantName + "\"; only a tenant's own projects count against its envelope");
    }
    QuotaSpec eff = config.defaults;
    eff.overlay(tenantQuota);
    KUBEOP_ASSIGN_OR_RETURN(QuotaSpec own, quotaOf(p, "Project " + name));
    eff.overlay(own);
    projects.push_back(ProjectQuota{name, eff});
  }
  EnvelopeResult r = checkEnvelope(tenantQuota, projects);
  json::Document extra(rapidjson::kObjectType);
  auto& a = extra.GetAllocator();
  json::Value env(rapidjson::kObjectType);
  env.AddMember("ok", r.ok, a);
  env.AddMember("message", json::str(r.message, a), a);
  json::Value used(rapidjson::kObjectType);
  for (const auto& [k, v] : r.used) used.AddMember(json::str(k, a), json::str(v, a), a);
  json::Value limit(rapidjson::kObjectType);
  for (const auto& [k, v] : r.limit) limit.AddMember(json::str(k, a), json::str(v, a), a);
  env.AddMember("used", used, a);
  env.AddMember("limit", limit, a);
  extra.AddMember("envelope", env, a);
  return objectsResult({}, &extra);
}

}  // namespace

void QuotaSpec::overlay(const QuotaSpec& over) {
  for (const auto& f : kFields) {
    if (over.*(f.member)) this->*(f.member) = over.*(f.member);
  }
}

QuotaSpec builtinDefaults() {
  QuotaSpec q;
  q.pods = literal("10");
  q.requestsCPU = literal("1");
  q.requestsMemory = literal("1Gi");
  q.defaultRequestCPU = literal("100m");
  q.defaultRequestMemory = literal("64Mi");
  q.defaultLimitCPU = literal("500m");
  q.defaultLimitMemory = literal("256Mi");
  return q;
}

StatusOr<Amount> parseAmount(const json::Value& v, std::string_view where) {
  Amount out;
  if (v.IsString()) {
    out.text = std::string(json::view(v));
    auto m = quantity::parseMilli(out.text);
    if (!m.ok()) return invalidArgument(std::string(where) + ": " + m.status().message());
    out.milli = *m;
  } else if (v.IsInt64()) {
    int64_t n = v.GetInt64();
    if (n > std::numeric_limits<int64_t>::max() / 2000) {
      return invalidArgument(std::string(where) + ": " + std::to_string(n) + " is too large");
    }
    out.text = std::to_string(n);
    out.milli = n * 1000;
  } else if (v.IsUint64()) {
    return invalidArgument(std::string(where) + ": " + std::to_string(v.GetUint64()) + " is too large");
  } else {
    return invalidArgument(std::string(where) + ": must be a quantity string (\"500m\", \"1Gi\") or an integer, got " +
                           (v.IsNumber() ? "a fractional number" : json::typeName(v)));
  }
  if (out.milli < 0) return invalidArgument(std::string(where) + ": " + out.text + " must not be negative");
  return out;
}

StatusOr<QuotaSpec> parseQuotaSpec(const json::Value& v, std::string_view where) {
  QuotaSpec q;
  if (v.IsNull()) return q;
  if (!v.IsObject()) return invalidArgument(std::string(where) + " must be a map, got " + json::typeName(v));
  for (const auto& f : kFields) {
    const json::Value* fv = json::find(v, f.key);
    if (!fv || fv->IsNull()) continue;
    std::string at = std::string(where) + "." + f.key;
    KUBEOP_ASSIGN_OR_RETURN(Amount amount, parseAmount(*fv, at));
    if (f.unit == Unit::kCount && amount.milli % 1000 != 0) {
      return invalidArgument(at + ": " + amount.text + " is not a whole number");
    }
    q.*(f.member) = std::move(amount);
  }
  return q;
}

StatusOr<QuotaConfig> parseConfig(std::string_view configJson) {
  auto doc = json::parse(configJson.empty() ? std::string_view("{}") : configJson);
  if (!doc.ok()) return invalidArgument("quota config: " + doc.status().message());
  if (!doc->IsObject()) return invalidArgument("quota config must be a JSON object");
  QuotaConfig c;
  if (const json::Value* d = json::find(*doc, "defaults")) {
    KUBEOP_ASSIGN_OR_RETURN(QuotaSpec q, parseQuotaSpec(*d, "quota config: defaults"));
    c.defaults.overlay(q);
  }
  if (const json::Value* m = json::find(*doc, "maxRequestsCPU"); m && !m->IsNull()) {
    KUBEOP_ASSIGN_OR_RETURN(c.maxRequestsCPU, parseAmount(*m, "quota config: maxRequestsCPU"));
  }
  if (const json::Value* m = json::find(*doc, "maxRequestsMemory"); m && !m->IsNull()) {
    KUBEOP_ASSIGN_OR_RETURN(c.maxRequestsMemory, parseAmount(*m, "quota config: maxRequestsMemory"));
  }
  // Defaults no project could be given are a configuration error, not a failure per project.
  KUBEOP_RETURN_IF_ERROR(checkEffective(c.defaults, c, "quota config: the default quota (set defaults.* to fit)"));
  return c;
}

StatusOr<QuotaSpec> resolveProjectQuota(const QuotaConfig& config, const json::Value* tenant,
                                        const json::Value& project) {
  KUBEOP_ASSIGN_OR_RETURN(Object p, Object::fromValue(project));
  std::string who = "Project " + projectName(p);
  QuotaSpec eff = config.defaults;
  if (tenant && tenant->IsObject()) {
    KUBEOP_ASSIGN_OR_RETURN(Object t, Object::fromValue(*tenant));
    KUBEOP_ASSIGN_OR_RETURN(QuotaSpec tq, quotaOf(t, "Tenant " + std::string(t.name())));
    eff.overlay(tq);
  }
  KUBEOP_ASSIGN_OR_RETURN(QuotaSpec pq, quotaOf(p, who));
  eff.overlay(pq);
  KUBEOP_RETURN_IF_ERROR(checkEffective(eff, config, who));
  return eff;
}

EnvelopeResult checkEnvelope(const QuotaSpec& tenantQuota, const std::vector<ProjectQuota>& projects) {
  struct Resource {
    const char* key;
    std::optional<Amount> QuotaSpec::*member;
    Unit unit;
  };
  static constexpr std::array<Resource, 3> kResources{{
      {"pods", &QuotaSpec::pods, Unit::kCount},
      {"requests.cpu", &QuotaSpec::requestsCPU, Unit::kCpu},
      {"requests.memory", &QuotaSpec::requestsMemory, Unit::kMemory},
  }};
  EnvelopeResult r;
  std::vector<std::string> reasons;
  for (const auto& res : kResources) {
    int64_t sum = 0;
    std::string parts;
    for (const auto& p : projects) {
      const auto& v = p.quota.*(res.member);
      if (!v) continue;
      sum = saturatingAdd(sum, v->milli);
      if (!parts.empty()) parts += ", ";
      parts += p.name + " " + v->text;
    }
    std::string used = formatSum(sum, res.unit);
    r.used[res.key] = used;
    const auto& limit = tenantQuota.*(res.member);
    if (!limit) continue;
    r.limit[res.key] = limit->text;
    if (sum > limit->milli) {
      reasons.push_back(std::string(res.key) + ": the projects' quotas add up to " + used + " (" + parts +
                        "), more than the tenant's envelope of " + limit->text);
    }
  }
  r.ok = reasons.empty();
  r.message = joinReasons(reasons);
  return r;
}

std::vector<std::string> checkResourceQuotaHard(const json::Value* hard, const QuotaConfig& config) {
  static constexpr const char* kMustSet = "resourcequota must set requests.cpu and requests.memory";
  if (!hard || !hard->IsObject()) return {kMustSet};
  struct Resource {
    const char* key;
    const char* alias;  // the short key Kubernetes treats as the same resource
    const std::optional<Amount>* max;
  };
  const std::array<Resource, 2> resources{{
      {"requests.cpu", "cpu", &config.maxRequestsCPU},
      {"requests.memory", "memory", &config.maxRequestsMemory},
  }};
  std::vector<std::string> missing;
  for (const auto& res : resources) {
    if (!json::find(*hard, res.key) && !json::find(*hard, res.alias)) missing.push_back(res.key);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return {std::string(kMustSet) + " (missing: " + list + ")"};
  }
  std::vector<std::string> reasons;
  for (const auto& res : resources) {
    for (const char* key : {res.key, res.alias}) {
      const json::Value* v = json::find(*hard, key);
      if (!v) continue;
      auto amount = parseAmount(*v, std::string("spec.hard[") + key + "]");
      if (!amount.ok()) {
        reasons.push_back(amount.status().message());
      } else if (*res.max && amount->milli > (*res.max)->milli) {
        reasons.push_back(std::string(key) + " exceeds maximum " + (*res.max)->text);
      }
    }
  }
  return reasons;
}

StatusOr<std::string> QuotaGuardrail::contribute(std::string_view scopeJson) const {
  KUBEOP_ASSIGN_OR_RETURN(GuardrailScope s, parseGuardrailScope(scopeJson));
  if (s.scope == "project") return contributeProject(s, config_);
  if (s.scope == "tenant") return contributeTenant(s, config_);
  return objectsResult({});
}

StatusOr<std::string> QuotaGuardrail::mutate(std::string_view requestJson) const {
  return passThroughMutate(requestJson);
}

StatusOr<std::string> QuotaGuardrail::validateAdmission(std::string_view reviewJson) const {
  KUBEOP_ASSIGN_OR_RETURN(AdmissionRequest r, parseAdmissionReview(reviewJson));
  if (r.kind != "ResourceQuota" || !r.group.empty()) return admissionResult(true, "");
  if (r.operation == "DELETE" || r.operation == "CONNECT") return admissionResult(true, "");
  if (!r.namespaceLabels) {
    return invalidArgument("admission review for a ResourceQuota in namespace \"" + r.ns +
                           "\" has no namespaceLabels; the host must pass the namespace's labels");
  }
  if (!r.inTenantNamespace()) return admissionResult(true, "");
  if (!r.object) return invalidArgument("admission review: request.object is missing for " + r.operation);
  auto reasons = checkResourceQuotaHard(json::findPath(r.object->root(), {"spec", "hard"}), config_);
  return admissionResult(reasons.empty(), joinReasons(reasons));
}

}  // namespace kubeop::plugins::quota
