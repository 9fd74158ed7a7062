// A well-behaved plugin that exercises every host callback and every error code.
#include "kubeop/plugin_sdk.h"
namespace {
class Echo {
 public:
  static constexpr const char* kName = "good-echo";
  static constexpr const char* kVersion = "3.2.1";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_GUARDRAIL | KUBEOP_CAP_ADMISSION;
  Echo(std::string_view, kubeop::sdk::Host host) : host_(host) { host_.info("echo plugin created"); }
  // Returns host facts so the test can check the callbacks.
  std::string contribute(std::string_view in) {
    if (in == "retry") throw kubeop::sdk::Retry("upstream dns server 127.0.0.1:5353 unreachable");
    if (in == "invalid") throw kubeop::sdk::InvalidInput("spec.host: must be a DNS name");
    if (in == "unsupported") throw kubeop::sdk::NotSupported("scope cluster is not supported");
    auto secret = host_.readSecret("ns", "s", "k");
    return std::string("{\"cacheDir\":\"") + host_.cacheDir() + "\",\"now\":" + std::to_string(host_.nowUnixMs()) +
           ",\"secret\":" + (secret ? "\"" + *secret + "\"" : std::string("null")) + "}";
  }
  std::string mutate(std::string_view r) { return std::string(r); }
  std::string admit(std::string_view) { return "{\"allowed\":true}"; }

 private:
  kubeop::sdk::Host host_;
};
}  // namespace
KUBEOP_PLUGIN(Echo)
