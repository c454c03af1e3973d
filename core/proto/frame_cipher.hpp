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
#pragma once

#include <cstddef>
#include <cstdint>
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
  // Decrypts the payload of one received frame; the view stays valid until the next
  // call. An error means the frame was not the next one the peer sealed.
  Result<std::string_view> open(std::string_view sealed);

 private:
  std::string send_key_;
  std::string recv_key_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  std::string plain_;
};

}  // namespace pp::proto
