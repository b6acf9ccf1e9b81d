// Test fakes for the kubelet's node side: an in-memory apiserver behind a fake Transport
// (get/create/update/delete/list of any registered kind, resourceVersion conflicts, uid
// preconditions, the status subresource, and a switch that makes it unreachable), a fake
// Disk and a fake ContainerRuntime's image list. Everything runs on a FakeClock, so a test
// decides when time passes.
#pragma once

#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/options.pb.h"
#include "cluster/apiserver/apiserver.pb.h"
#include "cluster/env/env.h"
#include "cluster/env/wire.h"
#include "tests/cluster/client/fake_clock.h"

namespace ksim::kubelet::testing {

class FakeApiServer {
 public:
  using Message = google::protobuf::Message;

  bool down = false;        // connections fail with Unavailable
  int conflicts_to_inject = 0;  // the next N updates of conflict_resource answer 409
  std::string conflict_resource = "nodes";
  std::vector<std::string> log;  // "verb resource[/subresource] ns/name -> code"

  // A copy of the stored object, or null.
  template <typename T>
  std::shared_ptr<T> Get(const std::string& resource, const std::string& ns, const std::string& name) const {
    const auto it = objects_.find(Key(resource, ns, name));
    if (it == objects_.end()) return nullptr;
    auto out = std::make_shared<T>();
    out->CopyFrom(*it->second);
    return out;
  }
  // Every stored object of `resource`, by key.
  std::vector<std::shared_ptr<const Message>> List(const std::string& resource) const {
    std::vector<std::shared_ptr<const Message>> out;
    for (const auto& [key, m] : objects_) {
      if (key.rfind(resource + "/", 0) == 0) out.push_back(m);
    }
    return out;
  }
  // Stores (or replaces) an object as another writer would.
  void Put(const std::string& resource, const Message& object) {
    auto m = std::shared_ptr<Message>(object.New());
    m->CopyFrom(object);
    api::ObjectMeta* meta = api::MutableMeta(*m);
    if (meta->uid().empty()) meta->set_uid(fmt::format("uid-{}", ++uids_));
    meta->set_resource_version(std::to_string(++revision_));
    objects_[Key(resource, meta->namespace_(), meta->name())] = m;
  }
  bool Remove(const std::string& resource, const std::string& ns, const std::string& name) {
    return objects_.erase(Key(resource, ns, name)) > 0;
  }
  int Count(const std::string& prefix) const {
    int n = 0;
    for (const std::string& l : log) n += l.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }

  apiserver::Response Handle(const apiserver::Request& q) {
    apiserver::Response p = Serve(q);
    p.set_id(q.id());
    log.push_back(fmt::format("{} {}{} {}/{} -> {}", q.verb(), q.resource(),
                              q.subresource().empty() ? "" : "/" + q.subresource(), q.namespace_(), q.name(), p.code()));
    return p;
  }

 private:
  static std::string Key(const std::string& resource, const std::string& ns, const std::string& name) {
    return resource + "/" + ns + "/" + name;
  }
  static apiserver::Response Error(int code, const std::string& reason, const std::string& message) {
    apiserver::Response p;
    p.set_code(code);
    api::ApiStatus s;
    s.set_status("Failure");
    s.set_reason(reason);
    s.set_message(message);
    s.set_code(code);
    SerializeDeterministic(s, p.mutable_body());
    return p;
  }
  static apiserver::Response Ok(int code, const Message& m) {
    apiserver::Response p;
    p.set_code(code);
    SerializeDeterministic(m, p.mutable_body());
    return p;
  }

  apiserver::Response Serve(const apiserver::Request& q) {
    const api::KindInfo* info = api::Registry::Default().ByGroupResource(q.group(), q.resource());
    if (!info) return Error(404, "NotFound", "no such resource");
    if (q.verb() == "get") {
      const auto it = objects_.find(Key(q.resource(), q.namespace_(), q.name()));
      if (it == objects_.end()) return Error(404, "NotFound", q.name() + " not found");
      return Ok(200, *it->second);
    }
    if (q.verb() == "create" || q.verb() == "update") {
      auto m = info->New();
      if (!m->ParseFromString(q.body())) return Error(400, "BadRequest", "bad body");
      api::ObjectMeta* meta = api::MutableMeta(*m);
      const std::string key = Key(q.resource(), meta->namespace_(), meta->name());
      const auto it = objects_.find(key);
      if (q.verb() == "create") {
        if (it != objects_.end()) return Error(409, "AlreadyExists", meta->name() + " already exists");
        meta->set_uid(fmt::format("uid-{}", ++uids_));
        meta->set_resource_version(std::to_string(++revision_));
        objects_[key] = std::shared_ptr<Message>(m.release());
        return Ok(201, *objects_[key]);
      }
      if (it == objects_.end()) return Error(404, "NotFound", meta->name() + " not found");
      const api::ObjectMeta* old = api::GetMeta(*it->second);
      const bool inject = conflicts_to_inject > 0 && q.resource() == conflict_resource;
      if (inject || meta->resource_version() != old->resource_version()) {
        if (inject) --conflicts_to_inject;
        return Error(409, "Conflict", "the object has been modified");
      }
      if (q.subresource() == "status") {  // only status changes
        auto merged = std::shared_ptr<Message>(it->second->New());
        merged->CopyFrom(*it->second);
        const auto* status = m->GetDescriptor()->FindFieldByName("status");
        merged->GetReflection()->MutableMessage(merged.get(), status)->CopyFrom(m->GetReflection()->GetMessage(*m, status));
        m.reset(merged->New());
        m->CopyFrom(*merged);
        meta = api::MutableMeta(*m);
      }
      meta->set_uid(old->uid());
      meta->set_resource_version(std::to_string(++revision_));
      objects_[key] = std::shared_ptr<Message>(m.release());
      return Ok(200, *objects_[key]);
    }
    if (q.verb() == "delete") {
      const auto it = objects_.find(Key(q.resource(), q.namespace_(), q.name()));
      if (it == objects_.end()) return Error(404, "NotFound", q.name() + " not found");
      api::DeleteOptions options;
      if (!q.body().empty() && options.ParseFromString(q.body()) && options.preconditions().has_uid() &&
          options.preconditions().uid() != api::GetMeta(*it->second)->uid()) {
        return Error(409, "Conflict", "Precondition failed: UID in precondition");
      }
      auto gone = it->second;
      objects_.erase(it);
      return Ok(200, *gone);
    }
    return Error(405, "MethodNotAllowed", q.verb());
  }

  std::map<std::string, std::shared_ptr<Message>> objects_;
  int64_t revision_ = 0;
  int uids_ = 0;
};

// Connections to any address reach `server`, answered one event-loop turn later.
class FakeTransport final : public Transport {
 public:
  FakeTransport(Clock* clock, FakeApiServer* server) : clock_(clock), server_(server) {}

  Address LocalAddress(uint16_t port) const override { return fmt::format("node1:{}", port); }
  Status Listen(uint16_t port, std::function<void(std::shared_ptr<Connection>)> on_accept) override {
    listeners[port] = std::move(on_accept);
    return Status::Ok();
  }
  void StopListening(uint16_t port) override { listeners.erase(port); }
  std::shared_ptr<Connection> Connect(const Address& to, ConnectionHandlers handlers,
                                      std::function<void()> on_open) override {
    auto c = std::make_shared<Conn>(this, to, std::move(handlers));
    std::weak_ptr<Conn> weak = c;
    clock_->Schedule(Nanos(0), [this, weak, on_open] {
      auto conn = weak.lock();
      if (!conn || !conn->open) return;
      if (server_->down) {  // as a connect timeout: the attempt fails after a while
        clock_->Schedule(Seconds(1), [weak] {
          if (auto later = weak.lock(); later && later->open) later->Break();
        });
        return;
      }
      if (on_open) on_open();
    });
    return c;
  }

  std::map<uint16_t, std::function<void(std::shared_ptr<Connection>)>> listeners;
  // Other servers by address: each frame sent there gets the handler's answer (none if it
  // returns an empty string). Addresses not listed reach the FakeApiServer.
  std::map<Address, std::function<std::string(std::string_view frame)>> servers;

 private:
  struct Conn final : Connection, std::enable_shared_from_this<Conn> {
    Conn(FakeTransport* transport, Address address, ConnectionHandlers handlers)
        : t(transport), to(std::move(address)), h(std::move(handlers)) {}
    Status Send(std::string frame) override {
      if (!open) return Status::Closed("closed");
      std::weak_ptr<Conn> weak = shared_from_this();
      t->clock_->Schedule(Nanos(0), [this, weak, frame = std::move(frame)] {
        auto self = weak.lock();
        if (!self || !open) return;
        if (const auto it = t->servers.find(to); it != t->servers.end()) {
          const std::string answer = it->second(frame);
          if (!answer.empty() && h.on_frame) h.on_frame(answer);
          return;
        }
        if (t->server_->down) return Break();
        apiserver::Request q;
        if (!q.ParseFromString(frame)) return Break();
        std::string bytes;
        SerializeDeterministic(t->server_->Handle(q), &bytes);
        if (h.on_frame) h.on_frame(bytes);
      });
      return Status::Ok();
    }
    void Break() {
      open = false;
      if (h.on_closed) h.on_closed(Status::Unavailable("fake apiserver unreachable"));
    }
    void Close() override { open = false; }
    bool is_open() const override { return open; }
    const Address& peer() const override { return to; }
    void SetHandlers(ConnectionHandlers handlers) override { h = std::move(handlers); }
    FakeTransport* t;
    Address to;
    ConnectionHandlers h;
    bool open = true;
  };

  Clock* clock_;
  FakeApiServer* server_;
};

class FakeDisk final : public Disk {
 public:
  std::map<std::string, std::string> files;
  Status Append(const std::string& path, std::string_view data) override {
    files[path] += data;
    return Status::Ok();
  }
  Status WriteFile(const std::string& path, std::string_view data) override {
    files[path] = std::string(data);
    return Status::Ok();
  }
  void Sync(const std::string&, std::function<void(Status)> done) override { done(Status::Ok()); }
  void SyncDir(const std::string&, std::function<void(Status)> done) override { done(Status::Ok()); }
  Status Rename(const std::string& from, const std::string& to) override {
    files[to] = files[from];
    files.erase(from);
    return Status::Ok();
  }
  Status Read(const std::string& path, std::string* out) const override {
    const auto it = files.find(path);
    if (it == files.end()) return Status::NotFound(path);
    *out = it->second;
    return Status::Ok();
  }
  Status ReadAt(const std::string&, uint64_t, size_t, std::string*) const override {
    return Status::NotSupported("ReadAt");
  }
  Status List(const std::string& dir, std::vector<std::string>* names) const override {
    names->clear();
    const std::string prefix = dir.empty() ? "" : dir + "/";
    for (const auto& [path, data] : files) {
      if (path.rfind(prefix, 0) == 0 && path.find('/', prefix.size()) == std::string::npos) {
        names->push_back(path.substr(prefix.size()));
      }
    }
    return Status::Ok();
  }
  Status Remove(const std::string& path) override {
    return files.erase(path) ? Status::Ok() : Status::NotFound(path);
  }
};

class CollectingLogger final : public Logger {
 public:
  std::vector<std::string> lines;
  void Log(LogLevel, std::string_view component, std::string_view message) override {
    lines.push_back(fmt::format("{}: {}", component, message));
  }
  bool Contains(std::string_view text) const {
    for (const std::string& l : lines) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

// A fake world for one kubelet: clock, transport to a FakeApiServer, disk, logger, random
// and entropy, bundled into an Env.
struct FakeNodeWorld {
  ksim::testing::FakeClock clock;
  FakeApiServer api;
  FakeTransport transport{&clock, &api};
  FakeDisk disk;
  CollectingLogger logger;
  Random random{7};
  SeededEntropy entropy{11};
  Env env;

  FakeNodeWorld() {
    env.host = "node1";
    env.clock = &clock;
    env.transport = &transport;
    env.disk = &disk;
    env.random = &random;
    env.entropy = &entropy;
    env.log = &logger;
  }
};

}  // namespace ksim::kubelet::testing
