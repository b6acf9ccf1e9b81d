#include "cluster/dns/message.h"

#include <utility>

namespace ksim::dns {

namespace {

constexpr int kMaxPointerJumps = 64;

void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}

void Put32(std::string* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v & 0xffff));
}

Status PutName(std::string* out, std::string_view name) {
  size_t wire = 1;
  while (!name.empty()) {
    const size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty()) return Status::InvalidArgument("name: empty label");
    if (label.size() > kMaxLabelBytes) return Status::InvalidArgument("name: label over 63 bytes");
    wire += 1 + label.size();
    if (wire > kMaxNameBytes) return Status::InvalidArgument("name: over 255 bytes");
    out->push_back(static_cast<char>(label.size()));
    out->append(label);
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
    if (dot != std::string_view::npos && name.empty()) return Status::InvalidArgument("name: ends with a dot");
  }
  out->push_back('\0');
  return Status::Ok();
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  size_t pos() const { return pos_; }
  size_t left() const { return bytes_.size() - pos_; }
  Status U16(uint16_t* v, const char* what) {
    if (left() < 2) return Short(what);
    *v = static_cast<uint16_t>((Byte(pos_) << 8) | Byte(pos_ + 1));
    pos_ += 2;
    return Status::Ok();
  }
  Status U32(uint32_t* v, const char* what) {
    uint16_t hi = 0;
    uint16_t lo = 0;
    if (Status s = U16(&hi, what); !s.ok()) return s;
    if (Status s = U16(&lo, what); !s.ok()) return s;
    *v = (uint32_t{hi} << 16) | lo;
    return Status::Ok();
  }
  Status Bytes(size_t n, std::string_view* v, const char* what) {
    if (left() < n) return Short(what);
    *v = bytes_.substr(pos_, n);
    pos_ += n;
    return Status::Ok();
  }
  // A name at the current position; compression pointers must point before where they
  // are read, so following them always ends.
  Status Name(std::string* out, const char* what) {
    out->clear();
    size_t at = pos_;
    size_t wire = 1;
    bool jumped = false;
    int jumps = 0;
    while (true) {
      if (at >= bytes_.size()) return Error(what, at, "name runs past the message");
      const uint8_t len = Byte(at);
      if ((len & 0xc0) == 0xc0) {
        if (at + 1 >= bytes_.size()) return Error(what, at, "truncated compression pointer");
        const size_t target = (static_cast<size_t>(len & 0x3f) << 8) | Byte(at + 1);
        if (target >= at) return Error(what, at, "compression pointer does not point backwards");
        if (++jumps > kMaxPointerJumps) return Error(what, at, "too many compression pointers");
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if ((len & 0xc0) != 0) return Error(what, at, "reserved label type");
      if (len == 0) {
        if (!jumped) pos_ = at + 1;
        return Status::Ok();
      }
      wire += 1 + len;
      if (wire > kMaxNameBytes) return Error(what, at, "name over 255 bytes");
      if (at + 1 + len > bytes_.size()) return Error(what, at, "label runs past the message");
      const std::string_view label = bytes_.substr(at + 1, len);
      if (label.find('.') != std::string_view::npos) return Error(what, at, "label holds a dot");
      if (!out->empty()) out->push_back('.');
      out->append(label);
      at += 1 + len;
    }
  }
  Status Error(const char* what, size_t at, const std::string& why) const {
    return Status::InvalidArgument(std::string("dns message: ") + what + " at byte " + std::to_string(at) + ": " + why);
  }

 private:
  uint8_t Byte(size_t i) const { return static_cast<uint8_t>(bytes_[i]); }
  Status Short(const char* what) const { return Error(what, pos_, "message too short"); }
  std::string_view bytes_;
  size_t pos_ = 0;
};

// Re-encodes the data of types that hold names, expanding compression.
Status ExpandRdata(Reader& r, uint16_t type, size_t rdlength, std::string* out) {
  const size_t end = r.pos() + rdlength;
  std::string name;
  auto name_field = [&](const char* what) -> Status {
    if (Status s = r.Name(&name, what); !s.ok()) return s;
    return PutName(out, name);
  };
  Status s;
  switch (type) {
    case kTypeNS:
    case kTypeCNAME:
    case kTypePTR:
      s = name_field("rdata name");
      break;
    case kTypeSRV: {
      std::string_view fixed;
      s = r.Bytes(6, &fixed, "SRV rdata");
      if (s.ok()) out->append(fixed);
      if (s.ok()) s = name_field("SRV target");
      break;
    }
    case kTypeSOA: {
      s = name_field("SOA mname");
      if (s.ok()) s = name_field("SOA rname");
      std::string_view fixed;
      if (s.ok()) s = r.Bytes(20, &fixed, "SOA rdata");
      if (s.ok()) out->append(fixed);
      break;
    }
    default: {
      std::string_view raw;
      s = r.Bytes(rdlength, &raw, "rdata");
      if (s.ok()) out->assign(raw);
    }
  }
  if (!s.ok()) return s;
  if (r.pos() != end) return r.Error("rdata", r.pos(), "RDLENGTH does not match the data");
  return Status::Ok();
}

Status ReadRecord(Reader& r, ResourceRecord* rr) {
  if (Status s = r.Name(&rr->name, "record name"); !s.ok()) return s;
  uint16_t rdlength = 0;
  if (Status s = r.U16(&rr->type, "record type"); !s.ok()) return s;
  if (Status s = r.U16(&rr->klass, "record class"); !s.ok()) return s;
  if (Status s = r.U32(&rr->ttl, "record ttl"); !s.ok()) return s;
  if (Status s = r.U16(&rdlength, "record rdlength"); !s.ok()) return s;
  if (r.left() < rdlength) return r.Error("rdata", r.pos(), "RDLENGTH runs past the message");
  return ExpandRdata(r, rr->type, rdlength, &rr->rdata);
}

Status PutRecord(std::string* out, const ResourceRecord& rr) {
  if (Status s = PutName(out, rr.name); !s.ok()) return s;
  Put16(out, rr.type);
  Put16(out, rr.klass);
  Put32(out, rr.ttl);
  if (rr.rdata.size() > 0xffff) return Status::InvalidArgument("rdata over 65535 bytes");
  Put16(out, static_cast<uint16_t>(rr.rdata.size()));
  out->append(rr.rdata);
  return Status::Ok();
}

}  // namespace

Status Decode(std::string_view bytes, Message* out) {
  if (bytes.size() > kMaxMessageBytes) return Status::InvalidArgument("dns message: over 65535 bytes");
  Reader r(bytes);
  *out = Message();
  uint16_t flags = 0;
  uint16_t counts[4] = {0, 0, 0, 0};
  if (Status s = r.U16(&out->id, "header"); !s.ok()) return s;
  if (Status s = r.U16(&flags, "header"); !s.ok()) return s;
  for (uint16_t& c : counts) {
    if (Status s = r.U16(&c, "header"); !s.ok()) return s;
  }
  out->response = (flags & 0x8000) != 0;
  out->opcode = static_cast<uint8_t>((flags >> 11) & 0xf);
  out->authoritative = (flags & 0x0400) != 0;
  out->truncated = (flags & 0x0200) != 0;
  out->recursion_desired = (flags & 0x0100) != 0;
  out->recursion_available = (flags & 0x0080) != 0;
  out->rcode = static_cast<uint8_t>(flags & 0xf);
  if (size_t{counts[0]} + counts[1] + counts[2] + counts[3] > kMaxRecords) {
    return Status::InvalidArgument("dns message: more than 4096 questions and records");
  }
  for (uint16_t i = 0; i < counts[0]; ++i) {
    Question q;
    if (Status s = r.Name(&q.name, "question name"); !s.ok()) return s;
    if (Status s = r.U16(&q.type, "question type"); !s.ok()) return s;
    if (Status s = r.U16(&q.klass, "question class"); !s.ok()) return s;
    out->questions.push_back(std::move(q));
  }
  std::vector<ResourceRecord>* sections[3] = {&out->answers, &out->authority, &out->additional};
  for (int k = 0; k < 3; ++k) {
    for (uint16_t i = 0; i < counts[k + 1]; ++i) {
      ResourceRecord rr;
      if (Status s = ReadRecord(r, &rr); !s.ok()) return s;
      sections[k]->push_back(std::move(rr));
    }
  }
  if (r.left() != 0) return r.Error("message", r.pos(), "trailing bytes");
  return Status::Ok();
}

Status Encode(const Message& m, std::string* out) {
  out->clear();
  const size_t records = m.questions.size() + m.answers.size() + m.authority.size() + m.additional.size();
  if (records > kMaxRecords) return Status::InvalidArgument("dns message: more than 4096 questions and records");
  Put16(out, m.id);
  uint16_t flags = static_cast<uint16_t>((m.response ? 0x8000 : 0) | ((m.opcode & 0xf) << 11) |
                                         (m.authoritative ? 0x0400 : 0) | (m.truncated ? 0x0200 : 0) |
                                         (m.recursion_desired ? 0x0100 : 0) | (m.recursion_available ? 0x0080 : 0) |
                                         (m.rcode & 0xf));
  Put16(out, flags);
  Put16(out, static_cast<uint16_t>(m.questions.size()));
  Put16(out, static_cast<uint16_t>(m.answers.size()));
  Put16(out, static_cast<uint16_t>(m.authority.size()));
  Put16(out, static_cast<uint16_t>(m.additional.size()));
  for (const Question& q : m.questions) {
    if (Status s = PutName(out, q.name); !s.ok()) return s;
    Put16(out, q.type);
    Put16(out, q.klass);
  }
  for (const auto* section : {&m.answers, &m.authority, &m.additional}) {
    for (const ResourceRecord& rr : *section) {
      if (Status s = PutRecord(out, rr); !s.ok()) return s;
    }
  }
  if (out->size() > kMaxMessageBytes) return Status::InvalidArgument("dns message: over 65535 bytes");
  return Status::Ok();
}

ResourceRecord MakeA(const std::string& name, uint32_t ip, uint32_t ttl) {
  ResourceRecord rr{name, kTypeA, kClassIN, ttl, {}};
  Put32(&rr.rdata, ip);
  return rr;
}

ResourceRecord MakeCname(const std::string& name, const std::string& target, uint32_t ttl) {
  ResourceRecord rr{name, kTypeCNAME, kClassIN, ttl, {}};
  (void)PutName(&rr.rdata, target);
  return rr;
}

ResourceRecord MakeSrv(const std::string& name, uint16_t priority, uint16_t weight, uint16_t port,
                       const std::string& target, uint32_t ttl) {
  ResourceRecord rr{name, kTypeSRV, kClassIN, ttl, {}};
  Put16(&rr.rdata, priority);
  Put16(&rr.rdata, weight);
  Put16(&rr.rdata, port);
  (void)PutName(&rr.rdata, target);
  return rr;
}

ResourceRecord MakeSoa(const std::string& zone, uint32_t serial, uint32_t minimum_ttl, uint32_t ttl) {
  ResourceRecord rr{zone, kTypeSOA, kClassIN, ttl, {}};
  (void)PutName(&rr.rdata, "ns.dns." + zone);
  (void)PutName(&rr.rdata, "hostmaster." + zone);
  Put32(&rr.rdata, serial);
  Put32(&rr.rdata, 7200);   // refresh
  Put32(&rr.rdata, 1800);   // retry
  Put32(&rr.rdata, 86400);  // expire
  Put32(&rr.rdata, minimum_ttl);
  return rr;
}

std::optional<uint32_t> ReadA(const ResourceRecord& rr) {
  if (rr.type != kTypeA || rr.rdata.size() != 4) return std::nullopt;
  uint32_t ip = 0;
  for (char c : rr.rdata) ip = (ip << 8) | static_cast<uint8_t>(c);
  return ip;
}

std::optional<Srv> ReadSrv(const ResourceRecord& rr) {
  if (rr.type != kTypeSRV || rr.rdata.size() < 7) return std::nullopt;
  Reader r(rr.rdata);
  Srv srv;
  if (!r.U16(&srv.priority, "srv").ok() || !r.U16(&srv.weight, "srv").ok() || !r.U16(&srv.port, "srv").ok() ||
      !r.Name(&srv.target, "srv").ok() || r.left() != 0) {
    return std::nullopt;
  }
  return srv;
}

std::optional<std::string> ReadCname(const ResourceRecord& rr) {
  if (rr.type != kTypeCNAME) return std::nullopt;
  Reader r(rr.rdata);
  std::string name;
  if (!r.Name(&name, "cname").ok() || r.left() != 0) return std::nullopt;
  return name;
}

std::string Lower(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace ksim::dns
