// Command-line flags with environment fallbacks: every setting is a flag `--name=value` (or
// `--name value`) and a variable KUBEOP_<NAME> (dashes → underscores, upper case). The flag wins
// over the environment, which wins over the default. `--help` prints the usage of the command.
//
// Not thread-safe; used once at start-up.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kubeop/core/status.h"

namespace kubeop::cli {

class FlagSet {
 public:
  FlagSet(std::string command, std::string summary) : command_(std::move(command)), summary_(std::move(summary)) {}

  // Declares a flag. `env` defaults to KUBEOP_<NAME>; pass "-" for none. `shortName` is a
  // one-letter alias ("f" for -f).
  void add(std::string name, std::string defaultValue, std::string help, std::string env = "",
           std::string shortName = "");
  void addBool(std::string name, bool defaultValue, std::string help, std::string env = "");

  // Parses argv (without the program and command words). Unknown flags are an error naming
  // the flag; `--help`/`-h` sets helpRequested().
  Status parse(const std::vector<std::string>& args);

  std::string get(const std::string& name) const;
  bool getBool(const std::string& name) const;
  StatusOr<int64_t> getInt(const std::string& name) const;
  // Where the value came from: "flag", "env" or "default".
  std::string source(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  bool helpRequested() const { return help_; }
  std::string usage() const;

 private:
  struct Flag {
    std::string name, def, help, env, shortName;
    bool isBool = false;
    std::optional<std::string> fromFlag;
  };
  Flag* find(const std::string& name);
  const Flag* find(const std::string& name) const;

  std::string command_, summary_;
  std::vector<Flag> flags_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

}  // namespace kubeop::cli
