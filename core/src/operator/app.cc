// The App controller: render → guardrails → hooks → server-side apply → prune → health → status.
#include <algorithm>
#include <optional>
#include <set>
#include <variant>

#include "internal.h"
#include "kubeop/core/digest.h"
#include "kubeop/core/names.h"
#include "kubeop/operator/health.h"
#include "kubeop/operator/naming.h"
#include "kubeop/plugin_abi.h"

namespace kubeop::op::detail {
namespace {

using reconcile::ReconcileContext;
using reconcile::ReconcileResult;

// Ready=False reasons that only a change of the App can cure: no retry until its generation
// moves (no retry storm on a typo).
// Transient failures use other reasons (…Retrying) and are retried with backoff.
const std::set<std::string, std::less<>> kTerminalReasons = {"UnknownDeliveryType", "RenderFailed", "InvalidManifest",
                                                             "GuardrailFailed", "HookFailed", "RollbackFailed",
                                                             "ApplyFailed"};

struct InventoryItem {
  std::string apiVersion, kind, ns, name;
  auto operator<=>(const InventoryItem&) const = default;
};

std::vector<InventoryItem> readInventory(const Object& app) {
  std::vector<InventoryItem> out;
  const json::Value* st = app.status();
  const json::Value* inv = st ? json::find(*st, "inventory") : nullptr;
  if (!inv || !inv->IsArray()) return out;
  for (const auto& i : inv->GetArray()) {
    if (!i.IsObject()) continue;
    out.push_back({std::string(json::getString(i, "apiVersion")), std::string(json::getString(i, "kind")),
                   std::string(json::getString(i, "namespace")), std::string(json::getString(i, "name"))});
  }
  return out;
}

InventoryItem itemOf(const Object& o) {
  return {std::string(o.apiVersion()), std::string(o.kind()), std::string(o.namespace_()), std::string(o.name())};
}

// The App as seen by one pass: what it asks for and what it last reported.
struct AppView {
  const Object& app;
  std::string ns;
  std::string tenant;
  std::string project;
  std::string statusRevision;
  int64_t observedGeneration = 0;
  std::vector<Condition> conds;
  std::vector<InventoryItem> inventory;
};

// What this pass delivers.
struct Desired {
  std::vector<Object> rendered;  // the delivery plugin's objects (what history keeps)
  std::vector<Object> objects;   // after guardrails: what is applied
  std::string revision;
  json::Document provenance{rapidjson::kObjectType};
  std::string rolledBackTo;  // non-empty: re-delivering a kept revision
};

// A pass that ends with the App not Ready: the reason, message, whether it is Degraded, and what
// the controller should do next.
struct Failure {
  std::string reason;
  std::string message;
  bool degraded = true;
  ReconcileResult next;  // default: success (terminal; wait for a change)
};

Failure terminal(std::string reason, std::string message) { return Failure{std::move(reason), std::move(message), true, {}}; }

std::string specType(const Object& app) {
  const json::Value* spec = app.spec();
  return spec ? std::string(json::getString(*spec, "type")) : std::string();
}

std::string rollbackTarget(const Object& app) {
  const json::Value* spec = app.spec();
  std::string r = spec ? std::string(json::getString(*spec, "rollbackTo")) : std::string();
  if (r.empty()) r = app.annotation(kRollbackAnnotation).value_or("");
  return r;
}

// ---------------------------------------------------------------------------------------------
// History: status.history + the ConfigMap kubeop-revision-<app> holding what each revision
// rendered (so that a rollback re-delivers exactly that, whatever the source says now).

struct HistoryEntry {
  std::string revision, time, digest;
  json::Document provenance{rapidjson::kObjectType};
};

std::vector<HistoryEntry> readHistory(const Object& app) {
  std::vector<HistoryEntry> out;
  const json::Value* st = app.status();
  const json::Value* h = st ? json::find(*st, "history") : nullptr;
  if (!h || !h->IsArray()) return out;
  for (const auto& e : h->GetArray()) {
    if (!e.IsObject()) continue;
    HistoryEntry x;
    x.revision = json::getString(e, "revision");
    x.time = json::getString(e, "time");
    x.digest = json::getString(e, "digest");
    if (const json::Value* p = json::find(e, "provenance"); p && p->IsObject()) x.provenance.CopyFrom(*p, x.provenance.GetAllocator());
    out.push_back(std::move(x));
  }
  return out;
}

// The App as plugins see it: as the API has it, without what the cache added.
json::Value appForPlugins(const Object& app, json::Allocator& a) {
  json::Value v(app.root(), a);
  json::removeMember(v, kHistoryEntriesMember);
  return v;
}

// The App's history as the API has it now. The cache keeps Apps without their history (see
// compactForCache), so this reads the App from the API, unless the given copy carries it.
StatusOr<std::vector<HistoryEntry>> currentHistory(Env& env, const Object& app) {
  if (const json::Value* st = app.status(); st && json::find(*st, "history")) return readHistory(app);
  if (const json::Value* n = json::find(app.root(), kHistoryEntriesMember); !n || (n->IsInt64() && n->GetInt64() == 0)) {
    return std::vector<HistoryEntry>{};  // none kept (the cache counted them), or none at all
  }
  auto live = env.client->get(app.apiVersion(), app.kind(), app.namespace_(), app.name());
  if (!live.ok()) return live.status();
  return readHistory(*live);
}

json::Value historyJson(const std::vector<HistoryEntry>& h, json::Allocator& a) {
  json::Value arr(rapidjson::kArrayType);
  for (const auto& e : h) {
    json::Value o(rapidjson::kObjectType);
    o.AddMember("revision", json::str(e.revision, a), a);
    o.AddMember("time", json::str(e.time, a), a);
    o.AddMember("digest", json::str(e.digest, a), a);
    o.AddMember("provenance", json::Value(e.provenance, a), a);
    arr.PushBack(o, a);
  }
  return arr;
}

std::string renderedJson(const std::vector<Object>& rendered) {
  json::Document arr(rapidjson::kArrayType);
  for (const auto& o : rendered) arr.PushBack(json::Value(o.root(), arr.GetAllocator()), arr.GetAllocator());
  return json::write(arr);
}

// Keeps the manifests of the revisions in `history` (and only those) in the revision ConfigMap.
// The newest are kept first; older ones are left out once the ConfigMap would pass 900 KiB (a
// rollback to them then fails with a message saying so).
Status saveHistory(Env& env, const Object& app, const std::vector<HistoryEntry>& history,
                   const std::string& newRevision, const std::string& newManifests) {
  Object cm;
  cm.setApiVersion("v1");
  cm.setKind("ConfigMap");
  cm.setName(revisionConfigMapName(app.name()));
  cm.setNamespace(app.namespace_());
  cm.setLabel(kLabelApp, app.name());
  cm.setLabel(kLabelManagedBy, kManagedBy);
  cm.addOwnerReference(controllerRef(app));
  // The kept revisions' manifests (the cache drops ConfigMap data, so read them); the first
  // revision has none to keep.
  std::optional<Object> fetched;
  if (history.size() > 1) {
    auto g = env.client->get("v1", "ConfigMap", app.namespace_(), cm.name());
    if (g.ok()) {
      fetched = std::move(g).value();
    } else if (g.status().code() != StatusCode::kNotFound) {
      return g.status();
    }
  }
  const Object* old = fetched ? &*fetched : nullptr;
  const json::Value* oldData = old ? json::find(old->root(), "data") : nullptr;
  auto& a = cm.allocator();
  json::Value data(rapidjson::kObjectType);
  size_t total = 0;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    std::string text;
    if (it->revision == newRevision) {
      text = newManifests;
    } else if (oldData && oldData->IsObject()) {
      text = json::getString(*oldData, it->revision);
    }
    if (text.empty() || total + text.size() > 900 * 1024) continue;
    total += text.size();
    data.AddMember(json::str(it->revision, a), json::str(text, a), a);
  }
  json::setMember(cm.root(), "data", data, a);
  kube::ApplyOptions ao;
  ao.fieldManager = std::string(kFieldManager);
  ao.force = true;
  return env.client->apply(cm, ao).status();
}

// ---------------------------------------------------------------------------------------------
// Desired state

std::variant<Desired, Failure> renderApp(Env& env, const AppView& v) {
  Desired d;
  const Object& app = v.app;
  std::string target = rollbackTarget(app);
  if (!target.empty()) {
    auto kept = currentHistory(env, app);
    if (!kept.ok()) return Failure{"RollbackRetrying", kept.status().message(), false, ReconcileResult(kept.status())};
    const std::vector<HistoryEntry>& history = *kept;
    bool known = std::any_of(history.begin(), history.end(), [&](const HistoryEntry& e) { return e.revision == target; });
    std::string have;
    for (const auto& e : history) have += (have.empty() ? "" : ", ") + e.revision;
    if (!known) {
      return terminal("RollbackFailed", "revision " + target + " is not in the App's history (kept: " +
                                            (have.empty() ? "none" : have) + ")");
    }
    auto cm = env.client->get("v1", "ConfigMap", app.namespace_(), revisionConfigMapName(app.name()));
    std::string text;
    if (cm.ok()) {
      if (const json::Value* data = json::find(cm->root(), "data"); data && data->IsObject()) {
        text = json::getString(*data, target);
      }
    } else if (cm.status().code() != StatusCode::kNotFound) {
      return Failure{"RollbackRetrying", cm.status().message(), false, ReconcileResult(cm.status())};
    }
    if (text.empty()) {
      return terminal("RollbackFailed", "the manifests of revision " + target + " were not kept (ConfigMap " +
                                            revisionConfigMapName(app.name()) + ")");
    }
    auto doc = json::parse(text);
    if (!doc.ok() || !doc->IsArray()) return terminal("RollbackFailed", "the kept manifests of revision " + target + " are unreadable");
    for (const auto& o : doc->GetArray()) {
      auto obj = Object::fromValue(o);
      if (obj.ok()) d.rendered.push_back(std::move(obj).value());
    }
    d.revision = target;
    d.rolledBackTo = target;
    for (const auto& e : history) {
      if (e.revision == target) d.provenance.CopyFrom(e.provenance, d.provenance.GetAllocator());
    }
  } else {
    std::string type = specType(app);
    auto plugin = env.plugins->findDelivery(type);
    if (!plugin) {
      std::string types;
      for (const auto& t : env.plugins->deliveryTypes()) types += (types.empty() ? "" : ", ") + t;
      return terminal("UnknownDeliveryType", "spec.type \"" + type + "\" is not a registered delivery type (registered: " +
                                                 (types.empty() ? "none" : types) + ")");
    }
    json::Document req(rapidjson::kObjectType);
    auto& a = req.GetAllocator();
    req.AddMember("app", appForPlugins(app, a), a);
    json::Value ctx(rapidjson::kObjectType);
    ctx.AddMember("tenant", json::str(v.tenant, a), a);
    ctx.AddMember("project", json::str(v.project, a), a);
    ctx.AddMember("namespace", json::str(v.ns, a), a);
    req.AddMember("context", ctx, a);
    auto out = plugin->render(json::write(req));
    if (!out.ok()) {
      if (isRetryablePluginError(out.status())) {
        return Failure{"RenderRetrying", out.status().message(), false, ReconcileResult(out.status())};
      }
      return terminal("RenderFailed", out.status().message());
    }
    auto doc = json::parse(*out);
    if (!doc.ok()) return terminal("RenderFailed", "plugin " + plugin->info().name + ": " + doc.status().message());
    const json::Value* objs = json::find(*doc, "objects");
    if (!objs || !objs->IsArray()) return terminal("RenderFailed", "plugin " + plugin->info().name + " returned no objects list");
    for (const auto& o : objs->GetArray()) {
      auto obj = Object::fromValue(o);
      if (!obj.ok()) return terminal("RenderFailed", "plugin " + plugin->info().name + ": " + obj.status().message());
      d.rendered.push_back(std::move(obj).value());
    }
    d.revision = json::getString(*doc, "revision");
    if (d.revision.empty()) d.revision = digest::sha256Hex(renderedJson(d.rendered)).substr(0, 12);
    if (const json::Value* p = json::find(*doc, "provenance"); p && p->IsObject()) {
      d.provenance.CopyFrom(*p, d.provenance.GetAllocator());
    }
  }

  // Guardrails: mutate what was rendered, then add their own objects for the app.
  json::Document mreq(rapidjson::kObjectType);
  auto& ma = mreq.GetAllocator();
  mreq.AddMember("app", appForPlugins(app, ma), ma);
  json::Value arr(rapidjson::kArrayType);
  for (const auto& o : d.rendered) arr.PushBack(json::Value(o.root(), ma), ma);
  mreq.AddMember("objects", arr, ma);
  std::vector<Object> objects = d.rendered;
  for (const auto& g : env.plugins->withCapability(KUBEOP_CAP_GUARDRAIL)) {
    json::Value& cur = mreq["objects"];
    cur.SetArray();
    for (const auto& o : objects) cur.PushBack(json::Value(o.root(), ma), ma);
    auto out = g->mutate(json::write(mreq));
    if (!out.ok()) {
      if (isRetryablePluginError(out.status())) return Failure{"GuardrailRetrying", out.status().message(), false, ReconcileResult(out.status())};
      return terminal("InvalidManifest", out.status().message());
    }
    auto doc = json::parse(*out);
    const json::Value* objs = doc.ok() ? json::find(*doc, "objects") : nullptr;
    if (!objs || !objs->IsArray()) return terminal("GuardrailFailed", "plugin " + g->info().name + ": mutate returned no objects list");
    objects.clear();
    for (const auto& o : objs->GetArray()) {
      auto obj = Object::fromValue(o);
      if (obj.ok()) objects.push_back(std::move(obj).value());
    }
    json::Document scope(rapidjson::kObjectType);
    auto& sa = scope.GetAllocator();
    scope.AddMember("scope", "app", sa);
    scope.AddMember("object", appForPlugins(app, sa), sa);
    scope.AddMember("namespace", json::str(v.ns, sa), sa);
    auto extra = g->contribute(json::write(scope));
    if (!extra.ok()) {
      if (isRetryablePluginError(extra.status())) return Failure{"GuardrailRetrying", extra.status().message(), false, ReconcileResult(extra.status())};
      return terminal("InvalidManifest", extra.status().message());
    }
    auto edoc = json::parse(*extra);
    if (const json::Value* eo = edoc.ok() ? json::find(*edoc, "objects") : nullptr; eo && eo->IsArray()) {
      for (const auto& o : eo->GetArray()) {
        auto obj = Object::fromValue(o);
        if (obj.ok()) objects.push_back(std::move(obj).value());
      }
    }
  }

  // The tenancy fence: only namespaced objects, only in the App's namespace.
  std::set<InventoryItem> seen;
  for (auto& o : objects) {
    std::string where = describeRef(o.kind(), o.namespace_(), o.name());
    if (o.apiVersion().empty() || o.kind().empty() || o.name().empty()) {
      return terminal("InvalidManifest", "an object without apiVersion, kind or metadata.name: " + where);
    }
    auto info = env.client->resourceFor(o.apiVersion(), o.kind());
    if (!info.ok()) {
      if (info.status().code() == StatusCode::kNotFound) {
        // A CRD may still be on its way: retry with backoff, visibly.
        return Failure{"ApplyRetrying", where + ": " + info.status().message(), true,
                       ReconcileResult(unavailable(info.status().message()))};
      }
      return Failure{"ApplyRetrying", where + ": " + info.status().message(), false, ReconcileResult(info.status())};
    }
    if (!info->namespaced) {
      return terminal("InvalidManifest", where + " is cluster-scoped; an App delivers only namespaced objects, into its own namespace");
    }
    if (!o.namespace_().empty() && o.namespace_() != v.ns) {
      return terminal("InvalidManifest", where + ": namespace " + std::string(o.namespace_()) +
                                             " is not the App's namespace " + v.ns);
    }
    o.setNamespace(v.ns);
    if (!seen.insert(itemOf(o)).second) return terminal("InvalidManifest", where + " appears twice");
    o.setLabel(kLabelApp, app.name());
    if (!v.tenant.empty()) o.setLabel(kLabelTenant, v.tenant);
    if (!v.project.empty()) o.setLabel(kLabelProject, v.project);
    o.setLabel(kLabelManagedBy, kManagedBy);
    o.addOwnerReference(controllerRef(app));
  }
  sortForApply(objects);
  d.objects = std::move(objects);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Hooks: each phase is one Job, its hooks run in order (all but the last as init containers).

enum class HookState { kNone, kRunning, kSucceeded, kFailed };

struct HookResult {
  HookState state = HookState::kNone;
  std::string job;
  std::string message;
};

const json::Value* hooksOf(const Object& app, std::string_view phase) {
  const json::Value* h = app.spec() ? json::find(*app.spec(), "hooks") : nullptr;
  const json::Value* list = h && h->IsObject() ? json::find(*h, phase) : nullptr;
  return list && list->IsArray() && !list->Empty() ? list : nullptr;
}

StatusOr<HookResult> ensureHook(Env& env, const Object& app, std::string_view phase, const std::string& revision) {
  HookResult r;
  const json::Value* hooks = hooksOf(app, phase);
  if (!hooks) return r;
  r.job = hookJobName(phase, app.name(), revision);
  kube::ObjectPtr job = env.ownedObject("batch/v1", "Job", app.namespace_(), r.job);
  std::optional<Object> fetched;
  if (!job) {
    auto g = env.client->get("batch/v1", "Job", app.namespace_(), r.job);
    if (g.ok()) {
      fetched = std::move(g).value();
    } else if (g.status().code() != StatusCode::kNotFound) {
      return g.status();
    }
  }
  const Object* live = job ? job.get() : (fetched ? &*fetched : nullptr);
  if (!live) {
    Object j;
    j.setApiVersion("batch/v1");
    j.setKind("Job");
    j.setName(r.job);
    j.setNamespace(app.namespace_());
    j.setLabel(kLabelApp, app.name());
    j.setLabel("app.kubeop.io/revision", revision);
    j.setLabel("app.kubeop.io/phase", phase);
    j.setLabel(kLabelManagedBy, kManagedBy);
    j.addOwnerReference(controllerRef(app));
    auto& a = j.allocator();
    json::Value spec(rapidjson::kObjectType);
    spec.AddMember("backoffLimit", 0, a);
    json::Value tmpl(rapidjson::kObjectType);
    json::Value tmeta(rapidjson::kObjectType);
    json::Value labels(rapidjson::kObjectType);
    labels.AddMember(json::str(kLabelApp, a), json::str(app.name(), a), a);
    labels.AddMember("app.kubeop.io/phase", json::str(phase, a), a);
    tmeta.AddMember("labels", labels, a);
    tmpl.AddMember("metadata", tmeta, a);
    json::Value pspec(rapidjson::kObjectType);
    pspec.AddMember("restartPolicy", "Never", a);
    json::Value inits(rapidjson::kArrayType), containers(rapidjson::kArrayType);
    rapidjson::SizeType n = hooks->Size();
    for (rapidjson::SizeType i = 0; i < n; ++i) {
      const json::Value& h = (*hooks)[i];
      json::Value c(rapidjson::kObjectType);
      c.AddMember("name", json::str(n == 1 ? std::string("hook") : "hook-" + std::to_string(i), a), a);
      c.AddMember("image", json::str(json::getString(h, "image"), a), a);
      for (const char* f : {"command", "args"}) {
        if (const json::Value* x = json::find(h, f); x && x->IsArray()) c.AddMember(json::str(f, a), json::Value(*x, a), a);
      }
      (i + 1 < n ? inits : containers).PushBack(c, a);
    }
    if (!inits.Empty()) pspec.AddMember("initContainers", inits, a);
    pspec.AddMember("containers", containers, a);
    tmpl.AddMember("spec", pspec, a);
    spec.AddMember("template", tmpl, a);
    json::setMember(j.root(), "spec", spec, a);
    kube::CreateOptions co;
    co.fieldManager = std::string(kFieldManager);
    auto c = env.client->create(j, co);
    if (!c.ok() && c.status().code() != StatusCode::kAlreadyExists) return c.status();
    if (env.event) env.event(app, false, "HookStarted", std::string(phase) + " hook Job " + r.job + " started");
    r.state = HookState::kRunning;
    return r;
  }
  r.state = HookState::kRunning;
  const json::Value* st = live->status();
  const json::Value* conds = st ? json::find(*st, "conditions") : nullptr;
  if (conds && conds->IsArray()) {
    for (const auto& c : conds->GetArray()) {
      if (json::getString(c, "status") != "True") continue;
      std::string_view type = json::getString(c, "type");
      if (type == "Complete") r.state = HookState::kSucceeded;
      if (type == "Failed") {
        r.state = HookState::kFailed;
        r.message = std::string(phase) + " hook Job " + r.job + " failed";
        std::string_view msg = json::getString(c, "message");
        if (!msg.empty()) r.message += ": " + std::string(msg);
      }
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Status

struct Outcome {
  bool ready = false;
  std::string readyReason, readyMessage;
  bool progressing = false;
  std::string progressingReason, progressingMessage;
  bool degraded = false;
  std::string degradedReason, degradedMessage;
};

json::Document appStatus(const AppView& v, std::vector<Condition> conds, const Outcome& o, const std::string& revision,
                         const std::vector<InventoryItem>& inventory, const std::vector<HistoryEntry>* history) {
  const Object& app = v.app;
  auto mk = [&](std::string_view type, bool status, const std::string& reason, const std::string& message) {
    return Condition{std::string(type), status ? "True" : "False", reason, message, app.generation(), {}};
  };
  setCondition(conds, mk("Ready", o.ready, o.readyReason, o.readyMessage));
  setCondition(conds, mk("Progressing", o.progressing, o.progressingReason, o.progressingMessage));
  setCondition(conds, mk("Degraded", o.degraded, o.degradedReason, o.degradedMessage));
  json::Document st(rapidjson::kObjectType);
  auto& a = st.GetAllocator();
  st.AddMember("observedGeneration", json::Value(app.generation()), a);
  st.AddMember("ready", o.ready, a);
  if (!revision.empty()) st.AddMember("revision", json::str(revision, a), a);
  json::Value inv(rapidjson::kArrayType);
  for (const auto& i : inventory) {
    json::Value e(rapidjson::kObjectType);
    e.AddMember("apiVersion", json::str(i.apiVersion, a), a);
    e.AddMember("kind", json::str(i.kind, a), a);
    e.AddMember("namespace", json::str(i.ns, a), a);
    e.AddMember("name", json::str(i.name, a), a);
    inv.PushBack(e, a);
  }
  st.AddMember("inventory", inv, a);
  // History only when it changed (a merge patch leaves the API's copy alone otherwise), or when
  // the App at hand carries it (so that the status write does not remove it).
  if (history) {
    st.AddMember("history", historyJson(*history, a), a);
  } else if (const json::Value* cur = app.status(); cur && json::find(*cur, "history")) {
    st.AddMember("history", json::Value((*cur)["history"], a), a);
  }
  st.AddMember("conditions", conditionsJson(conds, a), a);
  return st;
}

ReconcileResult fail(Env& env, const ReconcileContext& ctx, const AppView& v, const Failure& f) {
  Outcome o;
  o.readyReason = f.reason;
  o.readyMessage = f.message;
  o.progressingReason = f.reason;
  o.progressingMessage = f.message;
  o.degraded = f.degraded;
  o.degradedReason = f.degraded ? f.reason : "AsExpected";
  o.degradedMessage = f.degraded ? f.message : "";
  const Condition* before = findCondition(v.conds, "Ready");
  if (!before || before->reason != f.reason || before->message != f.message) {
    // A waiting pass (a pre hook running, a transient error being retried) is news, not a warning.
    bool waiting = !f.degraded && f.next.error.isOk();
    if (waiting) {
      ctx.info("app waiting", log::Field("reason", f.reason), log::Field("message", f.message));
    } else {
      ctx.warn("app not ready", log::Field("reason", f.reason), log::Field("message", f.message));
    }
    if (env.event) env.event(v.app, !waiting, f.reason, f.message);
  }
  json::Document st = appStatus(v, v.conds, o, v.statusRevision, v.inventory, nullptr);
  auto w = writeStatus(*env.client, v.app, st);
  if (!w.ok() && w.status().code() != StatusCode::kNotFound) return w.status();
  return f.next;
}

// ---------------------------------------------------------------------------------------------
// Deletion

ReconcileResult finalizeApp(Env& env, const ReconcileContext& ctx, const Object& app) {
  if (!hasFinalizer(app, kFinalizer)) return Status::ok();
  json::Document req(rapidjson::kObjectType);
  req.AddMember("object", appForPlugins(app, req.GetAllocator()), req.GetAllocator());
  std::string text = json::write(req);
  for (const auto& plugin : env.plugins->withCapability(KUBEOP_CAP_GUARDRAIL)) {
    if (Status s = plugin->finalize(text); !s.isOk() && s.code() != StatusCode::kUnimplemented) return s;
  }
  size_t remaining = 0;
  for (const auto& item : readInventory(app)) {
    kube::DeleteOptions del;
    del.propagationPolicy = kube::PropagationPolicy::kBackground;
    del.preconditionUid.clear();
    auto live = env.client->get(item.apiVersion, item.kind, item.ns, item.name);
    if (!live.ok()) {
      if (live.status().code() == StatusCode::kNotFound) continue;
      return live.status();
    }
    if (!isOwnedBy(*live, app.uid())) continue;  // someone else's now: leave it
    ++remaining;
    if (isDeleting(*live)) continue;
    auto r = env.client->remove(item.apiVersion, item.kind, item.ns, item.name, del);
    if (!r.ok() && r.status().code() != StatusCode::kNotFound) return r.status();
    ctx.info("deleted", log::Field("object", describeRef(item.kind, item.ns, item.name)));
  }
  if (remaining > 0) return ReconcileResult::requeueIn(std::chrono::seconds(1));
  return removeFinalizer(*env.client, app, kFinalizer);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

ReconcileResult reconcileApp(Env& env, const ReconcileContext& ctx, const reconcile::Key& key) {
  kube::ObjectPtr appPtr = env.apps->cache().get(key.ns, key.name);
  if (!appPtr) return Status::ok();  // gone; its objects went with it (owner references)
  const Object& app = *appPtr;
  if (isDeleting(app)) return finalizeApp(env, ctx, app);

  AppView v{app, std::string(app.namespace_()), {}, {}, {}, 0, readConditions(app), readInventory(app)};
  if (auto ns = env.namespaces->cache().get("", v.ns)) {
    v.tenant = ns->label(kLabelTenant).value_or("");
    v.project = ns->label(kLabelProject).value_or("");
  }
  if (const json::Value* st = app.status()) {
    v.statusRevision = json::getString(*st, "revision");
    if (const json::Value* g = json::find(*st, "observedGeneration"); g && g->IsInt64()) v.observedGeneration = g->GetInt64();
  }

  // Apps live in project namespaces: the tenant's guardrails and labels come from there. The
  // namespace becoming a project's (labels added) enqueues the App again.
  if (v.tenant.empty()) {
    return fail(env, ctx, v,
                Failure{"NamespaceNotInProject",
                        "namespace " + v.ns + " does not belong to a kubeop Project (no label " +
                            std::string(kLabelTenant) + "); create the Project, or move the App into its namespace",
                        false, ReconcileResult()});
  }

  // Terminal until the App changes (no retry storm on a bad spec).
  if (const Condition* ready = findCondition(v.conds, "Ready");
      ready && ready->status == "False" && kTerminalReasons.count(ready->reason) &&
      v.observedGeneration == app.generation() && !app.annotation(kRollbackAnnotation)) {
    return Status::ok();
  }

  KUBEOP_RETURN_IF_ERROR(addFinalizer(*env.client, app, kFinalizer));

  auto rendered = renderApp(env, v);
  if (auto* f = std::get_if<Failure>(&rendered)) return fail(env, ctx, v, *f);
  Desired& d = std::get<Desired>(rendered);
  bool newRevision = d.revision != v.statusRevision;

  // Pre hooks gate a new revision.
  if (newRevision && d.rolledBackTo.empty()) {
    auto pre = ensureHook(env, app, "pre", d.revision);
    if (!pre.ok()) return pre.status();
    if (pre->state == HookState::kFailed) return fail(env, ctx, v, terminal("HookFailed", pre->message));
    if (pre->state == HookState::kRunning) {
      return fail(env, ctx, v,
                  Failure{"PreHookRunning", "waiting for pre hook Job " + pre->job, false,
                          ReconcileResult::requeueIn(env.options.progressRequeue)});
    }
  }

  // A converged App whose objects changed anyway: that is drift, undone by this apply.
  const Condition* readyBefore = findCondition(v.conds, "Ready");
  bool converged = !newRevision && v.observedGeneration == app.generation() && readyBefore &&
                   readyBefore->status == "True";

  std::vector<Object> live;
  std::vector<InventoryItem> inventory;
  size_t created = 0;
  for (auto& o : d.objects) {
    kube::ObjectPtr before = env.ownedObject(o.apiVersion(), o.kind(), o.namespace_(), o.name());
    std::string digest = stampDigest(o);
    if (upToDate(before.get(), digest)) {
      inventory.push_back(itemOf(o));
      live.push_back(*before);
      continue;
    }
    auto applied = applyOwned(*env.client, o);
    std::string where = describeRef(o.kind(), o.namespace_(), o.name());
    if (!applied.ok()) {
      Status s = applied.status();
      if (s.code() == StatusCode::kInvalidArgument) return fail(env, ctx, v, terminal("ApplyFailed", where + ": " + s.message()));
      return fail(env, ctx, v, Failure{"ApplyRetrying", where + ": " + s.message(), false, ReconcileResult(s)});
    }
    bool recreated = !before && env.watchesKind(o.apiVersion(), o.kind()) &&
                     std::find(v.inventory.begin(), v.inventory.end(), itemOf(o)) != v.inventory.end();
    if (!before && env.watchesKind(o.apiVersion(), o.kind())) ++created;
    Object* r = &applied->object;
    // Another manager's change taken back, a change the cache saw undone, or a deleted object
    // put back: drift.
    if ((applied->tookBack && (!before || before->annotation(kAppliedDigestAnnotation) == digest)) ||
        isDrift(before.get(), *r, digest) || (converged && recreated)) {
      env.driftCount.fetch_add(1);
      if (env.metrics.driftCorrections) env.metrics.driftCorrections->inc();
      ctx.info("drift corrected", log::Field("object", where));
      if (env.event) env.event(app, false, "DriftCorrected", where + " was changed outside kubeop; restored");
    }
    inventory.push_back(itemOf(*r));
    live.push_back(std::move(*r));
  }
  if (env.metrics.applied) env.metrics.applied->inc(static_cast<double>(d.objects.size()));

  // History (a new rendered revision only; a rollback re-delivers a kept one).
  std::optional<std::vector<HistoryEntry>> history;
  if (newRevision && d.rolledBackTo.empty()) {
    auto kept = currentHistory(env, app);
    if (!kept.ok()) {
      if (kept.status().code() == StatusCode::kNotFound) return Status::ok();  // deleted meanwhile
      return kept.status();
    }
    history = std::move(kept).value();
  }
  if (history && std::none_of(history->begin(), history->end(), [&](const HistoryEntry& e) { return e.revision == d.revision; })) {
    HistoryEntry e;
    e.revision = d.revision;
    e.time = nowRfc3339();
    std::string manifests = renderedJson(d.rendered);
    e.digest = "sha256:" + digest::sha256Hex(manifests);
    e.provenance.CopyFrom(d.provenance, e.provenance.GetAllocator());
    history->push_back(std::move(e));
    while (history->size() > kHistoryLimit) history->erase(history->begin());
    if (Status s = saveHistory(env, app, *history, d.revision, manifests); !s.isOk()) {
      ctx.warn("cannot keep the revision's manifests", log::Field("error", s.message()));
    }
  }

  // Prune what the last pass applied and this one does not (only objects still ours).
  std::set<InventoryItem> now(inventory.begin(), inventory.end());
  for (const auto& item : v.inventory) {
    if (now.count(item)) continue;
    auto cur = env.client->get(item.apiVersion, item.kind, item.ns, item.name);
    if (!cur.ok()) {
      if (cur.status().code() == StatusCode::kNotFound) continue;
      inventory.push_back(item);  // keep tracking it until it can be pruned
      continue;
    }
    if (!isOwnedBy(*cur, app.uid())) continue;
    kube::DeleteOptions del;
    del.propagationPolicy = kube::PropagationPolicy::kBackground;
    auto r = env.client->remove(item.apiVersion, item.kind, item.ns, item.name, del);
    std::string where = describeRef(item.kind, item.ns, item.name);
    if (!r.ok() && r.status().code() != StatusCode::kNotFound) {
      ctx.warn("prune failed", log::Field("object", where), log::Field("error", r.status().message()));
      inventory.push_back(item);
      continue;
    }
    if (env.metrics.pruned) env.metrics.pruned->inc();
    ctx.info("pruned", log::Field("object", where));
    if (env.event) env.event(app, false, "Pruned", where + " is no longer rendered; deleted");
  }

  // Health of what was applied.
  std::vector<HealthStatus> health;
  for (const auto& o : live) health.push_back(assessHealth(o));
  HealthStatus overall = aggregateHealth(health);
  Outcome out;
  ReconcileResult next;
  std::string via = d.rolledBackTo.empty() ? "" : " (rolled back to revision " + d.rolledBackTo + ")";
  switch (overall.health) {
    case Health::kHealthy:
    case Health::kUnknown:
      out.ready = true;
      out.readyReason = "Converged";
      out.readyMessage = "App reconciled" + via;
      out.progressingReason = "Complete";
      out.progressingMessage = "revision " + d.revision + " delivered";
      out.degradedReason = "AsExpected";
      break;
    case Health::kDegraded:
      out.readyReason = "Degraded";
      out.readyMessage = overall.message;
      out.progressingReason = "Degraded";
      out.degraded = true;
      out.degradedReason = "Unhealthy";
      out.degradedMessage = overall.message;
      next = ReconcileResult::requeueIn(env.options.progressRequeue);
      break;
    case Health::kProgressing:
    case Health::kMissing:
      out.readyReason = "Progressing";  // kubeOP's reason
      out.readyMessage = "Waiting for rollout: " + overall.message;
      out.progressing = true;
      out.progressingReason = "RolloutInProgress";
      out.progressingMessage = overall.message;
      out.degradedReason = "AsExpected";
      next = ReconcileResult::requeueIn(env.options.progressRequeue);
      break;
  }

  // Post hooks, once the revision is Ready.
  if (out.ready && d.rolledBackTo.empty()) {
    auto post = ensureHook(env, app, "post", d.revision);
    if (!post.ok()) return post.status();
    if (post->state == HookState::kRunning) {
      out.progressing = true;
      out.progressingReason = "PostHookRunning";
      out.progressingMessage = "waiting for post hook Job " + post->job;
      next = ReconcileResult::requeueIn(env.options.progressRequeue);
    } else if (post->state == HookState::kFailed) {
      out.ready = false;
      out.readyReason = "HookFailed";
      out.readyMessage = post->message;
      out.degraded = true;
      out.degradedReason = "HookFailed";
      out.degradedMessage = post->message;
      next = ReconcileResult();
    }
  }

  if (newRevision || created > 0) {
    std::string msg = "applied " + std::to_string(d.objects.size()) + " objects, revision " + d.revision + via;
    ctx.info("applied", log::Field("revision", d.revision), log::Field("objects", static_cast<long>(d.objects.size())));
    if (env.event) env.event(app, false, d.rolledBackTo.empty() ? "Applied" : "RolledBack", msg);
  }
  const Condition* rb = findCondition(v.conds, "Ready");
  if (out.readyReason == "HookFailed" && (!rb || rb->reason != "HookFailed") && env.event) {
    env.event(app, true, "HookFailed", out.readyMessage);
  }
  json::Document st = appStatus(v, v.conds, out, d.revision, inventory, history ? &*history : nullptr);
  auto w = writeStatus(*env.client, app, st);
  if (!w.ok() && w.status().code() != StatusCode::kNotFound) return w.status();
  return next;
}

}  // namespace kubeop::op::detail
