#include "kubeop/operator/events.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <list>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "kubeop/core/json.h"
#include "kubeop/core/time.h"
#include "kubeop/log/log.h"

namespace kubeop::op {

namespace {

using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

constexpr std::size_t kMaxMessageBytes = 1024;
// An Event's name is "<involved name>.<16 hex>" and must stay within a DNS subdomain's 253.
constexpr std::size_t kMaxNamePrefix = 253 - 17;
constexpr char kSep = '\x1f';  // between the parts of a cache key (never inside a name)
constexpr std::string_view kCombinedPrefix = "(combined from similar events): ";

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// A least-recently-used map of string keys (client-go's groupcache lru), bounded at `capacity`.
template <typename V>
class Lru {
 public:
  explicit Lru(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

  V* get(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  V& put(const std::string& key, V value) {
    if (V* existing = get(key)) {
      *existing = std::move(value);
      return *existing;
    }
    order_.emplace_front(key, std::move(value));
    index_[key] = order_.begin();
    if (index_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return order_.front().second;
  }

 private:
  using Entry = std::pair<std::string, V>;
  std::size_t capacity_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

// client-go's per-object spam filter: a token bucket refilled continuously.
struct TokenBucket {
  double tokens = 0;
  WallTime last{};
};

// What event() captured, waiting for the sending thread.
struct Pending {
  std::string eventNamespace;
  std::string apiVersion, kind, name, ns, uid, resourceVersion;
  EventType type = EventType::kNormal;
  std::string reason, message;
  WallTime at{};
  std::string objectKey;  // the involved object: the spam filter's and the aggregator's key
};

// Messages seen for one object, type and reason (client-go's aggregateRecord).
struct SimilarEvents {
  std::set<std::string> messages;
  WallTime last{};
};

// The last Event written for one correlation key (client-go's eventLog).
struct SentEvent {
  std::string name;
  int64_t count = 0;
  WallTime first{};
  WallTime last{};
};

bool transient(StatusCode code) {
  return code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded ||
         code == StatusCode::kResourceExhausted;
}

}  // namespace

const char* eventTypeName(EventType type) { return type == EventType::kWarning ? "Warning" : "Normal"; }

std::string truncateUtf8(std::string_view message, std::size_t maxBytes) {
  if (message.size() <= maxBytes) return std::string(message);
  std::size_t cut = maxBytes;
  // Back up over continuation bytes (10xxxxxx) so the cut falls before a character's first byte.
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  return std::string(message.substr(0, cut));
}

struct EventRecorder::Impl {
  Impl(std::shared_ptr<kube::Client> c, std::string comp, std::string h, EventRecorderOptions o)
      : client(std::move(c)),
        component(std::move(comp)),
        host(std::move(h)),
        instance(host.empty() ? hostname() : host),
        options(std::move(o)),
        spam(options.cacheEntries),
        similar(options.cacheEntries),
        sent(options.cacheEntries) {
    if (!options.clock) options.clock = [] { return WallClock::now(); };
  }

  // --- immutable after construction
  std::shared_ptr<kube::Client> client;
  std::string component;
  std::string host;
  std::string instance;  // reportingInstance
  EventRecorderOptions options;

  // --- guarded by mu
  mutable std::mutex mu;
  std::condition_variable cv;  // queue, stopping and progress (flush) changes
  std::deque<Pending> queue;
  bool stopping = false;
  std::chrono::steady_clock::time_point deadline{};
  uint64_t pushed = 0;  // events ever queued
  uint64_t done = 0;    // of those, sent, given up or dropped
  Stats stats;
  Lru<TokenBucket> spam;

  // --- only the sending thread
  Lru<SimilarEvents> similar;
  Lru<SentEvent> sent;
  int64_t lastNameNanos = 0;

  std::mutex stopMu;  // serializes stop(): one join
  std::thread thread;

  bool spamAllows(const std::string& key, WallTime now) {
    TokenBucket* b = spam.get(key);
    if (!b) b = &spam.put(key, TokenBucket{static_cast<double>(options.spamBurst), now});
    const double refillMs = static_cast<double>(std::max<int64_t>(options.spamRefill.count(), 1));
    const double elapsedMs = std::chrono::duration<double, std::milli>(now - b->last).count();
    if (elapsedMs > 0) {
      b->tokens = std::min<double>(options.spamBurst, b->tokens + elapsedMs / refillMs);
      b->last = now;
    }
    if (b->tokens < 1) return false;
    b->tokens -= 1;
    return true;
  }

  // "<involved name>.<16 hex of unix nanoseconds>", strictly increasing within this recorder.
  std::string newEventName(const Pending& p, WallTime now) {
    int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    nanos = std::max(nanos, lastNameNanos + 1);
    lastNameNanos = nanos;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(nanos));
    std::string prefix = p.name.empty() ? component : p.name;
    if (prefix.size() > kMaxNamePrefix) prefix.resize(kMaxNamePrefix);
    return prefix + "." + hex;
  }

  Object buildEvent(const Pending& p, const std::string& message, const SentEvent& e) const {
    Object ev;
    ev.setApiVersion("v1");
    ev.setKind("Event");
    ev.setName(e.name);
    ev.setNamespace(p.eventNamespace);
    json::Allocator& a = ev.allocator();
    json::Value& root = ev.root();
    json::Value involved(rapidjson::kObjectType);
    for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"apiVersion", &p.apiVersion},
                                     {"kind", &p.kind},
                                     {"name", &p.name},
                                     {"namespace", &p.ns},
                                     {"uid", &p.uid},
                                     {"resourceVersion", &p.resourceVersion}}) {
      if (!value->empty()) json::setString(involved, key, *value, a);
    }
    json::setMember(root, "involvedObject", involved, a);
    json::setString(root, "reason", p.reason, a);
    json::setString(root, "message", message, a);
    json::setString(root, "type", eventTypeName(p.type), a);
    json::Value source(rapidjson::kObjectType);
    json::setString(source, "component", component, a);
    if (!host.empty()) json::setString(source, "host", host, a);
    json::setMember(root, "source", source, a);
    json::setString(root, "firstTimestamp", formatRfc3339(e.first), a);
    json::setString(root, "lastTimestamp", formatRfc3339(e.last), a);
    json::Value count(e.count);
    json::setMember(root, "count", count, a);
    json::setString(root, "reportingComponent", component, a);
    json::setString(root, "reportingInstance", instance, a);
    return ev;
  }

  // One try: patch the Event of a repeat (recreating it when it is gone), else create it.
  Status sendOnce(const Pending& p, const std::string& message, const SentEvent& e, bool repeat) {
    if (repeat) {
      json::Document patch(rapidjson::kObjectType);
      json::Allocator& a = patch.GetAllocator();
      json::Value count(e.count);
      json::setMember(patch, "count", count, a);
      json::setString(patch, "lastTimestamp", formatRfc3339(e.last), a);
      json::setString(patch, "message", message, a);
      auto r = client->patch("v1", "Event", p.eventNamespace, e.name, kube::PatchType::kStrategicMerge,
                             json::write(patch));
      if (r.ok()) {
        std::lock_guard lock(mu);
        ++stats.patched;
        return Status::ok();
      }
      if (r.status().code() != StatusCode::kNotFound) return r.status();
    }
    auto r = client->create(buildEvent(p, message, e));
    // AlreadyExists: a retried create whose first attempt did land.
    if (!r.ok() && r.status().code() != StatusCode::kAlreadyExists) return r.status();
    std::lock_guard lock(mu);
    ++stats.created;
    return Status::ok();
  }

  // client-go's EventCorrelator (aggregate, then deduplicate), then the write with retries.
  void process(const Pending& p) {
    const WallTime now = p.at;
    const auto window = options.correlationWindow;
    std::string similarKey = p.objectKey;
    similarKey += kSep;
    similarKey += eventTypeName(p.type);
    similarKey += kSep;
    similarKey += p.reason;

    SimilarEvents* group = similar.get(similarKey);
    if (!group || now - group->last > window) group = &similar.put(similarKey, SimilarEvents{});
    group->messages.insert(p.message);
    group->last = now;
    std::string message = p.message;
    std::string key = similarKey + kSep + p.message;
    if (group->messages.size() >= options.aggregateMaxEvents) {
      group->messages.erase(group->messages.begin());  // stay at the threshold
      message = truncateUtf8(std::string(kCombinedPrefix) + p.message, kMaxMessageBytes);
      key = similarKey;  // every further similar event lands on the one combined Event
    }

    SentEvent* previous = sent.get(key);
    const bool repeat = previous && now - previous->last <= window;
    SentEvent e = repeat ? SentEvent{previous->name, previous->count + 1, previous->first, now}
                         : SentEvent{newEventName(p, now), 1, now, now};
    sent.put(key, e);

    auto backoff = options.retryBackoff;
    for (int attempt = 1;; ++attempt) {
      Status st = sendOnce(p, message, e, repeat);
      if (st.isOk()) return;
      bool retry = transient(st.code()) && attempt < options.maxAttempts;
      if (retry) {
        std::unique_lock lock(mu);
        retry = !cv.wait_for(lock, backoff, [&] { return stopping; });
      }
      if (!retry) {
        {
          std::lock_guard lock(mu);
          ++stats.failed;
        }
        log::warn("cannot record an event",
                  {log::Field("event", p.eventNamespace + "/" + e.name),
                   log::Field("object", p.kind + " " + (p.ns.empty() ? p.name : p.ns + "/" + p.name)),
                   log::Field("reason", p.reason), log::Field("attempts", attempt),
                   log::Field("error", st.toString())});
        return;
      }
      backoff *= 2;
    }
  }

  void run() {
    for (;;) {
      Pending p;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        if (stopping && std::chrono::steady_clock::now() >= deadline) {
          const std::size_t left = queue.size();
          stats.droppedStopped += left;
          done += left;
          queue.clear();
          lock.unlock();
          cv.notify_all();
          log::warn("events not sent before the stop deadline",
                    {log::Field("dropped", static_cast<unsigned long>(left)), log::Field("component", component)});
          return;
        }
        p = std::move(queue.front());
        queue.pop_front();
      }
      process(p);
      {
        std::lock_guard lock(mu);
        ++done;
      }
      cv.notify_all();
    }
  }
};

EventRecorder::EventRecorder(std::shared_ptr<kube::Client> client, std::string component, std::string host)
    : EventRecorder(std::move(client), std::move(component), std::move(host), EventRecorderOptions{}) {}

EventRecorder::EventRecorder(std::shared_ptr<kube::Client> client, std::string component, std::string host,
                             EventRecorderOptions options)
    : impl_(std::make_unique<Impl>(std::move(client), std::move(component), std::move(host), std::move(options))) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

EventRecorder::~EventRecorder() { stop(); }

void EventRecorder::event(const Object& involved, EventType type, std::string_view reason, std::string_view message) {
  Impl& m = *impl_;
  Pending p;
  p.apiVersion = involved.apiVersion();
  p.kind = involved.kind();
  p.name = involved.name();
  p.ns = involved.namespace_();
  p.uid = involved.uid();
  p.resourceVersion = involved.resourceVersion();
  p.eventNamespace = p.ns.empty() ? "default" : p.ns;
  p.type = type;
  p.reason = reason;
  p.message = truncateUtf8(message, kMaxMessageBytes);
  p.at = m.options.clock();
  p.objectKey = p.kind + kSep + p.ns + kSep + p.name + kSep + p.uid + kSep + p.apiVersion;

  uint64_t fullDrops = 0;
  {
    std::lock_guard lock(m.mu);
    if (m.stopping) {
      ++m.stats.droppedStopped;
      return;
    }
    if (m.queue.size() >= m.options.queueCapacity) {
      fullDrops = ++m.stats.droppedQueueFull;
    } else if (!m.spamAllows(p.objectKey, p.at)) {
      ++m.stats.droppedSpam;
      return;
    } else {
      m.queue.push_back(std::move(p));
      ++m.pushed;
      ++m.stats.queued;
    }
  }
  if (fullDrops == 0) {
    m.cv.notify_all();
    return;
  }
  // Log the first drop and then every 100th: a full queue means the API server is slow or down.
  if (fullDrops % 100 == 1) {
    log::warn("event queue full; dropping events",
              {log::Field("dropped", static_cast<unsigned long>(fullDrops)), log::Field("reason", reason)});
  }
}

bool EventRecorder::flush(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  const uint64_t target = m.pushed;
  return m.cv.wait_for(lock, timeout, [&] { return m.done >= target; });
}

void EventRecorder::stop() {
  Impl& m = *impl_;
  std::lock_guard joinLock(m.stopMu);
  {
    std::lock_guard lock(m.mu);
    if (!m.stopping) {
      m.stopping = true;
      m.deadline = std::chrono::steady_clock::now() + m.options.flushTimeout;
    }
  }
  m.cv.notify_all();
  if (m.thread.joinable()) m.thread.join();
}

EventRecorder::Stats EventRecorder::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace kubeop::op
