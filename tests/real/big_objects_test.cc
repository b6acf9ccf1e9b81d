// Issue #14's end-to-end check, run unchanged in both worlds (the simulator and real TCP
// on loopback with files on disk): Secrets of about 1 MiB each beside thousands of small
// ConfigMaps. Every watch cache loads (in pages bounded by bytes), an informer of each
// kind syncs (listing in pages with limit/continue, then watching), a list too large
// for one reply is a 500 the caller sees, and a store member that was down while
// everything was written joins through a snapshot sent in chunks.
//
// The default run is a slice (20 Secrets, 2,000 ConfigMaps: still 20 MiB, past the 16 MiB
// frame); BigObjectsFull.* (ctest label "long") runs the full size: 60 Secrets of
// 1 MiB and 20,000 small objects.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/api/codec.h"
#include "cluster/api/core.pb.h"
#include "cluster/apiserver/apiserver.h"
#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "cluster/env/process.h"
#include "cluster/store/server/store_server.h"
#include "real/clock.h"
#include "real/event_loop.h"
#include "real/posix_disk.h"
#include "real/os_entropy.h"
#include "real/real_env.h"
#include "real/tcp_transport.h"
#include "sim/host.h"
#include "sim/world.h"
#include "tests/real/loopback_port.h"

namespace ksim {
namespace {

using Factory = std::function<std::unique_ptr<Process>(Env&)>;

// One of the two worlds, as the scenario sees it: hosts with one process each.
class Worlds {
 public:
  virtual ~Worlds() = default;
  // The port `host` listens on for a service whose usual port is `base`.
  virtual uint16_t Port(const std::string& host, uint16_t base) = 0;
  virtual Address AddressOf(const std::string& host, uint16_t port) = 0;
  // Starts `host` with its one process (its disk survives nothing else here).
  virtual void Start(const std::string& host, Factory factory) = 0;
  virtual Process* Find(const std::string& host) = 0;
  virtual bool RunUntil(const std::function<bool()>& done, Nanos timeout) = 0;
};

class SimWorlds final : public Worlds {
 public:
  SimWorlds() = default;
  ~SimWorlds() override = default;
  uint16_t Port(const std::string&, uint16_t base) override { return base; }
  Address AddressOf(const std::string& host, uint16_t port) override { return host + ":" + std::to_string(port); }
  void Start(const std::string& host, Factory factory) override {
    world_.AddHost(host).AddProcess("p", factory);
    world_.RunFor(Milliseconds(1));  // the process starts from the event queue
  }
  Process* Find(const std::string& host) override {
    sim::Host* h = world_.FindHost(host);
    return h == nullptr ? nullptr : h->FindProcess("p");
  }
  bool RunUntil(const std::function<bool()>& done, Nanos timeout) override {
    return world_.RunUntilCondition(done, world_.now() + timeout);
  }

 private:
  sim::World world_{14};
};

class RealWorlds final : public Worlds {
 public:
  RealWorlds() {
    EXPECT_TRUE(real::EventLoop::Create(&loop_).ok());
    clock_ = std::make_unique<real::RealClock>(loop_.get());
    char tmpl[] = "/tmp/ksim-big-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  ~RealWorlds() override {
    for (auto it = hosts_.rbegin(); it != hosts_.rend(); ++it) it->second->process.reset();
    hosts_.clear();  // transports and disks, before the clock and the loop
    clock_.reset();
    loop_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  uint16_t Port(const std::string& host, uint16_t) override {
    // A free port on loopback for each host (bound, then released).
    auto [it, added] = ports_.try_emplace(host, 0);
    if (added) it->second = real::testing::UnusedLoopbackPort();
    return it->second;
  }
  Address AddressOf(const std::string&, uint16_t port) override { return "127.0.0.1:" + std::to_string(port); }
  void Start(const std::string& host, Factory factory) override {
    auto h = std::make_unique<Host>();
    real::TcpTransportOptions o;
    o.bind_ip = "127.0.0.1";
    h->transport = std::make_unique<real::TcpTransport>(loop_.get(), "127.0.0.1", o);
    EXPECT_TRUE(real::PosixDisk::Open(loop_.get(), root_ + "/" + host, &h->disk).ok());
    h->random = std::make_unique<Random>(1000 + hosts_.size());
    h->log = std::make_unique<real::StderrLogger>(host, LogLevel::kWarning);
    h->env.host = "127.0.0.1";
    h->env.clock = clock_.get();
    h->env.transport = h->transport.get();
    h->env.disk = h->disk.get();
    h->env.random = h->random.get();
    h->env.entropy = &h->entropy;
    h->env.log = h->log.get();
    h->process = factory(h->env);
    Host& placed = *hosts_.emplace(host, std::move(h)).first->second;
    placed.process->Start();
  }
  Process* Find(const std::string& host) override {
    auto it = hosts_.find(host);
    return it == hosts_.end() ? nullptr : it->second->process.get();
  }
  bool RunUntil(const std::function<bool()>& done, Nanos timeout) override { return loop_->RunUntil(done, timeout); }

 private:
  struct Host {
    std::unique_ptr<real::TcpTransport> transport;
    std::unique_ptr<real::PosixDisk> disk;
    std::unique_ptr<Random> random;
    real::OsEntropy entropy;  // uids and tokens: the OS's source, as on a real host
    std::unique_ptr<real::StderrLogger> log;
    Env env;
    std::unique_ptr<Process> process;  // destroyed first
  };
  std::unique_ptr<real::EventLoop> loop_;
  std::unique_ptr<real::RealClock> clock_;
  std::string root_;
  std::map<std::string, uint16_t> ports_;
  std::map<std::string, std::unique_ptr<Host>> hosts_;
};

// A process that owns an API client and, optionally, an informer.
class ClientProcess final : public Process {
 public:
  ClientProcess(Env& env, client::ApiClientOptions o, const api::KindInfo* informer_kind)
      : env_(env), options_(std::move(o)), kind_(informer_kind) {}
  ~ClientProcess() override {
    informer.reset();
    api.reset();
  }
  void Start() override {
    api = std::make_unique<client::ApiClient>(env_, options_);
    if (kind_ != nullptr) {
      client::InformerOptions io;
      io.namespace_ = "big";
      informer = std::make_unique<client::Informer>(env_, api.get(), *kind_, io);
      informer->AddHandlers(client::EventHandlers{nullptr, [this](const client::ObjectPtr&, const client::ObjectPtr&) {
                                                    ++updates;
                                                  },
                                                  nullptr});
      informer->Start();
    }
  }
  std::unique_ptr<client::ApiClient> api;
  std::unique_ptr<client::Informer> informer;
  int updates = 0;

 private:
  Env& env_;
  client::ApiClientOptions options_;
  const api::KindInfo* kind_;
};

struct Sizes {
  int secrets = 20;
  size_t secret_bytes = (size_t{1} << 20) - 4096;  // with its metadata, within the store's 1 MiB value
  int small = 2000;
};

const api::KindInfo& Kind(const std::string& resource) { return *api::Registry::Default().ByGroupResource("", resource); }

constexpr char kTokens[] = "admin-token,admin,uid-admin,\"system:masters\"\n";

void RunBigObjects(Worlds& w, const Sizes& z) {
  const std::vector<std::string> members = {"m1", "m2", "m3"};
  std::map<uint64_t, Address> addrs;
  std::vector<Address> store_addresses;
  for (size_t i = 0; i < members.size(); ++i) {
    addrs[i + 1] = w.AddressOf(members[i], w.Port(members[i], 2379));
    store_addresses.push_back(addrs[i + 1]);
  }
  auto member = [&](size_t i) -> Factory {
    storeserver::StoreServerOptions o;
    o.id = i + 1;
    o.members = addrs;
    o.port = w.Port(members[i], 2379);
    o.snapshot_every_entries = 20;  // writes are batched: the load is a few hundred entries
    return [o](Env& env) { return std::make_unique<storeserver::StoreServer>(env, o); };
  };
  // m3 stays down while everything is written: it must join through a snapshot.
  w.Start("m1", member(0));
  w.Start("m2", member(1));
  apiserver::ApiServerOptions ao;
  ao.port = w.Port("api1", 6443);
  ao.store_members = store_addresses;
  ao.token_file = kTokens;
  ao.system_namespaces = false;
  ao.service_account_admission = false;  // no serviceaccount controller makes `default`
  w.Start("api1", [ao](Env& env) { return std::make_unique<apiserver::ApiServer>(env, ao); });
  client::ApiClientOptions co;
  co.endpoints = {w.AddressOf("api1", ao.port)};
  co.token = "admin-token";
  co.request_timeout = Seconds(120);
  co.attempt_timeout = Seconds(60);
  w.Start("loader", [co](Env& env) { return std::make_unique<ClientProcess>(env, co, nullptr); });
  auto* loader = dynamic_cast<ClientProcess*>(w.Find("loader"));
  ASSERT_NE(loader, nullptr);
  auto call = [&](const std::function<void(client::ApiClient::Done)>& start) {
    std::optional<client::ApiResult> result;
    start([&result](const client::ApiResult& r) { result = r; });
    EXPECT_TRUE(w.RunUntil([&] { return result.has_value(); }, Seconds(120)));
    return result.value_or(client::ApiResult{});
  };
  api::Namespace ns;
  ns.mutable_metadata()->set_name("big");
  // The first call also waits for the store to elect a leader.
  client::ApiResult made;
  for (int attempt = 0; attempt < 30 && !made.ok(); ++attempt) {
    made = call([&](auto done) { loader->api->Create(Kind("namespaces"), ns, done); });
  }
  ASSERT_TRUE(made.ok()) << made.Describe();

  // Creates `total` objects made by `make`, at most `window` in flight.
  int created = 0, failed = 0, sent = 0;
  std::string last_error;
  auto pump = [&](int total, int window, const std::function<std::unique_ptr<google::protobuf::Message>(int)>& make,
                  const api::KindInfo& kind) {
    created = failed = sent = 0;
    std::function<void()> next = [&] {
      while (sent < total && sent - created - failed < window) {
        const int i = sent++;
        loader->api->Create(kind, *make(i), [&](const client::ApiResult& r) {
          if (r.ok()) {
            ++created;
          } else {
            ++failed;
            last_error = r.Describe();
          }
          next();
        });
      }
    };
    next();
    EXPECT_TRUE(w.RunUntil([&] { return created + failed == total; }, Seconds(600)));
    EXPECT_EQ(failed, 0) << last_error;
  };
  pump(z.secrets, 4,
       [&](int i) {
         auto s = std::make_unique<api::Secret>();
         s->mutable_metadata()->set_namespace_("big");
         s->mutable_metadata()->set_name("secret-" + std::to_string(i));
         (*s->mutable_data())["blob"] = std::string(z.secret_bytes, static_cast<char>('a' + i % 26));
         return s;
       },
       Kind("secrets"));
  pump(z.small, 200,
       [&](int i) {
         auto c = std::make_unique<api::ConfigMap>();
         c->mutable_metadata()->set_namespace_("big");
         c->mutable_metadata()->set_name("cm-" + std::to_string(i));
         (*c->mutable_data())["k"] = "v" + std::to_string(i);
         return c;
       },
       Kind("configmaps"));

  // A list of every Secret in one reply would pass the frame limit: a 500 the caller
  // sees, naming the way out, not a dropped reply.
  const client::ApiResult whole =
      call([&](auto done) { loader->api->List(Kind("secrets"), "big", {{"resourceVersion", "0"}}, done); });
  EXPECT_EQ(whole.code, 500) << whole.Describe();
  EXPECT_NE(whole.error.message().find("limit"), std::string::npos) << whole.Describe();

  // Informers list in pages (limit/continue, bounded by bytes) and then watch from the
  // apiserver's watch cache, which loads in pages too.
  w.Start("informer-secrets", [co](Env& env) { return std::make_unique<ClientProcess>(env, co, &Kind("secrets")); });
  w.Start("informer-configmaps",
          [co](Env& env) { return std::make_unique<ClientProcess>(env, co, &Kind("configmaps")); });
  auto* secrets = dynamic_cast<ClientProcess*>(w.Find("informer-secrets"));
  auto* configmaps = dynamic_cast<ClientProcess*>(w.Find("informer-configmaps"));
  ASSERT_TRUE(w.RunUntil(
      [&] {
        return secrets->informer->HasSynced() && configmaps->informer->HasSynced() &&
               secrets->informer->stats().watches > 0 && configmaps->informer->stats().watches > 0;
      },
      Seconds(300)));
  EXPECT_EQ(secrets->informer->size(), static_cast<size_t>(z.secrets));
  EXPECT_EQ(configmaps->informer->size(), static_cast<size_t>(z.small));
  for (const client::ObjectPtr& o : secrets->informer->List()) {
    const auto& s = static_cast<const api::Secret&>(*o);
    EXPECT_EQ(s.data().at("blob").size(), z.secret_bytes) << s.metadata().name();
  }
  // The watches run from the loaded caches: an update reaches both informers.
  auto touch = [&](const api::KindInfo& kind, const std::string& name) {
    const client::ApiResult got = call([&](auto done) { loader->api->Get(kind, "big", name, done); });
    ASSERT_TRUE(got.ok()) << got.Describe();
    auto obj = client::ApiClient::DecodeObject(kind, got);
    ASSERT_TRUE(obj);
    (*api::MutableMeta(*obj)->mutable_labels())["touched"] = "yes";
    const client::ApiResult put = call([&](auto done) { loader->api->Update(kind, *obj, done); });
    ASSERT_TRUE(put.ok()) << put.Describe();
  };
  touch(Kind("secrets"), "secret-0");
  touch(Kind("configmaps"), "cm-0");
  EXPECT_TRUE(w.RunUntil([&] { return secrets->updates > 0 && configmaps->updates > 0; }, Seconds(30)));

  // The member that was down joins: the leader compacted its log long ago, so it sends
  // the snapshot (everything above) in chunks.
  w.Start("m3", member(2));
  auto* m1 = dynamic_cast<storeserver::StoreServer*>(w.Find("m1"));
  auto* m2 = dynamic_cast<storeserver::StoreServer*>(w.Find("m2"));
  auto* m3 = dynamic_cast<storeserver::StoreServer*>(w.Find("m3"));
  ASSERT_TRUE(m1 && m2 && m3);
  ASSERT_TRUE(w.RunUntil(
      [&] { return m3->raft() != nullptr && m3->store().revision() == std::max(m1->store().revision(), m2->store().revision()); },
      Seconds(300)));
  EXPECT_GE(m3->stats().snapshots_installed, 1u);
  const uint64_t chunks = m1->stats().snapshot_chunks_sent + m2->stats().snapshot_chunks_sent;
  EXPECT_GE(chunks, static_cast<uint64_t>(z.secrets)) << "at least one 1 MiB chunk per Secret";
  storeserver::StoreServer* leader = m1->raft()->role() == raft::Role::kLeader ? m1 : m2;
  EXPECT_TRUE(m3->store().Snapshot() == leader->store().Snapshot()) << "byte-identical stores";
}

TEST(BigObjects, SimulatedSlice) {
  SimWorlds w;
  RunBigObjects(w, Sizes{});
}

TEST(BigObjects, RealTcpSlice) {
  RealWorlds w;
  RunBigObjects(w, Sizes{});
}

TEST(BigObjectsFull, SimulatedSixtySecretsOfOneMiBAndTwentyThousandObjects) {
  SimWorlds w;
  RunBigObjects(w, Sizes{60, (size_t{1} << 20) - 4096, 20000});
}

TEST(BigObjectsFull, RealTcpSixtySecretsOfOneMiBAndTwentyThousandObjects) {
  RealWorlds w;
  RunBigObjects(w, Sizes{60, (size_t{1} << 20) - 4096, 20000});
}

}  // namespace
}  // namespace ksim
