#include "ui/window_settings.h"

#include <QSettings>

#include <algorithm>

namespace dqa::ui {
namespace {

// Stored as "a|/path/to/file.png", newest first.
constexpr QChar kSeparator = QLatin1Char('|');

}  // namespace

WindowSettings::WindowSettings(const QString& file, bool persist) : persist_(persist) {
  settings_ = file.isEmpty()
                  ? std::make_unique<QSettings>(QStringLiteral("DepictQA"), QStringLiteral("DepictQA desktop"))
                  : std::make_unique<QSettings>(file, QSettings::IniFormat);
  imageFolder_ = settings_->value(QStringLiteral("folders/images")).toString();
  for (const QString& entry : settings_->value(QStringLiteral("recent")).toStringList()) {
    const auto role = paneRoleFromKey(entry.section(kSeparator, 0, 0));
    const QString path = entry.section(kSeparator, 1);
    if (role && !path.isEmpty() && int(recent_.size()) < kMaxRecent) recent_.push_back({*role, path});
  }
}

WindowSettings::~WindowSettings() = default;

void WindowSettings::addRecentImage(PaneRole role, const QString& absolutePath) {
  recent_.erase(std::remove_if(recent_.begin(), recent_.end(),
                               [&](const RecentImage& r) { return r.role == role && r.path == absolutePath; }),
                recent_.end());
  recent_.insert(recent_.begin(), {role, absolutePath});
  if (int(recent_.size()) > kMaxRecent) recent_.resize(size_t(kMaxRecent));
}

QString WindowSettings::reportFolder() const {
  return settings_->value(QStringLiteral("folders/reports"), imageFolder_).toString();
}

void WindowSettings::setReportFolder(const QString& folder) {
  if (persist_) settings_->setValue(QStringLiteral("folders/reports"), folder);
}

QString WindowSettings::modelDirectory() const {
  return settings_->value(QStringLiteral("model/directory")).toString();
}
QString WindowSettings::tokenizerPath() const { return settings_->value(QStringLiteral("model/tokenizer")).toString(); }

void WindowSettings::setModel(const QString& directory, const QString& tokenizerPath) {
  settings_->setValue(QStringLiteral("model/directory"), directory);
  settings_->setValue(QStringLiteral("model/tokenizer"), tokenizerPath);
}

int WindowSettings::modelThreads() const { return settings_->value(QStringLiteral("model/threads"), 0).toInt(); }

void WindowSettings::save() {
  if (!persist_) return;
  settings_->setValue(QStringLiteral("folders/images"), imageFolder_);
  QStringList recent;
  for (const RecentImage& r : recent_) recent << paneRoleKey(r.role) + kSeparator + r.path;
  settings_->setValue(QStringLiteral("recent"), recent);
  settings_->sync();
}

}  // namespace dqa::ui
