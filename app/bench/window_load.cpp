// depictqa-bench-window-load: how long the window takes to show an image dropped on a
// pane (MainWindow::loadImage: decoding, preview, histogram) and, for a camera RAW, until
// the full development has replaced the half-size preview. Best of N, offscreen, no model.
//   depictqa-bench-window-load FILE [RUNS]
// A development tool: not installed.
#include <QApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QSignalSpy>

#include <algorithm>
#include <cstdio>
#include <limits>

#include "ui/main_window.h"

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: depictqa-bench-window-load FILE [RUNS]\n");
    return 2;
  }
  const QString path = QString::fromLocal8Bit(argv[1]);
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  dqa::ui::WindowOptions options;
  options.persistSettings = false;
  dqa::ui::MainWindow window(options);
  double bestShown = std::numeric_limits<double>::infinity(), bestFull = bestShown;
  int width = 0, height = 0, fullWidth = 0, fullHeight = 0;
  for (int run = 0; run < runs; ++run) {
    window.clearImage(dqa::ui::PaneRole::A);
    QSignalSpy developed(&window, &dqa::ui::MainWindow::imageDeveloped);
    QElapsedTimer timer;
    timer.start();
    if (!window.loadImage(dqa::ui::PaneRole::A, path)) {
      std::fprintf(stderr, "depictqa-bench-window-load: %s\n", qPrintable(window.messageText()));
      return 1;
    }
    const double shown = timer.nsecsElapsed() / 1e6;
    width = window.image(dqa::ui::PaneRole::A)->width();
    height = window.image(dqa::ui::PaneRole::A)->height();
    double full = shown;
    if (window.developing()) {
      if (!developed.wait(600000)) return 1;
      full = timer.nsecsElapsed() / 1e6;
    }
    fullWidth = window.image(dqa::ui::PaneRole::A)->width();
    fullHeight = window.image(dqa::ui::PaneRole::A)->height();
    bestShown = std::min(bestShown, shown);
    bestFull = std::min(bestFull, full);
  }
  std::printf("%s: shown in the pane after %.0f ms (%dx%d); full image after %.0f ms (%dx%d); best of %d\n",
              qPrintable(QFileInfo(path).fileName()), bestShown, width, height, bestFull, fullWidth, fullHeight, runs);
  return 0;
}
