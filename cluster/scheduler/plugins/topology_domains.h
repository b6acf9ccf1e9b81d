// DomainIndex: the values one topology key takes on the nodes (a zone name, a hostname),
// interned as dense ids 0..n-1 so the pod-placement plugins keep per-domain counts in
// plain vectors and Filter finds a node's domain without building "key=value" strings.
// DomainTable owns the strings it interns, so a plugin keeps one per key across cycles
// (cluster/scheduler/plugins/pod_groups.h) and every cycle state indexes counts by its ids.
//
// Lookup is open addressing on FNV-1a of the value's bytes: a fixed function, so one
// cluster gives the same ids in every run (ids are handed out in first-seen order and
// nothing iterates the slots).
#pragma once

#include <cassert>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/scheduler/framework/types.h"

namespace ksim::scheduler {

// Values are views: the strings must outlive the index (DomainTable's own them).
class DomainIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  size_t size() const { return values_.size(); }
  std::string_view value(uint32_t id) const { return values_[id]; }

  uint32_t Find(std::string_view value) const { return Lookup(value, Hash(value)); }

  // The id of `value`, adding it (as id size()) if new.
  uint32_t Intern(std::string_view value) {
    const uint32_t hash = Hash(value);
    const uint32_t found = Lookup(value, hash);
    if (found != kNone) return found;
    if ((values_.size() + 1) * 2 > slots_.size()) Grow();
    const auto id = static_cast<uint32_t>(values_.size());
    values_.push_back(value);
    hashes_.push_back(hash);
    Place(id);
    return id;
  }

 private:
  static uint32_t Hash(std::string_view value) {
    uint64_t h = 14695981039346656037ull;
    for (char c : value) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    return static_cast<uint32_t>(h ^ (h >> 32));
  }

  uint32_t Lookup(std::string_view value, uint32_t hash) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask, probes = 0; probes < slots_.size(); i = (i + 1) & mask, ++probes) {
      const uint32_t slot = slots_[i];
      if (slot == 0) return kNone;
      const uint32_t id = slot - 1;
      if (hashes_[id] == hash && values_[id] == value) return id;
    }
    return kNone;
  }

  // Puts `id` in the first free slot from its hash (load factor <= 1/2: there is one).
  void Place(uint32_t id) {
    const size_t mask = slots_.size() - 1;
    size_t i = hashes_[id] & mask;
    for (size_t probes = 0; slots_[i] != 0; i = (i + 1) & mask, ++probes) assert(probes < slots_.size());
    slots_[i] = id + 1;
  }

  void Grow() {
    slots_.assign(slots_.empty() ? 16 : slots_.size() * 2, 0);
    for (uint32_t id = 0; id < values_.size(); ++id) Place(id);
  }

  std::vector<uint32_t> slots_;  // id + 1; 0 is empty; size is a power of two
  std::vector<std::string_view> values_;
  std::vector<uint32_t> hashes_;
};

// The values of one topology key, interned and owned (their ids never change, values are
// only ever added), so a plugin can keep one across cycles and share it with every cycle
// state it makes.
class DomainTable {
 public:
  explicit DomainTable(uint64_t generation) : generation_(generation) {}
  DomainTable(const DomainTable&) = delete;
  DomainTable& operator=(const DomainTable&) = delete;

  // Tells tables apart when a plugin replaces one (memos made against another are stale).
  uint64_t generation() const { return generation_; }
  size_t size() const { return index_.size(); }
  uint32_t Find(std::string_view value) const { return index_.Find(value); }
  uint32_t Intern(std::string_view value) {
    const uint32_t id = index_.Find(value);
    if (id != DomainIndex::kNone) return id;
    values_.emplace_back(value);  // a deque: earlier strings stay put
    return index_.Intern(values_.back());
  }

 private:
  uint64_t generation_;
  std::deque<std::string> values_;
  DomainIndex index_;  // views of values_
};

// The value of label `key` on a node, or null.
inline const std::string* NodeLabel(const Labels& labels, const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? nullptr : &it->second;
}

}  // namespace ksim::scheduler
