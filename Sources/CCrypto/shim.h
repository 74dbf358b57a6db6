// OpenSSL's libcrypto (libssl-dev), for CacheCodecs: SHA-256.
//
// The one-shot SHA256_* functions, not EVP: OpenSSL 3 deprecates them, but EVP's first use
// loads the default provider and registers every algorithm it has (about 1 ms of a warm run
// that needs one digest). These call the same SHA-NI/AVX2 code directly.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
