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
#include <deque>
#include <exception>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <tuple>

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

Cache::Cache(unsigned builtin) {
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

Status Cache::addIndex(std::string name, IndexFunc fn) {
  if (name.empty()) return invalidArgument("an index needs a name");
  if (!fn) return invalidArgument("index \"" + name + "\" has no index function");
  std::unique_lock lk(mu_);
  if (indexes_.count(name)) return alreadyExists("the cache already has an index named \"" + name + "\"");
  auto idx = std::make_unique<Index>();
  idx->fn = std::move(fn);
  for (const auto& [key, obj] : objects_) {
    for (auto& v : idx->fn(*obj)) idx->values[v].insert(key);
  }
  indexes_.emplace(std::move(name), std::move(idx));
  return Status::ok();
}

void Cache::indexLocked(const std::string& key, const Object& object) {
  for (auto& [_, idx] : indexes_) {
    for (auto& v : idx->fn(object)) idx->values[v].insert(key);
  }
}

void Cache::unindexLocked(const std::string& key, const Object& object) {
  for (auto& [_, idx] : indexes_) {
    for (const auto& v : idx->fn(object)) {
      auto it = idx->values.find(v);
      if (it == idx->values.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) idx->values.erase(it);
    }
  }
}

ObjectPtr Cache::get(std::string_view key) const {
  std::shared_lock lk(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

ObjectPtr Cache::get(std::string_view ns, std::string_view name) const { return get(objectKey(ns, name)); }

std::vector<ObjectPtr> Cache::list() const {
  std::shared_lock lk(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [_, o] : objects_) out.push_back(o);
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

StatusOr<std::vector<ObjectPtr>> Cache::byIndex(std::string_view index, std::string_view value) const {
  std::shared_lock lk(mu_);
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return notFound("the cache has no index named \"" + std::string(index) + "\"");
  std::vector<ObjectPtr> out;
  auto it = idx->second->values.find(value);
  if (it == idx->second->values.end()) return out;
  out.reserve(it->second.size());
  for (const auto& key : it->second) {
    auto o = objects_.find(key);
    if (o != objects_.end()) out.push_back(o->second);
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

ObjectPtr Cache::upsert(ObjectPtr object) {
  if (!object) return nullptr;
  std::string key = objectKey(*object);
  std::unique_lock lk(mu_);
  ObjectPtr old;
  auto it = objects_.find(key);
  if (it != objects_.end()) {
    old = it->second;
    unindexLocked(key, *old);
    it->second = object;
  } else {
    objects_.emplace(key, object);
  }
  indexLocked(key, *object);
  return old;
}

ObjectPtr Cache::erase(std::string_view key) {
  std::unique_lock lk(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  ObjectPtr old = it->second;
  unindexLocked(it->first, *old);
  objects_.erase(it);
  return old;
}

std::map<std::string, ObjectPtr, std::less<>> Cache::replace(std::vector<ObjectPtr> objects) {
  std::map<std::string, ObjectPtr, std::less<>> fresh;
  for (auto& o : objects) {
    if (o) fresh[objectKey(*o)] = std::move(o);
  }
  std::unique_lock lk(mu_);
  for (auto& [_, idx] : indexes_) idx->values.clear();
  objects_.swap(fresh);
  for (const auto& [key, obj] : objects_) indexLocked(key, *obj);
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
  struct Notification {
    Kind kind;
    ObjectPtr oldObject;
    ObjectPtr newObject;
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
      : lw(std::move(l)), opts(std::move(o)), cache(opts.builtinIndexes) {}

  // ---- queue (mu held) ----

  void pushLocked(Kind kind, ObjectPtr oldObject, ObjectPtr newObject, HandlerId target = 0) {
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

  // What the cache keeps of an object: transformed, then compacted.
  ObjectPtr prepare(Object& o) {
    if (opts.transform) opts.transform(o);
    return std::make_shared<const Object>(Object::compacted(o));
  }

  void applyList(ObjectList& list) {
    std::vector<ObjectPtr> objects;
    objects.reserve(list.items.size());
    for (auto& o : list.items) objects.push_back(prepare(o));
    std::lock_guard lk(mu);
    auto old = cache.replace(objects);
    for (const auto& obj : objects) {
      auto it = old.find(objectKey(*obj));
      if (it == old.end()) {
        pushLocked(Kind::kAdd, nullptr, obj);
        continue;
      }
      if (it->second->resourceVersion() != obj->resourceVersion()) pushLocked(Kind::kUpdate, it->second, obj);
      old.erase(it);
    }
    // Deleted while the watch was down: the last state the cache knew.
    for (auto& [_, obj] : old) pushLocked(Kind::kDelete, obj, obj);
    lastRv = list.resourceVersion;
    ++stats.lists;
    if (!synced && !std::any_of(queue.begin(), queue.end(), [](auto& n) { return n.kind == Kind::kSynced; })) {
      pushLocked(Kind::kSynced, nullptr, nullptr);
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
      ObjectPtr old = cache.erase(objectKey(*obj));
      pushLocked(Kind::kDelete, old, obj);
    } else {
      ObjectPtr old = cache.upsert(obj);
      if (!old) {
        pushLocked(Kind::kAdd, nullptr, obj);
      } else if (old->resourceVersion() != obj->resourceVersion() || rv.empty()) {
        pushLocked(Kind::kUpdate, old, obj);
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
        auto list = lw->list(opts.pageSize, &e);
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
        applyList(*list);
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

  void deliver(const Notification& n, const Handler& h) {
    try {
      switch (n.kind) {
        case Kind::kAdd:
          if (h.handlers.onAdd) h.handlers.onAdd(*n.newObject);
          break;
        case Kind::kUpdate:
          if (h.handlers.onUpdate) h.handlers.onUpdate(*n.oldObject, *n.newObject);
          break;
        case Kind::kDelete:
          if (h.handlers.onDelete) h.handlers.onDelete(*n.newObject);
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
              for (const auto& obj : cache.list()) pushLocked(Kind::kUpdate, obj, obj);
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
      for (const auto& h : targets) deliver(n, *h);
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
  for (const auto& obj : impl_->cache.list()) impl_->pushLocked(Impl::Kind::kAdd, nullptr, obj, id);
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
                                        defaults_);
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
