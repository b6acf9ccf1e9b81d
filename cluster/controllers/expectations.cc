#include "cluster/controllers/expectations.h"

#include <algorithm>

namespace ksim::controllers {

Expectations::State Expectations::Check(const std::string& key, Nanos now) const {
  auto it = records_.find(key);
  if (it == records_.end()) return State::kSatisfied;
  const Record& r = it->second;
  if (r.adds <= 0 && r.deletes.empty()) return State::kSatisfied;
  return now - r.since > timeout_ ? State::kExpired : State::kPending;
}

void Expectations::ExpectCreations(const std::string& key, int adds, Nanos now) {
  Record& r = records_[key];
  r.adds = std::max(r.adds, 0) + adds;
  r.since = now;
}

void Expectations::ExpectDeletions(const std::string& key, const std::set<std::string>& pods, Nanos now) {
  Record& r = records_[key];
  r.deletes.insert(pods.begin(), pods.end());
  r.since = now;
}

void Expectations::ExpectCacheToCatchUp(const std::string& key, const std::set<std::string>& cached,
                                        const std::set<std::string>& listed, Nanos now) {
  int adds = 0;
  for (const auto& k : listed) adds += cached.count(k) == 0 ? 1 : 0;
  std::set<std::string> dels;
  for (const auto& k : cached) {
    if (listed.count(k) == 0) dels.insert(k);
  }
  if (adds > 0) ExpectCreations(key, adds, now);
  if (!dels.empty()) ExpectDeletions(key, dels, now);
}

void Expectations::CreationObserved(const std::string& key) {
  auto it = records_.find(key);
  if (it != records_.end() && it->second.adds > 0) --it->second.adds;
}

void Expectations::DeletionObserved(const std::string& key, const std::string& pod) {
  auto it = records_.find(key);
  if (it != records_.end()) it->second.deletes.erase(pod);
}

}  // namespace ksim::controllers
