// A GUI monkey: the real main window on the bundled model, driven by seeded random events
// (clicks on every control and menu action, key presses, wheel and drags on the panes,
// images loaded, replaced, broken and cleared, Ask / Stop / Whole image in quick
// succession, the model reloaded mid-answer, resizes, history rows picked). After every
// burst it checks what a user would notice:
//  - the window still answers events within a second;
//  - every answer that lands was asked about the images on display (no answer of an
//    earlier pair under new images), the same for whole-image verdicts;
//  - the history holds exactly the answers given since the images last changed;
//  - every question ends (answerFinished or answerFailed), nothing is left hanging.
// File dialogs opened by the monkey are closed by a watchdog, as a user cancelling them.
//
// Length: DEPICTQA_MONKEY_EVENTS (default 1500, the CI run); the long run in
// docs/reliability.md used 10000. DEPICTQA_MONKEY_SEED picks the sequence (default 1).
#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QLineEdit>
#include <QListWidget>
#include <QLoggingCategory>
#include <QMenu>
#include <QPlainTextEdit>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTextEdit>
#include <QTextStream>
#include <QTimer>
#include <QWheelEvent>

#include <map>
#include <set>

#include "test_support.h"
#include "ui/main_window.h"

using namespace dqa::ui;

namespace {

int envInt(const char* name, int fallback) {
  bool ok = false;
  const int v = qEnvironmentVariableIntValue(name, &ok);
  return ok && v > 0 ? v : fallback;
}

// Pictures of several sizes and kinds, and files that are not pictures at all.
QStringList writeImagePool(const QTemporaryDir& dir) {
  QStringList paths;
  const QList<QSize> sizes = {{64, 64}, {96, 96}, {160, 120}, {333, 211}, {512, 384}, {700, 300}, {48, 900}};
  QRandomGenerator random(7);
  int n = 0;
  for (const QSize& size : sizes)
    for (int noise : {0, 12, 40}) {
      QImage image(size, QImage::Format_RGB888);
      for (int y = 0; y < size.height(); ++y)
        for (int x = 0; x < size.width(); ++x) {
          auto jitter = [&] { return noise ? int(random.bounded(2 * noise + 1)) - noise : 0; };
          image.setPixelColor(x, y,
                              QColor(std::clamp(x * 255 / size.width() + jitter(), 0, 255),
                                     std::clamp(y * 255 / size.height() + jitter(), 0, 255),
                                     std::clamp(((x / 8 + y / 8) % 2) * 200 + jitter(), 0, 255)));
        }
      const QString path = dir.filePath(QStringLiteral("pool-%1.%2").arg(n).arg(n % 2 ? "png" : "jpg"));
      ++n;
      image.save(path);
      paths << path;
    }
  const QString broken = dir.filePath(QStringLiteral("broken.png"));
  QFile file(broken);
  if (file.open(QIODevice::WriteOnly)) file.write(QByteArray("\x89PNG\r\n\x1a\n not really", 19));
  paths << broken << dir.filePath(QStringLiteral("missing.png"));
  return paths;
}

}  // namespace

class TestGuiMonkey : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir temp_;
  QString model_;
  QStringList pool_;
  std::unique_ptr<MainWindow> window_;
  QRandomGenerator random_{1};

  // What the window said, tracked from its signals.
  quint64 epoch_ = 0;                   // image changes so far
  std::map<quint64, quint64> askedIn_;  // question id -> epoch it was asked in
  std::set<quint64> open_;              // asked, not yet ended
  quint64 wholeEpoch_ = 0;
  bool wholeOpen_ = false;
  int answersThisEpoch_ = 0;
  QStringList problems_;
  std::map<QString, int> counts_;  // events by kind, for the log

  void track(MainWindow& w) {
    connect(&w, &MainWindow::imagesReplaced, this, [this] {
      ++epoch_;
      answersThisEpoch_ = 0;
    });
    connect(&w, &MainWindow::questionAsked, this, [this](quint64 id) {
      askedIn_[id] = epoch_;
      open_.insert(id);
    });
    connect(&w, &MainWindow::answerFinished, this, [this](quint64 id) {
      if (!open_.erase(id)) problems_ << QStringLiteral("answer %1 finished but was not open").arg(id);
      if (askedIn_[id] != epoch_)
        problems_ << QStringLiteral("answer %1 (asked under images #%2) landed under images #%3")
                         .arg(id)
                         .arg(askedIn_[id])
                         .arg(epoch_);
      ++answersThisEpoch_;
    });
    connect(&w, &MainWindow::answerFailed, this, [this](quint64 id, const QString&) { open_.erase(id); });
    connect(&w, &MainWindow::wholeImageStarted, this, [this] {
      wholeEpoch_ = epoch_;
      wholeOpen_ = true;
    });
    connect(&w, &MainWindow::wholeImageFinished, this, [this] {
      if (wholeEpoch_ != epoch_)
        problems_ << QStringLiteral("a whole-image verdict for images #%1 landed under images #%2")
                         .arg(wholeEpoch_)
                         .arg(epoch_);
      wholeOpen_ = false;
    });
    connect(&w, &MainWindow::wholeImageFailed, this, [this] { wholeOpen_ = false; });
  }

  int pick(int n) { return n > 0 ? int(random_.bounded(quint32(n))) : 0; }
  PaneRole randomRole() { return kRoles[size_t(pick(int(std::size(kRoles))))]; }

  template <typename T>
  QList<T*> live() {
    QList<T*> out;
    for (T* w : window_->findChildren<T*>())
      if (w->isVisible() && w->isEnabled()) out << w;
    return out;
  }

  void clickSomeButton() {
    auto buttons = live<QAbstractButton>();
    if (!buttons.isEmpty()) buttons[pick(int(buttons.size()))]->click();
  }

  void triggerSomeAction() {
    QList<QAction*> actions;
    for (QAction* a : window_->findChildren<QAction*>())
      if (a->isEnabled() && !a->text().isEmpty() && !a->menu() && a->shortcut() != QKeySequence(QKeySequence::Quit))
        actions << a;
    if (!actions.isEmpty()) actions[pick(int(actions.size()))]->trigger();
  }

  void pressSomeKey() {
    static const int keys[] = {Qt::Key_A,     Qt::Key_D,      Qt::Key_F,      Qt::Key_M,        Qt::Key_R,
                               Qt::Key_Space, Qt::Key_Return, Qt::Key_Escape, Qt::Key_Tab,      Qt::Key_Left,
                               Qt::Key_Right, Qt::Key_Up,     Qt::Key_Down,   Qt::Key_Plus,     Qt::Key_Minus,
                               Qt::Key_0,     Qt::Key_1,      Qt::Key_Delete, Qt::Key_Backspace};
    static const Qt::KeyboardModifiers mods[] = {Qt::NoModifier, Qt::NoModifier, Qt::ShiftModifier,
                                                 Qt::ControlModifier};
    auto widgets = live<QWidget>();
    QWidget* target = widgets.isEmpty() ? window_.get() : widgets[pick(int(widgets.size()))];
    QTest::keyClick(target, Qt::Key(keys[pick(int(std::size(keys)))]), mods[pick(int(std::size(mods)))]);
  }

  void typeSomeText() {
    static const char* words[] = {"Which image is sharper?", "I care about noise", "ÄÖÜ 字 ✓", "", "?", "colour"};
    auto lines = live<QLineEdit>();
    auto texts = live<QPlainTextEdit>();
    const QString text = QString::fromUtf8(words[pick(int(std::size(words)))]);
    if (!lines.isEmpty() && pick(2)) {
      QLineEdit* e = lines[pick(int(lines.size()))];
      if (!e->isReadOnly()) e->setText(text);
    } else if (!texts.isEmpty()) {
      QPlainTextEdit* e = texts[pick(int(texts.size()))];
      if (!e->isReadOnly()) e->setPlainText(text);
    }
  }

  void chooseSomeComboEntry() {
    auto combos = live<QComboBox>();
    if (combos.isEmpty()) return;
    QComboBox* c = combos[pick(int(combos.size()))];
    if (c->count()) c->setCurrentIndex(pick(c->count()));
  }

  QWidget* someCanvas() {
    QWidget* canvas = window_->pane(randomRole())->canvas();
    return canvas && canvas->isVisible() ? canvas : nullptr;
  }

  QPoint somePointIn(QWidget* w) { return QPoint(pick(std::max(1, w->width())), pick(std::max(1, w->height()))); }

  void wheelOnPane() {
    QWidget* canvas = someCanvas();
    if (!canvas) return;
    const QPoint at = somePointIn(canvas);
    QWheelEvent wheel(at, canvas->mapToGlobal(at), QPoint(), QPoint(0, pick(2) ? 120 : -120), Qt::NoButton,
                      pick(3) == 0 ? Qt::ControlModifier : Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(canvas, &wheel);
  }

  void dragOnPane() {
    QWidget* canvas = someCanvas();
    if (!canvas) return;
    const Qt::KeyboardModifiers mod = pick(2) ? Qt::ShiftModifier : Qt::NoModifier;
    const QPoint from = somePointIn(canvas), to = somePointIn(canvas);
    QTest::mousePress(canvas, Qt::LeftButton, mod, from);
    QTest::mouseMove(canvas, (from + to) / 2);
    QTest::mouseMove(canvas, to);
    QTest::mouseRelease(canvas, Qt::LeftButton, mod, to);
  }

  void clickOnPane() {
    QWidget* canvas = someCanvas();
    if (!canvas) return;
    if (pick(4) == 0)
      QTest::mouseDClick(canvas, Qt::LeftButton, Qt::NoModifier, somePointIn(canvas));
    else
      QTest::mouseClick(canvas, Qt::LeftButton, Qt::NoModifier, somePointIn(canvas));
  }

  void changeImages() {
    const int what = pick(10);
    if (what == 0)
      window_->clearImage(randomRole());
    else if (what == 1)
      window_->setImageData(randomRole(), QByteArray("GIF89a\x01\x00garbage", 15), "junk.gif");
    else
      window_->loadImage(randomRole(), pool_[pick(int(pool_.size()))]);
  }

  void askStopWhole() {
    const int what = pick(6);
    if (what <= 2)
      window_->ask();
    else if (what == 3)
      window_->stop();
    else if (what == 4)
      window_->assessWholeImage();
    else {  // in quick succession
      window_->ask();
      window_->stop();
      window_->ask();
    }
  }

  void pickHistoryRow() {
    QListWidget* history = window_->history();
    if (history->count()) history->setCurrentRow(pick(history->count()));
  }

  void attentionAndOverlays() {
    const int what = pick(3);
    if (what == 0)
      window_->showAttention(pick(8), pick(16));
    else if (what == 1)
      window_->showWholeAnswerAttention();
    else
      window_->setAttentionLayer(pick(6) - 1);
  }

  void oneEvent() {
    struct Kind {
      const char* name;
      int weight;
      void (TestGuiMonkey::*run)();
    };
    static const Kind kinds[] = {
        {"button", 14, &TestGuiMonkey::clickSomeButton},
        {"action", 8, &TestGuiMonkey::triggerSomeAction},
        {"key", 14, &TestGuiMonkey::pressSomeKey},
        {"text", 5, &TestGuiMonkey::typeSomeText},
        {"combo", 5, &TestGuiMonkey::chooseSomeComboEntry},
        {"wheel", 8, &TestGuiMonkey::wheelOnPane},
        {"drag", 8, &TestGuiMonkey::dragOnPane},
        {"click pane", 6, &TestGuiMonkey::clickOnPane},
        {"images", 12, &TestGuiMonkey::changeImages},
        {"ask/stop/whole", 12, &TestGuiMonkey::askStopWhole},
        {"history", 4, &TestGuiMonkey::pickHistoryRow},
        {"attention", 4, &TestGuiMonkey::attentionAndOverlays},
    };
    int total = 0;
    for (const Kind& k : kinds) total += k.weight;
    int r = pick(total + 3);
    if (r >= total) {  // the rarer, heavier ones
      if (r == total)
        window_->loadModel(model_);
      else
        window_->resize(400 + pick(1200), 300 + pick(800));
      ++counts_[r == total ? QStringLiteral("reload model") : QStringLiteral("resize")];
      return;
    }
    for (const Kind& k : kinds) {
      if (r < k.weight) {
        (this->*k.run)();
        ++counts_[QString::fromLatin1(k.name)];
        return;
      }
      r -= k.weight;
    }
  }

  // The event loop turns within a second (a zero timer fires).
  bool responsive() {
    bool fired = false;
    QTimer::singleShot(0, this, [&] { fired = true; });
    return QTest::qWaitFor([&] { return fired; }, 1000);
  }

  void checkAfterBurst(int done) {
    if (!responsive())
      problems_ << QStringLiteral("the window did not process events for 1 s after %1 events").arg(done);
    const int shown = window_->history()->count();
    if (!window_->answering() && shown != answersThisEpoch_)
      problems_ << QStringLiteral("after %1 events the history shows %2 answers, %3 were given for these images")
                       .arg(done)
                       .arg(shown)
                       .arg(answersThisEpoch_);
  }

 private Q_SLOTS:
  void initTestCase() {
    // File dialogs on the offscreen platform: harmless, but thousands of lines.
    QLoggingCategory::setFilterRules(QStringLiteral("qt.qpa.*=false"));
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext& context, const QString& message) {
      if (message.contains(QStringLiteral("propagateSizeHints"))) return;
      if (type == QtDebugMsg) return;
      QTextStream(stderr) << message << '\n';
      Q_UNUSED(context);
    });
    QVERIFY(temp_.isValid());
    model_ = QString::fromStdString(dqa::test::sourceDir() + "/models/default");
    pool_ = writeImagePool(temp_);
    WindowOptions options;
    options.settingsFile = temp_.filePath(QStringLiteral("settings.ini"));
    options.persistSettings = false;
    window_ = std::make_unique<MainWindow>(options);
    window_->resize(1200, 800);
    window_->show();
    track(*window_);
    QSignalSpy loaded(window_.get(), &MainWindow::modelLoaded);
    window_->loadModel(model_);
    QVERIFY2(QTest::qWaitFor([&] { return loaded.count() > 0; }, 60000), "the bundled model did not load");
    window_->setMaxNewTokens(12);
  }

  void cleanupTestCase() { window_.reset(); }

  // What the monkey found first: an answer still being written when an image was replaced
  // landed under the new images and went into their history.
  void anAnswerAboutReplacedImagesIsSetAside() {
    window_->setMaxNewTokens(200);
    QVERIFY(window_->loadImage(PaneRole::Reference, pool_[12]));
    QVERIFY(window_->loadImage(PaneRole::A, pool_[13]));
    QVERIFY(window_->loadImage(PaneRole::B, pool_[14]));
    window_->askingPanel()->setTask(dqa::text::Task::Reasoning);
    QSignalSpy finished(window_.get(), &MainWindow::answerFinished);
    QSignalSpy failed(window_.get(), &MainWindow::answerFailed);
    QVERIFY(window_->ask());
    QVERIFY(window_->loadImage(PaneRole::B, pool_[11]));
    QVERIFY(QTest::qWaitFor([&] { return !window_->answering(); }, 30000));
    QTest::qWait(1500);  // the worker's late result, if any, arrives now
    QCOMPARE(finished.count(), 0);
    QCOMPARE(failed.count(), 1);
    QVERIFY(failed.first().at(1).toString().contains(QStringLiteral("images changed")));
    QCOMPARE(window_->history()->count(), 0);
    QVERIFY(window_->answerView()->streamedText().isEmpty());
    window_->setMaxNewTokens(12);
  }

  void randomEventsKeepTheWindowConsistent() {
    const int events = envInt("DEPICTQA_MONKEY_EVENTS", 1500);
    const int seed = envInt("DEPICTQA_MONKEY_SEED", 1);
    random_.seed(quint32(seed));
    // File dialogs and message boxes: cancelled, as a user would.
    QTimer watchdog;
    connect(&watchdog, &QTimer::timeout, this, [] {
      if (QWidget* modal = QApplication::activeModalWidget()) {
        if (auto* dialog = qobject_cast<QDialog*>(modal))
          dialog->reject();
        else
          modal->close();
      }
      if (QWidget* popup = QApplication::activePopupWidget()) popup->close();
    });
    watchdog.start(20);

    QElapsedTimer clock;
    clock.start();
    constexpr int kBurst = 25;
    for (int done = 0; done < events;) {
      for (int i = 0; i < kBurst && done < events; ++i, ++done) oneEvent();
      QTest::qWait(pick(3) == 0 ? 40 : 2);
      checkAfterBurst(done);
      if (problems_.size() > 20) break;
    }
    // Let everything still running end, then one ordinary question must work.
    window_->stop();
    QVERIFY2(QTest::qWaitFor([&] { return !window_->answering(); }, 60000), "an answer never ended after Stop");
    QVERIFY(QTest::qWaitFor([&] { return window_->modelReady(); }, 60000));
    QVERIFY(window_->loadImage(PaneRole::Reference, pool_[12]));
    QVERIFY(window_->loadImage(PaneRole::A, pool_[13]));
    QVERIFY(window_->loadImage(PaneRole::B, pool_[14]));
    QSignalSpy finished(window_.get(), &MainWindow::answerFinished);
    QVERIFY(window_->ask());
    QVERIFY(QTest::qWaitFor([&] { return finished.count() > 0; }, 60000));
    checkAfterBurst(events);
    (void)QTest::qWaitFor([&] { return open_.empty() && !wholeOpen_; }, 10000);
    QStringList unended;
    for (quint64 id : open_) unended << QString::number(id);
    QVERIFY2(unended.isEmpty(), qPrintable("questions that never ended: " + unended.join(QStringLiteral(", "))));
    QVERIFY2(!wholeOpen_, "a whole-image assessment never ended");

    QStringList summary;
    for (const auto& [kind, n] : counts_) summary << QStringLiteral("%1 %2").arg(kind).arg(n);
    qInfo().noquote() << QStringLiteral("monkey: %1 events (seed %2) in %3 s: %4; %5 questions asked")
                             .arg(events)
                             .arg(seed)
                             .arg(clock.elapsed() / 1000.0, 0, 'f', 1)
                             .arg(summary.join(QStringLiteral(", ")))
                             .arg(askedIn_.size());
    QVERIFY2(problems_.isEmpty(), qPrintable(problems_.join(QStringLiteral("\n"))));
  }
};

QTEST_MAIN(TestGuiMonkey)
#include "test_gui_monkey.moc"
