// Kubernetes Events about kubeop's objects, with client-go's record.EventRecorder semantics.
//
//  - event() never blocks on the network: it queues (a bounded queue; when full the event is
//    dropped and counted) and one background thread sends.
//  - Each event becomes a core/v1 Event in the involved object's namespace ("default" for a
//    cluster-scoped object) named "<involved name>.<16 hex digits>", with involvedObject
//    {apiVersion, kind, name, namespace, uid, resourceVersion}, reason, message (at most 1024
//    bytes, cut at a UTF-8 character boundary), type, source {component, host},
//    first/lastTimestamp, count, reportingComponent and reportingInstance (the host, or this
//    machine's hostname when none was given).
//  - Correlation, as client-go's EventCorrelator:
//      spam filter: a token bucket per involved object (burst 25, one more every 5 minutes);
//        an event over it is dropped before it is queued.
//      aggregation: when one object has 10 events of one type and reason with different
//        messages within 10 minutes, further ones are combined into one Event whose message
//        is "(combined from similar events): <latest message>".
//      deduplication: an event identical (same object uid, type, reason, message) to one sent
//        within the last 10 minutes patches that Event (count+1, lastTimestamp) instead of
//        creating another. A patch of an Event that is gone creates it again.
//  - Failures are logged (kubeop::log) and counted, never thrown or returned. Transport failures
//    (Unavailable, DeadlineExceeded, ResourceExhausted) are retried with backoff a few times;
//    answers of the server (a missing or terminating namespace, an invalid Event) are not.
//  - stop() (and the destructor) sends what is queued until a deadline, then drops the rest.
//    A call already in flight is bounded by the client's own timeout.
//
// Thread-safety: every member may be called from any thread.
// Ownership: shares the client; owns its sending thread (joined by stop()).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kubeop/core/object.h"
#include "kubeop/kube/client.h"

namespace kubeop::op {

enum class EventType { kNormal, kWarning };

// "Normal", "Warning".
const char* eventTypeName(EventType type);

// The bytes of `message` that fit in `maxBytes` without splitting a UTF-8 character.
std::string truncateUtf8(std::string_view message, std::size_t maxBytes);

struct EventRecorderOptions {
  std::size_t queueCapacity = 1000;  // events waiting to be sent; more are dropped
  // Spam filter: per involved object, `spamBurst` events, then one per `spamRefill`.
  int spamBurst = 25;
  std::chrono::milliseconds spamRefill{std::chrono::minutes(5)};
  // Deduplication and aggregation look back this far.
  std::chrono::milliseconds correlationWindow{std::chrono::minutes(10)};
  // Distinct messages of one object, type and reason within the window before they are combined.
  std::size_t aggregateMaxEvents = 10;
  std::size_t cacheEntries = 4096;  // objects and events remembered (least recently used go)
  // Attempts per event when the API server cannot be reached; the wait doubles from retryBackoff.
  int maxAttempts = 4;
  std::chrono::milliseconds retryBackoff{500};
  // How long stop() keeps sending what is queued.
  std::chrono::milliseconds flushTimeout{std::chrono::seconds(10)};
  // Test seam: the wall clock of timestamps, windows and the spam filter.
  std::function<std::chrono::system_clock::time_point()> clock;
};

// Thread-safety and ownership: see the file comment.
class EventRecorder {
 public:
  // `component`: source.component and reportingComponent ("kubeop-operator"). `host`:
  // source.host and reportingInstance.
  EventRecorder(std::shared_ptr<kube::Client> client, std::string component, std::string host = "");
  EventRecorder(std::shared_ptr<kube::Client> client, std::string component, std::string host,
                EventRecorderOptions options);
  ~EventRecorder();  // stop()
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Records an event about `involved` (an object read from the API server: its uid and
  // resourceVersion are copied). Never blocks on the network and never fails; after stop() it
  // is dropped.
  void event(const Object& involved, EventType type, std::string_view reason, std::string_view message);

  // Waits until every event queued before the call has been sent or given up, or `timeout`
  // passes. Returns whether the queue was drained.
  bool flush(std::chrono::milliseconds timeout);

  // Sends what is queued (up to options.flushTimeout), then stops the thread. Idempotent.
  void stop();

  struct Stats {
    uint64_t queued = 0;          // accepted by event()
    uint64_t created = 0;         // Events created
    uint64_t patched = 0;         // Events whose count went up
    uint64_t failed = 0;          // given up after an error (logged)
    uint64_t droppedSpam = 0;     // over the per-object token bucket
    uint64_t droppedQueueFull = 0;
    uint64_t droppedStopped = 0;  // recorded after stop(), or still queued at its deadline
  };
  Stats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubeop::op
