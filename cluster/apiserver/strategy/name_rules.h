// Kubernetes' name and value checks (k8s.io/apimachinery/pkg/util/validation): each
// returns the list of messages Kubernetes would give, empty when the value is valid.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ksim::apiserver {

using Messages = std::vector<std::string>;

Messages IsDNS1123Label(std::string_view value);
Messages IsDNS1123Subdomain(std::string_view value);
Messages IsDNS1035Label(std::string_view value);
// Label keys, annotation keys, finalizers, taint keys: [prefix/]name.
Messages IsQualifiedName(std::string_view value);
Messages IsValidLabelValue(std::string_view value);
// Container and service target port names (IANA_SVC_NAME).
Messages IsValidPortName(std::string_view value);
Messages IsValidPortNum(int64_t port);
// ConfigMap and Secret data keys.
Messages IsConfigMapKey(std::string_view value);
// Names that only have to be a URL path segment (RBAC, CSR).
Messages IsValidPathSegmentName(std::string_view value);
// Dotted-quad IPv4 or RFC 4291 IPv6 text.
bool IsValidIP(std::string_view value);

// A name validator in Kubernetes' sense; `prefix` is true for generateName.
using NameRule = Messages (*)(std::string_view name, bool prefix);
Messages NameIsDNSSubdomain(std::string_view name, bool prefix);
Messages NameIsDNSLabel(std::string_view name, bool prefix);
Messages NameIsDNS1035Label(std::string_view name, bool prefix);
Messages NameIsPathSegment(std::string_view name, bool prefix);

}  // namespace ksim::apiserver
