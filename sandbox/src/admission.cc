// Admission webhooks for `kubeop sandbox`. See admission.h for the semantics; the upstream code
// each piece follows is named where it lives:
//   generic/webhook.go (ShouldCallHook), predicates/{rules,namespace,object},
//   mutating/dispatcher.go (+ reinvocationcontext.go), validating/dispatcher.go,
//   request/admissionreview.go, errors/statuserror.go, util/webhook/error.go.
#include "kubeop/sandbox/admission.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "kubeop/core/pki.h"
#include "kubeop/http/client.h"
#include "kubeop/http/url.h"
#include "kubeop/kube/patch.h"
#include "kubeop/log/log.h"
#include "kubeop/sandbox/selectors.h"

namespace kubeop::sandbox {

namespace {

constexpr std::string_view kAdmissionRegistrationGroup = "admissionregistration.k8s.io";
const GroupResource kMutatingConfigurations{"admissionregistration.k8s.io", "mutatingwebhookconfigurations"};
const GroupResource kValidatingConfigurations{"admissionregistration.k8s.io", "validatingwebhookconfigurations"};
const GroupResource kNamespaces{"", "namespaces"};

// ---------------------------------------------------------------------------------------------
// Configuration model (admissionregistration/v1 after defaulting).

struct Rule {
  std::vector<std::string> operations;
  std::vector<std::string> apiGroups;
  std::vector<std::string> apiVersions;
  std::vector<std::string> resources;
  std::string scope = "*";
};

struct ServiceRef {
  std::string ns;
  std::string name;
  std::string path;
  int port = 443;
};

struct Hook {
  bool mutating = false;
  std::string configName;
  std::string name;
  // generic webhook accessor UID: "<configuration>/<webhook>/<index>" (reinvocation bookkeeping).
  std::string uid;
  std::optional<std::string> url;
  std::optional<ServiceRef> service;
  std::string caPem;
  Status caError;  // caBundle not base64: the REST client cannot be built
  std::vector<Rule> rules;
  bool failOpen = false;    // failurePolicy Ignore (default Fail)
  bool equivalent = true;   // matchPolicy Equivalent (the v1 default) vs Exact
  LabelSelector namespaceSelector;
  Status namespaceSelectorError;
  LabelSelector objectSelector;
  Status objectSelectorError;
  std::optional<std::string> sideEffects;
  int timeoutSeconds = 10;
  std::vector<std::string> reviewVersions;
  bool reinvokeIfNeeded = false;
  size_t matchConditions = 0;
  std::string clientKey;  // caPem, TLS server name, timeout
};

struct Snapshot {
  std::vector<Hook> mutating;
  std::vector<Hook> validating;
};

std::vector<std::string> stringList(const json::Value& obj, std::string_view key) {
  std::vector<std::string> out;
  const json::Value* v = json::find(obj, key);
  if (!v || !v->IsArray()) return out;
  for (const auto& s : v->GetArray()) {
    if (s.IsString()) out.emplace_back(json::view(s));
  }
  return out;
}

std::string serviceHost(const ServiceRef& s) { return s.name + "." + s.ns + ".svc"; }

Hook parseHook(const json::Value& w, std::string_view configName, size_t index, bool mutating) {
  Hook h;
  h.mutating = mutating;
  h.configName = std::string(configName);
  h.name = std::string(json::getString(w, "name"));
  h.uid = h.configName + "/" + h.name + "/" + std::to_string(index);
  if (const json::Value* cc = json::find(w, "clientConfig"); cc && cc->IsObject()) {
    if (const json::Value* u = json::find(*cc, "url"); u && u->IsString()) h.url = std::string(json::view(*u));
    if (const json::Value* s = json::find(*cc, "service"); s && s->IsObject()) {
      ServiceRef ref;
      ref.ns = std::string(json::getString(*s, "namespace"));
      ref.name = std::string(json::getString(*s, "name"));
      ref.path = std::string(json::getString(*s, "path"));
      if (const json::Value* p = json::find(*s, "port"); p && p->IsInt()) ref.port = p->GetInt();
      h.service = std::move(ref);
    }
    std::string_view ca = json::getString(*cc, "caBundle");
    if (!ca.empty()) {
      auto pem = pki::base64Decode(ca);
      if (pem.ok()) {
        h.caPem = std::move(pem).value();
      } else {
        h.caError = invalidArgument("caBundle: " + pem.status().message());
      }
    }
  }
  if (const json::Value* rules = json::find(w, "rules"); rules && rules->IsArray()) {
    for (const auto& r : rules->GetArray()) {
      if (!r.IsObject()) continue;
      Rule rule;
      rule.operations = stringList(r, "operations");
      rule.apiGroups = stringList(r, "apiGroups");
      rule.apiVersions = stringList(r, "apiVersions");
      rule.resources = stringList(r, "resources");
      std::string_view scope = json::getString(r, "scope");
      if (!scope.empty()) rule.scope = std::string(scope);
      h.rules.push_back(std::move(rule));
    }
  }
  h.failOpen = json::getString(w, "failurePolicy") == "Ignore";
  h.equivalent = json::getString(w, "matchPolicy") != "Exact";
  // A nil selector defaults to {} (everything), as SetDefaults_ValidatingWebhook does.
  auto selector = [](const json::Value* v, LabelSelector* out, Status* err) {
    if (!v || v->IsNull()) return;
    auto s = LabelSelector::fromJson(v);
    if (s.ok()) {
      *out = std::move(s).value();
    } else {
      *err = s.status();
    }
  };
  selector(json::find(w, "namespaceSelector"), &h.namespaceSelector, &h.namespaceSelectorError);
  selector(json::find(w, "objectSelector"), &h.objectSelector, &h.objectSelectorError);
  if (const json::Value* se = json::find(w, "sideEffects"); se && se->IsString()) h.sideEffects = std::string(json::view(*se));
  if (const json::Value* t = json::find(w, "timeoutSeconds"); t && t->IsInt()) {
    h.timeoutSeconds = std::clamp(t->GetInt(), 1, 30);
  }
  h.reviewVersions = stringList(w, "admissionReviewVersions");
  h.reinvokeIfNeeded = mutating && json::getString(w, "reinvocationPolicy") == "IfNeeded";
  if (const json::Value* mc = json::find(w, "matchConditions"); mc && mc->IsArray()) h.matchConditions = mc->Size();
  std::string serverName = h.service ? serviceHost(*h.service) : std::string();
  h.clientKey = h.caPem + '\0' + serverName + '\0' + std::to_string(h.timeoutSeconds);
  return h;
}

void parseConfigurations(const ListResult& list, bool mutating, std::vector<Hook>* out) {
  std::vector<std::pair<std::string, json::Document>> configs;
  for (const auto& item : list.items) {
    auto doc = json::parse(*item);
    if (!doc.ok() || !doc->IsObject()) continue;
    const json::Value* n = json::findPath(*doc, {"metadata", "name"});
    std::string name = n ? std::string(json::view(*n)) : std::string();
    configs.emplace_back(std::move(name), std::move(doc).value());
  }
  // The configuration managers sort by name (mutating_webhook_manager.go, validating_…).
  std::stable_sort(configs.begin(), configs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [name, doc] : configs) {
    const json::Value* webhooks = json::find(doc, "webhooks");
    if (!webhooks || !webhooks->IsArray()) continue;
    size_t i = 0;
    for (const auto& w : webhooks->GetArray()) {
      if (w.IsObject()) out->push_back(parseHook(w, name, i, mutating));
      ++i;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Errors.

// A failed webhook invocation, classified as the dispatchers classify it.
struct HookError {
  enum class Kind {
    kCalling,    // webhookutil.ErrCallingWebhook: transport or protocol failure (failurePolicy applies)
    kRejection,  // the webhook denied the request
    kOther,      // anything else (dry-run unsupported, patch failures): always rejects
  };
  Kind kind = Kind::kOther;
  Status status;         // kRejection/kOther: the final answer; kCalling: the reason
  ErrorDetails details;  // kRejection/kOther
};

StatusCode codeForHttp(int http) {
  switch (http) {
    case 400: return StatusCode::kInvalidArgument;
    case 403: return StatusCode::kPermissionDenied;
    case 500: return StatusCode::kInternal;
    default: {
      StatusCode c = statusCodeFromHttp(http);
      return c == StatusCode::kOk ? StatusCode::kUnknown : c;
    }
  }
}

// The reason apimachinery's constructors give each code (used when a webhook's status carries a
// code but no reason; upstream would leave it empty, ErrorDetails cannot).
const char* canonicalReason(int http) {
  const char* r = reasonForHttpStatus(http);
  return *r ? r : (http >= 500 ? "InternalError" : "BadRequest");
}

HookError callingError(std::string reason) {
  HookError e;
  e.kind = HookError::Kind::kCalling;
  e.status = unavailable(std::move(reason));
  return e;
}

// apierrors.NewInternalError(err).
HookError internalError(const std::string& err) {
  HookError e;
  e.kind = HookError::Kind::kOther;
  e.status = Status(StatusCode::kInternal, "Internal error occurred: " + err);
  e.details.code = 500;
  e.details.reason = "InternalError";
  e.details.causes.push_back(StatusCause{"", err, ""});
  return e;
}

// apierrors.NewBadRequest(reason).
HookError badRequest(std::string message) {
  HookError e;
  e.kind = HookError::Kind::kOther;
  e.status = invalidArgument(std::move(message));
  e.details.code = 400;
  e.details.reason = "BadRequest";
  return e;
}

// webhookerrors.ToStatusErr: the webhook's metav1.Status with the apiserver's message.
HookError rejection(const std::string& webhook, const json::Value* result) {
  HookError e;
  e.kind = HookError::Kind::kRejection;
  int code = 0;
  std::string message, reason;
  if (result && result->IsObject()) {
    if (const json::Value* c = json::find(*result, "code"); c && c->IsInt()) code = c->GetInt();
    message = std::string(json::getString(*result, "message"));
    reason = std::string(json::getString(*result, "reason"));
    if (const json::Value* d = json::find(*result, "details"); d && d->IsObject()) {
      e.details.name = std::string(json::getString(*d, "name"));
      e.details.group = std::string(json::getString(*d, "group"));
      e.details.kind = std::string(json::getString(*d, "kind"));
      e.details.uid = std::string(json::getString(*d, "uid"));
      if (const json::Value* ra = json::find(*d, "retryAfterSeconds"); ra && ra->IsInt()) {
        e.details.retryAfterSeconds = ra->GetInt();
      }
      if (const json::Value* causes = json::find(*d, "causes"); causes && causes->IsArray()) {
        for (const auto& c : causes->GetArray()) {
          if (!c.IsObject()) continue;
          e.details.causes.push_back(StatusCause{std::string(json::getString(c, "reason")),
                                                 std::string(json::getString(c, "message")),
                                                 std::string(json::getString(c, "field"))});
        }
      }
    }
  }
  if (code < 400) code = 400;
  std::string deniedBy = "admission webhook " + goQuote(webhook) + " denied the request";
  if (!message.empty()) {
    message = deniedBy + ": " + message;
  } else if (!reason.empty()) {
    message = deniedBy + ": " + reason;
  } else {
    message = deniedBy + " without explanation";
  }
  e.details.code = code;
  e.details.reason = reason.empty() ? canonicalReason(code) : reason;
  e.status = Status(codeForHttp(code), std::move(message));
  return e;
}

// apierrors.NewGenericServerResponse as client-go builds it for a non-2xx answer whose body is
// not a metav1.Status (the webhook client has no resource, so no "(post …)" suffix).
std::string genericServerResponse(int code, std::string_view body) {
  std::string serverMessage(body.substr(0, 1024));
  while (!serverMessage.empty() && (serverMessage.back() == '\n' || serverMessage.back() == '\r')) serverMessage.pop_back();
  if (serverMessage.empty()) serverMessage = "unknown";
  switch (code) {
    case 409: return "the server reported a conflict";
    case 404: return "the server could not find the requested resource";
    case 400: return "the server rejected our request for an unknown reason";
    case 401: return "the server has asked for the client to provide credentials";
    case 403: return serverMessage;
    case 405: return "the server does not allow this method on the requested resource";
    case 406:
    case 415: return "the server was unable to respond with a content type that the client supports";
    case 422: return "the server rejected our request due to an error in our request";
    case 429: return "the server has received too many requests and has asked us to try again later";
    case 503: return "the server is currently unable to handle the request";
    case 504: return "the server was unable to return a response in the time allotted, but may still be processing the request";
    default:
      if (code >= 500) return "an error on the server (" + goQuote(serverMessage) + ") has prevented the request from succeeding";
      return "the server responded with the status code " + std::to_string(code) +
             " but did not return more information";
  }
}

// The cause part of Go's *url.Error for a failed POST, from kubeop's http client message
// ("POST <url>: connecting to 127.0.0.1:1: Connection refused" → "dial tcp 127.0.0.1:1: connect:
// connection refused"; deadlines → "context deadline exceeded", as the webhook's context expiring
// reads upstream).
std::string transportCause(const Status& st) {
  if (st.code() == StatusCode::kDeadlineExceeded) return "context deadline exceeded";
  std::string m = st.message();
  // Drop the client's "<METHOD> <url>: " prefix: the caller prints Post "<url>" itself.
  if (auto sp = m.find(' '); sp != std::string::npos && m.compare(0, sp, "POST") == 0) {
    if (auto colon = m.find(": ", sp + 1); colon != std::string::npos) m = m.substr(colon + 2);
  }
  constexpr std::string_view kConnecting = "connecting to ";
  if (m.rfind(kConnecting, 0) == 0) {
    auto colon = m.find(": ", kConnecting.size());
    if (colon != std::string::npos) {
      std::string cause = m.substr(colon + 2);
      if (!cause.empty()) cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
      return "dial tcp " + m.substr(kConnecting.size(), colon - kConnecting.size()) + ": connect: " + cause;
    }
  }
  constexpr std::string_view kVerify = "TLS certificate verification failed: ";
  if (m.rfind(kVerify, 0) == 0) {
    std::string why = m.substr(kVerify.size());
    // Go's crypto/x509 wording for the common cases (kubectl users search for these).
    static const std::pair<std::string_view, std::string_view> kGo[] = {
        {"unable to get local issuer certificate", "x509: certificate signed by unknown authority"},
        {"unable to get issuer certificate", "x509: certificate signed by unknown authority"},
        {"self-signed certificate", "x509: certificate signed by unknown authority"},
        {"self signed certificate", "x509: certificate signed by unknown authority"},
        {"certificate has expired", "x509: certificate has expired or is not yet valid"},
        {"certificate is not yet valid", "x509: certificate has expired or is not yet valid"},
    };
    for (const auto& [openssl, go] : kGo) {
      if (why.rfind(openssl, 0) == 0) return "tls: failed to verify certificate: " + std::string(go);
    }
    return "tls: failed to verify certificate: " + why;
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

std::map<std::string, std::string> labelsOf(const json::Value* obj) {
  std::map<std::string, std::string> out;
  if (!obj) return out;
  const json::Value* l = json::findPath(*obj, {"metadata", "labels"});
  if (!l || !l->IsObject()) return out;
  for (auto it = l->MemberBegin(); it != l->MemberEnd(); ++it) {
    if (it->value.IsString()) out[std::string(json::view(it->name))] = std::string(json::view(it->value));
  }
  return out;
}

bool exactOrWildcard(const std::vector<std::string>& items, std::string_view requested) {
  for (const auto& i : items) {
    if (i == "*" || i == requested) return true;
  }
  return false;
}

std::string newUid() {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  uint64_t a, b;
  {
    std::lock_guard lock(mu);
    a = rng();
    b = rng();
  }
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

json::Value gvkJson(const GroupVersionKind& g, json::Allocator& a) {
  json::Value v(rapidjson::kObjectType);
  v.AddMember("group", json::str(g.group, a), a);
  v.AddMember("version", json::str(g.version, a), a);
  v.AddMember("kind", json::str(g.kind, a), a);
  return v;
}

json::Value gvrJson(const ResourceType& t, json::Allocator& a) {
  json::Value v(rapidjson::kObjectType);
  v.AddMember("group", json::str(t.group, a), a);
  v.AddMember("version", json::str(t.version, a), a);
  v.AddMember("resource", json::str(t.plural, a), a);
  return v;
}

json::Value stringArray(const std::vector<std::string>& items, json::Allocator& a) {
  json::Value v(rapidjson::kArrayType);
  for (const auto& s : items) v.PushBack(json::str(s, a), a);
  return v;
}

bool isNamespaceResource(const ResourceType& t) { return t.group.empty() && t.plural == "namespaces"; }

// One matched (webhook, resource) pair: generic.WebhookInvocation.
struct Invocation {
  const Hook* hook = nullptr;
  const ResourceType* resource = nullptr;  // the request's type or an equivalent version
  GroupVersionKind kind;
  bool converted = false;  // an equivalent version: objects are sent in that version
  ResourceRegistry::TypePtr keep;  // keeps an equivalent version's type alive during the call
};

}  // namespace

// ---------------------------------------------------------------------------------------------

struct AdmissionChain::Impl {
  std::shared_ptr<Store> store;
  std::shared_ptr<const ResourceRegistry> registry;
  AdmissionOptions options;

  // Configuration cache.
  std::mutex configMu;
  std::shared_ptr<const Snapshot> snapshot;
  std::unique_ptr<Watch> mutatingWatch;
  std::unique_ptr<Watch> validatingWatch;

  // HTTP clients by Hook::clientKey.
  std::mutex clientsMu;
  std::map<std::string, std::shared_ptr<http::Client>> clients;

  std::mutex loggedMu;
  std::set<std::string> loggedMatchConditions;

  // --- configurations ---

  static bool drained(Watch* w) {
    bool changed = false;
    while (auto ev = w->next(std::chrono::milliseconds(0))) {
      (void)ev;
      changed = true;
    }
    return changed;
  }

  std::shared_ptr<const Snapshot> current() {
    std::lock_guard lock(configMu);
    bool reload = !snapshot || !mutatingWatch || !validatingWatch || mutatingWatch->ended() ||
                  validatingWatch->ended();
    if (!reload) {
      // Drain both (do not short-circuit: a stale event would cause a second reload later).
      bool m = drained(mutatingWatch.get());
      bool v = drained(validatingWatch.get());
      reload = m || v;
    }
    if (reload) load();
    return snapshot;
  }

  // Lists both kinds and watches from the lists' resourceVersion, so no change falls between.
  void load() {
    auto next = std::make_shared<Snapshot>();
    auto loadOne = [&](const GroupResource& gr, bool mutating, std::unique_ptr<Watch>* watch,
                       std::vector<Hook>* out) {
      watch->reset();
      auto list = store->list(gr, "", ListOptions{});
      if (!list.ok()) {
        log::warn("admission: listing webhook configurations failed",
                  {{"resource", gr.resource}, {"error", list.status().message()}});
        return;
      }
      parseConfigurations(*list, mutating, out);
      WatchOptions wo;
      wo.resourceVersion = list->resourceVersion;
      wo.sendInitialEvents = false;
      auto w = store->watch(gr, "", wo);
      if (w.ok()) *watch = std::move(w).value();
    };
    loadOne(kMutatingConfigurations, true, &mutatingWatch, &next->mutating);
    loadOne(kValidatingConfigurations, false, &validatingWatch, &next->validating);
    snapshot = next;
    pruneClients(*next);
  }

  void pruneClients(const Snapshot& s) {
    std::set<std::string> used;
    for (const auto& h : s.mutating) used.insert(h.clientKey);
    for (const auto& h : s.validating) used.insert(h.clientKey);
    std::lock_guard lock(clientsMu);
    for (auto it = clients.begin(); it != clients.end();) {
      it = used.count(it->first) ? std::next(it) : clients.erase(it);
    }
  }

  StatusOr<std::shared_ptr<http::Client>> clientFor(const Hook& h) {
    std::lock_guard lock(clientsMu);
    if (auto it = clients.find(h.clientKey); it != clients.end()) return it->second;
    http::ClientOptions co;
    co.tls.caPem = h.caPem;
    if (h.service) co.tls.serverName = serviceHost(*h.service);
    co.requestTimeout = std::chrono::seconds(h.timeoutSeconds);
    co.connectTimeout = std::min<std::chrono::milliseconds>(options.connectTimeout, co.requestTimeout);
    co.maxResponseBytes = options.maxResponseBytes;
    co.maxIdleConnectionsPerHost = 4;
    co.userAgent = "kube-apiserver-admission";
    auto c = http::Client::create(std::move(co));
    if (!c.ok()) return c.status();
    std::shared_ptr<http::Client> shared = std::move(c).value();
    clients[h.clientKey] = shared;
    return shared;
  }

  // --- matching: generic.Webhook.ShouldCallHook ---

  struct RequestState {
    const AdmissionAttributes& attrs;
    std::string ns;  // the request namespace as admission.Attributes.GetNamespace() reads
    GroupVersionKind kind;
    json::Document object;  // current (mutated) object; Null when there is none
    // The request namespace's labels, read from the store once per request (matching runs on
    // the dispatching thread only).
    mutable std::optional<std::map<std::string, std::string>> namespaceLabels;
    const json::Value* objectPtr() const { return object.IsNull() ? nullptr : &object; }
  };

  static bool ruleMatches(const Rule& r, const RequestState& rq, const ResourceType& res) {
    // rules.Matcher.scope
    bool nsResource = isNamespaceResource(res);
    if (r.scope == "Namespaced") {
      if (nsResource || rq.ns.empty()) return false;
    } else if (r.scope == "Cluster") {
      if (!(nsResource || rq.ns.empty())) return false;
    } else if (r.scope != "*") {
      return false;
    }
    if (!exactOrWildcard(r.operations, rq.attrs.operation)) return false;
    if (!exactOrWildcard(r.apiGroups, res.group)) return false;
    if (!exactOrWildcard(r.apiVersions, res.version)) return false;
    for (const auto& rs : r.resources) {
      auto slash = rs.find('/');
      std::string_view res0 = slash == std::string::npos ? std::string_view(rs) : std::string_view(rs).substr(0, slash);
      std::string_view sub = slash == std::string::npos ? std::string_view() : std::string_view(rs).substr(slash + 1);
      bool resMatch = res0 == "*" || res0 == res.plural;
      bool subMatch = sub == "*" || sub == rq.attrs.subresource;
      if (resMatch && subMatch) return true;
    }
    return false;
  }

  // predicates/namespace.Matcher.MatchNamespaceSelector: (matches, error).
  std::pair<bool, std::optional<HookError>> matchNamespace(const Hook& h, const RequestState& rq) const {
    const ResourceType& t = *rq.attrs.type;
    if (rq.ns.empty() && !(t.plural == "namespaces" && t.group.empty())) return {true, std::nullopt};
    if (!h.namespaceSelectorError.isOk()) return {false, internalError(h.namespaceSelectorError.message())};
    if (h.namespaceSelector.empty()) return {true, std::nullopt};
    if (isNamespaceResource(t) && rq.attrs.subresource.empty() &&
        (rq.attrs.operation == "CREATE" || rq.attrs.operation == "UPDATE")) {
      return {h.namespaceSelector.matches(labelsOf(rq.objectPtr())), std::nullopt};
    }
    if (rq.namespaceLabels) return {h.namespaceSelector.matches(*rq.namespaceLabels), std::nullopt};
    ErrorDetails d;
    auto ns = store->get(kNamespaces, "", rq.ns, &d);
    if (!ns.ok()) {
      HookError e;
      e.kind = HookError::Kind::kOther;
      if (ns.status().code() == StatusCode::kNotFound) {
        e.status = ns.status();  // for backwards compatibility, a 404 (upstream comment)
        e.details = d;
        return {false, e};
      }
      return {false, internalError(ns.status().message())};
    }
    auto doc = json::parse(**ns);
    if (!doc.ok()) return {false, internalError(doc.status().message())};
    rq.namespaceLabels = labelsOf(&*doc);
    return {h.namespaceSelector.matches(*rq.namespaceLabels), std::nullopt};
  }

  // predicates/object.Matcher.MatchObjectSelector.
  static std::pair<bool, std::optional<HookError>> matchObject(const Hook& h, const RequestState& rq) {
    if (!h.objectSelectorError.isOk()) return {false, internalError(h.objectSelectorError.message())};
    if (h.objectSelector.empty()) return {true, std::nullopt};
    auto one = [&](const json::Value* obj) { return obj && obj->IsObject() && h.objectSelector.matches(labelsOf(obj)); };
    return {one(rq.objectPtr()) || one(rq.attrs.oldObject), std::nullopt};
  }

  static bool exemptConfigurationKind(const GroupVersionKind& k) {
    if (k.group != kAdmissionRegistrationGroup) return false;
    static const std::set<std::string, std::less<>> kinds = {
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",   "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"};
    return kinds.count(k.kind) > 0;
  }

  // nullopt + no error: skip the webhook.
  std::pair<std::optional<Invocation>, std::optional<HookError>> shouldCall(const Hook& h, const RequestState& rq) {
    auto [nsMatch, nsErr] = matchNamespace(h, rq);
    if (!nsMatch && !nsErr) return {std::nullopt, std::nullopt};
    auto [objMatch, objErr] = matchObject(h, rq);
    if (!objMatch && !objErr) return {std::nullopt, std::nullopt};

    std::optional<Invocation> inv;
    for (const auto& r : h.rules) {
      if (ruleMatches(r, rq, *rq.attrs.type)) {
        inv = Invocation{&h, rq.attrs.type, rq.kind, false, nullptr};
        break;
      }
    }
    if (!inv && h.equivalent) {
      // The other served resources of the same storage (EquivalentResourcesFor: kube-apiserver
      // keys equivalence by storage prefix) — other versions of the group/resource, and resources
      // served from another's storage (events.k8s.io/v1 events ↔ v1 events); earlier rules first.
      std::vector<ResourceRegistry::TypePtr> equivalents;
      const std::string mine = storageKey(*rq.attrs.type);
      for (const auto& t : registry->all()) {
        if (storageKey(*t) == mine && (t->group != rq.attrs.type->group || t->version != rq.attrs.type->version)) {
          equivalents.push_back(t);
        }
      }
      for (const auto& r : h.rules) {
        for (const auto& e : equivalents) {
          if (ruleMatches(r, rq, *e)) {
            // KindFor(equivalent, subresource): the type's kind, or the subresource's own kind.
            bool ownKind = rq.attrs.kind.kind.empty();
            GroupVersionKind k = ownKind ? GroupVersionKind{e->group, e->version, e->kind} : rq.kind;
            inv = Invocation{&h, e.get(), k, ownKind, e};
            break;
          }
        }
        if (inv) break;
      }
    }
    if (!inv) return {std::nullopt, std::nullopt};
    if (nsErr) return {std::nullopt, nsErr};
    if (objErr) return {std::nullopt, objErr};
    if (h.matchConditions > 0) {
      std::lock_guard lock(loggedMu);
      if (loggedMatchConditions.insert(h.uid).second) {
        log::warn("admission: matchConditions are not evaluated by the sandbox; treating the webhook as matching",
                  {{"webhook", h.name}, {"configuration", h.configName}});
      }
    }
    return {inv, std::nullopt};
  }

  // --- calling ---

  // The storage a resource's objects live in: "group/resource", its alias's when it has one.
  static std::string storageKey(const ResourceType& t) {
    return t.storage ? t.storage->group + "/" + t.storage->resource : t.group + "/" + t.plural;
  }

  // An object moved from one served shape of a storage to another: through the storage shape
  // when either side is an alias (the Event pair), else only its apiVersion (versions of one
  // group; CRD conversion strategy None).
  static void convertShape(json::Document& d, const ResourceType& from, const ResourceType& to,
                           std::string_view toApiVersion) {
    if (!d.IsObject()) return;
    if (from.storage && from.storage->toStorage) from.storage->toStorage(d, d.GetAllocator());
    if (to.storage && to.storage->fromStorage) to.storage->fromStorage(d, d.GetAllocator());
    json::setString(d, "apiVersion", toApiVersion, d.GetAllocator());
  }

  // An object as the webhook's resource sees it.
  static json::Document versioned(const json::Value* obj, const Invocation& inv, const ResourceType& requestType) {
    json::Document d;
    if (!obj) return d;
    d.CopyFrom(*obj, d.GetAllocator());
    if (inv.converted) convertShape(d, requestType, *inv.resource, inv.kind.apiVersion());
    return d;
  }

  json::Document optionsJson(const AdmissionAttributes& a) const {
    json::Document d;
    if (a.options) {
      d.CopyFrom(*a.options, d.GetAllocator());
      return d;
    }
    const char* kind = a.operation == "CREATE"   ? "CreateOptions"
                       : a.operation == "UPDATE" ? "UpdateOptions"
                       : a.operation == "DELETE" ? "DeleteOptions"
                                                 : nullptr;
    if (!kind) return d;  // CONNECT: no options
    auto& al = d.GetAllocator();
    d.SetObject();
    d.AddMember("kind", json::str(kind, al), al);
    d.AddMember("apiVersion", "meta.k8s.io/v1", al);
    if (a.dryRun) {
      json::Value dr(rapidjson::kArrayType);
      dr.PushBack("All", al);
      d.AddMember("dryRun", dr, al);
    }
    if (!a.fieldManager.empty() && a.operation != "DELETE") {
      d.AddMember("fieldManager", json::str(a.fieldManager, al), al);
    }
    return d;
  }

  // request.CreateV1AdmissionReview (and the v1beta1 twin).
  std::string reviewJson(std::string_view apiVersion, const std::string& uid, const Invocation& inv,
                         const RequestState& rq, const json::Value& object, const json::Value& oldObject) const {
    const AdmissionAttributes& a = rq.attrs;
    json::Document d;
    d.SetObject();
    auto& al = d.GetAllocator();
    d.AddMember("kind", "AdmissionReview", al);
    d.AddMember("apiVersion", json::str(apiVersion, al), al);
    json::Value r(rapidjson::kObjectType);
    r.AddMember("uid", json::str(uid, al), al);
    r.AddMember("kind", gvkJson(inv.kind, al), al);
    r.AddMember("resource", gvrJson(*inv.resource, al), al);
    if (!a.subresource.empty()) r.AddMember("subResource", json::str(a.subresource, al), al);
    r.AddMember("requestKind", gvkJson(rq.kind, al), al);
    r.AddMember("requestResource", gvrJson(*a.type, al), al);
    if (!a.subresource.empty()) r.AddMember("requestSubResource", json::str(a.subresource, al), al);
    if (!a.name.empty()) r.AddMember("name", json::str(a.name, al), al);
    if (!rq.ns.empty()) r.AddMember("namespace", json::str(rq.ns, al), al);
    r.AddMember("operation", json::str(a.operation, al), al);
    json::Value user(rapidjson::kObjectType);
    if (!a.userName.empty()) user.AddMember("username", json::str(a.userName, al), al);
    if (!a.userUid.empty()) user.AddMember("uid", json::str(a.userUid, al), al);
    if (!a.groups.empty()) user.AddMember("groups", stringArray(a.groups, al), al);
    if (!a.extra.empty()) {
      json::Value extra(rapidjson::kObjectType);
      for (const auto& [k, v] : a.extra) extra.AddMember(json::str(k, al), stringArray(v, al), al);
      user.AddMember("extra", extra, al);
    }
    r.AddMember("userInfo", user, al);
    json::Value obj;
    obj.CopyFrom(object, al);
    r.AddMember("object", obj, al);
    json::Value old;
    old.CopyFrom(oldObject, al);
    r.AddMember("oldObject", old, al);
    r.AddMember("dryRun", a.dryRun, al);
    json::Document opts = optionsJson(a);
    json::Value ov;
    ov.CopyFrom(opts, al);
    r.AddMember("options", ov, al);
    d.AddMember("request", r, al);
    return json::write(d);
  }

  struct CallOutcome {
    std::optional<HookError> error;
    bool changed = false;
    std::vector<std::string> warnings;
  };

  // mutatingDispatcher.callAttrMutatingHook / validatingDispatcher.callHook. For a mutating
  // webhook `object` is updated in place when the patch changes it.
  CallOutcome callHook(const Invocation& inv, const RequestState& rq, json::Document* object) {
    const Hook& h = *inv.hook;
    CallOutcome out;
    if (rq.attrs.dryRun) {
      if (!h.sideEffects) {
        out.error = callingError("Webhook SideEffects is nil");
        return out;
      }
      if (*h.sideEffects != "None" && *h.sideEffects != "NoneOnDryRun") {
        // webhookerrors.NewDryRunUnsupportedErr: not a calling error, failurePolicy does not apply.
        out.error = badRequest("admission webhook " + goQuote(h.name) + " does not support dry run");
        return out;
      }
    }
    std::string reviewVersion;
    for (const auto& v : h.reviewVersions) {
      if (v == "v1" || v == "v1beta1") {
        reviewVersion = v;
        break;
      }
    }
    if (reviewVersion.empty()) {
      out.error = callingError(
          "could not create admission objects: webhook does not accept known AdmissionReview versions (v1, v1beta1)");
      return out;
    }
    const std::string uid = newUid();
    // Mutating: the object as the previous webhooks left it; validating: the final object.
    const json::Value* current = object ? (object->IsNull() ? nullptr : static_cast<const json::Value*>(object))
                                        : rq.objectPtr();
    json::Document sentObject = versioned(current, inv, *rq.attrs.type);
    json::Document sentOld = versioned(rq.attrs.oldObject, inv, *rq.attrs.type);
    std::string body = reviewJson("admission.k8s.io/" + reviewVersion, uid, inv, rq, sentObject, sentOld);

    // The REST client: URL, TLS.
    std::string displayUrl;  // as Go prints it in errors
    std::string dialUrl;     // where we connect
    if (!h.caError.isOk()) {
      out.error = callingError("could not get REST client: " + h.caError.message());
      return out;
    }
    if (h.url) {
      auto u = http::parseUrl(*h.url);
      if (!u.ok()) {
        out.error = callingError("could not get REST client: " + u.status().message());
        return out;
      }
      if (!u->https()) {
        out.error = callingError("could not get REST client: 'https' is the only allowed URL scheme");
        return out;
      }
      displayUrl = u->toString();
      dialUrl = displayUrl;
    } else if (h.service) {
      const ServiceRef& s = *h.service;
      std::string path = s.path.empty() ? "/" : s.path;
      displayUrl = "https://" + serviceHost(s) + ":" + std::to_string(s.port) + path;
      std::optional<std::string> base;
      if (options.serviceResolver) base = options.serviceResolver(s.ns, s.name, s.port);
      if (!base) {
        out.error = callingError("failed to call webhook: Post " + goQuote(withTimeout(displayUrl, h)) + ": service " +
                                 goQuote(s.ns + "/" + s.name) + " is not reachable (the sandbox has no Service networking)");
        return out;
      }
      std::string b = *base;
      while (!b.empty() && b.back() == '/') b.pop_back();
      dialUrl = b + path;
    } else {
      out.error = callingError("could not get REST client: webhook clientConfig has neither url nor service");
      return out;
    }
    displayUrl = withTimeout(displayUrl, h);
    dialUrl = withTimeout(dialUrl, h);
    auto client = clientFor(h);
    if (!client.ok()) {
      out.error = callingError("could not get REST client: unable to load root certificates: " + client.status().message());
      return out;
    }

    http::HeaderList headers = {{"Content-Type", "application/json"}, {"Accept", "application/json, */*"}};
    auto resp = (*client)->request("POST", dialUrl, headers, body);
    const std::string post = "failed to call webhook: Post " + goQuote(displayUrl) + ": ";
    if (!resp.ok()) {
      out.error = callingError(post + transportCause(resp.status()));
      return out;
    }
    auto parsed = json::parse(resp->body);
    if (resp->status < 200 || resp->status > 299) {
      // client-go: a metav1.Status body becomes the error; anything else a generic response.
      std::string msg;
      if (parsed.ok() && parsed->IsObject() && json::getString(*parsed, "kind") == "Status") {
        msg = std::string(json::getString(*parsed, "message"));
      }
      if (msg.empty()) msg = genericServerResponse(resp->status, resp->body);
      out.error = callingError("failed to call webhook: " + msg);
      return out;
    }
    if (!parsed.ok()) {
      out.error = callingError("failed to call webhook: " + parsed.status().message());
      return out;
    }
    const json::Value& review = *parsed;

    // request.VerifyAdmissionResponse.
    const json::Value* response = json::find(review, "response");
    auto invalid = [&](const std::string& why) { out.error = callingError("received invalid webhook response: " + why); };
    if (!response || !response->IsObject()) {
      invalid("webhook response was absent");
      return out;
    }
    const json::Value* patch = json::find(*response, "patch");
    const json::Value* patchType = json::find(*response, "patchType");
    bool hasPatch = patch && patch->IsString() && patch->GetStringLength() > 0;
    bool hasPatchType = patchType && !patchType->IsNull();
    if (reviewVersion == "v1") {
      std::string got(json::getString(*response, "uid"));
      if (got != uid) {
        invalid("expected response.uid=" + goQuote(uid) + ", got " + goQuote(got));
        return out;
      }
      std::string apiVersion(json::getString(review, "apiVersion"));
      std::string kind(json::getString(review, "kind"));
      if (apiVersion != "admission.k8s.io/v1" || kind != "AdmissionReview") {
        auto gv = GroupVersionKind::parse(apiVersion, kind);
        invalid("expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got " + gv.group + "/" +
                gv.version + ", Kind=" + gv.kind);
        return out;
      }
      if (h.mutating) {
        if (hasPatch && !hasPatchType) {
          invalid("webhook returned response.patch but not response.patchType");
          return out;
        }
        if (!hasPatch && hasPatchType) {
          invalid("webhook returned response.patchType but not response.patch");
          return out;
        }
        if (hasPatchType && json::view(*patchType).empty()) {
          invalid("webhook returned invalid response.patchType of \"\"");
          return out;
        }
      } else {
        if (hasPatch) {
          invalid("validating webhook may not return response.patch");
          return out;
        }
        if (hasPatchType) {
          invalid("validating webhook may not return response.patchType");
          return out;
        }
      }
    } else if (!h.mutating) {
      hasPatch = false;  // v1beta1: ignored for validating webhooks
    }

    if (const json::Value* w = json::find(*response, "warnings"); w && w->IsArray()) {
      for (const auto& s : w->GetArray()) {
        if (s.IsString()) out.warnings.emplace_back(json::view(s));
      }
    }
    const json::Value* allowed = json::find(*response, "allowed");
    if (!allowed || !allowed->IsBool() || !allowed->GetBool()) {
      out.error = rejection(h.name, json::find(*response, "status"));
      return out;
    }
    if (!h.mutating || !hasPatch) return out;

    // The patch: base64 in JSON ([]byte), then a JSON Patch document.
    auto raw = pki::base64Decode(json::view(*patch));
    if (!raw.ok()) {
      out.error = callingError("failed to call webhook: illegal base64 data in response.patch: " + raw.status().message());
      return out;
    }
    auto ops = json::parse(*raw);
    if (!ops.ok() || !ops->IsArray()) {
      out.error = callingError("received undecodable patch in webhook response: " +
                               (ops.ok() ? std::string("json: cannot unmarshal ") + json::typeName(*ops) +
                                               " into Go value of type jsonpatch.Patch"
                                         : ops.status().message()));
      return out;
    }
    if (ops->Empty()) return out;
    if (!current) {
      out.error = internalError("admission webhook " + goQuote(h.name) +
                                " attempted to modify the object, which is not supported for this operation");
      return out;
    }
    std::string pt = reviewVersion == "v1" ? std::string(json::view(*patchType)) : "JSONPatch";
    if (pt != "JSONPatch") {
      out.error = callingError("unsupported patch type " + goQuote(pt));
      return out;
    }
    auto patched = kube::jsonPatch(sentObject, *ops);
    if (!patched.ok()) {
      out.error = internalError(patched.status().message());
      return out;
    }
    json::Document result = std::move(patched).value();
    if (!result.IsObject()) {
      // Upstream fails decoding the patched JSON into the kind's type.
      out.error = internalError("admission webhook " + goQuote(h.name) + " patched the object into a JSON " +
                                json::typeName(result));
      return out;
    }
    out.changed = !(result == sentObject);
    // Back to the request's shape and version.
    if (inv.converted && result.IsObject() && current->IsObject()) {
      convertShape(result, *inv.resource, *rq.attrs.type, json::getString(*current, "apiVersion"));
    }
    if (out.changed) object->Swap(result);
    return out;
  }

  static std::string withTimeout(const std::string& url, const Hook& h) {
    // client-go's Request.Timeout adds the webhook's timeout as a query parameter ("10s").
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "timeout=" + std::to_string(h.timeoutSeconds) + "s";
  }

  // --- dispatch ---

  RequestState requestState(const AdmissionAttributes& a) const {
    RequestState rq{a, a.ns, a.kind, json::Document(), std::nullopt};
    if (rq.kind.kind.empty()) rq.kind = GroupVersionKind{a.type->group, a.type->version, a.type->kind};
    if (isNamespaceResource(*a.type) && rq.ns.empty() && a.operation != "CREATE") rq.ns = a.name;
    if (a.object) rq.object.CopyFrom(*a.object, rq.object.GetAllocator());
    return rq;
  }

  static Status fail(const HookError& e, ErrorDetails* details) {
    if (details) *details = e.details;
    return e.status;
  }

  // A calling error under failurePolicy Fail: apierrors.NewInternalError(ErrCallingWebhook).
  static HookError failClosed(const Hook& h, const HookError& e) {
    return internalError("failed calling webhook " + goQuote(h.name) + ": " + e.status.message());
  }

  static void failOpen(const Hook& h, const HookError& e) {
    log::warn("Failed calling webhook, failing open",
              {{"webhook", h.name},
               {"configuration", h.configName},
               {"error", "failed calling webhook " + goQuote(h.name) + ": " + e.status.message()}});
  }

  static void addWarnings(AdmissionReport* report, const std::vector<std::string>& ws) {
    if (!report) return;
    for (const auto& w : ws) {
      if (std::find(report->warnings.begin(), report->warnings.end(), w) == report->warnings.end()) {
        report->warnings.push_back(w);
      }
    }
  }

  Status runMutating(RequestState& rq, const Snapshot& s, ErrorDetails* details, AdmissionReport* report) {
    // reinvocationcontext.go: at most one reinvocation round.
    std::set<std::string> previouslyInvoked, reinvoke;
    bool shouldReinvoke = false;
    for (int round = 0; round < 2; ++round) {
      if (round == 1 && (!shouldReinvoke || reinvoke.empty())) break;
      for (const auto& h : s.mutating) {
        auto [inv, err] = shouldCall(h, rq);
        if (err) return fail(*err, details);
        if (!inv) continue;
        if (round == 1 && !reinvoke.count(h.uid)) continue;
        if (report) report->called.push_back("mutating:" + h.name);
        CallOutcome o = callHook(*inv, rq, &rq.object);
        addWarnings(report, o.warnings);
        if (o.changed) {
          reinvoke.insert(previouslyInvoked.begin(), previouslyInvoked.end());
          previouslyInvoked.clear();
          shouldReinvoke = true;
          if (report) report->mutated = true;
        }
        if (h.reinvokeIfNeeded) previouslyInvoked.insert(h.uid);
        if (!o.error) continue;
        if (o.error->kind == HookError::Kind::kCalling) {
          if (h.failOpen) {
            failOpen(h, *o.error);
            continue;
          }
          return fail(failClosed(h, *o.error), details);
        }
        return fail(*o.error, details);
      }
    }
    return Status::ok();
  }

  Status runValidating(RequestState& rq, const Snapshot& s, ErrorDetails* details, AdmissionReport* report) {
    std::vector<Invocation> relevant;
    for (const auto& h : s.validating) {
      auto [inv, err] = shouldCall(h, rq);
      if (err) return fail(*err, details);
      if (inv) relevant.push_back(*inv);
    }
    if (relevant.empty()) return Status::ok();
    // Concurrently, as upstream; the first error in webhook order wins (upstream: the first to
    // arrive on its channel).
    std::vector<CallOutcome> outcomes(relevant.size());
    {
      std::vector<std::thread> threads;
      threads.reserve(relevant.size());
      for (size_t i = 1; i < relevant.size(); ++i) {
        threads.emplace_back([&, i] { outcomes[i] = callHook(relevant[i], rq, nullptr); });
      }
      outcomes[0] = callHook(relevant[0], rq, nullptr);
      for (auto& t : threads) t.join();
    }
    std::optional<HookError> first;
    for (size_t i = 0; i < relevant.size(); ++i) {
      const Hook& h = *relevant[i].hook;
      if (report) report->called.push_back("validating:" + h.name);
      addWarnings(report, outcomes[i].warnings);
      const auto& err = outcomes[i].error;
      if (!err) continue;
      if (err->kind == HookError::Kind::kCalling) {
        if (h.failOpen) {
          failOpen(h, *err);
          continue;
        }
        if (!first) first = failClosed(h, *err);
        continue;
      }
      if (!first) first = *err;
    }
    if (first) return fail(*first, details);
    return Status::ok();
  }

  static bool exempt(const AdmissionAttributes& a, const RequestState& rq) {
    return exemptConfigurationKind(rq.kind) ||
           exemptConfigurationKind(GroupVersionKind{a.type->group, a.type->version, a.type->kind});
  }

  static Status checkAttributes(const AdmissionAttributes& a, ErrorDetails* details) {
    if (a.type) return Status::ok();
    HookError e = internalError("admission attributes without a resource type");
    return fail(e, details);
  }
};

// ---------------------------------------------------------------------------------------------

AdmissionChain::AdmissionChain(std::shared_ptr<Store> store, std::shared_ptr<const ResourceRegistry> registry,
                               AdmissionOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->store = std::move(store);
  impl_->registry = std::move(registry);
  impl_->options = std::move(options);
}

AdmissionChain::~AdmissionChain() = default;

bool AdmissionChain::hasWebhooks() {
  auto s = impl_->current();
  return !s->mutating.empty() || !s->validating.empty();
}

StatusOr<json::Document> AdmissionChain::mutate(const AdmissionAttributes& attrs, ErrorDetails* details,
                                                AdmissionReport* report) {
  KUBEOP_RETURN_IF_ERROR(Impl::checkAttributes(attrs, details));
  auto rq = impl_->requestState(attrs);
  if (Impl::exempt(attrs, rq)) return std::move(rq.object);
  auto s = impl_->current();
  KUBEOP_RETURN_IF_ERROR(impl_->runMutating(rq, *s, details, report));
  return std::move(rq.object);
}

Status AdmissionChain::validate(const AdmissionAttributes& attrs, ErrorDetails* details, AdmissionReport* report) {
  KUBEOP_RETURN_IF_ERROR(Impl::checkAttributes(attrs, details));
  auto rq = impl_->requestState(attrs);
  if (Impl::exempt(attrs, rq)) return Status::ok();
  auto s = impl_->current();
  return impl_->runValidating(rq, *s, details, report);
}

StatusOr<json::Document> AdmissionChain::admit(const AdmissionAttributes& attrs, ErrorDetails* details,
                                               AdmissionReport* report) {
  KUBEOP_RETURN_IF_ERROR(Impl::checkAttributes(attrs, details));
  auto rq = impl_->requestState(attrs);
  if (Impl::exempt(attrs, rq)) return std::move(rq.object);
  auto s = impl_->current();
  KUBEOP_RETURN_IF_ERROR(impl_->runMutating(rq, *s, details, report));
  KUBEOP_RETURN_IF_ERROR(impl_->runValidating(rq, *s, details, report));
  return std::move(rq.object);
}

}  // namespace kubeop::sandbox
