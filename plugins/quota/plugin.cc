// ABI glue only: the logic lives in quota.cc.
#include "kubeop/plugin_sdk.h"
#include "quota.h"

namespace {

class QuotaPlugin {
 public:
  static constexpr const char* kName = "quota";
  static constexpr const char* kVersion = "0.1.0";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_GUARDRAIL;
  static inline const char* kConfigSchema = kubeop::plugins::quota::kConfigSchema;

  QuotaPlugin(std::string_view config, kubeop::sdk::Host) : impl_(makeConfig(config)) {}

  std::string contribute(std::string_view scope) { return unwrap(impl_.contribute(scope)); }
  std::string mutate(std::string_view req) { return unwrap(impl_.mutate(req)); }
  std::string validateAdmission(std::string_view review) { return unwrap(impl_.validateAdmission(review)); }

 private:
  static kubeop::plugins::quota::QuotaConfig makeConfig(std::string_view config) {
    auto c = kubeop::plugins::quota::parseConfig(config);
    if (!c.ok()) throw kubeop::sdk::InvalidConfig(c.status().message());
    return std::move(c).value();
  }
  static std::string unwrap(kubeop::StatusOr<std::string> out) {
    if (!out.ok()) throw kubeop::sdk::InvalidInput(out.status().message());
    return std::move(out).value();
  }
  kubeop::plugins::quota::QuotaGuardrail impl_;
};

}  // namespace

KUBEOP_PLUGIN(QuotaPlugin)
