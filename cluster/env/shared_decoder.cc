#include "cluster/env/shared_decoder.h"

#include <algorithm>
#include <functional>
#include <iterator>

namespace ksim {

namespace gp = google::protobuf;

std::shared_ptr<const gp::Message> SharedDecoder::Decode(const gp::Message& prototype, std::string_view bytes) {
  const uint64_t hash = std::hash<std::string_view>{}(bytes);
  std::vector<Entry>& bucket = entries_[hash];
  for (Entry& e : bucket) {
    if (e.bytes != bytes) continue;
    std::shared_ptr<const gp::Message> object = e.object.lock();
    if (object == nullptr) break;  // expired: decode again below
    if (object->GetDescriptor() != prototype.GetDescriptor()) continue;  // same bytes, another kind
    ++hits_;
    return object;
  }
  ++misses_;
  std::unique_ptr<gp::Message> m(prototype.New());
  if (!m->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return nullptr;
  std::shared_ptr<const gp::Message> object(std::move(m));
  // Reuse an expired entry with these bytes, else add one.
  for (Entry& e : bucket) {
    if (e.object.expired() && e.bytes == bytes) {
      e.object = object;
      return object;
    }
  }
  bucket.push_back(Entry{std::string(bytes), object});
  if (++size_ >= sweep_at_) Sweep();
  return object;
}

void SharedDecoder::Sweep() {
  size_ = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    std::vector<Entry>& bucket = it->second;
    std::erase_if(bucket, [](const Entry& e) { return e.object.expired(); });
    size_ += bucket.size();
    it = bucket.empty() ? entries_.erase(it) : std::next(it);
  }
  sweep_at_ = std::max<size_t>(4096, 2 * size_);  // amortized: sweeps cost O(1) per decode
}

}  // namespace ksim
