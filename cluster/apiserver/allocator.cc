#include "cluster/apiserver/allocator.h"

#include <fmt/format.h>

#include <charconv>
#include <utility>
#include <vector>

namespace ksim::apiserver {

namespace {
constexpr int64_t kScanPage = 256;  // records read per step of a scan
}  // namespace

void Allocator::AddRange(AllocationRange range) {
  std::string name = range.name;
  ranges_.emplace(std::move(name), std::move(range));
}

const AllocationRange* Allocator::Range(std::string_view name) const {
  auto it = ranges_.find(name);
  return it == ranges_.end() ? nullptr : &it->second;
}

std::string Allocator::Key(const AllocationRange& range, uint64_t value) {
  return fmt::format("/registry/allocations/{}/{:016x}", range.name, value);
}

SideWrite Allocator::Claim(const AllocationRange& range, uint64_t value, std::string owner) {
  return SideWrite{Key(range, value), std::move(owner), 0, false};
}

SideWrite Allocator::Release(const AllocationRange& range, uint64_t value) {
  return SideWrite{Key(range, value), "", SideWrite::kNoGuard, true};
}

void Allocator::IsAllocated(const AllocationRange& range, uint64_t value, std::function<void(Status, bool)> done) {
  store_->Get(Key(range, value), [done = std::move(done)](Status s, const StoredObject* o) { done(s, o != nullptr); });
}

// The segments still to read, each [lo, hi), in order; the exclusions; the answer.
struct Allocator::Scan {
  const AllocationRange* range = nullptr;
  std::vector<std::pair<uint64_t, uint64_t>> segments;
  std::set<uint64_t> exclude;
  std::function<void(Status, uint64_t)> done;
};

void Allocator::Pick(const AllocationRange& range, bool read, std::set<uint64_t> exclude,
                     std::function<void(Status, uint64_t)> done) {
  const uint64_t dynamic_begin = range.first + range.static_band;
  const uint64_t dynamic_size = range.size - range.static_band;
  const uint64_t start = dynamic_begin + random_->Uniform(dynamic_size);
  if (!read) {
    // Blind: the random value, or the next one not excluded (exclusions are few).
    for (uint64_t i = 0; i < dynamic_size; ++i) {
      const uint64_t v = dynamic_begin + (start - dynamic_begin + i) % dynamic_size;
      if (exclude.count(v) == 0) return done(Status::Ok(), v);
    }
    read = true;  // the dynamic band is all excluded: look at the static band too
  }
  auto scan = std::make_shared<Scan>();
  scan->range = &range;
  // From a random place of each band, so concurrent pickers rarely read the same gap.
  const uint64_t static_start = range.first + (range.static_band == 0 ? 0 : random_->Uniform(range.static_band));
  scan->segments = {{start, range.first + range.size},
                    {dynamic_begin, start},
                    {static_start, dynamic_begin},
                    {range.first, static_start}};
  scan->exclude = std::move(exclude);
  scan->done = std::move(done);
  ScanFrom(std::move(scan));
}

void Allocator::ScanFrom(std::shared_ptr<Scan> scan) {
  while (!scan->segments.empty() && scan->segments.front().first >= scan->segments.front().second) {
    scan->segments.erase(scan->segments.begin());
  }
  if (scan->segments.empty()) {
    return scan->done(Status::NotFound("range is full"), 0);
  }
  const auto [lo, hi] = scan->segments.front();
  const AllocationRange& range = *scan->range;
  store_->List(Key(range, lo), Key(range, hi), 0, kScanPage, [this, scan, lo = lo, hi = hi, alive = alive_](ListPage page) {
    if (!*alive) return;
    if (!page.status.ok()) return scan->done(page.status, 0);
    const std::string prefix = Key(*scan->range, 0).substr(0, Key(*scan->range, 0).size() - 16);
    uint64_t v = lo;
    auto free_below = [&](uint64_t limit) -> bool {
      for (; v < limit; ++v) {
        if (scan->exclude.count(v) == 0) return true;
      }
      return false;
    };
    for (const StoredObject& o : page.items) {
      uint64_t held = 0;
      const std::string_view hex = std::string_view(o.key).substr(prefix.size());
      auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), held, 16);
      if (ec != std::errc() || end != hex.data() + hex.size() || held < v) continue;
      if (free_below(held)) return scan->done(Status::Ok(), v);
      v = held + 1;
    }
    if (page.more) {
      scan->segments.front().first = v;
      return ScanFrom(scan);
    }
    if (free_below(hi)) return scan->done(Status::Ok(), v);
    scan->segments.erase(scan->segments.begin());
    ScanFrom(scan);
  });
}

}  // namespace ksim::apiserver
