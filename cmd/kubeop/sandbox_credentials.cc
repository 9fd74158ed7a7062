// The sandbox's credentials: its own CA, a serving certificate for the listen address and a
// bearer token. With --data-dir they are kept there (mode 0600), so a restarted sandbox keeps
// the kubeconfig that clients already have valid.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "kubeop/core/json.h"
#include "kubeop/core/pki.h"
#include "kubeop/core/yaml.h"

namespace kubeop::cmd {

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status writePrivate(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return unavailable("cannot write " + path);
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  return ok ? Status::ok() : unavailable("cannot write " + path);
}

std::string randomToken() {
  unsigned char raw[32];
  std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(raw), sizeof raw);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i < in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (i + 1 < in.size() ? (unsigned char)in[i + 1] << 8 : 0);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool isIp(const std::string& h) {
  return !h.empty() && (h.find(':') != std::string::npos || h.find_first_not_of("0123456789.") == std::string::npos);
}

}  // namespace

StatusOr<SandboxCredentials> sandboxCredentials(const std::string& stateDir, const std::string& host,
                                                const std::string& token) {
  SandboxCredentials c;
  bool persisted = !stateDir.empty() && std::filesystem::exists(stateDir + "/ca.crt") &&
                   std::filesystem::exists(stateDir + "/ca.key") && std::filesystem::exists(stateDir + "/token");
  pki::CertificateAndKey ca;
  if (persisted) {
    ca.certificatePem = readFile(stateDir + "/ca.crt");
    ca.keyPem = readFile(stateDir + "/ca.key");
    c.token = readFile(stateDir + "/token");
    while (!c.token.empty() && (c.token.back() == '\n' || c.token.back() == '\r')) c.token.pop_back();
  } else {
    auto generated = pki::generateCa("kubeop-sandbox-ca");
    if (!generated.ok()) return generated.status();
    ca = std::move(generated).value();
    c.token = randomToken();
  }
  if (!token.empty()) c.token = token;
  std::vector<std::string> dns{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"};
  std::vector<std::string> ips{"127.0.0.1", "::1"};
  if (isIp(host) && host != "0.0.0.0" && host != "127.0.0.1") ips.push_back(host);
  if (!isIp(host) && !host.empty()) dns.push_back(host);
  auto serving = pki::issueServingCertificate(ca, "kubeop-sandbox", dns, ips);
  if (!serving.ok()) return serving.status();
  c.caCertPem = ca.certificatePem;
  c.serverCertPem = serving->certificatePem;
  c.serverKeyPem = serving->keyPem;
  if (!stateDir.empty() && !persisted) {
    KUBEOP_RETURN_IF_ERROR(writePrivate(stateDir + "/ca.crt", ca.certificatePem));
    KUBEOP_RETURN_IF_ERROR(writePrivate(stateDir + "/ca.key", ca.keyPem));
    KUBEOP_RETURN_IF_ERROR(writePrivate(stateDir + "/token", c.token + "\n"));
  }
  return c;
}

Status writeSandboxKubeconfig(const std::string& path, const std::string& server, const std::string& caPem,
                              const std::string& token) {
  json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  d.AddMember("apiVersion", "v1", a);
  d.AddMember("kind", "Config", a);
  json::Value clusters(rapidjson::kArrayType), users(rapidjson::kArrayType), contexts(rapidjson::kArrayType);
  json::Value cluster(rapidjson::kObjectType), clusterBody(rapidjson::kObjectType);
  clusterBody.AddMember("server", json::str(server, a), a);
  clusterBody.AddMember("certificate-authority-data", json::str(base64(caPem), a), a);
  cluster.AddMember("name", "kubeop-sandbox", a);
  cluster.AddMember("cluster", clusterBody, a);
  clusters.PushBack(cluster, a);
  json::Value user(rapidjson::kObjectType), userBody(rapidjson::kObjectType);
  userBody.AddMember("token", json::str(token, a), a);
  user.AddMember("name", "kubeop-sandbox-admin", a);
  user.AddMember("user", userBody, a);
  users.PushBack(user, a);
  json::Value ctx(rapidjson::kObjectType), ctxBody(rapidjson::kObjectType);
  ctxBody.AddMember("cluster", "kubeop-sandbox", a);
  ctxBody.AddMember("user", "kubeop-sandbox-admin", a);
  ctxBody.AddMember("namespace", "default", a);
  ctx.AddMember("name", "kubeop-sandbox", a);
  ctx.AddMember("context", ctxBody, a);
  contexts.PushBack(ctx, a);
  d.AddMember("clusters", clusters, a);
  d.AddMember("users", users, a);
  d.AddMember("contexts", contexts, a);
  d.AddMember("current-context", "kubeop-sandbox", a);
  d.AddMember("preferences", json::Value(rapidjson::kObjectType), a);
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  return writePrivate(path, yaml::toYaml(d));
}

}  // namespace kubeop::cmd
