// Deleting a namespace the way kube-apiserver's namespace lifecycle does: Terminating first, its
// objects deleted (finalizers honoured), the namespace gone once empty, new objects refused meanwhile.

#include <gtest/gtest.h>

#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/memory_object_store.h"
#include "tests/support/store_test_base.h"

namespace virtsnap::apiserver {
namespace {

using nlohmann::json;

class NamespaceLifecycle : public testsupport::StoreTestBase {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    domains_ = *registry_.findKind("virtsnap.io", "Domain");
    namespaces_ = *registry_.findKind("", "Namespace");
    ASSERT_TRUE(
        store_->create(namespaces_, "", json{{"metadata", {{"name", "vms"}}}}, {}, nullptr).has_value());
  }

  void createDomain(const std::string& name, json finalizers = json::array()) {
    json object{{"apiVersion", "virtsnap.io/v1alpha1"},
                {"kind", "Domain"},
                {"metadata", {{"name", name}, {"finalizers", finalizers}}},
                {"spec", {{"nodeName", "n1"}}}};
    auto created = store_->create(domains_, "vms", object, {}, nullptr);
    ASSERT_TRUE(created.has_value()) << created.error().message;
  }

  bool exists(const ServedResource& type, const std::string& ns, const std::string& name) {
    return store_->get(type, ns, name).has_value();
  }

  ServedResource domains_;
  ServedResource namespaces_;
};

TEST_F(NamespaceLifecycle, DeletingAnEmptyNamespaceRemovesItAtOnce) {
  ASSERT_TRUE(store_->remove(namespaces_, "", "vms", json::object()).has_value());
  EXPECT_FALSE(exists(namespaces_, "", "vms"));
}

TEST_F(NamespaceLifecycle, ItsObjectsGoWithIt) {
  createDomain("a");
  createDomain("b");
  ASSERT_TRUE(store_->remove(namespaces_, "", "vms", json::object()).has_value());
  EXPECT_FALSE(exists(domains_, "vms", "a"));
  EXPECT_FALSE(exists(domains_, "vms", "b"));
  EXPECT_FALSE(exists(namespaces_, "", "vms"));
}

TEST_F(NamespaceLifecycle, ItStaysTerminatingUntilTheLastFinalizerGoesAndRefusesNewObjects) {
  createDomain("held", json::array({"virtsnap.io/domain-protection"}));
  createDomain("free");
  auto removed = store_->remove(namespaces_, "", "vms", json::object());
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed.value()["status"]["phase"], "Terminating");
  EXPECT_TRUE(removed.value()["metadata"].contains("deletionTimestamp"));
  EXPECT_FALSE(exists(domains_, "vms", "free"));
  auto held = store_->get(domains_, "vms", "held");
  ASSERT_TRUE(held.has_value());
  EXPECT_TRUE(held.value()["metadata"].contains("deletionTimestamp"));

  auto refused = store_->create(domains_, "vms",
                                json{{"apiVersion", "virtsnap.io/v1alpha1"},
                                     {"kind", "Domain"},
                                     {"metadata", {{"name", "late"}}},
                                     {"spec", {{"nodeName", "n1"}}}},
                                {}, nullptr);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, 403);
  EXPECT_EQ(refused.error().message,
            "unable to create new content in namespace vms because it is being terminated");

  // The agent removes its finalizer: the domain goes, and with it the namespace.
  auto released = store_->patch(domains_, "vms", "held", PatchType::Merge,
                                R"({"metadata":{"finalizers":null}})", false, {}, nullptr);
  ASSERT_TRUE(released.has_value()) << released.error().message;
  EXPECT_FALSE(exists(domains_, "vms", "held"));
  EXPECT_FALSE(exists(namespaces_, "", "vms"));
}

TEST_F(NamespaceLifecycle, ATerminatingNamespaceSurvivesARestartAndFinishesAfterIt) {
  createDomain("held", json::array({"virtsnap.io/domain-protection"}));
  ASSERT_TRUE(store_->remove(namespaces_, "", "vms", json::object()).has_value());
  reopen();
  auto ns = store_->get(namespaces_, "", "vms");
  ASSERT_TRUE(ns.has_value());
  EXPECT_EQ(ns.value()["status"]["phase"], "Terminating");
  ASSERT_TRUE(store_
                  ->patch(domains_, "vms", "held", PatchType::Merge, R"({"metadata":{"finalizers":null}})",
                          false, {}, nullptr)
                  .has_value());
  EXPECT_FALSE(exists(namespaces_, "", "vms"));
}

TEST_F(NamespaceLifecycle, ADryRunDeleteChangesNothing) {
  createDomain("a");
  auto removed = store_->remove(namespaces_, "", "vms", json{{"dryRun", {"All"}}});
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(removed.value()["status"]["phase"], "Terminating");
  EXPECT_TRUE(exists(domains_, "vms", "a"));
  auto ns = store_->get(namespaces_, "", "vms");
  ASSERT_TRUE(ns.has_value());
  EXPECT_FALSE(ns.value()["metadata"].contains("deletionTimestamp"));
}

}  // namespace
}  // namespace virtsnap::apiserver
