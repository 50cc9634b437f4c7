// packaging/: the .desktop file and the AppStream metainfo pass the freedesktop
// validators (desktop-file-validate, appstreamcli validate --no-net), the icon is SVG,
// and the install layout in packaging/CMakeLists.txt puts the tokenizer module and the
// bundled model where the code looks for them.
#include <QtTest/QtTest>

#include <QXmlStreamReader>

#include <algorithm>

#include "core/io/model_dir.h"
#include "core/text/tokenizer.h"
#include "test_support.h"

namespace {

const QString kAppId = QStringLiteral("io.github.DepictQA.Desktop");

QString packagingFile(const QString& suffix) {
  return QString::fromStdString(dqa::test::sourceDir()) + QStringLiteral("/packaging/") + kAppId + suffix;
}

QString readText(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) return {};
  return QString::fromUtf8(f.readAll());
}

struct ToolRun {
  bool started = false;
  int code = -1;
  QString output;
};

ToolRun runTool(const QString& program, const QStringList& args) {
  ToolRun r;
  QProcess p;
  p.setProcessChannelMode(QProcess::MergedChannels);
  p.start(program, args);
  if (!p.waitForStarted(10000)) return r;
  r.started = true;
  p.waitForFinished(60000);
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.output = QString::fromUtf8(p.readAll());
  return r;
}

}  // namespace

class PackagingTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void desktopFileValidates() {
    const QString path = packagingFile(QStringLiteral(".desktop"));
    QVERIFY2(QFileInfo::exists(path), qPrintable(path));
    if (QStandardPaths::findExecutable(QStringLiteral("desktop-file-validate")).isEmpty())
      QSKIP("desktop-file-validate is not installed (Debian: desktop-file-utils)");
    const ToolRun r = runTool(QStringLiteral("desktop-file-validate"), {path});
    QVERIFY(r.started);
    QVERIFY2(r.code == 0, qPrintable(r.output));
    QVERIFY2(!r.output.contains(QStringLiteral("error:")) && !r.output.contains(QStringLiteral("warning:")),
             qPrintable(r.output));
  }

  void desktopFileOpensImages() {
    const QString text = readText(packagingFile(QStringLiteral(".desktop")));
    QVERIFY(text.contains(QStringLiteral("\nExec=depictqa-gui %F\n")));
    QVERIFY(text.contains(QStringLiteral("\nIcon=") + kAppId + QStringLiteral("\n")));
    const QRegularExpression mime(QStringLiteral("\nMimeType=([^\n]*)\n"));
    const auto m = mime.match(text);
    QVERIFY(m.hasMatch());
    const QStringList types = m.captured(1).split(QLatin1Char(';'), Qt::SkipEmptyParts);
    for (const char* t : {"image/png", "image/jpeg", "image/bmp", "image/tiff", "image/webp"})
      QVERIFY2(types.contains(QString::fromLatin1(t)), t);
    for (const QString& t : types) QVERIFY2(t.startsWith(QStringLiteral("image/")), qPrintable(t));
  }

  void metainfoValidates() {
    const QString path = packagingFile(QStringLiteral(".metainfo.xml"));
    QVERIFY2(QFileInfo::exists(path), qPrintable(path));
    const QString text = readText(path);
    QVERIFY(text.contains(QStringLiteral("<id>") + kAppId + QStringLiteral("</id>")));
    QVERIFY(text.contains(QStringLiteral(">") + kAppId + QStringLiteral(".desktop</launchable>")));
    if (QStandardPaths::findExecutable(QStringLiteral("appstreamcli")).isEmpty())
      QSKIP("appstreamcli is not installed (Debian: appstream)");
    const ToolRun r =
        runTool(QStringLiteral("appstreamcli"), {QStringLiteral("validate"), QStringLiteral("--no-net"), path});
    QVERIFY(r.started);
    // Exit status 0: no errors and no warnings (infos and pedantic notes are allowed).
    QVERIFY2(r.code == 0, qPrintable(r.output));
  }

  void iconIsSvg() {
    QFile f(packagingFile(QStringLiteral(".svg")));
    QVERIFY(f.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&f);
    bool root = false;
    while (!xml.atEnd()) {
      xml.readNext();
      if (xml.isStartElement() && !root) {
        root = true;
        QCOMPARE(xml.name().toString(), QStringLiteral("svg"));
        QCOMPARE(xml.namespaceUri().toString(), QStringLiteral("http://www.w3.org/2000/svg"));
        QVERIFY(xml.attributes().hasAttribute(QStringLiteral("viewBox")));
      }
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QVERIFY(root);
  }

  // The install destinations in packaging/CMakeLists.txt match the places the code
  // searches relative to the executable.
  void cudaOptionRefusesACpuOnlyLibtorch() {
    // DEPICTQA_CUDA=ON must fail at configure time, with the fix in the message, when the
    // libtorch found has no CUDA (Debian's); a CUDA libtorch is not available here.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const ToolRun r =
        runTool(QStringLiteral("cmake"),
                {QStringLiteral("-S"), QString::fromStdString(dqa::test::sourceDir()), QStringLiteral("-B"), dir.path(),
                 QStringLiteral("-G"), QStringLiteral("Ninja"), QStringLiteral("-DDEPICTQA_CUDA=ON"),
                 QStringLiteral("-DDEPICTQA_BUILD_GUI=OFF"), QStringLiteral("-DDEPICTQA_BUILD_TESTS=OFF")});
    QVERIFY(r.started);
    QVERIFY2(r.code != 0, qPrintable(r.output));
    QVERIFY2(r.output.contains(QStringLiteral("has no CUDA")) && r.output.contains(QStringLiteral("Torch_DIR")),
             qPrintable(r.output.right(2000)));
  }

  void installLayoutMatchesTheCode() {
    const QString cmake =
        readText(QString::fromStdString(dqa::test::sourceDir()) + QStringLiteral("/packaging/CMakeLists.txt"));
    QVERIFY(cmake.contains(QStringLiteral("install(TARGETS depictqa_spm LIBRARY DESTINATION lib/depictqa ")));
    QVERIFY(cmake.contains(QStringLiteral("DESTINATION share/depictqa/models/default")));
    const auto modules = dqa::text::Tokenizer::moduleSearchPaths();
    QVERIFY(std::any_of(modules.begin(), modules.end(), [](const std::string& p) {
      return QString::fromStdString(p).endsWith(QStringLiteral("/../lib/depictqa/libdepictqa_spm.so"));
    }));
    std::vector<std::string> tried;
    qputenv("DEPICTQA_MODEL", "");
    (void)dqa::io::locateModelDirectory({"", ""}, &tried);
    QVERIFY(std::any_of(tried.begin(), tried.end(), [](const std::string& p) {
      return QString::fromStdString(p).contains(QStringLiteral("/../share/depictqa/models/default"));
    }));
  }
};

QTEST_GUILESS_MAIN(PackagingTest)
#include "test_packaging.moc"
