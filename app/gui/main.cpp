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

#include "core/generate/engine.h"
#include "ui/main_window.h"

using dqa::ui::MainWindow;
using dqa::ui::PaneRole;

namespace {

QString str(const char* text) { return QString::fromUtf8(text); }

// The command line. addTo keeps the order --help lists them in.
struct GuiOptions {
  const QCommandLineOption model{{str("m"), str("model")}, str("Model directory."), str("DIR")};
  const QCommandLineOption tokenizer{str("tokenizer"), str("SentencePiece model (overrides <model>/tokenizer.model)."),
                                     str("FILE")};
  const QCommandLineOption reference{{str("r"), str("reference")}, str("Reference image."), str("FILE")};
  const QCommandLineOption imageA{str("a"), str("Image A."), str("FILE")};
  const QCommandLineOption imageB{str("b"), str("Image B."), str("FILE")};
  const QCommandLineOption task{{str("t"), str("task")}, str("description, comparison or reasoning."), str("TASK")};
  const QCommandLineOption question{{str("q"), str("question")}, str("Question text."), str("TEXT")};
  const QCommandLineOption preference{
      {str("p"), str("preference")}, str("Personal preference, e.g. \"I can't tolerate noise.\""), str("TEXT")};
  const QCommandLineOption shortAnswer{str("short"), str("Ask for a short answer (Image A / Image B).")};
  const QCommandLineOption contextLength{str("context-length"),
                                         str("Override the model's context window (RoPE models; quality may degrade)."),
                                         str("TOKENS")};
  const QCommandLineOption ask{str("ask"), str("Ask as soon as the model is loaded.")};
  const QCommandLineOption attention{
      str("attention"), str("After the answer, show the attention of word N (0-based) or of the \"whole\" answer."),
      str("N|whole")};
  const QCommandLineOption region{
      str("region"), str("Region the model looks at: x,y,w,h as fractions of the image, \"auto\" or \"whole\"."),
      str("SPEC")};
  const QCommandLineOption difference{str("difference"), str("Start in the difference view.")};
  const QCommandLineOption screenshot{
      str("screenshot"), str("Save a picture of the window (after --ask: of the answer) and exit."), str("FILE")};
  const QCommandLineOption size{str("size"), str("Window size, e.g. 1400x900."), str("WxH")};
  const QCommandLineOption maxTokens{str("max-tokens"), str("Most tokens to generate (default 400)."), str("N")};
  const QCommandLineOption whole{
      str("whole"), str("Assess the whole image (tiles at full resolution) as soon as the model is loaded.")};
  const QCommandLineOption tile{
      str("tile"), str("After --whole: ask about the tile at column,row (1-based), as a click on it does."),
      str("C,R")};
  const QCommandLineOption settings{str("settings"), str("Use this settings file (INI) instead of the usual one."),
                                    str("FILE")};

  void addTo(QCommandLineParser& parser) const {
    parser.addOptions({contextLength, model,      tokenizer,   reference, imageA,    imageB, task,
                       question,      preference, shortAnswer, ask,       attention, region, difference,
                       screenshot,    size,       settings,    maxTokens, whole,     tile});
  }
};

// Named options first, then positional ones: one image is A, two are reference and A,
// three are reference, A and B.
void loadImages(MainWindow& window, const QCommandLineParser& parser, const GuiOptions& o) {
  const QStringList positional = parser.positionalArguments();
  if (positional.size() == 1) window.loadImage(PaneRole::A, positional[0]);
  if (positional.size() == 2)
    window.loadImage(PaneRole::Reference, positional[0]), window.loadImage(PaneRole::A, positional[1]);
  if (positional.size() >= 3) {
    window.loadImage(PaneRole::Reference, positional[0]);
    window.loadImage(PaneRole::A, positional[1]);
    window.loadImage(PaneRole::B, positional[2]);
  }
  if (parser.isSet(o.reference)) window.loadImage(PaneRole::Reference, parser.value(o.reference));
  if (parser.isSet(o.imageA)) window.loadImage(PaneRole::A, parser.value(o.imageA));
  if (parser.isSet(o.imageB)) window.loadImage(PaneRole::B, parser.value(o.imageB));
}

// Task, question, preference and the view, as a user would set them in the window.
void applyQuestion(MainWindow& window, const QCommandLineParser& parser, const GuiOptions& o) {
  if (parser.isSet(o.task)) {
    dqa::text::Task t;
    if (dqa::text::parseTask(parser.value(o.task).toStdString(), &t))
      window.askingPanel()->setTask(t);
    else
      std::fprintf(stderr, "depictqa-gui: unknown task '%s' (description, comparison, reasoning)\n",
                   qPrintable(parser.value(o.task)));
  }
  if (parser.isSet(o.question)) window.askingPanel()->setQuestion(parser.value(o.question));
  if (parser.isSet(o.preference)) window.askingPanel()->setPreference(parser.value(o.preference));
  if (parser.isSet(o.shortAnswer)) window.askingPanel()->setShortAnswer(true);
  if (parser.isSet(o.maxTokens)) window.setMaxNewTokens(parser.value(o.maxTokens).toInt());
  if (parser.isSet(o.difference)) window.setDifferenceView(true);
  if (parser.isSet(o.region)) {
    const QString spec = parser.value(o.region);
    const QStringList parts = spec.split(QLatin1Char(','));
    if (spec == QLatin1String("whole"))
      window.setRegionEnabled(false);
    else if (parts.size() == 4)
      window.setRegion(QRectF(parts[0].toDouble(), parts[1].toDouble(), parts[2].toDouble(), parts[3].toDouble()));
  }
}

// --attention N|whole: what hovering the N-th word (or the whole answer) shows.
void showAttention(MainWindow& window, const QString& spec) {
  if (spec == QLatin1String("whole")) {
    window.showWholeAnswerAttention();
    return;
  }
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

// Lets layouts and the last repaint settle, saves a picture of the window and exits.
void takeScreenshotSoon(MainWindow& window, const QString& path) {
  QTimer::singleShot(300, &window, [&window, path] {
    const bool saved = window.grab().save(path);
    std::fprintf(stderr, "depictqa-gui: screenshot %s %s\n", qPrintable(path), saved ? "saved" : "NOT saved");
    QApplication::exit(saved ? 0 : 1);
  });
}

// --whole --tile C,R: asks about that tile, as a click on it does; false if it cannot.
bool askAboutTile(MainWindow& window, const QString& spec) {
  const auto* result = window.wholeImageResult();
  const QStringList cr = spec.split(QLatin1Char(','));
  const int column = cr.value(0).toInt() - 1, row = cr.value(1).toInt() - 1;
  const int index = row * result->grid.columns + column;
  return cr.size() == 2 && column >= 0 && row >= 0 && column < result->grid.columns && row < result->grid.rows &&
         window.askAboutTile(index);
}

// Documentation runs: --ask, --whole, --tile, --attention and --screenshot drive the
// window once the model is loaded, and a screenshot ends the run.
void connectScriptedRun(MainWindow& window, const QCommandLineParser& parser, const GuiOptions& o) {
  const QString shotPath = parser.value(o.screenshot);
  const bool wantAsk = parser.isSet(o.ask);
  const bool wantWhole = parser.isSet(o.whole);
  const bool wantTile = parser.isSet(o.tile), wantAttention = parser.isSet(o.attention);
  const QString tile = parser.value(o.tile), attention = parser.value(o.attention);
  auto screenshotIfAsked = [&window, shotPath] {
    if (!shotPath.isEmpty()) takeScreenshotSoon(window, shotPath);
  };
  auto act = [&window, wantAsk, wantWhole, screenshotIfAsked] {
    if (wantWhole) {
      if (!window.assessWholeImage()) screenshotIfAsked();
    } else if (!wantAsk || !window.ask()) {
      screenshotIfAsked();
    }
  };
  // A camera RAW is shown at half size first: the run acts on the full development.
  QObject::connect(&window, &MainWindow::modelLoaded, &window, [&window, act] {
    if (!window.developing()) return act();
    auto* once = new QObject(&window);
    QObject::connect(&window, &MainWindow::imageDeveloped, once, [&window, act, once] {
      if (window.developing()) return;
      once->deleteLater();
      act();
    });
  });
  QObject::connect(&window, &MainWindow::wholeImageFinished, &window, [&window, wantTile, tile, screenshotIfAsked] {
    const auto* result = window.wholeImageResult();
    std::fprintf(stderr, "depictqa-gui: whole image assessed: %zu tiles in %.1f s\n", result->tiles.size(),
                 result->totalMs / 1000);
    if (wantTile) {
      if (askAboutTile(window, tile)) return;  // the screenshot follows the tile's answer
      std::fprintf(stderr, "depictqa-gui: cannot ask about tile %s\n", qPrintable(tile));
    }
    screenshotIfAsked();
  });
  QObject::connect(&window, &MainWindow::wholeImageFailed, &window, screenshotIfAsked);
  QObject::connect(&window, &MainWindow::modelFailed, &window, screenshotIfAsked);
  QObject::connect(
      &window, &MainWindow::answerFinished, &window, [&window, wantAttention, attention, screenshotIfAsked] {
        std::fprintf(stderr, "depictqa-gui: longest UI stall while answering: %.1f ms\n", window.lastLongestStallMs());
        if (wantAttention) showAttention(window, attention);
        screenshotIfAsked();
      });
  QObject::connect(&window, &MainWindow::answerFailed, &window, screenshotIfAsked);
}

}  // namespace

int main(int argc, char** argv) {
  dqa::shareOneHeapAcrossThreads();  // the model answers on a worker thread
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
  const GuiOptions o;
  o.addTo(parser);
  parser.addPositionalArgument(
      QStringLiteral("images"),
      QStringLiteral("[REFERENCE] A [B]: one image is A; two are reference and A; three are reference, A, B."));
  parser.process(app);

  dqa::ui::WindowOptions options;
  options.settingsFile = parser.value(o.settings);
  options.persistSettings = !parser.isSet(o.screenshot);  // documentation runs leave no trace
  MainWindow window(options);
  if (parser.isSet(o.size)) {
    const QStringList wh = parser.value(o.size).split(QLatin1Char('x'));
    if (wh.size() == 2) window.resize(wh[0].toInt(), wh[1].toInt());
  }
  loadImages(window, parser, o);
  applyQuestion(window, parser, o);
  connectScriptedRun(window, parser, o);

  window.show();
  if (parser.isSet(o.contextLength)) window.setContextLength(parser.value(o.contextLength).toInt());
  window.loadDefaultModel(parser.value(o.model), parser.value(o.tokenizer));
  return app.exec();
}
