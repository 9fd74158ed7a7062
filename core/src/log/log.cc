#include "kubeop/log/log.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace kubeop::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;  // guards g_sink, g_component and stderr writes
std::function<void(std::string_view)> g_sink;
std::string g_component;

void appendTimestamp(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = time_point_cast<seconds>(now);
  auto ms = duration_cast<milliseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += buf;
}
}  // namespace

Level parseLevel(std::string_view t) {
  if (t == "debug") return Level::kDebug;
  if (t == "warn" || t == "warning") return Level::kWarn;
  if (t == "error") return Level::kError;
  return Level::kInfo;
}

const char* levelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void setLevel(Level l) { g_level.store(static_cast<int>(l)); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

void initFromEnv() {
  if (const char* v = std::getenv("LOG_LEVEL")) setLevel(parseLevel(v));
}

void setComponent(std::string component) {
  std::lock_guard lk(g_mu);
  g_component = std::move(component);
}

void setSink(std::function<void(std::string_view)> sink) {
  std::lock_guard lk(g_mu);
  g_sink = std::move(sink);
}

void appendJsonEscaped(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

void write(Level l, std::string_view msg, std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(128 + msg.size());
  line += "{\"ts\":\"";
  appendTimestamp(line);
  line += "\",\"level\":\"";
  line += levelName(l);
  line += "\",\"msg\":\"";
  appendJsonEscaped(line, msg);
  line += '"';
  std::string component;
  {
    std::lock_guard lk(g_mu);
    component = g_component;
  }
  if (!component.empty()) {
    line += ",\"component\":\"";
    appendJsonEscaped(line, component);
    line += '"';
  }
  for (const Field& f : fields) {
    line += ",\"";
    appendJsonEscaped(line, f.key);
    line += "\":";
    switch (f.kind) {
      case Field::Kind::kString:
        line += '"';
        appendJsonEscaped(line, f.str);
        line += '"';
        break;
      case Field::Kind::kInt: line += std::to_string(f.i); break;
      case Field::Kind::kBool: line += f.b ? "true" : "false"; break;
      case Field::Kind::kDouble: {
        if (!std::isfinite(f.d)) {
          line += "null";
        } else {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.6g", f.d);
          line += buf;
        }
        break;
      }
    }
  }
  line += "}\n";
  std::lock_guard lk(g_mu);
  if (g_sink) {
    g_sink(std::string_view(line).substr(0, line.size() - 1));
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

}  // namespace kubeop::log
