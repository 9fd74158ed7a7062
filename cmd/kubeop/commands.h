// The kubeop subcommands. Each returns the process exit code:
//   0 success, 1 the input was rejected (a message names file, document and field),
//   2 usage error, 3 environment error (plugins, ports, files).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kubeop/http/standard_endpoints.h"
#include "kubeop/metrics/metrics.h"
#include "kubeop/operator/operator.h"
#include "kubeop/plugin/registry.h"

namespace kubeop::cmd {

int runRender(const std::vector<std::string>& args);
int runPlugins(const std::vector<std::string>& args);
int runUp(const std::vector<std::string>& args);
int runVersion(const std::vector<std::string>& args);
int runSandbox(const std::vector<std::string>& args);
int runOperator(const std::vector<std::string>& args);

struct SandboxCredentials {
  std::string caCertPem;
  std::string serverCertPem;
  std::string serverKeyPem;
  std::string token;
};
// The sandbox's CA, serving certificate and token; kept in `stateDir` when it is not empty.
StatusOr<SandboxCredentials> sandboxCredentials(const std::string& stateDir, const std::string& host,
                                                const std::string& token);
// A kubeconfig (mode 0600) for the sandbox: its URL, CA and bearer token.
Status writeSandboxKubeconfig(const std::string& path, const std::string& server, const std::string& caPem,
                              const std::string& token);

// "host:port" (an empty host: all interfaces, kubeOP's ":8080") for flag --<flag>.
StatusOr<std::pair<std::string, uint16_t>> parseAddr(const std::string& flag, const std::string& addr);
// "500ms", "2s", "10m", "1h" (a bare number: seconds) for flag --<flag>.
StatusOr<std::chrono::milliseconds> parseDuration(const std::string& flag, const std::string& v);

// The operator's wiring, shared by `kubeop operator` and `kubeop up`.
struct OperatorSetup {
  std::string kubeconfig;  // empty: KUBECONFIG, in-cluster, ~/.kube/config
  std::string context;
  std::shared_ptr<const plugin::Registry> plugins;
  metrics::Registry* metrics = nullptr;
  int maxConcurrentReconciles = 4;
  std::chrono::milliseconds resyncPeriod{std::chrono::minutes(10)};
  bool installCrds = true;
  // Client-side limit towards the API server (the server's priority and fairness does the rest).
  double qps = 1000;
  int burst = 2000;
};
StatusOr<std::unique_ptr<op::Operator>> buildOperator(const OperatorSetup& setup);
// kubeop_plugin_calls_total and kubeop_plugin_call_duration_seconds for every plugin call.
void observePluginCalls(plugin::Registry& plugins, metrics::Registry& registry);

http::VersionInfo versionInfo(const std::string& service);

// Gives the heap's free pages back to the system every `period` (glibc keeps what a burst
// freed — a relist, a wave of reconciles — mapped otherwise). A long-running process's policy,
// hence here and not in the libraries. Stops (joins) on destruction.
class MemoryTrimmer {
 public:
  explicit MemoryTrimmer(std::chrono::milliseconds period);
  ~MemoryTrimmer();
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Loads the registry from --plugin-path / KUBEOP_PLUGIN_PATH and the optional plugin config file
// (JSON or YAML: {"<plugin name>": {…config…}}).
StatusOr<std::unique_ptr<plugin::Registry>> loadRegistry(const std::string& pluginPath,
                                                         const std::string& configFile);

}  // namespace kubeop::cmd
