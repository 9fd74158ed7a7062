#include "kubeop/operator/naming.h"

#include "kubeop/core/digest.h"
#include "kubeop/core/names.h"

namespace kubeop::op {

std::string shortenName(std::string_view name, size_t maxLen) {
  if (name.size() <= maxLen) return std::string(name);
  std::string head(name.substr(0, maxLen - 9));
  while (!head.empty() && (head.back() == '-' || head.back() == '.')) head.pop_back();
  return head + "-" + digest::sha256Hex(name).substr(0, 8);
}

namespace {

Status checkPart(std::string_view what, std::string_view value) {
  if (value.empty()) return invalidArgument(std::string(what) + " is empty");
  for (char c : value) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      return invalidArgument(std::string(what) + " \"" + std::string(value) +
                             "\" cannot be part of a namespace name: only letters, digits and '-' are allowed");
    }
  }
  return Status::ok();
}

}  // namespace

StatusOr<std::string> projectNamespace(std::string_view tenant, std::string_view project) {
  std::string t = names::toLower(tenant), p = names::toLower(project);
  KUBEOP_RETURN_IF_ERROR(checkPart("tenant", t));
  KUBEOP_RETURN_IF_ERROR(checkPart("project", p));
  std::string ns = shortenName("kubeop-" + t + "-" + p, 63);
  if (auto err = names::validateDns1123Label(ns)) return invalidArgument("namespace \"" + ns + "\": " + *err);
  return ns;
}

std::string hookJobName(std::string_view phase, std::string_view app, std::string_view revision) {
  return shortenName("hook-" + std::string(phase) + "-" + std::string(app) + "-" + std::string(revision), 63);
}

std::string revisionConfigMapName(std::string_view app) { return shortenName("kubeop-revision-" + std::string(app), 253); }

}  // namespace kubeop::op
