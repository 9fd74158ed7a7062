// The Tenant and Project controllers.
#include <algorithm>
#include <set>

#include "internal.h"
#include "kubeop/operator/naming.h"
#include "kubeop/plugin_abi.h"

namespace kubeop::op::detail {
namespace {

using reconcile::ReconcileContext;
using reconcile::ReconcileResult;

// The outcome of asking the guardrails whether `projects` fit `tenant`'s envelope.
struct Envelope {
  bool ok = true;
  std::string message;
  std::map<std::string, std::string> used;
};

// Oldest first (then by name): a project admitted earlier keeps its place when a newer one
// would overflow the envelope.
void sortByAge(std::vector<kube::ObjectPtr>& ps) {
  auto created = [](const Object& o) {
    const json::Value* md = o.metadata();
    return md ? std::string(json::getString(*md, "creationTimestamp")) : std::string();
  };
  std::sort(ps.begin(), ps.end(), [&](const kube::ObjectPtr& a, const kube::ObjectPtr& b) {
    auto ca = created(*a), cb = created(*b);
    if (ca != cb) return ca < cb;
    return a->name() < b->name();
  });
}

StatusOr<Envelope> checkEnvelope(Env& env, const Object& tenant, const std::vector<kube::ObjectPtr>& projects) {
  Envelope out;
  json::Document scope(rapidjson::kObjectType);
  auto& a = scope.GetAllocator();
  scope.AddMember("scope", "tenant", a);
  scope.AddMember("object", json::Value(tenant.root(), a), a);
  json::Value arr(rapidjson::kArrayType);
  for (const auto& p : projects) arr.PushBack(json::Value(p->root(), a), a);
  scope.AddMember("projects", arr, a);
  std::string text = json::write(scope);
  for (const auto& plugin : env.plugins->withCapability(KUBEOP_CAP_GUARDRAIL)) {
    auto r = plugin->contribute(text);
    if (!r.ok()) return r.status();
    auto doc = json::parse(*r);
    if (!doc.ok()) return internalError("plugin " + plugin->info().name + ": " + doc.status().message());
    const json::Value* e = json::find(*doc, "envelope");
    if (!e || !e->IsObject()) continue;
    const json::Value* ok = json::find(*e, "ok");
    if (ok && ok->IsBool() && !ok->GetBool()) {
      out.ok = false;
      if (!out.message.empty()) out.message += "; ";
      out.message += json::getString(*e, "message");
    }
    if (const json::Value* u = json::find(*e, "used"); u && u->IsObject()) {
      for (auto it = u->MemberBegin(); it != u->MemberEnd(); ++it) {
        if (it->value.IsString()) out.used[std::string(json::view(it->name))] = std::string(json::view(it->value));
      }
    }
  }
  return out;
}

std::vector<kube::ObjectPtr> liveProjects(Env& env, std::string_view tenant) {
  std::vector<kube::ObjectPtr> out;
  for (auto& p : env.projectsOf(tenant)) {
    if (!isDeleting(*p)) out.push_back(p);
  }
  sortByAge(out);
  return out;
}

// The status every controller writes: observedGeneration, ready, conditions + extra members.
json::Document baseStatus(const Object& obj, const std::vector<Condition>& conds, bool ready) {
  json::Document st(rapidjson::kObjectType);
  auto& a = st.GetAllocator();
  st.AddMember("observedGeneration", json::Value(obj.generation()), a);
  st.AddMember("ready", ready, a);
  st.AddMember("conditions", conditionsJson(conds, a), a);
  return st;
}

Condition cond(const Object& obj, std::string_view type, bool status, std::string_view reason,
               std::string_view message) {
  return Condition{std::string(type), status ? "True" : "False", std::string(reason), std::string(message),
                   obj.generation(), {}};
}

// A guardrail object in the Project's namespace (status.guardrails).
struct GuardrailRef {
  std::string apiVersion, kind, name;
  friend auto operator<=>(const GuardrailRef&, const GuardrailRef&) = default;
};

std::vector<GuardrailRef> readGuardrails(const Object& project) {
  std::vector<GuardrailRef> out;
  const json::Value* st = project.status();
  const json::Value* g = st ? json::find(*st, "guardrails") : nullptr;
  if (!g || !g->IsArray()) return out;
  for (const auto& e : g->GetArray()) {
    if (!e.IsObject()) continue;
    GuardrailRef r{std::string(json::getString(e, "apiVersion")), std::string(json::getString(e, "kind")),
                   std::string(json::getString(e, "name"))};
    if (!r.apiVersion.empty() && !r.kind.empty() && !r.name.empty()) out.push_back(std::move(r));
  }
  return out;
}

json::Value guardrailsJson(const std::set<GuardrailRef>& refs, json::Allocator& a) {
  json::Value arr(rapidjson::kArrayType);
  for (const auto& r : refs) {
    json::Value e(rapidjson::kObjectType);
    e.AddMember("apiVersion", json::str(r.apiVersion, a), a);
    e.AddMember("kind", json::str(r.kind, a), a);
    e.AddMember("name", json::str(r.name, a), a);
    arr.PushBack(e, a);
  }
  return arr;
}

// Writes the status; a conflict or a vanished object is the next pass's business.
Status commitStatus(Env& env, const Object& obj, const json::Value& st) {
  auto w = writeStatus(*env.client, obj, st);
  if (!w.ok() && w.status().code() != StatusCode::kNotFound) return w.status();
  return Status::ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Tenant

ReconcileResult reconcileTenant(Env& env, const ReconcileContext& ctx, const reconcile::Key& key) {
  kube::ObjectPtr t = env.tenants->cache().get("", key.name);
  if (!t) return Status::ok();  // deleted: nothing of ours is left to clean

  if (isDeleting(*t)) {
    // A tenant goes with its projects (each runs its own finalizer: namespace, guardrails).
    auto projects = env.projectsOf(t->name());
    size_t waiting = 0;
    for (const auto& p : projects) {
      ++waiting;
      if (isDeleting(*p)) continue;
      auto r = env.client->remove(kApiVersion, "Project", "", p->name());
      if (!r.ok() && r.status().code() != StatusCode::kNotFound) return r.status();
      ctx.info("deleting project of a deleted tenant", log::Field("project", std::string(p->name())));
    }
    if (waiting > 0) return ReconcileResult::requeueIn(std::chrono::seconds(2));
    return removeFinalizer(*env.client, *t, kFinalizer);
  }
  KUBEOP_RETURN_IF_ERROR(addFinalizer(*env.client, *t, kFinalizer));

  auto projects = liveProjects(env, t->name());
  auto envelope = checkEnvelope(env, *t, projects);
  std::vector<Condition> conds = readConditions(*t);
  setCondition(conds, cond(*t, "Ready", true, "Bootstrapped", "Tenant initialized"));
  if (envelope.ok()) {
    setCondition(conds, envelope->ok ? cond(*t, "QuotaWithinEnvelope", true, "WithinEnvelope",
                                            "the projects' quotas fit the tenant's envelope")
                                     : cond(*t, "QuotaWithinEnvelope", false, "QuotaExceeded", envelope->message));
  } else {
    setCondition(conds, cond(*t, "QuotaWithinEnvelope", false, "InvalidQuota", envelope.status().message()));
  }
  json::Document st = baseStatus(*t, conds, true);
  auto& a = st.GetAllocator();
  st.AddMember("projects", json::Value(static_cast<int64_t>(projects.size())), a);
  if (envelope.ok() && !envelope->used.empty()) {
    json::Value used(rapidjson::kObjectType);
    for (const auto& [k, v] : envelope->used) used.AddMember(json::str(k, a), json::str(v, a), a);
    st.AddMember("quotaUsed", used, a);
  }
  return commitStatus(env, *t, st);
}

// ---------------------------------------------------------------------------------------------
// Project

namespace {

// Sets Ready=False with `reason` and writes the status; `result` is what the pass returns.
ReconcileResult projectNotReady(Env& env, const ReconcileContext& ctx, const Object& p, std::string_view reason,
                                std::string_view message, ReconcileResult result, std::string_view ns = {}) {
  std::vector<Condition> conds = readConditions(p);
  const Condition* before = findCondition(conds, "Ready");
  bool changed = !before || before->reason != reason || before->message != message;
  setCondition(conds, cond(p, "Ready", false, reason, message));
  json::Document st = baseStatus(p, conds, false);
  if (!ns.empty()) st.AddMember("namespace", json::str(ns, st.GetAllocator()), st.GetAllocator());
  if (changed) {
    ctx.warn("project not ready", log::Field("reason", std::string(reason)), log::Field("message", std::string(message)));
    if (env.event) env.event(p, true, reason, message);
  }
  if (Status s = commitStatus(env, p, st); !s.isOk()) return s;
  return result;
}

Status ensureNamespace(Env& env, const Object& project, const std::string& ns, const std::string& tenant,
                       const std::string& projectName) {
  Object n;
  n.setApiVersion("v1");
  n.setKind("Namespace");
  n.setName(ns);
  n.setLabel(kLabelTenant, tenant);
  n.setLabel(kLabelProject, projectName);
  n.setLabel(kLabelManagedBy, kManagedBy);
  n.addOwnerReference(controllerRef(project));
  kube::ApplyOptions ao;
  ao.fieldManager = std::string(kFieldManager);
  ao.force = true;
  auto r = env.client->apply(n, ao);
  return r.status();
}

// The guardrails' objects for the project, each placed in `ns`, owned by the project.
StatusOr<std::vector<Object>> contributions(Env& env, const Object& project, const Object& tenant,
                                            const std::string& ns) {
  json::Document scope(rapidjson::kObjectType);
  auto& a = scope.GetAllocator();
  scope.AddMember("scope", "project", a);
  scope.AddMember("object", json::Value(project.root(), a), a);
  scope.AddMember("tenant", json::Value(tenant.root(), a), a);
  scope.AddMember("namespace", json::str(ns, a), a);
  std::string text = json::write(scope);
  std::vector<Object> out;
  for (const auto& plugin : env.plugins->withCapability(KUBEOP_CAP_GUARDRAIL)) {
    auto r = plugin->contribute(text);
    if (!r.ok()) return r.status();
    auto doc = json::parse(*r);
    if (!doc.ok()) return internalError("plugin " + plugin->info().name + ": " + doc.status().message());
    const json::Value* objs = json::find(*doc, "objects");
    if (!objs || !objs->IsArray()) continue;
    for (const auto& o : objs->GetArray()) {
      auto obj = Object::fromValue(o);
      if (!obj.ok()) return internalError("plugin " + plugin->info().name + ": " + obj.status().message());
      if (obj->kind().empty() || obj->apiVersion().empty() || obj->name().empty()) {
        return internalError("plugin " + plugin->info().name + " contributed an object without apiVersion, kind or name");
      }
      obj->setNamespace(ns);
      obj->setLabel(kLabelManagedBy, kManagedBy);
      obj->addOwnerReference(controllerRef(project));
      out.push_back(std::move(obj).value());
    }
  }
  sortForApply(out);
  return out;
}

}  // namespace

ReconcileResult reconcileProject(Env& env, const ReconcileContext& ctx, const reconcile::Key& key) {
  kube::ObjectPtr p = env.projects->cache().get("", key.name);
  if (!p) return Status::ok();
  const json::Value* spec = p->spec();
  std::string tenantRef(spec ? json::getString(*spec, "tenantRef") : "");
  std::string projectName(spec ? json::getString(*spec, "name") : "");
  if (projectName.empty()) projectName = std::string(p->name());
  auto nsName = projectNamespace(tenantRef, projectName);

  if (isDeleting(*p)) {
    if (!hasFinalizer(*p, kFinalizer)) return Status::ok();
    if (nsName.ok()) {
      bool retain = spec && json::find(*spec, "retainNamespace") && (*spec)["retainNamespace"].IsBool() &&
                    (*spec)["retainNamespace"].GetBool();
      auto live = env.namespaces->cache().get("", *nsName);
      if (live && isOwnedBy(*live, p->uid())) {
        if (retain) {
          // Release the namespace (no owner reference, so the garbage collector keeps it).
          std::string patch = R"({"metadata":{"ownerReferences":null}})";
          kube::PatchOptions po;
          po.fieldManager = std::string(kFieldManager);
          auto r = env.client->patch("v1", "Namespace", "", *nsName, kube::PatchType::kMerge, patch, po);
          if (!r.ok() && r.status().code() != StatusCode::kNotFound) return r.status();
          ctx.info("namespace retained", log::Field("namespace_name", *nsName));
        } else {
          if (!isDeleting(*live)) {
            auto r = env.client->remove("v1", "Namespace", "", *nsName);
            if (!r.ok() && r.status().code() != StatusCode::kNotFound) return r.status();
            ctx.info("deleting namespace", log::Field("namespace_name", *nsName));
            if (env.event) env.event(*p, false, "NamespaceDeleting", "deleting namespace " + *nsName);
          }
          // Wait until it is gone (its deletion event requeues us; the timer is a safety net).
          return ReconcileResult::requeueIn(std::chrono::seconds(2));
        }
      }
    }
    json::Document req(rapidjson::kObjectType);
    req.AddMember("object", json::Value(p->root(), req.GetAllocator()), req.GetAllocator());
    std::string text = json::write(req);
    for (const auto& plugin : env.plugins->withCapability(KUBEOP_CAP_GUARDRAIL)) {
      if (Status s = plugin->finalize(text); !s.isOk() && s.code() != StatusCode::kUnimplemented) return s;
    }
    return removeFinalizer(*env.client, *p, kFinalizer);
  }

  if (!nsName.ok()) {
    return projectNotReady(env, ctx, *p, "InvalidName", nsName.status().message(), Status::ok());
  }
  kube::ObjectPtr tenant = env.tenantNamed(tenantRef);
  if (!tenant) {
    // Not terminal: the Tenant's arrival enqueues its projects.
    return projectNotReady(env, ctx, *p, "TenantNotFound",
                           "tenant \"" + tenantRef + "\" does not exist; create the Tenant first", Status::ok());
  }
  if (isDeleting(*tenant)) {
    return projectNotReady(env, ctx, *p, "TenantDeleting", "tenant \"" + tenantRef + "\" is being deleted",
                           Status::ok());
  }
  KUBEOP_RETURN_IF_ERROR(addFinalizer(*env.client, *p, kFinalizer));

  // The envelope: this project and every older one of its tenant must fit.
  std::vector<kube::ObjectPtr> upTo;
  for (auto& q : liveProjects(env, tenantRef)) {
    upTo.push_back(q);
    if (q->uid() == p->uid()) break;
  }
  auto envelope = checkEnvelope(env, *tenant, upTo);
  if (!envelope.ok()) {
    if (isRetryablePluginError(envelope.status())) return envelope.status();
    return projectNotReady(env, ctx, *p, "InvalidQuota", envelope.status().message(), Status::ok());
  }
  if (!envelope->ok) {
    return projectNotReady(env, ctx, *p, "QuotaExceeded", "over the tenant's envelope: " + envelope->message,
                           Status::ok());
  }

  // Two projects can map to one namespace ("a-b"/"c" and "a"/"b-c"): the first owner keeps it.
  if (auto live = env.namespaces->cache().get("", *nsName)) {
    for (const auto& ref : live->ownerReferences()) {
      if (ref.kind == "Project" && ref.uid != p->uid()) {
        return projectNotReady(env, ctx, *p, "NamespaceConflict",
                               "namespace " + *nsName + " belongs to Project " + ref.name, Status::ok());
      }
    }
    if (isDeleting(*live)) {
      return projectNotReady(env, ctx, *p, "NamespaceTerminating",
                             "namespace " + *nsName + " is still being deleted", ReconcileResult::requeueIn(std::chrono::seconds(2)));
    }
  }
  kube::ObjectPtr liveNs = env.namespaces->cache().get("", *nsName);
  bool existed = liveNs != nullptr;
  bool nsUpToDate = liveNs && isOwnedBy(*liveNs, p->uid()) && liveNs->label(kLabelTenant) == tenantRef &&
                    liveNs->label(kLabelProject) == projectName &&
                    liveNs->label(kLabelManagedBy) == std::string(kManagedBy);
  if (Status s = nsUpToDate ? Status::ok() : ensureNamespace(env, *p, *nsName, tenantRef, projectName); !s.isOk()) {
    if (isRetryable(s.code()) || s.code() == StatusCode::kFailedPrecondition) return s;
    return projectNotReady(env, ctx, *p, "CreateFailed", s.message(), Status::ok(), *nsName);
  }
  if (!existed) {
    ctx.info("namespace created", log::Field("namespace_name", *nsName));
    if (env.event) env.event(*p, false, "NamespaceCreated", "created namespace " + *nsName);
  }

  auto objects = contributions(env, *p, *tenant, *nsName);
  if (!objects.ok()) {
    if (isRetryablePluginError(objects.status())) return objects.status();
    return projectNotReady(env, ctx, *p, "GuardrailFailed", objects.status().message(), Status::ok(), *nsName);
  }
  std::set<GuardrailRef> now;
  for (auto& o : *objects) {
    now.insert(GuardrailRef{std::string(o.apiVersion()), std::string(o.kind()), std::string(o.name())});
    kube::ObjectPtr before = env.ownedObject(o.apiVersion(), o.kind(), o.namespace_(), o.name());
    std::string digest = stampDigest(o);
    if (upToDate(before.get(), digest)) continue;
    auto applied = applyOwned(*env.client, o);
    if (!applied.ok()) {
      Status s = applied.status();
      if (isRetryable(s.code()) || s.code() == StatusCode::kFailedPrecondition) return s;
      return projectNotReady(env, ctx, *p, "ApplyFailed", describeRef(o.kind(), o.namespace_(), o.name()) + ": " + s.message(),
                             Status::ok(), *nsName);
    }
    const Object* r = &applied->object;
    if (applied->tookBack || isDrift(before.get(), *r, digest)) {
      env.driftCount.fetch_add(1);
      if (env.metrics.driftCorrections) env.metrics.driftCorrections->inc();
      ctx.info("drift corrected", log::Field("object", describeRef(o.kind(), o.namespace_(), o.name())));
      if (env.event) env.event(*p, false, "DriftCorrected", describeRef(o.kind(), o.namespace_(), o.name()) + " restored");
    }
  }

  // What the plugins contributed last time and no longer do (a plugin removed or reconfigured):
  // deleted, if it is still this Project's. Kept in the list until it is gone.
  std::set<GuardrailRef> keep = now;
  for (const auto& ref : readGuardrails(*p)) {
    if (now.count(ref)) continue;
    std::string where = describeRef(ref.kind, *nsName, ref.name);
    auto cur = env.client->get(ref.apiVersion, ref.kind, *nsName, ref.name);
    if (!cur.ok()) {
      if (cur.status().code() != StatusCode::kNotFound) keep.insert(ref);
      continue;
    }
    if (!isOwnedBy(*cur, p->uid())) continue;  // someone else's now: leave it
    auto r = env.client->remove(ref.apiVersion, ref.kind, *nsName, ref.name);
    if (!r.ok() && r.status().code() != StatusCode::kNotFound) {
      ctx.warn("guardrail prune failed", log::Field("object", where), log::Field("error", r.status().message()));
      keep.insert(ref);
      continue;
    }
    if (env.metrics.pruned) env.metrics.pruned->inc();
    ctx.info("pruned", log::Field("object", where));
    if (env.event) env.event(*p, false, "Pruned", where + " is no longer contributed by a guardrail; deleted");
  }

  std::vector<Condition> conds = readConditions(*p);
  const Condition* before = findCondition(conds, "Ready");
  bool becameReady = !before || before->status != "True";
  setCondition(conds, cond(*p, "Ready", true, "Bootstrapped", "Project namespace ready"));
  json::Document st = baseStatus(*p, conds, true);
  st.AddMember("namespace", json::str(*nsName, st.GetAllocator()), st.GetAllocator());
  st.AddMember("guardrails", guardrailsJson(keep, st.GetAllocator()), st.GetAllocator());
  if (becameReady && env.event) {
    env.event(*p, false, "Ready", "namespace " + *nsName + " and " + std::to_string(objects->size()) + " guardrail objects applied");
  }
  return commitStatus(env, *p, st);
}

}  // namespace kubeop::op::detail
