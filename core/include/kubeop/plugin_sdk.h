// kubeop plugin SDK: turns a plain C++ class into the C exports of plugin_abi.h.
//
//   class RawDelivery {
//    public:
//     static constexpr const char* kName = "delivery-raw";
//     static constexpr const char* kVersion = "1.0.0";
//     static constexpr uint32_t kCapabilities = KUBEOP_CAP_DELIVERY;
//     static constexpr const char* kDeliveryType = "Raw";          // delivery plugins
//     static constexpr const char* kConfigSchema = R"({...})";      // optional
//     RawDelivery(std::string_view config_json, kubeop::sdk::Host host);
//     void validateApp(std::string_view app_json);                   // delivery
//     std::string render(std::string_view request_json);             // delivery
//     std::string contribute(std::string_view scope_json);           // guardrail
//     std::string mutate(std::string_view request_json);             // guardrail
//     std::string validateAdmission(std::string_view review_json);   // guardrail, optional
//     void finalize(std::string_view request_json);                  // guardrail, optional
//     std::string admit(std::string_view review_json);               // admission
//   };
//   KUBEOP_PLUGIN(RawDelivery)
//
// Which operations exist is detected at compile time; a capability whose required operations
// are missing is a compile error, not a load-time surprise. Every exception is caught before it
// can cross the ABI: throw kubeop::sdk::InvalidInput("document 2: metadata.name is required")
// to reject input (terminal), sdk::Retry for transient failures, sdk::InvalidConfig from the
// constructor; any other exception becomes KUBEOP_ERROR with its what() as the last error.
//
// Header-only, standard C++20 only: third parties build against it with find_package(kubeop).
#pragma once

#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "kubeop/plugin_abi.h"

namespace kubeop::sdk {

// An error that carries the return code it should cross the ABI with.
class Error : public std::runtime_error {
 public:
  Error(kubeop_rc rc, const std::string& what) : std::runtime_error(what), rc_(rc) {}
  kubeop_rc rc() const noexcept { return rc_; }

 private:
  kubeop_rc rc_;
};
struct InvalidInput : Error {
  explicit InvalidInput(const std::string& w) : Error(KUBEOP_INVALID_INPUT, w) {}
};
struct InvalidConfig : Error {
  explicit InvalidConfig(const std::string& w) : Error(KUBEOP_INVALID_CONFIG, w) {}
};
struct Retry : Error {
  explicit Retry(const std::string& w) : Error(KUBEOP_RETRY, w) {}
};
struct NotSupported : Error {
  explicit NotSupported(const std::string& w) : Error(KUBEOP_NOT_SUPPORTED, w) {}
};

// The host's services, as the plugin sees them. Cheap to copy; valid until the instance is
// destroyed. Thread-safe.
class Host {
 public:
  explicit Host(const kubeop_host_api* api) : api_(api) {}
  void log(int level, const std::string& msg) const {
    if (api_ && api_->log) api_->log(api_->host_ctx, level, msg.c_str());
  }
  void debug(const std::string& m) const { log(KUBEOP_LOG_DEBUG, m); }
  void info(const std::string& m) const { log(KUBEOP_LOG_INFO, m); }
  void warn(const std::string& m) const { log(KUBEOP_LOG_WARN, m); }
  // The Secret's value, or nullopt when absent or the host has no cluster access.
  std::optional<std::string> readSecret(const std::string& ns, const std::string& name,
                                        const std::string& key) const {
    if (!api_ || !api_->read_secret) return std::nullopt;
    std::string value;
    kubeop_output out{&value, &appendTo};
    if (api_->read_secret(api_->host_ctx, ns.c_str(), name.c_str(), key.c_str(), &out) != KUBEOP_OK) {
      return std::nullopt;
    }
    return value;
  }
  std::string cacheDir() const {
    if (!api_ || !api_->cache_dir) return {};
    const char* d = api_->cache_dir(api_->host_ctx);
    return d ? d : "";
  }
  int64_t nowUnixMs() const { return api_ && api_->now_unix_ms ? api_->now_unix_ms(api_->host_ctx) : 0; }

 private:
  static void appendTo(void* ctx, const char* data, size_t len) {
    static_cast<std::string*>(ctx)->append(data, len);
  }
  const kubeop_host_api* api_;
};

namespace detail {

// The last error, per plugin library and per thread (each .so has its own copy: hidden visibility).
inline std::string& lastError() {
  thread_local std::string e;
  return e;
}

template <typename Fn>
kubeop_rc guarded(Fn&& fn) noexcept {
  try {
    fn();
    return KUBEOP_OK;
  } catch (const Error& e) {
    try { lastError() = e.what(); } catch (...) {}
    return e.rc();
  } catch (const std::bad_alloc&) {
    try { lastError() = "out of memory"; } catch (...) {}
    return KUBEOP_ERROR;
  } catch (const std::exception& e) {
    try { lastError() = std::string("unexpected exception: ") + e.what(); } catch (...) {}
    return KUBEOP_ERROR;
  } catch (...) {
    try { lastError() = "unexpected non-standard exception"; } catch (...) {}
    return KUBEOP_ERROR;
  }
}

inline void emit(const kubeop_output* out, const std::string& s) {
  if (out && out->write) out->write(out->host_ctx, s.data(), s.size());
}

template <class T> concept HasValidateApp = requires(T& t, std::string_view s) { t.validateApp(s); };
template <class T> concept HasRender = requires(T& t, std::string_view s) { { t.render(s) } -> std::convertible_to<std::string>; };
template <class T> concept HasContribute = requires(T& t, std::string_view s) { { t.contribute(s) } -> std::convertible_to<std::string>; };
template <class T> concept HasMutate = requires(T& t, std::string_view s) { { t.mutate(s) } -> std::convertible_to<std::string>; };
template <class T> concept HasValidateAdmission = requires(T& t, std::string_view s) { { t.validateAdmission(s) } -> std::convertible_to<std::string>; };
template <class T> concept HasFinalize = requires(T& t, std::string_view s) { t.finalize(s); };
template <class T> concept HasAdmit = requires(T& t, std::string_view s) { { t.admit(s) } -> std::convertible_to<std::string>; };
template <class T> concept HasConfigSchema = requires { { T::kConfigSchema } -> std::convertible_to<const char*>; };
template <class T> concept HasDeliveryType = requires { { T::kDeliveryType } -> std::convertible_to<const char*>; };

template <class T>
struct Glue {
  struct Instance {
    Host host;
    T impl;
    Instance(std::string_view cfg, const kubeop_host_api* h) : host(h), impl(cfg, host) {}
  };
  static T& self(kubeop_plugin* p) { return reinterpret_cast<Instance*>(p)->impl; }

  static kubeop_rc create(const char* config_json, const kubeop_host_api* host, kubeop_plugin** out) {
    return guarded([&] {
      if (!out) throw Error(KUBEOP_ERROR, "create: out is NULL");
      auto* inst = new Instance(config_json ? config_json : "{}", host);
      *out = reinterpret_cast<kubeop_plugin*>(inst);
    });
  }
  static void destroy(kubeop_plugin* p) {
    try { delete reinterpret_cast<Instance*>(p); } catch (...) {}
  }
  static const char* lastErrorFn(kubeop_plugin*) { return lastError().c_str(); }
  static kubeop_rc validateApp(kubeop_plugin* p, const char* j) {
    return guarded([&] { self(p).validateApp(std::string_view(j ? j : "")); });
  }
  static kubeop_rc render(kubeop_plugin* p, const char* j, const kubeop_output* o) {
    return guarded([&] { emit(o, self(p).render(std::string_view(j ? j : ""))); });
  }
  static kubeop_rc contribute(kubeop_plugin* p, const char* j, const kubeop_output* o) {
    return guarded([&] { emit(o, self(p).contribute(std::string_view(j ? j : ""))); });
  }
  static kubeop_rc mutate(kubeop_plugin* p, const char* j, const kubeop_output* o) {
    return guarded([&] { emit(o, self(p).mutate(std::string_view(j ? j : ""))); });
  }
  static kubeop_rc validateAdmission(kubeop_plugin* p, const char* j, const kubeop_output* o) {
    return guarded([&] { emit(o, self(p).validateAdmission(std::string_view(j ? j : ""))); });
  }
  static kubeop_rc finalize(kubeop_plugin* p, const char* j) {
    return guarded([&] { self(p).finalize(std::string_view(j ? j : "")); });
  }
  static kubeop_rc admit(kubeop_plugin* p, const char* j, const kubeop_output* o) {
    return guarded([&] { emit(o, self(p).admit(std::string_view(j ? j : ""))); });
  }

  static const kubeop_plugin_api* api() {
    static_assert(!(T::kCapabilities & KUBEOP_CAP_DELIVERY) || (HasValidateApp<T> && HasRender<T> && HasDeliveryType<T>),
                  "KUBEOP_CAP_DELIVERY needs validateApp(), render() and kDeliveryType");
    static_assert(!(T::kCapabilities & KUBEOP_CAP_GUARDRAIL) || (HasContribute<T> && HasMutate<T>),
                  "KUBEOP_CAP_GUARDRAIL needs contribute() and mutate()");
    static_assert(!(T::kCapabilities & KUBEOP_CAP_ADMISSION) || HasAdmit<T>,
                  "KUBEOP_CAP_ADMISSION needs admit()");
    static const kubeop_plugin_api table = [] {
      kubeop_plugin_api a{};
      a.struct_size = sizeof(kubeop_plugin_api);
      a.abi_major = KUBEOP_PLUGIN_ABI_MAJOR;
      a.abi_minor = KUBEOP_PLUGIN_ABI_MINOR;
      a.capabilities = T::kCapabilities;
      a.name = T::kName;
      a.version = T::kVersion;
      if constexpr (HasConfigSchema<T>) a.config_schema = T::kConfigSchema;
      if constexpr (HasDeliveryType<T>) a.delivery_type = T::kDeliveryType;
      a.create = &create;
      a.destroy = &destroy;
      a.last_error = &lastErrorFn;
      if constexpr (HasValidateApp<T>) a.validate_app = &validateApp;
      if constexpr (HasRender<T>) a.render = &render;
      if constexpr (HasContribute<T>) a.contribute = &contribute;
      if constexpr (HasMutate<T>) a.mutate = &mutate;
      if constexpr (HasValidateAdmission<T>) a.validate_admission = &validateAdmission;
      if constexpr (HasFinalize<T>) a.finalize = &finalize;
      if constexpr (HasAdmit<T>) a.admit = &admit;
      return a;
    }();
    return &table;
  }
};

}  // namespace detail
}  // namespace kubeop::sdk

// Exports the plugin class `Class` as this shared object's kubeop plugin. Use once per plugin.
#define KUBEOP_PLUGIN(Class)                                                             \
  extern "C" __attribute__((visibility("default"))) const kubeop_plugin_api*             \
  kubeop_plugin_get_api(void) {                                                          \
    return ::kubeop::sdk::detail::Glue<Class>::api();                                    \
  }
