#pragma once
// Counting the Events the agent recorded, as a test reads them on the API server.

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller/kube/api_client.h"
#include "crds/meta/resource_type.h"

namespace virtsnap::testsupport {

// The sum of the counts of the Events in `ns` of `reason` about object `name` (a failure to list them
// is the calling test's).
inline int eventCount(kube::ApiClient& client, const std::string& ns, const std::string& name,
                      const std::string& reason) {
  auto events = client.list(meta::resources::events(), ns, {});
  EXPECT_TRUE(events.has_value()) << events.error().message;
  int count = 0;
  for (const auto& event : events ? events->value("items", nlohmann::json::array()) : nlohmann::json()) {
    if (event.value("reason", "") == reason &&
        event.value("involvedObject", nlohmann::json::object()).value("name", "") == name) {
      count += event.value("count", 1);
    }
  }
  return count;
}

}  // namespace virtsnap::testsupport
