#include "cluster/dns/resolver.h"

#include <algorithm>
#include <utility>

namespace ksim::dns {

DnsConfig ClusterFirstConfig(const std::string& ns, const std::string& zone, const std::string& server) {
  DnsConfig c;
  c.servers = {server};
  c.searches = {ns + ".svc." + zone, "svc." + zone, zone};
  c.ndots = 5;
  return c;
}

std::vector<std::string> Candidates(const std::string& name, const DnsConfig& config) {
  if (name.empty()) return {};
  if (name.back() == '.') return {name.substr(0, name.size() - 1)};
  const int dots = static_cast<int>(std::count(name.begin(), name.end(), '.'));
  std::vector<std::string> out;
  if (dots >= config.ndots) out.push_back(name);
  for (const std::string& s : config.searches) out.push_back(name + "." + s);
  if (dots < config.ndots) out.push_back(name);
  return out;
}

Resolver::Resolver(Env& env, DnsConfig config, Nanos timeout)
    : env_(env), config_(std::move(config)), timeout_(timeout) {}

Resolver::~Resolver() { *alive_ = false; }

void Resolver::Query(const std::string& name, uint16_t type, std::function<void(Status, const Message&)> done) {
  Message query;
  query.id = static_cast<uint16_t>(env_.random->Uniform(65536));
  query.recursion_desired = true;
  query.questions.push_back(Question{name, type, kClassIN});
  std::string bytes;
  if (Status s = Encode(query, &bytes); !s.ok()) return done(s, Message());
  std::string server = config_.servers.front();
  if (server.find(':') == std::string::npos) server += ":53";
  // One answer, or the first of: the connection breaking, the timeout.
  struct State {
    std::function<void(Status, const Message&)> done;
    std::shared_ptr<Connection> conn;
    TimerId timer = 0;
    bool finished = false;
  };
  auto state = std::make_shared<State>();
  state->done = std::move(done);
  auto finish = [this, state, alive = alive_](Status s, const Message& m) {
    if (state->finished || !*alive) return;
    state->finished = true;
    if (state->timer != 0) env_.clock->Cancel(state->timer);
    // Closing drops the connection's handlers, which hold this very closure: only locals
    // may be touched after it.
    auto d = std::move(state->done);
    std::shared_ptr<Connection> conn = std::move(state->conn);
    if (conn) conn->Close();
    d(s, m);
  };
  ConnectionHandlers h;
  h.on_frame = [finish, id = query.id](std::string_view frame) {
    Message reply;
    if (Status s = Decode(frame, &reply); !s.ok()) return finish(s, Message());
    if (reply.id != id || !reply.response) {
      return finish(Status::Corruption("dns: the reply does not answer the query"), Message());
    }
    finish(Status::Ok(), reply);
  };
  h.on_closed = [finish](const Status& why) {
    finish(why.ok() ? Status::Unavailable("dns: closed without an answer") : why, Message());
  };
  state->conn = env_.transport->Connect(server, std::move(h), [] {});
  if (!state->conn) return finish(Status::InvalidArgument("dns: bad server address " + server), Message());
  state->timer = env_.clock->Schedule(timeout_, [finish, state] {
    state->timer = 0;
    finish(Status::Timeout("dns: no answer"), Message());
  });
  (void)state->conn->Send(bytes);
}

void Resolver::Resolve(const std::string& name, uint16_t type, std::function<void(Status, const Resolution&)> done) {
  auto candidates = std::make_shared<std::vector<std::string>>(Candidates(name, config_));
  Resolution none;
  none.rcode = kNXDomain;
  Next(std::move(candidates), 0, type, std::move(none), std::move(done));
}

void Resolver::Next(std::shared_ptr<std::vector<std::string>> candidates, size_t i, uint16_t type, Resolution last,
                    std::function<void(Status, const Resolution&)> done) {
  if (i >= candidates->size()) return done(Status::Ok(), last);
  const std::string name = (*candidates)[i];
  Query(name, type, [this, candidates, i, type, name, done = std::move(done)](Status s, const Message& reply) mutable {
    if (!s.ok()) return done(s, Resolution());
    Resolution r;
    r.rcode = reply.rcode;
    r.name = name;
    r.answers = reply.answers;
    // An answer ends the search; NXDOMAIN and NOERROR without answers try the next name.
    if (reply.rcode == kNoError && !reply.answers.empty()) return done(Status::Ok(), r);
    if (reply.rcode != kNoError && reply.rcode != kNXDomain) return done(Status::Ok(), r);
    Next(candidates, i + 1, type, std::move(r), std::move(done));
  });
}

}  // namespace ksim::dns
