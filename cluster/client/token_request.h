// The TokenRequest API from the client side (`kubectl create token`): POST an
// authentication.k8s.io/v1 TokenRequest to serviceaccounts/<name>/token. 201 carries the
// token in status.token; 404: no such account (or bound object); 422: a bad spec.
#pragma once

#include <string>

#include "cluster/api/authentication.pb.h"
#include "cluster/client/api_client.h"

namespace ksim::client {

void RequestServiceAccountToken(ApiClient& client, const std::string& ns, const std::string& service_account,
                                const api::TokenRequest& request, ApiClient::Done done);

}  // namespace ksim::client
