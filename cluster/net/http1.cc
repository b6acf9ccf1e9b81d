#include "cluster/net/http1.h"

#include <cctype>

namespace ksim::http1 {
namespace {

// RFC 9110 tchar: the characters of a method or a header name.
bool IsTokenChar(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Field values: visible characters, spaces and tabs (obs-text allowed); no CR, LF, NUL.
bool IsFieldValue(std::string_view s) {
  for (unsigned char c : s) {
    if (c == '\r' || c == '\n' || c == 0 || (c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status Bad(std::string_view what, std::string_view why) {
  return Status::InvalidArgument("http: " + std::string(what) + ": " + std::string(why));
}

// The part shared by requests and responses: splits the head from the body, checks the
// limits and parses the header fields. `*start_line` is the first line without CRLF.
struct Head {
  std::string_view start_line;
  Headers headers;
  std::string_view body;
};

Status ParseHead(std::string_view frame, Head* head) {
  const size_t end = frame.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (frame.size() > kMaxHeadBytes) return Bad("head", "longer than " + std::to_string(kMaxHeadBytes) + " bytes");
    return Bad("head", "no blank line (CRLF CRLF) ends the header section");
  }
  if (end + 4 > kMaxHeadBytes) return Bad("head", "longer than " + std::to_string(kMaxHeadBytes) + " bytes");
  std::string_view rest = frame.substr(0, end + 2);  // every line ends with CRLF
  head->body = frame.substr(end + 4);
  bool first = true;
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
      return Bad(first ? "start line" : "header", "bare CR or LF (lines must end with CRLF)");
    }
    if (first) {
      head->start_line = line;
      first = false;
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') return Bad("header", "obsolete line folding");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Bad("header '" + std::string(line.substr(0, 64)) + "'", "no colon");
    const std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) {
      return Bad("header '" + std::string(name.substr(0, 64)) + "'", "name is not a token (whitespace before the colon?)");
    }
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (!IsFieldValue(value)) return Bad("header " + std::string(name), "control character in value");
    if (head->headers.size() == kMaxHeaders) return Bad("headers", "more than " + std::to_string(kMaxHeaders));
    head->headers.emplace_back(std::string(name), std::string(value));
  }
  if (first) return Bad("start line", "empty");
  return Status::Ok();
}

// Applies the framing headers: Transfer-Encoding is refused; Content-Length (all copies
// equal) must match the bytes after the head. Without it, a request has no body and a
// response's body is the rest of the frame (delimited by the connection, RFC 9112 6.3).
Status CheckBody(const Head& head, bool request) {
  if (FindHeader(head.headers, "Transfer-Encoding") != nullptr) {
    return Status::NotSupported("http: Transfer-Encoding: not supported (one frame is one whole message)");
  }
  const std::string* length = nullptr;
  for (const auto& [name, value] : head.headers) {
    if (!EqualsIgnoreCase(name, "Content-Length")) continue;
    if (value.empty() || value.size() > 10 || value.find_first_not_of("0123456789") != std::string::npos) {
      return Bad("Content-Length", "'" + value.substr(0, 32) + "' is not a decimal length");
    }
    if (length != nullptr && *length != value) return Bad("Content-Length", "copies disagree");
    length = &value;
  }
  if (head.body.size() > kMaxBodyBytes) return Bad("body", "longer than " + std::to_string(kMaxBodyBytes) + " bytes");
  if (length == nullptr) {
    if (request && !head.body.empty()) return Bad("body", "present without Content-Length");
    return Status::Ok();
  }
  if (std::stoull(*length) != head.body.size()) {
    return Bad("Content-Length", *length + " but " + std::to_string(head.body.size()) + " bytes follow the head");
  }
  return Status::Ok();
}

bool IsVersion(std::string_view v) { return v == "HTTP/1.1" || v == "HTTP/1.0"; }

void AppendHead(std::string* out, const Headers& headers, size_t body_size) {
  for (const auto& [name, value] : headers) {
    if (EqualsIgnoreCase(name, "Content-Length")) continue;
    *out += name;
    *out += ": ";
    *out += value;
    *out += "\r\n";
  }
  *out += "Content-Length: " + std::to_string(body_size) + "\r\n\r\n";
}

}  // namespace

Request Get(std::string host, std::string target) {
  Request r;
  r.target = std::move(target);
  r.headers.emplace_back("Host", std::move(host));
  return r;
}

std::string FormatRequest(const Request& request) {
  std::string out = request.method + " " + request.target + " " + request.version + "\r\n";
  AppendHead(&out, request.headers, request.body.size());
  out += request.body;
  return out;
}

std::string FormatResponse(const Response& response) {
  const std::string_view reason = response.reason.empty() ? ReasonPhrase(response.status) : response.reason;
  std::string out = response.version + " " + std::to_string(response.status) + " " + std::string(reason) + "\r\n";
  AppendHead(&out, response.headers, response.body.size());
  out += response.body;
  return out;
}

Status ParseRequest(std::string_view frame, Request* out) {
  Head head;
  if (Status s = ParseHead(frame, &head); !s.ok()) return s;
  // request-line = method SP request-target SP HTTP-version
  const std::string_view line = head.start_line;
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Bad("request line", "must be 'METHOD target HTTP/1.1' separated by single spaces");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Bad("method", "not a token");
  if (target.empty()) return Bad("target", "empty");
  for (unsigned char c : target) {
    if (c <= 0x20 || c >= 0x7f) return Bad("target", "contains a space or control character");
  }
  if (target.front() != '/' && target != "*" && target.find("://") == std::string_view::npos) {
    return Bad("target", "must start with '/' (or be an absolute URI)");
  }
  if (!IsVersion(version)) return Bad("version", "'" + std::string(version.substr(0, 16)) + "' is not HTTP/1.1 or HTTP/1.0");
  if (version == "HTTP/1.1") {
    int hosts = 0;
    for (const auto& [name, value] : head.headers) hosts += EqualsIgnoreCase(name, "Host") ? 1 : 0;
    if (hosts != 1) return Bad("Host", hosts == 0 ? "missing (required in HTTP/1.1)" : "sent more than once");
  }
  if (Status s = CheckBody(head, true); !s.ok()) return s;
  out->method = std::string(method);
  out->target = std::string(target);
  out->version = std::string(version);
  out->headers = std::move(head.headers);
  out->body = std::string(head.body);
  return Status::Ok();
}

Status ParseResponse(std::string_view frame, Response* out) {
  Head head;
  if (Status s = ParseHead(frame, &head); !s.ok()) return s;
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]
  const std::string_view line = head.start_line;
  if (line.size() < 13 || line[8] != ' ' || line[12] != ' ') {
    return Bad("status line", "must be 'HTTP/1.1 NNN reason'");
  }
  const std::string_view version = line.substr(0, 8);
  const std::string_view code = line.substr(9, 3);
  const std::string_view reason = line.substr(13);
  if (!IsVersion(version)) return Bad("version", "'" + std::string(version) + "' is not HTTP/1.1 or HTTP/1.0");
  for (char c : code) {
    if (c < '0' || c > '9') return Bad("status code", "'" + std::string(code) + "' is not three digits");
  }
  const int status = std::stoi(std::string(code));
  if (status < 100) return Bad("status code", std::string(code) + " is below 100");
  if (!IsFieldValue(reason)) return Bad("reason phrase", "control character");
  if (Status s = CheckBody(head, false); !s.ok()) return s;
  if ((status < 200 || status == 204 || status == 304) && !head.body.empty()) {
    return Bad("body", "status " + std::string(code) + " has no body");
  }
  out->status = status;
  out->reason = std::string(reason);
  out->version = std::string(version);
  out->headers = std::move(head.headers);
  out->body = std::string(head.body);
  return Status::Ok();
}

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [n, value] : headers) {
    if (EqualsIgnoreCase(n, name)) return &value;
  }
  return nullptr;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

}  // namespace ksim::http1
