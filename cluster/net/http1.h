// HTTP/1.1 over Transport: one frame is one whole HTTP/1.1 message (a request, or the
// response to it). Used for HTTP probes, the simulated images that serve HTTP and
// anything else that speaks HTTP to a pod. On a real host the frame is the bytes written
// to (or read from) a TCP stream.
//
// Parsing is strict (RFC 9112): CRLF line ends, no whitespace before a header's colon,
// no obsolete line folding, a Host header in every HTTP/1.1 request, Content-Length
// consistent with the bytes that follow; Transfer-Encoding is refused (one frame is the
// whole message, so chunking has no use). Every limit is in bytes and counts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/env/status.h"

namespace ksim::http1 {

inline constexpr size_t kMaxHeadBytes = 16 << 10;  // start line + headers + blank line
inline constexpr size_t kMaxHeaders = 64;
inline constexpr size_t kMaxBodyBytes = 1 << 20;

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";
  std::string target = "/";  // origin-form ("/path?query") or absolute-form
  std::string version = "HTTP/1.1";
  Headers headers;           // in order; names as sent
  std::string body;
};

struct Response {
  int status = 200;
  std::string reason;  // empty: the standard phrase for `status` when formatting
  std::string version = "HTTP/1.1";
  Headers headers;
  std::string body;
};

// A GET of `target` on `host` ("10.244.1.5:80"), as an HTTP probe or a client sends it.
Request Get(std::string host, std::string target);

// The message's bytes. Content-Length is added (or replaced) from the body's size, so a
// formatted message always parses back; a caller-supplied Content-Length is ignored.
std::string FormatRequest(const Request& request);
std::string FormatResponse(const Response& response);

// Parses one whole message. InvalidArgument naming the part and the reason for
// malformed input or an exceeded limit; NotSupported for Transfer-Encoding. `out` is
// only written on success.
Status ParseRequest(std::string_view frame, Request* out);
Status ParseResponse(std::string_view frame, Response* out);

// The first header named `name` (case-insensitive), or nullptr.
const std::string* FindHeader(const Headers& headers, std::string_view name);

// "OK", "Not Found", ... ; "" for codes without a standard phrase.
std::string_view ReasonPhrase(int status);

}  // namespace ksim::http1
