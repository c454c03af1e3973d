#include "core/proto/frame_cipher.hpp"

#include <sodium.h>

#include <stdexcept>

#include "core/proto/constants.hpp"

namespace pp::proto {
namespace {

static_assert(FrameCipher::kOverhead == crypto_aead_chacha20poly1305_ietf_ABYTES);

// The 96-bit nonce: four zero bytes, then the frame counter little-endian.
void nonce_of(uint64_t n, unsigned char out[crypto_aead_chacha20poly1305_ietf_NPUBBYTES]) {
  for (int i = 0; i < 4; ++i) out[i] = 0;
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<unsigned char>(n >> (8 * i));
}

}  // namespace

FrameCipher::FrameCipher(std::string send_key, std::string recv_key)
    : send_key_(std::move(send_key)), recv_key_(std::move(recv_key)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (send_key_.size() != crypto_aead_chacha20poly1305_ietf_KEYBYTES ||
      recv_key_.size() != crypto_aead_chacha20poly1305_ietf_KEYBYTES) {
    throw std::invalid_argument("session keys must be 32 bytes");
  }
}

FrameCipher::~FrameCipher() {
  sodium_memzero(send_key_.data(), send_key_.size());
  sodium_memzero(recv_key_.data(), recv_key_.size());
}

void FrameCipher::seal(std::string_view payload, std::string& out) {
  const size_t len = payload.size() + kOverhead;
  const size_t start = out.size();
  out.resize(start + kHeaderSize + len);
  out[start] = static_cast<char>(len >> 24);
  out[start + 1] = static_cast<char>(len >> 16);
  out[start + 2] = static_cast<char>(len >> 8);
  out[start + 3] = static_cast<char>(len);
  unsigned char nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  nonce_of(sent_++, nonce);
  unsigned long long clen = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(out.data() + start + kHeaderSize), &clen,
      reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), nullptr, 0, nullptr,
      nonce, reinterpret_cast<const unsigned char*>(send_key_.data()));
}

Result<std::string_view> FrameCipher::open(std::string_view sealed) {
  if (sealed.size() < kOverhead) {
    return Status(StatusCode::kAuth, "encrypted frame shorter than its tag");
  }
  plain_.resize(sealed.size() - kOverhead);
  unsigned char nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  nonce_of(received_, nonce);
  unsigned long long plen = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain_.data()), &plen, nullptr,
          reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(), nullptr, 0, nonce,
          reinterpret_cast<const unsigned char*>(recv_key_.data())) != 0) {
    return Status(StatusCode::kAuth,
                  "an encrypted frame failed its check (altered, replayed, reordered or sealed "
                  "with another key)");
  }
  ++received_;
  return std::string_view(plain_.data(), static_cast<size_t>(plen));
}

}  // namespace pp::proto
