#pragma once
// The resource types the API server serves from the repository's crds/ (and its built-ins), loaded
// once per test binary for tests that only read them. A load failure fails the test that asked.

#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "controller/apiserver/resource_registry.h"

namespace virtsnap::testsupport {

inline const apiserver::ResourceRegistry& crdRegistry() {
  static const apiserver::ResourceRegistry kLoaded = [] {
    auto result = apiserver::ResourceRegistry::load(std::string(VIRTSNAP_SOURCE_DIR) + "/crds");
    if (!result) {
      ADD_FAILURE() << result.error();
      return apiserver::ResourceRegistry();
    }
    return std::move(result).value();
  }();
  return kLoaded;
}

}  // namespace virtsnap::testsupport
