// Dynamic admission for `kubeop sandbox`: the MutatingWebhookConfigurations and
// ValidatingWebhookConfigurations (admissionregistration.k8s.io/v1) stored in the sandbox are
// called with AdmissionReview over HTTPS before each write, as kube-apiserver's
// MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins do
// (k8s.io/apiserver/pkg/admission/plugin/webhook).
//
// What follows upstream:
//  - Order: mutating webhooks first, configurations sorted by name then webhooks in their listed
//    order; a second round reinvokes the webhooks with reinvocationPolicy IfNeeded once if a
//    webhook called after them changed the object. Then the validating webhooks, concurrently,
//    on the final object.
//  - Matching (generic.Webhook.ShouldCallHook): namespaceSelector (the namespace's labels; a
//    Namespace's own labels on create/update; cluster-scoped kinds other than Namespace always
//    match), objectSelector (the new or the old object's labels), rules (operations, apiGroups,
//    apiVersions, resources with "*", "*/*", "pods/status", "pods/*", scope), matchPolicy
//    Equivalent (the other served versions of the same resource, objects converted by
//    rewriting apiVersion, i.e. CRD conversion strategy None). Webhook and admission policy
//    configurations are never sent to webhooks.
//  - Calling: AdmissionReview v1 (or v1beta1 when a webhook lists it first), POST to
//    clientConfig.url or the service's https://<name>.<namespace>.svc:<port><path>, with
//    "?timeout=<n>s"; the server certificate must verify against caBundle (the system trust
//    store when it is empty); timeoutSeconds (default 10, at most 30) bounds the call;
//    dry-run requests are refused with 400 for sideEffects other than None/NoneOnDryRun.
//  - Results: response.uid must match; allowed; status{code,reason,message,details};
//    patchType JSONPatch with a base64 patch applied to the object; warnings collected.
//  - Errors read as the apiserver's:
//      denied:  `admission webhook "x" denied the request: <message>` with the webhook's status
//               code (400 when it gives none or one below 400) and reason
//      Fail:    500 `Internal error occurred: failed calling webhook "x": failed to call
//               webhook: Post "https://…?timeout=10s": <cause>`
//      Ignore:  the webhook is skipped and a warning is logged ("failing open").
//
// Known differences (the sandbox is not a full apiserver):
//  - matchConditions (CEL) are not evaluated: webhooks with them are treated as matching (logged
//    once per webhook).
//  - Patched objects are not decoded into Go types, so unknown fields a webhook adds are kept and
//    no defaulting happens between webhooks.
//  - A denial without a reason gets the usual reason of its code ("BadRequest" for 400), since
//    ErrorDetails cannot carry an absent reason (upstream leaves it empty).
//  - The sandbox has no Service networking: service references reach a webhook only through
//    AdmissionOptions::serviceResolver.
//  - Audit annotations are ignored.
//
// Thread-safety: AdmissionChain is thread-safe; admit() may run concurrently from any number of
// API server threads. Configurations are read from the Store through a watch and re-listed when
// they change (checked at each call, without blocking on the store).
// Ownership: the chain shares the Store and the registry; HTTP clients are cached per (caBundle,
// TLS server name, timeout) and dropped when no configuration uses them any more.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/object.h"
#include "kubeop/core/status.h"
#include "kubeop/sandbox/resources.h"
#include "kubeop/sandbox/store.h"

namespace kubeop::sandbox {

// admission.Attributes: one request as the API server is about to store it.
struct AdmissionAttributes {
  std::string operation;  // "CREATE", "UPDATE", "DELETE", "CONNECT"
  // The resource of the request (group, version, plural). Required.
  const ResourceType* type = nullptr;
  std::string subresource;  // "", "status", "scale", "finalize", …
  // The object's group/version/kind when it differs from the type's (a subresource's kind:
  // autoscaling/v1 Scale for deployments/scale). Empty: the type's.
  GroupVersionKind kind;
  // The request's namespace ("" for cluster-scoped kinds). For a Namespace the apiserver uses
  // the namespace's name except on CREATE; an empty value is filled in that way here.
  std::string ns;
  std::string name;  // may be empty on CREATE with generateName
  // The new object (CREATE, UPDATE; CONNECT options); null for DELETE. Not owned.
  const json::Value* object = nullptr;
  // The stored object (UPDATE, DELETE); null otherwise. Not owned.
  const json::Value* oldObject = nullptr;
  // CreateOptions / UpdateOptions / DeleteOptions as the request carried them; null: built from
  // `operation`, `dryRun` and `fieldManager` ({"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1",…}).
  const json::Value* options = nullptr;
  std::string fieldManager;
  bool dryRun = false;
  // authentication/v1 UserInfo.
  std::string userName;
  std::string userUid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;
};

struct AdmissionOptions {
  // Resolves a service reference (namespace, name, port) to the base URL that reaches it,
  // "https://127.0.0.1:8443" (scheme, host, port; the service's path is appended). The server
  // certificate is still verified for "<name>.<namespace>.svc", as the apiserver does. Empty,
  // or nullopt: the call fails ("not reachable") and the failurePolicy decides.
  std::function<std::optional<std::string>(std::string_view ns, std::string_view name, int port)> serviceResolver;
  // Upper bound for connecting, below the webhook's own timeout.
  std::chrono::milliseconds connectTimeout{10000};
  // Largest AdmissionReview response accepted.
  size_t maxResponseBytes = 16u << 20;
};

// The result of admission, besides the object.
struct AdmissionReport {
  // Warnings from the webhooks' responses, in call order, without duplicates (Warning: headers).
  // Filled on success and on denial alike, as the apiserver sends them with either.
  std::vector<std::string> warnings;
  // Names of the webhooks called, in call order ("mutating:" / "validating:" prefixed); for
  // logs and tests.
  std::vector<std::string> called;
  bool mutated = false;  // a mutating webhook changed the object
};

class AdmissionChain {
 public:
  AdmissionChain(std::shared_ptr<Store> store, std::shared_ptr<const ResourceRegistry> registry,
                 AdmissionOptions options = {});
  ~AdmissionChain();
  AdmissionChain(const AdmissionChain&) = delete;
  AdmissionChain& operator=(const AdmissionChain&) = delete;

  // Mutating then validating webhooks. Returns the object to store (a copy of attrs.object,
  // possibly mutated; a null Document when attrs.object is null) or the error to answer with,
  // `details` carrying the HTTP code, reason and causes.
  StatusOr<json::Document> admit(const AdmissionAttributes& attrs, ErrorDetails* details = nullptr,
                                 AdmissionReport* report = nullptr);

  // The two phases on their own, for an API server that runs validation later (upstream runs
  // validating webhooks after the registry's own defaulting and validation).
  StatusOr<json::Document> mutate(const AdmissionAttributes& attrs, ErrorDetails* details = nullptr,
                                  AdmissionReport* report = nullptr);
  [[nodiscard]] Status validate(const AdmissionAttributes& attrs, ErrorDetails* details = nullptr,
                                AdmissionReport* report = nullptr);

  // Whether any webhook configuration exists (the API server may skip copying objects when not).
  bool hasWebhooks();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubeop::sandbox
