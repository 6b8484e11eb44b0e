// A small strict XML parser for the tests that check our SVG and HTML output.
//
// Moved here from plot_test.cc so that every test of a written document shares it.
#pragma once

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fanin::testing {

// Enough of XML 1.0 for what we write (declaration, doctype, elements, attributes, text,
// character and the five predefined entity references, comments), rejecting anything
// malformed: unbalanced or crossed tags, unquoted or duplicate attributes, a raw '<' or
// '&' in text or attribute values, unknown entities, text outside the root element.

struct Node {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // the concatenated character data directly inside
  std::vector<std::unique_ptr<Node>> children;
};

class XmlParser {
 public:
  explicit XmlParser(std::string_view input) : in_(input) {}

  std::unique_ptr<Node> ParseDocument() {
    if (Starts("<?xml")) Skip("?>");
    SkipMisc();
    if (Starts("<!DOCTYPE")) {
      // Only the simple form we write: no internal subset.
      const size_t end = in_.find('>', pos_);
      if (end == std::string_view::npos ||
          in_.substr(pos_, end - pos_).find('[') != std::string_view::npos) {
        Fail("unsupported DOCTYPE");
      }
      pos_ = end + 1;
      SkipMisc();
    }
    auto root = ParseElement();
    SkipMisc();
    if (pos_ != in_.size()) Fail("content after the root element");
    return root;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error("XML error at offset " + std::to_string(pos_) + ": " + what +
                             " near '" + std::string(in_.substr(pos_, 40)) + "'");
  }
  bool Starts(std::string_view s) const { return in_.substr(pos_, s.size()) == s; }
  void Skip(std::string_view terminator) {
    const size_t end = in_.find(terminator, pos_);
    if (end == std::string_view::npos) Fail("missing '" + std::string(terminator) + "'");
    pos_ = end + terminator.size();
  }
  void SkipSpace() {
    while (pos_ < in_.size() && std::isspace(static_cast<unsigned char>(in_[pos_]))) ++pos_;
  }
  // Whitespace and comments, allowed around the root element.
  void SkipMisc() {
    for (;;) {
      SkipSpace();
      if (!Starts("<!--")) return;
      Skip("-->");
    }
  }
  static bool NameChar(char c, bool first) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalpha(u) || c == '_' || c == ':' || u >= 0x80 ||
           (!first && (std::isdigit(u) || c == '-' || c == '.'));
  }
  std::string ParseName() {
    const size_t start = pos_;
    while (pos_ < in_.size() && NameChar(in_[pos_], pos_ == start)) ++pos_;
    if (pos_ == start) Fail("expected a name");
    return std::string(in_.substr(start, pos_ - start));
  }
  // An entity or character reference, pos_ at the '&'.
  std::string ParseReference() {
    const size_t end = in_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12) Fail("unterminated reference");
    const std::string ref(in_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    static const std::map<std::string, std::string> kEntities = {
        {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
    if (const auto it = kEntities.find(ref); it != kEntities.end()) return it->second;
    const bool hex = ref.size() > 2 && ref[0] == '#' && ref[1] == 'x';
    const std::string digits = ref.substr(hex ? 2 : 1);
    if (ref.empty() || ref[0] != '#' || digits.empty() ||
        digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") !=
            std::string::npos) {
      Fail("unknown reference &" + ref + ";");
    }
    const long code = std::strtol(digits.c_str(), nullptr, hex ? 16 : 10);
    if (code < 0x20 && code != 0x9 && code != 0xA && code != 0xD) Fail("forbidden character");
    return code < 0x80 ? std::string(1, static_cast<char>(code)) : std::string("?");
  }
  std::unique_ptr<Node> ParseElement() {
    if (!Starts("<")) Fail("expected an element");
    ++pos_;
    auto node = std::make_unique<Node>();
    node->name = ParseName();
    for (;;) {
      const size_t before = pos_;
      SkipSpace();
      if (Starts("/>")) {
        pos_ += 2;
        return node;
      }
      if (Starts(">")) {
        ++pos_;
        break;
      }
      if (pos_ == before) Fail("expected whitespace before an attribute");
      const std::string name = ParseName();
      SkipSpace();
      if (!Starts("=")) Fail("expected '=' after attribute " + name);
      ++pos_;
      SkipSpace();
      if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'')) {
        Fail("unquoted attribute " + name);
      }
      const char quote = in_[pos_++];
      std::string value;
      while (pos_ < in_.size() && in_[pos_] != quote) {
        if (in_[pos_] == '<') Fail("'<' in attribute " + name);
        if (in_[pos_] == '&') {
          value += ParseReference();
        } else {
          value += in_[pos_++];
        }
      }
      if (pos_ >= in_.size()) Fail("unterminated attribute " + name);
      ++pos_;
      if (!node->attributes.emplace(name, value).second) Fail("duplicate attribute " + name);
    }
    for (;;) {  // content
      if (pos_ >= in_.size()) Fail("unclosed <" + node->name + ">");
      if (Starts("</")) {
        pos_ += 2;
        if (ParseName() != node->name) Fail("mismatched end tag for <" + node->name + ">");
        SkipSpace();
        if (!Starts(">")) Fail("expected '>'");
        ++pos_;
        return node;
      }
      if (Starts("<!--")) {
        Skip("-->");
      } else if (Starts("<")) {
        node->children.push_back(ParseElement());
      } else if (Starts("&")) {
        node->text += ParseReference();
      } else if (Starts("]]>")) {
        Fail("']]>' in text");
      } else {
        node->text += in_[pos_++];
      }
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

inline std::unique_ptr<Node> ParseXml(std::string_view text) {
  return XmlParser(text).ParseDocument();
}

inline void Collect(const Node& node, std::string_view name, std::vector<const Node*>& out) {
  if (node.name == name) out.push_back(&node);
  for (const auto& child : node.children) Collect(*child, name, out);
}
inline std::vector<const Node*> Find(const Node& root, std::string_view name) {
  std::vector<const Node*> found;
  Collect(root, name, found);
  return found;
}

}  // namespace fanin::testing
