#pragma once
// The real virtsnap-controller binary run as a child process for a test: standalone mode on a data
// directory the test owns, its output kept in a file (shown when a test fails), stopped with SIGTERM
// as a kubelet would, and its exit status returned.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/eventually.h"

namespace virtsnap::testsupport {

// While it lives, children started by this process run without LeakSanitizer (AddressSanitizer's
// other checks stay on; nothing changes in builds without it). For agents talking to an API server
// that outlives them: at exit, cpprestsdk's reads of the watches still open on that server are
// abandoned, never cancelled (the HTTP transport's rule since its crash), and LeakSanitizer reports
// what those pending tasks hold as indirect leaks (reference cycles, no direct leak), taking longer
// than a shutdown's grace period to symbolize under load.
class ChildLeakDetectionOff {
 public:
  ChildLeakDetectionOff() {
    const char* current = std::getenv("ASAN_OPTIONS");
    if (current != nullptr) {
      saved_ = current;
    }
    ::setenv("ASAN_OPTIONS", (saved_ ? *saved_ + ":detect_leaks=0" : std::string("detect_leaks=0")).c_str(),
             1);
  }
  ~ChildLeakDetectionOff() {
    if (saved_) {
      ::setenv("ASAN_OPTIONS", saved_->c_str(), 1);
    } else {
      ::unsetenv("ASAN_OPTIONS");
    }
  }
  ChildLeakDetectionOff(const ChildLeakDetectionOff&) = delete;
  ChildLeakDetectionOff& operator=(const ChildLeakDetectionOff&) = delete;

 private:
  std::optional<std::string> saved_;
};

class AgentProcess {
 public:
  AgentProcess(std::string binary, std::filesystem::path log)
      : binary_(std::move(binary)), log_(std::move(log)) {}
  ~AgentProcess() { kill(); }
  AgentProcess(const AgentProcess&) = delete;
  AgentProcess& operator=(const AgentProcess&) = delete;

  // Starts the binary with `arguments`; false when fork failed.
  bool start(const std::vector<std::string>& arguments) {
    std::vector<std::string> argv{binary_};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    std::vector<char*> raw;
    for (auto& argument : argv) {
      raw.push_back(argument.data());
    }
    raw.push_back(nullptr);
    const int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      ::close_range(3, ~0U, 0);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    ::close(out);
    return pid_ > 0;
  }

  // SIGTERM, then the exit status (-1 when it did not exit by itself within `limit`: then SIGKILL).
  int stop(std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    if (pid_ <= 0) {
      return -1;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    const bool exited = eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, limit);
    if (!exited) {
      kill();
      return -1;
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  bool running() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  std::string output() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // The last `characters` of the output, framed, for a failed test's report.
  void printOutputTail(std::ostream& out, std::size_t characters) const {
    const std::string log = output();
    out << "--- the agent's output (last " << characters << " characters) ---\n"
        << log.substr(log.size() > characters ? log.size() - characters : 0) << "\n---\n";
  }

 private:
  std::string binary_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

}  // namespace virtsnap::testsupport
