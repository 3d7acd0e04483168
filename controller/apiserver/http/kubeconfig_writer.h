#pragma once
// The credentials of the standalone API server: a random bearer token, written with the server's URL
// into a kubeconfig that only its owner can read (mode 0600).

#include <filesystem>
#include <string>

#include "base/expected.h"

namespace virtsnap::apiserver {

// 32 random bytes as hex, from the system's random source.
std::string randomToken();

// Writes (replacing atomically) a kubeconfig with one cluster, user and context named "virtsnap";
// `caCertificatePem`, when given, is the CA the client trusts for the server.
Expected<bool, std::string> writeKubeconfig(const std::filesystem::path& path, const std::string& server,
                                            const std::string& token,
                                            const std::string& caCertificatePem = "");

}  // namespace virtsnap::apiserver
