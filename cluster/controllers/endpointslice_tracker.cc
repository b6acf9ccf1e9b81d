#include "cluster/controllers/endpointslice_tracker.h"

#include <set>

#include "cluster/api/codec.h"

namespace ksim::controllers {
namespace {

int64_t VersionOf(const api::EndpointSlice& slice) {
  int64_t rv = 0;
  return api::ParseResourceVersion(slice.metadata().resource_version(), &rv) ? rv : 0;
}

}  // namespace

void EndpointSliceTracker::Update(const std::string& service, const api::EndpointSlice& slice, Nanos now) {
  by_service_[service][slice.metadata().uid()] = Expected{VersionOf(slice), false, now};
}

void EndpointSliceTracker::ExpectDeletion(const std::string& service, const api::EndpointSlice& slice, Nanos now) {
  by_service_[service][slice.metadata().uid()] = Expected{VersionOf(slice), true, now};
}

bool EndpointSliceTracker::ShouldSync(const std::string& service, const api::EndpointSlice& slice) const {
  auto s = by_service_.find(service);
  if (s == by_service_.end()) return true;
  auto e = s->second.find(slice.metadata().uid());
  return e == s->second.end() || VersionOf(slice) > e->second.resource_version;
}

bool EndpointSliceTracker::HandleDeletion(const std::string& service, const api::EndpointSlice& slice) {
  auto s = by_service_.find(service);
  if (s == by_service_.end()) return false;
  auto e = s->second.find(slice.metadata().uid());
  if (e == s->second.end()) return false;
  const bool expected = e->second.deleted;
  s->second.erase(e);
  if (s->second.empty()) by_service_.erase(s);
  return expected;
}

bool EndpointSliceTracker::Stale(const std::string& service, const std::vector<const api::EndpointSlice*>& cached,
                                 Nanos now) const {
  auto s = by_service_.find(service);
  if (s == by_service_.end()) return false;
  std::set<std::string> present;
  for (const api::EndpointSlice* slice : cached) {
    present.insert(slice->metadata().uid());
    auto e = s->second.find(slice->metadata().uid());
    if (e == s->second.end() || now - e->second.since > timeout_) continue;
    if (e->second.deleted || VersionOf(*slice) < e->second.resource_version) return true;
  }
  for (const auto& [uid, e] : s->second) {
    if (!e.deleted && present.count(uid) == 0 && now - e.since <= timeout_) return true;
  }
  return false;
}

}  // namespace ksim::controllers
