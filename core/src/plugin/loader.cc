// The only translation unit that touches Boost.DLL.
#include <utility>  // before Boost under C++20 (TOOLCHAIN.md §5.1)

#include <boost/dll/shared_library.hpp>

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "kubeop/core/json.h"
#include "kubeop/log/log.h"
#include "kubeop/plugin/registry.h"
#include "kubeop/plugin_abi.h"

namespace kubeop::plugin {

struct Plugin::Library {
  boost::dll::shared_library lib;
};

// The kubeop_host_api handed to one plugin instance, plus what its callbacks need.
struct HostBridge {
  kubeop_host_api api{};
  std::shared_ptr<HostServices> host;
  std::string pluginName;
  std::string cacheDir;
};

// ---- HostServices defaults ----

void HostServices::log(std::string_view plugin, int level, std::string_view msg) {
  log::Level l = level <= KUBEOP_LOG_DEBUG ? log::Level::kDebug
                 : level == KUBEOP_LOG_INFO ? log::Level::kInfo
                 : level == KUBEOP_LOG_WARN ? log::Level::kWarn
                                            : log::Level::kError;
  if (log::enabled(l)) log::write(l, msg, {{"plugin", plugin}});
}

StatusOr<std::string> HostServices::readSecret(std::string_view, std::string_view, std::string_view) {
  return unimplemented("this host has no cluster access");
}

std::string HostServices::cacheBaseDir() {
  if (const char* d = std::getenv("KUBEOP_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/kubeop/plugins";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/kubeop/plugins";
  return "/tmp/kubeop-cache/plugins";
}

int64_t HostServices::nowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

// ---- C callbacks: never let an exception escape into plugin code ----
void cbLog(void* ctx, int level, const char* msg) {
  try {
    auto* b = static_cast<HostBridge*>(ctx);
    b->host->log(b->pluginName, level, msg ? msg : "");
  } catch (...) {
  }
}

kubeop_rc cbReadSecret(void* ctx, const char* ns, const char* name, const char* key, const kubeop_output* out) {
  try {
    auto* b = static_cast<HostBridge*>(ctx);
    auto v = b->host->readSecret(ns ? ns : "", name ? name : "", key ? key : "");
    if (!v.ok()) return v.status().code() == StatusCode::kUnimplemented ? KUBEOP_NOT_SUPPORTED : KUBEOP_ERROR;
    if (out && out->write) out->write(out->host_ctx, v->data(), v->size());
    return KUBEOP_OK;
  } catch (...) {
    return KUBEOP_ERROR;
  }
}

const char* cbCacheDir(void* ctx) { return static_cast<HostBridge*>(ctx)->cacheDir.c_str(); }

int64_t cbNow(void* ctx) {
  try {
    return static_cast<HostBridge*>(ctx)->host->nowUnixMs();
  } catch (...) {
    return 0;
  }
}

void writeToString(void* ctx, const char* data, size_t len) {
  try {
    static_cast<std::string*>(ctx)->assign(data ? data : "", data ? len : 0);
  } catch (...) {
  }
}

// Reads a table field only when the plugin's struct is long enough to hold it.
template <typename T>
T field(const kubeop_plugin_api* api, T kubeop_plugin_api::*member, size_t offset) {
  if (offset + sizeof(T) > api->struct_size) return T{};
  return api->*member;
}
#define KUBEOP_FIELD(api, f) field(api, &kubeop_plugin_api::f, offsetof(kubeop_plugin_api, f))

const char* rcName(int rc) {
  switch (rc) {
    case KUBEOP_OK: return "OK";
    case KUBEOP_ERROR: return "ERROR";
    case KUBEOP_RETRY: return "RETRY";
    case KUBEOP_INVALID_CONFIG: return "INVALID_CONFIG";
    case KUBEOP_NOT_SUPPORTED: return "NOT_SUPPORTED";
    case KUBEOP_INVALID_INPUT: return "INVALID_INPUT";
    default: return "UNKNOWN_CODE";
  }
}

StatusCode codeForRc(int rc) {
  switch (rc) {
    case KUBEOP_OK: return StatusCode::kOk;
    case KUBEOP_RETRY: return StatusCode::kUnavailable;
    case KUBEOP_INVALID_CONFIG: return StatusCode::kFailedPrecondition;
    case KUBEOP_NOT_SUPPORTED: return StatusCode::kUnimplemented;
    case KUBEOP_INVALID_INPUT: return StatusCode::kInvalidArgument;
    default: return StatusCode::kInternal;
  }
}

bool validPluginName(std::string_view n) {
  if (n.empty() || n.size() > 63) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string schemaErrorMessage(const rapidjson::SchemaValidator& v) {
  rapidjson::StringBuffer docPtr, schemaPtr;
  v.GetInvalidDocumentPointer().StringifyUriFragment(docPtr);
  v.GetInvalidSchemaPointer().StringifyUriFragment(schemaPtr);
  std::string where = docPtr.GetString();
  if (where.size() > 1 && where[0] == '#') where = where.substr(1);
  if (where.empty() || where == "#") where = "/";
  return std::string("at ") + where + ": violates schema keyword '" + v.GetInvalidSchemaKeyword() + "' (" +
         schemaPtr.GetString() + ")";
}

}  // namespace

Status validateAgainstSchema(std::string_view schemaJson, std::string_view configJson) {
  auto schemaDoc = json::parse(schemaJson);
  if (!schemaDoc.ok()) return invalidArgument("the config schema is not valid JSON: " + schemaDoc.status().message());
  auto cfg = json::parse(configJson);
  if (!cfg.ok()) return invalidArgument("the config is not valid JSON: " + cfg.status().message());
  rapidjson::SchemaDocument schema(*schemaDoc);
  rapidjson::SchemaValidator validator(schema);
  if (!cfg->Accept(validator)) return invalidArgument("invalid config " + schemaErrorMessage(validator));
  return Status::ok();
}

std::vector<std::string> PluginInfo::capabilityNames() const {
  std::vector<std::string> out;
  if (capabilities & KUBEOP_CAP_DELIVERY) out.push_back("delivery");
  if (capabilities & KUBEOP_CAP_GUARDRAIL) out.push_back("guardrail");
  if (capabilities & KUBEOP_CAP_ADMISSION) out.push_back("admission");
  return out;
}

// ---- Plugin ----

Plugin::~Plugin() {
  if (instance_ && api_ && api_->destroy) {
    try {
      api_->destroy(instance_);
    } catch (...) {
      log::error("plugin destroy threw an exception", {{"plugin", info_.name}});
    }
  }
  instance_ = nullptr;
  // bridge_ and then lib_ are released after this body: the library outlives the instance.
}

Status Plugin::statusFor(std::string_view op, int rc) const {
  std::string err;
  try {
    const char* e = api_->last_error ? api_->last_error(instance_) : nullptr;
    err = e ? e : "";
  } catch (...) {
    err = "(last_error threw an exception)";
  }
  if (err.empty()) err = "(no message)";
  StatusCode code = codeForRc(rc);
  if (rc == KUBEOP_INVALID_INPUT) return Status(code, err);  // the user's problem: say it plainly
  std::string m = "plugin " + info_.name + ": " + std::string(op) + " failed (" + rcName(rc);
  if (code == StatusCode::kInternal && rc != KUBEOP_ERROR) m += " " + std::to_string(rc);
  m += "): " + err;
  return Status(code, std::move(m));
}

template <typename Fn>
StatusOr<std::string> Plugin::callWithOutput(std::string_view op, Fn&& fn) const {
  auto start = std::chrono::steady_clock::now();
  std::string out;
  kubeop_output o{&out, &writeToString};
  int rc;
  try {
    rc = fn(&o);
  } catch (const std::exception& e) {
    rc = -1;
    out = e.what();
  } catch (...) {
    rc = -1;
    out = "unknown exception";
  }
  auto finish = [&](std::string_view result) {
    if (observer_) {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      observer_(info_.name, op, result, s);
    }
  };
  if (rc == -1) {
    finish("exception");
    return internalError("plugin " + info_.name + " (" + info_.path + "): " + std::string(op) +
                         " let an exception cross the ABI: " + out);
  }
  if (rc != KUBEOP_OK) {
    finish(rcName(rc));
    return statusFor(op, rc);
  }
  auto parsed = json::parse(out);
  if (!parsed.ok() || !parsed->IsObject()) {
    finish("invalid_output");
    return internalError("plugin " + info_.name + " (" + info_.path + "): " + std::string(op) +
                         " returned invalid JSON: " +
                         (parsed.ok() ? std::string("expected an object, got ") + json::typeName(*parsed)
                                      : parsed.status().message()));
  }
  finish("OK");
  return out;
}

template <typename Fn>
Status Plugin::callNoOutput(std::string_view op, Fn&& fn) const {
  auto start = std::chrono::steady_clock::now();
  int rc;
  std::string what;
  try {
    rc = fn();
  } catch (const std::exception& e) {
    rc = -1;
    what = e.what();
  } catch (...) {
    rc = -1;
    what = "unknown exception";
  }
  if (observer_) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    observer_(info_.name, op, rc == -1 ? "exception" : rcName(rc), s);
  }
  if (rc == -1) {
    return internalError("plugin " + info_.name + " (" + info_.path + "): " + std::string(op) +
                         " let an exception cross the ABI: " + what);
  }
  if (rc != KUBEOP_OK) return statusFor(op, rc);
  return Status::ok();
}

Status Plugin::validateApp(std::string_view appJson) const {
  auto fn = KUBEOP_FIELD(api_, validate_app);
  if (!fn) return unimplemented("plugin " + info_.name + " does not validate apps");
  std::string in(appJson);
  return callNoOutput("validate_app", [&] { return fn(instance_, in.c_str()); });
}

StatusOr<std::string> Plugin::render(std::string_view requestJson) const {
  auto fn = KUBEOP_FIELD(api_, render);
  if (!fn) return unimplemented("plugin " + info_.name + " does not render");
  std::string in(requestJson);
  return callWithOutput("render", [&](const kubeop_output* o) { return fn(instance_, in.c_str(), o); });
}

StatusOr<std::string> Plugin::contribute(std::string_view scopeJson) const {
  auto fn = KUBEOP_FIELD(api_, contribute);
  if (!fn) return unimplemented("plugin " + info_.name + " does not contribute objects");
  std::string in(scopeJson);
  return callWithOutput("contribute", [&](const kubeop_output* o) { return fn(instance_, in.c_str(), o); });
}

StatusOr<std::string> Plugin::mutate(std::string_view requestJson) const {
  auto fn = KUBEOP_FIELD(api_, mutate);
  if (!fn) return unimplemented("plugin " + info_.name + " does not mutate objects");
  std::string in(requestJson);
  return callWithOutput("mutate", [&](const kubeop_output* o) { return fn(instance_, in.c_str(), o); });
}

StatusOr<std::string> Plugin::validateAdmission(std::string_view reviewJson) const {
  auto fn = KUBEOP_FIELD(api_, validate_admission);
  if (!fn) return unimplemented("plugin " + info_.name + " does not validate admission requests");
  std::string in(reviewJson);
  return callWithOutput("validate_admission", [&](const kubeop_output* o) { return fn(instance_, in.c_str(), o); });
}

Status Plugin::finalize(std::string_view requestJson) const {
  auto fn = KUBEOP_FIELD(api_, finalize);
  if (!fn) return Status::ok();  // nothing external to clean up
  std::string in(requestJson);
  return callNoOutput("finalize", [&] { return fn(instance_, in.c_str()); });
}

StatusOr<std::string> Plugin::admit(std::string_view reviewJson) const {
  auto fn = KUBEOP_FIELD(api_, admit);
  if (!fn) return unimplemented("plugin " + info_.name + " does not admit requests");
  std::string in(reviewJson);
  return callWithOutput("admit", [&](const kubeop_output* o) { return fn(instance_, in.c_str(), o); });
}

// ---- Loader ----

namespace {
std::string fileRef(const std::string& path) { return "plugin file " + path; }
}  // namespace

StatusOr<std::shared_ptr<Plugin>> Loader::load(const std::string& path, std::string_view configJson) {
  std::string cfg(configJson.empty() ? std::string_view("{}") : configJson);
  std::map<std::string, std::string> configs{{"*", cfg}};
  return load(path, configs, nullptr);
}

StatusOr<std::shared_ptr<Plugin>> Loader::load(const std::string& path,
                                               const std::map<std::string, std::string>& configs,
                                               const std::function<Status(const PluginInfo&)>& precheck) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return notFound(fileRef(path) + " does not exist or is not a regular file");
  }
  auto lib = std::make_shared<Plugin::Library>();
  try {
    lib->lib.load(boost::dll::fs::path(path),
                  boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return failedPrecondition("cannot load " + fileRef(path) + ": " + e.what());
  }
  if (!lib->lib.has(KUBEOP_PLUGIN_ENTRY_SYMBOL)) {
    return failedPrecondition(fileRef(path) + " is not a kubeop plugin: it does not export the entry symbol " +
                              KUBEOP_PLUGIN_ENTRY_SYMBOL + " (build it with KUBEOP_PLUGIN() from kubeop/plugin_sdk.h)");
  }
  const kubeop_plugin_api* api = nullptr;
  try {
    auto& entry = lib->lib.get<const kubeop_plugin_api*()>(KUBEOP_PLUGIN_ENTRY_SYMBOL);
    api = entry();
  } catch (const std::exception& e) {
    return failedPrecondition(fileRef(path) + ": " + KUBEOP_PLUGIN_ENTRY_SYMBOL + " failed: " + e.what());
  } catch (...) {
    return failedPrecondition(fileRef(path) + ": " + KUBEOP_PLUGIN_ENTRY_SYMBOL + " threw an exception");
  }
  if (!api) return failedPrecondition(fileRef(path) + ": " + KUBEOP_PLUGIN_ENTRY_SYMBOL + " returned NULL");

  constexpr size_t kMinSize = offsetof(kubeop_plugin_api, last_error) + sizeof(api->last_error);
  // The version fields come first and exist in every ABI: check them before anything else.
  std::string hostV = std::to_string(KUBEOP_PLUGIN_ABI_MAJOR) + "." + std::to_string(KUBEOP_PLUGIN_ABI_MINOR);
  std::string plugV = std::to_string(api->abi_major) + "." + std::to_string(api->abi_minor);
  if (api->abi_major != KUBEOP_PLUGIN_ABI_MAJOR) {
    return failedPrecondition(fileRef(path) + " was built for plugin ABI " + plugV + ", but this kubeop speaks ABI " +
                              hostV + " (major versions differ); rebuild the plugin against kubeop's SDK " +
                              std::to_string(KUBEOP_PLUGIN_ABI_MAJOR) + ".x");
  }
  if (api->abi_minor > KUBEOP_PLUGIN_ABI_MINOR) {
    return failedPrecondition(fileRef(path) + " needs plugin ABI " + plugV + ", newer than this kubeop's ABI " +
                              hostV + "; upgrade kubeop or rebuild the plugin against SDK " + hostV);
  }
  if (api->struct_size < kMinSize) {
    return failedPrecondition(fileRef(path) + ": its API table is " + std::to_string(api->struct_size) +
                              " bytes, smaller than the " + std::to_string(kMinSize) + " bytes every ABI " +
                              std::to_string(KUBEOP_PLUGIN_ABI_MAJOR) + ".x table has");
  }

  PluginInfo info;
  info.path = path;
  info.abiMajor = api->abi_major;
  info.abiMinor = api->abi_minor;
  info.capabilities = api->capabilities;
  info.name = api->name ? api->name : "";
  info.version = api->version ? api->version : "";
  if (const char* s = KUBEOP_FIELD(api, config_schema)) info.configSchema = s;
  if (const char* t = KUBEOP_FIELD(api, delivery_type)) info.deliveryType = t;

  if (!validPluginName(info.name)) {
    return failedPrecondition(fileRef(path) + ": plugin name \"" + info.name +
                              "\" is invalid (1-63 characters of a-z, 0-9 and '-')");
  }
  std::string who = "plugin " + info.name + " (" + path + ")";
  if (info.version.empty()) return failedPrecondition(who + ": the version field is empty");

  std::vector<std::string> missing;
  if (!api->create) missing.push_back("create");
  if (!api->destroy) missing.push_back("destroy");
  if (!api->last_error) missing.push_back("last_error");
  const uint32_t known = KUBEOP_CAP_DELIVERY | KUBEOP_CAP_GUARDRAIL | KUBEOP_CAP_ADMISSION;
  if (info.capabilities & ~known) {
    return failedPrecondition(who + ": unknown capability bits 0x" +
                              [](uint32_t v) {
                                char b[16];
                                std::snprintf(b, sizeof b, "%x", v);
                                return std::string(b);
                              }(info.capabilities & ~known));
  }
  if (info.capabilities == 0) return failedPrecondition(who + ": declares no capability");
  if (info.capabilities & KUBEOP_CAP_DELIVERY) {
    if (!KUBEOP_FIELD(api, validate_app)) missing.push_back("validate_app");
    if (!KUBEOP_FIELD(api, render)) missing.push_back("render");
    if (info.deliveryType.empty()) missing.push_back("delivery_type");
  }
  if (info.capabilities & KUBEOP_CAP_GUARDRAIL) {
    if (!KUBEOP_FIELD(api, contribute)) missing.push_back("contribute");
    if (!KUBEOP_FIELD(api, mutate)) missing.push_back("mutate");
  }
  if ((info.capabilities & KUBEOP_CAP_ADMISSION) && !KUBEOP_FIELD(api, admit)) missing.push_back("admit");
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return failedPrecondition(who + ": missing required operation(s) for its capabilities " +
                              [&] {
                                std::string c;
                                for (const auto& n : info.capabilityNames()) c += (c.empty() ? "" : "+") + n;
                                return c;
                              }() +
                              ": " + list);
  }

  if (precheck) KUBEOP_RETURN_IF_ERROR(precheck(info));

  std::string config = "{}";
  if (auto it = configs.find(info.name); it != configs.end()) {
    config = it->second;
  } else if (auto star = configs.find("*"); star != configs.end()) {
    config = star->second;
  }
  auto cfgDoc = json::parse(config);
  if (!cfgDoc.ok()) return invalidArgument(who + ": config is not valid JSON: " + cfgDoc.status().message());
  if (!cfgDoc->IsObject()) return invalidArgument(who + ": config must be a JSON object");
  if (!info.configSchema.empty()) {
    Status st = validateAgainstSchema(info.configSchema, config);
    if (!st.isOk()) return Status(st.code(), who + ": " + st.message());
  }

  auto bridge = std::make_unique<HostBridge>();
  bridge->host = host_ ? host_ : std::make_shared<HostServices>();
  bridge->pluginName = info.name;
  bridge->cacheDir = bridge->host->cacheBaseDir() + "/" + info.name;
  std::filesystem::create_directories(bridge->cacheDir, ec);
  bridge->api.struct_size = sizeof(kubeop_host_api);
  bridge->api.host_ctx = bridge.get();
  bridge->api.log = &cbLog;
  bridge->api.read_secret = &cbReadSecret;
  bridge->api.cache_dir = &cbCacheDir;
  bridge->api.now_unix_ms = &cbNow;

  kubeop_plugin* instance = nullptr;
  int rc;
  std::string thrown;
  try {
    rc = api->create(config.c_str(), &bridge->api, &instance);
  } catch (const std::exception& e) {
    rc = -1;
    thrown = e.what();
  } catch (...) {
    rc = -1;
    thrown = "unknown exception";
  }
  if (rc == -1) return failedPrecondition(who + ": create let an exception cross the ABI: " + thrown);
  if (rc != KUBEOP_OK || !instance) {
    std::string err;
    try {
      const char* e = api->last_error(nullptr);
      err = e ? e : "";
    } catch (...) {
    }
    if (err.empty()) err = rc == KUBEOP_OK ? "create returned OK but no instance" : "(no message)";
    return Status(rc == KUBEOP_INVALID_CONFIG ? StatusCode::kInvalidArgument : StatusCode::kFailedPrecondition,
                  who + ": create failed (" + rcName(rc) + "): " + err);
  }

  auto p = std::shared_ptr<Plugin>(new Plugin());
  p->lib_ = std::move(lib);
  p->api_ = api;
  p->instance_ = instance;
  p->info_ = std::move(info);
  p->bridge_ = std::move(bridge);
  return p;
}

}  // namespace kubeop::plugin
