// TypedClient over the REST client and the in-process API server: crds types in, crds types out, and
// answers that do not decode as Decode errors naming the field.

#include "controller/kube/typed_client.h"

#include <filesystem>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/apiserver/api_handler.h"
#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/object_store.h"
#include "controller/kube/rest_client.h"
#include "crds/domain.h"
#include "crds/snapshot.h"
#include "crds/snapshot_revert.h"
#include "tests/support/in_process_transport.h"

namespace virtsnap::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

crds::Domain makeDomain(const std::string& name) {
  crds::Domain domain;
  domain.metadata.name = name;
  domain.metadata.namespaceName = "vms";
  domain.spec.nodeName = "worker-1";
  return domain;
}

class TypedClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ =
        fs::temp_directory_path() / ("virtsnap-typed-" + std::to_string(random()) + std::to_string(random()));
    auto loaded = apiserver::ResourceRegistry::load(fs::path(VIRTSNAP_SOURCE_DIR) / "crds");
    ASSERT_TRUE(loaded.has_value()) << loaded.error();
    registry_ = std::make_unique<apiserver::ResourceRegistry>(std::move(loaded).value());
    auto opened = apiserver::ObjectStore::open(dir_, *registry_);
    ASSERT_TRUE(opened.has_value()) << opened.error();
    store_ = std::move(opened).value();
    handler_ = std::make_unique<apiserver::ApiHandler>(*registry_, *store_, "");
    RestClientOptions options;
    options.qps = 0;
    client_ =
        std::make_shared<RestClient>(std::make_shared<testsupport::InProcessTransport>(*handler_), options);
    auto ns =
        client_->create(meta::resources::namespaces(),
                        {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "vms"}}}}, {});
    ASSERT_TRUE(ns.has_value()) << ns.error().describe();
  }
  void TearDown() override {
    client_.reset();
    handler_.reset();
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path dir_;
  std::unique_ptr<apiserver::ResourceRegistry> registry_;
  std::unique_ptr<apiserver::ObjectStore> store_;
  std::unique_ptr<apiserver::ApiHandler> handler_;
  ApiClientPtr client_;
};

TEST_F(TypedClientTest, DomainsGoInAndComeBackAsCrdsTypes) {
  TypedClient<crds::Domain> domains(client_);
  auto created = domains.create(makeDomain("web-1"));
  ASSERT_TRUE(created.has_value()) << created.error().describe();
  EXPECT_TRUE(created.value().metadata.uid.has_value());
  EXPECT_EQ(created.value().spec.vcpus, 1);  // the CRD's default

  auto got = domains.get("vms", "web-1");
  ASSERT_TRUE(got.has_value()) << got.error().describe();
  EXPECT_EQ(got.value().metadata.uid, created.value().metadata.uid);

  crds::Domain withStatus = got.value();
  withStatus.status = crds::DomainStatus{};
  withStatus.status->observedGeneration = 1;
  auto written = domains.updateStatus(withStatus);
  ASSERT_TRUE(written.has_value()) << written.error().describe();
  EXPECT_EQ(written.value().status->observedGeneration, 1);

  auto listed = domains.list("vms");
  ASSERT_TRUE(listed.has_value()) << listed.error().describe();
  ASSERT_EQ(listed.value().items.size(), 1U);
  EXPECT_EQ(listed.value().items[0].metadata.name, "web-1");
  EXPECT_FALSE(listed.value().resourceVersion.empty());

  auto removed = domains.remove("vms", "web-1");
  ASSERT_TRUE(removed.has_value()) << removed.error().describe();
  auto missing = domains.get("vms", "web-1");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
}

TEST_F(TypedClientTest, SnapshotsAndRevertsUseTheirOwnResources) {
  crds::Snapshot snapshot;
  snapshot.metadata.name = "before-upgrade";
  snapshot.metadata.namespaceName = "vms";
  snapshot.spec.domainName = "web-1";
  auto created = TypedClient<crds::Snapshot>(client_).create(snapshot);
  ASSERT_TRUE(created.has_value()) << created.error().describe();
  EXPECT_EQ(created.value().spec.domainName, "web-1");

  crds::SnapshotRevert revert;
  revert.metadata.name = "back";
  revert.metadata.namespaceName = "vms";
  revert.spec.domainName = "web-1";
  revert.spec.snapshotName = "before-upgrade";
  auto reverted = TypedClient<crds::SnapshotRevert>(client_).create(revert);
  ASSERT_TRUE(reverted.has_value()) << reverted.error().describe();
  EXPECT_EQ(reverted.value().spec.snapshotName, "before-upgrade");
  EXPECT_TRUE(client_->get(meta::Resource<crds::SnapshotRevert>::type(), "vms", "back").has_value());
}

// Answers every request with one fixed body.
class FixedAnswer final : public Transport {
 public:
  explicit FixedAnswer(std::string body) : body_(std::move(body)) {}
  KubeResult<RestResponse> send(const RestRequest&) override { return RestResponse{200, body_, {}}; }
  KubeResult<LineStreamPtr> stream(const RestRequest&) override {
    KubeError error;
    error.message = "no streams here";
    return error;
  }

 private:
  std::string body_;
};

TEST(TypedClientDecode, AnObjectThatDoesNotDecodeNamesTheField) {
  const std::string bad = R"({"apiVersion":"virtsnap.io/v1alpha1","kind":"Domain","metadata":{"name":"x"},
                              "spec":{"nodeName":"n","vcpus":"many"}})";
  TypedClient<crds::Domain> domains(std::make_shared<RestClient>(std::make_shared<FixedAnswer>(bad)));
  auto got = domains.get("vms", "x");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().kind, ErrorKind::Decode);
  EXPECT_THAT(got.error().message, HasSubstr("spec.vcpus"));
  ASSERT_EQ(got.error().causes.size(), 1U);
  EXPECT_EQ(got.error().causes[0].field, "spec.vcpus");

  TypedClient<crds::Domain> lists(std::make_shared<RestClient>(
      std::make_shared<FixedAnswer>(R"({"metadata":{},"items":[)" + bad + "]}")));
  auto listed = lists.list("vms");
  ASSERT_FALSE(listed.has_value());
  EXPECT_THAT(listed.error().message, HasSubstr("items[0].spec.vcpus"));

  TypedClient<crds::Domain> notAList(
      std::make_shared<RestClient>(std::make_shared<FixedAnswer>(R"({"items":7})")));
  EXPECT_EQ(notAList.list("vms").error().kind, ErrorKind::Decode);
}

}  // namespace
}  // namespace virtsnap::kube
