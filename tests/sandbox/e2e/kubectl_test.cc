// kubectl as a real client of `kubeop sandbox`: the sandbox must be indistinguishable from a
// kube-apiserver for everything below (kubectl v1.32 from the machine's image).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "kubeop/core/json.h"
#include "process.h"
#include "test_paths.h"

namespace kubeop::test {
namespace {

const char* kKubectl = "/usr/bin/kubectl";

class KubectlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = std::filesystem::temp_directory_path() / ("kubeop-kubectl-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    kubeconfig = (dir / "kubeconfig").string();
    sandbox = new Child({kubeopBinary(), "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", kubeconfig,
                         "--rollout-delay", "300ms"});
    std::string out = sandbox->readUntil("kubeconfig:", std::chrono::seconds(30));
    ready = out.find("kubeconfig:") != std::string::npos;
  }
  static void TearDownTestSuite() {
    delete sandbox;
    std::filesystem::remove_all(dir);
  }
  void SetUp() override {
    if (!std::filesystem::exists(kKubectl)) GTEST_SKIP() << "kubectl is not installed";
    ASSERT_TRUE(ready) << "kubeop sandbox did not start";
  }
  static RunResult kubectl(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv{kKubectl, "--kubeconfig", kubeconfig, "--request-timeout=20s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, input, {"HOME=" + dir.string()});
  }
  // `kubectl create -f` sends JSON; `kubectl create namespace` sends protobuf (see the generator test).
  static RunResult createNamespace(const std::string& name) {
    return kubectl({"create", "-f", "-"}, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n");
  }
  static std::string write(const std::string& name, const std::string& content) {
    auto p = (dir / name).string();
    std::ofstream(p) << content;
    return p;
  }

  static inline std::filesystem::path dir;
  static inline std::string kubeconfig;
  static inline Child* sandbox = nullptr;
  static inline bool ready = false;
};

TEST_F(KubectlTest, CreatesAndGetsANamespace) {
  auto c = kubectl({"create", "namespace", "shop"});
  ASSERT_EQ(c.exitCode, 0) << c.err;
  EXPECT_NE(c.out.find("namespace/shop created"), std::string::npos) << c.out;
  auto g = kubectl({"get", "namespace", "shop", "-o", "json"});
  ASSERT_EQ(g.exitCode, 0) << g.err;
  auto d = json::parse(g.out);
  ASSERT_TRUE(d.ok()) << g.out;
  EXPECT_EQ(json::getString((*d)["status"], "phase"), "Active");
  EXPECT_FALSE(json::getString((*d)["metadata"], "uid").empty());
  auto table = kubectl({"get", "namespaces"});
  ASSERT_EQ(table.exitCode, 0) << table.err;
  EXPECT_NE(table.out.find("NAME"), std::string::npos);
  EXPECT_NE(table.out.find("shop"), std::string::npos);
  EXPECT_NE(table.out.find("Active"), std::string::npos) << table.out;
  auto dup = kubectl({"create", "namespace", "shop"});
  EXPECT_NE(dup.exitCode, 0);
  EXPECT_NE(dup.err.find("namespaces \"shop\" already exists"), std::string::npos) << dup.err;
}

TEST_F(KubectlTest, ServerSideAppliesADeploymentAndAConfigMapAndWaitsForAvailable) {
  ASSERT_EQ(createNamespace("apply-ns").exitCode, 0);
  std::string f = write("app.yaml",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: apply-ns\n"
                        "data:\n  mode: \"0755\"\n---\n"
                        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apply-ns\nspec:\n"
                        "  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n"
                        "      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n"
                        "        image: nginx:1.25\n        ports:\n        - containerPort: 80\n");
  auto a = kubectl({"apply", "--server-side", "-f", f});
  ASSERT_EQ(a.exitCode, 0) << a.err;
  EXPECT_NE(a.out.find("configmap/web-config serverside-applied"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("deployment.apps/web serverside-applied"), std::string::npos) << a.out;
  auto g = kubectl({"get", "deployment", "web", "-n", "apply-ns", "-o", "json", "--show-managed-fields"});
  ASSERT_EQ(g.exitCode, 0) << g.err;
  auto d = json::parse(g.out);
  ASSERT_TRUE(d.ok());
  const json::Value* gen = json::findPath(*d, {"metadata", "generation"});
  ASSERT_TRUE(gen && gen->IsInt64());
  EXPECT_EQ(gen->GetInt64(), 1);
  const json::Value* mf = json::findPath(*d, {"metadata", "managedFields"});
  ASSERT_TRUE(mf && mf->IsArray() && mf->Size() >= 1) << g.out;
  EXPECT_EQ(json::getString((*mf)[0], "manager"), "kubectl");
  EXPECT_EQ(json::getString((*mf)[0], "operation"), "Apply");
  auto w = kubectl({"wait", "--for=condition=Available", "deployment/web", "-n", "apply-ns", "--timeout=30s"});
  ASSERT_EQ(w.exitCode, 0) << w.err;
  EXPECT_NE(w.out.find("condition met"), std::string::npos);
  auto again = kubectl({"apply", "--server-side", "-f", f});
  EXPECT_EQ(again.exitCode, 0) << "re-applying the same manifest is a no-op: " << again.err;
  auto cm = kubectl({"get", "configmap", "web-config", "-n", "apply-ns", "-o", "jsonpath={.data.mode}"});
  EXPECT_EQ(cm.out, "0755");
}

// kubectl's generator commands send protobuf bodies (typed clients); the sandbox decodes them.
TEST_F(KubectlTest, GeneratorCommandsThatSendProtobufWork) {
  ASSERT_EQ(createNamespace("gen-ns").exitCode, 0);
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"create", "configmap", "cfg", "--from-literal=a=b", "-n", "gen-ns"},
           {"create", "secret", "generic", "s", "--from-literal=k=v", "-n", "gen-ns"},
           {"create", "deployment", "d", "--image=nginx:1.25", "--replicas=2", "-n", "gen-ns"},
           {"create", "serviceaccount", "sa", "-n", "gen-ns"}}) {
    auto r = kubectl(args);
    EXPECT_EQ(r.exitCode, 0) << args[1] << ": " << r.err;
  }
  auto cm = kubectl({"get", "configmap", "cfg", "-n", "gen-ns", "-o", "jsonpath={.data.a}"});
  EXPECT_EQ(cm.out, "b");
  auto w = kubectl({"wait", "--for=condition=Available", "deployment/d", "-n", "gen-ns", "--timeout=30s"});
  EXPECT_EQ(w.exitCode, 0) << w.err;
}

TEST_F(KubectlTest, WatchesEventsAsTheyHappen) {
  ASSERT_EQ(createNamespace("watch-ns").exitCode, 0);
  ASSERT_EQ(kubectl({"create", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: watch-ns}\n").exitCode, 0);
  std::thread writer([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    kubectl({"create", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: watch-ns}\n");
    kubectl({"label", "configmap", "b", "x=y", "-n", "watch-ns"});
  });
  auto w = kubectl({"get", "configmaps", "-n", "watch-ns", "--watch", "--request-timeout=4s", "-o", "name"});
  writer.join();
  // The watch ends when the request times out; kubectl exits non-zero-or-zero depending on
  // version, what matters is what it printed.
  EXPECT_NE(w.out.find("configmap/a"), std::string::npos) << w.out << w.err;
  EXPECT_NE(w.out.find("configmap/b"), std::string::npos) << w.out << w.err;
}

TEST_F(KubectlTest, AppliesACrdAndAnInstanceAndPrintsItsColumns) {
  std::string crd = write("crd.yaml", R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
)");
  auto a = kubectl({"apply", "-f", crd});
  ASSERT_EQ(a.exitCode, 0) << a.err;
  auto est = kubectl({"wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"});
  ASSERT_EQ(est.exitCode, 0) << est.err;
  ASSERT_EQ(createNamespace("crd-ns").exitCode, 0);
  std::string inst = write("widget.yaml",
                           "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: crd-ns\n"
                           "spec:\n  size: 3\n  color: red\n");
  auto ai = kubectl({"apply", "--server-side", "-f", inst});
  ASSERT_EQ(ai.exitCode, 0) << ai.err;
  auto g = kubectl({"get", "wd", "-n", "crd-ns"});
  ASSERT_EQ(g.exitCode, 0) << g.err;
  EXPECT_NE(g.out.find("SIZE"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("w1"), std::string::npos) << g.out;
  auto del = kubectl({"delete", "-f", inst});
  ASSERT_EQ(del.exitCode, 0) << del.err;
  EXPECT_NE(del.out.find("widget.example.com \"w1\" deleted"), std::string::npos) << del.out;
  auto gone = kubectl({"get", "widget", "w1", "-n", "crd-ns"});
  EXPECT_NE(gone.exitCode, 0);
  EXPECT_NE(gone.err.find("NotFound"), std::string::npos) << gone.err;
}

TEST_F(KubectlTest, DeletesANamespaceAndEverythingInIt) {
  ASSERT_EQ(createNamespace("doomed").exitCode, 0);
  ASSERT_EQ(kubectl({"create", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: doomed}\n").exitCode, 0);
  auto d = kubectl({"delete", "namespace", "doomed", "--timeout=30s"});
  ASSERT_EQ(d.exitCode, 0) << d.err;
  auto g = kubectl({"get", "configmap", "c", "-n", "doomed"});
  EXPECT_NE(g.exitCode, 0);
}

TEST_F(KubectlTest, RejectsAnInvalidNameWithTheApiserversMessage) {
  auto r = kubectl({"create", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n");
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.err.find("Invalid value: \"Bad_Name\""), std::string::npos) << r.err;
}

// core/v1 and events.k8s.io/v1 Event are one storage in two shapes (the apiserver's event
// registry serves both groups): an Event created through either is listed, read and deleted
// through the other.
TEST_F(KubectlTest, AnEventCreatedThroughOneGroupIsServedThroughTheOther) {
  ASSERT_EQ(createNamespace("ev-ns").exitCode, 0);
  auto c = kubectl({"create", "-f", "-"},
                   "apiVersion: v1\nkind: Event\nmetadata: {name: pulled, namespace: ev-ns}\n"
                   "involvedObject: {kind: Pod, namespace: ev-ns, name: web, apiVersion: v1}\n"
                   "reason: Pulled\nmessage: image pulled\ntype: Normal\nsource: {component: kubelet}\n"
                   "reportingComponent: kubelet\ncount: 2\n");
  ASSERT_EQ(c.exitCode, 0) << c.err;
  auto all = kubectl({"get", "events.v1.events.k8s.io", "-A"});
  ASSERT_EQ(all.exitCode, 0) << all.err;
  EXPECT_NE(all.out.find("ev-ns"), std::string::npos) << all.out;
  // kubectl's event columns (printers.go): the name is a wide column, the object and message are not.
  EXPECT_NE(all.out.find("LAST SEEN"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("pod/web"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("image pulled"), std::string::npos) << all.out;
  auto wide = kubectl({"get", "events", "-n", "ev-ns", "-o", "wide"});
  ASSERT_EQ(wide.exitCode, 0) << wide.err;
  for (const char* col : {"LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE", "FIRST SEEN", "COUNT",
                          "NAME"}) {
    EXPECT_NE(wide.out.find(col), std::string::npos) << col << " in:\n" << wide.out;
  }
  EXPECT_NE(wide.out.find("pulled"), std::string::npos) << wide.out;
  EXPECT_NE(wide.out.find("kubelet"), std::string::npos) << wide.out;
  auto g = kubectl({"get", "events.v1.events.k8s.io", "pulled", "-n", "ev-ns", "-o", "json"});
  ASSERT_EQ(g.exitCode, 0) << g.err;
  auto d = json::parse(g.out);
  ASSERT_TRUE(d.ok()) << g.out;
  EXPECT_EQ(json::getString(*d, "apiVersion"), "events.k8s.io/v1");
  EXPECT_EQ(json::getString(*d, "note"), "image pulled");
  EXPECT_EQ(json::getString(*d, "reportingController"), "kubelet");
  const json::Value* regarding = json::find(*d, "regarding");
  ASSERT_TRUE(regarding) << g.out;
  EXPECT_EQ(json::getString(*regarding, "name"), "web");
  EXPECT_EQ(json::find(*d, "involvedObject"), nullptr) << g.out;

  auto v1 = kubectl({"create", "-f", "-"},
                    "apiVersion: events.k8s.io/v1\nkind: Event\nmetadata: {name: started, namespace: ev-ns}\n"
                    "eventTime: \"2026-01-01T00:00:00.000000Z\"\nregarding: {kind: Pod, namespace: ev-ns, name: web}\n"
                    "reason: Started\nnote: container started\ntype: Normal\naction: Start\n"
                    "reportingController: kubelet\nreportingInstance: node-1\n");
  ASSERT_EQ(v1.exitCode, 0) << v1.err;
  auto names = kubectl({"get", "events", "-n", "ev-ns", "-o", "jsonpath={.items[*].metadata.name}"});
  ASSERT_EQ(names.exitCode, 0) << names.err;
  EXPECT_EQ(names.out, "pulled started");
  auto message = kubectl({"get", "event", "started", "-n", "ev-ns", "-o", "jsonpath={.apiVersion} {.message} {.involvedObject.name}"});
  ASSERT_EQ(message.exitCode, 0) << message.err;
  EXPECT_EQ(message.out, "v1 container started web");

  auto del = kubectl({"delete", "events.v1.events.k8s.io", "pulled", "-n", "ev-ns"});
  ASSERT_EQ(del.exitCode, 0) << del.err;
  auto gone = kubectl({"get", "event", "pulled", "-n", "ev-ns"});
  EXPECT_NE(gone.exitCode, 0);
  EXPECT_NE(gone.err.find("events \"pulled\" not found"), std::string::npos) << gone.err;
}

}  // namespace
}  // namespace kubeop::test

namespace kubeop::test {
namespace {

// --bookmark-interval: a watch that allows bookmarks gets BOOKMARK events carrying the current
// resourceVersion (the watch cache's periodic bookmarks, made frequent for tests).
TEST(SandboxBookmarksTest, WatchersThatAllowBookmarksReceiveThem) {
  if (!std::filesystem::exists("/usr/bin/curl")) GTEST_SKIP() << "curl is not installed";
  auto dir = std::filesystem::temp_directory_path() / ("kubeop-bm-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Child sb({kubeopBinary(), "sandbox", "--listen", "127.0.0.1:0", "--bookmark-interval", "100ms", "--kubeconfig-out",
            (dir / "kc").string()});
  std::string out = sb.readUntil("kubeconfig:", std::chrono::seconds(30));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("server: +https://127\\.0\\.0\\.1:([0-9]+)"))) << out;
  std::ifstream kc(dir / "kc");
  std::string text((std::istreambuf_iterator<char>(kc)), std::istreambuf_iterator<char>());
  std::smatch t;
  ASSERT_TRUE(std::regex_search(text, t, std::regex("token: ([0-9a-f]+)"))) << text;
  auto r = run({"/usr/bin/curl", "-sk", "--max-time", "2", "-H", "Authorization: Bearer " + t[1].str(),
                "https://127.0.0.1:" + m[1].str() +
                    "/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=1"});
  EXPECT_NE(r.out.find("\"type\":\"BOOKMARK\""), std::string::npos) << r.out << r.err;
  std::filesystem::remove_all(dir);
}

// Bad input gets the apiserver's Status answers, never a crash: no or wrong token, malformed
// JSON, a body that is not an object, an unknown resource, a wrong method, an unknown patch type.
TEST(SandboxBadInputTest, AnswersEachWithAKubernetesStatus) {
  if (!std::filesystem::exists("/usr/bin/curl")) GTEST_SKIP() << "curl is not installed";
  auto dir = std::filesystem::temp_directory_path() / ("kubeop-bad-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Child sb({kubeopBinary(), "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", (dir / "kc").string()});
  std::string out = sb.readUntil("kubeconfig:", std::chrono::seconds(30));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("server: +(https://127\\.0\\.0\\.1:[0-9]+)"))) << out;
  std::string base = m[1];
  std::ifstream kc(dir / "kc");
  std::string text((std::istreambuf_iterator<char>(kc)), std::istreambuf_iterator<char>());
  std::smatch t;
  ASSERT_TRUE(std::regex_search(text, t, std::regex("token: ([0-9a-f]+)")));
  std::string auth = "Authorization: Bearer " + t[1].str();
  auto curl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/curl", "-sk", "--max-time", "5", "-w", "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv).out;
  };
  struct Case {
    std::vector<std::string> args;
    std::string code, reason;
  };
  std::string cms = base + "/api/v1/namespaces/default/configmaps";
  std::vector<Case> cases = {
      {{cms}, "401", "Unauthorized"},
      {{"-H", "Authorization: Bearer wrong", cms}, "401", "Unauthorized"},
      {{"-H", auth, "-H", "Content-Type: application/json", "-X", "POST", "-d", "{\"metadata\": {", cms}, "400",
       "BadRequest"},
      {{"-H", auth, "-H", "Content-Type: application/json", "-X", "POST", "-d", "[1,2]", cms}, "400", "BadRequest"},
      {{"-H", auth, base + "/api/v1/namespaces/default/frobnicators"}, "404", "NotFound"},
      {{"-H", auth, "-X", "PATCH", "-H", "Content-Type: text/plain", "-d", "x", cms + "/nope"}, "415",
       "UnsupportedMediaType"},
      {{"-H", auth, "-H", "Content-Type: application/json", "-X", "POST", "-d",
        "{\"metadata\":{\"name\":\"x\",\"namespace\":\"other\"}}", cms},
       "400", "BadRequest"},
  };
  for (const auto& c : cases) {
    std::string r = curl(c.args);
    EXPECT_EQ(r.substr(r.rfind('\n') + 1), c.code) << c.args.back() << ": " << r;
    EXPECT_NE(r.find("\"kind\":\"Status\""), std::string::npos) << r;
    EXPECT_NE(r.find("\"reason\":\"" + c.reason + "\""), std::string::npos) << r;
  }
  std::filesystem::remove_all(dir);
}

// kubeop's own CRDs (deploy/crds) install on the sandbox and kubeOP's manifests apply unchanged.
TEST_F(KubectlTest, KubeopCrdsInstallAndKubeopManifestsApply) {
  auto a = kubectl({"apply", "-f", sourceDir() + "/deploy/crds/"});
  ASSERT_EQ(a.exitCode, 0) << a.err;
  for (const char* crd : {"tenants", "projects", "apps", "dnsrecords", "certificates", "policies", "registries"}) {
    auto w = kubectl({"wait", "--for=condition=Established", std::string("crd/") + crd + ".paas.kubeop.io", "--timeout=20s"});
    EXPECT_EQ(w.exitCode, 0) << crd << ": " << w.err;
  }
  ASSERT_EQ(createNamespace("kubeop-acme-web").exitCode, 0);
  // kubeOP's e2e manifest (KUBEOP.md §9.2), unchanged.
  std::string f = write("kubeop.yaml", R"(apiVersion: paas.kubeop.io/v1alpha1
kind: Tenant
metadata: {name: acme}
spec: {name: acme}
---
apiVersion: paas.kubeop.io/v1alpha1
kind: Project
metadata: {name: web}
spec: {tenantRef: acme, name: web}
---
apiVersion: paas.kubeop.io/v1alpha1
kind: App
metadata: {name: web, namespace: kubeop-acme-web}
spec: {type: Image, image: "nginx:1.25", host: web.local}
---
apiVersion: paas.kubeop.io/v1alpha1
kind: DNSRecord
metadata: {name: web-local}
spec: {host: web.local, target: web.kubeop-acme-web.svc.cluster.local}
---
apiVersion: paas.kubeop.io/v1alpha1
kind: Certificate
metadata: {name: web-local}
spec: {host: web.local, dnsRecordRef: web-local}
)");
  auto ap = kubectl({"apply", "-f", f});
  ASSERT_EQ(ap.exitCode, 0) << ap.err;
  auto g = kubectl({"get", "apps.paas.kubeop.io", "-n", "kubeop-acme-web"});
  ASSERT_EQ(g.exitCode, 0) << g.err;
  EXPECT_NE(g.out.find("TYPE"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("Image"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("web.local"), std::string::npos) << g.out;
  // The CRD schemas are enforced: kubeOP pruned its conditions to nothing and let bad Apps in.
  auto noType = kubectl({"apply", "-f", "-"}, "apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: bad, "
                                              "namespace: kubeop-acme-web}\nspec: {image: nginx}\n");
  EXPECT_NE(noType.exitCode, 0);
  EXPECT_NE(noType.err.find("spec.type: Required value"), std::string::npos) << noType.err;
  auto noImage = kubectl({"apply", "-f", "-"}, "apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: bad, "
                                               "namespace: kubeop-acme-web}\nspec: {type: Image}\n");
  EXPECT_NE(noImage.exitCode, 0);
  EXPECT_NE(noImage.err.find("spec.image is required when spec.type is Image"), std::string::npos) << noImage.err;
}

}  // namespace
}  // namespace kubeop::test
