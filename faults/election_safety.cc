#include "faults/election_safety.h"

#include <fmt/format.h>

namespace ksim::faults {

std::string ElectionSafety::Leader(uint64_t term, const std::string& member) {
  auto [it, fresh] = leaders_by_term_.try_emplace(term);
  if (fresh) {
    while (leaders_by_term_.size() > max_terms_) leaders_by_term_.erase(leaders_by_term_.begin());
    it = leaders_by_term_.find(term);
    if (it == leaders_by_term_.end()) return "";  // older than every remembered term
    ++terms_with_leader_;
  }
  std::set<std::string>& leaders = it->second;
  if (!leaders.insert(member).second || leaders.size() < 2) return "";
  std::string names;
  for (const std::string& m : leaders) names += (names.empty() ? "" : ", ") + m;
  return fmt::format("election safety: {} leaders in term {} ({})", leaders.size(), term, names);
}

}  // namespace ksim::faults
