// Kubeconfig and in-cluster configuration, and token files that rotate, on temporary files.

#include "controller/kube/kube_config.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/apiserver/http/kubeconfig_writer.h"
#include "controller/apiserver/http/server_credentials.h"
#include "controller/apiserver/http/tls_certificates.h"
#include "tests/support/fake_clock.h"

namespace virtsnap::kube {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string kCaPem = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
// base64 of kCaPem
const std::string kCaData =
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K";

class KubeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("virtsnap-kubeconfig-" + std::to_string(random()) + std::to_string(random()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
  }

  // A getenv over a fixed map.
  static Getenv environment(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
      auto it = values.find(name);
      return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  }

  static std::string tokenOf(const ClusterConfig& config) {
    if (!config.tokenSource) {
      return "<none>";
    }
    auto token = config.tokenSource->token();
    return token ? token.value() : "<error: " + token.error().message + ">";
  }

  std::string simple(const std::string& clusterExtra = "", const std::string& userExtra = "  token: abc\n") {
    return "apiVersion: v1\nkind: Config\ncurrent-context: main\n"
           "clusters:\n- name: c\n  cluster:\n    server: https://10.1.2.3:6443\n" +
           clusterExtra + "users:\n- name: u\n  user:\n" + userExtra +
           "contexts:\n- name: main\n  context:\n    cluster: c\n    user: u\n    namespace: vms\n";
  }

  fs::path dir_;
};

TEST_F(KubeConfigTest, LoadsTheKubeconfigTheEmbeddedApiServerWrites) {
  const fs::path path = dir_ / "kubeconfig";
  ASSERT_TRUE(apiserver::writeKubeconfig(path, "https://127.0.0.1:38123", "t0ken", kCaPem).has_value());
  auto config = loadKubeconfig({path});
  ASSERT_TRUE(config.has_value()) << config.error();
  EXPECT_EQ(config.value().server, "https://127.0.0.1:38123");
  EXPECT_EQ(config.value().caPem, kCaPem);
  EXPECT_FALSE(config.value().insecureSkipTlsVerify);
  EXPECT_EQ(tokenOf(config.value()), "t0ken");
  EXPECT_EQ(config.value().ns, "default");
  EXPECT_THAT(config.value().origin, HasSubstr("context virtsnap"));
}

// The API server restarted on the same data keeps its token and TLS material: the kubeconfigs written
// for the first run still reach the second.
TEST_F(KubeConfigTest, TheApiServersCredentialsSurviveItsRestart) {
  const fs::path file = dir_ / "credentials.json";
  auto first = apiserver::loadOrMakeServerCredentials(file);
  ASSERT_TRUE(first.has_value()) << first.error();
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_THAT(first.value().tls.caCertificatePem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(first.value().tls.privateKeyPem, HasSubstr("PRIVATE KEY"));
  auto second = apiserver::loadOrMakeServerCredentials(file);
  ASSERT_TRUE(second.has_value()) << second.error();
  EXPECT_EQ(second.value().token, first.value().token);
  EXPECT_EQ(second.value().tls.caCertificatePem, first.value().tls.caCertificatePem);
  EXPECT_EQ(second.value().tls.certificatePem, first.value().tls.certificatePem);
  EXPECT_EQ(second.value().tls.privateKeyPem, first.value().tls.privateKeyPem);
  // Another data directory: credentials of its own.
  auto other = apiserver::loadOrMakeServerCredentials(dir_ / "other.json");
  ASSERT_TRUE(other.has_value()) << other.error();
  EXPECT_NE(other.value().token, first.value().token);
  // A damaged file is refused, not replaced behind its clients' backs.
  std::ofstream(dir_ / "damaged.json") << "{\"token\": \"t\"}";
  fs::permissions(dir_ / "damaged.json", fs::perms::owner_read | fs::perms::owner_write);
  auto damaged = apiserver::loadOrMakeServerCredentials(dir_ / "damaged.json");
  ASSERT_FALSE(damaged.has_value());
  EXPECT_THAT(damaged.error(), HasSubstr("does not hold"));
}

// Kept certificates are made again before they lapse (they are valid for a year), the token kept; a
// credentials file others may read is refused and left as it is.
TEST_F(KubeConfigTest, TheApiServersKeptCertificatesAreRenewedBeforeTheyLapse) {
  const fs::path file = dir_ / "credentials.json";
  auto first = apiserver::loadOrMakeServerCredentials(file);
  ASSERT_TRUE(first.has_value()) << first.error();
  auto expiring =
      apiserver::certificateExpiresWithin(first.value().tls.certificatePem, std::chrono::hours(24));
  ASSERT_TRUE(expiring.has_value()) << expiring.error();
  EXPECT_FALSE(expiring.value());
  expiring =
      apiserver::certificateExpiresWithin(first.value().tls.certificatePem, std::chrono::hours(24 * 400));
  ASSERT_TRUE(expiring.has_value());
  EXPECT_TRUE(expiring.value());
  EXPECT_FALSE(apiserver::certificateExpiresWithin("not a certificate", std::chrono::hours(1)).has_value());

  // Within 400 days of lapsing (every certificate of a year is): new TLS material, saved, same token.
  auto renewed = apiserver::loadOrMakeServerCredentials(file, std::chrono::hours(24 * 400));
  ASSERT_TRUE(renewed.has_value()) << renewed.error();
  EXPECT_EQ(renewed.value().token, first.value().token);
  EXPECT_NE(renewed.value().tls.certificatePem, first.value().tls.certificatePem);
  EXPECT_NE(renewed.value().tls.caCertificatePem, first.value().tls.caCertificatePem);
  auto again = apiserver::loadOrMakeServerCredentials(file);
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_EQ(again.value().tls.certificatePem, renewed.value().tls.certificatePem);
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));

  fs::permissions(file, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  auto exposed = apiserver::loadOrMakeServerCredentials(file);
  ASSERT_FALSE(exposed.has_value());
  EXPECT_THAT(exposed.error(), HasSubstr("chmod 600"));
  EXPECT_NE(fs::status(file).permissions() & fs::perms::others_read, fs::perms::none) << "left as it was";
}

TEST_F(KubeConfigTest, ReadsInlineDataAndTheContextNamespace) {
  const std::string user =
      "    client-certificate-data: " + kCaData + "\n    client-key-data: " + kCaData + "\n";
  auto config =
      loadKubeconfig({write("config", simple("    certificate-authority-data: " + kCaData + "\n", user))});
  ASSERT_TRUE(config.has_value()) << config.error();
  EXPECT_EQ(config.value().caPem, kCaPem);
  EXPECT_EQ(config.value().clientCertificatePem, kCaPem);
  EXPECT_EQ(config.value().clientKeyPem, kCaPem);
  EXPECT_EQ(config.value().tokenSource, nullptr);
  EXPECT_EQ(config.value().ns, "vms");
}

TEST_F(KubeConfigTest, FilesAreRelativeToTheKubeconfigsFolder) {
  write("conf/certs/ca.crt", kCaPem);
  write("conf/certs/client.crt", "CERT");
  write("conf/certs/client.key", "KEY");
  write("conf/token", "from-file\n");
  const std::string user =
      "    client-certificate: certs/client.crt\n    client-key: certs/client.key\n"
      "    tokenFile: token\n";
  auto config =
      loadKubeconfig({write("conf/config", simple("    certificate-authority: certs/ca.crt\n", user))});
  ASSERT_TRUE(config.has_value()) << config.error();
  EXPECT_EQ(config.value().caPem, kCaPem);
  EXPECT_EQ(config.value().clientCertificatePem, "CERT");
  EXPECT_EQ(config.value().clientKeyPem, "KEY");
  EXPECT_EQ(tokenOf(config.value()), "from-file");
}

TEST_F(KubeConfigTest, ANamedContextWinsOverTheCurrentOne) {
  const std::string two =
      "apiVersion: v1\ncurrent-context: main\n"
      "clusters:\n- name: c\n  cluster:\n    server: https://one\n"
      "- name: c2\n  cluster:\n    server: https://two\n    insecure-skip-tls-verify: true\n"
      "contexts:\n- name: main\n  context:\n    cluster: c\n"
      "- name: other\n  context:\n    cluster: c2\n";
  auto current = loadKubeconfig({write("config", two)});
  ASSERT_TRUE(current.has_value()) << current.error();
  EXPECT_EQ(current.value().server, "https://one");
  auto other = loadKubeconfig({dir_ / "config"}, "other");
  ASSERT_TRUE(other.has_value()) << other.error();
  EXPECT_EQ(other.value().server, "https://two");
  EXPECT_TRUE(other.value().insecureSkipTlsVerify);
  EXPECT_EQ(other.value().tokenSource, nullptr);  // a context without a user
}

TEST_F(KubeConfigTest, ProblemsAreClearMessages) {
  struct Case {
    std::string text;
    std::string context;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases = {
      {simple(), "nope", {"context \"nope\" is not defined"}},
      {"clusters: []\ncontexts: []\n", "", {"no current-context"}},
      {"current-context: x\ncontexts:\n- name: x\n  context:\n    cluster: gone\n",
       "",
       {"cluster \"gone\"", "not defined"}},
      {"current-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://a\n"
       "contexts:\n- name: x\n  context:\n    cluster: c\n    user: who\n",
       "",
       {"user \"who\"", "not defined"}},
      {simple("    certificate-authority-data: '%%%not base64'\n"),
       "",
       {"cluster \"c\"", "not valid base64"}},
      {simple("    certificate-authority: /nonexistent/ca.crt\n"), "", {"/nonexistent/ca.crt"}},
      {simple("    insecure-skip-tls-verify: true\n    certificate-authority-data: " + kCaData + "\n"),
       "",
       {"insecure-skip-tls-verify", "not allowed"}},
      {simple("    insecure-skip-tls-verify: maybe\n"), "", {"insecure-skip-tls-verify", "maybe"}},
      {simple("", "    client-certificate-data: " + kCaData + "\n"), "", {"client-key", "missing"}},
      {simple("", "    tokenFile: /nonexistent/token\n"), "", {"user \"u\"", "/nonexistent/token"}},
      {simple("", "    exec:\n      command: aws\n"), "", {"exec", "not support"}},
      {"clusters: [unclosed\n", "", {"not valid YAML"}},
      {"- just\n- a list\n", "", {"not a kubeconfig"}},
      {"current-context: x\nclusters:\n- name: c\n  cluster: {}\ncontexts:\n- name: x\n  context:\n    "
       "cluster: c\n",
       "",
       {"has no server"}},
  };
  for (const Case& c : cases) {
    auto config = loadKubeconfig({write("config", c.text)}, c.context);
    ASSERT_FALSE(config.has_value()) << c.text;
    for (const std::string& mention : c.mentions) {
      EXPECT_THAT(config.error(), HasSubstr(mention)) << c.text;
    }
  }
  auto missing = loadKubeconfig({dir_ / "absent"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error(), AllOf(HasSubstr("absent"), HasSubstr("No such file")));
}

TEST_F(KubeConfigTest, KubeconfigListsMergeWithTheFirstDefinitionWinning) {
  const fs::path first = write("first",
                               "clusters:\n- name: c\n  cluster:\n    server: https://first\n"
                               "users:\n- name: u\n  user:\n    token: first-token\n");
  const fs::path second = write("second",
                                "current-context: x\n"
                                "clusters:\n- name: c\n  cluster:\n    server: https://second\n"
                                "users:\n- name: u\n  user:\n    token: second-token\n"
                                "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n");
  ConfigSearch search;
  search.getenv =
      environment({{"KUBECONFIG", (dir_ / "missing").string() + ":" + first.string() + ":" + second.string()},
                   {"HOME", "/nowhere"}});
  auto config = loadClusterConfig(search);
  ASSERT_TRUE(config.has_value()) << config.error();
  EXPECT_EQ(config.value().server, "https://first");
  EXPECT_EQ(tokenOf(config.value()), "first-token");

  search.getenv = environment({{"KUBECONFIG", (dir_ / "missing").string()}});
  auto none = loadClusterConfig(search);
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error(), HasSubstr("KUBECONFIG"));
}

TEST_F(KubeConfigTest, TheSearchOrderIsFlagThenKubeconfigThenInClusterThenHome) {
  const fs::path flag = write("flag", simple());
  const fs::path env = write("env",
                             "current-context: e\nclusters:\n- name: c\n  cluster:\n    server: https://env\n"
                             "contexts:\n- name: e\n  context:\n    cluster: c\n");
  write("home/.kube/config",
        "current-context: h\nclusters:\n- name: c\n  cluster:\n    server: https://home\n"
        "contexts:\n- name: h\n  context:\n    cluster: c\n");
  const fs::path account = dir_ / "serviceaccount";
  write("serviceaccount/token", "pod-token\n");
  write("serviceaccount/ca.crt", kCaPem);
  write("serviceaccount/namespace", "virtsnap-system");
  std::map<std::string, std::string> values{{"KUBECONFIG", env.string()},
                                            {"HOME", (dir_ / "home").string()},
                                            {"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  ConfigSearch search;
  search.serviceAccountRoot = account;
  search.kubeconfigFlag = flag.string();
  search.getenv = environment(values);
  EXPECT_EQ(loadClusterConfig(search).value().server, "https://10.1.2.3:6443");
  search.kubeconfigFlag.clear();
  EXPECT_EQ(loadClusterConfig(search).value().server, "https://env");
  values.erase("KUBECONFIG");
  search.getenv = environment(values);
  auto inCluster = loadClusterConfig(search);
  ASSERT_TRUE(inCluster.has_value()) << inCluster.error();
  EXPECT_EQ(inCluster.value().server, "https://10.96.0.1:443");
  EXPECT_EQ(inCluster.value().origin, "in-cluster");
  values.erase("KUBERNETES_SERVICE_HOST");
  search.getenv = environment(values);
  EXPECT_EQ(loadClusterConfig(search).value().server, "https://home");
  values.erase("HOME");
  search.getenv = environment(values);
  auto nothing = loadClusterConfig(search);
  ASSERT_FALSE(nothing.has_value());
  EXPECT_THAT(nothing.error(), HasSubstr("no configuration found"));
}

TEST_F(KubeConfigTest, InClusterReadsTheServiceAccount) {
  write("sa/token", "pod-token\n");
  write("sa/ca.crt", kCaPem);
  write("sa/namespace", "virtsnap-system\n");
  InClusterOptions options;
  options.root = dir_ / "sa";
  options.getenv = environment({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "6443"}});
  auto config = loadInClusterConfig(options);
  ASSERT_TRUE(config.has_value()) << config.error();
  EXPECT_EQ(config.value().server, "https://[fd00::1]:6443");
  EXPECT_EQ(config.value().caPem, kCaPem);
  EXPECT_EQ(tokenOf(config.value()), "pod-token");
  EXPECT_EQ(config.value().ns, "virtsnap-system");

  fs::remove(dir_ / "sa" / "token");
  auto noToken = loadInClusterConfig(options);
  ASSERT_FALSE(noToken.has_value());
  EXPECT_THAT(noToken.error(), HasSubstr("token"));

  options.getenv = environment({});
  auto outside = loadInClusterConfig(options);
  ASSERT_FALSE(outside.has_value());
  EXPECT_THAT(outside.error(), HasSubstr("KUBERNETES_SERVICE_HOST"));
}

TEST_F(KubeConfigTest, ATokenFileIsReReadWhenItChanges) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  const fs::path path = write("token", "one\n");
  const auto firstTime = fs::last_write_time(path);
  TokenSourcePtr source = fileTokenSource(path, clock);
  EXPECT_EQ(source->token().value(), "one");

  write("token", "two\n");
  fs::last_write_time(path, firstTime + std::chrono::seconds(5));  // rotated: a new modification time
  EXPECT_EQ(source->token().value(), "two");
}

TEST_F(KubeConfigTest, ATokenFileIsReReadOnceAMinuteEvenWithTheSameModificationTime) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  const fs::path path = write("token", "one\n");
  const auto sameTime = fs::last_write_time(path);
  TokenSourcePtr source = fileTokenSource(path, clock);
  EXPECT_EQ(source->token().value(), "one");
  write("token", "two\n");
  fs::last_write_time(path, sameTime);
  clock->advance(std::chrono::seconds(59));
  EXPECT_EQ(source->token().value(), "one");  // cached
  clock->advance(std::chrono::seconds(1));
  EXPECT_EQ(source->token().value(), "two");
}

TEST_F(KubeConfigTest, ATokenFileThatDisappearsKeepsTheLastGoodToken) {
  auto clock = std::make_shared<testsupport::FakeClock>();
  const fs::path path = write("token", "one\n");
  TokenSourcePtr source = fileTokenSource(path, clock);
  EXPECT_EQ(source->token().value(), "one");
  fs::remove(path);
  clock->advance(std::chrono::minutes(5));
  EXPECT_EQ(source->token().value(), "one");

  TokenSourcePtr never = fileTokenSource(dir_ / "absent", clock);
  auto failed = never->token();
  ASSERT_FALSE(failed.has_value());
  EXPECT_THAT(failed.error().message, HasSubstr("absent"));
  write("empty", "\n");
  EXPECT_THAT(fileTokenSource(dir_ / "empty", clock)->token().error().message, HasSubstr("empty"));
}

}  // namespace
}  // namespace virtsnap::kube
