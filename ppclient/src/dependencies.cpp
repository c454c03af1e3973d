#include "ppclient/src/dependencies.hpp"

#include <algorithm>

namespace pp::client {

void Dependencies::hold(uint64_t job) { held_.try_emplace(job); }

void Dependencies::wait_for(uint64_t job, uint64_t input, bool value) {
  ++held_[job].missing;
  waiters_[input].push_back({job, value});
}

void Dependencies::give(uint64_t job, uint64_t input, std::string value) {
  held_[job].values.emplace_back(input, std::move(value));
}

bool Dependencies::waiting(uint64_t job) const {
  auto it = held_.find(job);
  return it != held_.end() && it->second.missing > 0;
}

Dependencies::Values Dependencies::release(uint64_t job) {
  auto it = held_.find(job);
  if (it == held_.end()) return {};
  Values values = std::move(it->second.values);
  held_.erase(it);
  std::sort(values.begin(), values.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return values;
}

void Dependencies::finished(uint64_t input, const std::string& value,
                            std::vector<uint64_t>& ready) {
  auto w = waiters_.find(input);
  if (w == waiters_.end()) return;
  std::vector<Waiter> waiters = std::move(w->second);
  waiters_.erase(w);
  for (const Waiter& x : waiters) {
    auto h = held_.find(x.job);
    if (h == held_.end()) continue;   // it failed or ended meanwhile
    if (x.value) h->second.values.emplace_back(input, value);
    if (--h->second.missing == 0) ready.push_back(x.job);
  }
}

void Dependencies::failed(uint64_t input, std::vector<uint64_t>& failing) {
  auto w = waiters_.find(input);
  if (w == waiters_.end()) return;
  std::vector<Waiter> waiters = std::move(w->second);
  waiters_.erase(w);
  for (const Waiter& x : waiters) {
    // A job waiting twice for the input (two references) fails once.
    if (held_.erase(x.job) != 0) failing.push_back(x.job);
  }
}

size_t Dependencies::edges() const {
  size_t n = 0;
  for (const auto& [input, waiters] : waiters_) n += waiters.size();
  return n;
}

}  // namespace pp::client
