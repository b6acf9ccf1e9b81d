// The pieces every controller of the controller-manager is built from: the context it is
// given (env, API client, shared informers, options, whether this replica may act), the
// Controller interface, and ReconcileLoop (a rate-limited work queue whose keys are
// reconciled only while the replica leads).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cluster/client/api_client.h"
#include "cluster/client/event_recorder.h"
#include "cluster/client/workqueue.h"
#include "cluster/controllers/informer_factory.h"
#include "cluster/controllers/options.h"
#include "cluster/env/env.h"

namespace ksim::controllers {

struct ControllerContext {
  Env& env;
  client::ApiClient* client;
  SharedInformerFactory* informers;
  const ControllerManagerOptions& options;
  std::string identity;  // this replica's leader-election identity
  // True while this replica holds the lease and may write (turns false on time).
  std::function<bool()> acting;

  // A recorder whose Events name `component` as their source ("node-controller").
  std::unique_ptr<client::EventRecorder> NewRecorder(const std::string& component) const;
};

// A controller is constructed (asking the informers it needs and adding handlers) before
// the informers start, and acts only between Start and Stop.
class Controller {
 public:
  virtual ~Controller() = default;
  // This replica now leads: begin reconciling. Informers may not have synced yet; a
  // controller waits for them before its first decision.
  virtual void Start() = 0;
  // Leadership is lost: send no further writes until Start is called again.
  virtual void Stop() = 0;
};

// A work queue (client-go's rate-limited queue) drained by `sync` while the controller is
// started and the shared informers have synced. `sync(key, done)` reconciles one key and
// calls `done(status)` once its writes are answered: OK forgets the key's failures, an
// error re-queues it rate-limited. At most `workers` keys are in sync at once; a key is
// never in sync twice at the same time.
class ReconcileLoop {
 public:
  using Sync = std::function<void(const std::string& key, std::function<void(Status)> done)>;
  ReconcileLoop(ControllerContext& ctx, std::string name, Sync sync, int workers = 5);
  ~ReconcileLoop();
  ReconcileLoop(const ReconcileLoop&) = delete;
  ReconcileLoop& operator=(const ReconcileLoop&) = delete;

  void Add(const std::string& key) { (void)queue_.Add(key); }
  void AddAfter(const std::string& key, Nanos delay) { (void)queue_.AddAfter(key, delay); }
  client::WorkQueue& queue() { return queue_; }
  // Starts draining once the informers have synced (checked every 100 ms until then).
  void Start();
  void Stop();
  bool running() const { return running_; }
  bool synced() const { return synced_; }
  // Called once, when the loop first sees the informers synced after a Start (controllers
  // rebuild their state and queue every object there).
  void OnSynced(std::function<void()> fn) { on_synced_ = std::move(fn); }

 private:
  void Pump();
  void WaitForSync();

  ControllerContext& ctx_;
  std::string name_;
  Sync sync_;
  int workers_;
  client::WorkQueue queue_;
  bool running_ = false;
  bool synced_ = false;
  int in_sync_ = 0;
  bool pumping_ = false;
  TimerId sync_timer_ = 0;
  std::function<void()> on_synced_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::controllers
