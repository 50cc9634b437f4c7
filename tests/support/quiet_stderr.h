#pragma once
// Damaged files make libpng, libjpeg and OpenCV print hundreds of lines; a QuietStderr
// sends stderr to /dev/null for its lifetime so that test logs stay readable.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

namespace dqa::test {

class QuietStderr {
 public:
  QuietStderr() {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int devNull = ::open("/dev/null", O_WRONLY);
    if (devNull >= 0) {
      ::dup2(devNull, 2);
      ::close(devNull);
    }
  }
  ~QuietStderr() {
    std::fflush(stderr);
    if (saved_ >= 0) {
      ::dup2(saved_, 2);
      ::close(saved_);
    }
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_ = -1;
};

}  // namespace dqa::test
