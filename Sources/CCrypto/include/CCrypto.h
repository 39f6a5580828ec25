#ifndef VLATUNE_CCRYPTO_H
#define VLATUNE_CCRYPTO_H
/// OpenSSL's EVP digests as vlatune uses them (SHA-256); libcrypto itself is loaded on first
/// use (crypto_library.c, vlatune_library_loader.h).
#include <openssl/evp.h>
#include <stddef.h>

/// Whether libcrypto loads: 1, or 0 with the loader's message in `error` (for `vlatune doctor`).
int vt_crypto_probe(char *error, size_t length);
#endif
