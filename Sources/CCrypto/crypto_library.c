// libcrypto, loaded on first use: the EVP digest functions vlatune calls, forwarded (see
// vlatune_library_loader.h). Hidden, so that libraries loaded later still bind to libcrypto.
#include <pthread.h>

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

VT_CRYPTO_FUNCTIONS(VT_POINTER_R, VT_POINTER_V)

static pthread_once_t vt_crypto_once = PTHREAD_ONCE_INIT;

static const char *const vt_crypto_names[] = {"libcrypto.so.3", "libcrypto.3.dylib",
                                               "libcrypto.so", "libcrypto.dylib", NULL};

static void vt_crypto_load(void) {
  const char *label = "libcrypto";
  void *handle = vt_library_open(label, vt_crypto_names, "libssl3");
  VT_CRYPTO_FUNCTIONS(VT_RESOLVE_R, VT_RESOLVE_V)
}

#define VT_ENSURE_LOADED() pthread_once(&vt_crypto_once, vt_crypto_load)

VT_CRYPTO_FUNCTIONS(VT_FORWARD_R, VT_FORWARD_V)

#pragma GCC visibility pop

int vt_crypto_probe(char *error, size_t length) {
  return vt_library_try_open(vt_crypto_names, error, length);
}
