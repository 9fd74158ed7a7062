// Kubernetes protobuf request bodies → JSON. See protobuf.h for the contract.
//
// Layout: (1) the schema vocabulary (Kind, Shape, Presence, Field, Message) and its builders;
// (2) the schema tables, one block per API group, fields listed in Go struct order so the JSON
// comes out in the order kubectl itself would print it; (3) the kind registry; (4) the wire
// reader and the decoder; (5) the public entry points.
//
// How Go's JSON encoding is reproduced, per field (Presence):
//   kOmitEmpty  a value field tagged omitempty: absent or zero ("" / 0 / false / empty) → omitted
//   kOptional   a pointer tagged omitempty: emitted exactly when it is on the wire, zero or not
//   kAlways     no omitempty: emitted always; absent → "" / 0 / false, or null for pointers,
//               slices, maps and bytes (nil in Go)
//   kEmbedded   a value struct (omitempty never applies to structs in Go): absent → the struct's
//               own defaults ({…}, Time → null, IntOrString → 0, Quantity → "0")
// Go's gogo-protobuf marshalling writes every non-pointer field (empty strings, zeros, empty
// structs) and the rules above drop what JSON would not show, so the output matches
// `kubectl create … --dry-run=client -o json` field for field (the tests compare the two).
#include "kubeop/sandbox/protobuf.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <utility>

namespace kubeop::sandbox {
namespace {

// =============================================================================================
// (1) Schema vocabulary.

enum class Kind : uint8_t {
  kString,       // proto string → JSON string (invalid UTF-8 → U+FFFD per byte, as Go does)
  kBytes,        // proto bytes → base64 (RFC 4648, padded)
  kInt32,        // varint, truncated to 32 bits
  kInt64,        // varint
  kBool,         // varint
  kMessage,      // nested message → JSON object
  kInline,       // Go `json:",inline"` embedded struct: its fields join the parent object
  kTime,         // meta/v1 Time {seconds=1, nanos=2}: RFC 3339 seconds, null when zero
  kMicroTime,    // meta/v1 MicroTime: RFC 3339 with 6 fractional digits, null when zero
  kQuantity,     // resource.Quantity {string=1} → its string
  kIntOrString,  // intstr {type=1, intVal=2, strVal=3} → number or string
  kFieldsV1,     // meta/v1 FieldsV1 {Raw=1}: JSON bytes embedded as a value
  kStringArray,  // a message {repeated string items=1} whose Go type is []string (ExtraValue)
};

enum class Shape : uint8_t {
  kOne,   // singular
  kList,  // repeated (varint kinds also accept the packed encoding)
  kMap,   // map<string, kind>: repeated entry {key=1, value=2}; JSON keys sorted like Go's
};

enum class Presence : uint8_t { kOmitEmpty, kOptional, kAlways, kEmbedded };

struct Message;

struct Field {
  uint32_t number;
  std::string_view name;  // JSON name (unused for kInline)
  Kind kind;
  Shape shape;
  Presence presence;
  const Message* message;  // kMessage / kInline: the element, value or embedded type
};

struct Message {
  std::string_view name;  // for error messages only
  std::span<const Field> fields;
};

constexpr Presence kOmit = Presence::kOmitEmpty;
constexpr Presence kPtr = Presence::kOptional;
constexpr Presence kReq = Presence::kAlways;
constexpr Presence kVal = Presence::kEmbedded;

constexpr Field scalar(uint32_t n, std::string_view name, Kind k, Shape s, Presence p) {
  return Field{n, name, k, s, p, nullptr};
}
constexpr Field str(uint32_t n, std::string_view name, Presence p = kOmit) {
  return scalar(n, name, Kind::kString, Shape::kOne, p);
}
constexpr Field strList(uint32_t n, std::string_view name, Presence p = kOmit) {
  return scalar(n, name, Kind::kString, Shape::kList, p);
}
constexpr Field strMap(uint32_t n, std::string_view name) {
  return scalar(n, name, Kind::kString, Shape::kMap, kOmit);
}
constexpr Field bytesMap(uint32_t n, std::string_view name) {
  return scalar(n, name, Kind::kBytes, Shape::kMap, kOmit);
}
constexpr Field i32(uint32_t n, std::string_view name, Presence p = kOmit) {
  return scalar(n, name, Kind::kInt32, Shape::kOne, p);
}
constexpr Field i32List(uint32_t n, std::string_view name, Presence p = kOmit) {
  return scalar(n, name, Kind::kInt32, Shape::kList, p);
}
constexpr Field i64(uint32_t n, std::string_view name, Presence p = kOmit) {
  return scalar(n, name, Kind::kInt64, Shape::kOne, p);
}
constexpr Field i64List(uint32_t n, std::string_view name, Presence p = kOmit) {
  return scalar(n, name, Kind::kInt64, Shape::kList, p);
}
constexpr Field boolean(uint32_t n, std::string_view name, Presence p = kOmit) {
  return scalar(n, name, Kind::kBool, Shape::kOne, p);
}
constexpr Field time(uint32_t n, std::string_view name, Presence p) {
  return scalar(n, name, Kind::kTime, Shape::kOne, p);
}
constexpr Field timeMap(uint32_t n, std::string_view name) {
  return scalar(n, name, Kind::kTime, Shape::kMap, kOmit);
}
constexpr Field microTime(uint32_t n, std::string_view name, Presence p) {
  return scalar(n, name, Kind::kMicroTime, Shape::kOne, p);
}
constexpr Field quantity(uint32_t n, std::string_view name, Presence p) {
  return scalar(n, name, Kind::kQuantity, Shape::kOne, p);
}
constexpr Field quantityMap(uint32_t n, std::string_view name) {
  return scalar(n, name, Kind::kQuantity, Shape::kMap, kOmit);
}
constexpr Field intOrString(uint32_t n, std::string_view name, Presence p) {
  return scalar(n, name, Kind::kIntOrString, Shape::kOne, p);
}
constexpr Field fieldsV1(uint32_t n, std::string_view name) {
  return scalar(n, name, Kind::kFieldsV1, Shape::kOne, kPtr);
}
constexpr Field stringArrayMap(uint32_t n, std::string_view name) {
  return scalar(n, name, Kind::kStringArray, Shape::kMap, kOmit);
}
// A nested message; kPtr (pointer, omitempty) unless said otherwise.
constexpr Field obj(uint32_t n, std::string_view name, const Message& m, Presence p = kPtr) {
  return Field{n, name, Kind::kMessage, Shape::kOne, p, &m};
}
constexpr Field objList(uint32_t n, std::string_view name, const Message& m, Presence p = kOmit) {
  return Field{n, name, Kind::kMessage, Shape::kList, p, &m};
}
constexpr Field inlined(uint32_t n, const Message& m) {
  return Field{n, {}, Kind::kInline, Shape::kOne, kVal, &m};
}
// The ObjectMeta of a top-level kind or template.
constexpr Field metadata(const Message& objectMeta) { return obj(1, "metadata", objectMeta, kVal); }

// =============================================================================================
// (2) Schema tables. Every message is declared first so tables may refer to any of them.

// meta/v1
extern const Message kObjectMeta, kOwnerReference, kManagedFieldsEntry, kLabelSelector,
    kLabelSelectorRequirement, kFieldSelectorRequirement, kCondition, kDeleteOptions, kPreconditions;
// core/v1
extern const Message kNamespace, kNamespaceSpec, kNamespaceStatus, kNamespaceCondition, kConfigMap, kSecret,
    kServiceAccount, kObjectReference, kLocalObjectReference, kTypedLocalObjectReference, kResourceQuota,
    kResourceQuotaSpec, kResourceQuotaStatus, kScopeSelector, kScopedResourceSelectorRequirement, kService,
    kServiceSpec, kServicePort, kSessionAffinityConfig, kClientIPConfig, kServiceStatus, kLoadBalancerStatus,
    kLoadBalancerIngress, kPortStatus, kPod, kPodStatus, kPodCondition, kHostIP, kPodIP, kPodTemplateSpec, kPodSpec,
    kContainer, kContainerPort, kEnvVar, kEnvVarSource, kConfigMapKeySelector, kSecretKeySelector,
    kObjectFieldSelector, kResourceFieldSelector, kFileKeySelector, kEnvFromSource, kConfigMapEnvSource,
    kSecretEnvSource, kResourceRequirements, kResourceClaim, kContainerResizePolicy, kVolumeMount,
    kVolumeDevice, kProbe, kProbeHandler, kExecAction, kHTTPGetAction, kHTTPHeader, kTCPSocketAction,
    kGRPCAction, kLifecycle, kLifecycleHandler, kSleepAction, kSecurityContext, kPodSecurityContext,
    kCapabilities, kSELinuxOptions, kSeccompProfile, kAppArmorProfile, kWindowsSecurityContextOptions,
    kSysctl, kVolume, kVolumeSource, kHostPathVolumeSource, kEmptyDirVolumeSource, kSecretVolumeSource,
    kNFSVolumeSource, kPersistentVolumeClaimVolumeSource, kConfigMapVolumeSource, kKeyToPath,
    kProjectedVolumeSource, kVolumeProjection, kSecretProjection, kConfigMapProjection,
    kDownwardAPIProjection, kDownwardAPIVolumeSource, kDownwardAPIVolumeFile,
    kServiceAccountTokenProjection, kCSIVolumeSource, kImageVolumeSource, kToleration, kHostAlias,
    kPodDNSConfig, kPodDNSConfigOption, kPodReadinessGate, kPodOS, kPodSchedulingGate, kPodResourceClaim,
    kTopologySpreadConstraint, kAffinity, kNodeAffinity, kNodeSelector, kNodeSelectorTerm,
    kNodeSelectorRequirement, kPreferredSchedulingTerm, kPodAffinity, kPodAntiAffinity, kPodAffinityTerm,
    kWeightedPodAffinityTerm;
// apps/v1
extern const Message kDeployment, kDeploymentSpec, kDeploymentStrategy, kRollingUpdateDeployment,
    kDeploymentStatus, kDeploymentCondition;
// batch/v1
extern const Message kJob, kJobSpec, kPodFailurePolicy, kPodFailurePolicyRule, kPodFailurePolicyOnExitCodes,
    kPodFailurePolicyOnPodConditions, kSuccessPolicy, kSuccessPolicyRule, kJobStatus, kJobCondition,
    kUncountedTerminatedPods, kCronJob, kCronJobSpec, kJobTemplateSpec, kCronJobStatus;
// rbac.authorization.k8s.io/v1
extern const Message kRole, kClusterRole, kAggregationRule, kRoleBinding, kClusterRoleBinding, kPolicyRule,
    kRoleRef, kSubject;
// networking.k8s.io/v1
extern const Message kIngress, kIngressSpec, kIngressTLS, kIngressRule, kIngressRuleValue,
    kHTTPIngressRuleValue, kHTTPIngressPath, kIngressBackend, kIngressServiceBackend, kServiceBackendPort,
    kIngressStatus, kIngressLoadBalancerStatus, kIngressLoadBalancerIngress, kIngressPortStatus;
// policy/v1, scheduling.k8s.io/v1, coordination.k8s.io/v1
extern const Message kPodDisruptionBudget, kPodDisruptionBudgetSpec, kPodDisruptionBudgetStatus, kEviction,
    kPriorityClass, kLease, kLeaseSpec;
// authentication.k8s.io/v1, authorization.k8s.io/v1
extern const Message kTokenRequest, kTokenRequestSpec, kTokenRequestStatus, kBoundObjectReference,
    kSelfSubjectReview, kSelfSubjectReviewStatus, kUserInfo, kSelfSubjectAccessReview,
    kSelfSubjectAccessReviewSpec, kResourceAttributes, kNonResourceAttributes, kFieldSelectorAttributes,
    kLabelSelectorAttributes, kSubjectAccessReviewStatus, kSelfSubjectRulesReview,
    kSelfSubjectRulesReviewSpec, kSubjectRulesReviewStatus, kResourceRule, kNonResourceRule;

#define KUBEOP_PB_MESSAGE(var, goName, ...)            \
  constexpr Field var##Fields[] = {__VA_ARGS__};        \
  const Message var{goName, var##Fields}

// --- meta/v1 ---------------------------------------------------------------------------------
KUBEOP_PB_MESSAGE(kObjectMeta, "ObjectMeta",
  str(1, "name"), str(2, "generateName"), str(3, "namespace"), str(4, "selfLink"), str(5, "uid"),
  str(6, "resourceVersion"), i64(7, "generation"), time(8, "creationTimestamp", kVal),
  time(9, "deletionTimestamp", kPtr), i64(10, "deletionGracePeriodSeconds", kPtr), strMap(11, "labels"),
  strMap(12, "annotations"), objList(13, "ownerReferences", kOwnerReference), strList(14, "finalizers"),
  objList(17, "managedFields", kManagedFieldsEntry));
KUBEOP_PB_MESSAGE(kOwnerReference, "OwnerReference",
  str(5, "apiVersion", kReq), str(1, "kind", kReq), str(3, "name", kReq), str(4, "uid", kReq),
  boolean(6, "controller", kPtr), boolean(7, "blockOwnerDeletion", kPtr));
KUBEOP_PB_MESSAGE(kManagedFieldsEntry, "ManagedFieldsEntry",
  str(1, "manager"), str(2, "operation"), str(3, "apiVersion"), time(4, "time", kPtr), str(6, "fieldsType"),
  fieldsV1(7, "fieldsV1"), str(8, "subresource"));
KUBEOP_PB_MESSAGE(kLabelSelector, "LabelSelector",
  strMap(1, "matchLabels"), objList(2, "matchExpressions", kLabelSelectorRequirement));
KUBEOP_PB_MESSAGE(kLabelSelectorRequirement, "LabelSelectorRequirement",
  str(1, "key", kReq), str(2, "operator", kReq), strList(3, "values"));
KUBEOP_PB_MESSAGE(kFieldSelectorRequirement, "FieldSelectorRequirement",
  str(1, "key", kReq), str(2, "operator", kReq), strList(3, "values"));
KUBEOP_PB_MESSAGE(kCondition, "Condition",
  str(1, "type", kReq), str(2, "status", kReq), i64(3, "observedGeneration"),
  time(4, "lastTransitionTime", kVal), str(5, "reason", kReq), str(6, "message", kReq));
KUBEOP_PB_MESSAGE(kDeleteOptions, "DeleteOptions",
  i64(1, "gracePeriodSeconds", kPtr), obj(2, "preconditions", kPreconditions),
  boolean(3, "orphanDependents", kPtr), str(4, "propagationPolicy", kPtr), strList(5, "dryRun"),
  boolean(6, "ignoreStoreReadErrorWithClusterBreakingPotential", kPtr));
KUBEOP_PB_MESSAGE(kPreconditions, "Preconditions", str(1, "uid", kPtr), str(2, "resourceVersion", kPtr));

// --- core/v1: simple kinds -------------------------------------------------------------------
KUBEOP_PB_MESSAGE(kNamespace, "Namespace",
  metadata(kObjectMeta), obj(2, "spec", kNamespaceSpec, kVal), obj(3, "status", kNamespaceStatus, kVal));
KUBEOP_PB_MESSAGE(kNamespaceSpec, "NamespaceSpec", strList(1, "finalizers"));
KUBEOP_PB_MESSAGE(kNamespaceStatus, "NamespaceStatus",
  str(1, "phase"), objList(2, "conditions", kNamespaceCondition));
KUBEOP_PB_MESSAGE(kNamespaceCondition, "NamespaceCondition",
  str(1, "type", kReq), str(2, "status", kReq), time(4, "lastTransitionTime", kVal), str(5, "reason"),
  str(6, "message"));
KUBEOP_PB_MESSAGE(kConfigMap, "ConfigMap",
  metadata(kObjectMeta), boolean(4, "immutable", kPtr), strMap(2, "data"), bytesMap(3, "binaryData"));
KUBEOP_PB_MESSAGE(kSecret, "Secret",
  metadata(kObjectMeta), boolean(5, "immutable", kPtr), bytesMap(2, "data"), strMap(4, "stringData"),
  str(3, "type"));
KUBEOP_PB_MESSAGE(kServiceAccount, "ServiceAccount",
  metadata(kObjectMeta), objList(2, "secrets", kObjectReference),
  objList(3, "imagePullSecrets", kLocalObjectReference), boolean(4, "automountServiceAccountToken", kPtr));
KUBEOP_PB_MESSAGE(kObjectReference, "ObjectReference",
  str(1, "kind"), str(2, "namespace"), str(3, "name"), str(4, "uid"), str(5, "apiVersion"),
  str(6, "resourceVersion"), str(7, "fieldPath"));
KUBEOP_PB_MESSAGE(kLocalObjectReference, "LocalObjectReference", str(1, "name"));
KUBEOP_PB_MESSAGE(kTypedLocalObjectReference, "TypedLocalObjectReference",
  str(1, "apiGroup", kReq), str(2, "kind", kReq), str(3, "name", kReq));
KUBEOP_PB_MESSAGE(kResourceQuota, "ResourceQuota",
  metadata(kObjectMeta), obj(2, "spec", kResourceQuotaSpec, kVal), obj(3, "status", kResourceQuotaStatus, kVal));
KUBEOP_PB_MESSAGE(kResourceQuotaSpec, "ResourceQuotaSpec",
  quantityMap(1, "hard"), strList(2, "scopes"), obj(3, "scopeSelector", kScopeSelector));
KUBEOP_PB_MESSAGE(kResourceQuotaStatus, "ResourceQuotaStatus", quantityMap(1, "hard"), quantityMap(2, "used"));
KUBEOP_PB_MESSAGE(kScopeSelector, "ScopeSelector",
  objList(1, "matchExpressions", kScopedResourceSelectorRequirement));
KUBEOP_PB_MESSAGE(kScopedResourceSelectorRequirement, "ScopedResourceSelectorRequirement",
  str(1, "scopeName", kReq), str(2, "operator", kReq), strList(3, "values"));

// --- core/v1: Service ------------------------------------------------------------------------
KUBEOP_PB_MESSAGE(kService, "Service",
  metadata(kObjectMeta), obj(2, "spec", kServiceSpec, kVal), obj(3, "status", kServiceStatus, kVal));
KUBEOP_PB_MESSAGE(kServiceSpec, "ServiceSpec",
  objList(1, "ports", kServicePort), strMap(2, "selector"), str(3, "clusterIP"), strList(18, "clusterIPs"),
  str(4, "type"), strList(5, "externalIPs"), str(7, "sessionAffinity"), str(8, "loadBalancerIP"),
  strList(9, "loadBalancerSourceRanges"), str(10, "externalName"), str(11, "externalTrafficPolicy"),
  i32(12, "healthCheckNodePort"), boolean(13, "publishNotReadyAddresses"),
  obj(14, "sessionAffinityConfig", kSessionAffinityConfig), strList(19, "ipFamilies"),
  str(17, "ipFamilyPolicy", kPtr), boolean(20, "allocateLoadBalancerNodePorts", kPtr),
  str(21, "loadBalancerClass", kPtr), str(22, "internalTrafficPolicy", kPtr),
  str(23, "trafficDistribution", kPtr));
KUBEOP_PB_MESSAGE(kServicePort, "ServicePort",
  str(1, "name"), str(2, "protocol"), str(6, "appProtocol", kPtr), i32(3, "port", kReq),
  intOrString(4, "targetPort", kVal), i32(5, "nodePort"));
KUBEOP_PB_MESSAGE(kSessionAffinityConfig, "SessionAffinityConfig", obj(1, "clientIP", kClientIPConfig));
KUBEOP_PB_MESSAGE(kClientIPConfig, "ClientIPConfig", i32(1, "timeoutSeconds", kPtr));
KUBEOP_PB_MESSAGE(kServiceStatus, "ServiceStatus",
  obj(1, "loadBalancer", kLoadBalancerStatus, kVal), objList(2, "conditions", kCondition));
KUBEOP_PB_MESSAGE(kLoadBalancerStatus, "LoadBalancerStatus", objList(1, "ingress", kLoadBalancerIngress));
KUBEOP_PB_MESSAGE(kLoadBalancerIngress, "LoadBalancerIngress",
  str(1, "ip"), str(2, "hostname"), str(3, "ipMode", kPtr), objList(4, "ports", kPortStatus));
KUBEOP_PB_MESSAGE(kPortStatus, "PortStatus",
  i32(1, "port", kReq), str(2, "protocol", kReq), str(3, "error", kPtr));

// --- core/v1: Pod, PodSpec, Container --------------------------------------------------------
KUBEOP_PB_MESSAGE(kPod, "Pod",
  metadata(kObjectMeta), obj(2, "spec", kPodSpec, kVal), obj(3, "status", kPodStatus, kVal));
KUBEOP_PB_MESSAGE(kPodStatus, "PodStatus",
  i64(17, "observedGeneration"), str(1, "phase"), objList(2, "conditions", kPodCondition), str(3, "message"),
  str(4, "reason"), str(11, "nominatedNodeName"), str(5, "hostIP"), objList(16, "hostIPs", kHostIP),
  str(6, "podIP"), objList(12, "podIPs", kPodIP), time(7, "startTime", kPtr), str(9, "qosClass"));
KUBEOP_PB_MESSAGE(kPodCondition, "PodCondition",
  str(1, "type", kReq), i64(7, "observedGeneration"), str(2, "status", kReq), time(3, "lastProbeTime", kVal),
  time(4, "lastTransitionTime", kVal), str(5, "reason"), str(6, "message"));
KUBEOP_PB_MESSAGE(kHostIP, "HostIP", str(1, "ip", kReq));
KUBEOP_PB_MESSAGE(kPodIP, "PodIP", str(1, "ip", kReq));
KUBEOP_PB_MESSAGE(kPodTemplateSpec, "PodTemplateSpec", metadata(kObjectMeta), obj(2, "spec", kPodSpec, kVal));
KUBEOP_PB_MESSAGE(kPodSpec, "PodSpec",
  objList(1, "volumes", kVolume), objList(20, "initContainers", kContainer),
  objList(2, "containers", kContainer, kReq), str(3, "restartPolicy"),
  i64(4, "terminationGracePeriodSeconds", kPtr), i64(5, "activeDeadlineSeconds", kPtr), str(6, "dnsPolicy"),
  strMap(7, "nodeSelector"), str(8, "serviceAccountName"), str(9, "serviceAccount"),
  boolean(21, "automountServiceAccountToken", kPtr), str(10, "nodeName"), boolean(11, "hostNetwork"),
  boolean(12, "hostPID"), boolean(13, "hostIPC"), boolean(27, "shareProcessNamespace", kPtr),
  obj(14, "securityContext", kPodSecurityContext), objList(15, "imagePullSecrets", kLocalObjectReference),
  str(16, "hostname"), str(17, "subdomain"), obj(18, "affinity", kAffinity), str(19, "schedulerName"),
  objList(22, "tolerations", kToleration), objList(23, "hostAliases", kHostAlias),
  str(24, "priorityClassName"), i32(25, "priority", kPtr), obj(26, "dnsConfig", kPodDNSConfig),
  objList(28, "readinessGates", kPodReadinessGate), str(29, "runtimeClassName", kPtr),
  boolean(30, "enableServiceLinks", kPtr), str(31, "preemptionPolicy", kPtr), quantityMap(32, "overhead"),
  objList(33, "topologySpreadConstraints", kTopologySpreadConstraint), boolean(35, "setHostnameAsFQDN", kPtr),
  obj(36, "os", kPodOS), boolean(37, "hostUsers", kPtr), objList(38, "schedulingGates", kPodSchedulingGate),
  objList(39, "resourceClaims", kPodResourceClaim), obj(40, "resources", kResourceRequirements),
  str(41, "hostnameOverride", kPtr));
KUBEOP_PB_MESSAGE(kContainer, "Container",
  str(1, "name", kReq), str(2, "image"), strList(3, "command"), strList(4, "args"), str(5, "workingDir"),
  objList(6, "ports", kContainerPort), objList(19, "envFrom", kEnvFromSource), objList(7, "env", kEnvVar),
  obj(8, "resources", kResourceRequirements, kVal), objList(23, "resizePolicy", kContainerResizePolicy),
  str(24, "restartPolicy", kPtr), objList(9, "volumeMounts", kVolumeMount),
  objList(21, "volumeDevices", kVolumeDevice), obj(10, "livenessProbe", kProbe),
  obj(11, "readinessProbe", kProbe), obj(22, "startupProbe", kProbe), obj(12, "lifecycle", kLifecycle),
  str(13, "terminationMessagePath"), str(20, "terminationMessagePolicy"), str(14, "imagePullPolicy"),
  obj(15, "securityContext", kSecurityContext), boolean(16, "stdin"), boolean(17, "stdinOnce"),
  boolean(18, "tty"));
KUBEOP_PB_MESSAGE(kContainerPort, "ContainerPort",
  str(1, "name"), i32(2, "hostPort"), i32(3, "containerPort", kReq), str(4, "protocol"), str(5, "hostIP"));
KUBEOP_PB_MESSAGE(kEnvVar, "EnvVar", str(1, "name", kReq), str(2, "value"), obj(3, "valueFrom", kEnvVarSource));
KUBEOP_PB_MESSAGE(kEnvVarSource, "EnvVarSource",
  obj(1, "fieldRef", kObjectFieldSelector), obj(2, "resourceFieldRef", kResourceFieldSelector),
  obj(3, "configMapKeyRef", kConfigMapKeySelector), obj(4, "secretKeyRef", kSecretKeySelector),
  obj(5, "fileKeyRef", kFileKeySelector));
KUBEOP_PB_MESSAGE(kConfigMapKeySelector, "ConfigMapKeySelector",
  inlined(1, kLocalObjectReference), str(2, "key", kReq), boolean(3, "optional", kPtr));
KUBEOP_PB_MESSAGE(kSecretKeySelector, "SecretKeySelector",
  inlined(1, kLocalObjectReference), str(2, "key", kReq), boolean(3, "optional", kPtr));
KUBEOP_PB_MESSAGE(kObjectFieldSelector, "ObjectFieldSelector", str(1, "apiVersion"), str(2, "fieldPath", kReq));
KUBEOP_PB_MESSAGE(kResourceFieldSelector, "ResourceFieldSelector",
  str(1, "containerName"), str(2, "resource", kReq), quantity(3, "divisor", kVal));
KUBEOP_PB_MESSAGE(kFileKeySelector, "FileKeySelector",
  str(1, "volumeName", kReq), str(2, "path", kReq), str(3, "key", kReq), boolean(4, "optional", kPtr));
KUBEOP_PB_MESSAGE(kEnvFromSource, "EnvFromSource",
  str(1, "prefix"), obj(2, "configMapRef", kConfigMapEnvSource), obj(3, "secretRef", kSecretEnvSource));
KUBEOP_PB_MESSAGE(kConfigMapEnvSource, "ConfigMapEnvSource",
  inlined(1, kLocalObjectReference), boolean(2, "optional", kPtr));
KUBEOP_PB_MESSAGE(kSecretEnvSource, "SecretEnvSource",
  inlined(1, kLocalObjectReference), boolean(2, "optional", kPtr));
KUBEOP_PB_MESSAGE(kResourceRequirements, "ResourceRequirements",
  quantityMap(1, "limits"), quantityMap(2, "requests"), objList(3, "claims", kResourceClaim));
KUBEOP_PB_MESSAGE(kResourceClaim, "ResourceClaim", str(1, "name", kReq), str(2, "request"));
KUBEOP_PB_MESSAGE(kContainerResizePolicy, "ContainerResizePolicy",
  str(1, "resourceName", kReq), str(2, "restartPolicy", kReq));
KUBEOP_PB_MESSAGE(kVolumeMount, "VolumeMount",
  str(1, "name", kReq), boolean(2, "readOnly"), str(7, "recursiveReadOnly", kPtr), str(3, "mountPath", kReq),
  str(4, "subPath"), str(5, "mountPropagation", kPtr), str(6, "subPathExpr"), strList(8, "bindMountOptions"));
KUBEOP_PB_MESSAGE(kVolumeDevice, "VolumeDevice", str(1, "name", kReq), str(2, "devicePath", kReq));
KUBEOP_PB_MESSAGE(kProbe, "Probe",
  inlined(1, kProbeHandler), i32(2, "initialDelaySeconds"), i32(3, "timeoutSeconds"), i32(4, "periodSeconds"),
  i32(5, "successThreshold"), i32(6, "failureThreshold"), i64(7, "terminationGracePeriodSeconds", kPtr));
KUBEOP_PB_MESSAGE(kProbeHandler, "ProbeHandler",
  obj(1, "exec", kExecAction), obj(2, "httpGet", kHTTPGetAction), obj(3, "tcpSocket", kTCPSocketAction),
  obj(4, "grpc", kGRPCAction));
KUBEOP_PB_MESSAGE(kExecAction, "ExecAction", strList(1, "command"));
KUBEOP_PB_MESSAGE(kHTTPGetAction, "HTTPGetAction",
  str(1, "path"), intOrString(2, "port", kVal), str(3, "host"), str(4, "scheme"),
  objList(5, "httpHeaders", kHTTPHeader), str(6, "protocol", kPtr));
KUBEOP_PB_MESSAGE(kHTTPHeader, "HTTPHeader", str(1, "name", kReq), str(2, "value", kReq));
KUBEOP_PB_MESSAGE(kTCPSocketAction, "TCPSocketAction", intOrString(1, "port", kVal), str(2, "host"));
KUBEOP_PB_MESSAGE(kGRPCAction, "GRPCAction", i32(1, "port", kReq), str(2, "service", kReq), str(3, "mode", kPtr));
KUBEOP_PB_MESSAGE(kLifecycle, "Lifecycle",
  obj(1, "postStart", kLifecycleHandler), obj(2, "preStop", kLifecycleHandler), str(3, "stopSignal", kPtr));
KUBEOP_PB_MESSAGE(kLifecycleHandler, "LifecycleHandler",
  obj(1, "exec", kExecAction), obj(2, "httpGet", kHTTPGetAction), obj(3, "tcpSocket", kTCPSocketAction),
  obj(4, "sleep", kSleepAction));
KUBEOP_PB_MESSAGE(kSleepAction, "SleepAction", i64(1, "seconds", kReq));
KUBEOP_PB_MESSAGE(kSecurityContext, "SecurityContext",
  obj(1, "capabilities", kCapabilities), boolean(2, "privileged", kPtr), obj(3, "seLinuxOptions", kSELinuxOptions),
  obj(10, "windowsOptions", kWindowsSecurityContextOptions), i64(4, "runAsUser", kPtr),
  i64(8, "runAsGroup", kPtr), boolean(5, "runAsNonRoot", kPtr), boolean(6, "readOnlyRootFilesystem", kPtr),
  boolean(7, "allowPrivilegeEscalation", kPtr), str(9, "procMount", kPtr),
  obj(11, "seccompProfile", kSeccompProfile), obj(12, "appArmorProfile", kAppArmorProfile));
KUBEOP_PB_MESSAGE(kPodSecurityContext, "PodSecurityContext",
  obj(1, "seLinuxOptions", kSELinuxOptions), obj(8, "windowsOptions", kWindowsSecurityContextOptions),
  i64(2, "runAsUser", kPtr), i64(6, "runAsGroup", kPtr), boolean(3, "runAsNonRoot", kPtr),
  i64List(4, "supplementalGroups"), str(12, "supplementalGroupsPolicy", kPtr), i64(5, "fsGroup", kPtr),
  objList(7, "sysctls", kSysctl), str(9, "fsGroupChangePolicy", kPtr), obj(10, "seccompProfile", kSeccompProfile),
  obj(11, "appArmorProfile", kAppArmorProfile), str(13, "seLinuxChangePolicy", kPtr));
KUBEOP_PB_MESSAGE(kCapabilities, "Capabilities", strList(1, "add"), strList(2, "drop"));
KUBEOP_PB_MESSAGE(kSELinuxOptions, "SELinuxOptions", str(1, "user"), str(2, "role"), str(3, "type"), str(4, "level"));
KUBEOP_PB_MESSAGE(kSeccompProfile, "SeccompProfile", str(1, "type", kReq), str(2, "localhostProfile", kPtr));
KUBEOP_PB_MESSAGE(kAppArmorProfile, "AppArmorProfile", str(1, "type", kReq), str(2, "localhostProfile", kPtr));
KUBEOP_PB_MESSAGE(kWindowsSecurityContextOptions, "WindowsSecurityContextOptions",
  str(1, "gmsaCredentialSpecName", kPtr), str(2, "gmsaCredentialSpec", kPtr), str(3, "runAsUserName", kPtr),
  boolean(4, "hostProcess", kPtr));
KUBEOP_PB_MESSAGE(kSysctl, "Sysctl", str(1, "name", kReq), str(2, "value", kReq));

// --- core/v1: volumes (the common sources; the deprecated in-tree cloud ones are skipped) ----
KUBEOP_PB_MESSAGE(kVolume, "Volume", str(1, "name", kReq), inlined(2, kVolumeSource));
KUBEOP_PB_MESSAGE(kVolumeSource, "VolumeSource",
  obj(1, "hostPath", kHostPathVolumeSource), obj(2, "emptyDir", kEmptyDirVolumeSource),
  obj(6, "secret", kSecretVolumeSource), obj(7, "nfs", kNFSVolumeSource),
  obj(10, "persistentVolumeClaim", kPersistentVolumeClaimVolumeSource),
  obj(16, "downwardAPI", kDownwardAPIVolumeSource), obj(19, "configMap", kConfigMapVolumeSource),
  obj(26, "projected", kProjectedVolumeSource), obj(28, "csi", kCSIVolumeSource),
  obj(30, "image", kImageVolumeSource));
KUBEOP_PB_MESSAGE(kHostPathVolumeSource, "HostPathVolumeSource", str(1, "path", kReq), str(2, "type", kPtr));
KUBEOP_PB_MESSAGE(kEmptyDirVolumeSource, "EmptyDirVolumeSource",
  str(1, "medium"), quantity(2, "sizeLimit", kPtr), i32(3, "mode", kPtr));
KUBEOP_PB_MESSAGE(kSecretVolumeSource, "SecretVolumeSource",
  str(1, "secretName"), objList(2, "items", kKeyToPath), i32(3, "defaultMode", kPtr),
  boolean(4, "optional", kPtr), i64(5, "defaultUser", kPtr));
KUBEOP_PB_MESSAGE(kNFSVolumeSource, "NFSVolumeSource",
  str(1, "server", kReq), str(2, "path", kReq), boolean(3, "readOnly"));
KUBEOP_PB_MESSAGE(kPersistentVolumeClaimVolumeSource, "PersistentVolumeClaimVolumeSource",
  str(1, "claimName", kReq), boolean(2, "readOnly"));
KUBEOP_PB_MESSAGE(kConfigMapVolumeSource, "ConfigMapVolumeSource",
  inlined(1, kLocalObjectReference), objList(2, "items", kKeyToPath), i32(3, "defaultMode", kPtr),
  boolean(4, "optional", kPtr), i64(5, "defaultUser", kPtr));
KUBEOP_PB_MESSAGE(kKeyToPath, "KeyToPath",
  str(1, "key", kReq), str(2, "path", kReq), i32(3, "mode", kPtr), i64(4, "user", kPtr));
KUBEOP_PB_MESSAGE(kProjectedVolumeSource, "ProjectedVolumeSource",
  objList(1, "sources", kVolumeProjection, kReq), i32(2, "defaultMode", kPtr), i64(3, "defaultUser", kPtr));
KUBEOP_PB_MESSAGE(kVolumeProjection, "VolumeProjection",
  obj(1, "secret", kSecretProjection), obj(2, "downwardAPI", kDownwardAPIProjection),
  obj(3, "configMap", kConfigMapProjection), obj(4, "serviceAccountToken", kServiceAccountTokenProjection));
KUBEOP_PB_MESSAGE(kSecretProjection, "SecretProjection",
  inlined(1, kLocalObjectReference), objList(2, "items", kKeyToPath), boolean(4, "optional", kPtr));
KUBEOP_PB_MESSAGE(kConfigMapProjection, "ConfigMapProjection",
  inlined(1, kLocalObjectReference), objList(2, "items", kKeyToPath), boolean(4, "optional", kPtr));
KUBEOP_PB_MESSAGE(kDownwardAPIProjection, "DownwardAPIProjection", objList(1, "items", kDownwardAPIVolumeFile));
KUBEOP_PB_MESSAGE(kDownwardAPIVolumeSource, "DownwardAPIVolumeSource",
  objList(1, "items", kDownwardAPIVolumeFile), i32(2, "defaultMode", kPtr), i64(3, "defaultUser", kPtr));
KUBEOP_PB_MESSAGE(kDownwardAPIVolumeFile, "DownwardAPIVolumeFile",
  str(1, "path", kReq), obj(2, "fieldRef", kObjectFieldSelector),
  obj(3, "resourceFieldRef", kResourceFieldSelector), i32(4, "mode", kPtr), i64(5, "user", kPtr));
KUBEOP_PB_MESSAGE(kServiceAccountTokenProjection, "ServiceAccountTokenProjection",
  str(1, "audience"), i64(2, "expirationSeconds", kPtr), str(3, "path", kReq), i64(4, "user", kPtr));
KUBEOP_PB_MESSAGE(kCSIVolumeSource, "CSIVolumeSource",
  str(1, "driver", kReq), boolean(2, "readOnly", kPtr), str(3, "fsType", kPtr), strMap(4, "volumeAttributes"),
  obj(5, "nodePublishSecretRef", kLocalObjectReference));
KUBEOP_PB_MESSAGE(kImageVolumeSource, "ImageVolumeSource", str(1, "reference"), str(2, "pullPolicy"));

// --- core/v1: scheduling pieces of PodSpec ---------------------------------------------------
KUBEOP_PB_MESSAGE(kToleration, "Toleration",
  str(1, "key"), str(2, "operator"), str(3, "value"), str(4, "effect"), i64(5, "tolerationSeconds", kPtr));
KUBEOP_PB_MESSAGE(kHostAlias, "HostAlias", str(1, "ip", kReq), strList(2, "hostnames"));
KUBEOP_PB_MESSAGE(kPodDNSConfig, "PodDNSConfig",
  strList(1, "nameservers"), strList(2, "searches"), objList(3, "options", kPodDNSConfigOption));
KUBEOP_PB_MESSAGE(kPodDNSConfigOption, "PodDNSConfigOption", str(1, "name"), str(2, "value", kPtr));
KUBEOP_PB_MESSAGE(kPodReadinessGate, "PodReadinessGate", str(1, "conditionType", kReq));
KUBEOP_PB_MESSAGE(kPodOS, "PodOS", str(1, "name", kReq));
KUBEOP_PB_MESSAGE(kPodSchedulingGate, "PodSchedulingGate", str(1, "name", kReq));
KUBEOP_PB_MESSAGE(kPodResourceClaim, "PodResourceClaim",
  str(1, "name", kReq), str(3, "resourceClaimName", kPtr), str(4, "resourceClaimTemplateName", kPtr));
KUBEOP_PB_MESSAGE(kTopologySpreadConstraint, "TopologySpreadConstraint",
  i32(1, "maxSkew", kReq), str(2, "topologyKey", kReq), str(3, "whenUnsatisfiable", kReq),
  obj(4, "labelSelector", kLabelSelector), i32(5, "minDomains", kPtr), str(6, "nodeAffinityPolicy", kPtr),
  str(7, "nodeTaintsPolicy", kPtr), strList(8, "matchLabelKeys"));
KUBEOP_PB_MESSAGE(kAffinity, "Affinity",
  obj(1, "nodeAffinity", kNodeAffinity), obj(2, "podAffinity", kPodAffinity),
  obj(3, "podAntiAffinity", kPodAntiAffinity));
KUBEOP_PB_MESSAGE(kNodeAffinity, "NodeAffinity",
  obj(1, "requiredDuringSchedulingIgnoredDuringExecution", kNodeSelector),
  objList(2, "preferredDuringSchedulingIgnoredDuringExecution", kPreferredSchedulingTerm));
KUBEOP_PB_MESSAGE(kNodeSelector, "NodeSelector", objList(1, "nodeSelectorTerms", kNodeSelectorTerm, kReq));
KUBEOP_PB_MESSAGE(kNodeSelectorTerm, "NodeSelectorTerm",
  objList(1, "matchExpressions", kNodeSelectorRequirement), objList(2, "matchFields", kNodeSelectorRequirement));
KUBEOP_PB_MESSAGE(kNodeSelectorRequirement, "NodeSelectorRequirement",
  str(1, "key", kReq), str(2, "operator", kReq), strList(3, "values"));
KUBEOP_PB_MESSAGE(kPreferredSchedulingTerm, "PreferredSchedulingTerm",
  i32(1, "weight", kReq), obj(2, "preference", kNodeSelectorTerm, kVal));
KUBEOP_PB_MESSAGE(kPodAffinity, "PodAffinity",
  objList(1, "requiredDuringSchedulingIgnoredDuringExecution", kPodAffinityTerm),
  objList(2, "preferredDuringSchedulingIgnoredDuringExecution", kWeightedPodAffinityTerm));
KUBEOP_PB_MESSAGE(kPodAntiAffinity, "PodAntiAffinity",
  objList(1, "requiredDuringSchedulingIgnoredDuringExecution", kPodAffinityTerm),
  objList(2, "preferredDuringSchedulingIgnoredDuringExecution", kWeightedPodAffinityTerm));
KUBEOP_PB_MESSAGE(kPodAffinityTerm, "PodAffinityTerm",
  obj(1, "labelSelector", kLabelSelector), strList(2, "namespaces"), str(3, "topologyKey", kReq),
  obj(4, "namespaceSelector", kLabelSelector), strList(5, "matchLabelKeys"), strList(6, "mismatchLabelKeys"));
KUBEOP_PB_MESSAGE(kWeightedPodAffinityTerm, "WeightedPodAffinityTerm",
  i32(1, "weight", kReq), obj(2, "podAffinityTerm", kPodAffinityTerm, kVal));

// --- apps/v1 ---------------------------------------------------------------------------------
KUBEOP_PB_MESSAGE(kDeployment, "Deployment",
  metadata(kObjectMeta), obj(2, "spec", kDeploymentSpec, kVal), obj(3, "status", kDeploymentStatus, kVal));
KUBEOP_PB_MESSAGE(kDeploymentSpec, "DeploymentSpec",
  i32(1, "replicas", kPtr), obj(2, "selector", kLabelSelector, kReq), obj(3, "template", kPodTemplateSpec, kVal),
  obj(4, "strategy", kDeploymentStrategy, kVal), i32(5, "minReadySeconds"), i32(6, "revisionHistoryLimit", kPtr),
  boolean(7, "paused"), i32(9, "progressDeadlineSeconds", kPtr));
KUBEOP_PB_MESSAGE(kDeploymentStrategy, "DeploymentStrategy",
  str(1, "type"), obj(2, "rollingUpdate", kRollingUpdateDeployment));
KUBEOP_PB_MESSAGE(kRollingUpdateDeployment, "RollingUpdateDeployment",
  intOrString(1, "maxUnavailable", kPtr), intOrString(2, "maxSurge", kPtr));
KUBEOP_PB_MESSAGE(kDeploymentStatus, "DeploymentStatus",
  i64(1, "observedGeneration"), i32(2, "replicas"), i32(3, "updatedReplicas"), i32(7, "readyReplicas"),
  i32(4, "availableReplicas"), i32(5, "unavailableReplicas"), i32(9, "terminatingReplicas", kPtr),
  objList(6, "conditions", kDeploymentCondition), i32(8, "collisionCount", kPtr));
KUBEOP_PB_MESSAGE(kDeploymentCondition, "DeploymentCondition",
  str(1, "type", kReq), str(2, "status", kReq), time(6, "lastUpdateTime", kVal),
  time(7, "lastTransitionTime", kVal), str(4, "reason"), str(5, "message"));

// --- batch/v1 --------------------------------------------------------------------------------
KUBEOP_PB_MESSAGE(kJob, "Job",
  metadata(kObjectMeta), obj(2, "spec", kJobSpec, kVal), obj(3, "status", kJobStatus, kVal));
KUBEOP_PB_MESSAGE(kJobSpec, "JobSpec",
  i32(1, "parallelism", kPtr), i32(2, "completions", kPtr), i64(3, "activeDeadlineSeconds", kPtr),
  obj(11, "podFailurePolicy", kPodFailurePolicy), obj(16, "successPolicy", kSuccessPolicy),
  i32(7, "backoffLimit", kPtr), i32(12, "backoffLimitPerIndex", kPtr), i32(13, "maxFailedIndexes", kPtr),
  obj(4, "selector", kLabelSelector), boolean(5, "manualSelector", kPtr), obj(6, "template", kPodTemplateSpec, kVal),
  i32(8, "ttlSecondsAfterFinished", kPtr), str(9, "completionMode", kPtr), boolean(10, "suspend", kPtr),
  str(14, "podReplacementPolicy", kPtr), str(15, "managedBy", kPtr));
KUBEOP_PB_MESSAGE(kPodFailurePolicy, "PodFailurePolicy", objList(1, "rules", kPodFailurePolicyRule, kReq));
KUBEOP_PB_MESSAGE(kPodFailurePolicyRule, "PodFailurePolicyRule",
  str(1, "action", kReq), obj(2, "onExitCodes", kPodFailurePolicyOnExitCodes),
  objList(3, "onPodConditions", kPodFailurePolicyOnPodConditions));
KUBEOP_PB_MESSAGE(kPodFailurePolicyOnExitCodes, "PodFailurePolicyOnExitCodesRequirement",
  str(1, "containerName", kPtr), str(2, "operator", kReq), i32List(3, "values", kReq));
KUBEOP_PB_MESSAGE(kPodFailurePolicyOnPodConditions, "PodFailurePolicyOnPodConditionsPattern",
  str(1, "type", kReq), str(2, "status", kReq));
KUBEOP_PB_MESSAGE(kSuccessPolicy, "SuccessPolicy", objList(1, "rules", kSuccessPolicyRule, kReq));
KUBEOP_PB_MESSAGE(kSuccessPolicyRule, "SuccessPolicyRule",
  str(1, "succeededIndexes", kPtr), i32(2, "succeededCount", kPtr));
KUBEOP_PB_MESSAGE(kJobStatus, "JobStatus",
  objList(1, "conditions", kJobCondition), time(2, "startTime", kPtr), time(3, "completionTime", kPtr),
  i32(4, "active"), i32(5, "succeeded"), i32(6, "failed"), i32(11, "terminating", kPtr),
  str(7, "completedIndexes"), str(10, "failedIndexes", kPtr),
  obj(8, "uncountedTerminatedPods", kUncountedTerminatedPods), i32(9, "ready", kPtr));
KUBEOP_PB_MESSAGE(kJobCondition, "JobCondition",
  str(1, "type", kReq), str(2, "status", kReq), time(3, "lastProbeTime", kVal), time(4, "lastTransitionTime", kVal),
  str(5, "reason"), str(6, "message"));
KUBEOP_PB_MESSAGE(kUncountedTerminatedPods, "UncountedTerminatedPods", strList(1, "succeeded"), strList(2, "failed"));
KUBEOP_PB_MESSAGE(kCronJob, "CronJob",
  metadata(kObjectMeta), obj(2, "spec", kCronJobSpec, kVal), obj(3, "status", kCronJobStatus, kVal));
KUBEOP_PB_MESSAGE(kCronJobSpec, "CronJobSpec",
  str(1, "schedule", kReq), str(8, "timeZone", kPtr), i64(2, "startingDeadlineSeconds", kPtr),
  str(3, "concurrencyPolicy"), boolean(4, "suspend", kPtr), obj(5, "jobTemplate", kJobTemplateSpec, kVal),
  i32(6, "successfulJobsHistoryLimit", kPtr), i32(7, "failedJobsHistoryLimit", kPtr));
KUBEOP_PB_MESSAGE(kJobTemplateSpec, "JobTemplateSpec", metadata(kObjectMeta), obj(2, "spec", kJobSpec, kVal));
KUBEOP_PB_MESSAGE(kCronJobStatus, "CronJobStatus",
  objList(1, "active", kObjectReference), time(4, "lastScheduleTime", kPtr), time(5, "lastSuccessfulTime", kPtr));

// --- rbac.authorization.k8s.io/v1 ------------------------------------------------------------
KUBEOP_PB_MESSAGE(kRole, "Role", metadata(kObjectMeta), objList(2, "rules", kPolicyRule, kReq));
KUBEOP_PB_MESSAGE(kClusterRole, "ClusterRole",
  metadata(kObjectMeta), objList(2, "rules", kPolicyRule, kReq), obj(3, "aggregationRule", kAggregationRule));
KUBEOP_PB_MESSAGE(kAggregationRule, "AggregationRule", objList(1, "clusterRoleSelectors", kLabelSelector));
KUBEOP_PB_MESSAGE(kRoleBinding, "RoleBinding",
  metadata(kObjectMeta), objList(2, "subjects", kSubject), obj(3, "roleRef", kRoleRef, kVal));
KUBEOP_PB_MESSAGE(kClusterRoleBinding, "ClusterRoleBinding",
  metadata(kObjectMeta), objList(2, "subjects", kSubject), obj(3, "roleRef", kRoleRef, kVal));
KUBEOP_PB_MESSAGE(kPolicyRule, "PolicyRule",
  strList(1, "verbs", kReq), strList(2, "apiGroups"), strList(3, "resources"), strList(4, "resourceNames"),
  strList(5, "nonResourceURLs"));
KUBEOP_PB_MESSAGE(kRoleRef, "RoleRef", str(1, "apiGroup", kReq), str(2, "kind", kReq), str(3, "name", kReq));
KUBEOP_PB_MESSAGE(kSubject, "Subject",
  str(1, "kind", kReq), str(2, "apiGroup"), str(3, "name", kReq), str(4, "namespace"));

// --- networking.k8s.io/v1 --------------------------------------------------------------------
KUBEOP_PB_MESSAGE(kIngress, "Ingress",
  metadata(kObjectMeta), obj(2, "spec", kIngressSpec, kVal), obj(3, "status", kIngressStatus, kVal));
KUBEOP_PB_MESSAGE(kIngressSpec, "IngressSpec",
  str(4, "ingressClassName", kPtr), obj(1, "defaultBackend", kIngressBackend), objList(2, "tls", kIngressTLS),
  objList(3, "rules", kIngressRule));
KUBEOP_PB_MESSAGE(kIngressTLS, "IngressTLS", strList(1, "hosts"), str(2, "secretName"));
KUBEOP_PB_MESSAGE(kIngressRule, "IngressRule", str(1, "host"), inlined(2, kIngressRuleValue));
KUBEOP_PB_MESSAGE(kIngressRuleValue, "IngressRuleValue", obj(1, "http", kHTTPIngressRuleValue));
KUBEOP_PB_MESSAGE(kHTTPIngressRuleValue, "HTTPIngressRuleValue", objList(1, "paths", kHTTPIngressPath, kReq));
KUBEOP_PB_MESSAGE(kHTTPIngressPath, "HTTPIngressPath",
  str(1, "path"), str(3, "pathType", kReq), obj(2, "backend", kIngressBackend, kVal));
KUBEOP_PB_MESSAGE(kIngressBackend, "IngressBackend",
  obj(4, "service", kIngressServiceBackend), obj(3, "resource", kTypedLocalObjectReference));
KUBEOP_PB_MESSAGE(kIngressServiceBackend, "IngressServiceBackend",
  str(1, "name", kReq), obj(2, "port", kServiceBackendPort, kVal));
KUBEOP_PB_MESSAGE(kServiceBackendPort, "ServiceBackendPort", str(1, "name"), i32(2, "number"));
KUBEOP_PB_MESSAGE(kIngressStatus, "IngressStatus", obj(1, "loadBalancer", kIngressLoadBalancerStatus, kVal));
KUBEOP_PB_MESSAGE(kIngressLoadBalancerStatus, "IngressLoadBalancerStatus",
  objList(1, "ingress", kIngressLoadBalancerIngress));
KUBEOP_PB_MESSAGE(kIngressLoadBalancerIngress, "IngressLoadBalancerIngress",
  str(1, "ip"), str(2, "hostname"), objList(4, "ports", kIngressPortStatus));
KUBEOP_PB_MESSAGE(kIngressPortStatus, "IngressPortStatus",
  i32(1, "port", kReq), str(2, "protocol", kReq), str(3, "error", kPtr));

// --- policy/v1, scheduling.k8s.io/v1, coordination.k8s.io/v1 --------------------------------
KUBEOP_PB_MESSAGE(kPodDisruptionBudget, "PodDisruptionBudget",
  metadata(kObjectMeta), obj(2, "spec", kPodDisruptionBudgetSpec, kVal),
  obj(3, "status", kPodDisruptionBudgetStatus, kVal));
KUBEOP_PB_MESSAGE(kPodDisruptionBudgetSpec, "PodDisruptionBudgetSpec",
  intOrString(1, "minAvailable", kPtr), obj(2, "selector", kLabelSelector), intOrString(3, "maxUnavailable", kPtr),
  str(4, "unhealthyPodEvictionPolicy", kPtr));
KUBEOP_PB_MESSAGE(kPodDisruptionBudgetStatus, "PodDisruptionBudgetStatus",
  i64(1, "observedGeneration"), timeMap(2, "disruptedPods"), i32(3, "disruptionsAllowed", kReq),
  i32(4, "currentHealthy", kReq), i32(5, "desiredHealthy", kReq), i32(6, "expectedPods", kReq),
  objList(7, "conditions", kCondition));
KUBEOP_PB_MESSAGE(kEviction, "Eviction", metadata(kObjectMeta), obj(2, "deleteOptions", kDeleteOptions));
KUBEOP_PB_MESSAGE(kPriorityClass, "PriorityClass",
  metadata(kObjectMeta), i32(2, "value", kReq), boolean(3, "globalDefault"), str(4, "description"),
  str(5, "preemptionPolicy", kPtr));
KUBEOP_PB_MESSAGE(kLease, "Lease", metadata(kObjectMeta), obj(2, "spec", kLeaseSpec, kVal));
KUBEOP_PB_MESSAGE(kLeaseSpec, "LeaseSpec",
  str(1, "holderIdentity", kPtr), i32(2, "leaseDurationSeconds", kPtr), microTime(3, "acquireTime", kPtr),
  microTime(4, "renewTime", kPtr), i32(5, "leaseTransitions", kPtr), str(6, "strategy", kPtr),
  str(7, "preferredHolder", kPtr));

// --- authentication.k8s.io/v1, authorization.k8s.io/v1 --------------------------------------
KUBEOP_PB_MESSAGE(kTokenRequest, "TokenRequest",
  metadata(kObjectMeta), obj(2, "spec", kTokenRequestSpec, kVal), obj(3, "status", kTokenRequestStatus, kVal));
KUBEOP_PB_MESSAGE(kTokenRequestSpec, "TokenRequestSpec",
  strList(1, "audiences", kReq), i64(4, "expirationSeconds", kReq),
  obj(3, "boundObjectRef", kBoundObjectReference, kReq));
KUBEOP_PB_MESSAGE(kTokenRequestStatus, "TokenRequestStatus",
  str(1, "token", kReq), time(2, "expirationTimestamp", kVal));
KUBEOP_PB_MESSAGE(kBoundObjectReference, "BoundObjectReference",
  str(1, "kind"), str(2, "apiVersion"), str(3, "name"), str(4, "uid"));
KUBEOP_PB_MESSAGE(kSelfSubjectReview, "SelfSubjectReview",
  metadata(kObjectMeta), obj(2, "status", kSelfSubjectReviewStatus, kVal));
KUBEOP_PB_MESSAGE(kSelfSubjectReviewStatus, "SelfSubjectReviewStatus", obj(1, "userInfo", kUserInfo, kVal));
KUBEOP_PB_MESSAGE(kUserInfo, "UserInfo",
  str(1, "username"), str(2, "uid"), strList(3, "groups"), stringArrayMap(4, "extra"));
KUBEOP_PB_MESSAGE(kSelfSubjectAccessReview, "SelfSubjectAccessReview",
  metadata(kObjectMeta), obj(2, "spec", kSelfSubjectAccessReviewSpec, kVal),
  obj(3, "status", kSubjectAccessReviewStatus, kVal));
KUBEOP_PB_MESSAGE(kSelfSubjectAccessReviewSpec, "SelfSubjectAccessReviewSpec",
  obj(1, "resourceAttributes", kResourceAttributes), obj(2, "nonResourceAttributes", kNonResourceAttributes));
KUBEOP_PB_MESSAGE(kResourceAttributes, "ResourceAttributes",
  str(1, "namespace"), str(2, "verb"), str(3, "group"), str(4, "version"), str(5, "resource"),
  str(6, "subresource"), str(7, "name"), obj(8, "fieldSelector", kFieldSelectorAttributes),
  obj(9, "labelSelector", kLabelSelectorAttributes));
KUBEOP_PB_MESSAGE(kFieldSelectorAttributes, "FieldSelectorAttributes",
  str(1, "rawSelector"), objList(2, "requirements", kFieldSelectorRequirement));
KUBEOP_PB_MESSAGE(kLabelSelectorAttributes, "LabelSelectorAttributes",
  str(1, "rawSelector"), objList(2, "requirements", kLabelSelectorRequirement));
KUBEOP_PB_MESSAGE(kNonResourceAttributes, "NonResourceAttributes", str(1, "path"), str(2, "verb"));
KUBEOP_PB_MESSAGE(kSubjectAccessReviewStatus, "SubjectAccessReviewStatus",
  boolean(1, "allowed", kReq), boolean(4, "denied"), str(2, "reason"), str(3, "evaluationError"));
KUBEOP_PB_MESSAGE(kSelfSubjectRulesReview, "SelfSubjectRulesReview",
  metadata(kObjectMeta), obj(2, "spec", kSelfSubjectRulesReviewSpec, kVal),
  obj(3, "status", kSubjectRulesReviewStatus, kVal));
KUBEOP_PB_MESSAGE(kSelfSubjectRulesReviewSpec, "SelfSubjectRulesReviewSpec", str(1, "namespace"));
KUBEOP_PB_MESSAGE(kSubjectRulesReviewStatus, "SubjectRulesReviewStatus",
  objList(1, "resourceRules", kResourceRule, kReq), objList(2, "nonResourceRules", kNonResourceRule, kReq),
  boolean(3, "incomplete", kReq), str(4, "evaluationError"));
KUBEOP_PB_MESSAGE(kResourceRule, "ResourceRule",
  strList(1, "verbs", kReq), strList(2, "apiGroups"), strList(3, "resources"), strList(4, "resourceNames"));
KUBEOP_PB_MESSAGE(kNonResourceRule, "NonResourceRule", strList(1, "verbs", kReq), strList(2, "nonResourceURLs"));

#undef KUBEOP_PB_MESSAGE

// =============================================================================================
// (3) The kinds a body may carry, by typeMeta. "*" matches any apiVersion (DeleteOptions is
// registered in every group version).

struct KindEntry {
  std::string_view apiVersion;
  std::string_view kind;
  const Message* message;
};

constexpr std::array kKinds = {
    KindEntry{"v1", "Namespace", &kNamespace},
    KindEntry{"v1", "ConfigMap", &kConfigMap},
    KindEntry{"v1", "Secret", &kSecret},
    KindEntry{"v1", "ServiceAccount", &kServiceAccount},
    KindEntry{"v1", "ResourceQuota", &kResourceQuota},
    KindEntry{"v1", "Service", &kService},
    KindEntry{"v1", "Pod", &kPod},
    KindEntry{"apps/v1", "Deployment", &kDeployment},
    KindEntry{"batch/v1", "Job", &kJob},
    KindEntry{"batch/v1", "CronJob", &kCronJob},
    KindEntry{"rbac.authorization.k8s.io/v1", "Role", &kRole},
    KindEntry{"rbac.authorization.k8s.io/v1", "ClusterRole", &kClusterRole},
    KindEntry{"rbac.authorization.k8s.io/v1", "RoleBinding", &kRoleBinding},
    KindEntry{"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", &kClusterRoleBinding},
    KindEntry{"networking.k8s.io/v1", "Ingress", &kIngress},
    KindEntry{"policy/v1", "PodDisruptionBudget", &kPodDisruptionBudget},
    KindEntry{"policy/v1", "Eviction", &kEviction},
    KindEntry{"scheduling.k8s.io/v1", "PriorityClass", &kPriorityClass},
    KindEntry{"coordination.k8s.io/v1", "Lease", &kLease},
    KindEntry{"authentication.k8s.io/v1", "TokenRequest", &kTokenRequest},
    KindEntry{"authentication.k8s.io/v1", "SelfSubjectReview", &kSelfSubjectReview},
    KindEntry{"authorization.k8s.io/v1", "SelfSubjectAccessReview", &kSelfSubjectAccessReview},
    KindEntry{"authorization.k8s.io/v1", "SelfSubjectRulesReview", &kSelfSubjectRulesReview},
    KindEntry{"*", "DeleteOptions", &kDeleteOptions},
};

const Message* findKind(std::string_view apiVersion, std::string_view kind) {
  for (const KindEntry& e : kKinds) {
    if (e.kind == kind && (e.apiVersion == "*" || e.apiVersion == apiVersion)) return e.message;
  }
  return nullptr;
}

// =============================================================================================
// (4) Wire reading and decoding.

constexpr int kMaxDepth = 100;                    // nested messages (and embedded JSON levels)
constexpr uint64_t kMaxFieldNumber = (1u << 29) - 1;

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// A bounds-checked view over bytes being read.
struct Cursor {
  const unsigned char* p;
  const unsigned char* end;

  explicit Cursor(std::string_view s)
      : p(reinterpret_cast<const unsigned char*>(s.data())), end(p + s.size()) {}
  bool empty() const { return p == end; }
  size_t left() const { return static_cast<size_t>(end - p); }

  // At most 10 bytes; false when truncated or overlong.
  bool varint(uint64_t& out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) return false;
      const unsigned char b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        out = v;
        return true;
      }
    }
    return false;
  }
  bool skip(size_t n) {
    if (left() < n) return false;
    p += n;
    return true;
  }
  // A length prefix and that many bytes.
  bool lengthDelimited(std::string_view& out) {
    uint64_t n = 0;
    if (!varint(n) || n > left()) return false;
    out = std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    p += n;
    return true;
  }
};

std::string wireTypeName(uint32_t wt) {
  switch (wt) {
    case kVarint: return "varint";
    case kFixed64: return "fixed64";
    case kLengthDelimited: return "length-delimited";
    case kStartGroup: return "start-group";
    case kEndGroup: return "end-group";
    case kFixed32: return "fixed32";
    default: return "invalid wire type " + std::to_string(wt);
  }
}

bool isVarintKind(Kind k) { return k == Kind::kInt32 || k == Kind::kInt64 || k == Kind::kBool; }

// Skips the value of field `number` whose tag (wire type `wt`) was just read. Returns "" or
// what is wrong. Groups (deprecated, but legal on the wire) nest up to `groupBudget` levels.
std::string skipValue(Cursor& c, uint32_t number, uint32_t wt, int groupBudget) {
  switch (wt) {
    case kVarint: {
      uint64_t v = 0;
      return c.varint(v) ? "" : "truncated varint";
    }
    case kFixed64:
      return c.skip(8) ? "" : "truncated fixed64";
    case kFixed32:
      return c.skip(4) ? "" : "truncated fixed32";
    case kLengthDelimited: {
      std::string_view ignored;
      return c.lengthDelimited(ignored) ? "" : "truncated length-delimited value";
    }
    case kStartGroup: {
      std::vector<uint32_t> open{number};
      while (!open.empty()) {
        uint64_t tag = 0;
        if (!c.varint(tag)) return "unterminated group";
        const uint64_t n = tag >> 3;
        const auto w = static_cast<uint32_t>(tag & 7);
        if (n == 0 || n > kMaxFieldNumber) return "invalid field number inside a group";
        if (w == kEndGroup) {
          if (n != open.back()) return "mismatched end-group";
          open.pop_back();
        } else if (w == kStartGroup) {
          if (static_cast<int>(open.size()) >= groupBudget) return "groups nested too deeply";
          open.push_back(static_cast<uint32_t>(n));
        } else {
          std::string err = skipValue(c, static_cast<uint32_t>(n), w, 0);
          if (!err.empty()) return err;
        }
      }
      return "";
    }
    case kEndGroup:
      return "end-group without a start-group";
    default:
      return "invalid wire type " + std::to_string(wt);
  }
}

// --- value rendering helpers -----------------------------------------------------------------

// Go's encoding/json writes each byte of an invalid UTF-8 sequence as U+FFFD.
std::string sanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  auto cont = [&](size_t at, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
    return at < n && b[at] >= lo && b[at] <= hi;
  };
  while (i < n) {
    const unsigned char c = b[i];
    size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = cont(i + 1) ? 2 : 0;
    } else if (c == 0xe0) {
      len = cont(i + 1, 0xa0) && cont(i + 2) ? 3 : 0;
    } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
      len = cont(i + 1) && cont(i + 2) ? 3 : 0;
    } else if (c == 0xed) {
      len = cont(i + 1, 0x80, 0x9f) && cont(i + 2) ? 3 : 0;
    } else if (c == 0xf0) {
      len = cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    } else if (c >= 0xf1 && c <= 0xf3) {
      len = cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    } else if (c == 0xf4) {
      len = cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    if (len == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

json::Value jsonString(std::string_view s, json::Allocator& a) {
  if (s.empty()) return json::Value(rapidjson::kStringType);  // also when s.data() is null
  if (isAscii(s)) return json::str(s, a);
  return json::str(sanitizeUtf8(s), a);
}

std::string base64(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  const auto* b = reinterpret_cast<const unsigned char*>(data.data());
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const size_t rest = data.size() - i; rest > 0) {
    const uint32_t v = (uint32_t{b[i]} << 16) | (rest == 2 ? uint32_t{b[i + 1]} << 8 : 0u);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Moves every member of object `from` to the end of object `to`.
void moveMembers(json::Value& from, json::Value& to, json::Allocator& a) {
  const auto first = from.MemberBegin();
  for (rapidjson::SizeType i = 0; i < from.MemberCount(); ++i) to.AddMember(first[i].name, first[i].value, a);
}

// Seconds since the epoch → civil UTC date and time (proleptic Gregorian).
struct Civil {
  int64_t year;
  unsigned month, day, hour, minute, second;
};

Civil civilFromUnix(int64_t seconds) {
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // Howard Hinnant's days_from_civil inverse.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  return Civil{y, m, d, static_cast<unsigned>(rem / 3600), static_cast<unsigned>(rem % 3600 / 60),
               static_cast<unsigned>(rem % 60)};
}

constexpr int64_t kGoZeroTimeUnix = -62135596800;  // 0001-01-01T00:00:00Z, Go's zero time.Time
constexpr int64_t kMaxRfc3339Unix = 253402300799;  // 9999-12-31T23:59:59Z

// Decodes one body's messages into JSON values allocated from the caller's document.
// Not thread-safe (one per decode); borrows the allocator and the body, which must outlive it.
// Errors name the byte offset in the body and the JSON path of the field being read.
class Decoder {
 public:
  Decoder(json::Allocator& alloc, std::string_view body) : alloc_(alloc), body_(body) {}

  // Decodes `data` as message `m` into `out` (made an object).
  Status decodeMessage(const Message& m, std::string_view data, json::Value& out) {
    if (depth_ >= kMaxDepth) {
      return fail(data.data(), "messages nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    ++depth_;
    Status st = decodeMessageFields(m, data, out);
    --depth_;
    return st;
  }

  // Embedded JSON (FieldsV1, a JSON runtime.Unknown): parsed with a nesting bound first so
  // neither the recursive parser nor the writer can be driven into a stack overflow.
  Status embedJson(std::string_view raw, json::Value& out) {
    if (raw.empty()) return fail(raw.data(), "embedded JSON is empty");
    if (!jsonDepthWithin(raw, kMaxDepth)) {
      return fail(raw.data(),
                  "embedded JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    auto parsed = json::parse(raw);
    if (!parsed.ok()) {
      return fail(raw.data(), "embedded " + parsed.status().message());
    }
    out.CopyFrom(*parsed, alloc_);
    return Status::ok();
  }

 private:
  struct Slot {
    bool present = false;
    json::Value value;                           // singular scalars, lists
    std::vector<std::string_view> chunks;        // singular messages: every occurrence, merged
    std::map<std::string, json::Value> entries;  // maps (sorted like Go's encoding/json)
  };

  Status decodeMessageFields(const Message& m, std::string_view data, json::Value& out) {
    std::vector<Slot> slots(m.fields.size());
    Cursor c(data);
    while (!c.empty()) {
      const unsigned char* at = c.p;
      uint64_t tag = 0;
      if (!c.varint(tag)) return fail(at, "truncated or overlong field tag in " + std::string(m.name));
      const uint64_t number = tag >> 3;
      const auto wt = static_cast<uint32_t>(tag & 7);
      if (number == 0 || number > kMaxFieldNumber) {
        return fail(at, "invalid field number " + std::to_string(number) + " in " + std::string(m.name));
      }
      const auto it = std::find_if(m.fields.begin(), m.fields.end(),
                                   [&](const Field& f) { return f.number == number; });
      if (it == m.fields.end()) {
        KUBEOP_RETURN_IF_ERROR(skipField(c, static_cast<uint32_t>(number), wt, at, m.name));
        continue;
      }
      const Field& f = *it;
      Slot& slot = slots[static_cast<size_t>(it - m.fields.begin())];
      path_.push_back(f.name.empty() ? f.message->name : f.name);
      Status st = readField(f, wt, c, at, slot);
      if (!st.isOk()) return st;
      path_.pop_back();
    }
    return assemble(m, slots, out);
  }

  Status readField(const Field& f, uint32_t wt, Cursor& c, const unsigned char* at, Slot& slot) {
    if (f.shape == Shape::kMap) {
      if (wt != kLengthDelimited) return wrongWireType(f, wt, at);
      std::string_view entry;
      if (!c.lengthDelimited(entry)) return fail(at, "truncated map entry");
      std::string key;
      json::Value value;
      KUBEOP_RETURN_IF_ERROR(decodeMapEntry(f, entry, key, value));
      slot.present = true;
      slot.entries.insert_or_assign(std::move(key), std::move(value));
      return Status::ok();
    }
    if (isVarintKind(f.kind)) {
      if (wt == kVarint) {
        uint64_t v = 0;
        if (!c.varint(v)) return fail(at, "truncated varint");
        put(f, slot, varintValue(f.kind, v));
        return Status::ok();
      }
      if (wt == kLengthDelimited && f.shape == Shape::kList) {  // packed
        std::string_view packed;
        if (!c.lengthDelimited(packed)) return fail(at, "truncated packed list");
        Cursor pc(packed);
        if (!slot.present) slot.value.SetArray();
        slot.present = true;
        while (!pc.empty()) {
          uint64_t v = 0;
          if (!pc.varint(v)) return fail(pc.p, "truncated varint in packed list");
          slot.value.PushBack(varintValue(f.kind, v), alloc_);
        }
        return Status::ok();
      }
      return wrongWireType(f, wt, at);
    }
    if (wt != kLengthDelimited) return wrongWireType(f, wt, at);
    std::string_view payload;
    if (!c.lengthDelimited(payload)) return fail(at, "truncated length-delimited field");
    if ((f.kind == Kind::kMessage || f.kind == Kind::kInline) && f.shape == Shape::kOne) {
      // Repeated occurrences of a singular message merge (protobuf semantics): decode later.
      slot.present = true;
      slot.chunks.push_back(payload);
      return Status::ok();
    }
    json::Value v;
    KUBEOP_RETURN_IF_ERROR(decodeValue(f.kind, f.message, payload, v));
    put(f, slot, std::move(v));
    return Status::ok();
  }

  void put(const Field& f, Slot& slot, json::Value v) {
    if (f.shape == Shape::kList) {
      if (!slot.present) slot.value.SetArray();
      slot.value.PushBack(v, alloc_);
    } else {
      slot.value = std::move(v);  // last one wins
    }
    slot.present = true;
  }

  json::Value varintValue(Kind k, uint64_t v) {
    switch (k) {
      case Kind::kInt32: return json::Value(static_cast<int32_t>(static_cast<uint32_t>(v)));
      case Kind::kInt64: return json::Value(static_cast<int64_t>(v));
      default: return json::Value(v != 0);
    }
  }

  // A length-delimited value of kind `k`.
  Status decodeValue(Kind k, const Message* m, std::string_view payload, json::Value& out) {
    switch (k) {
      case Kind::kString:
        out = jsonString(payload, alloc_);
        return Status::ok();
      case Kind::kBytes:
        out = jsonString(base64(payload), alloc_);
        return Status::ok();
      case Kind::kMessage:
      case Kind::kInline:
        return decodeMessage(*m, payload, out);
      case Kind::kTime:
      case Kind::kMicroTime:
        return decodeTime(payload, k == Kind::kMicroTime, out);
      case Kind::kQuantity:
        return decodeQuantity(payload, out);
      case Kind::kIntOrString:
        return decodeIntOrString(payload, out);
      case Kind::kFieldsV1:
        return decodeFieldsV1(payload, out);
      case Kind::kStringArray:
        return decodeStringArray(payload, out);
      case Kind::kInt32:
      case Kind::kInt64:
      case Kind::kBool:
        break;
    }
    return internalError("protobuf: varint kind decoded as length-delimited");
  }

  // The Go zero value of a kind: a map entry without its value, an unset embedded struct.
  Status goZero(Kind k, const Message* m, json::Value& out) {
    if (isVarintKind(k)) {
      out = varintValue(k, 0);
      return Status::ok();
    }
    return decodeValue(k, m, {}, out);
  }

  Status decodeMapEntry(const Field& f, std::string_view entry, std::string& key, json::Value& value) {
    Cursor c(entry);
    bool haveValue = false;
    while (!c.empty()) {
      const unsigned char* at = c.p;
      uint64_t tag = 0;
      if (!c.varint(tag)) return fail(at, "truncated tag in map entry");
      const uint64_t number = tag >> 3;
      const auto wt = static_cast<uint32_t>(tag & 7);
      if (number == 1) {
        std::string_view k;
        if (wt != kLengthDelimited || !c.lengthDelimited(k)) return fail(at, "malformed map key");
        key = isAscii(k) ? std::string(k) : sanitizeUtf8(k);
      } else if (number == 2) {
        if (isVarintKind(f.kind)) {
          uint64_t v = 0;
          if (wt != kVarint || !c.varint(v)) return fail(at, "malformed map value");
          value = varintValue(f.kind, v);
        } else {
          std::string_view payload;
          if (wt != kLengthDelimited || !c.lengthDelimited(payload)) return fail(at, "malformed map value");
          KUBEOP_RETURN_IF_ERROR(decodeValue(f.kind, f.message, payload, value));
        }
        haveValue = true;
      } else {
        if (number == 0 || number > kMaxFieldNumber) return fail(at, "invalid field number in map entry");
        KUBEOP_RETURN_IF_ERROR(skipField(c, static_cast<uint32_t>(number), wt, at, "map entry"));
      }
    }
    if (!haveValue) return goZero(f.kind, f.message, value);
    return Status::ok();
  }

  // meta/v1 Time and MicroTime ({seconds=1 int64, nanos=2 int32}); empty → Go's zero time.
  Status decodeTime(std::string_view payload, bool micro, json::Value& out) {
    int64_t seconds = 0;
    int64_t nanos = 0;
    Cursor c(payload);
    while (!c.empty()) {
      const unsigned char* at = c.p;
      uint64_t tag = 0;
      if (!c.varint(tag)) return fail(at, "truncated tag in timestamp");
      const uint64_t number = tag >> 3;
      const auto wt = static_cast<uint32_t>(tag & 7);
      if ((number == 1 || number == 2) && wt == kVarint) {
        uint64_t v = 0;
        if (!c.varint(v)) return fail(at, "truncated varint in timestamp");
        if (number == 1) {
          seconds = static_cast<int64_t>(v);
        } else {
          nanos = static_cast<int32_t>(static_cast<uint32_t>(v));
        }
      } else {
        if (number == 0 || number > kMaxFieldNumber) return fail(at, "invalid field number in timestamp");
        KUBEOP_RETURN_IF_ERROR(skipField(c, static_cast<uint32_t>(number), wt, at, "Timestamp"));
      }
    }
    if (payload.empty()) {
      out.SetNull();
      return Status::ok();
    }
    // Time keeps whole seconds (apimachinery drops nanos on decode); MicroTime truncates the
    // nanos to microseconds first and then normalises like time.Unix.
    int64_t micros = 0;
    if (micro) {
      nanos -= nanos % 1000;
      if (nanos >= 1000000000 || nanos < 0) {
        seconds += nanos / 1000000000;
        nanos %= 1000000000;
        if (nanos < 0) {
          nanos += 1000000000;
          --seconds;
        }
      }
      micros = nanos / 1000;
    }
    if (seconds == kGoZeroTimeUnix && micros == 0) {
      out.SetNull();
      return Status::ok();
    }
    if (seconds < kGoZeroTimeUnix || seconds > kMaxRfc3339Unix) {
      return fail(payload.data(),
                  "timestamp " + std::to_string(seconds) + "s is outside years 1-9999");
    }
    const Civil t = civilFromUnix(seconds);
    char buf[48];
    int n = 0;
    if (micro) {
      n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%06lldZ", static_cast<long long>(t.year),
                        t.month, t.day, t.hour, t.minute, t.second, static_cast<long long>(micros));
    } else {
      n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02uZ", static_cast<long long>(t.year), t.month,
                        t.day, t.hour, t.minute, t.second);
    }
    out = json::str(std::string_view(buf, static_cast<size_t>(n)), alloc_);
    return Status::ok();
  }

  // resource.Quantity {string=1}: the text verbatim; unset → "0" (Go's zero Quantity).
  Status decodeQuantity(std::string_view payload, json::Value& out) {
    std::string_view text = "0";
    Cursor c(payload);
    while (!c.empty()) {
      const unsigned char* at = c.p;
      uint64_t tag = 0;
      if (!c.varint(tag)) return fail(at, "truncated tag in quantity");
      const uint64_t number = tag >> 3;
      const auto wt = static_cast<uint32_t>(tag & 7);
      if (number == 1 && wt == kLengthDelimited) {
        if (!c.lengthDelimited(text)) return fail(at, "truncated quantity string");
      } else {
        if (number == 0 || number > kMaxFieldNumber) return fail(at, "invalid field number in quantity");
        KUBEOP_RETURN_IF_ERROR(skipField(c, static_cast<uint32_t>(number), wt, at, "Quantity"));
      }
    }
    out = jsonString(text, alloc_);
    return Status::ok();
  }

  // intstr.IntOrString {type=1 int64 (0 int, 1 string), intVal=2 int32, strVal=3 string}.
  Status decodeIntOrString(std::string_view payload, json::Value& out) {
    int64_t type = 0;
    int32_t intVal = 0;
    std::string_view strVal;
    Cursor c(payload);
    while (!c.empty()) {
      const unsigned char* at = c.p;
      uint64_t tag = 0;
      if (!c.varint(tag)) return fail(at, "truncated tag in IntOrString");
      const uint64_t number = tag >> 3;
      const auto wt = static_cast<uint32_t>(tag & 7);
      uint64_t v = 0;
      if (number == 1 && wt == kVarint) {
        if (!c.varint(v)) return fail(at, "truncated IntOrString type");
        type = static_cast<int64_t>(v);
      } else if (number == 2 && wt == kVarint) {
        if (!c.varint(v)) return fail(at, "truncated IntOrString intVal");
        intVal = static_cast<int32_t>(static_cast<uint32_t>(v));
      } else if (number == 3 && wt == kLengthDelimited) {
        if (!c.lengthDelimited(strVal)) return fail(at, "truncated IntOrString strVal");
      } else {
        if (number == 0 || number > kMaxFieldNumber) return fail(at, "invalid field number in IntOrString");
        KUBEOP_RETURN_IF_ERROR(skipField(c, static_cast<uint32_t>(number), wt, at, "IntOrString"));
      }
    }
    if (type == 0) {
      out = json::Value(intVal);
    } else if (type == 1) {
      out = jsonString(strVal, alloc_);
    } else {
      return fail(payload.data(),
                  "IntOrString type " + std::to_string(type) + " is neither 0 (int) nor 1 (string)");
    }
    return Status::ok();
  }

  // meta/v1 FieldsV1 {Raw=1 bytes}: the bytes are JSON, embedded as a value (absent → null).
  Status decodeFieldsV1(std::string_view payload, json::Value& out) {
    std::string_view raw;
    bool have = false;
    Cursor c(payload);
    while (!c.empty()) {
      const unsigned char* at = c.p;
      uint64_t tag = 0;
      if (!c.varint(tag)) return fail(at, "truncated tag in FieldsV1");
      const uint64_t number = tag >> 3;
      const auto wt = static_cast<uint32_t>(tag & 7);
      if (number == 1 && wt == kLengthDelimited) {
        if (!c.lengthDelimited(raw)) return fail(at, "truncated FieldsV1 raw");
        have = true;
      } else {
        if (number == 0 || number > kMaxFieldNumber) return fail(at, "invalid field number in FieldsV1");
        KUBEOP_RETURN_IF_ERROR(skipField(c, static_cast<uint32_t>(number), wt, at, "FieldsV1"));
      }
    }
    if (!have || raw.empty()) {
      out.SetNull();
      return Status::ok();
    }
    return embedJson(raw, out);
  }

  // authentication/v1 ExtraValue {repeated string items=1} → a JSON array.
  Status decodeStringArray(std::string_view payload, json::Value& out) {
    out.SetArray();
    Cursor c(payload);
    while (!c.empty()) {
      const unsigned char* at = c.p;
      uint64_t tag = 0;
      if (!c.varint(tag)) return fail(at, "truncated tag in string list");
      const uint64_t number = tag >> 3;
      const auto wt = static_cast<uint32_t>(tag & 7);
      if (number == 1 && wt == kLengthDelimited) {
        std::string_view s;
        if (!c.lengthDelimited(s)) return fail(at, "truncated string in string list");
        out.PushBack(jsonString(s, alloc_), alloc_);
      } else {
        if (number == 0 || number > kMaxFieldNumber) return fail(at, "invalid field number in string list");
        KUBEOP_RETURN_IF_ERROR(skipField(c, static_cast<uint32_t>(number), wt, at, "string list"));
      }
    }
    return Status::ok();
  }

  static bool jsonDepthWithin(std::string_view s, int limit) {
    int depth = 0;
    bool inString = false;
    for (size_t i = 0; i < s.size(); ++i) {
      const char ch = s[i];
      if (inString) {
        if (ch == '\\') {
          ++i;
        } else if (ch == '"') {
          inString = false;
        }
      } else if (ch == '"') {
        inString = true;
      } else if (ch == '{' || ch == '[') {
        if (++depth > limit) return false;
      } else if (ch == '}' || ch == ']') {
        --depth;
      }
    }
    return true;
  }

  // Builds the JSON object of message `m` from its slots, in table (Go struct) order.
  Status assemble(const Message& m, std::vector<Slot>& slots, json::Value& out) {
    out.SetObject();
    for (size_t i = 0; i < m.fields.size(); ++i) {
      const Field& f = m.fields[i];
      Slot& slot = slots[i];
      json::Value v;
      if ((f.kind == Kind::kMessage || f.kind == Kind::kInline) && f.shape == Shape::kOne) {
        if (!slot.present && f.presence != Presence::kEmbedded) {
          if (f.presence == Presence::kAlways) addMember(out, f.name, v);  // nil pointer → null
          continue;
        }
        path_.push_back(f.name.empty() ? f.message->name : f.name);
        KUBEOP_RETURN_IF_ERROR(decodeChunks(*f.message, slot.chunks, v));
        path_.pop_back();
        if (f.kind == Kind::kInline) {
          moveMembers(v, out, alloc_);
        } else {
          addMember(out, f.name, v);
        }
        continue;
      }
      if (f.shape == Shape::kMap && slot.present) {
        v.SetObject();
        for (auto& [key, value] : slot.entries) v.AddMember(json::str(key, alloc_), value, alloc_);
      } else if (slot.present) {
        v = std::move(slot.value);
      } else {
        switch (f.presence) {
          case Presence::kOmitEmpty:
          case Presence::kOptional:
            continue;
          case Presence::kAlways:
            v = nilOrZero(f);
            break;
          case Presence::kEmbedded:
            KUBEOP_RETURN_IF_ERROR(goZero(f.kind, f.message, v));
            break;
        }
      }
      if (f.presence == Presence::kOmitEmpty && isEmpty(v)) continue;
      addMember(out, f.name, v);
    }
    return Status::ok();
  }

  Status decodeChunks(const Message& m, const std::vector<std::string_view>& chunks, json::Value& out) {
    if (chunks.size() <= 1) return decodeMessage(m, chunks.empty() ? std::string_view() : chunks.front(), out);
    std::string merged;
    for (std::string_view ch : chunks) merged.append(ch);
    return decodeMessage(m, merged, out);
  }

  // What Go marshals for an unset non-omitempty field: "" / 0 / false, null for nil pointers,
  // slices, maps and bytes.
  json::Value nilOrZero(const Field& f) {
    if (f.shape != Shape::kOne) return json::Value();  // nil slice / map → null
    switch (f.kind) {
      case Kind::kString: return json::Value(rapidjson::kStringType);
      case Kind::kInt32:
      case Kind::kInt64: return json::Value(0);
      case Kind::kBool: return json::Value(false);
      default: return json::Value();  // nil pointer / bytes → null
    }
  }

  static bool isEmpty(const json::Value& v) {
    if (v.IsString()) return v.GetStringLength() == 0;
    if (v.IsBool()) return !v.GetBool();
    if (v.IsNumber()) return v.IsInt64() && v.GetInt64() == 0;
    if (v.IsArray()) return v.Empty();
    if (v.IsObject()) return v.MemberCount() == 0;
    return v.IsNull();
  }

  void addMember(json::Value& obj, std::string_view name, json::Value& v) {
    obj.AddMember(json::Value(rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size()))), v,
                  alloc_);
  }

  // Skips one unknown field's value (its tag already read).
  Status skipField(Cursor& c, uint32_t number, uint32_t wt, const unsigned char* at, std::string_view where) {
    std::string err = skipValue(c, number, wt, kMaxDepth - depth_);
    if (err.empty()) return Status::ok();
    return fail(at, err + " (unknown field " + std::to_string(number) + " in " + std::string(where) + ")");
  }

  Status wrongWireType(const Field& f, uint32_t wt, const unsigned char* at) {
    return fail(at, "field " + std::to_string(f.number) + " has wire type " + wireTypeName(wt));
  }

  Status fail(const void* at, const std::string& what) const {
    std::string msg = "malformed protobuf body";
    const auto* p = static_cast<const char*>(at);
    if (p >= body_.data() && p <= body_.data() + body_.size()) {
      msg += " at byte " + std::to_string(p - body_.data());
    }
    if (!path_.empty()) {
      msg += " (";
      for (size_t i = 0; i < path_.size(); ++i) {
        if (i > 0) msg += '.';
        msg += path_[i];
      }
      msg += ')';
    }
    return invalidArgument(msg + ": " + what);
  }

  json::Allocator& alloc_;
  std::string_view body_;
  std::vector<std::string_view> path_;
  int depth_ = 0;
};

// runtime.Unknown's fields.
struct Unknown {
  std::string apiVersion;
  std::string kind;
  std::string_view raw;
  std::string contentEncoding;
  std::string contentType;
};

// Reads the runtime.Unknown envelope without copying `raw`.
Status readUnknown(std::string_view data, Unknown& u) {
  auto malformed = [](const std::string& what) {
    return invalidArgument("malformed protobuf body: runtime.Unknown envelope: " + what);
  };
  auto readString = [](Cursor& c, std::string_view& out) { return c.lengthDelimited(out); };
  Cursor c(data);
  bool sawTypeMeta = false;
  while (!c.empty()) {
    uint64_t tag = 0;
    if (!c.varint(tag)) return malformed("truncated field tag");
    const uint64_t number = tag >> 3;
    const auto wt = static_cast<uint32_t>(tag & 7);
    if (number >= 1 && number <= 4 && wt != kLengthDelimited) {
      return malformed("field " + std::to_string(number) + " has wire type " + wireTypeName(wt));
    }
    std::string_view v;
    switch (number) {
      case 1: {
        if (!readString(c, v)) return malformed("truncated typeMeta");
        sawTypeMeta = true;
        Cursor tc(v);
        while (!tc.empty()) {
          uint64_t t = 0;
          if (!tc.varint(t)) return malformed("truncated typeMeta field tag");
          std::string_view s;
          if ((t & 7) == kLengthDelimited) {
            if (!tc.lengthDelimited(s)) return malformed("truncated typeMeta field");
            if ((t >> 3) == 1) u.apiVersion = std::string(s);
            if ((t >> 3) == 2) u.kind = std::string(s);
          } else if ((t & 7) == kVarint) {
            uint64_t ignored = 0;
            if (!tc.varint(ignored)) return malformed("truncated typeMeta varint");
          } else {
            return malformed("unexpected wire type in typeMeta");
          }
        }
        break;
      }
      case 2:
        if (!readString(c, u.raw)) return malformed("truncated raw");
        break;
      case 3:
        if (!readString(c, v)) return malformed("truncated contentEncoding");
        u.contentEncoding = std::string(v);
        break;
      case 4:
        if (!readString(c, v)) return malformed("truncated contentType");
        u.contentType = std::string(v);
        break;
      default: {
        // Unknown envelope fields are tolerated and skipped.
        if (number == 0 || number > kMaxFieldNumber) return malformed("invalid field number");
        std::string err = skipValue(c, static_cast<uint32_t>(number), wt, kMaxDepth);
        if (!err.empty()) return malformed(err + " in unknown field " + std::to_string(number));
        break;
      }
    }
  }
  if (!sawTypeMeta || u.kind.empty()) {
    return invalidArgument("malformed protobuf body: runtime.Unknown carries no typeMeta.kind");
  }
  return Status::ok();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; };
           return lower(x) == lower(y);
         });
}

// "application/json" or a +json / ;charset variant.
bool isJsonMediaType(std::string_view contentType) {
  const size_t semi = contentType.find(';');
  return equalsIgnoreCase(trim(contentType.substr(0, semi)), "application/json");
}

}  // namespace

// =============================================================================================
// (5) Entry points.

bool isKubernetesProtobuf(std::string_view contentType) {
  const size_t semi = contentType.find(';');
  if (!equalsIgnoreCase(trim(contentType.substr(0, semi)), kKubernetesProtobufMediaType)) return false;
  // Parameters: refuse the watch-stream framing, ignore the rest.
  std::string_view params = semi == std::string_view::npos ? std::string_view() : contentType.substr(semi + 1);
  while (!params.empty()) {
    const size_t next = params.find(';');
    std::string_view p = trim(params.substr(0, next));
    const size_t eq = p.find('=');
    if (eq != std::string_view::npos && equalsIgnoreCase(trim(p.substr(0, eq)), "stream") &&
        equalsIgnoreCase(trim(p.substr(eq + 1)), "watch")) {
      return false;
    }
    if (next == std::string_view::npos) break;
    params.remove_prefix(next + 1);
  }
  return true;
}

StatusOr<json::Document> decodeKubernetesProtobuf(std::string_view body) {
  static constexpr std::string_view kMagic("k8s\0", 4);
  if (body.size() < kMagic.size() || body.substr(0, kMagic.size()) != kMagic) {
    return invalidArgument(
        "not a Kubernetes protobuf body: it does not start with the 4-byte magic \"k8s\\x00\"");
  }
  Unknown u;
  KUBEOP_RETURN_IF_ERROR(readUnknown(body.substr(kMagic.size()), u));
  // For messages only; the JSON below gets the typeMeta through jsonString (UTF-8 checked).
  const std::string gvk =
      sanitizeUtf8((u.apiVersion.empty() ? std::string("<no apiVersion>") : u.apiVersion) + ", Kind=" + u.kind);
  if (!u.contentEncoding.empty()) {
    return unimplemented("protobuf body for " + gvk + " uses content encoding \"" + u.contentEncoding +
                         "\", which the sandbox does not decode; send the request body as JSON "
                         "(Content-Type: application/json) instead");
  }

  json::Document doc;
  auto& a = doc.GetAllocator();
  if (!u.contentType.empty() && isJsonMediaType(u.contentType)) {
    Decoder d(a, body);
    json::Value parsed;
    KUBEOP_RETURN_IF_ERROR(d.embedJson(u.raw, parsed));
    if (!parsed.IsObject()) return invalidArgument("runtime.Unknown raw JSON for " + gvk + " is not an object");
    doc.SetObject();
    if (!json::find(parsed, "kind")) doc.AddMember("kind", jsonString(u.kind, a), a);
    if (!json::find(parsed, "apiVersion")) doc.AddMember("apiVersion", jsonString(u.apiVersion, a), a);
    moveMembers(parsed, doc, a);
    return doc;
  }
  if (!u.contentType.empty() && !isKubernetesProtobuf(u.contentType)) {
    return unimplemented("runtime.Unknown for " + gvk + " carries content type \"" + u.contentType +
                         "\", which the sandbox does not decode; send the request body as JSON "
                         "(Content-Type: application/json) instead");
  }
  const Message* root = findKind(u.apiVersion, u.kind);
  if (root == nullptr) {
    return unimplemented("the sandbox cannot decode protobuf bodies of " + gvk +
                         "; send the request body as JSON (Content-Type: application/json) instead");
  }
  Decoder d(a, body);
  json::Value object;
  KUBEOP_RETURN_IF_ERROR(d.decodeMessage(*root, u.raw, object));
  doc.SetObject();
  doc.AddMember("kind", jsonString(u.kind, a), a);
  doc.AddMember("apiVersion", jsonString(u.apiVersion, a), a);
  moveMembers(object, doc, a);
  return doc;
}

std::vector<std::string> supportedProtobufKinds() {
  std::vector<std::string> out;
  for (const KindEntry& e : kKinds) {
    out.push_back(std::string(e.apiVersion == "*" ? "<any group version>" : e.apiVersion) + ", Kind=" +
                  std::string(e.kind));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kubeop::sandbox
