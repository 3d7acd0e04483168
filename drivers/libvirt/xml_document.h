#pragma once
// Small RAII helpers over libxml2 documents, shared by the XML codecs in this folder.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <libxml/parser.h>
#include <libxml/tree.h>

namespace virtsnap::drivers::libvirt::xml {

struct DocFreer {
  void operator()(xmlDocPtr doc) const { xmlFreeDoc(doc); }
};
using Document = std::unique_ptr<xmlDoc, DocFreer>;

// A new document whose root element is `rootName`.
Document newDocument(std::string_view rootName);
// Parses without network access, entity expansion or DTD loading; nullptr when malformed.
Document parse(std::string_view text);
// Serialises the document (without the XML declaration, as libvirt prints it).
std::string serialize(xmlDocPtr doc);

// Adds <name>text</name> under parent; the text is escaped by libxml2.
xmlNodePtr addChild(xmlNodePtr parent, std::string_view name,
                    std::optional<std::string_view> text = std::nullopt);
void setAttribute(xmlNodePtr node, std::string_view name, std::string_view value);

// The first child element called `name`, or nullptr.
xmlNodePtr child(xmlNodePtr parent, std::string_view name);
// The text content of an element (empty for nullptr).
std::string text(xmlNodePtr node);
std::optional<std::string> attribute(xmlNodePtr node, std::string_view name);
bool isElement(xmlNodePtr node, std::string_view name);

}  // namespace virtsnap::drivers::libvirt::xml

namespace virtsnap::drivers::libvirt::xml {

// The first element called `name` anywhere below `node` (depth first), or nullptr.
xmlNodePtr findDescendant(xmlNodePtr node, std::string_view name);

}  // namespace virtsnap::drivers::libvirt::xml
