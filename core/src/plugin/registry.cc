#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "kubeop/log/log.h"
#include "kubeop/plugin/registry.h"
#include "kubeop/plugin_abi.h"

namespace kubeop::plugin {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string> splitPath(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(':', start);
    std::string_view part = s.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start);
    if (!part.empty()) out.emplace_back(part);
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return out;
}

}  // namespace

std::string defaultSearchPath() {
  if (const char* p = std::getenv("KUBEOP_PLUGIN_PATH"); p && *p) return p;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto dir = exe.parent_path();
    for (auto candidate : {dir / "../lib/kubeop/plugins", dir / "plugins", dir / "../plugins"}) {
      if (std::filesystem::is_directory(candidate, ec)) return std::filesystem::weakly_canonical(candidate, ec).string();
    }
  }
  return "./plugins";
}

std::unique_ptr<Registry> Registry::load(const RegistryOptions& opts) {
  auto reg = std::make_unique<Registry>();
  Loader loader(opts.host ? opts.host : std::make_shared<HostServices>());
  std::vector<std::string> files;
  for (const auto& entry : splitPath(opts.searchPath)) {
    std::error_code ec;
    if (std::filesystem::is_directory(entry, ec)) {
      std::vector<std::string> found;
      for (const auto& f : std::filesystem::directory_iterator(entry, ec)) {
        if (f.path().extension() == ".so" && f.is_regular_file(ec)) found.push_back(f.path().string());
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::exists(entry, ec)) {
      files.push_back(entry);
    } else {
      reg->errors_.push_back({entry, "plugin path entry " + entry + " does not exist"});
      log::warn("plugin path entry does not exist", {{"path", entry}});
    }
  }
  for (const auto& file : files) {
    auto precheck = [&](const PluginInfo& info) -> Status {
      for (const auto& p : reg->plugins_) {
        if (p->info().name == info.name) {
          return alreadyExists("plugin " + info.name + " (" + file + ") is refused: the name is already taken by " +
                               p->info().path);
        }
        if (!info.deliveryType.empty() && iequals(p->info().deliveryType, info.deliveryType)) {
          return alreadyExists("plugin " + info.name + " (" + file + ") is refused: delivery type " +
                               info.deliveryType + " is already delivered by plugin " + p->info().name);
        }
      }
      return Status::ok();
    };
    auto p = loader.load(file, opts.configs, precheck);
    if (!p.ok()) {
      reg->errors_.push_back({file, p.status().message()});
      log::error("plugin refused", {{"path", file}, {"error", p.status().message()}});
      continue;
    }
    log::info("plugin loaded", {{"plugin", (*p)->info().name},
                                {"version", (*p)->info().version},
                                {"path", file}});
    reg->plugins_.push_back(std::move(p).value());
  }
  return reg;
}

std::shared_ptr<Plugin> Registry::find(std::string_view name) const {
  for (const auto& p : plugins_) {
    if (p->info().name == name) return p;
  }
  return nullptr;
}

std::shared_ptr<Plugin> Registry::findDelivery(std::string_view type) const {
  for (const auto& p : plugins_) {
    if (p->hasCapability(KUBEOP_CAP_DELIVERY) && iequals(p->info().deliveryType, type)) return p;
  }
  return nullptr;
}

std::vector<std::string> Registry::deliveryTypes() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_) {
    if (p->hasCapability(KUBEOP_CAP_DELIVERY)) out.push_back(p->info().deliveryType);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::shared_ptr<Plugin>> Registry::withCapability(uint32_t cap) const {
  std::vector<std::shared_ptr<Plugin>> out;
  for (const auto& p : plugins_) {
    if (p->hasCapability(cap)) out.push_back(p);
  }
  return out;
}

void Registry::setObserver(const CallObserver& obs) {
  for (auto& p : plugins_) p->setObserver(obs);
}

std::string Registry::toJson() const {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("plugins");
  w.StartArray();
  for (const auto& p : plugins_) {
    const auto& i = p->info();
    w.StartObject();
    w.Key("name");
    w.String(i.name.c_str());
    w.Key("version");
    w.String(i.version.c_str());
    w.Key("capabilities");
    w.StartArray();
    for (const auto& c : i.capabilityNames()) w.String(c.c_str());
    w.EndArray();
    w.Key("abiVersion");
    std::string abi = std::to_string(i.abiMajor) + "." + std::to_string(i.abiMinor);
    w.String(abi.c_str());
    if (!i.deliveryType.empty()) {
      w.Key("deliveryType");
      w.String(i.deliveryType.c_str());
    }
    w.Key("path");
    w.String(i.path.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.Key("errors");
  w.StartArray();
  for (const auto& e : errors_) {
    w.StartObject();
    w.Key("path");
    w.String(e.path.c_str());
    w.Key("error");
    w.String(e.message.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace kubeop::plugin
