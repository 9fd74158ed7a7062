// A minimal absolute-URL parser for http:// and https:// and the percent-encoding helpers a
// Kubernetes client needs (Boost.URL is not in Boost 1.74, TOOLCHAIN.md §1). No Boost.
//
// Accepted: `scheme://[userinfo@]host[:port][/path][?query][#fragment]` where host is a DNS name,
// an IPv4 literal or a bracketed IPv6 literal ("[::1]"). The path and query are kept exactly as
// written (still percent-encoded); the fragment is dropped.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kubeop/core/status.h"

namespace kubeop::http {

struct Url {
  std::string scheme;     // "http" or "https", lower-case
  std::string userinfo;   // "user:pass" as written; never printed by toString()
  std::string host;       // DNS names lower-cased; IPv6 without brackets ("::1")
  std::uint16_t port = 0; // the explicit port, or 80/443 from the scheme
  bool explicitPort = false;
  std::string path = "/";  // percent-encoded as written; "/" when empty
  std::string query;       // after '?', without it; may be empty

  bool https() const { return scheme == "https"; }
  bool ipv6() const { return host.find(':') != std::string::npos; }
  // "host:port" / "[::1]:port": for connection pools and messages.
  std::string hostPort() const;
  // The Host header: the port only when it is not the scheme's default.
  std::string hostHeader() const;
  // "/path?query": the HTTP request-target.
  std::string target() const;
  // "https://host:port" (explicit port kept as written; default port omitted).
  std::string origin() const;
  // The URL without userinfo (safe for messages and logs).
  std::string toString() const;
};

// Parses an absolute http(s) URL. Errors (InvalidArgument) quote the input without userinfo.
StatusOr<Url> parseUrl(std::string_view text);

// True for an IPv4 dotted quad or an IPv6 literal (without brackets).
bool isIpLiteral(std::string_view host);

// Percent-encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~); a space
// becomes %20. Safe for query keys and values and for path segments.
std::string urlEncodeQueryValue(std::string_view value);
// Same set, for one path segment ("a/b" → "a%2Fb").
std::string urlEncodePathSegment(std::string_view segment);
// Decodes %XX escapes (malformed ones are kept literally); `plusIsSpace` for query strings.
std::string percentDecode(std::string_view text, bool plusIsSpace = false);
// "a=1&b=x%20y" from pairs, in the given order.
std::string buildQuery(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace kubeop::http
