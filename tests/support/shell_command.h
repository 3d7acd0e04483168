#pragma once
// Runs a shell command for a test and collects its output, in a child that inherits no descriptor of
// the test process but stdin/stdout/stderr: a child that kept, say, an API server's listening socket
// open would keep that port bound after the server closed it (popen() does exactly that).

#include <array>
#include <string>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace virtsnap::testsupport {

struct ShellResult {
  int exitCode = -1;   // -1 when it did not exit normally
  std::string output;  // stdout and stderr together
};

inline ShellResult runShell(const std::string& command) {
  std::array<int, 2> pipeEnds{};
  if (::pipe2(pipeEnds.data(), O_CLOEXEC) != 0) {
    return {-1, "pipe2 failed"};
  }
  const pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(pipeEnds[1], STDOUT_FILENO);
    ::dup2(pipeEnds[1], STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipeEnds[1]);
  ShellResult result;
  if (child < 0) {
    ::close(pipeEnds[0]);
    result.output = "fork failed";
    return result;
  }
  std::array<char, 4096> chunk{};
  ssize_t got = 0;
  while ((got = ::read(pipeEnds[0], chunk.data(), chunk.size())) > 0) {
    result.output.append(chunk.data(), static_cast<std::size_t>(got));
  }
  ::close(pipeEnds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace virtsnap::testsupport
