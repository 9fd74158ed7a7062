// Kubernetes name rules (k8s.io/apimachinery/pkg/util/validation) and scope facts.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kubeop::names {

// RFC 1123 label: ≤ 63 chars of [a-z0-9-], starting and ending alphanumeric.
// Returns nullopt when valid, else the reason in the apiserver's wording.
std::optional<std::string> validateDns1123Label(std::string_view name);
// RFC 1123 subdomain: ≤ 253 chars, dot-separated labels of [a-z0-9-] (each start/end alnum).
std::optional<std::string> validateDns1123Subdomain(std::string_view name);
// Label values: ≤ 63 chars, empty or [A-Za-z0-9] at both ends with [-._A-Za-z0-9] between.
std::optional<std::string> validateLabelValue(std::string_view value);

// The name rule the apiserver applies to a kind: most kinds take a DNS-1123 subdomain; a few
// (Namespace, Service) take a DNS-1123 label.
std::optional<std::string> validateObjectName(std::string_view kind, std::string_view name);

// True for built-in kinds that are cluster-scoped (Namespace, Node, ClusterRole,
// CustomResourceDefinition, webhook configurations, …), keyed by group and kind.
bool isClusterScopedKind(std::string_view group, std::string_view kind);

// Lowercases ASCII.
std::string toLower(std::string_view s);

}  // namespace kubeop::names
