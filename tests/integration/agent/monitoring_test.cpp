// The agent's metrics and probes as Prometheus and a kubelet see them, and deploy/monitoring/ against
// them. One real virtsnap-controller (standalone: embedded API server, libvirt's test driver) for the
// whole suite reconciles a Domain with three Snapshots; then:
//  - `promtool check metrics` is clean on a live /metrics scrape, and every family the agent promises
//    is there with the values that Domain and its Snapshots imply (a deleted Snapshot leaves the count);
//  - /healthz and /readyz answer with each check named;
//  - every alert and dashboard expression parses (`promtool check rules`) and names only metrics the
//    scrape has; the alerts' unit tests pass (`promtool test rules`).
// promtool: $VIRTSNAP_PROMTOOL (scripts/test.sh sets it to what scripts/setup.sh unpacked), else
// /opt/virtsnap/promtool/usr/bin/promtool, else promtool on PATH. Missing, these tests fail under CI=true
// and are skipped (saying why) elsewhere.

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crds/meta/yaml_json.h"
#include "tests/support/agent_process.h"
#include "tests/support/apiserver_process.h"
#include "tests/support/eventually.h"
#include "tests/support/shell_command.h"

namespace virtsnap {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kNode = "metrics-node";

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string shellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

// The promtool to run, or empty.
std::string findPromtool() {
  if (const char* configured = std::getenv("VIRTSNAP_PROMTOOL"); configured != nullptr && *configured != 0) {
    return fs::exists(configured) ? configured : "";
  }
  if (fs::exists("/opt/virtsnap/promtool/usr/bin/promtool")) {
    return "/opt/virtsnap/promtool/usr/bin/promtool";
  }
  auto found = testsupport::runShell("command -v promtool");
  return found.exitCode == 0 ? found.output.substr(0, found.output.find('\n')) : "";
}

constexpr const char* kPromtoolMissing =
    "promtool not found: scripts/setup.sh (as root) unpacks it to /opt/virtsnap/promtool, scripts/test.sh "
    "sets VIRTSNAP_PROMTOOL";

bool underCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// One sample of a scrape: name, labels, value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> parseScrape(const std::string& text) {
  std::vector<Sample> samples;
  std::istringstream lines(text);
  std::string line;
  static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    Sample sample;
    const auto nameEnd = line.find_first_of("{ ");
    sample.name = line.substr(0, nameEnd);
    std::string rest = line.substr(nameEnd);
    if (!rest.empty() && rest[0] == '{') {
      const auto close = rest.rfind('}');
      const std::string labels = rest.substr(1, close - 1);
      for (std::sregex_iterator it(labels.begin(), labels.end(), kLabel), end; it != end; ++it) {
        sample.labels[(*it)[1]] = (*it)[2];
      }
      rest = rest.substr(close + 1);
    }
    sample.value = std::strtod(rest.c_str(), nullptr);
    samples.push_back(std::move(sample));
  }
  return samples;
}

// The sum of the samples named `name` whose labels include `labels`; nullopt when none is there.
std::optional<double> sumOf(const std::vector<Sample>& samples, const std::string& name,
                            const std::map<std::string, std::string>& labels = {}) {
  std::optional<double> sum;
  for (const auto& sample : samples) {
    if (sample.name != name) {
      continue;
    }
    bool matches = true;
    for (const auto& [key, value] : labels) {
      auto it = sample.labels.find(key);
      matches = matches && it != sample.labels.end() && it->second == value;
    }
    if (matches) {
      sum = sum.value_or(0) + sample.value;
    }
  }
  return sum;
}

// The metric names a PromQL expression reads: identifiers outside strings, label matchers, ranges and
// grouping clauses that are neither functions (followed by '(') nor PromQL keywords.
std::set<std::string> metricNamesIn(std::string expr) {
  static const std::regex kStrings(R"re("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')re");
  static const std::regex kMatchers(R"(\{[^}]*\})");
  static const std::regex kRanges(R"(\[[^\]]*\])");
  static const std::regex kGrouping(R"(\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\))");
  static const std::regex kIdentifier(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?)");
  static const std::set<std::string> kKeywords{"and",         "or",      "unless", "bool",     "offset",
                                               "by",          "without", "on",     "ignoring", "group_left",
                                               "group_right", "inf",     "nan"};
  expr = std::regex_replace(expr, kStrings, " ");
  expr = std::regex_replace(expr, kMatchers, " ");
  expr = std::regex_replace(expr, kRanges, " ");
  expr = std::regex_replace(expr, kGrouping, " ");
  std::set<std::string> names;
  for (std::sregex_iterator it(expr.begin(), expr.end(), kIdentifier), end; it != end; ++it) {
    const std::string name = (*it)[1];
    const bool function = (*it)[2].matched;
    // A digit run's tail (1e3, 5m) starts with a digit before it: skip identifiers glued to digits.
    const auto at = static_cast<std::size_t>(it->position(1));
    const bool afterDigit =
        at > 0 && (std::isdigit(static_cast<unsigned char>(expr[at - 1])) || expr[at - 1] == '.');
    if (!function && !afterDigit && !kKeywords.contains(name)) {
      names.insert(name);
    }
  }
  return names;
}

class AgentMonitoring : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::random_device random;
    suiteDir = new fs::path(fs::temp_directory_path() /
                            ("virtsnap-monitoring-" + std::to_string(random()) + std::to_string(random())));
    fs::create_directories(*suiteDir);
    metricsPort = testsupport::freeLoopbackPort();
    healthPort = testsupport::freeLoopbackPort();
    suiteAgent = new testsupport::AgentProcess(VIRTSNAP_CONTROLLER_BINARY, *suiteDir / "agent.log");
    const bool started = suiteAgent->start(
        {"--standalone", "--data-dir", (*suiteDir / "data").string(), "--crd-dir",
         std::string(VIRTSNAP_SOURCE_DIR) + "/crds", "--node-name", kNode, "--metrics-bind-address",
         "127.0.0.1:" + std::to_string(metricsPort), "--health-probe-bind-address",
         "127.0.0.1:" + std::to_string(healthPort), "--poll-period", "1"});
    if (!started) {
      setUpProblem = new std::string("cannot start " VIRTSNAP_CONTROLLER_BINARY);
      return;
    }
    auto fail = [](const std::string& problem) {
      setUpProblem = new std::string(problem + "\n--- agent output ---\n" + suiteAgent->output());
    };
    if (!testsupport::eventually([] { return fs::exists(*suiteDir / "data" / "kubeconfig"); },
                                 std::chrono::seconds(30)) ||
        !testsupport::eventually([] { return kubectl("get namespaces").exitCode == 0; },
                                 std::chrono::seconds(30))) {
      return fail("the standalone API did not come up");
    }
    std::string manifests =
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vms\n---\n"
        "apiVersion: virtsnap.io/v1alpha1\nkind: Domain\nmetadata:\n  name: web\n  namespace: vms\nspec:\n"
        "  nodeName: " +
        std::string(kNode) +
        "\n  type: test\n  vcpus: 1\n  memory: 64Mi\n  os:\n    arch: i686\n"
        "  disks:\n    - name: vda\n      create:\n        size: 1Gi\n";
    for (const char* snapshot : {"s1", "s2", "s3"}) {
      manifests += std::string("---\napiVersion: virtsnap.io/v1alpha1\nkind: Snapshot\nmetadata:\n  name: ") +
                   snapshot + "\n  namespace: vms\nspec:\n  domainName: web\n";
    }
    if (auto applied = kubectl("apply -f -", manifests); applied.exitCode != 0) {
      return fail("kubectl apply: " + applied.output);
    }
    auto ready = kubectl(
        "wait --for=condition=Ready --timeout=90s -n vms domain/web snapshot/s1 snapshot/s2 snapshot/s3");
    if (ready.exitCode != 0) {
      return fail("not Ready: " + ready.output);
    }
  }

  static void TearDownTestSuite() {
    if (suiteAgent != nullptr) {
      suiteAgent->kill();
      delete suiteAgent;
      suiteAgent = nullptr;
    }
    std::error_code ignored;
    fs::remove_all(*suiteDir, ignored);
    delete suiteDir;
    suiteDir = nullptr;
    delete setUpProblem;
    setUpProblem = nullptr;
  }

  void SetUp() override { ASSERT_EQ(setUpProblem, nullptr) << *setUpProblem; }

  void TearDown() override {
    if (HasFailure() && suiteAgent != nullptr) {
      std::cerr << "--- agent output ---\n" << suiteAgent->output() << "\n---\n";
    }
  }

  static testsupport::ShellResult kubectl(const std::string& args, const std::string& input = "") {
    const fs::path stdinFile = *suiteDir / "stdin.yaml";
    std::ofstream(stdinFile) << input;
    return testsupport::runShell("kubectl --kubeconfig " + (*suiteDir / "data" / "kubeconfig").string() +
                                 " --cache-dir " + (*suiteDir / "cache").string() + " " + args + " < " +
                                 stdinFile.string() + " 2>&1");
  }

  static std::string scrape() {
    auto answer = testsupport::httpGet(metricsPort, "/metrics");
    EXPECT_EQ(answer.status, 200) << answer.body;
    return answer.body;
  }

  // Every PromQL expression of deploy/monitoring: the alerts' and the dashboard's (its panels' targets,
  // and the metric its node variable reads).
  static std::vector<std::string> monitoringExpressions() {
    std::vector<std::string> expressions;
    const json rules = alertRules();
    for (const auto& group : rules["groups"]) {
      for (const auto& rule : group["rules"]) {
        expressions.push_back(rule["expr"].get<std::string>());
      }
    }
    const json dashboard =
        json::parse(readFile(fs::path(VIRTSNAP_SOURCE_DIR) / "deploy/monitoring/dashboard.json"));
    for (const auto& panel : dashboard["panels"]) {
      for (const auto& target : panel["targets"]) {
        expressions.push_back(target["expr"].get<std::string>());
      }
    }
    static const std::regex kLabelValues(R"(^label_values\((.+),\s*[a-zA-Z_]+\)$)");
    for (const auto& variable : dashboard["templating"]["list"]) {
      if (variable.value("type", "") != "query") {
        continue;
      }
      const std::string query = variable["query"]["query"].get<std::string>();
      std::smatch match;
      EXPECT_TRUE(std::regex_match(query, match, kLabelValues)) << query;
      if (!match.empty()) {
        expressions.push_back(match[1]);
      }
    }
    return expressions;
  }

  // The PrometheusRule's spec: the plain rule groups promtool reads.
  static json alertRules() {
    auto documents = meta::yamlDocumentsToJson(
        readFile(fs::path(VIRTSNAP_SOURCE_DIR) / "deploy/monitoring/prometheus-rule.yaml"));
    EXPECT_TRUE(documents.has_value()) << (documents ? "" : documents.error());
    if (!documents || documents->size() != 1) {
      return json{{"groups", json::array()}};
    }
    EXPECT_EQ((*documents)[0]["kind"], "PrometheusRule");
    return (*documents)[0]["spec"];
  }

  static inline fs::path* suiteDir = nullptr;
  static inline testsupport::AgentProcess* suiteAgent = nullptr;
  static inline std::string* setUpProblem = nullptr;
  static inline int metricsPort = 0;
  static inline int healthPort = 0;
};

TEST_F(AgentMonitoring, PromtoolFindsTheLiveScrapeCleanAndEveryFamilyIsThereWithItsValues) {
  const std::string tool = findPromtool();
  if (tool.empty()) {
    if (underCi()) {
      FAIL() << kPromtoolMissing;
    }
    GTEST_SKIP() << kPromtoolMissing;
  }
  // The Domain's polls (every second) and the Snapshots' status are in once each has been reconciled.
  std::vector<Sample> samples;
  ASSERT_TRUE(testsupport::eventually([&] {
    samples = parseScrape(scrape());
    return sumOf(samples, "virtsnap_snapshots", {{"phase", "Ready"}}) == 3.0 &&
           sumOf(samples, "virtsnap_last_successful_poll_timestamp_seconds").value_or(0) > 0;
  })) << scrape();
  const std::string text = scrape();
  const fs::path scrapeFile = *suiteDir / "scrape.txt";
  std::ofstream(scrapeFile) << text;
  auto checked =
      testsupport::runShell(shellQuote(tool) + " check metrics < " + scrapeFile.string() + " 2>&1");
  EXPECT_EQ(checked.exitCode, 0) << checked.output;
  EXPECT_EQ(checked.output, "") << "promtool check metrics found problems";

  samples = parseScrape(text);
  // controller-runtime's reconcile and work queue metrics, per controller.
  for (const char* controller : {"domain", "snapshot", "snapshotrevert"}) {
    EXPECT_TRUE(sumOf(samples, "controller_runtime_reconcile_total", {{"controller", controller}}))
        << controller;
    EXPECT_TRUE(sumOf(samples, "workqueue_depth", {{"name", controller}})) << controller;
  }
  EXPECT_GE(sumOf(samples, "controller_runtime_reconcile_total", {{"controller", "snapshot"}}).value_or(0),
            3.0);
  EXPECT_GE(sumOf(samples, "workqueue_adds_total", {{"name", "domain"}}).value_or(0), 1.0);
  EXPECT_TRUE(sumOf(samples, "workqueue_queue_duration_seconds_bucket"));
  // The REST client: the informers' lists and watches, the status writes; all answered.
  EXPECT_GE(sumOf(samples, "rest_client_requests_total", {{"method", "GET"}, {"code", "200"}}).value_or(0),
            3.0);
  EXPECT_GE(sumOf(samples, "rest_client_requests_total", {{"method", "PUT"}}).value_or(0), 3.0);
  EXPECT_GE(sumOf(samples, "rest_client_request_duration_seconds_count", {{"verb", "GET"}}).value_or(0), 3.0);
  // The Lease is held; no event was dropped.
  EXPECT_EQ(
      sumOf(samples, "leader_election_master_status", {{"name", std::string("virtsnap-agent-") + kNode}}),
      1.0);
  EXPECT_EQ(sumOf(samples, "event_recorder_events_dropped_total"), 0.0);
  EXPECT_GE(sumOf(samples, "event_recorder_events_total", {{"outcome", "created"}}).value_or(0), 3.0);
  // virtsnap's own: what was applied.
  EXPECT_EQ(sumOf(samples, "virtsnap_domains"), 1.0);
  EXPECT_EQ(sumOf(samples, "virtsnap_domains", {{"state", "Running"}}), 1.0);
  EXPECT_EQ(sumOf(samples, "virtsnap_snapshots"), 3.0);
  EXPECT_EQ(sumOf(samples, "virtsnap_snapshots", {{"phase", "Ready"}, {"location", "Internal"}}), 3.0);
  EXPECT_EQ(sumOf(samples, "virtsnap_snapshots", {{"phase", "Failed"}}), 0.0);
  EXPECT_EQ(sumOf(samples, "virtsnap_snapshot_deletions_blocked"), 0.0);
  EXPECT_TRUE(sumOf(samples, "virtsnap_snapshot_deletions_blocked", {{"reason", "ActiveExternalNotLeaf"}}));
  EXPECT_EQ(sumOf(samples, "virtsnap_unmanaged_snapshots"), 0.0);
  EXPECT_EQ(sumOf(samples, "virtsnap_metadata_recoveries_total", {{"result", "succeeded"}}), 0.0);
  EXPECT_EQ(sumOf(samples, "virtsnap_metadata_recoveries_total", {{"result", "failed"}}), 0.0);
  EXPECT_EQ(sumOf(samples, "virtsnap_hypervisor_operation_duration_seconds_count",
                  {{"operation", "create_snapshot"}, {"result", "success"}}),
            3.0);
  EXPECT_GE(sumOf(samples, "virtsnap_hypervisor_operation_duration_seconds_count",
                  {{"operation", "define_domain"}, {"result", "success"}})
                .value_or(0),
            1.0);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double lastPoll = sumOf(samples, "virtsnap_last_successful_poll_timestamp_seconds").value_or(0);
  EXPECT_LE(lastPoll, now + 1);
  EXPECT_GE(lastPoll, now - 60) << "the Domain is polled every second";

  // A deleted Snapshot leaves the count (gauges from the cache, not counted up and down).
  auto deleted = kubectl("delete -n vms snapshot/s3 --timeout=60s");
  ASSERT_EQ(deleted.exitCode, 0) << deleted.output;
  ASSERT_TRUE(testsupport::eventually([&] {
    return sumOf(parseScrape(scrape()), "virtsnap_snapshots") == 2.0;
  })) << scrape();
  samples = parseScrape(scrape());
  EXPECT_EQ(sumOf(samples, "virtsnap_snapshots", {{"phase", "Ready"}}), 2.0);
  EXPECT_EQ(sumOf(samples, "virtsnap_hypervisor_operation_duration_seconds_count",
                  {{"operation", "delete_snapshot"}, {"result", "success"}}),
            1.0);
}

TEST_F(AgentMonitoring, HealthAndReadinessNameEachCheck) {
  auto healthz = testsupport::httpGet(healthPort, "/healthz");
  EXPECT_EQ(healthz.status, 200);
  EXPECT_THAT(healthz.body, HasSubstr("[+]ping ok"));
  auto readyz = testsupport::httpGet(healthPort, "/readyz");
  EXPECT_EQ(readyz.status, 200) << readyz.body;
  for (const char* check :
       {"[+]leader-election ok", "[+]informer-sync ok", "[+]workers ok", "[+]libvirt ok"}) {
    EXPECT_THAT(readyz.body, HasSubstr(check));
  }
}

TEST_F(AgentMonitoring, AlertsAndDashboardParseAndReadOnlyExportedMetrics) {
  const std::string tool = findPromtool();
  if (tool.empty()) {
    if (underCi()) {
      FAIL() << kPromtoolMissing;
    }
    GTEST_SKIP() << kPromtoolMissing;
  }
  const fs::path work = *suiteDir / "rules";
  fs::create_directories(work);

  // The alerts as promtool reads them (JSON is YAML), checked, then their unit tests.
  const json rules = alertRules();
  ASSERT_FALSE(rules["groups"].empty());
  std::ofstream(work / "virtsnap-rules.yaml") << rules.dump(2);
  auto checked = testsupport::runShell(shellQuote(tool) + " check rules " +
                                       (work / "virtsnap-rules.yaml").string() + " 2>&1");
  EXPECT_EQ(checked.exitCode, 0) << checked.output;
  fs::copy_file(fs::path(VIRTSNAP_SOURCE_DIR) / "deploy/monitoring/tests/prometheus-rule-test.yaml",
                work / "prometheus-rule-test.yaml", fs::copy_options::overwrite_existing);
  auto tested = testsupport::runShell(shellQuote(tool) + " test rules " +
                                      (work / "prometheus-rule-test.yaml").string() + " 2>&1");
  EXPECT_EQ(tested.exitCode, 0) << tested.output;
  EXPECT_THAT(tested.output, HasSubstr("SUCCESS"));

  // Every expression (alerts and dashboard) as a recording rule: promtool parses them all.
  const std::vector<std::string> expressions = monitoringExpressions();
  ASSERT_EQ(expressions.size(), 19U) << "5 alerts, 13 panel targets, the node variable";
  json recorded = json::array();
  for (std::size_t i = 0; i < expressions.size(); ++i) {
    recorded.push_back({{"record", "virtsnap:expression_" + std::to_string(i)}, {"expr", expressions[i]}});
  }
  std::ofstream(work / "expressions.yaml")
      << json{{"groups", {{{"name", "expressions"}, {"rules", recorded}}}}}.dump(2);
  auto parsed = testsupport::runShell(shellQuote(tool) + " check rules " +
                                      (work / "expressions.yaml").string() + " 2>&1");
  EXPECT_EQ(parsed.exitCode, 0) << parsed.output;
  EXPECT_THAT(parsed.output, HasSubstr("SUCCESS: " + std::to_string(expressions.size()) + " rules found"));

  // Every metric they read is in a live scrape; `up` is Prometheus's own, per target.
  std::set<std::string> exported{"up"};
  for (const auto& sample : parseScrape(scrape())) {
    exported.insert(sample.name);
  }
  std::set<std::string> read;
  for (const auto& expression : expressions) {
    for (const auto& name : metricNamesIn(expression)) {
      read.insert(name);
      EXPECT_TRUE(exported.contains(name))
          << name << " (in " << expression << ") is not exported by the agent";
    }
  }
  // The extraction itself finds what the panels and alerts are about.
  for (const char* name :
       {"controller_runtime_reconcile_errors_total", "workqueue_depth",
        "virtsnap_hypervisor_operation_duration_seconds_bucket", "virtsnap_snapshots",
        "virtsnap_snapshot_deletions_blocked", "virtsnap_last_successful_poll_timestamp_seconds"}) {
    EXPECT_TRUE(read.contains(name)) << name;
  }
  EXPECT_FALSE(read.contains("sum"));
  EXPECT_FALSE(read.contains("node"));
}

}  // namespace
}  // namespace virtsnap
