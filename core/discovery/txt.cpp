#include "core/discovery/txt.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include "core/util/split.hpp"

namespace pp::discovery {
namespace {

// The longest prefix of `s` of at most `n` bytes that does not split a UTF-8 sequence.
std::string cut_utf8(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Fixed-point text that ignores the C locale (snprintf would write "1,500" under de_DE).
std::string fixed(double v, int digits) {
  if (!std::isfinite(v) || v < 0) v = 0;
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, digits);
  return r.ec == std::errc() ? std::string(buf, r.ptr) : std::string("0");
}

void add(std::vector<std::string>& out, const char* key, const std::string& value) {
  out.push_back(cut_utf8(std::string(key) + "=" + value, kMaxTxtString));
}

// kernels=a,b,... then kernels2=..., kernels3=... each within one TXT string. A name that
// cannot be carried (too long for a string of its own, or holding a comma) is left out.
void add_kernels(std::vector<std::string>& out, const std::vector<std::string>& kernels) {
  std::string cur = "kernels=";
  int part = 1;
  bool empty = true;
  for (const auto& k : kernels) {
    if (k.empty() || k.find(',') != std::string::npos) continue;
    if (cur.size() + (empty ? 0 : 1) + k.size() > kMaxTxtString) {
      std::string next = "kernels" + std::to_string(part + 1) + "=";
      if (next.size() + k.size() > kMaxTxtString) continue;
      out.push_back(cur);
      cur = next;
      ++part;
      empty = true;
    }
    if (!empty) cur += ',';
    cur += k;
    empty = false;
  }
  out.push_back(cur);
}

template <typename T>
bool parse_int(const std::string& s, T& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_nonneg(const std::string& s, double& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::fixed);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out) &&
         out >= 0;
}

}  // namespace

Status bad_txt(const std::string& why) {
  return Status(StatusCode::kInvalid, "malformed DNS-SD TXT: " + why);
}

std::vector<std::string> txt_from_facts(const NodeFacts& f) {
  std::vector<std::string> out;
  add(out, "cluster", f.cluster_id);
  add(out, "id", f.node_id);
  add(out, "host", f.host);
  add(out, "workers", std::to_string(f.workers));
  add(out, "speed", fixed(f.speed, 3));
  add(out, "load", fixed(f.load, 2));
  add(out, "load_own", fixed(f.load_own, 2));
  add(out, "load_other", fixed(f.load_other, 2));
  add(out, "sw", f.software);
  add(out, "proto", std::to_string(f.protocol));
  add(out, "minproto", std::to_string(f.min_protocol));
  add(out, "abi", std::to_string(f.kernel_abi));
  add(out, "luajit", f.luajit);
  // 0 is "not said" (and what nodes before these facts publish): left out, reads back as 0.
  if (f.caps != 0) add(out, "caps", std::to_string(f.caps));
  if (f.max_frame != 0) add(out, "maxframe", std::to_string(f.max_frame));
  // Only while paused, as in the beacon: a node that resumes drops the key.
  if (f.paused) add(out, "paused", "1");
  add_kernels(out, f.kernels);
  return out;
}

Result<NodeFacts> facts_from_txt(const std::vector<std::string>& key_eq_values) {
  std::map<std::string, std::string> kv;  // RFC 6763 6.4: keys ignore case, first one counts
  for (const auto& s : key_eq_values) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = s.substr(0, eq);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    kv.emplace(std::move(key), s.substr(eq + 1));
  }
  auto get = [&](const char* key) -> const std::string* {
    auto it = kv.find(key);
    return it == kv.end() ? nullptr : &it->second;
  };
  NodeFacts f;
  const std::string* v = get("id");
  if (v == nullptr || v->empty()) return bad_txt("no node id");
  f.node_id = *v;
  v = get("cluster");
  if (v == nullptr || v->empty()) return bad_txt("no cluster id");
  f.cluster_id = *v;
  if ((v = get("host")) != nullptr) f.host = *v;
  if ((v = get("sw")) != nullptr) f.software = *v;
  if ((v = get("luajit")) != nullptr) f.luajit = *v;
  std::string bad;  // the first numeric key whose value does not parse
  auto number = [&](const char* key, auto parse) {
    const std::string* s = get(key);
    if (s != nullptr && !parse(*s) && bad.empty()) bad = key;
  };
  number("workers", [&](const std::string& s) { return parse_int(s, f.workers); });
  number("speed", [&](const std::string& s) { return parse_nonneg(s, f.speed); });
  number("load", [&](const std::string& s) { return parse_nonneg(s, f.load); });
  number("load_own", [&](const std::string& s) { return parse_nonneg(s, f.load_own); });
  number("load_other", [&](const std::string& s) { return parse_nonneg(s, f.load_other); });
  number("proto", [&](const std::string& s) { return parse_int(s, f.protocol); });
  number("minproto", [&](const std::string& s) { return parse_int(s, f.min_protocol); });
  number("abi", [&](const std::string& s) { return parse_int(s, f.kernel_abi); });
  number("caps", [&](const std::string& s) { return parse_int(s, f.caps); });
  number("maxframe", [&](const std::string& s) { return parse_int(s, f.max_frame); });
  if (!bad.empty()) return bad_txt(bad + " is not a valid number");
  if (get("load_other") == nullptr) f.load_other = f.load;   // a node before it
  if ((v = get("paused")) != nullptr) {
    if (*v != "0" && *v != "1") return bad_txt("paused is neither 0 nor 1");
    f.paused = *v == "1";
  }
  if ((v = get("kernels")) != nullptr) split_list(*v, ',', f.kernels);
  for (int part = 2; (v = get(("kernels" + std::to_string(part)).c_str())) != nullptr; ++part) {
    split_list(*v, ',', f.kernels);
  }
  return f;
}

std::string service_name(const NodeFacts& f) {
  const std::string prefix = "ppserver ";
  std::string id = cut_utf8(f.node_id, 6);
  if (f.host.empty()) return cut_utf8(prefix + id, kMaxServiceName);
  size_t room = kMaxServiceName - prefix.size() - 1 - id.size();
  return prefix + cut_utf8(f.host, room) + " " + id;
}

}  // namespace pp::discovery
