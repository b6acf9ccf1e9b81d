#include "cluster/kubelet/token_manager.h"

#include <fmt/format.h>

#include <algorithm>

#include "cluster/api/authentication.pb.h"
#include "cluster/client/token_request.h"

namespace ksim::kubelet {

std::string TokenKey::Key() const {
  // Kubernetes' keyFunc: name, namespace, audiences, expiration and the bound object.
  return fmt::format("{}/{}/{}/{}/{}/{}", namespace_, service_account, audience, expiration_seconds, pod_name, pod_uid);
}

ServiceAccountTokenManager::ServiceAccountTokenManager(Clock* clock, client::ApiClient* client, Logger* log,
                                                       TokenManagerOptions options)
    : clock_(clock), client_(client), log_(log), options_(options) {}

ServiceAccountTokenManager::~ServiceAccountTokenManager() { *alive_ = false; }

Nanos ServiceAccountTokenManager::RefreshAt(const TokenKey& key) const {
  const auto it = cache_.find(key.Key());
  return it == cache_.end() ? Nanos(0) : it->second.refresh_at;
}

void ServiceAccountTokenManager::Get(const TokenKey& key, Done done) {
  const std::string k = key.Key();
  const Nanos now = clock_->MonotonicNow();
  const auto cached = cache_.find(k);
  const bool valid = cached != cache_.end() && now < cached->second.expires_at;
  auto answer = [this, done = std::move(done)](Status s, std::string token) {
    // Never inside the caller's call: the caller may be in the middle of a step.
    clock_->Schedule(Nanos(0), [alive = alive_, done, s, token] {
      if (*alive) done(s, token);
    });
  };
  if (cached != cache_.end() && now < cached->second.refresh_at) return answer(Status::Ok(), cached->second.token);
  if (const auto f = failing_.find(k); f != failing_.end() && now < f->second.retry_at) {
    if (valid) return answer(Status::Ok(), cached->second.token);
    return answer(Status::Unavailable(fmt::format("failed to fetch token: backing off {} ms after a failure",
                                                  (f->second.retry_at - now).count() / 1'000'000)),
                  "");
  }
  if (waiters_ >= options_.max_waiters) {
    if (valid) return answer(Status::Ok(), cached->second.token);
    return answer(Status::Unavailable("failed to fetch token: too many requests waiting"), "");
  }
  ++waiters_;
  auto& waiting = in_flight_[k];
  waiting.push_back([answer](Status s, const std::string& token) mutable { answer(s, token); });
  if (waiting.size() > 1) return;
  if (valid) ++stats_.refreshes;  // due; the current token is the fallback if this fails
  Request(k, key);
}

void ServiceAccountTokenManager::Request(const std::string& k, const TokenKey& key) {
  ++stats_.requests;
  api::TokenRequest tr;
  if (!key.audience.empty()) tr.mutable_spec()->add_audiences(key.audience);
  tr.mutable_spec()->set_expiration_seconds(key.expiration_seconds);
  api::BoundObjectReference* ref = tr.mutable_spec()->mutable_bound_object_ref();
  ref->set_api_version("v1");
  ref->set_kind("Pod");
  ref->set_name(key.pod_name);
  ref->set_uid(key.pod_uid);
  const Nanos sent = clock_->MonotonicNow();
  client::RequestServiceAccountToken(
      *client_, key.namespace_, key.service_account, tr,
      [this, alive = alive_, k, pod_uid = key.pod_uid, asked_s = key.expiration_seconds, sent](const client::ApiResult& r) {
        if (!*alive) return;
        api::TokenRequest out;
        if (!r.ok() || !out.ParseFromString(r.body) || out.status().token().empty()) {
          const std::string why = r.ok() ? "the answer carries no token" : r.Describe();
          return Finish(k, Status::Unavailable("failed to fetch token: " + why), "");
        }
        // The lifetime the apiserver granted (it may shorten the request), counted from
        // when we asked: a token is never thought younger than it is.
        int64_t ttl_s = out.spec().has_expiration_seconds() ? out.spec().expiration_seconds() : asked_s;
        if (out.status().has_expiration_timestamp() && out.metadata().has_creation_timestamp()) {
          ttl_s = std::min(ttl_s, out.status().expiration_timestamp().seconds() - out.metadata().creation_timestamp().seconds());
        }
        const Nanos ttl = Seconds(std::max<int64_t>(ttl_s, 0));
        Entry e;
        e.token = out.status().token();
        e.pod_uid = pod_uid;
        e.expires_at = sent + ttl;
        e.refresh_at = sent + std::min(ttl * options_.refresh_percent / 100, options_.max_ttl);
        const std::string token = e.token;
        Store(k, std::move(e));
        Finish(k, Status::Ok(), token);
      });
}

void ServiceAccountTokenManager::Finish(const std::string& k, const Status& s, const std::string& token) {
  const Nanos now = clock_->MonotonicNow();
  if (s.ok()) {
    failing_.erase(k);
  } else {
    ++stats_.failures;
    Failing& f = failing_[k];
    f.delay = f.delay == Nanos(0) ? options_.backoff_initial : std::min(f.delay * 2, options_.backoff_max);
    f.retry_at = now + f.delay;
    if (log_ != nullptr) log_->Log(LogLevel::kWarning, "kubelet", fmt::format("token {}: {}", k, s.message()));
  }
  std::vector<Done> waiting;
  if (auto it = in_flight_.find(k); it != in_flight_.end()) {
    waiting = std::move(it->second);
    in_flight_.erase(it);
  }
  waiters_ -= waiting.size();
  // A failed refresh hands out the token it would have replaced while that still works.
  const auto cached = cache_.find(k);
  if (!s.ok() && cached != cache_.end() && now < cached->second.expires_at) {
    for (Done& d : waiting) d(Status::Ok(), cached->second.token);
    return;
  }
  for (Done& d : waiting) d(s, token);
}

void ServiceAccountTokenManager::Store(const std::string& k, Entry e) {
  if (auto it = cache_.find(k); it != cache_.end()) Erase(it);
  if (cache_.size() >= options_.max_tokens || bytes_ + e.token.size() > options_.max_token_bytes) {
    ++stats_.not_cached;  // handed out, asked again at the next mount
    return;
  }
  bytes_ += e.token.size();
  cache_.emplace(k, std::move(e));
}

void ServiceAccountTokenManager::Erase(std::map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.token.size();
  cache_.erase(it);
}

void ServiceAccountTokenManager::ForgetPod(const std::string& pod_uid) {
  for (auto it = cache_.begin(); it != cache_.end();) {
    auto next = std::next(it);
    if (it->second.pod_uid == pod_uid) {
      failing_.erase(it->first);
      Erase(it);
    }
    it = next;
  }
  const std::string suffix = "/" + pod_uid;
  for (auto it = failing_.begin(); it != failing_.end();) {
    it = it->first.ends_with(suffix) ? failing_.erase(it) : std::next(it);
  }
}

void ServiceAccountTokenManager::Cleanup() {
  const Nanos now = clock_->MonotonicNow();
  for (auto it = cache_.begin(); it != cache_.end();) {
    auto next = std::next(it);
    if (now >= it->second.expires_at) Erase(it);
    it = next;
  }
  for (auto it = failing_.begin(); it != failing_.end();) {
    // A key not retried for two maximum back-offs starts over.
    it = now - it->second.retry_at > 2 * options_.backoff_max ? failing_.erase(it) : std::next(it);
  }
}

}  // namespace ksim::kubelet
