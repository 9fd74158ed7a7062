#include <malloc.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <sstream>
#include <thread>

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

StatusOr<std::pair<std::string, uint16_t>> parseAddr(const std::string& flag, const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return invalidArgument("--" + flag + " must be host:port, got \"" + addr + "\"");
  std::string host = addr.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";  // kubeOP's ":8080"
  int port = 0;
  try {
    size_t pos = 0;
    port = std::stoi(addr.substr(colon + 1), &pos);
    if (pos != addr.size() - colon - 1) throw std::invalid_argument(addr);
  } catch (...) {
    return invalidArgument("--" + flag + " has an invalid port: \"" + addr + "\"");
  }
  if (port < 0 || port > 65535) return invalidArgument("--" + flag + " port out of range: " + std::to_string(port));
  return std::make_pair(host, static_cast<uint16_t>(port));
}

StatusOr<std::chrono::milliseconds> parseDuration(const std::string& flag, const std::string& v) {
  try {
    size_t pos = 0;
    double n = std::stod(v, &pos);
    std::string unit = v.substr(pos);
    double ms = unit == "ms"                   ? n
                : unit == "s" || unit.empty() ? n * 1000
                : unit == "m"                 ? n * 60000
                : unit == "h"                 ? n * 3600000
                                              : -1;
    if (ms < 0) throw std::invalid_argument(v);
    return std::chrono::milliseconds(static_cast<int64_t>(ms));
  } catch (...) {
    return invalidArgument("--" + flag + " must be a duration like 500ms, 2s, 10m or 1h, got \"" + v + "\"");
  }
}

struct MemoryTrimmer::Impl {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;
};

MemoryTrimmer::MemoryTrimmer(std::chrono::milliseconds period) : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([impl = impl_.get(), period] {
    std::unique_lock lk(impl->mu);
    while (!impl->cv.wait_for(lk, period, [impl] { return impl->stop; })) {
      lk.unlock();
      malloc_trim(0);
      lk.lock();
    }
  });
}

MemoryTrimmer::~MemoryTrimmer() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

}  // namespace kubeop::cmd
