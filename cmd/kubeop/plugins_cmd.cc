// kubeop plugins: the registry as the host sees it.
#include <cstdio>
#include <cstdlib>

#include "commands.h"
#include "kubeop/cli/flags.h"
#include "kubeop/log/log.h"

namespace kubeop::cmd {

int runPlugins(const std::vector<std::string>& args) {
  cli::FlagSet fs("plugins",
                  "Loads every plugin on the plugin path, as 'kubeop up' does, and lists them: name, version,\n"
                  "capabilities, ABI version and file. Plugins that were refused are listed with the reason;\n"
                  "the exit code is 1 when any was refused.");
  fs.add("plugin-path", "", "plugin directories or files, colon-separated", "KUBEOP_PLUGIN_PATH");
  fs.add("plugin-config", "", "plugin config file (YAML/JSON map of plugin name → config)");
  fs.add("output", "table", "output format: table or json", "-", "o");
  if (Status st = fs.parse(args); !st.isOk()) {
    std::fprintf(stderr, "kubeop plugins: %s\n", st.message().c_str());
    return 2;
  }
  if (fs.helpRequested()) {
    std::fputs(fs.usage().c_str(), stdout);
    return 0;
  }
  if (!std::getenv("LOG_LEVEL")) log::setLevel(log::Level::kError);
  auto reg = loadRegistry(fs.get("plugin-path"), fs.get("plugin-config"));
  if (!reg.ok()) {
    std::fprintf(stderr, "kubeop plugins: %s\n", reg.status().message().c_str());
    return 3;
  }
  if (fs.get("output") == "json") {
    std::printf("%s\n", (*reg)->toJson().c_str());
  } else {
    std::printf("%-24s %-10s %-22s %-5s %-10s %s\n", "NAME", "VERSION", "CAPABILITIES", "ABI", "TYPE", "PATH");
    for (const auto& p : (*reg)->plugins()) {
      const auto& i = p->info();
      std::string caps;
      for (const auto& c : i.capabilityNames()) caps += (caps.empty() ? "" : ",") + c;
      std::string abi = std::to_string(i.abiMajor) + "." + std::to_string(i.abiMinor);
      std::printf("%-24s %-10s %-22s %-5s %-10s %s\n", i.name.c_str(), i.version.c_str(), caps.c_str(), abi.c_str(),
                  i.deliveryType.empty() ? "-" : i.deliveryType.c_str(), i.path.c_str());
    }
    for (const auto& e : (*reg)->errors()) std::fprintf(stderr, "REFUSED %s: %s\n", e.path.c_str(), e.message.c_str());
  }
  return (*reg)->errors().empty() ? 0 : 1;
}

}  // namespace kubeop::cmd
