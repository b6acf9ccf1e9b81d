// Raft's Election Safety (§5.2): at most one member leads each term. Fed by whoever can see
// the members' Raft state (the store sweep, the scenario checker oneLeaderPerTerm); it only
// remembers the leaders of the newest `max_terms` terms (a member can only become leader of
// a term above every term it voted in, so old terms gain no new leaders in practice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace ksim::faults {

class ElectionSafety {
 public:
  explicit ElectionSafety(size_t max_terms = 4096) : max_terms_(max_terms) {}

  // `member` leads `term` now: a violation message when another member was seen leading
  // the same term ("" otherwise).
  std::string Leader(uint64_t term, const std::string& member);
  // Terms seen with a leader (the sweep's election count), including forgotten ones.
  uint64_t terms_with_leader() const { return terms_with_leader_; }

 private:
  size_t max_terms_;
  uint64_t terms_with_leader_ = 0;
  std::map<uint64_t, std::set<std::string>> leaders_by_term_;
};

}  // namespace ksim::faults
