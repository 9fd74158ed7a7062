// The Operator: informers, event handlers (predicates that map changes to keys), controllers.
#include "kubeop/operator/operator.h"

#include <map>
#include <mutex>
#include <thread>

#include "internal.h"
#include "kubeop/core/yaml.h"
#include "kubeop/log/log.h"
#include "kubeop/operator/events.h"

namespace kubeop::op {

using detail::Env;

namespace {

// The kinds kubeop writes into namespaces and watches for drift and rollout progress.
const std::vector<std::pair<std::string_view, std::string_view>> kOwnedKinds = {
    {"v1", "ConfigMap"},
    {"v1", "Secret"},
    {"v1", "Service"},
    {"v1", "ServiceAccount"},
    {"v1", "LimitRange"},
    {"v1", "ResourceQuota"},
    {"apps/v1", "Deployment"},
    {"apps/v1", "StatefulSet"},
    {"apps/v1", "DaemonSet"},
    {"batch/v1", "Job"},
    {"batch/v1", "CronJob"},
    {"networking.k8s.io/v1", "Ingress"},
    {"networking.k8s.io/v1", "NetworkPolicy"},
    {"policy/v1", "PodDisruptionBudget"},
};

std::string managedBySelector() { return std::string(kLabelManagedBy) + "=" + std::string(kManagedBy); }

// An update worth a pass: anything but a status-only change (our own status writes would
// otherwise each cause one more pass).
bool specOrMetaChanged(const Object& oldObj, const Object& newObj) {
  if (oldObj.generation() != newObj.generation()) return true;
  if (detail::isDeleting(oldObj) != detail::isDeleting(newObj)) return true;
  if (oldObj.annotations() != newObj.annotations() || oldObj.labels() != newObj.labels()) return true;
  const json::Value* a = oldObj.metadata() ? json::find(*oldObj.metadata(), "finalizers") : nullptr;
  const json::Value* b = newObj.metadata() ? json::find(*newObj.metadata(), "finalizers") : nullptr;
  if ((a == nullptr) != (b == nullptr) || (a && *a != *b)) return true;
  return false;
}

std::string tenantRefOf(const Object& project) {
  const json::Value* spec = project.spec();
  return spec ? std::string(json::getString(*spec, "tenantRef")) : std::string();
}

}  // namespace

struct Operator::Impl {
  Env env;
  std::shared_ptr<kube::Client> client;
  std::shared_ptr<const plugin::Registry> plugins;
  std::unique_ptr<kube::InformerFactory> factory;
  std::unique_ptr<EventRecorder> recorder;
  std::unique_ptr<reconcile::Controller> tenantCtl, projectCtl, appCtl;
  metrics::Registry::CollectorId cacheCollector = 0;
  std::atomic<bool> cachesReady{false};
  std::atomic<bool> leading{false};
  bool stopped = false;

  reconcile::Key tenantKey(std::string_view name) { return {std::string(name), "", std::string(name)}; }
  reconcile::Key projectKey(const Object& p) { return {tenantRefOf(p), "", std::string(p.name())}; }
  // An App's key carries its tenant (the work queue's fairness unit). The tenant of a namespace
  // is fixed the first time it is asked for, so that one App never gets two keys (which two
  // workers could run at once) when the namespace cache lags behind the App cache.
  std::mutex tenantMu;
  std::map<std::string, std::string, std::less<>> tenantByNamespace;
  std::string tenantFor(std::string_view ns) {
    {
      std::lock_guard lock(tenantMu);
      if (auto it = tenantByNamespace.find(ns); it != tenantByNamespace.end()) return it->second;
    }
    std::string tenant;
    if (auto n = env.namespaces->cache().get("", ns)) {
      tenant = n->label(kLabelTenant).value_or("");
    } else if (auto live = client->get("v1", "Namespace", "", ns); live.ok()) {
      tenant = live->label(kLabelTenant).value_or("");
    }
    if (tenant.empty()) tenant = std::string(ns);
    std::lock_guard lock(tenantMu);
    return tenantByNamespace.emplace(std::string(ns), tenant).first->second;
  }
  reconcile::Key appKey(std::string_view ns, std::string_view name) {
    return {tenantFor(ns), std::string(ns), std::string(name)};
  }

  void enqueueTenantAndProjects(std::string_view tenant) {
    if (tenant.empty()) return;
    tenantCtl->enqueue(tenantKey(tenant));
    for (const auto& p : env.projectsOf(tenant)) projectCtl->enqueue(projectKey(*p));
  }

  // An owned object changed: its controller (App or Project) has a look. A status-only change
  // matters to an App (the health of what it delivered), not to a Project (its guardrails have
  // no health: a ResourceQuota's usage moving with every pod is no news).
  void ownerChanged(const Object& o, bool statusOnly = false) {
    for (const auto& ref : o.ownerReferences()) {
      if (ref.apiVersion.rfind(std::string(kGroup) + "/", 0) != 0) continue;
      if (ref.kind == "App") {
        appCtl->enqueue(appKey(o.namespace_(), ref.name));
      } else if (ref.kind == "Project" && !statusOnly) {
        if (auto p = env.projects->cache().get("", ref.name)) projectCtl->enqueue(projectKey(*p));
      }
    }
  }

  // Cache keys are "namespace/name" for Apps.
  static std::pair<std::string_view, std::string_view> splitKey(std::string_view key) {
    auto slash = key.find('/');
    if (slash == std::string_view::npos) return {{}, key};
    return {key.substr(0, slash), key.substr(slash + 1)};
  }

  void enqueueAppsIn(std::string_view ns) {
    auto keys = env.apps->cache().keysByIndex(kube::kNamespaceIndex, ns);
    std::vector<std::string> all = keys.ok() ? std::move(keys).value() : env.apps->cache().keys();
    for (const auto& k : all) {
      auto [kns, name] = splitKey(k);
      if (kns == ns) appCtl->enqueue(appKey(kns, name));
    }
  }

  std::vector<reconcile::Key> keysOf(const kube::Informer& inf, int kind) {
    std::vector<reconcile::Key> out;
    if (kind == 2) {  // no need to read (parse) every App for its key
      for (const auto& k : inf.cache().keys()) {
        auto [ns, name] = splitKey(k);
        out.push_back(appKey(ns, name));
      }
      return out;
    }
    for (const auto& obj : inf.cache().list()) {
      if (kind == 0) out.push_back(tenantKey(obj->name()));
      if (kind == 1) out.push_back(projectKey(*obj));
      if (kind == 2) out.push_back(appKey(obj->namespace_(), obj->name()));
    }
    return out;
  }

  void wireHandlers() {
    env.tenants->addEventHandler(
        {[this](const Object& o) { enqueueTenantAndProjects(o.name()); },
         [this](const Object& a, const Object& b) {
           if (specOrMetaChanged(a, b)) enqueueTenantAndProjects(b.name());
         },
         [this](const Object& o) { enqueueTenantAndProjects(o.name()); }});
    // A project change moves its tenant's envelope: the tenant and its other projects look again.
    env.projects->addEventHandler({[this](const Object& o) { enqueueTenantAndProjects(tenantRefOf(o)); },
                                   [this](const Object& a, const Object& b) {
                                     if (!specOrMetaChanged(a, b)) return;
                                     if (a.spec() && b.spec() && *a.spec() == *b.spec()) {
                                       projectCtl->enqueue(projectKey(b));
                                       tenantCtl->enqueue(tenantKey(tenantRefOf(b)));
                                       return;
                                     }
                                     enqueueTenantAndProjects(tenantRefOf(a));
                                     enqueueTenantAndProjects(tenantRefOf(b));
                                   },
                                   [this](const Object& o) { enqueueTenantAndProjects(tenantRefOf(o)); }});
    env.apps->addEventHandler({[this](const Object& o) { appCtl->enqueue(appKey(o.namespace_(), o.name())); },
                               [this](const Object& a, const Object& b) {
                                 if (specOrMetaChanged(a, b)) appCtl->enqueue(appKey(b.namespace_(), b.name()));
                               },
                               [this](const Object& o) { appCtl->enqueue(appKey(o.namespace_(), o.name())); }});
    // A project's namespace changed or vanished: the project restores it. A namespace that
    // became a project's (its tenant/project labels changed): the Apps waiting in it go ahead.
    env.namespaces->addEventHandler({[this](const Object& o) {
                                       if (o.label(kLabelTenant)) enqueueAppsIn(o.name());
                                     },
                                     [this](const Object& a, const Object& b) {
                                       ownerChanged(b);
                                       if (a.label(kLabelTenant) != b.label(kLabelTenant) ||
                                           a.label(kLabelProject) != b.label(kLabelProject)) {
                                         enqueueAppsIn(b.name());
                                       }
                                     },
                                     [this](const Object& o) { ownerChanged(o); }});
    for (auto& [gvk, inf] : env.owned) {
      inf->addEventHandler({{},
                            [this](const Object& a, const Object& b) {
                              // The cached skeletons carry the digest of everything but status.
                              bool statusOnly = detail::contentDigest(a) == detail::contentDigest(b) &&
                                                detail::isDeleting(a) == detail::isDeleting(b);
                              ownerChanged(b, statusOnly);
                            },
                            [this](const Object& o) { ownerChanged(o); }});
    }
  }
};

Operator::Operator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Operator::~Operator() { stop(); }

StatusOr<std::unique_ptr<Operator>> Operator::create(OperatorOptions options) {
  if (!options.client) return invalidArgument("the operator needs a Kubernetes client");
  if (!options.plugins) return invalidArgument("the operator needs a plugin registry");
  if (options.maxConcurrentReconciles < 1) return invalidArgument("--max-concurrent-reconciles must be at least 1");
  auto impl = std::make_unique<Impl>();
  impl->client = options.client;
  impl->plugins = options.plugins;
  Env& env = impl->env;
  env.options = std::move(options);
  const OperatorOptions& o = env.options;
  env.client = impl->client.get();
  env.plugins = impl->plugins.get();
  if (!o.events) {
    impl->recorder = std::make_unique<EventRecorder>(impl->client, "kubeop-operator");
    EventRecorder* rec = impl->recorder.get();
    env.event = [rec](const Object& obj, bool warning, std::string_view reason, std::string_view message) {
      rec->event(obj, warning ? EventType::kWarning : EventType::kNormal, reason, message);
    };
  } else {
    env.event = o.events;
  }
  if (o.metrics) {
    auto counter = [&](std::string_view name, std::string_view help) {
      return &o.metrics->counter(name, help, {}).labels(std::vector<std::string>{});
    };
    env.metrics.driftCorrections =
        counter("kubeop_drift_corrections_total", "Owned objects changed outside kubeop and restored.");
    env.metrics.applied = counter("kubeop_objects_applied_total", "Objects server-side applied by the App controller.");
    env.metrics.pruned =
        counter("kubeop_objects_pruned_total", "Objects pruned because a new revision no longer renders them.");
  }

  kube::InformerOptions io;
  io.resyncPeriod = std::chrono::milliseconds(0);  // the controllers resync by key
  io.minWatchTimeout = o.minWatchTimeout;
  io.transform = detail::compactForCache;
  io.builtinIndexes = kube::kNoBuiltinIndexes;  // the Apps' namespace index is the only one read
  impl->factory = std::make_unique<kube::InformerFactory>(impl->client, io);
  env.tenants = impl->factory->informerFor(kApiVersion, "Tenant");
  env.projects = impl->factory->informerFor(kApiVersion, "Project");
  // Apps and owned objects are many and read by key: their caches keep compact JSON text (about
  // half the memory of parsed objects; each read parses a private copy in microseconds).
  kube::InformerOptions many = io;
  many.storage = kube::CacheStorage::kCompactJson;
  env.apps = impl->factory->informerWith(many, kApiVersion, "App");
  env.namespaces = impl->factory->informerFor("v1", "Namespace");
  for (const auto& [av, kind] : kOwnedKinds) {
    env.owned.emplace_back(std::string(av) + "/" + std::string(kind),
                           impl->factory->informerWith(many, av, kind, "", managedBySelector()));
  }
  if (Status s = env.apps->cache().addIndex(std::string(kube::kNamespaceIndex), kube::namespaceIndexFunc); !s.isOk()) {
    return s;
  }
  if (Status s = env.projects->cache().addIndex(std::string(detail::kTenantIndex),
                                                [](const Object& p) { return std::vector<std::string>{tenantRefOf(p)}; });
      !s.isOk()) {
    return s;
  }

  Impl* self = impl.get();
  auto opts = [&](int workers, int kind) {
    reconcile::ControllerOptions co;
    co.maxConcurrentReconciles = workers;
    co.metrics = o.metrics;
    co.resyncPeriod = std::chrono::duration_cast<reconcile::Clock::Duration>(o.resyncPeriod);
    std::shared_ptr<kube::Informer> inf = kind == 0 ? env.tenants : kind == 1 ? env.projects : env.apps;
    co.listKeys = [self, inf, kind] { return self->keysOf(*inf, kind); };
    return co;
  };
  int small = std::max(1, o.maxConcurrentReconciles / 2);
  impl->tenantCtl = std::make_unique<reconcile::Controller>(
      "tenant", [self](const auto& ctx, const auto& key) { return detail::reconcileTenant(self->env, ctx, key); },
      opts(small, 0));
  impl->projectCtl = std::make_unique<reconcile::Controller>(
      "project", [self](const auto& ctx, const auto& key) { return detail::reconcileProject(self->env, ctx, key); },
      opts(small, 1));
  impl->appCtl = std::make_unique<reconcile::Controller>(
      "app", [self](const auto& ctx, const auto& key) { return detail::reconcileApp(self->env, ctx, key); },
      opts(o.maxConcurrentReconciles, 2));
  impl->wireHandlers();
  if (o.metrics) {
    // What each cache holds, read at scrape time.
    auto& objects = o.metrics->gauge("kubeop_informer_cache_objects", "Objects in the operator's informer caches.",
                                     {"resource"});
    auto& bytes = o.metrics->gauge(
        "kubeop_informer_cache_bytes",
        "Heap bytes of the objects in the operator's informer caches (compact caches: compressed text).", {"resource"});
    impl->cacheCollector = o.metrics->addCollector([self, &objects, &bytes] {
      const Env& e = self->env;
      auto put = [&](const std::string& resource, const kube::Informer& inf) {
        objects.labels(std::vector<std::string>{resource}).set(static_cast<double>(inf.cache().size()));
        bytes.labels(std::vector<std::string>{resource}).set(static_cast<double>(inf.cache().memoryBytes()));
      };
      put(std::string(kApiVersion) + "/Tenant", *e.tenants);
      put(std::string(kApiVersion) + "/Project", *e.projects);
      put(std::string(kApiVersion) + "/App", *e.apps);
      put("v1/Namespace", *e.namespaces);
      for (const auto& [gvk, inf] : e.owned) put(gvk, *inf);
    });
  }
  return std::unique_ptr<Operator>(new Operator(std::move(impl)));
}

Status Operator::startCaches() {
  Impl& s = *impl_;
  if (s.env.options.installCrds) KUBEOP_RETURN_IF_ERROR(installCrds(*s.client));
  s.factory->start();
  if (!s.factory->waitForCacheSync(s.env.options.cacheSyncTimeout)) {
    std::string missing;
    auto note = [&](std::string_view what, const kube::Informer& inf) {
      if (!inf.hasSynced()) missing += (missing.empty() ? "" : ", ") + std::string(what);
    };
    note("Tenant", *s.env.tenants);
    note("Project", *s.env.projects);
    note("App", *s.env.apps);
    note("Namespace", *s.env.namespaces);
    for (const auto& [gvk, inf] : s.env.owned) note(gvk, *inf);
    return unavailable("the operator's caches did not sync in time (" + missing + ")");
  }
  s.cachesReady = true;
  log::info("operator caches synced", {{"informers", static_cast<unsigned long>(s.factory->size())}});
  return Status::ok();
}

Status Operator::startControllers() {
  Impl& s = *impl_;
  if (!s.cachesReady) return failedPrecondition("start the caches first");
  // The controllers' first keys: every object in the caches (the handlers' onAdd fired before
  // the controllers ran, so those keys are queued already; a resync adds the rest later).
  KUBEOP_RETURN_IF_ERROR(s.tenantCtl->start());
  KUBEOP_RETURN_IF_ERROR(s.projectCtl->start());
  KUBEOP_RETURN_IF_ERROR(s.appCtl->start());
  s.leading = true;
  log::info("operator controllers started", {});
  return Status::ok();
}

Status Operator::start() {
  KUBEOP_RETURN_IF_ERROR(startCaches());
  return startControllers();
}

void Operator::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->appCtl->stop();
  impl_->projectCtl->stop();
  impl_->tenantCtl->stop();
  impl_->factory->stop();
  if (impl_->recorder) impl_->recorder->stop();
  if (impl_->cacheCollector != 0) {
    impl_->env.options.metrics->removeCollector(impl_->cacheCollector);
    impl_->cacheCollector = 0;
  }
  impl_->leading = false;
}

bool Operator::ready() const { return impl_->cachesReady.load(); }
bool Operator::leading() const { return impl_->leading.load(); }
std::shared_ptr<kube::Client> Operator::client() const { return impl_->client; }

Operator::Stats Operator::stats() const {
  Stats st;
  st.tenantPasses = impl_->tenantCtl->passes();
  st.projectPasses = impl_->projectCtl->passes();
  st.appPasses = impl_->appCtl->passes();
  st.driftCorrections = impl_->env.driftCount.load();
  return st;
}

// ---------------------------------------------------------------------------------------------
// CRDs

Status installCrds(kube::Client& client, std::chrono::milliseconds timeout) {
  kube::ApplyOptions ao;
  ao.fieldManager = std::string(kFieldManager);
  ao.force = true;
  std::vector<Object> crds;
  for (std::string_view text : embeddedCrds()) {
    auto doc = yaml::parseOne(text);
    if (!doc.ok()) return internalError("an embedded CRD does not parse: " + doc.status().message());
    Object crd(std::move(doc).value());
    auto r = client.apply(crd, ao);
    if (!r.ok()) return Status(r.status().code(), "installing CRD " + std::string(crd.name()) + ": " + r.status().message());
    crds.push_back(std::move(crd));
  }
  // Established, and served (discovery answers for the kind).
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& crd : crds) {
    const json::Value* names = json::findPath(crd.root(), {"spec", "names"});
    std::string kind(names ? json::getString(*names, "kind") : "");
    const json::Value* versions = json::findPath(crd.root(), {"spec", "versions"});
    std::string version = versions && versions->IsArray() && !versions->Empty()
                              ? std::string(json::getString((*versions)[0], "name"))
                              : "v1alpha1";
    std::string group(json::getString(*crd.spec(), "group"));
    while (true) {
      auto info = client.resourceFor(group + "/" + version, kind);
      if (info.ok()) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        return unavailable("CRD " + std::string(crd.name()) + " is not served yet: " + info.status().message());
      }
      client.invalidateDiscovery();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return Status::ok();
}

}  // namespace kubeop::op
