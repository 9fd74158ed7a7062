// Health of the objects kubeop delivers: Argo CD's resource health (gitops-engine pkg/health),
// with kubectl rollout status wording, for the built-in kinds an App renders.
//
//  - Deployment, StatefulSet, DaemonSet, ReplicaSet: the rollout (observedGeneration, updated,
//    ready and available replicas, partition, revisions) is Progressing until it finishes; a
//    Deployment past its progress deadline and a ReplicaSet with ReplicaFailure are Degraded.
//  - Job: Complete is Healthy, Failed is Degraded (with the condition's message), else Progressing.
//  - Pod: by phase; a container waiting in Err*/…Error/…BackOff under restartPolicy Always is
//    Degraded.
//  - Service of type LoadBalancer: Progressing until it has an ingress address. Ingress: Healthy
//    (a load balancer address is not required: many controllers never publish one).
//  - PersistentVolumeClaim: Bound Healthy, Pending Progressing, Lost Degraded.
//  - HorizontalPodAutoscaler (v1 annotation or v2 conditions): Argo's condition table.
//  - Any object being deleted is Progressing; any other kind is Healthy because it exists.
//
// Argo CD's "Suspended" (a paused Deployment, a suspended Job) has no value here: it is reported
// as Healthy with a message saying so, so that an App waiting on it does not stay Progressing.
//
// Every message of assessHealth names its object ("Deployment/web: …") so that aggregate() can
// join them into one readable line.
//
// Thread-safety: pure functions. Never asserts on malformed objects: a missing or mistyped field
// reads as absent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/object.h"

namespace kubeop::op {

// Ordered by nothing; see aggregate() for which one wins.
enum class Health { kHealthy, kProgressing, kDegraded, kMissing, kUnknown };

// "Healthy", "Progressing", "Degraded", "Missing", "Unknown" (Argo CD's names).
const char* healthName(Health health);

struct HealthStatus {
  Health health = Health::kHealthy;
  // Empty or "<Kind>/<name>: <what>" from assessHealth.
  std::string message;

  friend bool operator==(const HealthStatus&, const HealthStatus&) = default;
};

// The health of one live object (as the API server returned it).
HealthStatus assessHealth(const Object& live);

// The only members of `spec` that assessHealth reads (everything else it reads is metadata and
// status): a cache may drop the rest of an object's spec without changing its health.
inline constexpr std::string_view kHealthSpecFields[] = {"replicas", "paused", "updateStrategy", "restartPolicy",
                                                        "type"};

// The status of an object that should exist and does not: Missing, "<kind>/<name>: not found".
HealthStatus missingHealth(std::string_view kind, std::string_view name);

// "<Kind>/<name>", the prefix of assessHealth's messages.
std::string healthRef(const Object& object);

// The health of a set of objects: the worst wins (Degraded > Missing > Progressing > Unknown >
// Healthy); the messages of every part that is not Healthy are joined with "; ". Empty: Healthy.
HealthStatus aggregate(const std::vector<HealthStatus>& parts);

// The name the App controller calls aggregate() by.
inline HealthStatus aggregateHealth(const std::vector<HealthStatus>& parts) { return aggregate(parts); }

}  // namespace kubeop::op
