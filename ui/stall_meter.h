#pragma once
// Measures how responsive the UI thread is: a 10 ms heartbeat timer on the event loop;
// a beat that arrives late means the loop was busy (stalled) for that long. The window
// runs it while the model answers and reports the longest stall.
#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

namespace dqa::ui {

class StallMeter : public QObject {
  Q_OBJECT
 public:
  explicit StallMeter(QObject* parent = nullptr) : QObject(parent) {
    timer_.setTimerType(Qt::PreciseTimer);
    timer_.setInterval(kIntervalMs);
    connect(&timer_, &QTimer::timeout, this, &StallMeter::beat);
  }
  void start() {
    longestMs_ = 0;
    beats_ = 0;
    clock_.start();
    last_ = 0;
    timer_.start();
  }
  void stop() {
    beat();
    timer_.stop();
  }
  bool running() const { return timer_.isActive(); }
  // Longest time the event loop could not run a due timer, beyond its interval.
  double longestStallMs() const { return longestMs_; }
  int beats() const { return beats_; }

 private:
  void beat() {
    if (!clock_.isValid()) return;
    const qint64 now = clock_.nsecsElapsed();
    const double lateMs = (now - last_) / 1e6 - kIntervalMs;
    if (last_ != 0 && lateMs > longestMs_) longestMs_ = lateMs;
    last_ = now;
    ++beats_;
  }
  static constexpr int kIntervalMs = 10;
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 last_ = 0;
  double longestMs_ = 0;
  int beats_ = 0;
};

}  // namespace dqa::ui
