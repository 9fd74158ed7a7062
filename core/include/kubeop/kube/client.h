// kubeop's Kubernetes client: the REST protocol of the kube-apiserver over http::Client, on
// unstructured Objects (client-go's dynamic client, rest.Request and discovery, in one class).
//
//  - Discovery maps apiVersion + kind to a resource (plural, scope, verbs, subresources) from
//    /api, /api/v1, /apis and /apis/<group>/<version>. Group versions are fetched lazily and
//    cached; a miss refetches (a CRD created after start becomes usable without a restart).
//  - get, list (+ listAll paging through limit/continue), create, update (PUT, optimistic
//    concurrency through metadata.resourceVersion), updateStatus, patch (JSON, merge,
//    strategic merge), apply (server-side apply), remove (DELETE with DeleteOptions), watch.
//  - Errors: a failed call's metav1.Status is decoded into a kubeop Status whose code carries
//    the retry meaning (see statusCodeFor) and, through the optional ApiError out-parameter,
//    into the Kubernetes reason, details and causes.
//  - Client-side rate limiting (token bucket, qps/burst) shared by every call of a Client.
//  - Retries with exponential backoff and jitter, bounded by ClientConfig::maxRetries and the
//    call's timeout (see "Retries" below).
//
// Retries (client-go's rest.Request semantics, made explicit):
//  - 429 TooManyRequests: the server did not process the request, so every verb is retried,
//    after Retry-After when given (never past the call's deadline: when Retry-After would end
//    after it the 429 is returned at once), else after the backoff.
//  - 5xx answers (but 501) and transport failures (connection refused/reset, TLS failure, a
//    connect timeout, a connection closed early):
//    retried only when a replay cannot do harm — GET (get, list, discovery, watch
//    establishment) and PUT carrying metadata.resourceVersion (a replay of an update that did
//    land fails with Conflict instead of writing twice). POST, PATCH, DELETE and unconditional
//    PUT are never retried after a 5xx or a transport failure: the server may have acted.
//  - 401 with a credential source that can refresh (RestConfig::invalidateCredentials): the
//    cached credential is dropped and the request retried once.
//  - Nothing else is retried (4xx answers are the caller's to act on).
//
// Namespaces: calls naming one object of a namespaced resource use RestConfig::defaultNamespace
// when given none (object-carrying calls: when the object has none). list and watch with an
// empty namespace span all namespaces. A namespace given for a cluster-scoped resource is
// ignored.
//
// Secrets: the Authorization header is built per request from RestConfig and never appears in a
// message or a log line; error messages quote the server's Status message, never request bodies.
//
// Thread-safety: a Client is thread-safe; any number of threads may call it concurrently (the
// connection pool, the discovery cache and the rate limiter are shared). Each call blocks its
// caller; watch callbacks run on the calling thread.
// Ownership: Client::create returns the sole owner; it must outlive every call in flight.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/object.h"
#include "kubeop/core/status.h"
#include "kubeop/http/client.h"
#include "kubeop/kube/kubeconfig.h"
#include "kubeop/kube/patch.h"

namespace kubeop::kube {

// ---------------------------------------------------------------------------------------------
// Errors

// metav1.StatusCause.
struct StatusCause {
  std::string reason;  // "FieldValueInvalid", "FieldManagerConflict", "NamespaceTerminating", …
  std::string message;
  std::string field;  // "spec.replicas", "metadata.labels"
};

// A failed call as the API server described it (metav1.Status), or as the client derived it
// from the HTTP status when the body was not a Status (a proxy's HTML page, an empty body).
struct ApiError {
  int httpStatus = 0;  // 0: no HTTP answer (a transport failure; `message` says which)
  // metav1.StatusReason: "NotFound", "AlreadyExists", "Conflict", "Invalid", "Forbidden",
  // "Unauthorized", "TooManyRequests", "Timeout", "ServerTimeout", "Gone", "Expired",
  // "BadRequest", "InternalError", "ServiceUnavailable", … Derived from httpStatus when the
  // server gave none.
  std::string reason;
  std::string message;
  // metav1.StatusDetails. `kind` is the resource ("configmaps"), or the Kind for Invalid.
  std::string name;
  std::string group;
  std::string kind;
  std::string uid;
  std::vector<StatusCause> causes;
  // details.retryAfterSeconds, or the Retry-After header (seconds) when larger.
  int retryAfterSeconds = 0;
  // metadata.continue of a 410 answer to a list continuation (a token resuming at the latest
  // resourceVersion instead of the expired snapshot).
  std::string continueToken;
};

// Decodes an HTTP error answer; never fails (a body that is not a metav1.Status leaves the
// reason derived from the status code and the message describing the answer).
ApiError decodeApiError(int httpStatus, std::string_view body, std::string_view retryAfterHeader = {});
// Decodes a metav1.Status object, e.g. the object of a watch ERROR event.
ApiError apiErrorFromStatus(const json::Value& status);
// The kubeop code for an API error (the table in client.cc, pinned by client_test.cc):
//   NotFound→NotFound, AlreadyExists→AlreadyExists, Conflict→Aborted, Invalid/BadRequest→
//   InvalidArgument, Forbidden→PermissionDenied (FailedPrecondition when the cause is a
//   terminating namespace), Unauthorized→Unauthenticated, TooManyRequests→ResourceExhausted,
//   Timeout/ServerTimeout→DeadlineExceeded, Gone/Expired→OutOfRange, RequestEntityTooLarge→
//   PayloadTooLarge, MethodNotAllowed/UnsupportedMediaType/NotAcceptable→Unimplemented,
//   other 5xx→Unavailable.
StatusCode statusCodeFor(const ApiError& error);
// The Status for it: the server's message; for Invalid, each cause's field and message that the
// message does not already name is appended.
Status toStatus(const ApiError& error);

// ---------------------------------------------------------------------------------------------
// Discovery

// One served resource (an APIResource of a group version's APIResourceList).
struct ResourceInfo {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string kind;      // "Deployment"
  std::string resource;  // the plural: "deployments"
  std::string singular;  // "deployment" (may be empty on older servers)
  bool namespaced = true;
  std::vector<std::string> verbs;         // "get", "list", "watch", "create", …
  std::vector<std::string> subresources;  // "status", "scale", …
  std::vector<std::string> shortNames;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  bool supports(std::string_view verb) const;
  bool hasSubresource(std::string_view name) const;
};

// ---------------------------------------------------------------------------------------------
// Call options

struct ClientConfig {
  // Client-side rate limit (a token bucket shared by every call of the client): `qps` tokens per
  // second, up to `burst` saved. 0 for either: unlimited.
  double qps = 50;
  int burst = 100;
  // Retries after the first attempt (see "Retries" above). 0: never retry.
  int maxRetries = 10;
  // The whole call — rate-limiter wait, attempts and backoff — for every call but watch streams
  // (a watch's establishment is bounded by it; the stream itself by WatchOptions).
  // 0: no limit.
  std::chrono::milliseconds timeout{30000};
  std::string userAgent = "kubeop";
  // Backoff between attempts: base·2^(attempt-1), capped at backoffMax, each with up to 50%
  // random jitter subtracted (never less than half the nominal wait).
  std::chrono::milliseconds backoffBase{250};
  std::chrono::milliseconds backoffMax{8000};
  // Test seam: waits (rate limiter and retries) go through this instead of sleeping. It may
  // return early; the client does not assume time passed.
  std::function<void(std::chrono::milliseconds)> sleep;
};

struct GetOptions {
  std::string resourceVersion;  // "" (latest, consistent) or "0" (any, from the cache)
};

struct ListOptions {
  std::string labelSelector;  // "app=web,tier!=db"
  std::string fieldSelector;  // "metadata.name=x"
  int64_t limit = 0;          // page size; 0: everything in one answer
  std::string continueToken;  // from the previous page
  std::string resourceVersion;
  std::string resourceVersionMatch;  // "", "Exact", "NotOlderThan"
};

struct ObjectList {
  std::string apiVersion;
  std::string kind;             // "ConfigMapList"
  std::string resourceVersion;  // the list's snapshot (start a watch from it)
  std::string continueToken;    // non-empty: more pages
  std::optional<int64_t> remainingItemCount;
  // Each item carries apiVersion and kind (filled from the resource when the server left them
  // out, as it does for built-in kinds).
  std::vector<Object> items;
};

struct CreateOptions {
  bool dryRun = false;       // dryRun=All: validated and answered, nothing stored
  std::string fieldManager;  // empty: the server derives one from the User-Agent
};

struct UpdateOptions {
  bool dryRun = false;
  std::string fieldManager;
};

struct PatchOptions {
  bool dryRun = false;
  std::string fieldManager;
  std::string subresource;  // "" or "status", "scale", …
};

struct ApplyOptions {
  std::string fieldManager;  // required by server-side apply
  bool force = false;        // take ownership of conflicting fields
  bool dryRun = false;
  std::string subresource;  // "" or "status"
};

enum class PropagationPolicy { kDefault, kOrphan, kBackground, kForeground };

struct DeleteOptions {
  PropagationPolicy propagationPolicy = PropagationPolicy::kDefault;
  std::optional<int64_t> gracePeriodSeconds;
  // Preconditions: the delete fails with Conflict (Aborted) unless the live object matches.
  std::string preconditionUid;
  std::string preconditionResourceVersion;
  bool dryRun = false;
};

// What a delete left behind.
struct DeleteResult {
  // true: the object is gone. false: it is still there, being finalized or deleted gracefully
  // (metadata.deletionTimestamp is set; `object` is its state).
  bool deleted = true;
  std::optional<Object> object;  // the object as the server returned it, if it did
};

struct WatchOptions {
  // Start after this resourceVersion (from a list or the last event). "" or "0": the server
  // first sends the current objects as ADDED events.
  std::string resourceVersion;
  std::string labelSelector;
  std::string fieldSelector;
  bool allowBookmarks = true;
  // The server ends the stream after this long (its own default when 0).
  int64_t timeoutSeconds = 0;
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
const char* watchEventTypeName(WatchEventType type);  // "ADDED", …

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  // The object (kAdded/kModified/kDeleted: with apiVersion and kind; kBookmark: only
  // metadata.resourceVersion matters; kError: the metav1.Status).
  Object object;
  ApiError error;  // kError: the decoded Status (410 Expired/Gone means: relist)
};

// Called for each event on the watching thread. A non-OK Status ends the watch; watch() then
// returns it.
using WatchCallback = std::function<Status(WatchEvent& event)>;

// ---------------------------------------------------------------------------------------------
// Client

class Client {
 public:
  // Builds the HTTP client from `rest.client` (TLS material is validated here). The per-call
  // timeout also bounds each HTTP attempt. Errors: InvalidArgument (bad server URL, TLS material
  // or configuration).
  static StatusOr<std::unique_ptr<Client>> create(RestConfig rest, ClientConfig config = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& server() const;
  const std::string& defaultNamespace() const;

  // --- discovery
  // The resource serving apiVersion + kind; refetches the group version on a miss. NotFound
  // ("no matches for kind …") when the server does not serve it.
  StatusOr<ResourceInfo> resourceFor(std::string_view apiVersion, std::string_view kind, ApiError* error = nullptr);
  // Every resource of every group version the server serves (/api, /apis), refreshing the cache.
  StatusOr<std::vector<ResourceInfo>> serverResources(ApiError* error = nullptr);
  // Drops the discovery cache (the next lookup refetches).
  void invalidateDiscovery();

  // --- objects
  StatusOr<Object> get(std::string_view apiVersion, std::string_view kind, std::string_view ns, std::string_view name,
                       const GetOptions& options = {}, ApiError* error = nullptr);
  // One answer (one page when options.limit > 0).
  StatusOr<ObjectList> list(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                            const ListOptions& options = {}, ApiError* error = nullptr);
  // Pages through everything (options.limit per page; 500 when 0). When a continuation expires
  // (410) it falls back to one unpaginated list, as client-go's pager does. The result's
  // resourceVersion is the snapshot's.
  StatusOr<ObjectList> listAll(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                               ListOptions options = {}, ApiError* error = nullptr);
  // The same, handing each page to `onPage` as it arrives (so that a caller that keeps less than
  // the objects themselves never holds the whole list). `restart` is true for the first page and
  // for the first page after the fallback to one full list: the pages before it are void.
  // Returns the snapshot's resourceVersion.
  using PageFunc = std::function<void(ObjectList& page, bool restart)>;
  StatusOr<std::string> listEach(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                                 ListOptions options, const PageFunc& onPage, ApiError* error = nullptr);
  // POST. The namespace is the object's (or the default); the answer is the stored object.
  StatusOr<Object> create(const Object& object, const CreateOptions& options = {}, ApiError* error = nullptr);
  // PUT. Set metadata.resourceVersion for optimistic concurrency (a stale one: Aborted).
  StatusOr<Object> update(const Object& object, const UpdateOptions& options = {}, ApiError* error = nullptr);
  // PUT to the status subresource: only .status changes.
  StatusOr<Object> updateStatus(const Object& object, const UpdateOptions& options = {}, ApiError* error = nullptr);
  // PATCH with a JSON Patch, a merge patch or a strategic merge patch (the server refuses the
  // latter for custom resources). `patch` is the patch document (JSON).
  StatusOr<Object> patch(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                         std::string_view name, PatchType type, std::string_view patch,
                         const PatchOptions& options = {}, ApiError* error = nullptr);
  // Server-side apply of `object` (its apiVersion, kind, namespace and name locate it):
  // PATCH application/apply-patch+yaml with fieldManager and force. Creates a missing object.
  StatusOr<Object> apply(const Object& object, const ApplyOptions& options, ApiError* error = nullptr);
  // DELETE with DeleteOptions. NotFound when there is nothing to delete.
  StatusOr<DeleteResult> remove(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                                std::string_view name, const DeleteOptions& options = {}, ApiError* error = nullptr);

  // Streams events until the server ends the stream (OK), `cancel` fires (Cancelled), the
  // callback returns non-OK (that status) or the connection breaks (Unavailable). Establishing
  // the stream is retried like a GET; an expired resourceVersion answered at establishment is
  // OutOfRange (410, relist). An ERROR event is handed to the callback (with `error` decoded);
  // the server ends the stream after it.
  Status watch(std::string_view apiVersion, std::string_view kind, std::string_view ns, const WatchOptions& options,
               const WatchCallback& onEvent, const http::CancelToken* cancel = nullptr, ApiError* error = nullptr);

  // --- escape hatch: one request to `pathAndQuery` ("/version", "/apis/x/v1/…?a=b") with the
  // client's authentication, rate limit, retries (by the rules above) and error decoding.
  // Returns the body of a 2xx answer.
  StatusOr<std::string> requestRaw(std::string_view method, std::string_view pathAndQuery, std::string_view body = {},
                                   std::string_view contentType = "application/json", ApiError* error = nullptr);

  struct Stats {
    uint64_t requests = 0;        // HTTP attempts sent (retries included)
    uint64_t retries = 0;         // attempts that were retries
    uint64_t discoveryFetches = 0;  // group-version documents fetched
    uint64_t rateLimitWaits = 0;  // calls that waited for a rate-limiter token
  };
  Stats stats() const;

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "ns/name", or "name" for a cluster-scoped object: the key of caches and work queues.
std::string objectKey(std::string_view ns, std::string_view name);
std::string objectKey(const Object& object);

}  // namespace kubeop::kube
