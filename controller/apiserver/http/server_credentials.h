#pragma once
// What the standalone API server's clients hold it by: its bearer token and its TLS material (the CA its
// kubeconfig trusts, the server certificate and key). Kept in the data directory (mode 0600), so that a
// server restarted on the same data answers the clients of the one before it: the agents and kubectl
// keep their kubeconfig, as with a real API server restarted on its own certificates.

#include <chrono>
#include <filesystem>
#include <string>

#include "base/expected.h"
#include "controller/apiserver/http/tls_certificates.h"

namespace virtsnap::apiserver {

struct ServerCredentials {
  std::string token;
  TlsMaterial tls;
};

// The credentials kept in `file` when it holds them; else fresh ones (a random token, a self-signed CA
// and certificate for loopback), written there (0600) before they are returned. Kept certificates that
// lapse within `renewBefore` are made again, the token kept (the kubeconfig, rewritten at each start,
// then carries the new CA). An unreadable, incomplete or others-readable file is an error, never
// silently replaced: its clients would lose the server without a word.
Expected<ServerCredentials, std::string> loadOrMakeServerCredentials(
    const std::filesystem::path& file, std::chrono::seconds renewBefore = std::chrono::hours(24 * 30));

}  // namespace virtsnap::apiserver
