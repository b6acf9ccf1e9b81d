// SharedInformerFactory: one Informer per resource, shared by every controller of a
// process (client-go's SharedInformerFactory). Controllers ask for informers and add
// their handlers while they are constructed; the process then starts them all at once.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cluster/api/registry.h"
#include "cluster/client/api_client.h"
#include "cluster/client/informer.h"
#include "cluster/env/env.h"

namespace ksim::controllers {

class SharedInformerFactory {
 public:
  // REQUIRES: env and client outlive the factory.
  SharedInformerFactory(Env& env, client::ApiClient* client, client::InformerOptions defaults = {});

  // The informer of `kind` (group and resource), made on first use. Handlers must be
  // added before Start (Informer's rule); an informer asked for after Start starts at once.
  client::Informer* For(const api::KindInfo& kind);
  // Test hook: informers of `resource` made after this lag by `delay` (InformerOptions::event_delay).
  void SetEventDelay(const std::string& resource, Nanos delay) { event_delay_[resource] = delay; }

  // Starts every informer made so far (and any made later).
  void Start();
  // True once every informer made so far has applied its first list.
  bool HasSynced() const;
  size_t size() const { return informers_.size(); }

 private:
  Env& env_;
  client::ApiClient* client_;
  client::InformerOptions defaults_;
  bool started_ = false;
  std::map<std::string, std::unique_ptr<client::Informer>> informers_;
  std::map<std::string, Nanos> event_delay_;  // by resource  // by "group/resource"
};

}  // namespace ksim::controllers
