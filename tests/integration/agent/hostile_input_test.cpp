// Hostile values in every CR field that reaches libvirt XML or a path, one table row each: the field, the
// value (a JSON merge patch on a valid object) and the expected outcome:
//   Schema   - the API server refuses the object (422 Invalid, the message naming the field);
//   Agent    - the object is stored, and the real agent binary refuses it with a Stalled condition whose
//              message names the field;
//   Libvirt  - a known gap (no row has it today): the agent passes the value on and libvirt refuses it
//              (its own schema); the condition is Stalled with libvirt's reason, and the domain is not
//              defined. A spec.type or spec.os.arch the host does not offer was one; the agent now
//              checks them against the host's capabilities (HypervisorDriver::guestOffers);
//   Accepted - a value XML carries exactly (quotes, <, &, ]]> in free text, names at their limits): the
//              object becomes Ready and libvirt holds exactly the value, no more.
// For Schema and Agent rows libvirt must never receive the value: read on libvirtd's test driver
// (test+unix:///default, the agent's URI) through this test's own connection, no libvirt domain, snapshot
// name or definition (XML) contains the row's token, and the row's Domain is not defined. All rows are
// applied at once to one agent; invalid UTF-8 cannot be written as JSON by a client and is a body case
// (tests/integration/apiserver/hostile_bodies_test.cpp).

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <nlohmann/json.hpp>

#include "controller/kube/typed_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "drivers/libvirt/libvirt_driver.h"
#include "drivers/libvirt/snapshot_xml.h"
#include "tests/support/agent_process.h"
#include "tests/support/apiserver_process.h"
#include "tests/support/embedded_api_server.h"
#include "tests/support/embedded_https_server.h"
#include "tests/support/eventually.h"
#include "tests/support/libvirtd_test_driver.h"

namespace virtsnap {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kLibvirtUri = testsupport::kLibvirtdTestUri;
constexpr const char* kNode = "hostile-node";

enum class Kind { Domain, Snapshot, Revert };
enum class Expect { Schema, Agent, Libvirt, Accepted };

// One case. `patch` is merged into the kind's valid object; "{token}" in any string of it becomes the row's
// own token (hostile values carry it so that libvirt's state can be searched for them), "{root}" the
// agent's allowed storage root and "{pad:N}" as many characters as make the string N long. `field` is how the
// refusal must name the field.
struct Row {
  Kind kind;
  std::string field;
  std::string what;
  json patch;
  Expect expect;
};

std::string repeat(char c, std::size_t n) {
  return std::string(n, c);
}

// The table. The Domain rows' objects are named h<row>, the Snapshot rows' s<row>, of Domain "base".
std::vector<Row> rows() {
  const std::string megabyte = "{token}" + repeat('x', 1U << 20);
  const auto hv = [](const json& value) { return json{{"spec", {{"hypervisorName", value}}}}; };
  const auto disk = [](const json& fields) {
    json d = {{"name", "vda"}, {"source", {{"path", "{root}/{token}.qcow2"}}}};
    d.merge_patch(fields);
    return json{{"spec", {{"disks", json::array({d})}}}};
  };
  const auto net = [](const json& fields) { return json{{"spec", {{"networks", json::array({fields})}}}}; };
  const auto desc = [](const json& value) { return json{{"spec", {{"description", value}}}}; };
  const auto revert = [](const json& fields) { return json{{"spec", fields}}; };
  return {
      // spec.hypervisorName: the libvirt domain's <name>; the schema allows anything but '/'.
      {Kind::Domain, "spec.hypervisorName", "a quote", hv("{token}\"q"), Expect::Accepted},
      {Kind::Domain, "spec.hypervisorName", "<, & and ]]>", hv("{token}<a>&amp;]]>"), Expect::Accepted},
      {Kind::Domain, "spec.hypervisorName", "a control character", hv("{token}\x01q"), Expect::Agent},
      {Kind::Domain, "spec.hypervisorName", "a line break", hv("{token}\nq"), Expect::Agent},
      {Kind::Domain, "spec.hypervisorName", "DEL", hv("{token}\x7fq"), Expect::Agent},
      {Kind::Domain, "spec.hypervisorName", "a NUL byte", hv(std::string("{token}\0q", 9)), Expect::Agent},
      {Kind::Domain, "spec.hypervisorName", "'.'", hv("."), Expect::Agent},
      {Kind::Domain, "spec.hypervisorName", "'..'", hv(".."), Expect::Agent},
      {Kind::Domain, "spec.hypervisorName", "a path", hv("{token}/../../etc"), Expect::Schema},
      {Kind::Domain, "spec.hypervisorName", "200 characters", hv("{token}{pad:200}"), Expect::Accepted},
      {Kind::Domain, "spec.hypervisorName", "320 characters", hv("{token}{pad:320}"), Expect::Agent},
      {Kind::Domain, "spec.hypervisorName", "321 characters", hv("{token}{pad:321}"), Expect::Schema},
      {Kind::Domain, "spec.hypervisorName", "1 MB", hv(megabyte), Expect::Schema},
      // metadata.name: the default hypervisor name is <namespace>.<name>.
      {Kind::Domain, "metadata.name", "a quote", json{{"metadata", {{"name", "{token}\"q"}}}},
       Expect::Schema},
      {Kind::Domain, "metadata.name", "253 characters", json{{"metadata", {{"name", "{token}{pad:253}"}}}},
       Expect::Agent},
      {Kind::Domain, "metadata.name", "254 characters", json{{"metadata", {{"name", "{token}{pad:254}"}}}},
       Expect::Schema},
      // spec.type: <domain type='...'>.
      {Kind::Domain, "spec.type", "a quote", json{{"spec", {{"type", "test\"{token}"}}}}, Expect::Schema},
      // The type and arch against the host's offers, by the agent: libvirtd's test driver lists test on
      // i686 (and itself defines kvm, or x86_64, as it defines any type or arch whose name libvirt knows).
      {Kind::Domain, "spec.type", "an unknown type", json{{"spec", {{"type", "{token}"}}}}, Expect::Agent},
      {Kind::Domain, "spec.type", "a type the host does not offer", json{{"spec", {{"type", "kvm"}}}},
       Expect::Agent},
      {Kind::Domain, "spec.type", "33 characters", json{{"spec", {{"type", "{token}{pad:33}"}}}},
       Expect::Schema},
      // spec.vcpus: <vcpu>.
      {Kind::Domain, "spec.vcpus", "negative", json{{"spec", {{"vcpus", -1}}}}, Expect::Schema},
      {Kind::Domain, "spec.vcpus", "zero", json{{"spec", {{"vcpus", 0}}}}, Expect::Schema},
      {Kind::Domain, "spec.vcpus", "4097", json{{"spec", {{"vcpus", 4097}}}}, Expect::Schema},
      {Kind::Domain, "spec.vcpus", "2^63-1", json{{"spec", {{"vcpus", INT64_MAX}}}}, Expect::Schema},
      {Kind::Domain, "spec.vcpus", "1e300", json{{"spec", {{"vcpus", 1e300}}}}, Expect::Schema},
      {Kind::Domain, "spec.vcpus", "a string", json{{"spec", {{"vcpus", "2"}}}}, Expect::Schema},
      // spec.memory: <memory unit='KiB'>.
      {Kind::Domain, "spec.memory", "a negative integer", json{{"spec", {{"memory", -5}}}}, Expect::Agent},
      {Kind::Domain, "spec.memory", "a negative quantity", json{{"spec", {{"memory", "-5Mi"}}}},
       Expect::Schema},
      {Kind::Domain, "spec.memory", "2^63-1 bytes", json{{"spec", {{"memory", INT64_MAX}}}}, Expect::Agent},
      {Kind::Domain, "spec.memory", "2^64-1", json{{"spec", {{"memory", UINT64_MAX}}}}, Expect::Agent},
      {Kind::Domain, "spec.memory", "8Ei (overflows)", json{{"spec", {{"memory", "8Ei"}}}}, Expect::Agent},
      {Kind::Domain, "spec.memory", "1e30 as a number", json{{"spec", {{"memory", 1e30}}}}, Expect::Agent},
      {Kind::Domain, "spec.memory", "a quote", json{{"spec", {{"memory", "64Mi\"{token}"}}}}, Expect::Schema},
      // spec.os: <os><type arch machine>, firmware.
      {Kind::Domain, "spec.os.arch", "<", json{{"spec", {{"os", {{"arch", "i686<{token}"}}}}}},
       Expect::Schema},
      {Kind::Domain, "spec.os.arch", "an unknown arch", json{{"spec", {{"os", {{"arch", "{token}"}}}}}},
       Expect::Agent},
      {Kind::Domain, "spec.os.arch", "unset, the default x86_64 the host does not offer",
       json{{"spec", {{"os", {{"arch", nullptr}}}}}}, Expect::Agent},
      {Kind::Domain, "spec.os.machine", "&", json{{"spec", {{"os", {{"machine", "pc&{token}"}}}}}},
       Expect::Schema},
      {Kind::Domain, "spec.os.machine", "65 characters",
       json{{"spec", {{"os", {{"machine", "{token}{pad:65}"}}}}}}, Expect::Schema},
      {Kind::Domain, "spec.os.firmware", "an unknown value", json{{"spec", {{"os", {{"firmware", "uefi"}}}}}},
       Expect::Schema},
      // spec.disks: <disk><source file>, <target dev bus>, <driver type>; the path is confined to the roots.
      {Kind::Domain, "spec.disks[0].name", "a quote", disk({{"name", "vda\""}}), Expect::Schema},
      {Kind::Domain, "spec.disks[0].bus", "an unknown bus", disk({{"bus", "nvme"}}), Expect::Schema},
      {Kind::Domain, "spec.disks[0].source.path", "'..'",
       disk({{"source", {{"path", "{root}/../etc/passwd"}}}}), Expect::Schema},
      {Kind::Domain, "spec.disks[0].source.path", "outside the roots",
       disk({{"source", {{"path", "/etc/{token}"}}}}), Expect::Agent},
      {Kind::Domain, "spec.disks[0].source.path", "a symlink out of the root",
       disk({{"source", {{"path", "{root}/out/{token}"}}}}), Expect::Agent},
      {Kind::Domain, "spec.disks[0].source.path", "a relative path",
       disk({{"source", {{"path", "{token}"}}}}), Expect::Schema},
      {Kind::Domain, "spec.disks[0].source.path", "quotes, <, & and ]]>",
       disk({{"source", {{"path", "{root}/{token}'\"<&]]>.qcow2"}}}}), Expect::Accepted},
      {Kind::Domain, "spec.disks[0].source.path", "a control character",
       disk({{"source", {{"path", "{root}/{token}\x1b.qcow2"}}}}), Expect::Agent},
      {Kind::Domain, "spec.disks[0].source.path", "a NUL byte",
       disk({{"source", {{"path", std::string("{root}/{token}\0.qcow2", 21)}}}}), Expect::Agent},
      {Kind::Domain, "spec.disks[0].source.path", "4097 characters",
       disk({{"source", {{"path", "{root}/{token}{pad:4097}"}}}}), Expect::Schema},
      {Kind::Domain, "spec.disks[0].source.path", "1 MB", disk({{"source", {{"path", "/" + megabyte}}}}),
       Expect::Schema},
      {Kind::Domain, "spec.disks[0].create.size", "negative",
       disk({{"source", nullptr}, {"create", {{"size", -1}}}}), Expect::Agent},
      {Kind::Domain, "spec.disks[0].create.size", "8Ei (overflows)",
       disk({{"source", nullptr}, {"create", {{"size", "8Ei"}}}}), Expect::Agent},
      {Kind::Domain, "spec.disks[0].create.format", "an unknown format",
       disk({{"source", nullptr}, {"create", {{"size", "1Mi"}, {"format", "vmdk"}}}}), Expect::Schema},
      // spec.networks: <interface><source network|bridge>, <model type>.
      {Kind::Domain, "spec.networks[0].network", "quotes, <, & and ]]>",
       net({{"network", "{token}'\"<&]]>"}}), Expect::Accepted},
      {Kind::Domain, "spec.networks[0].network", "a control character", net({{"network", "{token}\x02"}}),
       Expect::Agent},
      {Kind::Domain, "spec.networks[0].network", "65 characters", net({{"network", "{token}{pad:65}"}}),
       Expect::Schema},
      {Kind::Domain, "spec.networks[0].bridge", "a quote", net({{"bridge", "br\"{token}"}}), Expect::Schema},
      {Kind::Domain, "spec.networks[0].model", "an unknown model",
       net({{"network", "default"}, {"model", "ne2k"}}), Expect::Agent},
      {Kind::Domain, "spec.networks[0].model", "<", net({{"network", "default"}, {"model", "e1000<"}}),
       Expect::Schema},
      // Enums the agent branches on.
      {Kind::Domain, "spec.runState", "an unknown value", json{{"spec", {{"runState", "Crashed"}}}},
       Expect::Schema},
      {Kind::Domain, "spec.deletionPolicy", "an unknown value", json{{"spec", {{"deletionPolicy", "Nuke"}}}},
       Expect::Schema},
      {Kind::Domain, "spec.unmanagedSnapshots", "an unknown value",
       json{{"spec", {{"unmanagedSnapshots", "All"}}}}, Expect::Schema},
      // Snapshot: metadata.name is the libvirt snapshot's <name>, spec.description its <description>.
      {Kind::Snapshot, "spec.description", "quotes, <, & and ]]>", desc("{token} '\"<a>&amp;]]>"),
       Expect::Accepted},
      {Kind::Snapshot, "spec.description", "a control character", desc("{token}\x01"), Expect::Agent},
      {Kind::Snapshot, "spec.description", "an escape sequence", desc("{token}\x1b[2J"), Expect::Agent},
      {Kind::Snapshot, "spec.description", "1024 characters", desc("{token}{pad:1024}"), Expect::Accepted},
      {Kind::Snapshot, "spec.description", "1025 characters", desc("{token}{pad:1025}"), Expect::Schema},
      {Kind::Snapshot, "spec.description", "1 MB", desc(megabyte), Expect::Schema},
      {Kind::Snapshot, "metadata.name", "253 characters", json{{"metadata", {{"name", "{token}{pad:253}"}}}},
       Expect::Accepted},
      {Kind::Snapshot, "metadata.name", "254 characters", json{{"metadata", {{"name", "{token}{pad:254}"}}}},
       Expect::Schema},
      {Kind::Snapshot, "metadata.name", "]]>", json{{"metadata", {{"name", "{token}]]>"}}}}, Expect::Schema},
      {Kind::Snapshot, "spec.domainName", "a quote", json{{"spec", {{"domainName", "base\""}}}},
       Expect::Schema},
      {Kind::Snapshot, "spec.location", "an unknown value", json{{"spec", {{"location", "Middle"}}}},
       Expect::Schema},
      {Kind::Snapshot, "spec.deletionPolicy", "an unknown value",
       json{{"spec", {{"deletionPolicy", "Shred"}}}}, Expect::Schema},
      {Kind::Snapshot, "spec.memory", "a string", json{{"spec", {{"memory", "yes"}}}}, Expect::Schema},
      // SnapshotRevert: spec.snapshotName is looked up in libvirt by name.
      {Kind::Revert, "spec.snapshotName", "<", revert({{"snapshotName", "{token}<"}}), Expect::Schema},
      {Kind::Revert, "spec.snapshotName", "a path", revert({{"snapshotName", "../{token}"}}), Expect::Schema},
      {Kind::Revert, "spec.snapshotName", "254 characters", revert({{"snapshotName", "{token}{pad:254}"}}),
       Expect::Schema},
      {Kind::Revert, "spec.domainName", "&", revert({{"domainName", "base&{token}"}}), Expect::Schema},
      {Kind::Revert, "spec.force", "a string", revert({{"force", "yes"}}), Expect::Schema},
  };
}

std::string describe(const Row& row) {
  constexpr std::array<std::string_view, 3> kKinds{"Domain", "Snapshot", "SnapshotRevert"};
  return std::string(kKinds[static_cast<std::size_t>(row.kind)]) + " " + row.field + " (" + row.what + ")";
}

// `value` with every "{token}" and "{root}" in its strings replaced.
json substitute(const json& value, const std::string& token, const std::string& root) {
  if (value.is_object() || value.is_array()) {
    json out = value;
    for (auto& item : out) {
      item = substitute(item, token, root);
    }
    return out;
  }
  if (!value.is_string()) {
    return value;
  }
  std::string text = value.get<std::string>();
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"{token}", token}, {"{root}", root}}) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  }
  // "{pad:N}": as many 'n' as make the whole string N characters.
  if (const std::size_t at = text.find("{pad:"); at != std::string::npos) {
    const std::size_t end = text.find('}', at);
    const std::size_t total = std::stoul(text.substr(at + 5, end - at - 5));
    const std::size_t rest = text.size() - (end + 1 - at);
    text.replace(at, end + 1 - at, std::string(total - rest, 'n'));
  }
  return text;
}

// What libvirt holds, read on the test's own connection to libvirtd: each domain's name and inactive
// definition, and each of its snapshots' name and definition.
struct LibvirtState {
  std::map<std::string, std::string> domainXml;
  std::map<std::string, std::map<std::string, std::string>> snapshotXml;  // domain -> name -> XML
};

LibvirtState readLibvirt(virConnectPtr conn) {
  LibvirtState state;
  virDomainPtr* domains = nullptr;
  const int count = virConnectListAllDomains(conn, &domains, 0);
  for (int i = 0; i < count; ++i) {
    const std::string name = virDomainGetName(domains[i]);
    if (char* xml = virDomainGetXMLDesc(domains[i], VIR_DOMAIN_XML_INACTIVE)) {
      state.domainXml[name] = xml;
      free(xml);  // libvirt's allocations are freed with free()
    }
    virDomainSnapshotPtr* snapshots = nullptr;
    const int snapshotCount = virDomainListAllSnapshots(domains[i], &snapshots, 0);
    for (int j = 0; j < snapshotCount; ++j) {
      if (char* xml = virDomainSnapshotGetXMLDesc(snapshots[j], 0)) {
        state.snapshotXml[name][virDomainSnapshotGetName(snapshots[j])] = xml;
        free(xml);
      }
      virDomainSnapshotFree(snapshots[j]);
    }
    free(snapshots);
    virDomainFree(domains[i]);
  }
  free(domains);
  return state;
}

class AgentHostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testsupport::startLibvirtd();
    ASSERT_EQ(started.exitCode, 0) << "cannot start libvirtd: " << started.output;
    conn_ = virConnectOpen(kLibvirtUri);  // also keeps the test driver's state alive
    ASSERT_NE(conn_, nullptr) << "cannot connect to " << kLibvirtUri;

    std::random_device random;
    // libvirtd's test driver is one state for every client of the machine: names of this run's own.
    ns_ = "hostile-" + std::to_string(random() % 1000000000U);
    testsupport::EmbeddedApiServerOptions serverOptions;
    serverOptions.dirPrefix = "virtsnap-hostile";
    serverOptions.client.qps = 0;
    serverOptions.namespaces = {ns_, "virtsnap-system"};
    auto server = testsupport::EmbeddedApiServer::start(serverOptions);
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = std::move(server).value();
    auto front = testsupport::EmbeddedHttpsServer::start(*server_);
    ASSERT_TRUE(front.has_value()) << front.error();
    front_ = std::move(front).value();

    // The allowed storage root, with a symlink in it that leads out of it.
    root_ = server_->dir() / "images";
    fs::create_directories(root_);
    fs::create_directory_symlink("/etc", root_ / "out");
  }

  void TearDown() override {
    if (HasFailure() && agent_) {
      agent_->printOutputTail(std::cerr, 20000);
    }
    agent_.reset();
    if (conn_ != nullptr) {  // this run's domains, whatever the agent left
      for (const auto& [name, xml] : readLibvirt(conn_).domainXml) {
        if (xml.find("namespace=\"" + ns_ + "\"") != std::string::npos || name.starts_with(ns_ + ".")) {
          if (virDomainPtr domain = virDomainLookupByName(conn_, name.c_str())) {
            virDomainDestroy(domain);
            virDomainUndefineFlags(domain, VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
            virDomainFree(domain);
          }
        }
      }
      virConnectClose(conn_);
    }
    front_.reset();
    server_.reset();
  }

  json object(Kind kind, const std::string& name) const {
    switch (kind) {
      case Kind::Domain:
        return {{"apiVersion", "virtsnap.io/v1alpha1"},
                {"kind", "Domain"},
                {"metadata", {{"name", name}, {"namespace", ns_}}},
                {"spec",
                 {{"nodeName", kNode}, {"type", "test"}, {"memory", "64Mi"}, {"os", {{"arch", "i686"}}}}}};
      case Kind::Snapshot:
        return {{"apiVersion", "virtsnap.io/v1alpha1"},
                {"kind", "Snapshot"},
                {"metadata", {{"name", name}, {"namespace", ns_}}},
                {"spec", {{"domainName", "base"}}}};
      case Kind::Revert:
        return {{"apiVersion", "virtsnap.io/v1alpha1"},
                {"kind", "SnapshotRevert"},
                {"metadata", {{"name", name}, {"namespace", ns_}}},
                {"spec", {{"domainName", "base"}, {"snapshotName", "base-1"}}}};
    }
    return {};
  }

  static const meta::ResourceType& typeOf(Kind kind) {
    switch (kind) {
      case Kind::Domain:
        return meta::Resource<crds::Domain>::type();
      case Kind::Snapshot:
        return meta::Resource<crds::Snapshot>::type();
      case Kind::Revert:
        return meta::Resource<crds::SnapshotRevert>::type();
    }
    return meta::Resource<crds::Domain>::type();
  }

  // The object as the server holds it; null when it is not there.
  json stored(Kind kind, const std::string& name) {
    auto got = server_->client()->get(typeOf(kind), ns_, name);
    return got ? got.value() : json();
  }

  static const json* conditionOf(const json& object, const std::string& type) {
    if (!object.contains("status") || !object["status"].contains("conditions")) {
      return nullptr;
    }
    for (const json& condition : object["status"]["conditions"]) {
      if (condition.value("type", "") == type) {
        return &condition;
      }
    }
    return nullptr;
  }

  static bool conditionTrue(const json& object, const std::string& type) {
    const json* condition = conditionOf(object, type);
    return condition != nullptr && condition->value("status", "") == "True";
  }

  testsupport::ChildLeakDetectionOff leakDetectionOff_;
  virConnectPtr conn_ = nullptr;
  std::unique_ptr<testsupport::EmbeddedApiServer> server_;
  std::unique_ptr<testsupport::EmbeddedHttpsServer> front_;
  std::unique_ptr<testsupport::AgentProcess> agent_;
  std::string ns_;
  fs::path root_;
};

TEST_F(AgentHostileInput, EveryHostileValueIsRefusedBeforeLibvirtOrCarriedExactly) {
  const auto started = std::chrono::steady_clock::now();
  const int healthPort = testsupport::freeLoopbackPort();
  agent_ =
      std::make_unique<testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY, server_->dir() / "agent.log");
  ASSERT_TRUE(agent_->start({"--kubeconfig",
                             front_->kubeconfig().string(),
                             "--node-name",
                             kNode,
                             "--libvirt-uri",
                             kLibvirtUri,
                             "--identity",
                             "hostile-agent",
                             "--metrics-bind-address",
                             "0",
                             "--health-probe-bind-address",
                             "127.0.0.1:" + std::to_string(healthPort),
                             "--poll-period",
                             "0.5",
                             "--workers",
                             "4",
                             "--allowed-storage-root",
                             root_.string(),
                             "--storage-pool",
                             "default-pool"}));
  ASSERT_TRUE(testsupport::eventually(
      [&] { return testsupport::httpGet(healthPort, "/readyz").status == 200; }, 30s, 50ms))
      << "the agent never became ready";

  // The Domain the Snapshot rows snapshot and the SnapshotRevert rows revert, with one Snapshot.
  kube::WriteOptions options;
  ASSERT_TRUE(server_->client()->create(typeOf(Kind::Domain), object(Kind::Domain, "base"), options));
  ASSERT_TRUE(server_->client()->create(typeOf(Kind::Snapshot), object(Kind::Snapshot, "base-1"), options));

  // Every row at once.
  const std::vector<Row> table = rows();
  std::vector<std::string> names(table.size());
  std::vector<std::string> tokens(table.size());
  std::vector<json> sent(table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    const Row& row = table[i];
    tokens[i] = "tok" + std::to_string(i) + "x";
    names[i] = (row.kind == Kind::Domain ? "h" : row.kind == Kind::Snapshot ? "s" : "r") + std::to_string(i);
    json body = object(row.kind, names[i]);
    body.merge_patch(substitute(row.patch, tokens[i], root_.string()));
    names[i] = body["metadata"]["name"].get<std::string>();
    sent[i] = body;
    auto created = server_->client()->create(typeOf(row.kind), body, options);
    if (row.expect == Expect::Schema) {
      if (created.has_value()) {
        ADD_FAILURE() << describe(row) << " was stored";
        continue;
      }
      EXPECT_EQ(created.error().httpStatus, 422) << describe(row) << ": " << created.error().describe();
      EXPECT_THAT(created.error().describe(), ::testing::HasSubstr(row.field)) << describe(row);
    } else {
      EXPECT_TRUE(created.has_value()) << describe(row) << ": " << created.error().describe();
    }
  }

  // Each stored row settles: Stalled for Agent rows, Ready for Accepted ones.
  const auto settled = [&](std::size_t i) {
    const json now = stored(table[i].kind, names[i]);
    return table[i].expect == Expect::Accepted ? conditionTrue(now, "Ready") : conditionTrue(now, "Stalled");
  };
  const bool allSettled = testsupport::eventually(
      [&] {
        for (std::size_t i = 0; i < table.size(); ++i) {
          if (table[i].expect != Expect::Schema && !settled(i)) {
            return false;
          }
        }
        return conditionTrue(stored(Kind::Snapshot, "base-1"), "Ready");
      },
      60s, 100ms);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << table.size() << " rows settled in " << seconds << " s (agent start included)\n";

  const LibvirtState libvirt = readLibvirt(conn_);
  ASSERT_TRUE(libvirt.domainXml.contains(ns_ + ".base")) << "the base Domain was never defined";
  for (std::size_t i = 0; i < table.size(); ++i) {
    const Row& row = table[i];
    SCOPED_TRACE(describe(row));
    if (row.expect == Expect::Schema) {
      continue;  // never stored: checked below with the others that libvirt holds nothing of it
    }
    const json now = stored(row.kind, names[i]);
    if (!allSettled && !settled(i)) {
      ADD_FAILURE() << "not settled: " << now.value("status", json()).dump();
      continue;
    }
    if (row.expect == Expect::Agent || row.expect == Expect::Libvirt) {
      const json* stalled = conditionOf(now, "Stalled");
      ASSERT_NE(stalled, nullptr);
      EXPECT_THAT(stalled->value("message", ""),
                  ::testing::HasSubstr(row.expect == Expect::Agent ? row.field : "defining domain"));
      std::cout << "  " << describe(row) << ": " << stalled->value("reason", "") << ": "
                << stalled->value("message", "").substr(0, 160) << "\n";
    }
  }
  // libvirt received no refused value: no domain or snapshot name, no definition, holds a refused row's
  // token, and no refused Domain row's domain exists.
  for (std::size_t i = 0; i < table.size(); ++i) {
    const Row& row = table[i];
    SCOPED_TRACE(describe(row));
    if (row.expect == Expect::Accepted) {
      continue;
    }
    for (const auto& [name, xml] : libvirt.domainXml) {
      EXPECT_EQ(name.find(tokens[i]), std::string::npos) << "a libvirt domain is named " << name;
      EXPECT_EQ(xml.find(tokens[i]), std::string::npos) << "domain " << name << " holds it:\n" << xml;
    }
    for (const auto& [domain, snapshots] : libvirt.snapshotXml) {
      for (const auto& [name, xml] : snapshots) {
        EXPECT_EQ(xml.find(tokens[i]), std::string::npos)
            << "snapshot " << domain << "/" << name << " holds it";
      }
    }
    if (row.kind == Kind::Domain) {
      EXPECT_FALSE(libvirt.domainXml.contains(ns_ + "." + names[i])) << "the row's domain was defined";
    }
  }
  // Accepted rows: libvirt holds exactly the value.
  for (std::size_t i = 0; i < table.size(); ++i) {
    const Row& row = table[i];
    SCOPED_TRACE(describe(row));
    if (row.expect != Expect::Accepted) {
      continue;
    }
    if (row.kind == Kind::Domain) {
      const json spec = sent[i]["spec"];
      const std::string name = spec.value("hypervisorName", ns_ + "." + names[i]);
      ASSERT_TRUE(libvirt.domainXml.contains(name)) << "no libvirt domain named " << name;
      if (spec.contains("disks") || spec.contains("networks")) {
        drivers::libvirt::LibvirtDriverOptions driverOptions;
        driverOptions.uri = kLibvirtUri;
        driverOptions.storageRoots = {root_};
        drivers::libvirt::LibvirtDriver observer(driverOptions);
        auto definition = observer.definition(name);
        ASSERT_TRUE(definition.has_value()) << definition.error().message;
        if (spec.contains("disks")) {
          ASSERT_EQ(definition->disks.size(), 1U);
          EXPECT_EQ(definition->disks[0].path, spec["disks"][0]["source"]["path"].get<std::string>());
        } else {
          ASSERT_EQ(definition->networks.size(), 1U);
          EXPECT_EQ(definition->networks[0].network, spec["networks"][0]["network"].get<std::string>());
        }
      }
    } else if (row.kind == Kind::Snapshot) {
      const auto snapshots = libvirt.snapshotXml.find(ns_ + ".base");
      ASSERT_NE(snapshots, libvirt.snapshotXml.end());
      const auto xml = snapshots->second.find(names[i]);
      ASSERT_NE(xml, snapshots->second.end()) << "no libvirt snapshot named " << names[i];
      if (sent[i]["spec"].contains("description")) {
        auto parsed = drivers::libvirt::parseSnapshotXml(xml->second);
        ASSERT_TRUE(parsed.has_value());
        EXPECT_EQ(parsed->description, sent[i]["spec"]["description"].get<std::string>());
      }
    }
  }
  std::cout << table.size() << " rows checked in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s\n";
}

}  // namespace
}  // namespace virtsnap
