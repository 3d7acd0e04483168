// The agent's tree page (--web-ui, on by default with --standalone) in real headless Chromium, against
// the real virtsnap-controller in standalone mode with deploy/quickstart/ applied: one SVG node per
// Snapshot, the current one marked, an edge from each parent to its children; then, with the same page
// left open, a revert and a new Snapshot: the page shows the new tree when it next polls, without a
// reload. Screenshots of both states go to the test's output directory (paths printed). Also the
// page's headers, and --no-web-ui leaving only the probes.
//
// Chromium runs once, driven through its DevTools pipe (tests/support/headless_chromium.h). Without
// chromium the test is skipped, unless CI=true: then it fails.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/agent_process.h"
#include "tests/support/apiserver_process.h"
#include "tests/support/eventually.h"
#include "tests/support/headless_chromium.h"
#include "tests/support/shell_command.h"

namespace virtsnap {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

bool underCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// What the page shows of quickstart/demo, read from the live DOM: its snapshot nodes (their data-
// attributes, whether the box is drawn as current, the visible labels) and its edges.
constexpr const char* kDrawnTree = R"js((() => {
  const section = document.querySelector('section[data-domain="quickstart/demo"]');
  if (!section) return null;
  return {
    nodes: Array.from(section.querySelectorAll('svg g.snapshot')).map((g) => ({
      name: g.dataset.snapshot,
      phase: g.dataset.phase,
      current: g.dataset.current === 'true',
      marked: g.querySelector('rect').classList.contains('current'),
      text: Array.from(g.querySelectorAll('text')).map((t) => t.textContent).join('|'),
    })),
    edges: Array.from(section.querySelectorAll('svg path.edge')).map((p) => p.dataset.parent + '>' + p.dataset.child),
  };
})())js";

class TreePage : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("virtsnap-tree-page-" + std::to_string(random()) + std::to_string(random()));
    fs::create_directories(dir_);
    port_ = testsupport::freeLoopbackPort();
  }

  void TearDown() override {
    if (agent_) {
      if (HasFailure()) {
        std::cerr << "--- agent output ---\n" << agent_->output() << "\n---\n";
      }
      agent_->kill();
    }
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  void startAgent(const std::vector<std::string>& extra) {
    agent_ = std::make_unique<testsupport::AgentProcess>(VIRTSNAP_CONTROLLER_BINARY, dir_ / "agent.log");
    std::vector<std::string> arguments{"--standalone",
                                       "--data-dir",
                                       (dir_ / "data").string(),
                                       "--crd-dir",
                                       std::string(VIRTSNAP_SOURCE_DIR) + "/crds",
                                       "--metrics-bind-address",
                                       "0",
                                       "--health-probe-bind-address",
                                       "127.0.0.1:" + std::to_string(port_),
                                       "--poll-period",
                                       "1"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    ASSERT_TRUE(agent_->start(arguments));
    ASSERT_TRUE(testsupport::eventually([&] { return testsupport::httpGet(port_, "/healthz").status == 200; },
                                        std::chrono::seconds(60), std::chrono::milliseconds(50)))
        << agent_->output();
    // The probes answer before the agent prints where it serves; its banner comes in one write.
    ASSERT_TRUE(testsupport::eventually(
        [&] { return agent_->output().find("standalone API on") != std::string::npos; },
        std::chrono::seconds(60), std::chrono::milliseconds(50)))
        << agent_->output();
  }

  testsupport::ShellResult kubectl(const std::string& args) {
    return testsupport::runShell("kubectl --kubeconfig '" + (dir_ / "data" / "kubeconfig").string() +
                                 "' --cache-dir '" + (dir_ / "cache").string() + "' " + args + " 2>&1");
  }

  void quickstart(const std::string& file) {
    auto run = kubectl("apply -f '" + std::string(VIRTSNAP_SOURCE_DIR) + "/deploy/quickstart/" + file + "'");
    ASSERT_EQ(run.exitCode, 0) << run.output;
  }

  void waitFor(const std::string& condition) {
    auto run = kubectl("wait -n quickstart --timeout=60s " + condition);
    ASSERT_EQ(run.exitCode, 0) << run.output;
  }

  fs::path outputDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    fs::path out = fs::path(VIRTSNAP_TEST_OUTPUT_DIR) / test->test_suite_name() / test->name();
    fs::create_directories(out);
    return out;
  }

  fs::path dir_;
  int port_ = 0;
  std::unique_ptr<testsupport::AgentProcess> agent_;
};

TEST_F(TreePage, DrawsEverySnapshotMarksTheCurrentOneAndFollowsChanges) {
  const std::string chromium = testsupport::findChromium();
  if (chromium.empty()) {
    if (underCi()) {
      FAIL() << "chromium is not installed (scripts/setup.sh installs Debian's chromium)";
    }
    GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs Debian's chromium)";
  }
  const auto started = std::chrono::steady_clock::now();
  startAgent({});  // the page is on by default in standalone mode
  ASSERT_THAT(agent_->output(),
              HasSubstr("snapshot trees on http://127.0.0.1:" + std::to_string(port_) + "/tree"));
  quickstart("00-namespace.yaml");
  quickstart("10-domain.yaml");
  quickstart("20-snapshots.yaml");
  waitFor("--for=condition=Ready snapshot/a-installed snapshot/b-configured snapshot/c-tested");
  quickstart("30-revert.yaml");
  waitFor("--for=jsonpath={.status.phase}=Succeeded snapshotrevert/back-to-configured");
  quickstart("40-branch.yaml");
  waitFor("--for=condition=Ready snapshot/d-experiment");
  waitFor("--for=jsonpath={.status.snapshotCount}=4 domain/demo");

  // The page and its parts: only this server's script, style and data; no type sniffing.
  for (const std::string path : {"/tree", "/tree.js", "/tree.css", "/tree.json"}) {
    auto headers = testsupport::runShell(
        "curl -s --max-time 5 -D - -o /dev/null http://127.0.0.1:" + std::to_string(port_) + path);
    EXPECT_THAT(headers.output, HasSubstr("HTTP/1.1 200 OK")) << path;
    EXPECT_THAT(headers.output, HasSubstr("Content-Security-Policy: default-src 'none'; script-src 'self'; "
                                          "style-src 'self'; connect-src 'self';"))
        << path;
    EXPECT_THAT(headers.output, HasSubstr("X-Content-Type-Options: nosniff")) << path;
  }

  testsupport::HeadlessChromium browser;
  ASSERT_EQ(browser.start(chromium, dir_ / "chromium-profile", dir_ / "chromium.log", 900, 640),
            std::nullopt);
  const auto browserStarted = std::chrono::steady_clock::now();
  ASSERT_EQ(browser.open("http://127.0.0.1:" + std::to_string(port_) + "/tree"), std::nullopt)
      << testsupport::runShell("tail -20 '" + (dir_ / "chromium.log").string() + "'").output;

  json drawn;
  const auto readPage = [&] {
    auto value = browser.evaluate(kDrawnTree);
    EXPECT_TRUE(value) << browser.lastError();
    drawn = value.value_or(json());
    return drawn;
  };
  ASSERT_TRUE(testsupport::eventually([&] { return readPage().is_object() && drawn["nodes"].size() == 4; },
                                      std::chrono::seconds(30), std::chrono::milliseconds(100)))
      << drawn.dump(2);
  std::vector<std::string> names;
  std::vector<std::string> current;
  for (const auto& node : drawn["nodes"]) {
    names.push_back(node["name"]);
    EXPECT_EQ(node["phase"], "Ready") << node.dump();
    EXPECT_EQ(node["current"], node["marked"]) << node.dump();
    EXPECT_THAT(node["text"].get<std::string>(), HasSubstr(node["name"].get<std::string>()));
    if (node["current"] == true) {
      current.push_back(node["name"]);
      EXPECT_THAT(node["text"].get<std::string>(), HasSubstr("current"));
    }
  }
  EXPECT_THAT(names, UnorderedElementsAre("a-installed", "b-configured", "c-tested", "d-experiment"));
  EXPECT_THAT(current, UnorderedElementsAre("d-experiment"));
  EXPECT_THAT(
      drawn["edges"].get<std::vector<std::string>>(),
      UnorderedElementsAre("a-installed>b-configured", "b-configured>c-tested", "b-configured>d-experiment"));

  const fs::path out = outputDir();
  const auto saveScreenshot = [&](const std::string& name) {
    auto png = browser.screenshot();
    ASSERT_TRUE(png) << browser.lastError();
    ASSERT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    std::ofstream(out / name, std::ios::binary) << *png;
    std::cout << "tree page screenshot: " << (out / name).string() << std::endl;
  };
  saveScreenshot("tree.png");

  // The same page stays open (marked, so a reload would show) while the tree changes: back to
  // a-installed, then a new snapshot there, a second branch under the root.
  ASSERT_TRUE(browser.evaluate("window.virtsnapTestMark = 'same page'; true")) << browser.lastError();
  const auto changed = std::chrono::steady_clock::now();
  std::ofstream(dir_ / "change.yaml")
      << "apiVersion: virtsnap.io/v1alpha1\nkind: SnapshotRevert\nmetadata:\n  name: back-to-installed\n"
         "  namespace: quickstart\nspec:\n  domainName: demo\n  snapshotName: a-installed\n";
  auto run = kubectl("apply -f '" + (dir_ / "change.yaml").string() + "'");
  ASSERT_EQ(run.exitCode, 0) << run.output;
  waitFor("--for=jsonpath={.status.phase}=Succeeded snapshotrevert/back-to-installed");
  std::ofstream(dir_ / "change.yaml")
      << "apiVersion: virtsnap.io/v1alpha1\nkind: Snapshot\nmetadata:\n  name: e-fresh-start\n"
         "  namespace: quickstart\nspec:\n  domainName: demo\n";
  run = kubectl("apply -f '" + (dir_ / "change.yaml").string() + "'");
  ASSERT_EQ(run.exitCode, 0) << run.output;
  ASSERT_TRUE(testsupport::eventually(
      [&] {
        if (!readPage().is_object() || drawn["nodes"].size() != 5) {
          return false;
        }
        for (const auto& node : drawn["nodes"]) {
          if (node["name"] == "e-fresh-start") {
            return node["current"] == true && node["marked"] == true && node["phase"] == "Ready";
          }
        }
        return false;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(100)))
      << drawn.dump(2);
  const auto shown = std::chrono::steady_clock::now();
  EXPECT_EQ(browser.evaluate("window.virtsnapTestMark"), json("same page"));
  current.clear();
  for (const auto& node : drawn["nodes"]) {
    if (node["current"] == true || node["marked"] == true) {
      current.push_back(node["name"]);
    }
  }
  EXPECT_THAT(current, UnorderedElementsAre("e-fresh-start"));
  EXPECT_THAT(drawn["edges"].get<std::vector<std::string>>(),
              UnorderedElementsAre("a-installed>b-configured", "b-configured>c-tested",
                                   "b-configured>d-experiment", "a-installed>e-fresh-start"));
  saveScreenshot("tree-after-change.png");
  browser.close();

  const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::cout << "tree page: agent and quick start " << ms(browserStarted - started)
            << " ms, change applied to "
            << "shown on the open page " << ms(shown - changed) << " ms, whole test "
            << ms(std::chrono::steady_clock::now() - started) << " ms" << std::endl;
}

TEST_F(TreePage, NoWebUiLeavesOnlyTheProbes) {
  startAgent({"--no-web-ui"});
  EXPECT_EQ(testsupport::httpGet(port_, "/healthz").status, 200);
  for (const std::string path : {"/tree", "/tree.js", "/tree.css", "/tree.json"}) {
    EXPECT_EQ(testsupport::httpGet(port_, path).status, 404) << path;
  }
  EXPECT_THAT(agent_->output(), ::testing::Not(HasSubstr("snapshot trees on")));
}

}  // namespace
}  // namespace virtsnap
