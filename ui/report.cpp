#include "ui/report.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QObject>
#include <QTextStream>

namespace dqa::ui {
namespace {

void writeHtml(QTextStream& out, const Report& r, const QStringList& files) {
  out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << r.title.toHtmlEscaped()
      << "</title>"
         "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}figure{display:inline-block;margin:6px}"
         "img{max-width:340px;border:1px solid "
         "#888}.answer{background:#f4f4f4;padding:10px;white-space:pre-wrap}</style>"
         "</head><body>\n<h1>"
      << r.title.toHtmlEscaped() << "</h1>\n<ul>\n";
  for (const QString& f : r.facts) out << "<li>" << f.toHtmlEscaped() << "</li>\n";
  out << "</ul>\n<h2>" << QObject::tr("Answer") << "</h2>\n<div class=\"answer\">" << r.answer.toHtmlEscaped()
      << "</div>\n";
  if (r.figures.empty()) {
    out << "</body></html>\n";
    return;
  }
  out << "<h2>" << r.figuresHeading.toHtmlEscaped() << "</h2>\n";
  if (!r.figuresNote.isEmpty()) out << "<p>" << r.figuresNote.toHtmlEscaped() << "</p>\n";
  for (size_t i = 0; i < r.figures.size(); ++i)
    out << "<figure><img src=\"" << files[int(i)].toHtmlEscaped() << "\"><figcaption>"
        << r.figures[i].caption.toHtmlEscaped() << "</figcaption></figure>\n";
  out << "</body></html>\n";
}

void writeMarkdown(QTextStream& out, const Report& r, const QStringList& files) {
  out << "# " << r.title << "\n\n";
  for (const QString& f : r.facts) out << "- " << f << "\n";
  out << "\n## " << QObject::tr("Answer") << "\n\n";
  for (const QString& line : r.answer.split(QLatin1Char('\n'))) out << "> " << line << "\n";
  if (r.figures.empty()) return;
  out << "\n## " << r.figuresHeading << "\n\n";
  if (!r.figuresNote.isEmpty()) out << r.figuresNote << "\n\n";
  for (size_t i = 0; i < r.figures.size(); ++i) out << "![" << r.figures[i].caption << "](" << files[int(i)] << ")\n\n";
}

}  // namespace

ReportFormat reportFormatFor(const QString& path) {
  const QString suffix = QFileInfo(path).suffix();
  const bool html = suffix.compare(QLatin1String("html"), Qt::CaseInsensitive) == 0 ||
                    suffix.compare(QLatin1String("htm"), Qt::CaseInsensitive) == 0;
  return html ? ReportFormat::Html : ReportFormat::Markdown;
}

QString writeReport(const Report& report, const QString& path) {
  const QFileInfo info(path);
  const QString assetsName = info.completeBaseName() + QStringLiteral("_files");
  QDir dir(info.absolutePath());
  QStringList files;  // relative to the report
  if (!report.figures.empty() && !dir.mkpath(assetsName))
    return QObject::tr("Cannot create %1 for the report's images.").arg(dir.filePath(assetsName));
  for (const ReportFigure& f : report.figures) {
    const QString relative = assetsName + QLatin1Char('/') + f.fileName;
    if (!f.image.save(dir.filePath(relative), "PNG"))
      return QObject::tr("Cannot write %1.").arg(dir.filePath(relative));
    files << relative;
  }
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
    return QObject::tr("Cannot write the report %1: %2").arg(path, file.errorString());
  QTextStream out(&file);
  if (reportFormatFor(path) == ReportFormat::Html)
    writeHtml(out, report, files);
  else
    writeMarkdown(out, report, files);
  out.flush();
  if (file.error() != QFileDevice::NoError)
    return QObject::tr("Cannot write the report %1: %2").arg(path, file.errorString());
  return {};
}

}  // namespace dqa::ui
