#include "controller/apiserver/http/kubeconfig_writer.h"

#include <cerrno>
#include <cstring>
#include <iomanip>
#include <random>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "crds/meta/base64.h"

namespace virtsnap::apiserver {

std::string randomToken() {
  std::random_device source;  // /dev/urandom on Linux
  std::ostringstream hex;
  for (int i = 0; i < 8; ++i) {
    hex << std::hex << std::setw(8) << std::setfill('0') << source();
  }
  return hex.str();
}

Expected<bool, std::string> writeKubeconfig(const std::filesystem::path& path, const std::string& server,
                                            const std::string& token, const std::string& caCertificatePem) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "v1";
  out << YAML::Key << "kind" << YAML::Value << "Config";
  out << YAML::Key << "clusters" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "virtsnap";
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap << YAML::Key << "server" << YAML::Value
      << server;
  if (!caCertificatePem.empty()) {
    out << YAML::Key << "certificate-authority-data" << YAML::Value << meta::base64Encode(caCertificatePem);
  }
  out << YAML::EndMap;
  out << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "virtsnap";
  out << YAML::Key << "user" << YAML::Value << YAML::BeginMap << YAML::Key << "token" << YAML::Value << token
      << YAML::EndMap;
  out << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "virtsnap";
  out << YAML::Key << "context" << YAML::Value << YAML::BeginMap << YAML::Key << "cluster" << YAML::Value
      << "virtsnap" << YAML::Key << "user" << YAML::Value << "virtsnap" << YAML::Key << "namespace"
      << YAML::Value << "default" << YAML::EndMap;
  out << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "current-context" << YAML::Value << "virtsnap";
  out << YAML::EndMap;
  const std::string text = std::string(out.c_str()) + "\n";

  // Created 0600 from the start (never briefly readable by others), then renamed into place.
  const std::filesystem::path temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return "cannot write " + temporary.string() + ": " + std::strerror(errno);
  }
  const bool written = ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(temporary.c_str(), path.c_str()) != 0) {
    return "cannot write " + path.string() + ": " + std::strerror(errno);
  }
  return true;
}

}  // namespace virtsnap::apiserver
