// PKI helpers over OpenSSL 3 (TOOLCHAIN.md §5.7). Every OpenSSL object is owned by a
// unique_ptr with its free function, so each early error return cleans up.
#include "kubeop/core/pki.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <ctime>
#include <memory>

namespace kubeop::pki {
namespace {

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION, X509_EXTENSION_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX, X509_STORE_CTX_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Free<GENERAL_NAMES, GENERAL_NAMES_free>>;

void freeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Free<STACK_OF(X509), freeX509Stack>>;

std::string opensslError(std::string_view what) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  std::string out(what);
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  return out;
}

BioPtr memBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bioString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// Every certificate in a PEM text.
StatusOr<std::vector<X509Ptr>> readCertificates(std::string_view pem, std::string_view what) {
  if (pem.size() > (64u << 20)) return invalidArgument(std::string(what) + ": larger than 64 MiB");
  auto blocks = pemDecode(pem);
  if (!blocks.ok()) return blocks.status().withContext(what);
  std::vector<X509Ptr> out;
  for (const auto& b : *blocks) {
    if (b.type != "CERTIFICATE") continue;
    const auto* p = reinterpret_cast<const unsigned char*>(b.der.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(b.der.size())));
    if (!cert) return invalidArgument(opensslError(std::string(what) + ": malformed certificate"));
    out.push_back(std::move(cert));
  }
  if (out.empty()) return invalidArgument(std::string(what) + ": no PEM certificate found");
  return out;
}

StatusOr<PkeyPtr> readKey(std::string_view pem) {
  if (pem.size() > (1u << 20)) return invalidArgument("private key: larger than 1 MiB");
  BioPtr bio = memBio(pem);
  if (!bio) return internalError("out of memory");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();  // OpenSSL's text would say little more
    return invalidArgument("private key: no PEM private key found (unencrypted PKCS#8, SEC1 or PKCS#1 expected)");
  }
  return key;
}

std::string toPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  return bioString(bio.get());
}

std::string toPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  return bioString(bio.get());
}

bool validDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  if (name.substr(0, 2) == "*.") name.remove_prefix(2);
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_';
    if (!ok) return false;
  }
  return name.front() != '.' && name.back() != '.' && name.find("..") == std::string_view::npos;
}

// Parses an IP literal into 4 or 16 bytes; empty when it is not one.
std::string ipBytes(const std::string& ip) {
  unsigned char buf[16];
  if (::inet_pton(AF_INET, ip.c_str(), buf) == 1) return std::string(reinterpret_cast<char*>(buf), 4);
  if (::inet_pton(AF_INET6, ip.c_str(), buf) == 1) return std::string(reinterpret_cast<char*>(buf), 16);
  return {};
}

std::time_t toTimeT(SystemClock::time_point t) { return SystemClock::to_time_t(t); }

SystemClock::time_point fromAsn1(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return SystemClock::from_time_t(timegm(&tm));
}

std::string asn1Utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  const int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) return {};
  std::string r(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return r;
}

std::vector<std::string> nameEntries(const X509_NAME* name, int nid) {
  std::vector<std::string> out;
  int i = -1;
  while ((i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    out.push_back(asn1Utf8(X509_NAME_ENTRY_get_data(e)));
  }
  return out;
}

Status addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return internalError(opensslError("adding a certificate extension"));
  return Status::ok();
}

Status addSubjectAltNames(X509* cert, const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
  if (dns.empty() && ips.empty()) return Status::ok();
  NamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return internalError("out of memory");
  for (const auto& d : dns) {
    if (!validDnsName(d)) return invalidArgument("invalid DNS name \"" + d + "\" for a certificate");
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    if (gn == nullptr || s == nullptr || ASN1_STRING_set(s, d.data(), static_cast<int>(d.size())) != 1) {
      GENERAL_NAME_free(gn);
      ASN1_IA5STRING_free(s);
      return internalError("out of memory");
    }
    GENERAL_NAME_set0_value(gn, GEN_DNS, s);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  for (const auto& ip : ips) {
    const std::string bytes = ipBytes(ip);
    if (bytes.empty()) return invalidArgument("invalid IP address \"" + ip + "\" for a certificate");
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
    if (gn == nullptr || s == nullptr ||
        ASN1_OCTET_STRING_set(s, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1) {
      GENERAL_NAME_free(gn);
      ASN1_OCTET_STRING_free(s);
      return internalError("out of memory");
    }
    GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return internalError(opensslError("adding subjectAltName"));
  }
  return Status::ok();
}

Status setSubject(X509* cert, std::string_view commonName, const std::vector<std::string>& organizations) {
  X509_NAME* name = X509_get_subject_name(cert);
  for (const auto& o : organizations) {
    if (o.empty() || o.size() > 64) return invalidArgument("certificate organization must be 1..64 bytes");
    if (X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(o.data()), static_cast<int>(o.size()), -1,
                                   0) != 1) {
      return invalidArgument(opensslError("certificate organization \"" + o + "\""));
    }
  }
  if (commonName.empty() || commonName.size() > 64) return invalidArgument("certificate common name must be 1..64 bytes");
  if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(commonName.data()),
                                 static_cast<int>(commonName.size()), -1, 0) != 1) {
    return invalidArgument(opensslError("certificate common name"));
  }
  return Status::ok();
}

// A new certificate with key, serial, validity and subject; not yet signed.
StatusOr<X509Ptr> newCertificate(EVP_PKEY* key, std::string_view commonName, const std::vector<std::string>& orgs,
                                 SystemClock::time_point notBefore, SystemClock::duration validity) {
  if (validity <= SystemClock::duration::zero()) return invalidArgument("certificate validity must be positive");
  X509Ptr cert(X509_new());
  if (!cert) return internalError("out of memory");
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return internalError(opensslError("generating a serial number"));
  serial[0] &= 0x7f;  // positive (DER INTEGER), at most 20 octets as RFC 5280 requires
  BnPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return internalError(opensslError("setting the serial number"));
  }
  if (notBefore == SystemClock::time_point{}) notBefore = SystemClock::now() - std::chrono::minutes(5);
  const auto notAfter = notBefore + validity;
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), toTimeT(notBefore)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), toTimeT(notAfter)) == nullptr) {
    return invalidArgument(opensslError("setting the validity window"));
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return internalError(opensslError("setting the public key"));
  KUBEOP_RETURN_IF_ERROR(setSubject(cert.get(), commonName, orgs));
  return cert;
}

StatusOr<PkeyPtr> newKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return internalError(opensslError("generating an EC P-256 key"));
  return key;
}

int b64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

// --- generation ---------------------------------------------------------------------------------

StatusOr<CertificateAndKey> generateCa(std::string_view commonName, SystemClock::duration validity,
                                       SystemClock::time_point notBefore) {
  KUBEOP_ASSIGN_OR_RETURN(PkeyPtr key, newKey());
  KUBEOP_ASSIGN_OR_RETURN(X509Ptr cert, newCertificate(key.get(), commonName, {}, notBefore, validity));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) {
    return internalError(opensslError("setting the issuer"));
  }
  KUBEOP_RETURN_IF_ERROR(addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  KUBEOP_RETURN_IF_ERROR(
      addExtension(cert.get(), cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"));
  KUBEOP_RETURN_IF_ERROR(addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return internalError(opensslError("signing the CA"));
  CertificateAndKey out{toPem(cert.get()), toPem(key.get())};
  if (out.certificatePem.empty() || out.keyPem.empty()) return internalError(opensslError("PEM-encoding the CA"));
  return out;
}

StatusOr<CertificateAndKey> issueCertificate(const CertificateAndKey& ca, const CertificateSpec& spec) {
  KUBEOP_ASSIGN_OR_RETURN(auto caCerts, readCertificates(ca.certificatePem, "CA certificate"));
  X509* caCert = caCerts.front().get();
  KUBEOP_ASSIGN_OR_RETURN(PkeyPtr caKey, readKey(ca.keyPem));
  if (X509_check_private_key(caCert, caKey.get()) != 1) {
    ERR_clear_error();
    return invalidArgument("the CA key does not match the CA certificate");
  }
  if (X509_check_ca(caCert) == 0) return invalidArgument("the issuer certificate is not a CA");

  KUBEOP_ASSIGN_OR_RETURN(PkeyPtr key, newKey());
  KUBEOP_ASSIGN_OR_RETURN(X509Ptr cert,
                          newCertificate(key.get(), spec.commonName, spec.organizations, spec.notBefore, spec.validity));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(caCert)) != 1) {
    return internalError(opensslError("setting the issuer"));
  }
  KUBEOP_RETURN_IF_ERROR(addExtension(cert.get(), caCert, NID_basic_constraints, "critical,CA:FALSE"));
  KUBEOP_RETURN_IF_ERROR(addExtension(cert.get(), caCert, NID_key_usage, "critical,digitalSignature"));
  std::string eku;
  if (spec.serverAuth) eku = "serverAuth";
  if (spec.clientAuth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  if (!eku.empty()) KUBEOP_RETURN_IF_ERROR(addExtension(cert.get(), caCert, NID_ext_key_usage, eku.c_str()));
  // The authority key id needs the CA's subject key id; CAs made elsewhere may lack one.
  if (X509_get_ext_by_NID(caCert, NID_subject_key_identifier, -1) >= 0) {
    KUBEOP_RETURN_IF_ERROR(addExtension(cert.get(), caCert, NID_authority_key_identifier, "keyid:always"));
  }
  KUBEOP_RETURN_IF_ERROR(addSubjectAltNames(cert.get(), spec.dnsNames, spec.ipAddresses));
  if (X509_sign(cert.get(), caKey.get(), EVP_sha256()) <= 0) {
    return internalError(opensslError("signing the certificate"));
  }
  CertificateAndKey out{toPem(cert.get()), toPem(key.get())};
  if (out.certificatePem.empty() || out.keyPem.empty()) {
    return internalError(opensslError("PEM-encoding the certificate"));
  }
  return out;
}

StatusOr<CertificateAndKey> issueServingCertificate(const CertificateAndKey& ca, std::string_view commonName,
                                                    std::vector<std::string> dnsNames,
                                                    std::vector<std::string> ipAddresses,
                                                    SystemClock::duration validity) {
  CertificateSpec spec;
  spec.commonName = std::string(commonName);
  spec.dnsNames = std::move(dnsNames);
  spec.ipAddresses = std::move(ipAddresses);
  spec.serverAuth = true;
  spec.validity = validity;
  return issueCertificate(ca, spec);
}

StatusOr<CertificateAndKey> issueClientCertificate(const CertificateAndKey& ca, std::string_view commonName,
                                                   std::vector<std::string> organizations,
                                                   SystemClock::duration validity) {
  CertificateSpec spec;
  spec.commonName = std::string(commonName);
  spec.organizations = std::move(organizations);
  spec.clientAuth = true;
  spec.validity = validity;
  return issueCertificate(ca, spec);
}

// --- inspection ---------------------------------------------------------------------------------

StatusOr<std::vector<CertificateInfo>> parseCertificates(std::string_view pem) {
  KUBEOP_ASSIGN_OR_RETURN(auto certs, readCertificates(pem, "certificate"));
  std::vector<CertificateInfo> out;
  for (const auto& c : certs) {
    X509* x = c.get();
    CertificateInfo info;
    const auto cns = nameEntries(X509_get_subject_name(x), NID_commonName);
    if (!cns.empty()) info.commonName = cns.back();
    info.organizations = nameEntries(X509_get_subject_name(x), NID_organizationName);
    const auto issuers = nameEntries(X509_get_issuer_name(x), NID_commonName);
    if (!issuers.empty()) info.issuerCommonName = issuers.back();
    info.notBefore = fromAsn1(X509_get0_notBefore(x));
    info.notAfter = fromAsn1(X509_get0_notAfter(x));
    const uint32_t flags = X509_get_extension_flags(x);
    info.isCa = (flags & EXFLAG_CA) != 0;
    if ((flags & EXFLAG_XKUSAGE) != 0) {
      const uint32_t xku = X509_get_extended_key_usage(x);
      info.serverAuth = (xku & XKU_SSL_SERVER) != 0;
      info.clientAuth = (xku & XKU_SSL_CLIENT) != 0;
    }
    if (auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr))) {
      for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type == GEN_DNS) {
          info.dnsNames.push_back(asn1Utf8(gn->d.dNSName));
        } else if (gn->type == GEN_IPADD) {
          const ASN1_OCTET_STRING* s = gn->d.iPAddress;
          char text[INET6_ADDRSTRLEN] = {};
          const int len = ASN1_STRING_length(s);
          const unsigned char* data = ASN1_STRING_get0_data(s);
          if (len == 4) ::inet_ntop(AF_INET, data, text, sizeof text);
          if (len == 16) ::inet_ntop(AF_INET6, data, text, sizeof text);
          if (text[0] != '\0') info.ipAddresses.emplace_back(text);
        }
      }
      GENERAL_NAMES_free(names);
    }
    if (BnPtr bn{ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)}) {
      if (char* hex = BN_bn2hex(bn.get())) {
        info.serialHex = hex;
        OPENSSL_free(hex);
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Status verifyCertificate(std::string_view certificatePem, std::string_view caPem, std::string_view host,
                         SystemClock::time_point at) {
  KUBEOP_ASSIGN_OR_RETURN(auto chain, readCertificates(certificatePem, "certificate"));
  KUBEOP_ASSIGN_OR_RETURN(auto cas, readCertificates(caPem, "CA bundle"));
  StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return internalError("out of memory");
  for (const auto& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  for (std::size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].get());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get()) != 1) {
    return internalError(opensslError("preparing verification"));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (at != SystemClock::time_point{}) X509_VERIFY_PARAM_set_time(param, toTimeT(at));
  if (!host.empty()) {
    const std::string h(host);
    const int ok = ipBytes(h).empty() ? X509_VERIFY_PARAM_set1_host(param, h.c_str(), h.size())
                                      : X509_VERIFY_PARAM_set1_ip_asc(param, h.c_str());
    if (ok != 1) return invalidArgument("invalid host \"" + h + "\"");
  }
  const int r = X509_verify_cert(ctx.get());
  // The stack holds borrowed pointers: release them before the owners go.
  while (sk_X509_num(untrusted.get()) > 0) sk_X509_pop(untrusted.get());
  if (r != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return invalidArgument(std::string("certificate verification failed: ") + X509_verify_cert_error_string(err));
  }
  return Status::ok();
}

Status checkKeyPair(std::string_view certificatePem, std::string_view keyPem) {
  KUBEOP_ASSIGN_OR_RETURN(auto certs, readCertificates(certificatePem, "certificate"));
  KUBEOP_ASSIGN_OR_RETURN(PkeyPtr key, readKey(keyPem));
  if (X509_check_private_key(certs.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return invalidArgument("the private key does not match the certificate");
  }
  return Status::ok();
}

// --- encodings ----------------------------------------------------------------------------------

std::string base64Encode(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const auto v = (static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16) |
                   (static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8) |
                   static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = data.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16;
    if (rest == 2) v |= static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

StatusOr<std::string> base64Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  unsigned acc = 0;
  int bits = 0;
  std::size_t padding = 0;
  std::size_t digits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int v = b64Value(c);
    if (v < 0 || padding > 0) {
      return invalidArgument("illegal base64 data at input byte " + std::to_string(i));
    }
    ++digits;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (digits % 4 == 1 || padding > 2 || (padding > 0 && (digits + padding) % 4 != 0)) {
    return invalidArgument("illegal base64 data: bad length or padding");
  }
  return out;
}

std::string pemEncode(std::string_view type, std::string_view der) {
  std::string out = "-----BEGIN " + std::string(type) + "-----\n";
  const std::string b64 = base64Encode(der);
  for (std::size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out += '\n';
  }
  out += "-----END " + std::string(type) + "-----\n";
  return out;
}

StatusOr<std::vector<PemBlock>> pemDecode(std::string_view text) {
  static constexpr std::string_view kBegin = "-----BEGIN ";
  static constexpr std::string_view kDashes = "-----";
  std::vector<PemBlock> out;
  std::size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string_view::npos) {
    const std::size_t typeStart = pos + kBegin.size();
    const std::size_t typeEnd = text.find(kDashes, typeStart);
    if (typeEnd == std::string_view::npos) return invalidArgument("malformed PEM: unterminated BEGIN line");
    PemBlock block;
    block.type.assign(text.substr(typeStart, typeEnd - typeStart));
    if (block.type.find('\n') != std::string::npos) return invalidArgument("malformed PEM: unterminated BEGIN line");
    const std::string endLine = "-----END " + block.type + "-----";
    const std::size_t bodyStart = typeEnd + kDashes.size();
    const std::size_t end = text.find(endLine, bodyStart);
    if (end == std::string_view::npos) return invalidArgument("malformed PEM: no END line for " + block.type);
    std::string_view body = text.substr(bodyStart, end - bodyStart);
    if (body.find(':') != std::string_view::npos) {
      return invalidArgument("unsupported PEM: encrypted or with headers (" + block.type + ")");
    }
    auto der = base64Decode(body);
    if (!der.ok()) return invalidArgument("malformed PEM " + block.type + ": " + der.status().message());
    block.der = std::move(*der);
    out.push_back(std::move(block));
    pos = end + endLine.size();
  }
  return out;
}

}  // namespace kubeop::pki
