// URL parsing and percent-encoding. No Boost: part of kubeop_base, so kubeconfig can use it.
#include "kubeop/http/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace kubeop::http {
namespace {

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (const char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (isUnreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Characters allowed in a DNS name or registered name as we accept it (no percent-encoding in
// host names: Kubernetes servers never need it).
bool validHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

// The input for an error message: never the userinfo (it may hold a password), and bounded.
std::string quoteForError(std::string_view text) {
  std::string redacted(text);
  const auto scheme = redacted.find("://");
  if (scheme != std::string::npos) {
    const auto authorityStart = scheme + 3;
    const auto authorityEnd = redacted.find_first_of("/?#", authorityStart);
    const auto at = redacted.substr(0, authorityEnd).rfind('@');
    if (at != std::string::npos && at >= authorityStart) redacted.replace(authorityStart, at - authorityStart, "***");
  }
  std::string out = "\"";
  const bool truncated = redacted.size() > 200;
  redacted.resize(std::min<std::size_t>(redacted.size(), 200));
  for (const char c : redacted) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (truncated) out += "...";
  out += '"';
  return out;
}

Status bad(std::string_view text, std::string_view why) {
  return invalidArgument("invalid URL " + quoteForError(text) + ": " + std::string(why));
}

bool validTarget(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;  // no spaces or control characters on the wire
  }
  return true;
}

}  // namespace

bool isIpLiteral(std::string_view host) {
  if (host.empty() || host.size() > 45) return false;
  char buf[64];
  host.copy(buf, host.size());
  buf[host.size()] = '\0';
  unsigned char addr[16];
  return ::inet_pton(AF_INET, buf, addr) == 1 || ::inet_pton(AF_INET6, buf, addr) == 1;
}

std::string Url::hostPort() const {
  return (ipv6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::hostHeader() const {
  const bool defaultPort = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  const std::string h = ipv6() ? "[" + host + "]" : host;
  return defaultPort ? h : h + ":" + std::to_string(port);
}

std::string Url::target() const { return query.empty() ? path : path + "?" + query; }

std::string Url::origin() const { return scheme + "://" + hostHeader(); }

std::string Url::toString() const { return origin() + target(); }

StatusOr<Url> parseUrl(std::string_view text) {
  if (text.empty()) return invalidArgument("invalid URL \"\": empty");
  if (text.size() > 16384) return bad(text, "longer than 16384 bytes");
  const auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return bad(text, "missing scheme (want http:// or https://)");
  Url u;
  for (const char c : text.substr(0, sep)) u.scheme += lowerAscii(c);
  if (u.scheme != "http" && u.scheme != "https") {
    return bad(text, "unsupported scheme \"" + u.scheme + "\" (want http or https)");
  }
  std::string_view rest = text.substr(sep + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto authorityEnd = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authorityEnd);
  std::string_view tail = authorityEnd == std::string_view::npos ? std::string_view() : rest.substr(authorityEnd);

  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    u.userinfo.assign(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  if (authority.empty()) return bad(text, "missing host");

  std::string_view host;
  std::string_view portText;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad(text, "unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(text, "unexpected characters after the IPv6 literal");
      portText = after.substr(1);
      if (portText.empty()) return bad(text, "empty port");
    }
    if (host.find(':') == std::string_view::npos || !isIpLiteral(host)) return bad(text, "invalid IPv6 literal");
  } else {
    const auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      portText = authority.substr(colon + 1);
      if (portText.empty()) return bad(text, "empty port");
    }
    if (host.empty()) return bad(text, "missing host");
    if (host.find(':') != std::string_view::npos) return bad(text, "IPv6 literals must be in brackets");
    for (const char c : host) {
      if (!validHostChar(c)) return bad(text, "invalid character in host");
    }
  }
  for (const char c : host) u.host += lowerAscii(c);

  if (!portText.empty()) {
    unsigned value = 0;
    const auto r = std::from_chars(portText.data(), portText.data() + portText.size(), value);
    if (r.ec != std::errc() || r.ptr != portText.data() + portText.size() || value == 0 || value > 65535) {
      return bad(text, "invalid port");
    }
    u.port = static_cast<std::uint16_t>(value);
    u.explicitPort = true;
  } else {
    u.port = u.https() ? 443 : 80;
  }

  if (!validTarget(tail)) return bad(text, "spaces or control characters in the path or query");
  const auto q = tail.find('?');
  u.path.assign(tail.substr(0, q));
  if (u.path.empty()) u.path = "/";
  if (q != std::string_view::npos) u.query.assign(tail.substr(q + 1));
  return u;
}

std::string urlEncodeQueryValue(std::string_view value) { return encode(value); }

std::string urlEncodePathSegment(std::string_view segment) { return encode(segment); }

std::string percentDecode(std::string_view text, bool plusIsSpace) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plusIsSpace && c == '+') ? ' ' : c;
  }
  return out;
}

std::string buildQuery(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += encode(k);
    out += '=';
    out += encode(v);
  }
  return out;
}

}  // namespace kubeop::http
