// CustomResources: what the apiextensions-apiserver does for the sandbox. A stored
// CustomResourceDefinition becomes served resources in the ResourceRegistry (one per served
// version), gets its Established/NamesAccepted conditions, and its schema prunes, defaults and
// validates every write of its custom resources. Deleting the CRD stops serving it and removes
// its objects.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"
#include "kubeop/sandbox/resources.h"
#include "kubeop/sandbox/store.h"
#include "kubeop/sandbox/tables.h"

namespace kubeop::sandbox {

class CustomResources {
 public:
  CustomResources(std::shared_ptr<ResourceRegistry> registry, std::shared_ptr<Store> store);
  ~CustomResources();

  // Validates a CRD before it is stored (names, scope, versions, structural schemas). Fills
  // `details` (422 Invalid with causes) on failure.
  Status validateDefinition(const json::Value& crd, ErrorDetails& details) const;

  // After a successful write of any object: a CRD is (re)registered.
  void onWrite(const ResourceType& type, const std::string& objectJson);
  // After an object is gone: a CRD stops being served and its objects are dropped.
  void onDelete(const ResourceType& type, const std::string& objectJson);
  // Prunes unknown fields, applies defaults and validates a custom resource against its
  // version's schema. Fills `details` (422 Invalid with causes) on failure.
  Status validateObject(const ResourceType& type, json::Document& obj, ErrorDetails& details) const;
  // The printer columns of a custom resource version (empty for built-ins).
  std::vector<PrinterColumn> columnsFor(const ResourceType& type) const;
  // The scale subresource of a custom resource version, when its CRD declares one.
  struct Scale {
    std::string specReplicasPath, statusReplicasPath;
    std::optional<std::string> labelSelectorPath;
  };
  std::optional<Scale> scaleFor(const ResourceType& type) const;
  // Registers every stored CRD (after a restart from --data-dir).
  void restore();

  struct Compiled;

 private:
  void registerCrd(const json::Value& crd, bool updateStatus);
  void unregister(const std::string& crdName);

  std::shared_ptr<ResourceRegistry> registry_;
  std::shared_ptr<Store> store_;
  mutable std::mutex mu_;
  // "group/version/plural" → compiled version; crd name → its served keys
  std::map<std::string, std::shared_ptr<const Compiled>> versions_;
  std::map<std::string, std::vector<std::string>> byCrd_;
};

}  // namespace kubeop::sandbox
