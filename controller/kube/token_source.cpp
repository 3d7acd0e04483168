#include "controller/kube/token_source.h"

#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

namespace virtsnap::kube {

namespace {

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

KubeError unauthorized(std::string message) {
  KubeError error;
  error.kind = ErrorKind::Unauthorized;
  error.message = std::move(message);
  return error;
}

class StaticTokenSource final : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  KubeResult<std::string> token() override { return token_; }

 private:
  const std::string token_;
};

class FileTokenSource final : public TokenSource {
 public:
  FileTokenSource(std::filesystem::path path, ClockPtr clock, std::chrono::seconds maxAge)
      : path_(std::move(path)), clock_(std::move(clock)), maxAge_(maxAge) {}

  KubeResult<std::string> token() override {
    std::lock_guard lock(mutex_);
    const auto now = clock_->now();
    std::error_code ec;
    const auto modified = std::filesystem::last_write_time(path_, ec);
    const bool changed = !ec && (!modified_ || *modified_ != modified);
    if (token_ && !changed && now - readAt_ < maxAge_) {
      return *token_;
    }
    auto fresh = read();
    if (fresh) {
      token_ = fresh.value();
      readAt_ = now;
      if (!ec) {
        modified_ = modified;
      }
      return *token_;
    }
    if (token_) {
      return *token_;  // keep the last good one through a rotation
    }
    return fresh.error();
  }

 private:
  KubeResult<std::string> read() const {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      return unauthorized("cannot read the token file " + path_.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = trimmed(text.str());
    if (token.empty()) {
      return unauthorized("the token file " + path_.string() + " is empty");
    }
    return token;
  }

  const std::filesystem::path path_;
  const ClockPtr clock_;
  const std::chrono::seconds maxAge_;
  std::mutex mutex_;  // guards the three below
  std::optional<std::string> token_;
  std::optional<std::filesystem::file_time_type> modified_;
  Clock::TimePoint readAt_;
};

}  // namespace

TokenSourcePtr staticTokenSource(std::string token) {
  return std::make_shared<StaticTokenSource>(std::move(token));
}

TokenSourcePtr fileTokenSource(std::filesystem::path path, ClockPtr clock, std::chrono::seconds maxAge) {
  return std::make_shared<FileTokenSource>(std::move(path), clock ? std::move(clock) : systemClock(), maxAge);
}

}  // namespace virtsnap::kube
