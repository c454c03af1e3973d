#include "core/proto/messages.hpp"

namespace pp::proto {

const char* job_status_name(JobStatus s) {
  switch (s) {
    case JobStatus::kOk: return "ok";
    case JobStatus::kLuaError: return "lua error";
    case JobStatus::kTimeout: return "timeout";
    case JobStatus::kCrashed: return "crashed";
    case JobStatus::kMemory: return "out of memory";
    case JobStatus::kCancelled: return "cancelled";
    case JobStatus::kRejected: return "rejected";
    case JobStatus::kLost: return "lost";
    case JobStatus::kDependency: return "dependency";
  }
  return "unknown";
}

MsgType type_of(const Message& m) {
  static constexpr MsgType kTypes[] = {
      MsgType::kHello,  MsgType::kAuth,      MsgType::kAuthOk,      MsgType::kError,
      MsgType::kCode,   MsgType::kSubmit,    MsgType::kResult,      MsgType::kCancel,
      MsgType::kHeartbeat, MsgType::kBye,    MsgType::kWorkerReady,
      MsgType::kWorkerCode, MsgType::kWorkerRun, MsgType::kSteal, MsgType::kStolen,
      MsgType::kWorkerReset, MsgType::kData, MsgType::kDataRelease, MsgType::kWorkerData,
      MsgType::kPause, MsgType::kKeepFetch, MsgType::kKept, MsgType::kClients,
      MsgType::kClientsAsk, MsgType::kKeepLate};
  static_assert(std::variant_size_v<Message> == std::size(kTypes));
  return kTypes[m.index()];
}

const char* type_name(MsgType t) {
  switch (t) {
    case MsgType::kHello: return "HELLO";
    case MsgType::kAuth: return "AUTH";
    case MsgType::kAuthOk: return "AUTH_OK";
    case MsgType::kError: return "ERROR";
    case MsgType::kCode: return "CODE";
    case MsgType::kSubmit: return "SUBMIT";
    case MsgType::kResult: return "RESULT";
    case MsgType::kCancel: return "CANCEL";
    case MsgType::kHeartbeat: return "HEARTBEAT";
    case MsgType::kBye: return "BYE";
    case MsgType::kSteal: return "STEAL";
    case MsgType::kStolen: return "STOLEN";
    case MsgType::kWorkerReady: return "WORKER_READY";
    case MsgType::kWorkerCode: return "WORKER_CODE";
    case MsgType::kWorkerRun: return "WORKER_RUN";
    case MsgType::kWorkerReset: return "WORKER_RESET";
    case MsgType::kData: return "DATA";
    case MsgType::kDataRelease: return "DATA_RELEASE";
    case MsgType::kWorkerData: return "WORKER_DATA";
    case MsgType::kPause: return "PAUSE";
    case MsgType::kKeepFetch: return "KEEP_FETCH";
    case MsgType::kKept: return "KEPT";
    case MsgType::kClients: return "CLIENTS";
    case MsgType::kClientsAsk: return "CLIENTS_ASK";
    case MsgType::kKeepLate: return "KEEP_LATE";
  }
  return "?";
}

}  // namespace pp::proto
