// A small PKI for kubeop: a self-signed CA, serving certificates (DNS/IP SANs, server-auth) and
// client certificates (CN = user, O = groups, as Kubernetes reads them) signed by it; PEM and
// base64 helpers; certificate inspection and verification. Used by `kubeop sandbox` (its own CA,
// a kubeconfig for it), the admission webhook and tests. OpenSSL underneath; no Boost.
//
// Keys are EC P-256, signatures ECDSA-SHA256; keys are written as PKCS#8 ("PRIVATE KEY"), which
// Go's crypto/tls (kubectl) and OpenSSL both read.
//
// Thread-safety: stateless functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/status.h"

namespace kubeop::pki {

using SystemClock = std::chrono::system_clock;

// A certificate and its private key, both PEM.
struct CertificateAndKey {
  std::string certificatePem;
  std::string keyPem;
};

struct CertificateSpec {
  std::string commonName;                  // required
  std::vector<std::string> organizations;  // client certificates: the user's groups
  std::vector<std::string> dnsNames;       // SANs; "*.example.com" wildcards allowed
  std::vector<std::string> ipAddresses;    // SANs; IPv4 or IPv6 literals
  bool serverAuth = false;                 // extended key usages
  bool clientAuth = false;
  // Validity window: [notBefore, notBefore + validity]. A default notBefore is now minus five
  // minutes (tolerates clock skew between the issuer and its verifiers).
  SystemClock::time_point notBefore{};
  SystemClock::duration validity = std::chrono::hours(24 * 365);
};

// A self-signed CA (basicConstraints CA:TRUE, keyCertSign). Default validity: ten years.
StatusOr<CertificateAndKey> generateCa(std::string_view commonName,
                                       SystemClock::duration validity = std::chrono::hours(24 * 3650),
                                       SystemClock::time_point notBefore = {});
// A leaf certificate signed by `ca` as described by `spec` (CA:FALSE, digitalSignature).
StatusOr<CertificateAndKey> issueCertificate(const CertificateAndKey& ca, const CertificateSpec& spec);
// Shorthands: server-auth with SANs; client-auth with CN/O.
StatusOr<CertificateAndKey> issueServingCertificate(const CertificateAndKey& ca, std::string_view commonName,
                                                    std::vector<std::string> dnsNames,
                                                    std::vector<std::string> ipAddresses,
                                                    SystemClock::duration validity = std::chrono::hours(24 * 365));
StatusOr<CertificateAndKey> issueClientCertificate(const CertificateAndKey& ca, std::string_view commonName,
                                                   std::vector<std::string> organizations,
                                                   SystemClock::duration validity = std::chrono::hours(24 * 365));

// What a certificate says, for tests, logs and expiry checks.
struct CertificateInfo {
  std::string commonName;
  std::vector<std::string> organizations;
  std::string issuerCommonName;
  std::vector<std::string> dnsNames;
  std::vector<std::string> ipAddresses;  // canonical text ("127.0.0.1", "::1")
  SystemClock::time_point notBefore{};
  SystemClock::time_point notAfter{};
  bool isCa = false;
  bool serverAuth = false;
  bool clientAuth = false;
  std::string serialHex;
};

// Every certificate in a PEM bundle, in order (other PEM blocks are skipped). InvalidArgument
// when there is none or one is malformed.
StatusOr<std::vector<CertificateInfo>> parseCertificates(std::string_view pem);

// Verifies that the first certificate in `certificatePem` chains to a CA in `caPem` (further
// certificates in `certificatePem` are intermediates), is within its validity window at `at`
// (default: now), and — when `host` is not empty — is valid for that DNS name or IP. The error
// (InvalidArgument) carries OpenSSL's reason ("certificate has expired", "hostname mismatch").
Status verifyCertificate(std::string_view certificatePem, std::string_view caPem, std::string_view host = {},
                         SystemClock::time_point at = {});
// Checks that the key is the certificate's (and both parse).
Status checkKeyPair(std::string_view certificatePem, std::string_view keyPem);

// --- encodings ---

// Standard base64 (RFC 4648 §4) with padding.
std::string base64Encode(std::string_view data);
// Standard alphabet; padding optional; ASCII whitespace (line breaks in PEM, kubeconfig -data
// values split over lines) ignored. InvalidArgument on any other character.
StatusOr<std::string> base64Decode(std::string_view text);

struct PemBlock {
  std::string type;  // "CERTIFICATE", "PRIVATE KEY", …
  std::string der;   // the decoded bytes
};
// "-----BEGIN <type>-----", base64 in 64-column lines, "-----END <type>-----".
std::string pemEncode(std::string_view type, std::string_view der);
// Every PEM block in `text` (text between blocks is ignored). InvalidArgument for a malformed
// block; an empty vector when there is none.
StatusOr<std::vector<PemBlock>> pemDecode(std::string_view text);

}  // namespace kubeop::pki
