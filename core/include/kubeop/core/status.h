// Status and StatusOr<T>: the error currency of kubeop.
//
// Codes carry retry meaning (see isRetryable / isTerminal): the reconciler, the API and the
// admission webhook decide what happens next from the code alone, never by parsing messages.
// One table (httpStatusFor / reasonFor) maps codes to HTTP statuses and Kubernetes-style reasons.
//
// Thread-safety: value types; no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace kubeop {

enum class StatusCode : int {
  kOk = 0,
  kCancelled,           // the caller gave up; not an error of the callee
  kUnknown,             // unclassified; retried with backoff
  kInvalidArgument,     // the input is wrong: terminal until it changes
  kDeadlineExceeded,    // timed out; retry
  kNotFound,            // the thing is absent
  kAlreadyExists,       // create of an existing thing
  kPermissionDenied,    // authenticated but not allowed
  kResourceExhausted,   // rate limited / quota / too large; retry later (429) unless too large
  kFailedPrecondition,  // state forbids it (e.g. namespace terminating): terminal until state changes
  kAborted,             // optimistic-concurrency conflict: re-read then retry
  kOutOfRange,
  kUnimplemented,       // not supported by this implementation or plugin
  kInternal,            // a bug or a broken plugin; retried with backoff
  kUnavailable,         // transient: the server, cluster or plugin is unreachable; retry
  kDataLoss,
  kUnauthenticated,     // missing or invalid credentials
  kPayloadTooLarge,     // request or object over a size limit: terminal
};

const char* statusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool isOk() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "NotFound: the message" — for logs and CLI output.
  std::string toString() const;

  // Prepends context: `Status(kNotFound, "x").withContext("loading y")` → "loading y: x".
  Status withContext(std::string_view context) const;

  // Deliberately drops a status, visibly.
  void ignoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Retry semantics shared by every caller.
bool isRetryable(StatusCode code);  // Unavailable, DeadlineExceeded, ResourceExhausted, Aborted, Internal, Unknown
bool isTerminal(StatusCode code);   // InvalidArgument, FailedPrecondition, PayloadTooLarge, NotFound(spec), Unimplemented, PermissionDenied, Unauthenticated
// The one mapping from codes to HTTP statuses, used by the API and the webhook.
int httpStatusFor(StatusCode code);
// Kubernetes StatusReason for the code ("NotFound", "AlreadyExists", "Conflict", "Invalid", …).
const char* reasonFor(StatusCode code);
// The Kubernetes StatusReason apimachinery's constructors give an HTTP status ("Conflict" for
// 409, "Gone" for 410, …); "" for statuses without one.
const char* reasonForHttpStatus(int http_status);
// The inverse of httpStatusFor for clients decoding an HTTP answer.
StatusCode statusCodeFromHttp(int http_status);

inline Status invalidArgument(std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); }
inline Status notFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status alreadyExists(std::string m) { return Status(StatusCode::kAlreadyExists, std::move(m)); }
inline Status failedPrecondition(std::string m) { return Status(StatusCode::kFailedPrecondition, std::move(m)); }
inline Status internalError(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }
inline Status unavailable(std::string m) { return Status(StatusCode::kUnavailable, std::move(m)); }
inline Status unimplemented(std::string m) { return Status(StatusCode::kUnimplemented, std::move(m)); }
inline Status aborted(std::string m) { return Status(StatusCode::kAborted, std::move(m)); }
inline Status permissionDenied(std::string m) { return Status(StatusCode::kPermissionDenied, std::move(m)); }
inline Status unauthenticated(std::string m) { return Status(StatusCode::kUnauthenticated, std::move(m)); }
inline Status payloadTooLarge(std::string m) { return Status(StatusCode::kPayloadTooLarge, std::move(m)); }

// StatusOr<T>: a T or a non-OK Status. Accessing the value of an error is a programming bug
// (asserted); callers check ok() first.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& s) : v_(s) { assert(!s.isOk() && "StatusOr from an OK status"); }  // NOLINT
  StatusOr(Status&& s) : v_(std::move(s)) { assert(!std::get<Status>(v_).isOk()); }          // NOLINT
  template <typename U = T,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, StatusOr<T>>>>
  StatusOr(U&& value) : v_(std::in_place_index<1>, std::forward<U>(value)) {}  // NOLINT

  bool ok() const { return v_.index() == 1; }
  explicit operator bool() const { return ok(); }

  Status status() const { return ok() ? Status() : std::get<0>(v_); }

  T& value() & { assert(ok()); return std::get<1>(v_); }
  const T& value() const& { assert(ok()); return std::get<1>(v_); }
  T&& value() && { assert(ok()); return std::get<1>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace kubeop

#define KUBEOP_CONCAT_INNER(a, b) a##b
#define KUBEOP_CONCAT(a, b) KUBEOP_CONCAT_INNER(a, b)

// Propagates a non-OK Status from the enclosing function.
#define KUBEOP_RETURN_IF_ERROR(expr) KUBEOP_RETURN_IF_ERROR_IMPL(KUBEOP_CONCAT(_kubeop_st_, __COUNTER__), expr)
#define KUBEOP_RETURN_IF_ERROR_IMPL(var, expr) \
  do {                                         \
    ::kubeop::Status var = (expr);             \
    if (!var.isOk()) return var;               \
  } while (0)
#define KUBEOP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
// KUBEOP_ASSIGN_OR_RETURN(auto x, f());
#define KUBEOP_ASSIGN_OR_RETURN(lhs, expr) \
  KUBEOP_ASSIGN_OR_RETURN_IMPL(KUBEOP_CONCAT(_kubeop_so_, __LINE__), lhs, expr)
