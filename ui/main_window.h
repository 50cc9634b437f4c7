#pragma once
// The DepictQA window: three image panes with a shared viewport, the asking panel,
// the streamed answer with its verdict, attention overlays, history, metrics and
// reports. The model runs on ModelHost's worker thread; this class only ever sees
// torch-free answers arriving through queued signals.
#include <QFutureWatcher>
#include <QMainWindow>
#include <QPointer>
#include <QTimer>

#include <array>
#include <atomic>
#include <memory>
#include <optional>

#include "ui/answer_view.h"
#include "ui/asking_panel.h"
#include "ui/attention_controls.h"
#include "ui/attention_overlay.h"
#include "ui/display_colour.h"
#include "ui/image_data.h"
#include "ui/image_pane.h"
#include "ui/message_bar.h"
#include "ui/model_worker.h"
#include "ui/report.h"
#include "ui/stall_meter.h"
#include "ui/viewport.h"
#include "ui/window_settings.h"

class QAction;
class QLabel;
class QListWidget;
class QMenu;
class QProgressBar;
class QSettings;
class QSplitter;
class QToolButton;

namespace dqa::ui {

struct WindowOptions {
  QString settingsFile;  // empty: the platform's usual place (QSettings default)
  bool persistSettings = true;
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(const WindowOptions& options = {}, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Loading images; false (and a message in the window) on failure. A camera RAW shows a
  // half-size preview at once and is developed in full in the background (imageDeveloped
  // then); asking waits for it.
  bool loadImage(PaneRole role, const QString& path);
  bool developing() const;  // a camera RAW's full development is still running
  bool setImageData(PaneRole role, const QByteArray& bytes, const QString& name);
  bool setImageFromQImage(PaneRole role, const QImage& image, const QString& name);
  void clearImage(PaneRole role);
  const PaneImage* image(PaneRole role) const;

  // The model (loads on the worker thread; modelReady/modelFailed tell the outcome).
  void loadModel(const QString& directory, const QString& tokenizerPath = {});
  // Uses --model / DEPICTQA_MODEL / the saved setting / XDG / bundled, in that order.
  void loadDefaultModel(const QString& explicitDirectory, const QString& tokenizerPath);
  // Overrides the model's context window (0: the model's own), as --context-length.
  void setContextLength(int tokens) { contextLength_ = tokens; }
  bool modelReady() const;
  bool answering() const;

  // Asking; returns false (message shown) when the question cannot be asked yet.
  bool ask();
  void stop();
  void setMaxNewTokens(int tokens) { maxNewTokens_ = tokens; }
  AskingPanel* askingPanel() const { return asking_; }
  AnswerView* answerView() const { return answerView_; }
  ImagePane* pane(PaneRole role) const { return panes_[size_t(role)]; }
  SharedViewport* viewport() { return &viewport_; }
  QListWidget* history() const { return history_; }
  ModelHost* modelHost() const { return host_.get(); }

  // Region of interest in normalised coordinates; `enabled` false sends whole images.
  // Until the user (or this call) turns it on or off, it follows the loaded model: off
  // for encoders that read whole images at native resolution, on for those that
  // downscale them to their input (CLIP).
  void setRegion(const QRectF& normalised);
  void setRegionEnabled(bool enabled);
  bool regionEnabled() const { return regionEnabled_; }
  QRectF region() const { return region_; }
  QRect regionInPixels(PaneRole role) const;

  // Attention: shows tokens [first, last) of the current answer; (0, 0) hides.
  void showAttention(int first, int last);
  void showWholeAnswerAttention();
  void setOverlayOptions(const OverlayOptions& options);
  void setAttentionLayer(int layer);  // -1: mean over all captured layers

  void setDifferenceView(bool on);
  void setFlicker(bool on);
  void zoomHundredPercent();

  // Whole-image mode (core/tiled): A vs B over the full frames, tile by tile. The
  // verdict map is drawn over every pane; clicking a judged tile asks for its reasoning.
  bool assessWholeImage();
  const dqa::tiled::WholeImageResult* wholeImageResult() const { return whole_.get(); }
  void setVerdictMapVisible(bool visible);
  bool verdictMapVisible() const { return verdictMapVisible_; }
  bool askAboutTile(int tileIndex);  // reasoning about one tile, its rectangle as the region
  // What the status bar says when the mouse is over the tile at an image point ("" when none).
  QString tileSummaryAt(QPointF imagePoint) const;
  // The pixel rectangle each pane sent with the answer on display (for checking overlays).
  QRect answeredRegion(PaneRole role) const;

  bool exportReport(const QString& path);  // .md or .html (images written beside it)
  QString messageText() const;             // the message bar's current text
  double lastLongestStallMs() const { return lastStallMs_; }

 Q_SIGNALS:
  void modelLoaded();
  void modelFailed(const QString& message);
  void imagesReplaced();  // any pane's image loaded, replaced or cleared
  // A camera RAW's full development ended: it replaced the preview, or failed (the message
  // bar says why and the preview stays).
  void imageDeveloped(dqa::ui::PaneRole role);
  void questionAsked(quint64 id);  // then answerFinished or answerFailed with the same id
  void wholeImageStarted();        // then wholeImageFinished or wholeImageFailed
  void answerFinished(quint64 id);
  void answerFailed(quint64 id, const QString& message);
  void messageShown(const QString& message);
  void wholeImageFinished();
  void wholeImageFailed(const QString& message);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;

 private:
  struct AskContext {
    quint64 id = 0;
    QString heading;
    std::array<QRect, kPaneCount> regions;  // pixel rectangle sent to the model, per pane
    dqa::text::Task task = dqa::text::Task::Comparison;
    QString question, preference;
  };
  struct HistoryEntry {
    AskContext context;
    AnswerPtr answer;
  };

  void buildMenus();
  void buildLayout();
  QWidget* buildPanes(QWidget* parent);
  QWidget* buildAskingPanel(QWidget* parent);
  QWidget* buildAnswerSide(QWidget* parent);
  QWidget* buildHistorySide(QWidget* parent);
  void buildStatusBar();
  void showMessage(const QString& text, bool error = true);
  void hideMessage();
  void refreshPane(PaneRole role);
  void refreshAllPanes();
  void imagesChanged();
  void developInBackground(PaneRole role, const QString& path);
  // Another model's working space: every image decoded again into it (from its file, or
  // the bytes it was pasted as), so colours outside the old space are not lost to clipping.
  void convertImagesTo(dqa::WorkingSpace space);
  void onDeveloped(PaneRole role, const QString& path);
  // A running answer or whole-image assessment that no longer applies: stopped, forgotten,
  // and answerFailed / wholeImageFailed say why.
  void setAsideRunningAnswer(const QString& why);
  void updateAskState();
  // PSNR / SSIM / GMSD of A and B against the reference, off the UI thread. They wait
  // while the model works: on 2 cores they took its CPU (on a 14.7 MP pair, about 3 s of
  // the first answer). holdMetrics stops a running computation when an answer or a
  // whole-image assessment starts; resumeHeldMetrics starts it again when that ends.
  void updateMetrics();
  void holdMetrics();
  void markMetricsHeld();  // to compute when the model is done, and the panes say so
  void resumeHeldMetrics();
  void showMetricsNote(const QString& note);  // on the panes of A and B that show an image
  void updateDefaultRegion();
  void applyRegionEnabled(bool enabled);
  void followModelForRegion(const dqa::ModelInfo& info);
  void onToken(quint64 id, int index, const QString& text, float probability);
  void onAnswered(quint64 id, const AnswerPtr& answer);
  void onFailed(quint64 id, const QString& message);
  void updateOverlays();
  void clearOverlays();
  PaneRole paneFor(dqa::text::ImageRole role) const;
  void openImageDialog(PaneRole role);
  void pasteImage(PaneRole role);
  void rebuildRecentMenu();
  void restoreSettings();
  void saveSettings();
  QImage compositeWithOverlay(PaneRole role) const;
  void copyAnswer();
  void exportDialog();
  void openModelDialog();
  void chooseTokenizerDialog();
  void onWholeProgress(quint64 id, int stage, int done, int total, double elapsedMs);
  void onWholeAssessed(quint64 id, const WholePtr& result);
  void onWholeFailed(const QString& message);
  void onCanvasClicked(QPointF imagePoint);
  void onCanvasHovered(QPointF imagePoint);  // the verdict of the tile under the mouse, in the status bar
  QString wholeImageUnavailableReason() const;
  void applyVerdictMap();  // the map on every pane that shows no attention overlay
  bool exportWholeImageReport(const QString& path);
  bool writeReportOrSay(const Report& report, const QString& path);  // false: the message bar says why

  WindowOptions options_;
  std::unique_ptr<WindowSettings> settings_;
  SharedViewport viewport_;
  std::array<std::optional<PaneImage>, kPaneCount> images_;
  std::array<ImagePane*, kPaneCount> panes_{};
  std::array<AttentionOverlay, kPaneCount> overlays_;
  std::array<QString, kPaneCount> metricsText_;
  std::unique_ptr<ModelHost> host_;
  AskingPanel* asking_ = nullptr;
  AnswerView* answerView_ = nullptr;
  QListWidget* history_ = nullptr;
  AttentionControls* attention_ = nullptr;
  MessageBar* messageBar_ = nullptr;
  QLabel* modelLabel_ = nullptr;
  QLabel* stallLabel_ = nullptr;
  QLabel* displayLabel_ = nullptr;  // the display's colour profile (display_colour.h)
  DisplayColour display_;
  QProgressBar* progress_ = nullptr;
  QSplitter* vertical_ = nullptr;
  QSplitter* bottom_ = nullptr;
  QMenu* recentMenu_ = nullptr;
  QAction* differenceAction_ = nullptr;
  QAction* flickerAction_ = nullptr;
  QAction* regionAction_ = nullptr;
  QTimer flickerTimer_;
  bool flickerShowsB_ = false;
  StallMeter stallMeter_;
  double lastStallMs_ = 0;
  QRectF region_{0, 0, 1, 1};
  bool regionEnabled_ = true;
  bool regionIsAutomatic_ = true;
  bool regionModeChosen_ = false;  // "Look at region" set by the user; else the model's default
  int modelImageSize_ = 0;
  dqa::WorkingSpace workingSpace_ = dqa::WorkingSpace::Srgb;  // the loaded model's (config.json)
  int maxNewTokens_ = 400;                                    // DepictQA's generation limit
  QString modelDirectory_, tokenizerPath_;
  int contextLength_ = 0;
  std::optional<AskContext> pending_;
  std::optional<quint64> pendingWhole_;
  WholePtr whole_;
  AttentionOverlay verdictOverlay_;  // the map as an overlay over the full frame
  bool verdictMapVisible_ = true;
  QAction* verdictMapAction_ = nullptr;
  QString nextHeadingPrefix_;            // consumed by ask(): what a tile question is about
  std::optional<HistoryEntry> current_;  // the answer on display (with its context)
  std::vector<HistoryEntry> entries_;
  std::pair<int, int> attentionTokens_{0, 0};
  QFutureWatcher<std::array<QualityMetrics, 2>> metricsWatcher_;
  std::shared_ptr<std::atomic<bool>> metricsStop_;  // the running computation's stop flag
  bool metricsHeld_ = false;                        // to compute when the model is done
  // Full developments of camera RAW files shown as half-size previews, one per pane; a
  // result whose pane no longer shows that file's preview is dropped.
  std::array<std::unique_ptr<QFutureWatcher<LoadOutcome>>, kPaneCount> developers_;
};

// Resources live in the static library; call once before using them.
void initResources();

}  // namespace dqa::ui
