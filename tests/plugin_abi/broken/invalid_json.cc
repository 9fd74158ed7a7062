// render() answers OK with text that is not JSON.
#include "kubeop/plugin_sdk.h"
namespace {
class InvalidJson {
 public:
  static constexpr const char* kName = "invalid-json";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_DELIVERY;
  static constexpr const char* kDeliveryType = "Garbage";
  InvalidJson(std::string_view, kubeop::sdk::Host) {}
  void validateApp(std::string_view) {}
  std::string render(std::string_view) { return "{\"objects\": [ not json"; }
};
}  // namespace
KUBEOP_PLUGIN(InvalidJson)
