// OpenSSL's libcrypto (libssl-dev), for CacheCodecs: SHA-256 through the EVP digest API.
#include <openssl/evp.h>
