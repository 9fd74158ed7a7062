#include "kubeop/core/digest.h"

#include <openssl/evp.h>

namespace kubeop::digest {
namespace {
std::string hexDigest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string s;
  s.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    s += kHex[out[i] >> 4];
    s += kHex[out[i] & 15];
  }
  return s;
}
}  // namespace

std::string sha256Hex(std::string_view data) { return hexDigest(EVP_sha256(), data); }
std::string sha1Hex(std::string_view data) { return hexDigest(EVP_sha1(), data); }

}  // namespace kubeop::digest
