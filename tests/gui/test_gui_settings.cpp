// What the window remembers between runs (ui/window_settings).
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

#include "ui/window_settings.h"

using dqa::ui::PaneRole;
using dqa::ui::WindowSettings;

class WindowSettingsTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void recentImagesAreNewestFirstWithoutRepeats() {
    QTemporaryDir dir;
    WindowSettings s(dir.filePath(QStringLiteral("s.ini")), true);
    s.addRecentImage(PaneRole::A, QStringLiteral("/p/1.png"));
    s.addRecentImage(PaneRole::B, QStringLiteral("/p/2.png"));
    s.addRecentImage(PaneRole::A, QStringLiteral("/p/1.png"));
    s.addRecentImage(PaneRole::Reference, QStringLiteral("/p/1.png"));  // same file, other pane: kept apart
    const auto& r = s.recentImages();
    QCOMPARE(r.size(), size_t(3));
    QCOMPARE(r[0].role, PaneRole::Reference);
    QCOMPARE(r[1].path, QStringLiteral("/p/1.png"));
    QCOMPARE(r[1].role, PaneRole::A);
    QCOMPARE(r[2].role, PaneRole::B);
    for (int i = 0; i < 30; ++i) s.addRecentImage(PaneRole::B, QStringLiteral("/q/%1.png").arg(i));
    QCOMPARE(int(s.recentImages().size()), WindowSettings::kMaxRecent);
    QCOMPARE(s.recentImages().front().path, QStringLiteral("/q/29.png"));
  }

  void roundTripThroughTheFile() {
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("s.ini"));
    {
      WindowSettings s(file, true);
      s.addRecentImage(PaneRole::B, QStringLiteral("/p/b|odd.png"));
      s.addRecentImage(PaneRole::Reference, QStringLiteral("/p/ref.png"));
      s.setImageFolder(QStringLiteral("/p"));
      s.setModel(QStringLiteral("/models/x"), QStringLiteral("/models/x/tok.model"));
      s.save();
    }
    WindowSettings again(file, true);
    QCOMPARE(again.imageFolder(), QStringLiteral("/p"));
    QCOMPARE(again.reportFolder(), QStringLiteral("/p"));
    QCOMPARE(again.modelDirectory(), QStringLiteral("/models/x"));
    QCOMPARE(again.recentImages().size(), size_t(2));
    QCOMPARE(again.recentImages()[0].role, PaneRole::Reference);
    QCOMPARE(again.recentImages()[1].path, QStringLiteral("/p/b|odd.png"));  // a '|' in a path survives
  }

  void brokenEntriesAreDropped() {
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("s.ini"));
    {
      QSettings raw(file, QSettings::IniFormat);
      raw.setValue(QStringLiteral("recent"), QStringList{QStringLiteral("x|/p/1.png"), QStringLiteral("a|"),
                                                         QStringLiteral("nonsense"), QStringLiteral("b|/p/2.png")});
    }
    WindowSettings s(file, true);
    QCOMPARE(s.recentImages().size(), size_t(1));
    QCOMPARE(s.recentImages()[0].path, QStringLiteral("/p/2.png"));
  }

  void withoutPersistenceNothingIsWritten() {
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("s.ini"));
    {
      WindowSettings s(file, false);
      s.addRecentImage(PaneRole::A, QStringLiteral("/p/1.png"));
      s.setReportFolder(QStringLiteral("/r"));
      s.save();
    }
    WindowSettings again(file, true);
    QVERIFY(again.recentImages().empty());
    QVERIFY(again.reportFolder().isEmpty());
  }
};

QTEST_GUILESS_MAIN(WindowSettingsTest)
#include "test_gui_settings.moc"
