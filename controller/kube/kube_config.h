#pragma once
// How the agent finds and authenticates to its API server, the way client-go and controller-runtime
// do (clientcmd, rest.InClusterConfig, ctrl.GetConfig):
//   1. the --kubeconfig flag's file;
//   2. else KUBECONFIG, a colon-separated list merged in order: the first file that defines a cluster,
//      user or context name wins, and the first non-empty current-context is the current one;
//   3. else in-cluster, when KUBERNETES_SERVICE_HOST and _PORT are set: the service-account token
//      (re-read as it rotates), CA and namespace under /var/run/secrets/kubernetes.io/serviceaccount;
//   4. else ~/.kube/config.
// From a kubeconfig: the context (named, or current-context), its cluster (server,
// certificate-authority-data or certificate-authority, insecure-skip-tls-verify) and user (token,
// tokenFile, client-certificate[-data], client-key[-data]); file paths are relative to the folder of
// the kubeconfig that names them. Every problem is a value with a message naming the file and entry.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/expected.h"
#include "controller/kube/token_source.h"

namespace virtsnap::kube {

template <typename T>
using ConfigResult = Expected<T, std::string>;

// Everything needed to talk to one API server.
struct ClusterConfig {
  std::string server;  // https://host:port (http:// only for tests)
  std::string caPem;   // the CA(s) the server's certificate must chain to; empty: the system's roots
  bool insecureSkipTlsVerify = false;
  std::string clientCertificatePem;  // TLS client authentication, with the key; empty: none
  std::string clientKeyPem;
  TokenSourcePtr tokenSource;  // the bearer token; null: none
  std::string ns = "default";  // the context's namespace (in-cluster: the pod's)
  std::string origin;          // where this came from, for logs: "<file> context <name>" or "in-cluster"
};

// The process environment, injectable for tests.
using Getenv = std::function<std::optional<std::string>(const std::string& name)>;
Getenv processEnvironment();

// Loads `files` merged as KUBECONFIG lists are, and resolves `context` ("" = current-context).
// Token files are read through a token source on `clock` (null: the system clock).
ConfigResult<ClusterConfig> loadKubeconfig(const std::vector<std::filesystem::path>& files,
                                           const std::string& context = "", ClockPtr clock = nullptr);

struct InClusterOptions {
  std::filesystem::path root = "/var/run/secrets/kubernetes.io/serviceaccount";
  Getenv getenv;  // null: the process environment
  ClockPtr clock;
};

// True when KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are set.
bool runningInCluster(const Getenv& getenv = nullptr);
ConfigResult<ClusterConfig> loadInClusterConfig(const InClusterOptions& options = {});

struct ConfigSearch {
  std::string kubeconfigFlag;  // --kubeconfig; "" when not given
  std::string context;         // --context; "" for current-context
  Getenv getenv;               // KUBECONFIG, HOME, KUBERNETES_SERVICE_*; null: the process environment
  std::filesystem::path serviceAccountRoot = "/var/run/secrets/kubernetes.io/serviceaccount";
  ClockPtr clock;
};

// The search order in the header comment.
ConfigResult<ClusterConfig> loadClusterConfig(const ConfigSearch& search);

}  // namespace virtsnap::kube
