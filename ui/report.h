#pragma once
// One writer for the reports the window exports (a single answer, a whole-image run):
// a list of facts, the answer text, and figures saved as PNGs in <report>_files/ beside
// the report, as HTML (.html/.htm, any case) or Markdown (anything else).
// GUI thread (QImage saving is thread-safe, but the callers are widgets).
#include <QImage>
#include <QString>
#include <QStringList>

#include <vector>

namespace dqa::ui {

struct ReportFigure {
  QString caption;   // may be empty
  QString fileName;  // e.g. "image_a.png"; written under <report>_files/
  QImage image;
};

struct Report {
  QString title;           // "DepictQA report"
  QStringList facts;       // one bullet each
  QString answer;          // the model's words, quoted as written
  QString figuresHeading;  // "Images"
  QString figuresNote;     // a line under that heading (may be empty)
  std::vector<ReportFigure> figures;
};

enum class ReportFormat { Html, Markdown };
// Html for a .html or .htm suffix (any case), Markdown otherwise.
ReportFormat reportFormatFor(const QString& path);

// Writes `report` to `path` and its figures beside it. Returns an empty string, or a
// message saying which file could not be written and why.
QString writeReport(const Report& report, const QString& path);

}  // namespace dqa::ui
