#include "kubeop/core/names.h"

#include <gtest/gtest.h>

namespace kubeop::names {
namespace {

// Rules from k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label / IsDNS1123Subdomain).
TEST(NamesTest, Dns1123LabelRules) {
  EXPECT_FALSE(validateDns1123Label("web-1"));
  EXPECT_FALSE(validateDns1123Label("1abc"));
  EXPECT_TRUE(validateDns1123Label(""));
  EXPECT_TRUE(validateDns1123Label("Web"));
  EXPECT_TRUE(validateDns1123Label("-web"));
  EXPECT_TRUE(validateDns1123Label("web-"));
  EXPECT_TRUE(validateDns1123Label("a.b"));
  EXPECT_TRUE(validateDns1123Label(std::string(64, 'a')));
  EXPECT_FALSE(validateDns1123Label(std::string(63, 'a')));
}

TEST(NamesTest, Dns1123SubdomainRules) {
  EXPECT_FALSE(validateDns1123Subdomain("my.config-1"));
  EXPECT_TRUE(validateDns1123Subdomain("my..config"));
  EXPECT_TRUE(validateDns1123Subdomain("my_config"));
  EXPECT_TRUE(validateDns1123Subdomain(".a"));
  EXPECT_TRUE(validateDns1123Subdomain(std::string(254, 'a')));
  EXPECT_NE(validateDns1123Subdomain("Foo")->find("RFC 1123 subdomain"), std::string::npos);
}

TEST(NamesTest, ServiceAndNamespaceNamesAreLabelsOthersSubdomains) {
  EXPECT_TRUE(validateObjectName("Service", "a.b"));
  EXPECT_TRUE(validateObjectName("Namespace", "a.b"));
  EXPECT_FALSE(validateObjectName("ConfigMap", "a.b"));
}

TEST(NamesTest, LabelValues) {
  EXPECT_FALSE(validateLabelValue(""));
  EXPECT_FALSE(validateLabelValue("Web_1.x"));
  EXPECT_TRUE(validateLabelValue("-x"));
  EXPECT_TRUE(validateLabelValue("a b"));
}

TEST(NamesTest, KnowsClusterScopedKinds) {
  EXPECT_TRUE(isClusterScopedKind("", "Namespace"));
  EXPECT_TRUE(isClusterScopedKind("rbac.authorization.k8s.io", "ClusterRole"));
  EXPECT_TRUE(isClusterScopedKind("apiextensions.k8s.io", "CustomResourceDefinition"));
  EXPECT_TRUE(isClusterScopedKind("paas.kubeop.io", "Tenant"));
  EXPECT_FALSE(isClusterScopedKind("paas.kubeop.io", "App"));
  EXPECT_FALSE(isClusterScopedKind("", "ConfigMap"));
  EXPECT_FALSE(isClusterScopedKind("rbac.authorization.k8s.io", "Role"));
}

}  // namespace
}  // namespace kubeop::names

#include "kubeop/core/quantity.h"

namespace kubeop::quantity {
namespace {

// k8s.io/apimachinery/pkg/api/resource: suffixes, fractions rounded up to milli-units.
TEST(QuantityTest, ParsesDecimalBinaryAndExponentForms) {
  EXPECT_EQ(*parseMilli("100m"), 100);
  EXPECT_EQ(*parseMilli("1"), 1000);
  EXPECT_EQ(*parseMilli("1.5"), 1500);
  EXPECT_EQ(*parseMilli("64Mi"), 64LL * 1024 * 1024 * 1000);
  EXPECT_EQ(*parseMilli("1G"), 1000000000LL * 1000);
  EXPECT_EQ(*parseMilli("2e3"), 2000LL * 1000);
  EXPECT_EQ(*parseMilli("0.0001"), 1) << "rounded up to one milli-unit";
  EXPECT_FALSE(parseMilli("abc").ok());
  EXPECT_FALSE(parseMilli("1X").ok());
  EXPECT_FALSE(parseMilli("").ok());
}

TEST(QuantityTest, FormatsCanonically) {
  EXPECT_EQ(format(500, false), "500m");
  EXPECT_EQ(format(2000, false), "2");
  EXPECT_EQ(format(128LL * 1024 * 1024 * 1000, true), "128Mi");
  EXPECT_EQ(format(1536LL * 1000, true), "1536") << "not a whole Ki multiple";
}

}  // namespace
}  // namespace kubeop::quantity
