#pragma once
// Real headless Chromium (Debian's chromium) for tests of web pages, driven through the DevTools
// protocol on a pipe (--remote-debugging-pipe: the browser reads commands on fd 3 and writes answers on
// fd 4, each a JSON message ended by a NUL byte), so one browser process can load a page once and be
// asked about its DOM again and again while the page runs its own scripts (polling, redrawing), and
// take screenshots of it. Every wait is bounded; the browser is closed (or killed) with the object.

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/eventually.h"

namespace virtsnap::testsupport {

// The chromium to run ($VIRTSNAP_CHROMIUM, else Debian's /usr/bin/chromium), or empty when there is none.
inline std::string findChromium() {
  std::vector<std::string> candidates;
  if (const char* configured = std::getenv("VIRTSNAP_CHROMIUM"); configured != nullptr && *configured != 0) {
    candidates.emplace_back(configured);
  }
  candidates.emplace_back("/usr/bin/chromium");
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

inline std::string decodeBase64(const std::string& text) {
  std::string bytes;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int value = -1;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+') {
      value = 62;
    } else if (c == '/') {
      value = 63;
    }
    if (value < 0) {
      continue;  // padding
    }
    buffer = (buffer << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return bytes;
}

class HeadlessChromium {
 public:
  HeadlessChromium() = default;
  ~HeadlessChromium() { close(); }
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  // Starts `binary` headless with a window of width x height; its own output goes to `log`. Empty on
  // success, else why not.
  std::optional<std::string> start(const std::string& binary, const std::filesystem::path& profile,
                                   const std::filesystem::path& log, int width, int height) {
    int toBrowser[2];
    int fromBrowser[2];
    if (::pipe2(toBrowser, O_CLOEXEC) != 0 || ::pipe2(fromBrowser, O_CLOEXEC) != 0) {
      return "pipe2 failed";
    }
    std::vector<std::string> argv{binary,
                                  "--headless",
                                  "--no-sandbox",
                                  "--disable-gpu",
                                  "--disable-dev-shm-usage",  // containers with a small /dev/shm
                                  "--hide-scrollbars",
                                  "--no-first-run",
                                  "--remote-debugging-pipe",
                                  "--user-data-dir=" + profile.string(),
                                  "--window-size=" + std::to_string(width) + "," + std::to_string(height),
                                  "about:blank"};
    std::vector<char*> raw;
    for (auto& argument : argv) {
      raw.push_back(argument.data());
    }
    raw.push_back(nullptr);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Out of the way of 3 and 4 first, then onto them (dup2 clears O_CLOEXEC on the copy).
      const int in = ::fcntl(toBrowser[0], F_DUPFD_CLOEXEC, 10);
      const int answers = ::fcntl(fromBrowser[1], F_DUPFD_CLOEXEC, 10);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      ::dup2(in, 3);
      ::dup2(answers, 4);
      ::close_range(5, ~0U, 0);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    ::close(out);
    ::close(toBrowser[0]);
    ::close(fromBrowser[1]);
    commands_ = toBrowser[1];
    answers_ = fromBrowser[0];
    if (pid_ < 0) {
      return "fork failed";
    }
    return std::nullopt;
  }

  // Opens `url` in a new tab and attaches to it: evaluate() and screenshot() then act on that tab.
  std::optional<std::string> open(const std::string& url) {
    auto target = call("Target.createTarget", {{"url", url}}, false);
    if (!target) {
      return "Target.createTarget: " + lastError_;
    }
    auto attached =
        call("Target.attachToTarget", {{"targetId", (*target)["targetId"]}, {"flatten", true}}, false);
    if (!attached) {
      return "Target.attachToTarget: " + lastError_;
    }
    session_ = (*attached)["sessionId"].get<std::string>();
    return std::nullopt;
  }

  // The value of a JavaScript expression in the page (JSON-able values only); nullopt when it threw or
  // the browser did not answer (lastError() says which).
  std::optional<nlohmann::json> evaluate(const std::string& expression) {
    auto result = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}}, true);
    if (!result) {
      return std::nullopt;
    }
    if (result->contains("exceptionDetails")) {
      lastError_ = (*result)["exceptionDetails"].dump();
      return std::nullopt;
    }
    return (*result)["result"].value("value", nlohmann::json());
  }

  // The tab as PNG bytes.
  std::optional<std::string> screenshot() {
    auto result = call("Page.captureScreenshot", {{"format", "png"}}, true);
    if (!result) {
      return std::nullopt;
    }
    return decodeBase64((*result)["data"].get<std::string>());
  }

  const std::string& lastError() const { return lastError_; }

  // Browser.close, then SIGKILL when it has not exited within a few seconds.
  void close() {
    if (pid_ <= 0) {
      return;
    }
    send("Browser.close", nlohmann::json::object(), false);
    const bool exited = eventually([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; },
                                   std::chrono::seconds(10), std::chrono::milliseconds(20));
    if (!exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
    ::close(commands_);
    ::close(answers_);
  }

 private:
  int send(const std::string& method, const nlohmann::json& params, bool inSession) {
    nlohmann::json message = {{"id", ++lastId_}, {"method", method}, {"params", params}};
    if (inSession) {
      message["sessionId"] = session_;
    }
    const std::string text = message.dump() + '\0';
    std::size_t written = 0;
    while (written < text.size()) {
      const ssize_t n = ::write(commands_, text.data() + written, text.size() - written);
      if (n <= 0) {
        return -1;
      }
      written += static_cast<std::size_t>(n);
    }
    return lastId_;
  }

  // Sends a command and waits (at most `limit`) for its answer, skipping events and other answers.
  std::optional<nlohmann::json> call(const std::string& method, const nlohmann::json& params, bool inSession,
                                     std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    const int id = send(method, params, inSession);
    if (id < 0) {
      lastError_ = "the browser's pipe is closed";
      return std::nullopt;
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
      for (auto end = buffer_.find('\0'); end != std::string::npos; end = buffer_.find('\0')) {
        nlohmann::json message = nlohmann::json::parse(buffer_.substr(0, end), nullptr, false);
        buffer_.erase(0, end + 1);
        if (!message.is_object() || message.value("id", -1) != id) {
          continue;
        }
        if (message.contains("error")) {
          lastError_ = message["error"].dump();
          return std::nullopt;
        }
        return message.value("result", nlohmann::json::object());
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd readable{answers_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) <= 0) {
        lastError_ = "no answer to " + method + " within " + std::to_string(limit.count()) + " ms";
        return std::nullopt;
      }
      char chunk[65536];
      const ssize_t got = ::read(answers_, chunk, sizeof(chunk));
      if (got <= 0) {
        lastError_ = "the browser closed its pipe";
        return std::nullopt;
      }
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  pid_t pid_ = -1;
  int commands_ = -1;
  int answers_ = -1;
  int lastId_ = 0;
  std::string session_;
  std::string buffer_;
  std::string lastError_;
};

}  // namespace virtsnap::testsupport
