// A plugin whose name breaks the naming rule.
#include "kubeop/plugin_sdk.h"
namespace {
class BadName {
 public:
  static constexpr const char* kName = "Bad Name!";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_GUARDRAIL;
  BadName(std::string_view, kubeop::sdk::Host) {}
  std::string contribute(std::string_view) { return "{}"; }
  std::string mutate(std::string_view r) { return std::string(r); }
};
}  // namespace
KUBEOP_PLUGIN(BadName)
