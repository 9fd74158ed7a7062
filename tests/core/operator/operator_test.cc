// The operator against `kubeop sandbox` over HTTPS with the real plugins loaded: kubeOP's A4,
// the Raw App lifecycle (apply, change, prune, drift, delete), bad input, hooks, rollback, the
// tenant envelope and project deletion. Each test uses its own tenant so they share one sandbox
// and one operator.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include "../kube/client/sandbox_fixture.h"
#include "kubeop/core/json.h"
#include "kubeop/core/names.h"
#include "kubeop/core/yaml.h"
#include "kubeop/metrics/metrics.h"
#include "kubeop/operator/operator.h"
#include "kubeop/plugin/registry.h"
#include "test_paths.h"

namespace kubeop::op {
namespace {

using kube::testing::eventually;
using kube::testing::Sandbox;
using namespace std::chrono_literals;

Object fromYaml(const std::string& text) {
  auto doc = yaml::parseOne(text);
  EXPECT_TRUE(doc.ok()) << doc.status().toString() << "\n" << text;
  return doc.ok() ? Object(std::move(doc).value()) : Object();
}

std::string unique(std::string_view prefix) {
  static std::atomic<int> n{0};
  return std::string(prefix) + std::to_string(getpid() % 10000) + "x" + std::to_string(++n);
}

class OperatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sandbox_ = Sandbox::start().release();
    ASSERT_NE(sandbox_, nullptr);
    client_ = sandbox_->client().get() ? sandbox_->client() : nullptr;
    ASSERT_NE(client_, nullptr);
    plugin::RegistryOptions ro;
    ro.searchPath = kubeop::test::pluginDir();
    std::shared_ptr<plugin::Registry> reg = plugin::Registry::load(ro);
    ASSERT_TRUE(reg->find("delivery-raw") && reg->find("quota") && reg->find("netpol")) << reg->toJson();
    metrics_ = new metrics::Registry();
    OperatorOptions oo;
    oo.client = sandbox_->client();
    oo.plugins = reg;
    oo.metrics = metrics_;
    oo.progressRequeue = 300ms;
    auto op = Operator::create(std::move(oo));
    ASSERT_TRUE(op.ok()) << op.status().toString();
    operator_ = std::move(op).value().release();
    Status st = operator_->start();
    ASSERT_TRUE(st.isOk()) << st.toString();
  }
  static void TearDownTestSuite() {
    delete operator_;
    operator_ = nullptr;
    delete metrics_;
    client_.reset();
    delete sandbox_;
  }

  static kube::Client& client() { return *client_; }

  static Object create(const std::string& yamlText) {
    Object o = fromYaml(yamlText);
    auto r = client_->create(o);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? std::move(r).value() : Object();
  }

  static std::optional<Object> get(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                                   std::string_view name) {
    auto r = client_->get(apiVersion, kind, ns, name);
    if (!r.ok()) return std::nullopt;
    return std::move(r).value();
  }

  // The condition's (status, reason, message) of an object, or empty strings.
  static std::tuple<std::string, std::string, std::string> condition(const Object& o, std::string_view type) {
    const json::Value* cs = o.status() ? json::find(*o.status(), "conditions") : nullptr;
    if (cs && cs->IsArray()) {
      for (const auto& c : cs->GetArray()) {
        if (json::getString(c, "type") == type) {
          return {std::string(json::getString(c, "status")), std::string(json::getString(c, "reason")),
                  std::string(json::getString(c, "message"))};
        }
      }
    }
    return {};
  }

  // Polls until the object's condition `type` has `status` (and `reason` when given).
  static std::optional<Object> waitCondition(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                                             std::string_view name, std::string_view type, std::string_view status,
                                             std::string_view reason = {}, std::chrono::milliseconds within = 20s) {
    std::optional<Object> last;
    bool ok = eventually(
        [&] {
          last = get(apiVersion, kind, ns, name);
          if (!last) return false;
          auto [s, r, m] = condition(*last, type);
          return s == status && (reason.empty() || r == reason);
        },
        within);
    if (!ok) {
      ADD_FAILURE() << kind << " " << name << ": condition " << type << " never became " << status << " " << reason
                    << "; last: " << (last ? last->toPrettyJson() : "(absent)");
      return std::nullopt;
    }
    return last;
  }

  static std::string data(const Object& cm, std::string_view key) {
    const json::Value* d = json::find(cm.root(), "data");
    return d ? std::string(json::getString(*d, key)) : std::string();
  }

  // A tenant and a project, waited for: returns the project's namespace.
  static std::string tenantAndProject(const std::string& tenant, const std::string& project,
                                      const std::string& projectExtra = "") {
    std::string object = tenant + "-" + names::toLower(project);
    if (!get(kApiVersion, "Tenant", "", tenant)) {
      create("apiVersion: paas.kubeop.io/v1alpha1\nkind: Tenant\nmetadata: {name: " + tenant + "}\nspec: {name: " +
             tenant + "}\n");
    }
    create("apiVersion: paas.kubeop.io/v1alpha1\nkind: Project\nmetadata: {name: " + object +
           "}\nspec: {tenantRef: " + tenant + ", name: " + project + projectExtra + "}\n");
    EXPECT_TRUE(waitCondition(kApiVersion, "Project", "", object, "Ready", "True"));
    return "kubeop-" + tenant + "-" + names::toLower(project);
  }

  static std::string rawApp(const std::string& ns, const std::string& name, const std::string& manifests,
                            const std::string& extraSpec = "") {
    std::string indented;
    size_t start = 0;
    while (start < manifests.size()) {
      size_t end = manifests.find('\n', start);
      if (end == std::string::npos) end = manifests.size();
      indented += "    " + manifests.substr(start, end - start) + "\n";
      start = end + 1;
    }
    return "apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: " + name + ", namespace: " + ns +
           "}\nspec:\n  type: Raw\n" + extraSpec + "  rawManifests: |\n" + indented;
  }

  static void mergePatch(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                         std::string_view name, const std::string& patch) {
    auto r = client_->patch(apiVersion, kind, ns, name, kube::PatchType::kMerge, patch);
    ASSERT_TRUE(r.ok()) << r.status().toString();
  }

  static Sandbox* sandbox_;
  static std::shared_ptr<kube::Client> client_;
  static metrics::Registry* metrics_;
  static Operator* operator_;
};

Sandbox* OperatorTest::sandbox_ = nullptr;
std::shared_ptr<kube::Client> OperatorTest::client_;
metrics::Registry* OperatorTest::metrics_ = nullptr;
Operator* OperatorTest::operator_ = nullptr;

const char* kConfigAndDeployment = R"(apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.25}]
)";

// kubeOP §9.5 A4 with the values of §5.2 (kubeOP's egress allowed everything; kubeop's is a
// baseline: DNS, the same namespace, configured CIDRs).
TEST_F(OperatorTest, ProjectGetsItsNamespaceLabelsAndGuardrailsA4) {
  std::string tenant = unique("acme");
  std::string ns = tenantAndProject(tenant, "web");
  auto n = get("v1", "Namespace", "", ns);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->label("app.kubeop.io/tenant").value_or(""), tenant);
  EXPECT_EQ(n->label("app.kubeop.io/project").value_or(""), "web");

  auto lr = get("v1", "LimitRange", ns, "kubeop-defaults");
  ASSERT_TRUE(lr);
  const json::Value* limits = json::findPath(lr->root(), {"spec", "limits"});
  ASSERT_TRUE(limits && limits->IsArray() && limits->Size() == 1) << lr->toPrettyJson();
  const json::Value& l = (*limits)[0];
  EXPECT_EQ(json::getString(l, "type"), "Container");
  EXPECT_EQ(json::getString(*json::find(l, "defaultRequest"), "cpu"), "100m");
  EXPECT_EQ(json::getString(*json::find(l, "defaultRequest"), "memory"), "64Mi");
  EXPECT_EQ(json::getString(*json::find(l, "default"), "cpu"), "500m");
  EXPECT_EQ(json::getString(*json::find(l, "default"), "memory"), "256Mi");

  auto rq = get("v1", "ResourceQuota", ns, "kubeop-quota");
  ASSERT_TRUE(rq);
  const json::Value* hard = json::findPath(rq->root(), {"spec", "hard"});
  ASSERT_TRUE(hard);
  EXPECT_EQ(json::getString(*hard, "pods"), "10");
  EXPECT_EQ(json::getString(*hard, "requests.cpu"), "1");
  EXPECT_EQ(json::getString(*hard, "requests.memory"), "1Gi");

  auto ingress = get("networking.k8s.io/v1", "NetworkPolicy", ns, "kubeop-ingress");
  ASSERT_TRUE(ingress);
  EXPECT_EQ(json::write(*json::findPath(ingress->root(), {"spec", "policyTypes"})), R"(["Ingress"])");
  auto egress = get("networking.k8s.io/v1", "NetworkPolicy", ns, "kubeop-egress");
  ASSERT_TRUE(egress);
  EXPECT_EQ(json::write(*json::findPath(egress->root(), {"spec", "policyTypes"})), R"(["Egress"])");
  const json::Value* rules = json::findPath(egress->root(), {"spec", "egress"});
  ASSERT_TRUE(rules && rules->IsArray() && !rules->Empty());
  for (const auto& r : rules->GetArray()) EXPECT_FALSE(r.ObjectEmpty()) << "an empty egress rule allows everything";

  // Every guardrail object is owned by the Project (deleting it cleans up).
  for (const auto* o : {&*lr, &*rq, &*ingress, &*egress}) {
    ASSERT_EQ(o->ownerReferences().size(), 1u) << o->describe();
    EXPECT_EQ(o->ownerReferences()[0].kind, "Project");
    EXPECT_EQ(o->label("app.kubernetes.io/managed-by").value_or(""), "kubeop");
  }
  auto p = get(kApiVersion, "Project", "", tenant + "-web");
  ASSERT_TRUE(p);
  EXPECT_EQ(json::getString(*p->status(), "namespace"), ns);
  EXPECT_EQ(std::get<1>(condition(*p, "Ready")), "Bootstrapped");
  auto t = waitCondition(kApiVersion, "Tenant", "", tenant, "Ready", "True", "Bootstrapped");
  ASSERT_TRUE(t);
  EXPECT_TRUE(eventually([&] {
    auto tt = get(kApiVersion, "Tenant", "", tenant);
    const json::Value* pr = tt && tt->status() ? json::find(*tt->status(), "projects") : nullptr;
    return pr && pr->IsInt64() && pr->GetInt64() == 1;
  }));
}

// kubeOP used spec.name verbatim, so "Web" made a namespace the apiserver refused.
TEST_F(OperatorTest, ProjectNamesAreLowercasedAndGuardrailDriftIsRestored) {
  std::string tenant = unique("caps");
  std::string ns = tenantAndProject(tenant, "Web");
  std::string lower = "kubeop-" + tenant + "-web";
  ASSERT_TRUE(get("v1", "Namespace", "", lower)) << "the namespace is lowercased";

  // Someone loosens the quota: the operator puts it back.
  auto before = operator_->stats().driftCorrections;
  mergePatch("v1", "ResourceQuota", lower, "kubeop-quota", R"({"spec":{"hard":{"pods":"1000"}}})");
  EXPECT_TRUE(eventually([&] {
    auto rq = get("v1", "ResourceQuota", lower, "kubeop-quota");
    return rq && json::getString(*json::findPath(rq->root(), {"spec", "hard"}), "pods") == "10";
  })) << "the ResourceQuota was not restored";
  EXPECT_GT(operator_->stats().driftCorrections, before);
  // Someone deletes the ingress policy: it comes back.
  ASSERT_TRUE(client().remove("networking.k8s.io/v1", "NetworkPolicy", lower, "kubeop-ingress").ok());
  EXPECT_TRUE(eventually([&] { return get("networking.k8s.io/v1", "NetworkPolicy", lower, "kubeop-ingress").has_value(); }));
}

// A guardrail a plugin contributed before and no longer does (the plugin was removed or
// reconfigured) is deleted; one the Project does not own is left alone.
TEST_F(OperatorTest, AGuardrailObjectNoPluginContributesAnyMoreIsDeleted) {
  std::string tenant = unique("gone");
  std::string ns = tenantAndProject(tenant, "web");
  std::string project = tenant + "-web";
  auto p = get(kApiVersion, "Project", "", project);
  ASSERT_TRUE(p);
  const json::Value* listed = json::find(*p->status(), "guardrails");
  ASSERT_TRUE(listed && listed->IsArray()) << p->toPrettyJson();
  std::set<std::string> names;
  for (const auto& g : listed->GetArray()) names.insert(std::string(json::getString(g, "name")));
  EXPECT_EQ(names, (std::set<std::string>{"kubeop-defaults", "kubeop-quota", "kubeop-ingress", "kubeop-egress"}));

  // What a retired plugin left behind (the Project's), and a team's own object.
  create("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kubeop-retired\n  namespace: " + ns +
         "\n  labels: {app.kubernetes.io/managed-by: kubeop}\n  ownerReferences:\n  - {apiVersion: " +
         std::string(kApiVersion) + ", kind: Project, name: " + project + ", uid: " + std::string(p->uid()) +
         "}\ndata: {k: v}\n");
  create("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: team-notes, namespace: " + ns + "}\ndata: {k: v}\n");
  std::string refs = json::write(*listed);
  refs.pop_back();
  refs += R"(,{"apiVersion":"v1","kind":"ConfigMap","name":"kubeop-retired"},)"
          R"({"apiVersion":"v1","kind":"ConfigMap","name":"team-notes"}])";
  kube::PatchOptions po;
  po.subresource = "status";
  ASSERT_TRUE(client().patch(kApiVersion, "Project", "", project, kube::PatchType::kMerge,
                             R"({"status":{"guardrails":)" + refs + "}}", po).ok());
  mergePatch(kApiVersion, "Project", "", project, R"({"metadata":{"annotations":{"touched":"1"}}})");

  EXPECT_TRUE(eventually([&] { return !get("v1", "ConfigMap", ns, "kubeop-retired"); }))
      << "the retired guardrail was not deleted";
  EXPECT_TRUE(eventually([&] {
    auto now = get(kApiVersion, "Project", "", project);
    const json::Value* g = now ? json::find(*now->status(), "guardrails") : nullptr;
    return g && g->IsArray() && g->Size() == 4;
  })) << "status.guardrails lists what the plugins contribute now";
  EXPECT_TRUE(get("v1", "ConfigMap", ns, "team-notes")) << "an object the Project does not own is left alone";
  for (std::string_view kept : {"kubeop-ingress", "kubeop-egress"}) {
    EXPECT_TRUE(get("networking.k8s.io/v1", "NetworkPolicy", ns, kept)) << kept;
  }
}

TEST_F(OperatorTest, ProjectWaitsForItsTenant) {
  std::string tenant = unique("late");
  create("apiVersion: paas.kubeop.io/v1alpha1\nkind: Project\nmetadata: {name: " + tenant +
         "-p}\nspec: {tenantRef: " + tenant + ", name: p}\n");
  auto p = waitCondition(kApiVersion, "Project", "", tenant + "-p", "Ready", "False", "TenantNotFound");
  ASSERT_TRUE(p);
  EXPECT_NE(std::get<2>(condition(*p, "Ready")).find(tenant), std::string::npos);
  EXPECT_FALSE(get("v1", "Namespace", "", "kubeop-" + tenant + "-p")) << "nothing is created for a tenant-less project";
  create("apiVersion: paas.kubeop.io/v1alpha1\nkind: Tenant\nmetadata: {name: " + tenant + "}\nspec: {name: " + tenant +
         "}\n");
  EXPECT_TRUE(waitCondition(kApiVersion, "Project", "", tenant + "-p", "Ready", "True", "Bootstrapped"));
}

TEST_F(OperatorTest, TenantEnvelopeRefusesTheProjectThatOverflowsIt) {
  std::string tenant = unique("env");
  create("apiVersion: paas.kubeop.io/v1alpha1\nkind: Tenant\nmetadata: {name: " + tenant + "}\nspec: {name: " + tenant +
         ", quota: {requestsCPU: '2'}}\n");
  create("apiVersion: paas.kubeop.io/v1alpha1\nkind: Project\nmetadata: {name: " + tenant +
         "-a}\nspec: {tenantRef: " + tenant + ", name: a, quota: {requestsCPU: '1500m'}}\n");
  ASSERT_TRUE(waitCondition(kApiVersion, "Project", "", tenant + "-a", "Ready", "True"));
  create("apiVersion: paas.kubeop.io/v1alpha1\nkind: Project\nmetadata: {name: " + tenant +
         "-b}\nspec: {tenantRef: " + tenant + ", name: b, quota: {requestsCPU: '1'}}\n");
  auto b = waitCondition(kApiVersion, "Project", "", tenant + "-b", "Ready", "False", "QuotaExceeded");
  ASSERT_TRUE(b);
  EXPECT_NE(std::get<2>(condition(*b, "Ready")).find("requests.cpu"), std::string::npos) << b->toPrettyJson();
  EXPECT_FALSE(get("v1", "Namespace", "", "kubeop-" + tenant + "-b")) << "nothing is created beyond the envelope";
  EXPECT_TRUE(get("v1", "Namespace", "", "kubeop-" + tenant + "-a"));
  // Shrinking a's share makes room for b.
  mergePatch(kApiVersion, "Project", "", tenant + "-a", R"({"spec":{"quota":{"requestsCPU":"1"}}})");
  EXPECT_TRUE(waitCondition(kApiVersion, "Project", "", tenant + "-b", "Ready", "True"));
  auto t = waitCondition(kApiVersion, "Tenant", "", tenant, "QuotaWithinEnvelope", "True");
  ASSERT_TRUE(t);
}

TEST_F(OperatorTest, RawAppIsAppliedChangedPrunedRestoredAndDeleted) {
  std::string ns = tenantAndProject(unique("raw"), "web");
  create(rawApp(ns, "shop", kConfigAndDeployment));
  auto app = waitCondition(kApiVersion, "App", ns, "shop", "Ready", "True", "Converged");
  ASSERT_TRUE(app);
  auto cm = get("v1", "ConfigMap", ns, "settings");
  auto dep = get("apps/v1", "Deployment", ns, "web");
  ASSERT_TRUE(cm && dep);
  EXPECT_EQ(data(*cm, "greeting"), "hello");
  ASSERT_EQ(dep->ownerReferences().size(), 1u);
  EXPECT_EQ(dep->ownerReferences()[0].kind, "App");
  EXPECT_EQ(dep->ownerReferences()[0].uid, app->uid());
  EXPECT_EQ(dep->label("app.kubeop.io/app").value_or(""), "shop");
  const json::Value* st = app->status();
  ASSERT_TRUE(st);
  EXPECT_EQ(json::find(*st, "inventory")->Size(), 2u);
  std::string rev1(json::getString(*st, "revision"));
  EXPECT_EQ(rev1.size(), 12u);
  EXPECT_EQ(json::find(*st, "observedGeneration")->GetInt64(), app->generation());
  EXPECT_TRUE(json::find(*st, "ready")->GetBool());

  // Change: the ConfigMap changes, a Service is added, the Deployment is dropped (pruned).
  std::string v2 = R"(apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: bonjour}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
)";
  Object desired = fromYaml(rawApp(ns, "shop", v2));
  json::Document patch(rapidjson::kObjectType);
  patch.AddMember("spec", json::Value(*desired.spec(), patch.GetAllocator()), patch.GetAllocator());
  mergePatch(kApiVersion, "App", ns, "shop", json::write(patch));
  ASSERT_TRUE(eventually([&] {
    auto a = get(kApiVersion, "App", ns, "shop");
    return a && a->status() && json::getString(*a->status(), "revision") != rev1 &&
           std::get<0>(condition(*a, "Ready")) == "True";
  }));
  EXPECT_EQ(data(*get("v1", "ConfigMap", ns, "settings"), "greeting"), "bonjour");
  EXPECT_TRUE(get("v1", "Service", ns, "web"));
  EXPECT_TRUE(eventually([&] { return !get("apps/v1", "Deployment", ns, "web"); })) << "the Deployment was not pruned";
  auto a2 = get(kApiVersion, "App", ns, "shop");
  ASSERT_TRUE(a2);
  EXPECT_EQ(json::find(*a2->status(), "history")->Size(), 2u);
  EXPECT_EQ(json::find(*a2->status(), "inventory")->Size(), 2u);

  // Drift: an edit of a delivered object is undone and counted.
  auto before = operator_->stats().driftCorrections;
  mergePatch("v1", "ConfigMap", ns, "settings", R"({"data":{"greeting":"hacked"}})");
  EXPECT_TRUE(eventually([&] { return data(*get("v1", "ConfigMap", ns, "settings"), "greeting") == "bonjour"; }));
  EXPECT_GT(operator_->stats().driftCorrections, before);
  EXPECT_NE(metrics_->serialize().find("kubeop_drift_corrections_total"), std::string::npos);

  // Events tell the story (kubectl get events): the apply, the prune, the drift.
  EXPECT_TRUE(eventually([&] {
    auto evs = client().list("v1", "Event", ns);
    if (!evs.ok()) return false;
    std::set<std::string> reasons;
    for (const auto& e : evs->items) {
      const json::Value* io = json::find(e.root(), "involvedObject");
      if (io && json::getString(*io, "kind") == "App" && json::getString(*io, "name") == "shop") {
        reasons.insert(std::string(json::getString(e.root(), "reason")));
      }
    }
    return reasons.count("Applied") && reasons.count("Pruned") && reasons.count("DriftCorrected");
  })) << "Events Applied, Pruned and DriftCorrected on the App";

  // Delete: the finalizer removes what the App delivered, then lets the App go.
  ASSERT_TRUE(client().remove(kApiVersion, "App", ns, "shop").ok());
  EXPECT_TRUE(eventually([&] { return !get(kApiVersion, "App", ns, "shop"); }));
  EXPECT_TRUE(eventually([&] { return !get("v1", "ConfigMap", ns, "settings") && !get("v1", "Service", ns, "web"); }));
}

// An App belongs to a project: in a namespace no Project owns it waits (nothing delivered) and
// goes ahead when the namespace becomes a project's — with the tenant's labels from the start.
TEST_F(OperatorTest, AppWaitsUntilItsNamespaceBelongsToAProject) {
  std::string ns = unique("loose");
  create("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n");
  create(rawApp(ns, "early", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: early}\n"));
  auto app = waitCondition(kApiVersion, "App", ns, "early", "Ready", "False", "NamespaceNotInProject");
  ASSERT_TRUE(app);
  EXPECT_NE(std::get<2>(condition(*app, "Ready")).find(ns), std::string::npos);
  EXPECT_FALSE(get("v1", "ConfigMap", ns, "early"));
  mergePatch("v1", "Namespace", "", ns, R"({"metadata":{"labels":{"app.kubeop.io/tenant":"t","app.kubeop.io/project":"p"}}})");
  ASSERT_TRUE(waitCondition(kApiVersion, "App", ns, "early", "Ready", "True"));
  auto cm = get("v1", "ConfigMap", ns, "early");
  ASSERT_TRUE(cm);
  EXPECT_EQ(cm->label("app.kubeop.io/tenant").value_or(""), "t");
  auto a = get(kApiVersion, "App", ns, "early");
  EXPECT_EQ(json::find(*a->status(), "history")->Size(), 1u) << "one revision, not one per context";
}

// `kubectl scale` on a delivered Deployment is undone (the App's manifest sets replicas).
TEST_F(OperatorTest, ScaledDeploymentIsRestored) {
  std::string ns = tenantAndProject(unique("scale"), "web");
  create(rawApp(ns, "shop", kConfigAndDeployment));
  ASSERT_TRUE(waitCondition(kApiVersion, "App", ns, "shop", "Ready", "True"));
  auto before = operator_->stats().driftCorrections;
  auto r = client().patch("apps/v1", "Deployment", ns, "web", kube::PatchType::kMerge, R"({"spec":{"replicas":5}})",
                          kube::PatchOptions{false, "kubectl", "scale"});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_TRUE(eventually([&] {
    auto d = get("apps/v1", "Deployment", ns, "web");
    return d && json::findPath(d->root(), {"spec", "replicas"})->GetInt64() == 2;
  }));
  EXPECT_GT(operator_->stats().driftCorrections, before);
}

TEST_F(OperatorTest, UnknownTypeIsTerminalAndNamesTheRegisteredTypes) {
  std::string ns = tenantAndProject(unique("unk"), "web");
  create("apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: odd, namespace: " + ns +
         "}\nspec: {type: Carrier-Pigeon}\n");
  auto app = waitCondition(kApiVersion, "App", ns, "odd", "Ready", "False", "UnknownDeliveryType");
  ASSERT_TRUE(app);
  std::string msg = std::get<2>(condition(*app, "Ready"));
  EXPECT_NE(msg.find("Carrier-Pigeon"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Raw"), std::string::npos) << msg;
  // No retry storm: the App is not reconciled again until it changes.
  auto passes = operator_->stats().appPasses;
  std::this_thread::sleep_for(500ms);
  EXPECT_LE(operator_->stats().appPasses, passes + 2);
  // Fixing the type delivers it.
  mergePatch(kApiVersion, "App", ns, "odd",
             R"({"spec":{"type":"raw","rawManifests":"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: odd}\n"}})");
  EXPECT_TRUE(waitCondition(kApiVersion, "App", ns, "odd", "Ready", "True"));
  EXPECT_TRUE(get("v1", "ConfigMap", ns, "odd"));
}

TEST_F(OperatorTest, RenderFailureCarriesThePluginsMessage) {
  std::string ns = tenantAndProject(unique("bad"), "web");
  create(rawApp(ns, "broken", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"));
  auto app = waitCondition(kApiVersion, "App", ns, "broken", "Ready", "False", "RenderFailed");
  ASSERT_TRUE(app);
  EXPECT_NE(std::get<2>(condition(*app, "Ready")).find("metadata.name"), std::string::npos)
      << std::get<2>(condition(*app, "Ready"));
  EXPECT_EQ(std::get<0>(condition(*app, "Degraded")), "True");
}

// The tenancy fence: an App delivers only into its own namespace.
TEST_F(OperatorTest, ObjectsOutsideTheAppsNamespaceAreRefused) {
  std::string ns = tenantAndProject(unique("fence"), "web");
  create(rawApp(ns, "escape", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}\n"));
  auto app = waitCondition(kApiVersion, "App", ns, "escape", "Ready", "False");
  ASSERT_TRUE(app);
  EXPECT_FALSE(get("v1", "ConfigMap", "kube-system", "x"));
}

TEST_F(OperatorTest, PreHookRunsBeforeApplyAndAFailedHookBlocksIt) {
  std::string ns = tenantAndProject(unique("hook"), "web");
  create(rawApp(ns, "hooked", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hooked}\n",
                "  hooks:\n    pre: [{image: busybox, args: [echo, migrate]}]\n"));
  auto app = waitCondition(kApiVersion, "App", ns, "hooked", "Ready", "True");
  ASSERT_TRUE(app);
  std::string rev(json::getString(*app->status(), "revision"));
  auto job = get("batch/v1", "Job", ns, "hook-pre-hooked-" + rev);
  ASSERT_TRUE(job) << "hook Job hook-pre-hooked-" << rev;
  EXPECT_EQ(std::get<0>(condition(*job, "Complete")), "True");
  EXPECT_TRUE(get("v1", "ConfigMap", ns, "hooked"));

  create(rawApp(ns, "doomed", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: doomed}\n",
                "  hooks:\n    pre: [{image: example/fail:1}]\n"));
  auto bad = waitCondition(kApiVersion, "App", ns, "doomed", "Ready", "False", "HookFailed");
  ASSERT_TRUE(bad);
  EXPECT_NE(std::get<2>(condition(*bad, "Ready")).find("hook-pre-doomed-"), std::string::npos);
  EXPECT_EQ(std::get<0>(condition(*bad, "Degraded")), "True");
  EXPECT_FALSE(get("v1", "ConfigMap", ns, "doomed")) << "a failed pre hook stops the delivery";
}

TEST_F(OperatorTest, FailedPostHookLeavesTheAppDegraded) {
  std::string ns = tenantAndProject(unique("post"), "web");
  create(rawApp(ns, "after", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n",
                "  hooks:\n    post: [{image: example/fail:2}]\n"));
  auto app = waitCondition(kApiVersion, "App", ns, "after", "Degraded", "True", "HookFailed");
  ASSERT_TRUE(app);
  EXPECT_NE(std::get<2>(condition(*app, "Degraded")).find("hook-post-after-"), std::string::npos);
  EXPECT_TRUE(get("v1", "ConfigMap", ns, "after")) << "post hooks run after the apply";
}

TEST_F(OperatorTest, RollbackRedeliversAnEarlierRevision) {
  std::string ns = tenantAndProject(unique("rb"), "web");
  create(rawApp(ns, "svc", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: one}\n"));
  auto a1 = waitCondition(kApiVersion, "App", ns, "svc", "Ready", "True");
  ASSERT_TRUE(a1);
  std::string rev1(json::getString(*a1->status(), "revision"));
  mergePatch(kApiVersion, "App", ns, "svc",
             R"({"spec":{"rawManifests":"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {v: two}\n"}})");
  ASSERT_TRUE(eventually([&] { return data(*get("v1", "ConfigMap", ns, "cfg"), "v") == "two"; }));
  mergePatch(kApiVersion, "App", ns, "svc", R"({"spec":{"rollbackTo":")" + rev1 + R"("}})");
  EXPECT_TRUE(eventually([&] { return data(*get("v1", "ConfigMap", ns, "cfg"), "v") == "one"; }));
  EXPECT_TRUE(eventually([&] {
    auto a = get(kApiVersion, "App", ns, "svc");
    return a && json::getString(*a->status(), "revision") == rev1;
  }));
  // An unknown revision is refused with the kept ones listed.
  mergePatch(kApiVersion, "App", ns, "svc", R"({"spec":{"rollbackTo":"000000000000"}})");
  auto bad = waitCondition(kApiVersion, "App", ns, "svc", "Ready", "False", "RollbackFailed");
  ASSERT_TRUE(bad);
  EXPECT_NE(std::get<2>(condition(*bad, "Ready")).find(rev1), std::string::npos);
}

TEST_F(OperatorTest, DeletingAProjectDeletesItsNamespaceUnlessRetained) {
  std::string tenant = unique("del");
  std::string ns = tenantAndProject(tenant, "gone");
  std::string kept = tenantAndProject(tenant, "kept", ", retainNamespace: true");
  ASSERT_TRUE(client().remove(kApiVersion, "Project", "", tenant + "-gone").ok());
  ASSERT_TRUE(client().remove(kApiVersion, "Project", "", tenant + "-kept").ok());
  EXPECT_TRUE(eventually([&] { return !get(kApiVersion, "Project", "", tenant + "-gone"); }));
  EXPECT_TRUE(eventually([&] { return !get("v1", "Namespace", "", ns); }));
  EXPECT_TRUE(eventually([&] { return !get(kApiVersion, "Project", "", tenant + "-kept"); }));
  auto n = get("v1", "Namespace", "", kept);
  ASSERT_TRUE(n) << "retainNamespace keeps the namespace";
  EXPECT_TRUE(n->ownerReferences().empty());
}

TEST_F(OperatorTest, MetricsCountReconciles) {
  std::string text = metrics_->serialize();
  EXPECT_NE(text.find("kubeop_reconcile_total{controller=\"app\""), std::string::npos);
  EXPECT_NE(text.find("kubeop_reconcile_total{controller=\"project\""), std::string::npos);
  EXPECT_NE(text.find("kubeop_workqueue_"), std::string::npos);
}

// What the caches hold, per resource, at scrape time: the size an operator at 10,000 Apps is
// judged by.
TEST_F(OperatorTest, MetricsShowWhatEachCacheHolds) {
  std::string tenant = unique("cache");
  std::string ns = tenantAndProject(tenant, "web");
  create("apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: shop, namespace: " + ns +
         "}\nspec:\n  type: Raw\n  rawManifests: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: shop}\n"
         "    data: {k: v}\n");
  ASSERT_TRUE(waitCondition(kApiVersion, "App", ns, "shop", "Ready", "True"));
  auto sample = [](const std::string& text, const std::string& series) -> double {
    auto at = text.find(series + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 1));
  };
  std::string text = metrics_->serialize();
  const std::string app = R"({resource="paas.kubeop.io/v1alpha1/App"})";
  const std::string cm = R"({resource="v1/ConfigMap"})";
  EXPECT_GE(sample(text, "kubeop_informer_cache_objects" + app), 1) << text;
  EXPECT_GT(sample(text, "kubeop_informer_cache_bytes" + app), 100);
  EXPECT_GE(sample(text, "kubeop_informer_cache_objects" + cm), 2) << "the App's ConfigMap and its revisions";
  EXPECT_GT(sample(text, "kubeop_informer_cache_bytes" + cm), 0);
}

// Per-tenant fairness: a tenant with 400 queued Apps does not starve one with 3. The Apps exist
// before the operator starts, all queued at once, the big tenant's first (key order).
TEST(OperatorFairnessTest, ASmallTenantIsServedWhileABigOneIsQueued) {
  auto sb = Sandbox::start();
  ASSERT_TRUE(sb);
  kube::ClientConfig cc;
  cc.qps = 0;
  auto client = sb->client(cc);
  ASSERT_TRUE(installCrds(*client).isOk());
  for (const char* t : {"big", "small"}) {
    Object ns = fromYaml(std::string("apiVersion: v1\nkind: Namespace\nmetadata: {name: kubeop-") + t +
                         "-p, labels: {app.kubeop.io/tenant: " + t + ", app.kubeop.io/project: p}}\n");
    ASSERT_TRUE(client->create(ns).ok());
  }
  auto app = [](const std::string& ns, const std::string& name) {
    return fromYaml("apiVersion: paas.kubeop.io/v1alpha1\nkind: App\nmetadata: {name: " + name + ", namespace: " + ns +
                    "}\nspec:\n  type: Raw\n  rawManifests: \"apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: " +
                    name + "}\\n\"\n");
  };
  const int kBig = 400;
  for (int i = 0; i < kBig; ++i) ASSERT_TRUE(client->create(app("kubeop-big-p", "a" + std::to_string(1000 + i))).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->create(app("kubeop-small-p", "z" + std::to_string(i))).ok());

  plugin::RegistryOptions ro;
  ro.searchPath = kubeop::test::pluginDir();
  OperatorOptions oo;
  oo.client = client;
  oo.plugins = plugin::Registry::load(ro);
  oo.maxConcurrentReconciles = 2;
  oo.installCrds = false;
  auto op = Operator::create(std::move(oo));
  ASSERT_TRUE(op.ok());
  ASSERT_TRUE((*op)->start().isOk());
  auto ready = [&](const std::string& ns) {
    size_t n = 0;
    auto l = client->list(kApiVersion, "App", ns);
    if (!l.ok()) return n;
    for (const auto& a : l->items) {
      const json::Value* r = a.status() ? json::find(*a.status(), "ready") : nullptr;
      n += r && r->IsBool() && r->GetBool();
    }
    return n;
  };
  ASSERT_TRUE(eventually([&] { return ready("kubeop-small-p") == 3; }, 60s));
  size_t bigDone = ready("kubeop-big-p");
  EXPECT_LT(bigDone, static_cast<size_t>(kBig) / 2)
      << "the small tenant waited behind the big one (" << bigDone << " of " << kBig << " big apps were done first)";
  EXPECT_TRUE(eventually([&] { return ready("kubeop-big-p") == static_cast<size_t>(kBig); }, 120s));
}

}  // namespace
}  // namespace kubeop::op
