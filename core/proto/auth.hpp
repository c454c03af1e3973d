// Authentication primitives (libsodium): key derivation from the cluster secret,
// fresh nonces, and the two HMAC proofs of the mutual handshake.
//
// Handshake (docs/protocol.md): client HELLO(nc) -> node HELLO(ns) ->
// client AUTH(HMAC(k, "pp-client" | nc | ns)) -> node AUTH_OK(HMAC(k, "pp-server" | nc | ns)).
// The labels stop a proof being reflected back; fresh nonces on both sides stop
// replays. The secret itself never travels. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace pp::proto {

struct AuthKey {
  std::string bytes;   // 32 bytes
};

AuthKey derive_key(std::string_view secret);
// A short public identifier of the cluster derived from the secret (hex).
std::string cluster_id(std::string_view secret);
std::string random_bytes(size_t n);
std::string random_hex(size_t n_bytes);
// `encrypted`: the session goes on encrypted (either HELLO asked for it). It changes the
// proofs' labels, so a peer in the middle that strips the request from a HELLO makes
// the handshake fail instead of downgrading the session.
std::string client_proof(const AuthKey& k, std::string_view client_nonce,
                         std::string_view server_nonce, bool encrypted = false);
std::string server_proof(const AuthKey& k, std::string_view client_nonce,
                         std::string_view server_nonce, bool encrypted = false);
// The two keys of an encrypted session (32 bytes each), fresh for every pair of nonces.
struct SessionKeys {
  std::string client_to_node;
  std::string node_to_client;
};
SessionKeys session_keys(const AuthKey& k, std::string_view client_nonce,
                         std::string_view server_nonce);
// HMAC-SHA256 of `data` under `key` (kProofSize bytes).
std::string hmac_sha256(const AuthKey& key, std::string_view data);
// Constant-time comparison.
bool proof_equal(std::string_view a, std::string_view b);
// The kHashSize-byte content hash of a code blob.
std::string code_hash(std::string_view blob);
std::string to_hex(std::string_view bytes);

}  // namespace pp::proto
