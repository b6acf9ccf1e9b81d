// Escaping text for XML and HTML (text and attribute values alike).
#pragma once

#include <string>
#include <string_view>

namespace ksim::reports {

// Escapes & < > " ' and tab, newline, carriage return as references (attribute values keep
// them); replaces what XML 1.0 cannot carry at all (control
// characters other than tab, newline and carriage return, U+FFFE/U+FFFF, invalid UTF-8)
// with U+FFFD, so that any bytes give well-formed XML and HTML.
std::string EscapeMarkup(std::string_view text);

}  // namespace ksim::reports
