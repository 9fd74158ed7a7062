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

http::VersionInfo versionInfo(const std::string& service);

// Loads the registry from --plugin-path / KUBEOP_PLUGIN_PATH and the optional plugin config file
// (JSON or YAML: {"<plugin name>": {…config…}}).
StatusOr<std::unique_ptr<plugin::Registry>> loadRegistry(const std::string& pluginPath,
                                                         const std::string& configFile);

}  // namespace kubeop::cmd
