// EndpointSliceTracker (Kubernetes' endpointslice util): per Service, the version of each
// slice the controller last wrote (or that it deleted). A Service whose cached slices are
// older than its own writes is "stale" and not reconciled until the cache catches up, so
// the controller never plans from a cache that misses its own creates, updates or deletes
// (it would place an endpoint twice). Kubernetes compares metadata.generation; ksim's
// EndpointSlices keep generation 1 (they have no spec), so it compares resourceVersions,
// which ksim's store orders. An expectation the cache never meets (the object went
// meanwhile and the informer relisted past both events) is dropped after `timeout`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster/api/discovery.pb.h"
#include "cluster/env/time.h"

namespace ksim::controllers {

class EndpointSliceTracker {
 public:
  explicit EndpointSliceTracker(Nanos timeout) : timeout_(timeout) {}

  // A create or update of ours was answered with `slice`.
  void Update(const std::string& service, const api::EndpointSlice& slice, Nanos now);
  // A delete of `slice` is about to be sent.
  void ExpectDeletion(const std::string& service, const api::EndpointSlice& slice, Nanos now);
  // The cache shows `slice`: true unless it is exactly a write of ours (or older).
  bool ShouldSync(const std::string& service, const api::EndpointSlice& slice) const;
  // The cache lost `slice`: forgets it; true if that was a delete of ours.
  bool HandleDeletion(const std::string& service, const api::EndpointSlice& slice);
  // The Service's cached slices (not being deleted) miss a write of ours.
  bool Stale(const std::string& service, const std::vector<const api::EndpointSlice*>& cached, Nanos now) const;
  void DeleteService(const std::string& service) { by_service_.erase(service); }
  size_t size() const { return by_service_.size(); }

 private:
  struct Expected {
    int64_t resource_version = 0;
    bool deleted = false;
    Nanos since{0};
  };
  Nanos timeout_;
  std::map<std::string, std::map<std::string, Expected>> by_service_;  // service -> slice uid -> expected
};

}  // namespace ksim::controllers
