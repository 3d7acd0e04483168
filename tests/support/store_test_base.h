#pragma once
// Shared pieces of the object store tests: a temporary data directory, a settable clock and a
// hand-made custom resource type (no schema, so no validation gets in the way).

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "controller/apiserver/resource_registry.h"
#include "controller/apiserver/storage/memory_object_store.h"

namespace virtsnap::testsupport {

class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("virtsnap-store-" + std::to_string(random()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A wall clock for the store (its Now function) that only moves when told to, in whole seconds.
class ManualWallClock {
 public:
  apiserver::ObjectStore::Now now() {
    return [this] { return std::chrono::system_clock::time_point(std::chrono::seconds(seconds_.load())); };
  }
  void advance(std::int64_t seconds) { seconds_ += seconds; }

 private:
  std::atomic<std::int64_t> seconds_{1700000000};  // 2023-11-14T22:13:20Z
};

inline apiserver::ServedResource widgetType() {
  apiserver::ServedResource type;
  type.group = "example.virtsnap.io";
  type.version = "v1";
  type.kind = "Widget";
  type.listKind = "WidgetList";
  type.plural = "widgets";
  type.singular = "widget";
  type.namespaced = true;
  type.hasStatus = true;
  type.selectableFields = {".spec.nodeName"};
  type.crd = nlohmann::json{{"kind", "CustomResourceDefinition"}};
  return type;
}

inline apiserver::ServedResource clusterWidgetType() {
  apiserver::ServedResource type = widgetType();
  type.kind = "ClusterWidget";
  type.listKind = "ClusterWidgetList";
  type.plural = "clusterwidgets";
  type.singular = "clusterwidget";
  type.namespaced = false;
  return type;
}

inline apiserver::ServedResource namespaceType() {
  apiserver::ServedResource type;
  type.version = "v1";
  type.kind = "Namespace";
  type.listKind = "NamespaceList";
  type.plural = "namespaces";
  type.singular = "namespace";
  type.namespaced = false;
  return type;
}

inline nlohmann::json widget(const std::string& name, nlohmann::json spec = nlohmann::json::object()) {
  return nlohmann::json{{"apiVersion", "example.virtsnap.io/v1"},
                        {"kind", "Widget"},
                        {"metadata", {{"name", name}}},
                        {"spec", std::move(spec)}};
}

// A store on a temporary data directory with the project's CRDs; reopen() is a restart.
class StoreTestBase : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = apiserver::ResourceRegistry::load(VIRTSNAP_SOURCE_DIR "/crds");
    ASSERT_TRUE(loaded.has_value()) << loaded.error();
    registry_ = std::move(loaded).value();
    reopen();
  }

  void reopen(apiserver::StoreOptions options = {}) {
    store_.reset();
    auto opened = apiserver::MemoryObjectStore::open(dir_.path(), registry_, clock_.now(), options);
    ASSERT_TRUE(opened.has_value()) << opened.error();
    store_ = std::move(opened).value();
  }

  TempDir dir_;
  ManualWallClock clock_;
  apiserver::ResourceRegistry registry_;
  std::unique_ptr<apiserver::MemoryObjectStore> store_;
};

}  // namespace virtsnap::testsupport
