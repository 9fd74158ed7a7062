// Names the operator derives: a project's namespace, hook Jobs, revision ConfigMaps.
//
// kubeOP took `kubeop-<tenantRef>-<name>` verbatim, so "Acme" or a long name made a namespace
// the apiserver refused and the Project never became ready. kubeop lowercases, validates, and
// shortens over-long names with a stable hash suffix (the same inputs always give the same
// name; different inputs that share a long prefix do not collide).
#pragma once

#include <string>
#include <string_view>

#include "kubeop/core/status.h"

namespace kubeop::op {

// `name` when it fits in `maxLen`; else its first maxLen-9 characters (trailing '-' and '.'
// trimmed) + "-" + the first 8 hex digits of sha256(name).
std::string shortenName(std::string_view name, size_t maxLen = 63);

// "kubeop-<tenant>-<project>", lowercased and shortened to a DNS-1123 label. InvalidArgument
// naming the offending input when a part is empty or has characters a label cannot hold
// (anything but letters, digits and '-'), after lowercasing.
StatusOr<std::string> projectNamespace(std::string_view tenant, std::string_view project);

// "hook-<phase>-<app>-<revision>" (phase "pre" or "post"), shortened to 63 characters (a Job's
// name becomes a label value on its pods).
std::string hookJobName(std::string_view phase, std::string_view app, std::string_view revision);

// "kubeop-revision-<app>" (kubeOP's documented name), shortened to 253 characters.
std::string revisionConfigMapName(std::string_view app);

}  // namespace kubeop::op
