// Network-policy guardrail: every project namespace gets kubeOP's NetworkPolicies
// `kubeop-ingress` (ingress only from the same namespace, the ingress controllers' namespaces
// and the Project's spec.ingressNamespaces) and `kubeop-egress` (egress only to the cluster DNS,
// the same namespace and the egress baseline CIDRs — kubeOP allowed all egress). Tenants'
// own NetworkPolicies may open egress only to addresses inside the baseline.
//
// Thread-safety: NetpolGuardrail is immutable after construction; its methods may run
// concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cidr.h"
#include "kubeop/core/json.h"
#include "kubeop/core/status.h"

namespace kubeop::plugins::netpol {

struct NetpolConfig {
  // Namespaces (by their kubernetes.io/metadata.name label) whose pods may reach every project.
  std::vector<std::string> ingressControllerNamespaces;
  // Where the cluster DNS pods (k8s-app: kube-dns) run.
  std::string dnsNamespace = "kube-system";
  // KUBEOP_EGRESS_BASELINE: the only external destinations; canonical, without duplicates.
  std::vector<Cidr> egressBaseline;
};

// The JSON Schema of the plugin's config (validated by the host before parseConfig).
extern const char* const kConfigSchema;

// Parses {"ingressControllerNamespaces":[…],"dnsNamespace":"…","egressBaseline":"a,b"|[…]}.
// egressBaseline takes KUBEOP_EGRESS_BASELINE's comma-separated form or a list (whose entries
// may be comma-separated too); blanks are skipped; a malformed CIDR is an error.
StatusOr<NetpolConfig> parseConfig(std::string_view configJson);

// kubeOP §6.3 rule 4 for one NetworkPolicy object: every egress ipBlock.cidr and except entry
// must lie entirely inside one baseline CIDR. Also denies egress rules without "to" peers, which
// allow every destination, unless the baseline holds both 0.0.0.0/0 and ::/0. Returns the
// denial reasons (deduplicated, in order); empty when allowed.
std::vector<std::string> checkEgressAgainstBaseline(const json::Value& policy, const std::vector<Cidr>& baseline);

class NetpolGuardrail {
 public:
  explicit NetpolGuardrail(NetpolConfig config) : config_(std::move(config)) {}

  // scope "project" → {"objects":[NetworkPolicy kubeop-ingress, NetworkPolicy kubeop-egress]};
  // scopes "tenant" and "app" → {"objects":[]}.
  StatusOr<std::string> contribute(std::string_view scopeJson) const;
  // Returns the rendered objects unchanged.
  StatusOr<std::string> mutate(std::string_view requestJson) const;
  // AdmissionReview (+ "namespaceLabels") → {"allowed":…,"message":…}.
  StatusOr<std::string> validateAdmission(std::string_view reviewJson) const;

  const NetpolConfig& config() const { return config_; }

 private:
  NetpolConfig config_;
};

}  // namespace kubeop::plugins::netpol
