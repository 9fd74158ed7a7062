#include <fstream>
#include <sstream>

#include "commands.h"
#include "kubeop/core/json.h"
#include "kubeop/core/yaml.h"

namespace kubeop::cmd {

StatusOr<std::unique_ptr<plugin::Registry>> loadRegistry(const std::string& pluginPath,
                                                         const std::string& configFile) {
  plugin::RegistryOptions opts;
  opts.searchPath = pluginPath.empty() ? plugin::defaultSearchPath() : pluginPath;
  if (!configFile.empty()) {
    std::ifstream in(configFile, std::ios::binary);
    if (!in) return notFound("cannot read plugin config file " + configFile);
    std::stringstream ss;
    ss << in.rdbuf();
    yaml::ParseOptions po;
    po.source = configFile;
    auto doc = yaml::parseOne(ss.str(), po);  // YAML is a superset of JSON
    if (!doc.ok()) return doc.status();
    if (!doc->IsObject()) return invalidArgument(configFile + ": expected a map of plugin name → config");
    for (auto m = doc->MemberBegin(); m != doc->MemberEnd(); ++m) {
      if (!m->value.IsObject()) {
        return invalidArgument(configFile + ": the config of plugin " + std::string(json::view(m->name)) +
                               " must be a map");
      }
      opts.configs[std::string(json::view(m->name))] = json::write(m->value);
    }
  }
  return plugin::Registry::load(opts);
}

}  // namespace kubeop::cmd
