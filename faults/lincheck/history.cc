#include "faults/lincheck/history.h"

#include <fmt/format.h>

#include <map>
#include <optional>

#include "faults/lincheck/edn.h"

namespace ksim::lincheck {
namespace {

enum class Format : uint8_t { kEdn, kJson };
enum class EventType : uint8_t { kInvoke, kOk, kFail, kInfo };

std::string_view Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

// A JSON line is an object whose first key is a string: `{"`; anything else starting with `{`
// is read as EDN, whose keys are keywords.
Format DetectFormat(std::string_view line) {
  size_t k = 1;
  while (k < line.size() && (line[k] == ' ' || line[k] == '\t')) ++k;
  return (k < line.size() && line[k] == '"') ? Format::kJson : Format::kEdn;
}

std::optional<OpKind> OpKindFor(ModelKind model, std::string_view f) {
  if (model == ModelKind::kRegister) {
    if (f == "read") return OpKind::kRead;
    if (f == "write") return OpKind::kWrite;
    if (f == "cas") return OpKind::kCas;
  } else {
    if (f == "get") return OpKind::kGet;
    if (f == "put") return OpKind::kPut;
    if (f == "append") return OpKind::kAppend;
  }
  return std::nullopt;
}

bool IsObservation(OpKind k) { return k == OpKind::kRead || k == OpKind::kGet; }

// Validates one history's lines and pairs invokes with completions.
class Builder {
 public:
  Builder(std::string_view file_name, ModelKind model, const ParseLimits& limits, History* out)
      : file_(file_name), model_(model), limits_(limits), out_(out) {}

  Status Line(int64_t line_no, std::string_view raw) {
    line_ = line_no;
    if (raw.size() > limits_.max_line_bytes) {
      return Error(fmt::format("line is longer than {} bytes", limits_.max_line_bytes));
    }
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == ';') return Status::Ok();
    if (++out_->stats.events > limits_.max_events) {
      return Error(fmt::format("more than {} events (the limit; raise it with --max-events)", limits_.max_events));
    }
    format_ = line.front() == '{' ? DetectFormat(line) : Format::kEdn;
    DatumMap fields;
    Status parsed = format_ == Format::kJson ? ParseJsonLine(line, &fields) : ParseEdnLine(line, &fields);
    if (!parsed.ok()) return Error(parsed.message());
    return Event(fields, std::string(line));
  }

  Status Finish() {
    // An invoke that never completed is indeterminate, exactly like :info.
    for (const auto& entry : open_) {
      pending_[entry.second].indefinite = true;
      ++out_->stats.pending;
    }
    open_.clear();
    for (size_t k = 0; k < pending_.size(); ++k) {
      Operation& op = pending_[k];
      if (dropped_[k]) continue;
      // An indeterminate read observed nothing and changed nothing: no constraint at all.
      if (op.indefinite && IsObservation(op.kind)) {
        ++out_->stats.dropped_reads;
        continue;
      }
      out_->ops.push_back(std::move(op));
    }
    return Status::Ok();
  }

 private:
  Status Error(const std::string& reason) const {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", file_, line_, reason));
  }
  std::string FieldName(std::string_view name) const {
    return format_ == Format::kJson ? fmt::format("\"{}\"", name) : fmt::format(":{}", name);
  }
  std::string Show(const Datum& d) const { return format_ == Format::kJson ? FormatJson(d) : FormatEdn(d); }
  Status FieldError(std::string_view field, const std::string& reason) const {
    return Error(fmt::format("field {}: {}", FieldName(field), reason));
  }
  // A name such as :invoke is a keyword in EDN and a string in JSON.
  std::optional<std::string> AsName(const Datum& d) const {
    if (format_ == Format::kEdn && d.kind == Datum::Kind::kKeyword) return d.s;
    if (format_ == Format::kJson && d.kind == Datum::Kind::kString) return d.s;
    return std::nullopt;
  }
  std::string NameLiteral(std::string_view name) const {
    return format_ == Format::kJson ? fmt::format("\"{}\"", name) : fmt::format(":{}", name);
  }

  static const Datum* Find(const DatumMap& fields, std::string_view name) {
    for (const auto& [k, v] : fields) {
      if (k == name) return &v;
    }
    return nullptr;
  }

  Status ScalarValue(std::string_view field, const Datum& d, std::string_view what, Value* out) const {
    switch (d.kind) {
      case Datum::Kind::kNil: *out = Value::Nil(); return Status::Ok();
      case Datum::Kind::kInt: *out = Value::Int(d.i); return Status::Ok();
      case Datum::Kind::kString: *out = Value::Str(d.s); return Status::Ok();
      default: return FieldError(field, fmt::format("expected {}, got {}", what, Show(d)));
    }
  }

  Status Event(const DatumMap& fields, std::string text) {
    // :process
    const Datum* process = Find(fields, "process");
    if (!process) return FieldError("process", "missing");
    if (auto name = AsName(*process); name && *name == "nemesis") {
      ++out_->stats.nemesis;  // fault injection events carry no operation on the model
      return Status::Ok();
    }
    if (process->kind != Datum::Kind::kInt || process->i < 0) {
      return FieldError("process", fmt::format("expected a non-negative integer or {}, got {}",
                                               NameLiteral("nemesis"), Show(*process)));
    }
    const int64_t p = process->i;
    // :type
    const Datum* type_datum = Find(fields, "type");
    if (!type_datum) return FieldError("type", "missing");
    const std::optional<std::string> type_name = AsName(*type_datum);
    EventType type;
    if (type_name == "invoke") type = EventType::kInvoke;
    else if (type_name == "ok") type = EventType::kOk;
    else if (type_name == "fail") type = EventType::kFail;
    else if (type_name == "info") type = EventType::kInfo;
    else {
      return FieldError("type", fmt::format("expected {}, {}, {} or {}, got {}", NameLiteral("invoke"),
                                            NameLiteral("ok"), NameLiteral("fail"), NameLiteral("info"),
                                            Show(*type_datum)));
    }
    // :f
    const Datum* f_datum = Find(fields, "f");
    if (!f_datum) return FieldError("f", "missing");
    const std::optional<std::string> f_name = AsName(*f_datum);
    std::optional<OpKind> kind = f_name ? OpKindFor(model_, *f_name) : std::nullopt;
    if (!kind) {
      const bool reg = model_ == ModelKind::kRegister;
      return FieldError("f", fmt::format("the {} model has {}, {} and {}; got {}", ModelName(model_),
                                         NameLiteral(reg ? "read" : "get"), NameLiteral(reg ? "write" : "put"),
                                         NameLiteral(reg ? "cas" : "append"), Show(*f_datum)));
    }
    // :key
    const Datum* key_datum = Find(fields, "key");
    std::optional<Value> key;
    if (model_ == ModelKind::kRegister) {
      if (key_datum) return FieldError("key", "the register model has no keys (use --model kv for a key/value map)");
    } else if (key_datum) {
      if (key_datum->kind != Datum::Kind::kString && key_datum->kind != Datum::Kind::kInt) {
        return FieldError("key", fmt::format("expected a string or integer key, got {}", Show(*key_datum)));
      }
      Value k;
      if (Status s = ScalarValue("key", *key_datum, "a string or integer key", &k); !s.ok()) return s;
      key = std::move(k);
    }
    const Datum* value = Find(fields, "value");

    auto open = open_.find(p);
    if (type == EventType::kInvoke) {
      if (open != open_.end()) {
        return Error(fmt::format("process {} invoked {} while its {} from line {} has not completed (a process "
                                 "has at most one operation in flight)",
                                 p, Show(*f_datum), OpKindName(pending_[open->second].kind),
                                 pending_[open->second].invoke_line));
      }
      if (auto crashed = crashed_.find(p); crashed != crashed_.end()) {
        return Error(fmt::format("process {} is used again after its :info at line {} (after an indeterminate "
                                 "operation Jepsen gives the client a new process id)",
                                 p, crashed->second));
      }
      Operation op;
      op.process = p;
      op.kind = *kind;
      op.invoke_line = line_;
      op.invoke_text = std::move(text);
      if (model_ == ModelKind::kKv) {
        if (!key) return FieldError("key", "missing (every kv operation names its key)");
        op.key = *key;
      }
      switch (*kind) {
        case OpKind::kRead:
        case OpKind::kGet:
          break;  // the invoke's :value of a read is ignored; the result comes from the :ok
        case OpKind::kWrite:
        case OpKind::kPut:
          if (!value) return FieldError("value", fmt::format("missing (a {} needs a value)", OpKindName(*kind)));
          if (Status s = ScalarValue("value", *value, "nil, an integer or a string", &op.arg); !s.ok()) return s;
          break;
        case OpKind::kAppend:
          if (!value) return FieldError("value", "missing (an append needs a string)");
          if (value->kind != Datum::Kind::kString) {
            return FieldError("value", fmt::format("expected a string to append, got {}", Show(*value)));
          }
          op.arg = Value::Str(value->s);
          break;
        case OpKind::kCas:
          if (!value) return FieldError("value", "missing (a cas needs [expected new])");
          if (value->kind != Datum::Kind::kVector || value->items.size() != 2) {
            return FieldError("value", fmt::format("expected [expected new], got {}", Show(*value)));
          }
          if (Status s = ScalarValue("value", value->items[0], "nil, an integer or a string as expected value",
                                     &op.arg);
              !s.ok()) {
            return s;
          }
          if (Status s = ScalarValue("value", value->items[1], "nil, an integer or a string as new value", &op.arg2);
              !s.ok()) {
            return s;
          }
          break;
      }
      open_[p] = pending_.size();
      pending_.push_back(std::move(op));
      dropped_.push_back(false);
      return Status::Ok();
    }

    // A completion.
    if (open == open_.end()) {
      return Error(fmt::format("{} completion for process {} without a matching invoke", Show(*type_datum), p));
    }
    const size_t index = open->second;
    Operation& op = pending_[index];
    if (op.kind != *kind) {
      return FieldError("f", fmt::format("the completion says {} but process {} invoked {} at line {}", Show(*f_datum),
                                         p, OpKindName(op.kind), op.invoke_line));
    }
    if (key && *key != op.key) {
      return FieldError("key", fmt::format("the completion names key {} but process {} invoked it on {} at line {}",
                                           Show(*key_datum), p, FormatValue(op.key), op.invoke_line));
    }
    open_.erase(open);
    op.complete_line = line_;
    op.complete_text = std::move(text);
    switch (type) {
      case EventType::kOk:
        ++out_->stats.ok;
        if (IsObservation(op.kind)) {
          if (!value) return FieldError("value", fmt::format("missing (an :ok {} needs the value it returned)",
                                                             OpKindName(op.kind)));
          if (Status s = ScalarValue("value", *value, "nil, an integer or a string", &op.result); !s.ok()) return s;
        }
        break;
      case EventType::kFail:
        ++out_->stats.failed;
        dropped_[index] = true;  // it did not happen
        break;
      case EventType::kInfo:
        ++out_->stats.info;
        op.indefinite = true;
        crashed_[p] = line_;
        break;
      case EventType::kInvoke:
        break;
    }
    return Status::Ok();
  }

  std::string_view file_;
  ModelKind model_;
  ParseLimits limits_;
  History* out_;
  int64_t line_ = 0;
  Format format_ = Format::kEdn;
  std::vector<Operation> pending_;      // every invoked operation, in invoke order
  std::vector<bool> dropped_;           // parallel to pending_: completed :fail
  std::map<int64_t, size_t> open_;      // process -> index in pending_ of its open operation
  std::map<int64_t, int64_t> crashed_;  // process -> line of its :info
};

}  // namespace

std::string_view ModelName(ModelKind m) { return m == ModelKind::kRegister ? "register" : "kv"; }

Status ParseModelName(std::string_view name, ModelKind* out) {
  if (name == "register") {
    *out = ModelKind::kRegister;
  } else if (name == "kv") {
    *out = ModelKind::kKv;
  } else {
    return Status::InvalidArgument(fmt::format("unknown model '{}' (expected register or kv)", name));
  }
  return Status::Ok();
}

std::string FormatValue(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNil: return "nil";
    case Value::Kind::kInt: return std::to_string(v.i);
    case Value::Kind::kString: return FormatEdn(Datum::String(v.s));
  }
  return "nil";
}

std::string_view OpKindName(OpKind k) {
  switch (k) {
    case OpKind::kRead: return "read";
    case OpKind::kWrite: return "write";
    case OpKind::kCas: return "cas";
    case OpKind::kGet: return "get";
    case OpKind::kPut: return "put";
    case OpKind::kAppend: return "append";
  }
  return "?";
}

Status ParseHistory(std::string_view text, std::string_view file_name, ModelKind model, const ParseLimits& limits,
                    History* out) {
  *out = History{};
  out->model = model;
  Builder builder(file_name, model, limits, out);
  int64_t line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    ++line_no;
    if (Status s = builder.Line(line_no, text.substr(start, nl - start)); !s.ok()) {
      *out = History{};
      return s;
    }
    start = nl + 1;
  }
  return builder.Finish();
}

OpLines OpEventLines(ModelKind model, const Operation& op) {
  OpLines lines;
  if (!op.invoke_text.empty()) {
    lines.invoke = op.invoke_text;
    lines.complete = op.complete_text;
    return lines;
  }
  const std::string key = model == ModelKind::kKv ? ", :key " + FormatValue(op.key) : "";
  const std::string f(OpKindName(op.kind));
  std::string args;
  switch (op.kind) {
    case OpKind::kRead:
    case OpKind::kGet: args = "nil"; break;
    case OpKind::kCas: args = "[" + FormatValue(op.arg) + " " + FormatValue(op.arg2) + "]"; break;
    default: args = FormatValue(op.arg);
  }
  lines.invoke = fmt::format("{{:process {}, :type :invoke, :f :{}{}, :value {}}}", op.process, f, key, args);
  if (op.complete_line == 0 && op.indefinite) return lines;
  const bool read = IsObservation(op.kind);
  lines.complete = fmt::format("{{:process {}, :type {}, :f :{}{}, :value {}}}", op.process,
                               op.indefinite ? ":info" : ":ok", f, key, read ? FormatValue(op.result) : args);
  return lines;
}

std::string DescribeOp(ModelKind model, const Operation& op) {
  std::string what = fmt::format("p{} {}", op.process, OpKindName(op.kind));
  if (model == ModelKind::kKv) what += " " + FormatValue(op.key);
  switch (op.kind) {
    case OpKind::kRead:
    case OpKind::kGet: what += " -> " + FormatValue(op.result); break;
    case OpKind::kCas: what += fmt::format(" [{} {}]", FormatValue(op.arg), FormatValue(op.arg2)); break;
    default: what += " " + FormatValue(op.arg);
  }
  if (op.indefinite) {
    if (op.complete_line > 0) return what + fmt::format(" (line {}, :info at line {})", op.invoke_line, op.complete_line);
    return what + fmt::format(" (line {}, never completed)", op.invoke_line);
  }
  return what + fmt::format(" (lines {}-{})", op.invoke_line, op.complete_line);
}

}  // namespace ksim::lincheck

namespace ksim::lincheck {

Status ParseInitialValue(std::string_view text, Value* out) {
  // The value is read as the one value of a one-field EDN map, with the reader's own errors.
  DatumMap fields;
  const std::string line = "{:value " + std::string(text) + "}";
  if (Status s = ParseEdnLine(line, &fields); !s.ok() || fields.size() != 1) {
    return Status::InvalidArgument(
        fmt::format("expected nil, an integer or a string (EDN, e.g. '\"\"'), got {}", text));
  }
  const Datum& d = fields[0].second;
  switch (d.kind) {
    case Datum::Kind::kNil: *out = Value::Nil(); return Status::Ok();
    case Datum::Kind::kInt: *out = Value::Int(d.i); return Status::Ok();
    case Datum::Kind::kString: *out = Value::Str(d.s); return Status::Ok();
    default:
      return Status::InvalidArgument(
          fmt::format("expected nil, an integer or a string (EDN, e.g. '\"\"'), got {}", text));
  }
}

}  // namespace ksim::lincheck
