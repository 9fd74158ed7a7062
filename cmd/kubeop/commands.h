// The kubeop subcommands. Each returns the process exit code:
//   0 success, 1 the input was rejected (a message names file, document and field),
//   2 usage error, 3 environment error (plugins, ports, files).
#pragma once

#include <string>
#include <vector>

#include "kubeop/http/standard_endpoints.h"
#include "kubeop/plugin/registry.h"

namespace kubeop::cmd {

int runRender(const std::vector<std::string>& args);
int runPlugins(const std::vector<std::string>& args);
int runUp(const std::vector<std::string>& args);
int runVersion(const std::vector<std::string>& args);
int runSandbox(const std::vector<std::string>& args);

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

http::VersionInfo versionInfo(const std::string& service);

// Loads the registry from --plugin-path / KUBEOP_PLUGIN_PATH and the optional plugin config file
// (JSON or YAML: {"<plugin name>": {…config…}}).
StatusOr<std::unique_ptr<plugin::Registry>> loadRegistry(const std::string& pluginPath,
                                                         const std::string& configFile);

}  // namespace kubeop::cmd
