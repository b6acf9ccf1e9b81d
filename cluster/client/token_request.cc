#include "cluster/client/token_request.h"

#include "cluster/env/wire.h"

namespace ksim::client {

void RequestServiceAccountToken(ApiClient& client, const std::string& ns, const std::string& service_account,
                                const api::TokenRequest& request, ApiClient::Done done) {
  api::TokenRequest body = request;
  body.set_api_version("authentication.k8s.io/v1");
  body.set_kind("TokenRequest");
  apiserver::Request r;
  r.set_verb("create");
  r.set_version("v1");
  r.set_resource("serviceaccounts");
  r.set_subresource("token");
  r.set_namespace_(ns);
  r.set_name(service_account);
  SerializeDeterministic(body, r.mutable_body());
  client.Do(std::move(r), std::move(done));
}

}  // namespace ksim::client
