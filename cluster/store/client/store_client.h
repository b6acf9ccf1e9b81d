// StoreClient: talks to the replicated store. It finds the leader (following NOT_LEADER
// hints, otherwise trying members in turn), retries a request on another member when an
// attempt times out or its connection breaks, and gives up with Timeout after the request
// deadline. A write keeps its (client_id, seq) across retries, so the store applies it at
// most once even if an earlier attempt did reach the leader.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/env.h"
#include "cluster/store/mvcc/kv.pb.h"
#include "cluster/store/server/server.pb.h"

namespace ksim::storeclient {

struct StoreClientOptions {
  Nanos request_timeout = Seconds(10);  // the whole request, all attempts
  Nanos attempt_timeout = Seconds(1);   // one member's chance to answer
  Nanos poll = Milliseconds(50);        // how often deadlines are checked
  size_t max_pending = 10000;
};

struct StoreClientStats {
  uint64_t attempts = 0;
  uint64_t retries = 0;
  uint64_t redirects = 0;
  uint64_t timeouts = 0;
};

class StoreClient {
 public:
  using WriteDone = std::function<void(Status, const store::CommandResponse&)>;
  using ReadDone = std::function<void(Status, const store::RangeResponse&)>;

  // REQUIRES: members non-empty; env's clock, transport, random outlive the client.
  StoreClient(Env& env, std::vector<Address> members, StoreClientOptions options = {});
  ~StoreClient();
  StoreClient(const StoreClient&) = delete;
  StoreClient& operator=(const StoreClient&) = delete;

  // Replicated writes. done runs once: OK with the store's response (which may itself
  // report a store error, e.g. a failed txn compare), Timeout, or InvalidArgument (also
  // for a request or a reply that would exceed kMaxFrameBytes: never left to time out).
  // A request refused before it is sent (too large, too many in flight) runs done
  // inside the call.
  void Write(const store::Command& command, WriteDone done);
  void Put(const std::string& key, const std::string& value, WriteDone done);
  void Delete(const std::string& key, WriteDone done);
  // Linearizable reads (ReadIndex) unless `serializable`. A reply over the frame limit is
  // InvalidArgument: page with range.limit and range.max_bytes.
  void Read(store::RangeRequest range, bool serializable, ReadDone done);
  void Get(const std::string& key, ReadDone done);

  uint64_t client_id() const { return client_id_; }
  size_t pending() const { return pending_.size(); }
  const StoreClientStats& stats() const { return stats_; }

 private:
  struct Pending {
    // The ClientRequest's encoding with client_id and seq set; each attempt appends its
    // first_unacked_seq (a later occurrence of a scalar field wins). Kept encoded, not as a
    // message: a write's request is a tree of a dozen allocations, freed per write.
    std::string request;
    WriteDone write_done;
    ReadDone read_done;
    Nanos deadline{0};
    Nanos attempt_deadline{0};
    bool sent = false;
  };
  void Submit(const storeserver::ClientRequest& request, WriteDone write_done, ReadDone read_done);
  // As Submit, for a ClientRequest encoded without client_id and seq (appended here).
  void SubmitEncoded(std::string request, WriteDone write_done, ReadDone read_done);
  void EnsureConnected();
  void SwitchTo(const Address& address);
  void NextMember();
  void SendPending();
  void Send(Pending& p);
  void OnFrame(std::string_view frame);
  void Complete(uint64_t seq, Status status, const storeserver::ClientResponse* response);
  void OnPoll();

  Env& env_;
  std::vector<Address> members_;
  StoreClientOptions options_;
  uint64_t client_id_;
  uint64_t next_seq_ = 1;
  size_t member_index_ = 0;
  Address target_;
  std::shared_ptr<Connection> conn_;
  bool open_ = false;
  std::map<uint64_t, Pending> pending_;  // by seq, ascending
  TimerId poll_timer_ = 0;
  StoreClientStats stats_;
};

}  // namespace ksim::storeclient
