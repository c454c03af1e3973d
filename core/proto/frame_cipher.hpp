// FrameCipher: the encryption of a session's frames after the handshake (--encrypt).
//
// Each frame keeps its 4-byte length header; the payload becomes
// ChaCha20-Poly1305 (IETF, libsodium) ciphertext plus a 16-byte tag. Each direction
// has its own key (proto::session_keys, fresh for each connection's nonces) and a
// 64-bit frame counter as the nonce, so a frame that is altered, dropped, replayed
// or reordered fails to open and the connection is closed. The length header is
// not secret; it is bound to the frame because the tag covers the exact ciphertext.
// One per connection, used from that connection's thread only.
//
//   FrameCipher c(keys.client_to_node, keys.node_to_client);   // client side
//   c.seal(payload, out);                // appends header + ciphertext + tag
//   Result<std::string_view> p = c.open(received_payload);
//   c.seal_frame(buf, start);            // the plain frame at buf[start..] sealed in place
//   Result<std::string_view> q = c.open_in_place(span);   // plaintext where span was
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/util/status.hpp"

namespace pp::proto {

class FrameCipher {
 public:
  static constexpr size_t kOverhead = 16;

  FrameCipher(std::string send_key, std::string recv_key);
  ~FrameCipher();
  FrameCipher(const FrameCipher&) = delete;
  FrameCipher& operator=(const FrameCipher&) = delete;

  // Appends one whole frame carrying `payload` encrypted.
  void seal(std::string_view payload, std::string& out);
  // Seals the plain frame that runs from `start` to the end of `buf` where it lies:
  // encrypts its payload in place, appends the tag and fixes its length header.
  void seal_frame(std::string& buf, size_t start);
  // Decrypts the payload of one received frame; the view stays valid until the next
  // call. An error means the frame was not the next one the peer sealed.
  Result<std::string_view> open(std::string_view sealed);
  // The same, decrypting where the sealed payload lies: the plaintext is a prefix of it.
  Result<std::string_view> open_in_place(std::span<char> sealed);

 private:
  std::string send_key_;
  std::string recv_key_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  std::string plain_;
};

}  // namespace pp::proto
