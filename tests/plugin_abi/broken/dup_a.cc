// One of two plugins that claim the same name.
#include "kubeop/plugin_sdk.h"
namespace {
class Dup {
 public:
  static constexpr const char* kName = "dup";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_GUARDRAIL;
  Dup(std::string_view, kubeop::sdk::Host) {}
  std::string contribute(std::string_view) { return "{\"objects\":[]}"; }
  std::string mutate(std::string_view r) { return std::string(r); }
};
}  // namespace
KUBEOP_PLUGIN(Dup)
