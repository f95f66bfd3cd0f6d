#ifndef KILN_CRYPTO_SHIM_H
#define KILN_CRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/crypto.h>
#endif
