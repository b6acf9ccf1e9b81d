#include "cluster/controllers/controller.h"

#include <utility>

namespace ksim::controllers {

std::unique_ptr<client::EventRecorder> ControllerContext::NewRecorder(const std::string& component) const {
  client::EventRecorderOptions o;
  o.component = component;
  o.instance = identity;
  return std::make_unique<client::EventRecorder>(env, client, std::move(o));
}

ReconcileLoop::ReconcileLoop(ControllerContext& ctx, std::string name, Sync sync, int workers)
    : ctx_(ctx), name_(std::move(name)), sync_(std::move(sync)), workers_(workers),
      queue_(ctx.env.clock, ctx.options.max_queue_keys) {
  queue_.SetReadyCallback([this] { Pump(); });
}

ReconcileLoop::~ReconcileLoop() {
  *alive_ = false;
  if (sync_timer_ != 0) ctx_.env.clock->Cancel(sync_timer_);
}

void ReconcileLoop::Start() {
  if (running_) return;
  running_ = true;
  synced_ = false;
  WaitForSync();
}

void ReconcileLoop::Stop() {
  running_ = false;
  synced_ = false;
  if (sync_timer_ != 0) ctx_.env.clock->Cancel(sync_timer_);
  sync_timer_ = 0;
}

void ReconcileLoop::WaitForSync() {
  if (!running_) return;
  if (ctx_.informers->HasSynced()) {
    synced_ = true;
    if (on_synced_) on_synced_();
    Pump();
    return;
  }
  sync_timer_ = ctx_.env.clock->Schedule(Milliseconds(100), [this, alive = alive_] {
    if (!*alive) return;
    sync_timer_ = 0;
    WaitForSync();
  });
}

void ReconcileLoop::Pump() {
  if (pumping_) return;  // a sync that answered at once: the loop below goes on
  pumping_ = true;
  while (running_ && synced_ && in_sync_ < workers_ && ctx_.acting()) {
    std::optional<std::string> key = queue_.Get();
    if (!key) break;
    ++in_sync_;
    sync_(*key, [this, alive = alive_, k = *key](Status status) {
      if (!*alive) return;
      --in_sync_;
      queue_.Done(k);
      if (status.ok()) {
        queue_.Forget(k);
      } else {
        (void)queue_.AddRateLimited(k);
      }
      Pump();
    });
  }
  pumping_ = false;
}

}  // namespace ksim::controllers
