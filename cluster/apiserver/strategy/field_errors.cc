#include "cluster/apiserver/strategy/field_errors.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace ksim::apiserver {

void Path::Append(std::string_view part) {
  if (long_.empty() && size_ + part.size() <= kInlineBytes) {
    part.copy(inline_ + size_, part.size());
    size_ += part.size();
    return;
  }
  if (long_.empty()) long_.assign(inline_, size_);
  long_.append(part);
}

Path Path::Child(std::string_view name) const {
  Path p = *this;
  if (!view().empty()) p.Append(".");
  p.Append(name);
  return p;
}

Path Path::Index(size_t i) const {
  char digits[24];
  // to_chars, not snprintf: validation makes an index path per list item, and snprintf's
  // format parsing was most of its cost.
  const auto end = std::to_chars(digits, digits + sizeof(digits), i).ptr;
  return Key(std::string_view(digits, static_cast<size_t>(end - digits)));
}

Path Path::Key(std::string_view key) const {
  Path p = *this;
  p.Append("[");
  p.Append(key);
  p.Append("]");
  return p;
}

std::string Quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string GoMap(const std::map<std::string, std::string>& map) {
  std::string out = "map[string]string{";
  bool first = true;
  for (const auto& [k, v] : map) {
    if (!first) out += ", ";
    first = false;
    out += Quote(k) + ":" + Quote(v);
  }
  return out + "}";
}

std::map<std::string, std::string> Sorted(const google::protobuf::Map<std::string, std::string>& map) {
  return std::map<std::string, std::string>(map.begin(), map.end());
}

SortedEntries SortedView(const google::protobuf::Map<std::string, std::string>& map) {
  SortedEntries out(map.begin(), map.end());  // (a protobuf map is never iterated as is)
  std::sort(out.begin(), out.end());  // keys are unique: the order is total
  return out;
}

void Errors::Add(const Path& path, std::string_view reason, std::string body, std::string_view detail) {
  if (!detail.empty()) {
    body += ": ";
    body += detail;
  }
  list_.push_back(FieldError{path.str(), std::string(reason), std::move(body)});
}

void Errors::Required(const Path& path, std::string_view detail) {
  Add(path, "FieldValueRequired", "Required value", detail);
}

void Errors::Invalid(const Path& path, std::string_view value, std::string_view detail) {
  Add(path, "FieldValueInvalid", "Invalid value: " + Quote(value), detail);
}

void Errors::Invalid(const Path& path, int64_t value, std::string_view detail) {
  Add(path, "FieldValueInvalid", "Invalid value: " + std::to_string(value), detail);
}

void Errors::InvalidShown(const Path& path, std::string_view shown, std::string_view detail) {
  Add(path, "FieldValueInvalid", "Invalid value: " + std::string(shown), detail);
}

void Errors::NotSupported(const Path& path, std::string_view value, const std::vector<std::string_view>& supported) {
  std::string detail;
  for (std::string_view s : supported) {
    detail += detail.empty() ? "supported values: " : ", ";
    detail += Quote(s);
  }
  Add(path, "FieldValueNotSupported", "Unsupported value: " + Quote(value), detail);
}

void Errors::Duplicate(const Path& path, std::string_view value) {
  Add(path, "FieldValueDuplicate", "Duplicate value: " + Quote(value), "");
}

void Errors::DuplicateShown(const Path& path, std::string_view shown) {
  Add(path, "FieldValueDuplicate", "Duplicate value: " + std::string(shown), "");
}

void Errors::NotFound(const Path& path, std::string_view value) {
  Add(path, "FieldValueNotFound", "Not found: " + Quote(value), "");
}

void Errors::Forbidden(const Path& path, std::string_view detail) {
  Add(path, "FieldValueForbidden", "Forbidden", detail);
}

void Errors::TooLong(const Path& path, int64_t max_bytes) {
  Add(path, "FieldValueTooLong", "Too long", "must have at most " + std::to_string(max_bytes) + " bytes");
}

void Errors::InvalidEach(const Path& path, std::string_view value, const std::vector<std::string>& messages) {
  for (const std::string& m : messages) Invalid(path, value, m);
}

void Errors::Append(std::vector<FieldError> more) {
  for (FieldError& e : more) list_.push_back(std::move(e));
}

std::string ToString(const FieldError& error) { return error.field + ": " + error.message; }

}  // namespace ksim::apiserver
