#include "controller/kube/kube_config.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crds/meta/base64.h"
#include "crds/meta/yaml_json.h"

namespace virtsnap::kube {

namespace fs = std::filesystem;

namespace {

// One named entry of a kubeconfig (a cluster, user or context) and the file that defined it.
struct Entry {
  nlohmann::json node;
  fs::path file;
};

struct MergedKubeconfig {
  std::map<std::string, Entry> clusters;
  std::map<std::string, Entry> users;
  std::map<std::string, Entry> contexts;
  std::string currentContext;
  std::string files;  // for messages
};

// File contents or inline data (a distinct type: Expected cannot hold a string as both value and error).
struct Bytes {
  std::string data;
};

ConfigResult<Bytes> readFile(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "cannot read " + what + " " + path.string() + ": " + std::strerror(errno);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Bytes{text.str()};
}

// The kubeconfig is read with PlainScalars::Text, so every scalar but null is a string.
std::string scalar(const nlohmann::json& map, const char* key) {
  if (!map.is_object()) {
    return {};
  }
  auto value = map.find(key);
  return value != map.end() && value->is_string() ? value->get<std::string>() : std::string();
}

fs::path relativeTo(const fs::path& kubeconfig, const std::string& path) {
  const fs::path given(path);
  return given.is_absolute() ? given : kubeconfig.parent_path() / given;
}

// The `name` -> `inner` entries of a list such as `clusters: [{name: x, cluster: {...}}]`; the first
// definition of a name wins, as when client-go merges KUBECONFIG.
std::optional<std::string> mergeList(const nlohmann::json& root, const char* list, const char* inner,
                                     const fs::path& file, std::map<std::string, Entry>& into) {
  auto found = root.find(list);
  if (found == root.end() || found->is_null()) {
    return std::nullopt;
  }
  const nlohmann::json& entries = *found;
  if (!entries.is_array()) {
    return file.string() + ": " + list + " must be a list";
  }
  for (const nlohmann::json& entry : entries) {
    const std::string name = scalar(entry, "name");
    if (name.empty()) {
      return file.string() + ": an entry of " + list + " has no name";
    }
    into.emplace(name, Entry{entry.value(inner, nlohmann::json()), file});
  }
  return std::nullopt;
}

std::optional<std::string> mergeFile(const fs::path& file, MergedKubeconfig& merged) {
  auto text = readFile(file, "the kubeconfig");
  if (!text) {
    return text.error();
  }
  merged.files += (merged.files.empty() ? "" : ":") + file.string();
  auto documents = meta::yamlDocumentsToJson(text.value().data, {.plainScalars = meta::PlainScalars::Text});
  if (!documents) {
    return file.string() + " is not valid YAML: " + documents.error();
  }
  if (documents.value().empty()) {
    return std::nullopt;  // an empty file adds nothing
  }
  const nlohmann::json& root = documents.value().front();
  if (!root.is_object()) {
    return file.string() + " is not a kubeconfig (expected a mapping at the top)";
  }
  for (auto [list, inner, into] :
       {std::tuple{"clusters", "cluster", &merged.clusters}, std::tuple{"users", "user", &merged.users},
        std::tuple{"contexts", "context", &merged.contexts}}) {
    if (auto problem = mergeList(root, list, inner, file, *into)) {
      return problem;
    }
  }
  if (merged.currentContext.empty()) {
    merged.currentContext = scalar(root, "current-context");
  }
  return std::nullopt;
}

// `<key>-data` (base64) or `<key>` (a file next to the kubeconfig); "" when neither is there.
ConfigResult<Bytes> pemFrom(const nlohmann::json& node, const fs::path& file, const std::string& key,
                            const std::string& owner) {
  const std::string data = scalar(node, (key + "-data").c_str());
  if (!data.empty()) {
    std::optional<std::string> decoded = meta::base64Decode(data);
    if (!decoded || decoded->empty()) {
      return owner + " in " + file.string() + ": " + key + "-data is not valid base64";
    }
    return Bytes{std::move(*decoded)};
  }
  const std::string path = scalar(node, key.c_str());
  if (path.empty()) {
    return Bytes{};
  }
  return readFile(relativeTo(file, path), owner + " " + key);
}

ConfigResult<ClusterConfig> resolve(const MergedKubeconfig& merged, const std::string& wanted,
                                    const ClockPtr& clock) {
  const std::string contextName = wanted.empty() ? merged.currentContext : wanted;
  if (contextName.empty()) {
    return merged.files + ": no current-context is set and no context was named";
  }
  auto context = merged.contexts.find(contextName);
  if (context == merged.contexts.end()) {
    return "context \"" + contextName + "\" is not defined in " + merged.files;
  }
  const nlohmann::json& ctx = context->second.node;
  const std::string clusterName = scalar(ctx, "cluster");
  if (clusterName.empty()) {
    return "context \"" + contextName + "\" in " + context->second.file.string() + " names no cluster";
  }
  auto cluster = merged.clusters.find(clusterName);
  if (cluster == merged.clusters.end()) {
    return "context \"" + contextName + "\" names cluster \"" + clusterName + "\", which is not defined in " +
           merged.files;
  }

  ClusterConfig config;
  config.origin = context->second.file.string() + " context " + contextName;
  const std::string clusterOwner = "cluster \"" + clusterName + "\"";
  const nlohmann::json& clusterNode = cluster->second.node;
  config.server = scalar(clusterNode, "server");
  if (config.server.empty()) {
    return clusterOwner + " in " + cluster->second.file.string() + " has no server";
  }
  const std::string insecure = scalar(clusterNode, "insecure-skip-tls-verify");
  if (!insecure.empty() && insecure != "true" && insecure != "false") {
    return clusterOwner + ": insecure-skip-tls-verify must be true or false, not \"" + insecure + "\"";
  }
  config.insecureSkipTlsVerify = insecure == "true";
  auto ca = pemFrom(clusterNode, cluster->second.file, "certificate-authority", clusterOwner);
  if (!ca) {
    return ca.error();
  }
  config.caPem = ca.value().data;
  if (config.insecureSkipTlsVerify && !config.caPem.empty()) {
    // client-go refuses this combination too: one of them is a mistake.
    return clusterOwner + ": a certificate authority together with insecure-skip-tls-verify is not allowed";
  }

  const std::string userName = scalar(ctx, "user");
  if (!userName.empty()) {
    auto user = merged.users.find(userName);
    if (user == merged.users.end()) {
      return "context \"" + contextName + "\" names user \"" + userName + "\", which is not defined in " +
             merged.files;
    }
    const std::string userOwner = "user \"" + userName + "\"";
    const nlohmann::json& userNode = user->second.node;
    auto certificate = pemFrom(userNode, user->second.file, "client-certificate", userOwner);
    if (!certificate) {
      return certificate.error();
    }
    auto key = pemFrom(userNode, user->second.file, "client-key", userOwner);
    if (!key) {
      return key.error();
    }
    if (certificate.value().data.empty() != key.value().data.empty()) {
      return userOwner + " in " + user->second.file.string() +
             ": client-certificate and client-key come together (one is missing)";
    }
    config.clientCertificatePem = certificate.value().data;
    config.clientKeyPem = key.value().data;
    const std::string token = scalar(userNode, "token");
    const std::string tokenFile = scalar(userNode, "tokenFile");
    if (!token.empty()) {
      config.tokenSource = staticTokenSource(token);
    } else if (!tokenFile.empty()) {
      config.tokenSource = fileTokenSource(relativeTo(user->second.file, tokenFile), clock);
      if (auto first = config.tokenSource->token(); !first) {
        return userOwner + ": " + first.error().message;
      }
    }
    if (!config.tokenSource && config.clientCertificatePem.empty() && userNode.is_object() &&
        (userNode.contains("exec") || userNode.contains("auth-provider") || userNode.contains("username"))) {
      return userOwner + " in " + user->second.file.string() +
             " authenticates with exec, auth-provider or basic auth, which virtsnap does not support; use a "
             "token, tokenFile or client certificate";
    }
  }
  const std::string ns = scalar(ctx, "namespace");
  if (!ns.empty()) {
    config.ns = ns;
  }
  return config;
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first == std::string::npos ? std::string()
                                    : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

Getenv processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read at startup
    return value == nullptr ? std::nullopt : std::optional<std::string>(value);
  };
}

ConfigResult<ClusterConfig> loadKubeconfig(const std::vector<fs::path>& files, const std::string& context,
                                           ClockPtr clock) {
  if (files.empty()) {
    return std::string("no kubeconfig file given");
  }
  MergedKubeconfig merged;
  for (const fs::path& file : files) {
    if (auto problem = mergeFile(file, merged)) {
      return *problem;
    }
  }
  return resolve(merged, context, clock ? clock : systemClock());
}

bool runningInCluster(const Getenv& getenv) {
  const Getenv& env = getenv ? getenv : processEnvironment();
  auto host = env("KUBERNETES_SERVICE_HOST");
  auto port = env("KUBERNETES_SERVICE_PORT");
  return host && !host->empty() && port && !port->empty();
}

ConfigResult<ClusterConfig> loadInClusterConfig(const InClusterOptions& options) {
  const Getenv env = options.getenv ? options.getenv : processEnvironment();
  if (!runningInCluster(env)) {
    return std::string(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  }
  const std::string host = *env("KUBERNETES_SERVICE_HOST");
  const std::string port = *env("KUBERNETES_SERVICE_PORT");
  ClusterConfig config;
  config.origin = "in-cluster";
  config.server = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  auto ca = readFile(options.root / "ca.crt", "the service-account CA");
  if (!ca) {
    return ca.error();
  }
  config.caPem = ca.value().data;
  config.tokenSource = fileTokenSource(options.root / "token", options.clock);
  if (auto first = config.tokenSource->token(); !first) {
    return "in-cluster: " + first.error().message;
  }
  if (auto ns = readFile(options.root / "namespace", "the namespace file");
      ns && !trimmed(ns.value().data).empty()) {
    config.ns = trimmed(ns.value().data);
  }
  return config;
}

ConfigResult<ClusterConfig> loadClusterConfig(const ConfigSearch& search) {
  const Getenv env = search.getenv ? search.getenv : processEnvironment();
  if (!search.kubeconfigFlag.empty()) {
    return loadKubeconfig({search.kubeconfigFlag}, search.context, search.clock);
  }
  if (auto list = env("KUBECONFIG"); list && !list->empty()) {
    // Files that do not exist are skipped, as client-go does with KUBECONFIG.
    std::vector<fs::path> files;
    std::stringstream in(*list);
    for (std::string item; std::getline(in, item, ':');) {
      std::error_code ec;
      if (!item.empty() && fs::exists(item, ec)) {
        files.emplace_back(item);
      }
    }
    if (files.empty()) {
      return "none of the files in KUBECONFIG exists: " + *list;
    }
    return loadKubeconfig(files, search.context, search.clock);
  }
  if (runningInCluster(env)) {
    return loadInClusterConfig(InClusterOptions{search.serviceAccountRoot, env, search.clock});
  }
  if (auto home = env("HOME"); home && !home->empty()) {
    const fs::path file = fs::path(*home) / ".kube" / "config";
    std::error_code ec;
    if (fs::exists(file, ec)) {
      return loadKubeconfig({file}, search.context, search.clock);
    }
  }
  return std::string(
      "no configuration found: no --kubeconfig, KUBECONFIG is not set, not in a cluster "
      "(KUBERNETES_SERVICE_HOST is not set) and ~/.kube/config does not exist");
}

}  // namespace virtsnap::kube
