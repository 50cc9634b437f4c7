#pragma once
// What the window remembers between runs, in one place: the folders last used, the
// recent images (newest first, with the pane each went to), the model last loaded,
// and the QSettings the widgets write their own choices into (AttentionControls,
// splitters). Read at construction; written by save(), which does nothing when
// persistence is off (the tests). GUI thread only.
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

#include "ui/image_data.h"

class QSettings;

namespace dqa::ui {

struct RecentImage {
  PaneRole role = PaneRole::A;
  QString path;
};

class WindowSettings {
 public:
  static constexpr int kMaxRecent = 10;

  // `file` empty: the platform's usual place.
  WindowSettings(const QString& file, bool persist);
  ~WindowSettings();

  QSettings& store() { return *settings_; }
  bool persists() const { return persist_; }

  const std::vector<RecentImage>& recentImages() const { return recent_; }
  void addRecentImage(PaneRole role, const QString& absolutePath);

  QString imageFolder() const { return imageFolder_; }
  void setImageFolder(const QString& folder) { imageFolder_ = folder; }
  QString reportFolder() const;  // the image folder until a report is written
  void setReportFolder(const QString& folder);

  QString modelDirectory() const;
  QString tokenizerPath() const;
  void setModel(const QString& directory, const QString& tokenizerPath);
  int modelThreads() const;  // 0: libtorch's choice

  void save();

 private:
  std::unique_ptr<QSettings> settings_;
  bool persist_ = true;
  std::vector<RecentImage> recent_;
  QString imageFolder_;
};

}  // namespace dqa::ui
