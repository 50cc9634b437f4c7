#pragma once
// A value or an error with a message a person can act on. The core never throws
// through its public boundary; it returns one of these.
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace dqa {

struct Error {
  std::string message;  // what went wrong and, where possible, what to do about it
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(implicit)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(implicit)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }
  const std::string& message() const { return std::get<1>(v_).message; }

 private:
  std::variant<T, Error> v_;
};

// For operations that return nothing on success.
struct Ok {};
using Status = Result<Ok>;

inline Error makeError(std::string message) { return Error{std::move(message)}; }

// The first error among several results (in argument order), or nullopt when all hold a
// value: for loaders that fetch many pieces and report the first one missing.
template <class... T>
std::optional<Error> firstError(const Result<T>&... results) {
  std::optional<Error> first;
  ((first || results.ok() ? void() : void(first = results.error())), ...);
  return first;
}

}  // namespace dqa
