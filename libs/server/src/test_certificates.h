// A throw-away PKI for TLS tests, made at test time with OpenSSL's C API: a
// CA, a server certificate for 127.0.0.1 and localhost, and a client
// certificate, all signed by the CA (EC P-256, valid for one day).
// Test-only.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace crm::server::test_util {

struct TestCertificates {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  // A second, unrelated key: does not match server_cert.
  std::string other_key;
};

namespace internal {

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

inline Key NewKey() { return Key(EVP_EC_gen("P-256")); }

inline void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension =
      X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// A certificate for `key` named `common_name`, signed by issuer_key (self-
// signed when issuer is null).
inline Cert NewCert(EVP_PKEY* key, const char* common_name, X509* issuer,
                    EVP_PKEY* issuer_key, long serial, bool is_ca,
                    const char* subject_alt_names) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509* const signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), signer, NID_key_usage,
                 "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    AddExtension(cert.get(), signer, NID_ext_key_usage,
                 "serverAuth,clientAuth");
  }
  if (subject_alt_names != nullptr) {
    AddExtension(cert.get(), signer, NID_subject_alt_name, subject_alt_names);
  }
  X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

inline std::string ToPem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

inline std::string ToPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                           nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace internal

inline TestCertificates MakeTestCertificates() {
  using namespace internal;  // NOLINT(google-build-using-namespace)
  Key ca_key = NewKey();
  Cert ca = NewCert(ca_key.get(), "crm test CA", nullptr, nullptr, 1,
                    /*is_ca=*/true, nullptr);
  Key server_key = NewKey();
  Cert server = NewCert(server_key.get(), "localhost", ca.get(), ca_key.get(),
                        2, /*is_ca=*/false, "IP:127.0.0.1,DNS:localhost");
  Key client_key = NewKey();
  Cert client = NewCert(client_key.get(), "crm test client", ca.get(),
                        ca_key.get(), 3, /*is_ca=*/false, nullptr);
  Key other_key = NewKey();
  return TestCertificates{ToPem(ca.get()),         ToPem(server.get()),
                          ToPem(server_key.get()), ToPem(client.get()),
                          ToPem(client_key.get()), ToPem(other_key.get())};
}

}  // namespace crm::server::test_util
