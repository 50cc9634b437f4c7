// The report writer shared by the single-answer and whole-image exports.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include "ui/report.h"

using dqa::ui::Report;
using dqa::ui::ReportFormat;

namespace {

Report sampleReport() {
  Report r;
  r.title = QStringLiteral("DepictQA report");
  r.facts << QStringLiteral("Question: Which is better, <A> or B?") << QStringLiteral("Model: /models/default");
  r.answer = QStringLiteral("Image A has mild noise.\nOverall, Image B is better.");
  r.figuresHeading = QStringLiteral("Images");
  QImage red(8, 6, QImage::Format_RGB32);
  red.fill(Qt::red);
  r.figures.push_back({QStringLiteral("Image A"), QStringLiteral("a.png"), red});
  r.figures.push_back({QStringLiteral("Image A — attention"), QStringLiteral("a_attention.png"), red});
  return r;
}

QString readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

}  // namespace

class ReportTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void formatFollowsTheSuffixInAnyCase() {
    QCOMPARE(dqa::ui::reportFormatFor(QStringLiteral("/x/r.html")), ReportFormat::Html);
    QCOMPARE(dqa::ui::reportFormatFor(QStringLiteral("/x/r.HTM")), ReportFormat::Html);
    QCOMPARE(dqa::ui::reportFormatFor(QStringLiteral("/x/r.htm")), ReportFormat::Html);
    QCOMPARE(dqa::ui::reportFormatFor(QStringLiteral("/x/r.md")), ReportFormat::Markdown);
    QCOMPARE(dqa::ui::reportFormatFor(QStringLiteral("/x/r.html5")), ReportFormat::Markdown);
    QCOMPARE(dqa::ui::reportFormatFor(QStringLiteral("/x/report")), ReportFormat::Markdown);
  }

  void htmlEscapesAndLinksItsFigures() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("out.HTM"));
    QCOMPARE(dqa::ui::writeReport(sampleReport(), path), QString());
    const QString html = readAll(path);
    QVERIFY(html.startsWith(QStringLiteral("<!DOCTYPE html>")));
    QVERIFY(html.contains(QStringLiteral("&lt;A&gt;")));
    QVERIFY(!html.contains(QStringLiteral("<A>")));
    QVERIFY(html.contains(QStringLiteral("<img src=\"out_files/a_attention.png\">")));
    QVERIFY(html.contains(QStringLiteral("Image A — attention")));
    const QImage saved(dir.filePath(QStringLiteral("out_files/a.png")));
    QCOMPARE(saved.size(), QSize(8, 6));
    QCOMPARE(saved.pixelColor(3, 3), QColor(Qt::red));
  }

  void markdownQuotesEveryLineOfTheAnswer() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("out.md"));
    QCOMPARE(dqa::ui::writeReport(sampleReport(), path), QString());
    const QString md = readAll(path);
    QVERIFY(md.startsWith(QStringLiteral("# DepictQA report\n")));
    QVERIFY(md.contains(QStringLiteral("- Model: /models/default\n")));
    QVERIFY(md.contains(QStringLiteral("> Image A has mild noise.\n> Overall, Image B is better.\n")));
    QVERIFY(md.contains(QStringLiteral("![Image A](out_files/a.png)")));
  }

  void noFiguresNoFolder() {
    QTemporaryDir dir;
    Report r = sampleReport();
    r.figures.clear();
    QCOMPARE(dqa::ui::writeReport(r, dir.filePath(QStringLiteral("plain.md"))), QString());
    QVERIFY(!QDir(dir.filePath(QStringLiteral("plain_files"))).exists());
    QVERIFY(!readAll(dir.filePath(QStringLiteral("plain.md"))).contains(QStringLiteral("## Images")));
  }

  void unwritablePlacesAreNamed() {
    QTemporaryDir dir;
    // A folder whose parent is a file: neither the figures nor the report can be written.
    QFile blocker(dir.filePath(QStringLiteral("file")));
    QVERIFY(blocker.open(QIODevice::WriteOnly));
    blocker.close();
    const QString path = dir.filePath(QStringLiteral("file/report.html"));
    const QString error = dqa::ui::writeReport(sampleReport(), path);
    QVERIFY2(error.contains(QStringLiteral("report_files")), qPrintable(error));
    Report r = sampleReport();
    r.figures.clear();
    const QString error2 = dqa::ui::writeReport(r, path);
    QVERIFY2(error2.contains(path), qPrintable(error2));
  }
};

QTEST_GUILESS_MAIN(ReportTest)
#include "test_gui_report.moc"
