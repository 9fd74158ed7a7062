// Structured JSON logs: one JSON object per line on stderr:
//   {"ts":"2026-11-23T10:00:00.123Z","level":"info","msg":"…","component":"…",<fields>}
// The level comes from LOG_LEVEL (debug|info|warn|error; default info).
//
// Never log secrets: callers pass object keys and reasons, not tokens, kubeconfigs or bodies.
// Thread-safety: all functions may be called from any thread; a line is written atomically.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace kubeop::log {

enum class Level : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn"/"warning", "error"; anything else → info.
Level parseLevel(std::string_view text);
const char* levelName(Level level);

void setLevel(Level level);
Level level();
inline bool enabled(Level l) { return static_cast<int>(l) >= static_cast<int>(level()); }
// Reads LOG_LEVEL.
void initFromEnv();
// Sets the value of the "component" field on every line (e.g. "manager", "operator").
void setComponent(std::string component);

// Replaces the sink (default: stderr). For tests. Pass nullptr to restore stderr.
void setSink(std::function<void(std::string_view line)> sink);

// A key and a value; numbers and booleans are written as JSON numbers/booleans.
struct Field {
  enum class Kind { kString, kInt, kBool, kDouble };
  Field(std::string_view k, std::string_view v) : key(k), str(v), kind(Kind::kString) {}
  Field(std::string_view k, const char* v) : key(k), str(v ? v : ""), kind(Kind::kString) {}
  Field(std::string_view k, const std::string& v) : key(k), str(v), kind(Kind::kString) {}
  Field(std::string_view k, bool v) : key(k), b(v), kind(Kind::kBool) {}
  Field(std::string_view k, int v) : key(k), i(v), kind(Kind::kInt) {}
  Field(std::string_view k, long v) : key(k), i(v), kind(Kind::kInt) {}
  Field(std::string_view k, long long v) : key(k), i(v), kind(Kind::kInt) {}
  Field(std::string_view k, unsigned v) : key(k), i(static_cast<int64_t>(v)), kind(Kind::kInt) {}
  Field(std::string_view k, unsigned long v) : key(k), i(static_cast<int64_t>(v)), kind(Kind::kInt) {}
  Field(std::string_view k, double v) : key(k), d(v), kind(Kind::kDouble) {}
  std::string_view key;
  std::string_view str;
  int64_t i = 0;
  bool b = false;
  double d = 0;
  Kind kind;
};

void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::kDebug)) write(Level::kDebug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::kInfo)) write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::kWarn)) write(Level::kWarn, m, f);
}
inline void error(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::kError)) write(Level::kError, m, f);
}

// Appends `s` to `out` as the body of a JSON string (escapes quotes, control characters).
void appendJsonEscaped(std::string& out, std::string_view s);

}  // namespace kubeop::log
