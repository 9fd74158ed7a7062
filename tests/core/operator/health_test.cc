// assessHealth and aggregate (core/src/operator/health.cc) over JSON objects: one row per rule,
// each naming the rule it pins (Argo CD's resource health, kubectl's rollout status wording).
#include "kubeop/operator/health.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"

namespace kubeop::op {
namespace {

struct Row {
  const char* rule;
  const char* json;
  Health want;
  const char* message;  // the exact message; nullptr: only that it names the object
};

Object parse(const char* text) {
  auto o = Object::fromJson(text);
  EXPECT_TRUE(o.ok()) << o.status().toString() << " in " << text;
  return o.ok() ? std::move(o).value() : Object();
}

// What the operator's cache keeps of an owned object for health: spec reduced to
// kHealthSpecFields, conditions without their timestamps.
Object asCached(const Object& full) {
  Object o = full;
  if (json::Value* spec = json::find(o.root(), "spec"); spec && spec->IsObject()) {
    for (auto it = spec->MemberBegin(); it != spec->MemberEnd();) {
      std::string_view k = json::view(it->name);
      bool keep = std::find(std::begin(kHealthSpecFields), std::end(kHealthSpecFields), k) != std::end(kHealthSpecFields);
      it = keep ? it + 1 : spec->EraseMember(it);
    }
  }
  if (json::Value* st = json::find(o.root(), "status")) {
    if (json::Value* conds = json::find(*st, "conditions"); conds && conds->IsArray()) {
      for (auto& c : conds->GetArray()) {
        for (const char* t : {"lastTransitionTime", "lastUpdateTime", "lastProbeTime", "lastHeartbeatTime"}) {
          json::removeMember(c, t);
        }
      }
    }
  }
  return o;
}

void checkRows(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    SCOPED_TRACE(row.rule);
    Object o = parse(row.json);
    HealthStatus got = assessHealth(o);
    EXPECT_EQ(assessHealth(asCached(o)), got) << "health must read only kHealthSpecFields of spec";
    EXPECT_EQ(healthName(got.health), std::string(healthName(row.want)));
    if (row.message) {
      EXPECT_EQ(got.message, row.message);
    } else {
      EXPECT_EQ(got.message.rfind(healthRef(o) + ": ", 0), 0u) << got.message;
    }
  }
}

TEST(HealthTest, DeploymentFollowsItsRollout) {
  checkRows({
      {"a spec the controller has not observed is Progressing",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":2},
           "spec":{"replicas":3},"status":{"observedGeneration":1,"replicas":3,"updatedReplicas":3,"availableReplicas":3}})",
       Health::kProgressing, "Deployment/web: Waiting for deployment spec update to be observed..."},
      {"no status at all is Progressing (nothing observed yet)",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1},"spec":{"replicas":1}})",
       Health::kProgressing, "Deployment/web: Waiting for deployment spec update to be observed..."},
      {"fewer updated replicas than wanted is Progressing, in kubectl's words",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":2},
           "spec":{"replicas":3},"status":{"observedGeneration":2,"replicas":3,"updatedReplicas":1,"availableReplicas":3}})",
       Health::kProgressing, "Deployment/web: Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."},
      {"old replicas still running is Progressing",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":2},
           "spec":{"replicas":3},"status":{"observedGeneration":2,"replicas":5,"updatedReplicas":3,"availableReplicas":3}})",
       Health::kProgressing, "Deployment/web: Waiting for rollout to finish: 2 old replicas are pending termination..."},
      {"updated but not yet available replicas is Progressing",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":2},
           "spec":{"replicas":3},"status":{"observedGeneration":2,"replicas":3,"updatedReplicas":3,"availableReplicas":1}})",
       Health::kProgressing, "Deployment/web: Waiting for rollout to finish: 1 of 3 updated replicas are available..."},
      {"ProgressDeadlineExceeded is Degraded, with the condition's message",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":2},
           "spec":{"replicas":3},"status":{"observedGeneration":2,"replicas":3,"updatedReplicas":1,"availableReplicas":1,
           "conditions":[{"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded",
                          "message":"ReplicaSet \"web-1\" has timed out progressing."}]}})",
       Health::kDegraded,
       "Deployment/web: Deployment exceeded its progress deadline: ReplicaSet \"web-1\" has timed out progressing."},
      {"a finished rollout is Healthy, with no message",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":2},
           "spec":{"replicas":3},"status":{"observedGeneration":2,"replicas":3,"updatedReplicas":3,"availableReplicas":3}})",
       Health::kHealthy, ""},
      {"spec.replicas defaults to 1",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1},
           "spec":{},"status":{"observedGeneration":1}})",
       Health::kProgressing, "Deployment/web: Waiting for rollout to finish: 0 out of 1 new replicas have been updated..."},
      {"a paused Deployment (Argo's Suspended) is Healthy with a note",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":3},
           "spec":{"replicas":3,"paused":true},"status":{"observedGeneration":2}})",
       Health::kHealthy, "Deployment/web: Deployment is paused"},
      {"a Deployment being deleted is Progressing",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1,
           "deletionTimestamp":"2026-01-01T00:00:00Z"},"spec":{"replicas":1},
           "status":{"observedGeneration":1,"replicas":1,"updatedReplicas":1,"availableReplicas":1}})",
       Health::kProgressing, "Deployment/web: Pending deletion"},
      {"a kind of another group is not taken for the apps Deployment",
       R"({"apiVersion":"example.com/v1","kind":"Deployment","metadata":{"name":"web","generation":2}})",
       Health::kHealthy, ""},
  });
}

TEST(HealthTest, StatefulSetFollowsReadyReplicasPartitionAndRevisions) {
  checkRows({
      {"an unobserved spec is Progressing",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},
           "spec":{"replicas":2},"status":{"observedGeneration":1,"readyReplicas":2}})",
       Health::kProgressing, "StatefulSet/db: Waiting for statefulset spec update to be observed..."},
      {"pods not ready are Progressing",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":1},
           "spec":{"replicas":3},"status":{"observedGeneration":1,"readyReplicas":1}})",
       Health::kProgressing, "StatefulSet/db: Waiting for 2 pods to be ready..."},
      {"RollingUpdate with a partition waits for replicas - partition updated pods",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},
           "spec":{"replicas":4,"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}},
           "status":{"observedGeneration":2,"readyReplicas":4,"updatedReplicas":1,
                     "currentRevision":"db-1","updateRevision":"db-2"}})",
       Health::kProgressing,
       "StatefulSet/db: Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated..."},
      {"a partitioned roll out that updated its share is Healthy though the revisions differ",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},
           "spec":{"replicas":4,"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}},
           "status":{"observedGeneration":2,"readyReplicas":4,"updatedReplicas":2,
                     "currentRevision":"db-1","updateRevision":"db-2"}})",
       Health::kHealthy, ""},
      {"without a partition, updateRevision != currentRevision is Progressing",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},
           "spec":{"replicas":2},"status":{"observedGeneration":2,"readyReplicas":2,"updatedReplicas":1,
                                           "currentRevision":"db-1","updateRevision":"db-2"}})",
       Health::kProgressing, "StatefulSet/db: waiting for statefulset rolling update to complete 1 pods at revision db-2..."},
      {"equal revisions and ready pods are Healthy",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},
           "spec":{"replicas":2},"status":{"observedGeneration":2,"readyReplicas":2,"updatedReplicas":2,
                                           "currentRevision":"db-2","updateRevision":"db-2"}})",
       Health::kHealthy, ""},
      {"OnDelete never rolls by itself: ready pods are Healthy whatever the revisions",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db","generation":2},
           "spec":{"replicas":2,"updateStrategy":{"type":"OnDelete"}},
           "status":{"observedGeneration":2,"readyReplicas":2,"currentRevision":"db-1","updateRevision":"db-2"}})",
       Health::kHealthy, ""},
  });
}

TEST(HealthTest, DaemonSetAndReplicaSetFollowTheirRollouts) {
  checkRows({
      {"DaemonSet: an unobserved spec is Progressing",
       R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":2},
           "status":{"observedGeneration":1}})",
       Health::kProgressing, "DaemonSet/agent: Waiting for daemon set spec update to be observed..."},
      {"DaemonSet: fewer updated than desired is Progressing",
       R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":1},
           "status":{"observedGeneration":1,"desiredNumberScheduled":3,"updatedNumberScheduled":1,"numberAvailable":3}})",
       Health::kProgressing,
       "DaemonSet/agent: Waiting for daemon set rollout to finish: 1 out of 3 new pods have been updated..."},
      {"DaemonSet: fewer available than desired is Progressing",
       R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":1},
           "status":{"observedGeneration":1,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberAvailable":2}})",
       Health::kProgressing,
       "DaemonSet/agent: Waiting for daemon set rollout to finish: 2 of 3 updated pods are available..."},
      {"DaemonSet: all updated and available is Healthy",
       R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":1},
           "status":{"observedGeneration":1,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberAvailable":3}})",
       Health::kHealthy, ""},
      {"DaemonSet: OnDelete is Healthy once observed",
       R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent","generation":1},
           "spec":{"updateStrategy":{"type":"OnDelete"}},
           "status":{"observedGeneration":1,"desiredNumberScheduled":3,"updatedNumberScheduled":0}})",
       Health::kHealthy, ""},
      {"ReplicaSet: ReplicaFailure is Degraded with its message",
       R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-1","generation":1},"spec":{"replicas":2},
           "status":{"observedGeneration":1,"conditions":[{"type":"ReplicaFailure","status":"True",
                     "reason":"FailedCreate","message":"pods \"web-1-x\" is forbidden: exceeded quota"}]}})",
       Health::kDegraded, "ReplicaSet/web-1: pods \"web-1-x\" is forbidden: exceeded quota"},
      {"ReplicaSet: fewer available than wanted is Progressing",
       R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-1","generation":1},"spec":{"replicas":2},
           "status":{"observedGeneration":1,"availableReplicas":1}})",
       Health::kProgressing, "ReplicaSet/web-1: Waiting for rollout to finish: 1 out of 2 new replicas are available..."},
      {"ReplicaSet: all available is Healthy",
       R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-1","generation":1},"spec":{"replicas":2},
           "status":{"observedGeneration":1,"availableReplicas":2}})",
       Health::kHealthy, ""},
  });
}

TEST(HealthTest, JobIsHealthyWhenCompleteAndDegradedWhenFailed) {
  checkRows({
      {"Complete=True is Healthy",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},
           "status":{"succeeded":1,"conditions":[{"type":"Complete","status":"True"}]}})",
       Health::kHealthy, ""},
      {"Failed=True is Degraded with the condition's message",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},
           "status":{"failed":7,"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded",
                     "message":"Job has reached the specified backoff limit"}]}})",
       Health::kDegraded, "Job/migrate: Job has reached the specified backoff limit"},
      {"Failed without a message names the reason",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},
           "status":{"conditions":[{"type":"Failed","status":"True","reason":"DeadlineExceeded"}]}})",
       Health::kDegraded, "Job/migrate: DeadlineExceeded"},
      {"a condition with status False does not count",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},
           "status":{"active":1,"conditions":[{"type":"Failed","status":"False"}]}})",
       Health::kProgressing, "Job/migrate: Job is running (1 active pods)"},
      {"no condition yet is Progressing",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"}})", Health::kProgressing,
       "Job/migrate: Job is running"},
      {"a suspended Job (Argo's Suspended) is Healthy with a note",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},
           "status":{"conditions":[{"type":"Suspended","status":"True"}]}})",
       Health::kHealthy, "Job/migrate: Job is suspended"},
  });
}

TEST(HealthTest, PodFollowsItsPhaseAndContainers) {
  checkRows({
      {"Pending is Progressing",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Pending"}})", Health::kProgressing,
       "Pod/p: Pod is pending"},
      {"Succeeded is Healthy",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Succeeded"}})", Health::kHealthy,
       ""},
      {"Failed is Degraded with the pod's message",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Failed","message":"Evicted"}})",
       Health::kDegraded, "Pod/p: Evicted"},
      {"Failed without a message names the container that failed",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Failed",
           "containerStatuses":[{"name":"app","state":{"terminated":{"exitCode":2}}}]}})",
       Health::kDegraded, "Pod/p: container \"app\" exited with status 2"},
      {"Running and Ready is Healthy",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Running",
           "conditions":[{"type":"Ready","status":"True"}]}})",
       Health::kHealthy, ""},
      {"Running, not ready, no restarts is Progressing",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Running",
           "conditions":[{"type":"Ready","status":"False"}],"containerStatuses":[{"name":"app","state":{"running":{}}}]}})",
       Health::kProgressing, "Pod/p: Pod is not ready"},
      {"Running, not ready, after a container terminated is Degraded",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Running",
           "containerStatuses":[{"name":"app","state":{"running":{}},"lastState":{"terminated":{"exitCode":1}}}]}})",
       Health::kDegraded, nullptr},
      {"CrashLoopBackOff under restartPolicy Always is Degraded",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Running",
           "containerStatuses":[{"name":"app","state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m"}}}]}})",
       Health::kDegraded, "Pod/p: CrashLoopBackOff: back-off 5m"},
      {"ErrImagePull of a run-to-completion pod (a hook) is left to its phase",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"restartPolicy":"Never"},
           "status":{"phase":"Pending","containerStatuses":[{"name":"app","state":{"waiting":{"reason":"ErrImagePull"}}}]}})",
       Health::kProgressing, "Pod/p: Pod is pending"},
      {"Running with restartPolicy Never is Progressing (it has yet to finish)",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"restartPolicy":"Never"},
           "status":{"phase":"Running"}})",
       Health::kProgressing, "Pod/p: Pod is running"},
      {"an unknown phase is Unknown",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"status":{"phase":"Unknown"}})", Health::kUnknown,
       "Pod/p: Pod phase is unknown"},
  });
}

TEST(HealthTest, NetworkingStorageAndAutoscaling) {
  checkRows({
      {"Service LoadBalancer without an ingress address is Progressing",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"type":"LoadBalancer"},
           "status":{"loadBalancer":{}}})",
       Health::kProgressing, "Service/web: Waiting for the load balancer's address"},
      {"Service LoadBalancer with an ingress address is Healthy",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"type":"LoadBalancer"},
           "status":{"loadBalancer":{"ingress":[{"ip":"10.0.0.1"}]}}})",
       Health::kHealthy, ""},
      {"Service ClusterIP is Healthy",
       R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"type":"ClusterIP"}})", Health::kHealthy,
       ""},
      {"Ingress without a load balancer address is Healthy (the address is optional)",
       R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web"},"status":{}})",
       Health::kHealthy, ""},
      {"PVC Bound is Healthy",
       R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"status":{"phase":"Bound"}})",
       Health::kHealthy, ""},
      {"PVC Pending is Progressing",
       R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"status":{"phase":"Pending"}})",
       Health::kProgressing, "PersistentVolumeClaim/data: PersistentVolumeClaim is pending"},
      {"PVC Lost is Degraded",
       R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},"status":{"phase":"Lost"}})",
       Health::kDegraded, nullptr},
      {"HPA v2 AbleToScale=True is Healthy",
       R"({"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web"},
           "status":{"conditions":[{"type":"AbleToScale","status":"True","reason":"SucceededRescale"}]}})",
       Health::kHealthy, ""},
      {"HPA v2 FailedGetResourceMetric is Degraded with its message",
       R"({"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web"},
           "status":{"conditions":[{"type":"ScalingActive","status":"False","reason":"FailedGetResourceMetric",
                     "message":"missing request for cpu"}]}})",
       Health::kDegraded, "HorizontalPodAutoscaler/web: missing request for cpu"},
      {"HPA without conditions is Progressing (Waiting to Autoscale)",
       R"({"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web"}})",
       Health::kProgressing, "HorizontalPodAutoscaler/web: Waiting to Autoscale"},
      {"HPA v1 reads its conditions from the annotation",
       R"({"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","annotations":{
           "autoscaling.alpha.kubernetes.io/conditions":"[{\"type\":\"AbleToScale\",\"status\":\"False\",\"reason\":\"FailedGetScale\",\"message\":\"no scale\"}]"}}})",
       Health::kDegraded, "HorizontalPodAutoscaler/web: no scale"},
      {"a kind without health rules is Healthy because it exists",
       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"}})", Health::kHealthy, ""},
      {"a custom resource is Healthy because it exists",
       R"({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"status":{"phase":"Broken"}})",
       Health::kHealthy, ""},
  });
}

TEST(HealthTest, MalformedFieldsReadAsAbsentInsteadOfAsserting) {
  checkRows({
      {"mistyped replica counts read as zero",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","generation":1},
           "spec":{"replicas":"three"},"status":{"observedGeneration":"1","conditions":"none"}})",
       Health::kProgressing, "Deployment/web: Waiting for deployment spec update to be observed..."},
      {"conditions that are not objects are skipped",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},"status":{"conditions":[1,"x",null]}})",
       Health::kProgressing, "Job/j: Job is running"},
      {"an unreadable HPA v1 annotation is Unknown",
       R"({"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","annotations":{
           "autoscaling.alpha.kubernetes.io/conditions":"[{"}}})",
       Health::kUnknown, nullptr},
  });
}

TEST(HealthTest, AggregateIsTheWorstAndJoinsWhatIsNotHealthy) {
  const HealthStatus healthy{Health::kHealthy, "Deployment/a: Deployment is paused"};
  const HealthStatus progressing{Health::kProgressing, "Deployment/b: waiting"};
  const HealthStatus degraded{Health::kDegraded, "Job/c: failed"};
  const HealthStatus missing = missingHealth("Service", "d");
  const HealthStatus unknown{Health::kUnknown, "Pod/e: Pod phase is unknown"};

  EXPECT_EQ(aggregate({}), (HealthStatus{Health::kHealthy, ""}));
  EXPECT_EQ(aggregate({healthy, healthy}), (HealthStatus{Health::kHealthy, ""}));
  EXPECT_EQ(aggregate({healthy, unknown}).health, Health::kUnknown);
  EXPECT_EQ(aggregate({unknown, progressing}).health, Health::kProgressing);
  EXPECT_EQ(aggregate({progressing, missing}).health, Health::kMissing);
  EXPECT_EQ(aggregate({missing, degraded, progressing}).health, Health::kDegraded);
  EXPECT_EQ(aggregate({healthy, progressing, degraded, missing}),
            (HealthStatus{Health::kDegraded, "Deployment/b: waiting; Job/c: failed; Service/d: not found"}));
  EXPECT_EQ(aggregateHealth({degraded}), aggregate({degraded}));
}

}  // namespace
}  // namespace kubeop::op
