// StoreWatch: one watch on a key range of the replicated store that survives member
// failures. It streams the range's events in revision order; when its connection breaks it
// reconnects to the next member and resumes after the last revision it delivered, so the
// owner sees every event exactly once. If the store has compacted past that revision the
// watch ends with on_compacted and the owner must re-list.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/env.h"
#include "cluster/store/mvcc/kv.pb.h"

namespace ksim::storeclient {

struct StoreWatchOptions {
  Nanos reconnect_delay = Milliseconds(100);
};

class StoreWatch {
 public:
  using EventsFn = std::function<void(const std::vector<const store::Event*>& events)>;
  using CompactedFn = std::function<void(int64_t compact_revision)>;

  // Watches [key, range_end) from start_revision (> 0). REQUIRES: members non-empty.
  StoreWatch(Env& env, std::vector<Address> members, std::string key, std::string range_end, int64_t start_revision,
             EventsFn on_events, CompactedFn on_compacted, StoreWatchOptions options = {});
  ~StoreWatch();
  StoreWatch(const StoreWatch&) = delete;
  StoreWatch& operator=(const StoreWatch&) = delete;

  void Start();
  // The last revision delivered (start_revision - 1 before the first event).
  int64_t last_revision() const { return last_revision_; }
  uint64_t reconnects() const { return reconnects_; }

 private:
  void Connect();
  void OnFrame(std::string_view frame);
  void OnClosed();

  Env& env_;
  std::vector<Address> members_;
  std::string key_;
  std::string range_end_;
  EventsFn on_events_;
  CompactedFn on_compacted_;
  StoreWatchOptions options_;
  uint64_t client_id_;
  uint64_t seq_ = 0;
  size_t member_index_ = 0;
  int64_t last_revision_ = 0;
  std::shared_ptr<Connection> conn_;
  TimerId reconnect_timer_ = 0;
  uint64_t reconnects_ = 0;
  bool ended_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::storeclient
