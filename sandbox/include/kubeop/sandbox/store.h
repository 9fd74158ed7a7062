// Store: the sandbox's object storage and API semantics (what etcd, the generic registry, the
// watch cache, the namespace controller and the garbage collector do together), without HTTP.
//
//  - One monotonic resourceVersion across all objects (etcd's revision). Every committed write
//    takes the next one and emits exactly one watch event.
//  - create/get/list/update/remove/watch with the apiserver's rules: name validation per kind,
//    generateName, namespace lifecycle (missing / terminating namespaces), optimistic
//    concurrency, status subresource, generation, finalizers, graceful pod deletion, owner
//    reference garbage collection (Orphan/Background/Foreground), namespace cascade.
//  - A bounded history of events serves watch replay, consistent continue tokens and
//    resourceVersionMatch=Exact lists; older requests get 410 Expired like a compacted etcd.
//  - Objects are kept as their serialized JSON plus the few parsed fields the store indexes.
//  - A resource with a StorageAlias (events.k8s.io/v1 Event) reads and writes its storage
//    resource's objects (core/v1 Event): requests, answers, lists and watch events are in the
//    requested resource's shape, converted on the way in and out.
//
// Errors are Status values whose messages are the apiserver's; pass an ErrorDetails to receive
// the HTTP code, the Kubernetes reason and the metav1.StatusDetails (causes for Invalid).
//
// Thread-safety: every method may be called concurrently; writes are serialized. Watch handles
// are independent of the store's lock: a slow consumer never blocks writers (it is cut off with
// an ERROR event when its queue overflows). Watch handles may outlive the store (they end).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/object.h"
#include "kubeop/core/status.h"
#include "kubeop/sandbox/resources.h"
#include "kubeop/sandbox/selectors.h"

namespace kubeop::sandbox {

// metav1.StatusCause.
struct StatusCause {
  std::string type;  // "FieldValueInvalid", "NamespaceTerminating", …
  std::string message;
  std::string field;
};

// What the apiserver would put in the metav1.Status of a failed call.
struct ErrorDetails {
  int code = 0;        // HTTP status: 404, 409, 422, 403, 410, 413, 400, 500, 504
  std::string reason;  // metav1.StatusReason: NotFound, AlreadyExists, Conflict, Invalid, …
  // metav1.StatusDetails. `kind` is the resource ("configmaps") except for Invalid, where it is
  // the Kind ("ConfigMap"), as the apiserver does.
  std::string name;
  std::string group;
  std::string kind;
  std::string uid;
  std::vector<StatusCause> causes;
  int retryAfterSeconds = 0;
  // 410 for an expired continue token: a token continuing the list at the latest
  // resourceVersion (metav1.Status.metadata.continue).
  std::string continueToken;
};

// The metav1.Status JSON for a failure (a Success status for an OK `status`).
std::string statusObjectJson(const Status& status, const ErrorDetails& details);

// A resource in the store: (group, plural). Versions share the objects, as in etcd; so does a
// StorageAlias with its storage resource.
struct GroupResource {
  std::string group;
  std::string resource;
};

// An immutable serialized object as stored (shared with watchers and list results).
using ObjectJson = std::shared_ptr<const std::string>;

struct StoreOptions {
  // Events kept for watch replay, continue tokens and exact-resourceVersion lists.
  size_t historyWindow = 10000;
  // Live events a watcher may have queued before it is terminated with an ERROR event.
  size_t watcherQueueLimit = 1024;
  // etcd's default request limit (--max-request-bytes 1.5 MiB).
  size_t maxObjectBytes = 1572864;
  // creationTimestamp / deletionTimestamp source; system_clock::now when empty.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Seed for uids and generated names; 0 seeds from std::random_device.
  uint64_t randomSeed = 0;
  // Run garbage collection and namespace cascades inside each write (true), or only when
  // runGarbageCollection() is called (false: the caller drives it, tests see each step).
  bool synchronousGarbageCollection = true;
  // Pods that are scheduled and running delete gracefully (deletionTimestamp in the future,
  // the object stays until deleted again with gracePeriodSeconds=0), as without a kubelet a
  // real apiserver would keep them. false: pods always delete immediately.
  bool podGracefulDeletion = true;
  // NamespaceLifecycle's immortal namespaces (deleting them is Forbidden).
  std::vector<std::string> immortalNamespaces = {"default", "kube-system", "kube-public"};
};

struct WriteOptions {
  bool dryRun = false;  // validate and answer, but store nothing and emit no event
};

enum class Subresource {
  kNone,      // the main resource: changes to .status are ignored (kinds with a status subresource)
  kStatus,    // /status: only .status (and metadata.managedFields) change
  kFinalize,  // /finalize (namespaces): only spec.finalizers change
};

struct UpdateOptions {
  Subresource subresource = Subresource::kNone;
  bool dryRun = false;
  // Create the object when missing even if the kind does not allow create-on-update (the
  // server-side apply path).
  bool allowCreate = false;
};

struct UpdateResult {
  ObjectJson object;
  bool created = false;  // create-on-update
  // The update removed the last finalizer of an object being deleted: it is gone now.
  bool deleted = false;
};

enum class PropagationPolicy { kDefault, kOrphan, kBackground, kForeground };

struct DeleteOptions {
  std::optional<std::string> preconditionUid;
  std::optional<std::string> preconditionResourceVersion;
  PropagationPolicy propagation = PropagationPolicy::kDefault;
  std::optional<int64_t> gracePeriodSeconds;  // pods only
  bool dryRun = false;
};

struct DeleteResult {
  ObjectJson object;     // the last state
  bool deleted = false;  // false: still present (finalizers pending, graceful deletion, namespace terminating)
};

struct ListOptions {
  LabelSelector labelSelector;
  FieldSelector fieldSelector;
  int64_t limit = 0;  // 0: no limit
  std::string continueToken;
  std::string resourceVersion;       // "", "0" or a number
  std::string resourceVersionMatch;  // "", "NotOlderThan", "Exact"
};

struct ListResult {
  std::vector<ObjectJson> items;
  std::string resourceVersion;
  std::string continueToken;
  std::optional<int64_t> remainingItemCount;  // set with a limit and no selectors
  // {"kind":"<Kind>List","apiVersion":…,"metadata":{…},"items":[…]}.
  std::string toJson(const ResourceType& type) const;
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };
const char* watchEventTypeName(WatchEventType t);  // "ADDED", "MODIFIED", …

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  ObjectJson object;  // the object; a metav1.Status for kError
  // One line of a watch stream: {"type":"ADDED","object":{…}}.
  std::string toJson() const;
};

struct WatchOptions {
  LabelSelector labelSelector;
  FieldSelector fieldSelector;
  std::string resourceVersion;  // "" or "0": synthetic ADDED for the current state first
  bool allowBookmarks = false;
  // true: the current state as ADDED events then a BOOKMARK annotated
  // k8s.io/initial-events-end (watch-list); false: no initial state even for rv "" / "0".
  std::optional<bool> sendInitialEvents;
};

// A watch: events are queued by the store and popped by the caller.
class Watch {
 public:
  struct State;
  explicit Watch(std::shared_ptr<State> state);
  ~Watch();
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // The next event, waiting up to `timeout`. nullopt on timeout, or when the watch has ended
  // and every queued event was delivered (ended() is then true).
  std::optional<WatchEvent> next(std::chrono::milliseconds timeout);
  // Ends the watch; the store drops it at its next write.
  void stop();
  // Stopped, or terminated by the store (overflow, store destroyed), with nothing left queued.
  bool ended() const;

 private:
  std::shared_ptr<State> state_;
};

class Store {
 public:
  explicit Store(std::shared_ptr<const ResourceRegistry> registry, StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // `ns` is the request's namespace (ignored for cluster-scoped kinds); the object's
  // metadata.namespace must be empty or equal to it.
  StatusOr<ObjectJson> create(const GroupResource& gr, std::string_view ns, Object obj, const WriteOptions& opts = {},
                              ErrorDetails* details = nullptr);
  StatusOr<ObjectJson> get(const GroupResource& gr, std::string_view ns, std::string_view name,
                           ErrorDetails* details = nullptr) const;
  // `ns` empty lists every namespace.
  StatusOr<ListResult> list(const GroupResource& gr, std::string_view ns, const ListOptions& opts,
                            ErrorDetails* details = nullptr) const;
  // PUT: `name` is the name in the URL. An empty metadata.resourceVersion is an unconditional
  // update; a different one is a 409 Conflict.
  StatusOr<UpdateResult> update(const GroupResource& gr, std::string_view ns, std::string_view name, Object obj,
                                const UpdateOptions& opts = {}, ErrorDetails* details = nullptr);
  StatusOr<DeleteResult> remove(const GroupResource& gr, std::string_view ns, std::string_view name,
                                const DeleteOptions& opts = {}, ErrorDetails* details = nullptr);
  // `ns` empty watches every namespace.
  StatusOr<std::unique_ptr<Watch>> watch(const GroupResource& gr, std::string_view ns, const WatchOptions& opts,
                                         ErrorDetails* details = nullptr);

  // Queues a BOOKMARK carrying the current resourceVersion to every watcher that allows them
  // (the server calls this periodically, as the watch cache does about once a minute).
  void sendBookmarks();
  // Garbage collection and namespace cascades until nothing is left to do.
  void runGarbageCollection();
  // Removes every object of a resource (its CRD was deleted), emitting DELETED events, and
  // ends the resource's watches.
  void dropResource(const GroupResource& gr);

  // Writes a snapshot (dir/snapshot.jsonl, replaced atomically). Concurrent writes continue.
  [[nodiscard]] Status saveTo(const std::string& dir) const;
  // Replaces the contents with a snapshot; the resourceVersion counter resumes where it was.
  // Watches end (their history is gone).
  [[nodiscard]] Status loadFrom(const std::string& dir);

  uint64_t resourceVersion() const;
  size_t objectCount() const;
  const ResourceRegistry& registry() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace kubeop::sandbox
