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

Status too_short() {
  return Status(StatusCode::kAuth, "encrypted frame shorter than its tag");
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
  const size_t start = out.size();
  out.append(kHeaderSize, '\0');
  out.append(payload);
  seal_frame(out, start);
}

void FrameCipher::seal_frame(std::string& buf, size_t start) {
  const size_t plain = buf.size() - start - kHeaderSize;
  const size_t len = plain + kOverhead;
  buf.resize(buf.size() + kOverhead);
  auto* p = reinterpret_cast<unsigned char*>(buf.data() + start);
  p[0] = static_cast<unsigned char>(len >> 24);
  p[1] = static_cast<unsigned char>(len >> 16);
  p[2] = static_cast<unsigned char>(len >> 8);
  p[3] = static_cast<unsigned char>(len);
  unsigned char nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  nonce_of(sent_++, nonce);
  // In place (libsodium allows the ciphertext over the message): no second copy.
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      p + kHeaderSize, p + kHeaderSize + plain, nullptr, p + kHeaderSize, plain, nullptr, 0,
      nullptr, nonce, reinterpret_cast<const unsigned char*>(send_key_.data()));
}

Result<std::string_view> FrameCipher::open(std::string_view sealed) {
  if (sealed.size() < kOverhead) return too_short();
  plain_.assign(sealed);
  return open_in_place(std::span<char>(plain_.data(), plain_.size()));
}

Result<std::string_view> FrameCipher::open_in_place(std::span<char> sealed) {
  if (sealed.size() < kOverhead) return too_short();
  const size_t plain = sealed.size() - kOverhead;
  auto* p = reinterpret_cast<unsigned char*>(sealed.data());
  unsigned char nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  nonce_of(received_, nonce);
  // The tag is checked before anything is decrypted; a frame that fails it ends the stream.
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
          p, nullptr, p, plain, p + plain, nullptr, 0, nonce,
          reinterpret_cast<const unsigned char*>(recv_key_.data())) != 0) {
    return Status(StatusCode::kAuth,
                  "an encrypted frame failed its check (altered, replayed, reordered or sealed "
                  "with another key)");
  }
  ++received_;
  return std::string_view(sealed.data(), plain);
}

}  // namespace pp::proto
