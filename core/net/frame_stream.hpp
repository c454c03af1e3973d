// FrameStream<Socket>: a framed, batched, callback-driven message stream over an
// Asio stream socket (TCP to peers, a Unix socketpair to worker processes).
//
// Reading: every complete frame payload is handed to the frame handler in order;
// an I/O error closes the stream and calls the close handler once, with the reason.
// A bad frame (length 0 or above the limit, or one that fails to open) goes to the
// bad-frame handler, whose owner tells the peer why and closes; without one, the
// stream itself sends ERROR with the reason, closes after it, and calls the close
// handler (docs/protocol.md, "Framing": the peer always hears why). A frame is read
// in place: once its header is in, the next read asks for all it still lacks.
// Writing: send() encodes into a pending buffer and schedules one flush per turn of
// the event loop, so a burst of messages costs one write system call. Large byte
// fields of a message given by value (or held by the caller, send_encoded) are not
// copied: the write gathers them from where they lie (writev). Encrypted frames are
// encoded once and sealed where they were encoded. A failed write closes the
// stream only after frames already received are handled, so a peer's last ERROR is
// read before the connection is given up. With divert_fields, a large field of a frame
// (a RESULT's value on the client) is read straight into a string of its own and handed
// over with its frame. Owned by shared_ptr; callbacks run on the
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
#include <vector>

#include "core/proto/codec.hpp"
#include "core/proto/frame_cipher.hpp"
#include "core/proto/frame_reader.hpp"

namespace pp::net {

template <typename Socket>
class FrameStream : public std::enable_shared_from_this<FrameStream<Socket>> {
 public:
  using FrameHandler = std::function<void(std::string_view payload)>;
  using CloseHandler = std::function<void(const std::string& reason)>;
  // `length`: what the bad frame's header announced (0 when it was empty or did not
  // open); above the limit when that was the fault.
  using BadFrameHandler = std::function<void(const std::string& reason, uint64_t length)>;
  // A frame whose large field was read apart: the payload holds it as an empty bin.
  using FieldFrameHandler = std::function<void(std::string_view payload, std::string&& field)>;

  FrameStream(Socket socket, size_t max_frame)
      : socket_(std::move(socket)), reader_(max_frame), max_frame_(max_frame) {}

  void start(FrameHandler on_frame, CloseHandler on_close, BadFrameHandler on_bad = nullptr) {
    on_frame_ = std::move(on_frame);
    on_close_ = std::move(on_close);
    on_bad_ = std::move(on_bad);
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
    reader_.divert(nullptr);   // sealed frames open whole, in place
    set_max_frame(max_frame_);
  }
  // From the next frame on, the large field `locate` finds in a frame is read into a
  // string of its own, and that frame goes to `on_field_frame` with it; the others still
  // go to the frame handler. Not on an encrypted stream (its frames open whole).
  void divert_fields(proto::LocateField locate, FieldFrameHandler on_field_frame) {
    on_field_frame_ = std::move(on_field_frame);
    reader_.divert(cipher_ ? nullptr : locate);
  }
  bool encrypted() const { return cipher_ != nullptr; }
  bool is_open() const { return !closed_; }
  Socket& socket() { return socket_; }
  size_t pending_bytes() const { return pending_.bytes() + inflight_.bytes(); }
  // Bytes written to and read from the socket so far (the report's per-node figures).
  uint64_t bytes_out() const { return bytes_out_; }
  uint64_t bytes_in() const { return bytes_in_; }

  // Copies the message's fields into the pending buffer.
  void send(const proto::Message& m) {
    send_encoded([&](proto::FrameOut out) { proto::encode_frame(m, out); }, nullptr);
  }
  // Takes the message: its large byte fields are written from where they lie.
  void send(proto::Message&& m) {
    if (closed_) return;
    if (cipher_) return send(static_cast<const proto::Message&>(m));
    size_t before = pending_.splices.size();
    proto::encode_frame(m, proto::FrameOut{pending_.buf, &pending_.splices});
    if (pending_.splices.size() > before) {
      // Spliced fields are kMinSplice bytes or more, so on the heap: moving the message
      // moves their buffers, not their bytes, and the recorded views stay valid.
      spliced_from(before, std::make_shared<proto::Message>(std::move(m)));
    }
    schedule_flush();
  }
  // Sends the frame `encode(proto::FrameOut)` appends. Byte fields it splices must stay
  // valid while `keep` lives (the stream holds it until they are written); with no
  // `keep`, nothing is spliced.
  template <typename Encode>
  void send_encoded(Encode&& encode, std::shared_ptr<const void> keep) {
    if (closed_) return;
    if (cipher_) {
      // Encoded whole where it is sealed: one copy, then encrypted in place.
      size_t start = pending_.buf.size();
      encode(proto::FrameOut{pending_.buf});
      cipher_->seal_frame(pending_.buf, start);
    } else if (keep) {
      size_t before = pending_.splices.size();
      encode(proto::FrameOut{pending_.buf, &pending_.splices});
      if (pending_.splices.size() > before) spliced_from(before, std::move(keep));
    } else {
      encode(proto::FrameOut{pending_.buf});
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
    auto buf = reader_.prepare(reader_.next_read());
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
    bytes_in_ += n;
    for (;;) {
      auto next = reader_.next();
      if (next.state == proto::FrameReader::kNeedMore) break;
      if (next.state == proto::FrameReader::kBad) {
        bad_frame("bad frame: " + next.error, next.length);
        return;
      }
      if (cipher_) {
        auto plain = cipher_->open_in_place(next.bytes);
        if (!plain) {
          bad_frame(plain.status().message(), 0);
          return;
        }
        on_frame_(*plain);
      } else if (next.diverted) {
        on_field_frame_(next.payload, std::move(next.field));
      } else {
        on_frame_(next.payload);
      }
      if (closed_ || closing_) return;
    }
    read_more();
  }

  // Nothing after a bad frame can be read as frames: the owner (or the stream) tells
  // the peer why, and the stream ends.
  void bad_frame(const std::string& reason, uint64_t length) {
    if (on_bad_) {
      auto cb = std::move(on_bad_);
      on_bad_ = nullptr;
      cb(reason, length);
    } else {
      send(proto::Error{static_cast<uint32_t>(StatusCode::kInvalid), reason});
      auto cb = std::move(on_close_);
      close_after_flush();
      if (cb) cb(reason);
    }
    if (!closed_ && !closing_) close(reason);
  }

  // Splices from index `first` on were just recorded; `keep` owns their bytes.
  void spliced_from(size_t first, std::shared_ptr<const void> keep) {
    for (size_t i = first; i < pending_.splices.size(); ++i) {
      pending_.spliced += pending_.splices[i].bytes.size();
    }
    pending_.keep.push_back(std::move(keep));
  }

  void schedule_flush() {
    if (flush_scheduled_ || writing_ || write_failed_) return;
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
    inflight_.gather(iov_);
    asio::async_write(socket_, iov_,
                      [self = this->shared_from_this()](const asio::error_code& ec, size_t n) {
                        self->writing_ = false;
                        self->bytes_out_ += n;
                        self->inflight_.clear();
                        if (self->closed_) return;
                        if (ec) {
                          // Frames the peer sent before it went (its ERROR with the
                          // reason) may be waiting to be read: handle those first.
                          self->write_failed_ = true;
                          asio::post(self->socket_.get_executor(),
                                     [self, why = "write failed: " + ec.message()] {
                                       self->close(why);
                                     });
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

  // Frames waiting to be written: encoded bytes, with the large fields spliced into
  // them (and what keeps those alive). Two swap roles: pending, then in flight.
  struct Outbox {
    std::string buf;
    std::vector<proto::Splice> splices;
    std::vector<std::shared_ptr<const void>> keep;
    size_t spliced = 0;
    bool empty() const { return buf.empty(); }
    size_t bytes() const { return buf.size() + spliced; }
    void clear() {
      buf.clear();
      splices.clear();
      keep.clear();
      spliced = 0;
    }
    // The write as pieces in order: encoded bytes between the spliced fields.
    void gather(std::vector<asio::const_buffer>& iov) const {
      iov.clear();
      size_t pos = 0;
      for (const auto& s : splices) {
        if (s.at > pos) iov.emplace_back(buf.data() + pos, s.at - pos);
        iov.emplace_back(s.bytes.data(), s.bytes.size());
        pos = s.at;
      }
      if (buf.size() > pos) iov.emplace_back(buf.data() + pos, buf.size() - pos);
    }
  };

  Socket socket_;
  proto::FrameReader reader_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  BadFrameHandler on_bad_;
  FieldFrameHandler on_field_frame_;
  size_t max_frame_;
  std::unique_ptr<proto::FrameCipher> cipher_;
  Outbox pending_;
  Outbox inflight_;
  std::vector<asio::const_buffer> iov_;
  bool writing_ = false;
  bool write_failed_ = false;
  bool flush_scheduled_ = false;
  uint64_t bytes_out_ = 0, bytes_in_ = 0;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace pp::net
