// The plugin host: loads plugin shared objects through the C ABI of plugin_abi.h, contains
// their failures, and keeps them in one registry that is filled once at start-up and read-only
// afterwards (so it is safe to read from any thread without locks).
//
// Failure containment: a library that cannot be loaded, has the wrong ABI, misses a required
// operation, fails create(), throws, or returns garbage is refused or answered with a Status
// naming the plugin and its file; the host never crashes or aborts because of a plugin.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/status.h"

struct kubeop_plugin_api;
struct kubeop_plugin;

namespace kubeop::plugin {

// What the host offers plugins (see kubeop_host_api). Implementations must be thread-safe.
class HostServices {
 public:
  virtual ~HostServices() = default;
  virtual void log(std::string_view plugin, int level, std::string_view msg);
  // Returns NotFound when absent, Unimplemented without cluster access.
  virtual StatusOr<std::string> readSecret(std::string_view ns, std::string_view name, std::string_view key);
  // Base directory for plugin caches; each plugin gets <base>/<plugin name>.
  virtual std::string cacheBaseDir();
  virtual int64_t nowUnixMs();
};

struct PluginInfo {
  std::string name;
  std::string version;
  std::string path;
  uint32_t abiMajor = 0;
  uint32_t abiMinor = 0;
  uint32_t capabilities = 0;
  std::string deliveryType;  // empty for non-delivery plugins
  std::string configSchema;  // empty: any object
  // "delivery", "guardrail", "admission"
  std::vector<std::string> capabilityNames() const;
};

// Observes every call into a plugin (for metrics): plugin, operation, result code name, seconds.
using CallObserver = std::function<void(std::string_view plugin, std::string_view op, std::string_view result,
                                        double seconds)>;

struct HostBridge;

// One loaded plugin instance. Owns the library handle, which it releases only after the
// instance is destroyed. Thread-safe: operations may be called concurrently.
class Plugin {
 public:
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const PluginInfo& info() const { return info_; }
  bool hasCapability(uint32_t cap) const { return (info_.capabilities & cap) != 0; }

  // Delivery.
  Status validateApp(std::string_view appJson) const;
  // Returns the result JSON text (checked to be a JSON object).
  StatusOr<std::string> render(std::string_view requestJson) const;
  // Guardrail.
  StatusOr<std::string> contribute(std::string_view scopeJson) const;
  StatusOr<std::string> mutate(std::string_view requestJson) const;
  // Unimplemented when the plugin has no validate_admission.
  StatusOr<std::string> validateAdmission(std::string_view reviewJson) const;
  Status finalize(std::string_view requestJson) const;
  // Admission.
  StatusOr<std::string> admit(std::string_view reviewJson) const;

  void setObserver(CallObserver obs) { observer_ = std::move(obs); }

 private:
  friend class Loader;
  struct Library;  // the Boost.DLL handle, hidden from this header
  Plugin() = default;

  template <typename Fn>
  StatusOr<std::string> callWithOutput(std::string_view op, Fn&& fn) const;
  template <typename Fn>
  Status callNoOutput(std::string_view op, Fn&& fn) const;
  Status statusFor(std::string_view op, int rc) const;

  std::shared_ptr<Library> lib_;  // declared first: destroyed last
  const kubeop_plugin_api* api_ = nullptr;
  kubeop_plugin* instance_ = nullptr;
  PluginInfo info_;
  std::unique_ptr<HostBridge> bridge_;
  CallObserver observer_;
};

// Loads single plugin files.
class Loader {
 public:
  explicit Loader(std::shared_ptr<HostServices> host) : host_(std::move(host)) {}
  // Loads `path` and creates an instance with `configJson` (a JSON object; "{}" when empty),
  // validated against the plugin's config schema first.
  StatusOr<std::shared_ptr<Plugin>> load(const std::string& path, std::string_view configJson = "{}");
  // As load(), with the config looked up by the plugin's name (missing → "{}") and a check that
  // runs after the plugin's table is read and before create() (the registry refuses duplicates).
  StatusOr<std::shared_ptr<Plugin>> load(const std::string& path, const std::map<std::string, std::string>& configs,
                                         const std::function<Status(const PluginInfo&)>& precheck);

 private:
  std::shared_ptr<HostServices> host_;
};

// Validates `configJson` against a JSON Schema; messages name the offending path and keyword.
Status validateAgainstSchema(std::string_view schemaJson, std::string_view configJson);

struct LoadError {
  std::string path;
  std::string message;
};

struct RegistryOptions {
  // Directories or .so files, as in KUBEOP_PLUGIN_PATH (colon-separated).
  std::string searchPath;
  // Per-plugin configuration: plugin name → JSON object text.
  std::map<std::string, std::string> configs;
  std::shared_ptr<HostServices> host;
};

class Registry {
 public:
  // Loads every plugin on the search path (directories are scanned for *.so, in name order).
  // Plugins that fail are logged and listed in errors(); the rest load. A second plugin with a
  // name already taken is refused.
  static std::unique_ptr<Registry> load(const RegistryOptions& opts);

  const std::vector<std::shared_ptr<Plugin>>& plugins() const { return plugins_; }
  const std::vector<LoadError>& errors() const { return errors_; }
  std::shared_ptr<Plugin> find(std::string_view name) const;
  // The delivery plugin for an App spec.type, compared case-insensitively.
  std::shared_ptr<Plugin> findDelivery(std::string_view type) const;
  std::vector<std::string> deliveryTypes() const;
  // Plugins with the given capability bit, in load order.
  std::vector<std::shared_ptr<Plugin>> withCapability(uint32_t cap) const;
  // The registry as JSON: {"plugins":[{name,version,capabilities,abi,path,deliveryType}],"errors":[…]}.
  std::string toJson() const;

  void setObserver(const CallObserver& obs);

 private:
  std::vector<std::shared_ptr<Plugin>> plugins_;
  std::vector<LoadError> errors_;
};

// The default search path: $KUBEOP_PLUGIN_PATH, else the install's plugin directory next to the
// executable (../lib/kubeop/plugins), else ./plugins.
std::string defaultSearchPath();

}  // namespace kubeop::plugin
