#include "tests/support/maximal_objects.h"

namespace virtsnap::testsupport {

using namespace crds;  // NOLINT(google-build-using-namespace): every line here builds a crds type
using meta::Condition;
using meta::ConditionStatus;
using meta::ObjectMeta;
using meta::OwnerReference;
using meta::Quantity;

namespace {

Quantity mustParse(const std::string& text) {
  return Quantity::parse(text).value();
}

std::vector<Condition> allConditions(std::int64_t generation) {
  return {
      {"Ready", ConditionStatus::True, generation, "2024-05-01T12:00:00Z", "Reconciled", "Up to date"},
      {"Reconciling", ConditionStatus::False, generation, "2024-05-01T12:00:00Z", "Idle", ""},
  };
}

}  // namespace

ObjectMeta serverSideMetadata(const std::string& name) {
  ObjectMeta meta;
  meta.name = name;
  meta.generateName = name + "-";
  meta.namespaceName = "vms";
  meta.uid = "6f1c2d34-8a9b-4c1d-9e2f-0a1b2c3d4e5f";
  meta.resourceVersion = "12345";
  meta.generation = 3;
  meta.creationTimestamp = "2024-05-01T11:59:00Z";
  meta.deletionTimestamp = "2024-05-02T08:00:00.123456Z";
  meta.deletionGracePeriodSeconds = 0;
  meta.labels = std::map<std::string, std::string>{{"app.kubernetes.io/name", "web"}};
  meta.annotations = std::map<std::string, std::string>{{"virtsnap.io/note", "x"}};
  meta.finalizers = std::vector<std::string>{"virtsnap.io/domain-protection"};
  meta.ownerReferences = std::vector<OwnerReference>{
      {"virtsnap.io/v1alpha1", "Domain", "web-01", "0a1b2c3d-0000-4000-8000-000000000001", true, false}};
  meta.managedFields = nlohmann::json::array({{{"manager", "kubectl"},
                                               {"operation", "Apply"},
                                               {"fieldsType", "FieldsV1"},
                                               {"fieldsV1", {{"f:spec", {}}}}}});
  meta.unknownFields = {{"selfLink", "/apis/virtsnap.io/v1alpha1/namespaces/vms/x"}};
  return meta;
}

Domain maximalDomain() {
  Domain domain;
  domain.metadata = serverSideMetadata("web-01");
  DomainSpec& spec = domain.spec;
  spec.nodeName = "worker-1";
  spec.hypervisorName = "vms.web-01";
  spec.adoptExisting = true;
  spec.type = "kvm";
  spec.vcpus = 2;
  spec.memory = mustParse("1536Mi");
  spec.os = DomainOs{"x86_64", "pc-q35-8.2", Firmware::Efi};
  spec.disks = std::vector<Disk>{
      {"vda", DiskBus::Virtio, std::nullopt, DiskCreate{mustParse("20Gi"), ImageFormat::Qcow2}},
      {"sdb", DiskBus::Sata, DiskSource{"/var/lib/libvirt/images/data.raw"}, std::nullopt},
  };
  spec.networks = std::vector<NetworkInterface>{
      {"default", std::nullopt, "virtio"},
      {std::nullopt, "br0", "e1000e"},
  };
  spec.runState = RunState::Paused;
  spec.deletionPolicy = DomainDeletionPolicy::Retain;
  spec.unmanagedSnapshots = UnmanagedSnapshotPolicy::Adopt;

  DomainStatus status;
  status.observedGeneration = 3;
  status.conditions = allConditions(3);
  status.state = DomainState::Paused;
  status.hypervisor = HypervisorRef{"vms.web-01", "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", "qemu:///system"};
  status.currentSnapshot = "web-01-b";
  status.snapshotCount = 3;
  status.snapshotTree = std::vector<SnapshotTreeEntry>{
      {"web-01-a", std::nullopt, false},
      {"web-01-b", "web-01-a", true},
      {"web-01-c", "web-01-a", false},
  };
  status.unmanagedSnapshots = std::vector<std::string>{"made-with-virsh"};
  domain.status = status;
  return domain;
}

Snapshot maximalSnapshot() {
  Snapshot snapshot;
  snapshot.metadata = serverSideMetadata("web-01-b");
  SnapshotSpec& spec = snapshot.spec;
  spec.domainName = "web-01";
  spec.description = "before upgrade";
  spec.location = SnapshotLocation::External;
  spec.memory = false;
  spec.quiesce = true;
  spec.deletionPolicy = SnapshotDeletionPolicy::MetadataOnly;

  SnapshotStatus status;
  status.phase = SnapshotPhase::Ready;
  status.observedGeneration = 3;
  status.conditions = allConditions(3);
  status.nodeName = "worker-1";
  status.creationTime = "2024-05-01T12:00:01Z";
  status.parent = "web-01-a";
  status.children = std::vector<std::string>{"web-01-c", "web-01-d"};
  status.current = true;
  status.depth = 1;
  status.domainState = SnapshotDomainState::DiskSnapshot;
  status.location = SnapshotLocation::External;
  status.memory = false;
  status.disks = std::vector<SnapshotDiskStatus>{
      {"vda", DiskSnapshotMode::External, "/var/lib/libvirt/images/web-01.web-01-b"},
  };
  status.deletable = false;
  status.deletionBlockedReason = "external snapshot with more than one child";
  status.definition = "<domainsnapshot><name>web-01-b</name></domainsnapshot>";
  snapshot.status = status;
  return snapshot;
}

SnapshotRevert maximalSnapshotRevert() {
  SnapshotRevert revert;
  revert.metadata = serverSideMetadata("web-01-back");
  revert.spec = SnapshotRevertSpec{"web-01", "web-01-a", true};
  SnapshotRevertStatus status;
  status.phase = RevertPhase::Succeeded;
  status.observedGeneration = 1;
  status.conditions = allConditions(1);
  status.previousSnapshot = "web-01-b";
  status.startTime = "2024-05-01T12:00:02Z";
  status.completionTime = "2024-05-01T12:00:03Z";
  revert.status = status;
  return revert;
}

}  // namespace virtsnap::testsupport
