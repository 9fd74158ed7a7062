// `kubeop up` end to end: the real binary serving real HTTP on loopback.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "kubeop/core/json.h"
#include "process.h"
#include "test_paths.h"

namespace kubeop::test {
namespace {

class UpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state = std::filesystem::temp_directory_path() / ("kubeop-up-" + std::to_string(::getpid()));
    std::filesystem::remove_all(state);
    child = std::make_unique<Child>(std::vector<std::string>{kubeopBinary(), "up", "--http-addr", "127.0.0.1:0",
                                                             "--state-dir", state.string(), "--plugin-path",
                                                             pluginDir()},
                                    std::vector<std::string>{"KUBECONFIG="});
    banner = child->readUntil("stop:", std::chrono::seconds(60));
    std::smatch m;
    ASSERT_TRUE(std::regex_search(banner, m, std::regex("API URL: +http://127\\.0\\.0\\.1:([0-9]+)"))) << banner;
    port = static_cast<uint16_t>(std::stoi(m[1]));
    ASSERT_TRUE(std::regex_search(banner, m, std::regex("admin token: ([0-9a-f]{64})"))) << banner;
    token = m[1];
  }
  void TearDown() override {
    child.reset();
    std::filesystem::remove_all(state);
  }
  std::filesystem::path state;
  std::unique_ptr<Child> child;
  std::string banner, token;
  uint16_t port = 0;
};

TEST_F(UpTest, ServesHealthReadinessVersionAndMetrics) {
  EXPECT_EQ(httpRequest(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(httpRequest(port, "GET", "/readyz").status, 200);
  auto v = httpRequest(port, "GET", "/version");
  ASSERT_EQ(v.status, 200);
  auto d = json::parse(v.body);
  ASSERT_TRUE(d.ok()) << v.body;
  for (const char* k : {"service", "version", "gitCommit", "buildDate"}) EXPECT_TRUE(d->HasMember(k)) << k;
  EXPECT_EQ(json::getString(*d, "service"), "kubeop");
  auto m = httpRequest(port, "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("kubeop_plugins_loaded 3"), std::string::npos) << m.body.substr(0, 2000);
  EXPECT_NE(m.body.find("route=\"/version\""), std::string::npos) << "requests are counted by route template";
}

TEST_F(UpTest, PluginApiNeedsTheAdminToken) {
  auto none = httpRequest(port, "GET", "/v1/plugins");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.body.find("missing token"), std::string::npos) << none.body;
  auto wrong = httpRequest(port, "GET", "/v1/plugins", {"Authorization: Bearer " + std::string(64, '0')});
  EXPECT_EQ(wrong.status, 401);
  auto ok = httpRequest(port, "GET", "/v1/plugins", {"Authorization: Bearer " + token});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto d = json::parse(ok.body);
  ASSERT_TRUE(d.ok());
  std::vector<std::string> names;
  for (const auto& p : (*d)["plugins"].GetArray()) names.emplace_back(json::getString(p, "name"));
  EXPECT_EQ(names, (std::vector<std::string>{"delivery-raw", "netpol", "quota"}));
  auto one = httpRequest(port, "GET", "/v1/plugins/delivery-raw", {"Authorization: Bearer " + token});
  EXPECT_EQ(one.status, 200);
  auto missing = httpRequest(port, "GET", "/v1/plugins/nope", {"Authorization: Bearer " + token});
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"requestId\""), std::string::npos) << missing.body;
}

TEST_F(UpTest, RunsTheSandboxAsItsClusterAndPrintsAKubeconfig) {
  std::smatch m;
  ASSERT_TRUE(std::regex_search(banner, m, std::regex("cluster: +sandbox at (https://127\\.0\\.0\\.1:[0-9]+)"))) << banner;
  std::string kubeconfig = (state / "kubeconfig").string();
  EXPECT_NE(banner.find("kubeconfig: " + kubeconfig), std::string::npos) << banner;
  if (!std::filesystem::exists("/usr/bin/kubectl")) GTEST_SKIP() << "kubectl is not installed";
  auto r = run({"/usr/bin/kubectl", "--kubeconfig", kubeconfig, "get", "namespaces", "-o", "name"}, "",
               {"HOME=" + state.string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("namespace/default"), std::string::npos) << r.out;
}

// The README's walk-through: the example Tenant/Project/App applied with kubectl is delivered by
// the operator `kubeop up` runs on its sandbox.
TEST_F(UpTest, DeliversTheReadmeExampleAppliedWithKubectl) {
  if (!std::filesystem::exists("/usr/bin/kubectl")) GTEST_SKIP() << "kubectl is not installed";
  std::string kubeconfig = (state / "kubeconfig").string();
  auto kubectl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/kubectl", "--kubeconfig", kubeconfig});
    return run(args, "", {"HOME=" + state.string()});
  };
  auto r = kubectl({"apply", "-f", sourceDir() + "/docs/examples/tenant-project-app.yaml"});
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;
  r = kubectl({"wait", "--for=condition=Ready", "--timeout=60s", "-n", "kubeop-acme-web", "app/shop"});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  r = kubectl({"get", "deployment,service,configmap,limitrange,resourcequota,networkpolicy", "-n", "kubeop-acme-web",
               "-o", "name"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  for (const char* want : {"deployment.apps/shop", "service/shop", "configmap/shop-settings", "limitrange/kubeop-defaults",
                           "resourcequota/kubeop-quota", "networkpolicy.networking.k8s.io/kubeop-egress",
                           "networkpolicy.networking.k8s.io/kubeop-ingress"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << " missing in:\n" << r.out;
  }
  r = kubectl({"get", "apps", "-n", "kubeop-acme-web"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("shop"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("True"), std::string::npos) << "the Ready column:\n" << r.out;
}

TEST_F(UpTest, TokenSurvivesRestartAndSigtermStopsGracefully) {
  EXPECT_EQ(child->stop(SIGTERM, std::chrono::seconds(15)), 0);
  Child again({kubeopBinary(), "up", "--http-addr", "127.0.0.1:0", "--state-dir", state.string(), "--plugin-path",
               pluginDir()});
  std::string b = again.readUntil("stop:", std::chrono::seconds(20));
  EXPECT_NE(b.find(token), std::string::npos) << "the admin token is kept in the state dir";
  EXPECT_EQ(again.stop(SIGINT, std::chrono::seconds(15)), 0);
}

TEST(UpFlagsTest, BadAddressIsAUsageError) {
  auto r = run({kubeopBinary(), "up", "--http-addr", "nonsense", "--state-dir", "/tmp/kubeop-up-bad"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("--http-addr"), std::string::npos);
}

}  // namespace
}  // namespace kubeop::test
