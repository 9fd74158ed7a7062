// Kubernetes protobuf request bodies → the equivalent Kubernetes JSON.
//
// kubectl's generator commands (`kubectl create deployment|job|secret|…`, `kubectl create
// token`, `kubectl auth can-i|whoami`) use typed clients that send bodies as
// `application/vnd.kubernetes.protobuf`: the 4-byte magic "k8s\0" followed by a runtime.Unknown
// {typeMeta{apiVersion, kind}, raw, contentEncoding, contentType} whose `raw` is the object's
// protobuf encoding. The sandbox works on JSON, so this decodes such a body into exactly the JSON
// the same Go object would marshal to: field names from the Go json tags, unset optional fields
// omitted (and non-omitempty ones present with their zero value or null), maps as objects, bytes
// as base64, metav1.Time as RFC 3339 (null when zero), MicroTime with microseconds, IntOrString
// as a number or a string, Quantity as its string (verbatim, not canonicalised), FieldsV1 as the
// embedded JSON it carries. "kind" and "apiVersion" come from the typeMeta.
//
// Decoding is driven by a compact hand-written schema table covering the kinds listed by
// supportedProtobufKinds() and everything they contain. Unknown field numbers are skipped by
// wire type (newer clients may send fields this table does not know); an unknown kind is
// kUnimplemented with a message asking for JSON instead (the API answers 415). Malformed input
// (bad magic, truncated varints or lengths, wrong wire types, invalid embedded JSON, nesting
// deeper than 100 messages) is kInvalidArgument: every read is bounds-checked, nothing asserts.
//
// Deliberate gaps (dropped like unknown fields, since kubectl's generators never send them):
// PodSpec.ephemeralContainers, Container.restartPolicyRules, the deprecated in-tree cloud
// volume sources and `ephemeral` volumes, projected clusterTrustBundle/podCertificate sources,
// PodStatus container statuses, TokenRequestSpec.attestations. Quantities are not
// canonicalised ("1000m" stays "1000m"; the apiserver would answer "1").
//
// Upstream references (facts, not code): k8s.io/apimachinery pkg/runtime/serializer/protobuf
// (the magic prefix), pkg/runtime/generated.proto (Unknown), pkg/apis/meta/v1 (ObjectMeta,
// Time, MicroTime, FieldsV1, LabelSelector), pkg/util/intstr, pkg/api/resource; k8s.io/api
// */v1/generated.proto and types.go (field numbers and json tags).
//
// Thread-safety: free functions over immutable static tables; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"

namespace kubeop::sandbox {

// The media type of Kubernetes protobuf bodies.
inline constexpr std::string_view kKubernetesProtobufMediaType = "application/vnd.kubernetes.protobuf";

// True when a Content-Type header names the Kubernetes protobuf media type (case-insensitive,
// parameters and surrounding blanks ignored): "application/vnd.kubernetes.protobuf",
// "application/vnd.kubernetes.protobuf; charset=binary". The watch-stream variant
// (";stream=watch") is not a request body and is refused.
bool isKubernetesProtobuf(std::string_view contentType);

// Decodes a whole protobuf request body (magic + runtime.Unknown) into the object's JSON.
//   kInvalidArgument  wrong magic, malformed protobuf, missing typeMeta, invalid embedded JSON
//   kUnimplemented    a kind or content encoding the table does not cover ("send JSON instead")
// A runtime.Unknown whose contentType is application/json carries JSON in `raw`: it is parsed
// and returned with kind/apiVersion filled from the typeMeta where missing.
StatusOr<json::Document> decodeKubernetesProtobuf(std::string_view body);

// "apps/v1, Kind=Deployment"-style names of every kind decodeKubernetesProtobuf() understands,
// sorted; for error messages, docs and tests.
std::vector<std::string> supportedProtobufKinds();

}  // namespace kubeop::sandbox
