// kubeop <command> [flags]
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "kubeop/log/log.h"

namespace {
const char* kUsage =
    "kubeop — multi-tenant application delivery for Kubernetes\n"
    "\n"
    "Usage: kubeop <command> [flags]\n"
    "\n"
    "Commands:\n"
    "  up         run the platform on embedded defaults (all plugins, health, metrics, plugin API)\n"
    "  operator   reconcile Tenants, Projects and Apps on a cluster (kubeconfig or in-cluster)\n"
    "  render     print the manifests an App's delivery plugin renders (kubeop render -f app.yaml)\n"
    "  plugins    list the loaded plugins and any plugin that was refused\n"
    "  sandbox    serve a Kubernetes API from this process (for kubectl, tests and kubeop up)\n"
    "  version    print version, git commit and build date\n"
    "\n"
    "Run 'kubeop <command> --help' for the flags of a command.\n";
}

int main(int argc, char** argv) {
  kubeop::log::initFromEnv();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "render") return kubeop::cmd::runRender(args);
  if (cmd == "plugins") return kubeop::cmd::runPlugins(args);
  if (cmd == "up") return kubeop::cmd::runUp(args);
  if (cmd == "operator") return kubeop::cmd::runOperator(args);
  if (cmd == "sandbox") return kubeop::cmd::runSandbox(args);
  if (cmd == "version" || cmd == "--version") return kubeop::cmd::runVersion(args);
  std::fprintf(stderr, "kubeop: unknown command \"%s\"\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
