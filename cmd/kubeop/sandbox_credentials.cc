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
#include "kubeop/kube/kubeconfig.h"

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
  kube::KubeconfigSpec spec;
  spec.server = server;
  spec.caPem = caPem;
  spec.token = token;
  spec.clusterName = "kubeop-sandbox";
  spec.userName = "kubeop-sandbox-admin";
  spec.contextName = "kubeop-sandbox";
  spec.namespace_ = "default";
  return kube::writeKubeconfig(path, spec);
}

}  // namespace kubeop::cmd
