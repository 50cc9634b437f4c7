#include "ui/model_worker.h"

#include <QElapsedTimer>
#include <QTimer>

namespace dqa::ui {
namespace {

// The core keeps freed tensors for reuse within a job (dqa::configureRuntime); between
// a user's jobs that memory goes back to the system, half a second after the job, once
// the window has taken the result. Trimming holds the one malloc arena every thread
// shares (dqa::shareOneHeapAcrossThreads) for ~150 ms after a 14.7 MP answer: done as
// the job ended, the UI thread taking the answer waited for it (longest UI stall 130 and
// 145 ms in 2 of 4 runs, 4-14 ms in 4 runs without the trim). A new job cancels it.
constexpr int kReleaseDelayMs = 500;

// Restarts the release timer when a job ends, however it ends.
struct ReleaseWhenDone {
  QTimer* timer;
  explicit ReleaseWhenDone(QTimer* t) : timer(t) { timer->stop(); }
  ~ReleaseWhenDone() { timer->start(); }
};

}  // namespace

ModelWorker::ModelWorker() : releaseTimer_(new QTimer(this)) {  // a child: it moves to the worker's thread too
  releaseTimer_->setSingleShot(true);
  releaseTimer_->setInterval(kReleaseDelayMs);
  connect(releaseTimer_, &QTimer::timeout, this, [] { dqa::releaseFreedMemory(); });
}
ModelWorker::~ModelWorker() = default;  // the engine goes with the worker, on its thread

void ModelWorker::load(const dqa::EngineOptions& options) {
  Q_EMIT loadProgress(tr("Preparing the runtime…"), 5);
  if (!runtimeConfigured_) {
    // Threads and the slow-BLAS check once per process (a matmul benchmark).
    const dqa::RuntimeReport report = dqa::configureRuntime(options.threads);
    runtimeWarning_ = QString::fromStdString(report.warning);
    runtimeConfigured_ = true;
  }
  // The previous model goes first, so that two models never share memory.
  engine_.reset();
  Q_EMIT loadProgress(tr("Loading %1…").arg(QString::fromStdString(options.modelDirectory)), -1);
  auto engine = dqa::Engine::load(options);
  if (!engine) {
    Q_EMIT loadFailed(QString::fromStdString(engine.message()));
    return;
  }
  engine_ = std::move(engine.value());
  Q_EMIT loadProgress(tr("Model ready"), 100);
  Q_EMIT loaded(engine_->info(), runtimeWarning_);
}

void ModelWorker::ask(const AskJob& job) {
  if (!engine_) {
    Q_EMIT failed(job.id, tr("No model is loaded. Choose a model directory (Model ▸ Open model…)."));
    return;
  }
  if (job.cancel && job.cancel->load()) {
    Q_EMIT failed(job.id, tr("Stopped before it started."));
    return;
  }
  dqa::gen::GenerationCallbacks callbacks;
  callbacks.cancel = job.cancel.get();
  const quint64 id = job.id;
  const std::atomic<bool>* cancel = job.cancel.get();
  callbacks.onToken = [this, id, cancel](const dqa::gen::TokenEvent& event) {
    Q_EMIT token(id, event.index, QString::fromStdString(event.text), event.probability);
    return !(cancel && cancel->load());
  };
  const ReleaseWhenDone release(releaseTimer_);
  try {
    auto answer = engine_->ask(job.request, callbacks);
    if (!answer) {
      Q_EMIT failed(id, QString::fromStdString(answer.message()));
      return;
    }
    auto package = std::make_shared<AnswerPackage>();
    package->answer = std::move(answer.value());
    package->tokenSpans = engine_->tokenSpans(package->answer.generation);
    Q_EMIT answered(id, package);
  } catch (const std::bad_alloc&) {
    // The core does not throw, but allocation can fail anywhere; keep the window alive.
    Q_EMIT failed(id, tr("Out of memory while answering. Try a smaller region or a smaller model."));
  } catch (const std::exception& e) { Q_EMIT failed(id, tr("The model failed: %1").arg(QString::fromUtf8(e.what()))); }
}

void ModelWorker::assessWhole(const WholeJob& job) {
  if (!engine_) {
    Q_EMIT failed(job.id, tr("No model is loaded. Choose a model directory (Model ▸ Open model…)."));
    return;
  }
  dqa::tiled::WholeImageOptions options = job.options;
  options.cancel = job.cancel.get();
  const quint64 id = job.id;
  QElapsedTimer sinceReport;
  sinceReport.start();
  options.progress = [this, id, &sinceReport](const dqa::tiled::WholeImageProgress& p) {
    // At most ~20 reports a second: a 24-megapixel frame has thousands of tiles.
    if (p.done != 0 && p.done != p.total && sinceReport.elapsed() < 50) return;
    sinceReport.restart();
    Q_EMIT wholeProgress(id, static_cast<int>(p.stage), p.done, p.total, p.elapsedMs);
  };
  const ReleaseWhenDone release(releaseTimer_);
  try {
    auto result = dqa::tiled::assessWholeImage(*engine_, job.reference, job.imageA, job.imageB, options);
    if (!result) {
      Q_EMIT failed(
          id, QString::fromStdString(result.message() == "cancelled" ? std::string("Stopped.") : result.message()));
      return;
    }
    Q_EMIT wholeAssessed(id, std::make_shared<const dqa::tiled::WholeImageResult>(std::move(result.value())));
  } catch (const std::bad_alloc&) {
    Q_EMIT failed(id, tr("Out of memory while assessing the whole image. Try a smaller batch or smaller images."));
  } catch (const std::exception& e) { Q_EMIT failed(id, tr("The model failed: %1").arg(QString::fromUtf8(e.what()))); }
}

ModelHost::ModelHost(QObject* parent) : QObject(parent), thread_(new QThread) {
  qRegisterMetaType<dqa::EngineOptions>();
  qRegisterMetaType<dqa::ModelInfo>();
  qRegisterMetaType<dqa::ui::AskJob>();
  qRegisterMetaType<dqa::ui::AnswerPtr>();
  qRegisterMetaType<dqa::ui::WholeJob>();
  qRegisterMetaType<dqa::ui::WholePtr>();
  thread_->setObjectName(QStringLiteral("depictqa-model"));
  auto* worker = new ModelWorker;
  worker->moveToThread(thread_.get());
  connect(thread_.get(), &QThread::finished, worker, &QObject::deleteLater);
  connect(this, &ModelHost::requestLoad, worker, &ModelWorker::load, Qt::QueuedConnection);
  connect(this, &ModelHost::requestAsk, worker, &ModelWorker::ask, Qt::QueuedConnection);
  connect(this, &ModelHost::requestWhole, worker, &ModelWorker::assessWhole, Qt::QueuedConnection);
  connect(
      worker, &ModelWorker::wholeProgress, this,
      [this](quint64 id, int stage, int done, int total, double ms) {
        if (id == pendingAnswer_) Q_EMIT wholeProgress(id, stage, done, total, ms);
      },
      Qt::QueuedConnection);
  connect(
      worker, &ModelWorker::wholeAssessed, this,
      [this](quint64 id, const WholePtr& result) {
        if (id == pendingAnswer_) pendingAnswer_ = 0;
        Q_EMIT wholeAssessed(id, result);
      },
      Qt::QueuedConnection);
  connect(worker, &ModelWorker::loadProgress, this, &ModelHost::loadProgress, Qt::QueuedConnection);
  connect(
      worker, &ModelWorker::loaded, this,
      [this](const dqa::ModelInfo& info, const QString& warning) {
        loading_ = false;
        ready_ = true;
        Q_EMIT loaded(info, warning);
      },
      Qt::QueuedConnection);
  connect(
      worker, &ModelWorker::loadFailed, this,
      [this](const QString& message) {
        loading_ = false;
        ready_ = false;
        Q_EMIT loadFailed(message);
      },
      Qt::QueuedConnection);
  connect(
      worker, &ModelWorker::token, this,
      [this](quint64 id, int index, const QString& text, float p) {
        if (id == pendingAnswer_) Q_EMIT token(id, index, text, p);  // late tokens of a stopped answer: dropped
      },
      Qt::QueuedConnection);
  connect(
      worker, &ModelWorker::answered, this,
      [this](quint64 id, const AnswerPtr& answer) {
        if (id == pendingAnswer_) pendingAnswer_ = 0;
        Q_EMIT answered(id, answer);
      },
      Qt::QueuedConnection);
  connect(
      worker, &ModelWorker::failed, this,
      [this](quint64 id, const QString& message) {
        if (id == pendingAnswer_) pendingAnswer_ = 0;
        Q_EMIT failed(id, message);
      },
      Qt::QueuedConnection);
  thread_->start();
}

ModelHost::~ModelHost() {
  // Cancel first so that the worker's current question ends at the next token; the
  // thread's deleter then quits its event loop and waits for it.
  stop();
  thread_.reset();
}

void ModelHost::load(const dqa::EngineOptions& options) {
  stop();  // a running answer ends at its next token; the load is queued behind it
  loading_ = true;
  ready_ = false;
  Q_EMIT requestLoad(options);
}

quint64 ModelHost::ask(const dqa::AskRequest& request) {
  stop();
  AskJob job;
  job.id = nextId_++;
  job.request = request;
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  job.cancel = cancel_;
  pendingAnswer_ = job.id;
  Q_EMIT requestAsk(job);
  return job.id;
}

quint64 ModelHost::assessWhole(const cv::Mat& reference, const cv::Mat& imageA, const cv::Mat& imageB,
                               const dqa::tiled::WholeImageOptions& options) {
  stop();
  WholeJob job;
  job.id = nextId_++;
  job.reference = reference;
  job.imageA = imageA;
  job.imageB = imageB;
  job.options = options;
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  job.cancel = cancel_;
  pendingAnswer_ = job.id;
  Q_EMIT requestWhole(job);
  return job.id;
}

void ModelHost::stop() {
  if (cancel_) cancel_->store(true);
}

}  // namespace dqa::ui
