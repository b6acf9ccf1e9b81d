// Validation shared by every kind: ObjectMeta, labels, selectors, quantities.
#include <google/protobuf/util/message_differencer.h>

#include <set>

#include "cluster/api/machinery/quantity.h"
#include "cluster/apiserver/strategy/validation.h"

namespace ksim::apiserver {
namespace {

constexpr int64_t kTotalAnnotationSizeLimit = 256 * 1024;

bool IsStandardFinalizer(std::string_view name) {
  return name == "kubernetes" || name == "orphan" || name == "foregroundDeletion";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool SameTimestamp(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() == b.seconds() && a.nanos() == b.nanos();
}

}  // namespace

void ValidateLabelName(std::string_view key, const Path& path, Errors& errs) {
  errs.InvalidEach(path, key, IsQualifiedName(key));
}

void ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels, const Path& path, Errors& errs) {
  for (const auto& [key, value] : SortedView(labels)) {
    ValidateLabelName(key, path, errs);
    errs.InvalidEach(path, value, IsValidLabelValue(value));
  }
}

void ValidateObjectMeta(const api::ObjectMeta& meta, bool namespaced, NameRule name_rule, const Path& path,
                        Errors& errs) {
  if (!meta.generate_name().empty()) {
    errs.InvalidEach(path.Child("generateName"), meta.generate_name(), name_rule(meta.generate_name(), true));
  }
  if (meta.name().empty()) {
    if (meta.generate_name().empty()) errs.Required(path.Child("name"), "name or generateName is required");
  } else {
    errs.InvalidEach(path.Child("name"), meta.name(), name_rule(meta.name(), false));
  }
  if (namespaced) {
    if (meta.namespace_().empty()) {
      errs.Required(path.Child("namespace"));
    } else {
      errs.InvalidEach(path.Child("namespace"), meta.namespace_(), IsDNS1123Label(meta.namespace_()));
    }
  } else if (!meta.namespace_().empty()) {
    errs.Forbidden(path.Child("namespace"), "not allowed on this type");
  }
  ValidateNonNegative(meta.generation(), path.Child("generation"), errs);
  ValidateLabels(meta.labels(), path.Child("labels"), errs);

  int64_t annotation_bytes = 0;
  for (const auto& [key, value] : Sorted(meta.annotations())) {
    // Annotation keys are qualified names in any case.
    for (const std::string& m : IsQualifiedName(Lower(key))) errs.Invalid(path.Child("annotations"), key, m);
    annotation_bytes += static_cast<int64_t>(key.size() + value.size());
  }
  if (annotation_bytes > kTotalAnnotationSizeLimit) errs.TooLong(path.Child("annotations"), kTotalAnnotationSizeLimit);

  for (int i = 0; i < meta.owner_references_size(); ++i) {
    const api::OwnerReference& ref = meta.owner_references(i);
    const Path ref_path = path.Child("ownerReferences").Index(static_cast<size_t>(i));
    if (ref.api_version().empty()) errs.Invalid(ref_path.Child("apiVersion"), ref.api_version(), "version must not be empty");
    if (ref.kind().empty()) errs.Invalid(ref_path.Child("kind"), ref.kind(), "kind must not be empty");
    if (ref.name().empty()) errs.Invalid(ref_path.Child("name"), ref.name(), "name must not be empty");
    if (ref.uid().empty()) errs.Invalid(ref_path.Child("uid"), ref.uid(), "uid must not be empty");
  }
  int controllers = 0;
  for (const api::OwnerReference& ref : meta.owner_references()) controllers += ref.has_controller() && ref.controller();
  if (controllers > 1) {
    errs.InvalidShown(path.Child("ownerReferences"), std::to_string(controllers) + " controllers",
                      "Only one reference can have Controller set to true");
  }

  for (const std::string& finalizer : meta.finalizers()) {
    const Path fin_path = path.Child("finalizers");
    errs.InvalidEach(fin_path, finalizer, IsQualifiedName(finalizer));
    if (finalizer.find('/') == std::string::npos && !IsStandardFinalizer(finalizer)) {
      errs.Invalid(fin_path, finalizer, "name is neither a standard finalizer name nor is it fully qualified");
    }
  }
}

void ValidateObjectMetaUpdate(const api::ObjectMeta& meta, const api::ObjectMeta& old, const Path& path, Errors& errs) {
  if (meta.name() != old.name()) errs.Invalid(path.Child("name"), meta.name(), kImmutable);
  if (meta.namespace_() != old.namespace_()) errs.Invalid(path.Child("namespace"), meta.namespace_(), kImmutable);
  if (!meta.uid().empty() && meta.uid() != old.uid()) errs.Invalid(path.Child("uid"), meta.uid(), kImmutable);
  if (meta.has_creation_timestamp() && old.has_creation_timestamp() &&
      !SameTimestamp(meta.creation_timestamp(), old.creation_timestamp())) {
    errs.InvalidShown(path.Child("creationTimestamp"), std::to_string(meta.creation_timestamp().seconds()),
                      kImmutable);
  }
}

void ValidateLabelSelector(const api::LabelSelector& selector, const Path& path, Errors& errs) {
  for (int i = 0; i < selector.match_expressions_size(); ++i) {
    const api::LabelSelectorRequirement& r = selector.match_expressions(i);
    const Path rp = path.Child("matchExpressions").Index(static_cast<size_t>(i));
    if (r.operator_() == "In" || r.operator_() == "NotIn") {
      if (r.values().empty()) errs.Required(rp.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (r.operator_() == "Exists" || r.operator_() == "DoesNotExist") {
      if (!r.values().empty()) {
        errs.Forbidden(rp.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      }
    } else {
      errs.Invalid(rp.Child("operator"), r.operator_(), "not a valid selector operator");
    }
    ValidateLabelName(r.key(), rp.Child("key"), errs);
    for (int v = 0; v < r.values_size(); ++v) {
      errs.InvalidEach(rp.Child("values").Index(static_cast<size_t>(v)), r.values(v), IsValidLabelValue(r.values(v)));
    }
  }
  ValidateLabels(selector.match_labels(), path.Child("matchLabels"), errs);
}

bool SelectorEmpty(const api::LabelSelector& selector) {
  return selector.match_labels().empty() && selector.match_expressions().empty();
}

bool SelectorMatches(const api::LabelSelector& selector, const google::protobuf::Map<std::string, std::string>& labels) {
  for (const auto& [key, value] : SortedView(selector.match_labels())) {
    auto it = labels.find(std::string(key));
    if (it == labels.end() || it->second != value) return false;
  }
  for (const api::LabelSelectorRequirement& r : selector.match_expressions()) {
    auto it = labels.find(r.key());
    const bool present = it != labels.end();
    bool listed = false;
    if (present) {
      for (const std::string& v : r.values()) listed = listed || v == it->second;
    }
    if (r.operator_() == "In" && !listed) return false;
    if (r.operator_() == "NotIn" && listed) return false;
    if (r.operator_() == "Exists" && !present) return false;
    if (r.operator_() == "DoesNotExist" && present) return false;
  }
  return true;
}

std::string SelectorString(const api::LabelSelector& selector) {
  std::string out;
  auto add = [&out](const std::string& term) { out += (out.empty() ? "" : ",") + term; };
  for (const auto& [key, value] : Sorted(selector.match_labels())) add(key + "=" + value);
  for (const api::LabelSelectorRequirement& r : selector.match_expressions()) {
    const std::set<std::string> values(r.values().begin(), r.values().end());
    std::string list;
    for (const std::string& v : values) list += (list.empty() ? "" : ",") + v;
    if (r.operator_() == "In") add(r.key() + " in (" + list + ")");
    else if (r.operator_() == "NotIn") add(r.key() + " notin (" + list + ")");
    else if (r.operator_() == "Exists") add(r.key());
    else if (r.operator_() == "DoesNotExist") add("!" + r.key());
    else add(r.key() + " " + r.operator_() + " (" + list + ")");
  }
  return Quote(out);
}

void ValidateNonNegative(int64_t value, const Path& path, Errors& errs) {
  if (value < 0) errs.Invalid(path, value, kNonNegative);
}

bool ParseQuantityField(std::string_view text, const Path& path, Errors& errs, bool allow_negative) {
  api::Quantity q;
  const Status s = api::Quantity::Parse(text, &q);
  if (!s.ok()) {
    errs.Invalid(path, text, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
    return false;
  }
  if (!allow_negative && q.Sign() < 0) {
    errs.Invalid(path, text, kNonNegative);
    return false;
  }
  return true;
}

std::optional<int> CompareQuantities(std::string_view a, std::string_view b) {
  api::Quantity qa;
  api::Quantity qb;
  if (!api::Quantity::Parse(a, &qa).ok() || !api::Quantity::Parse(b, &qb).ok()) return std::nullopt;
  return qa < qb ? -1 : (qa == qb ? 0 : 1);
}

std::string CanonicalQuantity(std::string_view text) {
  api::Quantity q;
  if (!api::Quantity::Parse(text, &q).ok()) return std::string(text);
  return q.String();
}

namespace {

// Keeps the path of the first difference MessageDifferencer reports.
class FirstDifferenceReporter : public google::protobuf::util::MessageDifferencer::Reporter {
 public:
  using SpecificField = google::protobuf::util::MessageDifferencer::SpecificField;

  explicit FirstDifferenceReporter(Path root) : root_(std::move(root)) {}

  void ReportAdded(const google::protobuf::Message&, const google::protobuf::Message&,
                   const std::vector<SpecificField>& fields) override {
    Take(fields);
  }
  void ReportDeleted(const google::protobuf::Message&, const google::protobuf::Message&,
                     const std::vector<SpecificField>& fields) override {
    Take(fields);
  }
  void ReportModified(const google::protobuf::Message&, const google::protobuf::Message&,
                      const std::vector<SpecificField>& fields) override {
    Take(fields);
  }

  const std::optional<std::string>& first() const { return first_; }

 private:
  void Take(const std::vector<SpecificField>& fields) {
    if (first_) return;
    Path p = root_;
    for (size_t i = 0; i < fields.size(); ++i) {
      const google::protobuf::FieldDescriptor* f = fields[i].field;
      if (f == nullptr) break;
      p = p.Child(f->json_name());
      if (f->is_map()) {
        const google::protobuf::Message* entry = fields[i].map_entry1 ? fields[i].map_entry1 : fields[i].map_entry2;
        if (entry != nullptr) {
          const google::protobuf::FieldDescriptor* key = entry->GetDescriptor()->map_key();
          if (key->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
            p = p.Key(entry->GetReflection()->GetString(*entry, key));
          }
        }
        break;  // the entry's own key/value fields add nothing readable
      }
      if (f->is_repeated()) {
        const int index = fields[i].index >= 0 ? fields[i].index : fields[i].new_index;
        if (index >= 0) p = p.Index(static_cast<size_t>(index));
      }
    }
    first_ = p.str();
  }

  Path root_;
  std::optional<std::string> first_;
};

}  // namespace

std::string FirstDifference(const google::protobuf::Message& a, const google::protobuf::Message& b, const Path& path) {
  google::protobuf::util::MessageDifferencer differ;
  FirstDifferenceReporter reporter(path);
  differ.ReportDifferencesTo(&reporter);
  if (differ.Compare(a, b)) return "";
  return reporter.first().value_or(path.str());
}

bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

std::string ImageTag(std::string_view image) {
  const size_t at = image.find('@');
  if (at != std::string_view::npos) image = image.substr(0, at);
  const size_t slash = image.rfind('/');
  const size_t colon = image.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) return "";
  return std::string(image.substr(colon + 1));
}

bool ImageHasDigest(std::string_view image) { return image.find('@') != std::string_view::npos; }

}  // namespace ksim::apiserver
