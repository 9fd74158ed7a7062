// Quota guardrail: every project namespace gets kubeOP's LimitRange `kubeop-defaults` and
// ResourceQuota `kubeop-quota`, with values a tenant or a project may override; a tenant's
// projects together must fit the tenant's envelope; ResourceQuotas that tenants write must name
// requests.cpu and requests.memory within the platform's maximums.
//
// Precedence of each spec.quota field: Project > Tenant > plugin config `defaults` > kubeOP's
// built-in defaults. The same Tenant spec.quota is also the tenant's envelope for pods,
// requests.cpu and requests.memory (only for the fields it sets).
//
// Thread-safety: QuotaGuardrail is immutable after construction; its methods may run
// concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"

namespace kubeop::plugins::quota {

// One quota value: the text as written (what is applied) and its value in milli-units.
struct Amount {
  std::string text;
  int64_t milli = 0;
  friend bool operator==(const Amount&, const Amount&) = default;
};

// The fields of a Tenant's or Project's spec.quota (and of the config's `defaults`).
// nullopt: not set at this level.
struct QuotaSpec {
  std::optional<Amount> pods;
  std::optional<Amount> requestsCPU;
  std::optional<Amount> requestsMemory;
  std::optional<Amount> limitsCPU;
  std::optional<Amount> limitsMemory;
  std::optional<Amount> defaultRequestCPU;
  std::optional<Amount> defaultRequestMemory;
  std::optional<Amount> defaultLimitCPU;
  std::optional<Amount> defaultLimitMemory;

  // Replaces each field with the one `over` sets.
  void overlay(const QuotaSpec& over);
  friend bool operator==(const QuotaSpec&, const QuotaSpec&) = default;
};

// kubeOP's values (§5.2): pods 10, requests.cpu 1, requests.memory 1Gi; LimitRange defaults
// request cpu 100m / memory 64Mi and limit cpu 500m / memory 256Mi; no limits.* in the quota.
QuotaSpec builtinDefaults();

// Parses a spec.quota object. Quantities are strings or integers; pods is a whole number; no
// value may be negative. `where` prefixes messages ("Project web: spec.quota").
StatusOr<QuotaSpec> parseQuotaSpec(const json::Value& v, std::string_view where);

// Parses one quantity: a string or an integer, not negative.
StatusOr<Amount> parseAmount(const json::Value& v, std::string_view where);

struct QuotaConfig {
  QuotaSpec defaults = builtinDefaults();   // built-ins with the config's `defaults` overlaid
  std::optional<Amount> maxRequestsCPU;     // KUBEOP_QUOTA_MAX_REQUESTS_CPU
  std::optional<Amount> maxRequestsMemory;  // KUBEOP_QUOTA_MAX_REQUESTS_MEMORY
};

// The JSON Schema of the plugin's config (validated by the host before parseConfig).
extern const char* const kConfigSchema;

// Parses the plugin config: {"defaults":{<spec.quota fields>},"maxRequestsCPU":"4",
// "maxRequestsMemory":"8Gi"}. Also checks what the schema cannot (quantity ranges, the
// defaults against the maximums).
StatusOr<QuotaConfig> parseConfig(std::string_view configJson);

// A project's effective quota: config defaults ← tenant spec.quota ← project spec.quota, then
// checked: requests within the maximums, LimitRange default requests ≤ default limits.
// `tenant` may be null. Messages name the project.
StatusOr<QuotaSpec> resolveProjectQuota(const QuotaConfig& config, const json::Value* tenant,
                                        const json::Value& project);

// A project's effective quota, for the envelope check.
struct ProjectQuota {
  std::string name;
  QuotaSpec quota;
};

struct EnvelopeResult {
  bool ok = true;
  // Empty when ok; else one sentence per exceeded resource, joined with "; ".
  std::string message;
  // Sums over the projects, keyed "pods", "requests.cpu", "requests.memory".
  std::map<std::string, std::string> used;
  // The envelope, only for the resources the tenant's quota sets.
  std::map<std::string, std::string> limit;
};

// The tenant envelope check (pure): whether the projects' effective pods, requests.cpu and
// requests.memory add up to more than the tenant's spec.quota sets for them. A resource the
// tenant's quota does not set has no envelope.
EnvelopeResult checkEnvelope(const QuotaSpec& tenantQuota, const std::vector<ProjectQuota>& projects);

// kubeOP §6.3 rule 5 for a ResourceQuota's spec.hard (fixed: a missing key is denied, not
// compared as zero). Returns the denial reasons; empty when allowed. `cpu`/`memory` count as
// the requests.* keys they alias.
std::vector<std::string> checkResourceQuotaHard(const json::Value* hard, const QuotaConfig& config);

class QuotaGuardrail {
 public:
  explicit QuotaGuardrail(QuotaConfig config) : config_(std::move(config)) {}

  // scope "project" → {"objects":[LimitRange kubeop-defaults, ResourceQuota kubeop-quota]};
  // scope "tenant"  → {"objects":[],"envelope":{"ok":…,"message":…,"used":{…},"limit":{…}}};
  // scope "app"     → {"objects":[]}.
  StatusOr<std::string> contribute(std::string_view scopeJson) const;
  // Rendered workloads keep their requests (the LimitRange defaults them): returned unchanged.
  StatusOr<std::string> mutate(std::string_view requestJson) const;
  // AdmissionReview (+ "namespaceLabels") → {"allowed":…,"message":…}.
  StatusOr<std::string> validateAdmission(std::string_view reviewJson) const;

  const QuotaConfig& config() const { return config_; }

 private:
  QuotaConfig config_;
};

}  // namespace kubeop::plugins::quota
