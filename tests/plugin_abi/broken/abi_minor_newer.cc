// Built for an newer ABI minor than the host.
#include "kubeop/plugin_abi.h"
static kubeop_rc create(const char*, const kubeop_host_api*, kubeop_plugin**) { return KUBEOP_ERROR; }
static void destroy(kubeop_plugin*) {}
static const char* lastError(kubeop_plugin*) { return ""; }
extern "C" __attribute__((visibility("default"))) const kubeop_plugin_api* kubeop_plugin_get_api(void) {
  static kubeop_plugin_api api{};
  api.struct_size = sizeof api;
  api.abi_major = KUBEOP_PLUGIN_ABI_MAJOR;
  api.abi_minor = KUBEOP_PLUGIN_ABI_MINOR + 1;
  api.capabilities = KUBEOP_CAP_GUARDRAIL;
  api.name = "abi-minor-newer";
  api.version = "1.0.0";
  api.create = create;
  api.destroy = destroy;
  api.last_error = lastError;
  return &api;
}
