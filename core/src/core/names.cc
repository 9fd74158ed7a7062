#include "kubeop/core/names.h"

#include <array>
#include <cctype>

namespace kubeop::names {
namespace {
bool isAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

constexpr const char* kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc')";
constexpr const char* kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com')";

bool validLabelChars(std::string_view s) {
  if (s.empty() || !isAlnumLower(s.front()) || !isAlnumLower(s.back())) return false;
  for (char c : s) {
    if (!isAlnumLower(c) && c != '-') return false;
  }
  return true;
}
}  // namespace

std::optional<std::string> validateDns1123Label(std::string_view name) {
  if (name.empty()) return std::string("must not be empty");
  if (name.size() > 63) return std::string("must be no more than 63 characters");
  if (!validLabelChars(name)) return std::string(kLabelMsg);
  return std::nullopt;
}

std::optional<std::string> validateDns1123Subdomain(std::string_view name) {
  if (name.empty()) return std::string("must not be empty");
  if (name.size() > 253) return std::string("must be no more than 253 characters");
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view part = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!validLabelChars(part)) return std::string(kSubdomainMsg);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return std::nullopt;
}

std::optional<std::string> validateLabelValue(std::string_view v) {
  if (v.empty()) return std::nullopt;
  if (v.size() > 63) return std::string("must be no more than 63 characters");
  if (!isAlnum(v.front()) || !isAlnum(v.back())) {
    return std::string("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                       "'.', and must start and end with an alphanumeric character");
  }
  for (char c : v) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') {
      return std::string("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                         "or '.', and must start and end with an alphanumeric character");
    }
  }
  return std::nullopt;
}

std::optional<std::string> validateObjectName(std::string_view kind, std::string_view name) {
  // apiserver: Namespace and Service names are DNS-1123 labels (ValidateNamespaceName,
  // ValidateServiceName); most other kinds use NameIsDNSSubdomain.
  if (kind == "Namespace" || kind == "Service") return validateDns1123Label(name);
  return validateDns1123Subdomain(name);
}

bool isClusterScopedKind(std::string_view group, std::string_view kind) {
  struct K {
    std::string_view group, kind;
  };
  static constexpr std::array<K, 22> kCluster{{
      {"", "Namespace"},
      {"", "Node"},
      {"", "PersistentVolume"},
      {"", "ComponentStatus"},
      {"rbac.authorization.k8s.io", "ClusterRole"},
      {"rbac.authorization.k8s.io", "ClusterRoleBinding"},
      {"apiextensions.k8s.io", "CustomResourceDefinition"},
      {"admissionregistration.k8s.io", "ValidatingWebhookConfiguration"},
      {"admissionregistration.k8s.io", "MutatingWebhookConfiguration"},
      {"admissionregistration.k8s.io", "ValidatingAdmissionPolicy"},
      {"admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"},
      {"apiregistration.k8s.io", "APIService"},
      {"storage.k8s.io", "StorageClass"},
      {"storage.k8s.io", "CSIDriver"},
      {"storage.k8s.io", "CSINode"},
      {"storage.k8s.io", "VolumeAttachment"},
      {"scheduling.k8s.io", "PriorityClass"},
      {"networking.k8s.io", "IngressClass"},
      {"node.k8s.io", "RuntimeClass"},
      {"certificates.k8s.io", "CertificateSigningRequest"},
      {"flowcontrol.apiserver.k8s.io", "FlowSchema"},
      {"flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"},
  }};
  for (const auto& k : kCluster) {
    if (k.group == group && k.kind == kind) return true;
  }
  // kubeop's own cluster-scoped kinds.
  if (group == "paas.kubeop.io") {
    return kind == "Tenant" || kind == "Project" || kind == "DNSRecord" || kind == "Certificate" ||
           kind == "Policy" || kind == "Registry";
  }
  return false;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace kubeop::names
