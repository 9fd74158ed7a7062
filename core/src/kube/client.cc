// The Kubernetes client (see client.h for the contract).
//
// Design:
//  - Every call goes through Impl::execute (or Impl::watchStream for watches): rate limiter,
//    Authorization header, one HTTP attempt bounded by the call's deadline, error decoding,
//    then the retry decision of client.h ("Retries"). The deadline is enforced by a Watchdog
//    thread that cancels the attempt's CancelToken when it passes, because http::Client has no
//    per-call timeout of its own.
//  - Discovery: one APIResourceList per group version, fetched on demand and cached under a
//    mutex (fetches happen outside it; a concurrent duplicate fetch is harmless).
//  - The rate limiter is a token bucket with reservations (golang.org/x/time/rate's model):
//    a caller takes a token, possibly driving the balance negative, and waits until its
//    reservation matures, so waiters are served in order without a queue.
#include "kubeop/kube/client.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "kubeop/http/url.h"
#include "kubeop/log/log.h"

namespace kubeop::kube {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---- errors --------------------------------------------------------------------------------

std::string reasonForHttp(int http) { return reasonForHttpStatus(http); }

int parseRetryAfter(std::string_view v) {
  // Seconds only (client-go ignores the HTTP-date form too).
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.size() > 9) return 0;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

// A printable, bounded excerpt of a non-Status body for messages.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (body.size() > 200) out += "…";
  return out;
}

bool isStatusObject(const json::Value& v) {
  return v.IsObject() && json::getString(v, "kind") == "Status";
}

std::string statusLine(int http) {
  std::string r = reasonForHttp(http);
  return "HTTP " + std::to_string(http) + (r.empty() ? "" : " (" + r + ")");
}

// ---- small helpers ------------------------------------------------------------------------

std::string apiPrefix(const ResourceInfo& r) {
  if (r.group.empty()) return "/api/" + http::urlEncodePathSegment(r.version);
  return "/apis/" + http::urlEncodePathSegment(r.group) + "/" + http::urlEncodePathSegment(r.version);
}

std::string gvPath(std::string_view group, std::string_view version) {
  if (group.empty()) return "/api/" + http::urlEncodePathSegment(version);
  return "/apis/" + http::urlEncodePathSegment(group) + "/" + http::urlEncodePathSegment(version);
}

std::string withQuery(std::string path, const std::vector<std::pair<std::string, std::string>>& q) {
  if (q.empty()) return path;
  return path + "?" + http::buildQuery(q);
}

bool containsString(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> stringArray(const json::Value& obj, std::string_view key) {
  std::vector<std::string> out;
  const json::Value* a = json::find(obj, key);
  if (!a || !a->IsArray()) return out;
  for (const auto& e : a->GetArray()) {
    if (e.IsString()) out.emplace_back(json::view(e));
  }
  return out;
}

// Fills apiVersion/kind when the server left them out (list items of built-in kinds).
void fillTypeMeta(Object& o, const ResourceInfo& r) {
  if (o.apiVersion().empty()) o.setApiVersion(r.apiVersion());
  if (o.kind().empty()) o.setKind(r.kind);
}

// ---- rate limiter --------------------------------------------------------------------------

// Token bucket with reservations. Thread-safe.
class RateLimiter {
 public:
  RateLimiter(double qps, int burst) : qps_(qps), burst_(burst), tokens_(burst), last_(Clock::now()) {}
  bool unlimited() const { return qps_ <= 0 || burst_ <= 0; }
  // Takes a token; returns how long the caller must wait before using it.
  milliseconds reserve() {
    if (unlimited()) return milliseconds(0);
    std::lock_guard lk(mu_);
    advanceLocked();
    tokens_ -= 1;
    if (tokens_ >= 0) return milliseconds(0);
    return milliseconds(static_cast<int64_t>(std::ceil(-tokens_ / qps_ * 1000.0)));
  }
  // Gives back a reservation that will not be used.
  void cancel() {
    if (unlimited()) return;
    std::lock_guard lk(mu_);
    tokens_ = std::min<double>(burst_, tokens_ + 1);
  }

 private:
  void advanceLocked() {
    auto now = Clock::now();
    double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min<double>(burst_, tokens_ + elapsed * qps_);
  }
  std::mutex mu_;
  double qps_;
  int burst_;
  double tokens_;
  Clock::time_point last_;
};

// ---- watchdog ------------------------------------------------------------------------------

// Cancels registered tokens when their deadline passes. One thread per Client. Thread-safe.
class Watchdog {
 public:
  Watchdog() : thread_([this] { run(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  uint64_t add(Clock::time_point deadline, http::CancelToken token) {
    std::lock_guard lk(mu_);
    uint64_t id = ++nextId_;
    entries_.emplace(id, Entry{deadline, std::move(token)});
    cv_.notify_all();
    return id;
  }
  void remove(uint64_t id) {
    std::lock_guard lk(mu_);
    entries_.erase(id);
  }

 private:
  struct Entry {
    Clock::time_point deadline;
    http::CancelToken token;
  };
  void run() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      auto now = Clock::now();
      auto next = Clock::time_point::max();
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.deadline <= now) {
          it->second.token.cancel();
          it = entries_.erase(it);
        } else {
          next = std::min(next, it->second.deadline);
          ++it;
        }
      }
      if (next == Clock::time_point::max()) {
        cv_.wait(lk);
      } else {
        cv_.wait_until(lk, next);
      }
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Entry> entries_;
  uint64_t nextId_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: started after the members it uses
};

class WatchdogScope {
 public:
  WatchdogScope(Watchdog& w, std::optional<Clock::time_point> deadline, const http::CancelToken& token) : w_(w) {
    if (deadline) id_ = w_.add(*deadline, token);
  }
  ~WatchdogScope() {
    if (id_) w_.remove(id_);
  }
  WatchdogScope(const WatchdogScope&) = delete;
  WatchdogScope& operator=(const WatchdogScope&) = delete;

 private:
  Watchdog& w_;
  uint64_t id_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Errors (public)

ApiError apiErrorFromStatus(const json::Value& st) {
  ApiError e;
  if (!st.IsObject()) {
    e.message = "the server sent a malformed Status";
    return e;
  }
  if (const json::Value* c = json::find(st, "code"); c && c->IsInt()) e.httpStatus = c->GetInt();
  e.reason = std::string(json::getString(st, "reason"));
  e.message = std::string(json::getString(st, "message"));
  if (const json::Value* m = json::find(st, "metadata"); m && m->IsObject()) {
    e.continueToken = std::string(json::getString(*m, "continue"));
  }
  if (const json::Value* d = json::find(st, "details"); d && d->IsObject()) {
    e.name = std::string(json::getString(*d, "name"));
    e.group = std::string(json::getString(*d, "group"));
    e.kind = std::string(json::getString(*d, "kind"));
    e.uid = std::string(json::getString(*d, "uid"));
    if (const json::Value* r = json::find(*d, "retryAfterSeconds"); r && r->IsInt() && r->GetInt() > 0) {
      e.retryAfterSeconds = r->GetInt();
    }
    if (const json::Value* cs = json::find(*d, "causes"); cs && cs->IsArray()) {
      for (const auto& c : cs->GetArray()) {
        if (!c.IsObject()) continue;
        e.causes.push_back(StatusCause{std::string(json::getString(c, "reason")),
                                       std::string(json::getString(c, "message")),
                                       std::string(json::getString(c, "field"))});
      }
    }
  }
  if (e.reason.empty()) e.reason = reasonForHttp(e.httpStatus);
  return e;
}

ApiError decodeApiError(int httpStatus, std::string_view body, std::string_view retryAfterHeader) {
  ApiError e;
  bool decoded = false;
  if (!body.empty()) {
    auto doc = json::parse(body);
    if (doc.ok() && isStatusObject(*doc)) {
      e = apiErrorFromStatus(*doc);
      decoded = true;
    }
  }
  // The HTTP status wins over the body's code (a proxy may rewrite one but not the other; the
  // status line is what every client acts on).
  if (httpStatus != 0) e.httpStatus = httpStatus;
  if (e.reason.empty()) e.reason = reasonForHttp(e.httpStatus);
  if (!decoded || e.message.empty()) {
    std::string m = "the server responded with " + statusLine(e.httpStatus);
    std::string ex = excerpt(body);
    if (!ex.empty()) m += ": " + ex;
    e.message = std::move(m);
  }
  e.retryAfterSeconds = std::max(e.retryAfterSeconds, parseRetryAfter(retryAfterHeader));
  return e;
}

StatusCode statusCodeFor(const ApiError& e) {
  const std::string& r = e.reason;
  if (r == "NotFound") return StatusCode::kNotFound;
  if (r == "AlreadyExists") return StatusCode::kAlreadyExists;
  if (r == "Conflict") return StatusCode::kAborted;
  if (r == "Invalid" || r == "BadRequest") return StatusCode::kInvalidArgument;
  if (r == "Forbidden") {
    for (const auto& c : e.causes) {
      if (c.reason == "NamespaceTerminating") return StatusCode::kFailedPrecondition;
    }
    return StatusCode::kPermissionDenied;
  }
  if (r == "Unauthorized") return StatusCode::kUnauthenticated;
  if (r == "TooManyRequests") return StatusCode::kResourceExhausted;
  if (r == "Timeout" || r == "ServerTimeout") return StatusCode::kDeadlineExceeded;
  if (r == "Gone" || r == "Expired") return StatusCode::kOutOfRange;
  if (r == "RequestEntityTooLarge") return StatusCode::kPayloadTooLarge;
  if (r == "MethodNotAllowed" || r == "NotAcceptable" || r == "UnsupportedMediaType") {
    return StatusCode::kUnimplemented;
  }
  if (r == "InternalError" || r == "ServiceUnavailable") return StatusCode::kUnavailable;
  int h = e.httpStatus;
  switch (h) {
    case 0: return StatusCode::kUnavailable;
    case 400: case 422: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 405: case 406: case 415: return StatusCode::kUnimplemented;
    case 409: return StatusCode::kAborted;
    case 410: return StatusCode::kOutOfRange;
    case 413: return StatusCode::kPayloadTooLarge;
    case 429: return StatusCode::kResourceExhausted;
    case 504: return StatusCode::kDeadlineExceeded;
    default: break;
  }
  if (h >= 500) return StatusCode::kUnavailable;
  return StatusCode::kUnknown;
}

Status toStatus(const ApiError& e) {
  std::string m = e.message;
  if (m.empty()) m = e.reason.empty() ? "the server responded with " + statusLine(e.httpStatus) : e.reason;
  if (e.reason == "Invalid") {
    std::string extra;
    for (const auto& c : e.causes) {
      if (c.field.empty() && c.message.empty()) continue;
      if (!c.field.empty() && m.find(c.field) != std::string::npos) continue;
      if (!extra.empty()) extra += "; ";
      extra += c.field.empty() ? c.message : c.field + (c.message.empty() ? "" : ": " + c.message);
    }
    if (!extra.empty()) m += " (" + extra + ")";
  }
  StatusCode code = statusCodeFor(e);
  if (code == StatusCode::kOk) code = StatusCode::kUnknown;
  return Status(code, std::move(m));
}

bool ResourceInfo::supports(std::string_view verb) const { return containsString(verbs, verb); }
bool ResourceInfo::hasSubresource(std::string_view name) const { return containsString(subresources, name); }

const char* watchEventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "ERROR";
}

std::string objectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string k;
  k.reserve(ns.size() + 1 + name.size());
  k.append(ns).append("/").append(name);
  return k;
}

std::string objectKey(const Object& object) { return objectKey(object.namespace_(), object.name()); }

// ---------------------------------------------------------------------------------------------
// Client::Impl

struct Client::Impl {
  RestConfig rest;
  ClientConfig config;
  std::string base;  // the server URL without a trailing '/'
  std::unique_ptr<http::Client> http;
  RateLimiter limiter;
  Watchdog watchdog;

  std::mutex discoveryMu;
  // "v1", "apps/v1" → the resources of that group version.
  std::map<std::string, std::shared_ptr<const std::vector<ResourceInfo>>, std::less<>> discovery;

  std::mutex rngMu;
  std::mt19937_64 rng{std::random_device{}()};

  std::atomic<uint64_t> requests{0}, retries{0}, discoveryFetches{0}, rateLimitWaits{0};

  Impl(RestConfig r, ClientConfig c)
      : rest(std::move(r)), config(std::move(c)), limiter(config.qps, config.burst) {}

  // What a request may be retried after.
  enum class Replay {
    kOnlyIfUnprocessed,  // POST, PATCH, DELETE, unconditional PUT: 429 only
    kSafe,               // GET, PUT with resourceVersion: also 5xx and transport failures
  };

  struct Call {
    std::string method;
    std::string path;  // path and query, starting with '/'
    std::string body;
    std::string contentType;
    Replay replay = Replay::kSafe;
  };

  // ---- waiting ----

  // Sleeps `d` in slices so that `cancel` interrupts it; false when cancelled.
  bool sleepFor(milliseconds d, const http::CancelToken* cancel) {
    if (d.count() <= 0) return !(cancel && cancel->cancelled());
    if (config.sleep) {
      config.sleep(d);
      return !(cancel && cancel->cancelled());
    }
    auto until = Clock::now() + d;
    while (true) {
      if (cancel && cancel->cancelled()) return false;
      auto now = Clock::now();
      if (now >= until) return true;
      std::this_thread::sleep_for(std::min<Clock::duration>(until - now, milliseconds(50)));
    }
  }

  milliseconds backoff(int retry) {
    // base·2^(retry-1), capped; then equal jitter: [d/2, d].
    double d = static_cast<double>(config.backoffBase.count()) * std::pow(2.0, std::max(0, retry - 1));
    d = std::min(d, static_cast<double>(config.backoffMax.count()));
    double f;
    {
      std::lock_guard lk(rngMu);
      f = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
    }
    return milliseconds(static_cast<int64_t>(d * f));
  }

  std::optional<Clock::time_point> deadlineFrom(Clock::time_point start) const {
    if (config.timeout.count() <= 0) return std::nullopt;
    return start + config.timeout;
  }

  static milliseconds remaining(const std::optional<Clock::time_point>& deadline) {
    if (!deadline) return milliseconds::max();
    auto left = std::chrono::duration_cast<milliseconds>(*deadline - Clock::now());
    return std::max(left, milliseconds(0));
  }

  Status timedOut(const Call& c) const {
    return Status(StatusCode::kDeadlineExceeded, c.method + " " + c.path + ": no answer within the client timeout of " +
                                                    std::to_string(config.timeout.count()) + "ms");
  }

  // Takes a rate-limiter token, waiting for it when needed. Fails when the wait would pass the
  // deadline or `cancel` fires.
  Status throttle(const Call& c, const std::optional<Clock::time_point>& deadline, const http::CancelToken* cancel) {
    milliseconds wait = limiter.reserve();
    if (wait.count() <= 0) return Status::ok();
    ++rateLimitWaits;
    if (wait > remaining(deadline)) {
      limiter.cancel();
      return Status(StatusCode::kDeadlineExceeded, c.method + " " + c.path + ": the client rate limit (" +
                                                       std::to_string(config.qps) + " qps) would delay it past its timeout");
    }
    if (!sleepFor(wait, cancel)) return Status(StatusCode::kCancelled, c.method + " " + c.path + ": cancelled");
    return Status::ok();
  }

  StatusOr<http::HeaderList> headersFor(const Call& c) {
    http::HeaderList h;
    h.emplace_back("Accept", "application/json");
    if (!c.body.empty() || c.method == "POST" || c.method == "PUT" || c.method == "PATCH") {
      h.emplace_back("Content-Type", c.contentType.empty() ? "application/json" : c.contentType);
    }
    auto auth = rest.authorizationHeader();
    if (!auth.ok()) return auth.status().withContext("obtaining credentials for " + rest.server);
    if (!auth->empty()) h.emplace_back("Authorization", std::move(auth).value());
    return h;
  }

  // ---- the retry decision ----

  enum class Verdict { kReturn, kRetry, kRetryNow };

  struct Decision {
    Verdict verdict = Verdict::kReturn;
    milliseconds wait{0};
  };

  // After an HTTP answer that is not 2xx.
  Decision decideAnswer(const Call& c, const ApiError& e, int retry, bool& authRefreshed) {
    Decision d;
    int h = e.httpStatus;
    if (h == 401 && rest.invalidateCredentials && !authRefreshed) {
      authRefreshed = true;
      rest.invalidateCredentials();
      d.verdict = Verdict::kRetryNow;
      return d;
    }
    bool retryable = h == 429 || (c.replay == Replay::kSafe && h >= 500 && h != 501);
    if (!retryable || retry >= config.maxRetries) return d;
    d.verdict = Verdict::kRetry;
    d.wait = e.retryAfterSeconds > 0 ? milliseconds(int64_t{e.retryAfterSeconds} * 1000) : backoff(retry + 1);
    return d;
  }

  // After a transport failure (no answer).
  Decision decideTransport(const Call& c, const Status& st, int retry) {
    Decision d;
    if (st.code() != StatusCode::kUnavailable && st.code() != StatusCode::kDeadlineExceeded) return d;
    if (c.replay != Replay::kSafe || retry >= config.maxRetries) return d;
    d.verdict = Verdict::kRetry;
    d.wait = backoff(retry + 1);
    return d;
  }

  // ---- one call, with retries ----

  // Returns the 2xx answer, or the decoded error (also in *error).
  StatusOr<http::ClientResponse> execute(const Call& c, ApiError* error) {
    auto start = Clock::now();
    auto deadline = deadlineFrom(start);
    std::string url = base + c.path;
    int retry = 0;
    bool authRefreshed = false;
    while (true) {
      if (Status st = throttle(c, deadline, nullptr); !st.isOk()) return fail(error, st);
      auto headers = headersFor(c);
      if (!headers.ok()) return fail(error, headers.status());
      http::CancelToken token;
      StatusOr<http::ClientResponse> r = Status(StatusCode::kUnknown, "not sent");
      {
        WatchdogScope scope(watchdog, deadline, token);
        ++requests;
        r = http->request(c.method, url, *headers, c.body, &token);
      }
      Decision d;
      ApiError e;
      Status failure;
      if (!r.ok()) {
        failure = r.status();
        if (failure.code() == StatusCode::kCancelled || (deadline && Clock::now() >= *deadline)) {
          return fail(error, timedOut(c));
        }
        e.message = failure.message();
        d = decideTransport(c, failure, retry);
      } else if (r->status >= 200 && r->status < 300) {
        return r;
      } else {
        e = decodeApiError(r->status, r->body, r->header("Retry-After"));
        failure = toStatus(e);
        d = decideAnswer(c, e, retry, authRefreshed);
      }
      if (d.verdict == Verdict::kReturn) return fail(error, failure, &e);
      if (d.verdict == Verdict::kRetry) {
        if (d.wait > remaining(deadline)) return fail(error, failure, &e);  // would end past the deadline
        log::debug("kubernetes request retried", {{"method", c.method},
                                                   {"path", c.path},
                                                   {"code", statusCodeName(failure.code())},
                                                   {"waitMs", static_cast<long long>(d.wait.count())},
                                                   {"retry", retry + 1}});
        if (!sleepFor(d.wait, nullptr)) return fail(error, failure, &e);
        ++retry;
      }
      ++retries;
    }
  }

  static Status fail(ApiError* out, const Status& st, const ApiError* e = nullptr) {
    if (out) {
      if (e) {
        *out = *e;
      } else {
        *out = ApiError{};
        out->message = st.message();
      }
    }
    return st;
  }

  StatusOr<Object> executeObject(const Call& c, const ResourceInfo* r, ApiError* error) {
    auto resp = execute(c, error);
    if (!resp.ok()) return resp.status();
    auto o = Object::fromJson(resp->body);
    if (!o.ok()) {
      return fail(error, Status(StatusCode::kInternal, c.method + " " + c.path +
                                                           ": the server's answer is not a JSON object: " +
                                                           o.status().message()));
    }
    if (r) fillTypeMeta(*o, *r);
    return o;
  }

  // ---- discovery ----

  static StatusOr<std::vector<ResourceInfo>> parseResourceList(std::string_view body, std::string_view group,
                                                               std::string_view version) {
    auto doc = json::parse(body);
    if (!doc.ok()) return Status(StatusCode::kInternal, "discovery: " + doc.status().message());
    const json::Value* rs = json::find(*doc, "resources");
    std::vector<ResourceInfo> out;
    if (!rs || !rs->IsArray()) return out;
    std::vector<std::pair<std::string, std::string>> subs;  // (main, sub)
    for (const auto& v : rs->GetArray()) {
      if (!v.IsObject()) continue;
      std::string name(json::getString(v, "name"));
      if (name.empty()) continue;
      auto slash = name.find('/');
      if (slash != std::string::npos) {
        subs.emplace_back(name.substr(0, slash), name.substr(slash + 1));
        continue;
      }
      ResourceInfo ri;
      ri.group = std::string(group);
      ri.version = std::string(version);
      ri.resource = name;
      ri.kind = std::string(json::getString(v, "kind"));
      ri.singular = std::string(json::getString(v, "singularName"));
      const json::Value* ns = json::find(v, "namespaced");
      ri.namespaced = ns && ns->IsBool() && ns->GetBool();
      ri.verbs = stringArray(v, "verbs");
      ri.shortNames = stringArray(v, "shortNames");
      out.push_back(std::move(ri));
    }
    for (auto& [main, sub] : subs) {
      for (auto& ri : out) {
        if (ri.resource == main && !containsString(ri.subresources, sub)) ri.subresources.push_back(sub);
      }
    }
    return out;
  }

  // Fetches one group version's resources into the cache. NotFound when the server does not
  // serve the group version.
  StatusOr<std::shared_ptr<const std::vector<ResourceInfo>>> fetchGroupVersion(std::string_view group,
                                                                               std::string_view version,
                                                                               ApiError* error) {
    Call c{"GET", gvPath(group, version), "", "", Replay::kSafe};
    ++discoveryFetches;
    auto resp = execute(c, error);
    std::string gv = group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
    if (!resp.ok()) {
      if (resp.status().code() == StatusCode::kNotFound) {
        std::lock_guard lk(discoveryMu);
        discovery.erase(gv);
      }
      return resp.status();
    }
    auto list = parseResourceList(resp->body, group, version);
    if (!list.ok()) return fail(error, list.status());
    auto shared = std::make_shared<const std::vector<ResourceInfo>>(std::move(list).value());
    std::lock_guard lk(discoveryMu);
    discovery[gv] = shared;
    return shared;
  }

  static const ResourceInfo* findKind(const std::vector<ResourceInfo>& rs, std::string_view kind) {
    for (const auto& r : rs) {
      if (r.kind == kind) return &r;
    }
    return nullptr;
  }

  StatusOr<ResourceInfo> resourceFor(std::string_view apiVersion, std::string_view kind, ApiError* error) {
    if (apiVersion.empty() || kind.empty()) {
      return fail(error, invalidArgument("apiVersion and kind are required (got \"" + std::string(apiVersion) +
                                         "\", \"" + std::string(kind) + "\")"));
    }
    auto gvk = GroupVersionKind::parse(apiVersion, kind);
    if (gvk.version.empty() || gvk.version.find('/') != std::string::npos) {
      return fail(error, invalidArgument("malformed apiVersion \"" + std::string(apiVersion) + "\""));
    }
    {
      std::lock_guard lk(discoveryMu);
      auto it = discovery.find(apiVersion);
      if (it != discovery.end()) {
        if (const ResourceInfo* r = findKind(*it->second, kind)) return *r;
      }
    }
    // A miss: the group version is new, or changed (a CRD was added) — refetch it.
    ApiError e;
    auto fetched = fetchGroupVersion(gvk.group, gvk.version, &e);
    if (!fetched.ok()) {
      if (fetched.status().code() == StatusCode::kNotFound) {
        return fail(error, notFound("no matches for kind \"" + std::string(kind) + "\" in version \"" +
                                    std::string(apiVersion) + "\" (the server does not serve " +
                                    std::string(apiVersion) + ")"),
                    &e);
      }
      return fail(error, fetched.status(), &e);
    }
    if (const ResourceInfo* r = findKind(**fetched, kind)) return *r;
    return fail(error, notFound("no matches for kind \"" + std::string(kind) + "\" in version \"" +
                                std::string(apiVersion) + "\""));
  }

  StatusOr<std::vector<ResourceInfo>> serverResources(ApiError* error) {
    std::vector<std::pair<std::string, std::string>> gvs;  // (group, version)
    {
      auto resp = execute(Call{"GET", "/api", "", "", Replay::kSafe}, error);
      if (!resp.ok()) return resp.status();
      auto doc = json::parse(resp->body);
      if (!doc.ok()) return fail(error, Status(StatusCode::kInternal, "discovery /api: " + doc.status().message()));
      for (auto& v : stringArray(*doc, "versions")) gvs.emplace_back("", v);
    }
    {
      auto resp = execute(Call{"GET", "/apis", "", "", Replay::kSafe}, error);
      if (!resp.ok()) return resp.status();
      auto doc = json::parse(resp->body);
      if (!doc.ok()) return fail(error, Status(StatusCode::kInternal, "discovery /apis: " + doc.status().message()));
      const json::Value* groups = json::find(*doc, "groups");
      if (groups && groups->IsArray()) {
        for (const auto& g : groups->GetArray()) {
          std::string name(json::getString(g, "name"));
          const json::Value* vs = json::find(g, "versions");
          if (name.empty() || !vs || !vs->IsArray()) continue;
          for (const auto& v : vs->GetArray()) {
            std::string ver(json::getString(v, "version"));
            if (!ver.empty()) gvs.emplace_back(name, ver);
          }
        }
      }
    }
    std::vector<ResourceInfo> all;
    std::map<std::string, std::shared_ptr<const std::vector<ResourceInfo>>, std::less<>> fresh;
    for (const auto& [g, v] : gvs) {
      auto r = fetchGroupVersion(g, v, nullptr);
      if (!r.ok()) {
        // An aggregated API that is down must not hide the rest (client-go returns partial
        // results for the same reason).
        log::warn("discovery of a group version failed", {{"groupVersion", g.empty() ? v : g + "/" + v},
                                                          {"error", r.status().message()}});
        continue;
      }
      fresh[g.empty() ? v : g + "/" + v] = *r;
      all.insert(all.end(), (*r)->begin(), (*r)->end());
    }
    std::lock_guard lk(discoveryMu);
    discovery = std::move(fresh);
    return all;
  }

  // ---- paths ----

  std::string namespaceFor(const ResourceInfo& r, std::string_view ns) const {
    if (!r.namespaced) return "";
    return ns.empty() ? rest.defaultNamespace : std::string(ns);
  }

  // The collection: /api/v1/namespaces/ns/configmaps (ns empty: all namespaces).
  static std::string collectionPath(const ResourceInfo& r, std::string_view ns) {
    std::string p = apiPrefix(r);
    if (r.namespaced && !ns.empty()) p += "/namespaces/" + http::urlEncodePathSegment(ns);
    return p + "/" + http::urlEncodePathSegment(r.resource);
  }

  static std::string objectPath(const ResourceInfo& r, std::string_view ns, std::string_view name,
                                std::string_view sub = {}) {
    std::string p = collectionPath(r, ns) + "/" + http::urlEncodePathSegment(name);
    if (!sub.empty()) p += "/" + http::urlEncodePathSegment(sub);
    return p;
  }

  static std::vector<std::pair<std::string, std::string>> writeQuery(bool dryRun, const std::string& fieldManager) {
    std::vector<std::pair<std::string, std::string>> q;
    if (dryRun) q.emplace_back("dryRun", "All");
    if (!fieldManager.empty()) q.emplace_back("fieldManager", fieldManager);
    return q;
  }

  // ---- lists ----

  StatusOr<ObjectList> decodeList(const Call& c, std::string_view body, const ResourceInfo& r, ApiError* error) {
    auto doc = json::parse(body);
    if (!doc.ok() || !doc->IsObject()) {
      return fail(error, Status(StatusCode::kInternal, c.method + " " + c.path + ": the server's list is not a JSON object" +
                                                           (doc.ok() ? "" : ": " + doc.status().message())));
    }
    ObjectList out;
    out.apiVersion = std::string(json::getString(*doc, "apiVersion"));
    out.kind = std::string(json::getString(*doc, "kind"));
    if (out.apiVersion.empty()) out.apiVersion = r.apiVersion();
    if (out.kind.empty()) out.kind = r.kind + "List";
    if (const json::Value* m = json::find(*doc, "metadata"); m && m->IsObject()) {
      out.resourceVersion = std::string(json::getString(*m, "resourceVersion"));
      out.continueToken = std::string(json::getString(*m, "continue"));
      if (const json::Value* n = json::find(*m, "remainingItemCount"); n && n->IsInt64()) {
        out.remainingItemCount = n->GetInt64();
      }
    }
    if (const json::Value* items = json::find(*doc, "items"); items && items->IsArray()) {
      out.items.reserve(items->Size());
      for (const auto& it : items->GetArray()) {
        auto o = Object::fromValue(it);
        if (!o.ok()) continue;  // a non-object item cannot be an object of this resource
        fillTypeMeta(*o, r);
        out.items.push_back(std::move(o).value());
      }
    }
    return out;
  }

  StatusOr<ObjectList> list(const ResourceInfo& r, std::string_view ns, const ListOptions& o, ApiError* error) {
    std::vector<std::pair<std::string, std::string>> q;
    if (!o.labelSelector.empty()) q.emplace_back("labelSelector", o.labelSelector);
    if (!o.fieldSelector.empty()) q.emplace_back("fieldSelector", o.fieldSelector);
    if (o.limit > 0) q.emplace_back("limit", std::to_string(o.limit));
    if (!o.continueToken.empty()) q.emplace_back("continue", o.continueToken);
    if (!o.resourceVersion.empty()) q.emplace_back("resourceVersion", o.resourceVersion);
    if (!o.resourceVersionMatch.empty()) q.emplace_back("resourceVersionMatch", o.resourceVersionMatch);
    Call c{"GET", withQuery(collectionPath(r, r.namespaced ? ns : std::string_view()), q), "", "", Replay::kSafe};
    auto resp = execute(c, error);
    if (!resp.ok()) return resp.status();
    return decodeList(c, resp->body, r, error);
  }

  // ---- watch ----

  Status watchStream(const ResourceInfo& r, std::string_view ns, const WatchOptions& o, const WatchCallback& onEvent,
                     const http::CancelToken* cancel, ApiError* error) {
    std::vector<std::pair<std::string, std::string>> q;
    q.emplace_back("watch", "true");
    if (o.allowBookmarks) q.emplace_back("allowWatchBookmarks", "true");
    if (!o.resourceVersion.empty()) q.emplace_back("resourceVersion", o.resourceVersion);
    if (!o.labelSelector.empty()) q.emplace_back("labelSelector", o.labelSelector);
    if (!o.fieldSelector.empty()) q.emplace_back("fieldSelector", o.fieldSelector);
    if (o.timeoutSeconds > 0) q.emplace_back("timeoutSeconds", std::to_string(o.timeoutSeconds));
    Call c{"GET", withQuery(collectionPath(r, r.namespaced ? ns : std::string_view()), q), "", "", Replay::kSafe};
    std::string url = base + c.path;
    auto deadline = deadlineFrom(Clock::now());
    int retry = 0;
    bool authRefreshed = false;
    http::CancelToken never;  // stands in for a missing caller token
    const http::CancelToken& userCancel = cancel ? *cancel : never;
    while (true) {
      if (userCancel.cancelled()) return fail(error, Status(StatusCode::kCancelled, "watch " + c.path + ": cancelled"));
      if (Status st = throttle(c, deadline, &userCancel); !st.isOk()) return fail(error, st);
      auto headers = headersFor(c);
      if (!headers.ok()) return fail(error, headers.status());

      Status callbackStatus;
      bool callbackFailed = false;
      auto onLine = [&](std::string_view line) -> Status {
        if (line.empty()) return Status::ok();
        WatchEvent ev;
        Status st = decodeEvent(line, r, ev);
        if (st.isOk()) st = onEvent(ev);
        if (!st.isOk()) {
          callbackFailed = true;
          callbackStatus = st;
        }
        return st;
      };
      http::ClientResponse head;
      ++requests;
      // Establishment is bounded by http's requestTimeout (the call timeout); the stream runs
      // until the server, the caller or the connection ends it.
      Status st = http->stream("GET", url, *headers, {}, http::splitLines(onLine), &userCancel, &head);
      if (callbackFailed) return fail(error, callbackStatus);
      if (st.isOk()) return st;
      if (head.status >= 200 && head.status < 300) {
        // The stream was up and broke: events may have been delivered; the caller resumes.
        return fail(error, st);
      }
      if (userCancel.cancelled() || st.code() == StatusCode::kCancelled) {
        return fail(error, Status(StatusCode::kCancelled, "watch " + c.path + ": cancelled"));
      }
      Decision d;
      ApiError e;
      Status failure;
      if (head.status == 0) {
        failure = st;
        e.message = st.message();
        d = decideTransport(c, st, retry);
      } else {
        e = decodeApiError(head.status, head.body, head.header("Retry-After"));
        failure = toStatus(e);
        d = decideAnswer(c, e, retry, authRefreshed);
      }
      if (d.verdict == Verdict::kReturn) return fail(error, failure, &e);
      if (d.verdict == Verdict::kRetry) {
        if (d.wait > remaining(deadline)) return fail(error, failure, &e);
        if (!sleepFor(d.wait, &userCancel)) {
          return fail(error, Status(StatusCode::kCancelled, "watch " + c.path + ": cancelled"));
        }
        ++retry;
      }
      ++retries;
    }
  }

  static Status decodeEvent(std::string_view line, const ResourceInfo& r, WatchEvent& ev) {
    auto doc = json::parse(line);
    if (!doc.ok() || !doc->IsObject()) {
      return Status(StatusCode::kInternal,
                    "malformed watch event" + (doc.ok() ? std::string(": not a JSON object") : ": " + doc.status().message()));
    }
    std::string_view type = json::getString(*doc, "type");
    if (type == "ADDED") {
      ev.type = WatchEventType::kAdded;
    } else if (type == "MODIFIED") {
      ev.type = WatchEventType::kModified;
    } else if (type == "DELETED") {
      ev.type = WatchEventType::kDeleted;
    } else if (type == "BOOKMARK") {
      ev.type = WatchEventType::kBookmark;
    } else if (type == "ERROR") {
      ev.type = WatchEventType::kError;
    } else {
      return Status(StatusCode::kInternal, "malformed watch event: unknown type \"" + excerpt(type) + "\"");
    }
    const json::Value* obj = json::find(*doc, "object");
    if (!obj || !obj->IsObject()) return Status(StatusCode::kInternal, "malformed watch event: no object");
    auto o = Object::fromValue(*obj);
    if (!o.ok()) return Status(StatusCode::kInternal, "malformed watch event: " + o.status().message());
    ev.object = std::move(o).value();
    if (ev.type == WatchEventType::kError) {
      ev.error = apiErrorFromStatus(ev.object.root());
      if (ev.error.message.empty()) ev.error.message = "the server ended the watch with an error";
    } else if (ev.type != WatchEventType::kBookmark) {
      fillTypeMeta(ev.object, r);
    }
    return Status::ok();
  }
};

// ---------------------------------------------------------------------------------------------
// Client

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

StatusOr<std::unique_ptr<Client>> Client::create(RestConfig rest, ClientConfig config) {
  if (rest.server.empty()) return invalidArgument("the Kubernetes client needs a server URL");
  auto url = http::parseUrl(rest.server);
  if (!url.ok()) return url.status().withContext("the Kubernetes server URL");
  if (!url->query.empty()) return invalidArgument("the Kubernetes server URL must not have a query: " + url->toString());
  if (!url->userinfo.empty()) {
    return invalidArgument("the Kubernetes server URL must not carry credentials: " + url->toString());
  }
  if (config.maxRetries < 0) return invalidArgument("maxRetries must not be negative");
  if (config.qps < 0 || config.burst < 0) return invalidArgument("qps and burst must not be negative");
  if (config.timeout.count() < 0) return invalidArgument("timeout must not be negative");
  if (config.backoffBase.count() <= 0 || config.backoffMax < config.backoffBase) {
    return invalidArgument("backoffBase must be positive and at most backoffMax");
  }
  http::ClientOptions ho = rest.client;
  ho.userAgent = config.userAgent.empty() ? ho.userAgent : config.userAgent;
  ho.requestTimeout = config.timeout;
  auto hc = http::Client::create(ho);
  if (!hc.ok()) return hc.status().withContext("the Kubernetes client's HTTP transport");
  std::string base = url->origin() + (url->path == "/" ? "" : url->path);
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto impl = std::make_unique<Impl>(std::move(rest), std::move(config));
  impl->base = std::move(base);
  impl->http = std::move(hc).value();
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

const std::string& Client::server() const { return impl_->rest.server; }
const std::string& Client::defaultNamespace() const { return impl_->rest.defaultNamespace; }

StatusOr<ResourceInfo> Client::resourceFor(std::string_view apiVersion, std::string_view kind, ApiError* error) {
  return impl_->resourceFor(apiVersion, kind, error);
}

StatusOr<std::vector<ResourceInfo>> Client::serverResources(ApiError* error) { return impl_->serverResources(error); }

void Client::invalidateDiscovery() {
  std::lock_guard lk(impl_->discoveryMu);
  impl_->discovery.clear();
}

StatusOr<Object> Client::get(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                             std::string_view name, const GetOptions& options, ApiError* error) {
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(apiVersion, kind, error));
  if (name.empty()) return Impl::fail(error, invalidArgument("get " + r.resource + ": a name is required"));
  std::vector<std::pair<std::string, std::string>> q;
  if (!options.resourceVersion.empty()) q.emplace_back("resourceVersion", options.resourceVersion);
  Impl::Call c{"GET", withQuery(Impl::objectPath(r, impl_->namespaceFor(r, ns), name), q), "", "", Impl::Replay::kSafe};
  return impl_->executeObject(c, &r, error);
}

StatusOr<ObjectList> Client::list(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                                  const ListOptions& options, ApiError* error) {
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(apiVersion, kind, error));
  return impl_->list(r, ns, options, error);
}

StatusOr<ObjectList> Client::listAll(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                                     ListOptions options, ApiError* error) {
  ObjectList all;
  auto rv = listEach(
      apiVersion, kind, ns, std::move(options),
      [&](ObjectList& page, bool restart) {
        if (restart) all.items.clear();
        all.apiVersion = page.apiVersion;
        all.kind = page.kind;
        for (auto& it : page.items) all.items.push_back(std::move(it));
      },
      error);
  if (!rv.ok()) return rv.status();
  all.resourceVersion = std::move(rv).value();
  return all;
}

StatusOr<std::string> Client::listEach(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                                       ListOptions options, const PageFunc& onPage, ApiError* error) {
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(apiVersion, kind, error));
  if (options.limit <= 0) options.limit = 500;
  bool fellBack = false, restart = true;
  while (true) {
    ApiError e;
    auto page = impl_->list(r, ns, options, &e);
    if (!page.ok()) {
      // client-go's pager: a continuation whose snapshot was compacted away (410) falls back to
      // one full list, which is consistent by construction.
      if (page.status().code() == StatusCode::kOutOfRange && !options.continueToken.empty() && !fellBack) {
        fellBack = true;
        restart = true;
        options.continueToken.clear();
        options.limit = 0;
        continue;
      }
      if (error) *error = e;
      return page.status();
    }
    std::string next = page->continueToken;
    std::string rv = page->resourceVersion;
    onPage(*page, restart);
    restart = false;
    if (next.empty()) return rv;
    options.continueToken = std::move(next);
  }
}

StatusOr<Object> Client::create(const Object& object, const CreateOptions& options, ApiError* error) {
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(object.apiVersion(), object.kind(), error));
  Impl::Call c{"POST", withQuery(Impl::collectionPath(r, impl_->namespaceFor(r, object.namespace_())),
                                 Impl::writeQuery(options.dryRun, options.fieldManager)),
               object.toJson(), "application/json", Impl::Replay::kOnlyIfUnprocessed};
  return impl_->executeObject(c, &r, error);
}

namespace {
Status needName(const Object& o, std::string_view verb, ApiError* error) {
  if (!o.name().empty()) return Status::ok();
  Status st = invalidArgument(std::string(verb) + " " + std::string(o.kind()) + ": metadata.name is required");
  if (error) {
    *error = ApiError{};
    error->message = st.message();
  }
  return st;
}
}  // namespace

StatusOr<Object> Client::update(const Object& object, const UpdateOptions& options, ApiError* error) {
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(object.apiVersion(), object.kind(), error));
  KUBEOP_RETURN_IF_ERROR(needName(object, "update", error));
  Impl::Call c{"PUT", withQuery(Impl::objectPath(r, impl_->namespaceFor(r, object.namespace_()), object.name()),
                                Impl::writeQuery(options.dryRun, options.fieldManager)),
               object.toJson(), "application/json",
               object.resourceVersion().empty() ? Impl::Replay::kOnlyIfUnprocessed : Impl::Replay::kSafe};
  return impl_->executeObject(c, &r, error);
}

StatusOr<Object> Client::updateStatus(const Object& object, const UpdateOptions& options, ApiError* error) {
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(object.apiVersion(), object.kind(), error));
  KUBEOP_RETURN_IF_ERROR(needName(object, "updateStatus", error));
  Impl::Call c{"PUT",
               withQuery(Impl::objectPath(r, impl_->namespaceFor(r, object.namespace_()), object.name(), "status"),
                         Impl::writeQuery(options.dryRun, options.fieldManager)),
               object.toJson(), "application/json",
               object.resourceVersion().empty() ? Impl::Replay::kOnlyIfUnprocessed : Impl::Replay::kSafe};
  return impl_->executeObject(c, &r, error);
}

StatusOr<Object> Client::patch(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                               std::string_view name, PatchType type, std::string_view patch,
                               const PatchOptions& options, ApiError* error) {
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(apiVersion, kind, error));
  if (name.empty()) return Impl::fail(error, invalidArgument("patch " + r.resource + ": a name is required"));
  Impl::Call c{"PATCH",
               withQuery(Impl::objectPath(r, impl_->namespaceFor(r, ns), name, options.subresource),
                         Impl::writeQuery(options.dryRun, options.fieldManager)),
               std::string(patch), std::string(contentTypeFor(type)), Impl::Replay::kOnlyIfUnprocessed};
  return impl_->executeObject(c, &r, error);
}

StatusOr<Object> Client::apply(const Object& object, const ApplyOptions& options, ApiError* error) {
  if (options.fieldManager.empty()) {
    return Impl::fail(error, invalidArgument("server-side apply needs a field manager (ApplyOptions::fieldManager)"));
  }
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(object.apiVersion(), object.kind(), error));
  KUBEOP_RETURN_IF_ERROR(needName(object, "apply", error));
  auto q = Impl::writeQuery(options.dryRun, options.fieldManager);
  if (options.force) q.emplace_back("force", "true");
  Impl::Call c{"PATCH",
               withQuery(Impl::objectPath(r, impl_->namespaceFor(r, object.namespace_()), object.name(),
                                          options.subresource),
                         q),
               object.toJson(), std::string(contentTypeFor(PatchType::kApply)), Impl::Replay::kOnlyIfUnprocessed};
  return impl_->executeObject(c, &r, error);
}

StatusOr<DeleteResult> Client::remove(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                                      std::string_view name, const DeleteOptions& options, ApiError* error) {
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(apiVersion, kind, error));
  if (name.empty()) return Impl::fail(error, invalidArgument("delete " + r.resource + ": a name is required"));
  json::Document body;
  body.SetObject();
  auto& a = body.GetAllocator();
  json::setString(body, "kind", "DeleteOptions", a);
  json::setString(body, "apiVersion", "v1", a);
  switch (options.propagationPolicy) {
    case PropagationPolicy::kDefault: break;
    case PropagationPolicy::kOrphan: json::setString(body, "propagationPolicy", "Orphan", a); break;
    case PropagationPolicy::kBackground: json::setString(body, "propagationPolicy", "Background", a); break;
    case PropagationPolicy::kForeground: json::setString(body, "propagationPolicy", "Foreground", a); break;
  }
  if (options.gracePeriodSeconds) {
    json::Value g(static_cast<int64_t>(*options.gracePeriodSeconds));
    json::setMember(body, "gracePeriodSeconds", g, a);
  }
  if (!options.preconditionUid.empty() || !options.preconditionResourceVersion.empty()) {
    json::Value pre(rapidjson::kObjectType);
    if (!options.preconditionUid.empty()) json::setString(pre, "uid", options.preconditionUid, a);
    if (!options.preconditionResourceVersion.empty()) {
      json::setString(pre, "resourceVersion", options.preconditionResourceVersion, a);
    }
    json::setMember(body, "preconditions", pre, a);
  }
  if (options.dryRun) {
    json::Value dr(rapidjson::kArrayType);
    dr.PushBack(json::str("All", a), a);
    json::setMember(body, "dryRun", dr, a);
  }
  Impl::Call c{"DELETE",
               withQuery(Impl::objectPath(r, impl_->namespaceFor(r, ns), name), Impl::writeQuery(options.dryRun, "")),
               json::write(body), "application/json", Impl::Replay::kOnlyIfUnprocessed};
  auto resp = impl_->execute(c, error);
  if (!resp.ok()) return resp.status();
  DeleteResult out;
  auto o = Object::fromJson(resp->body);
  if (o.ok() && o->kind() != "Status") {
    fillTypeMeta(*o, r);
    const json::Value* meta = o->metadata();
    bool terminating = meta && json::find(*meta, "deletionTimestamp") != nullptr;
    out.deleted = resp->status != 202 && !terminating;
    out.object = std::move(o).value();
  } else {
    out.deleted = resp->status != 202;
  }
  return out;
}

Status Client::watch(std::string_view apiVersion, std::string_view kind, std::string_view ns,
                     const WatchOptions& options, const WatchCallback& onEvent, const http::CancelToken* cancel,
                     ApiError* error) {
  KUBEOP_ASSIGN_OR_RETURN(ResourceInfo r, impl_->resourceFor(apiVersion, kind, error));
  if (!onEvent) return Impl::fail(error, invalidArgument("watch " + r.resource + ": no event callback"));
  return impl_->watchStream(r, ns, options, onEvent, cancel, error);
}

StatusOr<std::string> Client::requestRaw(std::string_view method, std::string_view pathAndQuery, std::string_view body,
                                         std::string_view contentType, ApiError* error) {
  if (pathAndQuery.empty() || pathAndQuery.front() != '/') {
    return Impl::fail(error, invalidArgument("requestRaw: the path must start with '/'"));
  }
  Impl::Call c{std::string(method), std::string(pathAndQuery), std::string(body), std::string(contentType),
               method == "GET" || method == "HEAD" ? Impl::Replay::kSafe : Impl::Replay::kOnlyIfUnprocessed};
  auto resp = impl_->execute(c, error);
  if (!resp.ok()) return resp.status();
  return std::move(resp->body);
}

Client::Stats Client::stats() const {
  Stats s;
  s.requests = impl_->requests.load();
  s.retries = impl_->retries.load();
  s.discoveryFetches = impl_->discoveryFetches.load();
  s.rateLimitWaits = impl_->rateLimitWaits.load();
  return s;
}

}  // namespace kubeop::kube
