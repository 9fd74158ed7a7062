// Kubeconfig and in-cluster configuration, read the way client-go's tools/clientcmd reads them,
// turned into a RestConfig for kubeop's Kubernetes client. No Boost.
//
// Kubeconfig (`apiVersion: v1, kind: Config`, YAML or JSON):
//   - clusters: server, certificate-authority (file) / certificate-authority-data (base64; wins),
//     insecure-skip-tls-verify, tls-server-name. proxy-url is refused (not supported).
//   - users: token, tokenFile (wins over token and is re-read when it changes), client-certificate
//     / client-key (files) or -data (base64; win), username/password (basic auth), exec credential
//     plugins (client.authentication.k8s.io/v1 and v1beta1: command, args, env, apiVersion,
//     provideClusterInfo, interactiveMode; the credential is cached until its
//     expirationTimestamp). auth-provider and impersonation ("as") are refused when selected.
//   - contexts: cluster, user, namespace; current-context; a context override (--context).
//   - Relative file paths (and an exec command containing '/') are resolved against the
//     directory of the kubeconfig file that holds them.
//   - Several files (KUBECONFIG=a:b): merged as client-go does — for each named cluster, user
//     and context, and for current-context, the first file that sets it wins; files that do
//     not exist are skipped (an explicit --kubeconfig must exist).
// In-cluster: KUBERNETES_SERVICE_HOST/_PORT and the service account's token (re-read when it
// changes: the kubelet rotates it), ca.crt and namespace.
//
// Errors name the file and the key: `~/.kube/config: context "prod" not found (have: dev,
// staging)`. Messages never contain tokens, passwords or key material.
//
// Thread-safety: the loading functions are stateless (apart from reading files and running exec
// plugins). A RestConfig's providers are thread-safe and may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kubeop/core/status.h"
#include "kubeop/http/client.h"

namespace kubeop::kube {

using SystemClock = std::chrono::system_clock;

// --- the kubeconfig model (after path resolution and base64 decoding) ---

struct KubeconfigCluster {
  std::string server;
  std::string certificateAuthority;      // a file path (absolute after resolution)
  std::string certificateAuthorityData;  // PEM (decoded)
  bool insecureSkipTlsVerify = false;
  std::string tlsServerName;
  std::string proxyUrl;
  std::string origin;  // the file it came from
};

struct ExecConfig {
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string apiVersion;       // client.authentication.k8s.io/v1 or /v1beta1
  std::string interactiveMode;  // Never, IfAvailable, Always (kubeop is never interactive)
  bool provideClusterInfo = false;
  std::string installHint;
};

struct KubeconfigUser {
  std::string token;
  std::string tokenFile;
  std::string clientCertificate;      // file
  std::string clientCertificateData;  // PEM (decoded)
  std::string clientKey;              // file
  std::string clientKeyData;          // PEM (decoded)
  std::string username;
  std::string password;
  std::optional<ExecConfig> exec;
  std::string authProvider;  // its name, when present (unsupported)
  std::string impersonate;   // "as" (unsupported)
  std::string origin;
};

struct KubeconfigContext {
  std::string cluster;
  std::string user;
  std::string namespace_;
  std::string origin;
};

struct Kubeconfig {
  std::map<std::string, KubeconfigCluster> clusters;
  std::map<std::string, KubeconfigUser> users;
  std::map<std::string, KubeconfigContext> contexts;
  std::string currentContext;
  std::vector<std::string> files;  // the files merged, in precedence order (for messages)
};

// Seams and overrides for loading. Defaults read the real environment, clock and file system.
struct LoadOptions {
  // --kubeconfig: this file only (it must exist). Empty: KUBECONFIG, then in-cluster, then
  // ~/.kube/config (controller-runtime's order).
  std::string kubeconfigPath;
  std::string context;     // --context: overrides current-context
  std::string namespace_;  // --namespace: overrides the context's namespace
  // Environment lookup (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT). Default: getenv.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // The clock that decides whether an exec credential has expired. Default: system clock.
  std::function<SystemClock::time_point()> now;
  // In-cluster files live under <inClusterRoot>/var/run/secrets/kubernetes.io/serviceaccount.
  std::string inClusterRoot = "/";
  std::chrono::milliseconds execTimeout{60000};
  std::string userAgent = "kubeop";
};

struct BasicAuth {
  std::string username;
  std::string password;
};

// What the Kubernetes client needs to talk to one API server.
struct RestConfig {
  std::string server;         // "https://10.0.0.1:6443" (may carry a path prefix)
  http::ClientOptions client;  // TLS (CA, client certificate or provider, insecure, server name)
  // Bearer token source (static, file or exec plugin); empty when the user has none. May block
  // (an exec plugin runs); results are cached by the provider.
  std::function<StatusOr<std::string>()> bearerToken;
  // Drops cached credentials (call after a 401, as client-go does) so the next call refreshes.
  std::function<void()> invalidateCredentials;
  std::optional<BasicAuth> basicAuth;
  std::string defaultNamespace = "default";
  // For messages: `~/.kube/config, context "dev"` or "in-cluster".
  std::string source;
  std::string contextName;

  // The Authorization header value ("Bearer …", "Basic …") or "" for none. Never log it.
  StatusOr<std::string> authorizationHeader() const;
};

// Parses one kubeconfig file's text; relative paths are resolved against dirname(path).
StatusOr<Kubeconfig> parseKubeconfig(std::string_view text, const std::string& path);
// Reads and merges files (first wins); missing files are skipped, unreadable ones are errors.
StatusOr<Kubeconfig> loadKubeconfigFiles(const std::vector<std::string>& paths);
// Builds the RestConfig of the selected context (options.context or current-context).
StatusOr<RestConfig> restConfigFromKubeconfig(const Kubeconfig& config, const LoadOptions& options = {});
// In-cluster: FailedPrecondition when KUBERNETES_SERVICE_HOST/PORT are not set.
StatusOr<RestConfig> inClusterConfig(const LoadOptions& options = {});
// The whole resolution: --kubeconfig, KUBECONFIG, in-cluster, ~/.kube/config.
StatusOr<RestConfig> loadRestConfig(const LoadOptions& options = {});

// --- writing ------------------------------------------------------------------------------------

struct KubeconfigSpec {
  std::string server;
  std::string caPem;  // written as certificate-authority-data
  bool insecureSkipTlsVerify = false;
  std::string tlsServerName;
  std::string token;                // and/or a client certificate:
  std::string clientCertificatePem;
  std::string clientKeyPem;
  std::string clusterName = "kubeop";
  std::string userName = "kubeop";
  std::string contextName = "kubeop";
  std::string namespace_;  // empty: not written
};

// A one-cluster, one-user, one-context kubeconfig (YAML) that kubectl and client-go read.
StatusOr<std::string> renderKubeconfig(const KubeconfigSpec& spec);
// Writes it atomically (temporary file + rename) with mode 0600, creating the directory.
Status writeKubeconfig(const std::string& path, const KubeconfigSpec& spec);

}  // namespace kubeop::kube
