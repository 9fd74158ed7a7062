// Names the operator derives (core/src/operator/naming.cc).
#include "kubeop/operator/naming.h"

#include <gtest/gtest.h>

#include "kubeop/core/names.h"

namespace kubeop::op {
namespace {

TEST(NamingTest, ProjectNamespaceIsKubeopTenantProjectLowercased) {
  EXPECT_EQ(projectNamespace("acme", "web").value(), "kubeop-acme-web");
  // kubeOP took names verbatim: "Acme"/"Web" made an invalid namespace.
  EXPECT_EQ(projectNamespace("Acme", "Web").value(), "kubeop-acme-web");
}

TEST(NamingTest, OverLongNamesAreShortenedWithAStableHash) {
  std::string tenant(40, 't'), project(40, 'p');
  auto a = projectNamespace(tenant, project);
  ASSERT_TRUE(a.ok()) << a.status().toString();
  EXPECT_LE(a->size(), 63u);
  EXPECT_FALSE(names::validateDns1123Label(*a).has_value()) << *a;
  EXPECT_EQ(projectNamespace(tenant, project).value(), *a) << "stable";
  // Same 54-character prefix, different names: different namespaces.
  auto b = projectNamespace(tenant, project + "x");
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->substr(0, 54), b->substr(0, 54));
}

TEST(NamingTest, CharactersALabelCannotHoldAreRefusedWithTheInput) {
  auto r = projectNamespace("acme", "my_app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("my_app"), std::string::npos);
  EXPECT_FALSE(projectNamespace("", "web").ok());
  EXPECT_FALSE(projectNamespace("acme", "web-").ok()) << "a label may not end with a dash";
}

TEST(NamingTest, HookJobNamesFitALabelValue) {
  EXPECT_EQ(hookJobName("pre", "web", "0123456789ab"), "hook-pre-web-0123456789ab");
  std::string longName = hookJobName("post", std::string(80, 'a'), "0123456789ab");
  EXPECT_LE(longName.size(), 63u);
  EXPECT_EQ(revisionConfigMapName("web"), "kubeop-revision-web");
}

}  // namespace
}  // namespace kubeop::op
