// Admission webhooks in `kubeop sandbox`: real HTTPS webhook servers (kubeop's http::Server with
// certificates from kubeop::pki) on loopback, configurations stored in a real Store. Each test
// names the upstream rule it pins (k8s.io/apiserver pkg/admission/plugin/webhook/…).
#include "kubeop/sandbox/admission.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "kubeop/core/pki.h"
#include "kubeop/http/server.h"
#include "kubeop/kube/patch.h"

namespace kubeop::sandbox {
namespace {

using namespace std::chrono_literals;

const GroupResource kNamespaces{"", "namespaces"};
const GroupResource kMutating{"admissionregistration.k8s.io", "mutatingwebhookconfigurations"};
const GroupResource kValidating{"admissionregistration.k8s.io", "validatingwebhookconfigurations"};

json::Document parse(std::string_view text) {
  auto d = json::parse(text);
  EXPECT_TRUE(d.ok()) << text;
  return d.ok() ? std::move(d).value() : json::Document();
}

std::string at(const json::Value& v, std::initializer_list<std::string_view> path) {
  const json::Value* x = json::findPath(v, path);
  if (!x) return "<missing>";
  return x->IsString() ? std::string(json::view(*x)) : json::write(*x);
}

// The test PKI, made once per binary.
struct TestPki {
  pki::CertificateAndKey ca;
  pki::CertificateAndKey otherCa;
  pki::CertificateAndKey serving;  // 127.0.0.1, localhost, hook-svc.webhooks.svc
  std::string caBundle;            // base64 of ca.certificatePem
  std::string otherCaBundle;

  static const TestPki& get() {
    static const TestPki instance = [] {
      TestPki p;
      p.ca = *pki::generateCa("kubeop-webhook-test-ca");
      p.otherCa = *pki::generateCa("someone-else");
      p.serving = *pki::issueServingCertificate(p.ca, "webhook", {"localhost", "hook-svc.webhooks.svc"}, {"127.0.0.1"});
      p.caBundle = pki::base64Encode(p.ca.certificatePem);
      p.otherCaBundle = pki::base64Encode(p.otherCa.certificatePem);
      return p;
    }();
    return instance;
  }
};

// The `response` of an AdmissionReview answering `review`, with `fields` (a JSON object) merged
// in: {"allowed":true}, {"allowed":false,"status":{…}}.
http::Response reply(const json::Value& review, std::string_view fields) {
  json::Document out = parse(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{}})");
  auto& a = out.GetAllocator();
  json::Value& resp = out["response"];
  resp.AddMember("uid", json::str(at(review, {"request", "uid"}), a), a);
  json::Document extra = parse(fields);
  for (auto it = extra.MemberBegin(); it != extra.MemberEnd(); ++it) {
    json::Value k(it->name, a), v(it->value, a);
    resp.AddMember(k, v, a);
  }
  return http::Response::json(200, json::write(out));
}

http::Response allow(const json::Value& review) { return reply(review, R"({"allowed":true})"); }

// A mutating answer with a JSON Patch (given as JSON text).
http::Response patchReply(const json::Value& review, std::string_view ops) {
  return reply(review, R"({"allowed":true,"patchType":"JSONPatch","patch":")" + pki::base64Encode(ops) + "\"}");
}

// One HTTPS webhook server; POST /<hook> runs the handler registered for <hook> and records the
// AdmissionReview it received.
class WebhookServer {
 public:
  using Handler = std::function<http::Response(const json::Value& review)>;

  explicit WebhookServer(const pki::CertificateAndKey& cert) {
    http::Router r;
    r.add("POST", "/{hook}", [this](const http::Request& req) {
      std::string hook(req.pathParam("hook"));
      Handler h;
      {
        std::lock_guard lock(mu_);
        reviews_[hook].push_back(req.body);
        order_.push_back(hook);
        targets_[hook] = req.target;
        auto it = handlers_.find(hook);
        if (it != handlers_.end()) h = it->second;
      }
      if (!h) return http::Response::json(404, R"({"kind":"Status","message":"no such hook"})");
      auto review = json::parse(req.body);
      if (!review.ok()) return http::Response::text(400, "bad review");
      return h(*review);
    });
    http::ServerOptions o;
    o.workerThreads = 4;
    o.tls = http::TlsOptions{cert.certificatePem, cert.keyPem, ""};
    auto s = http::Server::start(std::move(o), std::move(r));
    if (!s.ok()) throw std::runtime_error(s.status().toString());
    server_ = std::move(s).value();
  }
  ~WebhookServer() {
    release();
    server_->stop(1000ms);
  }

  void on(const std::string& hook, Handler h) {
    std::lock_guard lock(mu_);
    handlers_[hook] = std::move(h);
  }
  std::string url(const std::string& hook) const {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + "/" + hook;
  }
  uint16_t port() const { return server_->port(); }
  size_t calls(const std::string& hook) {
    std::lock_guard lock(mu_);
    return reviews_[hook].size();
  }
  // The n-th AdmissionReview the hook received.
  json::Document review(const std::string& hook, size_t n = 0) {
    std::lock_guard lock(mu_);
    auto& v = reviews_[hook];
    if (n >= v.size()) {
      ADD_FAILURE() << hook << " received " << v.size() << " reviews";
      return json::Document();
    }
    return parse(v[n]);
  }
  std::string target(const std::string& hook) {
    std::lock_guard lock(mu_);
    return targets_[hook];
  }
  std::vector<std::string> order() {
    std::lock_guard lock(mu_);
    return order_;
  }

  // A handler that holds the request until release() (a webhook slower than its timeout).
  Handler blocking() {
    return [this](const json::Value& review) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, 10s, [this] { return released_; });
      return allow(review);
    };
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::map<std::string, Handler> handlers_;
  std::map<std::string, std::vector<std::string>> reviews_;
  std::map<std::string, std::string> targets_;
  std::vector<std::string> order_;
  std::unique_ptr<http::Server> server_;
};

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_ = std::make_shared<ResourceRegistry>();
    store_ = std::make_shared<Store>(registry_);
    hooks_ = std::make_unique<WebhookServer>(TestPki::get().serving);
    createObject(kNamespaces, R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a","labels":{"env":"prod"}}})");
    createObject(kNamespaces, R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-b","labels":{"env":"dev"}}})");
    pods_ = registry_->find("", "v1", "pods").get();
    pod_ = parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"team-a","labels":{"app":"web"}},
                    "spec":{"containers":[{"name":"c","image":"evil.io/x:1"}]}})");
  }

  AdmissionChain& chain(AdmissionOptions o = {}) {
    if (!chain_) chain_ = std::make_unique<AdmissionChain>(store_, registry_, std::move(o));
    return *chain_;
  }

  void createObject(const GroupResource& gr, std::string_view j, std::string_view ns = "") {
    auto o = Object::fromJson(j);
    ASSERT_TRUE(o.ok()) << j;
    ErrorDetails d;
    auto r = store_->create(gr, ns, std::move(o).value(), {}, &d);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }

  // A webhook entry calling `path` on the test server, with `overrides` merge-patched over the
  // defaults: pods CREATE in the core group, sideEffects None, v1 reviews, caBundle of the CA.
  std::string webhook(std::string_view name, std::string_view path, std::string_view overrides = "{}") {
    std::string base = R"({"name":")" + std::string(name) + R"(","clientConfig":{"url":")" +
                       hooks_->url(std::string(path)) + R"(","caBundle":")" + TestPki::get().caBundle + R"("},
      "rules":[{"operations":["CREATE"],"apiGroups":[""],"apiVersions":["v1"],"resources":["pods"]}],
      "sideEffects":"None","admissionReviewVersions":["v1"],"timeoutSeconds":5})";
    json::Document b = parse(base);
    json::Document o = parse(overrides);
    auto merged = kube::mergePatch(b, o);
    EXPECT_TRUE(merged.ok()) << merged.status().message();
    return json::write(*merged);
  }

  void configure(bool mutating, std::string_view name, const std::vector<std::string>& webhooks) {
    std::string list;
    for (const auto& w : webhooks) list += (list.empty() ? "" : ",") + w;
    std::string kind = mutating ? "MutatingWebhookConfiguration" : "ValidatingWebhookConfiguration";
    createObject(mutating ? kMutating : kValidating,
                 R"({"apiVersion":"admissionregistration.k8s.io/v1","kind":")" + kind + R"(","metadata":{"name":")" +
                     std::string(name) + R"("},"webhooks":[)" + list + "]}");
  }
  void mutatingHook(std::string_view config, std::string_view name, std::string_view path,
                    std::string_view overrides = "{}") {
    configure(true, config, {webhook(name, path, overrides)});
  }
  void validatingHook(std::string_view config, std::string_view name, std::string_view path,
                      std::string_view overrides = "{}") {
    configure(false, config, {webhook(name, path, overrides)});
  }

  AdmissionAttributes createPod(const json::Value* pod = nullptr) {
    AdmissionAttributes a;
    a.operation = "CREATE";
    a.type = pods_;
    a.ns = "team-a";
    a.name = "web";
    a.object = pod ? pod : &pod_;
    a.userName = "alice";
    a.groups = {"system:authenticated"};
    return a;
  }

  std::shared_ptr<ResourceRegistry> registry_;
  std::shared_ptr<Store> store_;
  std::unique_ptr<WebhookServer> hooks_;
  std::unique_ptr<AdmissionChain> chain_;
  const ResourceType* pods_ = nullptr;
  json::Document pod_;
};

// ---------------------------------------------------------------------------------------------
// Calling and answering

// request.CreateV1AdmissionReview: what a webhook receives; allowed=true admits unchanged.
TEST_F(AdmissionTest, SendsAnAdmissionReviewV1AndAdmitsWhenTheWebhookAllows) {
  hooks_->on("allow", allow);
  validatingHook("check", "check.kubeop.io", "allow");
  AdmissionAttributes a = createPod();
  a.fieldManager = "kubectl-client-side-apply";
  ErrorDetails d;
  auto r = chain().admit(a, &d);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(*r == pod_);
  ASSERT_EQ(hooks_->calls("allow"), 1u);
  json::Document rv = hooks_->review("allow");
  EXPECT_EQ(at(rv, {"apiVersion"}), "admission.k8s.io/v1");
  EXPECT_EQ(at(rv, {"kind"}), "AdmissionReview");
  EXPECT_EQ(at(rv, {"request", "uid"}).size(), 36u);
  EXPECT_EQ(at(rv, {"request", "kind"}), R"({"group":"","version":"v1","kind":"Pod"})");
  EXPECT_EQ(at(rv, {"request", "resource"}), R"({"group":"","version":"v1","resource":"pods"})");
  EXPECT_EQ(at(rv, {"request", "requestKind"}), R"({"group":"","version":"v1","kind":"Pod"})");
  EXPECT_EQ(at(rv, {"request", "requestResource"}), R"({"group":"","version":"v1","resource":"pods"})");
  EXPECT_EQ(at(rv, {"request", "subResource"}), "<missing>");
  EXPECT_EQ(at(rv, {"request", "namespace"}), "team-a");
  EXPECT_EQ(at(rv, {"request", "name"}), "web");
  EXPECT_EQ(at(rv, {"request", "operation"}), "CREATE");
  EXPECT_EQ(at(rv, {"request", "userInfo"}), R"({"username":"alice","groups":["system:authenticated"]})");
  EXPECT_TRUE(*json::findPath(rv, {"request", "object"}) == pod_);
  EXPECT_EQ(at(rv, {"request", "oldObject"}), "null");
  EXPECT_EQ(at(rv, {"request", "dryRun"}), "false");
  EXPECT_EQ(at(rv, {"request", "options"}),
            R"({"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl-client-side-apply"})");
  // client-go's Request.Timeout puts the webhook's timeout in the query.
  EXPECT_EQ(hooks_->target("allow"), "/allow?timeout=5s");
}

// errors.ToStatusErr: `admission webhook "<name>" denied the request: <message>`; a status code
// below 400 (here: none) becomes 400.
TEST_F(AdmissionTest, DeniesWithTheApiserverWordingAndBadRequestWhenTheWebhookGivesNoCode) {
  hooks_->on("vapps", [](const json::Value& rv) {
    return reply(rv, R"({"allowed":false,"status":{"message":"registry evil.io is not allowed"}})");
  });
  validatingHook("vapps", "vapps.paas.kubeop.io", "vapps");
  ErrorDetails d;
  auto r = chain().admit(createPod(), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(admission webhook "vapps.paas.kubeop.io" denied the request: registry evil.io is not allowed)");
  EXPECT_EQ(d.code, 400);
  EXPECT_EQ(d.reason, "BadRequest");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

// errors.ToStatusErr keeps the webhook's code, reason and details (controller-runtime's
// admission.Denied answers 403 Forbidden).
TEST_F(AdmissionTest, DeniesWithTheCodeReasonAndDetailsOfTheWebhooksStatus) {
  hooks_->on("deny", [](const json::Value& rv) {
    return reply(rv, R"({"allowed":false,"status":{"code":403,"reason":"Forbidden","message":"registry evil.io is not allowed",
                       "details":{"causes":[{"reason":"FieldValueForbidden","field":"spec.containers[0].image","message":"evil"}]}}})");
  });
  validatingHook("vapps", "vapps.paas.kubeop.io", "deny");
  ErrorDetails d;
  auto r = chain().admit(createPod(), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(admission webhook "vapps.paas.kubeop.io" denied the request: registry evil.io is not allowed)");
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(d.code, 403);
  EXPECT_EQ(d.reason, "Forbidden");
  ASSERT_EQ(d.causes.size(), 1u);
  EXPECT_EQ(d.causes[0].field, "spec.containers[0].image");
  EXPECT_EQ(d.causes[0].type, "FieldValueForbidden");
  // What the API server answers with.
  json::Document st = parse(statusObjectJson(r.status(), d));
  EXPECT_EQ(at(st, {"code"}), "403");
  EXPECT_EQ(at(st, {"reason"}), "Forbidden");
}

// errors.ToStatusErr: no message → the reason; neither → "without explanation".
TEST_F(AdmissionTest, DeniesWithTheReasonOrWithoutExplanationWhenThereIsNoMessage) {
  hooks_->on("reason", [](const json::Value& rv) {
    return reply(rv, R"({"allowed":false,"status":{"code":422,"reason":"Invalid"}})");
  });
  hooks_->on("bare", [](const json::Value& rv) { return reply(rv, R"({"allowed":false})"); });
  validatingHook("a", "reason.kubeop.io", "reason");
  ErrorDetails d;
  auto r = chain().admit(createPod(), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(admission webhook "reason.kubeop.io" denied the request: Invalid)");
  EXPECT_EQ(d.code, 422);

  ASSERT_TRUE(store_->remove(kValidating, "", "a").ok());
  validatingHook("b", "bare.kubeop.io", "bare");
  r = chain().admit(createPod(), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(admission webhook "bare.kubeop.io" denied the request without explanation)");
  EXPECT_EQ(d.code, 400);
}

// mutating/dispatcher.go: patchType JSONPatch, base64 patch applied to the object.
TEST_F(AdmissionTest, AppliesTheJsonPatchOfAMutatingWebhook) {
  hooks_->on("inject", [](const json::Value& rv) {
    return patchReply(rv, R"([{"op":"add","path":"/metadata/labels/injected","value":"yes"},
                              {"op":"replace","path":"/spec/containers/0/image","value":"registry.kubeop.io/x:1"}])");
  });
  mutatingHook("inject", "inject.kubeop.io", "inject");
  AdmissionReport report;
  auto r = chain().admit(createPod(), nullptr, &report);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(at(*r, {"metadata", "labels", "injected"}), "yes");
  EXPECT_EQ(at(*r, {"spec", "containers"}), R"([{"name":"c","image":"registry.kubeop.io/x:1"}])");
  EXPECT_TRUE(report.mutated);
  // The caller's object is untouched.
  EXPECT_EQ(at(pod_, {"metadata", "labels", "injected"}), "<missing>");
}

// admission chain order: every mutating webhook before any validating one; the validating
// webhook sees the object as mutated.
TEST_F(AdmissionTest, RunsMutatingWebhooksFirstAndValidatingOnesSeeTheMutatedObject) {
  hooks_->on("inject", [](const json::Value& rv) {
    return patchReply(rv, R"([{"op":"add","path":"/metadata/labels/injected","value":"yes"}])");
  });
  hooks_->on("check", allow);
  validatingHook("a-validating", "check.kubeop.io", "check");  // sorts first by name, still runs last
  mutatingHook("z-mutating", "inject.kubeop.io", "inject");
  AdmissionReport report;
  auto r = chain().admit(createPod(), nullptr, &report);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(hooks_->order(), (std::vector<std::string>{"inject", "check"}));
  EXPECT_EQ(report.called, (std::vector<std::string>{"mutating:inject.kubeop.io", "validating:check.kubeop.io"}));
  json::Document seen = hooks_->review("check");
  EXPECT_EQ(at(seen, {"request", "object", "metadata", "labels", "injected"}), "yes");
}

// mutating_webhook_manager.go sorts configurations by name; webhooks keep their listed order.
TEST_F(AdmissionTest, CallsMutatingWebhooksInConfigurationNameThenListOrder) {
  for (const char* h : {"one", "two", "three"}) hooks_->on(h, allow);
  mutatingHook("zeta", "three.kubeop.io", "three");
  configure(true, "alpha", {webhook("one.kubeop.io", "one"), webhook("two.kubeop.io", "two")});
  ASSERT_TRUE(chain().admit(createPod()).ok());
  EXPECT_EQ(hooks_->order(), (std::vector<std::string>{"one", "two", "three"}));
}

// reinvocationcontext.go: an IfNeeded webhook is called once more when a webhook after it
// changed the object; Never webhooks are not; there is a single reinvocation round.
TEST_F(AdmissionTest, ReinvokesIfNeededWebhooksOnceWhenALaterWebhookChangesTheObject) {
  auto addLabelOnce = [](std::string key) {
    return [key](const json::Value& rv) {
      const json::Value* labels = json::findPath(rv, {"request", "object", "metadata", "labels"});
      if (labels && json::find(*labels, key)) return allow(rv);
      return patchReply(rv, R"([{"op":"add","path":"/metadata/labels/)" + key + R"(","value":"1"}])");
    };
  };
  hooks_->on("a", addLabelOnce("a"));
  hooks_->on("never", allow);
  hooks_->on("b", addLabelOnce("b"));
  mutatingHook("1-a", "a.kubeop.io", "a", R"({"reinvocationPolicy":"IfNeeded"})");
  mutatingHook("2-never", "never.kubeop.io", "never");
  mutatingHook("3-b", "b.kubeop.io", "b", R"({"reinvocationPolicy":"IfNeeded"})");
  auto r = chain().admit(createPod());
  ASSERT_TRUE(r.ok()) << r.status().message();
  // b changed the object after a ran: a runs again (and sees b's label); b itself is not
  // reinvoked (nothing changed after it), never is never reinvoked.
  EXPECT_EQ(hooks_->order(), (std::vector<std::string>{"a", "never", "b", "a"}));
  EXPECT_EQ(at(hooks_->review("a", 1), {"request", "object", "metadata", "labels", "b"}), "1");
  EXPECT_EQ(at(*r, {"metadata", "labels", "a"}), "1");
  EXPECT_EQ(at(*r, {"metadata", "labels", "b"}), "1");
}

// ---------------------------------------------------------------------------------------------
// Failures and failurePolicy

class DownWebhook {
 public:
  // A loopback port nothing listens on any more.
  DownWebhook() {
    auto s = http::Server::start(http::ServerOptions{}, http::Router());
    port_ = (*s)->port();
    (*s)->stop(0ms);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/down"; }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_ = 0;
};

// mutating/validating dispatchers: an ErrCallingWebhook under failurePolicy Fail is
// apierrors.NewInternalError(err) with the transport error in Go's url.Error form.
TEST_F(AdmissionTest, FailurePolicyFailRejectsWhenTheWebhookIsDown) {
  DownWebhook down;
  validatingHook("down", "down.kubeop.io", "down", R"({"clientConfig":{"url":")" + down.url() + R"("}})");
  ErrorDetails d;
  auto r = chain().admit(createPod(), &d);
  ASSERT_FALSE(r.ok());
  std::string p = std::to_string(down.port());
  EXPECT_EQ(r.status().message(), R"(Internal error occurred: failed calling webhook "down.kubeop.io": failed to call webhook: Post "https://127.0.0.1:)" +
                                      p + R"(/down?timeout=5s": dial tcp 127.0.0.1:)" + p + ": connect: connection refused");
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_EQ(d.code, 500);
  EXPECT_EQ(d.reason, "InternalError");
  ASSERT_EQ(d.causes.size(), 1u);
  EXPECT_EQ("Internal error occurred: " + d.causes[0].message, r.status().message());
}

// failurePolicy Ignore: the call failure is logged and the webhook skipped ("failing open"),
// for mutating and validating webhooks alike.
TEST_F(AdmissionTest, FailurePolicyIgnoreAdmitsWhenTheWebhookIsDown) {
  DownWebhook down;
  std::string o = R"({"failurePolicy":"Ignore","clientConfig":{"url":")" + down.url() + R"("}})";
  mutatingHook("down-m", "down-m.kubeop.io", "down", o);
  validatingHook("down-v", "down-v.kubeop.io", "down", o);
  auto r = chain().admit(createPod());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(*r == pod_);
}

// timeoutSeconds bounds the call; the expired context reads "context deadline exceeded"; the
// failurePolicy decides as for any call failure.
TEST_F(AdmissionTest, ATimeoutIsACallFailureAndTheFailurePolicyDecides) {
  hooks_->on("slow", hooks_->blocking());
  validatingHook("slow", "slow.kubeop.io", "slow", R"({"timeoutSeconds":1})");
  ErrorDetails d;
  auto r = chain().admit(createPod(), &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(Internal error occurred: failed calling webhook "slow.kubeop.io": failed to call webhook: Post ")" +
                                      hooks_->url("slow") + R"(?timeout=1s": context deadline exceeded)");
  EXPECT_EQ(d.code, 500);

  ASSERT_TRUE(store_->remove(kValidating, "", "slow").ok());
  validatingHook("slow-ignored", "slow.kubeop.io", "slow", R"({"timeoutSeconds":1,"failurePolicy":"Ignore"})");
  r = chain().admit(createPod(), &d);
  EXPECT_TRUE(r.ok()) << r.status().message();
  hooks_->release();
}

// clientConfig.caBundle: the webhook's certificate must verify against it.
TEST_F(AdmissionTest, ACaBundleThatDoesNotVerifyTheServerIsACallFailure) {
  hooks_->on("allow", allow);
  validatingHook("pinned", "pinned.kubeop.io", "allow",
                 R"({"clientConfig":{"caBundle":")" + TestPki::get().otherCaBundle + R"("}})");
  ErrorDetails d;
  auto r = chain().admit(createPod(), &d);
  ASSERT_FALSE(r.ok());
  // Go's wording for an unknown authority, as kubectl users know it.
  EXPECT_EQ(r.status().message(), R"(Internal error occurred: failed calling webhook "pinned.kubeop.io": failed to call webhook: Post ")" +
                                      hooks_->url("allow") +
                                      R"(?timeout=5s": tls: failed to verify certificate: x509: certificate signed by unknown authority)");
  EXPECT_EQ(hooks_->calls("allow"), 0u);
}

// request.VerifyAdmissionResponse: response.uid must be the request's.
TEST_F(AdmissionTest, AResponseForAnotherUidIsAnInvalidResponse) {
  hooks_->on("liar", [](const json::Value&) {
    return http::Response::json(200, R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"nope","allowed":true}})");
  });
  validatingHook("liar", "liar.kubeop.io", "liar");
  auto r = chain().admit(createPod());
  ASSERT_FALSE(r.ok());
  std::string uid = at(hooks_->review("liar"), {"request", "uid"});
  EXPECT_EQ(r.status().message(), R"(Internal error occurred: failed calling webhook "liar.kubeop.io": received invalid webhook response: expected response.uid=")" +
                                      uid + R"(", got "nope")");
}

// request.VerifyAdmissionResponse: a validating webhook may not return a patch.
TEST_F(AdmissionTest, AValidatingWebhookMayNotReturnAPatch) {
  hooks_->on("patcher", [](const json::Value& rv) { return patchReply(rv, "[]"); });
  validatingHook("patcher", "patcher.kubeop.io", "patcher");
  auto r = chain().admit(createPod());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(Internal error occurred: failed calling webhook "patcher.kubeop.io": received invalid webhook response: validating webhook may not return response.patch)");
}

// client-go: a non-2xx answer that is not a metav1.Status is a generic server response error.
TEST_F(AdmissionTest, AServerErrorAnswerIsACallFailure) {
  hooks_->on("boom", [](const json::Value&) { return http::Response::text(500, "boom"); });
  validatingHook("boom", "boom.kubeop.io", "boom");
  auto r = chain().admit(createPod());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(Internal error occurred: failed calling webhook "boom.kubeop.io": failed to call webhook: an error on the server ("boom") has prevented the request from succeeding)");
}

// mutating/dispatcher.go: a non-empty patch with no object to apply it to (DELETE) is an
// internal error whatever the failurePolicy.
TEST_F(AdmissionTest, APatchForADeleteIsRefused) {
  hooks_->on("inject", [](const json::Value& rv) {
    return patchReply(rv, R"([{"op":"add","path":"/metadata/labels/x","value":"y"}])");
  });
  mutatingHook("inject", "inject.kubeop.io", "inject",
               R"({"failurePolicy":"Ignore","rules":[{"operations":["DELETE"],"apiGroups":[""],"apiVersions":["v1"],"resources":["pods"]}]})");
  AdmissionAttributes a = createPod();
  a.operation = "DELETE";
  a.object = nullptr;
  a.oldObject = &pod_;
  auto r = chain().admit(a);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(Internal error occurred: admission webhook "inject.kubeop.io" attempted to modify the object, which is not supported for this operation)");
  json::Document rv = hooks_->review("inject");
  EXPECT_EQ(at(rv, {"request", "object"}), "null");
  EXPECT_EQ(at(rv, {"request", "oldObject", "metadata", "name"}), "web");
  EXPECT_EQ(at(rv, {"request", "options"}), R"({"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1"})");
}

// AdmissionResponse.warnings reach the caller (the API server sends them as Warning headers),
// with a denial as well.
TEST_F(AdmissionTest, SurfacesTheWebhooksWarnings) {
  hooks_->on("warn", [](const json::Value& rv) {
    return reply(rv, R"({"allowed":true,"warnings":["image tag is mutable","image tag is mutable"]})");
  });
  hooks_->on("deny", [](const json::Value& rv) {
    return reply(rv, R"({"allowed":false,"warnings":["see the policy"],"status":{"message":"no"}})");
  });
  validatingHook("warn", "warn.kubeop.io", "warn");
  AdmissionReport report;
  ASSERT_TRUE(chain().admit(createPod(), nullptr, &report).ok());
  EXPECT_EQ(report.warnings, (std::vector<std::string>{"image tag is mutable"}));

  mutatingHook("deny", "deny.kubeop.io", "deny");
  AdmissionReport denied;
  EXPECT_FALSE(chain().admit(createPod(), nullptr, &denied).ok());
  EXPECT_EQ(denied.warnings, (std::vector<std::string>{"see the policy"}));
}

// ---------------------------------------------------------------------------------------------
// Matching

// rules.Matcher.operation: listed operations or "*".
TEST_F(AdmissionTest, MatchesRulesByOperation) {
  hooks_->on("update", allow);
  hooks_->on("any", allow);
  validatingHook("update", "update.kubeop.io", "update",
                 R"({"rules":[{"operations":["UPDATE"],"apiGroups":[""],"apiVersions":["v1"],"resources":["pods"]}]})");
  validatingHook("any", "any.kubeop.io", "any",
                 R"({"rules":[{"operations":["*"],"apiGroups":["*"],"apiVersions":["*"],"resources":["pods"]}]})");
  ASSERT_TRUE(chain().admit(createPod()).ok());
  EXPECT_EQ(hooks_->calls("update"), 0u);
  EXPECT_EQ(hooks_->calls("any"), 1u);
  AdmissionAttributes up = createPod();
  up.operation = "UPDATE";
  up.oldObject = &pod_;
  ASSERT_TRUE(chain().admit(up).ok());
  EXPECT_EQ(hooks_->calls("update"), 1u);
  EXPECT_EQ(hooks_->calls("any"), 2u);
  EXPECT_EQ(at(hooks_->review("update"), {"request", "options", "kind"}), "UpdateOptions");
}

// rules.Matcher.resource: "pods" is the main resource only, "pods/status" the subresource,
// "pods/*" both, "*" every main resource, "*/*" everything, "*/status" every status.
TEST_F(AdmissionTest, MatchesResourcesWithWildcardsAndSubresources) {
  const std::vector<std::pair<std::string, std::string>> hooks = {
      {"pods", "pods"}, {"podstatus", "pods/status"}, {"podsall", "pods/*"},
      {"star", "*"},    {"starstar", "*/*"},          {"anystatus", "*/status"}};
  for (const auto& [name, res] : hooks) {
    hooks_->on(name, allow);
    validatingHook(name, name + ".kubeop.io", name,
                   R"({"rules":[{"operations":["*"],"apiGroups":[""],"apiVersions":["v1"],"resources":[")" + res + R"("]}]})");
  }
  ASSERT_TRUE(chain().admit(createPod()).ok());
  AdmissionAttributes status = createPod();
  status.operation = "UPDATE";
  status.subresource = "status";
  status.oldObject = &pod_;
  ASSERT_TRUE(chain().admit(status).ok());
  std::map<std::string, size_t> calls;
  for (const auto& [name, res] : hooks) calls[name] = hooks_->calls(name);
  EXPECT_EQ(calls, (std::map<std::string, size_t>{{"pods", 1}, {"podstatus", 1}, {"podsall", 2},
                                                   {"star", 1}, {"starstar", 2}, {"anystatus", 1}}));
  json::Document rv = hooks_->review("podstatus");
  EXPECT_EQ(at(rv, {"request", "subResource"}), "status");
  EXPECT_EQ(at(rv, {"request", "requestSubResource"}), "status");
}

// rules.Matcher.group / version.
TEST_F(AdmissionTest, MatchesRulesByGroupAndVersion) {
  hooks_->on("apps", allow);
  hooks_->on("v2", allow);
  validatingHook("apps", "apps.kubeop.io", "apps",
                 R"({"rules":[{"operations":["*"],"apiGroups":["apps"],"apiVersions":["*"],"resources":["*"]}]})");
  validatingHook("v2", "v2.kubeop.io", "v2",
                 R"({"rules":[{"operations":["*"],"apiGroups":["*"],"apiVersions":["v2"],"resources":["*"]}]})");
  ASSERT_TRUE(chain().admit(createPod()).ok());
  EXPECT_EQ(hooks_->calls("apps"), 0u);
  EXPECT_EQ(hooks_->calls("v2"), 0u);
  json::Document deploy = parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"team-a"}})");
  AdmissionAttributes a = createPod(&deploy);
  a.type = registry_->find("apps", "v1", "deployments").get();
  a.name = "d";
  ASSERT_TRUE(chain().admit(a).ok());
  EXPECT_EQ(hooks_->calls("apps"), 1u);
  EXPECT_EQ(at(hooks_->review("apps"), {"request", "kind"}), R"({"group":"apps","version":"v1","kind":"Deployment"})");
}

// rules.Matcher.scope: Namespaced needs a namespace and excludes Namespace objects; Cluster
// takes cluster-scoped kinds and Namespace objects.
TEST_F(AdmissionTest, MatchesScopeWithNamespacesCountingAsClusterScoped) {
  hooks_->on("namespaced", allow);
  hooks_->on("cluster", allow);
  validatingHook("namespaced", "namespaced.kubeop.io", "namespaced",
                 R"({"rules":[{"operations":["CREATE"],"apiGroups":["*"],"apiVersions":["*"],"resources":["*"],"scope":"Namespaced"}]})");
  validatingHook("cluster", "cluster.kubeop.io", "cluster",
                 R"({"rules":[{"operations":["CREATE"],"apiGroups":["*"],"apiVersions":["*"],"resources":["*"],"scope":"Cluster"}]})");
  ASSERT_TRUE(chain().admit(createPod()).ok());
  EXPECT_EQ(hooks_->calls("namespaced"), 1u);
  EXPECT_EQ(hooks_->calls("cluster"), 0u);

  json::Document ns = parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-c"}})");
  AdmissionAttributes a;
  a.operation = "CREATE";
  a.type = registry_->find("", "v1", "namespaces").get();
  a.name = "team-c";
  a.object = &ns;
  ASSERT_TRUE(chain().admit(a).ok());
  EXPECT_EQ(hooks_->calls("namespaced"), 1u);
  EXPECT_EQ(hooks_->calls("cluster"), 1u);

  json::Document role = parse(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"r"}})");
  a.type = registry_->find("rbac.authorization.k8s.io", "v1", "clusterroles").get();
  a.name = "r";
  a.object = &role;
  ASSERT_TRUE(chain().admit(a).ok());
  EXPECT_EQ(hooks_->calls("cluster"), 2u);
  EXPECT_EQ(at(hooks_->review("cluster", 1), {"request", "namespace"}), "<missing>");
}

// predicates/namespace: the namespace's labels; a Namespace's own labels on CREATE/UPDATE;
// cluster-scoped kinds other than Namespace are never exempted.
TEST_F(AdmissionTest, NamespaceSelectorMatchesTheNamespacesLabels) {
  hooks_->on("prod", allow);
  validatingHook("prod", "prod.kubeop.io", "prod",
                 R"({"namespaceSelector":{"matchLabels":{"env":"prod"}},
                     "rules":[{"operations":["*"],"apiGroups":["*"],"apiVersions":["*"],"resources":["*"]}]})");
  ASSERT_TRUE(chain().admit(createPod()).ok());  // team-a: env=prod
  EXPECT_EQ(hooks_->calls("prod"), 1u);
  json::Document podB = parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"team-b"}})");
  AdmissionAttributes b = createPod(&podB);
  b.ns = "team-b";
  ASSERT_TRUE(chain().admit(b).ok());
  EXPECT_EQ(hooks_->calls("prod"), 1u);

  // A Namespace being created is matched on its own labels.
  json::Document ns = parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-c","labels":{"env":"prod"}}})");
  AdmissionAttributes a;
  a.operation = "CREATE";
  a.type = registry_->find("", "v1", "namespaces").get();
  a.name = "team-c";
  a.object = &ns;
  ASSERT_TRUE(chain().admit(a).ok());
  EXPECT_EQ(hooks_->calls("prod"), 2u);

  // Deleting a Namespace: the stored namespace's labels, and the request namespace is its name.
  json::Document teamA = parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a","labels":{"env":"prod"}}})");
  AdmissionAttributes del;
  del.operation = "DELETE";
  del.type = a.type;
  del.name = "team-a";
  del.oldObject = &teamA;
  ASSERT_TRUE(chain().admit(del).ok());
  EXPECT_EQ(hooks_->calls("prod"), 3u);
  EXPECT_EQ(at(hooks_->review("prod", 2), {"request", "namespace"}), "team-a");

  // Cluster-scoped: always matched.
  json::Document role = parse(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"r"}})");
  a.type = registry_->find("rbac.authorization.k8s.io", "v1", "clusterroles").get();
  a.name = "r";
  a.object = &role;
  ASSERT_TRUE(chain().admit(a).ok());
  EXPECT_EQ(hooks_->calls("prod"), 4u);
}

// predicates/namespace: a namespace that does not exist answers 404 "for backwards
// compatibility" — only when the rules match.
TEST_F(AdmissionTest, NamespaceSelectorForAMissingNamespaceIsNotFound) {
  hooks_->on("prod", allow);
  validatingHook("prod", "prod.kubeop.io", "prod", R"({"namespaceSelector":{"matchLabels":{"env":"prod"}}})");
  json::Document pod = parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"ghost"}})");
  AdmissionAttributes a = createPod(&pod);
  a.ns = "ghost";
  ErrorDetails d;
  auto r = chain().admit(a, &d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(namespaces "ghost" not found)");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  a.operation = "DELETE";  // rules do not match: no lookup, no error
  a.object = nullptr;
  a.oldObject = &pod;
  EXPECT_TRUE(chain().admit(a).ok());
}

// predicates/object: the new or the old object's labels.
TEST_F(AdmissionTest, ObjectSelectorMatchesTheNewOrTheOldObject) {
  hooks_->on("web", allow);
  validatingHook("web", "web.kubeop.io", "web",
                 R"({"objectSelector":{"matchExpressions":[{"key":"app","operator":"In","values":["web"]}]},
                     "rules":[{"operations":["*"],"apiGroups":[""],"apiVersions":["v1"],"resources":["pods"]}]})");
  ASSERT_TRUE(chain().admit(createPod()).ok());
  EXPECT_EQ(hooks_->calls("web"), 1u);

  json::Document other = parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"team-a","labels":{"app":"db"}}})");
  ASSERT_TRUE(chain().admit(createPod(&other)).ok());
  EXPECT_EQ(hooks_->calls("web"), 1u);

  AdmissionAttributes relabel = createPod(&other);  // app=web → app=db: the old object matches
  relabel.operation = "UPDATE";
  relabel.oldObject = &pod_;
  ASSERT_TRUE(chain().admit(relabel).ok());
  EXPECT_EQ(hooks_->calls("web"), 2u);

  AdmissionAttributes del = createPod();  // DELETE: only the old object
  del.operation = "DELETE";
  del.object = nullptr;
  del.oldObject = &pod_;
  ASSERT_TRUE(chain().admit(del).ok());
  EXPECT_EQ(hooks_->calls("web"), 3u);
}

// matchPolicy Equivalent (the v1 default): a rule naming another served version of the same
// resource matches, and the webhook gets the object in that version; Exact does not.
TEST_F(AdmissionTest, EquivalentMatchPolicySendsTheObjectInTheVersionTheRuleNames) {
  ResourceType v1;
  v1.group = "example.com";
  v1.version = "v1";
  v1.kind = "Widget";
  v1.plural = "widgets";
  v1.custom = true;
  ResourceType v2 = v1;
  v2.version = "v2";
  ASSERT_TRUE(registry_->addCustom(v1).ok());
  ASSERT_TRUE(registry_->addCustom(v2).ok());
  hooks_->on("eq", [](const json::Value& rv) {
    return patchReply(rv, R"([{"op":"add","path":"/spec/seen","value":true}])");
  });
  hooks_->on("exact", allow);
  std::string rules = R"("rules":[{"operations":["CREATE"],"apiGroups":["example.com"],"apiVersions":["v1"],"resources":["widgets"]}])";
  mutatingHook("eq", "eq.kubeop.io", "eq", "{" + rules + "}");
  mutatingHook("exact", "exact.kubeop.io", "exact", R"({"matchPolicy":"Exact",)" + rules + "}");
  json::Document w = parse(R"({"apiVersion":"example.com/v2","kind":"Widget","metadata":{"name":"w","namespace":"team-a"},"spec":{}})");
  AdmissionAttributes a = createPod(&w);
  a.type = registry_->find("example.com", "v2", "widgets").get();
  a.name = "w";
  auto r = chain().admit(a);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(hooks_->calls("exact"), 0u);
  json::Document rv = hooks_->review("eq");
  EXPECT_EQ(at(rv, {"request", "kind", "version"}), "v1");
  EXPECT_EQ(at(rv, {"request", "resource", "version"}), "v1");
  EXPECT_EQ(at(rv, {"request", "requestKind", "version"}), "v2");
  EXPECT_EQ(at(rv, {"request", "object", "apiVersion"}), "example.com/v1");
  // The patched object comes back in the request's version.
  EXPECT_EQ(at(*r, {"apiVersion"}), "example.com/v2");
  EXPECT_EQ(at(*r, {"spec", "seen"}), "true");
}

// kube-apiserver keys resource equivalence by storage: events.k8s.io/v1 events are served from
// the core event storage, so a rule for v1 events also matches them (Equivalent), and the webhook
// gets the Event in the core shape (note → message, regarding → involvedObject); Exact does not.
TEST_F(AdmissionTest, EquivalentMatchPolicyCoversBothEventGroupsInTheShapeTheRuleNames) {
  hooks_->on("core", [](const json::Value& rv) {
    return patchReply(rv, R"([{"op":"replace","path":"/message","value":"reviewed"}])");
  });
  hooks_->on("exact", allow);
  std::string rules = R"("rules":[{"operations":["CREATE"],"apiGroups":[""],"apiVersions":["v1"],"resources":["events"]}])";
  mutatingHook("core", "core.kubeop.io", "core", "{" + rules + "}");
  mutatingHook("exact", "exact.kubeop.io", "exact", R"({"matchPolicy":"Exact",)" + rules + "}");
  json::Document e = parse(R"({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e1","namespace":"team-a"},
      "eventTime":"2026-11-24T01:02:03.000000Z","reportingController":"kubeop.io/operator","reportingInstance":"op-1",
      "action":"Apply","reason":"Applied","type":"Normal","note":"applied 2 objects",
      "regarding":{"kind":"App","namespace":"team-a","name":"shop"}})");
  AdmissionAttributes a = createPod(&e);
  a.type = registry_->find("events.k8s.io", "v1", "events").get();
  ASSERT_NE(a.type, nullptr);
  a.name = "e1";
  auto r = chain().admit(a);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(hooks_->calls("exact"), 0u) << "Exact names v1 events only";
  ASSERT_EQ(hooks_->calls("core"), 1u);
  json::Document rv = hooks_->review("core");
  EXPECT_EQ(at(rv, {"request", "kind", "group"}), "");
  EXPECT_EQ(at(rv, {"request", "resource", "resource"}), "events");
  EXPECT_EQ(at(rv, {"request", "requestKind", "group"}), "events.k8s.io");
  EXPECT_EQ(at(rv, {"request", "object", "apiVersion"}), "v1");
  EXPECT_EQ(at(rv, {"request", "object", "message"}), "applied 2 objects");
  EXPECT_EQ(at(rv, {"request", "object", "involvedObject", "name"}), "shop");
  // The patch made to the core shape comes back in the request's shape.
  EXPECT_EQ(at(*r, {"apiVersion"}), "events.k8s.io/v1");
  EXPECT_EQ(at(*r, {"note"}), "reviewed");
  EXPECT_EQ(at(*r, {"regarding", "name"}), "shop");
}

// rules.IsExemptAdmissionConfigurationResource: webhook configurations are never sent to
// webhooks (a broken webhook cannot lock itself in).
TEST_F(AdmissionTest, NeverSendsWebhookConfigurationsToWebhooks) {
  DownWebhook down;
  validatingHook("everything", "everything.kubeop.io", "down",
                 R"({"clientConfig":{"url":")" + down.url() + R"("},
                     "rules":[{"operations":["*"],"apiGroups":["*"],"apiVersions":["*"],"resources":["*/*"]}]})");
  json::Document cfg = parse(R"({"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfiguration","metadata":{"name":"everything"}})");
  AdmissionAttributes a;
  a.operation = "DELETE";
  a.type = registry_->find("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations").get();
  a.name = "everything";
  a.oldObject = &cfg;
  EXPECT_TRUE(chain().admit(a).ok());
  EXPECT_FALSE(chain().admit(createPod()).ok());  // while everything else is
}

// ---------------------------------------------------------------------------------------------
// Dry run, services, configuration changes

// mutating/validating callHook: a dry-run request is refused with 400 for sideEffects other
// than None/NoneOnDryRun, whatever the failurePolicy; the others get dryRun=true.
TEST_F(AdmissionTest, DryRunIsRefusedForWebhooksWithSideEffects) {
  hooks_->on("safe", allow);
  hooks_->on("effects", allow);
  validatingHook("safe", "safe.kubeop.io", "safe", R"({"sideEffects":"NoneOnDryRun"})");
  AdmissionAttributes a = createPod();
  a.dryRun = true;
  ASSERT_TRUE(chain().admit(a).ok());
  json::Document rv = hooks_->review("safe");
  EXPECT_EQ(at(rv, {"request", "dryRun"}), "true");
  EXPECT_EQ(at(rv, {"request", "options", "dryRun"}), R"(["All"])");

  size_t called = 0;
  for (const char* effects : {"Some", "Unknown"}) {
    SCOPED_TRACE(effects);
    std::string config = std::string("effects-") + (effects[0] == 'S' ? "some" : "unknown");
    validatingHook(config, "effects.kubeop.io", "effects",
                   std::string(R"({"failurePolicy":"Ignore","sideEffects":")") + effects + "\"}");
    ErrorDetails d;
    auto r = chain().admit(a, &d);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), R"(admission webhook "effects.kubeop.io" does not support dry run)");
    EXPECT_EQ(d.code, 400);
    EXPECT_EQ(d.reason, "BadRequest");
    EXPECT_EQ(hooks_->calls("effects"), called);
    a.dryRun = false;  // a real request calls it
    EXPECT_TRUE(chain().admit(a).ok());
    EXPECT_EQ(hooks_->calls("effects"), ++called);
    a.dryRun = true;
    ASSERT_TRUE(store_->remove(kValidating, "", config).ok());
  }
  EXPECT_EQ(hooks_->calls("effects"), 2u);
}

// clientConfig.service: https://<name>.<namespace>.svc:<port><path>, the certificate verified
// for that name; the sandbox reaches it only through the service resolver.
TEST_F(AdmissionTest, ReachesServiceReferencesThroughTheServiceResolver) {
  hooks_->on("svc", allow);
  validatingHook("svc", "svc.kubeop.io", "unused",
                 R"({"clientConfig":{"url":null,"service":{"namespace":"webhooks","name":"hook-svc","path":"/svc","port":8443}}})");
  std::vector<std::string> asked;
  AdmissionOptions o;
  o.serviceResolver = [&](std::string_view ns, std::string_view name, int port) -> std::optional<std::string> {
    asked.push_back(std::string(ns) + "/" + std::string(name) + ":" + std::to_string(port));
    if (name != "hook-svc") return std::nullopt;
    return "https://127.0.0.1:" + std::to_string(hooks_->port());
  };
  auto r = chain(o).admit(createPod());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(asked, (std::vector<std::string>{"webhooks/hook-svc:8443"}));
  EXPECT_EQ(hooks_->target("svc"), "/svc?timeout=5s");
}

TEST_F(AdmissionTest, AServiceReferenceWithoutAResolverIsACallFailure) {
  validatingHook("svc", "svc.kubeop.io", "unused",
                 R"({"clientConfig":{"url":null,"service":{"namespace":"webhooks","name":"hook-svc"}}})");
  auto r = chain().admit(createPod());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(Internal error occurred: failed calling webhook "svc.kubeop.io": failed to call webhook: Post "https://hook-svc.webhooks.svc:443/?timeout=5s": service "webhooks/hook-svc" is not reachable (the sandbox has no Service networking))");
}

// The configurations are the store's: created, changed and deleted ones take effect at the next
// request.
TEST_F(AdmissionTest, FollowsConfigurationChangesInTheStore) {
  hooks_->on("allow", allow);
  hooks_->on("deny", [](const json::Value& rv) { return reply(rv, R"({"allowed":false,"status":{"message":"no"}})"); });
  EXPECT_FALSE(chain().hasWebhooks());
  ASSERT_TRUE(chain().admit(createPod()).ok());

  validatingHook("gate", "gate.kubeop.io", "allow");
  EXPECT_TRUE(chain().hasWebhooks());
  ASSERT_TRUE(chain().admit(createPod()).ok());
  EXPECT_EQ(hooks_->calls("allow"), 1u);

  auto updated = Object::fromJson(R"({"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfiguration",
                                      "metadata":{"name":"gate"},"webhooks":[)" + webhook("gate.kubeop.io", "deny") + "]}");
  ASSERT_TRUE(updated.ok());
  ASSERT_TRUE(store_->update(kValidating, "", "gate", std::move(updated).value()).ok());
  EXPECT_FALSE(chain().admit(createPod()).ok());

  ASSERT_TRUE(store_->remove(kValidating, "", "gate").ok());
  EXPECT_TRUE(chain().admit(createPod()).ok());
  EXPECT_FALSE(chain().hasWebhooks());
  EXPECT_EQ(hooks_->calls("allow"), 1u);
  EXPECT_EQ(hooks_->calls("deny"), 1u);
}

// request.CreateAdmissionObjects: the first version in admissionReviewVersions the server
// speaks (v1, v1beta1); none → a call failure.
TEST_F(AdmissionTest, SendsTheFirstAdmissionReviewVersionTheWebhookAccepts) {
  hooks_->on("beta", allow);
  validatingHook("beta", "beta.kubeop.io", "beta", R"({"admissionReviewVersions":["v1beta1","v1"]})");
  ASSERT_TRUE(chain().admit(createPod()).ok());
  EXPECT_EQ(at(hooks_->review("beta"), {"apiVersion"}), "admission.k8s.io/v1beta1");

  validatingHook("future", "future.kubeop.io", "beta", R"({"admissionReviewVersions":["v2"]})");
  auto r = chain().admit(createPod());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), R"(Internal error occurred: failed calling webhook "future.kubeop.io": could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1))");
}

// The API server admits from several threads at once.
TEST_F(AdmissionTest, AdmitsConcurrentRequests) {
  hooks_->on("inject", [](const json::Value& rv) {
    return patchReply(rv, R"([{"op":"add","path":"/metadata/labels/injected","value":"yes"}])");
  });
  hooks_->on("check", [](const json::Value& rv) {
    bool injected = at(rv, {"request", "object", "metadata", "labels", "injected"}) == "yes";
    return reply(rv, injected ? R"({"allowed":true})" : R"({"allowed":false})");
  });
  mutatingHook("inject", "inject.kubeop.io", "inject");
  validatingHook("check", "check.kubeop.io", "check");
  validatingHook("check-again", "check-again.kubeop.io", "check");
  AdmissionChain& c = chain();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto r = c.admit(createPod());
        if (r.ok() && at(*r, {"metadata", "labels", "injected"}) == "yes") ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_EQ(hooks_->calls("inject"), 40u);
  EXPECT_EQ(hooks_->calls("check"), 80u);
}

// mutate() and validate() are the two halves of admit().
TEST_F(AdmissionTest, MutateAndValidateRunOnePhaseEach) {
  hooks_->on("inject", [](const json::Value& rv) {
    return patchReply(rv, R"([{"op":"add","path":"/metadata/labels/injected","value":"yes"}])");
  });
  hooks_->on("check", allow);
  mutatingHook("inject", "inject.kubeop.io", "inject");
  validatingHook("check", "check.kubeop.io", "check");
  auto m = chain().mutate(createPod());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(hooks_->calls("check"), 0u);
  AdmissionAttributes a = createPod(&*m);
  ASSERT_TRUE(chain().validate(a).ok());
  EXPECT_EQ(hooks_->calls("inject"), 1u);
  EXPECT_EQ(at(hooks_->review("check"), {"request", "object", "metadata", "labels", "injected"}), "yes");
}

}  // namespace
}  // namespace kubeop::sandbox
