// The Raw plugin as the host sees it: loaded through the ABI from the built .so.
#include <gtest/gtest.h>

#include <cstdlib>

#include "kubeop/core/json.h"
#include "kubeop/plugin/registry.h"
#include "test_paths.h"

namespace kubeop::plugin {
namespace {

std::shared_ptr<Plugin> loadRaw(std::string_view config = "{}") {
  std::string dir = kubeop::test::pluginDir();
  Loader l(std::make_shared<HostServices>());
  auto p = l.load(dir + "/libkubeop-delivery-raw.so", config);
  EXPECT_TRUE(p.ok()) << p.status().toString();
  return p.ok() ? *p : nullptr;
}

TEST(RawPluginTest, LoadsThroughTheAbiAndRenders) {
  auto p = loadRaw();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->info().name, "delivery-raw");
  EXPECT_EQ(p->info().deliveryType, "Raw");
  auto out = p->render(R"({"app":{"apiVersion":"paas.kubeop.io/v1alpha1","kind":"App","metadata":{"name":"w",
    "namespace":"n"},"spec":{"type":"Raw","rawManifests":"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"}}})");
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = json::parse(*out);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["objects"].Size(), 1u);
  EXPECT_TRUE(p->validateApp(R"({"metadata":{"name":"w"},"spec":{"type":"Raw","rawManifests":"kind: x"}})").code() ==
              StatusCode::kInvalidArgument);
}

TEST(RawPluginTest, RejectionsCrossTheAbiAsInvalidInputWithTheMessage) {
  auto p = loadRaw();
  ASSERT_NE(p, nullptr);
  auto out = p->render(R"({"app":{"metadata":{"name":"w","namespace":"n"},"spec":{"type":"Raw",
    "rawManifests":"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n"}}})");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("rawManifests document 0"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("cluster-scoped"), std::string::npos);
}

TEST(RawPluginTest, HostRefusesConfigThatBreaksTheSchema) {
  Loader l(std::make_shared<HostServices>());
  std::string dir = kubeop::test::pluginDir();
  auto p = l.load(dir + "/libkubeop-delivery-raw.so", R"({"maxDocuments": 0})");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("/maxDocuments"), std::string::npos) << p.status().message();
  auto unknown = l.load(dir + "/libkubeop-delivery-raw.so", R"({"maxDocs": 5})");
  ASSERT_FALSE(unknown.ok());
}

}  // namespace
}  // namespace kubeop::plugin
