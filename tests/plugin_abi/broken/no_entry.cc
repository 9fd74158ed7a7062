// A shared object that is not a kubeop plugin: no kubeop_plugin_get_api.
extern "C" __attribute__((visibility("default"))) int some_other_function(void) { return 42; }
