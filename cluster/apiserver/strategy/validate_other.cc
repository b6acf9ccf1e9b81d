// rbac.authorization.k8s.io, scheduling.k8s.io, coordination.k8s.io and certificates.k8s.io.
#include "cluster/apiserver/strategy/validation.h"

namespace ksim::apiserver {
namespace {

const Path kMeta("metadata");
constexpr std::string_view kRbacGroup = "rbac.authorization.k8s.io";
constexpr int32_t kHighestUserPriority = 1000000000;
constexpr int32_t kSystemClusterCritical = 2000000000;
constexpr int32_t kSystemNodeCritical = 2000001000;

size_t At(int i) { return static_cast<size_t>(i); }

void ValidatePolicyRules(const google::protobuf::RepeatedPtrField<api::PolicyRule>& rules, bool namespaced,
                         Errors& errs) {
  for (int i = 0; i < rules.size(); ++i) {
    const api::PolicyRule& rule = rules[i];
    const Path p = Path("rules").Index(At(i));
    if (rule.verbs().empty()) errs.Required(p.Child("verbs"), "verbs must contain at least one value");
    if (!rule.non_resource_urls().empty()) {
      if (namespaced) {
        errs.InvalidShown(p.Child("nonResourceURLs"), "[...]", "namespaced rules cannot apply to non-resource URLs");
      }
      if (!rule.api_groups().empty() || !rule.resources().empty() || !rule.resource_names().empty()) {
        errs.InvalidShown(p.Child("nonResourceURLs"), "[...]",
                          "rules cannot apply to both regular resources and non-resource URLs");
      }
      continue;
    }
    if (rule.api_groups().empty()) errs.Required(p.Child("apiGroups"), "resource rules must supply at least one api group");
    if (rule.resources().empty()) errs.Required(p.Child("resources"), "resource rules must supply at least one resource");
  }
}

void ValidateRoleRef(const api::RoleRef& ref, bool cluster_binding, Errors& errs) {
  const Path p("roleRef");
  if (ref.api_group() != kRbacGroup) errs.NotSupported(p.Child("apiGroup"), ref.api_group(), {kRbacGroup});
  if (cluster_binding) {
    if (ref.kind() != "ClusterRole") errs.NotSupported(p.Child("kind"), ref.kind(), {"ClusterRole"});
  } else if (ref.kind() != "Role" && ref.kind() != "ClusterRole") {
    errs.NotSupported(p.Child("kind"), ref.kind(), {"Role", "ClusterRole"});
  }
  if (ref.name().empty()) {
    errs.Required(p.Child("name"));
  } else {
    errs.InvalidEach(p.Child("name"), ref.name(), IsValidPathSegmentName(ref.name()));
  }
}

void ValidateSubjects(const google::protobuf::RepeatedPtrField<api::Subject>& subjects, bool cluster_binding,
                      Errors& errs) {
  for (int i = 0; i < subjects.size(); ++i) {
    const api::Subject& s = subjects[i];
    const Path p = Path("subjects").Index(At(i));
    if (s.name().empty()) errs.Required(p.Child("name"));
    if (s.kind() == "ServiceAccount") {
      if (!s.name().empty()) errs.InvalidEach(p.Child("name"), s.name(), IsDNS1123Subdomain(s.name()));
      if (!s.api_group().empty()) errs.NotSupported(p.Child("apiGroup"), s.api_group(), {""});
      if (cluster_binding && s.namespace_().empty()) errs.Required(p.Child("namespace"));
    } else if (s.kind() == "User" || s.kind() == "Group") {
      if (s.api_group() != kRbacGroup) errs.NotSupported(p.Child("apiGroup"), s.api_group(), {kRbacGroup});
    } else {
      errs.NotSupported(p.Child("kind"), s.kind(), {"ServiceAccount", "User", "Group"});
    }
  }
}

}  // namespace

void ValidateRole(const api::Role& role, Errors& errs) {
  ValidateObjectMeta(role.metadata(), true, NameIsPathSegment, kMeta, errs);
  ValidatePolicyRules(role.rules(), true, errs);
}

void ValidateClusterRole(const api::ClusterRole& role, Errors& errs) {
  ValidateObjectMeta(role.metadata(), false, NameIsPathSegment, kMeta, errs);
  ValidatePolicyRules(role.rules(), false, errs);
  const auto& selectors = role.aggregation_rule().cluster_role_selectors();
  for (int i = 0; i < selectors.size(); ++i) {
    ValidateLabelSelector(selectors[i], Path("aggregationRule").Child("clusterRoleSelectors").Index(At(i)), errs);
  }
}

void ValidateRoleBinding(const api::RoleBinding& rb, Errors& errs) {
  ValidateObjectMeta(rb.metadata(), true, NameIsPathSegment, kMeta, errs);
  ValidateRoleRef(rb.role_ref(), false, errs);
  ValidateSubjects(rb.subjects(), false, errs);
}

void ValidateClusterRoleBinding(const api::ClusterRoleBinding& crb, Errors& errs) {
  ValidateObjectMeta(crb.metadata(), false, NameIsPathSegment, kMeta, errs);
  ValidateRoleRef(crb.role_ref(), true, errs);
  ValidateSubjects(crb.subjects(), true, errs);
}

void ValidateRoleBindingUpdate(const api::RoleRef& ref, const api::RoleRef& old, Errors& errs) {
  if (!SameMessage(ref, old)) {
    errs.InvalidShown(Path("roleRef"),
                      "rbac.RoleRef{APIGroup:" + Quote(ref.api_group()) + ", Kind:" + Quote(ref.kind()) +
                          ", Name:" + Quote(ref.name()) + "}",
                      "cannot change roleRef");
  }
}

void ValidatePriorityClass(const api::PriorityClass& pc, Errors& errs) {
  ValidateObjectMeta(pc.metadata(), false, NameIsDNSSubdomain, kMeta, errs);
  const std::string& name = pc.metadata().name();
  if (name == "system-cluster-critical" || name == "system-node-critical") {
    const int32_t expected = name == "system-cluster-critical" ? kSystemClusterCritical : kSystemNodeCritical;
    if (pc.value() != expected) {
      errs.Forbidden(kMeta.Child("name"), "priority class is a system class; its value must be " + std::to_string(expected));
    }
  } else if (name.rfind("system-", 0) == 0) {
    errs.Forbidden(kMeta.Child("name"), "priority class names with 'system-' prefix are reserved");
  } else if (pc.value() > kHighestUserPriority) {
    errs.Invalid(Path("value"), pc.value(),
                 "maximum allowed value of a user defined priority is " + std::to_string(kHighestUserPriority));
  }
  if (pc.has_preemption_policy() && pc.preemption_policy() != "Never" &&
      pc.preemption_policy() != "PreemptLowerPriority") {
    errs.NotSupported(Path("preemptionPolicy"), pc.preemption_policy(), {"Never", "PreemptLowerPriority"});
  }
}

void ValidatePriorityClassUpdate(const api::PriorityClass& pc, const api::PriorityClass& old, Errors& errs) {
  ValidateObjectMetaUpdate(pc.metadata(), old.metadata(), kMeta, errs);
  if (pc.value() != old.value()) errs.Forbidden(Path("value"), "may not be changed in an update.");
  if (pc.preemption_policy() != old.preemption_policy()) {
    errs.Invalid(Path("preemptionPolicy"), pc.preemption_policy(), kImmutable);
  }
}

void ValidateLease(const api::Lease& lease, Errors& errs) {
  ValidateObjectMeta(lease.metadata(), true, NameIsDNSSubdomain, kMeta, errs);
  const api::LeaseSpec& spec = lease.spec();
  const Path p("spec");
  if (spec.has_lease_duration_seconds() && spec.lease_duration_seconds() <= 0) {
    errs.Invalid(p.Child("leaseDurationSeconds"), spec.lease_duration_seconds(), "must be greater than 0");
  }
  if (spec.has_lease_transitions()) ValidateNonNegative(spec.lease_transitions(), p.Child("leaseTransitions"), errs);
}

void ValidateCertificateSigningRequest(const api::CertificateSigningRequest& csr, Errors& errs) {
  ValidateObjectMeta(csr.metadata(), false, NameIsPathSegment, kMeta, errs);
  const Path p("spec");
  const api::CertificateSigningRequestSpec& spec = csr.spec();
  if (spec.request().empty()) errs.Required(p.Child("request"));
  const std::string& signer = spec.signer_name();
  if (signer.empty()) {
    errs.Required(p.Child("signerName"));
  } else {
    const size_t slash = signer.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == signer.size()) {
      errs.Invalid(p.Child("signerName"), signer,
                   "must be a fully qualified domain and path of the form 'example.com/signer-name'");
    } else {
      errs.InvalidEach(p.Child("signerName"), signer, IsDNS1123Subdomain(signer.substr(0, slash)));
    }
  }
  if (spec.has_expiration_seconds() && spec.expiration_seconds() < 600) {
    errs.Invalid(p.Child("expirationSeconds"), spec.expiration_seconds(),
                 "may not specify a duration less than 600 seconds (10 minutes)");
  }
}

}  // namespace ksim::apiserver
