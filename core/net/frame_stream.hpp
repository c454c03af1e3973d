// FrameStream<Socket>: a framed, batched, callback-driven message stream over an
// Asio stream socket (TCP to peers, a Unix socketpair to worker processes).
//
// Reading: every complete frame payload is handed to the frame handler in order;
// a bad frame (length 0 or above the limit) or an I/O error closes the stream and
// calls the close handler once, with the reason. Writing: send() encodes into a
// pending buffer and schedules one flush per turn of the event loop, so a burst of
// messages costs one write system call. Owned by shared_ptr; callbacks run on the
// io_context's single thread, and no method may be called from another thread.
//
//   auto fs = std::make_shared<FrameStream<tcp::socket>>(std::move(sock), max_frame);
//   fs->start([&](std::string_view payload) { ... }, [&](const std::string& why) { ... });
//   fs->send(proto::Heartbeat{});
#pragma once

#include <asio.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/proto/codec.hpp"
#include "core/proto/frame_cipher.hpp"
#include "core/proto/frame_reader.hpp"

namespace pp::net {

template <typename Socket>
class FrameStream : public std::enable_shared_from_this<FrameStream<Socket>> {
 public:
  using FrameHandler = std::function<void(std::string_view payload)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  FrameStream(Socket socket, size_t max_frame)
      : socket_(std::move(socket)), reader_(max_frame), max_frame_(max_frame) {}

  void start(FrameHandler on_frame, CloseHandler on_close) {
    on_frame_ = std::move(on_frame);
    on_close_ = std::move(on_close);
    read_more();
  }

  void set_max_frame(size_t n) {
    max_frame_ = n;
    reader_.set_max_frame(n + (cipher_ ? proto::FrameCipher::kOverhead : 0));
  }
  // From now on frames are sealed on send and opened on receipt (docs/protocol.md,
  // "Encryption"); frames already queued for sending stay as they were. Called by a
  // frame handler, it applies to the next received frame.
  void encrypt(std::unique_ptr<proto::FrameCipher> cipher) {
    cipher_ = std::move(cipher);
    set_max_frame(max_frame_);
  }
  bool encrypted() const { return cipher_ != nullptr; }
  bool is_open() const { return !closed_; }
  Socket& socket() { return socket_; }
  size_t pending_bytes() const { return pending_.size() + inflight_.size(); }

  void send(const proto::Message& m) {
    if (closed_) return;
    if (cipher_) {
      scratch_.clear();
      proto::encode_frame(m, scratch_);
      cipher_->seal(std::string_view(scratch_).substr(proto::kHeaderSize), pending_);
    } else {
      proto::encode_frame(m, pending_);
    }
    schedule_flush();
  }

  // Sends what is pending, then closes. From here on no handler runs (input is
  // ignored), so the owner may go away at once.
  void close_after_flush() {
    if (closed_) return;
    closing_ = true;
    on_close_ = nullptr;
    schedule_flush();
  }
  bool closing() const { return closing_; }

  // Closes now; the close handler runs once (unless the stream was already closed).
  void close(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (on_close_) {
      auto cb = std::move(on_close_);
      on_close_ = nullptr;
      cb(reason);
    }
  }

 private:
  void read_more() {
    auto buf = reader_.prepare(64 * 1024);
    socket_.async_read_some(
        asio::buffer(buf.data(), buf.size()),
        [self = this->shared_from_this()](const asio::error_code& ec, size_t n) {
          self->on_read(ec, n);
        });
  }

  void on_read(const asio::error_code& ec, size_t n) {
    if (closed_ || closing_) return;
    if (ec) {
      close(ec == asio::error::eof ? "connection closed by peer" : ec.message());
      return;
    }
    reader_.commit(n);
    for (;;) {
      auto next = reader_.next();
      if (next.state == proto::FrameReader::kNeedMore) break;
      if (next.state == proto::FrameReader::kBad) {
        close("bad frame: " + next.error);
        return;
      }
      if (cipher_) {
        auto plain = cipher_->open(next.payload);
        if (!plain) {
          close(plain.status().message());
          return;
        }
        on_frame_(*plain);
      } else {
        on_frame_(next.payload);
      }
      if (closed_ || closing_) return;
    }
    read_more();
  }

  void schedule_flush() {
    if (flush_scheduled_ || writing_) return;
    flush_scheduled_ = true;
    asio::post(socket_.get_executor(), [self = this->shared_from_this()] {
      self->flush_scheduled_ = false;
      self->write_pending();
    });
  }

  void write_pending() {
    if (closed_ || writing_) return;
    if (pending_.empty()) {
      if (closing_) close_quietly();
      return;
    }
    writing_ = true;
    std::swap(pending_, inflight_);
    asio::async_write(socket_, asio::buffer(inflight_),
                      [self = this->shared_from_this()](const asio::error_code& ec, size_t) {
                        self->writing_ = false;
                        self->inflight_.clear();
                        if (self->closed_) return;
                        if (ec) {
                          self->close("write failed: " + ec.message());
                          return;
                        }
                        self->write_pending();
                      });
  }

  void close_quietly() {
    on_close_ = nullptr;
    close("closed");
  }

 public:
  // Closes without calling the close handler (for owners being torn down).
  // Handlers may capture their owner by raw pointer: after detach() none runs.
  void detach() { close_quietly(); }

 private:

  Socket socket_;
  proto::FrameReader reader_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  size_t max_frame_;
  std::unique_ptr<proto::FrameCipher> cipher_;
  std::string scratch_;
  std::string pending_;
  std::string inflight_;
  bool writing_ = false;
  bool flush_scheduled_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace pp::net
