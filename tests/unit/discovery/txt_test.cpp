// Tests of the DNS-SD TXT codec: every fact survives a round trip (numbers at their published
// precision), every string fits one DNS character-string, long kernel lists spill over into
// kernels2..., and hostile or broken records are refused or read per RFC 6763 (first of
// duplicate keys, keys without case, unknown keys ignored). Also the service name's length.
#include "core/discovery/txt.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace pp::discovery {
namespace {

NodeFacts sample() {
  NodeFacts f;
  f.cluster_id = "c0ffee00c0ffee00";
  f.node_id = "3f2a9b7c01d4e5f6";
  f.host = "lab-h1";
  f.workers = 8;
  f.speed = 41.2346;
  f.load = 0.756;
  f.load_own = 1.5;
  f.load_other = 0.756;
  f.software = "ppcluster 0.1.0";
  f.protocol = 3;
  f.min_protocol = 2;
  f.kernel_abi = -7;
  f.luajit = "LuaJIT 2.1.0-beta3";
  f.kernels = {"mc_pi", "primes", "sum_sq"};
  return f;
}

std::vector<std::string> valid_txt() { return txt_from_facts(sample()); }

std::vector<std::string> with(std::vector<std::string> txt, const std::string& replace_key,
                              const std::string& entry) {
  for (auto& s : txt) {
    if (s.rfind(replace_key + "=", 0) == 0) s = entry;
  }
  return txt;
}

TEST_CASE("discovery.txt.exact_strings") {
  std::vector<std::string> want = {
      "cluster=c0ffee00c0ffee00",  "id=3f2a9b7c01d4e5f6", "host=lab-h1",
      "workers=8",                 "speed=41.235",        "load=0.76",
      "load_own=1.50",             "load_other=0.76",     "sw=ppcluster 0.1.0",
      "proto=3",                   "minproto=2",          "abi=-7",
      "luajit=LuaJIT 2.1.0-beta3", "kernels=mc_pi,primes,sum_sq"};
  CHECK(txt_from_facts(sample()) == want);
}

TEST_CASE("discovery.txt.round_trip") {
  NodeFacts in = sample();
  auto out = facts_from_txt(txt_from_facts(in));
  REQUIRE(out);
  CHECK(out->cluster_id == in.cluster_id);
  CHECK(out->node_id == in.node_id);
  CHECK(out->host == in.host);
  CHECK(out->workers == in.workers);
  CHECK(out->speed == doctest::Approx(41.235));
  CHECK(out->load == doctest::Approx(0.76));
  CHECK(out->load_own == doctest::Approx(1.5));
  CHECK(out->load_other == doctest::Approx(0.76));
  CHECK_FALSE(out->paused);
  CHECK(out->software == in.software);
  CHECK(out->protocol == in.protocol);
  CHECK(out->min_protocol == in.min_protocol);
  CHECK(out->kernel_abi == in.kernel_abi);
  CHECK(out->luajit == in.luajit);
  CHECK(out->kernels == in.kernels);
  CHECK(out->address.empty());
  CHECK(out->port == 0);
}

TEST_CASE("discovery.txt.paused_only_while_it_is") {
  NodeFacts in = sample();
  auto running = txt_from_facts(in);
  CHECK(std::none_of(running.begin(), running.end(),
                     [](const std::string& s) { return s.rfind("paused", 0) == 0; }));
  in.paused = true;
  auto txt = txt_from_facts(in);
  CHECK(std::find(txt.begin(), txt.end(), "paused=1") != txt.end());
  CHECK(txt.back().rfind("kernels=", 0) == 0);
  auto out = facts_from_txt(txt);
  REQUIRE(out);
  CHECK(out->paused);
  auto zero = facts_from_txt(with(txt, "paused", "paused=0"));
  REQUIRE(zero);
  CHECK_FALSE(zero->paused);
  for (const char* bad : {"paused=", "paused=yes", "paused=2", "paused=11"}) {
    auto r = facts_from_txt(with(txt, "paused", bad));
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("paused") != std::string::npos);
  }
}

TEST_CASE("discovery.txt.record_of_a_node_before_load_own") {
  // Its `load` was the other processes' load already: read as load_other.
  auto out = facts_from_txt({"id=n", "cluster=c", "load=2.50"});
  REQUIRE(out);
  CHECK(out->load_other == doctest::Approx(2.5));
  CHECK(out->load_own == 0);
  auto bad = facts_from_txt({"id=n", "cluster=c", "load_own=-1"});
  REQUIRE_FALSE(bad);
  CHECK(bad.status().message().find("load_own") != std::string::npos);
}

TEST_CASE("discovery.txt.caps_and_max_frame") {
  NodeFacts in = sample();
  in.caps = 0x3F;
  in.max_frame = uint64_t{1} << 40;
  auto txt = txt_from_facts(in);
  CHECK(std::find(txt.begin(), txt.end(), "caps=63") != txt.end());
  CHECK(std::find(txt.begin(), txt.end(), "maxframe=1099511627776") != txt.end());
  CHECK(txt.back().rfind("kernels=", 0) == 0);   // kernels stay last: they may spill over
  auto out = facts_from_txt(txt);
  REQUIRE(out);
  CHECK(out->caps == in.caps);
  CHECK(out->max_frame == in.max_frame);
  auto bad = facts_from_txt({"id=n", "cluster=c", "maxframe=lots"});
  REQUIRE_FALSE(bad);
  CHECK(bad.status().message().find("maxframe") != std::string::npos);
}

TEST_CASE("discovery.txt.empty_kernels_and_extremes") {
  NodeFacts in = sample();
  in.kernels.clear();
  in.workers = 4294967295u;
  in.protocol = 0;
  in.kernel_abi = -2147483647 - 1;
  in.speed = 0;
  auto out = facts_from_txt(txt_from_facts(in));
  REQUIRE(out);
  CHECK(out->kernels.empty());
  CHECK(out->workers == 4294967295u);
  CHECK(out->kernel_abi == -2147483647 - 1);
  CHECK(out->speed == 0);
}

TEST_CASE("discovery.txt.unpublishable_numbers_become_zero") {
  NodeFacts in = sample();
  in.speed = -1;
  in.load = 0.0 / 0.0;
  auto txt = txt_from_facts(in);
  auto out = facts_from_txt(txt);
  REQUIRE(out);
  CHECK(out->speed == 0);
  CHECK(out->load == 0);
}

TEST_CASE("discovery.txt.long_values_fit_txt_strings") {
  NodeFacts in = sample();
  in.kernels.clear();
  for (int i = 0; i < 100; ++i) in.kernels.push_back("kernel_number_" + std::to_string(i));
  in.kernels.push_back(std::string(300, 'k'));   // cannot be carried: left out
  in.kernels.push_back("has,comma");             // would split on reading: left out
  in.host = std::string(300, 'h');
  auto txt = txt_from_facts(in);
  for (const auto& s : txt) CHECK(s.size() <= kMaxTxtString);
  int parts = 0;
  for (const auto& s : txt) parts += s.rfind("kernels", 0) == 0 ? 1 : 0;
  CHECK(parts > 1);
  auto out = facts_from_txt(txt);
  REQUIRE(out);
  REQUIRE(out->kernels.size() == 100);
  CHECK(out->kernels.front() == "kernel_number_0");
  CHECK(out->kernels.back() == "kernel_number_99");
  CHECK(out->host == std::string(kMaxTxtString - 5, 'h'));
}

TEST_CASE("discovery.txt.cut_respects_utf8") {
  NodeFacts in = sample();
  in.host = "x";
  for (int i = 0; i < 200; ++i) in.host += "\xc3\xa9";   // é, two bytes each
  auto txt = txt_from_facts(in);
  REQUIRE(txt[2].rfind("host=x", 0) == 0);
  CHECK(txt[2].size() == 254);   // 255 would split the last é
}

TEST_CASE("discovery.txt.missing_or_empty_ids_are_malformed") {
  auto drop = [](std::vector<std::string> txt, const std::string& key) {
    std::erase_if(txt, [&](const std::string& s) { return s.rfind(key + "=", 0) == 0; });
    return txt;
  };
  for (const auto& txt : {drop(valid_txt(), "id"), drop(valid_txt(), "cluster"),
                          with(valid_txt(), "id", "id="), with(valid_txt(), "cluster", "cluster="),
                          with(valid_txt(), "id", "id"), std::vector<std::string>{},
                          std::vector<std::string>{"", "=", "==", "=id=x"}}) {
    auto r = facts_from_txt(txt);
    CHECK_FALSE(r);
    CHECK(r.status().code() == StatusCode::kInvalid);
  }
}

TEST_CASE("discovery.txt.bad_numbers_are_malformed") {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"workers", "workers=abc"},     {"workers", "workers=-1"},
      {"workers", "workers=4294967296"}, {"workers", "workers= 8"},
      {"workers", "workers=8 "},      {"workers", "workers=+8"},
      {"workers", "workers="},        {"workers", "workers=0x10"},
      {"speed", "speed=nan"},         {"speed", "speed=inf"},
      {"speed", "speed=-0.5"},        {"speed", "speed=1e3"},
      {"speed", "speed=1,5"},         {"load", "load=.."},
      {"load", "load=1e999"},         {"proto", "proto=3.0"},
      {"minproto", "minproto=-2"},    {"abi", "abi=2147483648"},
      {"abi", "abi=\xff\xfe"},
  };
  for (const auto& [key, entry] : bad) {
    INFO(entry);
    auto r = facts_from_txt(with(valid_txt(), key, entry));
    CHECK_FALSE(r);
    CHECK(r.status().code() == StatusCode::kInvalid);
  }
}

TEST_CASE("discovery.txt.rfc6763_reading") {
  std::vector<std::string> txt = {"ID=first", "id=second", "Cluster=c1", "workers=3",
                                  "flag",     "future=whatever", "sw=a=b", "kernels=,a,,b,"};
  auto r = facts_from_txt(txt);
  REQUIRE(r);
  CHECK(r->node_id == "first");   // keys ignore case, the first one counts
  CHECK(r->cluster_id == "c1");
  CHECK(r->workers == 3);
  CHECK(r->software == "a=b");    // a value may hold '='
  CHECK(r->kernels == std::vector<std::string>{"a", "b"});
  CHECK(r->speed == 1.0);         // absent: the default
  CHECK(r->host.empty());
}

TEST_CASE("discovery.txt.kernel_parts_read_in_order_until_a_gap") {
  auto r = facts_from_txt({"id=n", "cluster=c", "kernels3=c", "kernels=a", "kernels2=b",
                           "kernels5=e"});
  REQUIRE(r);
  CHECK(r->kernels == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("discovery.txt.binary_garbage_does_not_crash") {
  std::vector<std::string> txt = valid_txt();
  txt.push_back(std::string("\0\0=\0", 4));
  txt.push_back(std::string(255, '\xff'));
  txt.push_back(std::string("host\0=x", 7));
  auto r = facts_from_txt(txt);
  REQUIRE(r);
  CHECK(r->host == "lab-h1");
}

TEST_CASE("discovery.service_name") {
  NodeFacts f = sample();
  CHECK(service_name(f) == "ppserver lab-h1 3f2a9b");
  f.host = std::string(100, 'x');
  std::string n = service_name(f);
  CHECK(n.size() == kMaxServiceName);
  CHECK(n.substr(n.size() - 7) == " 3f2a9b");
  f.host.clear();
  for (int i = 0; i < 40; ++i) f.host += "\xc3\xa9";
  n = service_name(f);
  CHECK(n.size() <= kMaxServiceName);
  CHECK(n.substr(n.size() - 7) == " 3f2a9b");
  CHECK(n.find("\xc3\xa9 ") != std::string::npos);   // no é cut in half
  f.host.clear();
  CHECK(service_name(f) == "ppserver 3f2a9b");
}

}  // namespace
}  // namespace pp::discovery
