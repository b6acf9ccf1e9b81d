// Allocator: values handed out one per object across the whole cluster (a Service's
// ClusterIP, its NodePorts). Several apiservers allocate at once, active-active, so the
// store is the only arbiter: every allocated value is one key,
// /registry/allocations/<range>/<value as 16 hex digits> (sorted by value), claimed by a
// side write guarded "the key is absent" in the same transaction that writes the object,
// and deleted in the transaction that deletes it (Kubernetes' IPAddress objects, one per
// allocated IP, follow the same idea). Two creates that pick the same value cannot both
// commit; the loser picks again. docs/APISERVER.md ("Allocations").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "cluster/apiserver/object_store.h"
#include "cluster/env/random.h"
#include "cluster/env/status.h"

namespace ksim::apiserver {

struct AllocationRange {
  std::string name;  // the key segment: "serviceips", "servicenodeports"
  std::string description;  // for messages: "10.96.0.0/12", "30000-32767"
  uint64_t first = 0;
  uint64_t size = 0;
  // Values [first, first + static_band) are picked at random only when the rest is full,
  // so values users ask for (kube-dns's 10.96.0.10) stay free (Kubernetes' KEP-3070).
  uint64_t static_band = 0;
  bool Contains(uint64_t v) const { return v >= first && v - first < size; }
};

class Allocator {
 public:
  Allocator(ObjectStore* store, Random* random) : store_(store), random_(random) {}
  ~Allocator() { *alive_ = false; }
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // REQUIRES: size > 0, static_band < size, a name not added before.
  void AddRange(AllocationRange range);
  const AllocationRange* Range(std::string_view name) const;

  static std::string Key(const AllocationRange& range, uint64_t value);
  // A side write that records `value` for `owner` and holds only if no one holds it.
  static SideWrite Claim(const AllocationRange& range, uint64_t value, std::string owner);
  // A side write that frees `value` (unguarded: only the object's own guarded write,
  // which holds the value, carries it).
  static SideWrite Release(const AllocationRange& range, uint64_t value);

  // Whether `value` is allocated now (a linearizable read).
  void IsAllocated(const AllocationRange& range, uint64_t value, std::function<void(Status, bool)> done);

  // A value that looks free and is not in `exclude`. With `read` false: a random value of
  // the dynamic band, without a read (a claim that loses is retried with `read`). With
  // `read`: the records are read from a random value onward, wrapping once, and the first
  // gap is taken (the static band, also from a random place, last). NotFound when the range is full.
  void Pick(const AllocationRange& range, bool read, std::set<uint64_t> exclude,
            std::function<void(Status, uint64_t)> done);

 private:
  struct Scan;
  void ScanFrom(std::shared_ptr<Scan> scan);

  ObjectStore* store_;
  Random* random_;
  std::map<std::string, AllocationRange, std::less<>> ranges_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::apiserver
