// DomainIndex: the values one topology key takes on the nodes (a zone name, a hostname),
// interned as dense ids 0..n-1 so the pod-placement plugins keep per-domain counts in
// plain vectors and Filter finds a node's domain without building "key=value" strings.
//
// Lookup is open addressing on FNV-1a of the value's bytes: a fixed function, so one
// cluster gives the same ids in every run (ids are handed out in first-seen order and
// nothing iterates the slots). Values are views of node label strings: the index must not
// outlive the snapshot whose nodes it was built from, and a caller adding the value of a
// node from elsewhere (preemption's what-if copies) pins that node's data.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "cluster/scheduler/framework/types.h"

namespace ksim::scheduler {

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

  // Keeps `node`'s label strings alive as long as this index (for values not from the
  // snapshot the index was built over).
  void Pin(std::shared_ptr<const NodeData> node) {
    for (const auto& pinned : pins_) {
      if (pinned == node) return;
    }
    pins_.push_back(std::move(node));
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
  std::vector<std::shared_ptr<const NodeData>> pins_;
};

// The value of label `key` on a node, or null.
inline const std::string* NodeLabel(const Labels& labels, const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? nullptr : &it->second;
}

}  // namespace ksim::scheduler
