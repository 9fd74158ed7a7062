// render() throws a std::exception; the SDK must turn it into KUBEOP_ERROR.
#include <stdexcept>
#include "kubeop/plugin_sdk.h"
namespace {
class OpThrows {
 public:
  static constexpr const char* kName = "op-throws";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_DELIVERY;
  static constexpr const char* kDeliveryType = "Throws";
  OpThrows(std::string_view, kubeop::sdk::Host) {}
  void validateApp(std::string_view) { throw 42; }  // not even a std::exception
  std::string render(std::string_view) { throw std::out_of_range("vector index 7 out of range"); }
};
}  // namespace
KUBEOP_PLUGIN(OpThrows)
