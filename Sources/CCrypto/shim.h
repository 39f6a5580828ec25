#ifndef VLATUNE_CCRYPTO_SHIM_H
#define VLATUNE_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#endif
