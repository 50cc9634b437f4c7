#pragma once
// The model lives on one long-lived worker thread. The window talks to it only
// through queued signals (ModelHost's request signals -> ModelWorker's slots, and
// back); the only shared state is the per-question cancel flag, an atomic the core
// checks before every token.
#include <QObject>
#include <QString>
#include <QThread>
#include <QTimer>

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "core/generate/engine.h"
#include "core/tiled/whole_image.h"

namespace dqa::ui {

// What comes back from one question: the core's answer (torch-free) and where each
// generated token sits in the answer text (byte offsets, from the tokenizer).
struct AnswerPackage {
  dqa::Answer answer;
  std::vector<std::pair<int, int>> tokenSpans;
};
using AnswerPtr = std::shared_ptr<const AnswerPackage>;

struct AskJob {
  quint64 id = 0;
  dqa::AskRequest request;
  std::shared_ptr<std::atomic<bool>> cancel;
};

// A whole-image assessment (core/tiled): full-resolution frames and the options; the
// worker adds the cancel flag and the progress callback.
struct WholeJob {
  quint64 id = 0;
  cv::Mat reference, imageA, imageB;
  dqa::tiled::WholeImageOptions options;
  std::shared_ptr<std::atomic<bool>> cancel;
};
using WholePtr = std::shared_ptr<const dqa::tiled::WholeImageResult>;

class ModelWorker : public QObject {
  Q_OBJECT
 public:
  ModelWorker();
  ~ModelWorker() override;

 public Q_SLOTS:
  void load(const dqa::EngineOptions& options);
  void ask(const dqa::ui::AskJob& job);
  void assessWhole(const dqa::ui::WholeJob& job);

 Q_SIGNALS:
  void loadProgress(const QString& stage, int percent);  // percent -1: busy, unknown
  void loaded(const dqa::ModelInfo& info, const QString& runtimeWarning);
  void loadFailed(const QString& message);
  void token(quint64 id, int index, const QString& text, float probability);
  void answered(quint64 id, const dqa::ui::AnswerPtr& answer);
  void failed(quint64 id, const QString& message);
  // stage: 0 judging, 1 describing (tiled::WholeImageProgress::Stage)
  void wholeProgress(quint64 id, int stage, int done, int total, double elapsedMs);
  void wholeAssessed(quint64 id, const dqa::ui::WholePtr& result);

 private:
  std::unique_ptr<dqa::Engine> engine_;
  QTimer* releaseTimer_;  // gives a finished job's freed memory back (model_worker.cpp)
  bool runtimeConfigured_ = false;
  QString runtimeWarning_;
};

// Owns the thread (quit + wait on destruction) and the worker (deleted on that thread
// when it finishes). One question at a time; stop() and destruction cancel it.
class ModelHost : public QObject {
  Q_OBJECT
 public:
  explicit ModelHost(QObject* parent = nullptr);
  ~ModelHost() override;

  void load(const dqa::EngineOptions& options);
  quint64 ask(const dqa::AskRequest& request);  // returns the question's id
  // Whole-image mode; shares the one-at-a-time slot (and stop()) with ask().
  quint64 assessWhole(const cv::Mat& reference, const cv::Mat& imageA, const cv::Mat& imageB,
                      const dqa::tiled::WholeImageOptions& options);
  void stop();  // cancels the running question, if any
  bool busy() const { return pendingAnswer_ != 0; }
  bool loading() const { return loading_; }
  bool ready() const { return ready_; }
  quint64 currentQuestion() const { return pendingAnswer_; }

 Q_SIGNALS:
  // To the worker (queued).
  void requestLoad(const dqa::EngineOptions& options);
  void requestAsk(const dqa::ui::AskJob& job);
  void requestWhole(const dqa::ui::WholeJob& job);
  // To the window (re-emitted from the worker's signals, on the UI thread).
  void loadProgress(const QString& stage, int percent);
  void loaded(const dqa::ModelInfo& info, const QString& runtimeWarning);
  void loadFailed(const QString& message);
  void token(quint64 id, int index, const QString& text, float probability);
  void answered(quint64 id, const dqa::ui::AnswerPtr& answer);
  void failed(quint64 id, const QString& message);
  void wholeProgress(quint64 id, int stage, int done, int total, double elapsedMs);
  void wholeAssessed(quint64 id, const dqa::ui::WholePtr& result);

 private:
  struct QuitAndWait {
    void operator()(QThread* thread) const {
      thread->quit();
      thread->wait();
      delete thread;
    }
  };
  std::unique_ptr<QThread, QuitAndWait> thread_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  quint64 nextId_ = 1;
  quint64 pendingAnswer_ = 0;
  bool loading_ = false, ready_ = false;
};

}  // namespace dqa::ui

Q_DECLARE_METATYPE(dqa::EngineOptions)
Q_DECLARE_METATYPE(dqa::ModelInfo)
Q_DECLARE_METATYPE(dqa::ui::AskJob)
Q_DECLARE_METATYPE(dqa::ui::AnswerPtr)
Q_DECLARE_METATYPE(dqa::ui::WholeJob)
Q_DECLARE_METATYPE(dqa::ui::WholePtr)
