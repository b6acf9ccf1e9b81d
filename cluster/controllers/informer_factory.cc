#include "cluster/controllers/informer_factory.h"

namespace ksim::controllers {

SharedInformerFactory::SharedInformerFactory(Env& env, client::ApiClient* client, client::InformerOptions defaults)
    : env_(env), client_(client), defaults_(std::move(defaults)) {}

client::Informer* SharedInformerFactory::For(const api::KindInfo& kind) {
  const std::string key = kind.group + "/" + kind.resource;
  auto it = informers_.find(key);
  if (it != informers_.end()) return it->second.get();
  client::InformerOptions options = defaults_;
  if (auto d = event_delay_.find(kind.resource); d != event_delay_.end()) options.event_delay = d->second;
  auto informer = std::make_unique<client::Informer>(env_, client_, kind, options);
  client::Informer* raw = informer.get();
  informers_.emplace(key, std::move(informer));
  if (started_) raw->Start();
  return raw;
}

void SharedInformerFactory::Start() {
  if (started_) return;
  started_ = true;
  for (auto& [key, informer] : informers_) informer->Start();
}

bool SharedInformerFactory::HasSynced() const {
  for (const auto& [key, informer] : informers_) {
    if (!informer->HasSynced()) return false;
  }
  return started_;
}

}  // namespace ksim::controllers
