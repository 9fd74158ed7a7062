// Informers (see informer.h for the contract).
//
// Design:
//  - The reflector thread is the only writer of the cache. Each change is applied to the cache
//    and queued as a notification under one mutex (Impl::mu), so the queue's order is the
//    cache's order, and a handler registered later can be given a snapshot that is exactly
//    "everything before notification N": each notification carries a sequence number and a
//    handler only receives broadcasts numbered after its registration.
//  - The dispatch thread pops notifications and calls the handlers outside Impl::mu (handlers
//    may read the cache or register other handlers) but inside Impl::dispatchMu, which
//    removeEventHandler takes to wait for a delivery in flight.
//  - Resync notifications are queued behind whatever is pending, built from the cache at that
//    moment, so they never show a handler an older state than it has already seen.
//  - Both threads hold the Impl (shared_ptr), so an Informer destroyed from one of its own
//    handlers only detaches the dispatch thread, which then ends by itself.
#include "kubeop/kube/informer.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include <zstd.h>

#include "kubeop/log/log.h"

namespace kubeop::kube {

// ---------------------------------------------------------------------------------------------
// Cache

struct Cache::Index {
  IndexFunc fn;
  std::map<std::string, std::set<std::string>, std::less<>> values;  // value → keys
};

std::vector<std::string> namespaceIndexFunc(const Object& o) {
  if (o.namespace_().empty()) return {};
  return {std::string(o.namespace_())};
}

std::vector<std::string> labelIndexFunc(const Object& o) {
  std::vector<std::string> out;
  for (const auto& [k, v] : o.labels()) out.push_back(k + "=" + v);
  return out;
}

std::vector<std::string> ownerIndexFunc(const Object& o) {
  std::vector<std::string> out;
  for (const auto& r : o.ownerReferences()) {
    if (!r.uid.empty()) out.push_back(r.uid);
  }
  return out;
}

// ---- CacheEntry ----

// A raw-content zstd dictionary (no training: the bytes of a few of the cache's own texts, which
// later texts of the same kind match against), with its compression and decompression forms.
struct TextDictionary {
  ZSTD_CDict* cdict = nullptr;
  ZSTD_DDict* ddict = nullptr;
  TextDictionary(const std::string& content, int level) {
    cdict = ZSTD_createCDict(content.data(), content.size(), level);
    ddict = ZSTD_createDDict(content.data(), content.size());
  }
  ~TextDictionary() {
    ZSTD_freeCDict(cdict);
    ZSTD_freeDDict(ddict);
  }
  TextDictionary(const TextDictionary&) = delete;
  TextDictionary& operator=(const TextDictionary&) = delete;
  bool ok() const { return cdict && ddict; }
};

namespace {

constexpr size_t kTextHeader = 2 * sizeof(uint32_t) + sizeof(uint16_t);

struct TextHeader {
  uint32_t payloadLen = 0, jsonLen = 0;
  uint16_t rvLen = 0;
};

TextHeader readHeader(const char* text) {
  TextHeader h;
  std::memcpy(&h.payloadLen, text, sizeof h.payloadLen);
  std::memcpy(&h.jsonLen, text + 4, sizeof h.jsonLen);
  std::memcpy(&h.rvLen, text + 8, sizeof h.rvLen);
  return h;
}

// One compression and one decompression context per thread, reused (creating one costs more
// than compressing a small object).
struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZstdContexts() {
    // The entry keeps the sizes; no checksum (memory does not rot) and no dictionary id.
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0);
  }
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};

ZstdContexts& zstd() {
  thread_local ZstdContexts contexts;
  return contexts;
}

}  // namespace

CacheEntry CacheEntry::compactJson(const Object& object, std::shared_ptr<const TextDictionary> dictionary) {
  std::string json = object.toJson();
  std::string_view rv = object.resourceVersion();
  if (rv.size() > UINT16_MAX) rv = {};  // not a resourceVersion any server hands out
  std::string payload;
  if (dictionary && json.size() <= UINT32_MAX) {
    ZstdContexts& z = zstd();
    payload.resize(ZSTD_compressBound(json.size()));
    ZSTD_CCtx_refCDict(z.c, dictionary->cdict);
    size_t n = ZSTD_compress2(z.c, payload.data(), payload.size(), json.data(), json.size());
    ZSTD_CCtx_refCDict(z.c, nullptr);
    if (ZSTD_isError(n) || n >= json.size()) {
      dictionary.reset();  // no gain (or no way): keep the text as it is
    } else {
      payload.resize(n);
    }
  } else {
    dictionary.reset();
  }
  const std::string& body = dictionary ? payload : json;
  auto text = std::make_shared<char[]>(kTextHeader + rv.size() + body.size());
  auto payloadLen = static_cast<uint32_t>(body.size());
  auto jsonLen = static_cast<uint32_t>(json.size());
  auto rvLen = static_cast<uint16_t>(rv.size());
  std::memcpy(text.get(), &payloadLen, sizeof payloadLen);
  std::memcpy(text.get() + 4, &jsonLen, sizeof jsonLen);
  std::memcpy(text.get() + 8, &rvLen, sizeof rvLen);
  std::memcpy(text.get() + kTextHeader, rv.data(), rv.size());
  std::memcpy(text.get() + kTextHeader + rv.size(), body.data(), body.size());
  CacheEntry e;
  e.text_ = std::move(text);
  e.dictionary_ = std::move(dictionary);
  return e;
}

ObjectPtr CacheEntry::object() const {
  if (object_ || !text_) return object_;
  TextHeader h = readHeader(text_.get());
  std::string_view payload(text_.get() + kTextHeader + h.rvLen, h.payloadLen);
  StatusOr<Object> o = invalidArgument("unreadable cached text");
  if (!dictionary_) {
    o = Object::fromJson(payload);
  } else {
    thread_local std::string json;
    json.resize(h.jsonLen);
    ZstdContexts& z = zstd();
    ZSTD_DCtx_refDDict(z.d, dictionary_->ddict);
    size_t n = ZSTD_decompressDCtx(z.d, json.data(), json.size(), payload.data(), payload.size());
    ZSTD_DCtx_refDDict(z.d, nullptr);
    if (!ZSTD_isError(n) && n == h.jsonLen) o = Object::fromJson(json);
    if (json.capacity() > (size_t{1} << 20)) std::string().swap(json);  // a huge one once: not kept
  }
  if (!o.ok()) {  // the cache wrote this text itself: not expected
    log::error("cached object text does not read back", {{"error", o.status().message()}});
    return nullptr;
  }
  return std::make_shared<const Object>(std::move(o).value());
}

std::string_view CacheEntry::resourceVersion() const {
  if (object_) return object_->resourceVersion();
  if (!text_) return {};
  return std::string_view(text_.get() + kTextHeader, readHeader(text_.get()).rvLen);
}

size_t CacheEntry::memoryBytes() const {
  if (object_) return object_->memoryBytes();
  if (!text_) return 0;
  TextHeader h = readHeader(text_.get());
  return kTextHeader + h.rvLen + h.payloadLen;
}

// ---- Cache ----

Cache::Cache(unsigned builtin, CacheStorage storage) : storage_(storage) {
  for (auto [flag, name, fn] : {std::tuple<unsigned, std::string_view, IndexFunc>{kIndexByNamespace, kNamespaceIndex,
                                                                                  namespaceIndexFunc},
                                {kIndexByLabel, kLabelIndex, labelIndexFunc},
                                {kIndexByOwner, kOwnerIndex, ownerIndexFunc}}) {
    if ((builtin & flag) == 0) continue;
    auto idx = std::make_unique<Index>();
    idx->fn = std::move(fn);
    indexes_.emplace(std::string(name), std::move(idx));
  }
}

Cache::~Cache() = default;

CacheEntry Cache::makeEntry(ObjectPtr object) const {
  if (storage_ != CacheStorage::kCompactJson) return CacheEntry(std::move(object));
  std::shared_ptr<const TextDictionary> dictionary;
  {
    std::shared_lock lk(mu_);
    dictionary = dictionary_;
  }
  return CacheEntry::compactJson(*object, std::move(dictionary));
}

// kCompactJson: once there are enough objects, a dictionary from the texts of some of them
// (uncompressed so far, all of one kind): the later objects compress against it. Entries keep the
// dictionary they were written with.
void Cache::maybeMakeDictionaryLocked() {
  if (storage_ != CacheStorage::kCompactJson || dictionary_ || objects_.size() < kDictionaryAfter) return;
  constexpr size_t kMaxDictionary = 32 * 1024;
  std::string content;
  for (auto it = objects_.rbegin(); it != objects_.rend() && content.size() < kMaxDictionary; ++it) {
    ObjectPtr o = it->second.object();
    if (o) content += o->toJson();
  }
  if (content.size() > kMaxDictionary) content.erase(0, content.size() - kMaxDictionary);
  auto d = std::make_shared<const TextDictionary>(content, 3);
  if (d->ok()) dictionary_ = std::move(d);
}

Status Cache::addIndex(std::string name, IndexFunc fn) {
  if (name.empty()) return invalidArgument("an index needs a name");
  if (!fn) return invalidArgument("index \"" + name + "\" has no index function");
  std::unique_lock lk(mu_);
  if (indexes_.count(name)) return alreadyExists("the cache already has an index named \"" + name + "\"");
  auto idx = std::make_unique<Index>();
  idx->fn = std::move(fn);
  for (const auto& [key, entry] : objects_) {
    if (ObjectPtr obj = entry.object()) {
      for (auto& v : idx->fn(*obj)) idx->values[v].insert(key);
    }
  }
  indexes_.emplace(std::move(name), std::move(idx));
  return Status::ok();
}

void Cache::indexLocked(const std::string& key, const Object& object) {
  for (auto& [_, idx] : indexes_) {
    for (auto& v : idx->fn(object)) idx->values[v].insert(key);
  }
}

void Cache::unindexLocked(const std::string& key, const CacheEntry& entry) {
  if (indexes_.empty()) return;
  ObjectPtr object = entry.object();  // parses a text entry: only caches with indexes pay that
  if (!object) return;
  for (auto& [_, idx] : indexes_) {
    for (const auto& v : idx->fn(*object)) {
      auto it = idx->values.find(v);
      if (it == idx->values.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) idx->values.erase(it);
    }
  }
}

ObjectPtr Cache::get(std::string_view key) const { return getEntry(key).object(); }

CacheEntry Cache::getEntry(std::string_view key) const {
  std::shared_lock lk(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? CacheEntry() : it->second;
}

ObjectPtr Cache::get(std::string_view ns, std::string_view name) const { return get(objectKey(ns, name)); }

std::vector<ObjectPtr> Cache::list() const {
  std::vector<ObjectPtr> out;
  for (const auto& e : entries()) {
    if (ObjectPtr o = e.object()) out.push_back(std::move(o));
  }
  return out;
}

std::vector<CacheEntry> Cache::entries() const {
  std::shared_lock lk(mu_);
  std::vector<CacheEntry> out;
  out.reserve(objects_.size());
  for (const auto& [_, e] : objects_) out.push_back(e);
  return out;
}

std::vector<std::string> Cache::keys() const {
  std::shared_lock lk(mu_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [k, _] : objects_) out.push_back(k);
  return out;
}

size_t Cache::size() const {
  std::shared_lock lk(mu_);
  return objects_.size();
}

size_t Cache::memoryBytes() const {
  std::shared_lock lk(mu_);
  return bytes_;
}

StatusOr<std::vector<std::string>> Cache::keysByIndex(std::string_view index, std::string_view value) const {
  std::shared_lock lk(mu_);
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return notFound("the cache has no index named \"" + std::string(index) + "\"");
  auto it = idx->second->values.find(value);
  if (it == idx->second->values.end()) return std::vector<std::string>{};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

StatusOr<std::vector<ObjectPtr>> Cache::byIndex(std::string_view index, std::string_view value) const {
  std::vector<CacheEntry> found;
  {
    std::shared_lock lk(mu_);
    auto idx = indexes_.find(index);
    if (idx == indexes_.end()) return notFound("the cache has no index named \"" + std::string(index) + "\"");
    auto it = idx->second->values.find(value);
    if (it != idx->second->values.end()) {
      found.reserve(it->second.size());
      for (const auto& key : it->second) {
        auto o = objects_.find(key);
        if (o != objects_.end()) found.push_back(o->second);
      }
    }
  }
  std::vector<ObjectPtr> out;
  out.reserve(found.size());
  for (const auto& e : found) {
    if (ObjectPtr o = e.object()) out.push_back(std::move(o));
  }
  return out;
}

StatusOr<std::vector<std::string>> Cache::indexValues(std::string_view index) const {
  std::shared_lock lk(mu_);
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return notFound("the cache has no index named \"" + std::string(index) + "\"");
  std::vector<std::string> out;
  out.reserve(idx->second->values.size());
  for (const auto& [v, _] : idx->second->values) out.push_back(v);
  return out;
}

ObjectPtr Cache::upsert(ObjectPtr object) { return put(std::move(object)).object(); }

CacheEntry Cache::put(ObjectPtr object, CacheEntry* stored) {
  if (!object) return {};
  std::string key = objectKey(*object);
  CacheEntry entry = makeEntry(object);  // serializing (kCompactJson) outside the lock
  if (stored) *stored = entry;
  std::unique_lock lk(mu_);
  CacheEntry old;
  auto it = objects_.find(key);
  bytes_ += entry.memoryBytes();
  if (it != objects_.end()) {
    old = std::move(it->second);
    bytes_ -= old.memoryBytes();
    unindexLocked(key, old);
    it->second = std::move(entry);
  } else {
    objects_.emplace(key, std::move(entry));
  }
  indexLocked(key, *object);
  maybeMakeDictionaryLocked();
  return old;
}

ObjectPtr Cache::erase(std::string_view key) { return remove(key).object(); }

CacheEntry Cache::remove(std::string_view key) {
  std::unique_lock lk(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return {};
  CacheEntry old = std::move(it->second);
  bytes_ -= old.memoryBytes();
  unindexLocked(it->first, old);
  objects_.erase(it);
  return old;
}

std::map<std::string, ObjectPtr, std::less<>> Cache::replace(std::vector<ObjectPtr> objects) {
  std::map<std::string, ObjectPtr, std::less<>> out;
  for (auto& [key, e] : replaceAll(std::move(objects))) out.emplace(key, e.object());
  return out;
}

std::map<std::string, CacheEntry, std::less<>> Cache::replaceEntries(
    std::vector<std::pair<std::string, CacheEntry>> entries) {
  std::map<std::string, CacheEntry, std::less<>> fresh;
  size_t bytes = 0;
  for (auto& [key, e] : entries) {
    if (!e) continue;
    bytes += e.memoryBytes();
    auto [it, added] = fresh.try_emplace(std::move(key), e);
    if (!added) {
      bytes -= it->second.memoryBytes();
      it->second = std::move(e);
    }
  }
  entries.clear();
  std::unique_lock lk(mu_);
  for (auto& [_, idx] : indexes_) idx->values.clear();
  objects_.swap(fresh);
  bytes_ = bytes;
  if (!indexes_.empty()) {
    for (const auto& [key, e] : objects_) {
      if (ObjectPtr o = e.object()) indexLocked(key, *o);  // parses a text entry, one at a time
    }
  }
  maybeMakeDictionaryLocked();
  return fresh;  // the previous content
}

std::map<std::string, CacheEntry, std::less<>> Cache::replaceAll(std::vector<ObjectPtr> objects,
                                                                 std::vector<CacheEntry>* stored) {
  std::map<std::string, CacheEntry, std::less<>> fresh;
  size_t bytes = 0;
  std::vector<CacheEntry> local;
  if (!stored) stored = &local;
  stored->clear();
  std::erase(objects, nullptr);
  for (const auto& o : objects) {
    CacheEntry e = makeEntry(o);
    bytes += e.memoryBytes();
    stored->push_back(e);
    auto [it, added] = fresh.try_emplace(objectKey(*o), e);
    if (!added) {
      bytes -= it->second.memoryBytes();
      it->second = std::move(e);
    }
  }
  std::unique_lock lk(mu_);
  for (auto& [_, idx] : indexes_) idx->values.clear();
  objects_.swap(fresh);
  bytes_ = bytes;
  if (!indexes_.empty()) {
    for (size_t i = 0; i < objects.size(); ++i) {
      std::string key = objectKey(*objects[i]);
      if (objects_[key].sameAs((*stored)[i])) indexLocked(key, *objects[i]);  // the last of a duplicated key
    }
  }
  maybeMakeDictionaryLocked();
  return fresh;  // the previous content
}

// ---------------------------------------------------------------------------------------------
// ListerWatcher over a Client

namespace {

class ClientListerWatcher : public ListerWatcher {
 public:
  ClientListerWatcher(std::shared_ptr<Client> client, std::string apiVersion, std::string kind, std::string ns,
                      std::string labelSelector, std::string fieldSelector)
      : client_(std::move(client)),
        apiVersion_(std::move(apiVersion)),
        kind_(std::move(kind)),
        ns_(std::move(ns)),
        labelSelector_(std::move(labelSelector)),
        fieldSelector_(std::move(fieldSelector)) {}

  StatusOr<ObjectList> list(int64_t pageSize, ApiError* error) override {
    ListOptions lo;
    lo.labelSelector = labelSelector_;
    lo.fieldSelector = fieldSelector_;
    lo.limit = pageSize;
    return client_->listAll(apiVersion_, kind_, ns_, lo, error);
  }

  StatusOr<std::string> listEach(int64_t pageSize, const Client::PageFunc& onPage, ApiError* error) override {
    ListOptions lo;
    lo.labelSelector = labelSelector_;
    lo.fieldSelector = fieldSelector_;
    lo.limit = pageSize;
    return client_->listEach(apiVersion_, kind_, ns_, lo, onPage, error);
  }

  Status watch(const WatchOptions& options, const WatchCallback& onEvent, const http::CancelToken& cancel,
               ApiError* error) override {
    WatchOptions wo = options;
    wo.labelSelector = labelSelector_;
    wo.fieldSelector = fieldSelector_;
    return client_->watch(apiVersion_, kind_, ns_, wo, onEvent, &cancel, error);
  }

 private:
  std::shared_ptr<Client> client_;
  std::string apiVersion_, kind_, ns_, labelSelector_, fieldSelector_;
};

}  // namespace

std::shared_ptr<ListerWatcher> makeListerWatcher(std::shared_ptr<Client> client, std::string apiVersion,
                                                 std::string kind, std::string ns, std::string labelSelector,
                                                 std::string fieldSelector) {
  return std::make_shared<ClientListerWatcher>(std::move(client), std::move(apiVersion), std::move(kind),
                                               std::move(ns), std::move(labelSelector), std::move(fieldSelector));
}

// ---------------------------------------------------------------------------------------------
// Informer::Impl

struct Informer::Impl : std::enable_shared_from_this<Informer::Impl> {
  enum class Kind { kAdd, kUpdate, kDelete, kSynced };
  // Entries, not objects: in kCompactJson storage a queued notification holds the cache's text
  // and is parsed only when delivered.
  struct Notification {
    Kind kind;
    CacheEntry oldObject;
    CacheEntry newObject;
    uint64_t seq = 0;
    HandlerId target = 0;  // 0: every handler registered before `seq`
  };
  struct Handler {
    HandlerId id;
    EventHandlers handlers;
    uint64_t registeredSeq;
  };

  std::shared_ptr<ListerWatcher> lw;
  InformerOptions opts;
  Cache cache;

  mutable std::mutex mu;  // everything below, and the pairing of cache writes with queue pushes
  std::condition_variable cv;            // dispatch: queue, stop
  std::condition_variable stopCv;        // reflector backoff: stop
  mutable std::condition_variable syncedCv;
  std::deque<Notification> queue;
  std::map<HandlerId, std::shared_ptr<const Handler>> handlers;
  HandlerId nextHandlerId = 0;
  uint64_t seq = 0;
  bool started = false;
  bool stopping = false;
  bool synced = false;
  std::string lastRv;
  std::optional<http::CancelToken> currentWatch;
  Stats stats;

  std::mutex dispatchMu;   // held while handlers run
  std::mutex lifecycleMu;  // serializes joining the threads in stop()
  std::thread reflectorThread, dispatchThread;
  std::thread::id dispatchThreadId;

  std::mt19937_64 rng{std::random_device{}()};  // reflector thread only

  Impl(std::shared_ptr<ListerWatcher> l, InformerOptions o)
      : lw(std::move(l)), opts(std::move(o)), cache(opts.builtinIndexes, opts.storage) {}

  // ---- queue (mu held) ----

  void pushLocked(Kind kind, CacheEntry oldObject, CacheEntry newObject, HandlerId target = 0) {
    queue.push_back(Notification{kind, std::move(oldObject), std::move(newObject), ++seq, target});
    cv.notify_one();
  }

  // ---- reflector ----

  // Waits `d` or until stopped; false when stopping.
  bool backoffWait(std::chrono::milliseconds d) {
    std::unique_lock lk(mu);
    stopCv.wait_for(lk, d, [&] { return stopping; });
    return !stopping;
  }

  std::chrono::milliseconds backoffFor(int failures) {
    double d = static_cast<double>(opts.backoffBase.count()) * std::pow(2.0, std::max(0, failures - 1));
    d = std::min(d, static_cast<double>(opts.backoffMax.count()));
    return std::chrono::milliseconds(
        static_cast<int64_t>(d * std::uniform_real_distribution<double>(0.5, 1.0)(rng)));
  }

  // What the cache keeps of an object: transformed, then compacted (kObjects storage; the cache
  // serializes it for kCompactJson).
  ObjectPtr prepare(Object& o) {
    if (opts.transform) opts.transform(o);
    if (opts.storage == CacheStorage::kCompactJson) return std::make_shared<const Object>(std::move(o));
    return std::make_shared<const Object>(Object::compacted(o));
  }

  // A list, page by page: each object is transformed and turned into what the cache keeps before
  // the next page arrives, so that a relist of many objects never holds them all parsed.
  StatusOr<std::string> listInto(std::vector<std::pair<std::string, CacheEntry>>& fresh, ApiError* error) {
    return lw->listEach(
        opts.pageSize,
        [&](ObjectList& page, bool restart) {
          if (restart) fresh.clear();
          for (auto& o : page.items) {
            ObjectPtr obj = prepare(o);
            std::string key = objectKey(*obj);
            fresh.emplace_back(std::move(key), cache.makeEntry(std::move(obj)));
          }
          page.items.clear();
        },
        error);
  }

  void applyList(const std::string& resourceVersion, std::vector<std::pair<std::string, CacheEntry>> fresh) {
    std::lock_guard lk(mu);
    auto old = cache.replaceEntries(fresh);
    for (auto& [key, entry] : fresh) {
      auto it = old.find(key);
      if (it == old.end()) {
        pushLocked(Kind::kAdd, {}, std::move(entry));
        continue;
      }
      if (it->second.resourceVersion() != entry.resourceVersion()) pushLocked(Kind::kUpdate, it->second, std::move(entry));
      old.erase(it);
    }
    // Deleted while the watch was down: the last state the cache knew.
    for (auto& [_, e] : old) pushLocked(Kind::kDelete, e, e);
    lastRv = resourceVersion;
    ++stats.lists;
    if (!synced && !std::any_of(queue.begin(), queue.end(), [](auto& n) { return n.kind == Kind::kSynced; })) {
      pushLocked(Kind::kSynced, {}, {});
    }
  }

  // Applies one watch event. Returns the ERROR event's decoded status as non-OK.
  Status applyEvent(WatchEvent& ev) {
    if (ev.type == WatchEventType::kError) return toStatus(ev.error);
    std::string rv(ev.object.resourceVersion());
    if (ev.type == WatchEventType::kBookmark) {
      std::lock_guard lk(mu);
      if (!rv.empty()) lastRv = rv;
      return Status::ok();
    }
    auto obj = prepare(ev.object);
    std::lock_guard lk(mu);
    if (ev.type == WatchEventType::kDeleted) {
      CacheEntry old = cache.remove(objectKey(*obj));
      pushLocked(Kind::kDelete, std::move(old), CacheEntry(obj));
    } else {
      CacheEntry stored;
      CacheEntry old = cache.put(obj, &stored);
      if (!old) {
        pushLocked(Kind::kAdd, {}, std::move(stored));
      } else if (old.resourceVersion() != obj->resourceVersion() || rv.empty()) {
        pushLocked(Kind::kUpdate, std::move(old), std::move(stored));
      }
    }
    if (!rv.empty()) lastRv = rv;
    return Status::ok();
  }

  void reflect() {
    bool needList = true;
    int failures = 0;
    while (true) {
      {
        std::lock_guard lk(mu);
        if (stopping) return;
      }
      if (needList) {
        ApiError e;
        std::vector<std::pair<std::string, CacheEntry>> fresh;
        auto list = listInto(fresh, &e);
        if (!list.ok()) {
          ++failures;
          {
            std::lock_guard lk(mu);
            ++stats.failures;
          }
          log::warn("informer list failed", {{"error", list.status().message()}, {"failures", failures}});
          if (!backoffWait(backoffFor(failures))) return;
          continue;
        }
        applyList(*list, std::move(fresh));
        needList = false;
        failures = 0;
      }

      WatchOptions wo;
      http::CancelToken token;
      {
        std::lock_guard lk(mu);
        if (stopping) return;
        wo.resourceVersion = lastRv;
        currentWatch = token;
        ++stats.watches;
      }
      wo.allowBookmarks = true;
      int64_t minT = std::max<int64_t>(1, opts.minWatchTimeout.count());
      wo.timeoutSeconds = std::uniform_int_distribution<int64_t>(minT, 2 * minT - 1)(rng);
      auto began = std::chrono::steady_clock::now();
      uint64_t events = 0;
      Status errorEvent;
      ApiError e;
      Status st = lw->watch(
          wo,
          [&](WatchEvent& ev) -> Status {
            ++events;
            Status s = applyEvent(ev);
            if (!s.isOk()) errorEvent = s;
            return s;
          },
          token, &e);
      {
        std::lock_guard lk(mu);
        currentWatch.reset();
        if (stopping) return;
      }
      if (!errorEvent.isOk()) {
        // A watch ERROR event: client-go's reflector relists after any of them.
        if (errorEvent.code() == StatusCode::kOutOfRange) {
          std::lock_guard lk(mu);
          ++stats.expired;
        } else {
          {
            std::lock_guard lk(mu);
            ++stats.watchErrors;
          }
          log::warn("informer watch ended with an error event", {{"error", errorEvent.message()}});
          ++failures;
          if (!backoffWait(backoffFor(failures))) return;
        }
        needList = true;
        continue;
      }
      if (st.isOk()) {
        // The server ended the stream (timeoutSeconds): resume from the last resourceVersion. A
        // stream that ends at once without events is not a healthy one: back off.
        if (events == 0 && std::chrono::steady_clock::now() - began < std::chrono::seconds(1)) {
          ++failures;
          if (!backoffWait(backoffFor(failures))) return;
        } else {
          failures = 0;
        }
        continue;
      }
      if (st.code() == StatusCode::kOutOfRange) {
        // 410 at establishment: the resourceVersion is older than the server's history.
        std::lock_guard lk(mu);
        ++stats.expired;
        needList = true;
        continue;
      }
      {
        std::lock_guard lk(mu);
        ++stats.failures;
      }
      ++failures;
      log::warn("informer watch failed", {{"error", st.message()}, {"failures", failures}});
      if (!backoffWait(backoffFor(failures))) return;
      // Resume from the last resourceVersion; if that is gone by now the server says 410.
    }
  }

  // ---- dispatch ----

  void deliver(const Notification& n, const Object* oldObject, const Object* newObject, const Handler& h) {
    try {
      switch (n.kind) {
        case Kind::kAdd:
          if (h.handlers.onAdd && newObject) h.handlers.onAdd(*newObject);
          break;
        case Kind::kUpdate:
          if (h.handlers.onUpdate && oldObject && newObject) h.handlers.onUpdate(*oldObject, *newObject);
          break;
        case Kind::kDelete:
          if (h.handlers.onDelete && newObject) h.handlers.onDelete(*newObject);
          break;
        case Kind::kSynced:
          break;
      }
    } catch (const std::exception& ex) {
      log::error("informer event handler threw", {{"error", ex.what()}});
    } catch (...) {
      log::error("informer event handler threw a non-standard exception");
    }
  }

  void dispatch() {
    auto nextResync = std::chrono::steady_clock::now() + opts.resyncPeriod;
    while (true) {
      {
        // Wait for work with only `mu` held.
        std::unique_lock lk(mu);
        while (true) {
          if (stopping) return;
          if (!queue.empty()) break;
          if (opts.resyncPeriod.count() > 0 && synced) {
            if (std::chrono::steady_clock::now() >= nextResync) {
              for (const auto& e : cache.entries()) pushLocked(Kind::kUpdate, e, e);
              ++stats.resyncs;
              nextResync = std::chrono::steady_clock::now() + opts.resyncPeriod;
              continue;
            }
            cv.wait_until(lk, nextResync);
          } else {
            cv.wait(lk);
          }
        }
      }
      // Pop and pick the handlers under dispatchMu (then mu), and deliver under dispatchMu, so
      // that removeEventHandler can wait for a delivery in flight.
      std::unique_lock dl(dispatchMu);
      std::unique_lock lk(mu);
      if (stopping) return;
      if (queue.empty()) continue;
      Notification n = std::move(queue.front());
      queue.pop_front();
      if (n.kind == Kind::kSynced) {
        synced = true;
        nextResync = std::chrono::steady_clock::now() + opts.resyncPeriod;
        syncedCv.notify_all();
        continue;
      }
      std::vector<std::shared_ptr<const Handler>> targets;
      for (const auto& [id, h] : handlers) {
        if (n.target != 0 ? id == n.target : h->registeredSeq < n.seq) targets.push_back(h);
      }
      stats.eventsDelivered += targets.size();
      lk.unlock();
      if (targets.empty()) continue;
      // Parsed once per notification (kCompactJson), whatever the number of handlers.
      ObjectPtr newObject = n.newObject.object();
      ObjectPtr oldObject = n.oldObject.sameAs(n.newObject) ? newObject : n.oldObject.object();
      for (const auto& h : targets) deliver(n, oldObject.get(), newObject.get(), *h);
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Informer

Informer::Informer(std::shared_ptr<ListerWatcher> lw, InformerOptions options)
    : impl_(std::make_shared<Impl>(std::move(lw), std::move(options))), cache_(impl_->cache) {}

Informer::~Informer() { stop(); }

HandlerId Informer::addEventHandler(EventHandlers handlers) {
  std::lock_guard lk(impl_->mu);
  HandlerId id = ++impl_->nextHandlerId;
  // Everything queued so far is already in the cache: the new handler gets the cache's content
  // as adds (only it), then the broadcasts numbered after this point.
  uint64_t registeredSeq = impl_->seq;
  impl_->handlers[id] = std::make_shared<const Impl::Handler>(Impl::Handler{id, std::move(handlers), registeredSeq});
  for (const auto& e : impl_->cache.entries()) impl_->pushLocked(Impl::Kind::kAdd, {}, e, id);
  // Broadcasts pushed above carry seq > registeredSeq but are targeted, so nothing is doubled.
  return id;
}

void Informer::removeEventHandler(HandlerId id) {
  std::thread::id dispatcher;
  {
    std::lock_guard lk(impl_->mu);
    impl_->handlers.erase(id);
    dispatcher = impl_->dispatchThreadId;
  }
  if (std::this_thread::get_id() != dispatcher) {
    std::lock_guard wait(impl_->dispatchMu);  // a delivery in flight finishes first
  }
}

void Informer::start() {
  std::lock_guard lk(impl_->mu);
  if (impl_->started || impl_->stopping) return;
  impl_->started = true;
  std::shared_ptr<Impl> self = impl_;
  impl_->dispatchThread = std::thread([self] { self->dispatch(); });
  impl_->dispatchThreadId = impl_->dispatchThread.get_id();
  impl_->reflectorThread = std::thread([self] { self->reflect(); });
}

void Informer::stop() {
  bool onDispatch;
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
    if (impl_->currentWatch) impl_->currentWatch->cancel();
    impl_->cv.notify_all();
    impl_->stopCv.notify_all();
    impl_->syncedCv.notify_all();
    onDispatch = std::this_thread::get_id() == impl_->dispatchThreadId;
  }
  // One caller joins; a handler calling stop() while another thread is already stopping just
  // returns (that thread joins the dispatcher once the handler is done).
  std::unique_lock life(impl_->lifecycleMu, std::defer_lock);
  if (onDispatch) {
    if (!life.try_lock()) return;
  } else {
    life.lock();
  }
  if (impl_->reflectorThread.joinable()) impl_->reflectorThread.join();
  if (impl_->dispatchThread.joinable()) {
    if (onDispatch) {
      impl_->dispatchThread.detach();  // ends by itself after the handler returns
    } else {
      impl_->dispatchThread.join();
    }
  }
}

bool Informer::hasSynced() const {
  std::lock_guard lk(impl_->mu);
  return impl_->synced;
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lk(impl_->mu);
  impl_->syncedCv.wait_for(lk, timeout, [&] { return impl_->synced || impl_->stopping; });
  return impl_->synced;
}

std::string Informer::lastSyncResourceVersion() const {
  std::lock_guard lk(impl_->mu);
  return impl_->lastRv;
}

Informer::Stats Informer::stats() const {
  std::lock_guard lk(impl_->mu);
  return impl_->stats;
}

// ---------------------------------------------------------------------------------------------
// InformerFactory

InformerFactory::InformerFactory(std::shared_ptr<Client> client, InformerOptions defaults)
    : client_(std::move(client)), defaults_(std::move(defaults)) {}

InformerFactory::~InformerFactory() { stop(); }

std::shared_ptr<Informer> InformerFactory::informerFor(std::string_view apiVersion, std::string_view kind,
                                                       std::string_view ns, std::string_view labelSelector,
                                                       std::string_view fieldSelector) {
  return informerWith(defaults_, apiVersion, kind, ns, labelSelector, fieldSelector);
}

std::shared_ptr<Informer> InformerFactory::informerWith(const InformerOptions& options, std::string_view apiVersion,
                                                        std::string_view kind, std::string_view ns,
                                                        std::string_view labelSelector, std::string_view fieldSelector) {
  std::string key;
  for (std::string_view part : {apiVersion, kind, ns, labelSelector, fieldSelector}) {
    key += std::to_string(part.size()) + ":" + std::string(part) + ";";
  }
  std::lock_guard lk(mu_);
  auto it = informers_.find(key);
  if (it != informers_.end()) return it->second;
  auto inf = std::make_shared<Informer>(makeListerWatcher(client_, std::string(apiVersion), std::string(kind),
                                                          std::string(ns), std::string(labelSelector),
                                                          std::string(fieldSelector)),
                                        options);
  informers_.emplace(std::move(key), inf);
  return inf;
}

void InformerFactory::start() {
  std::lock_guard lk(mu_);
  if (stopped_) return;
  for (auto& [_, inf] : informers_) inf->start();
}

bool InformerFactory::waitForCacheSync(std::chrono::milliseconds timeout) const {
  std::vector<std::shared_ptr<Informer>> all;
  {
    std::lock_guard lk(mu_);
    for (const auto& [_, inf] : informers_) all.push_back(inf);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& inf : all) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!inf->waitForSync(std::max(left, std::chrono::milliseconds(0)))) return false;
  }
  return true;
}

void InformerFactory::stop() {
  std::vector<std::shared_ptr<Informer>> all;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    for (const auto& [_, inf] : informers_) all.push_back(inf);
  }
  for (const auto& inf : all) inf->stop();
}

size_t InformerFactory::size() const {
  std::lock_guard lk(mu_);
  return informers_.size();
}

}  // namespace kubeop::kube
