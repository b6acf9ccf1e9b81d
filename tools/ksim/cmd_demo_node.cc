// ksim demo-node: one gossip-counter node as a real daemon — the same GossipCounterNode
// the simulated demo runs, here on the epoll loop, the real clock, TCP and fsync'd files.
// Prints a status line every --status-every until SIGINT/SIGTERM or --run-for elapses.
#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cluster/demo/gossip_counter.h"
#include "real/real_env.h"
#include "tools/ksim/commands.h"
#include "tools/ksim/duration.h"

namespace ksim::tools {
namespace {

struct Flags {
  std::string name;
  std::string listen;
  std::vector<std::string> peers;
  std::string data_dir;
  std::string increment = "100ms";
  std::string gossip = "200ms";
  std::string status_every = "1s";
  std::string run_for;
  uint64_t seed = 0;
  bool has_seed = false;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "ksim demo-node: error: %s\n", message.c_str());
  return kExitBadInput;
}

int Run(const Flags& f) {
  demo::GossipCounterOptions node;
  node.name = f.name;
  std::string listen_host;
  if (Status s = ParseAddress(f.listen, &listen_host, &node.listen_port); !s.ok()) return Fail("--listen: " + s.message());
  if (node.listen_port == 0) return Fail("--listen: port must not be 0 (peers need to know it)");
  for (const std::string& p : f.peers) {
    const size_t eq = p.find('=');
    std::string host;
    uint16_t port = 0;
    if (eq == std::string::npos || eq == 0) return Fail("--peer '" + p + "': expected name=host:port");
    if (Status s = ParseAddress(p.substr(eq + 1), &host, &port); !s.ok()) return Fail("--peer: " + s.message());
    const std::string peer_name = p.substr(0, eq);
    if (peer_name == node.name) return Fail("--peer '" + p + "': a node is not its own peer");
    if (!node.peers.emplace(peer_name, p.substr(eq + 1)).second) return Fail("--peer '" + peer_name + "' given twice");
  }
  Nanos status_every{0}, run_for{0};
  if (Status s = ParseDuration("--increment", f.increment, &node.increment_interval); !s.ok()) return Fail(s.message());
  if (Status s = ParseDuration("--gossip", f.gossip, &node.gossip_interval); !s.ok()) return Fail(s.message());
  if (Status s = ParseDuration("--status-every", f.status_every, &status_every); !s.ok()) return Fail(s.message());
  if (!f.run_for.empty()) {
    if (Status s = ParseDuration("--run-for", f.run_for, &run_for); !s.ok()) return Fail(s.message());
  }
  if (node.increment_interval <= Nanos(0) || node.gossip_interval <= Nanos(0) || status_every <= Nanos(0)) {
    return Fail("--increment, --gossip and --status-every must be positive");
  }

  real::RealHostOptions host_options;
  host_options.host = listen_host;
  host_options.data_dir = f.data_dir;
  host_options.transport.bind_ip = listen_host;
  if (f.has_seed) host_options.seed = f.seed;
  std::unique_ptr<real::RealHost> host;
  if (Status s = real::RealHost::Create(host_options, &host); !s.ok()) {
    std::fprintf(stderr, "ksim demo-node: %s\n", s.ToString().c_str());
    return 1;
  }

  // Signals arrive as readable events on the loop, never as asynchronous handlers.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) return Fail("signalfd failed");
  real::EventLoop& loop = host->loop();
  (void)loop.AddFd(sfd, EPOLLIN, [&loop](uint32_t) { loop.Stop(); });

  Env env = host->env();
  auto process = std::make_unique<demo::GossipCounterNode>(env, node);
  process->Start();
  demo::GossipCounterNode* n = process.get();
  std::function<void()> status = [&] {
    std::vector<std::string> parts;
    for (const auto& [peer, value] : n->Known()) parts.push_back(fmt::format("{}:{}", peer, value));
    std::printf("status name=%s own=%llu recovered=%llu known=%s violations=%zu\n", f.name.c_str(),
                static_cast<unsigned long long>(n->own_value()),
                static_cast<unsigned long long>(n->stats().recovered_value), fmt::format("{}", fmt::join(parts, ",")).c_str(),
                n->violations().size());
    std::fflush(stdout);
    loop.RunAfter(status_every, status);
  };
  loop.RunAfter(Nanos(0), status);
  if (run_for > Nanos(0)) loop.RunAfter(run_for, [&loop] { loop.Stop(); });
  loop.Run();
  status = nullptr;
  process.reset();
  loop.RemoveFd(sfd);
  close(sfd);
  return 0;
}

}  // namespace

CommandFn AddDemoNodeCommand(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("demo-node", "Run one demo node on this host (real clock, TCP, files)");
  cmd->add_option("--name", f->name, "This node's name, unique in the mesh")->required();
  cmd->add_option("--listen", f->listen, "Address to listen on, ip:port (also how peers reach this node)")->required();
  cmd->add_option("--peer", f->peers, "A peer as name=host:port (repeat for each peer)");
  cmd->add_option("--data-dir", f->data_dir, "Directory for the node's counter log")->required();
  cmd->add_option("--increment", f->increment, "Interval between increments")->capture_default_str();
  cmd->add_option("--gossip", f->gossip, "Interval between gossip rounds")->capture_default_str();
  cmd->add_option("--status-every", f->status_every, "Interval between status lines on stdout")->capture_default_str();
  cmd->add_option("--run-for", f->run_for, "Stop after this long (default: until SIGINT/SIGTERM)");
  auto* seed = cmd->add_option("--seed", f->seed, "Seed of the node's Random (default: from the OS)");
  return [f, seed] {
    f->has_seed = seed->count() > 0;
    return Run(*f);
  };
}

}  // namespace ksim::tools
