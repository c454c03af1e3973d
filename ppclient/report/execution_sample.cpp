#include "ppclient/report/execution_sample.hpp"

#include <algorithm>
#include <cmath>

namespace pp::client::report {

namespace {

bool notable(const Execution& e) { return e.kind != Kind::kNormal || e.fate != Fate::kWon; }

}  // namespace

ExecutionSample::ExecutionSample(size_t first, size_t last, size_t notable)
    : first_cap_(first), last_cap_(last), notable_cap_(notable) {}

void ExecutionSample::add(const Execution& e) {
  ++added_;
  if (first_.size() < first_cap_) {
    // Reserved at once: growing by doubling would leave up to twice the space behind.
    if (first_.empty()) first_.reserve(first_cap_);
    first_.push_back(e);
    return;
  }
  if (last_cap_ == 0) return leave_tail(e);
  if (last_.size() < last_cap_) {
    if (last_.empty()) last_.reserve(last_cap_);
    last_.push_back(e);
    return;
  }
  Execution oldest = last_[last_next_];
  last_[last_next_] = e;
  last_next_ = (last_next_ + 1) % last_cap_;
  leave_tail(oldest);
}

void ExecutionSample::leave_tail(const Execution& e) {
  if (notable(e) && notable_.size() < notable_cap_) {
    notable_.push_back(e);
    return;
  }
  for (double t : {e.start, e.end}) {
    if (!std::isfinite(t)) continue;
    if (!has_range_) dropped_from_ = dropped_to_ = t;
    has_range_ = true;
    dropped_from_ = std::min(dropped_from_, t);
    dropped_to_ = std::max(dropped_to_, t);
  }
  ++dropped_;
}

std::vector<Execution> ExecutionSample::kept() const {
  std::vector<Execution> out;
  out.reserve(first_.size() + notable_.size() + last_.size());
  out.insert(out.end(), first_.begin(), first_.end());
  out.insert(out.end(), notable_.begin(), notable_.end());
  out.insert(out.end(), last_.begin() + static_cast<long>(last_next_), last_.end());
  out.insert(out.end(), last_.begin(), last_.begin() + static_cast<long>(last_next_));
  return out;
}

std::vector<Execution> ExecutionSample::recent(size_t n) const {
  // kept()'s order read from its end: the ring (newest last), then notable_, then first_.
  std::vector<Execution> out;
  n = std::min<size_t>(n, first_.size() + notable_.size() + last_.size());
  out.reserve(n);
  for (size_t i = 0; i < last_.size() && out.size() < n; ++i) {
    out.push_back(last_[(last_next_ + last_.size() - 1 - i) % last_.size()]);
  }
  for (auto it = notable_.rbegin(); it != notable_.rend() && out.size() < n; ++it) out.push_back(*it);
  for (auto it = first_.rbegin(); it != first_.rend() && out.size() < n; ++it) out.push_back(*it);
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace pp::client::report
