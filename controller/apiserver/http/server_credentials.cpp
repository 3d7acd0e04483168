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
  // It holds a private key and the token: one others can read is refused, not used (a copied backup).
  struct stat info {};
  if (::stat(file.c_str(), &info) != 0) {
    return unexpected("cannot read " + file.string() + ": " + std::strerror(errno));
  }
  if ((info.st_mode & 077) != 0) {
    return unexpected(file.string() +
                      " holds the server's key and token and others may read it; chmod 600 it");
  }
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
  ::unlink(temporary.c_str());  // a leftover (or a planted symlink) is never written through
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return unexpected("cannot write " + temporary.string() + ": " + std::strerror(errno));
  }
  const bool written = ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(temporary.c_str(), file.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temporary.c_str());
    return unexpected("cannot write " + file.string() + ": " + reason);
  }
  // The rename itself durable: a crash now must not bring back a directory without the file.
  const std::filesystem::path directory = file.has_parent_path() ? file.parent_path() : ".";
  if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return true;
}

}  // namespace

Expected<ServerCredentials, std::string> loadOrMakeServerCredentials(const std::filesystem::path& file,
                                                                     std::chrono::seconds renewBefore) {
  std::error_code ec;
  const bool exists =
      std::filesystem::symlink_status(file, ec).type() != std::filesystem::file_type::not_found;
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return unexpected("cannot read " + file.string() + ": " + ec.message());
  }
  ServerCredentials credentials;
  if (exists) {
    auto loaded = load(file);
    if (!loaded) {
      return loaded;
    }
    credentials = std::move(loaded).value();
    // The certificates are valid for a year: kept with the data, they are made again (the token kept)
    // before they lapse, or every client would be refused on that day with the file looking fine.
    bool renew = false;
    for (const std::string* pem : {&credentials.tls.caCertificatePem, &credentials.tls.certificatePem}) {
      auto expiring = certificateExpiresWithin(*pem, renewBefore);
      if (!expiring) {
        return unexpected(file.string() + ": " + expiring.error());
      }
      renew = renew || expiring.value();
    }
    if (!renew) {
      return credentials;
    }
  } else {
    credentials.token = randomToken();
  }
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
