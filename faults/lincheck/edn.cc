#include "faults/lincheck/edn.h"

#include <fmt/format.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace ksim::lincheck {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c)) return true;
  switch (c) {
    case '*': case '+': case '!': case '-': case '_': case '?': case '<': case '>': case '=': case '.': case '/':
    case '#': case ':':
      return true;
    default:
      return false;
  }
}
bool IsDelimiter(char c) { return IsSpace(c) || c == ']' || c == '}' || c == '[' || c == '{' || c == ';' || c == '"'; }

// A printable rendering of one input byte for messages.
std::string ShowChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Recursive descent over one line. Every loop advances `pos_` or returns, and recursion is
// bounded by kMaxDepth, so a hostile line cannot run away.
class EdnReader {
 public:
  explicit EdnReader(std::string_view text) : text_(text) {}

  Status ReadLine(DatumMap* out) {
    SkipSpace();
    if (AtEnd() || Peek() != '{') return Error(pos_, AtEnd() ? "expected '{' to start a map, got end of line"
                                                             : "expected '{' to start a map, got " + ShowChar(Peek()));
    ++pos_;
    std::set<std::string> seen;
    out->clear();
    while (true) {
      SkipSpace();
      if (AtEnd()) return Error(pos_, "unterminated map: expected '}'");
      if (Peek() == '}') {
        ++pos_;
        break;
      }
      const size_t key_pos = pos_;
      if (Peek() != ':') return Error(pos_, "expected a keyword key such as :type, got " + ShowChar(Peek()));
      Datum key;
      if (Status s = ReadKeyword(&key); !s.ok()) return s;
      if (!seen.insert(key.s).second) return Error(key_pos, "duplicate key :" + key.s);
      SkipSpace();
      if (AtEnd() || Peek() == '}') return Error(pos_, "key :" + key.s + " has no value");
      Datum value;
      if (Status s = ReadValue(0, &value); !s.ok()) return s;
      out->emplace_back(key.s, std::move(value));
    }
    SkipSpace();
    if (!AtEnd()) return Error(pos_, "unexpected " + ShowChar(Peek()) + " after the map (one map per line)");
    return Status::Ok();
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  Status Error(size_t pos, const std::string& reason) const {
    return Status::InvalidArgument(fmt::format("column {}: {}", pos + 1, reason));
  }

  // Whitespace, commas and a trailing ';' comment.
  void SkipSpace() {
    while (!AtEnd()) {
      if (IsSpace(Peek())) {
        ++pos_;
      } else if (Peek() == ';') {
        pos_ = text_.size();
      } else {
        return;
      }
    }
  }

  // `depth` counts the vectors around the value.
  Status ReadValue(int depth, Datum* out) {
    const char c = Peek();
    if (c == '"') return ReadString(out);
    if (c == ':') return ReadKeyword(out);
    if (c == '[') return ReadVector(depth, out);
    if (IsDigit(c) || ((c == '-' || c == '+') && pos_ + 1 < text_.size() && IsDigit(text_[pos_ + 1]))) {
      return ReadInteger(out);
    }
    if (c == '{') return Error(pos_, "nested maps are not supported");
    if (c == '(') return Error(pos_, "lists are not supported (use a vector [...])");
    if (c == '#') return Error(pos_, "sets and tagged elements are not supported");
    if (c == '\\') return Error(pos_, "characters are not supported (use a string)");
    if (IsNameChar(c)) {
      const size_t start = pos_;
      while (!AtEnd() && IsNameChar(Peek())) ++pos_;
      const std::string_view sym = text_.substr(start, pos_ - start);
      if (sym == "nil" && (AtEnd() || IsDelimiter(Peek()))) {
        *out = Datum::Nil();
        return Status::Ok();
      }
      return Error(start, fmt::format("unsupported symbol '{}' (values are nil, integers, strings, keywords and "
                                      "vectors)",
                                      sym));
    }
    return Error(pos_, "unexpected " + ShowChar(c));
  }

  Status ReadKeyword(Datum* out) {
    const size_t start = pos_;
    ++pos_;  // ':'
    const size_t name_start = pos_;
    while (!AtEnd() && IsNameChar(Peek()) && Peek() != ':') ++pos_;
    if (pos_ == name_start) return Error(start, "empty keyword");
    if (!AtEnd() && !IsDelimiter(Peek())) return Error(pos_, "unexpected " + ShowChar(Peek()) + " in a keyword");
    *out = Datum::Keyword(std::string(text_.substr(name_start, pos_ - name_start)));
    return Status::Ok();
  }

  Status ReadInteger(Datum* out) {
    const size_t start = pos_;
    bool negative = false;
    if (Peek() == '-' || Peek() == '+') {
      negative = Peek() == '-';
      ++pos_;
    }
    const size_t digits_start = pos_;
    // Accumulate as a negative number so INT64_MIN parses without overflow.
    int64_t value = 0;
    bool overflow = false;
    while (!AtEnd() && IsDigit(Peek())) {
      const int digit = Peek() - '0';
      if (value < (std::numeric_limits<int64_t>::min() + digit) / 10) overflow = true;
      if (!overflow) value = value * 10 - digit;
      ++pos_;
    }
    if (pos_ - digits_start > 1 && text_[digits_start] == '0') return Error(start, "integers may not have leading zeros");
    if (!AtEnd() && !IsDelimiter(Peek())) {
      if (Peek() == '.' || Peek() == 'e' || Peek() == 'E' || Peek() == 'M') {
        return Error(start, "floating-point numbers are not supported");
      }
      if (Peek() == 'N') return Error(start, "big integers (N suffix) are not supported");
      return Error(pos_, "unexpected " + ShowChar(Peek()) + " in an integer");
    }
    if (!negative) {
      if (value == std::numeric_limits<int64_t>::min()) overflow = true;
      value = -value;
    }
    if (overflow) return Error(start, "integer does not fit in 64 bits");
    *out = Datum::Int(value);
    return Status::Ok();
  }

  Status ReadString(Datum* out) {
    const size_t start = pos_;
    ++pos_;
    std::string s;
    while (true) {
      if (AtEnd()) return Error(start, "unterminated string");
      const char c = Peek();
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c != '\\') {
        s.push_back(c);
        ++pos_;
        continue;
      }
      const size_t esc = pos_;
      ++pos_;
      if (AtEnd()) return Error(start, "unterminated string");
      const char e = Peek();
      ++pos_;
      switch (e) {
        case '"': s.push_back('"'); break;
        case '\\': s.push_back('\\'); break;
        case 'n': s.push_back('\n'); break;
        case 't': s.push_back('\t'); break;
        case 'r': s.push_back('\r'); break;
        case 'b': s.push_back('\b'); break;
        case 'f': s.push_back('\f'); break;
        case 'u': {
          if (pos_ + 4 > text_.size()) return Error(esc, "\\u needs four hex digits");
          uint32_t cp = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = text_[pos_ + static_cast<size_t>(k)];
            uint32_t v = 0;
            if (h >= '0' && h <= '9') v = static_cast<uint32_t>(h - '0');
            else if (h >= 'a' && h <= 'f') v = static_cast<uint32_t>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') v = static_cast<uint32_t>(h - 'A' + 10);
            else return Error(esc, "\\u needs four hex digits");
            cp = cp * 16 + v;
          }
          pos_ += 4;
          AppendUtf8(cp, &s);
          break;
        }
        default:
          return Error(esc, "unknown escape \\" + std::string(1, e) + " in a string");
      }
    }
    *out = Datum::String(std::move(s));
    return Status::Ok();
  }

  Status ReadVector(int depth, Datum* out) {
    const size_t start = pos_;
    if (depth >= kMaxDepth) return Error(start, fmt::format("vectors nested deeper than {}", kMaxDepth));
    ++pos_;
    Datum v;
    v.kind = Datum::Kind::kVector;
    while (true) {
      SkipSpace();
      if (AtEnd()) return Error(start, "unterminated vector: expected ']'");
      if (Peek() == ']') {
        ++pos_;
        break;
      }
      Datum item;
      if (Status s = ReadValue(depth + 1, &item); !s.ok()) return s;
      v.items.push_back(std::move(item));
    }
    *out = std::move(v);
    return Status::Ok();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

using Json = nlohmann::ordered_json;

Status JsonToDatum(const Json& j, int depth, const std::string& where, Datum* out) {
  switch (j.type()) {
    case Json::value_t::null:
      *out = Datum::Nil();
      return Status::Ok();
    case Json::value_t::number_integer:
      *out = Datum::Int(j.get<int64_t>());
      return Status::Ok();
    case Json::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Status::InvalidArgument("json: " + where + ": integer does not fit in 64 bits");
      }
      *out = Datum::Int(static_cast<int64_t>(u));
      return Status::Ok();
    }
    case Json::value_t::string:
      *out = Datum::String(j.get<std::string>());
      return Status::Ok();
    case Json::value_t::array: {
      if (depth >= kMaxDepth) {
        return Status::InvalidArgument(fmt::format("json: {}: arrays nested deeper than {}", where, kMaxDepth));
      }
      Datum v;
      v.kind = Datum::Kind::kVector;
      for (const Json& item : j) {
        Datum d;
        if (Status s = JsonToDatum(item, depth + 1, where, &d); !s.ok()) return s;
        v.items.push_back(std::move(d));
      }
      *out = std::move(v);
      return Status::Ok();
    }
    case Json::value_t::number_float:
      return Status::InvalidArgument("json: " + where + ": floating-point numbers are not supported");
    case Json::value_t::boolean:
      return Status::InvalidArgument("json: " + where + ": booleans are not supported");
    case Json::value_t::object:
      return Status::InvalidArgument("json: " + where + ": nested objects are not supported");
    default:
      return Status::InvalidArgument("json: " + where + ": unsupported value");
  }
}

// EDN and JSON share these escapes; other bytes (including UTF-8) are written as they are.
std::string EscapeString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

Status ParseEdnLine(std::string_view line, DatumMap* out) { return EdnReader(line).ReadLine(out); }

Status ParseJsonLine(std::string_view line, DatumMap* out) {
  Json j;
  // nlohmann reports syntax errors by exception; they are caught here so that none escapes
  // the library. Duplicate keys would silently keep the last value, so the callback rejects them.
  std::set<std::string> seen;
  std::string duplicate;
  const Json::parser_callback_t on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  try {
    j = Json::parse(line.begin(), line.end(), on_event, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    // what() reads "[json.exception.parse_error.101] parse error at line 1, column 14: syntax error
    // while parsing ..."; keep the reason, not the library's prefix.
    const std::string what = e.what();
    const size_t reason = what.find(": syntax error");
    return Status::InvalidArgument(fmt::format("json: column {}: {}", e.byte,
                                               reason == std::string::npos ? "syntax error" : what.substr(reason + 2)));
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("json: ") + e.what());
  }
  if (!duplicate.empty()) return Status::InvalidArgument("json: duplicate key \"" + duplicate + "\"");
  if (!j.is_object()) return Status::InvalidArgument("json: expected one object per line");
  out->clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    Datum d;
    if (Status s = JsonToDatum(it.value(), 0, "field \"" + it.key() + "\"", &d); !s.ok()) return s;
    out->emplace_back(it.key(), std::move(d));
  }
  return Status::Ok();
}

std::string FormatEdn(const Datum& d) {
  switch (d.kind) {
    case Datum::Kind::kNil: return "nil";
    case Datum::Kind::kInt: return std::to_string(d.i);
    case Datum::Kind::kString: return EscapeString(d.s);
    case Datum::Kind::kKeyword: return ":" + d.s;
    case Datum::Kind::kVector: {
      std::string out = "[";
      for (size_t k = 0; k < d.items.size(); ++k) {
        if (k) out += " ";
        out += FormatEdn(d.items[k]);
      }
      return out + "]";
    }
  }
  return "nil";
}

std::string FormatJson(const Datum& d) {
  switch (d.kind) {
    case Datum::Kind::kNil: return "null";
    case Datum::Kind::kInt: return std::to_string(d.i);
    case Datum::Kind::kString:
    case Datum::Kind::kKeyword: return EscapeString(d.s);
    case Datum::Kind::kVector: {
      std::string out = "[";
      for (size_t k = 0; k < d.items.size(); ++k) {
        if (k) out += ",";
        out += FormatJson(d.items[k]);
      }
      return out + "]";
    }
  }
  return "null";
}

}  // namespace ksim::lincheck
