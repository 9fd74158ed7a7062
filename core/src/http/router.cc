// Request/Response helpers and the Router. No Boost here: this TU compiles in a second.
#include <algorithm>
#include <array>
#include <exception>
#include <stdexcept>
#include <string>

#include "kubeop/http/server.h"
#include "kubeop/log/log.h"

namespace kubeop::http {
namespace {

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `in`; malformed escapes are kept literally. `plusIsSpace` for query strings.
void percentDecode(std::string_view in, bool plusIsSpace, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      const int hi = hexValue(in[i + 1]);
      const int lo = hexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plusIsSpace && c == '+') ? ' ' : c;
  }
}

std::string_view findHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

// Path segments after the leading '/': "/a/b" → {"a","b"}, "/" → {""}. Returns false when the
// path has more segments than fit (such paths match no route).
constexpr std::size_t kMaxSegments = 32;
bool splitPath(std::string_view path, std::array<std::string_view, kMaxSegments>& segs, std::size_t& n) {
  n = 0;
  if (path.empty() || path[0] != '/') return false;
  std::string_view rest = path.substr(1);
  for (;;) {
    if (n == kMaxSegments) return false;
    const auto slash = rest.find('/');
    segs[n++] = rest.substr(0, slash);
    if (slash == std::string_view::npos) return true;
    rest.remove_prefix(slash + 1);
  }
}

}  // namespace

// --- Request ------------------------------------------------------------------------------------

std::string_view Request::header(std::string_view name) const { return findHeader(headers, name); }

bool Request::hasHeader(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

std::optional<std::string> Request::queryParam(std::string_view name) const {
  std::string_view rest = query;
  std::string key;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    percentDecode(pair.substr(0, eq), true, key);
    if (key != name) continue;
    std::string value;
    if (eq != std::string_view::npos) percentDecode(pair.substr(eq + 1), true, value);
    return value;
  }
  return std::nullopt;
}

std::string_view Request::pathParam(std::string_view name) const {
  for (const auto& [k, v] : pathParams) {
    if (k == name) return v;
  }
  return {};
}

// --- Response -----------------------------------------------------------------------------------

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.contentType = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Response::stream(int status, std::string contentType, std::shared_ptr<StreamSource> source) {
  Response r;
  r.status = status;
  r.contentType = std::move(contentType);
  r.streamSource = std::move(source);
  return r;
}

namespace {
class FunctionStreamSource final : public StreamSource {
 public:
  FunctionStreamSource(std::function<void(std::shared_ptr<StreamWriter>)> start, std::function<void()> gone)
      : start_(std::move(start)), gone_(std::move(gone)) {}
  void onStart(std::shared_ptr<StreamWriter> writer) override {
    if (start_) start_(std::move(writer));
  }
  void onClientGone() override {
    if (gone_) gone_();
  }

 private:
  std::function<void(std::shared_ptr<StreamWriter>)> start_;
  std::function<void()> gone_;
};
}  // namespace

std::shared_ptr<StreamSource> makeStreamSource(std::function<void(std::shared_ptr<StreamWriter>)> onStart,
                                               std::function<void()> onClientGone) {
  return std::make_shared<FunctionStreamSource>(std::move(onStart), std::move(onClientGone));
}

Response Response::error(const Status& status, std::string_view requestId) {
  const StatusCode code = status.isOk() ? StatusCode::kUnknown : status.code();
  return error(httpStatusFor(code), status, reasonFor(code), requestId);
}

Response Response::error(int httpStatus, const Status& status, std::string_view reason,
                         std::string_view requestId) {
  const StatusCode code = status.isOk() ? StatusCode::kUnknown : status.code();
  Response r;
  r.status = httpStatus;
  std::string& b = r.body;
  b.reserve(96 + status.message().size() + requestId.size());
  b += "{\"error\":\"";
  log::appendJsonEscaped(b, status.message());
  b += "\",\"code\":\"";
  log::appendJsonEscaped(b, statusCodeName(code));
  b += "\",\"reason\":\"";
  log::appendJsonEscaped(b, reason);
  b += "\",\"status\":";
  b += std::to_string(httpStatus);
  b += ",\"requestId\":\"";
  log::appendJsonEscaped(b, requestId);
  b += "\"}";
  return r;
}

Response& Response::setHeader(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::string_view Response::header(std::string_view name) const { return findHeader(headers, name); }

// --- Router -------------------------------------------------------------------------------------

struct Router::Impl {
  struct Segment {
    bool param = false;
    std::string text;  // the literal, or the parameter name
  };
  struct Template {
    std::string pattern;
    std::string shape;  // the pattern with parameter names erased: "/v1/plugins/{}"
    std::vector<Segment> segments;
    std::vector<std::pair<std::string, Handler>> methods;
  };
  std::vector<Template> templates;

  static bool moreSpecific(const Template& a, const Template& b) {
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
      if (a.segments[i].param != b.segments[i].param) return !a.segments[i].param;
    }
    return false;
  }

  static bool matches(const Template& t, const std::array<std::string_view, kMaxSegments>& segs, std::size_t n) {
    if (t.segments.size() != n) return false;
    for (std::size_t i = 0; i < n; ++i) {
      const Segment& s = t.segments[i];
      if (s.param ? segs[i].empty() : segs[i] != s.text) return false;
    }
    return true;
  }

  static const Handler* handlerFor(const Template& t, std::string_view method) {
    for (const auto& [m, h] : t.methods) {
      if (m == method) return &h;
    }
    if (method == "HEAD") {
      for (const auto& [m, h] : t.methods) {
        if (m == "GET") return &h;
      }
    }
    return nullptr;
  }
};

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

Router& Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  const auto fail = [&](std::string_view why) {
    throw std::invalid_argument("route " + std::string(method) + " " + std::string(pattern) + ": " +
                                std::string(why));
  };
  if (method.empty() || method.find_first_of(" \t\r\n") != std::string_view::npos) fail("invalid method");
  if (!handler) fail("empty handler");
  std::array<std::string_view, kMaxSegments> segs;
  std::size_t n = 0;
  if (!splitPath(pattern, segs, n)) fail("the pattern must start with '/' and have at most 32 segments");

  Impl::Template t;
  t.pattern = std::string(pattern);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view s = segs[i];
    Impl::Segment seg;
    if (!s.empty() && s.front() == '{') {
      if (s.size() < 3 || s.back() != '}') fail("a parameter must be a whole segment: {name}");
      seg.param = true;
      seg.text = std::string(s.substr(1, s.size() - 2));
      if (seg.text.find_first_of("{}/") != std::string::npos) fail("invalid parameter name");
      for (const auto& other : t.segments) {
        if (other.param && other.text == seg.text) fail("duplicate parameter name");
      }
      t.shape += "/{}";
    } else {
      if (s.find_first_of("{}") != std::string_view::npos) fail("a parameter must be a whole segment: {name}");
      seg.text = std::string(s);
      t.shape += "/";
      t.shape += s;
    }
    t.segments.push_back(std::move(seg));
  }

  for (auto& existing : impl_->templates) {
    if (existing.shape != t.shape) continue;
    if (existing.pattern != t.pattern) fail("conflicts with " + existing.pattern + " (same shape)");
    for (const auto& [m, h] : existing.methods) {
      if (m == method) fail("already registered");
    }
    existing.methods.emplace_back(std::string(method), std::move(handler));
    return *this;
  }
  t.methods.emplace_back(std::string(method), std::move(handler));
  impl_->templates.push_back(std::move(t));
  return *this;
}

Router::Match Router::match(std::string_view method, std::string_view path, HeaderList* params) const {
  Match result;
  std::array<std::string_view, kMaxSegments> segs;
  std::size_t n = 0;
  if (!splitPath(path, segs, n)) return result;

  const Impl::Template* best = nullptr;     // matches the path and has the method
  const Handler* bestHandler = nullptr;
  const Impl::Template* anyPath = nullptr;  // matches the path (for 405)
  for (const auto& t : impl_->templates) {
    if (!Impl::matches(t, segs, n)) continue;
    if (anyPath == nullptr || Impl::moreSpecific(t, *anyPath)) anyPath = &t;
    const Handler* h = Impl::handlerFor(t, method);
    if (h != nullptr && (best == nullptr || Impl::moreSpecific(t, *best))) {
      best = &t;
      bestHandler = h;
    }
  }

  if (best != nullptr) {
    result.kind = MatchKind::kFound;
    result.handler = bestHandler;
    result.route = best->pattern;
    result.routeId = static_cast<std::size_t>(best - impl_->templates.data());
    if (params != nullptr) {
      std::size_t p = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (!best->segments[i].param) continue;
        if (params->size() <= p) params->emplace_back();
        (*params)[p].first = best->segments[i].text;
        percentDecode(segs[i], false, (*params)[p].second);
        ++p;
      }
      params->resize(p);
    }
    return result;
  }
  if (anyPath == nullptr) return result;

  result.kind = MatchKind::kMethodNotAllowed;
  result.route = anyPath->pattern;
  result.routeId = static_cast<std::size_t>(anyPath - impl_->templates.data());
  std::vector<std::string_view> allowed;
  for (const auto& t : impl_->templates) {
    if (!Impl::matches(t, segs, n)) continue;
    for (const auto& [m, h] : t.methods) {
      allowed.push_back(m);
      if (m == "GET") allowed.push_back("HEAD");
    }
  }
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) result.allow += ", ";
    result.allow += allowed[i];
  }
  return result;
}

Response Router::dispatch(Request& req, std::size_t* routeId) const {
  Match m = match(req.method, req.path, &req.pathParams);
  if (routeId != nullptr) *routeId = m.kind == MatchKind::kNotFound ? routeCount() : m.routeId;
  switch (m.kind) {
    case MatchKind::kFound:
      req.route.assign(m.route);
      try {
        return (*m.handler)(req);
      } catch (const std::exception& e) {
        log::error("http handler threw", {{"request_id", req.requestId}, {"method", req.method},
                                          {"route", req.route}, {"error", e.what()}});
      } catch (...) {
        log::error("http handler threw", {{"request_id", req.requestId}, {"method", req.method},
                                          {"route", req.route}, {"error", "unknown exception"}});
      }
      return Response::error(internalError("internal error"), req.requestId);
    case MatchKind::kMethodNotAllowed: {
      req.route.assign(m.route);
      req.pathParams.clear();
      Response r = Response::error(
          405, Status(StatusCode::kUnimplemented, "method " + req.method + " is not allowed on " + req.route),
          "MethodNotAllowed", req.requestId);
      r.headers.emplace_back("Allow", std::move(m.allow));
      return r;
    }
    case MatchKind::kNotFound:
      break;
  }
  req.route.clear();
  req.pathParams.clear();
  // Echo at most a bounded prefix of the path: it is client input.
  constexpr std::size_t kMaxEcho = 200;
  std::string msg = "no route for " + req.method + " ";
  msg.append(req.path, 0, kMaxEcho);
  if (req.path.size() > kMaxEcho) msg += "...";
  return Response::error(notFound(std::move(msg)), req.requestId);
}

std::size_t Router::routeCount() const { return impl_->templates.size(); }

std::vector<std::string> Router::routes() const {
  std::vector<std::string> out;
  for (const auto& t : impl_->templates) out.push_back(t.pattern);
  return out;
}

}  // namespace kubeop::http
