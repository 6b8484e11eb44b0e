// The HTML report: a static page that opens from disk in any browser, with nothing to
// fetch and no scripts, which is all a results directory needs. It is written as XHTML-
// compatible HTML5 (every element closed), so an XML parser can check it in tests.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "internal.h"
#include "src/atomic_file.h"

namespace fanin::plot {
namespace {

using internal::EscapeXml;

constexpr const char* kStyle =
    "body{font-family:'DejaVu Sans',Arial,Helvetica,sans-serif;max-width:1200px;"
    "margin:2em auto;padding:0 1em;color:#222;line-height:1.45}"
    "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
    "th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left}"
    "th{background:#f2f2f2}tbody tr:nth-child(even){background:#fafafa}"
    "figure{margin:1.2em 0}img{max-width:100%;height:auto}"
    "figcaption{color:#555;font-size:0.9em}"
    "pre{background:#f6f6f6;padding:0.8em;overflow-x:auto;white-space:pre-wrap}";

}  // namespace

Report::Report(std::string title) : title_(std::move(title)) {}

Report& Report::Heading(const std::string& text, int level) {
  if (level < 2 || level > 4) {
    throw std::invalid_argument("fanin::plot::Report::Heading: level " + std::to_string(level) +
                                " is not in 2..4");
  }
  std::string tag = "h";  // appended, not "h" + ...: GCC 12 warns falsely (-Wrestrict)
  tag += std::to_string(level);
  body_ += "<" + tag + ">" + EscapeXml(text) + "</" + tag + ">\n";
  return *this;
}

Report& Report::Paragraph(const std::string& text) {
  body_ += "<p>" + EscapeXml(text) + "</p>\n";
  return *this;
}

Report& Report::Preformatted(const std::string& text) {
  body_ += "<pre>" + EscapeXml(text) + "</pre>\n";
  return *this;
}

Report& Report::Link(const std::string& href, const std::string& text) {
  body_ += "<p><a href=\"" + EscapeXml(href) + "\">" + EscapeXml(text) + "</a></p>\n";
  return *this;
}

Report& Report::Table(const std::vector<std::vector<std::string>>& rows, bool header_row) {
  body_ += "<table>\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    const bool header = header_row && r == 0;
    if (header) body_ += "<thead>\n";
    if (r == (header_row ? 1 : 0)) body_ += "<tbody>\n";
    const char* cell = header ? "th" : "td";
    body_ += "<tr>";
    for (const std::string& text : rows[r]) {
      body_ += std::string("<") + cell + ">" + EscapeXml(text) + "</" + cell + ">";
    }
    body_ += "</tr>\n";
    if (header) body_ += "</thead>\n";
  }
  if (rows.size() > (header_row ? 1 : 0)) body_ += "</tbody>\n";
  body_ += "</table>\n";
  return *this;
}

Report& Report::Image(const std::string& relative_path, const std::string& caption) {
  body_ += "<figure><img src=\"" + EscapeXml(relative_path) + "\" alt=\"" +
           EscapeXml(caption.empty() ? relative_path : caption) + "\"/>";
  if (!caption.empty()) body_ += "<figcaption>" + EscapeXml(caption) + "</figcaption>";
  body_ += "</figure>\n";
  return *this;
}

Report& Report::Scripted(const std::string& id, const std::vector<std::string>& scripts,
                         const std::string& fallback) {
  body_ += "<div id=\"" + EscapeXml(id) + "\"><p>" + EscapeXml(fallback) + "</p></div>\n";
  for (const std::string& script : scripts) {
    body_ += "<script src=\"" + EscapeXml(script) + "\"></script>\n";
  }
  return *this;
}

std::string Report::ToHtml() const {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>" +
         EscapeXml(title_) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>" +
         EscapeXml(title_) + "</h1>\n" + body_ + "</body>\n</html>\n";
}

void Report::Save(const std::string& path) const {
  fanin::internal::WriteFileAtomically(path, ToHtml());
}

}  // namespace fanin::plot
