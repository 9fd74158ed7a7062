#include "quota.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/render_common.h"
#include "kubeop/core/json.h"

namespace kubeop::plugins::quota {
namespace {

json::Document parseOk(const std::string& text) {
  auto d = json::parse(text);
  EXPECT_TRUE(d.ok()) << d.status().toString() << "\n" << text;
  return d.ok() ? std::move(d).value() : json::Document();
}

std::string canonical(const std::string& text) { return canonicalJson(parseOk(text)); }

std::string tenantCr(std::string_view quota = "", std::string_view name = "acme") {
  std::string t = R"({"apiVersion":"paas.kubeop.io/v1alpha1","kind":"Tenant","metadata":{"name":")" +
                  std::string(name) + R"("},"spec":{"name":")" + std::string(name) + "\"";
  if (!quota.empty()) t += R"(,"quota":)" + std::string(quota);
  return t + "}}";
}

std::string projectCr(std::string_view quota = "", std::string_view name = "web", std::string_view tenant = "acme") {
  std::string p = R"({"apiVersion":"paas.kubeop.io/v1alpha1","kind":"Project","metadata":{"name":")" +
                  std::string(tenant) + "-" + std::string(name) + R"("},"spec":{"tenantRef":")" + std::string(tenant) +
                  R"(","name":")" + std::string(name) + "\"";
  if (!quota.empty()) p += R"(,"quota":)" + std::string(quota);
  return p + "}}";
}

std::string projectScope(const std::string& project, const std::string& tenant = "null",
                         std::string_view ns = "kubeop-acme-web") {
  return R"({"scope":"project","object":)" + project + R"(,"tenant":)" + tenant + R"(,"namespace":")" +
         std::string(ns) + "\"}";
}

QuotaGuardrail guardrail(std::string_view config = "{}") {
  auto c = parseConfig(config);
  EXPECT_TRUE(c.ok()) << c.status().toString();
  return QuotaGuardrail(c.ok() ? *c : QuotaConfig{});
}

const json::Value* objectNamed(const json::Value& result, std::string_view kind) {
  for (const auto& o : result["objects"].GetArray()) {
    if (json::getString(o, "kind") == kind) return &o;
  }
  return nullptr;
}

// kubeOP acceptance A4 (§5.2): the exact objects a Project gets with no overrides.
TEST(QuotaGuardrailTest, ProjectGetsKubeopsExactDefaults) {
  auto out = guardrail().contribute(projectScope(projectCr()));
  ASSERT_TRUE(out.ok()) << out.status().toString();
  const std::string labels =
      R"("labels":{"app.kubeop.io/tenant":"acme","app.kubeop.io/project":"web","app.kubernetes.io/managed-by":"kubeop"})";
  const std::string expected =
      R"({"objects":[)"
      R"({"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"kubeop-defaults","namespace":"kubeop-acme-web",)" +
      labels +
      R"(},"spec":{"limits":[{"type":"Container","default":{"cpu":"500m","memory":"256Mi"},)"
      R"("defaultRequest":{"cpu":"100m","memory":"64Mi"}}]}},)"
      R"({"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"kubeop-quota","namespace":"kubeop-acme-web",)" +
      labels + R"(},"spec":{"hard":{"pods":"10","requests.cpu":"1","requests.memory":"1Gi"}}}]})";
  EXPECT_EQ(canonical(*out), canonical(expected)) << *out;
}

struct OverrideCase {
  const char* name;
  std::string config;
  std::string tenantQuota;   // "" = the tenant has no spec.quota; "-" = no Tenant in the request
  std::string projectQuota;  // "" = no spec.quota
  std::map<std::string, std::string> hard;
  std::map<std::string, std::string> defaultRequest;
  std::map<std::string, std::string> defaultLimit;
};

void PrintTo(const OverrideCase& c, std::ostream* os) { *os << c.name; }

class QuotaOverrides : public ::testing::TestWithParam<OverrideCase> {};

std::map<std::string, std::string> stringMap(const json::Value* v) {
  std::map<std::string, std::string> out;
  if (!v || !v->IsObject()) return out;
  for (auto m = v->MemberBegin(); m != v->MemberEnd(); ++m)
    out[std::string(json::view(m->name))] = json::view(m->value);
  return out;
}

TEST_P(QuotaOverrides, ProjectOverridesTenantOverridesConfigOverridesBuiltins) {
  const OverrideCase& c = GetParam();
  std::string tenant = c.tenantQuota == "-" ? "null" : tenantCr(c.tenantQuota);
  auto out = guardrail(c.config).contribute(projectScope(projectCr(c.projectQuota), tenant));
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = parseOk(*out);
  const json::Value* rq = objectNamed(d, "ResourceQuota");
  const json::Value* lr = objectNamed(d, "LimitRange");
  ASSERT_TRUE(rq && lr);
  EXPECT_EQ(stringMap(json::findPath(*rq, {"spec", "hard"})), c.hard);
  const json::Value& item = (*lr)["spec"]["limits"][0];
  EXPECT_EQ(json::view(item["type"]), "Container");
  EXPECT_EQ(stringMap(json::find(item, "defaultRequest")), c.defaultRequest);
  EXPECT_EQ(stringMap(json::find(item, "default")), c.defaultLimit);
}

const std::map<std::string, std::string> kHard{{"pods", "10"}, {"requests.cpu", "1"}, {"requests.memory", "1Gi"}};
const std::map<std::string, std::string> kReq{{"cpu", "100m"}, {"memory", "64Mi"}};
const std::map<std::string, std::string> kLim{{"cpu", "500m"}, {"memory", "256Mi"}};

INSTANTIATE_TEST_SUITE_P(
    Precedence, QuotaOverrides,
    ::testing::Values(OverrideCase{"BuiltinsWithoutTenant", "{}", "-", "", kHard, kReq, kLim},
                      OverrideCase{"BuiltinsWithTenantWithoutQuota", "{}", "", "", kHard, kReq, kLim},
                      OverrideCase{"EmptyQuotaObjects", "{}", "{}", "{}", kHard, kReq, kLim},
                      OverrideCase{"ConfigOverridesBuiltins",
                                   R"({"defaults":{"pods":20,"requestsCPU":"2","defaultLimitMemory":"512Mi"}})",
                                   "",
                                   "",
                                   {{"pods", "20"}, {"requests.cpu", "2"}, {"requests.memory", "1Gi"}},
                                   kReq,
                                   {{"cpu", "500m"}, {"memory", "512Mi"}}},
                      OverrideCase{"TenantOverridesConfig",
                                   R"({"defaults":{"pods":20,"requestsCPU":"2"}})",
                                   R"({"pods":30,"requestsMemory":"2Gi"})",
                                   "",
                                   {{"pods", "30"}, {"requests.cpu", "2"}, {"requests.memory", "2Gi"}},
                                   kReq,
                                   kLim},
                      OverrideCase{"ProjectOverridesTenant",
                                   R"({"defaults":{"pods":20}})",
                                   R"({"pods":30,"requestsCPU":"3"})",
                                   R"({"pods":5,"defaultRequestCPU":"50m"})",
                                   {{"pods", "5"}, {"requests.cpu", "3"}, {"requests.memory", "1Gi"}},
                                   {{"cpu", "50m"}, {"memory", "64Mi"}},
                                   kLim},
                      OverrideCase{"EachFieldFromItsOwnLevel",
                                   R"({"defaults":{"requestsMemory":"3Gi"}})",
                                   R"({"requestsCPU":"1500m"})",
                                   R"({"pods":7})",
                                   {{"pods", "7"}, {"requests.cpu", "1500m"}, {"requests.memory", "3Gi"}},
                                   kReq,
                                   kLim},
                      OverrideCase{"LimitsAppearOnlyWhenSet",
                                   "{}",
                                   R"({"limitsCPU":"4"})",
                                   R"({"limitsMemory":"4Gi"})",
                                   {{"pods", "10"},
                                    {"requests.cpu", "1"},
                                    {"requests.memory", "1Gi"},
                                    {"limits.cpu", "4"},
                                    {"limits.memory", "4Gi"}},
                                   kReq,
                                   kLim},
                      OverrideCase{"IntegersAreQuantities",
                                   "{}",
                                   "",
                                   R"({"requestsCPU":2,"requestsMemory":1073741824})",
                                   {{"pods", "10"}, {"requests.cpu", "2"}, {"requests.memory", "1073741824"}},
                                   kReq,
                                   kLim},
                      OverrideCase{"NullFieldsInherit",
                                   "{}",
                                   R"({"pods":12})",
                                   R"({"pods":null,"requestsCPU":null})",
                                   {{"pods", "12"}, {"requests.cpu", "1"}, {"requests.memory", "1Gi"}},
                                   kReq,
                                   kLim},
                      OverrideCase{"DefaultsRaisedTogether",
                                   "{}",
                                   "",
                                   R"({"defaultRequestCPU":"1","defaultLimitCPU":"2","defaultRequestMemory":"1Gi",)"
                                   R"("defaultLimitMemory":"1Gi"})",
                                   kHard,
                                   {{"cpu", "1"}, {"memory", "1Gi"}},
                                   {{"cpu", "2"}, {"memory", "1Gi"}}}),
    [](const ::testing::TestParamInfo<OverrideCase>& i) { return std::string(i.param.name); });

struct RefusedCase {
  const char* name;
  std::string config;
  std::string tenantQuota;
  std::string projectQuota;
  std::vector<std::string> expect;
};

void PrintTo(const RefusedCase& c, std::ostream* os) { *os << c.name; }

class QuotaRefuses : public ::testing::TestWithParam<RefusedCase> {};

TEST_P(QuotaRefuses, ProjectsWhoseQuotaCannotBeApplied) {
  const RefusedCase& c = GetParam();
  auto out = guardrail(c.config).contribute(projectScope(projectCr(c.projectQuota), tenantCr(c.tenantQuota)));
  ASSERT_FALSE(out.ok()) << *out;
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  for (const auto& e : c.expect) {
    EXPECT_NE(out.status().message().find(e), std::string::npos)
        << "missing \"" << e << "\" in: " << out.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    BadQuota, QuotaRefuses,
    ::testing::Values(
        RefusedCase{"CpuOverMaximum",
                    R"({"maxRequestsCPU":"4"})",
                    "",
                    R"({"requestsCPU":"8"})",
                    {"Project web", "requests.cpu 8 exceeds maximum 4"}},
        RefusedCase{"TenantMemoryOverMaximum",
                    R"({"maxRequestsMemory":"2Gi"})",
                    R"({"requestsMemory":"3Gi"})",
                    "",
                    {"Project web", "requests.memory 3Gi exceeds maximum 2Gi"}},
        RefusedCase{"DefaultRequestAboveDefaultLimit",
                    "{}",
                    "",
                    R"({"defaultRequestCPU":"1"})",
                    {"default request for cpu (1) is more than its default limit (500m)"}},
        RefusedCase{"DefaultMemoryRequestAboveLimit",
                    "{}",
                    R"({"defaultLimitMemory":"32Mi"})",
                    "",
                    {"default request for memory (64Mi) is more than its default limit (32Mi)"}},
        RefusedCase{"MalformedQuantity",
                    "{}",
                    "",
                    R"({"requestsCPU":"lots"})",
                    {"Project web: spec.quota.requestsCPU", "quantities must match"}},
        RefusedCase{"MalformedTenantQuantity",
                    "{}",
                    R"({"requestsMemory":"1Gb"})",
                    "",
                    {"Tenant acme: spec.quota.requestsMemory", "quantities must match"}},
        RefusedCase{"Negative", "{}", "", R"({"requestsMemory":"-1Gi"})", {"-1Gi must not be negative"}},
        RefusedCase{"NegativeInteger", "{}", "", R"({"pods":-1})", {"spec.quota.pods", "must not be negative"}},
        RefusedCase{"FractionalPods", "{}", "", R"({"pods":"2.5"})", {"spec.quota.pods: 2.5 is not a whole number"}},
        RefusedCase{"FractionalNumber", "{}", "", R"({"requestsCPU":0.5})", {"got a fractional number"}},
        RefusedCase{"HugeInteger", "{}", "", R"({"requestsCPU":9223372036854775807})", {"is too large"}},
        RefusedCase{"HugeUnsigned", "{}", "", R"({"requestsCPU":18446744073709551615})", {"is too large"}},
        RefusedCase{"WrongType", "{}", "", R"({"requestsCPU":true})", {"got bool"}},
        RefusedCase{"QuotaNotAMap", "{}", "", R"("big")", {"spec.quota must be a map"}}),
    [](const ::testing::TestParamInfo<RefusedCase>& i) { return std::string(i.param.name); });

TEST(QuotaGuardrailTest, RefusesMalformedScopes) {
  auto g = guardrail();
  struct Case {
    std::string scope;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"{nope", "contribute request: invalid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"scope":"cluster","object":{}})", "scope must be"},
      {R"({"scope":"project"})", "\"object\" must be the project object"},
      {R"({"scope":"project","object":{"spec":{"name":"web"}},"namespace":"n"})", "spec.tenantRef is empty"},
      {projectScope(projectCr(), "null", "Not_A_Namespace"), "not a valid namespace name"},
      {projectScope(projectCr("", "web", "bad tenant")), "cannot be a label value"},
      {R"({"scope":"project","object":{"spec":{"tenantRef":"a","name":"b"}},"tenant":5})", "\"tenant\" must be"},
      {R"({"scope":"tenant","object":{"metadata":{"name":"acme"}},"projects":{}})", "\"projects\" must be a list"},
  };
  for (const auto& c : cases) {
    auto out = g.contribute(c.scope);
    ASSERT_FALSE(out.ok()) << c.scope;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(out.status().message().find(c.expect), std::string::npos) << out.status().message();
  }
}

TEST(QuotaGuardrailTest, NamespaceDefaultsToKubeopsDerivation) {
  auto out = guardrail().contribute(R"({"scope":"project","object":)" + projectCr() + "}");
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = parseOk(*out);
  for (const auto& o : d["objects"].GetArray()) {
    EXPECT_EQ(json::view(o["metadata"]["namespace"]), "kubeop-acme-web");
  }
}

TEST(QuotaGuardrailTest, AppScopeContributesNothing) {
  auto out = guardrail().contribute(
      R"({"scope":"app","object":{"metadata":{"name":"a","namespace":"kubeop-acme-web"}},"namespace":"kubeop-acme-web"})");
  ASSERT_TRUE(out.ok()) << out.status().toString();
  EXPECT_EQ(*out, R"({"objects":[]})");
}

// ---- the tenant envelope ----

ProjectQuota pq(std::string name, std::string pods, std::string cpu, std::string mem) {
  QuotaSpec q;
  auto amount = [](const std::string& s) {
    auto a = parseAmount(json::Value(rapidjson::StringRef(s.c_str())), "test");
    EXPECT_TRUE(a.ok()) << a.status().toString();
    return *a;
  };
  if (!pods.empty()) q.pods = amount(pods);
  if (!cpu.empty()) q.requestsCPU = amount(cpu);
  if (!mem.empty()) q.requestsMemory = amount(mem);
  return ProjectQuota{std::move(name), q};
}

struct EnvelopeCase {
  const char* name;
  ProjectQuota tenant;  // its quota is the envelope
  std::vector<ProjectQuota> projects;
  bool ok;
  std::map<std::string, std::string> used;
  std::map<std::string, std::string> limit;
  std::vector<std::string> expect;  // substrings of the message
};

void PrintTo(const EnvelopeCase& c, std::ostream* os) { *os << c.name; }

class Envelope : public ::testing::TestWithParam<EnvelopeCase> {};

TEST_P(Envelope, SumsTheProjectsAgainstTheTenantsQuota) {
  const EnvelopeCase& c = GetParam();
  EnvelopeResult r = checkEnvelope(c.tenant.quota, c.projects);
  EXPECT_EQ(r.ok, c.ok) << r.message;
  EXPECT_EQ(r.used, c.used);
  EXPECT_EQ(r.limit, c.limit);
  if (c.ok) {
    EXPECT_EQ(r.message, "");
  }
  for (const auto& e : c.expect) {
    EXPECT_NE(r.message.find(e), std::string::npos) << "missing \"" << e << "\" in: " << r.message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Envelope,
    ::testing::Values(
        EnvelopeCase{"NoEnvelopeNoLimit",
                     pq("t", "", "", ""),
                     {pq("a", "10", "1", "1Gi"), pq("b", "10", "1", "1Gi")},
                     true,
                     {{"pods", "20"}, {"requests.cpu", "2"}, {"requests.memory", "2Gi"}},
                     {},
                     {}},
        EnvelopeCase{"NoProjects",
                     pq("t", "10", "2", "2Gi"),
                     {},
                     true,
                     {{"pods", "0"}, {"requests.cpu", "0"}, {"requests.memory", "0"}},
                     {{"pods", "10"}, {"requests.cpu", "2"}, {"requests.memory", "2Gi"}},
                     {}},
        EnvelopeCase{"Under",
                     pq("t", "30", "4", "4Gi"),
                     {pq("a", "10", "1", "1Gi"), pq("b", "10", "1500m", "2Gi")},
                     true,
                     {{"pods", "20"}, {"requests.cpu", "2500m"}, {"requests.memory", "3Gi"}},
                     {{"pods", "30"}, {"requests.cpu", "4"}, {"requests.memory", "4Gi"}},
                     {}},
        EnvelopeCase{"ExactlyFull",
                     pq("t", "20", "2", "2Gi"),
                     {pq("a", "10", "1", "1Gi"), pq("b", "10", "1000m", "1024Mi")},
                     true,
                     {{"pods", "20"}, {"requests.cpu", "2"}, {"requests.memory", "2Gi"}},
                     {{"pods", "20"}, {"requests.cpu", "2"}, {"requests.memory", "2Gi"}},
                     {}},
        EnvelopeCase{"CpuOver",
                     pq("t", "", "2", ""),
                     {pq("a", "10", "1", "1Gi"), pq("b", "10", "1500m", "1Gi")},
                     false,
                     {{"pods", "20"}, {"requests.cpu", "2500m"}, {"requests.memory", "2Gi"}},
                     {{"requests.cpu", "2"}},
                     {"requests.cpu: the projects' quotas add up to 2500m (a 1, b 1500m), more than the tenant's "
                      "envelope of 2"}},
        EnvelopeCase{"MemoryOverInBinaryUnits",
                     pq("t", "", "", "1Gi"),
                     {pq("a", "1", "1", "512Mi"), pq("b", "1", "1", "1Gi")},
                     false,
                     {{"pods", "2"}, {"requests.cpu", "2"}, {"requests.memory", "1536Mi"}},
                     {{"requests.memory", "1Gi"}},
                     {"requests.memory: the projects' quotas add up to 1536Mi (a 512Mi, b 1Gi)", "envelope of 1Gi"}},
        EnvelopeCase{"PodsAndCpuOver",
                     pq("t", "15", "1", "10Gi"),
                     {pq("a", "10", "1", "1Gi"), pq("b", "10", "100m", "1Gi")},
                     false,
                     {{"pods", "20"}, {"requests.cpu", "1100m"}, {"requests.memory", "2Gi"}},
                     {{"pods", "15"}, {"requests.cpu", "1"}, {"requests.memory", "10Gi"}},
                     {"pods: the projects' quotas add up to 20 (a 10, b 10), more than the tenant's envelope of 15",
                      "; requests.cpu: the projects' quotas add up to 1100m"}},
        EnvelopeCase{"OneMilliOver",
                     pq("t", "", "1", ""),
                     {pq("a", "1", "500m", "1"), pq("b", "1", "501m", "1")},
                     false,
                     {{"pods", "2"}, {"requests.cpu", "1001m"}, {"requests.memory", "2"}},
                     {{"requests.cpu", "1"}},
                     {"add up to 1001m"}}),
    [](const ::testing::TestParamInfo<EnvelopeCase>& i) { return std::string(i.param.name); });

TEST(QuotaGuardrailTest, TenantScopeReportsTheEnvelopeOverEffectiveProjectQuotas) {
  // The tenant's spec.quota is both its projects' default and its envelope: "web" inherits
  // requests.cpu 2, "api" sets 1 → 3 > 2; pods use the built-in 10 each against no envelope.
  std::string scope = R"({"scope":"tenant","object":)" + tenantCr(R"({"requestsCPU":"2"})") + R"(,"projects":[)" +
                      projectCr("", "web") + "," + projectCr(R"({"requestsCPU":"1"})", "api") + "]}";
  auto out = guardrail().contribute(scope);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = parseOk(*out);
  EXPECT_EQ(d["objects"].Size(), 0u);
  const json::Value& env = d["envelope"];
  EXPECT_FALSE(env["ok"].GetBool());
  EXPECT_NE(json::getString(env, "message").find("requests.cpu: the projects' quotas add up to 3 (web 2, api 1)"),
            std::string::npos)
      << json::getString(env, "message");
  EXPECT_EQ(stringMap(&env["used"]),
            (std::map<std::string, std::string>{{"pods", "20"}, {"requests.cpu", "3"}, {"requests.memory", "2Gi"}}));
  EXPECT_EQ(stringMap(&env["limit"]), (std::map<std::string, std::string>{{"requests.cpu", "2"}}));

  auto fits =
      guardrail().contribute(R"({"scope":"tenant","object":)" + tenantCr(R"({"pods":25})") + R"(,"projects":[)" +
                             projectCr(R"({"pods":10})", "a") + "," + projectCr(R"({"pods":15})", "b") + "]}");
  ASSERT_TRUE(fits.ok()) << fits.status().toString();
  auto f = parseOk(*fits);
  EXPECT_TRUE(f["envelope"]["ok"].GetBool());
  EXPECT_EQ(json::getString(f["envelope"], "message"), "");
}

TEST(QuotaGuardrailTest, TenantScopeRefusesAnotherTenantsProject) {
  std::string scope =
      R"({"scope":"tenant","object":)" + tenantCr() + R"(,"projects":[)" + projectCr("", "web", "other") + "]}";
  auto out = guardrail().contribute(scope);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("belongs to tenant \"other\""), std::string::npos) << out.status().message();
  auto bad = guardrail().contribute(R"({"scope":"tenant","object":)" + tenantCr() + R"(,"projects":[)" +
                                    projectCr(R"({"pods":"x"})", "web") + "]}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Project web: spec.quota.pods"), std::string::npos) << bad.status().message();
}

// ---- config ----

TEST(QuotaConfigTest, ParsesDefaultsAndMaximums) {
  auto c = parseConfig(
      R"({"defaults":{"pods":5,"requestsCPU":"500m"},"maxRequestsCPU":"4","maxRequestsMemory":8589934592})");
  ASSERT_TRUE(c.ok()) << c.status().toString();
  EXPECT_EQ(c->defaults.pods->text, "5");
  EXPECT_EQ(c->defaults.requestsCPU->milli, 500);
  EXPECT_EQ(c->defaults.requestsMemory->text, "1Gi") << "untouched built-in";
  EXPECT_EQ(c->maxRequestsCPU->milli, 4000);
  EXPECT_EQ(c->maxRequestsMemory->text, "8589934592");
  auto empty = parseConfig("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->defaults, builtinDefaults());
  EXPECT_FALSE(empty->maxRequestsCPU.has_value());
}

TEST(QuotaConfigTest, RefusesDefaultsNoProjectCouldGet) {
  struct Case {
    std::string config;
    std::string expect;
  };
  std::vector<Case> cases = {
      {R"({"maxRequestsCPU":"500m"})", "requests.cpu 1 exceeds maximum 500m"},
      {R"({"maxRequestsMemory":"512Mi"})", "requests.memory 1Gi exceeds maximum 512Mi"},
      {R"({"defaults":{"defaultRequestCPU":"2"}})", "default request for cpu (2) is more than its default limit"},
      {R"({"maxRequestsCPU":"-1"})", "must not be negative"},
      {R"({"defaults":{"requestsMemory":"1Gb"}})", "quota config: defaults.requestsMemory"},
      {"[1]", "must be a JSON object"},
  };
  for (const auto& c : cases) {
    auto r = parseConfig(c.config);
    ASSERT_FALSE(r.ok()) << c.config;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
}

// ---- mutate ----

TEST(QuotaGuardrailTest, MutateLeavesWorkloadsUnchanged) {
  const std::string objects =
      R"([{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w"},"spec":{"template":{"spec":{)"
      R"("containers":[{"name":"app","image":"nginx"}]}}}},{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},)"
      R"("spec":{"containers":[{"name":"c","image":"x","resources":{"requests":{"cpu":"2"}}}]}}])";
  auto out = guardrail().mutate(R"({"app":{"metadata":{"name":"w"}},"objects":)" + objects + "}");
  ASSERT_TRUE(out.ok()) << out.status().toString();
  EXPECT_EQ(canonical(*out), canonical(R"({"objects":)" + objects + "}"));
  EXPECT_EQ(*guardrail().mutate(R"({"app":{}})"), R"({"objects":[]})");
  EXPECT_FALSE(guardrail().mutate("{").ok());
  EXPECT_FALSE(guardrail().mutate(R"({"objects":{}})").ok());
  EXPECT_FALSE(guardrail().mutate(R"({"objects":[1]})").ok());
}

// ---- admission (kubeOP §6.3 rule 5, fixed) ----

std::string review(std::string_view hard, std::string_view op = "CREATE",
                   std::string_view nsLabels = R"({"app.kubeop.io/tenant":"acme","app.kubeop.io/project":"web"})",
                   std::string_view kind = "ResourceQuota") {
  std::string obj = R"({"apiVersion":"v1","kind":")" + std::string(kind) +
                    R"(","metadata":{"name":"q","namespace":"kubeop-acme-web"})";
  if (hard != "-") obj += R"(,"spec":{"hard":)" + std::string(hard) + "}";
  obj += "}";
  std::string r = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",)"
                  R"("kind":{"group":"","version":"v1","kind":")" +
                  std::string(kind) + R"("},"namespace":"kubeop-acme-web","operation":")" + std::string(op) + "\"";
  if (op != "DELETE") r += R"(,"object":)" + obj;
  r += "}";
  if (nsLabels != "-") r += R"(,"namespaceLabels":)" + std::string(nsLabels);
  return r + "}";
}

struct AdmissionCase {
  const char* name;
  std::string config;
  std::string review;
  bool allowed;
  std::string message;  // exact
};

void PrintTo(const AdmissionCase& c, std::ostream* os) { *os << c.name; }

class QuotaAdmission : public ::testing::TestWithParam<AdmissionCase> {};

TEST_P(QuotaAdmission, ChecksResourceQuotasInTenantNamespaces) {
  const AdmissionCase& c = GetParam();
  auto out = guardrail(c.config).validateAdmission(c.review);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = parseOk(*out);
  EXPECT_EQ(d["allowed"].GetBool(), c.allowed) << *out;
  EXPECT_EQ(json::getString(d, "message"), c.message);
}

const std::string kMax = R"({"maxRequestsCPU":"4","maxRequestsMemory":"8Gi"})";
const std::string kNoTenant = R"({"kubernetes.io/metadata.name":"default"})";

INSTANTIATE_TEST_SUITE_P(
    Rule5, QuotaAdmission,
    ::testing::Values(
        AdmissionCase{"WithinMaximums", kMax, review(R"({"requests.cpu":"2","requests.memory":"4Gi","pods":"10"})"),
                      true, ""},
        AdmissionCase{"EqualToMaximums", kMax, review(R"({"requests.cpu":"4000m","requests.memory":"8Gi"})"), true, ""},
        AdmissionCase{"NoHard", kMax, review("-"), false, "resourcequota must set requests.cpu and requests.memory"},
        AdmissionCase{"HardNotAMap", kMax, review(R"("x")"), false,
                      "resourcequota must set requests.cpu and requests.memory"},
        AdmissionCase{
            "EmptyHardIsDeniedNotZero", kMax, review("{}"), false,
            "resourcequota must set requests.cpu and requests.memory (missing: requests.cpu, requests.memory)"},
        AdmissionCase{"MissingMemoryIsDeniedNotZero", kMax, review(R"({"requests.cpu":"1"})"), false,
                      "resourcequota must set requests.cpu and requests.memory (missing: requests.memory)"},
        AdmissionCase{
            "MissingKeysDeniedWithoutMaximums", "{}", review(R"({"pods":"3"})"), false,
            "resourcequota must set requests.cpu and requests.memory (missing: requests.cpu, requests.memory)"},
        AdmissionCase{"CpuOverMaximum", kMax, review(R"({"requests.cpu":"5","requests.memory":"1Gi"})"), false,
                      "requests.cpu exceeds maximum 4"},
        AdmissionCase{"MemoryOverMaximum", kMax, review(R"({"requests.cpu":"1","requests.memory":"9Gi"})"), false,
                      "requests.memory exceeds maximum 8Gi"},
        AdmissionCase{"BothOver", kMax, review(R"({"requests.cpu":"4001m","requests.memory":"8193Mi"})"), false,
                      "requests.cpu exceeds maximum 4; requests.memory exceeds maximum 8Gi"},
        AdmissionCase{"ShortAliasesCount", kMax, review(R"({"cpu":"2","memory":"1Gi"})"), true, ""},
        AdmissionCase{"ShortAliasOverMaximum", kMax, review(R"({"requests.cpu":"1","cpu":"6","memory":"1Gi"})"), false,
                      "cpu exceeds maximum 4"},
        AdmissionCase{"NumbersAreQuantities", kMax, review(R"({"requests.cpu":3,"requests.memory":1073741824})"), true,
                      ""},
        AdmissionCase{"MalformedQuantity", kMax, review(R"({"requests.cpu":"two","requests.memory":"1Gi"})"), false,
                      "spec.hard[requests.cpu]: quantities must match the regular expression "
                      "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': \"two\""},
        AdmissionCase{"AnyValueWithoutMaximums", "{}", review(R"({"requests.cpu":"1000","requests.memory":"1Pi"})"),
                      true, ""},
        AdmissionCase{"OtherNamespacesNotChecked", kMax, review("-", "CREATE", kNoTenant), true, ""},
        AdmissionCase{"OtherKindsNotChecked", kMax, review("-", "CREATE", "{}", "ConfigMap"), true, ""},
        AdmissionCase{"UpdateIsChecked", kMax, review(R"({"requests.cpu":"5","requests.memory":"1Gi"})", "UPDATE"),
                      false, "requests.cpu exceeds maximum 4"},
        AdmissionCase{"DeleteAllowed", kMax, review("-", "DELETE"), true, ""}),
    [](const ::testing::TestParamInfo<AdmissionCase>& i) { return std::string(i.param.name); });

TEST(QuotaAdmissionTest, RefusesReviewsItCannotJudge) {
  auto g = guardrail(kMax);
  auto noLabels = g.validateAdmission(review(R"({"requests.cpu":"1"})", "CREATE", "-"));
  ASSERT_FALSE(noLabels.ok());
  EXPECT_NE(noLabels.status().message().find("has no namespaceLabels"), std::string::npos);
  EXPECT_FALSE(g.validateAdmission("{").ok());
  EXPECT_FALSE(g.validateAdmission(R"({"kind":"AdmissionReview"})").ok());
  EXPECT_FALSE(g.validateAdmission(R"({"request":{"kind":{"kind":"ResourceQuota"},"operation":"CREATE"},)"
                                   R"("namespaceLabels":{"app.kubeop.io/tenant":"a"}})")
                   .ok())
      << "no object";
  EXPECT_FALSE(g.validateAdmission(R"({"request":{"kind":{"kind":"ResourceQuota"}},"namespaceLabels":{"a":1}})").ok());
}

}  // namespace
}  // namespace kubeop::plugins::quota
