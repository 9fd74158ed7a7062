// Declares the delivery capability but has no render operation.
#include "kubeop/plugin_abi.h"
static kubeop_rc create(const char*, const kubeop_host_api*, kubeop_plugin** out) {
  *out = reinterpret_cast<kubeop_plugin*>(1);
  return KUBEOP_OK;
}
static void destroy(kubeop_plugin*) {}
static const char* lastError(kubeop_plugin*) { return ""; }
static kubeop_rc validateApp(kubeop_plugin*, const char*) { return KUBEOP_OK; }
extern "C" __attribute__((visibility("default"))) const kubeop_plugin_api* kubeop_plugin_get_api(void) {
  static kubeop_plugin_api api{};
  api.struct_size = sizeof api;
  api.abi_major = KUBEOP_PLUGIN_ABI_MAJOR;
  api.abi_minor = KUBEOP_PLUGIN_ABI_MINOR;
  api.capabilities = KUBEOP_CAP_DELIVERY;
  api.name = "missing-op";
  api.version = "1.0.0";
  api.delivery_type = "Missing";
  api.create = create;
  api.destroy = destroy;
  api.last_error = lastError;
  api.validate_app = validateApp;
  return &api;
}
