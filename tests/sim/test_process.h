// Test helpers: a process whose behaviour is a lambda, so a test can script what a
// process does with its Env and observe it from outside.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "sim/host.h"
#include "sim/world.h"

namespace ksim::sim::testing {

class ScriptedProcess final : public Process {
 public:
  using StartFn = std::function<void(ScriptedProcess&)>;
  ScriptedProcess(Env& env, StartFn start, int* destroyed) : env_(env), start_(std::move(start)), destroyed_(destroyed) {}
  ~ScriptedProcess() override {
    if (destroyed_) ++*destroyed_;
  }
  void Start() override {
    if (start_) start_(*this);
  }
  Env& env() { return env_; }
  // Connections and other objects the script wants kept alive with the process.
  std::vector<std::shared_ptr<Connection>> connections;

 private:
  Env& env_;
  StartFn start_;
  int* destroyed_;
};

inline ProcessFactory Scripted(ScriptedProcess::StartFn start, int* destroyed = nullptr) {
  return [start, destroyed](Env& env) { return std::make_unique<ScriptedProcess>(env, start, destroyed); };
}

// Listens on `port` and appends every received frame to *received (which must outlive
// the world); keeps accepted connections alive.
inline ProcessFactory Sink(uint16_t port, std::vector<std::string>* received, std::vector<std::string>* closes = nullptr) {
  return Scripted([port, received, closes](ScriptedProcess& p) {
    Status s = p.env().transport->Listen(port, [&p, received, closes](std::shared_ptr<Connection> conn) {
      ConnectionHandlers h;
      h.on_frame = [received](std::string_view f) { received->emplace_back(f); };
      h.on_closed = [closes](const Status& why) {
        if (closes) closes->push_back(why.ToString());
      };
      conn->SetHandlers(std::move(h));
      p.connections.push_back(std::move(conn));
    });
    (void)s;
  });
}

}  // namespace ksim::sim::testing
