#pragma once
// A loopback TCP port nobody listens on right now (the kernel's pick), for a server started a moment
// later: an agent's probes and metrics, an API server given a fixed port. Another process may take it
// in between; the callers start at once.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace virtsnap::testsupport {

inline int freeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace virtsnap::testsupport
