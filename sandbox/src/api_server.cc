#include "kubeop/sandbox/api_server.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kubeop/core/digest.h"
#include "kubeop/core/json.h"
#include "kubeop/core/names.h"
#include "kubeop/core/object.h"
#include "kubeop/core/time.h"
#include "kubeop/core/yaml.h"
#include "kubeop/kube/managed_fields.h"
#include "kubeop/kube/patch.h"
#include "kubeop/log/log.h"
#include "kubeop/sandbox/admission.h"
#include "kubeop/sandbox/custom_resources.h"
#include "kubeop/sandbox/protobuf.h"
#include "kubeop/sandbox/tables.h"

namespace kubeop::sandbox {

namespace {

using http::Request;
using http::Response;

// ---- request path ------------------------------------------------------------------------

// /api/v1/...             group "" version v1
// /apis/<group>/<version>/...
// rest: [] | [res] | [res,name] | [res,name,sub] | [namespaces,ns,res] | [namespaces,ns,res,name]
//       | [namespaces,ns,res,name,sub]
struct ApiPath {
  std::string group, version;
  std::string ns, resource, name, sub;
  bool discovery = false;  // the group/version's APIResourceList
};

std::vector<std::string> splitPath(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') ++i;
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (j > i) out.emplace_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<ApiPath> parseApiPath(std::string_view path) {
  auto seg = splitPath(path);
  ApiPath p;
  size_t i;
  if (seg.size() >= 2 && seg[0] == "api") {
    p.version = seg[1];
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    p.group = seg[1];
    p.version = seg[2];
    i = 3;
  } else {
    return std::nullopt;
  }
  std::vector<std::string> rest(seg.begin() + static_cast<long>(i), seg.end());
  switch (rest.size()) {
    case 0: p.discovery = true; return p;
    case 1: p.resource = rest[0]; return p;
    case 2: p.resource = rest[0]; p.name = rest[1]; return p;
    case 3:
      if (rest[0] == "namespaces" && rest[2] != "status" && rest[2] != "finalize") {
        p.ns = rest[1];
        p.resource = rest[2];
      } else {
        p.resource = rest[0];
        p.name = rest[1];
        p.sub = rest[2];
      }
      return p;
    case 4:
      if (rest[0] != "namespaces") return std::nullopt;
      p.ns = rest[1]; p.resource = rest[2]; p.name = rest[3];
      return p;
    case 5:
      if (rest[0] != "namespaces") return std::nullopt;
      p.ns = rest[1]; p.resource = rest[2]; p.name = rest[3]; p.sub = rest[4];
      return p;
    default: return std::nullopt;
  }
}

// ---- responses -----------------------------------------------------------------------------

Response statusResponse(const Status& st, const ErrorDetails& d) {
  int code = d.code ? d.code : httpStatusFor(st.code());
  Response r = Response::json(code, statusObjectJson(st, d));
  if (d.retryAfterSeconds > 0) r.setHeader("Retry-After", std::to_string(d.retryAfterSeconds));
  return r;
}

Response statusError(int code, const char* reason, const std::string& message, StatusCode sc = StatusCode::kInvalidArgument) {
  ErrorDetails d;
  d.code = code;
  d.reason = reason;
  return statusResponse(Status(sc, message), d);
}

Response badRequest(const std::string& m) { return statusError(400, "BadRequest", m); }
// The apiserver's wording for an unknown path (it names neither the path nor the verb).
Response notFoundPath(const std::string& /*path*/) {
  return statusError(404, "NotFound", "the server could not find the requested resource", StatusCode::kNotFound);
}
Response methodNotSupported(const std::string& /*verb*/, const std::string& /*resource*/) {
  return statusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                     StatusCode::kUnimplemented);
}

bool truthy(const std::optional<std::string>& v) { return v && (*v == "true" || *v == "1"); }

}  // namespace

struct ApiServer::Impl : std::enable_shared_from_this<ApiServer::Impl> {
  std::shared_ptr<ResourceRegistry> registry;
  std::shared_ptr<Store> store;
  ApiServerOptions opts;
  CustomResources crds;
  std::unique_ptr<AdmissionChain> admission;

  // Fault injection (see FaultOptions), adjustable at run time.
  std::atomic<int64_t> faultLatencyMs{0};
  std::atomic<double> faultErrorRate{0};
  std::atomic<double> faultThrottleRate{0};
  std::mutex rngMu;
  std::mt19937_64 rng{std::random_device{}()};
  // Bumped to end every open watch: drops end the stream, expiries send a 410 ERROR first.
  std::atomic<uint64_t> dropWatchesGen{0};
  std::atomic<uint64_t> expireWatchesGen{0};

  Impl(std::shared_ptr<ResourceRegistry> r, std::shared_ptr<Store> s, ApiServerOptions o)
      : registry(std::move(r)), store(std::move(s)), opts(std::move(o)), crds(registry, store) {
    if (!opts.clock) opts.clock = [] { return std::chrono::system_clock::now(); };
    admission = std::make_unique<AdmissionChain>(store, registry, AdmissionOptions{});
    faultLatencyMs = opts.faults.latency.count();
    faultErrorRate = opts.faults.errorRate;
    faultThrottleRate = opts.faults.throttleRate;
  }

  double roll() {
    std::lock_guard lk(rngMu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

  // Returns a response when a fault is injected into this request.
  std::optional<Response> injectFault() {
    if (int64_t ms = faultLatencyMs.load(); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    double e = faultErrorRate.load(), t = faultThrottleRate.load();
    if (e <= 0 && t <= 0) return std::nullopt;
    double r = roll();
    if (r < e) {
      return statusError(500, "InternalError", "Internal error occurred: injected fault", StatusCode::kInternal);
    }
    if (r < e + t) {
      ErrorDetails d;
      d.code = 429;
      d.reason = "TooManyRequests";
      d.retryAfterSeconds = 1;
      return statusResponse(Status(StatusCode::kResourceExhausted, "Too many requests, please try again later."), d);
    }
    return std::nullopt;
  }

  Response setFaults(const Request& req) {
    auto b = json::parse(req.body);
    if (!b.ok() || !b->IsObject()) return badRequest("expected {\"latencyMs\":…,\"errorRate\":…,\"throttleRate\":…}");
    if (const auto* v = json::find(*b, "latencyMs"); v && v->IsNumber()) faultLatencyMs = static_cast<int64_t>(v->GetDouble());
    if (const auto* v = json::find(*b, "errorRate"); v && v->IsNumber()) faultErrorRate = v->GetDouble();
    if (const auto* v = json::find(*b, "throttleRate"); v && v->IsNumber()) faultThrottleRate = v->GetDouble();
    return Response::json(200, "{\"latencyMs\":" + std::to_string(faultLatencyMs.load()) + ",\"errorRate\":" +
                                   std::to_string(faultErrorRate.load()) + ",\"throttleRate\":" +
                                   std::to_string(faultThrottleRate.load()) + "}");
  }

  std::string now() const { return formatRfc3339(opts.clock()); }

  // ---- auth ----
  bool authorized(const Request& req) const {
    if (opts.tokens.empty()) return true;
    std::string_view h = req.header("Authorization");
    if (h.size() < 8 || h.substr(0, 7) != "Bearer ") return false;
    std::string_view tok = h.substr(7);
    bool ok = false;
    for (const auto& t : opts.tokens) {
      unsigned char diff = t.size() == tok.size() ? 0 : 1;
      for (size_t i = 0; i < std::min(t.size(), tok.size()); ++i) diff |= static_cast<unsigned char>(t[i] ^ tok[i]);
      ok |= diff == 0;
    }
    return ok;
  }

  Response unauthorized() const { return statusError(401, "Unauthorized", "Unauthorized", StatusCode::kUnauthenticated); }

  // ---- discovery ----
  Response version() const {
    std::string gv = opts.gitVersion;
    std::string minor = "32";
    return Response::json(200, std::string("{\"major\":\"1\",\"minor\":\"") + minor + "\",\"gitVersion\":\"" + gv +
                                   "\",\"gitCommit\":\"kubeop\",\"gitTreeState\":\"clean\",\"buildDate\":\"2026-01-01T00:00:00Z\","
                                   "\"goVersion\":\"n/a\",\"compiler\":\"g++\",\"platform\":\"linux/amd64\"}");
  }

  Response apiVersions() const {
    return Response::json(200,
                          "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[{\"clientCIDR\":"
                          "\"0.0.0.0/0\",\"serverAddress\":\"127.0.0.1\"}]}");
  }

  // group → versions in registration order
  std::vector<std::pair<std::string, std::vector<std::string>>> groups() const {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    for (const auto& t : registry->all()) {
      if (t->group.empty()) continue;
      auto it = std::find_if(out.begin(), out.end(), [&](auto& p) { return p.first == t->group; });
      if (it == out.end()) {
        out.push_back({t->group, {t->version}});
      } else if (std::find(it->second.begin(), it->second.end(), t->version) == it->second.end()) {
        it->second.push_back(t->version);
      }
    }
    return out;
  }

  static void writeGroup(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& name,
                         const std::vector<std::string>& versions, bool withKind) {
    w.StartObject();
    if (withKind) {
      w.Key("kind");
      w.String("APIGroup");
      w.Key("apiVersion");
      w.String("v1");
    }
    w.Key("name");
    w.String(name.c_str());
    w.Key("versions");
    w.StartArray();
    for (const auto& v : versions) {
      w.StartObject();
      w.Key("groupVersion");
      w.String((name + "/" + v).c_str());
      w.Key("version");
      w.String(v.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.Key("preferredVersion");
    w.StartObject();
    w.Key("groupVersion");
    w.String((name + "/" + versions.front()).c_str());
    w.Key("version");
    w.String(versions.front().c_str());
    w.EndObject();
    w.EndObject();
  }

  Response apiGroupList() const {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    w.Key("kind");
    w.String("APIGroupList");
    w.Key("apiVersion");
    w.String("v1");
    w.Key("groups");
    w.StartArray();
    for (const auto& [g, vs] : groups()) writeGroup(w, g, vs, false);
    w.EndArray();
    w.EndObject();
    return Response::json(200, sb.GetString());
  }

  Response apiGroup(const std::string& group) const {
    for (const auto& [g, vs] : groups()) {
      if (g == group) {
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        writeGroup(w, g, vs, true);
        return Response::json(200, sb.GetString());
      }
    }
    return notFoundPath("/apis/" + group);
  }

  Response resourceList(const std::string& group, const std::string& version) const {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    bool any = false;
    w.StartObject();
    w.Key("kind");
    w.String("APIResourceList");
    w.Key("apiVersion");
    w.String("v1");
    w.Key("groupVersion");
    std::string gv = group.empty() ? version : group + "/" + version;
    w.String(gv.c_str());
    w.Key("resources");
    w.StartArray();
    for (const auto& t : registry->all()) {
      if (t->group != group || t->version != version) continue;
      any = true;
      auto writeRes = [&](const std::string& name, const std::vector<std::string>& verbs, bool main) {
        w.StartObject();
        w.Key("name");
        w.String(name.c_str());
        w.Key("singularName");
        w.String(main ? t->singular.c_str() : "");
        w.Key("namespaced");
        w.Bool(t->namespaced);
        w.Key("kind");
        w.String(t->kind.c_str());
        w.Key("verbs");
        w.StartArray();
        for (const auto& v : verbs) w.String(v.c_str());
        w.EndArray();
        if (main && !t->shortNames.empty()) {
          w.Key("shortNames");
          w.StartArray();
          for (const auto& s : t->shortNames) w.String(s.c_str());
          w.EndArray();
        }
        if (main && !t->categories.empty()) {
          w.Key("categories");
          w.StartArray();
          for (const auto& s : t->categories) w.String(s.c_str());
          w.EndArray();
        }
        if (main) {
          w.Key("storageVersionHash");
          w.String(digest::sha256Hex(t->group + "/" + t->version + "/" + t->kind).substr(0, 11).c_str());
        }
        w.EndObject();
      };
      writeRes(t->plural, t->verbs, true);
      if (t->hasStatusSubresource) writeRes(t->plural + "/status", {"get", "patch", "update"}, false);
      if (hasScale(*t)) {
        w.StartObject();
        w.Key("name");
        w.String((t->plural + "/scale").c_str());
        w.Key("singularName");
        w.String("");
        w.Key("namespaced");
        w.Bool(t->namespaced);
        w.Key("group");
        w.String("autoscaling");
        w.Key("version");
        w.String("v1");
        w.Key("kind");
        w.String("Scale");
        w.Key("verbs");
        w.StartArray();
        for (const char* v : {"get", "patch", "update"}) w.String(v);
        w.EndArray();
        w.EndObject();
      }
      if (t->plural == "namespaces") writeRes("namespaces/finalize", {"update"}, false);
    }
    w.EndArray();
    w.EndObject();
    if (!any && !(group.empty() && version == "v1")) return notFoundPath(gv);
    return Response::json(200, sb.GetString());
  }

  // ---- OpenAPI v3 (what kubectl reads to learn that the server validates fields itself) ----
  // The root lists one document per group/version; each document has the resource paths with
  // their operations, x-kubernetes-group-version-kind and query parameters. Schemas are not
  // published (components are empty): kubectl then relies on server-side field validation.
  Response openApiRoot() const {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    w.Key("paths");
    w.StartObject();
    std::vector<std::string> gvs{"api/v1"};
    for (const auto& t : registry->all()) {
      if (t->group.empty()) continue;
      std::string gv = "apis/" + t->group + "/" + t->version;
      if (std::find(gvs.begin(), gvs.end(), gv) == gvs.end()) gvs.push_back(gv);
    }
    std::string hash = std::to_string(registry->revision());
    for (const auto& gv : gvs) {
      w.Key(gv.c_str());
      w.StartObject();
      w.Key("serverRelativeURL");
      w.String(("/openapi/v3/" + gv + "?hash=" + hash).c_str());
      w.EndObject();
    }
    w.EndObject();
    w.EndObject();
    return Response::json(200, sb.GetString());
  }

  Response openApiGroupVersion(const std::string& group, const std::string& version) const {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    bool any = false;
    w.StartObject();
    w.Key("openapi");
    w.String("3.0.0");
    w.Key("info");
    w.StartObject();
    w.Key("title");
    w.String("Kubernetes (kubeop sandbox)");
    w.Key("version");
    w.String(opts.gitVersion.c_str());
    w.EndObject();
    w.Key("paths");
    w.StartObject();
    auto param = [&](const char* name) {
      w.StartObject();
      w.Key("name");
      w.String(name);
      w.Key("in");
      w.String("query");
      w.Key("schema");
      w.StartObject();
      w.Key("type");
      w.String(std::string(name) == "force" ? "boolean" : "string");
      w.EndObject();
      w.EndObject();
    };
    for (const auto& t : registry->all()) {
      if (t->group != group || t->version != version) continue;
      any = true;
      std::string base = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
      std::string item = base + (t->namespaced ? "/namespaces/{namespace}/" : "/") + t->plural + "/{name}";
      std::vector<std::string> paths{item};
      if (t->hasStatusSubresource) paths.push_back(item + "/status");
      for (const auto& path : paths) {
        w.Key(path.c_str());
        w.StartObject();
        for (const char* op : {"get", "put", "patch", "delete"}) {
          w.Key(op);
          w.StartObject();
          w.Key("x-kubernetes-action");
          w.String(op);
          w.Key("x-kubernetes-group-version-kind");
          w.StartObject();
          w.Key("group");
          w.String(t->group.c_str());
          w.Key("version");
          w.String(t->version.c_str());
          w.Key("kind");
          w.String(t->kind.c_str());
          w.EndObject();
          w.Key("parameters");
          w.StartArray();
          if (std::string(op) != "get") {
            param("dryRun");
            param("fieldManager");
            param("fieldValidation");
          }
          if (std::string(op) == "patch") param("force");
          w.EndArray();
          w.Key("responses");
          w.StartObject();
          w.Key("200");
          w.StartObject();
          w.Key("description");
          w.String("OK");
          w.EndObject();
          w.EndObject();
          w.EndObject();
        }
        w.EndObject();
      }
    }
    w.EndObject();
    w.Key("components");
    w.StartObject();
    w.Key("schemas");
    w.StartObject();
    w.EndObject();
    w.EndObject();
    w.EndObject();
    if (!any) return notFoundPath("/openapi/v3");
    return Response::json(200, sb.GetString());
  }

  // ---- admission webhooks ----
  // Calls the registered mutating then validating webhooks for a write; on success `obj` holds
  // the (possibly mutated) object. Returns the error response on denial or webhook failure.
  std::optional<Response> admit(const Request& req, const char* operation, const ResourceType& t, const ApiPath& p,
                                json::Document* obj, const json::Value* oldObject, bool dryRun) {
    if (!admission->hasWebhooks()) return std::nullopt;
    AdmissionAttributes a;
    a.operation = operation;
    a.type = &t;
    a.subresource = p.sub;
    a.kind = GroupVersionKind{t.group, t.version, t.kind};
    a.ns = p.ns;
    a.name = p.name;
    if (a.name.empty() && obj) {
      if (const json::Value* m = json::find(*obj, "metadata")) a.name = json::getString(*m, "name");
    }
    a.object = obj;
    a.oldObject = oldObject;
    a.dryRun = dryRun;
    a.fieldManager = fieldManager(req, false);
    a.userName = "kubeop-sandbox-admin";
    a.groups = {"system:masters", "system:authenticated"};
    ErrorDetails d;
    AdmissionReport report;
    auto r = admission->admit(a, &d, &report);
    if (!r.ok()) {
      Response resp = statusResponse(r.status(), d);
      for (const auto& w : report.warnings) resp.headers.push_back({"Warning", "299 - \"" + w + "\""});
      return resp;
    }
    if (obj && r->IsObject()) obj->Swap(*r);
    return std::nullopt;
  }

  // ---- helpers ----
  static Response bodyError(const Status& st) {
    if (st.code() == StatusCode::kUnimplemented) {
      return statusError(415, "UnsupportedMediaType", st.message(), StatusCode::kUnimplemented);
    }
    return badRequest(st.message());
  }

  StatusOr<json::Document> decodeBody(const Request& req) const {
    if (req.body.empty()) return invalidArgument("the request body is empty");
    std::string_view ct = req.header("Content-Type");
    // kubectl's typed clients (kubectl create namespace|configmap|deployment…) send protobuf.
    if (isKubernetesProtobuf(ct)) return decodeKubernetesProtobuf(req.body);
    if (ct.find("yaml") != std::string_view::npos) return yaml::parseOne(req.body);
    auto d = json::parse(req.body);
    if (!d.ok()) return invalidArgument("couldn't get version/kind; json parse error: " + d.status().message());
    return d;
  }

  std::string fieldManager(const Request& req, bool apply) const {
    if (auto fm = req.queryParam("fieldManager"); fm && !fm->empty()) return *fm;
    if (apply) return "";
    // The apiserver's default: the user agent up to the first '/'.
    std::string ua(req.header("User-Agent"));
    auto slash = ua.find('/');
    if (slash != std::string::npos) ua = ua.substr(0, slash);
    return ua.empty() ? "unknown" : ua;
  }

  GroupResource gr(const ResourceType& t) const { return GroupResource{t.group, t.plural}; }

  // Fills apiVersion/kind when absent, checks them when present.
  Status checkTypeMeta(json::Document& body, const ResourceType& t) const {
    if (!body.IsObject()) return invalidArgument("the body must be a JSON object");
    auto& a = body.GetAllocator();
    std::string_view av = json::getString(body, "apiVersion");
    std::string_view kind = json::getString(body, "kind");
    if (av.empty()) json::setString(body, "apiVersion", t.apiVersion(), a);
    if (kind.empty()) json::setString(body, "kind", t.kind, a);
    av = json::getString(body, "apiVersion");
    kind = json::getString(body, "kind");
    auto g = GroupVersionKind::parse(av, kind);
    if (g.group != t.group || g.kind != t.kind) {
      return invalidArgument("the API version in the data (" + std::string(av) + ") does not match the expected API version (" +
                             t.apiVersion() + ")");
    }
    if (g.version != t.version) json::setString(body, "apiVersion", t.apiVersion(), a);
    return Status::ok();
  }

  // Custom resources: prune unknown fields, default, validate against the CRD schema.
  Status admitCustom(const ResourceType& t, json::Document& obj, ErrorDetails& d) const {
    return crds.validateObject(t, obj, d);
  }

  // ---- handlers ----
  Response handle(const Request& req) {
    if (!authorized(req)) return unauthorized();
    if (auto fault = injectFault()) return *fault;
    auto p = parseApiPath(req.path);
    if (!p) return notFoundPath(req.path);
    if (p->discovery) {
      if (req.method != "GET" && req.method != "HEAD") return methodNotSupported(req.method, "");
      return resourceList(p->group, p->version);
    }
    auto t = registry->find(p->group, p->version, p->resource);
    if (!t) return notFoundPath(req.path);
    if (!t->namespaced && !p->ns.empty()) return notFoundPath(req.path);
    if (p->sub == "scale" && hasScale(*t)) return scale(req, *t, *p);
    if (!p->sub.empty() && !(p->sub == "status" && t->hasStatusSubresource) &&
        !(p->sub == "finalize" && t->plural == "namespaces")) {
      return notFoundPath(req.path);
    }
    // A namespace's own object lives at /api/v1/namespaces/<name>.
    const std::string& m = req.method;
    if (p->name.empty()) {
      if (m == "GET" || m == "HEAD") {
        if (truthy(req.queryParam("watch"))) return watchResponse(req, *t, *p);
        return list(req, *t, *p);
      }
      if (m == "POST") return create(req, *t, *p);
      if (m == "DELETE") return deleteCollection(req, *t, *p);
      return methodNotSupported(m, t->plural);
    }
    if (m == "GET" || m == "HEAD") return get(req, *t, *p);
    if (m == "PUT") return update(req, *t, *p);
    if (m == "PATCH") return patch(req, *t, *p);
    if (m == "DELETE") return remove(req, *t, *p);
    return methodNotSupported(m, t->plural);
  }

  Response objectResponse(int code, const Request& req, const ResourceType& t, const std::string& json) const {
    if (wantsTable(req)) {
      auto one = json::parse(json);
      std::vector<const json::Value*> rows;
      if (one.ok()) rows.push_back(&*one);
      return Response::json(code, tables::render(t, rows, "", tableVersion(req), crds.columnsFor(t), opts.clock()));
    }
    return Response::json(code, json);
  }

  static bool wantsTable(const Request& req) {
    std::string_view a = req.header("Accept");
    return a.find("as=Table") != std::string_view::npos;
  }
  static std::string tableVersion(const Request& req) {
    std::string_view a = req.header("Accept");
    auto pos = a.find("as=Table");
    if (pos == std::string_view::npos) return "v1";
    // The first Table entry decides (kubectl asks for v1 then v1beta1).
    auto end = a.find(',', pos);
    std::string_view entry = a.substr(0, end);
    auto start = entry.rfind(',');
    entry = start == std::string_view::npos ? entry : entry.substr(start + 1);
    return entry.find("v=v1beta1") != std::string_view::npos ? "v1beta1" : "v1";
  }

  Response get(const Request& req, const ResourceType& t, const ApiPath& p) {
    ErrorDetails d;
    auto o = store->get(gr(t), p.ns, p.name, &d);
    if (!o.ok()) return statusResponse(o.status(), d);
    return objectResponse(200, req, t, **o);
  }

  StatusOr<ListOptions> listOptions(const Request& req) const {
    ListOptions lo;
    if (auto ls = req.queryParam("labelSelector")) {
      auto s = LabelSelector::parse(*ls);
      if (!s.ok()) return s.status();
      lo.labelSelector = std::move(s).value();
    }
    if (auto fs = req.queryParam("fieldSelector")) {
      auto s = FieldSelector::parse(*fs);
      if (!s.ok()) return s.status();
      lo.fieldSelector = std::move(s).value();
    }
    if (auto l = req.queryParam("limit")) {
      try {
        lo.limit = std::stoll(*l);
      } catch (...) {
        return invalidArgument("limit: invalid value \"" + *l + "\"");
      }
    }
    lo.continueToken = req.queryParam("continue").value_or("");
    lo.resourceVersion = req.queryParam("resourceVersion").value_or("");
    lo.resourceVersionMatch = req.queryParam("resourceVersionMatch").value_or("");
    return lo;
  }

  Response list(const Request& req, const ResourceType& t, const ApiPath& p) {
    auto lo = listOptions(req);
    if (!lo.ok()) return badRequest(lo.status().message());
    ErrorDetails d;
    auto r = store->list(gr(t), p.ns, *lo, &d);
    if (!r.ok()) return statusResponse(r.status(), d);
    if (wantsTable(req)) {
      std::vector<json::Document> docs;
      docs.reserve(r->items.size());
      std::vector<const json::Value*> rows;
      for (const auto& it : r->items) {
        auto doc = json::parse(*it);
        if (doc.ok()) docs.push_back(std::move(doc).value());
      }
      for (const auto& doc : docs) rows.push_back(&doc);
      return Response::json(200, tables::render(t, rows, r->resourceVersion, tableVersion(req), crds.columnsFor(t),
                                                opts.clock(), r->continueToken));
    }
    return Response::json(200, r->toJson(t));
  }

  Response create(const Request& req, const ResourceType& t, const ApiPath& p) {
    if (t.namespaced && p.ns.empty()) return notFoundPath(req.path);
    auto body = decodeBody(req);
    if (!body.ok()) return bodyError(body.status());
    if (Status st = checkTypeMeta(*body, t); !st.isOk()) return badRequest(st.message());
    ErrorDetails d;
    if (Status st = admitCustom(t, *body, d); !st.isOk()) return statusResponse(st, d);
    if (auto denied = admit(req, "CREATE", t, p, &*body, nullptr, req.queryParam("dryRun").value_or("") == "All")) {
      return *denied;
    }
    auto managed = kube::recordUpdate(nullptr, *body, fieldManager(req, false), kube::patchMetaFor(t.group, t.kind), now());
    if (!managed.ok()) return badRequest(managed.status().message());
    WriteOptions wo;
    wo.dryRun = req.queryParam("dryRun").value_or("") == "All";
    auto o = store->create(gr(t), p.ns, Object(std::move(managed).value()), wo, &d);
    if (!o.ok()) return statusResponse(o.status(), d);
    if (!wo.dryRun) crds.onWrite(t, **o);
    return objectResponse(201, req, t, **o);
  }

  UpdateOptions updateOptions(const Request& req, const ApiPath& p) const {
    UpdateOptions uo;
    uo.subresource = p.sub == "status" ? Subresource::kStatus : p.sub == "finalize" ? Subresource::kFinalize
                                                                                     : Subresource::kNone;
    uo.dryRun = req.queryParam("dryRun").value_or("") == "All";
    return uo;
  }

  Response update(const Request& req, const ResourceType& t, const ApiPath& p) {
    auto body = decodeBody(req);
    if (!body.ok()) return bodyError(body.status());
    if (Status st = checkTypeMeta(*body, t); !st.isOk()) return badRequest(st.message());
    Object obj(std::move(body).value());
    if (!obj.name().empty() && obj.name() != p.name) {
      ErrorDetails d;
      d.code = 400;
      d.reason = "BadRequest";
      return statusResponse(invalidArgument("the name of the object (" + std::string(obj.name()) +
                                            ") does not match the name on the URL (" + p.name + ")"),
                            d);
    }
    ErrorDetails d;
    if (Status st = admitCustom(t, obj.document(), d); !st.isOk()) return statusResponse(st, d);
    auto live = store->get(gr(t), p.ns, p.name);
    std::optional<json::Document> liveDoc;
    if (live.ok()) {
      auto ld = json::parse(**live);
      if (ld.ok()) liveDoc = std::move(ld).value();
    }
    if (auto denied = admit(req, liveDoc ? "UPDATE" : "CREATE", t, p, &obj.document(), liveDoc ? &*liveDoc : nullptr,
                            updateOptions(req, p).dryRun)) {
      return *denied;
    }
    auto managed = kube::recordUpdate(liveDoc ? &*liveDoc : nullptr, obj.root(), fieldManager(req, false),
                                      kube::patchMetaFor(t.group, t.kind), now(), mfOptions(t, p));
    if (!managed.ok()) return badRequest(managed.status().message());
    auto r = store->update(gr(t), p.ns, p.name, Object(std::move(managed).value()), updateOptions(req, p), &d);
    if (!r.ok()) return statusResponse(r.status(), d);
    crds.onWrite(t, *r->object);
    return objectResponse(r->created ? 201 : 200, req, t, *r->object);
  }

  kube::ApplyOptions mfOptions(const ResourceType& t, const ApiPath& p) const {
    kube::ApplyOptions ao;
    ao.subresource = p.sub == "status" ? kube::Subresource::kStatus : kube::Subresource::kNone;
    ao.hasStatusSubresource = t.hasStatusSubresource;
    return ao;
  }

  Response patch(const Request& req, const ResourceType& t, const ApiPath& p) {
    std::string ct(req.header("Content-Type"));
    auto semi = ct.find(';');
    if (semi != std::string::npos) ct = ct.substr(0, semi);
    auto type = kube::patchTypeFromContentType(ct, !t.custom);
    if (!type.ok()) {
      return statusError(415, "UnsupportedMediaType", type.status().message(), StatusCode::kUnimplemented);
    }
    const kube::PatchMeta* meta = t.custom ? &kube::customResourcePatchMeta() : kube::patchMetaFor(t.group, t.kind);
    bool force = truthy(req.queryParam("force"));
    bool dryRun = req.queryParam("dryRun").value_or("") == "All";
    std::string manager = fieldManager(req, *type == kube::PatchType::kApply);
    if (*type == kube::PatchType::kApply && manager.empty()) {
      return statusError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is "
                                         "required for apply patch");
    }
    if (*type != kube::PatchType::kApply && force) {
      return statusError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified "
                                         "for non-apply patch");
    }
    // Optimistic retry loop: read, patch, write with the read resourceVersion.
    for (int attempt = 0; attempt < 5; ++attempt) {
      ErrorDetails d;
      auto live = store->get(gr(t), p.ns, p.name, &d);
      std::optional<json::Document> liveDoc;
      if (live.ok()) {
        auto ld = json::parse(**live);
        if (!ld.ok()) return statusError(500, "InternalError", ld.status().message(), StatusCode::kInternal);
        liveDoc = std::move(ld).value();
      } else if (*type != kube::PatchType::kApply || live.status().code() != StatusCode::kNotFound) {
        return statusResponse(live.status(), d);
      }
      json::Document next;
      if (*type == kube::PatchType::kApply) {
        // JSON is YAML; parse it as JSON when it is (kubectl and client-go send JSON), which is
        // several times faster than yaml-cpp.
        size_t firstNonSpace = req.body.find_first_not_of(" \t\r\n");
        auto applied = firstNonSpace != std::string::npos && req.body[firstNonSpace] == '{' ? json::parse(req.body)
                                                                                               : yaml::parseOne(req.body);
        if (!applied.ok()) return badRequest("error decoding YAML: " + applied.status().message());
        if (Status st = checkTypeMeta(*applied, t); !st.isOk()) return badRequest(st.message());
        const json::Value* am = json::find(*applied, "metadata");
        std::string_view an = am ? json::getString(*am, "name") : std::string_view();
        if (!an.empty() && an != p.name) {
          return badRequest("the name of the object (" + std::string(an) + ") does not match the name on the URL (" +
                            p.name + ")");
        }
        if (Status st = admitCustom(t, *applied, d); !st.isOk()) return statusResponse(st, d);
        std::vector<kube::FieldConflict> conflicts;
        kube::ApplyOptions ao = mfOptions(t, p);
        ao.conflicts = &conflicts;
        auto r = kube::apply(liveDoc ? &*liveDoc : nullptr, *applied, manager, force, meta, now(), ao);
        if (!r.ok()) {
          if (r.status().code() == StatusCode::kAborted) return conflictResponse(r.status(), conflicts, t, p);
          return statusError(422, "Invalid", r.status().message());
        }
        next = std::move(r->object);
      } else {
        auto patched = kube::applyPatch(*type, *liveDoc, req.body, meta);
        if (!patched.ok()) {
          int code = patched.status().code() == StatusCode::kInvalidArgument ? 422 : 500;
          return statusError(code, code == 422 ? "Invalid" : "InternalError", patched.status().message(),
                             patched.status().code());
        }
        if (Status st = admitCustom(t, *patched, d); !st.isOk()) return statusResponse(st, d);
        auto managed = kube::recordUpdate(&*liveDoc, *patched, manager, meta, now(), mfOptions(t, p));
        if (!managed.ok()) return badRequest(managed.status().message());
        next = std::move(managed).value();
      }
      Object obj(std::move(next));
      // Pin the write to the state we patched (unless the patch set its own resourceVersion).
      std::string liveRv = liveDoc ? std::string(Object::fromValue(*liveDoc)->resourceVersion()) : "";
      bool userRv = false;
      if (*type != kube::PatchType::kApply) {
        auto pb = json::parse(req.body);
        userRv = pb.ok() && pb->IsObject() && json::findPath(*pb, {"metadata", "resourceVersion"});
      }
      if (!userRv && !liveRv.empty()) json::setString(obj.mutableMetadata(), "resourceVersion", liveRv, obj.allocator());
      if (auto denied = admit(req, liveDoc ? "UPDATE" : "CREATE", t, p, &obj.document(), liveDoc ? &*liveDoc : nullptr,
                              dryRun)) {
        return *denied;
      }
      UpdateOptions uo = updateOptions(req, p);
      uo.dryRun = dryRun;
      uo.allowCreate = *type == kube::PatchType::kApply;
      auto r = store->update(gr(t), p.ns, p.name, std::move(obj), uo, &d);
      if (!r.ok()) {
        if (r.status().code() == StatusCode::kAborted && !userRv) continue;  // lost a race: re-read
        return statusResponse(r.status(), d);
      }
      crds.onWrite(t, *r->object);
      return objectResponse(r->created ? 201 : 200, req, t, *r->object);
    }
    return statusError(409, "Conflict", "the object kept changing while the patch was applied; try again",
                       StatusCode::kAborted);
  }

  Response conflictResponse(const Status& st, const std::vector<kube::FieldConflict>& conflicts,
                            const ResourceType& t, const ApiPath& p) const {
    ErrorDetails d;
    d.code = 409;
    d.reason = "Conflict";
    d.name = p.name;
    d.group = t.group;
    d.kind = t.plural;
    for (const auto& c : conflicts) d.causes.push_back(StatusCause{"FieldManagerConflict", c.message, c.field});
    return statusResponse(st, d);
  }

  StatusOr<DeleteOptions> deleteOptions(const Request& req) const {
    DeleteOptions o;
    if (!req.body.empty()) {
      auto b = json::parse(req.body);
      if (!b.ok()) return invalidArgument("DeleteOptions: " + b.status().message());
      if (const auto* pp = json::find(*b, "propagationPolicy"); pp && pp->IsString()) {
        std::string_view v = json::view(*pp);
        if (v == "Orphan") o.propagation = PropagationPolicy::kOrphan;
        else if (v == "Background") o.propagation = PropagationPolicy::kBackground;
        else if (v == "Foreground") o.propagation = PropagationPolicy::kForeground;
        else return invalidArgument("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"" +
                                    std::string(v) + "\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"");
      }
      if (const auto* orph = json::find(*b, "orphanDependents"); orph && orph->IsBool()) {
        o.propagation = orph->GetBool() ? PropagationPolicy::kOrphan : PropagationPolicy::kBackground;
      }
      if (const auto* g = json::find(*b, "gracePeriodSeconds"); g && g->IsInt64()) o.gracePeriodSeconds = g->GetInt64();
      if (const auto* pre = json::find(*b, "preconditions"); pre && pre->IsObject()) {
        if (auto u = json::getString(*pre, "uid"); !u.empty()) o.preconditionUid = std::string(u);
        if (auto rv = json::getString(*pre, "resourceVersion"); !rv.empty()) o.preconditionResourceVersion = std::string(rv);
      }
      if (const auto* dr = json::find(*b, "dryRun"); dr && dr->IsArray() && dr->Size() > 0) o.dryRun = true;
    }
    if (auto pp = req.queryParam("propagationPolicy")) {
      if (*pp == "Orphan") o.propagation = PropagationPolicy::kOrphan;
      else if (*pp == "Background") o.propagation = PropagationPolicy::kBackground;
      else if (*pp == "Foreground") o.propagation = PropagationPolicy::kForeground;
    }
    if (auto g = req.queryParam("gracePeriodSeconds")) {
      try {
        o.gracePeriodSeconds = std::stoll(*g);
      } catch (...) {
      }
    }
    if (req.queryParam("dryRun").value_or("") == "All") o.dryRun = true;
    return o;
  }

  Response remove(const Request& req, const ResourceType& t, const ApiPath& p) {
    if (!p.sub.empty()) return methodNotSupported("DELETE", t.plural + "/" + p.sub);
    auto o = deleteOptions(req);
    if (!o.ok()) return badRequest(o.status().message());
    ErrorDetails d;
    if (admission->hasWebhooks()) {
      auto live = store->get(gr(t), p.ns, p.name, &d);
      if (!live.ok()) return statusResponse(live.status(), d);
      auto liveDoc = json::parse(**live);
      if (liveDoc.ok()) {
        if (auto denied = admit(req, "DELETE", t, p, nullptr, &*liveDoc, o->dryRun)) return *denied;
      }
    }
    auto r = store->remove(gr(t), p.ns, p.name, *o, &d);
    if (!r.ok()) return statusResponse(r.status(), d);
    if (r->deleted) crds.onDelete(t, *r->object);
    // The apiserver answers 200 with the object when it is gone or still finalizing.
    return objectResponse(r->deleted ? 200 : 202, req, t, *r->object);
  }

  Response deleteCollection(const Request& req, const ResourceType& t, const ApiPath& p) {
    auto lo = listOptions(req);
    if (!lo.ok()) return badRequest(lo.status().message());
    auto o = deleteOptions(req);
    if (!o.ok()) return badRequest(o.status().message());
    ErrorDetails d;
    auto items = store->list(gr(t), p.ns, *lo, &d);
    if (!items.ok()) return statusResponse(items.status(), d);
    for (const auto& it : items->items) {
      auto obj = Object::fromJson(*it);
      if (!obj.ok()) continue;
      auto r = store->remove(gr(t), obj->namespace_(), obj->name(), *o, &d);
      if (r.ok() && r->deleted) crds.onDelete(t, *r->object);
    }
    return Response::json(200, items->toJson(t));
  }

  Response watchResponse(const Request& req, const ResourceType& t, const ApiPath& p);

  // ---- scale subresource (autoscaling/v1 Scale) ----
  bool hasScale(const ResourceType& t) const {
    if (t.group == "apps" && (t.plural == "deployments" || t.plural == "statefulsets" || t.plural == "replicasets")) {
      return true;
    }
    return t.custom && crds.scaleFor(t).has_value();
  }

  struct ScalePaths {
    std::string spec = ".spec.replicas", status = ".status.replicas", selector;
  };
  ScalePaths scalePaths(const ResourceType& t) const {
    ScalePaths sp;
    if (t.custom) {
      if (auto s = crds.scaleFor(t)) {
        sp.spec = s->specReplicasPath;
        sp.status = s->statusReplicasPath;
        sp.selector = s->labelSelectorPath.value_or("");
      }
    }
    return sp;
  }

  static json::Value* walk(json::Value& obj, std::string_view path, json::Allocator* create) {
    json::Value* cur = &obj;
    size_t i = path.empty() || path[0] != '.' ? 0 : 1;
    while (i <= path.size() && cur) {
      size_t j = path.find('.', i);
      std::string_view part = path.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
      if (part.empty()) break;
      json::Value* next = json::find(*cur, part);
      if (!next && create) {
        if (!cur->IsObject()) return nullptr;
        cur->AddMember(json::str(part, *create), json::Value(rapidjson::kObjectType), *create);
        next = json::find(*cur, part);
      }
      cur = next;
      if (j == std::string_view::npos) break;
      i = j + 1;
    }
    return cur;
  }

  std::string scaleJson(const ResourceType& t, const json::Value& obj) const {
    ScalePaths sp = scalePaths(t);
    json::Document sc(rapidjson::kObjectType);
    auto& a = sc.GetAllocator();
    sc.AddMember("kind", "Scale", a);
    sc.AddMember("apiVersion", "autoscaling/v1", a);
    json::Value meta(rapidjson::kObjectType);
    if (const json::Value* m = json::find(obj, "metadata")) {
      for (const char* k : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
        if (const json::Value* v = json::find(*m, k)) meta.AddMember(json::str(k, a), json::Value(*v, a), a);
      }
    }
    sc.AddMember("metadata", meta, a);
    json::Document copy;
    copy.CopyFrom(obj, copy.GetAllocator());
    const json::Value* specR = walk(copy, sp.spec, nullptr);
    const json::Value* statusR = walk(copy, sp.status, nullptr);
    json::Value spec(rapidjson::kObjectType);
    spec.AddMember("replicas", specR && specR->IsInt64() ? specR->GetInt64() : int64_t(t.custom ? 0 : 1), a);
    sc.AddMember("spec", spec, a);
    json::Value status(rapidjson::kObjectType);
    status.AddMember("replicas", statusR && statusR->IsInt64() ? statusR->GetInt64() : int64_t(0), a);
    // The selector as a string, from spec.selector.matchLabels for the built-ins.
    std::string selector;
    if (!t.custom) {
      if (const json::Value* ml = json::findPath(obj, {"spec", "selector", "matchLabels"}); ml && ml->IsObject()) {
        for (auto m = ml->MemberBegin(); m != ml->MemberEnd(); ++m) {
          if (!selector.empty()) selector += ",";
          selector += std::string(json::view(m->name)) + "=" + std::string(json::view(m->value));
        }
      }
    } else if (!sp.selector.empty()) {
      const json::Value* sel = walk(copy, sp.selector, nullptr);
      if (sel && sel->IsString()) selector = json::view(*sel);
    }
    if (!selector.empty()) status.AddMember("selector", json::str(selector, a), a);
    sc.AddMember("status", status, a);
    return json::write(sc);
  }

  Response scale(const Request& req, const ResourceType& t, const ApiPath& p) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      ErrorDetails d;
      auto live = store->get(gr(t), p.ns, p.name, &d);
      if (!live.ok()) return statusResponse(live.status(), d);
      auto obj = json::parse(**live);
      if (!obj.ok()) return statusError(500, "InternalError", obj.status().message(), StatusCode::kInternal);
      std::string current = scaleJson(t, *obj);
      if (req.method == "GET" || req.method == "HEAD") return Response::json(200, current);
      json::Document wanted;
      if (req.method == "PUT") {
        auto b = decodeBody(req);
        if (!b.ok()) return badRequest(b.status().message());
        wanted = std::move(b).value();
      } else if (req.method == "PATCH") {
        std::string ct(req.header("Content-Type"));
        auto type = kube::patchTypeFromContentType(ct.substr(0, ct.find(';')), true);
        if (!type.ok() || *type == kube::PatchType::kApply) {
          return statusError(415, "UnsupportedMediaType", "the body of the request was in an unknown format",
                             StatusCode::kUnimplemented);
        }
        auto cur = json::parse(current);
        auto patched = kube::applyPatch(*type, *cur, req.body, nullptr);
        if (!patched.ok()) return statusError(422, "Invalid", patched.status().message());
        wanted = std::move(patched).value();
      } else {
        return methodNotSupported(req.method, t.plural + "/scale");
      }
      const json::Value* r = json::findPath(wanted, {"spec", "replicas"});
      if (!r || !r->IsInt64() || r->GetInt64() < 0) {
        return statusError(422, "Invalid", "Scale.autoscaling \"" + p.name + "\" is invalid: spec.replicas: Invalid value: must be "
                                           "greater than or equal to 0");
      }
      int64_t replicas = r->GetInt64();
      Object parent(std::move(obj).value());
      json::Value* target = walk(parent.root(), scalePaths(t).spec, &parent.allocator());
      if (!target) return statusError(500, "InternalError", "scale path not found", StatusCode::kInternal);
      target->SetInt64(replicas);
      if (const json::Value* rv = json::findPath(wanted, {"metadata", "resourceVersion"}); rv && rv->IsString()) {
        json::setString(parent.mutableMetadata(), "resourceVersion", json::view(*rv), parent.allocator());
      }
      auto liveDoc = json::parse(**live);
      auto managed = kube::recordUpdate(liveDoc.ok() ? &*liveDoc : nullptr, parent.root(), fieldManager(req, false),
                                        kube::patchMetaFor(t.group, t.kind), now(), mfOptions(t, p));
      if (managed.ok()) parent = Object(std::move(managed).value());
      auto u = store->update(gr(t), p.ns, p.name, std::move(parent), updateOptions(req, ApiPath{}), &d);
      if (!u.ok()) {
        if (u.status().code() == StatusCode::kAborted && req.method == "PATCH") continue;
        return statusResponse(u.status(), d);
      }
      auto updated = json::parse(*u->object);
      return Response::json(200, scaleJson(t, *updated));
    }
    return statusError(409, "Conflict", "the object kept changing while scaling; try again", StatusCode::kAborted);
  }
  Response startWatchStream(std::unique_ptr<Watch> w, std::chrono::seconds timeout, const ResourceType* table);
};

}  // namespace kubeop::sandbox

namespace kubeop::sandbox {

ApiServer::ApiServer(std::shared_ptr<ResourceRegistry> registry, std::shared_ptr<Store> store, ApiServerOptions opts)
    : impl_(std::make_shared<Impl>(std::move(registry), std::move(store), std::move(opts))) {}

ApiServer::~ApiServer() = default;

void ApiServer::restoreCustomResources() { impl_->crds.restore(); }

void ApiServer::addRoutes(http::Router& router) {
  std::shared_ptr<Impl> impl = impl_;
  auto open = [](std::string body) {
    return [body](const Request&) { return Response::text(200, body); };
  };
  router.add("GET", "/healthz", open("ok"));
  router.add("GET", "/livez", open("ok"));
  router.add("GET", "/readyz", open("ok"));
  router.add("GET", "/version", [impl](const Request&) { return impl->version(); });
  auto guarded = [impl](auto fn) {
    return [impl, fn](const Request& req) {
      if (!impl->authorized(req)) return impl->unauthorized();
      return fn(req);
    };
  };
  router.add("PUT", "/sandbox/faults", guarded([impl](const Request& r) { return impl->setFaults(r); }));
  router.add("POST", "/sandbox/faults/drop-watches", guarded([impl](const Request&) {
    ++impl->dropWatchesGen;
    return Response::json(200, "{}");
  }));
  router.add("POST", "/sandbox/faults/expire-watches", guarded([impl](const Request&) {
    ++impl->expireWatchesGen;
    return Response::json(200, "{}");
  }));
  router.add("GET", "/openapi/v3", guarded([impl](const Request&) { return impl->openApiRoot(); }));
  router.add("GET", "/openapi/v3/api/{version}",
             guarded([impl](const Request& r) { return impl->openApiGroupVersion("", std::string(r.pathParam("version"))); }));
  router.add("GET", "/openapi/v3/apis/{group}/{version}", guarded([impl](const Request& r) {
               return impl->openApiGroupVersion(std::string(r.pathParam("group")), std::string(r.pathParam("version")));
             }));
  router.add("GET", "/api", guarded([impl](const Request&) { return impl->apiVersions(); }));
  router.add("GET", "/apis", guarded([impl](const Request&) { return impl->apiGroupList(); }));
  router.add("GET", "/apis/{group}", guarded([impl](const Request& r) { return impl->apiGroup(std::string(r.pathParam("group"))); }));
  // Everything under /api/<version> and /apis/<group>/<version>: the handler parses the path.
  auto api = [impl](const Request& r) { return impl->handle(r); };
  std::vector<std::string> tails = {"", "/{a}", "/{a}/{b}", "/{a}/{b}/{c}", "/{a}/{b}/{c}/{d}", "/{a}/{b}/{c}/{d}/{e}"};
  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    for (const auto& t : tails) {
      router.add(m, "/api/{version}" + t, api);
      router.add(m, "/apis/{group}/{version}" + t, api);
    }
  }
}

// ---- watch ----------------------------------------------------------------------------------

Response ApiServer::Impl::watchResponse(const Request& req, const ResourceType& t, const ApiPath& p) {
  auto lo = listOptions(req);
  if (!lo.ok()) return badRequest(lo.status().message());
  WatchOptions wo;
  wo.labelSelector = lo->labelSelector;
  wo.fieldSelector = lo->fieldSelector;
  wo.resourceVersion = lo->resourceVersion;
  wo.allowBookmarks = truthy(req.queryParam("allowWatchBookmarks"));
  if (auto s = req.queryParam("sendInitialEvents")) wo.sendInitialEvents = truthy(s);
  ErrorDetails d;
  auto w = store->watch(gr(t), p.ns, wo, &d);
  if (!w.ok()) return statusResponse(w.status(), d);
  std::chrono::seconds timeout = opts.maxWatchTimeout;
  if (auto ts = req.queryParam("timeoutSeconds")) {
    try {
      timeout = std::chrono::seconds(std::max(0LL, std::stoll(*ts)));
    } catch (...) {
      return badRequest("timeoutSeconds: invalid value \"" + *ts + "\"");
    }
  }
  return startWatchStream(std::move(w).value(), timeout, wantsTable(req) ? &t : nullptr);
}

// One open watch: a thread moves events from the store's Watch to the HTTP stream, one JSON
// object per line, until the client leaves, timeoutSeconds passes, the watch ends or a fault
// drops it.
Response ApiServer::Impl::startWatchStream(std::unique_ptr<Watch> w, std::chrono::seconds timeout,
                                          const ResourceType* table) {
  struct Pump : http::StreamSource {
    std::shared_ptr<Impl> impl;
    std::shared_ptr<Watch> watch;
    std::chrono::steady_clock::time_point deadline;
    std::optional<ResourceType> table;
    std::string tableVersion;
    uint64_t dropGen = 0, expireGen = 0;
    std::atomic<bool> gone{false};

    void onStart(std::shared_ptr<http::StreamWriter> writer) override {
      std::thread([self = shared_from_this_(), writer] { self->run(writer); }).detach();
    }
    void onClientGone() override {
      gone = true;
      watch->stop();
    }
    std::weak_ptr<Pump> weakSelf;
    std::shared_ptr<Pump> shared_from_this_() { return weakSelf.lock(); }

    std::string line(const WatchEvent& ev) const {
      if (!table || ev.type == WatchEventType::kError || ev.type == WatchEventType::kBookmark) return ev.toJson() + "\n";
      auto obj = json::parse(*ev.object);
      if (!obj.ok()) return ev.toJson() + "\n";
      std::vector<const json::Value*> rows{&*obj};
      std::string t = tables::render(*table, rows, "", tableVersion, impl->crds.columnsFor(*table), impl->opts.clock());
      return std::string("{\"type\":\"") + watchEventTypeName(ev.type) + "\",\"object\":" + t + "}\n";
    }

    void run(const std::shared_ptr<http::StreamWriter>& writer) {
      while (!gone && writer->isOpen()) {
        if (impl->dropWatchesGen.load() != dropGen) break;
        if (impl->expireWatchesGen.load() != expireGen) {
          writer->write(
              "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
              "\"Failure\",\"message\":\"too old resource version: injected (fault)\",\"reason\":\"Expired\",\"code\":410}}\n");
          break;
        }
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) break;
        auto wait = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(200),
                                                       std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
        auto ev = watch->next(wait);
        if (!ev) {
          if (watch->ended()) break;
          continue;
        }
        if (!writer->write(line(*ev))) break;
        if (ev->type == WatchEventType::kError) break;
      }
      watch->stop();
      writer->close();
    }
  };
  auto pump = std::make_shared<Pump>();
  pump->weakSelf = pump;
  pump->impl = shared_from_this();
  pump->watch = std::shared_ptr<Watch>(std::move(w));
  pump->deadline = std::chrono::steady_clock::now() + timeout;
  if (table) pump->table = *table;
  pump->tableVersion = "v1";
  pump->dropGen = dropWatchesGen.load();
  pump->expireGen = expireWatchesGen.load();
  return Response::stream(200, table ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json", pump);
}

}  // namespace kubeop::sandbox
