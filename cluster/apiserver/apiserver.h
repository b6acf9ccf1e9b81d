// ApiServer: the apiserver process. It serves ApiHandler over the Transport: each frame
// from a client is a Request, each frame back a Response (a watch answers with a stream of
// frames carrying the same request id until it ends or the client cancels it). It reaches
// the store through a StoreClient; several ApiServers run active-active over one store.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/apiserver/handler.h"
#include "cluster/env/env.h"
#include "cluster/env/process.h"
#include "cluster/store/client/store_client.h"

namespace ksim::apiserver {

struct ApiServerOptions {
  uint16_t port = 6443;
  std::vector<Address> store_members;
  Nanos bookmark_interval = Seconds(60);
  size_t watch_window_events = 100000;
  size_t max_watches_per_connection = 10000;
  bool authenticate = true;  // see HandlerOptions
  bool system_namespaces = true;  // see HandlerOptions
  std::string token_file;    // static tokens (contents, Kubernetes' CSV format)
  std::string service_cluster_ip_range = "10.96.0.0/12";  // see HandlerOptions
  std::string service_node_port_range = "30000-32767";
  // Bound service-account tokens: see HandlerOptions.
  std::string service_account_signing_key_pem;
  std::string service_account_issuer = "https://kubernetes.default.svc.cluster.local";
  std::vector<std::string> api_audiences;
  bool service_account_admission = true;  // see HandlerOptions
};

class ApiServer : public Process {
 public:
  ApiServer(Env& env, ApiServerOptions options);
  ~ApiServer() override;
  void Start() override;

  ApiHandler& handler() { return *handler_; }
  size_t connection_count() const { return conns_.size(); }

 private:
  struct Conn {
    std::shared_ptr<Connection> connection;
    std::map<uint64_t, uint64_t> watches;  // request id -> handler watch handle
  };
  void OnFrame(uint64_t conn_key, std::string_view frame);
  void OnClosed(uint64_t conn_key);
  void ArmBookmark();

  Env& env_;
  ApiServerOptions options_;
  std::unique_ptr<storeclient::StoreClient> store_client_;
  std::unique_ptr<ApiHandler> handler_;
  uint64_t next_conn_ = 1;
  std::map<uint64_t, Conn> conns_;
  TimerId bookmark_timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ksim::apiserver
