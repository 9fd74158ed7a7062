#include "raw_delivery.h"

#include <gtest/gtest.h>

#include "kubeop/core/json.h"
#include "kubeop/core/object.h"

namespace kubeop::plugins::raw {
namespace {

std::string app(std::string_view rawManifests, std::string_view ns = "kubeop-acme-web") {
  json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  d.AddMember("apiVersion", "paas.kubeop.io/v1alpha1", a);
  d.AddMember("kind", "App", a);
  json::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", "web", a);
  if (!ns.empty()) meta.AddMember("namespace", json::str(ns, a), a);
  d.AddMember("metadata", meta, a);
  json::Value spec(rapidjson::kObjectType);
  spec.AddMember("type", "Raw", a);
  spec.AddMember("rawManifests", json::str(rawManifests, a), a);
  d.AddMember("spec", spec, a);
  return json::write(d);
}

std::string request(std::string_view appJson, std::string_view tenant = "acme", std::string_view project = "web") {
  return std::string(R"({"app":)") + std::string(appJson) + R"(,"context":{"tenant":")" + std::string(tenant) +
         R"(","project":")" + std::string(project) + R"("}})";
}

RawDelivery plugin() { return RawDelivery(RawConfig{}); }

const char* kTwo =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  mode: \"0755\"\n"
    "---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {team: a}\nspec:\n  replicas: 2\n";

TEST(RawDeliveryTest, PlacesObjectsInTheAppNamespaceAndLabelsThem) {
  auto out = plugin().render(request(app(kTwo)));
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = json::parse(*out);
  ASSERT_TRUE(d.ok());
  const auto& objs = (*d)["objects"];
  ASSERT_EQ(objs.Size(), 2u);
  for (const auto& o : objs.GetArray()) {
    auto obj = Object::fromValue(o);
    ASSERT_TRUE(obj.ok());
    EXPECT_EQ(obj->namespace_(), "kubeop-acme-web");
    EXPECT_EQ(obj->label("app.kubeop.io/app"), "web");
    EXPECT_EQ(obj->label("app.kubeop.io/tenant"), "acme");
    EXPECT_EQ(obj->label("app.kubeop.io/project"), "web");
  }
  EXPECT_EQ(json::view(objs[0]["data"]["mode"]), "0755") << "quoted scalars stay strings";
  EXPECT_EQ(objs[1]["spec"]["replicas"].GetInt(), 2);
  EXPECT_EQ(json::view(objs[1]["metadata"]["labels"]["team"]), "a") << "user labels are kept";
  EXPECT_EQ(json::view((*d)["revision"]).size(), 12u);
  EXPECT_EQ(json::getString((*d)["provenance"], "digest").substr(0, 7), "sha256:");
}

TEST(RawDeliveryTest, RevisionIsAContentDigest) {
  auto a = plugin().render(request(app(kTwo)));
  auto same = plugin().render(request(app(
      "kind: ConfigMap\napiVersion: v1\nmetadata: {name: cfg}\ndata: {mode: \"0755\"}\n---\n"
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {labels: {team: a}, name: web}\nspec: {replicas: 2}\n")));
  auto changed = plugin().render(request(app(std::string(kTwo) + "\n---\napiVersion: v1\nkind: Service\n"
                                                                  "metadata: {name: web}\n")));
  ASSERT_TRUE(a.ok() && same.ok() && changed.ok());
  auto rev = [](const std::string& s) { return std::string(json::getString(*json::parse(s), "revision")); };
  EXPECT_EQ(rev(*a), rev(*same)) << "key order and flow style do not change the revision";
  EXPECT_NE(rev(*a), rev(*changed));
}

TEST(RawDeliveryTest, AcceptsAListOfObjectsAndExpandsKindList) {
  std::string appJson = R"({"apiVersion":"paas.kubeop.io/v1alpha1","kind":"App","metadata":{"name":"web",
    "namespace":"ns1"},"spec":{"type":"raw","rawManifests":[{"apiVersion":"v1","kind":"List","items":[
    {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}},
    {"apiVersion":"v1","kind":"Secret","metadata":{"name":"b"}}]}]}})";
  auto out = plugin().render(appJson);  // a bare App, lowercase type
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = json::parse(*out);
  ASSERT_EQ((*d)["objects"].Size(), 2u);
  EXPECT_EQ(json::view((*d)["objects"][1]["metadata"]["namespace"]), "ns1");
}

struct BadCase {
  const char* name;
  std::string manifests;
  std::vector<std::string> expect;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class RawDeliveryRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(RawDeliveryRejects, WithTheDocumentIndexAndTheReason) {
  const BadCase& c = GetParam();
  auto out = plugin().render(request(app(c.manifests)));
  ASSERT_FALSE(out.ok()) << c.name;
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  for (const auto& e : c.expect) {
    EXPECT_NE(out.status().message().find(e), std::string::npos) << "missing \"" << e << "\" in: " << out.status().message();
  }
}

const std::string kOk = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n";

INSTANTIATE_TEST_SUITE_P(
    BadInput, RawDeliveryRejects,
    ::testing::Values(
        BadCase{"NoApiVersion", kOk + "kind: ConfigMap\nmetadata: {name: x}\n", {"document 1", "apiVersion is required"}},
        BadCase{"NoKind", kOk + "apiVersion: v1\nmetadata: {name: x}\n", {"document 1", "kind is required"}},
        BadCase{"NoName", kOk + "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
                {"document 1", "ConfigMap", "metadata.name is required"}},
        BadCase{"GenerateNameOnly", kOk + "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n",
                {"document 1", "generateName is not supported"}},
        BadCase{"InvalidName", kOk + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: My_Config}\n",
                {"document 1", "\"My_Config\" is invalid", "RFC 1123"}},
        BadCase{"ServiceNameWithDot", kOk + "apiVersion: v1\nkind: Service\nmetadata: {name: a.b}\n",
                {"document 1", "RFC 1123 label"}},
        BadCase{"OtherNamespace", kOk + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}\n",
                {"document 1", "\"kube-system\" is not the App's namespace", "must not escape"}},
        BadCase{"Namespace", kOk + "apiVersion: v1\nkind: Namespace\nmetadata: {name: evil}\n",
                {"document 1", "Namespace is cluster-scoped"}},
        BadCase{"ClusterRole",
                kOk + "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: admin2}\n",
                {"document 1", "ClusterRole is cluster-scoped"}},
        BadCase{"Crd",
                kOk + "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: "
                      "a.b.c}\n",
                {"CustomResourceDefinition is cluster-scoped"}},
        BadCase{"Duplicate", kOk + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
                {"document 1", "duplicates rawManifests document 0"}},
        BadCase{"Scalar", kOk + "just a string\n", {"document 1", "expected a Kubernetes object", "string"}},
        BadCase{"BadYaml", kOk + "apiVersion: v1\nkind: [\n", {"spec.rawManifests: document 1", "line"}},
        BadCase{"Empty", "---\n# nothing\n", {"contains no objects"}}),
    [](const ::testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

TEST(RawDeliveryTest, RefusesAppsThatAreNotRawOrHaveNoManifests) {
  auto notRaw = plugin().render(R"({"metadata":{"name":"a"},"spec":{"type":"Image","image":"nginx"}})");
  ASSERT_FALSE(notRaw.ok());
  EXPECT_NE(notRaw.status().message().find("not Raw"), std::string::npos);
  auto none = plugin().render(R"({"metadata":{"name":"a"},"spec":{"type":"Raw"}})");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("spec.rawManifests is required"), std::string::npos);
  auto wrongType = plugin().render(R"({"metadata":{"name":"a"},"spec":{"type":"Raw","rawManifests":5}})");
  ASSERT_FALSE(wrongType.ok());
  EXPECT_NE(wrongType.status().message().find("got number"), std::string::npos);
  auto noName = plugin().render(R"({"spec":{"type":"Raw","rawManifests":"a: 1"}})");
  ASSERT_FALSE(noName.ok());
  auto garbage = plugin().render("{nope");
  ASSERT_FALSE(garbage.ok());
}

TEST(RawDeliveryTest, ConfigLimitsDocumentsAndForbidsKinds) {
  RawConfig c;
  c.maxDocuments = 1;
  c.forbiddenKinds = {"Secret"};
  RawDelivery p(c);
  auto many = p.render(request(app(kTwo)));
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("more than the limit of 1"), std::string::npos);
  auto secret = p.render(request(app("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")));
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.status().message().find("Secret is forbidden"), std::string::npos);
  EXPECT_TRUE(parseConfig(R"({"maxDocuments": 5, "forbiddenKinds": ["Pod"]})").ok());
}

TEST(RawDeliveryTest, AppWithoutNamespaceRendersIntoDefault) {
  auto out = plugin().render(app("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", ""));
  ASSERT_TRUE(out.ok()) << out.status().toString();
  EXPECT_NE(out->find("\"namespace\":\"default\""), std::string::npos);
}

}  // namespace
}  // namespace kubeop::plugins::raw
