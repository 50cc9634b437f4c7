// core/common/result.h: values, errors, and the first error among several results.
#include <QtTest>

#include "core/common/result.h"

using dqa::Error;
using dqa::Result;

class ResultTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void valueOrMessage() {
    Result<int> ok = 3;
    QVERIFY(ok.ok());
    QCOMPARE(*ok, 3);
    Result<int> bad = dqa::makeError("no such file");
    QVERIFY(!bad);
    QCOMPARE(QString::fromStdString(bad.message()), QStringLiteral("no such file"));
  }

  void firstErrorInArgumentOrder() {
    Result<int> a = 1;
    Result<std::string> b = dqa::makeError("second piece missing");
    Result<double> c = dqa::makeError("third piece missing");
    QVERIFY(!dqa::firstError(a, a));
    const auto e = dqa::firstError(a, b, c);
    QVERIFY(e.has_value());
    QCOMPARE(QString::fromStdString(e->message), QStringLiteral("second piece missing"));
    QCOMPARE(QString::fromStdString(dqa::firstError(c, b)->message), QStringLiteral("third piece missing"));
  }
};

QTEST_GUILESS_MAIN(ResultTest)
#include "test_io_result.moc"
