// Bodies built to hurt the embedded API server, sent over its real HTTP front end with curl: a YAML
// alias bomb, nesting deep enough to exhaust a recursive parser, invalid UTF-8 in YAML and JSON, a
// body over kube's 3 MiB limit. Each must get a 4xx metav1.Status quickly, and this process (the
// server) must not grow by more than a bound while answering it: its peak RSS is reset before each
// request (/proc/self/clear_refs) and read afterwards (VmHWM).

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/apiserver/validation/request_body.h"
#include "tests/support/served_api.h"
#include "tests/support/shell_command.h"

namespace virtsnap::apiserver {
namespace {

using ::testing::HasSubstr;

constexpr long kMemoryBoundKb = 64 * 1024;  // what one refused request may add to the peak RSS
constexpr double kAnswerBoundSeconds = 5;   // "quickly", with room for a loaded two-core machine

long statusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}

struct Answer {
  int code = 0;
  double seconds = 0;
  nlohmann::json body;
  long peakGrowthKb = 0;
};

class HostileBodies : public testsupport::ServedApiTest {
 protected:
  void SetUp() override { serve(/*https=*/false); }

  Answer send(const std::string& method, const std::string& path, const std::string& contentType,
              const std::string& body) {
    const auto bodyFile = dir_ / "body";
    const auto answerFile = dir_ / "answer";
    std::ofstream(bodyFile, std::ios::binary) << body;
    // Peak RSS back to the current RSS, so VmHWM afterwards is this request's peak.
    std::ofstream("/proc/self/clear_refs") << "5";
    const long before = statusKb("VmHWM");
    const auto run = virtsnap::testsupport::runShell(
        "curl -s -o " + answerFile.string() + " -w '%{http_code} %{time_total}' -X " + method +
        " -H 'Expect:' -H 'Content-Type: " + contentType + "' --data-binary @" + bodyFile.string() + " '" +
        server_->url() + path + "'");
    Answer answer;
    answer.peakGrowthKb = statusKb("VmHWM") - before;
    std::istringstream(run.output) >> answer.code >> answer.seconds;
    std::ifstream in(answerFile, std::ios::binary);
    answer.body = nlohmann::json::parse(in, nullptr, false);
    std::cout << method << " " << contentType << " (" << body.size() << " bytes): " << answer.code << " in "
              << answer.seconds << " s, peak RSS +" << answer.peakGrowthKb << " KiB\n";
    return answer;
  }

  // A 4xx metav1.Status with `code`, quickly and within the memory bound.
  static void expectRefused(const Answer& answer, int code, const std::string& message) {
    EXPECT_EQ(answer.code, code);
    ASSERT_TRUE(answer.body.is_object()) << "the answer is not a JSON Status";
    EXPECT_EQ(answer.body.value("kind", ""), "Status");
    EXPECT_EQ(answer.body.value("code", 0), code);
    EXPECT_THAT(answer.body.value("message", ""), HasSubstr(message));
    EXPECT_LT(answer.seconds, kAnswerBoundSeconds);
    EXPECT_LT(answer.peakGrowthKb, kMemoryBoundKb);
  }

  const std::string domains_ = "/apis/virtsnap.io/v1alpha1/namespaces/default/domains";
};

// Nine lists of nine aliases, nested nine deep: 9^9 (387 million) strings once expanded, from 500 bytes.
std::string aliasBomb() {
  std::string text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    const std::string previous(1, static_cast<char>(level - 1));
    text += std::string(1, level) + ": &" + level + " [";
    for (int i = 0; i < 9; ++i) {
      text += (i ? ",*" : "*") + previous;
    }
    text += "]\n";
  }
  return text;
}

TEST_F(HostileBodies, AYamlAliasBombIsRefusedAsExcessiveAliasing) {
  const std::string bomb = aliasBomb();
  ASSERT_LT(bomb.size(), 1024U);
  expectRefused(send("POST", domains_, "application/yaml", bomb), 400, "excessive aliasing");
  // The same through server-side apply, which reads YAML too.
  expectRefused(send("PATCH", domains_ + "/web-01?fieldManager=test", "application/apply-patch+yaml", bomb),
                400, "excessive aliasing");
}

TEST_F(HostileBodies, DeeplyNestedYamlIsRefused) {
  // Flow style, far deeper than yaml-cpp's own recursion guard (a few hundred levels).
  expectRefused(
      send("POST", domains_, "application/yaml", std::string(100000, '[') + std::string(100000, ']')), 400,
      "nests deeper than");
  // Block style, just past it.
  std::string block;
  for (int depth = 0; depth < 600; ++depth) {
    block += std::string(2 * depth, ' ') + "a:\n";
  }
  expectRefused(send("POST", domains_, "application/yaml", block), 400, "nests deeper than");
}

TEST_F(HostileBodies, DeeplyNestedJsonIsRefused) {
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  expectRefused(send("POST", domains_, "application/json", deep), 400, "deeper than");
  ASSERT_EQ(send("POST", domains_, "application/json",
                 R"({"apiVersion":"virtsnap.io/v1alpha1","kind":"Domain","metadata":{"name":"web-01"},)"
                 R"("spec":{"nodeName":"worker-1"}})")
                .code,
            201);
  expectRefused(send("PATCH", domains_ + "/web-01", "application/merge-patch+json",
                     "{\"spec\":" + std::string(100000, '[') + std::string(100000, ']') + "}"),
                400, "deeper than");
}

TEST_F(HostileBodies, InvalidUtf8IsABadRequestInBothEncodings) {
  const std::string invalid = "\xff\xfe\xc0\xaf";
  expectRefused(send("POST", "/api/v1/namespaces", "application/yaml",
                     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bad\n  labels:\n    a: \"" +
                         invalid + "\"\n"),
                400, "UTF-8");
  expectRefused(send("POST", "/api/v1/namespaces", "application/json",
                     R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bad","labels":{"a":")" +
                         invalid + R"("}}})"),
                400, "UTF-8");
  // In the URL, the name is quoted back in a NotFound Status that must still be written.
  expectRefused(send("GET", "/api/v1/namespaces/%FF%FE", "application/json", ""), 404, "not found");
}

TEST_F(HostileBodies, ABodyOverThreeMebibytesIsRefusedUnread) {
  const std::string big = "{\"a\":\"" + std::string(4 * 1024 * 1024, 'x') + "\"}";
  expectRefused(send("POST", domains_, "application/json", big), 413, "Request entity too large");
}

}  // namespace
}  // namespace virtsnap::apiserver
