#pragma once
// The ApiClient with typed objects instead of JSON: TypedClient<T> for every kind T that registers
// itself through meta::Resource<T> (crds/meta/resource.h). Objects are encoded with the kind's codec on
// the way out and decoded on the way back; an answer that does not decode is
// ErrorKind::Decode naming the field path (for lists, "items[3].spec.vcpus: ..."), never an exception.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/kube/api_client.h"
#include "crds/meta/resource.h"

namespace virtsnap::kube {

template <typename T>
struct TypedList {
  std::vector<T> items;
  std::string resourceVersion;
  std::string continueToken;
};

template <meta::RegisteredResource T>
class TypedClient {
 public:
  explicit TypedClient(ApiClientPtr client) : client_(std::move(client)) {}

  KubeResult<T> get(const std::string& ns, const std::string& name) {
    return decoded(client_->get(type(), ns, name));
  }

  KubeResult<TypedList<T>> list(const std::string& ns, const ListOptions& options = {}) {
    auto answer = client_->list(type(), ns, options);
    if (!answer) {
      return answer.error();
    }
    const nlohmann::json& list = answer.value();
    TypedList<T> out;
    if (auto metadata = list.find("metadata"); metadata != list.end() && metadata->is_object()) {
      out.resourceVersion = stringAt(*metadata, "resourceVersion");
      out.continueToken = stringAt(*metadata, "continue");
    }
    auto items = list.find("items");
    if (items == list.end() || !(items->is_array() || items->is_null())) {
      return decodeError("items", "a list without an items array");
    }
    if (items->is_array()) {
      for (std::size_t i = 0; i < items->size(); ++i) {
        auto item = meta::Resource<T>::decode((*items)[i]);
        if (!item) {
          const std::string& path = item.error().path;
          return decodeError("items[" + std::to_string(i) + "]" + (path.empty() ? "" : "." + path),
                             item.error().message);
        }
        out.items.push_back(std::move(item).value());
      }
    }
    return out;
  }

  KubeResult<T> create(const T& object, const WriteOptions& options = {}) {
    return decoded(client_->create(type(), meta::Resource<T>::encode(object), options));
  }
  KubeResult<T> update(const T& object, const WriteOptions& options = {}) {
    return decoded(client_->update(type(), meta::Resource<T>::encode(object), options));
  }
  KubeResult<T> updateStatus(const T& object, const WriteOptions& options = {}) {
    return decoded(client_->updateStatus(type(), meta::Resource<T>::encode(object), options));
  }
  KubeResult<T> patch(const std::string& ns, const std::string& name, PatchType patchType,
                      const std::string& body, const PatchOptions& options = {}) {
    return decoded(client_->patch(type(), ns, name, patchType, body, options));
  }
  // The object as the server left it (still there while finalizers remain), or nullopt when the
  // server answered with a Status (gone).
  KubeResult<std::optional<T>> remove(const std::string& ns, const std::string& name,
                                      const DeleteOptions& options = {}) {
    auto answer = client_->remove(type(), ns, name, options);
    if (!answer) {
      return answer.error();
    }
    if (stringAt(answer.value(), "kind") == "Status") {
      return std::optional<T>();
    }
    auto object = decoded(std::move(answer));
    if (!object) {
      return object.error();
    }
    return std::optional<T>(std::move(object).value());
  }

  ApiClient& untyped() { return *client_; }

 private:
  static const meta::ResourceType& type() { return meta::Resource<T>::type(); }

  static std::string stringAt(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) {
      return {};
    }
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
  }

  static KubeError decodeError(const std::string& path, const std::string& message) {
    KubeError error;
    error.kind = ErrorKind::Decode;
    error.message = "a " + type().kind +
                    " from the server does not decode: " + (path.empty() ? "" : path + ": ") + message;
    error.causes.push_back(StatusCause{"FieldValueInvalid", message, path});
    return error;
  }

  static KubeResult<T> decoded(KubeResult<nlohmann::json>&& answer) {
    if (!answer) {
      return answer.error();
    }
    auto object = meta::Resource<T>::decode(answer.value());
    if (!object) {
      return decodeError(object.error().path, object.error().message);
    }
    return std::move(object).value();
  }

  ApiClientPtr client_;
};

}  // namespace virtsnap::kube
