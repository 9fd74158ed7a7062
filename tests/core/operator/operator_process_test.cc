// `kubeop operator` as a process against `kubeop sandbox`: its endpoints (kubeOP's :8081 metrics,
// :8082 health), flag errors, and leader election between two replicas (kill the leader → the
// other takes over within one lease and reconciles).
#include <gtest/gtest.h>

#include <regex>

#include "../kube/client/sandbox_fixture.h"
#include "kubeop/core/json.h"
#include "kubeop/core/yaml.h"
#include "process.h"
#include "test_paths.h"

namespace kubeop::op {
namespace {

using kube::testing::eventually;
using kube::testing::Sandbox;
using kubeop::test::Child;
using namespace std::chrono_literals;

std::vector<std::string> operatorArgs(const Sandbox& sb, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kubeop::test::kubeopBinary(), "operator",
                                   "--kubeconfig", sb.kubeconfigPath(),
                                   "--plugin-path", kubeop::test::pluginDir(),
                                   "--metrics-bind-address", "127.0.0.1:0",
                                   "--health-probe-bind-address", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

uint16_t portAfter(const std::string& out, const std::string& what) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(what + ":\\s+http://[0-9.]+:([0-9]+)/"))) return 0;
  return static_cast<uint16_t>(std::stoi(m[1]));
}

std::string identityIn(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex("identity: (\\S+)")) ? std::string(m[1]) : std::string();
}

void createTenant(kube::Client& c, const std::string& name) {
  auto doc = yaml::parseOne("apiVersion: paas.kubeop.io/v1alpha1\nkind: Tenant\nmetadata: {name: " + name +
                            "}\nspec: {name: " + name + "}\n");
  ASSERT_TRUE(doc.ok());
  auto r = c.create(Object(std::move(doc).value()));
  ASSERT_TRUE(r.ok()) << r.status().toString();
}

bool tenantReady(kube::Client& c, const std::string& name) {
  auto t = c.get("paas.kubeop.io/v1alpha1", "Tenant", "", name);
  if (!t.ok() || !t->status()) return false;
  const json::Value* ready = json::find(*t->status(), "ready");
  return ready && ready->IsBool() && ready->GetBool();
}

std::string leaseHolder(kube::Client& c) {
  auto l = c.get("coordination.k8s.io/v1", "Lease", "default", "kubeop-operator");
  if (!l.ok() || !l->spec()) return {};
  return std::string(json::getString(*l->spec(), "holderIdentity"));
}

TEST(OperatorProcessTest, ServesKubeOPsEndpointsAndReconciles) {
  auto sb = Sandbox::start();
  ASSERT_TRUE(sb);
  auto client = sb->client();
  Child op(operatorArgs(*sb));
  std::string out = op.readUntil("ready:", 60s);
  ASSERT_NE(out.find("ready:"), std::string::npos) << out;
  uint16_t metrics = portAfter(out, "metrics"), health = portAfter(out, "health");
  ASSERT_NE(metrics, 0) << out;
  ASSERT_NE(health, 0) << out;
  EXPECT_EQ(kubeop::test::httpRequest(health, "GET", "/healthz").status, 200);
  EXPECT_EQ(kubeop::test::httpRequest(health, "GET", "/readyz").status, 200);
  auto version = kubeop::test::httpRequest(health, "GET", "/version");
  EXPECT_NE(version.body.find(R"("service":"operator")"), std::string::npos) << version.body;

  createTenant(*client, "proc-acme");
  EXPECT_TRUE(eventually([&] { return tenantReady(*client, "proc-acme"); }, 20s));
  auto m = kubeop::test::httpRequest(metrics, "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("kubeop_reconcile_total{controller=\"tenant\""), std::string::npos);
  EXPECT_NE(m.body.find("kubeop_workqueue_depth"), std::string::npos);
  EXPECT_EQ(op.stop(SIGTERM, 20s), 0) << "a graceful stop exits 0";
}

TEST(OperatorProcessTest, BadFlagsAndUnreachableClustersAreClearErrors) {
  auto r = kubeop::test::run({kubeop::test::kubeopBinary(), "operator", "--kubeconfig", "/nonexistent/kubeconfig"});
  EXPECT_EQ(r.exitCode, 3);
  EXPECT_NE(r.err.find("/nonexistent/kubeconfig"), std::string::npos) << r.err;
  r = kubeop::test::run({kubeop::test::kubeopBinary(), "operator", "--leader-elect", "--lease-duration", "1s",
                         "--renew-deadline", "2s"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("--lease-duration > --renew-deadline"), std::string::npos) << r.err;
  r = kubeop::test::run({kubeop::test::kubeopBinary(), "operator", "--resync-period", "often"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("--resync-period"), std::string::npos) << r.err;
}

// Two replicas: only the leader reconciles; killing it (no release) hands over within a lease.
TEST(OperatorProcessTest, AnotherReplicaTakesOverWhenTheLeaderDies) {
  auto sb = Sandbox::start();
  ASSERT_TRUE(sb);
  auto client = sb->client();
  std::vector<std::string> le = {"--leader-elect", "--leader-election-namespace", "default", "--lease-duration",
                                 "2s", "--renew-deadline", "1500ms", "--retry-period", "300ms"};
  auto a = std::make_unique<Child>(operatorArgs(*sb, le));
  std::string outA = a->readUntil("ready:", 60s);
  std::string idA = identityIn(outA);
  ASSERT_FALSE(idA.empty()) << outA;
  ASSERT_TRUE(eventually([&] { return leaseHolder(*client) == idA; }, 20s)) << "A never led";
  Child b(operatorArgs(*sb, le));
  std::string outB = b.readUntil("ready:", 60s);
  std::string idB = identityIn(outB);
  ASSERT_FALSE(idB.empty()) << outB;
  ASSERT_NE(idA, idB);

  createTenant(*client, "le-one");
  EXPECT_TRUE(eventually([&] { return tenantReady(*client, "le-one"); }, 20s));
  EXPECT_EQ(leaseHolder(*client), idA) << "the standby does not take a renewed lease";

  a->stop(SIGKILL, 10s);  // a crash: the lease is not released
  a.reset();
  auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return leaseHolder(*client) == idB; }, 20s)) << "B never took over";
  auto took = std::chrono::steady_clock::now() - killed;
  RecordProperty("takeover_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  createTenant(*client, "le-two");
  EXPECT_TRUE(eventually([&] { return tenantReady(*client, "le-two"); }, 20s)) << "the new leader reconciles";
  auto lease = client->get("coordination.k8s.io/v1", "Lease", "default", "kubeop-operator");
  ASSERT_TRUE(lease.ok());
  const json::Value* tr = json::find(*lease->spec(), "leaseTransitions");
  ASSERT_TRUE(tr && tr->IsInt64());
  EXPECT_GE(tr->GetInt64(), 1);
}

}  // namespace
}  // namespace kubeop::op
