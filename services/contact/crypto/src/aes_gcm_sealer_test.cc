#include "crm/contact/crypto/aes_gcm_sealer.h"

#include "crm/contact/crypto/in_memory_key_provider.h"
#include "crm/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::contact {
namespace {

using ::crm::testing::IsOkAndHolds;
using ::crm::testing::StatusIs;
using Code = absl::StatusCode;

constexpr char kSecret[] = "Ada Lovelace, ada@example.com, +44 20 7946 0958";

class AesGcmSealerTest : public ::testing::Test {
 protected:
  InMemoryKeyProvider keys_;
  AesGcmSealer sealer_{&keys_};
};

TEST_F(AesGcmSealerTest, SealThenOpenRoundTrips) {
  ASSERT_OK_AND_ASSIGN(v1::SealedData sealed,
                       sealer_.Seal("acme/person-1", kSecret));
  EXPECT_EQ(sealed.key_id(), "acme/person-1");
  EXPECT_EQ(sealed.nonce().size(), 12u);
  EXPECT_EQ(sealed.ciphertext().size(), std::string(kSecret).size() + 16);
  EXPECT_THAT(sealer_.Open(sealed), IsOkAndHolds(std::string(kSecret)));
  ASSERT_OK_AND_ASSIGN(v1::SealedData empty, sealer_.Seal("acme/person-1", ""));
  EXPECT_THAT(sealer_.Open(empty), IsOkAndHolds(std::string()));
}

TEST_F(AesGcmSealerTest, CiphertextRevealsNoPlaintext) {
  ASSERT_OK_AND_ASSIGN(v1::SealedData sealed,
                       sealer_.Seal("acme/person-1", kSecret));
  std::string bytes = sealed.SerializeAsString();
  for (const char* part : {"Ada", "Lovelace", "example.com", "7946"}) {
    EXPECT_EQ(bytes.find(part), std::string::npos) << part;
  }
  // Fresh nonces: sealing the same text twice differs.
  ASSERT_OK_AND_ASSIGN(v1::SealedData again,
                       sealer_.Seal("acme/person-1", kSecret));
  EXPECT_NE(again.nonce(), sealed.nonce());
  EXPECT_NE(again.ciphertext(), sealed.ciphertext());
}

TEST_F(AesGcmSealerTest, DeletedKeyMakesDataUnreadableAndUnwritable) {
  ASSERT_OK_AND_ASSIGN(v1::SealedData sealed,
                       sealer_.Seal("acme/person-1", kSecret));
  ASSERT_OK_AND_ASSIGN(v1::SealedData other,
                       sealer_.Seal("acme/person-2", kSecret));
  ASSERT_OK(keys_.Delete("acme/person-1"));
  ASSERT_OK(keys_.Delete("acme/person-1"));  // idempotent
  absl::StatusOr<std::string> opened = sealer_.Open(sealed);
  EXPECT_THAT(opened, StatusIs(Code::kFailedPrecondition));
  EXPECT_TRUE(IsKeyErased(opened.status()));
  EXPECT_THAT(std::string(opened.status().message()),
              ::testing::HasSubstr("erased"));
  EXPECT_TRUE(IsKeyErased(sealer_.Seal("acme/person-1", "x").status()));
  EXPECT_TRUE(IsKeyErased(keys_.Put("acme/person-1", DataKey{})));
  // Other people are unaffected.
  EXPECT_THAT(sealer_.Open(other), IsOkAndHolds(std::string(kSecret)));
}

TEST_F(AesGcmSealerTest, TamperedOrMovedCiphertextFailsAuthentication) {
  ASSERT_OK_AND_ASSIGN(v1::SealedData sealed,
                       sealer_.Seal("acme/person-1", kSecret));
  v1::SealedData flipped = sealed;
  flipped.mutable_ciphertext()->at(3) ^= 0x01;
  EXPECT_THAT(sealer_.Open(flipped), StatusIs(Code::kDataLoss));
  v1::SealedData bad_tag = sealed;
  bad_tag.mutable_ciphertext()->back() ^= 0x01;
  EXPECT_THAT(sealer_.Open(bad_tag), StatusIs(Code::kDataLoss));
  // The same bytes under another person's key id (which has its own key)
  // do not open: the key id is authenticated.
  ASSERT_OK(sealer_.Seal("acme/person-2", "y").status());
  v1::SealedData moved = sealed;
  moved.set_key_id("acme/person-2");
  EXPECT_THAT(sealer_.Open(moved), StatusIs(Code::kDataLoss));
}

TEST_F(AesGcmSealerTest, MalformedAndUnknownInputsAreRefused) {
  ASSERT_OK_AND_ASSIGN(v1::SealedData sealed,
                       sealer_.Seal("acme/person-1", kSecret));
  v1::SealedData short_nonce = sealed;
  short_nonce.set_nonce("123");
  EXPECT_THAT(sealer_.Open(short_nonce), StatusIs(Code::kInvalidArgument));
  v1::SealedData short_text = sealed;
  short_text.set_ciphertext("abc");
  EXPECT_THAT(sealer_.Open(short_text), StatusIs(Code::kInvalidArgument));
  v1::SealedData unknown = sealed;
  unknown.set_key_id("acme/nobody");
  EXPECT_THAT(sealer_.Open(unknown), StatusIs(Code::kNotFound));
  EXPECT_THAT(sealer_.Open(v1::SealedData()), StatusIs(Code::kInvalidArgument));
  EXPECT_THAT(sealer_.Seal("", "x"), StatusIs(Code::kInvalidArgument));
}

TEST_F(AesGcmSealerTest, PutInstallsAKnownKey) {
  DataKey key{};
  key.fill(7);
  ASSERT_OK(keys_.Put("acme/fixed", key));
  ASSERT_OK(keys_.Put("acme/fixed", key));
  DataKey other{};
  EXPECT_THAT(keys_.Put("acme/fixed", other), StatusIs(Code::kAlreadyExists));
  EXPECT_THAT(keys_.Get("acme/fixed"), IsOkAndHolds(key));
  EXPECT_THAT(keys_.Get("acme/none"), StatusIs(Code::kNotFound));
}

}  // namespace
}  // namespace crm::contact
