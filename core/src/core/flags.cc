#include "kubeop/cli/flags.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace kubeop::cli {
namespace {
std::string envName(const std::string& flag) {
  std::string e = "KUBEOP_";
  for (char c : flag) e += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return e;
}
}  // namespace

void FlagSet::add(std::string name, std::string def, std::string help, std::string env, std::string shortName) {
  Flag f;
  f.env = env.empty() ? envName(name) : (env == "-" ? "" : env);
  f.name = std::move(name);
  f.def = std::move(def);
  f.help = std::move(help);
  f.shortName = std::move(shortName);
  flags_.push_back(std::move(f));
}

void FlagSet::addBool(std::string name, bool def, std::string help, std::string env) {
  add(std::move(name), def ? "true" : "false", std::move(help), std::move(env));
  flags_.back().isBool = true;
}

FlagSet::Flag* FlagSet::find(const std::string& name) {
  for (auto& f : flags_) {
    if (f.name == name || (!f.shortName.empty() && f.shortName == name)) return &f;
  }
  return nullptr;
}
const FlagSet::Flag* FlagSet::find(const std::string& name) const {
  return const_cast<FlagSet*>(this)->find(name);
}

Status FlagSet::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    if (a == "--") {
      positional_.insert(positional_.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-' || a == "-") {
      positional_.push_back(a);
      continue;
    }
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (auto eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body = body.substr(0, eq);
    }
    Flag* f = find(body);
    if (!f) return invalidArgument("unknown flag " + a + " for 'kubeop " + command_ + "' (see kubeop " + command_ + " --help)");
    if (!value) {
      if (f->isBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return invalidArgument("flag --" + f->name + " needs a value");
      }
    }
    if (f->isBool && *value != "true" && *value != "false") {
      return invalidArgument("flag --" + f->name + " takes true or false, not \"" + *value + "\"");
    }
    f->fromFlag = *value;
  }
  return Status::ok();
}

std::string FlagSet::get(const std::string& name) const {
  const Flag* f = find(name);
  if (!f) return "";
  if (f->fromFlag) return *f->fromFlag;
  if (!f->env.empty()) {
    if (const char* v = std::getenv(f->env.c_str()); v && *v) return v;
  }
  return f->def;
}

bool FlagSet::getBool(const std::string& name) const {
  std::string v = get(name);
  return v == "true" || v == "1" || v == "yes";
}

StatusOr<int64_t> FlagSet::getInt(const std::string& name) const {
  std::string v = get(name);
  try {
    size_t pos = 0;
    long long n = std::stoll(v, &pos);
    if (pos != v.size()) throw std::invalid_argument(v);
    return static_cast<int64_t>(n);
  } catch (...) {
    return invalidArgument("--" + name + " must be an integer, got \"" + v + "\"");
  }
}

std::string FlagSet::source(const std::string& name) const {
  const Flag* f = find(name);
  if (!f) return "";
  if (f->fromFlag) return "flag";
  if (!f->env.empty()) {
    if (const char* v = std::getenv(f->env.c_str()); v && *v) return "env";
  }
  return "default";
}

std::string FlagSet::usage() const {
  std::string u = "Usage: kubeop " + command_ + " [flags]\n\n" + summary_ + "\n\nFlags:\n";
  size_t width = 0;
  for (const auto& f : flags_) width = std::max(width, f.name.size() + (f.shortName.empty() ? 0 : 4));
  for (const auto& f : flags_) {
    std::string left = "  ";
    if (!f.shortName.empty()) left += "-" + f.shortName + ", ";
    left += "--" + f.name;
    u += left + std::string(width + 8 > left.size() ? width + 8 - left.size() : 1, ' ') + f.help;
    if (!f.def.empty()) u += " (default \"" + f.def + "\")";
    if (!f.env.empty()) u += " [$" + f.env + "]";
    u += "\n";
  }
  u += "  -h, --help" + std::string(width + 8 > 12 ? width + 8 - 12 : 1, ' ') + "show this help\n";
  return u;
}

}  // namespace kubeop::cli
