#pragma once
// The tree page's static files (tree.html, tree.js, tree.css in this folder), compiled into the binary
// by a build step (cmake/EmbedFiles.cmake), so the agent serves them without files beside it.

#include <string_view>

namespace virtsnap::agent::web {

extern const std::string_view kTreeHtml;
extern const std::string_view kTreeJs;
extern const std::string_view kTreeCss;

}  // namespace virtsnap::agent::web
