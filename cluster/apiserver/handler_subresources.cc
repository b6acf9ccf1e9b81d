// ApiHandler: the scale and binding subresources.
#include "cluster/apiserver/handler_internal.h"

#include <fmt/format.h>

#include <cctype>
#include <map>
#include <optional>

#include "cluster/api/autoscaling.pb.h"
#include "cluster/env/wire.h"

namespace ksim::apiserver {

namespace gp = google::protobuf;
using namespace handler_internal;  // NOLINT: this file's own helpers

// --- scale --------------------------------------------------------------------------------

namespace {

const gp::Message* SubMessage(const gp::Message& m, const char* name) {
  const gp::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) return nullptr;
  return &m.GetReflection()->GetMessage(m, f);
}

int32_t Int32Field(const gp::Message* m, const char* name) {
  if (m == nullptr) return 0;
  const gp::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != gp::FieldDescriptor::CPPTYPE_INT32) return 0;
  return m->GetReflection()->GetInt32(*m, f);
}

// The workload's selector as a string ("app=web,tier in (a,b)").
std::string SelectorString(const gp::Message& spec) {
  const gp::FieldDescriptor* f = spec.GetDescriptor()->FindFieldByName("selector");
  if (f == nullptr) return {};
  std::vector<std::string> parts;
  if (f->is_map()) {  // ReplicationController: map<string,string>, read through reflection
    std::map<std::string, std::string> labels;
    const gp::Reflection* rf = spec.GetReflection();
    for (int i = 0; i < rf->FieldSize(spec, f); ++i) {
      const gp::Message& entry = rf->GetRepeatedMessage(spec, f, i);
      const gp::Descriptor* d = entry.GetDescriptor();
      labels[entry.GetReflection()->GetString(entry, d->map_key())] =
          entry.GetReflection()->GetString(entry, d->map_value());
    }
    for (const auto& [k, v] : labels) parts.push_back(k + "=" + v);
  } else if (const auto* sel = dynamic_cast<const api::LabelSelector*>(SubMessage(spec, "selector"))) {
    for (const auto& [k, v] : std::map<std::string, std::string>(sel->match_labels().begin(), sel->match_labels().end())) {
      parts.push_back(k + "=" + v);
    }
    for (const api::LabelSelectorRequirement& r : sel->match_expressions()) {
      std::string values;
      for (const std::string& v : r.values()) values += (values.empty() ? "" : ",") + v;
      if (r.operator_() == "In") parts.push_back(r.key() + " in (" + values + ")");
      if (r.operator_() == "NotIn") parts.push_back(r.key() + " notin (" + values + ")");
      if (r.operator_() == "Exists") parts.push_back(r.key());
      if (r.operator_() == "DoesNotExist") parts.push_back("!" + r.key());
    }
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

api::Scale ScaleOf(const gp::Message& object, int64_t revision) {
  api::Scale scale;
  scale.set_api_version("autoscaling/v1");
  scale.set_kind("Scale");
  const api::ObjectMeta& meta = *api::GetMeta(object);
  scale.mutable_metadata()->set_name(meta.name());
  scale.mutable_metadata()->set_namespace_(meta.namespace_());
  scale.mutable_metadata()->set_uid(meta.uid());
  scale.mutable_metadata()->set_resource_version(std::to_string(revision));
  *scale.mutable_metadata()->mutable_creation_timestamp() = meta.creation_timestamp();
  const gp::Message* spec = SubMessage(object, "spec");
  scale.mutable_spec()->set_replicas(Int32Field(spec, "replicas"));
  scale.mutable_status()->set_replicas(Int32Field(SubMessage(object, "status"), "replicas"));
  if (spec != nullptr) scale.mutable_status()->set_selector(SelectorString(*spec));
  return scale;
}

// "pod" for Pod: the kind as a word in a message.
std::string Noun(const api::KindInfo& info) {
  std::string noun = info.kind;
  for (char& c : noun) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return noun;
}

}  // namespace

void ApiHandler::Scale(std::shared_ptr<Call> call) {
  api::Scale wanted;
  const bool update = call->request.verb() == "update";
  if (update) {
    const api::KindInfo* scale_kind = api::Registry::Default().ByApiVersionKind("autoscaling/v1", "Scale");
    if (Status s = DecodeBody(call->request, *scale_kind, &wanted); !s.ok()) {
      return ReplyStatus(*call, 400, "BadRequest", s.message());
    }
    if (wanted.spec().replicas() < 0) {
      return ReplyStatus(*call, 422, "Invalid", "spec.replicas: Invalid value: " +
                                                    std::to_string(wanted.spec().replicas()) +
                                                    ": must be greater than or equal to 0");
    }
  }
  store_.Get(call->key, [this, call, wanted, update, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) {
      return ReplyNotFound(*call);
    }
    auto obj = call->info->New();
    obj->ParseFromString(current->value);
    auto reply_scale = [this, call](const gp::Message& o, int64_t revision) {
      const api::Scale scale = ScaleOf(o, revision);
      Response r;
      r.set_id(call->request.id());
      r.set_code(200);
      if (WantsJson(call->request.accept())) {
        r.set_content_type(kJson);
        r.set_body(api::EncodeJson(scale));
      } else {
        r.set_content_type(kProtobuf);
        r.set_body(SerializeDeterministic(scale));
      }
      call->reply(std::move(r));
    };
    if (!update) return reply_scale(*obj, current->mod_revision);
    const std::string& rv = wanted.metadata().resource_version();
    if (!rv.empty() && rv != std::to_string(current->mod_revision)) {
      ++stats_.conflicts;
      return ReplyConflict(*call);
    }
    gp::Message* spec = obj->GetReflection()->MutableMessage(obj.get(), obj->GetDescriptor()->FindFieldByName("spec"));
    const gp::FieldDescriptor* replicas = spec->GetDescriptor()->FindFieldByName("replicas");
    spec->GetReflection()->SetInt32(spec, replicas, wanted.spec().replicas());
    // The write answers with the object; the scale call answers with its Scale.
    auto scale_call = std::make_shared<Call>(*call);
    scale_call->request.set_accept("");
    scale_call->reply = [reply_scale, info = call->info, call](Response r) {
      if (r.code() != 200) return call->reply(std::move(r));
      auto written = info->New();
      written->ParseFromString(r.body());
      reply_scale(*written, std::stoll(api::GetMeta(*written)->resource_version()));
      return false;
    };
    const StoredObject cur = *current;
    WriteUpdate(scale_call, std::move(obj), cur, [this, call] {
      ++stats_.conflicts;
      ReplyStatus(*call, 409, "Conflict", "the object changed while scaling; try again");
    });
  });
}

// --- binding ------------------------------------------------------------------------------

void ApiHandler::Bind(std::shared_ptr<Call> call, int attempt) {
  api::Binding binding;
  if (Status s = DecodeBody(call->request, *api::Registry::Default().ByGroupResource("", "bindings"), &binding);
      !s.ok()) {
    return ReplyStatus(*call, 400, "BadRequest", s.message());
  }
  if (binding.target().name().empty()) {
    return ReplyStatus(*call, 422, "Invalid", "target.name: Required value");
  }
  store_.Get(call->key, [this, call, binding, attempt, alive = alive_](Status s, const StoredObject* current) {
    if (!*alive) return;
    if (!s.ok()) return ReplyStoreError(*call, s);
    if (current == nullptr) return ReplyNotFound(*call);
    auto target = call->info->New();
    if (!target->ParseFromString(current->value)) {
      return ReplyStatus(*call, 500, "InternalError", "stored object is corrupt");
    }
    // The binding's uid and resourceVersion are preconditions: a binding meant for a pod
    // that was deleted never lands on a new pod of the same name.
    if (std::string why = PreconditionFailure(binding.metadata().uid(), binding.metadata().resource_version(),
                                              *api::GetMeta(*target), current->mod_revision);
        !why.empty()) {
      return ReplyStatus(*call, 409, "Conflict",
                         fmt::format("Operation cannot be fulfilled on {}/binding \"{}\": {}",
                                     QualifiedResource(*call->info), call->request.name(), why));
    }
    if (std::optional<Refusal> no = call->strategy->bind(binding, *target, env_.clock->WallNow())) {
      return ReplyStatus(*call, no->code, no->reason, no->message);
    }
    const std::string bytes = SerializeDeterministic(*target);
    store_.Update(call->key, bytes, current->mod_revision, {},
                  [this, call, attempt, alive = alive_](const WriteResult& w) {
                    if (!*alive) return;
                    if (!w.status.ok()) return ReplyStoreError(*call, w.status);
                    if (w.outcome == WriteOutcome::kConflict) {
                      if (attempt + 1 >= options_.max_update_retries) {
                        return ReplyStatus(*call, 409, "Conflict", fmt::format("the {} kept changing; not bound", Noun(*call->info)));
                      }
                      return Bind(call, attempt + 1);  // e.g. a status update raced: bind again
                    }
                    ReplyStatus(*call, 201, "", "");
                  });
  });
}

}  // namespace ksim::apiserver
