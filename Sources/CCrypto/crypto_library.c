// libcrypto, loaded on first use: the EVP digest functions vlatune calls, forwarded (see
// vlatune_library_loader.h). Hidden, so that libraries loaded later still bind to libcrypto.
#include "vlatune_library_loader.h"

#pragma GCC visibility push(hidden)
#include "CCrypto.h"

#define VT_CRYPTO_FUNCTIONS(R, V)                                                            \
  R(int, EVP_Digest,                                                                         \
    (const void *data, size_t count, unsigned char *md, unsigned int *size,                  \
     const EVP_MD *type, ENGINE *engine),                                                    \
    (data, count, md, size, type, engine))                                                   \
  R(int, EVP_DigestFinal_ex, (EVP_MD_CTX * context, unsigned char *md, unsigned int *size),  \
    (context, md, size))                                                                     \
  R(int, EVP_DigestInit_ex, (EVP_MD_CTX * context, const EVP_MD *type, ENGINE *engine),      \
    (context, type, engine))                                                                 \
  R(int, EVP_DigestUpdate, (EVP_MD_CTX * context, const void *data, size_t count),           \
    (context, data, count))                                                                  \
  V(EVP_MD_CTX_free, (EVP_MD_CTX * context), (context))                                      \
  R(EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())                                                \
  R(const EVP_MD *, EVP_sha256, (void), ())

VT_LAZY_LIBRARY(crypto, "libcrypto", "libssl3", VT_CRYPTO_FUNCTIONS, "libcrypto.so.3",
                "libcrypto.3.dylib", "libcrypto.so", "libcrypto.dylib")

#define VT_ENSURE_LOADED() vt_crypto_ensure()

VT_CRYPTO_FUNCTIONS(VT_FORWARD_R, VT_FORWARD_V)

#pragma GCC visibility pop

int vt_crypto_probe(char *error, size_t length) {
  return vt_library_try_open(vt_crypto_names, error, length);
}
