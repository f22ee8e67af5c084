#include "crypto/primitives.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <climits>
#include <memory>

namespace tokencast::crypto {
namespace {

struct KdfDeleter {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// Fetching an algorithm walks the provider tables under a lock; do it once per process.
// (OpenSSL fetched objects are immutable and safe to share between threads.)
EVP_KDF* hkdf_algorithm() {
  static const std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) throw CryptoFailure("libcrypto: HKDF unavailable");
  return kdf.get();
}

const EVP_CIPHER* chacha_cipher() {
  const EVP_CIPHER* c = EVP_chacha20_poly1305();
  if (c == nullptr) throw CryptoFailure("libcrypto: ChaCha20-Poly1305 unavailable");
  return c;
}

void check(int ok, const char* what) {
  if (ok != 1) throw CryptoFailure(what);
}

int as_int(size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) throw CryptoFailure("libcrypto: input too large");
  return static_cast<int>(n);
}

// OpenSSL wants non-const pointers in OSSL_PARAM even for inputs it only reads, and a non-null
// pointer even for empty octet strings.
void* param_ptr(std::span<const uint8_t> s) {
  static uint8_t empty = 0;
  return s.empty() ? &empty : const_cast<uint8_t*>(s.data());
}

CipherCtx new_aead_ctx(std::span<const uint8_t, kAeadKeySize> key,
                       std::span<const uint8_t, kAeadNonceSize> nonce, bool encrypt) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw CryptoFailure("libcrypto: EVP_CIPHER_CTX_new");
  check(EVP_CipherInit_ex2(ctx.get(), chacha_cipher(), nullptr, nullptr, encrypt ? 1 : 0, nullptr),
        "libcrypto: cipher init");
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()),
                            nullptr),
        "libcrypto: set nonce length");
  check(EVP_CipherInit_ex2(ctx.get(), nullptr, key.data(), nonce.data(), encrypt ? 1 : 0, nullptr),
        "libcrypto: cipher key");
  return ctx;
}

}  // namespace

void hkdf_sha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                 std::span<const uint8_t> info, std::span<uint8_t> out) {
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(hkdf_algorithm()));
  if (!ctx) throw CryptoFailure("libcrypto: EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, param_ptr(ikm), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, param_ptr(salt), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, param_ptr(info), info.size()),
      OSSL_PARAM_construct_end(),
  };
  check(EVP_KDF_derive(ctx.get(), out.data(), out.size(), params), "libcrypto: HKDF derive");
}

Sha256Digest sha256(std::span<const uint8_t> data) {
  Sha256Digest d{};
  unsigned int len = 0;
  check(EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr),
        "libcrypto: SHA-256");
  if (len != d.size()) throw CryptoFailure("libcrypto: SHA-256 length");
  return d;
}

Sha256Digest sha256(std::span<const uint8_t> first, std::span<const uint8_t> second) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  check(ctx != nullptr, "libcrypto: SHA-256 context");
  check(EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr), "libcrypto: SHA-256");
  check(EVP_DigestUpdate(ctx.get(), first.data(), first.size()), "libcrypto: SHA-256");
  check(EVP_DigestUpdate(ctx.get(), second.data(), second.size()), "libcrypto: SHA-256");
  Sha256Digest d{};
  unsigned int len = 0;
  check(EVP_DigestFinal_ex(ctx.get(), d.data(), &len), "libcrypto: SHA-256");
  if (len != d.size()) throw CryptoFailure("libcrypto: SHA-256 length");
  return d;
}

void aead_seal(std::span<const uint8_t, kAeadKeySize> key,
               std::span<const uint8_t, kAeadNonceSize> nonce, std::span<const uint8_t> aad,
               std::span<const uint8_t> plaintext, std::span<uint8_t> out) {
  if (out.size() != plaintext.size() + kAeadTagSize) throw CryptoFailure("aead_seal: out size");
  CipherCtx ctx = new_aead_ctx(key, nonce, true);
  int len = 0;
  if (!aad.empty()) {
    check(EVP_CipherUpdate(ctx.get(), nullptr, &len, aad.data(), as_int(aad.size())),
          "libcrypto: AEAD aad");
  }
  size_t written = 0;
  if (!plaintext.empty()) {
    check(EVP_CipherUpdate(ctx.get(), out.data(), &len, plaintext.data(), as_int(plaintext.size())),
          "libcrypto: AEAD encrypt");
    written = static_cast<size_t>(len);
  }
  check(EVP_CipherFinal_ex(ctx.get(), out.data() + written, &len), "libcrypto: AEAD final");
  written += static_cast<size_t>(len);
  if (written != plaintext.size()) throw CryptoFailure("libcrypto: AEAD length");
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagSize),
                            out.data() + plaintext.size()),
        "libcrypto: AEAD tag");
}

bool aead_open(std::span<const uint8_t, kAeadKeySize> key,
               std::span<const uint8_t, kAeadNonceSize> nonce, std::span<const uint8_t> aad,
               std::span<const uint8_t> sealed, std::span<uint8_t> out) {
  if (sealed.size() < kAeadTagSize) return false;
  const size_t ct_size = sealed.size() - kAeadTagSize;
  if (out.size() != ct_size) throw CryptoFailure("aead_open: out size");
  CipherCtx ctx = new_aead_ctx(key, nonce, false);
  int len = 0;
  if (!aad.empty()) {
    check(EVP_CipherUpdate(ctx.get(), nullptr, &len, aad.data(), as_int(aad.size())),
          "libcrypto: AEAD aad");
  }
  size_t written = 0;
  if (ct_size != 0) {
    check(EVP_CipherUpdate(ctx.get(), out.data(), &len, sealed.data(), as_int(ct_size)),
          "libcrypto: AEAD decrypt");
    written = static_cast<size_t>(len);
  }
  // OpenSSL's ctrl takes a non-const pointer for the expected tag; it only reads it.
  uint8_t tag[kAeadTagSize];
  std::copy(sealed.begin() + static_cast<std::ptrdiff_t>(ct_size), sealed.end(), tag);
  check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagSize), tag),
        "libcrypto: AEAD set tag");
  // Final verifies the tag; on mismatch the decrypted bytes must not escape.
  const bool ok = EVP_CipherFinal_ex(ctx.get(), out.data() + written, &len) == 1;
  if (!ok || written + static_cast<size_t>(len) != ct_size) {
    wipe(out.data(), out.size());
    return false;
  }
  return true;
}

void wipe(void* data, size_t size) {
  if (size != 0) OPENSSL_cleanse(data, size);
}

}  // namespace tokencast::crypto
