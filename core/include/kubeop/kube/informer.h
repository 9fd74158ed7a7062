// Informers: a local, indexed, eventually-consistent copy of one resource, kept by listing and
// then watching (client-go's tools/cache: Reflector, DeltaFIFO, Indexer, SharedIndexInformer and
// SharedInformerFactory, folded into three classes).
//
//  - Cache: objects keyed "namespace/name" (or "name"), with indexes — by namespace, by label
//    "key=value", by owner uid, and any number of custom index functions.
//  - Informer: one reflector thread lists (paginated) and then watches from the list's
//    resourceVersion with bookmarks, resuming the watch from the last seen resourceVersion when
//    the server ends it; it relists on 410 Gone/Expired and after a watch ERROR event, and backs
//    off (exponentially, with jitter) after failed calls. Changes land in the cache first, then
//    handlers see them: onAdd, onUpdate(old, new), onDelete, called in order from one dispatch
//    thread. A resync period re-delivers onUpdate(obj, obj) for every cached object.
//  - InformerFactory: one shared informer per (apiVersion, kind, namespace, selectors), so that
//    several controllers' handlers share one list+watch and one cache.
//
// Differences from client-go, on purpose: a relist reports only what changed (objects whose
// resourceVersion moved → onUpdate; objects that vanished → onDelete with their last known
// state), not an onUpdate for every object; one dispatch thread serves every handler of an
// informer (a slow handler delays the others; keep handlers short — enqueue keys).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/object.h"
#include "kubeop/core/status.h"
#include "kubeop/http/client.h"
#include "kubeop/kube/client.h"

namespace kubeop::kube {

// ---------------------------------------------------------------------------------------------
// Cache

using ObjectPtr = std::shared_ptr<const Object>;
// The index values of an object (none: the object is not in that index).
using IndexFunc = std::function<std::vector<std::string>(const Object&)>;

// The built-in indexes a Cache has unless told otherwise (each costs a few hundred bytes per
// object: a cache of many objects that nobody looks up by label should go without).
inline constexpr std::string_view kNamespaceIndex = "namespace";  // value: metadata.namespace
inline constexpr std::string_view kLabelIndex = "label";          // values: "key=value" per label
inline constexpr std::string_view kOwnerIndex = "owner";          // values: ownerReferences[].uid
enum BuiltinIndexes : unsigned {
  kNoBuiltinIndexes = 0,
  kIndexByNamespace = 1,
  kIndexByLabel = 2,
  kIndexByOwner = 4,
  kAllBuiltinIndexes = 7,
};
// The built-in index functions, for addIndex on a cache built without them.
std::vector<std::string> namespaceIndexFunc(const Object& o);
std::vector<std::string> labelIndexFunc(const Object& o);
std::vector<std::string> ownerIndexFunc(const Object& o);

// How a Cache keeps its objects.
enum class CacheStorage {
  // Parsed (a compacted RapidJSON DOM): reads share the stored object and cost nothing; the DOM
  // takes some 2–3× the object's JSON text.
  kObjects,
  // Minified JSON text, one allocation per object; every read parses (a few microseconds for a
  // typical object) and returns a private copy. Once the cache holds kDictionaryAfter objects,
  // new texts are zstd-compressed against a dictionary made of the cache's own texts (objects of
  // one kind repeat their keys and most values), which takes them to a fraction of their size.
  // For big caches that are read per key (an operator's Apps and owned objects), not scanned in
  // tight loops.
  kCompactJson,
};

// A zstd dictionary of one cache (kCompactJson); shared by the entries compressed with it.
struct TextDictionary;

// One object as a Cache stores it: immutable and shared (an informer's queued notifications
// hold entries, not copies). Parsed or text, per the cache's CacheStorage.
class CacheEntry {
 public:
  CacheEntry() = default;
  explicit CacheEntry(ObjectPtr object) : object_(std::move(object)) {}
  // The object as minified JSON text, compressed with `dictionary` when one is given.
  static CacheEntry compactJson(const Object& object, std::shared_ptr<const TextDictionary> dictionary = nullptr);

  explicit operator bool() const { return object_ || text_; }
  // The object: the stored one, or parsed from the text (a new copy each call; nullptr for an
  // empty entry).
  ObjectPtr object() const;
  std::string_view resourceVersion() const;
  // Heap bytes the entry keeps (the DOM's pool, or the text block).
  size_t memoryBytes() const;
  // Whether both are the same stored entry.
  bool sameAs(const CacheEntry& other) const { return object_ == other.object_ && text_ == other.text_; }

 private:
  // Text layout: uint32 payload length, uint32 JSON length, uint16 resourceVersion length, the
  // resourceVersion, the payload (the JSON, or its zstd frame when dictionary_ is set).
  ObjectPtr object_;
  std::shared_ptr<const char[]> text_;
  std::shared_ptr<const TextDictionary> dictionary_;
};

// A thread-safe store of immutable objects with indexes (client-go's threadSafeMap + Indexer).
// Objects are shared, never copied on read: a reader keeps its ObjectPtr valid however the cache
// changes afterwards. Index functions run under the cache's write lock: they must be pure and
// must not call back into the cache.
// Thread-safety: every member may be called from any thread.
class Cache {
 public:
  // `builtin`: which of the built-in indexes (BuiltinIndexes flags) the cache keeps.
  explicit Cache(unsigned builtin = kAllBuiltinIndexes, CacheStorage storage = CacheStorage::kObjects);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Adds an index and indexes the objects already stored. AlreadyExists for a taken name,
  // InvalidArgument for an empty name or function.
  Status addIndex(std::string name, IndexFunc fn);

  ObjectPtr get(std::string_view key) const;  // nullptr when absent
  ObjectPtr get(std::string_view ns, std::string_view name) const;
  std::vector<ObjectPtr> list() const;  // in key order
  std::vector<std::string> keys() const;
  size_t size() const;
  // The objects whose `index` values include `value`, in key order. NotFound for an unknown
  // index.
  StatusOr<std::vector<ObjectPtr>> byIndex(std::string_view index, std::string_view value) const;
  // The values present in `index` (NotFound for an unknown index).
  StatusOr<std::vector<std::string>> indexValues(std::string_view index) const;
  // The keys of the objects whose `index` values include `value` (no object is read).
  StatusOr<std::vector<std::string>> keysByIndex(std::string_view index, std::string_view value) const;
  // Heap bytes the stored objects take (not the keys and indexes, nor a dictionary).
  size_t memoryBytes() const;
  // kCompactJson: the number of objects after which texts are compressed with a dictionary.
  static constexpr size_t kDictionaryAfter = 64;
  CacheStorage storage() const { return storage_; }

  // Entry-level access (the informer's: no parsing in kCompactJson storage).
  // The entry this cache would store for `object` (a compacted object or compact text).
  CacheEntry makeEntry(ObjectPtr object) const;
  CacheEntry getEntry(std::string_view key) const;
  std::vector<CacheEntry> entries() const;  // in key order
  // Stores `object` (as the cache's storage says); returns the entry it replaced (empty if none)
  // and, in `stored`, the entry now under the key.
  CacheEntry put(ObjectPtr object, CacheEntry* stored = nullptr);
  CacheEntry remove(std::string_view key);
  // Replaces the whole content; returns the previous entries by key and, in `stored`, the new
  // entries in the order given (null objects skipped).
  std::map<std::string, CacheEntry, std::less<>> replaceAll(std::vector<ObjectPtr> objects,
                                                            std::vector<CacheEntry>* stored = nullptr);
  // The same with entries made by makeEntry, by key (the last of a repeated key wins).
  std::map<std::string, CacheEntry, std::less<>> replaceEntries(std::vector<std::pair<std::string, CacheEntry>> entries);

  // Mutations (the informer's; public for tests and hand-fed caches). Each returns the object
  // previously stored under the key, or nullptr.
  ObjectPtr upsert(ObjectPtr object);
  ObjectPtr erase(std::string_view key);
  // Replaces the whole content; returns what was there before, by key.
  std::map<std::string, ObjectPtr, std::less<>> replace(std::vector<ObjectPtr> objects);

 private:
  struct Index;
  void indexLocked(const std::string& key, const Object& object);
  void unindexLocked(const std::string& key, const CacheEntry& entry);
  void maybeMakeDictionaryLocked();
  CacheStorage storage_;
  std::shared_ptr<const TextDictionary> dictionary_;  // guarded by mu_
  mutable std::shared_mutex mu_;
  std::map<std::string, CacheEntry, std::less<>> objects_;
  size_t bytes_ = 0;  // guarded by mu_
  std::map<std::string, std::unique_ptr<Index>, std::less<>> indexes_;
};

// ---------------------------------------------------------------------------------------------
// Informer

// What an informer needs from the API: a seam, so that tests can feed an informer by hand.
// Implementations must be thread-safe (stop() calls nothing here but cancels the token).
class ListerWatcher {
 public:
  virtual ~ListerWatcher() = default;
  // Every object (paginated as the implementation sees fit) and the list's resourceVersion.
  virtual StatusOr<ObjectList> list(int64_t pageSize, ApiError* error) = 0;
  // The same, page by page (Client::listEach's contract: `restart` voids the pages before);
  // returns the list's resourceVersion. By default, list() as one page.
  virtual StatusOr<std::string> listEach(int64_t pageSize, const Client::PageFunc& onPage, ApiError* error) {
    auto l = list(pageSize, error);
    if (!l.ok()) return l.status();
    onPage(*l, true);
    return l->resourceVersion;
  }
  // Streams events (see Client::watch) until the server ends the stream or `cancel` fires.
  virtual Status watch(const WatchOptions& options, const WatchCallback& onEvent, const http::CancelToken& cancel,
                       ApiError* error) = 0;
};

// Lists and watches apiVersion/kind in `ns` ("" = all namespaces) through `client`, filtered by
// the selectors. The client is shared: it lives as long as the ListerWatcher.
std::shared_ptr<ListerWatcher> makeListerWatcher(std::shared_ptr<Client> client, std::string apiVersion,
                                                 std::string kind, std::string ns = {}, std::string labelSelector = {},
                                                 std::string fieldSelector = {});

struct EventHandlers {
  std::function<void(const Object& object)> onAdd;
  std::function<void(const Object& oldObject, const Object& newObject)> onUpdate;
  // The object's last state: from the DELETED event, or (when the delete was missed while the
  // watch was down and noticed by a relist) the last state the cache held.
  std::function<void(const Object& object)> onDelete;
};
using HandlerId = uint64_t;

struct InformerOptions {
  // Every period, onUpdate(obj, obj) for every cached object (controllers re-check the world).
  // 0: never.
  std::chrono::milliseconds resyncPeriod{0};
  int64_t pageSize = 500;
  // Each watch asks the server to end it after a random time in [min, 2·min) (client-go: 5–10
  // minutes), so that connections are rebalanced.
  std::chrono::seconds minWatchTimeout{300};
  // After a failed list or watch: base·2^n up to max, with jitter; reset by a successful list.
  std::chrono::milliseconds backoffBase{800};
  std::chrono::milliseconds backoffMax{30000};
  // Applied to every listed or watched object before it is cached and handed to handlers
  // (client-go's TransformFunc): drop what no reader needs (managedFields, large data) to keep
  // the cache small. Must be cheap and must not throw. Cached objects are also stored compacted
  // (Object::compacted), transform or not.
  std::function<void(Object&)> transform{};
  // The cache's built-in indexes (BuiltinIndexes flags); custom ones are added with addIndex.
  unsigned builtinIndexes = kAllBuiltinIndexes;
  CacheStorage storage = CacheStorage::kObjects;
};

// Keeps a Cache of one resource in sync and tells handlers about changes.
// Thread-safety: every member may be called from any thread, except that stop() and the
// destructor must not be called from a handler (they join the dispatch thread).
// Ownership: owns its two threads (reflector, dispatch); the ListerWatcher is shared.
class Informer {
 public:
  explicit Informer(std::shared_ptr<ListerWatcher> lw, InformerOptions options = {});
  ~Informer();  // stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Registers handlers. When the informer already holds objects, the new handler first gets an
  // onAdd for each of them (only it), then the changes that follow — never an event twice or a
  // change missed. May be called before or after start(), from any thread (a handler too).
  // LIFETIME: whatever the handlers capture must stay valid until removeEventHandler() or
  // stop() has returned.
  HandlerId addEventHandler(EventHandlers handlers);
  // No event is delivered to it after this returns (unless called from a handler, which only
  // ends delivery after the current event).
  void removeEventHandler(HandlerId id);

  // The cache (addIndex on it before or after start()).
  Cache& cache() { return cache_; }
  const Cache& cache() const { return cache_; }

  // Starts listing and watching; idempotent. A stopped informer does not restart.
  void start();
  // Stops watching and delivering; joins the threads; idempotent. Events not yet delivered are
  // dropped.
  void stop();
  // True once the first list is in the cache and its onAdd events have been delivered.
  bool hasSynced() const;
  // Waits (without polling) until hasSynced() or the timeout; returns hasSynced().
  bool waitForSync(std::chrono::milliseconds timeout) const;
  // The resourceVersion the cache reflects (the last list, event or bookmark).
  std::string lastSyncResourceVersion() const;

  struct Stats {
    uint64_t lists = 0;         // successful lists (the first one and every relist)
    uint64_t watches = 0;       // watch calls made (each resumes from the last resourceVersion)
    uint64_t expired = 0;       // relists forced by 410 Gone/Expired
    uint64_t watchErrors = 0;   // watch ERROR events other than 410
    uint64_t failures = 0;      // failed list or watch calls (each followed by a backoff)
    uint64_t resyncs = 0;
    uint64_t eventsDelivered = 0;  // handler notifications dispatched
  };
  Stats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
  Cache& cache_;
};

// ---------------------------------------------------------------------------------------------
// Factory

// Hands out one shared informer per (apiVersion, kind, namespace, labelSelector, fieldSelector).
// Thread-safety: every member may be called from any thread.
// Ownership: owns its informers (shared with callers) and shares the client.
class InformerFactory {
 public:
  explicit InformerFactory(std::shared_ptr<Client> client, InformerOptions defaults = {});
  ~InformerFactory();  // stop()
  InformerFactory(const InformerFactory&) = delete;
  InformerFactory& operator=(const InformerFactory&) = delete;

  // The informer for the resource, created (not started) with the factory's options on first
  // request; later requests for the same resource and selectors get the same informer.
  std::shared_ptr<Informer> informerFor(std::string_view apiVersion, std::string_view kind, std::string_view ns = {},
                                        std::string_view labelSelector = {}, std::string_view fieldSelector = {});
  // The same, created with `options` instead of the factory's (an informer that exists already
  // keeps the options it was created with).
  std::shared_ptr<Informer> informerWith(const InformerOptions& options, std::string_view apiVersion,
                                         std::string_view kind, std::string_view ns = {},
                                         std::string_view labelSelector = {}, std::string_view fieldSelector = {});
  // Starts every informer created so far (call again after requesting more).
  void start();
  // Waits until every started informer has synced; false on timeout.
  bool waitForCacheSync(std::chrono::milliseconds timeout) const;
  // Stops every informer.
  void stop();
  size_t size() const;

 private:
  std::shared_ptr<Client> client_;
  InformerOptions defaults_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Informer>> informers_;
  bool stopped_ = false;
};

}  // namespace kubeop::kube
