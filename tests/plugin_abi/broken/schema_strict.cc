// Declares a config schema; the host must validate the config before create() sees it.
#include "kubeop/plugin_sdk.h"
namespace {
class SchemaStrict {
 public:
  static constexpr const char* kName = "schema-strict";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr uint32_t kCapabilities = KUBEOP_CAP_GUARDRAIL;
  static constexpr const char* kConfigSchema =
      R"({"type":"object","required":["zone"],"properties":{"zone":{"type":"string","minLength":1},)"
      R"("ttl":{"type":"integer","minimum":30}},"additionalProperties":false})";
  SchemaStrict(std::string_view config, kubeop::sdk::Host) : config_(config) {}
  std::string contribute(std::string_view) { return "{\"config\":" + config_ + "}"; }
  std::string mutate(std::string_view r) { return std::string(r); }

 private:
  std::string config_;
};
}  // namespace
KUBEOP_PLUGIN(SchemaStrict)
