// ApiClient: the client every ksim component uses to reach the apiservers. It spreads
// requests over several apiserver endpoints (starting at a seed-chosen one, moving on when
// one fails), retries what is safe to retry, and gives up after a deadline.
//
// Retry rules: get, list, watch, update (guarded by resourceVersion) and delete are
// retried on another endpoint when an attempt's connection breaks or times out. A create
// is retried with the same request id, from which the apiserver derives the object's uid,
// so a create whose first attempt did land is answered as a success, not AlreadyExists.
// A patch or deletecollection is retried only if it was never sent.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/options.pb.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/env/env.h"

namespace ksim::client {

struct ApiClientOptions {
  std::vector<Address> endpoints;  // apiservers, "host:port"
  std::string token;               // bearer token sent with every request
  std::string user_agent = "ksim";
  Nanos request_timeout = Seconds(30);  // all attempts of one call
  Nanos attempt_timeout = Seconds(5);   // one endpoint's chance to answer
  Nanos poll = Milliseconds(100);       // how often deadlines are checked (while a call has one)
  size_t max_pending = 100000;
  // Observes every call as it is submitted (before any attempt): audit, and tests that check
  // who wrote what (the controller-manager reports its writes with its identity).
  std::function<void(const apiserver::Request&)> on_request;
};

// The outcome of a call: `status` is not OK when no apiserver answered (Unavailable,
// Timeout); otherwise `code` is the HTTP status and `body` the answer.
struct ApiResult {
  Status status;
  int code = 0;
  std::string body;
  // For code >= 400: the apiserver's Status (reason such as "NotFound", "Conflict").
  api::ApiStatus error;
  bool ok() const { return status.ok() && code >= 200 && code < 300; }
  // "Conflict: ..." or the transport error, for logs and tests.
  std::string Describe() const;
};

struct ApiClientStats {
  uint64_t calls = 0;
  uint64_t attempts = 0;
  uint64_t retries = 0;
  uint64_t timeouts = 0;
};

class ApiClient {
 public:
  using Done = std::function<void(const ApiResult&)>;
  // One watch frame's events; return false to stop the watch.
  using WatchEvents = std::function<bool(const apiserver::WatchEvent& event)>;
  // The watch is over: OK when the server ended it (or Cancel), else why it broke.
  using WatchEnded = std::function<void(Status, const ApiResult& opening)>;

  // REQUIRES: options.endpoints non-empty; env outlives the client.
  ApiClient(Env& env, ApiClientOptions options);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Any call; request.id is assigned here.
  void Do(apiserver::Request request, Done done);

  // Typed conveniences. `info` names the resource; objects are protobuf messages of its kind.
  void Create(const api::KindInfo& info, const google::protobuf::Message& object, Done done);
  void Get(const api::KindInfo& info, const std::string& ns, const std::string& name, Done done);
  void Update(const api::KindInfo& info, const google::protobuf::Message& object, Done done,
              const std::string& subresource = "");
  void Delete(const api::KindInfo& info, const std::string& ns, const std::string& name, Done done,
              std::map<std::string, std::string> query = {});
  // A delete with Kubernetes' DeleteOptions as its body: preconditions (uid,
  // resourceVersion), propagationPolicy, gracePeriodSeconds, dryRun.
  void Delete(const api::KindInfo& info, const std::string& ns, const std::string& name,
              const api::DeleteOptions& options, Done done);
  void List(const api::KindInfo& info, const std::string& ns, std::map<std::string, std::string> query, Done done);
  void Patch(const api::KindInfo& info, const std::string& ns, const std::string& name, const std::string& patch_type,
             std::string patch, Done done, const std::string& subresource = "");

  // Starts a watch; events stream to on_events until it ends. Returns an id for CancelWatch.
  uint64_t Watch(apiserver::Request request, WatchEvents on_events, WatchEnded on_ended);
  void CancelWatch(uint64_t id);

  // Decodes a result body into a message of `info`'s kind.
  static std::unique_ptr<google::protobuf::Message> DecodeObject(const api::KindInfo& info, const ApiResult& r);

  size_t pending() const { return calls_.size(); }
  const ApiClientStats& stats() const { return stats_; }

 private:
  struct Endpoint {
    Address address;
    std::shared_ptr<Connection> conn;
    bool open = false;
  };
  struct Call {
    apiserver::Request request;
    Done done;
    WatchEvents on_events;
    WatchEnded on_ended;
    bool watch = false;
    bool watch_opened = false;
    bool sent = false;
    bool ever_sent = false;
    size_t endpoint = 0;
    Nanos deadline{0};
    Nanos attempt_deadline{0};
  };

  void Submit(std::unique_ptr<Call> call);
  void Send(uint64_t id);
  void Connect(size_t endpoint);
  void OnFrame(size_t endpoint, std::string_view frame);
  void OnClosed(size_t endpoint);
  // A call's attempt failed without an answer: retry elsewhere or give up.
  void Retry(uint64_t id, const Status& why);
  void Finish(uint64_t id, ApiResult result);
  void OnPoll();
  std::unique_ptr<Call> TakeCall(std::map<uint64_t, std::unique_ptr<Call>>::iterator it);
  bool Retriable(const Call& call) const;

  Env& env_;
  ApiClientOptions options_;
  std::vector<Endpoint> endpoints_;
  size_t preferred_ = 0;
  uint64_t next_id_ = 1;
  uint64_t request_ids_ = 0;
  std::string client_tag_;  // from Entropy: request ids are unique across clients and incarnations
  std::map<uint64_t, std::unique_ptr<Call>> calls_;
  size_t open_watches_ = 0;  // calls_ that are open watches: OnPoll skips its scan when all are
  TimerId poll_timer_ = 0;
  ApiClientStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::client
