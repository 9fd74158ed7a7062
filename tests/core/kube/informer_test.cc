// Tests for informers (core/src/kube/informer.cc): the indexed Cache, the Informer's list/watch
// loop and handler dispatch, and the InformerFactory.
//
// Informer logic is pinned first against a scripted ListerWatcher (deterministic: the exact
// order of events, relists and backoffs), then end to end against `kubeop sandbox` over HTTPS
// (including its fault injection: dropped and expired watches). Each test names the client-go
// tools/cache rule it pins.
#include "kubeop/kube/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "client/sandbox_fixture.h"

namespace kubeop::kube {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using testing::configMap;
using testing::eventually;
using testing::makeNamespace;
using testing::Sandbox;

Object obj(std::string_view ns, std::string_view name, std::string_view rv,
           const std::map<std::string, std::string>& labels = {}) {
  Object o = configMap(ns, name, {}, labels);
  json::setString(o.mutableMetadata(), "resourceVersion", rv, o.allocator());
  return o;
}

std::vector<std::string> names(const std::vector<ObjectPtr>& objs) {
  std::vector<std::string> out;
  for (const auto& o : objs) out.push_back(objectKey(*o));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cache (client-go threadSafeMap / Indexer)

// Every Cache behaviour holds in both storages.
class CacheStorageTest : public ::testing::TestWithParam<CacheStorage> {};

std::string storageName(const ::testing::TestParamInfo<CacheStorage>& info) {
  return info.param == CacheStorage::kObjects ? "Objects" : "CompactJson";
}

TEST_P(CacheStorageTest, BuiltInIndexesFollowEveryChange) {
  Cache c(kAllBuiltinIndexes, GetParam());
  Object owned = obj("a", "x", "1", {{"app", "web"}});
  owned.addOwnerReference(OwnerReference{"apps/v1", "ReplicaSet", "rs", "uid-1", true, true});
  c.upsert(std::make_shared<const Object>(owned));
  c.upsert(std::make_shared<const Object>(obj("a", "y", "1", {{"app", "db"}})));
  c.upsert(std::make_shared<const Object>(obj("b", "x", "1", {{"app", "web"}})));
  c.upsert(std::make_shared<const Object>(obj("", "cluster", "1")));

  struct Case {
    std::string_view index;
    std::string_view value;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {kNamespaceIndex, "a", {"a/x", "a/y"}},
      {kNamespaceIndex, "b", {"b/x"}},
      {kNamespaceIndex, "", {}},  // cluster-scoped objects are in no namespace
      {kLabelIndex, "app=web", {"a/x", "b/x"}},
      {kLabelIndex, "app=db", {"a/y"}},
      {kLabelIndex, "app", {}},
      {kOwnerIndex, "uid-1", {"a/x"}},
  };
  for (const auto& cs : cases) {
    SCOPED_TRACE(std::string(cs.index) + "=" + std::string(cs.value));
    auto got = c.byIndex(cs.index, cs.value);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(names(*got), cs.want);
  }
  EXPECT_EQ(c.size(), 4u);
  EXPECT_EQ(c.get("a", "x")->name(), "x");
  EXPECT_EQ(c.get("cluster")->name(), "cluster");
  EXPECT_EQ(c.get("a/none"), nullptr);

  // An update moves the object between index values; an erase removes it everywhere.
  auto old = c.upsert(std::make_shared<const Object>(obj("a", "x", "2", {{"app", "db"}})));
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->resourceVersion(), "1");  // readers keep their snapshot
  EXPECT_EQ(names(*c.byIndex(kLabelIndex, "app=web")), std::vector<std::string>{"b/x"});
  EXPECT_EQ(names(*c.byIndex(kLabelIndex, "app=db")), (std::vector<std::string>{"a/x", "a/y"}));
  EXPECT_THAT(*c.byIndex(kOwnerIndex, "uid-1"), IsEmpty());
  EXPECT_NE(c.erase("a/y"), nullptr);
  EXPECT_EQ(c.erase("a/y"), nullptr);
  EXPECT_EQ(names(*c.byIndex(kLabelIndex, "app=db")), std::vector<std::string>{"a/x"});
  EXPECT_THAT(*c.indexValues(kNamespaceIndex), ElementsAre("a", "b"));
  EXPECT_EQ(c.byIndex("nope", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.indexValues("nope").status().code(), StatusCode::kNotFound);
}

TEST_P(CacheStorageTest, CustomIndexesCoverObjectsAlreadyStored) {
  Cache c(kAllBuiltinIndexes, GetParam());
  c.upsert(std::make_shared<const Object>(obj("a", "x", "1", {{"team", "red"}})));
  c.upsert(std::make_shared<const Object>(obj("a", "y", "1", {{"team", "blue"}})));
  auto byTeam = [](const Object& o) -> std::vector<std::string> {
    auto t = o.label("team");
    return t ? std::vector<std::string>{*t} : std::vector<std::string>{};
  };
  ASSERT_TRUE(c.addIndex("team", byTeam).isOk());
  EXPECT_EQ(names(*c.byIndex("team", "red")), std::vector<std::string>{"a/x"});
  c.upsert(std::make_shared<const Object>(obj("b", "z", "1", {{"team", "red"}})));
  EXPECT_EQ(names(*c.byIndex("team", "red")), (std::vector<std::string>{"a/x", "b/z"}));

  EXPECT_EQ(c.addIndex("team", byTeam).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(c.addIndex(std::string(kLabelIndex), byTeam).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(c.addIndex("", byTeam).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.addIndex("empty", nullptr).code(), StatusCode::kInvalidArgument);

  auto before = c.replace({std::make_shared<const Object>(obj("c", "only", "1", {{"team", "blue"}}))});
  EXPECT_EQ(before.size(), 3u);
  EXPECT_THAT(*c.byIndex("team", "red"), IsEmpty());
  EXPECT_EQ(names(*c.byIndex("team", "blue")), std::vector<std::string>{"c/only"});
  EXPECT_THAT(c.keys(), ElementsAre("c/only"));
}

INSTANTIATE_TEST_SUITE_P(Storage, CacheStorageTest, ::testing::Values(CacheStorage::kObjects, CacheStorage::kCompactJson),
                         storageName);

TEST(CacheTest, WithoutBuiltInIndexesOnlyTheIndexesAddedExist) {
  Cache c(kNoBuiltinIndexes);
  c.upsert(std::make_shared<const Object>(obj("a", "x", "1", {{"app", "web"}})));
  EXPECT_EQ(c.byIndex(kLabelIndex, "app=web").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.keysByIndex(kNamespaceIndex, "a").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(c.addIndex(std::string(kNamespaceIndex), namespaceIndexFunc).isOk());
  c.upsert(std::make_shared<const Object>(obj("a", "y", "1")));
  c.upsert(std::make_shared<const Object>(obj("b", "z", "1")));
  EXPECT_THAT(*c.keysByIndex(kNamespaceIndex, "a"), ElementsAre("a/x", "a/y"));
  EXPECT_THAT(*c.keysByIndex(kNamespaceIndex, "c"), IsEmpty());
}

// What an operator caches by the thousand: objects of one kind that differ in names, versions,
// digests and a few values.
Object deploymentLike(int i) {
  std::string n = std::to_string(i);
  auto o = Object::fromJson(
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"app)" + n +
      R"(","namespace":"kubeop-t)" + std::to_string(i % 7) + R"(-p","resourceVersion":")" + std::to_string(1000 + i) +
      R"(","generation":1,"annotations":{"app.kubeop.io/applied-digest":")" + std::to_string(i * 7919 % 100000) +
      R"(f96f974570"},"managedFields":[{"manager":"kubeop","operation":"Apply"},{"manager":"kube-controller-manager",)"
      R"("operation":"Update","subresource":"status"}],"ownerReferences":[{"apiVersion":"paas.kubeop.io/v1alpha1",)"
      R"("kind":"App","name":"app)" + n + R"("}]},"spec":{"replicas":)" + std::to_string(1 + i % 3) +
      R"(},"status":{"availableReplicas":2,"conditions":[{"message":"Deployment has minimum availability.",)"
      R"("reason":"MinimumReplicasAvailable","status":"True","type":"Available"},{"message":"ReplicaSet \"app)" + n +
      R"(\" has successfully progressed.","reason":"NewReplicaSetAvailable","status":"True","type":"Progressing"}],)"
      R"("observedGeneration":1,"readyReplicas":2,"replicas":2,"updatedReplicas":2}})");
  return std::move(o).value();
}

TEST(CacheTest, CompactJsonKeepsManyObjectsInAFractionOfTheMemoryAndReadsEachBackExactly) {
  Cache parsed(kNoBuiltinIndexes, CacheStorage::kObjects);
  Cache compact(kNoBuiltinIndexes, CacheStorage::kCompactJson);
  constexpr int kN = 1000;
  size_t textBytes = 0;
  for (int i = 0; i < kN; ++i) {
    auto o = std::make_shared<const Object>(Object::compacted(deploymentLike(i)));
    textBytes += o->toJson().size();
    parsed.upsert(o);
    compact.upsert(o);
  }
  ASSERT_EQ(compact.size(), static_cast<size_t>(kN));
  // The first Cache::kDictionaryAfter objects are plain text, the rest compressed.
  EXPECT_LT(compact.memoryBytes(), textBytes / 2) << "text bytes " << textBytes;
  EXPECT_LT(compact.memoryBytes() * 5, parsed.memoryBytes())
      << "compact " << compact.memoryBytes() << " parsed " << parsed.memoryBytes();
  for (int i : {0, 1, 63, 64, 65, 500, kN - 1}) {
    SCOPED_TRACE(i);
    Object want = deploymentLike(i);
    ObjectPtr got = compact.get(want.namespace_(), want.name());
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->toJson(), want.toJson());
    EXPECT_EQ(compact.getEntry(objectKey(want)).resourceVersion(), want.resourceVersion());
  }
  // An update replaces the text; readers of the old one keep their copy.
  ObjectPtr before = compact.get("kubeop-t0-p", "app700");
  Object changed = deploymentLike(700);
  changed.setLabel("edited", "yes");
  json::setString(changed.mutableMetadata(), "resourceVersion", "99999", changed.allocator());
  CacheEntry old = compact.put(std::make_shared<const Object>(changed));
  EXPECT_EQ(old.resourceVersion(), "1700");
  EXPECT_EQ(compact.get("kubeop-t0-p", "app700")->label("edited").value_or(""), "yes");
  EXPECT_FALSE(before->label("edited"));
  // A replace (a relist) keeps the storage.
  auto previous = compact.replaceAll({std::make_shared<const Object>(deploymentLike(1))});
  EXPECT_EQ(previous.size(), static_cast<size_t>(kN));
  EXPECT_EQ(compact.get("kubeop-t1-p", "app1")->toJson(), deploymentLike(1).toJson());
  EXPECT_EQ(compact.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// A scripted ListerWatcher

class ScriptedListerWatcher : public ListerWatcher {
 public:
  struct Session {
    std::vector<WatchEvent> events;
    Status end;  // what watch() returns after the events
  };

  void pushList(StatusOr<ObjectList> l) {
    std::lock_guard lk(mu_);
    lists_.push_back(std::move(l));
  }
  void pushWatch(Session s) {
    std::lock_guard lk(mu_);
    sessions_.push_back(std::move(s));
  }
  int listCalls() {
    std::lock_guard lk(mu_);
    return listCalls_;
  }
  std::vector<std::string> watchVersions() {
    std::lock_guard lk(mu_);
    return watchVersions_;
  }

  StatusOr<ObjectList> list(int64_t, ApiError*) override {
    std::lock_guard lk(mu_);
    ++listCalls_;
    if (lists_.empty()) return Status(StatusCode::kUnavailable, "no list scripted");
    auto l = lists_.front();
    if (lists_.size() > 1) lists_.pop_front();  // the last answer repeats
    return l;
  }

  // Plays the next session; with none scripted, waits for one (or for cancellation).
  Status watch(const WatchOptions& options, const WatchCallback& onEvent, const http::CancelToken& cancel,
               ApiError*) override {
    Session s;
    {
      std::unique_lock lk(mu_);
      watchVersions_.push_back(options.resourceVersion);
      while (sessions_.empty()) {
        if (cancel.cancelled()) return Status(StatusCode::kCancelled, "cancelled");
        lk.unlock();
        std::this_thread::sleep_for(1ms);
        lk.lock();
      }
      s = std::move(sessions_.front());
      sessions_.pop_front();
    }
    for (auto& ev : s.events) {
      WatchEvent copy = ev;
      if (Status st = onEvent(copy); !st.isOk()) return st;
    }
    return s.end;
  }

 private:
  std::mutex mu_;
  std::deque<StatusOr<ObjectList>> lists_;
  std::deque<Session> sessions_;
  int listCalls_ = 0;
  std::vector<std::string> watchVersions_;
};

ObjectList listOf(std::string rv, std::vector<Object> items) {
  ObjectList l;
  l.resourceVersion = std::move(rv);
  l.items = std::move(items);
  return l;
}

WatchEvent event(WatchEventType type, Object o) {
  WatchEvent e;
  e.type = type;
  e.object = std::move(o);
  return e;
}

WatchEvent bookmark(std::string_view rv) {
  Object o;
  json::setString(o.mutableMetadata(), "resourceVersion", rv, o.allocator());
  return event(WatchEventType::kBookmark, std::move(o));
}

WatchEvent errorEvent(int code, std::string_view reason) {
  WatchEvent e;
  e.type = WatchEventType::kError;
  e.error.httpStatus = code;
  e.error.reason = std::string(reason);
  e.error.message = "watch error " + std::string(reason);
  return e;
}

// Records what a handler saw, as lines ("add ns/a@1", "update ns/a@1->2", "delete ns/b@1").
class Recorder {
 public:
  EventHandlers handlers() {
    EventHandlers h;
    h.onAdd = [this](const Object& o) { push("add " + objectKey(o) + "@" + std::string(o.resourceVersion())); };
    h.onUpdate = [this](const Object& a, const Object& b) {
      push("update " + objectKey(b) + "@" + std::string(a.resourceVersion()) + "->" + std::string(b.resourceVersion()));
    };
    h.onDelete = [this](const Object& o) { push("delete " + objectKey(o) + "@" + std::string(o.resourceVersion())); };
    return h;
  }
  std::vector<std::string> lines() {
    std::lock_guard lk(mu_);
    return lines_;
  }
  size_t size() { return lines().size(); }
  // The lines without namespaces and resourceVersions ("add a", "update a", "delete b").
  std::vector<std::string> verbsAndNames() {
    std::vector<std::string> out;
    for (const auto& l : lines()) {
      out.push_back(l.substr(0, l.find(' ')) + " " + l.substr(l.find('/') + 1, l.find('@') - l.find('/') - 1));
    }
    return out;
  }
  bool waitFor(size_t n, std::chrono::milliseconds within = 5000ms) {
    return eventually([&] { return size() >= n; }, within);
  }

 private:
  void push(std::string s) {
    std::lock_guard lk(mu_);
    lines_.push_back(std::move(s));
  }
  std::mutex mu_;
  std::vector<std::string> lines_;
};

InformerOptions quickOptions(CacheStorage storage = CacheStorage::kObjects) {
  InformerOptions o;
  o.storage = storage;
  o.backoffBase = 1ms;
  o.backoffMax = 5ms;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Informer against the scripted ListerWatcher, in both cache storages

class InformerTest : public ::testing::TestWithParam<CacheStorage> {};
INSTANTIATE_TEST_SUITE_P(Storage, InformerTest, ::testing::Values(CacheStorage::kObjects, CacheStorage::kCompactJson),
                         storageName);

TEST_P(InformerTest, ListsThenWatchesFromTheListsVersionAndDeliversInOrder) {
  // Reflector.ListAndWatch: list, then watch from the list's resourceVersion; the next watch
  // resumes from the last event or bookmark.
  auto lw = std::make_shared<ScriptedListerWatcher>();
  lw->pushList(listOf("10", {obj("ns", "a", "1"), obj("ns", "b", "2")}));
  lw->pushWatch({{event(WatchEventType::kAdded, obj("ns", "c", "11")),
                  event(WatchEventType::kModified, obj("ns", "a", "12")),
                  event(WatchEventType::kDeleted, obj("ns", "b", "13")), bookmark("14")},
                 Status::ok()});
  Recorder rec;
  Informer inf(lw, quickOptions(GetParam()));
  inf.addEventHandler(rec.handlers());
  EXPECT_FALSE(inf.hasSynced());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(5s));
  ASSERT_TRUE(rec.waitFor(5));
  EXPECT_THAT(rec.lines(), ElementsAre("add ns/a@1", "add ns/b@2", "add ns/c@11", "update ns/a@1->12", "delete ns/b@13"));
  EXPECT_TRUE(eventually([&] { return lw->watchVersions().size() >= 2; }));
  EXPECT_THAT(lw->watchVersions(), ElementsAre("10", "14"));
  EXPECT_EQ(inf.lastSyncResourceVersion(), "14");
  EXPECT_THAT(inf.cache().keys(), ElementsAre("ns/a", "ns/c"));
  EXPECT_EQ(inf.cache().get("ns/a")->resourceVersion(), "12");
  EXPECT_EQ(lw->listCalls(), 1);
  inf.stop();
}

TEST_P(InformerTest, AnExpiredWatchRelistsAndReportsOnlyWhatChanged) {
  // A 410 Expired ERROR event makes the reflector relist; the relist is diffed against the cache:
  // moved resourceVersions are updates, new keys adds, vanished keys deletes (last known state).
  auto lw = std::make_shared<ScriptedListerWatcher>();
  lw->pushList(listOf("10", {obj("ns", "a", "1"), obj("ns", "b", "2"), obj("ns", "same", "3")}));
  lw->pushList(listOf("20", {obj("ns", "a", "15"), obj("ns", "c", "16"), obj("ns", "same", "3")}));
  lw->pushWatch({{errorEvent(410, "Expired")}, Status::ok()});
  Recorder rec;
  Informer inf(lw, quickOptions(GetParam()));
  inf.addEventHandler(rec.handlers());
  inf.start();
  ASSERT_TRUE(rec.waitFor(6));
  EXPECT_THAT(rec.lines(), ElementsAre("add ns/a@1", "add ns/b@2", "add ns/same@3", "update ns/a@1->15", "add ns/c@16",
                                       "delete ns/b@2"));
  EXPECT_EQ(lw->listCalls(), 2);
  EXPECT_TRUE(eventually([&] { return lw->watchVersions().size() >= 2; }));
  EXPECT_THAT(lw->watchVersions(), ElementsAre("10", "20"));
  auto s = inf.stats();
  EXPECT_EQ(s.expired, 1u);
  EXPECT_EQ(s.lists, 2u);
}

TEST_P(InformerTest, GoneAtEstablishmentRelistsAndOtherErrorsBackOff) {
  auto lw = std::make_shared<ScriptedListerWatcher>();
  lw->pushList(Status(StatusCode::kUnavailable, "apiserver down"));
  lw->pushList(Status(StatusCode::kUnavailable, "apiserver down"));
  lw->pushList(listOf("10", {obj("ns", "a", "1")}));
  lw->pushWatch({{}, Status(StatusCode::kOutOfRange, "too old resource version")});  // 410 at establishment
  lw->pushWatch({{errorEvent(500, "InternalError")}, Status::ok()});                 // another ERROR event
  lw->pushWatch({{}, Status(StatusCode::kUnavailable, "connection reset")});          // a broken stream
  lw->pushWatch({{event(WatchEventType::kAdded, obj("ns", "b", "11"))}, Status::ok()});
  Recorder rec;
  Informer inf(lw, quickOptions(GetParam()));
  inf.addEventHandler(rec.handlers());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(5s));
  ASSERT_TRUE(rec.waitFor(2));
  EXPECT_THAT(rec.lines(), ElementsAre("add ns/a@1", "add ns/b@11"));
  auto s = inf.stats();
  EXPECT_EQ(s.expired, 1u);
  EXPECT_EQ(s.watchErrors, 1u);
  EXPECT_EQ(s.failures, 3u);  // two lists, one broken watch
  EXPECT_EQ(lw->listCalls(), 5);  // 2 failed + first + after 410 + after the ERROR event
  // The broken stream resumed from the last version instead of relisting.
  auto v = lw->watchVersions();
  ASSERT_GE(v.size(), 4u);
  EXPECT_EQ(v[2], "10");
  EXPECT_EQ(v[3], "10");
}

TEST_P(InformerTest, AHandlerAddedLaterGetsTheCacheThenEveryChangeExactlyOnce) {
  // sharedIndexInformer.AddEventHandler: a late handler is first told about every cached object
  // as an add, then receives the changes that follow — none twice, none missed — even while
  // events are flowing.
  auto lw = std::make_shared<ScriptedListerWatcher>();
  lw->pushList(listOf("1", {obj("ns", "seed", "1")}));
  std::mutex mu;
  std::map<std::string, std::string> view;  // what the late handler believes: key → rv
  int duplicates = 0;
  Informer inf(lw, quickOptions(GetParam()));
  inf.start();
  ASSERT_TRUE(inf.waitForSync(5s));

  std::thread feeder([&] {
    for (int i = 0; i < 300; ++i) {
      std::string name = "o" + std::to_string(i % 17);
      std::string rv = std::to_string(i + 2);
      auto type = i % 5 == 4 ? WatchEventType::kDeleted : WatchEventType::kModified;
      lw->pushWatch({{event(type, obj("ns", name, rv))}, Status::ok()});
    }
    lw->pushWatch({{bookmark("999")}, Status::ok()});
  });
  std::this_thread::sleep_for(2ms);  // let events flow first: registration races them on purpose
  EventHandlers h;
  h.onAdd = [&](const Object& o) {
    std::lock_guard lk(mu);
    if (view.count(objectKey(o))) ++duplicates;
    view[objectKey(o)] = std::string(o.resourceVersion());
  };
  h.onUpdate = [&](const Object& a, const Object& b) {
    std::lock_guard lk(mu);
    auto it = view.find(objectKey(b));
    if (it == view.end() || it->second != a.resourceVersion()) ++duplicates;  // missed or doubled
    view[objectKey(b)] = std::string(b.resourceVersion());
  };
  h.onDelete = [&](const Object& o) {
    std::lock_guard lk(mu);
    view.erase(objectKey(o));
  };
  inf.addEventHandler(h);
  feeder.join();
  ASSERT_TRUE(eventually([&] { return inf.lastSyncResourceVersion() == "999"; }));
  // Wait until the dispatcher has caught up with the cache.
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lk(mu);
    std::map<std::string, std::string> cache;
    for (const auto& o : inf.cache().list()) cache[objectKey(*o)] = std::string(o->resourceVersion());
    return cache == view;
  }));
  std::lock_guard lk(mu);
  EXPECT_EQ(duplicates, 0);
}

TEST_P(InformerTest, ResyncRedeliversEveryCachedObjectAsAnUpdate) {
  // resyncPeriod: OnUpdate(obj, obj) for every object, so level-triggered controllers re-check.
  auto lw = std::make_shared<ScriptedListerWatcher>();
  lw->pushList(listOf("5", {obj("ns", "a", "1"), obj("ns", "b", "2")}));
  InformerOptions o = quickOptions(GetParam());
  o.resyncPeriod = 30ms;
  Recorder rec;
  Informer inf(lw, o);
  inf.addEventHandler(rec.handlers());
  inf.start();
  ASSERT_TRUE(rec.waitFor(6));
  auto l = rec.lines();
  EXPECT_EQ(l[0], "add ns/a@1");
  EXPECT_EQ(l[1], "add ns/b@2");
  EXPECT_EQ(l[2], "update ns/a@1->1");
  EXPECT_EQ(l[3], "update ns/b@2->2");
  EXPECT_GE(inf.stats().resyncs, 2u);
}

TEST_P(InformerTest, HandlersCanThrowUnregisterAndStopTheInformer) {
  auto lw = std::make_shared<ScriptedListerWatcher>();
  lw->pushList(listOf("5", {obj("ns", "a", "1")}));
  // Everything the handlers touch outlives the informer.
  Recorder rec;
  Recorder removed;
  std::atomic<bool> stopped{false};
  auto inf = std::make_unique<Informer>(lw, quickOptions(GetParam()));
  EventHandlers thrower;
  thrower.onAdd = [](const Object&) { throw std::runtime_error("handler bug"); };
  inf->addEventHandler(thrower);
  HandlerId id = inf->addEventHandler(rec.handlers());
  HandlerId gone = inf->addEventHandler(removed.handlers());
  inf->removeEventHandler(gone);
  inf->start();
  ASSERT_TRUE(rec.waitFor(1));  // the throwing handler did not stop the dispatcher
  lw->pushWatch({{event(WatchEventType::kAdded, obj("ns", "b", "6"))}, Status::ok()});
  ASSERT_TRUE(rec.waitFor(2));
  inf->removeEventHandler(id);
  lw->pushWatch({{event(WatchEventType::kAdded, obj("ns", "c", "7"))}, Status::ok()});
  ASSERT_TRUE(eventually([&] { return inf->cache().size() == 3; }));
  EXPECT_THAT(removed.lines(), IsEmpty());

  // stop() from inside a handler neither deadlocks nor crashes; the informer is then inert.
  EventHandlers stopper;
  Informer* raw = inf.get();
  stopper.onAdd = [&](const Object&) {
    raw->stop();
    stopped = true;
  };
  inf->addEventHandler(stopper);  // gets the cache as adds: the first one stops everything
  ASSERT_TRUE(eventually([&] { return stopped.load(); }));
  inf.reset();
  EXPECT_EQ(rec.size(), 2u);
}

TEST_P(InformerTest, AnInformerThatNeverStartedStopsCleanly) {
  auto lw = std::make_shared<ScriptedListerWatcher>();
  Informer inf(lw);
  EXPECT_FALSE(inf.waitForSync(10ms));
  inf.stop();
  inf.start();  // a stopped informer does not restart
  EXPECT_FALSE(inf.hasSynced());
  EXPECT_EQ(lw->listCalls(), 0);
}

// ---------------------------------------------------------------------------------------------
// Against `kubeop sandbox` over HTTPS

// One sandbox per suite, started with Flags::args(); a fresh namespace for each test.
template <typename Flags>
class SandboxSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sandbox_ = Sandbox::start(Flags::args()).release(); }
  static void TearDownTestSuite() {
    delete sandbox_;
    sandbox_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(sandbox_, nullptr) << "kubeop sandbox did not start";
    client_ = sandbox_->client();
    ASSERT_NE(client_, nullptr);
    ns_ = makeNamespace(*client_, "inf");
  }
  static inline Sandbox* sandbox_ = nullptr;
  std::shared_ptr<Client> client_;
  std::string ns_;
};

// A window of 10 events: resuming from an older resourceVersion is 410.
struct SmallWindow {
  static std::vector<std::string> args() { return {"--watch-window", "10"}; }
};
using SandboxInformerTest = SandboxSuite<SmallWindow>;

TEST_F(SandboxInformerTest, SyncsThenFollowsAddsUpdatesAndDeletes) {
  ASSERT_TRUE(client_->create(configMap(ns_, "before", {{"a", "1"}})).ok());
  InformerOptions o;
  o.pageSize = 1;  // the initial list pages
  Recorder rec;
  Informer inf(makeListerWatcher(client_, "v1", "ConfigMap", ns_), o);
  inf.addEventHandler(rec.handlers());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(10s));
  ASSERT_NE(inf.cache().get(ns_, "before"), nullptr);

  ASSERT_TRUE(client_->create(configMap(ns_, "new", {{"a", "1"}})).ok());
  ASSERT_TRUE(client_->patch("v1", "ConfigMap", ns_, "new", PatchType::kMerge, R"({"data":{"a":"2"}})").ok());
  ASSERT_TRUE(client_->remove("v1", "ConfigMap", ns_, "before").ok());
  // The cache changes first, then handlers hear about it: wait for the handler.
  ASSERT_TRUE(rec.waitFor(4, 10s));
  EXPECT_EQ(inf.cache().get(ns_, "before"), nullptr);
  EXPECT_THAT(rec.verbsAndNames(), ElementsAre("add before", "add new", "update new", "delete before"));
  EXPECT_EQ(testing::dataOf(*inf.cache().get(ns_, "new"), "a"), "2");
}

TEST_F(SandboxInformerTest, RelistsWhenTheServerExpiresItsWatch) {
  Recorder rec;
  Informer inf(makeListerWatcher(client_, "v1", "ConfigMap", ns_), quickOptions());
  inf.addEventHandler(rec.handlers());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(10s));
  // A change seen through the watch proves it is established before it is expired.
  ASSERT_TRUE(client_->create(configMap(ns_, "probe")).ok());
  ASSERT_TRUE(eventually([&] { return inf.cache().get(ns_, "probe") != nullptr; }));
  ASSERT_TRUE(client_->requestRaw("POST", "/sandbox/faults/expire-watches", "{}").ok());
  ASSERT_TRUE(eventually([&] { return inf.stats().expired >= 1 && inf.stats().lists >= 2; }));
  ASSERT_TRUE(client_->create(configMap(ns_, "after-relist")).ok());
  EXPECT_TRUE(eventually([&] { return inf.cache().get(ns_, "after-relist") != nullptr; }));
}

// Wraps the real ListerWatcher: before the second watch it makes changes the informer cannot
// see (a delete, then enough churn that its resourceVersion leaves the server's 10-event window).
class MissingTheWindow : public ListerWatcher {
 public:
  MissingTheWindow(std::shared_ptr<ListerWatcher> inner, std::function<void()> beforeSecondWatch)
      : inner_(std::move(inner)), before_(std::move(beforeSecondWatch)) {}
  StatusOr<ObjectList> list(int64_t pageSize, ApiError* e) override { return inner_->list(pageSize, e); }
  Status watch(const WatchOptions& o, const WatchCallback& cb, const http::CancelToken& cancel, ApiError* e) override {
    if (++watches_ == 2) before_();
    return inner_->watch(o, cb, cancel, e);
  }

 private:
  std::shared_ptr<ListerWatcher> inner_;
  std::function<void()> before_;
  std::atomic<int> watches_{0};
};

TEST_F(SandboxInformerTest, RelistsAfterGoneAtEstablishmentAndReportsTheDeleteItMissed) {
  // The resourceVersion to resume from was compacted away (410 at establishment): relist, and
  // deliver onDelete for objects that vanished in between, with their last known state.
  ASSERT_TRUE(client_->create(configMap(ns_, "victim", {{"k", "v"}})).ok());
  ASSERT_TRUE(client_->create(configMap(ns_, "survivor")).ok());
  std::string other = makeNamespace(*client_, "churn");
  auto lw = std::make_shared<MissingTheWindow>(makeListerWatcher(client_, "v1", "ConfigMap", ns_), [&] {
    EXPECT_TRUE(client_->remove("v1", "ConfigMap", ns_, "victim").ok());
    for (int i = 0; i < 15; ++i) EXPECT_TRUE(client_->create(configMap(other, "c" + std::to_string(i))).ok());
  });
  std::mutex mu;
  std::vector<std::string> deleted;
  Informer inf(lw, quickOptions());
  EventHandlers h;
  h.onDelete = [&](const Object& o) {
    std::lock_guard lk(mu);
    deleted.push_back(std::string(o.name()) + ":" + testing::dataOf(o, "k"));
  };
  inf.addEventHandler(h);
  inf.start();
  ASSERT_TRUE(inf.waitForSync(10s));
  ASSERT_TRUE(client_->create(configMap(ns_, "probe")).ok());  // seen: the first watch is up
  ASSERT_TRUE(eventually([&] { return inf.cache().get(ns_, "probe") != nullptr; }));
  ASSERT_TRUE(client_->requestRaw("POST", "/sandbox/faults/drop-watches", "{}").ok());  // ends it cleanly
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lk(mu);
    return !deleted.empty();
  }));
  EXPECT_GE(inf.stats().expired, 1u);
  EXPECT_GE(inf.stats().lists, 2u);
  std::lock_guard lk(mu);
  EXPECT_THAT(deleted, ElementsAre("victim:v"));
  EXPECT_EQ(inf.cache().get(ns_, "victim"), nullptr);
  EXPECT_NE(inf.cache().get(ns_, "survivor"), nullptr);
}

TEST_F(SandboxInformerTest, IndexesFollowLiveChanges) {
  auto owner = client_->create(configMap(ns_, "owner"));
  ASSERT_TRUE(owner.ok());
  Informer inf(makeListerWatcher(client_, "v1", "ConfigMap", ns_), quickOptions());
  ASSERT_TRUE(inf.cache().addIndex("data-a", [](const Object& o) -> std::vector<std::string> {
    std::string a = testing::dataOf(o, "a");
    return a.empty() ? std::vector<std::string>{} : std::vector<std::string>{a};
  }).isOk());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(10s));
  Object child = configMap(ns_, "child", {{"a", "x"}}, {{"app", "web"}});
  child.addOwnerReference(OwnerReference{"v1", "ConfigMap", "owner", std::string(owner->uid()), false, false});
  ASSERT_TRUE(client_->create(child).ok());
  ASSERT_TRUE(eventually([&] { return inf.cache().byIndex(kLabelIndex, "app=web")->size() == 1; }));
  EXPECT_EQ(names(*inf.cache().byIndex(kOwnerIndex, std::string(owner->uid()))), std::vector<std::string>{ns_ + "/child"});
  EXPECT_EQ(inf.cache().byIndex("data-a", "x")->size(), 1u);
  EXPECT_GE(inf.cache().byIndex(kNamespaceIndex, ns_)->size(), 2u);

  ASSERT_TRUE(client_->patch("v1", "ConfigMap", ns_, "child", PatchType::kMerge,
                             R"({"metadata":{"labels":{"app":"db"}},"data":{"a":"y"}})").ok());
  ASSERT_TRUE(eventually([&] { return inf.cache().byIndex(kLabelIndex, "app=db")->size() == 1; }));
  EXPECT_THAT(*inf.cache().byIndex(kLabelIndex, "app=web"), IsEmpty());
  EXPECT_THAT(*inf.cache().byIndex("data-a", "x"), IsEmpty());
  EXPECT_EQ(inf.cache().byIndex("data-a", "y")->size(), 1u);
}

TEST_F(SandboxInformerTest, TheFactorySharesOneInformerPerResourceAndSelector) {
  Recorder first, second, filtered;
  InformerFactory factory(client_, quickOptions());
  auto a = factory.informerFor("v1", "ConfigMap", ns_);
  auto b = factory.informerFor("v1", "ConfigMap", ns_);
  auto labelled = factory.informerFor("v1", "ConfigMap", ns_, "app=web");
  auto secrets = factory.informerFor("v1", "Secret", ns_);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, labelled);
  EXPECT_NE(a, secrets);
  EXPECT_EQ(factory.size(), 3u);
  a->addEventHandler(first.handlers());
  b->addEventHandler(second.handlers());
  labelled->addEventHandler(filtered.handlers());
  factory.start();
  ASSERT_TRUE(factory.waitForCacheSync(10s));
  ASSERT_TRUE(client_->create(configMap(ns_, "plain")).ok());
  ASSERT_TRUE(client_->create(configMap(ns_, "web", {}, {{"app", "web"}})).ok());
  ASSERT_TRUE(first.waitFor(2));
  ASSERT_TRUE(second.waitFor(2));
  ASSERT_TRUE(filtered.waitFor(1));
  EXPECT_EQ(first.lines(), second.lines());
  EXPECT_EQ(filtered.lines().size(), 1u);
  EXPECT_THAT(filtered.lines()[0], ::testing::StartsWith("add " + ns_ + "/web@"));
  EXPECT_EQ(a->stats().lists, 1u);  // one list+watch serves both handlers
  factory.stop();
}

// ---------------------------------------------------------------------------------------------
// Bookmarks end to end, against `kubeop sandbox --bookmark-interval 200ms` (the watch cache
// sends them about once a minute to watches that asked with allowWatchBookmarks=true; each
// carries only kind, apiVersion and metadata.resourceVersion: the newest one, whatever resource
// was written). A window of 10 events makes a resume from a stale resourceVersion 410.

struct FrequentBookmarks {
  static std::vector<std::string> args() { return {"--bookmark-interval", "200ms", "--watch-window", "10"}; }
};

class SandboxBookmarkTest : public SandboxSuite<FrequentBookmarks> {
 protected:
  // Writes `n` Secrets (another resource than the informer's) and returns the last one's
  // resourceVersion.
  uint64_t churnSecrets(std::string_view ns, int n) {
    uint64_t last = 0;
    for (int i = 0; i < n; ++i) {
      Object s;
      s.setApiVersion("v1");
      s.setKind("Secret");
      s.setNamespace(ns);
      s.setName("s" + std::to_string(++secrets_));
      auto r = client_->create(s);
      EXPECT_TRUE(r.ok()) << r.status().toString();
      if (r.ok()) last = rvNumber(r->resourceVersion());
    }
    return last;
  }
  static uint64_t rvNumber(std::string_view rv) {
    uint64_t n = 0;
    for (char c : rv) {
      if (c < '0' || c > '9') return 0;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
  }
  int secrets_ = 0;
};

TEST_F(SandboxBookmarkTest, AQuietInformerFollowsTheNewestVersionResumesFromItAndRelistsOnExpiryExactlyOnce) {
  ASSERT_TRUE(client_->create(configMap(ns_, "a", {{"v", "1"}})).ok());
  ASSERT_TRUE(client_->create(configMap(ns_, "b")).ok());
  Recorder rec;
  Informer inf(makeListerWatcher(client_, "v1", "ConfigMap", ns_), quickOptions());
  inf.addEventHandler(rec.handlers());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(10s));
  uint64_t listed = rvNumber(inf.lastSyncResourceVersion());
  ASSERT_GT(listed, 0u);

  // Nothing the informer watches changes, yet bookmarks bring it to the newest resourceVersion,
  // past more events than the server keeps. First make sure the watch is open (a bookmark past the
  // list's version came through it): on a loaded machine the reflector may not have asked yet, and
  // a watch asked for after the churn would start from a version the window no longer holds.
  std::string other = makeNamespace(*client_, "bm-other");
  uint64_t first = churnSecrets(other, 1);
  ASSERT_TRUE(eventually([&] { return rvNumber(inf.lastSyncResourceVersion()) >= first; }));
  uint64_t newest = churnSecrets(other, 15);
  ASSERT_GT(newest, listed + 10);
  ASSERT_TRUE(eventually([&] { return rvNumber(inf.lastSyncResourceVersion()) >= newest; }))
      << "lastSyncResourceVersion stayed at " << inf.lastSyncResourceVersion() << ", newest is " << newest;
  EXPECT_EQ(inf.stats().lists, 1u);
  EXPECT_EQ(inf.stats().watches, 1u);

  // A dropped watch resumes from the bookmark's resourceVersion: still inside the window, so no
  // 410 and no relist (from the list's version it would be both).
  ASSERT_TRUE(client_->requestRaw("POST", "/sandbox/faults/drop-watches", "{}").ok());
  ASSERT_TRUE(eventually([&] { return inf.stats().watches >= 2; }));
  ASSERT_TRUE(client_->create(configMap(ns_, "c")).ok());
  ASSERT_TRUE(eventually([&] { return inf.cache().get(ns_, "c") != nullptr; }));
  EXPECT_EQ(inf.stats().lists, 1u);
  EXPECT_EQ(inf.stats().expired, 0u);

  // An expired watch relists; the relist finds nothing new, so nothing is delivered again, and
  // the changes after it arrive once each.
  ASSERT_TRUE(client_->requestRaw("POST", "/sandbox/faults/expire-watches", "{}").ok());
  ASSERT_TRUE(eventually([&] { return inf.stats().expired >= 1 && inf.stats().lists >= 2; }));
  ASSERT_TRUE(client_->patch("v1", "ConfigMap", ns_, "a", PatchType::kMerge, R"({"data":{"v":"2"}})").ok());
  ASSERT_TRUE(client_->remove("v1", "ConfigMap", ns_, "b").ok());
  ASSERT_TRUE(rec.waitFor(5, 10s));
  // Bookmarks keep coming after the relist too.
  uint64_t later = churnSecrets(other, 3);
  ASSERT_TRUE(eventually([&] { return rvNumber(inf.lastSyncResourceVersion()) >= later; }));
  EXPECT_THAT(rec.verbsAndNames(), ElementsAre("add a", "add b", "add c", "update a", "delete b"));
  EXPECT_EQ(inf.stats().eventsDelivered, 5u);
  EXPECT_EQ(inf.stats().expired, 1u);
  EXPECT_EQ(inf.stats().lists, 2u);
  EXPECT_EQ(inf.stats().watchErrors, 0u);
  EXPECT_EQ(inf.cache().keys(), (std::vector<std::string>{ns_ + "/a", ns_ + "/c"}));
  EXPECT_EQ(testing::dataOf(*inf.cache().get(ns_, "a"), "v"), "2");
}

}  // namespace
}  // namespace kubeop::kube
