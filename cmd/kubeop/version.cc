#include "commands.h"

#include <cstdio>

namespace kubeop::cmd {

http::VersionInfo versionInfo(const std::string& service) {
  return http::VersionInfo{service, KUBEOP_VERSION, KUBEOP_GIT_COMMIT, KUBEOP_BUILD_DATE};
}

int runVersion(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::printf("Usage: kubeop version\n\nPrints the version, git commit and build date as JSON.\n");
    return 0;
  }
  auto v = versionInfo("kubeop");
  std::printf("{\"service\":\"%s\",\"version\":\"%s\",\"gitCommit\":\"%s\",\"buildDate\":\"%s\"}\n",
              v.service.c_str(), v.version.c_str(), v.gitCommit.c_str(), v.buildDate.c_str());
  return 0;
}

}  // namespace kubeop::cmd
