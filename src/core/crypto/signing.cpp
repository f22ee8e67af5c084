#include "tokencast/core/signing.hpp"

#include <openssl/evp.h>

#include "crypto/primitives.hpp"

namespace tokencast {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

}  // namespace

// The EVP_PKEY is created once per key (deriving the public key costs a scalar multiplication)
// and is only read afterwards, which OpenSSL allows from several threads at once.
struct SigningKey::Impl {
  Pkey pkey;
  Ed25519PublicKey public_key{};
};

SigningKey::SigningKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

SigningKey SigningKey::generate(Random& random) {
  std::array<uint8_t, kEd25519SeedSize> seed{};
  random.fill(seed);
  SigningKey key = from_seed(seed);
  crypto::wipe(seed.data(), seed.size());
  return key;
}

SigningKey SigningKey::from_seed(std::span<const uint8_t, kEd25519SeedSize> seed) {
  auto impl = std::make_shared<Impl>();
  impl->pkey.reset(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!impl->pkey) throw crypto::CryptoFailure("libcrypto: Ed25519 private key");
  size_t len = impl->public_key.size();
  if (EVP_PKEY_get_raw_public_key(impl->pkey.get(), impl->public_key.data(), &len) != 1 ||
      len != impl->public_key.size()) {
    throw crypto::CryptoFailure("libcrypto: Ed25519 public key");
  }
  return SigningKey(std::move(impl));
}

const Ed25519PublicKey& SigningKey::public_key() const { return impl_->public_key; }

void SigningKey::export_seed(std::span<uint8_t, kEd25519SeedSize> out) const {
  size_t len = out.size();
  if (EVP_PKEY_get_raw_private_key(impl_->pkey.get(), out.data(), &len) != 1 || len != out.size()) {
    throw crypto::CryptoFailure("libcrypto: Ed25519 export");
  }
}

Ed25519Signature SigningKey::sign(std::span<const uint8_t> message) const {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) throw crypto::CryptoFailure("libcrypto: EVP_MD_CTX_new");
  // Ed25519 is a one-shot algorithm: no digest is named (pure EdDSA).
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()) != 1) {
    throw crypto::CryptoFailure("libcrypto: Ed25519 sign init");
  }
  Ed25519Signature sig{};
  size_t len = sig.size();
  static const uint8_t kEmpty = 0;
  const uint8_t* msg = message.empty() ? &kEmpty : message.data();
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, msg, message.size()) != 1 || len != sig.size()) {
    throw crypto::CryptoFailure("libcrypto: Ed25519 sign");
  }
  return sig;
}

bool ed25519_verify(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
                    const Ed25519Signature& signature) {
  Pkey pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!pkey) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) return false;
  static const uint8_t kEmpty = 0;
  const uint8_t* msg = message.empty() ? &kEmpty : message.data();
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), msg, message.size()) == 1;
}

}  // namespace tokencast
