#include "netpol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/render_common.h"
#include "kubeop/core/json.h"

namespace kubeop::plugins::netpol {
namespace {

json::Document parseOk(const std::string& text) {
  auto d = json::parse(text);
  EXPECT_TRUE(d.ok()) << d.status().toString() << "\n" << text;
  return d.ok() ? std::move(d).value() : json::Document();
}

std::string canonical(const std::string& text) { return canonicalJson(parseOk(text)); }

NetpolGuardrail guardrail(std::string_view config = "{}") {
  auto c = parseConfig(config);
  EXPECT_TRUE(c.ok()) << c.status().toString();
  return NetpolGuardrail(c.ok() ? *c : NetpolConfig{});
}

std::string projectScope(std::string_view ingressNamespaces = "") {
  std::string p = R"({"apiVersion":"paas.kubeop.io/v1alpha1","kind":"Project","metadata":{"name":"acme-web"},)"
                  R"("spec":{"tenantRef":"acme","name":"web")";
  if (!ingressNamespaces.empty()) p += R"(,"ingressNamespaces":)" + std::string(ingressNamespaces);
  p += "}}";
  return R"({"scope":"project","object":)" + p + R"(,"tenant":null,"namespace":"kubeop-acme-web"})";
}

const std::string kMeta =
    R"("namespace":"kubeop-acme-web","labels":{"app.kubeop.io/tenant":"acme","app.kubeop.io/project":"web",)"
    R"("app.kubernetes.io/managed-by":"kubeop"})";

const std::string kDnsRule =
    R"({"to":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"kube-system"}},)"
    R"("podSelector":{"matchLabels":{"k8s-app":"kube-dns"}}}],)"
    R"("ports":[{"protocol":"UDP","port":53},{"protocol":"TCP","port":53}]})";

// kubeOP acceptance A4: kubeop-ingress exactly as kubeOP's; kubeop-egress without kubeOP's
// allow-all rule (its defect): DNS and the same namespace only when there is no baseline.
TEST(NetpolGuardrailTest, ProjectGetsIngressAsKubeopsAndEgressWithoutAllowAll) {
  auto out = guardrail().contribute(projectScope());
  ASSERT_TRUE(out.ok()) << out.status().toString();
  const std::string expected =
      R"({"objects":[)"
      R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"kubeop-ingress",)" +
      kMeta +
      R"(},"spec":{"podSelector":{},"policyTypes":["Ingress"],"ingress":[{"from":[{"podSelector":{}}]}]}},)"
      R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"kubeop-egress",)" +
      kMeta + R"(},"spec":{"podSelector":{},"policyTypes":["Egress"],"egress":[)" + kDnsRule +
      R"(,{"to":[{"podSelector":{}}]}]}}]})";
  EXPECT_EQ(canonical(*out), canonical(expected)) << *out;
}

TEST(NetpolGuardrailTest, IngressControllersProjectNamespacesAndBaselineAreAdded) {
  auto g = guardrail(R"({"ingressControllerNamespaces":["ingress-nginx","traefik"],"dnsNamespace":"dns",)"
                     R"("egressBaseline":"10.0.0.0/8, 2001:db8::/32,,192.168.1.5/24"})");
  auto out = g.contribute(projectScope(R"(["monitoring","ingress-nginx"])"));
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = parseOk(*out);
  const json::Value& ingress = d["objects"][0]["spec"]["ingress"];
  ASSERT_EQ(ingress.Size(), 1u);
  EXPECT_EQ(canonicalJson(ingress[0]),
            canonical(R"({"from":[{"podSelector":{}},{"namespaceSelector":{"matchExpressions":[{"key":)"
                      R"("kubernetes.io/metadata.name","operator":"In","values":["ingress-nginx","monitoring",)"
                      R"("traefik"]}]}}]})"))
      << "sorted, without duplicates";
  const json::Value& egress = d["objects"][1]["spec"]["egress"];
  ASSERT_EQ(egress.Size(), 3u);
  EXPECT_EQ(json::view(egress[0]["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]), "dns");
  EXPECT_EQ(canonicalJson(egress[2]),
            canonical(R"({"to":[{"ipBlock":{"cidr":"10.0.0.0/8"}},{"ipBlock":{"cidr":"2001:db8::/32"}},)"
                      R"({"ipBlock":{"cidr":"192.168.1.0/24"}}]})"))
      << "canonical CIDRs in config order";
  for (const auto& o : d["objects"].GetArray()) {
    EXPECT_EQ(json::view(o["metadata"]["namespace"]), "kubeop-acme-web");
    EXPECT_EQ(json::view(o["metadata"]["labels"]["app.kubernetes.io/managed-by"]), "kubeop");
  }
}

TEST(NetpolGuardrailTest, RefusesBadProjectIngressNamespaces) {
  struct Case {
    std::string list;
    std::string expect;
  };
  for (const auto& c :
       std::vector<Case>{{R"("ingress-nginx")", "must be a list"},
                         {"[1]", "spec.ingressNamespaces[0] must be a string"},
                         {R"(["ok","Not_OK"])", "spec.ingressNamespaces[1] \"Not_OK\" is not a namespace"}}) {
    auto out = guardrail().contribute(projectScope(c.list));
    ASSERT_FALSE(out.ok()) << c.list;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(out.status().message().find(c.expect), std::string::npos) << out.status().message();
  }
}

TEST(NetpolGuardrailTest, TenantAndAppScopesContributeNothingAndMutatePassesThrough) {
  auto g = guardrail();
  auto t = g.contribute(R"({"scope":"tenant","object":{"metadata":{"name":"acme"}},"projects":[]})");
  ASSERT_TRUE(t.ok()) << t.status().toString();
  EXPECT_EQ(*t, R"({"objects":[]})");
  auto m = g.mutate(R"({"app":{},"objects":[{"kind":"NetworkPolicy","spec":{"egress":[{}]}}]})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, R"({"objects":[{"kind":"NetworkPolicy","spec":{"egress":[{}]}}]})");
}

// ---- config ----

TEST(NetpolConfigTest, BaselineTakesTheEnvironmentFormOrAList) {
  auto s = parseConfig(R"({"egressBaseline":" 10.0.0.0/8 ,172.16.0.0/12,10.0.0.0/8,, "})");
  ASSERT_TRUE(s.ok()) << s.status().toString();
  ASSERT_EQ(s->egressBaseline.size(), 2u) << "blanks skipped, duplicates dropped";
  EXPECT_EQ(s->egressBaseline[1].toString(), "172.16.0.0/12");
  auto l = parseConfig(R"({"egressBaseline":["10.0.0.0/8","fd00::/8,192.0.2.0/24"]})");
  ASSERT_TRUE(l.ok()) << l.status().toString();
  EXPECT_EQ(l->egressBaseline.size(), 3u);
  auto none = parseConfig("{}");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->egressBaseline.empty());
  EXPECT_EQ(none->dnsNamespace, "kube-system");
  EXPECT_TRUE(parseConfig(R"({"egressBaseline":""})")->egressBaseline.empty());
}

TEST(NetpolConfigTest, RefusesWhatTheSchemaCannotSee) {
  struct Case {
    std::string config;
    std::string expect;
  };
  for (const auto& c :
       std::vector<Case>{{R"({"egressBaseline":"10.0.0.0/8,10.0.0.0/33"})",
                          "egressBaseline: \"10.0.0.0/33\" is not a valid CIDR: prefix length 33 is out of range"},
                         {R"({"egressBaseline":["10.0.0.1"]})", "missing \"/<prefix length>\""},
                         {R"({"egressBaseline":5})", "comma-separated string or a list"},
                         {R"({"dnsNamespace":"Kube_System"})", "dnsNamespace \"Kube_System\" is not a namespace name"},
                         {R"({"ingressControllerNamespaces":["-x"]})", "ingressControllerNamespaces entry \"-x\""},
                         {"nope", "netpol config: invalid JSON"}}) {
    auto r = parseConfig(c.config);
    ASSERT_FALSE(r.ok()) << c.config;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
}

// ---- admission (kubeOP §6.3 rule 4) ----

std::string review(std::string_view egress, std::string_view op = "CREATE",
                   std::string_view nsLabels = R"({"app.kubeop.io/tenant":"acme"})",
                   std::string_view kind = "NetworkPolicy", std::string_view group = "networking.k8s.io") {
  std::string obj = R"({"apiVersion":"networking.k8s.io/v1","kind":")" + std::string(kind) +
                    R"(","metadata":{"name":"p","namespace":"kubeop-acme-web"},"spec":{"podSelector":{})";
  if (egress != "-") obj += R"(,"egress":)" + std::string(egress);
  obj += "}}";
  std::string r = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",)"
                  R"("kind":{"group":")" +
                  std::string(group) + R"(","version":"v1","kind":")" + std::string(kind) +
                  R"("},"namespace":"kubeop-acme-web","operation":")" + std::string(op) + "\"";
  if (op != "DELETE") r += R"(,"object":)" + obj;
  r += "}";
  if (nsLabels != "-") r += R"(,"namespaceLabels":)" + std::string(nsLabels);
  return r + "}";
}

std::string ipBlock(std::string_view cidr, std::string_view except = "") {
  std::string b = R"({"to":[{"ipBlock":{"cidr":")" + std::string(cidr) + "\"";
  if (!except.empty()) b += R"(,"except":)" + std::string(except);
  return "[" + b + "}}]}]";
}

struct AdmissionCase {
  const char* name;
  std::string baseline;
  std::string review;
  bool allowed;
  std::string message;  // exact
};

void PrintTo(const AdmissionCase& c, std::ostream* os) { *os << c.name; }

class NetpolAdmission : public ::testing::TestWithParam<AdmissionCase> {};

TEST_P(NetpolAdmission, EgressIpBlocksMustLieInsideOneBaselineCidr) {
  const AdmissionCase& c = GetParam();
  auto out = guardrail(R"({"egressBaseline":")" + c.baseline + "\"}").validateAdmission(c.review);
  ASSERT_TRUE(out.ok()) << out.status().toString();
  auto d = parseOk(*out);
  EXPECT_EQ(d["allowed"].GetBool(), c.allowed) << *out;
  EXPECT_EQ(json::getString(d, "message"), c.message);
}

const std::string kBase = "10.0.0.0/8,192.168.0.0/16,2001:db8::/32";

INSTANTIATE_TEST_SUITE_P(
    Rule4, NetpolAdmission,
    ::testing::Values(
        AdmissionCase{"InsideBaseline", kBase, review(ipBlock("10.20.0.0/16")), true, ""},
        AdmissionCase{"EqualToABaselineEntry", kBase, review(ipBlock("192.168.0.0/16")), true, ""},
        AdmissionCase{"SingleHost", kBase, review(ipBlock("10.1.2.3/32")), true, ""},
        AdmissionCase{"Outside", kBase, review(ipBlock("8.8.8.8/32")), false,
                      "egress CIDR 8.8.8.8/32 not in baseline allowlist"},
        AdmissionCase{"WiderThanItsBaseline", kBase, review(ipBlock("10.0.0.0/7")), false,
                      "egress CIDR 10.0.0.0/7 not in baseline allowlist"},
        AdmissionCase{"SpanningTwoBaselineEntriesIsNotInsideOne", "10.0.0.0/8,11.0.0.0/8",
                      review(ipBlock("10.0.0.0/7")), false, "egress CIDR 10.0.0.0/7 not in baseline allowlist"},
        AdmissionCase{"WorldDeniedByDefault", kBase, review(ipBlock("0.0.0.0/0")), false,
                      "egress CIDR 0.0.0.0/0 not in baseline allowlist"},
        AdmissionCase{"WorldAllowedByWorldBaseline", "0.0.0.0/0", review(ipBlock("0.0.0.0/0")), true, ""},
        AdmissionCase{"EmptyBaselineDeniesEveryIpBlock", "", review(ipBlock("10.0.0.0/32")), false,
                      "egress CIDR 10.0.0.0/32 not in baseline allowlist"},
        AdmissionCase{"Ipv6Inside", kBase, review(ipBlock("2001:db8:1::/48")), true, ""},
        AdmissionCase{"Ipv6Outside", kBase, review(ipBlock("2001:db9::/48")), false,
                      "egress CIDR 2001:db9::/48 not in baseline allowlist"},
        AdmissionCase{"Ipv4MappedIsNotIpv4", kBase, review(ipBlock("::ffff:10.0.0.1/128")), false,
                      "egress CIDR ::ffff:10.0.0.1/128 not in baseline allowlist"},
        AdmissionCase{"ExceptInside", kBase, review(ipBlock("10.0.0.0/8", R"(["10.1.0.0/16","10.2.0.0/16"])")), true,
                      ""},
        AdmissionCase{"ExceptOutside", kBase, review(ipBlock("10.0.0.0/8", R"(["172.16.0.0/12"])")), false,
                      "egress except CIDR 172.16.0.0/12 not in baseline allowlist"},
        AdmissionCase{"MalformedCidr", kBase, review(ipBlock("10.0.0.0/33")), false,
                      "egress CIDR \"10.0.0.0/33\" is not a valid CIDR: prefix length 33 is out of range for IPv4 "
                      "(0-32)"},
        AdmissionCase{"MalformedExcept", kBase, review(ipBlock("10.0.0.0/8", R"(["10.1.0.0"])")), false,
                      "egress except CIDR \"10.1.0.0\" is not a valid CIDR: missing \"/<prefix length>\""},
        AdmissionCase{"CidrMissing", kBase, review(R"([{"to":[{"ipBlock":{}}]}])"), false,
                      "egress rule 0 peer 0: ipBlock.cidr is required"},
        AdmissionCase{"EveryProblemReportedOnce", kBase,
                      review(R"([{"to":[{"ipBlock":{"cidr":"1.1.1.1/32"}},{"podSelector":{}}]},)"
                             R"({"to":[{"ipBlock":{"cidr":"1.1.1.1/32"}},{"ipBlock":{"cidr":"10.0.0.0/8"}}]}])"),
                      false, "egress CIDR 1.1.1.1/32 not in baseline allowlist"},
        AdmissionCase{"MalformedShapesAreDenied", kBase,
                      review(R"([5,{"to":{}},{"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":"10.1.0.0/16"}}]},)"
                             R"({"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":[7]}}]}])"),
                      false,
                      "egress rule 0 must be an object; egress rule 1: \"to\" must be a list; egress rule 2 peer 0: "
                      "ipBlock.except must be a list; egress rule 3 peer 0: ipBlock.except entries must be strings"},
        AdmissionCase{"EgressNotAList", kBase, review(R"({})"), false, "spec.egress must be a list"},
        AdmissionCase{"SelectorsAreNotCidrs", kBase,
                      review(R"([{"to":[{"podSelector":{}},{"namespaceSelector":{}}]}])"), true, ""},
        AdmissionCase{"RuleWithoutToAllowsEverything", kBase, review(R"([{"ports":[{"port":53}]}])"), false,
                      "egress rule 0 has no \"to\" peers, which allows every destination (0.0.0.0/0 and ::/0): not "
                      "in baseline allowlist"},
        AdmissionCase{"RuleWithEmptyTo", kBase, review(R"([{"to":[]}])"), false,
                      "egress rule 0 has no \"to\" peers, which allows every destination (0.0.0.0/0 and ::/0): not "
                      "in baseline allowlist"},
        AdmissionCase{"RuleWithoutToUnderAWorldBaseline", "0.0.0.0/0,::/0", review("[{}]"), true, ""},
        AdmissionCase{"NoEgress", kBase, review("-"), true, ""},
        AdmissionCase{
            "IngressIpBlocksNotChecked", kBase,
            review(R"([{"to":[{"podSelector":{}}]}],"ingress":[{"from":[{"ipBlock":{"cidr":"8.8.8.8/32"}}]}])"), true,
            ""},
        AdmissionCase{"OtherNamespacesNotChecked", kBase, review(ipBlock("8.8.8.8/32"), "CREATE", "{}"), true, ""},
        AdmissionCase{"UpdateChecked", kBase, review(ipBlock("8.8.8.8/32"), "UPDATE"), false,
                      "egress CIDR 8.8.8.8/32 not in baseline allowlist"},
        AdmissionCase{"DeleteAllowed", kBase, review("-", "DELETE"), true, ""},
        AdmissionCase{"OtherKindsNotChecked", kBase,
                      review(ipBlock("8.8.8.8/32"), "CREATE", R"({"app.kubeop.io/tenant":"acme"})", "ConfigMap", ""),
                      true, ""}),
    [](const ::testing::TestParamInfo<AdmissionCase>& i) { return std::string(i.param.name); });

TEST(NetpolAdmissionTest, RefusesReviewsItCannotJudge) {
  auto g = guardrail(R"({"egressBaseline":"10.0.0.0/8"})");
  auto noLabels = g.validateAdmission(review(ipBlock("8.8.8.8/32"), "CREATE", "-"));
  ASSERT_FALSE(noLabels.ok());
  EXPECT_EQ(noLabels.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(noLabels.status().message().find("has no namespaceLabels"), std::string::npos);
  EXPECT_FALSE(g.validateAdmission("").ok());
  EXPECT_FALSE(g.validateAdmission(R"({"request":[]})").ok());
  EXPECT_FALSE(g.validateAdmission(R"({"request":{"kind":{"group":"networking.k8s.io","kind":"NetworkPolicy"},)"
                                   R"("operation":"CREATE","object":[]},"namespaceLabels":{}})")
                   .ok());
}

TEST(NetpolAdmissionTest, OwnContributedPoliciesPass) {
  auto g = guardrail(R"({"egressBaseline":"10.0.0.0/8,2001:db8::/32"})");
  auto out = g.contribute(projectScope());
  ASSERT_TRUE(out.ok());
  auto d = parseOk(*out);
  for (const auto& o : d["objects"].GetArray()) {
    EXPECT_TRUE(checkEgressAgainstBaseline(o, g.config().egressBaseline).empty()) << json::write(o);
  }
}

}  // namespace
}  // namespace kubeop::plugins::netpol
