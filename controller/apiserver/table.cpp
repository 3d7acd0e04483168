#include "controller/apiserver/table.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <iomanip>
#include <optional>
#include <sstream>

namespace virtsnap::apiserver {

namespace {

std::optional<std::chrono::system_clock::time_point> parseTime(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

nlohmann::json cell(const PrinterColumn& column, const nlohmann::json& value,
                    std::chrono::system_clock::time_point now) {
  if (value.is_null()) {
    return nullptr;
  }
  if (column.type == "date" && value.is_string()) {
    if (auto when = parseTime(value.get<std::string>())) {
      return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *when));
    }
  }
  return value;
}

std::vector<PrinterColumn> columnsOf(const ResourceType& type) {
  std::vector<PrinterColumn> columns = type.printerColumns;
  if (columns.empty()) {
    columns.push_back(PrinterColumn{"Age", "date", "", "", ".metadata.creationTimestamp", 0});
  }
  return columns;
}

}  // namespace

bool wantsTable(const std::string& accept) {
  return accept.find("as=Table") != std::string::npos;
}

std::string humanDuration(std::chrono::seconds age) {
  const long long s = std::max<long long>(0, age.count());
  const long long m = s / 60;
  const long long h = s / 3600;
  const long long d = h / 24;
  const long long y = d / 365;
  auto two = [](long long a, const char* ua, long long b, const char* ub) {
    return std::to_string(a) + ua + (b == 0 ? "" : std::to_string(b) + ub);
  };
  if (s < 120) {
    return std::to_string(s) + "s";
  }
  if (m < 10) {
    return two(m, "m", s % 60, "s");
  }
  if (m < 180) {
    return std::to_string(m) + "m";
  }
  if (h < 8) {
    return two(h, "h", m % 60, "m");
  }
  if (h < 48) {
    return std::to_string(h) + "h";
  }
  if (h < 24 * 8) {
    return two(d, "d", h % 24, "h");
  }
  if (d < 365 * 2) {
    return std::to_string(d) + "d";
  }
  if (d < 365 * 8) {
    return two(y, "y", d % 365, "d");
  }
  return std::to_string(y) + "y";
}

nlohmann::json evaluateColumnPath(const nlohmann::json& object, const std::string& path) {
  const nlohmann::json* at = &object;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      std::size_t end = i + 1;
      while (end < path.size() && path[end] != '.' && path[end] != '[') {
        ++end;
      }
      const std::string key = path.substr(i + 1, end - i - 1);
      if (key.empty()) {
        i = end;
        continue;
      }
      if (!at->is_object() || !at->contains(key)) {
        return nullptr;
      }
      at = &(*at)[key];
      i = end;
    } else if (path[i] == '[') {
      const std::size_t end = path.find(']', i);
      if (end == std::string::npos || !at->is_array()) {
        return nullptr;
      }
      const std::string index = path.substr(i + 1, end - i - 1);
      if (index.empty() ||
          !std::all_of(index.begin(), index.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return nullptr;
      }
      const std::size_t n = std::stoul(index);
      if (n >= at->size()) {
        return nullptr;
      }
      at = &(*at)[n];
      i = end + 1;
    } else {
      return nullptr;
    }
  }
  return *at;
}

nlohmann::json toTable(const ResourceType& type, const std::vector<nlohmann::json>& objects,
                       const nlohmann::json& listMetadata, std::chrono::system_clock::time_point now) {
  const std::vector<PrinterColumn> columns = columnsOf(type);
  nlohmann::json definitions = nlohmann::json::array();
  definitions.push_back({{"name", "Name"},
                         {"type", "string"},
                         {"format", "name"},
                         {"description", "Name must be unique within a namespace."},
                         {"priority", 0}});
  for (const PrinterColumn& column : columns) {
    definitions.push_back({{"name", column.name},
                           {"type", column.type},
                           {"format", column.format},
                           {"description", column.description},
                           {"priority", column.priority}});
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const nlohmann::json& object : objects) {
    nlohmann::json cells = nlohmann::json::array();
    cells.push_back(evaluateColumnPath(object, ".metadata.name"));
    for (const PrinterColumn& column : columns) {
      cells.push_back(cell(column, evaluateColumnPath(object, column.jsonPath), now));
    }
    rows.push_back({{"cells", cells},
                    {"object",
                     {{"kind", "PartialObjectMetadata"},
                      {"apiVersion", "meta.k8s.io/v1"},
                      {"metadata", object.value("metadata", nlohmann::json::object())}}}});
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", listMetadata.is_object() ? listMetadata : nlohmann::json::object()},
          {"columnDefinitions", definitions},
          {"rows", rows}};
}

}  // namespace virtsnap::apiserver
