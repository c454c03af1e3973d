#include "core/proto/data_ref.hpp"

#include <sodium.h>

#include "core/proto/constants.hpp"

namespace pp::proto {

std::string data_hash(std::string_view bytes) {
  // Keyed apart from code hashes, so a value and a code blob never share a name.
  static constexpr char kKey[] = "ppcluster data hash v1 (scatter)";
  static_assert(sizeof kKey - 1 >= crypto_generichash_KEYBYTES_MIN);
  (void)sodium_init();   // idempotent; hashing works whatever it returns
  std::string out(kHashSize, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                     reinterpret_cast<const unsigned char*>(kKey), sizeof kKey - 1);
  return out;
}

std::string data_ref_body(const DataRef& ref) {
  std::string b = ref.hash;
  b.resize(kHashSize, '\0');
  for (int i = 7; i >= 0; --i) b.push_back(static_cast<char>(ref.size >> (8 * i)));
  return b;
}

void put_data_ref(std::string& out, const DataRef& ref) {
  out.push_back(static_cast<char>(0xc7));
  out.push_back(static_cast<char>(kDataRefBodySize));
  out.push_back(static_cast<char>(kDataRefExt));
  out += data_ref_body(ref);
}

Result<DataRef> parse_data_ref_body(std::string_view body) {
  if (body.size() != kDataRefBodySize) {
    return Status(StatusCode::kInvalid, "a scattered value's handle is " +
                                            std::to_string(body.size()) + " bytes, not " +
                                            std::to_string(kDataRefBodySize));
  }
  DataRef ref;
  ref.hash = std::string(body.substr(0, kHashSize));
  for (size_t i = kHashSize; i < kDataRefBodySize; ++i) {
    ref.size = (ref.size << 8) | static_cast<unsigned char>(body[i]);
  }
  return ref;
}

}  // namespace pp::proto
