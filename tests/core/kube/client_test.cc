// Tests for kubeop's Kubernetes client (core/src/kube/client.cc).
//
// Two kinds of fixtures:
//  - FakeApi: kubeop's own http::Server on loopback answering canned responses, for protocol edge
//    cases a healthy server does not produce on demand (429 with Retry-After, 5xx by verb,
//    dropped connections, 401 and credential refresh, slow answers, malformed watch streams).
//  - SandboxClientTest: `kubeop sandbox` over HTTPS with a bearer token, used exactly like a
//    cluster, for every operation.
// Each test names the client-go / apiserver rule it pins.
#include "kubeop/kube/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/sandbox_fixture.h"
#include "kubeop/http/server.h"
#include "kubeop/log/log.h"

namespace kubeop::kube {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::configMap;
using testing::dataOf;
using testing::eventually;
using testing::makeNamespace;
using testing::parseObject;
using testing::Sandbox;

constexpr const char* kToken = "s3cr3t-token-do-not-log";

std::string statusBody(int code, std::string_view reason, std::string_view message, std::string_view details = "") {
  std::string s = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":")" +
                  std::string(message) + R"(","reason":")" + std::string(reason) + R"(","code":)" + std::to_string(code);
  if (!details.empty()) s += R"(,"details":)" + std::string(details);
  return s + "}";
}

http::Response statusResponse(int code, std::string_view reason, std::string_view message,
                              std::string_view retryAfter = "") {
  http::Response r = http::Response::json(code, statusBody(code, reason, message));
  if (!retryAfter.empty()) r.setHeader("Retry-After", std::string(retryAfter));
  return r;
}

const char* kConfigMapJson =
    R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"ns","resourceVersion":"7"},"data":{"a":"1"}})";

// Records the client's waits instead of sleeping (ClientConfig::sleep).
struct SleepLog {
  std::mutex mu;
  std::vector<std::chrono::milliseconds> waits;
  std::function<void(std::chrono::milliseconds)> fn() {
    return [this](std::chrono::milliseconds d) {
      std::lock_guard lk(mu);
      waits.push_back(d);
    };
  }
  std::vector<std::chrono::milliseconds> get() {
    std::lock_guard lk(mu);
    return waits;
  }
  size_t size() { return get().size(); }
};

// ---------------------------------------------------------------------------------------------
// FakeApi

struct Recorded {
  std::string method;
  std::string target;
  std::string authorization;
  std::string contentType;
  std::string body;
};

class FakeApi {
 public:
  using Handler = std::function<http::Response(const http::Request&, int n)>;

  FakeApi() {
    http::Router r;
    r.add("GET", "/api/v1", [this](const http::Request&) {
      ++discoveryHits;
      std::lock_guard lk(mu_);
      return http::Response::json(200, discovery_);
    });
    auto route = [this](const http::Request& req) {
      Handler h;
      int n;
      {
        std::lock_guard lk(mu_);
        recorded_.push_back(Recorded{req.method, req.target, std::string(req.header("Authorization")),
                                     std::string(req.header("Content-Type")), req.body});
        n = count_++;
        h = handler_;
      }
      return h ? h(req, n) : http::Response::json(200, kConfigMapJson);
    };
    for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
      r.add(m, "/api/v1/configmaps", route);
      r.add(m, "/api/v1/namespaces/{ns}/configmaps", route);
      r.add(m, "/api/v1/namespaces/{ns}/configmaps/{name}", route);
      r.add(m, "/api/v1/namespaces/{ns}/configmaps/{name}/{sub}", route);
      r.add(m, "/raw", route);
    }
    http::ServerOptions so;
    so.workerThreads = 4;
    auto s = http::Server::start(so, std::move(r));
    if (!s.ok()) throw std::runtime_error(s.status().toString());
    server_ = std::move(s).value();
  }

  void setHandler(Handler h) {
    std::lock_guard lk(mu_);
    handler_ = std::move(h);
  }
  void setDiscovery(std::string body) {
    std::lock_guard lk(mu_);
    discovery_ = std::move(body);
  }
  void reset() {
    std::lock_guard lk(mu_);
    recorded_.clear();
    count_ = 0;
  }
  std::vector<Recorded> recorded() {
    std::lock_guard lk(mu_);
    return recorded_;
  }
  int count() {
    std::lock_guard lk(mu_);
    return count_;
  }

  RestConfig rest() const {
    RestConfig rc;
    rc.server = "http://127.0.0.1:" + std::to_string(server_->port());
    rc.bearerToken = [] { return StatusOr<std::string>(std::string(kToken)); };
    rc.defaultNamespace = "ns";
    return rc;
  }

  std::unique_ptr<Client> client(ClientConfig cc) const {
    auto c = Client::create(rest(), std::move(cc));
    if (!c.ok()) throw std::runtime_error(c.status().toString());
    return std::move(c).value();
  }

  void stop() { server_->stop(0ms); }

  std::atomic<int> discoveryHits{0};

 private:
  std::mutex mu_;
  Handler handler_;
  std::vector<Recorded> recorded_;
  int count_ = 0;
  std::string discovery_ =
      R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[)"
      R"({"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap",)"
      R"("verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["cm"]},)"
      R"({"name":"configmaps/status","singularName":"","namespaced":true,"kind":"ConfigMap","verbs":["get","patch","update"]},)"
      R"({"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["get","list"]}]})";
  std::unique_ptr<http::Server> server_;
};

ClientConfig fastConfig(SleepLog& sleeps, int maxRetries = 3) {
  ClientConfig cc;
  cc.maxRetries = maxRetries;
  cc.sleep = sleeps.fn();
  cc.qps = 0;  // unlimited: these tests count retries, not rate-limiter waits
  cc.timeout = 10s;
  return cc;
}

// ---------------------------------------------------------------------------------------------
// Error decoding (apimachinery pkg/api/errors: reasons, codes and details)

TEST(ApiErrorTest, StatusReasonsMapToCodesThatCarryTheRetryMeaning) {
  struct Case {
    int http;
    const char* reason;
    const char* details;
    StatusCode want;
    const char* rule;
  };
  const Case cases[] = {
      {404, "NotFound", "", StatusCode::kNotFound, "errors.IsNotFound"},
      {409, "AlreadyExists", "", StatusCode::kAlreadyExists, "errors.IsAlreadyExists: 409 but not a conflict"},
      {409, "Conflict", "", StatusCode::kAborted, "errors.IsConflict: re-read, then retry"},
      {422, "Invalid", "", StatusCode::kInvalidArgument, "errors.IsInvalid: terminal until the spec changes"},
      {400, "BadRequest", "", StatusCode::kInvalidArgument, "errors.IsBadRequest"},
      {403, "Forbidden", "", StatusCode::kPermissionDenied, "errors.IsForbidden"},
      {403, "Forbidden", R"({"causes":[{"reason":"NamespaceTerminating","message":"ns is terminating"}]})",
       StatusCode::kFailedPrecondition, "NamespaceLifecycle admission: state, not permission"},
      {401, "Unauthorized", "", StatusCode::kUnauthenticated, "errors.IsUnauthorized"},
      {429, "TooManyRequests", "", StatusCode::kResourceExhausted, "errors.IsTooManyRequests"},
      {504, "Timeout", "", StatusCode::kDeadlineExceeded, "errors.IsTimeout"},
      {500, "ServerTimeout", "", StatusCode::kDeadlineExceeded, "errors.IsServerTimeout (a 500 that is a timeout)"},
      {410, "Gone", "", StatusCode::kOutOfRange, "errors.IsGone: relist"},
      {410, "Expired", "", StatusCode::kOutOfRange, "errors.IsResourceExpired: relist"},
      {413, "RequestEntityTooLarge", "", StatusCode::kPayloadTooLarge, "errors.IsRequestEntityTooLargeError"},
      {405, "MethodNotAllowed", "", StatusCode::kUnimplemented, "errors.IsMethodNotSupported"},
      {415, "UnsupportedMediaType", "", StatusCode::kUnimplemented, "strategic merge patch on a custom resource"},
      {500, "InternalError", "", StatusCode::kUnavailable, "errors.IsInternalError: 5xx are transient"},
      {503, "ServiceUnavailable", "", StatusCode::kUnavailable, "errors.IsServiceUnavailable"},
      {502, "", "", StatusCode::kUnavailable, "any other 5xx"},
      {418, "", "", StatusCode::kUnknown, "an unknown 4xx is not guessed at"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.rule) + " (HTTP " + std::to_string(c.http) + " " + c.reason + ")");
    ApiError e = decodeApiError(c.http, statusBody(c.http, c.reason, "boom", c.details));
    EXPECT_EQ(e.httpStatus, c.http);
    EXPECT_EQ(statusCodeFor(e), c.want);
    Status st = toStatus(e);
    EXPECT_EQ(st.code(), c.want);
    EXPECT_EQ(st.message(), "boom");
  }
}

TEST(ApiErrorTest, InvalidMessageNamesEveryCauseField) {
  // The apiserver's Invalid message usually names each field; when it does not, the causes are
  // appended so that the Status alone says what to fix.
  std::string details =
      R"({"name":"x","kind":"Widget","causes":[)"
      R"({"reason":"FieldValueRequired","message":"Required value","field":"spec.size"},)"
      R"({"reason":"FieldValueInvalid","message":"Invalid value: -1","field":"spec.replicas"}]})";
  ApiError e = decodeApiError(422, statusBody(422, "Invalid", "Widget \\\"x\\\" is invalid: spec.size: Required value",
                                              details));
  ASSERT_EQ(e.causes.size(), 2u);
  EXPECT_EQ(e.causes[0].field, "spec.size");
  EXPECT_EQ(e.causes[1].reason, "FieldValueInvalid");
  EXPECT_EQ(e.kind, "Widget");
  EXPECT_EQ(e.name, "x");
  Status st = toStatus(e);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("spec.size: Required value"));
  EXPECT_THAT(st.message(), HasSubstr("(spec.replicas: Invalid value: -1)"));
  // spec.size was already in the message: not repeated.
  EXPECT_EQ(st.message().find("spec.size"), st.message().rfind("spec.size"));
}

TEST(ApiErrorTest, BodiesThatAreNotStatusesFallBackOnTheHttpStatus) {
  // client-go's newUnstructuredResponseError: a proxy's page still yields a reason and a code.
  struct Case {
    int http;
    const char* body;
    const char* wantReason;
    StatusCode want;
  };
  const Case cases[] = {
      {502, "<html><body>Bad Gateway</body></html>", "", StatusCode::kUnavailable},
      {503, "", "ServiceUnavailable", StatusCode::kUnavailable},
      {404, "404 page not found\n", "NotFound", StatusCode::kNotFound},
      {401, R"({"error":"nope"})", "Unauthorized", StatusCode::kUnauthenticated},
      {429, "{", "TooManyRequests", StatusCode::kResourceExhausted},
      {409, R"({"kind":"Status"})", "Conflict", StatusCode::kAborted},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    ApiError e = decodeApiError(c.http, c.body);
    EXPECT_EQ(e.reason, c.wantReason);
    EXPECT_EQ(statusCodeFor(e), c.want);
    EXPECT_THAT(e.message, HasSubstr("HTTP " + std::to_string(c.http)));
  }
}

TEST(ApiErrorTest, RetryAfterComesFromTheHeaderOrTheDetails) {
  EXPECT_EQ(decodeApiError(429, statusBody(429, "TooManyRequests", "slow down"), "7").retryAfterSeconds, 7);
  EXPECT_EQ(decodeApiError(504, statusBody(504, "Timeout", "t", R"({"retryAfterSeconds":3})")).retryAfterSeconds, 3);
  // An HTTP-date is not honoured (neither does client-go); garbage is ignored.
  EXPECT_EQ(decodeApiError(429, "", "Wed, 21 Oct 2015 07:28:00 GMT").retryAfterSeconds, 0);
  EXPECT_EQ(decodeApiError(429, "", "-5").retryAfterSeconds, 0);
  EXPECT_EQ(decodeApiError(429, "", "99999999999999").retryAfterSeconds, 0);
}

TEST(ApiErrorTest, ExpiredContinueCarriesTheFreshToken) {
  // A 410 on a list continuation carries metadata.continue to resume at the latest version.
  ApiError e = decodeApiError(
      410, R"({"kind":"Status","apiVersion":"v1","metadata":{"continue":"fresh"},"status":"Failure","reason":"Expired","code":410})");
  EXPECT_EQ(e.continueToken, "fresh");
  EXPECT_EQ(statusCodeFor(e), StatusCode::kOutOfRange);
}

TEST(ApiErrorTest, GarbageNeverCrashesTheDecoder) {
  std::mt19937 rng(42);
  const std::vector<std::string> seeds = {
      statusBody(422, "Invalid", "m", R"({"causes":[{"field":"a"}]})"),
      R"({"kind":"Status","code":"x","details":{"causes":"no","retryAfterSeconds":-1}})",
      R"({"kind":"Status","details":{"causes":[1,null,{"field":7}]},"metadata":[]})",
  };
  for (int i = 0; i < 2000; ++i) {
    std::string s = seeds[static_cast<size_t>(i) % seeds.size()];
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips && !s.empty(); ++f) s[rng() % s.size()] = static_cast<char>(rng() % 256);
    if (i % 7 == 0) s.resize(rng() % (s.size() + 1));
    ApiError e = decodeApiError(static_cast<int>(rng() % 600), s, s.substr(0, 5));
    Status st = toStatus(e);
    EXPECT_FALSE(st.isOk());
  }
}

// ---------------------------------------------------------------------------------------------
// Retries, rate limiting, timeouts (client-go rest.Request / with_retry.go)

TEST(ClientRetryTest, HonoursRetryAfterOn429) {
  // client-go checkWait: a 429 is retried after the server's Retry-After seconds.
  FakeApi api;
  SleepLog sleeps;
  api.setHandler([](const http::Request&, int n) {
    if (n < 2) return statusResponse(429, "TooManyRequests", "Too many requests", "3");
    return http::Response::json(200, kConfigMapJson);
  });
  auto client = api.client(fastConfig(sleeps));
  auto got = client->get("v1", "ConfigMap", "ns", "x");
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(dataOf(*got, "a"), "1");
  EXPECT_EQ(api.count(), 3);
  EXPECT_THAT(sleeps.get(), ElementsAre(3000ms, 3000ms));
  EXPECT_EQ(client->stats().retries, 2u);
}

TEST(ClientRetryTest, A429WhoseRetryAfterPassesTheDeadlineIsReturnedAtOnce) {
  // Bounded by the call timeout: never sleep past it, give the 429 back instead.
  FakeApi api;
  SleepLog sleeps;
  api.setHandler([](const http::Request&, int) { return statusResponse(429, "TooManyRequests", "later", "60"); });
  ClientConfig cc = fastConfig(sleeps, 10);
  cc.timeout = 2s;
  auto client = api.client(cc);
  ApiError err;
  auto got = client->get("v1", "ConfigMap", "ns", "x", {}, &err);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(err.httpStatus, 429);
  EXPECT_EQ(err.retryAfterSeconds, 60);
  EXPECT_EQ(api.count(), 1);
  EXPECT_TRUE(sleeps.get().empty());
}

TEST(ClientRetryTest, StopsAfterMaxRetriesWithGrowingJitteredBackoff) {
  FakeApi api;
  SleepLog sleeps;
  api.setHandler([](const http::Request&, int) { return statusResponse(503, "ServiceUnavailable", "down"); });
  ClientConfig cc = fastConfig(sleeps, 4);
  cc.backoffBase = 100ms;
  cc.backoffMax = 500ms;
  auto client = api.client(cc);
  auto got = client->get("v1", "ConfigMap", "ns", "x");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(api.count(), 5);  // the first attempt + maxRetries
  auto w = sleeps.get();
  ASSERT_EQ(w.size(), 4u);
  // base·2^(n-1) capped at max, minus up to half of it as jitter.
  const std::chrono::milliseconds nominal[] = {100ms, 200ms, 400ms, 500ms};
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_GE(w[i], nominal[i] / 2) << i;
    EXPECT_LE(w[i], nominal[i]) << i;
  }
}

TEST(ClientRetryTest, ServerErrorsAreRetriedOnlyWhereAReplayIsHarmless) {
  // A GET (and a PUT pinned to a resourceVersion) may be replayed after a 5xx; POST, PATCH,
  // DELETE and unconditional PUT may already have been processed and are not. A 429 means the
  // server did not process the request: every verb retries it.
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps, 2));
  ASSERT_TRUE(client->resourceFor("v1", "ConfigMap").ok());
  Object withRv = parseObject(kConfigMapJson);
  Object noRv = configMap("ns", "x", {{"a", "1"}});
  using Op = std::function<Status()>;
  struct Case {
    const char* name;
    int http;
    Op op;
    int wantRequests;
  };
  const Case cases[] = {
      {"GET 500", 500, [&] { return client->get("v1", "ConfigMap", "ns", "x").status(); }, 3},
      {"LIST 503", 503, [&] { return client->list("v1", "ConfigMap", "ns").status(); }, 3},
      {"GET 504", 504, [&] { return client->get("v1", "ConfigMap", "ns", "x").status(); }, 3},
      {"GET 501 is not transient", 501, [&] { return client->get("v1", "ConfigMap", "ns", "x").status(); }, 1},
      {"GET 404", 404, [&] { return client->get("v1", "ConfigMap", "ns", "x").status(); }, 1},
      {"GET 409", 409, [&] { return client->get("v1", "ConfigMap", "ns", "x").status(); }, 1},
      {"POST 500", 500, [&] { return client->create(noRv).status(); }, 1},
      {"POST 503", 503, [&] { return client->create(noRv).status(); }, 1},
      {"POST 429", 429, [&] { return client->create(noRv).status(); }, 3},
      {"PUT with resourceVersion 500", 500, [&] { return client->update(withRv).status(); }, 3},
      {"PUT without resourceVersion 500", 500, [&] { return client->update(noRv).status(); }, 1},
      {"PUT status with resourceVersion 503", 503, [&] { return client->updateStatus(withRv).status(); }, 3},
      {"PATCH 500", 500,
       [&] { return client->patch("v1", "ConfigMap", "ns", "x", PatchType::kMerge, "{}").status(); }, 1},
      {"PATCH 429", 429,
       [&] { return client->patch("v1", "ConfigMap", "ns", "x", PatchType::kMerge, "{}").status(); }, 3},
      {"apply 500", 500, [&] { return client->apply(noRv, ApplyOptions{"m", false, false, ""}).status(); }, 1},
      {"DELETE 500", 500, [&] { return client->remove("v1", "ConfigMap", "ns", "x").status(); }, 1},
      {"DELETE 429", 429, [&] { return client->remove("v1", "ConfigMap", "ns", "x").status(); }, 3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    api.reset();
    int code = c.http;
    api.setHandler([code](const http::Request&, int) { return statusResponse(code, "", "failure"); });
    Status st = c.op();
    EXPECT_FALSE(st.isOk());
    EXPECT_EQ(st.code(), statusCodeFor(decodeApiError(code, "")));
    EXPECT_EQ(api.count(), c.wantRequests);
  }
}

TEST(ClientRetryTest, ConnectionFailuresAreRetriedOnlyForReads) {
  // client-go retries connection errors for GET only (IsRetryableErrorFunc).
  RestConfig rc;
  {
    FakeApi gone;
    rc = gone.rest();
  }  // the port is closed now: connection refused
  SleepLog sleeps;
  auto c = Client::create(rc, fastConfig(sleeps, 2));
  ASSERT_TRUE(c.ok());
  auto get = (*c)->requestRaw("GET", "/raw");
  EXPECT_EQ(get.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(sleeps.size(), 2u);
  auto post = (*c)->requestRaw("POST", "/raw", "{}");
  EXPECT_EQ(post.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(sleeps.size(), 2u);  // no more waits: the POST was not retried
  EXPECT_THAT(post.status().message(), Not(HasSubstr(kToken)));
}

TEST(ClientRetryTest, A401RefreshesTheCredentialOnceAndRetries) {
  // client-go drops a cached exec/file credential after a 401 and tries once more.
  FakeApi api;
  std::mutex mu;
  std::string token = "stale";
  int invalidations = 0;
  RestConfig rc = api.rest();
  rc.bearerToken = [&]() -> StatusOr<std::string> {
    std::lock_guard lk(mu);
    return token;
  };
  rc.invalidateCredentials = [&] {
    std::lock_guard lk(mu);
    ++invalidations;
    token = "fresh";
  };
  api.setHandler([](const http::Request& req, int) {
    if (req.header("Authorization") != "Bearer fresh") return statusResponse(401, "Unauthorized", "Unauthorized");
    return http::Response::json(200, kConfigMapJson);
  });
  SleepLog sleeps;
  auto c = Client::create(rc, fastConfig(sleeps));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->get("v1", "ConfigMap", "ns", "x").ok());
  EXPECT_EQ(invalidations, 1);
  EXPECT_TRUE(sleeps.get().empty());

  // A credential the server keeps refusing: one refresh, then Unauthenticated.
  api.reset();
  api.setHandler([](const http::Request&, int) { return statusResponse(401, "Unauthorized", "Unauthorized"); });
  auto again = Client::create(rc, fastConfig(sleeps));
  ASSERT_TRUE(again.ok());
  auto st = (*again)->requestRaw("GET", "/raw");
  EXPECT_EQ(st.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(api.count(), 2);
}

TEST(ClientRetryTest, TheCallTimeoutBoundsASlowServer) {
  FakeApi api;
  api.setHandler([](const http::Request&, int) {
    std::this_thread::sleep_for(1500ms);
    return http::Response::json(200, kConfigMapJson);
  });
  SleepLog sleeps;
  ClientConfig cc = fastConfig(sleeps, 5);
  cc.timeout = 300ms;
  auto client = api.client(cc);
  ASSERT_TRUE(client->resourceFor("v1", "ConfigMap").ok());
  auto start = std::chrono::steady_clock::now();
  auto got = client->get("v1", "ConfigMap", "ns", "x");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(took, 1200ms);
  EXPECT_EQ(api.count(), 1);
}

TEST(ClientRetryTest, TheRateLimiterSpacesCallsAtQpsAfterTheBurst) {
  // client-go's token bucket (flowcontrol.NewTokenBucketRateLimiter(qps, burst)).
  FakeApi api;
  SleepLog sleeps;
  ClientConfig cc = fastConfig(sleeps);
  // A slow rate, so that the real time the requests take (which refills the bucket a little)
  // stays small against the waits.
  cc.qps = 0.5;
  cc.burst = 2;
  auto client = api.client(cc);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->requestRaw("GET", "/raw").ok());
  auto w = sleeps.get();
  ASSERT_EQ(w.size(), 3u);  // the burst of 2 passes, then one token per 2 s
  const std::chrono::milliseconds want[] = {2000ms, 4000ms, 6000ms};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_LE(w[i], want[i]) << i;
    EXPECT_GE(w[i], want[i] - 250ms) << i;
  }
  EXPECT_EQ(client->stats().rateLimitWaits, 3u);
}

TEST(ClientRetryTest, TheTokenIsSentButNeverLoggedOrQuoted) {
  FakeApi api;
  std::mutex mu;
  std::string logs;
  log::setSink([&](std::string_view line) {
    std::lock_guard lk(mu);
    logs.append(line);
  });
  log::Level before = log::level();
  log::setLevel(log::Level::kDebug);
  api.setHandler([](const http::Request&, int) { return statusResponse(503, "ServiceUnavailable", "down"); });
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps, 2));
  ApiError err;
  auto got = client->get("v1", "ConfigMap", "ns", "x", {}, &err);
  log::setLevel(before);
  log::setSink(nullptr);
  ASSERT_FALSE(got.ok());
  for (const auto& r : api.recorded()) EXPECT_EQ(r.authorization, std::string("Bearer ") + kToken);
  std::lock_guard lk(mu);
  EXPECT_THAT(logs, HasSubstr("retried"));
  EXPECT_THAT(logs, Not(HasSubstr(kToken)));
  EXPECT_THAT(got.status().message(), Not(HasSubstr(kToken)));
  EXPECT_THAT(err.message, Not(HasSubstr(kToken)));
}

// ---------------------------------------------------------------------------------------------
// Requests on the wire

TEST(ClientRequestTest, PathsQueriesAndBodiesFollowTheRestConventions) {
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps));
  api.setHandler([](const http::Request& req, int) {
    if (req.method == "GET" && req.target.find("/configmaps?") != std::string::npos) {
      return http::Response::json(200, R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[]})");
    }
    return http::Response::json(200, kConfigMapJson);
  });
  ListOptions lo;
  lo.labelSelector = "app=web,tier!=db";
  lo.fieldSelector = "metadata.name=x";
  lo.limit = 2;
  lo.continueToken = "abc";
  ASSERT_TRUE(client->list("v1", "ConfigMap", "ns", lo).ok());
  ListOptions everywhere;
  everywhere.labelSelector = "a in (b, c)";
  ASSERT_TRUE(client->list("v1", "ConfigMap", "", everywhere).ok());
  ASSERT_TRUE(client->get("v1", "ConfigMap", "", "a b/c").ok());  // default namespace, encoded name
  CreateOptions co;
  co.dryRun = true;
  co.fieldManager = "kubeop-test";
  ASSERT_TRUE(client->create(configMap("", "x"), co).ok());
  PatchOptions po;
  po.subresource = "status";
  ASSERT_TRUE(client->patch("v1", "ConfigMap", "ns", "x", PatchType::kJson, "[]", po).ok());
  ASSERT_TRUE(client->apply(configMap("ns", "x"), ApplyOptions{"mgr", true, false, ""}).ok());
  DeleteOptions dopt;
  dopt.propagationPolicy = PropagationPolicy::kForeground;
  dopt.gracePeriodSeconds = 0;
  dopt.preconditionUid = "u-1";
  dopt.preconditionResourceVersion = "7";
  dopt.dryRun = true;
  ASSERT_TRUE(client->remove("v1", "ConfigMap", "ns", "x", dopt).ok());

  auto r = api.recorded();
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].target,
            "/api/v1/namespaces/ns/configmaps?labelSelector=app%3Dweb%2Ctier%21%3Ddb&fieldSelector=metadata.name%3Dx"
            "&limit=2&continue=abc");
  EXPECT_EQ(r[1].target, "/api/v1/configmaps?labelSelector=a%20in%20%28b%2C%20c%29");
  EXPECT_EQ(r[2].target, "/api/v1/namespaces/ns/configmaps/a%20b%2Fc");
  EXPECT_EQ(r[3].method, "POST");
  EXPECT_EQ(r[3].target, "/api/v1/namespaces/ns/configmaps?dryRun=All&fieldManager=kubeop-test");
  EXPECT_EQ(r[3].contentType, "application/json");
  EXPECT_EQ(r[4].method, "PATCH");
  EXPECT_EQ(r[4].target, "/api/v1/namespaces/ns/configmaps/x/status");
  EXPECT_EQ(r[4].contentType, "application/json-patch+json");
  EXPECT_EQ(r[5].target, "/api/v1/namespaces/ns/configmaps/x?fieldManager=mgr&force=true");
  EXPECT_EQ(r[5].contentType, "application/apply-patch+yaml");
  EXPECT_EQ(r[6].method, "DELETE");
  EXPECT_EQ(r[6].target, "/api/v1/namespaces/ns/configmaps/x?dryRun=All");
  auto body = parseObject(r[6].body);
  EXPECT_EQ(body.kind(), "DeleteOptions");
  EXPECT_EQ(json::getString(body.root(), "propagationPolicy"), "Foreground");
  EXPECT_EQ(json::findPath(body.root(), {"gracePeriodSeconds"})->GetInt(), 0);
  EXPECT_EQ(json::getString(*json::find(body.root(), "preconditions"), "uid"), "u-1");
  EXPECT_EQ(json::getString(*json::find(body.root(), "preconditions"), "resourceVersion"), "7");
  EXPECT_TRUE(json::find(body.root(), "dryRun")->IsArray());
}

// A ConfigMapList page answer: its resourceVersion, continue token ("" = last page) and names.
http::Response configMapPage(const std::string& rv, const std::string& cont, std::initializer_list<const char*> names) {
  std::string items;
  for (const char* n : names) {
    items += std::string(items.empty() ? "" : ",") + R"({"metadata":{"name":")" + n + R"(","namespace":"ns"}})";
  }
  std::string meta = R"("resourceVersion":")" + rv + "\"" + (cont.empty() ? "" : R"(,"continue":")" + cont + "\"");
  return http::Response::json(200, R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{)" + meta + R"(},"items":[)" +
                                       items + "]}");
}

TEST(ClientRequestTest, ListAllFallsBackToAFullListWhenTheContinuationExpires) {
  // client-go pager.ListPager with FullListIfExpired.
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps));
  api.setHandler([&](const http::Request&, int n) {
    if (n == 0) return configMapPage("5", "t1", {"a", "b"});
    if (n == 1) return statusResponse(410, "Expired", "The provided continue parameter is too old");
    return configMapPage("9", "", {"a", "b", "c"});
  });
  ListOptions lo;
  lo.limit = 2;
  auto all = client->listAll("v1", "ConfigMap", "ns", lo);
  ASSERT_TRUE(all.ok()) << all.status().toString();
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->resourceVersion, "9");
  // Items of built-in kinds arrive without apiVersion/kind; the client fills them in.
  EXPECT_EQ(all->items[2].kind(), "ConfigMap");
  EXPECT_EQ(all->items[2].apiVersion(), "v1");
  auto r = api.recorded();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[0].target, HasSubstr("limit=2"));
  EXPECT_THAT(r[1].target, HasSubstr("continue=t1"));
  EXPECT_EQ(r[2].target, "/api/v1/namespaces/ns/configmaps");
}

TEST(ClientRequestTest, ListEachHandsOverPagesAsTheyArriveAndSaysWhenTheyAreVoid) {
  // What an informer builds its cache from without holding the whole list: pages as they come;
  // after the fallback to a full list, the pages before are void (restart).
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps));
  api.setHandler([&](const http::Request&, int n) {
    if (n == 0) return configMapPage("5", "t1", {"a", "b"});
    if (n == 1) return configMapPage("5", "t2", {"c", "d"});
    if (n == 2) return statusResponse(410, "Expired", "The provided continue parameter is too old");
    return configMapPage("9", "", {"a", "c", "e"});
  });
  ListOptions lo;
  lo.limit = 2;
  std::vector<std::string> seen;
  auto rv = client->listEach("v1", "ConfigMap", "ns", lo, [&](ObjectList& page, bool restart) {
    std::string line = restart ? "restart:" : "page:";
    for (const auto& o : page.items) line += " " + std::string(o.name());
    seen.push_back(line);
  });
  ASSERT_TRUE(rv.ok()) << rv.status().toString();
  EXPECT_EQ(*rv, "9");
  EXPECT_THAT(seen, ::testing::ElementsAre("restart: a b", "page: c d", "restart: a c e"));
}

TEST(ClientRequestTest, DiscoveryFoldsSubresourcesCachesAndRefetchesOnAMiss) {
  // client-go's deferred discovery RESTMapper: Reset() on a NoKindMatch, then look again.
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps));
  auto cm = client->resourceFor("v1", "ConfigMap");
  ASSERT_TRUE(cm.ok()) << cm.status().toString();
  EXPECT_EQ(cm->resource, "configmaps");
  EXPECT_TRUE(cm->namespaced);
  EXPECT_TRUE(cm->supports("watch"));
  EXPECT_TRUE(cm->hasSubresource("status"));
  EXPECT_THAT(cm->shortNames, ElementsAre("cm"));
  auto ns = client->resourceFor("v1", "Namespace");
  ASSERT_TRUE(ns.ok());
  EXPECT_FALSE(ns->namespaced);
  EXPECT_EQ(api.discoveryHits.load(), 1);  // cached

  auto widget = client->resourceFor("v1", "Widget");
  EXPECT_EQ(widget.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(widget.status().message(), HasSubstr("no matches for kind \"Widget\""));
  EXPECT_EQ(api.discoveryHits.load(), 2);  // a miss refetches

  api.setDiscovery(
      R"({"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"widgets","namespaced":true,"kind":"Widget","verbs":["get"]}]})");
  widget = client->resourceFor("v1", "Widget");
  ASSERT_TRUE(widget.ok());
  EXPECT_EQ(widget->resource, "widgets");
  EXPECT_EQ(api.discoveryHits.load(), 3);

  auto other = client->resourceFor("other.example.com/v1", "Thing");
  EXPECT_EQ(other.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(client->resourceFor("", "Thing").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client->resourceFor("a/b/c", "Thing").status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Watch streams

http::Response streamOf(std::vector<std::string> lines) {
  return http::Response::stream(200, "application/json",
                                http::makeStreamSource([lines](std::shared_ptr<http::StreamWriter> w) {
                                  for (const auto& l : lines) w->write(l);
                                  w->close();
                                }));
}

TEST(ClientWatchTest, DecodesEveryEventType) {
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps));
  api.setHandler([](const http::Request&, int) {
    return streamOf({
        R"({"type":"ADDED","object":{"metadata":{"name":"a","namespace":"ns","resourceVersion":"10"}}})" "\n",
        R"({"type":"MODIFIED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"ns","resourceVersion":"11"}}})" "\n"
        R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"12"}}})" "\r\n",
        R"({"type":"DELETED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"ns","resourceVersion":"13"}}})" "\n",
        R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}})j" "\n",
    });
  });
  std::vector<WatchEvent> events;
  WatchOptions wo;
  wo.resourceVersion = "9";
  wo.timeoutSeconds = 30;
  Status st = client->watch("v1", "ConfigMap", "ns", wo, [&](WatchEvent& ev) {
    events.push_back(ev);
    return Status::ok();
  });
  EXPECT_TRUE(st.isOk()) << st.toString();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].type, WatchEventType::kAdded);
  EXPECT_EQ(events[0].object.kind(), "ConfigMap");  // filled in
  EXPECT_EQ(events[1].type, WatchEventType::kModified);
  EXPECT_EQ(events[2].type, WatchEventType::kBookmark);
  EXPECT_EQ(events[2].object.resourceVersion(), "12");
  EXPECT_EQ(events[3].type, WatchEventType::kDeleted);
  EXPECT_EQ(events[4].type, WatchEventType::kError);
  EXPECT_EQ(events[4].error.httpStatus, 410);
  EXPECT_EQ(statusCodeFor(events[4].error), StatusCode::kOutOfRange);
  auto r = api.recorded();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].target,
            "/api/v1/namespaces/ns/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=9&timeoutSeconds=30");
}

TEST(ClientWatchTest, AMalformedEventEndsTheWatchWithAnError) {
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps));
  const std::vector<std::pair<std::string, const char*>> bad = {
      {"not json\n", "invalid JSON"},
      {"[1,2]\n", "not a JSON object"},
      {R"({"type":"RESIZED","object":{}})" "\n", "unknown type"},
      {R"({"type":"ADDED","object":"x"})" "\n", "no object"},
  };
  for (const auto& [line, want] : bad) {
    SCOPED_TRACE(line);
    api.setHandler([line = line](const http::Request&, int) {
      return streamOf({R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})" "\n", line,
                       R"({"type":"ADDED","object":{"metadata":{"name":"b"}}})" "\n"});
    });
    int n = 0;
    Status st = client->watch("v1", "ConfigMap", "ns", {}, [&](WatchEvent&) {
      ++n;
      return Status::ok();
    });
    EXPECT_EQ(st.code(), StatusCode::kInternal);
    EXPECT_THAT(st.message(), HasSubstr(want));
    EXPECT_EQ(n, 1);
  }
}

TEST(ClientWatchTest, EstablishmentIsRetriedLikeAGetAndTheCallbackCanStopIt) {
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps));
  api.setHandler([](const http::Request&, int n) {
    if (n == 0) return statusResponse(429, "TooManyRequests", "later", "1");
    if (n == 1) return statusResponse(500, "InternalError", "oops");
    return streamOf({R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})" "\n",
                     R"({"type":"ADDED","object":{"metadata":{"name":"b"}}})" "\n"});
  });
  int n = 0;
  Status st = client->watch("v1", "ConfigMap", "ns", {}, [&](WatchEvent&) {
    ++n;
    return aborted("enough");
  });
  EXPECT_EQ(st, aborted("enough"));
  EXPECT_EQ(n, 1);
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(sleeps.get()[0], 1000ms);
}

TEST(ClientWatchTest, ExpiredAtEstablishmentIsOutOfRangeWithoutRetry) {
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps));
  api.setHandler([](const http::Request&, int) { return statusResponse(410, "Expired", "too old resource version"); });
  ApiError err;
  Status st = client->watch("v1", "ConfigMap", "ns", {}, [](WatchEvent&) { return Status::ok(); }, nullptr, &err);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(err.reason, "Expired");
  EXPECT_EQ(api.count(), 1);
}

TEST(ClientWatchTest, CancellingEndsAnOpenStream) {
  FakeApi api;
  SleepLog sleeps;
  auto client = api.client(fastConfig(sleeps));
  std::mutex mu;
  std::vector<std::shared_ptr<http::StreamWriter>> writers;  // kept open until the test ends
  api.setHandler([&](const http::Request&, int) {
    return http::Response::stream(200, "application/json",
                                  http::makeStreamSource([&](std::shared_ptr<http::StreamWriter> w) {
                                    w->write(R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})" "\n");
                                    std::lock_guard lk(mu);
                                    writers.push_back(std::move(w));
                                  }));
  });
  http::CancelToken cancel;
  std::atomic<int> n{0};
  Status result;
  std::thread t([&] {
    result = client->watch("v1", "ConfigMap", "ns", {}, [&](WatchEvent&) {
      ++n;
      return Status::ok();
    }, &cancel);
  });
  ASSERT_TRUE(eventually([&] { return n.load() == 1; }));
  cancel.cancel();
  t.join();
  EXPECT_EQ(result.code(), StatusCode::kCancelled);
  std::lock_guard lk(mu);
  for (auto& w : writers) w->close();
}

// ---------------------------------------------------------------------------------------------
// Against `kubeop sandbox` over HTTPS

Object crd(std::string_view group, std::string_view kind, std::string_view plural) {
  std::string j = R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",)"
                  R"("metadata":{"name":")" + std::string(plural) + "." + std::string(group) + R"("},)"
                  R"("spec":{"group":")" + std::string(group) + R"(","scope":"Namespaced",)"
                  R"("names":{"plural":")" + std::string(plural) + R"(","singular":")" +
                  std::string(plural.substr(0, plural.size() - 1)) + R"(","kind":")" + std::string(kind) +
                  R"(","listKind":")" + std::string(kind) + R"(List"},)"
                  R"("versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},)"
                  R"("schema":{"openAPIV3Schema":{"type":"object","properties":{)"
                  R"("spec":{"type":"object","x-kubernetes-preserve-unknown-fields":true},)"
                  R"("status":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}}}]}})";
  return parseObject(j);
}

class SandboxClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sandbox_ = Sandbox::start().release();
    if (!sandbox_) return;
    auto c = sandbox_->client();
    auto r = c->create(crd("client-test.kubeop.io", "Widget", "widgets"));
    if (!r.ok()) ADD_FAILURE() << "creating the Widget CRD: " << r.status().toString();
    bool served = eventually([&] { return c->resourceFor("client-test.kubeop.io/v1", "Widget").ok(); });
    if (!served) ADD_FAILURE() << "the Widget CRD is not served";
  }
  static void TearDownTestSuite() {
    delete sandbox_;
    sandbox_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(sandbox_, nullptr) << "kubeop sandbox did not start";
    client_ = sandbox_->client();
    ASSERT_NE(client_, nullptr);
    ns_ = makeNamespace(*client_, "client");
  }

  Object widget(std::string_view name, int size) {
    Object o = parseObject(R"({"apiVersion":"client-test.kubeop.io/v1","kind":"Widget","spec":{"size":)" +
                           std::to_string(size) + "}}");
    o.setNamespace(ns_);
    o.setName(name);
    return o;
  }

  // Sets sandbox fault injection for the scope of a test.
  struct Faults {
    Client& c;
    Faults(Client& client, std::string body) : c(client) {
      auto r = c.requestRaw("PUT", "/sandbox/faults", body);
      if (!r.ok()) ADD_FAILURE() << r.status().toString();
    }
    ~Faults() { c.requestRaw("PUT", "/sandbox/faults", R"({"errorRate":0,"throttleRate":0,"latencyMs":0})").status().ignoreError(); }
  };

  static Sandbox* sandbox_;
  std::shared_ptr<Client> client_;
  std::string ns_;
};

Sandbox* SandboxClientTest::sandbox_ = nullptr;

TEST_F(SandboxClientTest, CreateGetUpdateDeleteRoundTrip) {
  auto created = client_->create(configMap(ns_, "cm", {{"a", "1"}}));
  ASSERT_TRUE(created.ok()) << created.status().toString();
  EXPECT_FALSE(created->uid().empty());
  EXPECT_FALSE(created->resourceVersion().empty());

  auto got = client_->get("v1", "ConfigMap", ns_, "cm");
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(dataOf(*got, "a"), "1");
  EXPECT_EQ(got->kind(), "ConfigMap");

  Object changed = *got;
  json::setString(*json::find(changed.root(), "data"), "a", "2", changed.allocator());
  auto updated = client_->update(changed);
  ASSERT_TRUE(updated.ok()) << updated.status().toString();
  EXPECT_EQ(dataOf(*updated, "a"), "2");
  EXPECT_NE(updated->resourceVersion(), got->resourceVersion());

  // Optimistic concurrency: a PUT carrying an old resourceVersion is a Conflict (re-read, retry).
  ApiError err;
  auto stale = client_->update(changed, {}, &err);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kAborted);
  EXPECT_EQ(err.reason, "Conflict");
  EXPECT_EQ(err.httpStatus, 409);

  auto removed = client_->remove("v1", "ConfigMap", ns_, "cm");
  ASSERT_TRUE(removed.ok()) << removed.status().toString();
  EXPECT_TRUE(removed->deleted);
  auto gone = client_->get("v1", "ConfigMap", ns_, "cm", {}, &err);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(err.reason, "NotFound");
  EXPECT_EQ(err.name, "cm");
  EXPECT_EQ(err.kind, "configmaps");
}

TEST_F(SandboxClientTest, TheServersErrorsDecodeIntoCodesReasonsAndCauses) {
  ASSERT_TRUE(client_->create(configMap(ns_, "dup")).ok());
  // A namespace kept terminating by an object with a finalizer.
  std::string doomed = makeNamespace(*client_, "doomed");
  Object held = configMap(doomed, "held");
  json::Value fin(rapidjson::kArrayType);
  fin.PushBack(json::str("example.com/hold", held.allocator()), held.allocator());
  json::setMember(held.mutableMetadata(), "finalizers", fin, held.allocator());
  ASSERT_TRUE(client_->create(held).ok());
  ASSERT_TRUE(client_->remove("v1", "Namespace", "", doomed).ok());

  struct Case {
    const char* rule;
    std::function<Status(ApiError*)> call;
    StatusCode code;
    const char* reason;
    int http;
  };
  SleepLog sleeps;
  ClientConfig quick;
  quick.sleep = sleeps.fn();
  quick.maxRetries = 1;
  auto quickClient = sandbox_->client(quick);
  RestConfig badAuth = sandbox_->rest();
  badAuth.bearerToken = [] { return StatusOr<std::string>(std::string("wrong")); };
  auto intruder = Client::create(badAuth);
  ASSERT_TRUE(intruder.ok());
  const Case cases[] = {
      {"create of an existing name: AlreadyExists",
       [&](ApiError* e) { return client_->create(configMap(ns_, "dup"), {}, e).status(); },
       StatusCode::kAlreadyExists, "AlreadyExists", 409},
      {"name validation: Invalid with the field in the causes",
       [&](ApiError* e) { return client_->create(configMap(ns_, "Bad_Name"), {}, e).status(); },
       StatusCode::kInvalidArgument, "Invalid", 422},
      {"a missing namespace: NotFound",
       [&](ApiError* e) { return client_->create(configMap("no-such-ns", "x"), {}, e).status(); },
       StatusCode::kNotFound, "NotFound", 404},
      {"NamespaceLifecycle: a terminating namespace refuses new objects",
       [&](ApiError* e) { return client_->create(configMap(doomed, "late"), {}, e).status(); },
       StatusCode::kFailedPrecondition, "Forbidden", 403},
      {"an immortal namespace: Forbidden",
       [&](ApiError* e) { return client_->remove("v1", "Namespace", "", "default", {}, e).status(); },
       StatusCode::kPermissionDenied, "Forbidden", 403},
      {"a wrong token: Unauthorized",
       [&](ApiError* e) { return (*intruder)->requestRaw("GET", "/api/v1/namespaces", {}, "", e).status(); },
       StatusCode::kUnauthenticated, "Unauthorized", 401},
      {"a resourceVersion from the future: Timeout with retryAfterSeconds, retried as a GET",
       [&](ApiError* e) {
         ListOptions lo;
         lo.resourceVersion = "999999999";
         lo.resourceVersionMatch = "NotOlderThan";
         return quickClient->list("v1", "ConfigMap", ns_, lo, e).status();
       },
       StatusCode::kDeadlineExceeded, "Timeout", 504},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    ApiError e;
    Status st = c.call(&e);
    EXPECT_EQ(st.code(), c.code) << st.toString();
    EXPECT_EQ(e.reason, c.reason);
    EXPECT_EQ(e.httpStatus, c.http);
    EXPECT_FALSE(st.message().empty());
    EXPECT_THAT(st.message(), Not(HasSubstr(sandbox_->rest().bearerToken().value())));
  }
  ApiError invalid;
  ASSERT_FALSE(client_->create(configMap(ns_, "Bad_Name"), {}, &invalid).ok());
  ASSERT_FALSE(invalid.causes.empty());
  EXPECT_EQ(invalid.causes[0].field, "metadata.name");
  ApiError terminating;
  ASSERT_FALSE(client_->create(configMap(doomed, "late"), {}, &terminating).ok());
  ASSERT_FALSE(terminating.causes.empty());
  EXPECT_EQ(terminating.causes[0].reason, "NamespaceTerminating");
  EXPECT_THAT(sleeps.get(), ElementsAre(1000ms));  // the 504's retryAfterSeconds
}

TEST_F(SandboxClientTest, DryRunAllWritesNothing) {
  CreateOptions dry;
  dry.dryRun = true;
  auto created = client_->create(configMap(ns_, "dry", {{"a", "1"}}), dry);
  ASSERT_TRUE(created.ok()) << created.status().toString();
  EXPECT_EQ(created->name(), "dry");
  EXPECT_EQ(client_->get("v1", "ConfigMap", ns_, "dry").status().code(), StatusCode::kNotFound);

  auto real = client_->create(configMap(ns_, "real", {{"a", "1"}}));
  ASSERT_TRUE(real.ok());
  Object changed = *real;
  json::setString(*json::find(changed.root(), "data"), "a", "changed", changed.allocator());
  UpdateOptions udry;
  udry.dryRun = true;
  auto u = client_->update(changed, udry);
  ASSERT_TRUE(u.ok()) << u.status().toString();
  EXPECT_EQ(dataOf(*u, "a"), "changed");
  PatchOptions pdry;
  pdry.dryRun = true;
  ASSERT_TRUE(client_->patch("v1", "ConfigMap", ns_, "real", PatchType::kMerge, R"({"data":{"a":"patched"}})", pdry).ok());
  ASSERT_TRUE(client_->apply(configMap(ns_, "real", {{"a", "applied"}}), ApplyOptions{"dry-mgr", true, true, ""}).ok());
  DeleteOptions ddry;
  ddry.dryRun = true;
  ASSERT_TRUE(client_->remove("v1", "ConfigMap", ns_, "real", ddry).ok());

  auto after = client_->get("v1", "ConfigMap", ns_, "real");
  ASSERT_TRUE(after.ok()) << after.status().toString();
  EXPECT_EQ(dataOf(*after, "a"), "1");
  EXPECT_EQ(after->resourceVersion(), real->resourceVersion());
}

TEST_F(SandboxClientTest, UpdateStatusWritesOnlyTheStatus) {
  // The status subresource: PUT /status changes .status only; PUT on the main resource ignores
  // .status (apiserver's status strategy).
  auto created = client_->create(widget("w", 1));
  ASSERT_TRUE(created.ok()) << created.status().toString();
  auto info = client_->resourceFor("client-test.kubeop.io/v1", "Widget");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->hasSubresource("status"));

  Object s = *created;
  auto& a = s.allocator();
  json::Value status(rapidjson::kObjectType);
  status.AddMember("phase", json::str("Ready", a), a);
  json::setMember(s.root(), "status", status, a);
  json::find(s.root(), "spec")->FindMember("size")->value.SetInt(99);
  auto st = client_->updateStatus(s);
  ASSERT_TRUE(st.ok()) << st.status().toString();
  EXPECT_EQ(json::findPath(st->root(), {"status", "phase"})->GetString(), std::string("Ready"));
  EXPECT_EQ(json::findPath(st->root(), {"spec", "size"})->GetInt(), 1);

  Object m = *st;
  json::find(m.root(), "status")->FindMember("phase")->value.SetString("Ignored", m.allocator());
  json::find(m.root(), "spec")->FindMember("size")->value.SetInt(2);
  auto up = client_->update(m);
  ASSERT_TRUE(up.ok()) << up.status().toString();
  EXPECT_EQ(json::findPath(up->root(), {"spec", "size"})->GetInt(), 2);
  EXPECT_EQ(json::findPath(up->root(), {"status", "phase"})->GetString(), std::string("Ready"));
}

TEST_F(SandboxClientTest, PatchesOfEveryType) {
  ASSERT_TRUE(client_->create(configMap(ns_, "p", {{"a", "1"}})).ok());
  struct Case {
    const char* rule;
    PatchType type;
    const char* patch;
    std::map<std::string, std::string> want;
  };
  const Case cases[] = {
      {"RFC 6902 JSON patch", PatchType::kJson, R"([{"op":"add","path":"/data/b","value":"2"}])", {{"a", "1"}, {"b", "2"}}},
      {"RFC 7386 merge patch: null deletes", PatchType::kMerge, R"({"data":{"a":null,"c":"3"}})", {{"b", "2"}, {"c", "3"}}},
      {"strategic merge patch on a built-in kind", PatchType::kStrategicMerge, R"({"data":{"d":"4"}})",
       {{"b", "2"}, {"c", "3"}, {"d", "4"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rule);
    auto r = client_->patch("v1", "ConfigMap", ns_, "p", c.type, c.patch);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    const json::Value* data = json::find(r->root(), "data");
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(data->MemberCount(), c.want.size());
    for (const auto& [k, v] : c.want) EXPECT_EQ(dataOf(*r, k), v) << k;
  }

  // Strategic merge merges containers by name (patchMergeKey) instead of replacing the list.
  Object dep = parseObject(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{
      "selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[
      {"name":"a","image":"nginx:1"},{"name":"b","image":"busybox:1"}]}}}})");
  dep.setNamespace(ns_);
  ASSERT_TRUE(client_->create(dep).ok());
  auto smp = client_->patch("apps/v1", "Deployment", ns_, "d", PatchType::kStrategicMerge,
                            R"({"spec":{"template":{"spec":{"containers":[{"name":"b","image":"busybox:2"}]}}}})");
  ASSERT_TRUE(smp.ok()) << smp.status().toString();
  const json::Value* containers = json::findPath(smp->root(), {"spec", "template", "spec", "containers"});
  ASSERT_TRUE(containers && containers->IsArray());
  ASSERT_EQ(containers->Size(), 2u);
  EXPECT_EQ(json::getString((*containers)[1], "image"), "busybox:2");

  // Custom resources have no strategic merge metadata: the apiserver answers 415.
  ASSERT_TRUE(client_->create(widget("w", 1)).ok());
  ApiError err;
  auto cr = client_->patch("client-test.kubeop.io/v1", "Widget", ns_, "w", PatchType::kStrategicMerge,
                           R"({"spec":{"size":2}})", {}, &err);
  EXPECT_EQ(cr.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(err.httpStatus, 415);
  auto merged = client_->patch("client-test.kubeop.io/v1", "Widget", ns_, "w", PatchType::kMerge, R"({"spec":{"size":2}})");
  ASSERT_TRUE(merged.ok()) << merged.status().toString();
  EXPECT_EQ(json::findPath(merged->root(), {"spec", "size"})->GetInt(), 2);
}

TEST_F(SandboxClientTest, ServerSideApplyCreatesConflictsAndForces) {
  auto first = client_->apply(configMap(ns_, "ssa", {{"k", "v1"}}), ApplyOptions{"mgr-a", false, false, ""});
  ASSERT_TRUE(first.ok()) << first.status().toString();
  EXPECT_EQ(dataOf(*first, "k"), "v1");

  ApiError err;
  auto conflict = client_->apply(configMap(ns_, "ssa", {{"k", "v2"}}), ApplyOptions{"mgr-b", false, false, ""}, &err);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), StatusCode::kAborted);
  EXPECT_EQ(err.reason, "Conflict");
  ASSERT_FALSE(err.causes.empty());
  EXPECT_EQ(err.causes[0].reason, "FieldManagerConflict");
  EXPECT_EQ(err.causes[0].field, ".data.k");

  auto forced = client_->apply(configMap(ns_, "ssa", {{"k", "v2"}}), ApplyOptions{"mgr-b", true, false, ""});
  ASSERT_TRUE(forced.ok()) << forced.status().toString();
  EXPECT_EQ(dataOf(*forced, "k"), "v2");
  const json::Value* mf = json::findPath(forced->root(), {"metadata", "managedFields"});
  ASSERT_TRUE(mf && mf->IsArray());
  bool sawB = false;
  for (const auto& e : mf->GetArray()) sawB |= json::getString(e, "manager") == "mgr-b";
  EXPECT_TRUE(sawB);

  EXPECT_EQ(client_->apply(configMap(ns_, "ssa"), ApplyOptions{}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SandboxClientTest, DeleteHonoursPreconditionsFinalizersAndPropagation) {
  auto cm = client_->create(configMap(ns_, "pre"));
  ASSERT_TRUE(cm.ok());
  DeleteOptions wrongUid;
  wrongUid.preconditionUid = "not-the-uid";
  EXPECT_EQ(client_->remove("v1", "ConfigMap", ns_, "pre", wrongUid).status().code(), StatusCode::kAborted);
  DeleteOptions wrongRv;
  wrongRv.preconditionResourceVersion = "1";
  EXPECT_EQ(client_->remove("v1", "ConfigMap", ns_, "pre", wrongRv).status().code(), StatusCode::kAborted);
  DeleteOptions right;
  right.preconditionUid = std::string(cm->uid());
  right.preconditionResourceVersion = std::string(cm->resourceVersion());
  right.gracePeriodSeconds = 0;
  auto ok = client_->remove("v1", "ConfigMap", ns_, "pre", right);
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  EXPECT_TRUE(ok->deleted);

  // A finalizer keeps the object, marked for deletion, until it is removed.
  Object held = configMap(ns_, "held");
  json::Value fin(rapidjson::kArrayType);
  fin.PushBack(json::str("example.com/hold", held.allocator()), held.allocator());
  json::setMember(held.mutableMetadata(), "finalizers", fin, held.allocator());
  ASSERT_TRUE(client_->create(held).ok());
  auto pending = client_->remove("v1", "ConfigMap", ns_, "held");
  ASSERT_TRUE(pending.ok()) << pending.status().toString();
  EXPECT_FALSE(pending->deleted);
  ASSERT_TRUE(pending->object.has_value());
  EXPECT_NE(json::findPath(pending->object->root(), {"metadata", "deletionTimestamp"}), nullptr);
  ASSERT_TRUE(client_->patch("v1", "ConfigMap", ns_, "held", PatchType::kMerge, R"({"metadata":{"finalizers":null}})").ok());
  EXPECT_TRUE(eventually([&] { return client_->get("v1", "ConfigMap", ns_, "held").status().code() == StatusCode::kNotFound; }));

  // propagationPolicy reaches the garbage collector: Orphan keeps dependents, Background removes them.
  for (auto policy : {PropagationPolicy::kOrphan, PropagationPolicy::kBackground}) {
    bool orphan = policy == PropagationPolicy::kOrphan;
    SCOPED_TRACE(orphan ? "Orphan" : "Background");
    std::string owner = orphan ? "owner-o" : "owner-b";
    auto o = client_->create(configMap(ns_, owner));
    ASSERT_TRUE(o.ok());
    Object dep = configMap(ns_, owner + "-dep");
    dep.addOwnerReference(OwnerReference{"v1", "ConfigMap", owner, std::string(o->uid()), false, false});
    ASSERT_TRUE(client_->create(dep).ok());
    DeleteOptions d;
    d.propagationPolicy = policy;
    ASSERT_TRUE(client_->remove("v1", "ConfigMap", ns_, owner, d).ok());
    if (orphan) {
      EXPECT_TRUE(eventually([&] {
        auto g = client_->get("v1", "ConfigMap", ns_, owner + "-dep");
        return g.ok() && g->ownerReferences().empty();
      }));
    } else {
      EXPECT_TRUE(eventually([&] {
        return client_->get("v1", "ConfigMap", ns_, owner + "-dep").status().code() == StatusCode::kNotFound;
      }));
    }
  }
}

TEST_F(SandboxClientTest, ListFiltersBySelectorsAndPages) {
  for (int i = 0; i < 7; ++i) {
    std::map<std::string, std::string> labels = {{"tier", i < 3 ? "a" : "b"}};
    ASSERT_TRUE(client_->create(configMap(ns_, "cm-" + std::to_string(i), {}, labels)).ok());
  }
  ListOptions all;
  auto everything = client_->list("v1", "ConfigMap", ns_, all);
  ASSERT_TRUE(everything.ok()) << everything.status().toString();
  const size_t total = everything->items.size();  // 7, plus whatever the namespace starts with
  ASSERT_GE(total, 7u);
  EXPECT_EQ(everything->kind, "ConfigMapList");
  EXPECT_FALSE(everything->resourceVersion.empty());

  ListOptions byLabel;
  byLabel.labelSelector = "tier=a";
  auto a = client_->list("v1", "ConfigMap", ns_, byLabel);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->items.size(), 3u);
  ListOptions setBased;
  setBased.labelSelector = "tier in (a,b),tier!=b";
  EXPECT_EQ(client_->list("v1", "ConfigMap", ns_, setBased)->items.size(), 3u);
  ListOptions byField;
  byField.fieldSelector = "metadata.name=cm-4";
  auto f = client_->list("v1", "ConfigMap", ns_, byField);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->items.size(), 1u);
  EXPECT_EQ(f->items[0].name(), "cm-4");

  // limit/continue: consistent pages of one snapshot.
  ListOptions page;
  page.limit = 3;
  std::vector<std::string> names;
  int pages = 0;
  std::string rv;
  while (true) {
    auto p = client_->list("v1", "ConfigMap", ns_, page);
    ASSERT_TRUE(p.ok()) << p.status().toString();
    ++pages;
    EXPECT_LE(p->items.size(), 3u);
    if (pages == 1) {
      rv = p->resourceVersion;
      ASSERT_TRUE(p->remainingItemCount.has_value());
      EXPECT_EQ(*p->remainingItemCount, static_cast<int64_t>(total - 3));
    }
    for (auto& it : p->items) names.emplace_back(it.name());
    if (p->continueToken.empty()) break;
    page.continueToken = p->continueToken;
    ASSERT_TRUE(client_->create(configMap(ns_, "late-" + std::to_string(pages))).ok());  // not in the snapshot
  }
  EXPECT_EQ(names.size(), total);
  EXPECT_EQ(pages, static_cast<int>((total + 2) / 3));

  ListOptions small;
  small.limit = 2;
  small.labelSelector = "tier";
  auto paged = client_->listAll("v1", "ConfigMap", ns_, small);
  ASSERT_TRUE(paged.ok()) << paged.status().toString();
  EXPECT_EQ(paged->items.size(), 7u);
  EXPECT_TRUE(paged->continueToken.empty());

  // Every namespace: at least ours.
  auto cluster = client_->listAll("v1", "ConfigMap", "", byLabel);
  ASSERT_TRUE(cluster.ok());
  EXPECT_GE(cluster->items.size(), 3u);
}

TEST_F(SandboxClientTest, DiscoveryPicksUpACrdCreatedAfterStart) {
  std::string group = "refresh-" + std::to_string(getpid()) + ".kubeop.io";
  auto before = client_->resourceFor(group + "/v1", "Gadget");
  EXPECT_EQ(before.status().code(), StatusCode::kNotFound);
  auto fetches = client_->stats().discoveryFetches;

  ASSERT_TRUE(client_->create(crd(group, "Gadget", "gadgets")).ok());
  ASSERT_TRUE(eventually([&] { return client_->resourceFor(group + "/v1", "Gadget").ok(); }));
  EXPECT_GT(client_->stats().discoveryFetches, fetches);
  auto info = client_->resourceFor(group + "/v1", "Gadget");
  EXPECT_EQ(info->resource, "gadgets");
  EXPECT_TRUE(info->namespaced);
  EXPECT_TRUE(info->hasSubresource("status"));

  Object g = parseObject(R"({"apiVersion":")" + group + R"(/v1","kind":"Gadget","metadata":{"name":"g1"},"spec":{"x":1}})");
  g.setNamespace(ns_);
  ASSERT_TRUE(client_->create(g).ok());
  auto got = client_->get(group + "/v1", "Gadget", ns_, "g1");
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(json::findPath(got->root(), {"spec", "x"})->GetInt(), 1);

  auto all = client_->serverResources();
  ASSERT_TRUE(all.ok()) << all.status().toString();
  auto has = [&](std::string_view gr, std::string_view kind) {
    return std::any_of(all->begin(), all->end(), [&](const ResourceInfo& r) { return r.group == gr && r.kind == kind; });
  };
  EXPECT_TRUE(has("", "ConfigMap"));
  EXPECT_TRUE(has("apps", "Deployment"));
  EXPECT_TRUE(has(group, "Gadget"));
}

TEST_F(SandboxClientTest, WatchStreamsChangesInOrderUntilCancelled) {
  auto start = client_->list("v1", "ConfigMap", ns_);
  ASSERT_TRUE(start.ok());
  std::mutex mu;
  std::vector<std::pair<WatchEventType, std::string>> seen;
  http::CancelToken cancel;
  Status result;
  std::thread t([&] {
    WatchOptions wo;
    wo.resourceVersion = start->resourceVersion;
    result = client_->watch("v1", "ConfigMap", ns_, wo, [&](WatchEvent& ev) {
      std::lock_guard lk(mu);
      if (ev.type != WatchEventType::kBookmark) seen.emplace_back(ev.type, std::string(ev.object.name()));
      return Status::ok();
    }, &cancel);
  });
  auto c = client_->create(configMap(ns_, "w", {{"a", "1"}}));
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(client_->patch("v1", "ConfigMap", ns_, "w", PatchType::kMerge, R"({"data":{"a":"2"}})").ok());
  ASSERT_TRUE(client_->remove("v1", "ConfigMap", ns_, "w").ok());
  bool all3 = eventually([&] {
    std::lock_guard lk(mu);
    return seen.size() >= 3;
  });
  cancel.cancel();
  t.join();
  ASSERT_TRUE(all3);
  EXPECT_EQ(result.code(), StatusCode::kCancelled);
  std::lock_guard lk(mu);
  EXPECT_THAT(seen, ElementsAre(std::pair(WatchEventType::kAdded, std::string("w")),
                                std::pair(WatchEventType::kModified, std::string("w")),
                                std::pair(WatchEventType::kDeleted, std::string("w"))));
}

TEST_F(SandboxClientTest, WatchFiltersBySelectorAndEndsWithTheServerTimeout) {
  WatchOptions wo;
  wo.labelSelector = "pick=yes";
  wo.timeoutSeconds = 1;
  wo.resourceVersion = client_->list("v1", "ConfigMap", ns_)->resourceVersion;
  ASSERT_TRUE(client_->create(configMap(ns_, "skip", {}, {{"pick", "no"}})).ok());
  ASSERT_TRUE(client_->create(configMap(ns_, "take", {}, {{"pick", "yes"}})).ok());
  std::vector<std::string> names;
  auto began = std::chrono::steady_clock::now();
  Status st = client_->watch("v1", "ConfigMap", ns_, wo, [&](WatchEvent& ev) {
    if (ev.type == WatchEventType::kAdded) names.emplace_back(ev.object.name());
    return Status::ok();
  });
  EXPECT_TRUE(st.isOk()) << st.toString();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 10s);
  EXPECT_THAT(names, ElementsAre("take"));
}

TEST_F(SandboxClientTest, ThrottlingAndServerErrorsFromFaultInjection) {
  SleepLog sleeps;
  ClientConfig cc;
  cc.sleep = sleeps.fn();
  cc.maxRetries = 2;
  auto c = sandbox_->client(cc);
  ASSERT_TRUE(c->resourceFor("v1", "ConfigMap").ok());  // discovery before the faults
  {
    Faults f(*client_, R"({"throttleRate":1})");
    auto before = c->stats().requests;
    ApiError err;
    auto got = c->get("v1", "ConfigMap", ns_, "x", {}, &err);
    EXPECT_EQ(got.status().code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(err.retryAfterSeconds, 1);
    EXPECT_EQ(c->stats().requests - before, 3u);
    EXPECT_THAT(sleeps.get(), ElementsAre(1000ms, 1000ms));  // Retry-After: 1, honoured
  }
  {
    Faults f(*client_, R"({"errorRate":1})");
    auto before = c->stats().requests;
    EXPECT_EQ(c->get("v1", "ConfigMap", ns_, "x").status().code(), StatusCode::kUnavailable);
    EXPECT_EQ(c->stats().requests - before, 3u);  // GET: retried
    before = c->stats().requests;
    EXPECT_EQ(c->create(configMap(ns_, "not-retried")).status().code(), StatusCode::kUnavailable);
    EXPECT_EQ(c->stats().requests - before, 1u);  // POST: not retried after a 500
  }
  EXPECT_EQ(client_->get("v1", "ConfigMap", ns_, "not-retried").status().code(), StatusCode::kNotFound);
}

// A sandbox whose watch history holds only 10 events: resourceVersions expire quickly.
class SandboxSmallWindowTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sandbox_ = Sandbox::start({"--watch-window", "10"}).release(); }
  static void TearDownTestSuite() {
    delete sandbox_;
    sandbox_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(sandbox_, nullptr);
    client_ = sandbox_->client();
    ns_ = makeNamespace(*client_, "window");
  }
  void churn(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(client_->create(configMap(ns_, "churn-" + std::to_string(churned_++))).ok());
    }
  }
  static Sandbox* sandbox_;
  std::shared_ptr<Client> client_;
  std::string ns_;
  int churned_ = 0;
};

Sandbox* SandboxSmallWindowTest::sandbox_ = nullptr;

TEST_F(SandboxSmallWindowTest, WatchingFromACompactedVersionIsGone) {
  // A resourceVersion older than the watch cache's window: 410 Expired → the caller relists.
  auto l = client_->list("v1", "ConfigMap", ns_);
  ASSERT_TRUE(l.ok());
  churn(15);
  ApiError err;
  WatchOptions wo;
  wo.resourceVersion = l->resourceVersion;
  Status st = client_->watch("v1", "ConfigMap", ns_, wo, [](WatchEvent&) { return Status::ok(); }, nullptr, &err);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.toString();
  EXPECT_EQ(err.httpStatus, 410);
  EXPECT_EQ(err.reason, "Expired");
}

TEST_F(SandboxSmallWindowTest, AnExpiredContinuationIsGoneButListAllStillSucceeds) {
  churn(5);
  ListOptions lo;
  lo.limit = 2;
  auto first = client_->list("v1", "ConfigMap", ns_, lo);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->continueToken.empty());
  churn(15);
  lo.continueToken = first->continueToken;
  ApiError err;
  auto next = client_->list("v1", "ConfigMap", ns_, lo, &err);
  EXPECT_EQ(next.status().code(), StatusCode::kOutOfRange);
  EXPECT_FALSE(err.continueToken.empty());  // the apiserver's "continue from the latest" token
  ListOptions paged;
  paged.limit = 3;
  auto all = client_->listAll("v1", "ConfigMap", ns_, paged);
  ASSERT_TRUE(all.ok()) << all.status().toString();
  EXPECT_GE(all->items.size(), 20u);
}

}  // namespace
}  // namespace kubeop::kube
