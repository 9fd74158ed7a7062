// The quota plugin as the host sees it: loaded through the ABI from the built .so.
#include <gtest/gtest.h>

#include "kubeop/core/json.h"
#include "kubeop/plugin/registry.h"
#include "kubeop/plugin_abi.h"
#include "test_paths.h"

namespace kubeop::plugin {
namespace {

std::string soPath() { return kubeop::test::pluginDir() + "/libkubeop-quota.so"; }

std::shared_ptr<Plugin> loadQuota(std::string_view config = "{}") {
  Loader l(std::make_shared<HostServices>());
  auto p = l.load(soPath(), config);
  EXPECT_TRUE(p.ok()) << p.status().toString();
  return p.ok() ? *p : nullptr;
}

const char* kProjectScope = R"({"scope":"project","object":{"apiVersion":"paas.kubeop.io/v1alpha1","kind":"Project",)"
                            R"("metadata":{"name":"acme-web"},"spec":{"tenantRef":"acme","name":"web"}},"tenant":null,)"
                            R"("namespace":"kubeop-acme-web"})";

TEST(QuotaPluginTest, LoadsAsAGuardrailWithAConfigSchema) {
  auto p = loadQuota();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->info().name, "quota");
  EXPECT_TRUE(p->hasCapability(KUBEOP_CAP_GUARDRAIL));
  EXPECT_FALSE(p->hasCapability(KUBEOP_CAP_DELIVERY));
  EXPECT_FALSE(p->info().configSchema.empty());
}

TEST(QuotaPluginTest, ContributesTheDefaultsThroughTheAbi) {
  auto p = loadQuota();
  ASSERT_NE(p, nullptr);
  auto out = p->contribute(kProjectScope);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = json::parse(*out);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ((*d)["objects"].Size(), 2u);
  EXPECT_EQ(json::view((*d)["objects"][0]["metadata"]["name"]), "kubeop-defaults");
  EXPECT_EQ(json::view((*d)["objects"][1]["spec"]["hard"]["requests.memory"]), "1Gi");
  EXPECT_EQ(json::view((*d)["objects"][1]["metadata"]["labels"]["app.kubernetes.io/managed-by"]), "kubeop");

  auto mutated = p->mutate(R"({"app":{},"objects":[{"kind":"Pod"}]})");
  ASSERT_TRUE(mutated.ok()) << mutated.status().toString();
  EXPECT_EQ(*mutated, R"({"objects":[{"kind":"Pod"}]})");
}

TEST(QuotaPluginTest, AdmissionAndRefusalsCrossTheAbi) {
  auto p = loadQuota(R"({"maxRequestsCPU":"4","maxRequestsMemory":"8Gi"})");
  ASSERT_NE(p, nullptr);
  auto denied = p->validateAdmission(
      R"({"request":{"uid":"1","kind":{"group":"","version":"v1","kind":"ResourceQuota"},"operation":"CREATE",)"
      R"("namespace":"kubeop-acme-web","object":{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},)"
      R"("spec":{"hard":{"requests.cpu":"16","requests.memory":"1Gi"}}}},)"
      R"("namespaceLabels":{"app.kubeop.io/tenant":"acme"}})");
  ASSERT_TRUE(denied.ok()) << denied.status().toString();
  EXPECT_EQ(*denied, R"({"allowed":false,"message":"requests.cpu exceeds maximum 4"})");

  auto over = p->contribute(
      R"({"scope":"project","object":{"spec":{"tenantRef":"acme","name":"web","quota":{"requestsCPU":"8"}}}})");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(over.status().message(), "Project web: requests.cpu 8 exceeds maximum 4");

  auto garbage = p->validateAdmission("not json");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);
}

struct SchemaCase {
  const char* name;
  const char* config;
  const char* expect;  // in the loader's message
};

void PrintTo(const SchemaCase& c, std::ostream* os) { *os << c.name; }

class QuotaPluginConfig : public ::testing::TestWithParam<SchemaCase> {};

TEST_P(QuotaPluginConfig, HostRefusesConfigThatBreaksTheSchemaOrTheRules) {
  Loader l(std::make_shared<HostServices>());
  auto p = l.load(soPath(), GetParam().config);
  ASSERT_FALSE(p.ok()) << GetParam().config;
  EXPECT_NE(p.status().message().find(GetParam().expect), std::string::npos) << p.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Rejections, QuotaPluginConfig,
    ::testing::Values(
        SchemaCase{"UnknownKey", R"({"maxCPU":"4"})", "additionalProperties"},
        SchemaCase{"UnknownDefaultsKey", R"({"defaults":{"services":3}})", "/defaults"},
        SchemaCase{"NegativePods", R"({"defaults":{"pods":-1}})", "/defaults/pods"},
        SchemaCase{"PodsAsString", R"({"defaults":{"pods":"ten"}})", "/defaults/pods"},
        SchemaCase{"MalformedQuantity", R"({"defaults":{"requestsCPU":"lots"}})", "/defaults/requestsCPU"},
        SchemaCase{"NegativeQuantity", R"({"maxRequestsCPU":"-1"})", "/maxRequestsCPU"},
        SchemaCase{"NegativeInteger", R"({"maxRequestsMemory":-5})", "/maxRequestsMemory"},
        SchemaCase{"DefaultAsInteger", R"({"defaults":{"defaultLimitCPU":1}})", "/defaults/defaultLimitCPU"},
        SchemaCase{"BooleanMaximum", R"({"maxRequestsCPU":true})", "/maxRequestsCPU"},
        SchemaCase{"NotAnObject", "[]", "config must be a JSON object"},
        // Passes the schema, fails the rules checked at create().
        SchemaCase{"DefaultsAboveMaximum", R"({"maxRequestsCPU":"500m"})", "requests.cpu 1 exceeds maximum 500m"}),
    [](const ::testing::TestParamInfo<SchemaCase>& i) { return std::string(i.param.name); });

TEST(QuotaPluginTest, AcceptsAFullConfig) {
  auto p = loadQuota(
      R"({"defaults":{"pods":20,"requestsCPU":"2","requestsMemory":2147483648,"limitsCPU":"4",)"
      R"("limitsMemory":"4Gi","defaultRequestCPU":"200m","defaultRequestMemory":"128Mi",)"
      R"("defaultLimitCPU":"1","defaultLimitMemory":"1e9"},"maxRequestsCPU":"8","maxRequestsMemory":"16Gi"})");
  ASSERT_NE(p, nullptr);
  auto out = p->contribute(kProjectScope);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = json::parse(*out);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(json::view((*d)["objects"][1]["spec"]["hard"]["limits.cpu"]), "4");
  EXPECT_EQ(json::view((*d)["objects"][0]["spec"]["limits"][0]["default"]["memory"]), "1e9");
}

}  // namespace
}  // namespace kubeop::plugin
