// create() refuses its configuration.
#include "kubeop/plugin_sdk.h"
namespace {
class CreateFails {
 public:
  static constexpr const char* kName = "create-fails";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_GUARDRAIL;
  CreateFails(std::string_view, kubeop::sdk::Host) {
    throw kubeop::sdk::InvalidConfig("endpoint is required: set plugins.create-fails.endpoint");
  }
  std::string contribute(std::string_view) { return "{}"; }
  std::string mutate(std::string_view) { return "{}"; }
};
}  // namespace
KUBEOP_PLUGIN(CreateFails)
