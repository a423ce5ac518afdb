// Reading and checking the PEM files of the TLS settings, so that a bad file
// fails at start with a message naming it rather than at the first
// handshake.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crm::server {

// The whole content of `path`. Errors: UNAVAILABLE saying why it cannot be
// read (missing, not readable, a directory), with the path.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// OK when `pem` holds at least one certificate and nothing unparsable
// before it. Errors: INVALID_ARGUMENT with OpenSSL's reason.
absl::Status CheckCertificates(const std::string& pem);

// OK when `key_pem` holds an unencrypted private key that matches the first
// certificate of `cert_pem`. Errors: INVALID_ARGUMENT saying which.
absl::Status CheckPrivateKey(const std::string& cert_pem,
                             const std::string& key_pem);

}  // namespace crm::server
