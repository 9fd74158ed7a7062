// Pins plugin_abi.h: any edit changes its hash and fails this test until the ABI version moves
// (and the new hash is recorded here with it). Appending fields → minor; anything else → major.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kubeop/core/digest.h"
#include "kubeop/plugin_abi.h"
#include "test_paths.h"

namespace {

struct Pin {
  unsigned major, minor;
  const char* sha256;
};
constexpr Pin kPins[] = {
    {1, 0, "5595f5bb89a9031b8caf5bf62fe451bfd2df23a0087e512b0b19146cdbfa2357"},
};

TEST(AbiPinTest, HeaderHashMatchesItsVersion) {
  std::ifstream in(kubeop::test::sourceDir() + "/core/include/kubeop/plugin_abi.h", std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string hash = kubeop::digest::sha256Hex(ss.str());
  const Pin* pin = nullptr;
  for (const auto& p : kPins) {
    if (p.major == KUBEOP_PLUGIN_ABI_MAJOR && p.minor == KUBEOP_PLUGIN_ABI_MINOR) pin = &p;
  }
  ASSERT_NE(pin, nullptr) << "ABI " << KUBEOP_PLUGIN_ABI_MAJOR << "." << KUBEOP_PLUGIN_ABI_MINOR
                          << " has no pin: add {major, minor, \"" << hash << "\"}";
  EXPECT_EQ(hash, pin->sha256) << "plugin_abi.h changed without an ABI version bump. Appended fields? bump "
                                  "KUBEOP_PLUGIN_ABI_MINOR. Anything else? bump the major. Then pin \""
                               << hash << "\".";
}

TEST(AbiPinTest, TableLayoutStartsWithTheVersionFields) {
  // The host reads these before it knows anything else about a plugin.
  EXPECT_EQ(offsetof(kubeop_plugin_api, struct_size), 0u);
  EXPECT_EQ(offsetof(kubeop_plugin_api, abi_major), 4u);
  EXPECT_EQ(offsetof(kubeop_plugin_api, abi_minor), 8u);
  EXPECT_EQ(offsetof(kubeop_plugin_api, capabilities), 12u);
}

}  // namespace
