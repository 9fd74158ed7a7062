#include "kubeop/operator/health.h"

#include <initializer_list>
#include <optional>

#include "kubeop/core/json.h"

namespace kubeop::op {

namespace {

using json::Value;

std::optional<int64_t> optInt(const Value& root, std::initializer_list<std::string_view> path) {
  const Value* v = json::findPath(root, path);
  if (!v || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}

int64_t intAt(const Value& root, std::initializer_list<std::string_view> path, int64_t fallback = 0) {
  return optInt(root, path).value_or(fallback);
}

std::string_view strAt(const Value& root, std::initializer_list<std::string_view> path) {
  const Value* v = json::findPath(root, path);
  return v ? json::view(*v) : std::string_view();
}

// The status condition of `type`, or nullptr.
const Value* findCondition(const Value* conditions, std::string_view type) {
  if (!conditions || !conditions->IsArray()) return nullptr;
  for (const auto& c : conditions->GetArray()) {
    if (json::getString(c, "type") == type) return &c;
  }
  return nullptr;
}

const Value* statusCondition(const Object& o, std::string_view type) {
  return findCondition(json::findPath(o.root(), {"status", "conditions"}), type);
}

bool isTrue(const Value* condition) { return condition && json::getString(*condition, "status") == "True"; }

std::string num(int64_t n) { return std::to_string(n); }

// Builds the statuses of one object, every message prefixed by "<Kind>/<name>: ".
class Assess {
 public:
  explicit Assess(const Object& o) : ref_(healthRef(o)) {}
  HealthStatus healthy(std::string_view what = {}) const { return make(Health::kHealthy, what); }
  HealthStatus progressing(std::string_view what) const { return make(Health::kProgressing, what); }
  HealthStatus degraded(std::string_view what) const { return make(Health::kDegraded, what); }
  HealthStatus unknown(std::string_view what) const { return make(Health::kUnknown, what); }

 private:
  HealthStatus make(Health h, std::string_view what) const {
    return {h, what.empty() ? std::string() : ref_ + ": " + std::string(what)};
  }
  std::string ref_;
};

// metadata.generation against status.observedGeneration: has the controller seen the spec yet?
// A status without observedGeneration has not been written by the controller at all.
bool observed(const Object& o) {
  std::optional<int64_t> seen = optInt(o.root(), {"status", "observedGeneration"});
  return seen && *seen >= o.generation();
}

HealthStatus deploymentHealth(const Object& o, const Assess& a) {
  const Value& r = o.root();
  if (const Value* p = json::findPath(r, {"spec", "paused"}); p && p->IsBool() && p->GetBool()) {
    return a.healthy("Deployment is paused");
  }
  if (!observed(o)) return a.progressing("Waiting for deployment spec update to be observed...");
  if (const Value* p = statusCondition(o, "Progressing");
      p && json::getString(*p, "reason") == "ProgressDeadlineExceeded") {
    std::string_view detail = json::getString(*p, "message");
    return a.degraded("Deployment exceeded its progress deadline" +
                      (detail.empty() ? std::string() : ": " + std::string(detail)));
  }
  const int64_t want = intAt(r, {"spec", "replicas"}, 1);
  const int64_t replicas = intAt(r, {"status", "replicas"});
  const int64_t updated = intAt(r, {"status", "updatedReplicas"});
  const int64_t available = intAt(r, {"status", "availableReplicas"});
  if (updated < want) {
    return a.progressing("Waiting for rollout to finish: " + num(updated) + " out of " + num(want) +
                         " new replicas have been updated...");
  }
  if (replicas > updated) {
    return a.progressing("Waiting for rollout to finish: " + num(replicas - updated) +
                         " old replicas are pending termination...");
  }
  if (available < updated) {
    return a.progressing("Waiting for rollout to finish: " + num(available) + " of " + num(updated) +
                         " updated replicas are available...");
  }
  return a.healthy();
}

// kubectl's statefulset rollout status: ready replicas first, then the partitioned roll out under
// RollingUpdate with a partition, else the revisions (OnDelete never rolls by itself).
HealthStatus statefulSetHealth(const Object& o, const Assess& a) {
  const Value& r = o.root();
  if (!observed(o)) return a.progressing("Waiting for statefulset spec update to be observed...");
  const int64_t want = intAt(r, {"spec", "replicas"}, 1);
  const int64_t ready = intAt(r, {"status", "readyReplicas"});
  if (ready < want) return a.progressing("Waiting for " + num(want - ready) + " pods to be ready...");
  std::string_view strategy = strAt(r, {"spec", "updateStrategy", "type"});
  if (strategy == "OnDelete") return a.healthy();
  const int64_t updated = intAt(r, {"status", "updatedReplicas"});
  if (std::optional<int64_t> partition = optInt(r, {"spec", "updateStrategy", "rollingUpdate", "partition"})) {
    if (updated < want - *partition) {
      return a.progressing("Waiting for partitioned roll out to finish: " + num(updated) + " out of " +
                           num(want - *partition) + " new pods have been updated...");
    }
    return a.healthy();
  }
  std::string_view updateRevision = strAt(r, {"status", "updateRevision"});
  if (updateRevision != strAt(r, {"status", "currentRevision"})) {
    return a.progressing("waiting for statefulset rolling update to complete " + num(updated) + " pods at revision " +
                         std::string(updateRevision) + "...");
  }
  return a.healthy();
}

HealthStatus daemonSetHealth(const Object& o, const Assess& a) {
  const Value& r = o.root();
  if (!observed(o)) return a.progressing("Waiting for daemon set spec update to be observed...");
  if (strAt(r, {"spec", "updateStrategy", "type"}) == "OnDelete") return a.healthy();
  const int64_t desired = intAt(r, {"status", "desiredNumberScheduled"});
  const int64_t updated = intAt(r, {"status", "updatedNumberScheduled"});
  const int64_t available = intAt(r, {"status", "numberAvailable"});
  if (updated < desired) {
    return a.progressing("Waiting for daemon set rollout to finish: " + num(updated) + " out of " + num(desired) +
                         " new pods have been updated...");
  }
  if (available < desired) {
    return a.progressing("Waiting for daemon set rollout to finish: " + num(available) + " of " + num(desired) +
                         " updated pods are available...");
  }
  return a.healthy();
}

HealthStatus replicaSetHealth(const Object& o, const Assess& a) {
  const Value& r = o.root();
  if (!observed(o)) return a.progressing("Waiting for replica set spec update to be observed...");
  if (const Value* f = statusCondition(o, "ReplicaFailure"); isTrue(f)) {
    return a.degraded(json::getString(*f, "message", "ReplicaFailure"));
  }
  const int64_t want = intAt(r, {"spec", "replicas"}, 1);
  const int64_t available = intAt(r, {"status", "availableReplicas"});
  if (available < want) {
    return a.progressing("Waiting for rollout to finish: " + num(available) + " out of " + num(want) +
                         " new replicas are available...");
  }
  return a.healthy();
}

HealthStatus jobHealth(const Object& o, const Assess& a) {
  if (const Value* f = statusCondition(o, "Failed"); isTrue(f)) {
    std::string_view why = json::getString(*f, "message");
    if (why.empty()) why = json::getString(*f, "reason", "Job failed");
    return a.degraded(why);
  }
  if (isTrue(statusCondition(o, "Complete"))) return a.healthy();
  if (isTrue(statusCondition(o, "Suspended"))) return a.healthy("Job is suspended");
  const int64_t active = intAt(o.root(), {"status", "active"});
  return a.progressing(active > 0 ? "Job is running (" + num(active) + " active pods)" : "Job is running");
}

// A terminated container's failure, for a Failed pod without a pod-level message.
std::string containerFailure(const Value& statuses) {
  if (!statuses.IsArray()) return {};
  for (const auto& c : statuses.GetArray()) {
    const Value* t = json::findPath(c, {"state", "terminated"});
    if (!t) continue;
    const int64_t code = intAt(*t, {"exitCode"});
    if (code == 0) continue;
    std::string_view m = json::getString(*t, "message");
    if (!m.empty()) return std::string(m);
    return "container \"" + std::string(json::getString(c, "name")) + "\" exited with status " + num(code);
  }
  return {};
}

HealthStatus podHealth(const Object& o, const Assess& a) {
  const Value& r = o.root();
  std::string_view restart = strAt(r, {"spec", "restartPolicy"});
  if (restart.empty()) restart = "Always";
  std::string_view podMessage = strAt(r, {"status", "message"});
  // A long-running pod stuck on its image or crash-looping will not heal by waiting. Pods that run
  // to completion (hooks) are left to their phase: their image may yet appear.
  const Value* containerStatuses = json::findPath(r, {"status", "containerStatuses"});
  if (restart == "Always" && containerStatuses && containerStatuses->IsArray()) {
    std::string why;
    for (const auto& c : containerStatuses->GetArray()) {
      const Value* w = json::findPath(c, {"state", "waiting"});
      if (!w) continue;
      std::string_view reason = json::getString(*w, "reason");
      if (reason.starts_with("Err") || reason.ends_with("Error") || reason.ends_with("BackOff")) {
        std::string_view m = json::getString(*w, "message");
        if (!why.empty()) why += ", ";
        why += m.empty() ? std::string(reason) : std::string(reason) + ": " + std::string(m);
      }
    }
    if (!why.empty()) return a.degraded(why);
  }
  std::string_view phase = strAt(r, {"status", "phase"});
  if (phase == "Pending") return a.progressing(podMessage.empty() ? "Pod is pending" : podMessage);
  if (phase == "Succeeded") return a.healthy();
  if (phase == "Failed") {
    if (!podMessage.empty()) return a.degraded(podMessage);
    for (const char* field : {"initContainerStatuses", "containerStatuses"}) {
      const Value* s = json::findPath(r, {"status", field});
      if (std::string m = s ? containerFailure(*s) : std::string(); !m.empty()) return a.degraded(m);
    }
    return a.degraded("Pod failed");
  }
  if (phase == "Running") {
    if (restart != "Always") return a.progressing("Pod is running");
    if (isTrue(statusCondition(o, "Ready"))) return a.healthy();
    if (containerStatuses && containerStatuses->IsArray()) {
      for (const auto& c : containerStatuses->GetArray()) {
        if (json::findPath(c, {"lastState", "terminated"})) {
          return a.degraded(podMessage.empty() ? "a container terminated and the pod is not ready" : podMessage);
        }
      }
    }
    return a.progressing(podMessage.empty() ? "Pod is not ready" : podMessage);
  }
  return a.unknown(podMessage.empty() ? "Pod phase is unknown" : podMessage);
}

bool hasIngressAddress(const Object& o) {
  const Value* ing = json::findPath(o.root(), {"status", "loadBalancer", "ingress"});
  return ing && ing->IsArray() && !ing->Empty();
}

HealthStatus pvcHealth(const Object& o, const Assess& a) {
  std::string_view phase = strAt(o.root(), {"status", "phase"});
  if (phase == "Bound") return a.healthy();
  if (phase == "Pending") return a.progressing("PersistentVolumeClaim is pending");
  if (phase == "Lost") return a.degraded("PersistentVolumeClaim lost its volume");
  return a.unknown("PersistentVolumeClaim phase is unknown");
}

// Argo CD's HPA rule over condition (type, status, reason, message) records: the first condition
// that is degraded or healthy decides; none: Progressing ("Waiting to Autoscale").
HealthStatus conditionsHpaHealth(const Value* conditions, const Assess& a) {
  if (conditions && conditions->IsArray()) {
    for (const auto& c : conditions->GetArray()) {
      std::string_view type = json::getString(c, "type"), reason = json::getString(c, "reason");
      if ((type == "AbleToScale" && (reason == "FailedGetScale" || reason == "FailedUpdateScale")) ||
          (type == "ScalingActive" && (reason == "FailedGetResourceMetric" || reason == "InvalidSelector"))) {
        return a.degraded(json::getString(c, "message", reason));
      }
      if ((type == "AbleToScale" || type == "ScalingLimited") && json::getString(c, "status") == "True") {
        return a.healthy();
      }
    }
  }
  return a.progressing("Waiting to Autoscale");
}

HealthStatus hpaHealth(const Object& o, const Assess& a) {
  if (const Value* c = json::findPath(o.root(), {"status", "conditions"})) return conditionsHpaHealth(c, a);
  // autoscaling/v1 keeps the conditions in an annotation (a JSON array in a string).
  if (std::optional<std::string> text = o.annotation("autoscaling.alpha.kubernetes.io/conditions")) {
    auto doc = json::parse(*text);
    if (doc.ok()) return conditionsHpaHealth(&*doc, a);
    return a.unknown("unreadable autoscaling.alpha.kubernetes.io/conditions annotation");
  }
  return conditionsHpaHealth(nullptr, a);
}

}  // namespace

const char* healthName(Health health) {
  switch (health) {
    case Health::kHealthy: return "Healthy";
    case Health::kProgressing: return "Progressing";
    case Health::kDegraded: return "Degraded";
    case Health::kMissing: return "Missing";
    case Health::kUnknown: return "Unknown";
  }
  return "Unknown";
}

std::string healthRef(const Object& object) {
  return std::string(object.kind()) + "/" + std::string(object.name());
}

HealthStatus missingHealth(std::string_view kind, std::string_view name) {
  return {Health::kMissing, std::string(kind) + "/" + std::string(name) + ": not found"};
}

HealthStatus assessHealth(const Object& live) {
  const Assess a(live);
  if (live.metadata() && json::find(*live.metadata(), "deletionTimestamp")) return a.progressing("Pending deletion");
  const GroupVersionKind gvk = live.gvk();
  const std::string& g = gvk.group;
  const std::string& k = gvk.kind;
  const bool apps = g == "apps" || g == "extensions";
  if (apps && k == "Deployment") return deploymentHealth(live, a);
  if (apps && k == "StatefulSet") return statefulSetHealth(live, a);
  if (apps && k == "DaemonSet") return daemonSetHealth(live, a);
  if (apps && k == "ReplicaSet") return replicaSetHealth(live, a);
  if (g == "batch" && k == "Job") return jobHealth(live, a);
  if (g.empty() && k == "Pod") return podHealth(live, a);
  if (g.empty() && k == "PersistentVolumeClaim") return pvcHealth(live, a);
  if (g.empty() && k == "Service") {
    if (strAt(live.root(), {"spec", "type"}) == "LoadBalancer" && !hasIngressAddress(live)) {
      return a.progressing("Waiting for the load balancer's address");
    }
    return a.healthy();
  }
  if (g == "autoscaling" && k == "HorizontalPodAutoscaler") return hpaHealth(live, a);
  // Ingress and every kind without health rules: it exists, so it is Healthy.
  return a.healthy();
}

HealthStatus aggregate(const std::vector<HealthStatus>& parts) {
  auto rank = [](Health h) {
    switch (h) {
      case Health::kHealthy: return 0;
      case Health::kUnknown: return 1;
      case Health::kProgressing: return 2;
      case Health::kMissing: return 3;
      case Health::kDegraded: return 4;
    }
    return 1;
  };
  HealthStatus out;
  for (const HealthStatus& p : parts) {
    if (rank(p.health) > rank(out.health)) out.health = p.health;
    if (p.health == Health::kHealthy || p.message.empty()) continue;
    if (!out.message.empty()) out.message += "; ";
    out.message += p.message;
  }
  return out;
}

}  // namespace kubeop::op
