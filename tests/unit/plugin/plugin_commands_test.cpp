// kubectl virtsnap's commands on an ApiClient fake: what tree and revert print and return, the revert's
// watch (its end, a deletion, a stream that never speaks and the deadline that cancels it), and the
// timeout's duration syntax.

#include "controller/plugin/plugin_commands.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace virtsnap::plugin {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

kube::KubeError error(kube::ErrorKind kind, std::string message) {
  kube::KubeError e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

// A stream that hands out its events, then blocks until cancel() or, when `ends`, ends.
class FakeStream final : public kube::WatchStream {
 public:
  FakeStream(std::deque<kube::WatchEvent> events, bool ends) : events_(std::move(events)), ends_(ends) {}
  kube::KubeResult<std::optional<kube::WatchEvent>> next() override {
    std::unique_lock lock(mutex_);
    if (!events_.empty()) {
      auto event = std::move(events_.front());
      events_.pop_front();
      return std::optional<kube::WatchEvent>(std::move(event));
    }
    if (!ends_) {
      wake_.wait(lock, [&] { return cancelled_; });
    }
    return std::optional<kube::WatchEvent>();
  }
  void cancel() override {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    wake_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<kube::WatchEvent> events_;
  bool ends_;
  bool cancelled_ = false;
};

// Objects by plural and name in one namespace; each watch gets the next scripted list of events.
class FakeApi final : public kube::ApiClient {
 public:
  std::map<std::string, std::map<std::string, json>> objects;
  std::vector<std::deque<kube::WatchEvent>> watches;  // one per watch() call, in order
  bool watchesEnd = false;                            // after their events: end (else block)
  bool selectorsUnsupported = false;                  // list with a field selector: 400
  std::optional<kube::KubeError> watchError;          // every watch() fails with it
  std::deque<json> revertReads;  // the answers to reading a SnapshotRevert, in turn, the last one kept
  std::vector<kube::ListOptions> watchOptions;

  kube::KubeResult<json> get(const meta::ResourceType& type, const std::string&,
                             const std::string& name) override {
    if (type.plural == "snapshotreverts" && !revertReads.empty()) {
      json answer = revertReads.front();
      if (revertReads.size() > 1) {
        revertReads.pop_front();
      }
      return answer;
    }
    auto& kind = objects[type.plural];
    if (auto it = kind.find(name); it != kind.end()) {
      return it->second;
    }
    return error(kube::ErrorKind::NotFound, name + " not found");
  }
  kube::KubeResult<json> list(const meta::ResourceType& type, const std::string&,
                              const kube::ListOptions& options) override {
    if (selectorsUnsupported && !options.fieldSelector.empty()) {
      return error(kube::ErrorKind::BadRequest, "field label not supported: spec.domainName");
    }
    json items = json::array();
    for (const auto& [name, object] : objects[type.plural]) {
      items.push_back(object);
    }
    return json{{"metadata", {{"resourceVersion", "9"}}}, {"items", items}};
  }
  kube::KubeResult<json> create(const meta::ResourceType& type, const json& object,
                                const kube::WriteOptions&) override {
    json stored = object;
    stored["metadata"]["name"] = object["metadata"].value("generateName", "") + "x7k2p";
    stored["metadata"]["resourceVersion"] = "10";
    objects[type.plural][stored["metadata"]["name"]] = stored;
    return stored;
  }
  kube::KubeResult<json> update(const meta::ResourceType&, const json&, const kube::WriteOptions&) override {
    return error(kube::ErrorKind::BadRequest, "unused");
  }
  kube::KubeResult<json> updateStatus(const meta::ResourceType&, const json&,
                                      const kube::WriteOptions&) override {
    return error(kube::ErrorKind::BadRequest, "unused");
  }
  kube::KubeResult<json> patch(const meta::ResourceType&, const std::string&, const std::string&,
                               kube::PatchType, const std::string&, const kube::PatchOptions&) override {
    return error(kube::ErrorKind::BadRequest, "unused");
  }
  kube::KubeResult<json> remove(const meta::ResourceType&, const std::string&, const std::string&,
                                const kube::DeleteOptions&) override {
    return error(kube::ErrorKind::BadRequest, "unused");
  }
  kube::KubeResult<kube::WatchStreamPtr> watch(const meta::ResourceType&, const std::string&,
                                               const kube::ListOptions& options) override {
    watchOptions.push_back(options);
    if (watchError) {
      return *watchError;
    }
    std::deque<kube::WatchEvent> events;
    if (watchOptions.size() <= watches.size()) {
      events = watches[watchOptions.size() - 1];
    }
    return kube::WatchStreamPtr(std::make_unique<FakeStream>(std::move(events), watchesEnd));
  }
};

json domain(const std::string& name) {
  return {{"apiVersion", "virtsnap.io/v1alpha1"},
          {"kind", "Domain"},
          {"metadata", {{"name", name}, {"namespace", "vms"}}},
          {"spec", {{"nodeName", "n1"}}}};
}

json snapshot(const std::string& name, const std::string& domainName, json status = nullptr) {
  json object = {{"apiVersion", "virtsnap.io/v1alpha1"},
                 {"kind", "Snapshot"},
                 {"metadata", {{"name", name}, {"namespace", "vms"}}},
                 {"spec", {{"domainName", domainName}}}};
  if (!status.is_null()) {
    object["status"] = status;
  }
  return object;
}

json revertWith(json status) {
  return {{"apiVersion", "virtsnap.io/v1alpha1"},
          {"kind", "SnapshotRevert"},
          {"metadata", {{"name", "web-revert-x7k2p"}, {"namespace", "vms"}, {"resourceVersion", "11"}}},
          {"spec", {{"domainName", "web"}, {"snapshotName", "s1"}}},
          {"status", status}};
}

kube::WatchEvent modified(json object) {
  return kube::WatchEvent{kube::WatchEventType::Modified, std::move(object)};
}

class Commands : public ::testing::Test {
 protected:
  void SetUp() override {
    api_->objects["domains"]["web"] = domain("web");
    api_->objects["snapshots"]["s1"] = snapshot("s1", "web", {{"phase", "Ready"}});
    api_->objects["snapshots"]["s2"] =
        snapshot("s2", "web", {{"phase", "Ready"}, {"parent", "s1"}, {"current", true}});
  }

  RevertRequest request(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return RevertRequest{"vms", "web", "s1", false, timeout};
  }

  std::shared_ptr<FakeApi> api_ = std::make_shared<FakeApi>();
};

TEST_F(Commands, RevertCreatesASnapshotRevertAndReportsItsSuccess) {
  api_->watches.push_back({modified(revertWith({{"phase", "Running"}})),
                           modified(revertWith({{"phase", "Succeeded"}, {"previousSnapshot", "s2"}}))});
  const CommandResult result = revertCommand(api_, request());
  EXPECT_EQ(result.exitCode, 0) << result.err;
  EXPECT_EQ(result.out, "web: s2 -> s1 (snapshotrevert/web-revert-x7k2p Succeeded)\n");
  const json& created = api_->objects["snapshotreverts"]["web-revert-x7k2p"];
  EXPECT_EQ(created["spec"], json({{"domainName", "web"}, {"snapshotName", "s1"}}));
  ASSERT_EQ(api_->watchOptions.size(), 1U);
  EXPECT_EQ(api_->watchOptions[0].fieldSelector, "metadata.name=web-revert-x7k2p");
  EXPECT_EQ(api_->watchOptions[0].resourceVersion, "10");
  EXPECT_THAT(api_->watchOptions[0].timeoutSeconds, ::testing::Optional(10));
}

TEST_F(Commands, RevertWithForceSetsSpecForce) {
  api_->watches.push_back({modified(revertWith({{"phase", "Succeeded"}}))});
  RevertRequest forced = request();
  forced.force = true;
  const CommandResult result = revertCommand(api_, forced);
  EXPECT_EQ(result.exitCode, 0) << result.err;
  EXPECT_EQ(result.out, "web: (none) -> s1 (snapshotrevert/web-revert-x7k2p Succeeded)\n");
  EXPECT_EQ(api_->objects["snapshotreverts"]["web-revert-x7k2p"]["spec"]["force"], true);
}

TEST_F(Commands, AFailedRevertExitsOneWithItsConditionsMessage) {
  api_->watches.push_back({modified(
      revertWith({{"phase", "Failed"},
                  {"conditions", json::array({{{"type", "Ready"},
                                               {"status", "False"},
                                               {"reason", "RevertFailed"},
                                               {"message", "x"},
                                               {"lastTransitionTime", "2026-01-01T00:00:00Z"}},
                                              {{"type", "Stalled"},
                                               {"status", "True"},
                                               {"reason", "RevertFailed"},
                                               {"message", "libvirt refused: snapshot has external disks"},
                                               {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})}}))});
  const CommandResult result = revertCommand(api_, request());
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(
      result.err,
      "error: snapshotrevert/web-revert-x7k2p Failed: RevertFailed: libvirt refused: snapshot has external "
      "disks\n");
}

TEST_F(Commands, AStreamThatEndsIsFollowedByAReadAndANewWatch) {
  api_->watchesEnd = true;
  api_->watches.push_back({modified(revertWith({{"phase", "Running"}}))});
  api_->watches.push_back({modified(revertWith({{"phase", "Succeeded"}, {"previousSnapshot", "s2"}}))});
  const CommandResult result = revertCommand(api_, request());
  EXPECT_EQ(result.exitCode, 0) << result.err;
  ASSERT_EQ(api_->watchOptions.size(), 2U);
  EXPECT_EQ(api_->watchOptions[0].resourceVersion, "10");
  EXPECT_EQ(api_->watchOptions[1].resourceVersion, "10");  // re-read: the stored object, still at 10
}

TEST_F(Commands, WhereWatchesAreRefusedItPollsTheObject) {
  api_->watchError = error(kube::ErrorKind::Forbidden, "cannot watch snapshotreverts");
  api_->revertReads = {revertWith({{"phase", "Running"}}), revertWith({{"phase", "Running"}}),
                       revertWith({{"phase", "Succeeded"}, {"previousSnapshot", "s2"}})};
  const auto start = std::chrono::steady_clock::now();
  const CommandResult result = revertCommand(api_, request());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.exitCode, 0) << result.err;
  EXPECT_EQ(result.out, "web: s2 -> s1 (snapshotrevert/web-revert-x7k2p Succeeded)\n");
  EXPECT_EQ(api_->watchOptions.size(), 3U);
  EXPECT_GE(took, std::chrono::milliseconds(500));  // a pause after each refused watch but the last
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(Commands, TheTimeoutCancelsAWatchThatNeverSpeaks) {
  const auto start = std::chrono::steady_clock::now();
  const CommandResult result = revertCommand(api_, request(std::chrono::milliseconds(300)));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_THAT(result.err,
              HasSubstr("error: timed out waiting for snapshotrevert/web-revert-x7k2p (no phase yet)"));
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_THAT(api_->watchOptions.at(0).timeoutSeconds, ::testing::Optional(1));
}

TEST_F(Commands, ARevertDeletedWhileWaitingFails) {
  api_->watches.push_back(
      {kube::WatchEvent{kube::WatchEventType::Deleted, revertWith({{"phase", "Running"}})}});
  const CommandResult result = revertCommand(api_, request());
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_EQ(result.err, "error: snapshotrevert/web-revert-x7k2p was deleted before it finished\n");
}

TEST_F(Commands, RevertChecksTheDomainAndTheSnapshotFirst) {
  api_->objects["snapshots"]["other"] = snapshot("other", "db");
  RevertRequest wrong = request();
  wrong.snapshot = "other";
  EXPECT_EQ(revertCommand(api_, wrong).err,
            "error: snapshot \"other\" belongs to domain \"db\", not \"web\"\n");
  wrong.snapshot = "nosuch";
  EXPECT_EQ(revertCommand(api_, wrong).err, "error: snapshot \"nosuch\" not found in namespace \"vms\"\n");
  wrong.domain = "nosuch";
  EXPECT_EQ(revertCommand(api_, wrong).err, "error: domain \"nosuch\" not found in namespace \"vms\"\n");
  EXPECT_TRUE(api_->objects["snapshotreverts"].empty());
}

TEST_F(Commands, TreeFiltersTheDomainsSnapshotsWhereTheServerCannotSelectThem) {
  api_->selectorsUnsupported = true;
  api_->objects["snapshots"]["zzz"] = snapshot("zzz", "db", {{"phase", "Ready"}});
  const CommandResult result = treeCommand(api_, "vms", "web");
  EXPECT_EQ(result.exitCode, 0) << result.err;
  EXPECT_EQ(result.out,
            "s1\n"
            "  |\n"
            "  +- s2 *\n"
            "    \n");
}

TEST_F(Commands, TreeOfADomainWithoutSnapshotsIsAnError) {
  api_->objects["snapshots"].clear();
  const CommandResult result = treeCommand(api_, "vms", "web");
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "error: domain \"web\" in namespace \"vms\" has no snapshots\n");
}

TEST(ParseDuration, KubectlStyleDurations) {
  using std::chrono::milliseconds;
  EXPECT_EQ(parseDuration("60s"), milliseconds(60000));
  EXPECT_EQ(parseDuration("45"), milliseconds(45000));
  EXPECT_EQ(parseDuration("2m"), milliseconds(120000));
  EXPECT_EQ(parseDuration("1m30s"), milliseconds(90000));
  EXPECT_EQ(parseDuration("1h"), milliseconds(3600000));
  EXPECT_EQ(parseDuration("500ms"), milliseconds(500));
  for (const char* bad : {"", "0", "0s", "-1s", "1x", "s", "1m30", "1.5s", "60 s"}) {
    EXPECT_EQ(parseDuration(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace virtsnap::plugin
