// The netpol plugin as the host sees it: loaded through the ABI from the built .so.
#include <gtest/gtest.h>

#include "kubeop/core/json.h"
#include "kubeop/plugin/registry.h"
#include "kubeop/plugin_abi.h"
#include "test_paths.h"

namespace kubeop::plugin {
namespace {

std::string soPath() { return kubeop::test::pluginDir() + "/libkubeop-netpol.so"; }

std::shared_ptr<Plugin> loadNetpol(std::string_view config = "{}") {
  Loader l(std::make_shared<HostServices>());
  auto p = l.load(soPath(), config);
  EXPECT_TRUE(p.ok()) << p.status().toString();
  return p.ok() ? *p : nullptr;
}

TEST(NetpolPluginTest, LoadsAsAGuardrailAndContributesThroughTheAbi) {
  auto p = loadNetpol(R"({"ingressControllerNamespaces":["ingress-nginx"],"egressBaseline":"10.0.0.0/8"})");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->info().name, "netpol");
  EXPECT_TRUE(p->hasCapability(KUBEOP_CAP_GUARDRAIL));
  auto out = p->contribute(R"({"scope":"project","object":{"spec":{"tenantRef":"acme","name":"web"}},)"
                           R"("tenant":null,"namespace":"kubeop-acme-web"})");
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = json::parse(*out);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ((*d)["objects"].Size(), 2u);
  EXPECT_EQ(json::view((*d)["objects"][0]["metadata"]["name"]), "kubeop-ingress");
  EXPECT_EQ(json::view((*d)["objects"][1]["metadata"]["name"]), "kubeop-egress");
  EXPECT_EQ(json::view((*d)["objects"][1]["spec"]["egress"][2]["to"][0]["ipBlock"]["cidr"]), "10.0.0.0/8");
  EXPECT_TRUE(p->mutate(R"({"objects":[]})").ok());
}

TEST(NetpolPluginTest, AdmissionAndRefusalsCrossTheAbi) {
  auto p = loadNetpol(R"({"egressBaseline":["10.0.0.0/8"]})");
  ASSERT_NE(p, nullptr);
  auto denied = p->validateAdmission(
      R"({"request":{"uid":"1","kind":{"group":"networking.k8s.io","version":"v1","kind":"NetworkPolicy"},)"
      R"("operation":"CREATE","namespace":"kubeop-acme-web","object":{"apiVersion":"networking.k8s.io/v1",)"
      R"("kind":"NetworkPolicy","metadata":{"name":"x"},"spec":{"podSelector":{},"egress":[{"to":[{"ipBlock":)"
      R"({"cidr":"8.8.8.8/32"}}]}]}}},"namespaceLabels":{"app.kubeop.io/tenant":"acme"}})");
  ASSERT_TRUE(denied.ok()) << denied.status().toString();
  EXPECT_EQ(*denied, R"({"allowed":false,"message":"egress CIDR 8.8.8.8/32 not in baseline allowlist"})");
  auto bad = p->contribute(R"({"scope":"galaxy","object":{}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("scope must be"), std::string::npos) << bad.status().message();
}

struct SchemaCase {
  const char* name;
  const char* config;
  const char* expect;
};

void PrintTo(const SchemaCase& c, std::ostream* os) { *os << c.name; }

class NetpolPluginConfig : public ::testing::TestWithParam<SchemaCase> {};

TEST_P(NetpolPluginConfig, HostRefusesConfigThatBreaksTheSchemaOrTheRules) {
  Loader l(std::make_shared<HostServices>());
  auto p = l.load(soPath(), GetParam().config);
  ASSERT_FALSE(p.ok()) << GetParam().config;
  EXPECT_NE(p.status().message().find(GetParam().expect), std::string::npos) << p.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Rejections, NetpolPluginConfig,
    ::testing::Values(SchemaCase{"UnknownKey", R"({"egressAllow":"10.0.0.0/8"})", "additionalProperties"},
                      SchemaCase{"NamespacesNotAList", R"({"ingressControllerNamespaces":"ingress-nginx"})",
                                 "/ingressControllerNamespaces"},
                      SchemaCase{"BadNamespace", R"({"ingressControllerNamespaces":["Ingress_Nginx"]})",
                                 "/ingressControllerNamespaces/0"},
                      SchemaCase{"EmptyDnsNamespace", R"({"dnsNamespace":""})", "/dnsNamespace"},
                      SchemaCase{"BaselineNumber", R"({"egressBaseline":10})", "/egressBaseline"},
                      SchemaCase{"BaselineListOfNumbers", R"({"egressBaseline":[10]})", "/egressBaseline"},
                      // Passes the schema, fails the CIDR parser at create().
                      SchemaCase{"MalformedBaselineCidr", R"({"egressBaseline":"10.0.0.0/8,300.0.0.0/8"})",
                                 "\"300.0.0.0/8\" is not a valid CIDR"}),
    [](const ::testing::TestParamInfo<SchemaCase>& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace kubeop::plugin
