// depictqa-gui: the desktop window. Everything but argument handling lives in ui/.
//
//   depictqa-gui [--model DIR] [--tokenizer FILE] [REFERENCE] A [B]
//   depictqa-gui --reference r.png --a a.png --b b.png --task comparison --ask
//                --attention 2 --screenshot shot.png      (renders the window and exits)
//   depictqa-gui -r r.png --a a.png --b b.png --whole [--tile 3,2] --screenshot map.png
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QTimer>

#include <cstdio>

#include "ui/main_window.h"

using dqa::ui::MainWindow;
using dqa::ui::PaneRole;

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("DepictQA"));
  QApplication::setApplicationName(QStringLiteral("DepictQA desktop"));
  // Wayland matches the window to its desktop entry (and icon) by this name.
  QGuiApplication::setDesktopFileName(QStringLiteral("io.github.DepictQA.Desktop"));
  QApplication::setApplicationVersion(QStringLiteral("0.1.0"));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Image quality in words (DepictQA) — desktop application"));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption model({QStringLiteral("m"), QStringLiteral("model")}, QStringLiteral("Model directory."),
                                 QStringLiteral("DIR"));
  const QCommandLineOption tokenizer(QStringLiteral("tokenizer"),
                                     QStringLiteral("SentencePiece model (overrides <model>/tokenizer.model)."),
                                     QStringLiteral("FILE"));
  const QCommandLineOption reference({QStringLiteral("r"), QStringLiteral("reference")},
                                     QStringLiteral("Reference image."), QStringLiteral("FILE"));
  const QCommandLineOption imageA(QStringLiteral("a"), QStringLiteral("Image A."), QStringLiteral("FILE"));
  const QCommandLineOption imageB(QStringLiteral("b"), QStringLiteral("Image B."), QStringLiteral("FILE"));
  const QCommandLineOption task({QStringLiteral("t"), QStringLiteral("task")},
                                QStringLiteral("description, comparison or reasoning."), QStringLiteral("TASK"));
  const QCommandLineOption question({QStringLiteral("q"), QStringLiteral("question")}, QStringLiteral("Question text."),
                                    QStringLiteral("TEXT"));
  const QCommandLineOption preference({QStringLiteral("p"), QStringLiteral("preference")},
                                      QStringLiteral("Personal preference, e.g. \"I can't tolerate noise.\""),
                                      QStringLiteral("TEXT"));
  const QCommandLineOption shortAnswer(QStringLiteral("short"),
                                       QStringLiteral("Ask for a short answer (Image A / Image B)."));
  const QCommandLineOption contextLength(
      QStringLiteral("context-length"),
      QStringLiteral("Override the model's context window (RoPE models; quality may degrade)."),
      QStringLiteral("TOKENS"));
  const QCommandLineOption ask(QStringLiteral("ask"), QStringLiteral("Ask as soon as the model is loaded."));
  const QCommandLineOption attention(
      QStringLiteral("attention"),
      QStringLiteral("After the answer, show the attention of word N (0-based) or of the \"whole\" answer."),
      QStringLiteral("N|whole"));
  const QCommandLineOption region(
      QStringLiteral("region"),
      QStringLiteral("Region the model looks at: x,y,w,h as fractions of the image, \"auto\" or \"whole\"."),
      QStringLiteral("SPEC"));
  const QCommandLineOption difference(QStringLiteral("difference"), QStringLiteral("Start in the difference view."));
  const QCommandLineOption screenshot(
      QStringLiteral("screenshot"),
      QStringLiteral("Save a picture of the window (after --ask: of the answer) and exit."), QStringLiteral("FILE"));
  const QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size, e.g. 1400x900."),
                                QStringLiteral("WxH"));
  const QCommandLineOption maxTokens(QStringLiteral("max-tokens"),
                                     QStringLiteral("Most tokens to generate (default 400)."), QStringLiteral("N"));
  const QCommandLineOption whole(
      QStringLiteral("whole"),
      QStringLiteral("Assess the whole image (tiles at full resolution) as soon as the model is loaded."));
  const QCommandLineOption tile(
      QStringLiteral("tile"),
      QStringLiteral("After --whole: ask about the tile at column,row (1-based), as a click on it does."),
      QStringLiteral("C,R"));
  const QCommandLineOption settings(QStringLiteral("settings"),
                                    QStringLiteral("Use this settings file (INI) instead of the usual one."),
                                    QStringLiteral("FILE"));
  parser.addOptions({contextLength, model,      tokenizer,   reference, imageA,    imageB, task,
                     question,      preference, shortAnswer, ask,       attention, region, difference,
                     screenshot,    size,       settings,    maxTokens, whole,     tile});
  parser.addPositionalArgument(
      QStringLiteral("images"),
      QStringLiteral("[REFERENCE] A [B]: one image is A; two are reference and A; three are reference, A, B."));
  parser.process(app);

  dqa::ui::WindowOptions options;
  options.settingsFile = parser.value(settings);
  options.persistSettings = !parser.isSet(screenshot);  // documentation runs leave no trace
  MainWindow window(options);
  if (parser.isSet(size)) {
    const QStringList wh = parser.value(size).split(QLatin1Char('x'));
    if (wh.size() == 2) window.resize(wh[0].toInt(), wh[1].toInt());
  }

  // Images: named options first, then positional ones.
  const QStringList positional = parser.positionalArguments();
  if (positional.size() == 1) window.loadImage(PaneRole::A, positional[0]);
  if (positional.size() == 2)
    window.loadImage(PaneRole::Reference, positional[0]), window.loadImage(PaneRole::A, positional[1]);
  if (positional.size() >= 3) {
    window.loadImage(PaneRole::Reference, positional[0]);
    window.loadImage(PaneRole::A, positional[1]);
    window.loadImage(PaneRole::B, positional[2]);
  }
  if (parser.isSet(reference)) window.loadImage(PaneRole::Reference, parser.value(reference));
  if (parser.isSet(imageA)) window.loadImage(PaneRole::A, parser.value(imageA));
  if (parser.isSet(imageB)) window.loadImage(PaneRole::B, parser.value(imageB));

  if (parser.isSet(task)) {
    dqa::text::Task t;
    if (dqa::text::parseTask(parser.value(task).toStdString(), &t))
      window.askingPanel()->setTask(t);
    else
      std::fprintf(stderr, "depictqa-gui: unknown task '%s' (description, comparison, reasoning)\n",
                   qPrintable(parser.value(task)));
  }
  if (parser.isSet(question)) window.askingPanel()->setQuestion(parser.value(question));
  if (parser.isSet(preference)) window.askingPanel()->setPreference(parser.value(preference));
  if (parser.isSet(shortAnswer)) window.askingPanel()->setShortAnswer(true);
  if (parser.isSet(maxTokens)) window.setMaxNewTokens(parser.value(maxTokens).toInt());
  if (parser.isSet(difference)) window.setDifferenceView(true);
  if (parser.isSet(region)) {
    const QString spec = parser.value(region);
    const QStringList parts = spec.split(QLatin1Char(','));
    if (spec == QLatin1String("whole"))
      window.setRegionEnabled(false);
    else if (parts.size() == 4)
      window.setRegion(QRectF(parts[0].toDouble(), parts[1].toDouble(), parts[2].toDouble(), parts[3].toDouble()));
  }

  const QString shotPath = parser.value(screenshot);
  auto takeScreenshot = [&window, shotPath] {
    // Let layouts and the last repaint settle before grabbing.
    QTimer::singleShot(300, &window, [&window, shotPath] {
      const bool saved = window.grab().save(shotPath);
      std::fprintf(stderr, "depictqa-gui: screenshot %s %s\n", qPrintable(shotPath), saved ? "saved" : "NOT saved");
      QApplication::exit(saved ? 0 : 1);
    });
  };
  const bool wantAsk = parser.isSet(ask);
  const bool wantWhole = parser.isSet(whole);
  QObject::connect(&window, &MainWindow::modelLoaded, &window, [&] {
    if (wantWhole) {
      if (!window.assessWholeImage() && !shotPath.isEmpty()) takeScreenshot();
    } else if (wantAsk && !window.ask() && !shotPath.isEmpty()) {
      takeScreenshot();
    } else if (!wantAsk && !shotPath.isEmpty()) {
      takeScreenshot();
    }
  });
  QObject::connect(&window, &MainWindow::wholeImageFinished, &window, [&] {
    const auto* result = window.wholeImageResult();
    std::fprintf(stderr, "depictqa-gui: whole image assessed: %zu tiles in %.1f s\n", result->tiles.size(),
                 result->totalMs / 1000);
    if (parser.isSet(tile)) {
      const QStringList cr = parser.value(tile).split(QLatin1Char(','));
      const int column = cr.value(0).toInt() - 1, row = cr.value(1).toInt() - 1;
      const int index = row * result->grid.columns + column;
      if (cr.size() == 2 && column >= 0 && row >= 0 && column < result->grid.columns && row < result->grid.rows &&
          window.askAboutTile(index))
        return;  // the screenshot follows the tile's answer
      std::fprintf(stderr, "depictqa-gui: cannot ask about tile %s\n", qPrintable(parser.value(tile)));
    }
    if (!shotPath.isEmpty()) takeScreenshot();
  });
  QObject::connect(&window, &MainWindow::wholeImageFailed, &window, [&] {
    if (!shotPath.isEmpty()) takeScreenshot();
  });
  QObject::connect(&window, &MainWindow::modelFailed, &window, [&] {
    if (!shotPath.isEmpty()) takeScreenshot();
  });
  QObject::connect(&window, &MainWindow::answerFinished, &window, [&] {
    std::fprintf(stderr, "depictqa-gui: longest UI stall while answering: %.1f ms\n", window.lastLongestStallMs());
    if (parser.isSet(attention)) {
      const QString spec = parser.value(attention);
      if (spec == QLatin1String("whole")) {
        window.showWholeAnswerAttention();
      } else {
        // The N-th word of the answer.
        const QString text = window.answerView()->answerText();
        int word = -1, position = 0;
        const int wanted = spec.toInt();
        for (; position < text.size(); ++position) {
          if (text[position].isLetterOrNumber() && (position == 0 || !text[position - 1].isLetterOrNumber())) ++word;
          if (word == wanted) break;
        }
        const auto [from, to] = window.answerView()->wordAt(position);
        const auto [first, last] = window.answerView()->tokensForCharacters(from, to);
        if (first >= 0) window.answerView()->selectTokens(first, last, true);
      }
    }
    if (!shotPath.isEmpty()) takeScreenshot();
  });
  QObject::connect(&window, &MainWindow::answerFailed, &window, [&] {
    if (!shotPath.isEmpty()) takeScreenshot();
  });

  window.show();
  if (parser.isSet(contextLength)) window.setContextLength(parser.value(contextLength).toInt());
  window.loadDefaultModel(parser.value(model), parser.value(tokenizer));
  return app.exec();
}
