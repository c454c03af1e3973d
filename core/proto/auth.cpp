#include "core/proto/auth.hpp"

#include <sodium.h>

#include <stdexcept>

#include "core/proto/constants.hpp"

namespace pp::proto {
namespace {

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

const auto* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string keyed_hash(std::string_view label, std::string_view data, size_t out_len) {
  ensure_sodium();
  std::string out(out_len, '\0');
  // The label (16..64 bytes) keys the hash so each derived value is independent.
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out_len, u8(data), data.size(),
                     u8(label), label.size());
  return out;
}

std::string proof(const AuthKey& k, std::string_view label, std::string_view cn,
                  std::string_view sn) {
  ensure_sodium();
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, u8(k.bytes), k.bytes.size());
  crypto_auth_hmacsha256_update(&st, u8(label), label.size());
  crypto_auth_hmacsha256_update(&st, u8(cn), cn.size());
  crypto_auth_hmacsha256_update(&st, u8(sn), sn.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

std::string hmac_sha256(const AuthKey& k, std::string_view data) {
  ensure_sodium();
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, u8(k.bytes), k.bytes.size());
  crypto_auth_hmacsha256_update(&st, u8(data), data.size());
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

AuthKey derive_key(std::string_view secret) {
  return {keyed_hash("ppcluster auth key v1", secret, 32)};
}

std::string cluster_id(std::string_view secret) {
  // BLAKE2b's minimum output is 16 bytes; the id shows the first 8.
  return to_hex(keyed_hash("ppcluster cluster id v1", secret, 16).substr(0, 8));
}

std::string random_bytes(size_t n) {
  ensure_sodium();
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

std::string random_hex(size_t n_bytes) { return to_hex(random_bytes(n_bytes)); }

std::string client_proof(const AuthKey& k, std::string_view cn, std::string_view sn,
                         bool encrypted) {
  return proof(k, encrypted ? "pp-client+encrypt" : "pp-client", cn, sn);
}

std::string server_proof(const AuthKey& k, std::string_view cn, std::string_view sn,
                         bool encrypted) {
  return proof(k, encrypted ? "pp-server+encrypt" : "pp-server", cn, sn);
}

SessionKeys session_keys(const AuthKey& k, std::string_view cn, std::string_view sn) {
  return {proof(k, "pp-key-client-to-node", cn, sn), proof(k, "pp-key-node-to-client", cn, sn)};
}

bool proof_equal(std::string_view a, std::string_view b) {
  ensure_sodium();
  return a.size() == b.size() && a.size() == kProofSize &&
         sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string code_hash(std::string_view blob) { return keyed_hash("ppcluster code hash v1", blob, kHashSize); }

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace pp::proto
