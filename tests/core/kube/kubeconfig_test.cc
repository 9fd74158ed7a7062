// Tests for kubeconfig / in-cluster loading and kubeconfig writing. Everything lives in a temp
// directory; the environment and the clock are injected through LoadOptions.
#include "kubeop/kube/kubeconfig.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "kubeop/core/json.h"
#include "kubeop/core/pki.h"

namespace kubeop::kube {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kubeop-kubeconfig-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& rel) const { return (path_ / rel).string(); }
  std::string write(const std::string& rel, const std::string& content, fs::perms mode = fs::perms(0644)) const {
    const fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    fs::permissions(p, mode);
    return p.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int lineCount(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

const pki::CertificateAndKey& ca() {
  static const pki::CertificateAndKey c = *pki::generateCa("kubeconfig-test-ca");
  return c;
}
const pki::CertificateAndKey& clientCert() {
  static const pki::CertificateAndKey c = *pki::issueClientCertificate(ca(), "alice", {"devs"});
  return c;
}

LoadOptions withEnv(std::map<std::string, std::string> env) {
  LoadOptions o;
  o.getenv = [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return o;
}

StatusOr<RestConfig> load(const std::string& path, LoadOptions o = withEnv({})) {
  o.kubeconfigPath = path;
  return loadRestConfig(o);
}

// --- auth forms ---------------------------------------------------------------------------------

TEST(KubeconfigTest, StaticTokenUser) {
  TempDir d;
  const std::string path = d.write("config", R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: )" + pki::base64Encode(ca().certificatePem) + R"(
    tls-server-name: kubernetes.default
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: team-a}
users:
- name: dev-user
  user:
    token: s3cret-token
)");
  auto rc = load(path);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  EXPECT_EQ(rc->server, "https://10.0.0.1:6443");
  EXPECT_EQ(rc->defaultNamespace, "team-a");
  EXPECT_EQ(rc->contextName, "dev");
  EXPECT_EQ(rc->client.tls.caPem, ca().certificatePem);
  EXPECT_EQ(rc->client.tls.serverName, "kubernetes.default");
  EXPECT_FALSE(rc->client.tls.insecureSkipVerify);
  EXPECT_EQ(*rc->authorizationHeader(), "Bearer s3cret-token");
  EXPECT_THAT(rc->source, HasSubstr("context \"dev\""));
  EXPECT_THAT(rc->source, Not(HasSubstr("s3cret")));
}

TEST(KubeconfigTest, TokenFileIsResolvedRelativeAndReReadWhenItChanges) {
  TempDir d;
  d.write("kube/token", "first-token\n");
  const std::string path = d.write("kube/config", R"(
clusters: [{name: c, cluster: {server: "https://h:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {tokenFile: token, token: ignored-when-a-file-is-set}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)");
  const std::string cwd = fs::current_path();
  fs::current_path("/");  // relative to the kubeconfig's directory, not the working directory
  auto rc = load(path);
  fs::current_path(cwd);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  EXPECT_TRUE(rc->client.tls.insecureSkipVerify);
  EXPECT_EQ(rc->defaultNamespace, "default");
  EXPECT_EQ(*rc->bearerToken(), "first-token");
  d.write("kube/token.new", "second-token-longer\n");
  fs::rename(d.file("kube/token.new"), d.file("kube/token"));  // atomic replacement, as on rotation
  EXPECT_EQ(*rc->bearerToken(), "second-token-longer");
}

TEST(KubeconfigTest, BasicAuthUser) {
  TempDir d;
  const std::string path = d.write("config", R"(
clusters: [{name: c, cluster: {server: "http://127.0.0.1:8080"}}]
users: [{name: u, user: {username: admin, password: "p@ss:word"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)");
  auto rc = load(path);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  ASSERT_TRUE(rc->basicAuth.has_value());
  EXPECT_EQ(rc->basicAuth->username, "admin");
  EXPECT_EQ(*rc->authorizationHeader(), "Basic " + pki::base64Encode("admin:p@ss:word"));
  EXPECT_FALSE(rc->bearerToken);
}

TEST(KubeconfigTest, ClientCertificateFromDataAndFromRelativeFiles) {
  TempDir d;
  const std::string withData = d.write("data/config", R"(
clusters: [{name: c, cluster: {server: "https://h:6443", certificate-authority: ca.crt}}]
users: [{name: u, user: {client-certificate-data: )" + pki::base64Encode(clientCert().certificatePem) +
                                                       R"(, client-key-data: )" +
                                                       pki::base64Encode(clientCert().keyPem) + R"(}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)");
  d.write("data/ca.crt", ca().certificatePem);
  auto a = load(withData);
  ASSERT_TRUE(a.ok()) << a.status().toString();
  EXPECT_EQ(a->client.tls.clientCertificatePem, clientCert().certificatePem);
  EXPECT_EQ(a->client.tls.clientKeyPem, clientCert().keyPem);
  EXPECT_EQ(a->client.tls.caPem, ca().certificatePem) << "certificate-authority read relative to the kubeconfig";
  EXPECT_EQ(*a->authorizationHeader(), "") << "no bearer token, no basic auth";

  d.write("files/certs/client.crt", clientCert().certificatePem);
  d.write("files/certs/client.key", clientCert().keyPem, fs::perms(0600));
  const std::string withFiles = d.write("files/config", R"(
clusters: [{name: c, cluster: {server: "https://h:6443", certificate-authority-data: )" +
                                                            pki::base64Encode(ca().certificatePem) + R"(,
                                 certificate-authority: does-not-matter-data-wins.crt}}]
users: [{name: u, user: {client-certificate: certs/client.crt, client-key: certs/client.key}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)");
  auto b = load(withFiles);
  ASSERT_TRUE(b.ok()) << b.status().toString();
  EXPECT_EQ(b->client.tls.clientCertificatePem, clientCert().certificatePem);
  EXPECT_EQ(b->client.tls.caPem, ca().certificatePem);
}

TEST(KubeconfigTest, JsonKubeconfigIsAccepted) {
  TempDir d;
  const std::string path = d.write("config.json", R"({"apiVersion":"v1","kind":"Config",
    "clusters":[{"name":"c","cluster":{"server":"https://[::1]:6443"}}],
    "users":[{"name":"u","user":{"token":"t"}}],
    "contexts":[{"name":"x","context":{"cluster":"c","user":"u","namespace":"ns"}}],
    "current-context":"x"})");
  auto rc = load(path);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  EXPECT_EQ(rc->server, "https://[::1]:6443");
  EXPECT_EQ(rc->defaultNamespace, "ns");
}

// --- merging and selection ------------------------------------------------------------------------

TEST(KubeconfigTest, KubeconfigListIsMergedFirstFileWins) {
  TempDir d;
  const std::string a = d.write("a", R"(
current-context: from-a
clusters: [{name: shared, cluster: {server: "https://a:1"}}]
users: [{name: u, user: {token: token-a}}]
contexts: [{name: from-a, context: {cluster: shared, user: u}}]
)");
  const std::string b = d.write("b", R"(
current-context: from-b
clusters:
- {name: shared, cluster: {server: "https://b:1"}}
- {name: only-b, cluster: {server: "https://b:2"}}
users: [{name: u, user: {token: token-b}}, {name: ub, user: {token: token-ub}}]
contexts:
- {name: from-b, context: {cluster: only-b, user: ub, namespace: bns}}
- {name: from-a, context: {cluster: only-b, user: ub}}
)");
  auto o = withEnv({{"KUBECONFIG", a + ":" + d.file("missing") + "::" + b}});
  auto rc = loadRestConfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  EXPECT_EQ(rc->contextName, "from-a");
  EXPECT_EQ(rc->server, "https://a:1");
  EXPECT_EQ(*rc->bearerToken(), "token-a");

  o.context = "from-b";  // --context; its cluster and user come from b only
  auto other = loadRestConfig(o);
  ASSERT_TRUE(other.ok()) << other.status().toString();
  EXPECT_EQ(other->server, "https://b:2");
  EXPECT_EQ(*other->bearerToken(), "token-ub");
  EXPECT_EQ(other->defaultNamespace, "bns");

  o.namespace_ = "override";
  EXPECT_EQ(loadRestConfig(o)->defaultNamespace, "override");

  auto none = loadRestConfig(withEnv({{"KUBECONFIG", d.file("nope1") + ":" + d.file("nope2")}}));
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

TEST(KubeconfigTest, MissingContextNamesTheFileAndTheAlternatives) {
  TempDir d;
  const std::string path = d.write("config", R"(
current-context: dev
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts:
- {name: staging, context: {cluster: c}}
- {name: dev, context: {cluster: c}}
)");
  auto o = withEnv({});
  o.context = "prod";
  auto rc = load(path, o);
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rc.status().message(), path + ": context \"prod\" not found (have: dev, staging)");

  const std::string missingCluster = d.write("config2", R"(
current-context: x
contexts: [{name: x, context: {cluster: gone, user: u}}]
)");
  EXPECT_THAT(load(missingCluster).status().message(), HasSubstr("cluster \"gone\" of context \"x\" not found"));

  const std::string noCurrent = d.write("config3", "clusters: []\n");
  EXPECT_THAT(load(noCurrent).status().message(), HasSubstr("no current-context"));

  const std::string anonymous = d.write("config4", R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  auto anon = load(anonymous);
  ASSERT_TRUE(anon.ok()) << anon.status().toString();
  EXPECT_EQ(*anon->authorizationHeader(), "");
}

TEST(KubeconfigTest, InvalidContentGivesTheKeyPathAndNoSecrets) {
  TempDir d;
  auto messageFor = [&](const std::string& body) {
    const std::string path = d.write("bad", body);
    auto rc = load(path);
    return rc.ok() ? std::string("ok") : rc.status().message();
  };
  const std::string users = "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
                            "clusters: [{name: c, cluster: {server: \"https://h:1\"}}]\n";
  EXPECT_THAT(messageFor(users + "users: [{name: u, user: {token: 42}}]\n"),
              HasSubstr(": users[0].user.token: expected a string, got number"));
  const std::string badKey = messageFor(users + "users: [{name: u, user: {client-key-data: \"c2VjcmV0a2V5!!\"}}]\n");
  EXPECT_THAT(badKey, HasSubstr("users[0].user.client-key-data: illegal base64 data"));
  EXPECT_THAT(badKey, Not(HasSubstr("c2VjcmV0a2V5")));
  EXPECT_THAT(messageFor(users + "users: [{name: u, user: {token: a, username: b, password: hunter2}}]\n"),
              AllOf(HasSubstr("more than one authentication method"), Not(HasSubstr("hunter2"))));
  EXPECT_THAT(messageFor(users + "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n"),
              HasSubstr("auth-provider \"gcp\" is not supported"));
  EXPECT_THAT(messageFor(users + "users: [{name: u, user: {token: a}}, {name: u, user: {token: b}}]\n"),
              HasSubstr("duplicate user name \"u\""));
  EXPECT_THAT(messageFor("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
                         "clusters: [{name: c, cluster: {server: \"https://h:1\", insecure-skip-tls-verify: true, "
                         "certificate-authority-data: " +
                         pki::base64Encode(ca().certificatePem) + "}}]\n"),
              HasSubstr("insecure"));
  EXPECT_THAT(messageFor("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
                         "clusters: [{name: c, cluster: {server: \"ftp://h\"}}]\n"),
              HasSubstr("cluster \"c\": server: invalid URL"));
  EXPECT_THAT(messageFor("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
                         "clusters: [{name: c, cluster: {server: \"https://h\", certificate-authority: nope.crt}}]\n"),
              HasSubstr("certificate-authority: "));
  EXPECT_THAT(messageFor("clusters: {not: a list}\n"), HasSubstr("clusters: expected a list, got object"));
  EXPECT_THAT(messageFor("kind: Pod\n"), HasSubstr("kind: expected Config"));
  EXPECT_THAT(messageFor("a: [unclosed\n"), HasSubstr(d.file("bad")));
  EXPECT_THAT(messageFor(users + "users: [{name: u, user: {client-certificate-data: " +
                         pki::base64Encode(clientCert().certificatePem) + "}}]\n"),
              HasSubstr("client-key-data or client-key must be set"));
}

TEST(KubeconfigTest, ExplicitKubeconfigMustExistAndFallbacksFollowControllerRuntime) {
  TempDir d;
  auto missing = load(d.file("nope"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope"));

  // Nothing at all: a clear precondition failure.
  auto nothing = loadRestConfig(withEnv({{"HOME", d.file("home")}}));
  EXPECT_EQ(nothing.status().code(), StatusCode::kFailedPrecondition);

  // ~/.kube/config when nothing else is set.
  d.write("home/.kube/config", R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://home:1"}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  auto home = loadRestConfig(withEnv({{"HOME", d.file("home")}}));
  ASSERT_TRUE(home.ok()) << home.status().toString();
  EXPECT_EQ(home->server, "https://home:1");
}

// --- exec credential plugins --------------------------------------------------------------------

std::string execKubeconfig(const TempDir& d, const std::string& script, const std::string& extraExec = "") {
  d.write("bin/plugin.sh", script, fs::perms(0755));
  return d.write("config", R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin.sh
      args: [get-token, --cluster=c]
      interactiveMode: Never
      installHint: install the plugin from example.com
      env:
      - {name: OUT_DIR, value: )" + d.path().string() + R"(}
      - {name: FOO, value: bar}
)" + extraExec);
}

TEST(KubeconfigExecTest, PluginTokenIsCachedUntilItExpires) {
  TempDir d;
  const std::string path = execKubeconfig(d, R"(#!/bin/sh
echo "$@" >> "$OUT_DIR/calls"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$OUT_DIR/exec-info"
n=$(wc -l < "$OUT_DIR/calls" | tr -d ' ')
cat <<EOF
{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
 "status":{"token":"tok-$FOO-$n","expirationTimestamp":"2030-01-01T00:00:00Z"}}
EOF
)");
  std::tm tm{};
  tm.tm_year = 2029 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 31;
  tm.tm_hour = 23;  // an hour before the credential's expirationTimestamp
  auto now = std::make_shared<SystemClock::time_point>(SystemClock::from_time_t(timegm(&tm)));
  auto o = withEnv({});
  o.now = [now] { return *now; };
  auto rc = load(path, o);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  EXPECT_EQ(*rc->authorizationHeader(), "Bearer tok-bar-1");
  EXPECT_EQ(*rc->bearerToken(), "tok-bar-1") << "cached: not expired yet";
  EXPECT_EQ(lineCount(d.file("calls")), 1);
  EXPECT_EQ(readAll(d.file("calls")), "get-token --cluster=c\n");
  const std::string info = readAll(d.file("exec-info"));
  EXPECT_THAT(info, HasSubstr(R"("apiVersion":"client.authentication.k8s.io/v1")"));
  EXPECT_THAT(info, HasSubstr(R"("kind":"ExecCredential")"));
  EXPECT_THAT(info, HasSubstr(R"("interactive":false)"));

  *now += 2h;  // past expirationTimestamp
  EXPECT_EQ(*rc->bearerToken(), "tok-bar-2");
  EXPECT_EQ(*rc->bearerToken(), "tok-bar-3") << "an expired credential is never cached";
  rc->invalidateCredentials();
  EXPECT_EQ(*rc->bearerToken(), "tok-bar-4");
}

TEST(KubeconfigExecTest, PluginClientCertificateReachesTheTlsOptions) {
  TempDir d;
  json::Document cred;
  cred.SetObject();
  auto& a = cred.GetAllocator();
  json::setString(cred, "apiVersion", "client.authentication.k8s.io/v1", a);
  json::setString(cred, "kind", "ExecCredential", a);
  json::Value status(rapidjson::kObjectType);
  json::setString(status, "clientCertificateData", clientCert().certificatePem, a);
  json::setString(status, "clientKeyData", clientCert().keyPem, a);
  json::setMember(cred, "status", status, a);
  d.write("cred.json", json::write(cred));
  const std::string path = execKubeconfig(d, "#!/bin/sh\ncat \"$OUT_DIR/cred.json\"\n",
                                          "      provideClusterInfo: true\n");
  auto rc = load(path);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  ASSERT_TRUE(rc->client.tls.clientCertificateProvider);
  auto cc = rc->client.tls.clientCertificateProvider();
  ASSERT_TRUE(cc.ok()) << cc.status().toString();
  EXPECT_EQ(cc->certificatePem, clientCert().certificatePem);
  EXPECT_EQ(cc->keyPem, clientCert().keyPem);
  EXPECT_EQ(*rc->bearerToken(), "") << "no token from this plugin";
}

TEST(KubeconfigExecTest, PluginFailuresAreClearErrors) {
  TempDir d;
  auto tokenError = [&](const std::string& script) {
    auto rc = load(execKubeconfig(d, script));
    if (!rc.ok()) return rc.status();
    auto t = rc->bearerToken();
    return t.ok() ? Status::ok() : t.status();
  };
  Status exit3 = tokenError("#!/bin/sh\nexit 3\n");
  EXPECT_EQ(exit3.code(), StatusCode::kUnavailable);
  EXPECT_THAT(exit3.message(), HasSubstr("exit status 3"));
  EXPECT_THAT(exit3.message(), HasSubstr("plugin.sh"));

  Status wrongVersion = tokenError(
      "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"token\":\"leaked?\"}}'\n");
  EXPECT_THAT(wrongVersion.message(), HasSubstr("returned apiVersion"));
  EXPECT_THAT(wrongVersion.message(), Not(HasSubstr("leaked?")));

  Status garbage = tokenError("#!/bin/sh\necho 'token: not json at all'\n");
  EXPECT_EQ(garbage.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(garbage.message(), Not(HasSubstr("not json at all")));

  Status empty = tokenError(
      "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
      "\"status\":{}}'\n");
  EXPECT_THAT(empty.message(), HasSubstr("neither a token nor a client certificate"));

  // A command that does not exist: the install hint helps the user.
  const std::string path = d.write("config-missing", R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users:
- name: u
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: kubeop-no-such-plugin, interactiveMode: Never,
           installHint: "install it with: apt-get install kubeop-no-such-plugin"}
)");
  auto rc = load(path);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  auto t = rc->bearerToken();
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("cannot run \"kubeop-no-such-plugin\""));
  EXPECT_THAT(t.status().message(), HasSubstr("apt-get install"));

  const std::string badVersion = d.write("config-v", R"(
current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}}]
)");
  EXPECT_THAT(load(badVersion).status().message(), HasSubstr("users[0].user.exec.apiVersion: unsupported"));
}

TEST(KubeconfigExecTest, SlowPluginTimesOut) {
  TempDir d;
  const std::string path = execKubeconfig(d, "#!/bin/sh\nexec sleep 30\n");
  auto o = withEnv({});
  o.execTimeout = 200ms;
  auto rc = load(path, o);
  ASSERT_TRUE(rc.ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto t = rc->bearerToken();
  EXPECT_EQ(t.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

// --- in-cluster ---------------------------------------------------------------------------------

TEST(InClusterTest, ReadsTheServiceAccountAndFollowsTokenRotation) {
  TempDir root;
  const std::string sa = "var/run/secrets/kubernetes.io/serviceaccount/";
  root.write(sa + "token", "token-v1");
  root.write(sa + "ca.crt", ca().certificatePem);
  root.write(sa + "namespace", "kubeop-system\n");
  auto o = withEnv({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  o.inClusterRoot = root.path().string();
  auto rc = inClusterConfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  EXPECT_EQ(rc->server, "https://10.96.0.1:443");
  EXPECT_EQ(rc->client.tls.caPem, ca().certificatePem);
  EXPECT_EQ(rc->defaultNamespace, "kubeop-system");
  EXPECT_EQ(rc->source, "in-cluster");
  EXPECT_EQ(*rc->authorizationHeader(), "Bearer token-v1");

  // The kubelet swaps the projected token atomically.
  root.write(sa + "token.tmp", "token-v2");
  fs::rename(root.file(sa + "token.tmp"), root.file(sa + "token"));
  EXPECT_EQ(*rc->bearerToken(), "token-v2");

  // loadRestConfig picks in-cluster when no kubeconfig is given.
  auto viaLoad = loadRestConfig(o);
  ASSERT_TRUE(viaLoad.ok()) << viaLoad.status().toString();
  EXPECT_EQ(viaLoad->source, "in-cluster");

  auto v6 = withEnv({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "6443"}});
  v6.inClusterRoot = root.path().string();
  EXPECT_EQ(inClusterConfig(v6)->server, "https://[fd00::1]:6443");
}

TEST(InClusterTest, OutsideAClusterIsAPreconditionFailure) {
  auto rc = inClusterConfig(withEnv({}));
  EXPECT_EQ(rc.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(rc.status().message(), HasSubstr("KUBERNETES_SERVICE_HOST"));

  TempDir empty;
  auto o = withEnv({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  o.inClusterRoot = empty.path().string();
  auto noFiles = inClusterConfig(o);
  EXPECT_EQ(noFiles.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(noFiles.status().message(), HasSubstr("ca.crt"));
}

// --- writing ------------------------------------------------------------------------------------

TEST(WriteKubeconfigTest, RoundTripsThroughOurLoader) {
  TempDir d;
  KubeconfigSpec spec;
  spec.server = "https://127.0.0.1:40123";
  spec.caPem = ca().certificatePem;
  spec.token = "sandbox-admin-token";
  spec.clusterName = "sandbox";
  spec.userName = "sandbox-admin";
  spec.contextName = "sandbox";
  spec.namespace_ = "default";
  const std::string path = d.file("out/dir/kubeconfig");
  ASSERT_TRUE(writeKubeconfig(path, spec).isOk());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "it holds a credential";
  auto rc = load(path);
  ASSERT_TRUE(rc.ok()) << rc.status().toString();
  EXPECT_EQ(rc->server, spec.server);
  EXPECT_EQ(rc->client.tls.caPem, spec.caPem);
  EXPECT_EQ(*rc->bearerToken(), spec.token);
  EXPECT_EQ(rc->contextName, "sandbox");

  KubeconfigSpec bad = spec;
  bad.server = "not a url";
  EXPECT_EQ(writeKubeconfig(d.file("bad"), bad).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(d.file("bad")));
}

// kubectl (v1.32 on the image) must read what we write, including client certificates.
TEST(WriteKubeconfigTest, KubectlReadsIt) {
  if (std::system("kubectl version --client >/dev/null 2>&1") != 0) GTEST_SKIP() << "kubectl is not installed";
  TempDir d;
  KubeconfigSpec spec;
  spec.server = "https://127.0.0.1:6443";
  spec.caPem = ca().certificatePem;
  spec.token = "tok";
  spec.clientCertificatePem = clientCert().certificatePem;
  spec.clientKeyPem = clientCert().keyPem;
  spec.contextName = "kubeop-sandbox";
  spec.namespace_ = "apps";
  const std::string path = d.file("kubeconfig");
  ASSERT_TRUE(writeKubeconfig(path, spec).isOk());

  const std::string cmd = "HOME=" + d.path().string() + " kubectl --kubeconfig " + path +
                          " config view --raw -o json 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int rc = ::pclose(pipe);
  ASSERT_EQ(rc, 0) << out;
  auto doc = json::parse(out);
  ASSERT_TRUE(doc.ok()) << out;
  EXPECT_EQ(json::getString(*doc, "current-context"), "kubeop-sandbox");
  const json::Value* clusters = json::find(*doc, "clusters");
  ASSERT_TRUE(clusters != nullptr && clusters->IsArray() && clusters->Size() == 1) << out;
  const json::Value* cluster = json::find((*clusters)[0], "cluster");
  ASSERT_NE(cluster, nullptr);
  EXPECT_EQ(json::getString(*cluster, "server"), "https://127.0.0.1:6443");
  EXPECT_EQ(json::getString(*cluster, "certificate-authority-data"), pki::base64Encode(ca().certificatePem));
  const json::Value* user = json::findPath((*json::find(*doc, "users"))[0], {"user"});
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(json::getString(*user, "token"), "tok");
  EXPECT_EQ(json::getString(*user, "client-key-data"), pki::base64Encode(clientCert().keyPem));
  const json::Value* context = json::findPath((*json::find(*doc, "contexts"))[0], {"context"});
  ASSERT_NE(context, nullptr);
  EXPECT_EQ(json::getString(*context, "namespace"), "apps");

  // And kubectl's own validation of the selected context passes.
  const std::string ns = "HOME=" + d.path().string() + " kubectl --kubeconfig " + path +
                         " config view --minify -o jsonpath='{..namespace}' 2>&1";
  pipe = ::popen(ns.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  out.clear();
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  EXPECT_EQ(::pclose(pipe), 0) << out;
  EXPECT_EQ(out, "apps");
}

}  // namespace
}  // namespace kubeop::kube
