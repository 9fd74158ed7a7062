// The sandbox Store: each test pins an apiserver rule (named in its comment) that kubectl or
// kubeop's operator relies on.
#include "kubeop/sandbox/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace kubeop::sandbox {
namespace {

using namespace std::chrono_literals;

const GroupResource kNamespaces{"", "namespaces"};
const GroupResource kConfigMaps{"", "configmaps"};
const GroupResource kPods{"", "pods"};
const GroupResource kServices{"", "services"};
const GroupResource kLeases{"coordination.k8s.io", "leases"};
const GroupResource kDeployments{"apps", "deployments"};
const GroupResource kReplicaSets{"apps", "replicasets"};
const GroupResource kClusterRoles{"rbac.authorization.k8s.io", "clusterroles"};
const GroupResource kWidgets{"example.com", "widgets"};
const GroupResource kCoreEvents{"", "events"};
const GroupResource kEvents{"events.k8s.io", "events"};

Object obj(std::string_view j) {
  auto o = Object::fromJson(j);
  EXPECT_TRUE(o.ok()) << j;
  return o.ok() ? std::move(o).value() : Object();
}
Object parse(const ObjectJson& j) { return j ? obj(*j) : Object(); }

// The value at `path` as a string (JSON text for non-strings, "<missing>" when absent).
std::string at(const Object& o, std::initializer_list<std::string_view> path) {
  const json::Value* v = json::findPath(o.root(), path);
  if (!v) return "<missing>";
  return v->IsString() ? std::string(json::view(*v)) : json::write(*v);
}

std::string configMap(std::string_view name, std::string_view labels = "{}", std::string_view data = "{}") {
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + std::string(name) + R"(","labels":)" +
         std::string(labels) + R"(},"data":)" + std::string(data) + "}";
}

std::string ownerRef(std::string_view apiVersion, std::string_view kind, const Object& owner, bool block = false) {
  return R"({"apiVersion":")" + std::string(apiVersion) + R"(","kind":")" + std::string(kind) + R"(","name":")" +
         std::string(owner.name()) + R"(","uid":")" + std::string(owner.uid()) + R"(","controller":true)" +
         (block ? R"(,"blockOwnerDeletion":true)" : "") + "}";
}

// xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lowercase hex.
bool isUuidV4(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return s[14] == '4' && std::string_view("89ab").find(s[19]) != std::string_view::npos;
}

std::string twoDigits(int i) { return (i < 10 ? "0" : "") + std::to_string(i); }

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() { reset(); }

  void reset(StoreOptions o = {}) {
    o.clock = [this] { return now_.load(); };
    if (!o.randomSeed) o.randomSeed = 7;
    store_.reset();
    store_ = std::make_unique<Store>(registry_, std::move(o));
  }

  ObjectJson create(const GroupResource& gr, std::string_view ns, std::string_view json) {
    auto r = store_->create(gr, ns, obj(json));
    EXPECT_TRUE(r.ok()) << r.status().toString() << " creating " << json;
    return r.ok() ? *r : nullptr;
  }
  Object createObj(const GroupResource& gr, std::string_view ns, std::string_view json) {
    return parse(create(gr, ns, json));
  }
  void makeNamespace(std::string_view name) {
    create(kNamespaces, "", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + std::string(name) + "\"}}");
  }
  std::optional<Object> get(const GroupResource& gr, std::string_view ns, std::string_view name) {
    auto r = store_->get(gr, ns, name);
    if (!r.ok()) return std::nullopt;
    return parse(*r);
  }
  Object mustGet(const GroupResource& gr, std::string_view ns, std::string_view name) {
    auto o = get(gr, ns, name);
    EXPECT_TRUE(o.has_value()) << gr.resource << " " << ns << "/" << name << " is missing";
    return o ? *o : Object();
  }
  StatusOr<UpdateResult> update(const GroupResource& gr, std::string_view ns, Object o, UpdateOptions opts = {}) {
    std::string name(o.name());
    return store_->update(gr, ns, name, std::move(o), opts);
  }
  std::unique_ptr<Watch> watch(const GroupResource& gr, std::string_view ns, WatchOptions o = {}) {
    auto w = store_->watch(gr, ns, o);
    EXPECT_TRUE(w.ok()) << w.status().toString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  // Pops `n` events, waiting up to `deadline` overall.
  static std::vector<WatchEvent> take(Watch& w, size_t n, std::chrono::milliseconds deadline = 5s) {
    std::vector<WatchEvent> out;
    auto end = std::chrono::steady_clock::now() + deadline;
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      if (auto ev = w.next(left)) out.push_back(std::move(*ev));
    }
    return out;
  }
  static std::string summary(const std::vector<WatchEvent>& evs) {
    std::string s;
    for (const auto& e : evs) {
      if (!s.empty()) s += ' ';
      s += watchEventTypeName(e.type);
      s += ':';
      Object o = parse(e.object);
      s += e.type == WatchEventType::kBookmark ? at(o, {"metadata", "resourceVersion"}) : std::string(o.name());
    }
    return s;
  }
  std::vector<std::string> names(const ListResult& l) {
    std::vector<std::string> out;
    for (const auto& i : l.items) out.emplace_back(parse(i).name());
    return out;
  }

  std::shared_ptr<ResourceRegistry> registry_ = std::make_shared<ResourceRegistry>();
  std::atomic<std::chrono::system_clock::time_point> now_{std::chrono::system_clock::from_time_t(1700000000)};
  std::unique_ptr<Store> store_;
};

// ---------------------------------------------------------------------------------------------
// Resource registry

// Discovery: every built-in kind is served at its group/version under its plural.
TEST(ResourceRegistryTest, ServesEveryBuiltInKindAtItsGroupVersion) {
  ResourceRegistry reg;
  struct Case {
    const char* group;
    const char* version;
    const char* plural;
    const char* kind;
    bool namespaced;
    bool status;
  };
  const Case cases[] = {
      {"", "v1", "namespaces", "Namespace", false, true},
      {"", "v1", "configmaps", "ConfigMap", true, false},
      {"", "v1", "secrets", "Secret", true, false},
      {"", "v1", "services", "Service", true, true},
      {"", "v1", "serviceaccounts", "ServiceAccount", true, false},
      {"", "v1", "pods", "Pod", true, true},
      {"", "v1", "events", "Event", true, false},
      {"events.k8s.io", "v1", "events", "Event", true, false},
      {"", "v1", "resourcequotas", "ResourceQuota", true, true},
      {"", "v1", "limitranges", "LimitRange", true, false},
      {"", "v1", "endpoints", "Endpoints", true, false},
      {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, true},
      {"apps", "v1", "deployments", "Deployment", true, true},
      {"apps", "v1", "replicasets", "ReplicaSet", true, true},
      {"apps", "v1", "statefulsets", "StatefulSet", true, true},
      {"apps", "v1", "daemonsets", "DaemonSet", true, true},
      {"batch", "v1", "jobs", "Job", true, true},
      {"batch", "v1", "cronjobs", "CronJob", true, true},
      {"networking.k8s.io", "v1", "ingresses", "Ingress", true, true},
      {"networking.k8s.io", "v1", "ingressclasses", "IngressClass", false, false},
      {"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, false},
      {"rbac.authorization.k8s.io", "v1", "roles", "Role", true, false},
      {"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, false},
      {"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, false},
      {"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, false},
      {"coordination.k8s.io", "v1", "leases", "Lease", true, false},
      {"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, true},
      {"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, true},
      {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, true},
      {"admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false,
       false},
      {"admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false,
       false},
  };
  for (const auto& c : cases) {
    auto t = reg.find(c.group, c.version, c.plural);
    ASSERT_TRUE(t) << c.group << "/" << c.version << "/" << c.plural;
    EXPECT_EQ(t->kind, c.kind);
    EXPECT_EQ(t->namespaced, c.namespaced) << c.plural;
    EXPECT_EQ(t->hasStatusSubresource, c.status) << c.plural;
    EXPECT_EQ(reg.findKind(c.group, c.version, c.kind), t);
    EXPECT_FALSE(t->verbs.empty());
  }
  EXPECT_EQ(reg.all().size(), std::size(cases));
  EXPECT_EQ(reg.find("apps", "v1", "deployments")->groupResource(), "deployments.apps");
  EXPECT_EQ(reg.find("", "v1", "configmaps")->groupResource(), "configmaps");
}

// kubectl resolves short names; "ev" names both Event kinds, the core one first.
TEST(ResourceRegistryTest, FindsKindsByShortNameCoreGroupFirst) {
  ResourceRegistry reg;
  auto ev = reg.findShortName("ev");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]->group, "");
  EXPECT_EQ(ev[1]->group, "events.k8s.io");
  EXPECT_EQ(reg.findShortName("deploy").at(0)->kind, "Deployment");
  EXPECT_EQ(reg.findShortName("crds").at(0)->kind, "CustomResourceDefinition");
  EXPECT_TRUE(reg.findShortName("nope").empty());
  auto pods = reg.find("", "v1", "pods");
  EXPECT_EQ(pods->categories, std::vector<std::string>{"all"});
}

// CRDs register served versions at run time and remove them when deleted.
TEST(ResourceRegistryTest, AddsAndRemovesCustomResourcesAtRunTime) {
  ResourceRegistry reg;
  uint64_t rev = reg.revision();
  ResourceType widget;
  widget.group = "example.com";
  widget.version = "v1";
  widget.kind = "Widget";
  widget.plural = "widgets";
  widget.shortNames = {"wd"};
  ASSERT_TRUE(reg.addCustom(widget).isOk());
  EXPECT_GT(reg.revision(), rev);
  auto t = reg.find("example.com", "v1", "widgets");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->custom);
  EXPECT_EQ(t->singular, "widget");
  EXPECT_EQ(reg.findShortName("wd").at(0), t);
  EXPECT_EQ(reg.addCustom(widget).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(reg.removeCustom("apps", "v1", "deployments").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(reg.removeCustom("example.com", "v1", "widgets").isOk());
  EXPECT_FALSE(reg.find("example.com", "v1", "widgets"));
  EXPECT_EQ(t->kind, "Widget");  // holders keep a valid type
  EXPECT_EQ(reg.removeCustom("example.com", "v1", "widgets").code(), StatusCode::kNotFound);
}

TEST(ResourceRegistryTest, CustomRegistrationIsSafeUnderConcurrency) {
  ResourceRegistry reg;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&reg, t] {
      for (int i = 0; i < 100; ++i) {
        ResourceType rt;
        rt.group = "g" + std::to_string(t) + ".example.com";
        rt.version = "v1";
        rt.kind = "K" + std::to_string(i);
        rt.plural = "k" + std::to_string(i);
        EXPECT_TRUE(reg.addCustom(rt).isOk());
        EXPECT_TRUE(reg.find(rt.group, "v1", rt.plural));
        EXPECT_TRUE(reg.findGroupResource("apps", "deployments"));
        if (i % 2) {
          EXPECT_TRUE(reg.removeCustom(rt.group, "v1", rt.plural).isOk());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(reg.all().size(), builtinResourceTypes().size() + 4 * 50);
}

// ---------------------------------------------------------------------------------------------
// create

// BeforeCreate/FillObjectMetaSystemFields: uid (v4), creationTimestamp from the clock, the
// store's revision as resourceVersion; generation only for kinds whose strategy sets it.
TEST_F(StoreTest, CreateFillsUidTimestampResourceVersionAndGeneration) {
  makeNamespace("default");
  Object cm = createObj(kConfigMaps, "default", configMap("a"));
  EXPECT_TRUE(isUuidV4(cm.uid())) << cm.uid();
  EXPECT_EQ(at(cm, {"metadata", "creationTimestamp"}), "2023-11-14T22:13:20Z");
  EXPECT_EQ(cm.resourceVersion(), "2");  // the namespace took 1
  EXPECT_EQ(at(cm, {"metadata", "generation"}), "<missing>");
  EXPECT_EQ(cm.namespace_(), "default");

  Object d = createObj(kDeployments, "default",
                       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","generation":9,"uid":"x"},
                           "spec":{"replicas":1}})");
  EXPECT_EQ(d.generation(), 1);
  EXPECT_NE(d.uid(), "x");
  EXPECT_EQ(d.resourceVersion(), "3");
  EXPECT_NE(d.uid(), cm.uid());
}

// etcd has one revision for every key: resourceVersions are unique and increasing across kinds.
TEST_F(StoreTest, ResourceVersionIsOneCounterAcrossAllResources) {
  makeNamespace("default");
  std::vector<uint64_t> rvs;
  rvs.push_back(std::stoull(std::string(createObj(kConfigMaps, "default", configMap("a")).resourceVersion())));
  rvs.push_back(std::stoull(std::string(
      createObj(kServices, "default", R"({"metadata":{"name":"s"},"spec":{}})").resourceVersion())));
  rvs.push_back(std::stoull(std::string(
      createObj(kClusterRoles, "", R"({"metadata":{"name":"system:controller:x"}})").resourceVersion())));
  EXPECT_EQ(rvs, (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(store_->resourceVersion(), 4u);
}

// NewAlreadyExists: `<resource>[.<group>] "<name>" already exists`, 409 AlreadyExists.
TEST_F(StoreTest, CreatingAnExistingNameIsAlreadyExistsInTheApiserverWording) {
  makeNamespace("default");
  create(kConfigMaps, "default", configMap("a"));
  ErrorDetails d;
  auto r = store_->create(kConfigMaps, "default", obj(configMap("a")), {}, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(r.status().message(), "configmaps \"a\" already exists");
  EXPECT_EQ(d.code, 409);
  EXPECT_EQ(d.reason, "AlreadyExists");
  EXPECT_EQ(d.kind, "configmaps");
  EXPECT_EQ(d.name, "a");

  create(kDeployments, "default", R"({"metadata":{"name":"d"},"spec":{}})");
  auto r2 = store_->create(kDeployments, "default", obj(R"({"metadata":{"name":"d"},"spec":{}})"), {}, &d);
  EXPECT_EQ(r2.status().message(), "deployments.apps \"d\" already exists");
  EXPECT_EQ(d.group, "apps");
  EXPECT_EQ(d.kind, "deployments");
}

struct NameCase {
  GroupResource gr;
  std::string name;
  bool valid;
  const char* message;  // the aggregated Invalid message when invalid (may be a prefix)
};

// Each kind's ValidateXName: DNS-1123 subdomain for most, label for Namespace, DNS-1035 for
// Service, path segment for RBAC.
TEST_F(StoreTest, CreateValidatesNamesPerKind) {
  makeNamespace("default");
  const NameCase cases[] = {
      {kConfigMaps, "ok.name-1", true, ""},
      {kConfigMaps, "Bad_Name", false,
       "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain "
       "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
       "character (e.g. 'example.com', regex used for validation is "
       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
      {kNamespaces, "a.b", false, "Namespace \"a.b\" is invalid: metadata.name: Invalid value: \"a.b\": must not contain dots"},
      {kServices, "1abc", false,
       "Service \"1abc\" is invalid: metadata.name: Invalid value: \"1abc\": a DNS-1035 label must consist of lower "
       "case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric "
       "character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"},
      {kClusterRoles, "system:controller:job", true, ""},
      {kClusterRoles, "a/b", false,
       "ClusterRole.rbac.authorization.k8s.io \"a/b\" is invalid: metadata.name: Invalid value: \"a/b\": may not "
       "contain '/'"},
      {kDeployments, std::string(254, 'a'), false, "Deployment.apps \""},
  };
  for (const auto& c : cases) {
    ErrorDetails d;
    std::string body = R"({"metadata":{"name":")" + c.name + R"("},"spec":{}})";
    auto r = store_->create(c.gr, "default", obj(body), {}, &d);
    EXPECT_EQ(r.ok(), c.valid) << c.name << ": " << r.status().toString();
    if (c.valid) continue;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind(c.message, 0), 0u) << r.status().message();
    EXPECT_EQ(d.code, 422);
    EXPECT_EQ(d.reason, "Invalid");
    ASSERT_FALSE(d.causes.empty());
    EXPECT_EQ(d.causes[0].type, "FieldValueInvalid");
    EXPECT_EQ(d.causes[0].field, "metadata.name");
  }
  ErrorDetails d;
  auto noName = store_->create(kConfigMaps, "default", obj(R"({"metadata":{}})"), {}, &d);
  EXPECT_EQ(noName.status().message(),
            "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required");
  EXPECT_EQ(d.causes.at(0).type, "FieldValueRequired");
}

// names.SimpleNameGenerator: generateName + 5 characters from a vowel-free alphabet.
TEST_F(StoreTest, GenerateNameAppendsFiveRandomCharacters) {
  makeNamespace("default");
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    Object o = createObj(kConfigMaps, "default", R"({"metadata":{"generateName":"web-"}})");
    std::string name(o.name());
    ASSERT_EQ(name.size(), 9u) << name;
    EXPECT_EQ(name.substr(0, 4), "web-");
    EXPECT_EQ(name.find_first_not_of("bcdfghjklmnpqrstvwxz2456789", 4), std::string::npos) << name;
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), 20u);
  ErrorDetails d;
  auto bad = store_->create(kConfigMaps, "default", obj(R"({"metadata":{"generateName":"Web-"}})"), {}, &d);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(d.causes.at(0).field, "metadata.generateName");
}

// NamespaceLifecycle admission: no content in a namespace that does not exist.
TEST_F(StoreTest, CreateInAMissingNamespaceIsNotFound) {
  ErrorDetails d;
  auto r = store_->create(kConfigMaps, "nope", obj(configMap("a")), {}, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "namespaces \"nope\" not found");
  EXPECT_EQ(d.code, 404);
  EXPECT_EQ(d.kind, "namespaces");
}

// NamespaceLifecycle admission: a Terminating namespace refuses new content (403 with a
// NamespaceTerminating cause).
TEST_F(StoreTest, CreateInATerminatingNamespaceIsForbidden) {
  makeNamespace("t");
  create(kConfigMaps, "t", R"({"metadata":{"name":"held","finalizers":["example.com/hold"]}})");
  auto del = store_->remove(kNamespaces, "", "t");
  ASSERT_TRUE(del.ok());
  EXPECT_FALSE(del->deleted);
  ErrorDetails d;
  auto r = store_->create(kConfigMaps, "t", obj(configMap("x")), {}, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(),
            "configmaps \"x\" is forbidden: unable to create new content in namespace t because it is being terminated");
  EXPECT_EQ(d.code, 403);
  EXPECT_EQ(d.reason, "Forbidden");
  ASSERT_EQ(d.causes.size(), 1u);
  EXPECT_EQ(d.causes[0].type, "NamespaceTerminating");
  EXPECT_EQ(d.causes[0].message, "namespace t is being terminated");
  EXPECT_EQ(d.causes[0].field, "metadata.namespace");
}

// EnsureObjectNamespaceMatchesRequestNamespace.
TEST_F(StoreTest, CreateRefusesAnObjectNamespaceThatContradictsTheRequest) {
  makeNamespace("a");
  makeNamespace("b");
  ErrorDetails d;
  auto r = store_->create(kConfigMaps, "a", obj(R"({"metadata":{"name":"x","namespace":"b"}})"), {}, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the namespace of the provided object does not match the namespace sent on the request");
  EXPECT_EQ(d.code, 400);
  EXPECT_EQ(d.reason, "BadRequest");
  // Cluster-scoped kinds drop a namespace.
  Object cr = createObj(kClusterRoles, "", R"({"metadata":{"name":"r","namespace":"a"}})");
  EXPECT_EQ(cr.namespace_(), "");
}

// etcd's request limit: objects over 1.5 MiB are refused (413) without taking a resourceVersion.
TEST_F(StoreTest, CreateRefusesObjectsOverTheSizeLimit) {
  makeNamespace("default");
  uint64_t rv = store_->resourceVersion();
  std::string big(1536 * 1024, 'x');
  ErrorDetails d;
  auto r = store_->create(kConfigMaps, "default", obj(configMap("big", "{}", R"({"k":")" + big + "\"}")), {}, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPayloadTooLarge);
  EXPECT_EQ(d.code, 413);
  EXPECT_EQ(d.reason, "RequestEntityTooLarge");
  EXPECT_EQ(store_->resourceVersion(), rv);
  EXPECT_TRUE(store_->create(kConfigMaps, "default", obj(configMap("small", "{}", R"({"k":"x"})"))).ok());
}

// The storage layer: "resourceVersion should not be set on objects to be created".
TEST_F(StoreTest, CreateRefusesAResourceVersion) {
  makeNamespace("default");
  ErrorDetails d;
  auto r = store_->create(kConfigMaps, "default", obj(R"({"metadata":{"name":"a","resourceVersion":"5"}})"), {}, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "resourceVersion should not be set on objects to be created");
  EXPECT_EQ(d.code, 500);
}

// PrepareForCreate: "create cannot set status"; Pods start Pending; Namespaces start Active
// with the kubernetes finalizer and the kubernetes.io/metadata.name label.
TEST_F(StoreTest, CreateResetsStatusPerKind) {
  makeNamespace("default");
  Object ns = mustGet(kNamespaces, "", "default");
  EXPECT_EQ(at(ns, {"status"}), R"({"phase":"Active"})");
  EXPECT_EQ(at(ns, {"spec", "finalizers"}), R"(["kubernetes"])");
  EXPECT_EQ(ns.label("kubernetes.io/metadata.name"), "default");
  Object d = createObj(kDeployments, "default", R"({"metadata":{"name":"d"},"spec":{},"status":{"replicas":3}})");
  EXPECT_EQ(at(d, {"status"}), "{}");
  Object p = createObj(kPods, "default", R"({"metadata":{"name":"p"},"spec":{},"status":{"phase":"Running"}})");
  EXPECT_EQ(at(p, {"status", "phase"}), "Pending");
  Object cm = createObj(kConfigMaps, "default", R"({"metadata":{"name":"c"},"status":{"x":1}})");
  EXPECT_EQ(at(cm, {"status", "x"}), "1");  // no status subresource: nothing to reset
}

// ValidateObjectMeta: labels, annotations, owner references and finalizers.
TEST_F(StoreTest, CreateValidatesLabelsAnnotationsOwnerReferencesAndFinalizers) {
  makeNamespace("default");
  const std::pair<const char*, const char*> cases[] = {
      {R"({"metadata":{"name":"a","labels":{"bad key":"v"}}})", "metadata.labels"},
      {R"({"metadata":{"name":"a","labels":{"k":"-v"}}})", "metadata.labels"},
      {R"({"metadata":{"name":"a","annotations":{"a/b/c":"v"}}})", "metadata.annotations"},
      {R"({"metadata":{"name":"a","ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":"p"}]}})",
       "metadata.ownerReferences.uid"},
      {R"({"metadata":{"name":"a","finalizers":["orphan","foregroundDeletion"]}})", "metadata.finalizers"},
      {R"({"metadata":{"name":"a","finalizers":["bad/finalizer/name"]}})", "metadata.finalizers"},
  };
  for (const auto& [body, field] : cases) {
    ErrorDetails d;
    auto r = store_->create(kConfigMaps, "default", obj(body), {}, &d);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(d.reason, "Invalid");
    ASSERT_FALSE(d.causes.empty());
    EXPECT_EQ(d.causes[0].field, field) << body;
  }
  ErrorDetails d;
  auto both = store_->create(kConfigMaps, "default",
                             obj(R"({"metadata":{"name":"a","finalizers":["orphan","foregroundDeletion"]}})"), {}, &d);
  EXPECT_EQ(both.status().message(),
            "ConfigMap \"a\" is invalid: metadata.finalizers: Invalid value: [\"orphan\",\"foregroundDeletion\"]: "
            "finalizer orphan and foregroundDeletion cannot be both set");
  std::string huge(300 * 1024, 'v');
  auto tooLong = store_->create(kConfigMaps, "default",
                                obj(R"({"metadata":{"name":"a","annotations":{"k":")" + huge + "\"}}}"), {}, &d);
  EXPECT_EQ(tooLong.status().message(),
            "ConfigMap \"a\" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes");
}

// dryRun=All: the answer of a real create, nothing stored, no resourceVersion consumed.
TEST_F(StoreTest, DryRunCreateStoresNothing) {
  makeNamespace("default");
  uint64_t rv = store_->resourceVersion();
  WriteOptions dry;
  dry.dryRun = true;
  auto r = store_->create(kConfigMaps, "default", obj(configMap("a")), dry);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(parse(*r).name(), "a");
  EXPECT_FALSE(parse(*r).uid().empty());
  EXPECT_EQ(store_->resourceVersion(), rv);
  EXPECT_FALSE(get(kConfigMaps, "default", "a"));
}

// ---------------------------------------------------------------------------------------------
// get and list

// NewNotFound: `<resource>[.<group>] "<name>" not found`.
TEST_F(StoreTest, GetOfAMissingObjectIsNotFound) {
  ErrorDetails d;
  auto r = store_->get(kConfigMaps, "default", "x", &d);
  EXPECT_EQ(r.status().message(), "configmaps \"x\" not found");
  EXPECT_EQ(d.code, 404);
  auto r2 = store_->get(kDeployments, "default", "x", &d);
  EXPECT_EQ(r2.status().message(), "deployments.apps \"x\" not found");
  EXPECT_EQ(d.group, "apps");
  auto r3 = store_->get({"nope.example.com", "things"}, "", "x", &d);
  EXPECT_EQ(r3.status().message(), "the server could not find the requested resource");
}

// List: namespace scope, label and field selectors; items in etcd key order.
TEST_F(StoreTest, ListFiltersByNamespaceLabelsAndFields) {
  makeNamespace("a");
  makeNamespace("b");
  create(kConfigMaps, "a", configMap("x", R"({"app":"web"})"));
  create(kConfigMaps, "a", configMap("y", R"({"app":"db"})"));
  create(kConfigMaps, "b", configMap("x", R"({"app":"web"})"));
  auto all = store_->list(kConfigMaps, "", {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(names(*all), (std::vector<std::string>{"x", "y", "x"}));
  EXPECT_EQ(all->resourceVersion, std::to_string(store_->resourceVersion()));
  EXPECT_EQ(names(*store_->list(kConfigMaps, "a", {})), (std::vector<std::string>{"x", "y"}));
  ListOptions byLabel;
  byLabel.labelSelector = *LabelSelector::parse("app=web");
  EXPECT_EQ(store_->list(kConfigMaps, "", byLabel)->items.size(), 2u);
  ListOptions byField;
  byField.fieldSelector = *FieldSelector::parse("metadata.namespace=b");
  EXPECT_EQ(store_->list(kConfigMaps, "", byField)->items.size(), 1u);
  byField.fieldSelector = *FieldSelector::parse("metadata.name!=x");
  EXPECT_EQ(names(*store_->list(kConfigMaps, "", byField)), (std::vector<std::string>{"y"}));
  EXPECT_EQ(names(*store_->list(kNamespaces, "", {})), (std::vector<std::string>{"a", "b"}));
}

// The field label conversion rejects labels the kind does not index (400 BadRequest).
TEST_F(StoreTest, ListRefusesUnsupportedFieldLabels) {
  ListOptions o;
  o.fieldSelector = *FieldSelector::parse("spec.foo=bar");
  ErrorDetails d;
  auto r = store_->list(kConfigMaps, "", o, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "field label not supported: spec.foo");
  EXPECT_EQ(d.code, 400);
  EXPECT_EQ(d.reason, "BadRequest");
}

// Pods are selectable by spec.nodeName / status.phase (kubelets and kubectl use both).
TEST_F(StoreTest, ListSelectsPodsByTheirIndexedFields) {
  makeNamespace("default");
  create(kPods, "default", R"({"metadata":{"name":"a"},"spec":{"nodeName":"n1"}})");
  create(kPods, "default", R"({"metadata":{"name":"b"},"spec":{}})");
  ListOptions o;
  o.fieldSelector = *FieldSelector::parse("spec.nodeName=n1");
  EXPECT_EQ(names(*store_->list(kPods, "default", o)), (std::vector<std::string>{"a"}));
  o.fieldSelector = *FieldSelector::parse("spec.nodeName=");
  EXPECT_EQ(names(*store_->list(kPods, "default", o)), (std::vector<std::string>{"b"}));
  o.fieldSelector = *FieldSelector::parse("status.phase=Pending");
  EXPECT_EQ(store_->list(kPods, "default", o)->items.size(), 2u);
}

// limit/continue: pages in key order, the list resourceVersion repeated on every page,
// remainingItemCount when unfiltered.
TEST_F(StoreTest, ListPagesWithLimitAndContinue) {
  makeNamespace("default");
  for (const char* n : {"e", "a", "c", "b", "d"}) create(kConfigMaps, "default", configMap(n));
  ListOptions o;
  o.limit = 2;
  auto p1 = store_->list(kConfigMaps, "default", o);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(names(*p1), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p1->remainingItemCount, 3);
  ASSERT_FALSE(p1->continueToken.empty());
  o.continueToken = p1->continueToken;
  auto p2 = store_->list(kConfigMaps, "default", o);
  EXPECT_EQ(names(*p2), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(p2->resourceVersion, p1->resourceVersion);
  EXPECT_EQ(p2->remainingItemCount, 1);
  o.continueToken = p2->continueToken;
  auto p3 = store_->list(kConfigMaps, "default", o);
  EXPECT_EQ(names(*p3), (std::vector<std::string>{"e"}));
  EXPECT_TRUE(p3->continueToken.empty());
  EXPECT_FALSE(p3->remainingItemCount.has_value());
  // With a selector there is no remainingItemCount.
  ListOptions sel;
  sel.limit = 1;
  sel.labelSelector = *LabelSelector::parse("!missing");
  auto s1 = store_->list(kConfigMaps, "default", sel);
  EXPECT_FALSE(s1->remainingItemCount.has_value());
  EXPECT_FALSE(s1->continueToken.empty());
  EXPECT_NE(ListResult(*p1).toJson(*registry_->find("", "v1", "configmaps")).find("\"kind\":\"ConfigMapList\""),
            std::string::npos);
}

// A continue token lists the state at the first page's resourceVersion (etcd reads at that
// revision): writes between pages do not show, even while they are happening.
TEST_F(StoreTest, ContinueTokensListTheFirstPagesSnapshotDespiteConcurrentWrites) {
  makeNamespace("default");
  for (int i = 0; i < 30; ++i) {
    create(kConfigMaps, "default", configMap("c" + twoDigits(i), "{}", R"({"v":"0"})"));
  }
  ListOptions o;
  o.limit = 4;
  auto first = store_->list(kConfigMaps, "default", o);
  auto full = store_->list(kConfigMaps, "default", {});  // same instant: the snapshot to expect
  ASSERT_EQ(first->resourceVersion, full->resourceVersion);

  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; !done && i < 2000; ++i) {
      std::string n = "c" + twoDigits(i % 30);
      Object cm = obj(configMap(n, "{}", R"({"v":")" + std::to_string(i) + "\"}"));
      store_->update(kConfigMaps, "default", n, std::move(cm)).status().ignoreError();
      if (i % 7 == 0) store_->remove(kConfigMaps, "default", n).status().ignoreError();
      if (i % 5 == 0) store_->create(kConfigMaps, "default", obj(configMap("c" + std::to_string(i) + "x"))).status().ignoreError();
    }
  });
  std::vector<std::string> paged;
  for (const auto& i : first->items) paged.push_back(*i);
  std::string token = first->continueToken;
  while (!token.empty()) {
    // Let the writer get some writes in between the pages (poll, with a deadline).
    uint64_t seen = store_->resourceVersion();
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (store_->resourceVersion() < seen + 5 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    o.continueToken = token;
    auto page = store_->list(kConfigMaps, "default", o);
    ASSERT_TRUE(page.ok()) << page.status().toString();
    EXPECT_EQ(page->resourceVersion, first->resourceVersion);
    for (const auto& i : page->items) paged.push_back(*i);
    token = page->continueToken;
  }
  done = true;
  writer.join();
  std::vector<std::string> expected;
  for (const auto& i : full->items) expected.push_back(*i);
  EXPECT_EQ(paged, expected);
  EXPECT_GT(store_->resourceVersion(), std::stoull(first->resourceVersion));
}

// A continue token older than the history is 410 Expired with the apiserver's message and a
// token that continues (inconsistently) at the latest resourceVersion.
TEST_F(StoreTest, AnExpiredContinueTokenIsGoneWithAFreshToken) {
  StoreOptions so;
  so.historyWindow = 3;
  reset(so);
  makeNamespace("default");
  for (const char* n : {"a", "b", "c", "d"}) create(kConfigMaps, "default", configMap(n));
  ListOptions o;
  o.limit = 2;
  auto p1 = store_->list(kConfigMaps, "default", o);
  for (int i = 0; i < 4; ++i) create(kConfigMaps, "default", configMap("z" + std::to_string(i)));
  o.continueToken = p1->continueToken;
  ErrorDetails d;
  auto expired = store_->list(kConfigMaps, "default", o, &d);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(d.code, 410);
  EXPECT_EQ(d.reason, "Expired");
  EXPECT_EQ(expired.status().message(),
            "The provided continue parameter is too old to display a consistent list result. You can start a new list "
            "without the continue parameter, or use the continue token in this response to retrieve the remainder of "
            "the results. Continuing with the provided token results in an inconsistent list - objects that were "
            "created, modified, or deleted between the time the first chunk was returned and now may show up in the "
            "list.");
  ASSERT_FALSE(d.continueToken.empty());
  EXPECT_NE(statusObjectJson(expired.status(), d).find("\"continue\":"), std::string::npos);
  o.continueToken = d.continueToken;
  o.limit = 100;
  auto rest = store_->list(kConfigMaps, "default", o);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(names(*rest), (std::vector<std::string>{"c", "d", "z0", "z1", "z2", "z3"}));
  EXPECT_EQ(rest->resourceVersion, std::to_string(store_->resourceVersion()));
}

TEST_F(StoreTest, MalformedContinueTokensAreBadRequests) {
  ListOptions o;
  o.continueToken = "not base64!";
  ErrorDetails d;
  auto r = store_->list(kConfigMaps, "", o, &d);
  EXPECT_EQ(d.code, 400);
  EXPECT_EQ(r.status().message().rfind("invalid continue token: continue key is not valid", 0), 0u);
  o.continueToken = "eyJ2IjoibWV0YS5rOHMuaW8vdjAiLCJydiI6Mywic3RhcnQiOiJhIn0=";  // {"v":"meta.k8s.io/v0",…}
  r = store_->list(kConfigMaps, "", o, &d);
  EXPECT_EQ(r.status().message(),
            "invalid continue token: continue key is not valid: server does not recognize this encoded version "
            "\"meta.k8s.io/v0\"");
  o.resourceVersion = "3";
  r = store_->list(kConfigMaps, "", o, &d);
  EXPECT_EQ(r.status().message(), "specifying resource version is not allowed when using continue");
}

// resourceVersionMatch=Exact serves the past from the history; older than the history is
// 410 "too old resource version"; ahead of the store is 504 "Too large resource version".
TEST_F(StoreTest, ListAtAnExactResourceVersionServesThePast) {
  StoreOptions so;
  so.historyWindow = 4;
  reset(so);
  makeNamespace("default");                                                    // rv 1
  create(kConfigMaps, "default", configMap("a", "{}", R"({"v":"1"})"));        // rv 2
  Object a = mustGet(kConfigMaps, "default", "a");
  a.root()["data"]["v"].SetString("2", a.allocator());
  ASSERT_TRUE(update(kConfigMaps, "default", a).ok());                         // rv 3
  create(kConfigMaps, "default", configMap("b"));                              // rv 4
  ListOptions o;
  o.resourceVersion = "2";
  o.resourceVersionMatch = "Exact";
  auto past = store_->list(kConfigMaps, "default", o);
  ASSERT_TRUE(past.ok()) << past.status().toString();
  ASSERT_EQ(names(*past), (std::vector<std::string>{"a"}));
  EXPECT_EQ(at(parse(past->items[0]), {"data", "v"}), "1");
  EXPECT_EQ(past->resourceVersion, "2");
  ASSERT_TRUE(store_->remove(kConfigMaps, "default", "b").ok());  // rv 5
  ASSERT_TRUE(store_->remove(kConfigMaps, "default", "a").ok());  // rv 6: history now holds 3..6
  o.resourceVersion = "4";
  EXPECT_EQ(names(*store_->list(kConfigMaps, "default", o)), (std::vector<std::string>{"a", "b"}));
  o.resourceVersion = "1";
  ErrorDetails d;
  auto old = store_->list(kConfigMaps, "default", o, &d);
  EXPECT_EQ(old.status().message(), "too old resource version: 1 (2)");
  EXPECT_EQ(d.code, 410);
  o.resourceVersion = "99";
  auto ahead = store_->list(kConfigMaps, "default", o, &d);
  EXPECT_EQ(ahead.status().message(), "Too large resource version: 99, current: 6");
  EXPECT_EQ(d.code, 504);
  EXPECT_EQ(d.reason, "Timeout");
  EXPECT_EQ(d.causes.at(0).type, "ResourceVersionTooLarge");
  o.resourceVersion = "abc";
  auto bad = store_->list(kConfigMaps, "default", o, &d);
  EXPECT_EQ(d.code, 400);
}

// ---------------------------------------------------------------------------------------------
// update

// GuaranteedUpdate's resourceVersion precondition: a stale write is 409 Conflict with the
// OptimisticLockErrorMsg.
TEST_F(StoreTest, UpdateWithAStaleResourceVersionIsAConflict) {
  makeNamespace("default");
  Object v1 = createObj(kConfigMaps, "default", configMap("a"));
  Object v2 = v1;
  v2.setLabel("x", "1");
  ASSERT_TRUE(update(kConfigMaps, "default", v2).ok());
  v1.setLabel("x", "2");
  ErrorDetails d;
  auto r = store_->update(kConfigMaps, "default", "a", v1, {}, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().message(),
            "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your "
            "changes to the latest version and try again");
  EXPECT_EQ(d.code, 409);
  EXPECT_EQ(d.reason, "Conflict");
}

// AllowUnconditionalUpdate: without a resourceVersion the update applies to the latest.
TEST_F(StoreTest, UpdateWithoutAResourceVersionIsUnconditional) {
  makeNamespace("default");
  create(kConfigMaps, "default", configMap("a"));
  auto r = store_->update(kConfigMaps, "default", "a", obj(configMap("a", R"({"k":"v"})")));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  Object o = parse(r->object);
  EXPECT_EQ(o.label("k"), "v");
  EXPECT_EQ(o.resourceVersion(), "3");
}

// BeforeUpdate/ValidateObjectMetaUpdate: uid and creationTimestamp are kept when omitted and
// immutable when given; the body's name must match the URL.
TEST_F(StoreTest, UpdateKeepsImmutableMetadata) {
  makeNamespace("default");
  Object created = createObj(kConfigMaps, "default", configMap("a"));
  now_ = now_.load() + 1h;
  auto r = store_->update(kConfigMaps, "default", "a",
                          obj(R"({"metadata":{"name":"a","creationTimestamp":"2000-01-01T00:00:00Z"}})"));
  ASSERT_TRUE(r.ok());
  Object o = parse(r->object);
  EXPECT_EQ(o.uid(), created.uid());
  EXPECT_EQ(at(o, {"metadata", "creationTimestamp"}), "2023-11-14T22:13:20Z");
  EXPECT_EQ(o.apiVersion(), "v1");
  EXPECT_EQ(o.kind(), "ConfigMap");

  ErrorDetails d;
  auto uid = store_->update(kConfigMaps, "default", "a", obj(R"({"metadata":{"name":"a","uid":"other"}})"), {}, &d);
  EXPECT_EQ(uid.status().message(),
            "ConfigMap \"a\" is invalid: metadata.uid: Invalid value: \"other\": field is immutable");
  EXPECT_EQ(d.causes.at(0).field, "metadata.uid");
  auto name = store_->update(kConfigMaps, "default", "a", obj(R"({"metadata":{"name":"b"}})"), {}, &d);
  EXPECT_EQ(name.status().message(), "the name of the object (b) does not match the name on the URL (a)");
  EXPECT_EQ(d.code, 400);
}

// The status subresource: the main resource ignores .status, /status changes only .status.
TEST_F(StoreTest, MainUpdatesIgnoreStatusAndStatusUpdatesChangeOnlyStatus) {
  makeNamespace("default");
  Object d = createObj(kDeployments, "default", R"({"metadata":{"name":"d"},"spec":{"replicas":1}})");
  Object main = d;
  main.root()["spec"]["replicas"].SetInt(2);
  json::Value st(rapidjson::kObjectType);
  st.AddMember("replicas", 5, main.allocator());
  json::setMember(main.root(), "status", st, main.allocator());
  auto r1 = update(kDeployments, "default", main);
  ASSERT_TRUE(r1.ok());
  Object after1 = parse(r1->object);
  EXPECT_EQ(at(after1, {"spec", "replicas"}), "2");
  EXPECT_EQ(at(after1, {"status"}), "{}");

  Object status = after1;
  status.root()["spec"]["replicas"].SetInt(7);
  status.setLabel("ignored", "yes");
  json::Value st2(rapidjson::kObjectType);
  st2.AddMember("replicas", 2, status.allocator());
  json::setMember(status.root(), "status", st2, status.allocator());
  UpdateOptions so;
  so.subresource = Subresource::kStatus;
  auto r2 = update(kDeployments, "default", status, so);
  ASSERT_TRUE(r2.ok());
  Object after2 = parse(r2->object);
  EXPECT_EQ(at(after2, {"status", "replicas"}), "2");
  EXPECT_EQ(at(after2, {"spec", "replicas"}), "2");
  EXPECT_FALSE(after2.label("ignored").has_value());
  EXPECT_EQ(after2.generation(), after1.generation());
}

struct GenerationCase {
  const char* what;
  GroupResource gr;
  std::function<void(Object&)> change;
  bool statusUpdate;
  int64_t delta;
};

// metadata.generation moves only when the desired state changes: each kind's
// PrepareForUpdate (Deployments also count annotations; labels, finalizers and status never do).
TEST_F(StoreTest, GenerationBumpsOnlyWhenTheDesiredStateChanges) {
  makeNamespace("default");
  auto setSpec = [](Object& o) { o.root()["spec"]["replicas"].SetInt(o.root()["spec"]["replicas"].GetInt() + 1); };
  auto setLabel = [](Object& o) { o.setLabel("l", std::to_string(std::rand())); };
  auto setAnnotation = [](Object& o) { o.setAnnotation("a", std::to_string(std::rand())); };
  auto addFinalizer = [](Object& o) {
    json::Value f(rapidjson::kArrayType);
    f.PushBack("example.com/f", o.allocator());
    json::setMember(o.mutableMetadata(), "finalizers", f, o.allocator());
  };
  auto setStatus = [](Object& o) {
    json::Value st(rapidjson::kObjectType);
    st.AddMember("observedGeneration", std::rand(), o.allocator());
    json::setMember(o.root(), "status", st, o.allocator());
  };
  const GenerationCase cases[] = {
      {"deployment spec", kDeployments, setSpec, false, 1},
      {"deployment labels", kDeployments, setLabel, false, 0},
      {"deployment annotations", kDeployments, setAnnotation, false, 1},
      {"deployment finalizers", kDeployments, addFinalizer, false, 0},
      {"deployment status", kDeployments, setStatus, true, 0},
      {"replicaset spec", kReplicaSets, setSpec, false, 1},
      {"replicaset annotations", kReplicaSets, setAnnotation, false, 0},
      {"replicaset status via main resource", kReplicaSets, setStatus, false, 0},
  };
  int i = 0;
  for (const auto& c : cases) {
    std::string name = "o" + std::to_string(i++);
    Object o = createObj(c.gr, "default", R"({"metadata":{"name":")" + name + R"("},"spec":{"replicas":1}})");
    ASSERT_EQ(o.generation(), 1);
    c.change(o);
    UpdateOptions uo;
    if (c.statusUpdate) uo.subresource = Subresource::kStatus;
    auto r = update(c.gr, "default", o, uo);
    ASSERT_TRUE(r.ok()) << c.what << ": " << r.status().toString();
    EXPECT_EQ(parse(r->object).generation(), 1 + c.delta) << c.what;
  }
}

// etcd3's GuaranteedUpdate short-circuits an unchanged object: no new resourceVersion, no event.
TEST_F(StoreTest, AnUpdateThatChangesNothingIsNotAWrite) {
  makeNamespace("default");
  Object o = createObj(kConfigMaps, "default", configMap("a", R"({"k":"v"})", R"({"x":"1"})"));
  uint64_t rv = store_->resourceVersion();
  WatchOptions wo;
  wo.resourceVersion = std::to_string(rv);
  auto w = watch(kConfigMaps, "default", wo);
  // Same content, members in another order.
  auto r = store_->update(kConfigMaps, "default", "a",
                          obj(R"({"data":{"x":"1"},"metadata":{"labels":{"k":"v"},"name":"a"},"kind":"ConfigMap","apiVersion":"v1"})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(parse(r->object).resourceVersion(), o.resourceVersion());
  EXPECT_EQ(store_->resourceVersion(), rv);
  EXPECT_FALSE(w->next(20ms).has_value());
}

// AllowCreateOnUpdate: PUT of a missing ConfigMap is NotFound; a Lease is created.
TEST_F(StoreTest, UpdateOfAMissingObjectCreatesOnlyWhereTheKindAllowsIt) {
  makeNamespace("default");
  ErrorDetails d;
  auto cm = store_->update(kConfigMaps, "default", "a", obj(configMap("a")), {}, &d);
  EXPECT_EQ(cm.status().message(), "configmaps \"a\" not found");
  auto lease = store_->update(kLeases, "default", "l", obj(R"({"metadata":{"name":"l"},"spec":{}})"));
  ASSERT_TRUE(lease.ok()) << lease.status().toString();
  EXPECT_TRUE(lease->created);
  UpdateOptions apply;
  apply.allowCreate = true;
  auto forced = store_->update(kConfigMaps, "default", "b", obj(configMap("b")), apply);
  ASSERT_TRUE(forced.ok());
  EXPECT_TRUE(forced->created);
}

// Optimistic concurrency under contention: 4 writers doing read-modify-write increments; every
// attempt either commits or conflicts, no increment is lost, and every commit is one event.
TEST_F(StoreTest, ConcurrentWritersConflictExactlyWhenTheyLoseTheRace) {
  makeNamespace("default");
  create(kConfigMaps, "default", configMap("counter", "{}", R"({"n":"0"})"));
  uint64_t startRv = store_->resourceVersion();
  WatchOptions wo;
  wo.resourceVersion = std::to_string(startRv);
  auto w = watch(kConfigMaps, "default", wo);
  constexpr int kThreads = 4, kIncrements = 50;
  std::atomic<int> attempts{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrements;) {
        auto cur = store_->get(kConfigMaps, "default", "counter");
        ASSERT_TRUE(cur.ok());
        Object o = parse(*cur);
        int n = std::stoi(at(o, {"data", "n"}));
        json::setString(o.root()["data"], "n", std::to_string(n + 1), o.allocator());
        ++attempts;
        auto r = store_->update(kConfigMaps, "default", "counter", std::move(o));
        if (r.ok()) {
          ++done;
        } else {
          EXPECT_EQ(r.status().code(), StatusCode::kAborted);
          ++conflicts;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  constexpr int kTotal = kThreads * kIncrements;
  EXPECT_EQ(at(mustGet(kConfigMaps, "default", "counter"), {"data", "n"}), std::to_string(kTotal));
  EXPECT_EQ(store_->resourceVersion(), startRv + kTotal);
  EXPECT_EQ(attempts.load(), kTotal + conflicts.load());
  auto events = take(*w, kTotal);
  ASSERT_EQ(events.size(), size_t(kTotal));
  for (int i = 0; i < kTotal; ++i) {
    EXPECT_EQ(events[i].type, WatchEventType::kModified);
    EXPECT_EQ(at(parse(events[i].object), {"data", "n"}), std::to_string(i + 1));
  }

  // Concurrent creates of the same names: exactly one winner each.
  std::atomic<int> created{0}, exists{0};
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = store_->create(kConfigMaps, "default", obj(configMap("n" + std::to_string(i))));
        if (r.ok()) {
          ++created;
        } else if (r.status().code() == StatusCode::kAlreadyExists) {
          ++exists;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), 25);
  EXPECT_EQ(exists.load(), 75);
}

// ---------------------------------------------------------------------------------------------
// delete

// Delete preconditions fail as storage InvalidObj errors, answered as 409 Conflict.
TEST_F(StoreTest, DeletePreconditionsConflictWhenUidOrResourceVersionDiffer) {
  makeNamespace("default");
  Object a = createObj(kConfigMaps, "default", configMap("a"));
  DeleteOptions o;
  o.preconditionUid = "not-the-uid";
  ErrorDetails d;
  auto r = store_->remove(kConfigMaps, "default", "a", o, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().message(),
            "Operation cannot be fulfilled on configmaps \"a\": StorageError: invalid object, Code: 4, Key: "
            "/registry/configmaps/default/a, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in "
            "precondition: not-the-uid, UID in object meta: " +
                std::string(a.uid()));
  EXPECT_EQ(d.code, 409);
  o.preconditionUid.reset();
  o.preconditionResourceVersion = "1";
  r = store_->remove(kConfigMaps, "default", "a", o, &d);
  EXPECT_NE(r.status().message().find("Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in "
                                      "object meta: 2"),
            std::string::npos);
  o.preconditionUid = std::string(a.uid());
  o.preconditionResourceVersion = "2";
  r = store_->remove(kConfigMaps, "default", "a", o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->deleted);
  EXPECT_FALSE(get(kConfigMaps, "default", "a"));
  EXPECT_EQ(store_->remove(kConfigMaps, "default", "a").status().message(), "configmaps \"a\" not found");
}

// Finalizers: delete sets deletionTimestamp (+ grace 0, generation+1) and keeps the object;
// no finalizer may be added; removing the last one deletes it.
TEST_F(StoreTest, FinalizersKeepADeletedObjectUntilTheyAreRemoved) {
  makeNamespace("default");
  Object d = createObj(kDeployments, "default",
                       R"({"metadata":{"name":"d","finalizers":["example.com/a","example.com/b"]},"spec":{}})");
  auto w = watch(kDeployments, "default", WatchOptions{{}, {}, d.resourceVersion().data(), false, {}});
  now_ = now_.load() + 10s;
  auto r = store_->remove(kDeployments, "default", "d");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->deleted);
  Object deleting = mustGet(kDeployments, "default", "d");
  EXPECT_EQ(at(deleting, {"metadata", "deletionTimestamp"}), "2023-11-14T22:13:30Z");
  EXPECT_EQ(at(deleting, {"metadata", "deletionGracePeriodSeconds"}), "0");
  EXPECT_EQ(deleting.generation(), 2);
  uint64_t rv = store_->resourceVersion();
  now_ = now_.load() + 10s;
  ASSERT_TRUE(store_->remove(kDeployments, "default", "d").ok());  // again: nothing changes
  EXPECT_EQ(store_->resourceVersion(), rv);
  EXPECT_EQ(at(mustGet(kDeployments, "default", "d"), {"metadata", "deletionTimestamp"}), "2023-11-14T22:13:30Z");

  Object add = deleting;
  json::Value f(rapidjson::kArrayType);
  for (const char* s : {"example.com/a", "example.com/b", "example.com/c"}) f.PushBack(json::str(s, add.allocator()), add.allocator());
  json::setMember(add.mutableMetadata(), "finalizers", f, add.allocator());
  auto added = update(kDeployments, "default", add);
  EXPECT_EQ(added.status().message(),
            "Deployment.apps \"d\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the "
            "object is being deleted, found new finalizers []string{\"example.com/c\"}");

  Object one = deleting;
  json::Value f1(rapidjson::kArrayType);
  f1.PushBack("example.com/b", one.allocator());
  json::setMember(one.mutableMetadata(), "finalizers", f1, one.allocator());
  auto r1 = update(kDeployments, "default", one);
  ASSERT_TRUE(r1.ok());
  EXPECT_FALSE(r1->deleted);
  Object none = parse(r1->object);
  json::removeMember(none.mutableMetadata(), "finalizers");
  auto r2 = update(kDeployments, "default", none);
  ASSERT_TRUE(r2.ok()) << r2.status().toString();
  EXPECT_TRUE(r2->deleted);
  EXPECT_FALSE(get(kDeployments, "default", "d"));
  EXPECT_EQ(summary(take(*w, 3)), "MODIFIED:d MODIFIED:d DELETED:d");
}

// Background (the default): the owner goes at once, the garbage collector then deletes
// dependents whose owners are all gone, recursively.
TEST_F(StoreTest, BackgroundPropagationDeletesDependentsAfterTheOwner) {
  makeNamespace("default");
  Object d = createObj(kDeployments, "default", R"({"metadata":{"name":"d"},"spec":{}})");
  Object rs = createObj(kReplicaSets, "default",
                        R"({"metadata":{"name":"rs","ownerReferences":[)" + ownerRef("apps/v1", "Deployment", d) + "]},\"spec\":{}}");
  for (const char* p : {"p1", "p2"}) {
    create(kPods, "default",
           R"({"metadata":{"name":")" + std::string(p) + R"(","ownerReferences":[)" + ownerRef("apps/v1", "ReplicaSet", rs) +
               "]},\"spec\":{}}");
  }
  // A pod with a second, living owner survives; only its dangling reference goes.
  Object other = createObj(kConfigMaps, "default", configMap("keeper"));
  create(kPods, "default",
         R"({"metadata":{"name":"p3","ownerReferences":[)" + ownerRef("apps/v1", "ReplicaSet", rs) + "," +
             ownerRef("v1", "ConfigMap", other).replace(ownerRef("v1", "ConfigMap", other).find("\"controller\":true"), 17,
                                                       "\"controller\":false") +
             "]},\"spec\":{}}");
  auto wd = watch(kDeployments, "default");
  auto wr = watch(kReplicaSets, "default");
  take(*wd, 1);
  take(*wr, 1);
  auto r = store_->remove(kDeployments, "default", "d");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->deleted);
  EXPECT_FALSE(get(kDeployments, "default", "d"));
  EXPECT_FALSE(get(kReplicaSets, "default", "rs"));
  EXPECT_FALSE(get(kPods, "default", "p1"));
  EXPECT_FALSE(get(kPods, "default", "p2"));
  Object p3 = mustGet(kPods, "default", "p3");
  ASSERT_EQ(p3.ownerReferences().size(), 1u);
  EXPECT_EQ(p3.ownerReferences()[0].kind, "ConfigMap");
  EXPECT_EQ(summary(take(*wd, 1)), "DELETED:d");
  EXPECT_EQ(summary(take(*wr, 1)), "DELETED:rs");
}

// Foreground: the owner gets deletionTimestamp + the foregroundDeletion finalizer and stays
// until its blockOwnerDeletion dependents are gone.
TEST_F(StoreTest, ForegroundPropagationKeepsTheOwnerUntilBlockingDependentsAreGone) {
  StoreOptions so;
  so.synchronousGarbageCollection = false;
  reset(so);
  makeNamespace("default");
  Object d = createObj(kDeployments, "default", R"({"metadata":{"name":"d"},"spec":{}})");
  create(kReplicaSets, "default",
         R"({"metadata":{"name":"rs","finalizers":["example.com/hold"],"ownerReferences":[)" +
             ownerRef("apps/v1", "Deployment", d, true) + "]},\"spec\":{}}");
  DeleteOptions fg;
  fg.propagation = PropagationPolicy::kForeground;
  auto r = store_->remove(kDeployments, "default", "d", fg);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->deleted);
  Object owner = mustGet(kDeployments, "default", "d");
  EXPECT_EQ(at(owner, {"metadata", "finalizers"}), R"(["foregroundDeletion"])");
  EXPECT_NE(at(owner, {"metadata", "deletionTimestamp"}), "<missing>");
  EXPECT_EQ(at(mustGet(kReplicaSets, "default", "rs"), {"metadata", "deletionTimestamp"}), "<missing>");

  store_->runGarbageCollection();
  Object rs = mustGet(kReplicaSets, "default", "rs");  // deleting, held by its own finalizer
  EXPECT_NE(at(rs, {"metadata", "deletionTimestamp"}), "<missing>");
  EXPECT_TRUE(get(kDeployments, "default", "d"));  // blocked by rs

  json::removeMember(rs.mutableMetadata(), "finalizers");
  auto u = update(kReplicaSets, "default", rs);
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->deleted);
  EXPECT_TRUE(get(kDeployments, "default", "d"));  // the collector has not run yet
  store_->runGarbageCollection();
  EXPECT_FALSE(get(kDeployments, "default", "d"));
}

// Orphan: the owner gets the orphan finalizer, the collector strips the owner references from
// the dependents, then the owner goes; the dependents stay.
TEST_F(StoreTest, OrphanPropagationKeepsDependentsWithoutTheirOwnerReference) {
  StoreOptions so;
  so.synchronousGarbageCollection = false;
  reset(so);
  makeNamespace("default");
  Object d = createObj(kDeployments, "default", R"({"metadata":{"name":"d"},"spec":{}})");
  create(kReplicaSets, "default",
         R"({"metadata":{"name":"rs","ownerReferences":[)" + ownerRef("apps/v1", "Deployment", d) + "]},\"spec\":{}}");
  DeleteOptions orphan;
  orphan.propagation = PropagationPolicy::kOrphan;
  auto r = store_->remove(kDeployments, "default", "d", orphan);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->deleted);
  EXPECT_EQ(at(mustGet(kDeployments, "default", "d"), {"metadata", "finalizers"}), R"(["orphan"])");
  store_->runGarbageCollection();
  EXPECT_FALSE(get(kDeployments, "default", "d"));
  Object rs = mustGet(kReplicaSets, "default", "rs");
  EXPECT_EQ(at(rs, {"metadata", "ownerReferences"}), "<missing>");
}

// The collector deletes dependents whose owner reference points at nothing.
TEST_F(StoreTest, DependentsOfAnOwnerThatDoesNotExistAreCollected) {
  makeNamespace("default");
  Object ghost = obj(R"({"metadata":{"name":"ghost","uid":"00000000-0000-4000-8000-000000000000"}})");
  create(kReplicaSets, "default",
         R"({"metadata":{"name":"rs","ownerReferences":[)" + ownerRef("apps/v1", "Deployment", ghost) + "]},\"spec\":{}}");
  EXPECT_FALSE(get(kReplicaSets, "default", "rs"));
}

// Namespace deletion: Terminating first, the content is deleted (respecting finalizers), the
// controller reports what remains in conditions, then finalizes and deletes the namespace.
TEST_F(StoreTest, DeletingANamespaceCascadesToItsContent) {
  makeNamespace("app");
  makeNamespace("other");
  create(kConfigMaps, "app", configMap("a"));
  create(kConfigMaps, "app", R"({"metadata":{"name":"held","finalizers":["example.com/hold"]}})");
  create(kDeployments, "app", R"({"metadata":{"name":"d"},"spec":{}})");
  create(kConfigMaps, "other", configMap("keep"));
  auto wns = watch(kNamespaces, "");
  take(*wns, 2);
  auto r = store_->remove(kNamespaces, "", "app");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->deleted);
  EXPECT_EQ(at(parse(r->object), {"status", "phase"}), "Terminating");
  EXPECT_FALSE(get(kConfigMaps, "app", "a"));
  EXPECT_FALSE(get(kDeployments, "app", "d"));
  Object held = mustGet(kConfigMaps, "app", "held");
  EXPECT_NE(at(held, {"metadata", "deletionTimestamp"}), "<missing>");
  Object ns = mustGet(kNamespaces, "", "app");
  EXPECT_EQ(at(ns, {"status", "phase"}), "Terminating");
  std::map<std::string, std::string> conditions;
  for (const auto& c : ns.status()->FindMember("conditions")->value.GetArray()) {
    conditions[std::string(json::getString(c, "type"))] =
        std::string(json::getString(c, "status")) + " " + std::string(json::getString(c, "message"));
  }
  EXPECT_EQ(conditions["NamespaceContentRemaining"], "True Some resources are remaining: configmaps. has 1 resource instances");
  EXPECT_EQ(conditions["NamespaceFinalizersRemaining"],
            "True Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances");
  EXPECT_EQ(conditions["NamespaceDeletionDiscoveryFailure"], "False All resources successfully discovered");
  EXPECT_TRUE(get(kConfigMaps, "other", "keep"));

  json::removeMember(held.mutableMetadata(), "finalizers");
  ASSERT_TRUE(update(kConfigMaps, "app", held).ok());
  EXPECT_FALSE(get(kNamespaces, "", "app"));
  auto events = take(*wns, 5);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().type, WatchEventType::kModified);
  EXPECT_EQ(events.back().type, WatchEventType::kDeleted);
  EXPECT_EQ(at(parse(events.back().object), {"spec", "finalizers"}), "<missing>");
}

// NamespaceLifecycle: default, kube-system and kube-public may not be deleted.
TEST_F(StoreTest, ImmortalNamespacesCannotBeDeleted) {
  makeNamespace("default");
  ErrorDetails d;
  auto r = store_->remove(kNamespaces, "", "default", {}, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "namespaces \"default\" is forbidden: this namespace may not be deleted");
  EXPECT_EQ(d.code, 403);
}

// Pod graceful deletion: scheduled pods get deletionTimestamp = now + grace and stay until a
// deletion with a shorter (0) grace; unscheduled pods go at once.
TEST_F(StoreTest, ScheduledPodsDeleteGracefully) {
  makeNamespace("default");
  create(kPods, "default", R"({"metadata":{"name":"run"},"spec":{"nodeName":"n1","terminationGracePeriodSeconds":20}})");
  create(kPods, "default", R"({"metadata":{"name":"pending"},"spec":{}})");
  auto r = store_->remove(kPods, "default", "run");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->deleted);
  Object p = mustGet(kPods, "default", "run");
  EXPECT_EQ(at(p, {"metadata", "deletionTimestamp"}), "2023-11-14T22:13:40Z");
  EXPECT_EQ(at(p, {"metadata", "deletionGracePeriodSeconds"}), "20");
  EXPECT_EQ(p.generation(), 2);
  DeleteOptions now;
  now.gracePeriodSeconds = 0;
  auto r2 = store_->remove(kPods, "default", "run", now);
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->deleted);
  EXPECT_FALSE(get(kPods, "default", "run"));
  auto r3 = store_->remove(kPods, "default", "pending");
  EXPECT_TRUE(r3->deleted);
}

TEST_F(StoreTest, DryRunDeleteKeepsTheObject) {
  makeNamespace("default");
  create(kConfigMaps, "default", configMap("a"));
  DeleteOptions dry;
  dry.dryRun = true;
  auto r = store_->remove(kConfigMaps, "default", "a", dry);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->deleted);
  EXPECT_TRUE(get(kConfigMaps, "default", "a"));
}

// ---------------------------------------------------------------------------------------------
// watch

// resourceVersion "" / "0": synthetic ADDED events for the current state, then live events.
TEST_F(StoreTest, AWatchFromZeroStartsWithTheCurrentState) {
  makeNamespace("default");
  create(kConfigMaps, "default", configMap("a"));
  create(kConfigMaps, "default", configMap("b"));
  WatchOptions o;
  o.resourceVersion = "0";
  auto w = watch(kConfigMaps, "default", o);
  Object c = createObj(kConfigMaps, "default", configMap("c"));
  ASSERT_TRUE(store_->remove(kConfigMaps, "default", "a").ok());
  auto evs = take(*w, 4);
  EXPECT_EQ(summary(evs), "ADDED:a ADDED:b ADDED:c DELETED:a");
  // DELETED carries the last state at the deletion's resourceVersion (etcd's delete revision).
  EXPECT_EQ(parse(evs[3].object).resourceVersion(), std::to_string(store_->resourceVersion()));
  EXPECT_EQ(evs[0].toJson().rfind("{\"type\":\"ADDED\",\"object\":{", 0), 0u);
  WatchOptions none;
  none.sendInitialEvents = false;
  auto quiet = watch(kConfigMaps, "default", none);
  EXPECT_FALSE(quiet->next(20ms).has_value());
}

// A resourceVersion inside the window replays what happened after it.
TEST_F(StoreTest, AWatchReplaysEventsAfterAResourceVersionInTheWindow) {
  makeNamespace("default");
  Object a = createObj(kConfigMaps, "default", configMap("a"));
  create(kConfigMaps, "default", configMap("b"));
  a.setLabel("x", "y");
  ASSERT_TRUE(update(kConfigMaps, "default", a).ok());
  WatchOptions o;
  o.resourceVersion = std::string(a.resourceVersion());
  auto w = watch(kConfigMaps, "", o);
  EXPECT_EQ(summary(take(*w, 2)), "ADDED:b MODIFIED:a");
  EXPECT_FALSE(w->next(20ms).has_value());
}

// The watch cache answers a resourceVersion older than its window with 410
// "too old resource version: <rv> (<oldest-1>)".
TEST_F(StoreTest, AWatchOlderThanTheWindowIsGone) {
  StoreOptions so;
  so.historyWindow = 3;
  reset(so);
  makeNamespace("default");
  for (int i = 0; i < 5; ++i) create(kConfigMaps, "default", configMap("c" + std::to_string(i)));
  WatchOptions o;
  o.resourceVersion = "1";
  ErrorDetails d;
  auto w = store_->watch(kConfigMaps, "default", o, &d);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(w.status().message(), "too old resource version: 1 (3)");
  EXPECT_EQ(d.code, 410);
  EXPECT_EQ(d.reason, "Expired");
  o.resourceVersion = "3";
  EXPECT_TRUE(store_->watch(kConfigMaps, "default", o).ok());
  o.resourceVersion = "100";
  auto ahead = store_->watch(kConfigMaps, "default", o, &d);
  EXPECT_EQ(ahead.status().message(), "Too large resource version: 100, current: 6");
}

// allowWatchBookmarks: BOOKMARK events carry only kind, apiVersion and the current
// resourceVersion, and only to watchers that asked.
TEST_F(StoreTest, BookmarksGoOnlyToWatchersThatAskForThem) {
  makeNamespace("default");
  WatchOptions with;
  with.allowBookmarks = true;
  with.sendInitialEvents = false;
  WatchOptions without;
  without.sendInitialEvents = false;
  auto wb = watch(kDeployments, "default", with);
  auto wn = watch(kDeployments, "default", without);
  create(kConfigMaps, "default", configMap("a"));
  store_->sendBookmarks();
  auto evs = take(*wb, 1);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, WatchEventType::kBookmark);
  EXPECT_EQ(*evs[0].object, R"({"kind":"Deployment","apiVersion":"apps/v1","metadata":{"resourceVersion":"2"}})");
  EXPECT_FALSE(wn->next(20ms).has_value());
}

// sendInitialEvents=true (watch-list): the state as ADDED, then a BOOKMARK annotated
// k8s.io/initial-events-end.
TEST_F(StoreTest, SendInitialEventsEndsWithAnAnnotatedBookmark) {
  makeNamespace("default");
  create(kConfigMaps, "default", configMap("a"));
  WatchOptions o;
  o.sendInitialEvents = true;
  o.allowBookmarks = true;
  auto w = watch(kConfigMaps, "default", o);
  auto evs = take(*w, 2);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].type, WatchEventType::kAdded);
  EXPECT_EQ(evs[1].type, WatchEventType::kBookmark);
  EXPECT_EQ(at(parse(evs[1].object), {"metadata", "annotations", "k8s.io/initial-events-end"}), "true");
}

// The watch cache filters on both the new and the previous state: objects entering the
// selection are ADDED, leaving it DELETED (previous content, the event's resourceVersion).
TEST_F(StoreTest, SelectorWatchesSeeObjectsEnterAndLeaveTheSelection) {
  makeNamespace("default");
  WatchOptions o;
  o.labelSelector = *LabelSelector::parse("app=web");
  o.sendInitialEvents = false;
  auto w = watch(kConfigMaps, "default", o);
  Object a = createObj(kConfigMaps, "default", configMap("a", R"({"app":"db"})"));
  a.setLabel("app", "web");
  a = parse(update(kConfigMaps, "default", a)->object);
  a.setAnnotation("note", "1");
  a = parse(update(kConfigMaps, "default", a)->object);
  a.setLabel("app", "db");
  a = parse(update(kConfigMaps, "default", a)->object);
  ASSERT_TRUE(store_->remove(kConfigMaps, "default", "a").ok());
  auto evs = take(*w, 3);
  EXPECT_EQ(summary(evs), "ADDED:a MODIFIED:a DELETED:a");
  Object gone = parse(evs[2].object);
  EXPECT_EQ(gone.label("app"), "web");
  EXPECT_EQ(gone.resourceVersion(), a.resourceVersion());
  EXPECT_FALSE(w->next(20ms).has_value());

  WatchOptions byName;
  byName.fieldSelector = *FieldSelector::parse("metadata.name=b");
  auto wn = watch(kConfigMaps, "", byName);
  create(kConfigMaps, "default", configMap("c"));
  create(kConfigMaps, "default", configMap("b"));
  EXPECT_EQ(summary(take(*wn, 1)), "ADDED:b");
  EXPECT_FALSE(wn->next(20ms).has_value());
}

TEST_F(StoreTest, NamespaceScopedWatchesSeeOnlyTheirNamespace) {
  makeNamespace("a");
  makeNamespace("b");
  auto w = watch(kConfigMaps, "a");
  create(kConfigMaps, "b", configMap("x"));
  create(kConfigMaps, "a", configMap("y"));
  EXPECT_EQ(summary(take(*w, 1)), "ADDED:y");
  EXPECT_FALSE(w->next(20ms).has_value());
}

// A watcher that does not read is cut off (ERROR, then the end) once its queue is full;
// writers never wait for it.
TEST_F(StoreTest, ASlowWatcherIsCutOffWithoutBlockingWriters) {
  StoreOptions so;
  so.watcherQueueLimit = 5;
  reset(so);
  makeNamespace("default");
  auto slow = watch(kConfigMaps, "default");
  auto fast = watch(kConfigMaps, "default");
  for (int i = 0; i < 20; ++i) {
    create(kConfigMaps, "default", configMap("c" + std::to_string(i)));
    take(*fast, 1);
  }
  auto evs = take(*slow, 6);
  ASSERT_EQ(evs.size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(evs[i].type, WatchEventType::kAdded);
  EXPECT_EQ(evs[5].type, WatchEventType::kError);
  Object st = parse(evs[5].object);
  EXPECT_EQ(at(st, {"kind"}), "Status");
  EXPECT_EQ(at(st, {"code"}), "429");
  EXPECT_FALSE(slow->next(20ms).has_value());
  EXPECT_TRUE(slow->ended());
  EXPECT_FALSE(fast->ended());
}

TEST_F(StoreTest, StoppedWatchesEndAndWatchesOutliveTheStore) {
  makeNamespace("default");
  auto w = watch(kConfigMaps, "default");
  w->stop();
  EXPECT_TRUE(w->ended());
  create(kConfigMaps, "default", configMap("a"));
  EXPECT_FALSE(w->next(10ms).has_value());
  auto w2 = watch(kConfigMaps, "default");
  EXPECT_EQ(summary(take(*w2, 1)), "ADDED:a");
  store_.reset();
  EXPECT_FALSE(w2->next(10ms).has_value());
  EXPECT_TRUE(w2->ended());
}

// ---------------------------------------------------------------------------------------------
// persistence, custom resources, status objects

// A restart from a snapshot keeps every object and resumes the resourceVersion counter.
TEST_F(StoreTest, ASnapshotRoundTripKeepsObjectsAndTheResourceVersionCounter) {
  auto dir = std::filesystem::temp_directory_path() / ("kubeop-store-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  makeNamespace("default");
  Object d = createObj(kDeployments, "default", R"({"metadata":{"name":"d"},"spec":{"replicas":2}})");
  create(kReplicaSets, "default",
         R"({"metadata":{"name":"rs","ownerReferences":[)" + ownerRef("apps/v1", "Deployment", d) + "]},\"spec\":{}}");
  create(kConfigMaps, "default", configMap("a", R"({"k":"v"})"));
  create(kClusterRoles, "", R"({"metadata":{"name":"system:x"}})");
  uint64_t rv = store_->resourceVersion();
  ASSERT_TRUE(store_->saveTo(dir.string()).isOk());
  auto before = store_->list(kConfigMaps, "", {});

  reset();
  EXPECT_EQ(store_->resourceVersion(), 0u);
  ASSERT_TRUE(store_->loadFrom(dir.string()).isOk());
  EXPECT_EQ(store_->resourceVersion(), rv);
  EXPECT_EQ(store_->objectCount(), 5u);
  auto after = store_->list(kConfigMaps, "", {});
  ASSERT_EQ(after->items.size(), before->items.size());
  EXPECT_EQ(*after->items[0], *before->items[0]);
  EXPECT_EQ(mustGet(kDeployments, "default", "d").uid(), d.uid());
  EXPECT_TRUE(get(kClusterRoles, "", "system:x"));
  EXPECT_EQ(createObj(kConfigMaps, "default", configMap("b")).resourceVersion(), std::to_string(rv + 1));
  // The owner index was rebuilt: deleting the Deployment still collects its ReplicaSet.
  ASSERT_TRUE(store_->remove(kDeployments, "default", "d").ok());
  EXPECT_FALSE(get(kReplicaSets, "default", "rs"));
  // History before the snapshot is gone: older watches are 410.
  WatchOptions o;
  o.resourceVersion = "1";
  EXPECT_EQ(store_->watch(kConfigMaps, "", o).status().code(), StatusCode::kOutOfRange);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(store_->loadFrom(dir.string()).code(), StatusCode::kNotFound);
}

// Custom resources: status is dropped on create when the CRD has a status subresource, and
// generation counts every non-metadata, non-status change.
TEST_F(StoreTest, CustomResourcesFollowTheCustomResourceStrategy) {
  ResourceType widget;
  widget.group = "example.com";
  widget.version = "v1";
  widget.kind = "Widget";
  widget.plural = "widgets";
  widget.hasStatusSubresource = true;
  ASSERT_TRUE(registry_->addCustom(widget).isOk());  // generation tracking is the default
  makeNamespace("default");
  Object w = createObj(kWidgets, "default",
                       R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1},
                           "status":{"ready":true},"extra":"a"})");
  EXPECT_EQ(at(w, {"status"}), "<missing>");
  EXPECT_EQ(w.generation(), 1);
  json::setString(w.root(), "extra", "b", w.allocator());
  w = parse(update(kWidgets, "default", w)->object);
  EXPECT_EQ(w.generation(), 2);
  json::Value st(rapidjson::kObjectType);
  st.AddMember("ready", true, w.allocator());
  json::setMember(w.root(), "status", st, w.allocator());
  UpdateOptions so;
  so.subresource = Subresource::kStatus;
  w = parse(update(kWidgets, "default", w, so)->object);
  EXPECT_EQ(at(w, {"status", "ready"}), "true");
  EXPECT_EQ(w.generation(), 2);

  // Without a status subresource, .status is desired state like any other field.
  ResourceType gadget = widget;
  gadget.kind = "Gadget";
  gadget.plural = "gadgets";
  gadget.hasStatusSubresource = false;
  ASSERT_TRUE(registry_->addCustom(gadget).isOk());
  Object g = createObj({"example.com", "gadgets"}, "default",
                       R"({"metadata":{"name":"g","labels":{"a":"b"}},"status":{"phase":"x"}})");
  EXPECT_EQ(at(g, {"status", "phase"}), "x");
  g.setLabel("a", "c");
  g = parse(update({"example.com", "gadgets"}, "default", g)->object);
  EXPECT_EQ(g.generation(), 1);
  json::setString(g.root()["status"], "phase", "y", g.allocator());
  g = parse(update({"example.com", "gadgets"}, "default", g)->object);
  EXPECT_EQ(g.generation(), 2);
  ErrorDetails d;
  UpdateOptions statusOnly;
  statusOnly.subresource = Subresource::kStatus;
  EXPECT_EQ(store_->update({"example.com", "gadgets"}, "default", "g", g, statusOnly, &d).status().code(),
            StatusCode::kNotFound);

  auto watcher = watch(kWidgets, "");
  take(*watcher, 1);
  store_->dropResource(kWidgets);
  EXPECT_EQ(summary(take(*watcher, 1)), "DELETED:w");
  EXPECT_FALSE(watcher->next(10ms).has_value());
  EXPECT_TRUE(watcher->ended());
  EXPECT_FALSE(get(kWidgets, "default", "w"));
}

// The metav1.Status the HTTP layer sends: reason, code, details and causes (as "reason").
TEST_F(StoreTest, StatusObjectsCarryReasonCodeDetailsAndCauses) {
  makeNamespace("default");
  ErrorDetails d;
  auto r = store_->create(kConfigMaps, "default", obj(R"({"metadata":{"name":"Bad"}})"), {}, &d);
  ASSERT_FALSE(r.ok());
  Object st = obj(statusObjectJson(r.status(), d));
  EXPECT_EQ(at(st, {"kind"}), "Status");
  EXPECT_EQ(at(st, {"status"}), "Failure");
  EXPECT_EQ(at(st, {"reason"}), "Invalid");
  EXPECT_EQ(at(st, {"code"}), "422");
  EXPECT_EQ(at(st, {"details", "kind"}), "ConfigMap");
  EXPECT_EQ(at(st, {"details", "name"}), "Bad");
  const json::Value* causes = json::findPath(st.root(), {"details", "causes"});
  ASSERT_TRUE(causes && causes->IsArray() && causes->Size() == 1);
  EXPECT_EQ(json::getString((*causes)[0], "reason"), "FieldValueInvalid");
  EXPECT_EQ(json::getString((*causes)[0], "field"), "metadata.name");
}

// ---------------------------------------------------------------------------------------------
// Events under two API groups: the apiserver serves core/v1 and events.k8s.io/v1 Event from one
// storage (pkg/registry/events reuses the core event registry), converting per
// pkg/apis/events/v1/conversion.go.

std::string coreEvent(std::string_view name, std::string_view about = "web", std::string_view message = "pulled") {
  return R"({"apiVersion":"v1","kind":"Event","metadata":{"name":")" + std::string(name) +
         R"("},"involvedObject":{"kind":"Pod","namespace":"default","name":")" + std::string(about) +
         R"(","uid":"u1","apiVersion":"v1"},"reason":"Pulled","message":")" + std::string(message) +
         R"(","source":{"component":"kubelet","host":"n1"},"firstTimestamp":"2026-01-01T00:00:00Z",)"
         R"("lastTimestamp":"2026-01-01T00:01:00Z","count":3,"type":"Normal","reportingComponent":"kubelet",)"
         R"("reportingInstance":"n1"})";
}

std::string eventsV1Event(std::string_view name, std::string_view about = "web", std::string_view note = "pulled") {
  return R"({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":")" + std::string(name) +
         R"("},"eventTime":"2026-01-01T00:00:00.000000Z","regarding":{"kind":"Pod","namespace":"default","name":")" +
         std::string(about) + R"(","uid":"u1"},"note":")" + std::string(note) +
         R"(","reason":"Pulled","action":"Pull","type":"Normal","reportingController":"kubelet",)"
         R"("reportingInstance":"n1","series":{"count":2,"lastObservedTime":"2026-01-01T00:02:00.000000Z"}})";
}

// Every renamed field moves to its counterpart; shared fields and metadata stay; converting back
// gives the object again. A counterpart's name in the source shape is an unknown field there
// and is dropped, as decoding into the typed struct does.
TEST(ResourceRegistryTest, EventsV1ConvertsFieldByFieldToCoreEventsAndBack) {
  ResourceRegistry reg;
  auto t = reg.find("events.k8s.io", "v1", "events");
  ASSERT_TRUE(t && t->storage);
  EXPECT_EQ(t->storage->group, "");
  EXPECT_EQ(t->storage->resource, "events");
  auto original = json::parse(
      R"({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e","namespace":"default"},)"
      R"("eventTime":"2026-01-01T00:00:00.000000Z","series":{"count":2,"lastObservedTime":"2026-01-01T00:02:00.000000Z"},)"
      R"("reportingController":"kubelet","reportingInstance":"n1","action":"Pull","reason":"Pulled",)"
      R"("regarding":{"kind":"Pod","name":"web"},"related":{"kind":"Node","name":"n1"},"note":"pulled","type":"Normal",)"
      R"("deprecatedSource":{"component":"kubelet"},"deprecatedFirstTimestamp":"2026-01-01T00:00:00Z",)"
      R"("deprecatedLastTimestamp":"2026-01-01T00:01:00Z","deprecatedCount":3})");
  ASSERT_TRUE(original.ok());
  json::Document d;
  d.CopyFrom(*original, d.GetAllocator());
  t->storage->toStorage(d, d.GetAllocator());
  Object core(std::move(d));
  EXPECT_EQ(at(core, {"apiVersion"}), "v1");
  EXPECT_EQ(at(core, {"kind"}), "Event");
  EXPECT_EQ(at(core, {"metadata", "name"}), "e");
  EXPECT_EQ(at(core, {"involvedObject", "name"}), "web");
  EXPECT_EQ(at(core, {"message"}), "pulled");
  EXPECT_EQ(at(core, {"reportingComponent"}), "kubelet");
  EXPECT_EQ(at(core, {"source", "component"}), "kubelet");
  EXPECT_EQ(at(core, {"firstTimestamp"}), "2026-01-01T00:00:00Z");
  EXPECT_EQ(at(core, {"lastTimestamp"}), "2026-01-01T00:01:00Z");
  EXPECT_EQ(at(core, {"count"}), "3");
  for (const char* same : {"eventTime", "series", "reportingInstance", "action", "reason", "related", "type"}) {
    EXPECT_EQ(json::write(*json::find(core.root(), same)), json::write(*json::find(*original, same))) << same;
  }
  for (const char* gone : {"regarding", "note", "reportingController", "deprecatedSource", "deprecatedFirstTimestamp",
                           "deprecatedLastTimestamp", "deprecatedCount"}) {
    EXPECT_EQ(json::find(core.root(), gone), nullptr) << gone;
  }
  t->storage->fromStorage(core.root(), core.allocator());
  EXPECT_TRUE(core.root() == *original) << core.toJson();

  auto strayField = json::parse(R"({"note":"kept","message":"unknown in events.k8s.io/v1"})");
  t->storage->toStorage(*strayField, strayField->GetAllocator());
  EXPECT_EQ(json::write(*strayField), R"({"message":"kept","apiVersion":"v1","kind":"Event"})");
}

TEST_F(StoreTest, AnEventCreatedThroughEitherGroupIsOneObjectSeenInEachGroupsShape) {
  makeNamespace("default");
  Object a = createObj(kCoreEvents, "default", coreEvent("a"));
  Object b = createObj(kEvents, "default", eventsV1Event("b", "db", "started"));
  EXPECT_EQ(at(b, {"apiVersion"}), "events.k8s.io/v1");  // the answer is in the request's shape
  EXPECT_EQ(at(b, {"regarding", "name"}), "db");

  Object aAsV1 = mustGet(kEvents, "default", "a");
  EXPECT_EQ(at(aAsV1, {"apiVersion"}), "events.k8s.io/v1");
  EXPECT_EQ(at(aAsV1, {"kind"}), "Event");
  EXPECT_EQ(at(aAsV1, {"regarding", "name"}), "web");
  EXPECT_EQ(at(aAsV1, {"note"}), "pulled");
  EXPECT_EQ(at(aAsV1, {"deprecatedSource", "host"}), "n1");
  EXPECT_EQ(at(aAsV1, {"deprecatedCount"}), "3");
  EXPECT_EQ(at(aAsV1, {"reportingController"}), "kubelet");
  EXPECT_EQ(at(aAsV1, {"involvedObject"}), "<missing>");
  EXPECT_EQ(aAsV1.uid(), a.uid());
  EXPECT_EQ(aAsV1.resourceVersion(), a.resourceVersion());

  Object bAsCore = mustGet(kCoreEvents, "default", "b");
  EXPECT_EQ(at(bAsCore, {"apiVersion"}), "v1");
  EXPECT_EQ(at(bAsCore, {"involvedObject", "name"}), "db");
  EXPECT_EQ(at(bAsCore, {"message"}), "started");
  EXPECT_EQ(at(bAsCore, {"series", "count"}), "2");
  EXPECT_EQ(at(bAsCore, {"regarding"}), "<missing>");

  for (const auto* gr : {&kCoreEvents, &kEvents}) {
    auto l = store_->list(*gr, "default", {});
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(names(*l), (std::vector<std::string>{"a", "b"}));
    for (const auto& item : l->items) EXPECT_EQ(at(parse(item), {"apiVersion"}), gr->group.empty() ? "v1" : "events.k8s.io/v1");
  }
  EXPECT_EQ(store_->objectCount(), 3u);  // the namespace and two events

  // One name space for both: the storage's wording, as the shared registry answers.
  ErrorDetails d;
  auto dup = store_->create(kEvents, "default", obj(eventsV1Event("a")), {}, &d);
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "events \"a\" already exists");

  // An update through one group is the other group's change too.
  Object edit = mustGet(kEvents, "default", "a");
  json::setString(edit.root(), "note", "pulled again", edit.allocator());
  auto u = update(kEvents, "default", edit);
  ASSERT_TRUE(u.ok()) << u.status().toString();
  EXPECT_EQ(at(parse(u->object), {"note"}), "pulled again");
  EXPECT_EQ(at(mustGet(kCoreEvents, "default", "a"), {"message"}), "pulled again");

  auto gone = store_->remove(kCoreEvents, "default", "b");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(get(kEvents, "default", "b"));
  auto r = store_->remove(kEvents, "default", "a");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(at(parse(r->object), {"note"}), "pulled again");
  EXPECT_FALSE(get(kCoreEvents, "default", "a"));
}

TEST_F(StoreTest, WatchesThroughEitherGroupSeeEveryChangeInTheirShape) {
  makeNamespace("default");
  WatchOptions o;
  o.sendInitialEvents = false;
  o.allowBookmarks = true;
  auto wv1 = watch(kEvents, "default", o);
  auto wcore = watch(kCoreEvents, "default", o);
  create(kCoreEvents, "default", coreEvent("a"));
  Object edit = mustGet(kEvents, "default", "a");
  json::setString(edit.root(), "note", "again", edit.allocator());
  ASSERT_TRUE(update(kEvents, "default", edit).ok());
  ASSERT_TRUE(store_->remove(kEvents, "default", "a").ok());
  store_->sendBookmarks();

  auto v1 = take(*wv1, 4);
  ASSERT_EQ(summary(v1), "ADDED:a MODIFIED:a DELETED:a BOOKMARK:4");
  for (size_t i = 0; i < 3; ++i) {
    Object ev = parse(v1[i].object);
    EXPECT_EQ(at(ev, {"apiVersion"}), "events.k8s.io/v1");
    EXPECT_EQ(at(ev, {"regarding", "name"}), "web");
  }
  EXPECT_EQ(at(parse(v1[1].object), {"note"}), "again");
  EXPECT_EQ(*v1[3].object, R"({"kind":"Event","apiVersion":"events.k8s.io/v1","metadata":{"resourceVersion":"4"}})");

  auto core = take(*wcore, 4);
  ASSERT_EQ(summary(core), "ADDED:a MODIFIED:a DELETED:a BOOKMARK:4");
  EXPECT_EQ(at(parse(core[1].object), {"apiVersion"}), "v1");
  EXPECT_EQ(at(parse(core[1].object), {"message"}), "again");
  EXPECT_EQ(*core[3].object, R"({"kind":"Event","apiVersion":"v1","metadata":{"resourceVersion":"4"}})");

  // A watch from a resourceVersion replays history in the watcher's shape as well.
  WatchOptions replay;
  replay.resourceVersion = "1";
  auto wr = watch(kEvents, "default", replay);
  auto evs = take(*wr, 3);
  ASSERT_EQ(summary(evs), "ADDED:a MODIFIED:a DELETED:a");
  EXPECT_EQ(at(parse(evs[0].object), {"note"}), "pulled");
}

// Field labels are the group's own (regarding.name, reportingController for events.k8s.io),
// read from the one stored object.
TEST_F(StoreTest, EventFieldSelectorsUseEachGroupsLabels) {
  makeNamespace("default");
  create(kCoreEvents, "default", coreEvent("a", "web"));
  create(kEvents, "default", eventsV1Event("b", "db"));
  ListOptions lo;
  lo.fieldSelector = *FieldSelector::parse("regarding.name=db,reportingController=kubelet");
  auto l = store_->list(kEvents, "default", lo);
  ASSERT_TRUE(l.ok()) << l.status().toString();
  EXPECT_EQ(names(*l), std::vector<std::string>{"b"});
  lo.fieldSelector = *FieldSelector::parse("involvedObject.name=web");
  auto core = store_->list(kCoreEvents, "default", lo);
  ASSERT_TRUE(core.ok());
  EXPECT_EQ(names(*core), std::vector<std::string>{"a"});
  auto wrongGroup = store_->list(kEvents, "default", lo);
  EXPECT_EQ(wrongGroup.status().message(), "field label not supported: involvedObject.name");

  WatchOptions wo;
  wo.sendInitialEvents = true;
  wo.fieldSelector = *FieldSelector::parse("regarding.name=web");
  auto w = watch(kEvents, "default", wo);
  auto evs = take(*w, 1);
  ASSERT_EQ(summary(evs), "ADDED:a");
  EXPECT_EQ(at(parse(evs[0].object), {"regarding", "name"}), "web");
}

// A snapshot written while events.k8s.io Events were stored apart loads them into the one
// Event storage.
TEST_F(StoreTest, ASnapshotWithEventsStoredApartLoadsThemIntoTheOneEventStorage) {
  auto dir = std::filesystem::temp_directory_path() / ("kubeop-store-events-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "snapshot.jsonl");
    out << R"({"kind":"KubeopSandboxSnapshot","version":1,"resourceVersion":"9"})" << "\n";
    out << R"({"resource":"namespaces","object":{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default","resourceVersion":"1"}}})"
        << "\n";
    out << R"({"resource":"events.events.k8s.io","object":{"apiVersion":"events.k8s.io/v1","kind":"Event",)"
           R"("metadata":{"name":"old","namespace":"default","resourceVersion":"8"},"note":"from before"}})"
        << "\n";
  }
  Status st = store_->loadFrom(dir.string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(st.isOk()) << st.toString();
  EXPECT_EQ(at(mustGet(kCoreEvents, "default", "old"), {"message"}), "from before");
  EXPECT_EQ(at(mustGet(kEvents, "default", "old"), {"note"}), "from before");
}

}  // namespace
}  // namespace kubeop::sandbox
