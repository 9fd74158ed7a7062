// ABI glue only: the logic lives in raw_delivery.cc.
#include "kubeop/plugin_sdk.h"
#include "raw_delivery.h"

namespace {

class RawDeliveryPlugin {
 public:
  static constexpr const char* kName = "delivery-raw";
  static constexpr const char* kVersion = "0.1.0";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_DELIVERY;
  static constexpr const char* kDeliveryType = "Raw";
  static inline const char* kConfigSchema = kubeop::plugins::raw::kConfigSchema;

  RawDeliveryPlugin(std::string_view config, kubeop::sdk::Host) : impl_(makeConfig(config)) {}

  void validateApp(std::string_view app) {
    auto st = impl_.validateApp(app);
    if (!st.isOk()) throw kubeop::sdk::InvalidInput(st.message());
  }
  std::string render(std::string_view req) {
    auto out = impl_.render(req);
    if (!out.ok()) throw kubeop::sdk::InvalidInput(out.status().message());
    return std::move(out).value();
  }

 private:
  static kubeop::plugins::raw::RawConfig makeConfig(std::string_view config) {
    auto c = kubeop::plugins::raw::parseConfig(config);
    if (!c.ok()) throw kubeop::sdk::InvalidConfig(c.status().message());
    return std::move(c).value();
  }
  kubeop::plugins::raw::RawDelivery impl_;
};

}  // namespace

KUBEOP_PLUGIN(RawDeliveryPlugin)
