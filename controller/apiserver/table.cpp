#include "controller/apiserver/table.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <iomanip>
#include <optional>
#include <sstream>

#include "crds/meta/time.h"

namespace virtsnap::apiserver {

namespace {

nlohmann::json cell(const PrinterColumn& column, const nlohmann::json& value,
                    std::chrono::system_clock::time_point now) {
  if (value.is_null()) {
    return nullptr;
  }
  if (column.type == "date" && value.is_string()) {
    if (auto when = meta::parseTime(value.get<std::string>())) {
      return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *when));
    }
  }
  return value;
}

std::string text(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string trimmed(const std::string& value) {
  const std::size_t begin = value.find_first_not_of(" \t\r\n");
  const std::size_t end = value.find_last_not_of(" \t\r\n");
  return begin == std::string::npos ? std::string() : value.substr(begin, end - begin + 1);
}

// kube's translateTimestampSince: the age of a timestamp, "<unknown>" when there is none.
std::string since(const std::string& timestamp, std::chrono::system_clock::time_point now) {
  auto when = timestamp.empty() ? std::nullopt : meta::parseTime(timestamp);
  return when ? humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *when)) : "<unknown>";
}

bool isCoreEvent(const ServedResource& type) {
  return type.group.empty() && type.kind == "Event";
}

// core/v1 Event, column for column as kube-apiserver's printer (printers.go printEvent) with its wide
// columns included, as the server always sends them; the Name column comes last and only with -o wide.
nlohmann::json eventColumnDefinitions() {
  auto column = [](const char* name, int priority, const char* description, const char* format = "") {
    return nlohmann::json{{"name", name},
                          {"type", "string"},
                          {"format", format},
                          {"description", description},
                          {"priority", priority}};
  };
  return nlohmann::json::array({
      column("Last Seen", 0, "The time at which the most recent occurrence of this event was recorded."),
      column("Type", 0, "Type of this event (Normal, Warning), new types could be added in the future"),
      column("Reason", 0,
             "This should be a short, machine understandable string that gives the reason for "
             "the transition into the object's current status."),
      column("Object", 0, "The object that this event is about."),
      column("Subobject", 1,
             "If referring to a piece of an object instead of an entire object, this string "
             "should contain a valid JSON/Go field access statement."),
      column("Source", 1, "The component reporting this event."),
      column("Message", 0, "A human-readable description of the status of this operation."),
      column("First Seen", 1, "The time at which the event was first recorded."),
      column("Count", 1, "The number of times this event has occurred."),
      column("Name", 1, "Name must be unique within a namespace.", "name"),
  });
}

nlohmann::json eventCells(const nlohmann::json& event, std::chrono::system_clock::time_point now) {
  std::string firstSeen = since(text(event, "firstTimestamp"), now);
  if (text(event, "firstTimestamp").empty()) {
    firstSeen = since(text(event, "eventTime"), now);
  }
  std::string lastSeen = since(text(event, "lastTimestamp"), now);
  if (text(event, "lastTimestamp").empty()) {
    lastSeen = firstSeen;
  }
  std::int64_t count =
      event.contains("count") && event["count"].is_number_integer() ? event["count"].get<std::int64_t>() : 0;
  const nlohmann::json& series = event.value("series", nlohmann::json());
  if (series.is_object()) {
    lastSeen = since(text(series, "lastObservedTime"), now);
    count = series.contains("count") && series["count"].is_number_integer()
                ? series["count"].get<std::int64_t>()
                : 0;
  } else if (count == 0) {
    count = 1;  // singleton events carry no count in the events.k8s.io API
  }
  const nlohmann::json& involved = event.value("involvedObject", nlohmann::json::object());
  std::string kind = text(involved, "kind");
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string target = text(involved, "name").empty() ? kind : kind + "/" + text(involved, "name");
  const nlohmann::json& source = event.value("source", nlohmann::json::object());
  std::string component = text(source, "component");
  if (component.empty()) {
    component = text(event, "reportingComponent");
  }
  std::string host = text(source, "host");
  if (host.empty()) {
    host = text(event, "reportingInstance");
  }
  return nlohmann::json::array(
      {lastSeen, text(event, "type"), text(event, "reason"), target, text(involved, "fieldPath"),
       host.empty() ? component : component + ", " + host, trimmed(text(event, "message")), firstSeen, count,
       text(event.value("metadata", nlohmann::json::object()), "name")});
}

std::vector<PrinterColumn> columnsOf(const ServedResource& type) {
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
      if (index.starts_with("?(@.") && index.ends_with(")")) {
        // A filter, as CRDs write "the Ready condition's status": [?(@.type=="Ready")]. Like
        // kubectl's printer, the column shows the first element that matches.
        const std::string filter = index.substr(4, index.size() - 5);
        const std::size_t equals = filter.find("==");
        if (equals == std::string::npos || filter.size() < equals + 4) {
          return nullptr;
        }
        const std::string key = filter.substr(0, equals);
        std::string value = filter.substr(equals + 2);
        if ((value.front() != '"' && value.front() != '\'') || value.back() != value.front()) {
          return nullptr;
        }
        value = value.substr(1, value.size() - 2);
        auto match = std::find_if(at->begin(), at->end(), [&](const nlohmann::json& element) {
          return element.is_object() && element.contains(key) && element[key].is_string() &&
                 element[key] == value;
        });
        if (match == at->end()) {
          return nullptr;
        }
        at = &*match;
        i = end + 1;
        continue;
      }
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

nlohmann::json toTable(const ServedResource& type, const std::vector<nlohmann::json>& objects,
                       const nlohmann::json& listMetadata, std::chrono::system_clock::time_point now,
                       IncludeObject include) {
  const bool event = isCoreEvent(type);
  const std::vector<PrinterColumn> columns = event ? std::vector<PrinterColumn>{} : columnsOf(type);
  nlohmann::json definitions = nlohmann::json::array();
  if (event) {
    definitions = eventColumnDefinitions();
  } else {
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
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const nlohmann::json& object : objects) {
    nlohmann::json cells = nlohmann::json::array();
    if (event) {
      cells = eventCells(object, now);
    } else {
      cells.push_back(evaluateColumnPath(object, ".metadata.name"));
      for (const PrinterColumn& column : columns) {
        cells.push_back(cell(column, evaluateColumnPath(object, column.jsonPath), now));
      }
    }
    nlohmann::json row{{"cells", cells}};
    if (include == IncludeObject::Object) {
      row["object"] = object;
    } else if (include == IncludeObject::Metadata) {
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/v1"},
                       {"metadata", object.value("metadata", nlohmann::json::object())}};
    }
    rows.push_back(std::move(row));
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", listMetadata.is_object() ? listMetadata : nlohmann::json::object()},
          {"columnDefinitions", definitions},
          {"rows", rows}};
}

}  // namespace virtsnap::apiserver
