#include "controller/apiserver/http/server_credentials.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/apiserver/http/kubeconfig_writer.h"

namespace virtsnap::apiserver {
namespace {

Expected<ServerCredentials, std::string> load(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return unexpected("cannot read " + file.string());
  }
  const nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  ServerCredentials credentials;
  if (json.is_object()) {
    credentials.token = json.value("token", "");
    credentials.tls.caCertificatePem = json.value("caCertificate", "");
    credentials.tls.certificatePem = json.value("certificate", "");
    credentials.tls.privateKeyPem = json.value("privateKey", "");
  }
  if (credentials.token.empty() || credentials.tls.caCertificatePem.empty() ||
      credentials.tls.certificatePem.empty() || credentials.tls.privateKeyPem.empty()) {
    return unexpected(file.string() + " does not hold a token, a CA, a certificate and a key");
  }
  return credentials;
}

// Created 0600 from the start (never briefly readable by others), then renamed into place.
Expected<bool, std::string> save(const std::filesystem::path& file, const ServerCredentials& credentials) {
  const std::string text = nlohmann::json{{"token", credentials.token},
                                          {"caCertificate", credentials.tls.caCertificatePem},
                                          {"certificate", credentials.tls.certificatePem},
                                          {"privateKey", credentials.tls.privateKeyPem}}
                               .dump(2) +
                           "\n";
  const std::filesystem::path temporary = file.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return unexpected("cannot write " + temporary.string() + ": " + std::strerror(errno));
  }
  const bool written = ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(temporary.c_str(), file.c_str()) != 0) {
    return unexpected("cannot write " + file.string() + ": " + std::strerror(errno));
  }
  return true;
}

}  // namespace

Expected<ServerCredentials, std::string> loadOrMakeServerCredentials(const std::filesystem::path& file) {
  if (std::error_code ec; std::filesystem::exists(file, ec)) {
    return load(file);
  }
  ServerCredentials credentials;
  credentials.token = randomToken();
  auto tls = makeSelfSignedTls({"127.0.0.1", "::1"}, {"localhost"});
  if (!tls) {
    return unexpected(tls.error());
  }
  credentials.tls = std::move(tls).value();
  if (auto saved = save(file, credentials); !saved) {
    return unexpected(saved.error());
  }
  return credentials;
}

}  // namespace virtsnap::apiserver
