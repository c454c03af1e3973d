#include "ppserver/guest/logind_watch.hpp"

#include <systemd/sd-bus.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/util/log.hpp"

namespace pp::server::guest {
namespace {

constexpr const char* kLogind = "org.freedesktop.login1";
constexpr const char* kPath = "/org/freedesktop/login1";
constexpr const char* kManager = "org.freedesktop.login1.Manager";
constexpr const char* kSession = "org.freedesktop.login1.Session";
constexpr auto kPollEvery = std::chrono::seconds(1);
constexpr uint64_t kCallTimeoutUs = 2'000'000;

// One connection to the system bus, owned by the reader thread.
class LogindReader {
 public:
  ~LogindReader() { close(); }

  // logind's sessions on a seat, as samples.
  Result<std::vector<UserActivityPolicy::Sample>> read() {
    if (bus_ == nullptr) {
      if (Status s = open(); !s) return s;
    }
    auto sessions = list_sessions();
    if (!sessions) return sessions.status();
    std::vector<UserActivityPolicy::Sample> out;
    for (Listed& l : *sessions) {
      if (l.session.seat.empty()) continue;   // not at this machine: sample_of() would drop it
      Status got = read_session(l);
      if (got.code() == StatusCode::kClosed) continue;   // it ended since the list
      if (!got) return got;
      if (auto sample = UserActivityPolicy::sample_of(l.session)) {
        out.push_back(std::move(*sample));
      }
    }
    return out;
  }

 private:
  Status open() {
    int r = sd_bus_open_system(&bus_);   // reads DBUS_SYSTEM_BUS_ADDRESS itself
    if (r < 0) {
      bus_ = nullptr;
      return Status(StatusCode::kIo, "no system D-Bus at " + LogindWatch::bus_address() + ": " +
                                         std::strerror(-r));
    }
    sd_bus_set_method_call_timeout(bus_, kCallTimeoutUs);
    return Status::ok();
  }

  void close() {
    if (bus_ != nullptr) sd_bus_flush_close_unref(bus_);
    bus_ = nullptr;
  }

  struct Listed {
    UserActivityPolicy::Session session;
    std::string path;   // its D-Bus object
  };

  // The sessions' ids, seats and object paths; read_session() reads the rest.
  Result<std::vector<Listed>> list_sessions() {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus_, kLogind, kPath, kManager, "ListSessions", &error, &reply, "");
    if (r < 0) return failed("ListSessions", r, error);
    std::vector<Listed> out;
    r = sd_bus_message_enter_container(reply, 'a', "(susso)");
    const char *id = nullptr, *user = nullptr, *seat = nullptr, *path = nullptr;
    uint32_t uid = 0;
    while (r >= 0 && (r = sd_bus_message_read(reply, "(susso)", &id, &uid, &user, &seat,
                                               &path)) > 0) {
      Listed l;
      l.session.id = id;
      l.session.seat = seat;
      l.path = path;
      out.push_back(std::move(l));
    }
    sd_bus_message_unref(reply);
    if (r < 0) {
      return Status(StatusCode::kIo, std::string("logind's ListSessions reply: ") +
                                         std::strerror(-r));
    }
    return out;
  }

  // Type, IdleHint and IdleSinceHintMonotonic of one session.
  Status read_session(Listed& l) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    const char* path = l.path.c_str();
    char* type = nullptr;
    int r = sd_bus_get_property_string(bus_, kLogind, path, kSession, "Type", &error, &type);
    if (r < 0) return failed("Session.Type", r, error);
    l.session.type = type;
    std::free(type);
    int idle = 0;
    r = sd_bus_get_property_trivial(bus_, kLogind, path, kSession, "IdleHint", &error, 'b', &idle);
    if (r < 0) return failed("Session.IdleHint", r, error);
    uint64_t since_us = 0;
    r = sd_bus_get_property_trivial(bus_, kLogind, path, kSession, "IdleSinceHintMonotonic",
                                    &error, 't', &since_us);
    if (r < 0) return failed("Session.IdleSinceHintMonotonic", r, error);
    l.session.idle_hint = idle != 0;
    l.session.idle_since =
        UserActivityPolicy::Clock::time_point(std::chrono::microseconds(since_us));
    return Status::ok();
  }

  Status failed(const char* what, int r, sd_bus_error& error) {
    Status s = describe(what, r, error);
    sd_bus_error_free(&error);
    if (!sd_bus_is_open(bus_)) close();   // a broken connection is made again next time
    return s;
  }

  static Status describe(const char* what, int r, const sd_bus_error& error) {
    const bool no_logind =
        sd_bus_error_has_name(&error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
        sd_bus_error_has_name(&error, SD_BUS_ERROR_NAME_HAS_NO_OWNER);
    if (no_logind) {
      return Status(StatusCode::kNotFound, std::string("no systemd-logind (") + kLogind +
                                               ") on the system D-Bus at " +
                                               LogindWatch::bus_address());
    }
    const bool gone = sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                      sd_bus_error_has_name(&error, "org.freedesktop.login1.NoSuchSession");
    if (gone) return Status(StatusCode::kClosed, std::string("logind's ") + what + ": gone");
    const std::string why = sd_bus_error_is_set(&error) ? std::string(error.name) + ": " +
                                                              (error.message ? error.message : "")
                                                        : std::string(std::strerror(-r));
    return Status(StatusCode::kIo, std::string("logind's ") + what + " on " +
                                       LogindWatch::bus_address() + ": " + why);
  }

  sd_bus* bus_ = nullptr;
};

}  // namespace

std::string LogindWatch::bus_address() {
  const char* given = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
  return given != nullptr && *given != '\0' ? given : "unix:path=/run/dbus/system_bus_socket";
}

LogindWatch::LogindWatch(asio::io_context& io, std::chrono::milliseconds window,
                         std::function<void(std::string reason)> hold,
                         std::function<void()> release)
    : io_(io),
      window_(window),
      policy_(window),
      hold_(std::move(hold)),
      release_(std::move(release)),
      self_(std::make_shared<LogindWatch*>(this)) {}

LogindWatch::~LogindWatch() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (reader_.joinable()) reader_.join();
}

void LogindWatch::start() {
  PP_INFO("pause when user active: the node pauses while a session of this machine was in use "
          "within the last %g min (systemd-logind's idle hint on %s)",
          std::chrono::duration<double>(window_).count() / 60, bus_address().c_str());
  reader_ = std::thread([this] { read_loop(); });
}

bool LogindWatch::wait_for_next() {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_for(lock, kPollEvery, [this] { return stopping_; });
}

void LogindWatch::read_loop() {
  LogindReader reader;
  std::weak_ptr<LogindWatch*> self = self_;
  bool first = true;
  do {
    Reading reading = reader.read();
    const bool give_up = first && !reading;   // no bus or no logind at start: said once, done
    first = false;
    asio::post(io_, [self, reading = std::move(reading)]() mutable {
      if (auto watch = self.lock()) (*watch)->on_reading(std::move(reading));
    });
    if (give_up) return;
  } while (wait_for_next());
}

void LogindWatch::on_reading(Reading reading) {
  const auto now = UserActivityPolicy::Clock::now();
  if (!reading) {
    if (!answered_) {
      PP_WARN("pause when user active: off: %s; the node works on without it",
              reading.status().message().c_str());
      return;
    }
    if (!lost_) {
      PP_WARN("pause when user active: %s; the node does not pause for its user until logind "
              "answers again", reading.status().message().c_str());
      lost_ = true;
    }
    if (policy_.forget() == UserActivityPolicy::Change::kResume) release_();
    return;
  }
  if (lost_) PP_INFO("pause when user active: logind answers again");
  answered_ = true;
  lost_ = false;
  switch (policy_.update(now, *reading)) {
    case UserActivityPolicy::Change::kPause:
      hold_(policy_.reason(now, *reading));
      break;
    case UserActivityPolicy::Change::kResume:
      release_();
      break;
    case UserActivityPolicy::Change::kNone:
      break;
  }
}

}  // namespace pp::server::guest
