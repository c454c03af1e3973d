// Tests of the authentication primitives: deterministic, secret-dependent derivations; proofs
// bound to their role and to both nonces (no reflection, no replay); a comparison that refuses
// anything of the wrong size; a public cluster id that does not leak the secret.
#include "core/proto/auth.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <string_view>

#include "core/proto/constants.hpp"

namespace pp::proto {
namespace {

using namespace std::string_literals;

const std::string kSecret = "correct horse battery staple";

std::string nonce(char fill) { return std::string(kNonceSize, fill); }

TEST_CASE("proto.auth.derive_key_deterministic_and_secret_dependent") {
  AuthKey a = derive_key(kSecret);
  CHECK(a.bytes.size() == 32);
  CHECK(derive_key(kSecret).bytes == a.bytes);
  CHECK(derive_key(kSecret + "!").bytes != a.bytes);
  CHECK(derive_key("correct horse battery stapld").bytes != a.bytes);  // one bit differs
  CHECK(derive_key("").bytes.size() == 32);
  CHECK(derive_key("").bytes != a.bytes);
  CHECK(derive_key("a\0b"s).bytes != derive_key("a"s).bytes);  // the whole secret counts
  CHECK(a.bytes.find(kSecret) == std::string::npos);
  CHECK(a.bytes != std::string(32, '\0'));
}

TEST_CASE("proto.auth.proofs_have_proof_size") {
  AuthKey k = derive_key(kSecret);
  CHECK(client_proof(k, nonce('c'), nonce('s')).size() == kProofSize);
  CHECK(server_proof(k, nonce('c'), nonce('s')).size() == kProofSize);
}

TEST_CASE("proto.auth.client_and_server_proofs_differ") {
  // A node must not be able to answer a client with the client's own proof, nor the reverse.
  AuthKey k = derive_key(kSecret);
  const std::string cn = nonce('c');
  const std::string sn = nonce('s');
  CHECK(client_proof(k, cn, sn) != server_proof(k, cn, sn));
  CHECK_FALSE(proof_equal(client_proof(k, cn, sn), server_proof(k, cn, sn)));
  // Nor by swapping the nonces, which is what a reflecting peer controls.
  CHECK(client_proof(k, cn, sn) != server_proof(k, sn, cn));
  CHECK(server_proof(k, cn, sn) != client_proof(k, sn, cn));
  // Identical nonces on both sides still give different role proofs.
  CHECK(client_proof(k, cn, cn) != server_proof(k, cn, cn));
}

TEST_CASE("proto.auth.proofs_deterministic_and_bound_to_everything") {
  AuthKey k = derive_key(kSecret);
  const std::string cn = random_bytes(kNonceSize);
  const std::string sn = random_bytes(kNonceSize);
  const std::string c = client_proof(k, cn, sn);
  const std::string s = server_proof(k, cn, sn);
  CHECK(client_proof(k, cn, sn) == c);
  CHECK(server_proof(k, cn, sn) == s);

  std::string cn2 = cn;
  cn2[kNonceSize - 1] = static_cast<char>(cn2[kNonceSize - 1] ^ 1);
  std::string sn2 = sn;
  sn2[0] = static_cast<char>(sn2[0] ^ 0x80);
  CHECK(client_proof(k, cn2, sn) != c);
  CHECK(client_proof(k, cn, sn2) != c);
  CHECK(server_proof(k, cn2, sn) != s);
  CHECK(server_proof(k, cn, sn2) != s);
  CHECK(client_proof(k, sn, cn) != c);  // order matters

  AuthKey other = derive_key("another secret");
  CHECK(client_proof(other, cn, sn) != c);
  CHECK(server_proof(other, cn, sn) != s);
}

TEST_CASE("proto.auth.proof_equal") {
  AuthKey k = derive_key(kSecret);
  const std::string p = client_proof(k, nonce('a'), nonce('b'));
  CHECK(proof_equal(p, p));
  CHECK(proof_equal(p, std::string(p)));
  for (size_t i : {size_t{0}, kProofSize / 2, kProofSize - 1}) {
    CAPTURE(i);
    std::string q = p;
    q[i] = static_cast<char>(q[i] ^ 1);
    CHECK_FALSE(proof_equal(p, q));
    CHECK_FALSE(proof_equal(q, p));
  }
  // Wrong sizes never match, not even a prefix or an equal pair of the wrong size.
  CHECK_FALSE(proof_equal(p, p.substr(0, kProofSize - 1)));
  CHECK_FALSE(proof_equal(p, p + '\0'));
  CHECK_FALSE(proof_equal(p, ""));
  CHECK_FALSE(proof_equal("", ""));
  CHECK_FALSE(proof_equal("abc", "abc"));
  CHECK_FALSE(proof_equal(p + p, p + p));
  CHECK(proof_equal(std::string(kProofSize, '\0'), std::string(kProofSize, '\0')));
}

TEST_CASE("proto.auth.cluster_id") {
  const std::string id = cluster_id(kSecret);
  CHECK(id == cluster_id(kSecret));
  CHECK_FALSE(id.empty());
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(cluster_id("another secret") != id);
  CHECK(cluster_id(kSecret + " ") != id);
  CHECK(cluster_id("") != id);
  // Broadcast in beacons, so it must carry neither the secret nor the key.
  CHECK(id.find(kSecret) == std::string::npos);
  CHECK(id.find(to_hex(kSecret)) == std::string::npos);
  CHECK(id.find(to_hex(kSecret.substr(0, 4))) == std::string::npos);
  CHECK(to_hex(derive_key(kSecret).bytes).find(id) == std::string::npos);  // nor the key
  const std::string short_secret = "ab";
  CHECK(cluster_id(short_secret).find(to_hex(short_secret)) == std::string::npos);
  // Different secrets of a family all get distinct ids.
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) ids.insert(cluster_id("secret-" + std::to_string(i)));
  CHECK(ids.size() == 200);
}

TEST_CASE("proto.auth.code_hash") {
  const std::string blob = "return function(x) return x * 2 end";
  const std::string h = code_hash(blob);
  CHECK(h.size() == kHashSize);
  CHECK(code_hash(blob) == h);
  CHECK(code_hash(blob + " ") != h);
  CHECK(code_hash("").size() == kHashSize);
  CHECK(code_hash("") != code_hash("\0"s));
  CHECK(code_hash(std::string(100000, '\0')).size() == kHashSize);
  CHECK(code_hash(std::string(100000, '\0')) != code_hash(std::string(100001, '\0')));
  std::set<std::string> hashes;
  for (int i = 0; i < 500; ++i) hashes.insert(code_hash("blob " + std::to_string(i)));
  CHECK(hashes.size() == 500);
  // A code hash is not the cluster key's derivation of the same bytes.
  CHECK(h != derive_key(blob).bytes.substr(0, kHashSize));
}

TEST_CASE("proto.auth.random_bytes") {
  CHECK(random_bytes(0).empty());
  CHECK(random_bytes(1).size() == 1);
  CHECK(random_bytes(kNonceSize).size() == kNonceSize);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_bytes(kNonceSize));
  CHECK(seen.size() == 100);
  CHECK(random_bytes(kNonceSize) != std::string(kNonceSize, '\0'));
  const std::string hex = random_hex(8);
  CHECK(hex.size() == 16);
  CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(random_hex(8) != hex);
}

TEST_CASE("proto.auth.to_hex") {
  CHECK(to_hex("").empty());
  CHECK(to_hex("\x00\x01\x7f\x80\xff"s) == "00017f80ff");
  CHECK(to_hex("AZ") == "415a");
}

TEST_CASE("proto.auth.handshake_end_to_end") {
  // Both sides derive the key from the same secret; each checks the other's proof.
  const std::string cn = random_bytes(kNonceSize);
  const std::string sn = random_bytes(kNonceSize);
  AuthKey client = derive_key(kSecret);
  AuthKey node = derive_key(kSecret);
  CHECK(proof_equal(client_proof(client, cn, sn), client_proof(node, cn, sn)));
  CHECK(proof_equal(server_proof(node, cn, sn), server_proof(client, cn, sn)));
  AuthKey intruder = derive_key("guess");
  CHECK_FALSE(proof_equal(client_proof(intruder, cn, sn), client_proof(node, cn, sn)));
  // A proof recorded under old nonces does not pass with fresh ones.
  const std::string cn2 = random_bytes(kNonceSize);
  CHECK_FALSE(proof_equal(client_proof(client, cn, sn), client_proof(node, cn2, sn)));
}

}  // namespace
}  // namespace pp::proto
