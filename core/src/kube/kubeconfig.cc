// Kubeconfig / in-cluster loading (see kubeconfig.h for the semantics, which follow client-go's
// tools/clientcmd). YAML through kubeop::yaml (so JSON kubeconfigs work too), exec credential
// plugins through posix_spawn.
#include "kubeop/kube/kubeconfig.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <set>

#include "kubeop/core/json.h"
#include "kubeop/core/pki.h"
#include "kubeop/core/yaml.h"
#include "kubeop/http/url.h"

extern char** environ;  // NOLINT: POSIX

namespace kubeop::kube {
namespace {

constexpr std::size_t kMaxKubeconfigBytes = 16u << 20;
constexpr std::size_t kMaxCredentialFileBytes = 1u << 20;
constexpr std::size_t kMaxExecOutputBytes = 1u << 20;
constexpr const char* kServiceAccountDir = "var/run/secrets/kubernetes.io/serviceaccount";

// --- files and paths ----------------------------------------------------------------------------

std::string homeDir() {
  const char* h = std::getenv("HOME");
  return h != nullptr ? std::string(h) : std::string();
}

// "/home/me/.kube/config" → "~/.kube/config", for messages.
std::string displayPath(const std::string& path) {
  const std::string home = homeDir();
  if (!home.empty() && home != "/" && path.size() > home.size() && path.compare(0, home.size(), home) == 0 &&
      path[home.size()] == '/') {
    return "~" + path.substr(home.size());
  }
  return path;
}

std::string displayFiles(const std::vector<std::string>& files) {
  if (files.empty()) return "kubeconfig";
  std::string out;
  for (const auto& f : files) {
    if (!out.empty()) out += ':';
    out += displayPath(f);
  }
  return out;
}

std::string dirName(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string joinPath(const std::string& dir, const std::string& rel) {
  if (dir.empty() || dir == ".") return rel;
  if (dir.back() == '/') return dir + rel;
  return dir + "/" + rel;
}

// Absolute: the path itself; relative: against `base` (a directory), like filepath.Join.
std::string resolvePath(const std::string& base, const std::string& p) {
  if (p.empty() || p.front() == '/') return p;
  return joinPath(base, p);
}

std::string errnoText(int e) { return std::strerror(e); }

StatusOr<std::string> readFile(const std::string& path, std::size_t maxBytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    const std::string msg = displayPath(path) + ": " + errnoText(e);
    return e == ENOENT ? notFound(msg) : unavailable(msg);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return unavailable(displayPath(path) + ": " + errnoText(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > maxBytes) {
      ::close(fd);
      return invalidArgument(displayPath(path) + ": larger than " + std::to_string(maxBytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string trimSpace(std::string s) {
  const auto notSpace = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), notSpace));
  s.erase(std::find_if(s.rbegin(), s.rend(), notSpace).base(), s.end());
  return s;
}

std::string joinNames(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

template <typename Map>
std::string keysOf(const Map& m) {
  std::vector<std::string> names;
  for (const auto& [k, v] : m) names.push_back(k);
  return joinNames(names);
}

// --- typed access to the parsed document, with key paths in errors ------------------------------

class Reader {
 public:
  Reader(std::string file, std::string where) : file_(std::move(file)), where_(std::move(where)) {}

  Status error(std::string_view key, std::string_view what) const {
    return invalidArgument(file_ + ": " + path(key) + ": " + std::string(what));
  }
  std::string path(std::string_view key) const {
    if (where_.empty()) return std::string(key);
    return key.empty() ? where_ : where_ + "." + std::string(key);
  }
  Reader child(std::string_view key) const { return Reader(file_, path(key)); }
  Reader index(std::string_view key, std::size_t i) const {
    return Reader(file_, path(key) + "[" + std::to_string(i) + "]");
  }

  // Missing and null leave `out` alone.
  Status str(const json::Value& obj, std::string_view key, std::string& out) const {
    const json::Value* v = json::find(obj, key);
    if (v == nullptr || v->IsNull()) return Status::ok();
    if (!v->IsString()) return error(key, std::string("expected a string, got ") + json::typeName(*v));
    out.assign(v->GetString(), v->GetStringLength());
    return Status::ok();
  }
  Status boolean(const json::Value& obj, std::string_view key, bool& out) const {
    const json::Value* v = json::find(obj, key);
    if (v == nullptr || v->IsNull()) return Status::ok();
    if (!v->IsBool()) return error(key, std::string("expected a boolean, got ") + json::typeName(*v));
    out = v->GetBool();
    return Status::ok();
  }
  // A base64 field decoded (the value never appears in messages).
  Status data(const json::Value& obj, std::string_view key, std::string& out) const {
    std::string text;
    KUBEOP_RETURN_IF_ERROR(str(obj, key, text));
    if (text.empty()) return Status::ok();
    auto decoded = pki::base64Decode(text);
    if (!decoded.ok()) return error(key, decoded.status().message());
    out = std::move(*decoded);
    return Status::ok();
  }
  // An array member, or nullptr when missing/null.
  StatusOr<const json::Value*> array(const json::Value& obj, std::string_view key) const {
    const json::Value* v = json::find(obj, key);
    if (v == nullptr || v->IsNull()) return static_cast<const json::Value*>(nullptr);
    if (!v->IsArray()) return error(key, std::string("expected a list, got ") + json::typeName(*v));
    return v;
  }
  // An object member, or nullptr when missing/null.
  StatusOr<const json::Value*> object(const json::Value& obj, std::string_view key) const {
    const json::Value* v = json::find(obj, key);
    if (v == nullptr || v->IsNull()) return static_cast<const json::Value*>(nullptr);
    if (!v->IsObject()) return error(key, std::string("expected a mapping, got ") + json::typeName(*v));
    return v;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::string where_;
};

// Iterates a named list ("clusters": [{name, cluster: {...}}]) and calls f(name, body, reader).
template <typename F>
Status forEachNamed(const Reader& r, const json::Value& root, std::string_view listKey, std::string_view bodyKey,
                    std::set<std::string>& seen, F f) {
  KUBEOP_ASSIGN_OR_RETURN(const json::Value* list, r.array(root, listKey));
  if (list == nullptr) return Status::ok();
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const Reader item = r.index(listKey, i);
    const json::Value& entry = (*list)[i];
    if (!entry.IsObject()) return item.error("", std::string("expected a mapping, got ") + json::typeName(entry));
    std::string name;
    KUBEOP_RETURN_IF_ERROR(item.str(entry, "name", name));
    if (name.empty()) return item.error("name", "missing");
    if (!seen.insert(name).second) {
      return item.error("name", "duplicate " + std::string(bodyKey) + " name \"" + name + "\"");
    }
    KUBEOP_ASSIGN_OR_RETURN(const json::Value* body, item.object(entry, bodyKey));
    static const json::Value kEmpty(rapidjson::kObjectType);
    KUBEOP_RETURN_IF_ERROR(f(name, body != nullptr ? *body : kEmpty, item.child(bodyKey)));
  }
  return Status::ok();
}

// --- RFC 3339 ------------------------------------------------------------------------------------

std::optional<SystemClock::time_point> parseRfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (s.size() < 20) return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len, int& out) {
    out = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  if (!num(0, 4, y) || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' || !num(8, 2, d) ||
      (s[10] != 'T' && s[10] != 't') || !num(11, 2, h) || s[13] != ':' || !num(14, 2, mi) || s[16] != ':' ||
      !num(17, 2, sec)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;  // sub-second precision ignored
  }
  int offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    int oh, om;
    if (!num(pos + 1, 2, oh) || !num(pos + 4, 2, om)) return std::nullopt;
    offset = (oh * 60 + om) * 60 * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return SystemClock::from_time_t(timegm(&tm) - offset);
}

// --- credential sources -------------------------------------------------------------------------

// A token file, re-read whenever it changes (the kubelet rotates projected service account
// tokens by swapping a symlink, which changes the inode we stat through it).
class FileTokenSource {
 public:
  explicit FileTokenSource(std::string path) : path_(std::move(path)) {}

  StatusOr<std::string> token() {
    std::lock_guard lk(mu_);
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      const int e = errno;
      if (have_) return token_;  // keep using the last good token while the file is being replaced
      return unavailable("reading token file " + displayPath(path_) + ": " + errnoText(e));
    }
    if (have_ && st.st_ino == last_.st_ino && st.st_dev == last_.st_dev && st.st_size == last_.st_size &&
        st.st_mtim.tv_sec == last_.st_mtim.tv_sec && st.st_mtim.tv_nsec == last_.st_mtim.tv_nsec) {
      return token_;
    }
    auto text = readFile(path_, kMaxCredentialFileBytes);
    if (!text.ok()) {
      if (have_) return token_;
      return Status(text.status().code(), "reading token file: " + text.status().message());
    }
    std::string t = trimSpace(std::move(*text));
    if (t.empty()) {
      if (have_) return token_;
      return unauthenticated("token file " + displayPath(path_) + " is empty");
    }
    token_ = std::move(t);
    last_ = st;
    have_ = true;
    return token_;
  }

  void invalidate() {
    std::lock_guard lk(mu_);
    have_ = false;
  }

 private:
  std::string path_;
  std::mutex mu_;
  struct stat last_ {};
  bool have_ = false;
  std::string token_;
};

struct ExecCredential {
  std::string token;
  std::string clientCertificatePem;
  std::string clientKeyPem;
  std::optional<SystemClock::time_point> expiry;
};

// Runs `argv` with `envp`, stdin from /dev/null, stderr inherited; returns stdout.
StatusOr<std::string> runProcess(const std::string& what, const std::vector<std::string>& argv,
                                 const std::vector<std::string>& envp, std::chrono::milliseconds timeout,
                                 const std::string& installHint) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return unavailable(what + ": pipe: " + errnoText(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const auto& e : envp) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    std::string msg = what + ": cannot run \"" + argv[0] + "\": " + errnoText(rc);
    if (!installHint.empty()) msg += "\n" + installHint;
    return unavailable(std::move(msg));
  }
  std::string output;
  bool timedOut = false;
  bool tooLarge = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[16384];
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
    if (output.size() > kMaxExecOutputBytes) {
      tooLarge = true;
      break;
    }
  }
  ::close(out[0]);
  if (timedOut || tooLarge) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut) return Status(StatusCode::kDeadlineExceeded, what + ": timed out after " + std::to_string(timeout.count()) + "ms");
  if (tooLarge) return invalidArgument(what + ": output larger than " + std::to_string(kMaxExecOutputBytes) + " bytes");
  if (WIFSIGNALED(status)) return unavailable(what + ": killed by signal " + std::to_string(WTERMSIG(status)));
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    std::string msg = what + ": exit status " + std::to_string(WEXITSTATUS(status));
    if (WEXITSTATUS(status) == 127 && !installHint.empty()) msg += "\n" + installHint;
    return unavailable(std::move(msg));
  }
  return output;
}

// An exec credential plugin (client.authentication.k8s.io), run on demand and cached until the
// credential's expirationTimestamp (forever when it has none, until invalidate()).
class ExecCredentialSource {
 public:
  ExecCredentialSource(ExecConfig cfg, std::string userName, std::string execInfo, std::chrono::milliseconds timeout,
                       std::function<SystemClock::time_point()> now)
      : cfg_(std::move(cfg)),
        what_("exec plugin \"" + cfg_.command + "\" (user \"" + userName + "\")"),
        execInfo_(std::move(execInfo)),
        timeout_(timeout),
        now_(std::move(now)) {}

  StatusOr<ExecCredential> get() {
    std::lock_guard lk(mu_);  // one run at a time; the others wait for its result
    if (cached_ && (!cached_->expiry || now_() < *cached_->expiry)) return *cached_;
    cached_.reset();
    KUBEOP_ASSIGN_OR_RETURN(ExecCredential c, run());
    cached_ = c;
    return c;
  }

  void invalidate() {
    std::lock_guard lk(mu_);
    cached_.reset();
  }

 private:
  StatusOr<ExecCredential> run() {
    if (cfg_.interactiveMode == "Always") {
      return failedPrecondition(what_ + ": interactiveMode is Always, but kubeop never runs plugins interactively");
    }
    std::vector<std::string> argv{cfg_.command};
    argv.insert(argv.end(), cfg_.args.begin(), cfg_.args.end());
    std::vector<std::string> env;
    std::set<std::string> overridden{"KUBERNETES_EXEC_INFO"};
    for (const auto& [k, v] : cfg_.env) overridden.insert(k);
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string_view entry(*e);
      if (overridden.count(std::string(entry.substr(0, entry.find('=')))) == 0) env.emplace_back(entry);
    }
    for (const auto& [k, v] : cfg_.env) env.push_back(k + "=" + v);
    env.push_back("KUBERNETES_EXEC_INFO=" + execInfo_);
    KUBEOP_ASSIGN_OR_RETURN(std::string output, runProcess(what_, argv, env, timeout_, cfg_.installHint));

    // Never quote the output: it holds the credential.
    auto doc = json::parse(output);
    if (!doc.ok()) return invalidArgument(what_ + ": output is not an ExecCredential: " + doc.status().message());
    const json::Value& root = *doc;
    if (!root.IsObject() || json::getString(root, "kind") != "ExecCredential") {
      return invalidArgument(what_ + ": output is not an ExecCredential (kind)");
    }
    const std::string_view apiVersion = json::getString(root, "apiVersion");
    if (apiVersion != cfg_.apiVersion) {
      return invalidArgument(what_ + ": plugin returned apiVersion \"" + std::string(apiVersion.substr(0, 80)) +
                             "\", configured \"" + cfg_.apiVersion + "\"");
    }
    const json::Value* status = json::find(root, "status");
    if (status == nullptr || !status->IsObject()) return invalidArgument(what_ + ": plugin returned no status");
    ExecCredential c;
    c.token = std::string(json::getString(*status, "token"));
    c.clientCertificatePem = std::string(json::getString(*status, "clientCertificateData"));
    c.clientKeyPem = std::string(json::getString(*status, "clientKeyData"));
    if (c.clientCertificatePem.empty() != c.clientKeyPem.empty()) {
      return invalidArgument(what_ + ": plugin returned only one of clientCertificateData and clientKeyData");
    }
    if (c.token.empty() && c.clientCertificatePem.empty()) {
      return invalidArgument(what_ + ": plugin returned neither a token nor a client certificate");
    }
    const std::string_view expiry = json::getString(*status, "expirationTimestamp");
    if (!expiry.empty()) {
      c.expiry = parseRfc3339(expiry);
      if (!c.expiry) {
        return invalidArgument(what_ + ": invalid expirationTimestamp \"" + std::string(expiry.substr(0, 64)) + "\"");
      }
    }
    return c;
  }

  const ExecConfig cfg_;
  const std::string what_;
  const std::string execInfo_;
  const std::chrono::milliseconds timeout_;
  const std::function<SystemClock::time_point()> now_;
  std::mutex mu_;
  std::optional<ExecCredential> cached_;
};

std::optional<std::string> realGetenv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> envOf(const LoadOptions& o, const std::string& name) {
  auto v = o.getenv ? o.getenv(name) : realGetenv(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

std::function<SystemClock::time_point()> clockOf(const LoadOptions& o) {
  if (o.now) return o.now;
  return [] { return SystemClock::now(); };
}

// --- parsing ------------------------------------------------------------------------------------

Status parseExec(const Reader& r, const json::Value& obj, ExecConfig& e) {
  KUBEOP_RETURN_IF_ERROR(r.str(obj, "command", e.command));
  KUBEOP_RETURN_IF_ERROR(r.str(obj, "apiVersion", e.apiVersion));
  KUBEOP_RETURN_IF_ERROR(r.str(obj, "interactiveMode", e.interactiveMode));
  KUBEOP_RETURN_IF_ERROR(r.str(obj, "installHint", e.installHint));
  KUBEOP_RETURN_IF_ERROR(r.boolean(obj, "provideClusterInfo", e.provideClusterInfo));
  KUBEOP_ASSIGN_OR_RETURN(const json::Value* args, r.array(obj, "args"));
  if (args != nullptr) {
    for (rapidjson::SizeType i = 0; i < args->Size(); ++i) {
      if (!(*args)[i].IsString()) return r.index("args", i).error("", "expected a string");
      e.args.emplace_back((*args)[i].GetString(), (*args)[i].GetStringLength());
    }
  }
  KUBEOP_ASSIGN_OR_RETURN(const json::Value* env, r.array(obj, "env"));
  if (env != nullptr) {
    for (rapidjson::SizeType i = 0; i < env->Size(); ++i) {
      const Reader er = r.index("env", i);
      const json::Value& item = (*env)[i];
      if (!item.IsObject()) return er.error("", "expected a mapping with name and value");
      std::string name, value;
      KUBEOP_RETURN_IF_ERROR(er.str(item, "name", name));
      KUBEOP_RETURN_IF_ERROR(er.str(item, "value", value));
      if (name.empty() || name.find('=') != std::string::npos) return er.error("name", "invalid variable name");
      e.env.emplace_back(std::move(name), std::move(value));
    }
  }
  if (e.command.empty()) return r.error("command", "missing (required for an exec plugin)");
  if (e.apiVersion.empty()) return r.error("apiVersion", "missing (required for an exec plugin)");
  if (e.apiVersion != "client.authentication.k8s.io/v1" && e.apiVersion != "client.authentication.k8s.io/v1beta1") {
    return r.error("apiVersion", "unsupported exec plugin API version \"" + e.apiVersion +
                                     "\" (want client.authentication.k8s.io/v1 or v1beta1)");
  }
  if (!e.interactiveMode.empty() && e.interactiveMode != "Never" && e.interactiveMode != "IfAvailable" &&
      e.interactiveMode != "Always") {
    return r.error("interactiveMode", "must be Never, IfAvailable or Always");
  }
  return Status::ok();
}

Status mergeInto(Kubeconfig& into, Kubeconfig&& from) {
  for (auto& [k, v] : from.clusters) into.clusters.try_emplace(k, std::move(v));  // first file wins
  for (auto& [k, v] : from.users) into.users.try_emplace(k, std::move(v));
  for (auto& [k, v] : from.contexts) into.contexts.try_emplace(k, std::move(v));
  if (into.currentContext.empty()) into.currentContext = std::move(from.currentContext);
  for (auto& f : from.files) into.files.push_back(std::move(f));
  return Status::ok();
}

std::string bracketHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

StatusOr<std::string> RestConfig::authorizationHeader() const {
  if (bearerToken) {
    KUBEOP_ASSIGN_OR_RETURN(std::string token, bearerToken());
    if (!token.empty()) return "Bearer " + token;
  }
  if (basicAuth) return "Basic " + pki::base64Encode(basicAuth->username + ":" + basicAuth->password);
  return std::string();
}

StatusOr<Kubeconfig> parseKubeconfig(std::string_view text, const std::string& path) {
  const std::string shown = displayPath(path);
  Kubeconfig cfg;
  cfg.files.push_back(path);
  yaml::ParseOptions po;
  po.source = shown;
  po.max_bytes = kMaxKubeconfigBytes;
  KUBEOP_ASSIGN_OR_RETURN(auto docs, yaml::parseStream(text, po));
  if (docs.empty()) return cfg;  // an empty file is an empty config, as in client-go
  if (docs.size() > 1) return invalidArgument(shown + ": expected one YAML document, found " + std::to_string(docs.size()));
  const json::Value& root = docs[0].doc;
  if (!root.IsObject()) return invalidArgument(shown + ": expected a mapping at the top level");
  const Reader r(shown, "");
  std::string kind, apiVersion;
  KUBEOP_RETURN_IF_ERROR(r.str(root, "kind", kind));
  KUBEOP_RETURN_IF_ERROR(r.str(root, "apiVersion", apiVersion));
  if (!kind.empty() && kind != "Config") return r.error("kind", "expected Config, got \"" + kind + "\"");
  if (!apiVersion.empty() && apiVersion != "v1") return r.error("apiVersion", "expected v1, got \"" + apiVersion + "\"");
  KUBEOP_RETURN_IF_ERROR(r.str(root, "current-context", cfg.currentContext));
  const std::string base = dirName(path);

  auto readCluster = [&](const std::string& name, const json::Value& c, const Reader& cr) -> Status {
    KubeconfigCluster k;
    k.origin = path;
    KUBEOP_RETURN_IF_ERROR(cr.str(c, "server", k.server));
    KUBEOP_RETURN_IF_ERROR(cr.str(c, "certificate-authority", k.certificateAuthority));
    KUBEOP_RETURN_IF_ERROR(cr.data(c, "certificate-authority-data", k.certificateAuthorityData));
    KUBEOP_RETURN_IF_ERROR(cr.boolean(c, "insecure-skip-tls-verify", k.insecureSkipTlsVerify));
    KUBEOP_RETURN_IF_ERROR(cr.str(c, "tls-server-name", k.tlsServerName));
    KUBEOP_RETURN_IF_ERROR(cr.str(c, "proxy-url", k.proxyUrl));
    k.certificateAuthority = resolvePath(base, k.certificateAuthority);
    cfg.clusters.emplace(name, std::move(k));
    return Status::ok();
  };
  auto readUser = [&](const std::string& name, const json::Value& u, const Reader& ur) -> Status {
    KubeconfigUser k;
    k.origin = path;
    KUBEOP_RETURN_IF_ERROR(ur.str(u, "token", k.token));
    KUBEOP_RETURN_IF_ERROR(ur.str(u, "tokenFile", k.tokenFile));
    KUBEOP_RETURN_IF_ERROR(ur.str(u, "client-certificate", k.clientCertificate));
    KUBEOP_RETURN_IF_ERROR(ur.data(u, "client-certificate-data", k.clientCertificateData));
    KUBEOP_RETURN_IF_ERROR(ur.str(u, "client-key", k.clientKey));
    KUBEOP_RETURN_IF_ERROR(ur.data(u, "client-key-data", k.clientKeyData));
    KUBEOP_RETURN_IF_ERROR(ur.str(u, "username", k.username));
    KUBEOP_RETURN_IF_ERROR(ur.str(u, "password", k.password));
    KUBEOP_RETURN_IF_ERROR(ur.str(u, "as", k.impersonate));
    KUBEOP_ASSIGN_OR_RETURN(const json::Value* provider, ur.object(u, "auth-provider"));
    if (provider != nullptr) {
      KUBEOP_RETURN_IF_ERROR(ur.child("auth-provider").str(*provider, "name", k.authProvider));
      if (k.authProvider.empty()) k.authProvider = "unnamed";
    }
    KUBEOP_ASSIGN_OR_RETURN(const json::Value* exec, ur.object(u, "exec"));
    if (exec != nullptr) {
      ExecConfig e;
      KUBEOP_RETURN_IF_ERROR(parseExec(ur.child("exec"), *exec, e));
      // Only a command given as a path is resolved; a bare name is looked up in PATH.
      if (e.command.find('/') != std::string::npos) e.command = resolvePath(base, e.command);
      k.exec = std::move(e);
    }
    k.tokenFile = resolvePath(base, k.tokenFile);
    k.clientCertificate = resolvePath(base, k.clientCertificate);
    k.clientKey = resolvePath(base, k.clientKey);
    cfg.users.emplace(name, std::move(k));
    return Status::ok();
  };
  auto readContext = [&](const std::string& name, const json::Value& c, const Reader& cr) -> Status {
    KubeconfigContext k;
    k.origin = path;
    KUBEOP_RETURN_IF_ERROR(cr.str(c, "cluster", k.cluster));
    KUBEOP_RETURN_IF_ERROR(cr.str(c, "user", k.user));
    KUBEOP_RETURN_IF_ERROR(cr.str(c, "namespace", k.namespace_));
    cfg.contexts.emplace(name, std::move(k));
    return Status::ok();
  };
  std::set<std::string> clusterNames, userNames, contextNames;
  Status st = forEachNamed(r, root, "clusters", "cluster", clusterNames, readCluster);
  if (st.isOk()) st = forEachNamed(r, root, "users", "user", userNames, readUser);
  if (st.isOk()) st = forEachNamed(r, root, "contexts", "context", contextNames, readContext);
  if (!st.isOk()) return st;
  return cfg;
}

StatusOr<Kubeconfig> loadKubeconfigFiles(const std::vector<std::string>& paths) {
  Kubeconfig merged;
  std::set<std::string> done;
  for (const auto& p : paths) {
    if (p.empty() || !done.insert(p).second) continue;
    auto text = readFile(p, kMaxKubeconfigBytes);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) continue;  // as client-go: missing files are skipped
      return text.status();
    }
    KUBEOP_ASSIGN_OR_RETURN(Kubeconfig one, parseKubeconfig(*text, p));
    KUBEOP_RETURN_IF_ERROR(mergeInto(merged, std::move(one)));
  }
  return merged;
}

StatusOr<RestConfig> restConfigFromKubeconfig(const Kubeconfig& config, const LoadOptions& options) {
  const std::string files = displayFiles(config.files);
  const std::string contextName = options.context.empty() ? config.currentContext : options.context;
  if (contextName.empty()) {
    return invalidArgument(files + ": no current-context is set and no context was given (have: " +
                           keysOf(config.contexts) + ")");
  }
  const auto ctxIt = config.contexts.find(contextName);
  if (ctxIt == config.contexts.end()) {
    return invalidArgument(files + ": context \"" + contextName + "\" not found (have: " + keysOf(config.contexts) +
                           ")");
  }
  const KubeconfigContext& ctx = ctxIt->second;
  const std::string ctxFile = displayPath(ctx.origin);
  if (ctx.cluster.empty()) return invalidArgument(ctxFile + ": context \"" + contextName + "\" names no cluster");
  const auto clIt = config.clusters.find(ctx.cluster);
  if (clIt == config.clusters.end()) {
    return invalidArgument(files + ": cluster \"" + ctx.cluster + "\" of context \"" + contextName +
                           "\" not found (have: " + keysOf(config.clusters) + ")");
  }
  const KubeconfigCluster& cluster = clIt->second;
  const std::string clusterWhere = displayPath(cluster.origin) + ": cluster \"" + ctx.cluster + "\"";

  RestConfig rc;
  rc.contextName = contextName;
  rc.source = files + ", context \"" + contextName + "\"";
  rc.client.userAgent = options.userAgent;
  if (cluster.server.empty()) return invalidArgument(clusterWhere + ": server is not set");
  auto url = http::parseUrl(cluster.server);
  if (!url.ok()) return invalidArgument(clusterWhere + ": server: " + url.status().message());
  rc.server = cluster.server;
  while (rc.server.size() > 1 && rc.server.back() == '/') rc.server.pop_back();
  if (!cluster.proxyUrl.empty()) return unimplemented(clusterWhere + ": proxy-url is not supported by kubeop");

  // TLS
  rc.client.tls.serverName = cluster.tlsServerName;
  rc.client.tls.insecureSkipVerify = cluster.insecureSkipTlsVerify;
  if (!cluster.certificateAuthorityData.empty()) {
    rc.client.tls.caPem = cluster.certificateAuthorityData;  // -data wins over the file
  } else if (!cluster.certificateAuthority.empty()) {
    auto ca = readFile(cluster.certificateAuthority, kMaxCredentialFileBytes);
    if (!ca.ok()) return Status(ca.status().code(), clusterWhere + ": certificate-authority: " + ca.status().message());
    rc.client.tls.caPem = std::move(*ca);
  }
  if (cluster.insecureSkipTlsVerify && !rc.client.tls.caPem.empty()) {
    return invalidArgument(clusterWhere + ": certificate-authority and insecure-skip-tls-verify are both set "
                                          "(specifying a root certificates file with the insecure flag is not allowed)");
  }
  if (!rc.client.tls.caPem.empty()) {
    auto certs = pki::parseCertificates(rc.client.tls.caPem);
    if (!certs.ok()) return invalidArgument(clusterWhere + ": certificate-authority: " + certs.status().message());
  }

  // Namespace
  rc.defaultNamespace = !options.namespace_.empty() ? options.namespace_
                                                    : (!ctx.namespace_.empty() ? ctx.namespace_ : "default");

  // Credentials
  if (ctx.user.empty()) return rc;  // anonymous
  const auto userIt = config.users.find(ctx.user);
  if (userIt == config.users.end()) {
    return invalidArgument(files + ": user \"" + ctx.user + "\" of context \"" + contextName + "\" not found (have: " +
                           keysOf(config.users) + ")");
  }
  const KubeconfigUser& user = userIt->second;
  const std::string userWhere = displayPath(user.origin) + ": user \"" + ctx.user + "\"";
  if (!user.authProvider.empty()) {
    return unimplemented(userWhere + ": auth-provider \"" + user.authProvider +
                         "\" is not supported (use an exec credential plugin)");
  }
  if (!user.impersonate.empty()) return unimplemented(userWhere + ": impersonation (as) is not supported");
  const bool hasToken = !user.token.empty() || !user.tokenFile.empty();
  const bool hasBasic = !user.username.empty() || !user.password.empty();
  if (hasToken && hasBasic) {
    return invalidArgument(userWhere + ": more than one authentication method found (token and basic auth); "
                                       "only one is allowed");
  }

  // Client certificate
  std::string certPem = user.clientCertificateData;
  std::string keyPem = user.clientKeyData;
  if (certPem.empty() && !user.clientCertificate.empty()) {
    auto c = readFile(user.clientCertificate, kMaxCredentialFileBytes);
    if (!c.ok()) return Status(c.status().code(), userWhere + ": client-certificate: " + c.status().message());
    certPem = std::move(*c);
  }
  if (keyPem.empty() && !user.clientKey.empty()) {
    auto k = readFile(user.clientKey, kMaxCredentialFileBytes);
    if (!k.ok()) return Status(k.status().code(), userWhere + ": client-key: " + k.status().message());
    keyPem = std::move(*k);
  }
  if (!certPem.empty() || !keyPem.empty()) {
    if (certPem.empty()) return invalidArgument(userWhere + ": client-key is set but client-certificate is not");
    if (keyPem.empty()) {
      return invalidArgument(userWhere + ": client-key-data or client-key must be set to use the client certificate");
    }
    Status pair = pki::checkKeyPair(certPem, keyPem);
    if (!pair.isOk()) return invalidArgument(userWhere + ": client certificate: " + pair.message());
    rc.client.tls.clientCertificatePem = std::move(certPem);
    rc.client.tls.clientKeyPem = std::move(keyPem);
  }

  // Bearer token: tokenFile wins (re-read when it changes), then token.
  if (!user.tokenFile.empty()) {
    auto source = std::make_shared<FileTokenSource>(user.tokenFile);
    auto first = source->token();  // fail early on an unreadable file, as client-go does
    if (!first.ok()) return Status(first.status().code(), userWhere + ": tokenFile: " + first.status().message());
    rc.bearerToken = [source] { return source->token(); };
    rc.invalidateCredentials = [source] { source->invalidate(); };
  } else if (!user.token.empty()) {
    rc.bearerToken = [token = user.token]() -> StatusOr<std::string> { return token; };
  }
  if (hasBasic) rc.basicAuth = BasicAuth{user.username, user.password};

  if (user.exec) {
    if (hasToken || hasBasic) {
      // client-go lets a static token win over the plugin; follow it.
      return rc;
    }
    // KUBERNETES_EXEC_INFO: what the plugin may want to know (never a credential).
    json::Document info;
    info.SetObject();
    auto& a = info.GetAllocator();
    json::setString(info, "apiVersion", user.exec->apiVersion, a);
    json::setString(info, "kind", "ExecCredential", a);
    json::Value spec(rapidjson::kObjectType);
    spec.AddMember("interactive", false, a);
    if (user.exec->provideClusterInfo) {
      json::Value cl(rapidjson::kObjectType);
      json::setString(cl, "server", rc.server, a);
      if (!cluster.tlsServerName.empty()) json::setString(cl, "tls-server-name", cluster.tlsServerName, a);
      if (cluster.insecureSkipTlsVerify) cl.AddMember("insecure-skip-tls-verify", true, a);
      if (!rc.client.tls.caPem.empty()) {
        json::setString(cl, "certificate-authority-data", pki::base64Encode(rc.client.tls.caPem), a);
      }
      json::setMember(spec, "cluster", cl, a);
    }
    json::setMember(info, "spec", spec, a);
    auto source = std::make_shared<ExecCredentialSource>(*user.exec, ctx.user, json::write(info), options.execTimeout,
                                                         clockOf(options));
    rc.bearerToken = [source]() -> StatusOr<std::string> {
      KUBEOP_ASSIGN_OR_RETURN(ExecCredential c, source->get());
      return c.token;
    };
    rc.invalidateCredentials = [source] { source->invalidate(); };
    if (rc.client.tls.clientCertificatePem.empty()) {
      rc.client.tls.clientCertificateProvider = [source]() -> StatusOr<http::ClientCertificate> {
        KUBEOP_ASSIGN_OR_RETURN(ExecCredential c, source->get());
        return http::ClientCertificate{c.clientCertificatePem, c.clientKeyPem};  // empty: no certificate
      };
    }
  }
  return rc;
}

StatusOr<RestConfig> inClusterConfig(const LoadOptions& options) {
  const auto host = envOf(options, "KUBERNETES_SERVICE_HOST");
  const auto port = envOf(options, "KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    return failedPrecondition("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
                              "defined");
  }
  const std::string dir = joinPath(options.inClusterRoot.empty() ? "/" : options.inClusterRoot, kServiceAccountDir);
  RestConfig rc;
  rc.source = "in-cluster";
  rc.server = "https://" + bracketHost(*host) + ":" + *port;
  auto url = http::parseUrl(rc.server);
  if (!url.ok()) return invalidArgument("in-cluster: KUBERNETES_SERVICE_HOST/PORT: " + url.status().message());
  rc.client.userAgent = options.userAgent;

  auto ca = readFile(joinPath(dir, "ca.crt"), kMaxCredentialFileBytes);
  if (!ca.ok()) return Status(ca.status().code(), "in-cluster: service account CA: " + ca.status().message());
  rc.client.tls.caPem = std::move(*ca);
  auto source = std::make_shared<FileTokenSource>(joinPath(dir, "token"));
  auto first = source->token();
  if (!first.ok()) return Status(first.status().code(), "in-cluster: " + first.status().message());
  rc.bearerToken = [source] { return source->token(); };
  rc.invalidateCredentials = [source] { source->invalidate(); };

  auto ns = readFile(joinPath(dir, "namespace"), 4096);
  if (ns.ok() && !trimSpace(*ns).empty()) rc.defaultNamespace = trimSpace(*ns);
  if (!options.namespace_.empty()) rc.defaultNamespace = options.namespace_;
  return rc;
}

StatusOr<RestConfig> loadRestConfig(const LoadOptions& options) {
  if (!options.kubeconfigPath.empty()) {
    if (!fileExists(options.kubeconfigPath)) {
      return notFound(displayPath(options.kubeconfigPath) + ": kubeconfig file does not exist");
    }
    KUBEOP_ASSIGN_OR_RETURN(Kubeconfig cfg, loadKubeconfigFiles({options.kubeconfigPath}));
    return restConfigFromKubeconfig(cfg, options);
  }
  if (auto env = envOf(options, "KUBECONFIG")) {
    std::vector<std::string> paths;
    std::size_t start = 0;
    for (;;) {
      const auto colon = env->find(':', start);
      paths.push_back(env->substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    KUBEOP_ASSIGN_OR_RETURN(Kubeconfig cfg, loadKubeconfigFiles(paths));
    if (cfg.files.empty()) return notFound("KUBECONFIG=" + *env + ": none of these files exists");
    return restConfigFromKubeconfig(cfg, options);
  }
  if (envOf(options, "KUBERNETES_SERVICE_HOST") && envOf(options, "KUBERNETES_SERVICE_PORT")) {
    return inClusterConfig(options);
  }
  if (auto home = envOf(options, "HOME")) {
    const std::string path = joinPath(*home, ".kube/config");
    if (fileExists(path)) {
      KUBEOP_ASSIGN_OR_RETURN(Kubeconfig cfg, loadKubeconfigFiles({path}));
      return restConfigFromKubeconfig(cfg, options);
    }
  }
  return failedPrecondition("no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, create "
                            "~/.kube/config or run in a cluster");
}

// --- writing ------------------------------------------------------------------------------------

StatusOr<std::string> renderKubeconfig(const KubeconfigSpec& spec) {
  auto url = http::parseUrl(spec.server);
  if (!url.ok()) return invalidArgument("kubeconfig server: " + url.status().message());
  if (spec.clusterName.empty() || spec.userName.empty() || spec.contextName.empty()) {
    return invalidArgument("kubeconfig: cluster, user and context names must not be empty");
  }
  if (spec.clientCertificatePem.empty() != spec.clientKeyPem.empty()) {
    return invalidArgument("kubeconfig: a client certificate needs both the certificate and the key");
  }
  json::Document doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  json::setString(doc, "apiVersion", "v1", a);
  json::setString(doc, "kind", "Config", a);

  json::Value cluster(rapidjson::kObjectType);
  json::setString(cluster, "server", spec.server, a);
  if (!spec.caPem.empty()) json::setString(cluster, "certificate-authority-data", pki::base64Encode(spec.caPem), a);
  if (spec.insecureSkipTlsVerify) cluster.AddMember("insecure-skip-tls-verify", true, a);
  if (!spec.tlsServerName.empty()) json::setString(cluster, "tls-server-name", spec.tlsServerName, a);
  json::Value namedCluster(rapidjson::kObjectType);
  json::setString(namedCluster, "name", spec.clusterName, a);
  json::setMember(namedCluster, "cluster", cluster, a);
  json::Value clusters(rapidjson::kArrayType);
  clusters.PushBack(namedCluster, a);
  json::setMember(doc, "clusters", clusters, a);

  json::Value user(rapidjson::kObjectType);
  if (!spec.token.empty()) json::setString(user, "token", spec.token, a);
  if (!spec.clientCertificatePem.empty()) {
    json::setString(user, "client-certificate-data", pki::base64Encode(spec.clientCertificatePem), a);
    json::setString(user, "client-key-data", pki::base64Encode(spec.clientKeyPem), a);
  }
  json::Value namedUser(rapidjson::kObjectType);
  json::setString(namedUser, "name", spec.userName, a);
  json::setMember(namedUser, "user", user, a);
  json::Value users(rapidjson::kArrayType);
  users.PushBack(namedUser, a);
  json::setMember(doc, "users", users, a);

  json::Value context(rapidjson::kObjectType);
  json::setString(context, "cluster", spec.clusterName, a);
  json::setString(context, "user", spec.userName, a);
  if (!spec.namespace_.empty()) json::setString(context, "namespace", spec.namespace_, a);
  json::Value namedContext(rapidjson::kObjectType);
  json::setString(namedContext, "name", spec.contextName, a);
  json::setMember(namedContext, "context", context, a);
  json::Value contexts(rapidjson::kArrayType);
  contexts.PushBack(namedContext, a);
  json::setMember(doc, "contexts", contexts, a);

  json::setString(doc, "current-context", spec.contextName, a);
  json::Value prefs(rapidjson::kObjectType);
  json::setMember(doc, "preferences", prefs, a);
  return yaml::toYaml(doc);
}

Status writeKubeconfig(const std::string& path, const KubeconfigSpec& spec) {
  KUBEOP_ASSIGN_OR_RETURN(std::string text, renderKubeconfig(spec));
  if (path.empty()) return invalidArgument("kubeconfig: empty output path");
  // Create missing parent directories (0700, like ~/.kube).
  const std::string dir = dirName(path);
  for (std::size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      const std::string prefix = dir.substr(0, i);
      if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
        return unavailable(displayPath(prefix) + ": creating the directory: " + errnoText(errno));
      }
    }
  }
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return unavailable(displayPath(path) + ": creating a temporary file: " + errnoText(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  std::string_view rest = text;
  while (ok && !rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  const int saved = errno;
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = ok ? errno : saved;
    ::unlink(tmp.c_str());
    return unavailable(displayPath(path) + ": writing: " + errnoText(e));
  }
  return Status::ok();
}

}  // namespace kubeop::kube
