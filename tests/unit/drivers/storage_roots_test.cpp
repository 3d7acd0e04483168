// Disk paths are confined to the allowed storage roots: no `..`, no symlink escape, no prefix trick.

#include "drivers/storage_roots.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/driver_printers.h"

namespace virtsnap::drivers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class StorageRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("virtsnap-roots-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_ / "images");
    fs::create_directories(base_ / "images-other");
    fs::create_directories(base_ / "outside");
    std::ofstream(base_ / "outside" / "secret.qcow2") << "x";
  }
  void TearDown() override { fs::remove_all(base_); }
  StorageRoots roots() const { return StorageRoots({base_ / "images"}); }
  std::string refusal(const std::string& path) const {
    auto result = roots().confine(path);
    EXPECT_FALSE(result.has_value()) << path << " was accepted";
    return result.has_value() ? "" : result.error().message;
  }

  fs::path base_;
};

TEST_F(StorageRootsTest, APathUnderARootIsAcceptedEvenIfItDoesNotExistYet) {
  auto result = roots().confine((base_ / "images" / "vm" / "disk.qcow2").string());
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(result.value(), base_ / "images" / "vm" / "disk.qcow2");
}

TEST_F(StorageRootsTest, DotDotIsRefusedEvenWhenItWouldStayInside) {
  EXPECT_THAT(refusal((base_ / "images" / "a" / ".." / "disk.qcow2").string()), HasSubstr("'..'"));
  EXPECT_THAT(refusal((base_ / "images" / ".." / "outside" / "secret.qcow2").string()), HasSubstr("'..'"));
}

TEST_F(StorageRootsTest, ASymlinkLeadingOutsideIsRefused) {
  fs::create_directory_symlink(base_ / "outside", base_ / "images" / "link");
  EXPECT_THAT(refusal((base_ / "images" / "link" / "secret.qcow2").string()), HasSubstr("resolves to"));
  fs::create_symlink(base_ / "outside" / "secret.qcow2", base_ / "images" / "disk.qcow2");
  EXPECT_THAT(refusal((base_ / "images" / "disk.qcow2").string()),
              HasSubstr("outside the allowed storage roots"));
}

TEST_F(StorageRootsTest, ASiblingDirectorySharingTheRootsPrefixIsOutside) {
  EXPECT_THAT(refusal((base_ / "images-other" / "disk.qcow2").string()), HasSubstr("outside"));
}

TEST_F(StorageRootsTest, TheRootItselfIsNotADiskPath) {
  refusal((base_ / "images").string());
}

TEST_F(StorageRootsTest, RelativeEmptyAndNulPathsAreRefused) {
  EXPECT_THAT(refusal("images/disk.qcow2"), HasSubstr("not absolute"));
  EXPECT_THAT(refusal(""), HasSubstr("empty"));
  EXPECT_THAT(refusal(std::string("/a\0b", 4)), HasSubstr("NUL"));
}

TEST_F(StorageRootsTest, ARootReachedThroughASymlinkStillConfines) {
  fs::create_directory_symlink(base_ / "images", base_ / "via-link");
  StorageRoots linked({base_ / "via-link"});
  auto inside = linked.confine((base_ / "images" / "d.qcow2").string());
  ASSERT_TRUE(inside.has_value()) << inside.error().message;
  EXPECT_FALSE(linked.confine((base_ / "outside" / "secret.qcow2").string()).has_value());
}

TEST_F(StorageRootsTest, NoRootsMeansNothingIsAllowed) {
  StorageRoots none({});
  auto result = none.confine((base_ / "images" / "d.qcow2").string());
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message, HasSubstr("none configured"));
}

}  // namespace
}  // namespace virtsnap::drivers
