#include "kubeop/core/status.h"

namespace kubeop {

namespace {
struct CodeInfo {
  StatusCode code;
  const char* name;
  int http;
  const char* reason;  // Kubernetes metav1.StatusReason
  bool retryable;
};

// THE table: one row per code. The API, the webhook and the CLI all read it.
constexpr CodeInfo kCodes[] = {
    {StatusCode::kOk, "OK", 200, "", false},
    {StatusCode::kCancelled, "Cancelled", 499, "Cancelled", false},
    {StatusCode::kUnknown, "Unknown", 500, "InternalError", true},
    {StatusCode::kInvalidArgument, "InvalidArgument", 400, "Invalid", false},
    {StatusCode::kDeadlineExceeded, "DeadlineExceeded", 504, "Timeout", true},
    {StatusCode::kNotFound, "NotFound", 404, "NotFound", false},
    {StatusCode::kAlreadyExists, "AlreadyExists", 409, "AlreadyExists", false},
    {StatusCode::kPermissionDenied, "PermissionDenied", 403, "Forbidden", false},
    {StatusCode::kResourceExhausted, "ResourceExhausted", 429, "TooManyRequests", true},
    {StatusCode::kFailedPrecondition, "FailedPrecondition", 422, "Invalid", false},
    {StatusCode::kAborted, "Aborted", 409, "Conflict", true},
    {StatusCode::kOutOfRange, "OutOfRange", 400, "BadRequest", false},
    {StatusCode::kUnimplemented, "Unimplemented", 501, "NotImplemented", false},
    {StatusCode::kInternal, "Internal", 500, "InternalError", true},
    {StatusCode::kUnavailable, "Unavailable", 503, "ServiceUnavailable", true},
    {StatusCode::kDataLoss, "DataLoss", 500, "InternalError", false},
    {StatusCode::kUnauthenticated, "Unauthenticated", 401, "Unauthorized", false},
    {StatusCode::kPayloadTooLarge, "PayloadTooLarge", 413, "RequestEntityTooLarge", false},
};

const CodeInfo& info(StatusCode code) {
  for (const auto& c : kCodes) {
    if (c.code == code) return c;
  }
  return kCodes[2];  // Unknown
}
}  // namespace

const char* statusCodeName(StatusCode code) { return info(code).name; }

std::string Status::toString() const {
  if (isOk()) return "OK";
  std::string s = info(code_).name;
  s += ": ";
  s += message_;
  return s;
}

Status Status::withContext(std::string_view context) const {
  if (isOk()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

bool isRetryable(StatusCode code) { return info(code).retryable; }

bool isTerminal(StatusCode code) { return code != StatusCode::kOk && !info(code).retryable; }

int httpStatusFor(StatusCode code) { return info(code).http; }

const char* reasonFor(StatusCode code) { return info(code).reason; }

const char* reasonForHttpStatus(int http) {
  switch (http) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "";
  }
}

StatusCode statusCodeFromHttp(int http) {
  switch (http) {
    case 400: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 409: return StatusCode::kAborted;
    case 410: return StatusCode::kOutOfRange;  // watch "Expired": the caller relists
    case 413: return StatusCode::kPayloadTooLarge;
    case 422: return StatusCode::kInvalidArgument;
    case 429: return StatusCode::kResourceExhausted;
    case 501: return StatusCode::kUnimplemented;
    case 503: return StatusCode::kUnavailable;
    case 504: return StatusCode::kDeadlineExceeded;
    default:
      if (http >= 200 && http < 300) return StatusCode::kOk;
      if (http >= 500) return StatusCode::kUnavailable;
      return StatusCode::kUnknown;
  }
}

}  // namespace kubeop
