// Tests for kubeop::pki: CA, serving and client certificates, verification, validity windows,
// PEM and base64.
#include "kubeop/core/pki.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace kubeop::pki {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const CertificateAndKey& testCa() {
  static const CertificateAndKey ca = *generateCa("kubeop-sandbox-ca");
  return ca;
}

TEST(PkiTest, GeneratesASelfSignedCa) {
  auto ca = generateCa("my-ca", std::chrono::hours(24 * 365 * 10));
  ASSERT_TRUE(ca.ok()) << ca.status().toString();
  EXPECT_THAT(ca->certificatePem, HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT(ca->keyPem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  auto infos = parseCertificates(ca->certificatePem);
  ASSERT_TRUE(infos.ok()) << infos.status().toString();
  ASSERT_EQ(infos->size(), 1u);
  const CertificateInfo& info = infos->front();
  EXPECT_EQ(info.commonName, "my-ca");
  EXPECT_EQ(info.issuerCommonName, "my-ca");
  EXPECT_TRUE(info.isCa);
  EXPECT_FALSE(info.serialHex.empty());
  const auto now = SystemClock::now();
  EXPECT_LT(info.notBefore, now);
  EXPECT_GT(info.notBefore, now - 10min) << "backdated a little for clock skew, not more";
  EXPECT_GT(info.notAfter, now + std::chrono::hours(24 * 365 * 9));
  EXPECT_TRUE(checkKeyPair(ca->certificatePem, ca->keyPem).isOk());
  EXPECT_TRUE(verifyCertificate(ca->certificatePem, ca->certificatePem).isOk());
}

TEST(PkiTest, ServingCertificateCarriesSansAndServerAuthAndVerifies) {
  auto cert = issueServingCertificate(testCa(), "kubeop-sandbox", {"localhost", "kubernetes.default.svc"},
                                      {"127.0.0.1", "::1"});
  ASSERT_TRUE(cert.ok()) << cert.status().toString();
  auto info = parseCertificates(cert->certificatePem);
  ASSERT_TRUE(info.ok());
  const CertificateInfo& i = info->front();
  EXPECT_EQ(i.commonName, "kubeop-sandbox");
  EXPECT_EQ(i.issuerCommonName, "kubeop-sandbox-ca");
  EXPECT_THAT(i.dnsNames, ElementsAre("localhost", "kubernetes.default.svc"));
  EXPECT_THAT(i.ipAddresses, ElementsAre("127.0.0.1", "::1"));
  EXPECT_FALSE(i.isCa);
  EXPECT_TRUE(i.serverAuth);
  EXPECT_FALSE(i.clientAuth);

  const auto& ca = testCa().certificatePem;
  EXPECT_TRUE(verifyCertificate(cert->certificatePem, ca).isOk());
  EXPECT_TRUE(verifyCertificate(cert->certificatePem, ca, "127.0.0.1").isOk());
  EXPECT_TRUE(verifyCertificate(cert->certificatePem, ca, "::1").isOk());
  EXPECT_TRUE(verifyCertificate(cert->certificatePem, ca, "kubernetes.default.svc").isOk());
  Status wrongHost = verifyCertificate(cert->certificatePem, ca, "example.com");
  EXPECT_EQ(wrongHost.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrongHost.message(), HasSubstr("mismatch"));
  Status wrongIp = verifyCertificate(cert->certificatePem, ca, "10.0.0.1");
  EXPECT_THAT(wrongIp.message(), HasSubstr("mismatch"));

  auto otherCa = generateCa("other");
  ASSERT_TRUE(otherCa.ok());
  Status untrusted = verifyCertificate(cert->certificatePem, otherCa->certificatePem);
  EXPECT_THAT(untrusted.message(), HasSubstr("unable to get local issuer certificate"));
}

TEST(PkiTest, ClientCertificateCarriesUserAndGroups) {
  auto cert = issueClientCertificate(testCa(), "system:admin", {"system:masters", "devs"});
  ASSERT_TRUE(cert.ok()) << cert.status().toString();
  auto info = parseCertificates(cert->certificatePem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->front().commonName, "system:admin");
  EXPECT_THAT(info->front().organizations, ElementsAre("system:masters", "devs"));
  EXPECT_TRUE(info->front().clientAuth);
  EXPECT_FALSE(info->front().serverAuth);
  EXPECT_TRUE(verifyCertificate(cert->certificatePem, testCa().certificatePem).isOk());
}

TEST(PkiTest, ValidityWindowIsEnforcedByVerification) {
  CertificateSpec spec;
  spec.commonName = "later";
  spec.serverAuth = true;
  spec.notBefore = SystemClock::now() + 24h;
  spec.validity = 48h;
  auto future = issueCertificate(testCa(), spec);
  ASSERT_TRUE(future.ok()) << future.status().toString();
  const auto& ca = testCa().certificatePem;
  EXPECT_THAT(verifyCertificate(future->certificatePem, ca).message(), HasSubstr("not yet valid"));
  EXPECT_TRUE(verifyCertificate(future->certificatePem, ca, {}, SystemClock::now() + 36h).isOk());
  EXPECT_THAT(verifyCertificate(future->certificatePem, ca, {}, SystemClock::now() + 96h).message(),
              HasSubstr("expired"));
  auto info = parseCertificates(future->certificatePem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->front().notAfter - info->front().notBefore, 48h);

  spec.validity = -1h;
  EXPECT_EQ(issueCertificate(testCa(), spec).status().code(), StatusCode::kInvalidArgument);
}

TEST(PkiTest, BadInputsAreErrorsNotCrashes) {
  EXPECT_EQ(issueServingCertificate(testCa(), "x", {"bad name!"}, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(issueServingCertificate(testCa(), "x", {}, {"300.1.1.1"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(generateCa("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(issueCertificate({"garbage", "garbage"}, CertificateSpec{}).status().code(), StatusCode::kInvalidArgument);

  auto leaf = issueClientCertificate(testCa(), "leaf", {});
  ASSERT_TRUE(leaf.ok());
  CertificateSpec spec;
  spec.commonName = "grandchild";
  EXPECT_THAT(issueCertificate(*leaf, spec).status().message(), HasSubstr("not a CA"));

  auto otherCa = generateCa("other");
  ASSERT_TRUE(otherCa.ok());
  Status mismatch = checkKeyPair(testCa().certificatePem, otherCa->keyPem);
  EXPECT_EQ(mismatch.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.message(), Not(HasSubstr("PRIVATE KEY")));

  for (const char* bad : {"", "garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                          "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                          "-----BEGIN CERTIFICATE-----\nMIIB"}) {
    EXPECT_FALSE(parseCertificates(bad).ok()) << bad;
    EXPECT_FALSE(verifyCertificate(bad, testCa().certificatePem).isOk()) << bad;
  }
}

TEST(PkiTest, Base64MatchesRfc4648) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(*decoded, plain);
  }
  EXPECT_EQ(*base64Decode("Zm9v\nYmE"), "fooba");  // no padding, a line break
  EXPECT_EQ(*base64Decode(" Zm9v YmFy\r\n"), "foobar");
  const std::string binary("\x00\xff\x10\x80", 4);
  EXPECT_EQ(*base64Decode(base64Encode(binary)), binary);
  EXPECT_EQ(base64Decode("Zm9v!").status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(base64Decode("Zm9v!").status().message(), HasSubstr("byte 4"));
  EXPECT_FALSE(base64Decode("Z").ok());
  EXPECT_FALSE(base64Decode("Zg=a").ok());
}

TEST(PkiTest, PemRoundTripsAndRejectsMalformedBlocks) {
  const std::string der(100, '\x42');
  const std::string pem = pemEncode("TEST DATA", der);
  EXPECT_THAT(pem, HasSubstr("-----BEGIN TEST DATA-----\n"));
  auto blocks = pemDecode("junk before\n" + pem + pem + "junk after");
  ASSERT_TRUE(blocks.ok()) << blocks.status().toString();
  ASSERT_EQ(blocks->size(), 2u);
  EXPECT_EQ((*blocks)[0].type, "TEST DATA");
  EXPECT_EQ((*blocks)[1].der, der);
  EXPECT_TRUE(pemDecode("no pem here")->empty());
  EXPECT_FALSE(pemDecode("-----BEGIN X-----\nAAAA\n").ok());
  EXPECT_FALSE(pemDecode("-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n-----END X-----\n").ok());

  // A bundle: every certificate is read, in order.
  auto second = generateCa("second");
  ASSERT_TRUE(second.ok());
  auto both = parseCertificates(testCa().certificatePem + second->certificatePem);
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[1].commonName, "second");
}

}  // namespace
}  // namespace kubeop::pki
