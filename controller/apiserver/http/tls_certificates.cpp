#include "controller/apiserver/http/tls_certificates.h"

#include <ctime>
#include <memory>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace virtsnap::apiserver {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) {
    return false;
  }
  const bool added = X509_add_ext(cert, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return added;
}

// A certificate for `key` named `commonName`, issued by `issuer` (itself when null) and signed with
// `signingKey`.
Cert makeCertificate(EVP_PKEY* key, const std::string& commonName, X509* issuer, EVP_PKEY* signingKey,
                     const std::vector<std::pair<int, std::string>>& extensions) {
  Cert cert(X509_new());
  unsigned char serial[16];
  if (!cert || RAND_bytes(serial, sizeof serial) != 1) {
    return nullptr;
  }
  serial[0] &= 0x7f;  // a positive serial number
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  ASN1_INTEGER* asn1 = BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert.get()));
  BN_free(number);
  if (asn1 == nullptr) {
    return nullptr;
  }
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("virtsnap"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  for (const auto& [nid, value] : extensions) {
    if (!addExtension(cert.get(), issuer != nullptr ? issuer : cert.get(), nid, value)) {
      return nullptr;
    }
  }
  if (X509_sign(cert.get(), signingKey, EVP_sha256()) == 0) {
    return nullptr;
  }
  return cert;
}

std::string pem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

Expected<TlsMaterial, std::string> makeSelfSignedTls(const std::vector<std::string>& ipAddresses,
                                                     const std::vector<std::string>& dnsNames) {
  Key caKey(EVP_EC_gen("P-256"));
  Key serverKey(EVP_EC_gen("P-256"));
  if (!caKey || !serverKey) {
    return std::string("cannot generate TLS keys");
  }
  Cert ca = makeCertificate(caKey.get(), "virtsnap-ca", nullptr, caKey.get(),
                            {{NID_basic_constraints, "critical,CA:TRUE"},
                             {NID_key_usage, "critical,keyCertSign,cRLSign"},
                             {NID_subject_key_identifier, "hash"}});
  std::string names;
  for (const auto& ip : ipAddresses) {
    names += (names.empty() ? "" : ",") + std::string("IP:") + ip;
  }
  for (const auto& dns : dnsNames) {
    names += (names.empty() ? "" : ",") + std::string("DNS:") + dns;
  }
  if (!ca) {
    return std::string("cannot make the TLS certificate authority");
  }
  Cert server = makeCertificate(serverKey.get(), "virtsnap-apiserver", ca.get(), caKey.get(),
                                {{NID_basic_constraints, "critical,CA:FALSE"},
                                 {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                 {NID_ext_key_usage, "serverAuth"},
                                 {NID_subject_alt_name, names}});
  if (!server) {
    return std::string("cannot make the TLS server certificate");
  }
  return TlsMaterial{pem(ca.get()), pem(server.get()), pem(serverKey.get())};
}

Expected<bool, std::string> certificateExpiresWithin(const std::string& certificatePem,
                                                     std::chrono::seconds margin) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(certificatePem.data(), static_cast<int>(certificatePem.size())), &BIO_free);
  if (!bio) {
    return unexpected(std::string("out of memory reading a certificate"));
  }
  std::unique_ptr<X509, decltype(&X509_free)> certificate(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!certificate) {
    return unexpected(std::string("the PEM holds no certificate"));
  }
  time_t limit = std::time(nullptr) + static_cast<time_t>(margin.count());
  // X509_cmp_time: -1 when notAfter is before `limit`, 0 on an unreadable time.
  return X509_cmp_time(X509_get0_notAfter(certificate.get()), &limit) <= 0;
}

}  // namespace virtsnap::apiserver
