#include "drivers/libvirt/xml_document.h"

#include <climits>
#include <string>
#include <vector>

namespace virtsnap::drivers::libvirt::xml {

namespace {

// libxml2 speaks unsigned char; std::string speaks char. The casts live here and nowhere else.
const xmlChar* chars(const std::string& s) {
  return reinterpret_cast<const xmlChar*>(s.c_str());
}

struct XmlCharFreer {
  void operator()(xmlChar* p) const { xmlFree(p); }
};

}  // namespace

Document newDocument(std::string_view rootName) {
  Document doc(xmlNewDoc(chars("1.0")));
  xmlNodePtr root = xmlNewDocNode(doc.get(), nullptr, chars(std::string(rootName)), nullptr);
  xmlDocSetRootElement(doc.get(), root);
  return doc;
}

Document parse(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) {
    return nullptr;
  }
  return Document(
      xmlReadMemory(text.data(), static_cast<int>(text.size()), "snapshot.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS));
}

std::string serialize(xmlDocPtr doc) {
  xmlChar* buffer = nullptr;
  int size = 0;
  xmlDocDumpFormatMemoryEnc(doc, &buffer, &size, "UTF-8", 1);
  std::unique_ptr<xmlChar, XmlCharFreer> owned(buffer);
  std::string out(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(size));
  // Drop the <?xml ...?> declaration: libvirt neither needs nor prints it.
  if (out.rfind("<?xml", 0) == 0) {
    out.erase(0, out.find('\n') + 1);
  }
  return out;
}

xmlNodePtr addChild(xmlNodePtr parent, std::string_view name, std::optional<std::string_view> text) {
  xmlNodePtr node = xmlNewChild(parent, nullptr, chars(std::string(name)), nullptr);
  if (text) {
    // xmlNodeAddContent escapes; xmlNewChild's content argument would not.
    xmlNodeAddContent(node, chars(std::string(*text)));
  }
  return node;
}

void setAttribute(xmlNodePtr node, std::string_view name, std::string_view value) {
  xmlSetProp(node, chars(std::string(name)), chars(std::string(value)));
}

bool isElement(xmlNodePtr node, std::string_view name) {
  return node != nullptr && node->type == XML_ELEMENT_NODE &&
         std::string_view(reinterpret_cast<const char*>(node->name)) == name;
}

xmlNodePtr child(xmlNodePtr parent, std::string_view name) {
  if (parent == nullptr) {
    return nullptr;
  }
  for (xmlNodePtr n = parent->children; n != nullptr; n = n->next) {
    if (isElement(n, name)) {
      return n;
    }
  }
  return nullptr;
}

std::string text(xmlNodePtr node) {
  if (node == nullptr) {
    return {};
  }
  std::unique_ptr<xmlChar, XmlCharFreer> content(xmlNodeGetContent(node));
  return content ? std::string(reinterpret_cast<const char*>(content.get())) : std::string();
}

std::optional<std::string> attribute(xmlNodePtr node, std::string_view name) {
  if (node == nullptr) {
    return std::nullopt;
  }
  std::unique_ptr<xmlChar, XmlCharFreer> value(xmlGetProp(node, chars(std::string(name))));
  if (!value) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(value.get()));
}

}  // namespace virtsnap::drivers::libvirt::xml

namespace virtsnap::drivers::libvirt::xml {

xmlNodePtr findDescendant(xmlNodePtr node, std::string_view name) {
  if (node == nullptr) {
    return nullptr;
  }
  std::vector<xmlNodePtr> stack{node};
  while (!stack.empty()) {
    xmlNodePtr next = stack.back();
    stack.pop_back();
    for (xmlNodePtr c = next->last; c != nullptr; c = c->prev) {
      if (isElement(c, name)) {
        return c;
      }
      if (c->type == XML_ELEMENT_NODE) {
        stack.push_back(c);
      }
    }
  }
  return nullptr;
}

}  // namespace virtsnap::drivers::libvirt::xml
