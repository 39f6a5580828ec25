#ifndef VLATUNE_CCRYPTO_H
#define VLATUNE_CCRYPTO_H
/// OpenSSL's EVP digests as vlatune uses them (SHA-256); libcrypto itself is loaded on first
/// use (crypto_library.c, vlatune_library_loader.h).
#include <openssl/evp.h>
#endif
