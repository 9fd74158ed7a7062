// IPv4 and IPv6 CIDR blocks: strict parsing, canonical text, and containment.
//
// Parsing is strict where ambiguity could hide a wider range than the writer meant: IPv4 octets
// with leading zeros ("010" is octal to some parsers), prefix lengths with signs or leading
// zeros, IPv6 zones ("%eth0"), and anything that is not an address are refused with the reason.
// Host bits below the prefix are allowed, as the apiserver allows them, and ignored: the block
// 10.1.2.3/8 is 10.0.0.0/8. Families never mix: an IPv4-mapped IPv6 block (::ffff:10.0.0.0/104)
// is an IPv6 block and lies inside no IPv4 block.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "kubeop/core/status.h"

namespace kubeop::plugins::netpol {

struct Cidr {
  bool v6 = false;
  // The network address, host bits cleared. IPv4 uses the first 4 bytes.
  std::array<uint8_t, 16> addr{};
  int prefix = 0;

  int bits() const { return v6 ? 128 : 32; }
  // Canonical text: dotted quad for IPv4, RFC 5952 for IPv6 ("2001:db8::/32").
  std::string toString() const;
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

// Parses "<address>/<prefix length>". InvalidArgument naming what is wrong.
StatusOr<Cidr> parseCidr(std::string_view text);

// True when every address of `inner` (its first and its last) lies in `outer`.
bool contains(const Cidr& outer, const Cidr& inner);

}  // namespace kubeop::plugins::netpol
