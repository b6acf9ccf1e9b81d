#include "cluster/apiserver/strategy/name_rules.h"

#include <cctype>
#include <cstdint>

namespace ksim::apiserver {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

std::string MaxLenError(int length) { return "must be no more than " + std::to_string(length) + " characters"; }

// Kubernetes' RegexError: the rule, examples and the regular expression it checks.
std::string RegexError(std::string_view message, std::string_view regex, std::vector<std::string_view> examples) {
  std::string out(message);
  if (examples.empty()) return out + " (regex used for validation is '" + std::string(regex) + "')";
  out += " (e.g. ";
  for (size_t i = 0; i < examples.size(); ++i) {
    if (i > 0) out += " or ";
    out += "'" + std::string(examples[i]) + "', ";
  }
  return out + "regex used for validation is '" + std::string(regex) + "')";
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool MatchesDNS1123Label(std::string_view v) {
  if (v.empty() || !IsLowerAlnum(v.front()) || !IsLowerAlnum(v.back())) return false;
  for (char c : v) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

// Labels separated by single dots.
bool MatchesDNS1123Subdomain(std::string_view v) {
  if (v.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = v.find('.', start);
    const std::string_view label = v.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!MatchesDNS1123Label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool MatchesQualifiedNamePart(std::string_view v) {
  if (v.empty() || !IsAlnum(v.front()) || !IsAlnum(v.back())) return false;
  for (char c : v) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

constexpr std::string_view kQualifiedNameMessage =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
constexpr std::string_view kQualifiedNameRegex = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

// generateName may end in '-': Kubernetes checks it as if that dash were a letter.
std::string MaskTrailingDash(std::string_view name) {
  std::string out(name);
  if (out.size() > 1 && out.back() == '-') out.back() = 'a';
  return out;
}

}  // namespace

Messages IsDNS1123Label(std::string_view value) {
  Messages errs;
  if (value.size() > 63) errs.push_back(MaxLenError(63));
  if (!MatchesDNS1123Label(value)) {
    if (MatchesDNS1123Subdomain(value)) {
      errs.push_back("must not contain dots");
    } else {
      errs.push_back(RegexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                                "and must start and end with an alphanumeric character",
                                "[a-z0-9]([-a-z0-9]*[a-z0-9])?", {"my-name", "123-abc"}));
    }
  }
  return errs;
}

Messages IsDNS1123Subdomain(std::string_view value) {
  Messages errs;
  if (value.size() > 253) errs.push_back(MaxLenError(253));
  if (!MatchesDNS1123Subdomain(value)) {
    errs.push_back(RegexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                              "or '.', and must start and end with an alphanumeric character",
                              "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", {"example.com"}));
  }
  return errs;
}

Messages IsDNS1035Label(std::string_view value) {
  Messages errs;
  if (value.size() > 63) errs.push_back(MaxLenError(63));
  if (!MatchesDNS1123Label(value) || !IsAlpha(value.front())) {
    errs.push_back(RegexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                              "alphabetic character, and end with an alphanumeric character",
                              "[a-z]([-a-z0-9]*[a-z0-9])?", {"my-name", "abc-123"}));
  }
  return errs;
}

Messages IsQualifiedName(std::string_view value) {
  Messages errs;
  std::string_view name = value;
  const size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back("a qualified name " +
                     RegexError(kQualifiedNameMessage, kQualifiedNameRegex, {"MyName", "my.name", "123-abc"}) +
                     " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errs;
    }
    const std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const std::string& m : IsDNS1123Subdomain(prefix)) errs.push_back("prefix part " + m);
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > 63) {
    errs.push_back("name part " + MaxLenError(63));
  }
  if (!MatchesQualifiedNamePart(name)) {
    errs.push_back("name part " + RegexError(kQualifiedNameMessage, kQualifiedNameRegex, {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

Messages IsValidLabelValue(std::string_view value) {
  Messages errs;
  if (value.size() > 63) errs.push_back(MaxLenError(63));
  if (!value.empty() && !MatchesQualifiedNamePart(value)) {
    errs.push_back(RegexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                              "or '.', and must start and end with an alphanumeric character",
                              "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

Messages IsValidPortName(std::string_view value) {
  Messages errs;
  if (value.size() > 15) errs.push_back(MaxLenError(15));
  bool charset_ok = !value.empty();
  bool has_letter = false;
  for (char c : value) {
    if (!IsLowerAlnum(c) && c != '-') charset_ok = false;
    if (c >= 'a' && c <= 'z') has_letter = true;
  }
  if (!charset_ok) errs.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!has_letter) errs.push_back("must contain at least one letter (a-z)");
  if (value.find("--") != std::string_view::npos) errs.push_back("must not contain consecutive hyphens");
  if (!value.empty() && (value.front() == '-' || value.back() == '-')) {
    errs.push_back("must not begin or end with a hyphen");
  }
  return errs;
}

Messages IsValidPortNum(int64_t port) {
  if (port >= 1 && port <= 65535) return {};
  return {"must be between 1 and 65535, inclusive"};
}

Messages IsConfigMapKey(std::string_view value) {
  Messages errs;
  if (value.size() > 253) errs.push_back(MaxLenError(253));
  bool ok = !value.empty();
  for (char c : value) {
    if (!IsAlnum(c) && c != '-' && c != '.' && c != '_') ok = false;
  }
  if (!ok) {
    errs.push_back(RegexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                              "[-._a-zA-Z0-9]+", {"key.name", "KEY_NAME", "key-name"}));
  }
  if (value == ".") {
    errs.push_back("must not be '.'");
  } else if (value == "..") {
    errs.push_back("must not be '..'");
  } else if (value.substr(0, 2) == "..") {
    errs.push_back("must not start with '..'");
  }
  return errs;
}

Messages IsValidPathSegmentName(std::string_view value) {
  if (value == "." || value == "..") return {"may not be '" + std::string(value) + "'"};
  Messages errs;
  for (std::string_view bad : {"/", "%"}) {
    if (value.find(bad) != std::string_view::npos) errs.push_back("may not contain '" + std::string(bad) + "'");
  }
  return errs;
}

bool IsValidIP(std::string_view value) {
  if (value.find(':') == std::string_view::npos) {
    // Four decimal octets, no leading zeros (Go's parser rejects them).
    int parts = 0;
    size_t i = 0;
    while (true) {
      size_t j = i;
      int octet = 0;
      while (j < value.size() && IsDigit(value[j])) octet = octet * 10 + (value[j++] - '0');
      if (j == i || j - i > 3 || octet > 255 || (j - i > 1 && value[i] == '0')) return false;
      ++parts;
      if (j == value.size()) return parts == 4;
      if (value[j] != '.' || parts == 4) return false;
      i = j + 1;
    }
  }
  // IPv6: up to eight hex groups, at most one "::".
  int groups = 0;
  bool compressed = false;
  size_t i = 0;
  if (value.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
    if (i == value.size()) return true;
  } else if (!value.empty() && value.front() == ':') {
    return false;
  }
  while (i < value.size()) {
    size_t j = i;
    while (j < value.size() && j - i < 5 && std::isxdigit(static_cast<unsigned char>(value[j]))) ++j;
    if (j == i || j - i > 4) return false;
    ++groups;
    if (j == value.size()) break;
    if (value[j] != ':') return false;
    if (j + 1 < value.size() && value[j + 1] == ':') {
      if (compressed) return false;
      compressed = true;
      i = j + 2;
      if (i == value.size()) break;
    } else {
      i = j + 1;
      if (i == value.size()) return false;
    }
  }
  return compressed ? groups < 8 : groups == 8;
}

Messages NameIsDNSSubdomain(std::string_view name, bool prefix) {
  return IsDNS1123Subdomain(prefix ? MaskTrailingDash(name) : std::string(name));
}

Messages NameIsDNSLabel(std::string_view name, bool prefix) {
  return IsDNS1123Label(prefix ? MaskTrailingDash(name) : std::string(name));
}

Messages NameIsDNS1035Label(std::string_view name, bool prefix) {
  return IsDNS1035Label(prefix ? MaskTrailingDash(name) : std::string(name));
}

Messages NameIsPathSegment(std::string_view name, bool prefix) {
  if (prefix) {
    Messages errs;
    for (std::string_view bad : {"/", "%"}) {
      if (name.find(bad) != std::string_view::npos) errs.push_back("may not contain '" + std::string(bad) + "'");
    }
    return errs;
  }
  return IsValidPathSegmentName(name);
}

}  // namespace ksim::apiserver
