// ObjectStore: the apiserver's view of the replicated store. Objects live at
// /registry/<resource>/<namespace>/<name> (cluster-scoped: /registry/<resource>/<name>) as
// the kind's protobuf bytes without resourceVersion; an object's resourceVersion is its
// key's mod revision. Every write is one store transaction guarded by a revision compare,
// so concurrent apiservers never overwrite each other's changes unseen.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/env/status.h"
#include "cluster/store/client/store_client.h"
#include "cluster/store/mvcc/kv.pb.h"

namespace ksim::apiserver {

// The key of one object, and the [begin, end) range of a resource or of one namespace.
std::string ObjectKey(std::string_view resource, std::string_view ns, std::string_view name);
std::string ResourcePrefix(std::string_view resource, std::string_view ns);
// The smallest key above every key with this prefix (etcd's prefix range end).
std::string PrefixEnd(std::string_view prefix);

struct StoredObject {
  std::string key;
  std::string value;  // protobuf bytes of the kind's message
  int64_t mod_revision = 0;
  int64_t create_revision = 0;
};

// The outcome of a guarded write.
enum class WriteOutcome {
  kDone,          // applied; `revision` is the new mod revision (or the deletion revision)
  kExists,        // create: the key exists
  kConflict,      // the key's mod revision was not the expected one (or it is gone)
  kQuotaChanged,  // a guard on another key failed (e.g. a ResourceQuota moved)
};

struct WriteResult {
  Status status;  // not OK: the store could not be reached or refused the request
  WriteOutcome outcome = WriteOutcome::kDone;
  int64_t revision = 0;
  StoredObject current;  // for kExists / kConflict when the key exists: its current state
};

// An extra put (or delete) applied atomically with a write: ResourceQuota accounting, and
// the allocation records of a Service's ClusterIP and NodePorts (allocator.h).
struct SideWrite {
  std::string key;
  std::string value;
  // The key must still be at this revision (0: absent); kNoGuard: no compare.
  int64_t expected_mod_revision = 0;
  bool remove = false;  // delete the key instead of putting `value`
  static constexpr int64_t kNoGuard = -1;
};

// The outcome of PutGuarded: every put applied at one revision, or none and what each
// key holds instead.
struct GuardedPutResult {
  Status status;           // not OK: the store could not be reached or refused the request
  bool succeeded = false;  // every put applied
  int64_t revision = 0;    // the revision of the puts (when succeeded)
  std::vector<StoredObject> current;  // per put, when !succeeded (mod_revision 0: absent)
};

struct ListPage {
  Status status;
  std::vector<StoredObject> items;
  int64_t revision = 0;  // the store revision the page was read at
  bool more = false;     // more keys follow the last item
  bool compacted = false;
};

class ObjectStore {
 public:
  explicit ObjectStore(storeclient::StoreClient* client) : client_(client) {}

  using GetDone = std::function<void(Status, const StoredObject*)>;  // nullptr: not found
  using WriteDone = std::function<void(const WriteResult&)>;
  using ListDone = std::function<void(ListPage)>;

  // A linearizable read of one key.
  void Get(const std::string& key, GetDone done);
  // Puts `value` at `key` if the key does not exist. A non-zero `lease` attaches the key to
  // that store lease: it is deleted when the lease expires.
  void Create(const std::string& key, std::string value, std::vector<SideWrite> side, WriteDone done,
              int64_t lease = 0);
  // Applies every put of `writes` (each guarded by its expected mod revision) in one
  // transaction, or none if any key moved.
  // REQUIRES: the keys are distinct; `writes` is not empty.
  using GuardedPutDone = std::function<void(const GuardedPutResult&)>;
  void PutGuarded(std::vector<SideWrite> writes, GuardedPutDone done);
  // Replaces the value if the key's mod revision is `expected_mod_revision` (and attaches
  // it to `lease`; 0 detaches it, as an etcd put does).
  void Update(const std::string& key, std::string value, int64_t expected_mod_revision, std::vector<SideWrite> side,
              WriteDone done, int64_t lease = 0);
  // Deletes the key if its mod revision is `expected_mod_revision`.
  void Delete(const std::string& key, int64_t expected_mod_revision, std::vector<SideWrite> side, WriteDone done);
  // Up to `limit` keys (0: no limit) of [begin, end) at `revision` (0: now), linearizable;
  // with max_bytes > 0 the page also stops before the value that would pass it (one
  // always fits), with `more` set.
  void List(const std::string& begin, const std::string& end, int64_t revision, int64_t limit, ListDone done,
            int64_t max_bytes = 0);

 private:
  void Guarded(const std::string& key, store::Command& command, std::vector<SideWrite> side, WriteDone done);

  storeclient::StoreClient* client_;
};

}  // namespace ksim::apiserver
