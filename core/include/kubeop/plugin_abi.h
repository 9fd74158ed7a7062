/*
 * kubeop plugin ABI — the boundary between the kubeop host and a plugin shared object.
 *
 * A plugin is a shared object that exports exactly one C symbol:
 *
 *     const kubeop_plugin_api* kubeop_plugin_get_api(void);
 *
 * returning a pointer to a static, versioned table of function pointers. Nothing but C types
 * crosses this boundary: no C++ exceptions, std::string, shared_ptr or std::function.
 * Documents (apps, objects, requests, results) cross as UTF-8 JSON text.
 *
 * VERSIONING
 *   KUBEOP_PLUGIN_ABI_MAJOR changes on any incompatible change; KUBEOP_PLUGIN_ABI_MINOR when
 *   fields are appended to a struct. The host loads a plugin when the majors are equal and
 *   host minor >= plugin minor, and refuses it otherwise, naming both versions. Structs start
 *   with `struct_size` and fields are only ever appended, so a host can tell which fields a
 *   plugin built against an older minor has. This header is pinned by a test: editing it fails
 *   the test until the version moves.
 *
 * RETURN CODES
 *   Every operation returns a kubeop_rc. On anything but KUBEOP_OK the plugin's last_error()
 *   tells why, in words a person can act on.
 *
 * THREADING
 *   The host may call operations on one instance from several threads at once, so operations
 *   must be re-entrant (the C++ SDK keeps the last error per thread). create/destroy are never
 *   concurrent with other calls on the same instance.
 */
#ifndef KUBEOP_PLUGIN_ABI_H_
#define KUBEOP_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KUBEOP_PLUGIN_ABI_MAJOR 1
#define KUBEOP_PLUGIN_ABI_MINOR 0

/* The one exported symbol. */
#define KUBEOP_PLUGIN_ENTRY_SYMBOL "kubeop_plugin_get_api"

/* Return codes. Their retry meaning is fixed:
 *   KUBEOP_OK             success; the output (if any) was delivered.
 *   KUBEOP_ERROR          failed; the host retries with backoff (plugin bug or unexpected state).
 *   KUBEOP_RETRY          transient (a source unreachable); retry with backoff.
 *   KUBEOP_INVALID_CONFIG the plugin's configuration is unusable; the plugin is not loaded.
 *   KUBEOP_NOT_SUPPORTED  the operation or input kind is not handled by this plugin.
 *   KUBEOP_INVALID_INPUT  the input document is wrong; terminal until the user changes it. */
typedef enum kubeop_rc {
  KUBEOP_OK = 0,
  KUBEOP_ERROR = 1,
  KUBEOP_RETRY = 2,
  KUBEOP_INVALID_CONFIG = 3,
  KUBEOP_NOT_SUPPORTED = 4,
  KUBEOP_INVALID_INPUT = 5
} kubeop_rc;

/* Capabilities: a bit set. Each capability requires its group of operations (below). */
#define KUBEOP_CAP_DELIVERY 0x1u  /* validate_app + render */
#define KUBEOP_CAP_GUARDRAIL 0x2u /* contribute + mutate (+ optional validate_admission, finalize) */
#define KUBEOP_CAP_ADMISSION 0x4u /* admit */

/* Log levels for kubeop_host_api.log. */
#define KUBEOP_LOG_DEBUG 0
#define KUBEOP_LOG_INFO 1
#define KUBEOP_LOG_WARN 2
#define KUBEOP_LOG_ERROR 3

/* An opaque plugin instance.
 * OWNERSHIP: created by create(), owned by the host, released with destroy().
 * LIFETIME: from a successful create() to destroy(). */
typedef struct kubeop_plugin kubeop_plugin;

/* Where an operation writes its result document.
 * OWNERSHIP: owned by the host. `write` copies the bytes; the plugin keeps no reference.
 * LIFETIME: valid only during the operation call it was passed to. A plugin calls write at
 *           most once per call; the data need not be NUL-terminated. */
typedef struct kubeop_output {
  void* host_ctx;
  void (*write)(void* host_ctx, const char* data, size_t len);
} kubeop_output;

/* Services the host offers to plugins, so plugins need no global state.
 * OWNERSHIP: owned by the host.
 * LIFETIME: valid from create() until destroy() returns; callable from any thread.
 * Strings passed in are only read during the call. */
typedef struct kubeop_host_api {
  uint32_t struct_size;
  void* host_ctx;
  /* Writes a log line attributed to the plugin. msg: NUL-terminated UTF-8. */
  void (*log)(void* host_ctx, int level, const char* msg);
  /* Reads key `key` of Secret namespace/name into `out`. Returns KUBEOP_OK, or
   * KUBEOP_NOT_SUPPORTED when the host has no cluster access, or KUBEOP_ERROR when absent. */
  kubeop_rc (*read_secret)(void* host_ctx, const char* ns, const char* name, const char* key,
                           const kubeop_output* out);
  /* A directory the plugin may use for caches (created, writable, private to the plugin).
   * The returned string is owned by the host and valid until destroy(). */
  const char* (*cache_dir)(void* host_ctx);
  /* Current time in milliseconds since the Unix epoch (the host's clock; tests inject one). */
  int64_t (*now_unix_ms)(void* host_ctx);
} kubeop_host_api;

/* The table a plugin exports. Fields marked REQUIRED must be non-NULL; a capability's group
 * must be complete when its bit is set, otherwise the host refuses the plugin.
 * OWNERSHIP: owned by the plugin (static storage).
 * LIFETIME: the whole time the library is loaded; the host keeps the library loaded longer than
 *           every instance and every pointer it got from it. */
typedef struct kubeop_plugin_api {
  uint32_t struct_size;  /* REQUIRED: sizeof(kubeop_plugin_api) as the plugin was built */
  uint32_t abi_major;    /* REQUIRED: KUBEOP_PLUGIN_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;    /* REQUIRED: KUBEOP_PLUGIN_ABI_MINOR the plugin was built with */
  uint32_t capabilities; /* REQUIRED: KUBEOP_CAP_* bits */
  const char* name;      /* REQUIRED: unique, [a-z0-9-], e.g. "delivery-raw" */
  const char* version;   /* REQUIRED: the plugin's own version, e.g. "1.2.0" */
  /* OPTIONAL: JSON Schema (draft-04/07 subset) for the plugin's config object; the host
   * validates the config against it before create() sees it. NULL: any object. */
  const char* config_schema;
  /* DELIVERY: the App spec.type this plugin delivers ("Raw", "Image", …); compared
   * case-insensitively; NULL for plugins without KUBEOP_CAP_DELIVERY. */
  const char* delivery_type;

  /* REQUIRED. Creates an instance from `config_json` (a JSON object, already validated).
   * `host` stays valid until destroy(). On failure *out is untouched and the reason is
   * available from last_error(NULL). */
  kubeop_rc (*create)(const char* config_json, const kubeop_host_api* host, kubeop_plugin** out);
  /* REQUIRED. Releases an instance; never fails. */
  void (*destroy)(kubeop_plugin* p);
  /* REQUIRED. The reason for the last non-OK return on the calling thread (p may be NULL for
   * create failures).
   * OWNERSHIP: owned by the plugin. LIFETIME: until the next call into the plugin on this thread. */
  const char* (*last_error)(kubeop_plugin* p);

  /* --- DELIVERY group (required with KUBEOP_CAP_DELIVERY) --- */
  /* Checks an App document (JSON object) without rendering. Output: none. */
  kubeop_rc (*validate_app)(kubeop_plugin* p, const char* app_json);
  /* Renders a request {"app":{…},"context":{"tenant":…,"project":…,"namespace":…}} into
   * {"objects":[…],"revision":"…","provenance":{…}}. */
  kubeop_rc (*render)(kubeop_plugin* p, const char* request_json, const kubeop_output* out);

  /* --- GUARDRAIL group (contribute + mutate required with KUBEOP_CAP_GUARDRAIL) --- */
  /* Objects a guardrail contributes for a scope {"scope":"tenant|project|app","object":{…},
   * "namespace":…}. Output: {"objects":[…]}. */
  kubeop_rc (*contribute)(kubeop_plugin* p, const char* scope_json, const kubeop_output* out);
  /* Mutates rendered objects {"app":{…},"objects":[…]} → {"objects":[…]}. */
  kubeop_rc (*mutate)(kubeop_plugin* p, const char* request_json, const kubeop_output* out);
  /* OPTIONAL. Validates an AdmissionReview request → {"allowed":bool,"message":"…"}. */
  kubeop_rc (*validate_admission)(kubeop_plugin* p, const char* review_json, const kubeop_output* out);
  /* OPTIONAL. Removes external side effects of a deleted object {"object":{…}}. Output: none. */
  kubeop_rc (*finalize)(kubeop_plugin* p, const char* request_json);

  /* --- ADMISSION group (required with KUBEOP_CAP_ADMISSION) --- */
  /* AdmissionReview request → {"allowed":bool,"message":"…","patch":[JSONPatch ops]}. */
  kubeop_rc (*admit)(kubeop_plugin* p, const char* review_json, const kubeop_output* out);
} kubeop_plugin_api;

/* The signature of the exported entry symbol. */
typedef const kubeop_plugin_api* (*kubeop_plugin_get_api_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* KUBEOP_PLUGIN_ABI_H_ */
