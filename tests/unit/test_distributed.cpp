// Data-parallel training over c10d (Gloo on 127.0.0.1), end to end with the real
// depictqa-train on a tiny model (stage 2: projector and decoder on a frozen quality
// encoder) and synthetic photos:
//  - 2 ranks x batch 2 give the weights of 1 rank x batch 4 (max |diff| <= 1e-5);
//  - a 2-rank run stopped at step 12 and resumed by 1 rank x batch 4 ends there too;
//  - a killed rank ends the other within the timeout, with an error naming it;
//  - a WORLD_SIZE that differs between ranks, a RANK outside WORLD_SIZE and a
//    MASTER_PORT in use are clear errors at the start.
#include <QtTest/QtTest>
#include <QTemporaryDir>

#include <ATen/ATen.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>

#include "core/data/photos.h"
#include "core/model/multimodal.h"
#include "test_support.h"

using namespace dqa;

namespace {

constexpr int kSteps = 30;

// A listening socket on a free port (closed by the destructor).
struct Listener {
  int fd = -1, port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t n = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), n) != 0 || ::listen(fd, 4) != 0) return;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
};

int freePort() { return Listener().port; }

struct Rank {
  std::unique_ptr<QProcess> process = std::make_unique<QProcess>();
  int code() const { return process->exitStatus() == QProcess::NormalExit ? process->exitCode() : -1; }
  QByteArray err() const { return process->readAllStandardError(); }
};

}  // namespace

class DistributedTest : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  QString photos_, manifest_;

  QString path(const QString& name) const { return dir_.path() + "/" + name; }

  QStringList trainArgs(const QString& out, int batch, int steps = kSteps, const QString& saveEvery = "100000") const {
    return {"--photos",
            photos_,
            "--data-manifest",
            manifest_,
            "--tokenizer",
            QString::fromStdString(test::fixtureDir("sentencepiece") + "/tiny.model"),
            "--out",
            out,
            "--mode",
            "decoder",
            "--steps",
            QString::number(steps),
            "--warmup",
            "3",
            "--lr",
            "3e-3",
            "--batch",
            QString::number(batch),
            "--threads",
            "1",
            "--stream-threads",
            "1",
            "--log-every",
            "1",
            "--eval-every",
            "100000",
            "--save-every",
            saveEvery,
            "--patch-sizes",
            "64",
            "--patch-weights",
            "1",
            "--stage-widths",
            "8,8,8,8",
            "--stage-blocks",
            "1,1,1,1",
            "--head-width",
            "8",
            "--width",
            "16",
            "--layers",
            "1",
            "--heads",
            "2",
            "--kv-heads",
            "2",
            "--mlp",
            "32",
            "--seed",
            "3"};
  }

  // Starts rank `rank` of `world` (world 0: no distributed variables at all).
  std::unique_ptr<Rank> start(const QStringList& args, int rank, int world, int port, QStringList extraEnv = {}) {
    auto r = std::make_unique<Rank>();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"})
      env.remove(v);
    if (world > 0) {
      env.insert("RANK", QString::number(rank));
      env.insert("LOCAL_RANK", QString::number(rank));
      env.insert("WORLD_SIZE", QString::number(world));
      env.insert("MASTER_ADDR", "127.0.0.1");
      env.insert("MASTER_PORT", QString::number(port));
    }
    for (const QString& kv : extraEnv) env.insert(kv.section('=', 0, 0), kv.section('=', 1));
    r->process->setProcessEnvironment(env);
    r->process->start(QString::fromStdString(test::binaryDir() + "/bin/depictqa-train"), args);
    if (!r->process->waitForStarted(10000)) qWarning("could not start depictqa-train");
    return r;
  }

  // 2 ranks x batch `batch` into `out`; both must succeed.
  void runTwoRanks(const QStringList& args) {
    const int port = freePort();
    auto r0 = start(args, 0, 2, port);
    auto r1 = start(args, 1, 2, port);
    for (auto* r : {r0.get(), r1.get()}) {
      QVERIFY(r->process->waitForFinished(120000));
      QVERIFY2(r->code() == 0, r->err().constData());
    }
  }

  static double maxDifference(const QString& a, const QString& b) {
    auto ma = model::MultimodalModel::load(a.toStdString(), {});
    auto mb = model::MultimodalModel::load(b.toStdString(), {});
    if (!ma || !mb) return 1e30;
    std::map<std::string, at::Tensor> other;
    for (auto& [name, t] : mb.value()->namedParameters()) other[name] = *t;
    double worst = 0;
    size_t compared = 0;
    for (auto& [name, t] : ma.value()->namedParameters()) {
      auto it = other.find(name);
      if (it == other.end() || !it->second.sizes().equals(t->sizes())) return 1e30;
      worst = std::max(worst, (*t - it->second).abs().max().item<double>());
      ++compared;
    }
    return compared == other.size() && compared > 0 ? worst : 1e30;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    photos_ = path("photos");
    QVERIFY(QDir().mkpath(photos_));
    for (int i = 0; i < 8; ++i)
      QVERIFY(
          cv::imwrite((photos_ + QString("/p%1.png").arg(i)).toStdString(), data::syntheticImage(384, 288, 40 + i)));
    manifest_ = path("manifest.json");
    QFile m(manifest_);
    QVERIFY(m.open(QIODevice::WriteOnly));
    m.write(R"({"split": {"val_fraction": 0.2, "seed": 4, "held_out_types": [3, 8, 9, 14, 18]}})");
  }

  void twoRanksTrainAsOneWithTheDoubleBatch() {
    QElapsedTimer t;
    t.start();
    auto one = start(trainArgs(path("one"), 4), 0, 0, 0);
    QVERIFY(one->process->waitForFinished(120000));
    QVERIFY2(one->code() == 0, one->err().constData());
    const qint64 oneMs = t.restart();
    runTwoRanks(trainArgs(path("two"), 2));
    if (QTest::currentTestFailed()) return;
    qInfo("1 rank x batch 4: %lld ms; 2 ranks x batch 2: %lld ms (%d steps, with start-up)", oneMs, t.elapsed(),
          kSteps);
    // Training moved the weights, and both runs moved them alike.
    const double moved = maxDifference(path("one/model"), path("one/init"));
    const double apart = maxDifference(path("one/model"), path("two/model"));
    qInfo("largest weight change %.3g; largest difference 1 vs 2 ranks %.3g", moved, apart);
    QVERIFY2(moved > 1e-3 && moved < 1e29, QByteArray::number(moved).constData());
    QVERIFY2(apart <= 1e-5, QByteArray::number(apart).constData());
    // Rank 0 alone writes: one log line per step.
    QFile log(path("two/log.jsonl"));
    QVERIFY(log.open(QIODevice::ReadOnly));
    QCOMPARE(log.readAll().count('\n'), kSteps);
  }

  // Stopped by 2 ranks at step 12, finished by 1 rank with the same step batch.
  void resumeOnAnotherWorldSize() {
    runTwoRanks(trainArgs(path("resumed"), 2, kSteps, "6") << "--stop-at"
                                                           << "12");
    if (QTest::currentTestFailed()) return;
    QFile state(path("resumed/checkpoint/state.json"));
    QVERIFY(state.open(QIODevice::ReadOnly));
    QVERIFY2(state.readAll().contains("\"step\":12"), "the 2-rank run stopped at step 12");
    auto one = start(trainArgs(path("resumed"), 4), 0, 0, 0);
    QVERIFY(one->process->waitForFinished(120000));
    QVERIFY2(one->code() == 0, one->err().constData());
    const double apart = maxDifference(path("one/model"), path("resumed/model"));
    qInfo("largest difference uninterrupted vs resumed %.3g", apart);
    QVERIFY2(apart <= 1e-5, QByteArray::number(apart).constData());
  }

  void aKilledRankIsNamed() {
    const int port = freePort();
    const QStringList args = trainArgs(path("killed"), 2, 100000) + QStringList{"--dist-timeout", "20"};
    auto r0 = start(args, 0, 2, port);
    auto r1 = start(args, 1, 2, port);
    // Kill rank 1 once rank 0 has logged three steps.
    QElapsedTimer t;
    t.start();
    for (;;) {
      QFile log(path("killed/log.jsonl"));
      if (log.open(QIODevice::ReadOnly) && log.readAll().count('\n') >= 3) break;
      QVERIFY2(t.elapsed() < 120000 && r0->process->state() == QProcess::Running, r0->err().constData());
      QTest::qWait(50);
    }
    ::kill(pid_t(r1->process->processId()), SIGKILL);
    t.restart();
    QVERIFY2(r0->process->waitForFinished(40000), "rank 0 did not end after rank 1 was killed");
    const QByteArray err = r0->err();
    qInfo("rank 0 ended %lld ms after rank 1 was killed: %s", t.elapsed(), err.right(400).constData());
    QVERIFY(r0->code() != 0);
    QVERIFY2(err.contains("rank 1 stopped taking part"), err.constData());
    QVERIFY2(t.elapsed() < 20000, "within the collective timeout");
    r1->process->waitForFinished(5000);
  }

  void worldSizesMustAgree() {
    const int port = freePort();
    auto r0 = start(trainArgs(path("mismatch"), 2), 0, 2, port);
    auto r1 = start(trainArgs(path("mismatch"), 2), 1, 3, port);
    for (auto* r : {r0.get(), r1.get()}) {
      QVERIFY(r->process->waitForFinished(30000));
      const QByteArray err = r->err();
      QVERIFY(r->code() != 0);
      QVERIFY2(err.contains("WORLD_SIZE=3") && err.contains("same WORLD_SIZE"), err.constData());
    }
    auto outside = start(trainArgs(path("outside"), 2), 2, 2, port);
    QVERIFY(outside->process->waitForFinished(30000));
    const QByteArray err = outside->err();
    QVERIFY(outside->code() != 0);
    QVERIFY2(err.contains("RANK (--rank) 2 is not below WORLD_SIZE 2"), err.constData());
  }

  void aPortInUseIsClear() {
    Listener busy;
    QVERIFY(busy.port > 0);
    auto r0 = start(trainArgs(path("busy"), 2), 0, 2, busy.port);
    QVERIFY(r0->process->waitForFinished(30000));
    const QByteArray err = r0->err();
    QVERIFY(r0->code() != 0);
    QVERIFY2(err.contains("MASTER_PORT " + QByteArray::number(busy.port)) && err.contains("in use"), err.constData());
  }
};

QTEST_GUILESS_MAIN(DistributedTest)
#include "test_distributed.moc"
