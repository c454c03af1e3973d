#include "core/proto/codec.hpp"

#include <cstring>
#include <msgpack.hpp>

#include "core/proto/clients_codec.hpp"
#include "core/proto/msgpack_util.hpp"

namespace pp::proto {
namespace {

using Packer = StringPacker;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

struct Encoder {
  Packer& pk;
  FrameOut& fo;
  size_t spliced = 0;   // bytes of this frame left out of fo.bytes
  void bin(std::string_view s) {
    pk.pack_bin(static_cast<uint32_t>(s.size()));
    if (fo.splices != nullptr && s.size() >= kMinSplice) {
      fo.splices->push_back({fo.bytes.size(), s});
      spliced += s.size();
      return;
    }
    pk.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
  }
  void head(MsgType t, uint32_t fields) {
    pk.pack_array(fields + 1);
    pk.pack(static_cast<uint8_t>(t));
  }
  void operator()(const Hello& m) {
    head(MsgType::kHello, 1);
    pk.pack_map(15);
    pack_str(pk, "magic"), pack_str(pk, m.magic);
    pack_str(pk, "protocol"), pk.pack(m.protocol);
    pack_str(pk, "min_protocol"), pk.pack(m.min_protocol);
    pack_str(pk, "software"), pack_str(pk, m.software);
    pack_str(pk, "luajit"), pack_str(pk, m.luajit);
    pack_str(pk, "kernel_abi"), pk.pack(m.kernel_abi);
    pack_str(pk, "role"), pack_str(pk, m.role);
    pack_str(pk, "node_id"), pack_str(pk, m.node_id);
    pack_str(pk, "host"), pack_str(pk, m.host);
    pack_str(pk, "workers"), pk.pack(m.workers);
    pack_str(pk, "speed"), pk.pack(m.speed);
    pack_str(pk, "caps"), pk.pack(m.caps);
    pack_str(pk, "nonce"), bin(m.nonce);
    pack_str(pk, "max_frame"), pk.pack(m.max_frame);
    pack_str(pk, "data_cache"), pk.pack(m.data_cache);
  }
  void operator()(const Auth& m) { head(MsgType::kAuth, 1), bin(m.proof); }
  void operator()(const AuthOk& m) { head(MsgType::kAuthOk, 1), bin(m.proof); }
  void operator()(const Error& m) {
    head(MsgType::kError, 2), pk.pack(m.code), pack_str(pk, m.message);
  }
  void operator()(const CodeMsg& m) {
    head(MsgType::kCode, 2), bin(m.hash), bin(m.blob);
  }
  void submit(uint64_t job_id, std::string_view hash, std::string_view args, uint32_t timeout,
              uint32_t worker, bool keep) {
    head(MsgType::kSubmit, keep ? 7 : worker == 0 ? 5 : 6);
    pk.pack(job_id), bin(hash), bin(args);
    pk.pack(uint32_t{0}), pk.pack(timeout);   // reserved (was attempt), then timeout
    // Only when needed: a SUBMIT without them is protocol 1's. With keep, the worker
    // field is written even when 0 (any worker).
    if (worker != 0 || keep) pk.pack(worker);
    if (keep) pk.pack(uint8_t{1});
  }
  void operator()(const Submit& m) {
    submit(m.job_id, m.hash, m.args, m.timeout_ms, m.worker, m.keep);
  }
  void operator()(const ResultMsg& m) {
    // The output is a ninth field only when there is some: a RESULT without it is
    // exactly protocol 1's.
    head(MsgType::kResult, m.output.empty() ? 8 : 9);
    pk.pack(m.job_id), pk.pack(static_cast<uint8_t>(m.status)), bin(m.value);
    pack_str(pk, m.error), pack_str(pk, m.traceback);
    pk.pack(m.cpu_us), pk.pack(m.wall_us), pk.pack(m.worker);
    if (!m.output.empty()) bin(m.output);
  }
  void operator()(const Cancel& m) { head(MsgType::kCancel, 1), pk.pack(m.job_id); }
  void ids(const std::vector<uint64_t>& v) {
    pk.pack_array(static_cast<uint32_t>(v.size()));
    for (uint64_t id : v) pk.pack(id);
  }
  void operator()(const Steal& m) { head(MsgType::kSteal, 1), ids(m.job_ids); }
  void operator()(const Stolen& m) { head(MsgType::kStolen, 2), ids(m.taken), ids(m.started); }
  void operator()(const Heartbeat&) { head(MsgType::kHeartbeat, 0); }
  void operator()(const Pause& m) {
    head(MsgType::kPause, 3), pk.pack(uint8_t{m.paused ? uint8_t{1} : uint8_t{0}});
    pack_str(pk, m.reason), pk.pack(m.paused_ms);
  }
  void operator()(const Bye& m) { head(MsgType::kBye, 1), pack_str(pk, m.reason); }
  void operator()(const WorkerReady& m) {
    head(MsgType::kWorkerReady, 3), pk.pack(m.pid), pack_str(pk, m.luajit), pk.pack(m.kernel_abi);
  }
  void operator()(const WorkerCode& m) {
    head(MsgType::kWorkerCode, 2), bin(m.hash), bin(m.blob);
  }
  void worker_run(uint64_t key, std::string_view hash, std::string_view args) {
    head(MsgType::kWorkerRun, 3), pk.pack(key), bin(hash), bin(args);
  }
  void operator()(const WorkerRun& m) { worker_run(m.key, m.hash, m.args); }
  void operator()(const WorkerReset&) { head(MsgType::kWorkerReset, 0); }
  void data(MsgType t, std::string_view hash, std::string_view bytes) {
    head(t, 2), bin(hash), bin(bytes);
  }
  void operator()(const DataMsg& m) { data(MsgType::kData, m.hash, m.bytes); }
  void operator()(const DataRelease& m) { head(MsgType::kDataRelease, 1), bin(m.hash); }
  void operator()(const WorkerData& m) { data(MsgType::kWorkerData, m.hash, m.bytes); }
  void operator()(const KeepFetch& m) { head(MsgType::kKeepFetch, 1), bin(m.hash); }
  void operator()(const Kept& m) { data(MsgType::kKept, m.hash, m.bytes); }
  void operator()(const Clients& m) { head(MsgType::kClients, 1), pack_client_list(pk, m.clients); }
  void operator()(const ClientsAsk&) { head(MsgType::kClientsAsk, 0); }
  void operator()(const KeepLate& m) { head(MsgType::kKeepLate, 1), pk.pack(m.job_id); }
};

// Strict field extraction; throws msgpack::type_error, caught in decode_message.
struct Fields {
  const msgpack::object* p;
  uint32_t n;
  uint32_t i = 1;
  const msgpack::object& take() {
    if (i >= n) throw msgpack::type_error();
    return p[i++];
  }
  template <typename T>
  T uint() {
    const auto& o = take();
    if (o.type != msgpack::type::POSITIVE_INTEGER) throw msgpack::type_error();
    return o.as<T>();  // msgpack-c checks the range
  }
  int32_t int32() { return take().as<int32_t>(); }
  // A u8 that is 0 or 1.
  bool flag() {
    uint8_t v = uint<uint8_t>();
    if (v > 1) throw msgpack::type_error();
    return v == 1;
  }
  std::string bytes() { return bytes_of(take()); }
  std::string_view view() {
    const auto& o = take();
    if (o.type == msgpack::type::BIN) return {o.via.bin.ptr, o.via.bin.size};
    if (o.type == msgpack::type::STR) return {o.via.str.ptr, o.via.str.size};
    throw msgpack::type_error();
  }
  std::vector<uint64_t> ids() {
    const auto& o = take();
    if (o.type != msgpack::type::ARRAY || o.via.array.size > kMaxStealIds) {
      throw msgpack::type_error();
    }
    std::vector<uint64_t> v;
    v.reserve(o.via.array.size);
    for (uint32_t k = 0; k < o.via.array.size; ++k) {
      const auto& e = o.via.array.ptr[k];
      if (e.type != msgpack::type::POSITIVE_INTEGER) throw msgpack::type_error();
      v.push_back(e.via.u64);
    }
    return v;
  }
  std::string hash() {
    std::string h = bytes();
    if (h.size() != kHashSize) throw msgpack::type_error();
    return h;
  }
  static std::string bytes_of(const msgpack::object& o) {
    if (o.type == msgpack::type::BIN) return std::string(o.via.bin.ptr, o.via.bin.size);
    if (o.type == msgpack::type::STR) return std::string(o.via.str.ptr, o.via.str.size);
    throw msgpack::type_error();
  }
};

Hello decode_hello(const msgpack::object& map) {
  if (map.type != msgpack::type::MAP) throw msgpack::type_error();
  Hello h;
  h.magic.clear();
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    std::string key = Fields::bytes_of(kv.key);
    const auto& v = kv.val;
    // Unknown keys are skipped: later versions may add facts.
    if (key == "magic") h.magic = Fields::bytes_of(v);
    else if (key == "protocol") h.protocol = v.as<uint32_t>();
    else if (key == "min_protocol") h.min_protocol = v.as<uint32_t>();
    else if (key == "software") h.software = Fields::bytes_of(v);
    else if (key == "luajit") h.luajit = Fields::bytes_of(v);
    else if (key == "kernel_abi") h.kernel_abi = v.as<int32_t>();
    else if (key == "role") h.role = Fields::bytes_of(v);
    else if (key == "node_id") h.node_id = Fields::bytes_of(v);
    else if (key == "host") h.host = Fields::bytes_of(v);
    else if (key == "workers") h.workers = v.as<uint32_t>();
    else if (key == "speed") h.speed = v.as<double>();
    else if (key == "caps") h.caps = v.as<uint32_t>();
    else if (key == "nonce") h.nonce = Fields::bytes_of(v);
    else if (key == "max_frame") h.max_frame = v.as<uint64_t>();
    else if (key == "data_cache") h.data_cache = v.as<uint64_t>();
  }
  if (h.nonce.size() != kNonceSize) throw msgpack::type_error();
  return h;
}

// One decoder per message with more than one field, in the order Encoder writes them.
Error decode_error(Fields& f) {
  Error e;
  e.code = f.uint<uint32_t>();
  e.message = f.bytes();
  return e;
}

// CODE, WORKER_CODE, DATA and WORKER_DATA carry the same two fields: a hash and bytes.
template <typename Code>
Code decode_code(Fields& f) {
  Code c;
  c.hash = f.hash();
  c.blob = f.bytes();
  return c;
}
template <typename Data>
Data decode_data(Fields& f) {
  Data d;
  d.hash = f.hash();
  d.bytes = f.bytes();
  return d;
}

Submit decode_submit(Fields& f) {
  Submit s;
  s.job_id = f.uint<uint64_t>();
  s.hash = f.hash();
  s.args = f.bytes();
  f.uint<uint32_t>();   // reserved (was attempt): a u32, ignored
  s.timeout_ms = f.uint<uint32_t>();
  if (f.i < f.n) {   // optional: the worker that must run it (Cap::kPlacement)
    s.worker = f.uint<uint32_t>();
    if (f.i < f.n) {   // optional: keep the result (Cap::kKeep), written only as 1
      if (f.uint<uint8_t>() != 1) throw msgpack::type_error();
      s.keep = true;
    } else if (s.worker == 0) {
      throw msgpack::type_error();   // written alone only when not 0
    }
  }
  return s;
}

ResultMsg decode_result(Fields& f) {
  ResultMsg r;
  r.job_id = f.uint<uint64_t>();
  uint8_t st = f.uint<uint8_t>();
  if (st > static_cast<uint8_t>(JobStatus::kLost)) throw msgpack::type_error();
  r.status = static_cast<JobStatus>(st);
  r.value = f.bytes();
  r.error = f.bytes();
  r.traceback = f.bytes();
  r.cpu_us = f.uint<uint64_t>();
  r.wall_us = f.uint<uint64_t>();
  r.worker = f.uint<uint32_t>();
  if (f.i < f.n) r.output = f.bytes();   // optional: absent when the job printed nothing
  return r;
}

Stolen decode_stolen(Fields& f) {
  Stolen s;
  s.taken = f.ids();
  s.started = f.ids();
  return s;
}

Pause decode_pause(Fields& f) {
  Pause p;
  p.paused = f.flag();
  p.reason = f.bytes();
  p.paused_ms = f.uint<uint64_t>();
  return p;
}

WorkerReady decode_worker_ready(Fields& f) {
  WorkerReady w;
  w.pid = f.uint<uint32_t>();
  w.luajit = f.bytes();
  w.kernel_abi = f.int32();
  return w;
}

WorkerRun decode_worker_run(Fields& f) {
  WorkerRun r;
  r.key = f.uint<uint64_t>();
  r.hash = f.hash();
  r.args = f.bytes();
  return r;
}

Message decode_fields(MsgType t, Fields& f) {
  switch (t) {
    case MsgType::kHello: return decode_hello(f.take());
    case MsgType::kAuth: return Auth{f.bytes()};
    case MsgType::kAuthOk: return AuthOk{f.bytes()};
    case MsgType::kError: return decode_error(f);
    case MsgType::kCode: return decode_code<CodeMsg>(f);
    case MsgType::kSubmit: return decode_submit(f);
    case MsgType::kResult: return decode_result(f);
    case MsgType::kCancel: return Cancel{f.uint<uint64_t>()};
    case MsgType::kSteal: return Steal{f.ids()};
    case MsgType::kStolen: return decode_stolen(f);
    case MsgType::kHeartbeat: return Heartbeat{};
    case MsgType::kBye: return Bye{f.bytes()};
    case MsgType::kWorkerReady: return decode_worker_ready(f);
    case MsgType::kWorkerCode: return decode_code<WorkerCode>(f);
    case MsgType::kWorkerRun: return decode_worker_run(f);
    case MsgType::kWorkerReset: return WorkerReset{};
    case MsgType::kData: return decode_data<DataMsg>(f);
    case MsgType::kDataRelease: return DataRelease{f.hash()};
    case MsgType::kWorkerData: return decode_data<WorkerData>(f);
    case MsgType::kPause: return decode_pause(f);
    case MsgType::kKeepFetch: return KeepFetch{f.hash()};
    case MsgType::kKept: return decode_data<Kept>(f);
    case MsgType::kClients: return Clients{unpack_client_list(f.take())};
    case MsgType::kClientsAsk: return ClientsAsk{};
    case MsgType::kKeepLate: return KeepLate{f.uint<uint64_t>()};
  }
  throw msgpack::type_error();
}

bool known_type(uint64_t t) {
  switch (t) {
    case 1: case 2: case 3: case 4: case 10: case 11: case 12: case 13: case 15:
    case 16: case 17: case 18: case 19: case 20: case 21: case 22: case 23: case 24: case 25:
    case 26: case 30: case 31:
    case 32: case 33: case 34:
      return true;
    default:
      return false;
  }
}

}  // namespace

namespace {

// Writes the length header, then the payload `body(encoder)` packs.
template <typename Body>
void framed(FrameOut fo, Body&& body) {
  std::string& out = fo.bytes;
  size_t start = out.size();
  out.append(kHeaderSize, '\0');
  StringSink sink{out};
  Packer pk(sink);
  Encoder enc{pk, fo};
  body(enc);
  auto len = static_cast<uint32_t>(out.size() - start - kHeaderSize + enc.spliced);
  out[start] = static_cast<char>(len >> 24);
  out[start + 1] = static_cast<char>(len >> 16);
  out[start + 2] = static_cast<char>(len >> 8);
  out[start + 3] = static_cast<char>(len);
}

}  // namespace

void encode_frame(const Message& m, std::string& out) { encode_frame(m, FrameOut{out}); }

void encode_frame(const Message& m, FrameOut out) {
  framed(out, [&](Encoder& enc) { std::visit(enc, m); });
}

void encode_submit(uint64_t job_id, std::string_view hash, std::string_view args,
                   uint32_t timeout_ms, FrameOut out, uint32_t worker, bool keep) {
  framed(out, [&](Encoder& enc) { enc.submit(job_id, hash, args, timeout_ms, worker, keep); });
}

void encode_worker_run(uint64_t key, std::string_view hash, std::string_view args, FrameOut out) {
  framed(out, [&](Encoder& enc) { enc.worker_run(key, hash, args); });
}

void encode_data(MsgType type, std::string_view hash, std::string_view bytes, FrameOut out) {
  framed(out, [&](Encoder& enc) { enc.data(type, hash, bytes); });
}

namespace {

// Unpacks one payload and hands its type and fields to `take`: the strict rules of
// decode_message (types, ranges, no trailing bytes, no extra fields) for every decoder.
template <typename R, typename Take>
Result<R> decode_with(std::string_view payload, Take&& take) {
  try {
    // Messages are shallow; the limits bound what a hostile frame can make us allocate.
    msgpack::unpack_limit limit(kMaxStealIds, 64, payload.size(), payload.size(), 0, 4);
    // One zone per thread, emptied for each frame: a message's fields are copied out of
    // it before the next, and a fresh zone per frame cost a large malloc and free each.
    thread_local msgpack::zone zone;
    zone.clear();
    size_t off = 0;
    const msgpack::object o =
        msgpack::unpack(zone, payload.data(), payload.size(), off, reference_all, nullptr, limit);
    if (off != payload.size()) return Status(StatusCode::kInvalid, "trailing bytes after message");
    if (o.type != msgpack::type::ARRAY || o.via.array.size == 0) {
      return Status(StatusCode::kInvalid, "message is not a non-empty array");
    }
    const msgpack::object& t = o.via.array.ptr[0];
    if (t.type != msgpack::type::POSITIVE_INTEGER || !known_type(t.via.u64)) {
      return Status(StatusCode::kInvalid, "unknown message type");
    }
    auto type = static_cast<MsgType>(t.via.u64);
    Fields f{o.via.array.ptr, o.via.array.size};
    R r = take(type, f);
    if (f.i != f.n) return Status(StatusCode::kInvalid, std::string("extra fields in ") + type_name(type));
    return r;
  } catch (const msgpack::type_error&) {
    return Status(StatusCode::kInvalid, "a field has the wrong type or range");
  } catch (const std::exception& e) {
    return Status(StatusCode::kInvalid, std::string("malformed msgpack: ") + e.what());
  }
}

}  // namespace

Result<Message> decode_message(std::string_view payload) {
  return decode_with<Message>(payload, decode_fields);
}

namespace {

// Reads the msgpack positive integer at p[at], moving `at` past it; false if it is not one
// or does not end within the n bytes there are.
bool skip_uint(const unsigned char* p, size_t n, size_t& at) {
  if (at >= n) return false;
  const unsigned char b = p[at];
  if (b <= 0x7f) at += 1;
  else if (b == 0xcc) at += 2;
  else if (b == 0xcd) at += 3;
  else if (b == 0xce) at += 5;
  else if (b == 0xcf) at += 9;
  else return false;
  return at <= n;
}

// The bin32 at p[at] (the only header a field of FrameReader::kMinDivert bytes or more has).
LargeField bin32_at(const unsigned char* p, size_t n, size_t at) {
  if (at + 5 > n || p[at] != 0xc6) return {};
  const size_t size = (size_t{p[at + 1]} << 24) | (size_t{p[at + 2]} << 16) |
                      (size_t{p[at + 3]} << 8) | p[at + 4];
  return {at + 5, size, 5};
}

// A fixarray of at least `fields` + 1 elements whose first is `type`: fields appended by
// later versions leave the located one where it was.
bool starts(const unsigned char* p, size_t n, MsgType type, unsigned fields) {
  return n >= 2 && p[0] >= 0x90 + fields + 1 && p[0] <= 0x9f &&
         p[1] == static_cast<uint8_t>(type);
}

}  // namespace

LargeField locate_result_value(std::string_view prefix) {
  const auto* p = reinterpret_cast<const unsigned char*>(prefix.data());
  const size_t n = prefix.size();
  // [RESULT, job_id, status, value, ...]: the type, then two uints.
  if (!starts(p, n, MsgType::kResult, 8)) return {};
  size_t at = 2;
  if (!skip_uint(p, n, at) || !skip_uint(p, n, at)) return {};   // job_id, status
  return bin32_at(p, n, at);
}

LargeField locate_submit_args(std::string_view prefix) {
  const auto* p = reinterpret_cast<const unsigned char*>(prefix.data());
  const size_t n = prefix.size();
  // [SUBMIT, job_id, hash, args, ...]: the type, a uint, a bin8 hash (its size is checked
  // by the decoder, which sees it whole).
  if (!starts(p, n, MsgType::kSubmit, 5)) return {};
  size_t at = 2;
  if (!skip_uint(p, n, at) || at + 2 > n || p[at] != 0xc4) return {};
  at += 2 + p[at + 1];
  return bin32_at(p, n, at);
}

Result<Message> decode_message(std::string_view payload, std::string&& field) {
  auto m = decode_message(payload);
  if (!m) return m;
  // The reader leaves an empty bin where the field was; anything else was not diverted.
  std::string* slot = nullptr;
  if (auto* r = std::get_if<ResultMsg>(&*m)) slot = &r->value;
  if (auto* s = std::get_if<Submit>(&*m)) slot = &s->args;
  if (slot == nullptr || !slot->empty()) {
    return Status(StatusCode::kInvalid,
                  "a field read apart belongs to no RESULT value or SUBMIT arguments");
  }
  *slot = std::move(field);
  return m;
}

bool is_worker_run(std::string_view payload) {
  return payload.size() >= 2 && static_cast<uint8_t>(payload[0]) == 0x94 &&
         static_cast<uint8_t>(payload[1]) == static_cast<uint8_t>(MsgType::kWorkerRun);
}

Result<WorkerRunView> decode_worker_run(std::string_view payload) {
  return decode_with<WorkerRunView>(payload, [](MsgType t, Fields& f) {
    if (t != MsgType::kWorkerRun) throw msgpack::type_error();
    WorkerRunView v;
    v.key = f.uint<uint64_t>();
    v.hash = f.view();
    if (v.hash.size() != kHashSize) throw msgpack::type_error();
    v.args = f.view();
    return v;
  });
}

}  // namespace pp::proto
