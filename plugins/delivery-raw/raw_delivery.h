// Raw delivery: an App whose spec.rawManifests holds Kubernetes objects, as a multi-document
// YAML string (kubeOP's form) or as a list of objects. The objects are placed in the App's
// namespace and labelled for the App; anything that would let a tenant escape its namespace is
// refused with the document index and the reason.
//
// Thread-safety: immutable after construction; render() may run concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/status.h"

namespace kubeop::plugins::raw {

struct RawConfig {
  size_t maxDocuments = 1000;
  std::vector<std::string> forbiddenKinds;  // refused in addition to cluster-scoped kinds
};

// Parses the plugin config object (already schema-validated by the host).
StatusOr<RawConfig> parseConfig(std::string_view configJson);

class RawDelivery {
 public:
  explicit RawDelivery(RawConfig config) : config_(std::move(config)) {}

  // Checks the App: type Raw and a well-formed rawManifests.
  Status validateApp(std::string_view appJson) const;
  // {"app":…,"context":…} → {"objects":[…],"revision":"…","provenance":{…}}
  StatusOr<std::string> render(std::string_view requestJson) const;

 private:
  RawConfig config_;
};

// The JSON Schema of the plugin's config.
extern const char* const kConfigSchema;

}  // namespace kubeop::plugins::raw
