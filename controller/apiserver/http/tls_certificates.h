#pragma once
// A self-signed certificate authority and a server certificate signed by it, made at start-up for the
// standalone API server: kubectl sends bearer tokens only over TLS, and trusts the CA through the
// kubeconfig's certificate-authority-data.

#include <chrono>
#include <string>
#include <vector>

#include "base/expected.h"

namespace virtsnap::apiserver {

struct TlsMaterial {
  std::string caCertificatePem;
  std::string certificatePem;  // the server's, for the names below
  std::string privateKeyPem;   // the server's
};

// ECDSA P-256 keys; the server certificate names `ipAddresses` and `dnsNames`; valid for a year.
Expected<TlsMaterial, std::string> makeSelfSignedTls(const std::vector<std::string>& ipAddresses,
                                                     const std::vector<std::string>& dnsNames);

// Whether the PEM certificate's notAfter lies less than `margin` from now (or has passed); an error for a
// PEM that holds no certificate.
Expected<bool, std::string> certificateExpiresWithin(const std::string& certificatePem,
                                                     std::chrono::seconds margin);

}  // namespace virtsnap::apiserver
