// UIDs and generateName suffixes (controller/apiserver/random_ids.h) from OpenSSL's CSPRNG: RFC 4122
// version 4, unique over many objects, and never the same sequence in two stores opened together.

#include "controller/apiserver/random_ids.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "tests/support/store_test_base.h"

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;

const RE2 kUuidV4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

TEST(RandomIds, UidsAreVersion4AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) {
    const std::string uid = newUid();
    ASSERT_TRUE(RE2::FullMatch(uid, kUuidV4)) << uid;
    ASSERT_TRUE(seen.insert(uid).second) << "repeated: " << uid;
  }
}

TEST(RandomIds, NameSuffixesUseKubesAlphabet) {
  const RE2 alphabet("[bcdfghjklmnpqrstvwxz2456789]{5}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string suffix = randomNameSuffix();
    ASSERT_TRUE(RE2::FullMatch(suffix, alphabet)) << suffix;
    seen.insert(suffix);
  }
  // 27^5 = 14 million suffixes: a thousand draws repeat a few at most.
  EXPECT_GT(seen.size(), 990u);
}

// Two stores opened in the same instant (same clock second) on two data directories.
class TwoStoresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = ResourceRegistry::load(VIRTSNAP_SOURCE_DIR "/crds");
    ASSERT_TRUE(loaded.has_value()) << loaded.error();
    registry_ = std::move(loaded).value();
    for (int i = 0; i < 2; ++i) {
      auto opened = MemoryObjectStore::open(dirs_[i].path(), registry_, clock_.now(), StoreOptions{});
      ASSERT_TRUE(opened.has_value()) << opened.error();
      stores_[i] = std::move(opened).value();
    }
  }

  std::vector<std::string> createMany(MemoryObjectStore& store, int count) {
    std::vector<std::string> uids;
    for (int i = 0; i < count; ++i) {
      auto created = store.create(type_, "default", testsupport::widget("w" + std::to_string(i)),
                                  WriteOptions{}, nullptr);
      EXPECT_TRUE(created.has_value());
      if (created.has_value()) {
        uids.push_back(created.value()["metadata"]["uid"].get<std::string>());
      }
    }
    return uids;
  }

  testsupport::TempDir dirs_[2];
  testsupport::ManualWallClock clock_;
  ResourceRegistry registry_;
  std::unique_ptr<MemoryObjectStore> stores_[2];
  ServedResource type_ = testsupport::widgetType();
};

TEST_F(TwoStoresTest, ObjectsGetUniqueUidsAndTheStoresDoNotShareASequence) {
  const auto first = createMany(*stores_[0], 200);
  const auto second = createMany(*stores_[1], 200);
  ASSERT_EQ(first.size(), 200u);
  ASSERT_EQ(second.size(), 200u);
  std::set<std::string> all;
  for (const auto* uids : {&first, &second}) {
    for (const std::string& uid : *uids) {
      EXPECT_TRUE(RE2::FullMatch(uid, kUuidV4)) << uid;
      all.insert(uid);
    }
  }
  // Not one UID in common, within a store or across the two.
  EXPECT_EQ(all.size(), 400u);
}

TEST_F(TwoStoresTest, GeneratedNamesDifferBetweenTheStores) {
  json object = testsupport::widget("");
  object["metadata"].erase("name");
  object["metadata"]["generateName"] = "web-";
  std::set<std::string> names;
  for (auto& store : stores_) {
    for (int i = 0; i < 20; ++i) {
      auto created = store->create(type_, "default", object, WriteOptions{}, nullptr);
      ASSERT_TRUE(created.has_value()) << created.error().message;
      names.insert(created.value()["metadata"]["name"].get<std::string>());
    }
  }
  EXPECT_EQ(names.size(), 40u);
}

}  // namespace
}  // namespace virtsnap::apiserver
