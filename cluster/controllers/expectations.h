// ControllerExpectations (client-go's, with UID tracking for deletes): per controller key,
// the creates and deletes it has sent and its informer has not yet shown. A key whose
// expectations are pending is not acted on, so a controller never acts twice on writes
// its cache does not reflect yet.
#pragma once

#include <map>
#include <set>
#include <string>

#include "cluster/env/time.h"

namespace ksim::controllers {

class Expectations {
 public:
  enum class State {
    kSatisfied,  // nothing outstanding (or no record): act on the cache
    kPending,    // writes not yet observed: do not act
    kExpired,    // outstanding for longer than the timeout: the cache cannot be trusted
  };

  explicit Expectations(Nanos timeout) : timeout_(timeout) {}

  State Check(const std::string& key, Nanos now) const;
  // Records `adds` creates about to be sent (added to what is outstanding; a key is only
  // acted on when nothing is, so this is client-go's replace there). Restarts the timeout.
  void ExpectCreations(const std::string& key, int adds, Nanos now);
  // Records deletes of these pods ("namespace/name") about to be sent.
  void ExpectDeletions(const std::string& key, const std::set<std::string>& pods, Nanos now);
  // A live list showed the owner's pods `listed` where the cache holds `cached` (pod keys):
  // those only listed are expected as creates and those only cached as deletes, so later
  // syncs wait for the cache to catch up with the list.
  void ExpectCacheToCatchUp(const std::string& key, const std::set<std::string>& cached,
                            const std::set<std::string>& listed, Nanos now);
  // The informer showed a create (or a create failed, so none will show).
  void CreationObserved(const std::string& key);
  // The informer showed this pod deleted or terminating (or the delete failed). Counted once.
  void DeletionObserved(const std::string& key, const std::string& pod);
  void Delete(const std::string& key) { records_.erase(key); }
  size_t size() const { return records_.size(); }

 private:
  struct Record {
    int adds = 0;
    std::set<std::string> deletes;
    Nanos since{0};
  };
  Nanos timeout_;
  std::map<std::string, Record> records_;
};

}  // namespace ksim::controllers
