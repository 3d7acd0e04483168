// End-to-end: LibvirtDriver against real libvirtd (11.3) and QEMU/KVM, on tiny domains that sit in
// their BIOS with a 16 MiB qcow2 disk. The fixture starts libvirtd itself (scripts/start-libvirtd.sh,
// which makes /dev/kvm usable by libvirt's QEMU user); tests/e2e/README.md holds the facts behind it.
// Every test makes its own domain and files and removes them again.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/snapshot_tree.h"
#include "tests/support/driver_printers.h"

namespace virtsnap::drivers::libvirt {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Optional;

const fs::path kRoot = "/var/lib/virtsnap-e2e";
constexpr const char* kPool = "virtsnap-e2e";

// Starts libvirtd once for the whole run (idempotent, under a lock so parallel test processes agree)
// and makes the storage pool the tests create their disks in. `flock -o`: the daemon it starts must
// not inherit the lock, or the lock would be held for as long as libvirtd runs.
class LibvirtdEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const std::string source = VIRTSNAP_SOURCE_DIR;
    const std::string script =
        "flock -o /run/virtsnap-e2e.lock sh -c '"
        "bash " +
        source +
        "/scripts/start-libvirtd.sh >/dev/null && "
        "mkdir -p " +
        kRoot.string() + " && chmod 0755 " + kRoot.string() +
        " && "
        "(virsh -q -c qemu:///system pool-info " +
        kPool +
        " >/dev/null 2>&1 || "
        "virsh -q -c qemu:///system pool-define-as " +
        kPool + " dir --target " + kRoot.string() +
        " >/dev/null) && "
        "(virsh -q -c qemu:///system pool-start " +
        kPool + " >/dev/null 2>&1 || true)'";
    ASSERT_EQ(std::system(script.c_str()), 0) << "could not start libvirtd: " << script;
  }
};

[[maybe_unused]] const auto* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new LibvirtdEnvironment);

class QemuSnapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = std::string("vs-e2e-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = kRoot / name_;

    LibvirtDriverOptions options;
    options.uri = "qemu:///system";
    options.storageRoots = {kRoot};
    driver_ = std::make_unique<LibvirtDriver>(options);
    auto caps = driver_->capabilities();
    ASSERT_TRUE(caps.has_value()) << caps.error().message;
    ASSERT_GE(caps.value().libraryVersion, 11'000'000u) << "these tests need libvirt 11 (bookworm-backports)";
    ASSERT_TRUE(caps.value().externalRevert);

    diskPath_ = (kRoot / (name_ + ".qcow2")).string();
    cleanUp();                     // whatever an interrupted earlier run left behind
    fs::create_directories(dir_);  // traversable by libvirt's QEMU user, which writes overlays here
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    auto disk = driver_->createVolume(VolumeRequest{kPool, name_ + ".qcow2", 16ull << 20, "qcow2"});
    ASSERT_TRUE(disk.has_value()) << disk.error().message;
    diskPath_ = disk.value();

    DomainSpec spec;
    spec.name = name_;
    spec.type = fs::exists("/dev/kvm") ? "kvm" : "qemu";
    spec.memoryBytes = 64ull << 20;
    spec.machine = "pc";
    spec.disks.push_back(DiskSpec{"vda", "virtio", diskPath_, "qcow2", false});
    spec.owner = Ownership{"e2e", name_, "uid-" + name_};
    auto info = driver_->defineDomain(spec);
    ASSERT_TRUE(info.has_value()) << info.error().message;
    uuid_ = info.value().uuid;
    ASSERT_EQ(driver_->start(name_), std::nullopt);
  }

  void TearDown() override { cleanUp(); }

  void cleanUp() {
    if (driver_->lookupDomain(name_).has_value()) {
      driver_->destroy(name_);
      driver_->undefine(name_, UndefineOptions{});
    }
    driver_->deleteVolume(diskPath_);
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
    for (const auto& entry : fs::directory_iterator(kRoot, ignored)) {
      if (entry.path().filename().string().rfind(name_, 0) == 0) {
        fs::remove_all(entry.path(), ignored);  // revert overlays libvirt names after the base image
      }
    }
  }

  SnapshotDefinition internal(const std::string& snap) {
    SnapshotRequest request;
    request.name = snap;
    return made(driver_->createSnapshot(name_, request));
  }
  SnapshotDefinition external(const std::string& snap, bool memory) {
    SnapshotRequest request;
    request.name = snap;
    request.location = SnapshotLocation::External;
    request.memory = memory;
    if (memory) {
      request.memoryFile = (dir_ / (snap + ".mem")).string();
    }
    request.disks.push_back(SnapshotDisk{"vda", "external", (dir_ / (snap + ".qcow2")).string()});
    return made(driver_->createSnapshot(name_, request));
  }
  SnapshotDefinition made(Expected<SnapshotDefinition, DriverError> result) {
    EXPECT_TRUE(result.has_value()) << result.error().message;
    if (!result.has_value()) {
      return {};
    }
    EXPECT_TRUE(model_.create(result.value().record()).has_value());
    return std::move(result).value();
  }
  void revert(const std::string& snap, RevertMode mode = RevertMode::Running) {
    ASSERT_EQ(driver_->revertToSnapshot(name_, snap, RevertOptions{mode, false}), std::nullopt);
    ASSERT_EQ(model_.revert(snap), std::nullopt);
  }
  // libvirt's tree, rebuilt with the model's rules, must equal the model.
  void expectTreeMatchesModel() {
    auto listing = driver_->listSnapshots(name_);
    ASSERT_TRUE(listing.has_value()) << listing.error().message;
    std::vector<SnapshotRecord> records;
    for (const auto& def : listing.value().snapshots) {
      records.push_back(def.record());
    }
    SnapshotTree hypervisor;
    EXPECT_TRUE(hypervisor.rebuild(records, listing.value().current).clean());
    EXPECT_EQ(hypervisor.topologicalOrder(), model_.topologicalOrder());
    EXPECT_EQ(hypervisor.current(), model_.current());
  }
  // The model's prediction and libvirt's answer agree: both allow it, or both refuse with one reason.
  void expectDeletion(const std::string& snap, DeleteOptions options,
                      std::optional<DeletionBlockReason> expected) {
    auto predicted = model_.checkDeletion(snap, options);
    ASSERT_EQ(predicted ? std::optional(predicted->reason) : std::nullopt, expected) << snap;
    auto error = driver_->deleteSnapshot(name_, snap, options);
    if (expected) {
      ASSERT_TRUE(error.has_value()) << snap << " was deleted by libvirt";
      ASSERT_TRUE(error->block.has_value()) << error->message;
      EXPECT_EQ(error->block->reason, *expected) << error->message;
      EXPECT_EQ(error->block->snapshot, snap);
    } else {
      ASSERT_EQ(error, std::nullopt) << snap;
      ASSERT_TRUE(model_.remove(snap, options).has_value());
    }
    expectTreeMatchesModel();
  }

  std::string name_;
  fs::path dir_;
  std::string diskPath_;
  std::string uuid_;
  std::unique_ptr<LibvirtDriver> driver_;
  SnapshotTree model_;
};

TEST_F(QemuSnapshots, InternalSnapshotWithMemoryOfARunningDomain) {
  auto def = internal("i1");
  EXPECT_EQ(def.state, "running");
  EXPECT_EQ(def.memory, "internal");
  EXPECT_EQ(def.location, SnapshotLocation::Internal);
  EXPECT_GT(def.creationTime, 0);
  internal("i2");
  revert("i1");
  EXPECT_EQ(driver_->state(name_).value(), DomainState::Running);  // resumed from its memory
  expectTreeMatchesModel();

  // The agent's revert mark: QEMU's revert replaces both definitions, so a revert to the snapshot
  // that is current already leaves a trace after all.
  ASSERT_EQ(driver_->setRevertMark(name_, "uid-1"), std::nullopt);
  EXPECT_THAT(driver_->revertMark(name_).value(), ::testing::Optional(std::string("uid-1")));
  revert("i1");
  EXPECT_EQ(driver_->revertMark(name_).value(), std::nullopt);
}

TEST_F(QemuSnapshots, ExternalDiskOnlyAndExternalWithMemory) {
  auto disk = external("e1", /*memory=*/false);
  EXPECT_EQ(disk.location, SnapshotLocation::External);
  EXPECT_EQ(disk.memory, "no");
  EXPECT_EQ(disk.state, "disk-snapshot");
  auto full = external("m2", /*memory=*/true);
  EXPECT_EQ(full.memory, "external");
  EXPECT_TRUE(fs::exists(dir_ / "e1.qcow2"));
  EXPECT_TRUE(fs::exists(dir_ / "m2.qcow2"));
  EXPECT_TRUE(fs::exists(dir_ / "m2.mem"));
  expectTreeMatchesModel();
}

TEST_F(QemuSnapshots, RevertToNonLeafInternalAndExternalSnapshotsThenBranch) {
  internal("i1");
  internal("i2");
  revert("i1");
  internal("i3");  // a branch below the non-leaf internal i1
  EXPECT_THAT(model_.childrenOf("i1"), ::testing::ElementsAre("i2", "i3"));
  expectTreeMatchesModel();

  external("e1", false);
  external("e2", true);
  revert("e1");  // non-leaf external, disk-only: RUNNING keeps the domain up
  EXPECT_EQ(driver_->state(name_).value(), DomainState::Running);
  external("e3", false);  // the branch below e1
  EXPECT_THAT(model_.childrenOf("e1"), ::testing::ElementsAre("e2", "e3"));
  revert("e2");  // back onto the other branch, from its memory
  expectTreeMatchesModel();
}

// The external deletion rules on real QEMU: every deletion libvirt refuses comes back with the
// reason the model predicted, and every one the model allows, libvirt does.
TEST_F(QemuSnapshots, EveryRefusedExternalDeletionHasItsTypedReasonAndTheRestAreAllowed) {
  external("e1", false);
  external("e2", false);
  external("e3", false);
  external("e3a", false);
  revert("e2");
  external("e4", false);  // e2 has two children; current e4; active chain e4, e2, e1
  expectTreeMatchesModel();

  const DeleteOptions plain{};
  expectDeletion("e2", plain, DeletionBlockReason::ExternalWithMultipleChildren);
  expectDeletion("e3", plain, DeletionBlockReason::ExternalNotInActiveChain);
  expectDeletion("e1", DeleteOptions{DeleteScope::Children, false}, DeletionBlockReason::ExternalDescendants);
  expectDeletion("e2", DeleteOptions{DeleteScope::ChildrenOnly, false},
                 DeletionBlockReason::ExternalDescendants);
  expectDeletion("e4", DeleteOptions{DeleteScope::Children, false}, DeletionBlockReason::ExternalDescendants);
  revert("e2");
  expectDeletion("e2", plain, DeletionBlockReason::ActiveExternalNotLeaf);
  revert("e4");

  expectDeletion("e3a", plain, std::nullopt);  // a leaf off the active chain: its files go
  expectDeletion("e3", plain, std::nullopt);   // now a leaf
  expectDeletion("e2", plain, std::nullopt);   // one child, in the active chain: block-commit
  expectDeletion("e4", plain, std::nullopt);   // the current leaf: merged, current moves up
  EXPECT_THAT(model_.current(), Optional(std::string("e1")));
}

TEST_F(QemuSnapshots, ExternalWithAnInternalParentIsRefusedWhenItNeedsAMerge) {
  internal("i1");
  external("e1", false);
  expectDeletion("e1", DeleteOptions{}, DeletionBlockReason::ExternalWithInternalParent);
  revert("i1");
  expectDeletion("e1", DeleteOptions{}, std::nullopt);  // a non-current leaf: no merge needed
}

TEST_F(QemuSnapshots, MetadataOnlyDeleteForgetsTheSnapshotAndKeepsItsFiles) {
  external("e1", true);
  external("e2", false);
  revert("e1", RevertMode::Default);
  expectDeletion("e1", DeleteOptions{DeleteScope::Snapshot, true}, std::nullopt);  // blocked without it
  EXPECT_TRUE(fs::exists(dir_ / "e1.mem"));
  EXPECT_TRUE(fs::exists(dir_ / "e1.qcow2"));
}

TEST_F(QemuSnapshots, UndefineRemovesADomainWithSnapshots) {
  internal("i1");
  external("e1", false);
  ASSERT_EQ(driver_->destroy(name_), std::nullopt);
  ASSERT_EQ(driver_->undefine(name_, UndefineOptions{}), std::nullopt);
  EXPECT_EQ(driver_->lookupDomain(name_).error().kind, DriverErrorKind::NotFound);
}

TEST_F(QemuSnapshots, OwnershipIsVisibleInTheDomainXml) {
  auto info = driver_->lookupDomain(name_);
  ASSERT_TRUE(info.has_value());
  EXPECT_THAT(info.value().owner, Optional(Ownership{"e2e", name_, "uid-" + name_}));
}

// After libvirt lost its snapshot metadata (and the domain itself), the recorded definitions bring
// the tree back and a revert works.
TEST_F(QemuSnapshots, BulkRedefineAfterTheMetadataWasDroppedBringsTheTreeBack) {
  external("e1", false);
  external("m2", true);
  revert("e1");
  internal("i3");
  auto recorded = driver_->listSnapshots(name_);
  ASSERT_TRUE(recorded.has_value());
  ASSERT_EQ(recorded.value().snapshots.size(), 3u);

  for (const auto& snap : model_.topologicalOrder()) {
    ASSERT_EQ(driver_->deleteSnapshot(name_, snap.name, DeleteOptions{DeleteScope::Snapshot, true}),
              std::nullopt);
  }
  ASSERT_TRUE(driver_->listSnapshots(name_).value().snapshots.empty());

  ASSERT_EQ(driver_->redefineSnapshots(name_, recorded.value().snapshots, recorded.value().current),
            std::nullopt);
  expectTreeMatchesModel();
  revert("m2");
  EXPECT_EQ(driver_->state(name_).value(), DomainState::Running);
  expectTreeMatchesModel();
}

}  // namespace
}  // namespace virtsnap::drivers::libvirt

namespace virtsnap::drivers::libvirt {
namespace {

// libvirtd restarts under a live driver: the next call opens a new connection by itself, and the
// running domain (QEMU outlives libvirtd) is still there with its snapshots.
TEST_F(QemuSnapshots, TheDriverReconnectsAfterLibvirtdRestarts) {
  internal("i1");
  const int opensBefore = driver_->connectionsOpened();
  const std::string source = VIRTSNAP_SOURCE_DIR;
  ASSERT_EQ(std::system(("bash " + source + "/scripts/stop-libvirtd.sh >/dev/null").c_str()), 0);
  ASSERT_EQ(std::system(("bash " + source + "/scripts/start-libvirtd.sh >/dev/null").c_str()), 0);
  auto info = driver_->lookupDomain(name_);
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_EQ(info.value().state, DomainState::Running);
  EXPECT_GT(driver_->connectionsOpened(), opensBefore);
  expectTreeMatchesModel();
}

}  // namespace
}  // namespace virtsnap::drivers::libvirt
