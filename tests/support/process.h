// Test support: run the kubeop binary as a user would, and talk HTTP to what it serves.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace kubeop::test {

struct RunResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

// Forks and execs argv with the given descriptors as stdin/stdout/stderr (-1: inherit; the
// child closes `closeInChild`). Returns the pid.
inline pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int in, int out,
                   int err, std::initializer_list<int> closeInChild) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  // A test or bench that dies (a crash, SIGPIPE from `| head`) takes its servers with it instead
  // of leaving them running. (The signal follows the forking thread: fork from a long-lived one.)
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(127);
  if (in >= 0) dup2(in, 0);
  if (out >= 0) dup2(out, 1);
  if (err >= 0) dup2(err, 2);
  for (int fd : closeInChild) close(fd);
  for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

// Runs argv to completion with `input` on stdin; captures stdout and stderr.
inline RunResult run(const std::vector<std::string>& argv, const std::string& input = "",
                     const std::vector<std::string>& env = {}) {
  int inP[2], outP[2], errP[2];
  if (pipe(inP) || pipe(outP) || pipe(errP)) return {};
  pid_t pid = spawn(argv, env, inP[0], outP[1], errP[1], {inP[1], outP[0], errP[0]});
  close(inP[0]);
  close(outP[1]);
  close(errP[1]);
  if (!input.empty()) (void)!write(inP[1], input.data(), input.size());
  close(inP[1]);
  RunResult r;
  pollfd fds[2] = {{outP[0], POLLIN, 0}, {errP[0], POLLIN, 0}};
  int open = 2;
  char buf[4096];
  while (open > 0) {
    if (poll(fds, 2, 30000) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int st = 0;
  waitpid(pid, &st, 0);
  r.exitCode = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// A long-running child (e.g. `kubeop up`) whose stdout is read line by line.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
    int outP[2];
    if (pipe(outP)) return;
    // The child's stderr (JSON logs) is dropped unless KUBEOP_TEST_CHILD_STDERR is set.
    int devnull = std::getenv("KUBEOP_TEST_CHILD_STDERR") ? -1 : ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    pid_ = spawn(argv, env, -1, outP[1], devnull, {outP[0]});
    if (devnull >= 0) close(devnull);
    close(outP[1]);
    out_ = outP[0];
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  // Reads stdout until `needle` appears or the deadline passes; returns everything read.
  std::string readUntil(const std::string& needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (output_.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) break;
      output_.append(buf, static_cast<size_t>(n));
    }
    return output_;
  }
  // Sends `sig` and waits up to `timeout` for the exit code (-1 if it did not exit).
  int stop(int sig, std::chrono::milliseconds timeout) {
    kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      usleep(10000);
    }
    return -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  std::string output_;
};

struct HttpReply {
  int status = 0;
  std::string headers;
  std::string body;
};

// One HTTP/1.1 request over a fresh loopback connection (Connection: close).
inline HttpReply httpRequest(uint16_t port, const std::string& method, const std::string& path,
                             const std::vector<std::string>& headers = {}, const std::string& body = "") {
  HttpReply r;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return r;
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  if (!body.empty()) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  (void)!write(fd, req.data(), req.size());
  std::string all;
  char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  close(fd);
  auto sp = all.find(' ');
  if (sp != std::string::npos) r.status = std::atoi(all.c_str() + sp + 1);
  auto hdrEnd = all.find("\r\n\r\n");
  if (hdrEnd != std::string::npos) {
    r.headers = all.substr(0, hdrEnd);
    r.body = all.substr(hdrEnd + 4);
  }
  return r;
}

}  // namespace kubeop::test
