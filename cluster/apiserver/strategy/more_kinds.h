// Defaults and validation of the kinds added after the first set: ControllerRevision,
// CronJob, HorizontalPodAutoscaler, PodDisruptionBudget (kinds_apps_batch.cc) and
// EndpointSlice, Ingress, IngressClass, NetworkPolicy, PersistentVolume, StorageClass
// (kinds_net_storage.cc). Kubernetes' field paths and wording, as in validation.h.
#pragma once

#include <string_view>
#include <vector>

#include "cluster/api/apps.pb.h"
#include "cluster/api/autoscaling.pb.h"
#include "cluster/api/batch.pb.h"
#include "cluster/api/discovery.pb.h"
#include "cluster/api/networking.pb.h"
#include "cluster/api/policy.pb.h"
#include "cluster/api/storage.pb.h"
#include "cluster/apiserver/strategy/field_errors.h"

namespace ksim::apiserver {

// The JSON names of the message-typed fields set in `message`, in declaration order, except
// those in `skip`: the volume sources of a Pod volume or a PersistentVolume spec (a source
// is any sub-message), so a newly modelled source needs no list updated.
std::vector<std::string_view> SetSources(const google::protobuf::Message& message,
                                         const std::vector<std::string_view>& skip = {});

// apps, batch, autoscaling, policy (kinds_apps_batch.cc)
void ValidateControllerRevision(const api::ControllerRevision& cr, Errors& errs);
void ValidateControllerRevisionUpdate(const api::ControllerRevision& cr, const api::ControllerRevision& old,
                                      Errors& errs);
void DefaultCronJob(api::CronJob& cj);
void ValidateCronJob(const api::CronJob& cj, Errors& errs);
void DefaultHorizontalPodAutoscaler(api::HorizontalPodAutoscaler& hpa);
void ValidateHorizontalPodAutoscaler(const api::HorizontalPodAutoscaler& hpa, Errors& errs);
void ValidatePodDisruptionBudget(const api::PodDisruptionBudget& pdb, Errors& errs);

// discovery, networking, storage (kinds_net_storage.cc)
void DefaultEndpointSlice(api::EndpointSlice& slice);
void ValidateEndpointSlice(const api::EndpointSlice& slice, Errors& errs);
void ValidateEndpointSliceUpdate(const api::EndpointSlice& slice, const api::EndpointSlice& old, Errors& errs);
void ValidateIngress(const api::Ingress& ing, Errors& errs);
void DefaultIngressClass(api::IngressClass& ic);
void ValidateIngressClass(const api::IngressClass& ic, Errors& errs);
void ValidateIngressClassUpdate(const api::IngressClass& ic, const api::IngressClass& old, Errors& errs);
void DefaultNetworkPolicy(api::NetworkPolicy& np);
void ValidateNetworkPolicy(const api::NetworkPolicy& np, Errors& errs);
void DefaultPersistentVolume(api::PersistentVolume& pv);
void ValidatePersistentVolume(const api::PersistentVolume& pv, Errors& errs);
void ValidatePersistentVolumeUpdate(const api::PersistentVolume& pv, const api::PersistentVolume& old, Errors& errs);
void DefaultStorageClass(api::StorageClass& sc);
void ValidateStorageClass(const api::StorageClass& sc, Errors& errs);
void ValidateStorageClassUpdate(const api::StorageClass& sc, const api::StorageClass& old, Errors& errs);

}  // namespace ksim::apiserver
