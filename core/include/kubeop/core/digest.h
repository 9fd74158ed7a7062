// Content digests for revisions.
#pragma once

#include <string>
#include <string_view>

namespace kubeop::digest {

// Lowercase hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);
// Lowercase hex SHA-1 of `data` (kubeOP's Image revision: sha1(image)[:12]).
std::string sha1Hex(std::string_view data);

}  // namespace kubeop::digest
