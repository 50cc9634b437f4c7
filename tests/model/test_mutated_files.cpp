// Real files damaged the ways disks, downloads and careless tools damage them, through
// the command line's loaders and the engine: every case must end in an answer (exit 0)
// or a clear error (exit 1, one "depictqa: ..." line naming the file or model it could
// not use), never a crash, a hang or a sanitizer report.
//
// Images: the project's own real files (the screenshots' PNGs and JPEG) and a crop of
// one re-encoded by OpenCV as PNG, JPEG (baseline and progressive), WebP, TIFF and BMP,
// plus any photos in $DEPICTQA_PHOTOS (scripts/fetch_photos.sh). Mutations, seeded: bit
// flips, truncation at every chunk / segment boundary and inside each, two chunks
// swapped, a length field set to 0 or to its maximum, the header of another format.
// Model directories: the bundled model with config.json, model.safetensors (its header
// length, header JSON, tensor data) or tokenizer.model damaged the same ways.
//
// DEPICTQA_MUTATIONS=long runs every mutation of every file (>= 1,000 images and
// >= 1,000 model directories, docs/reliability.md); the default is a short sample for
// CI. DEPICTQA_MUTATION_ARTIFACTS=DIR keeps each failing case's file there; DEPICTQA_CLI and
// DEPICTQA_MODEL replace build/bin/depictqa and models/default (frozen copies for long runs).
#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "test_support.h"

namespace {

struct Chunk {
  qsizetype offset = 0;     // first byte of the chunk (its length or marker)
  qsizetype size = 0;       // whole chunk, header included
  qsizetype lengthAt = -1;  // where its length field is
  int lengthBytes = 0;      // 4 (PNG, big-endian; RIFF, little-endian) or 2 (JPEG, big-endian)
  bool littleEndian = false;
};

quint32 be32(const QByteArray& b, qsizetype at) {
  return (quint32(quint8(b[at])) << 24) | (quint32(quint8(b[at + 1])) << 16) | (quint32(quint8(b[at + 2])) << 8) |
         quint32(quint8(b[at + 3]));
}

// PNG: 8-byte signature, then [length 4][type 4][data][crc 4].
std::vector<Chunk> pngChunks(const QByteArray& b) {
  std::vector<Chunk> out;
  qsizetype at = 8;
  while (at + 12 <= b.size()) {
    const qsizetype size = 12 + qsizetype(be32(b, at));
    if (size < 12 || at + size > b.size()) break;
    out.push_back({at, size, at, 4, false});
    at += size;
  }
  return out;
}

// JPEG: FFD8, then segments FFxx [length 2, including itself][data]; after SOS (FFDA)
// the entropy-coded scan runs to the next marker that is not FF00 or a restart marker.
std::vector<Chunk> jpegSegments(const QByteArray& b) {
  std::vector<Chunk> out;
  qsizetype at = 2;
  while (at + 4 <= b.size() && quint8(b[at]) == 0xFF) {
    const quint8 marker = quint8(b[at + 1]);
    if (marker == 0xD9) break;
    const qsizetype length = (qsizetype(quint8(b[at + 2])) << 8) | quint8(b[at + 3]);
    qsizetype end = at + 2 + length;
    if (length < 2 || end > b.size()) break;
    if (marker == 0xDA) {
      while (end + 1 < b.size() && !(quint8(b[end]) == 0xFF && quint8(b[end + 1]) != 0 &&
                                     (quint8(b[end + 1]) < 0xD0 || quint8(b[end + 1]) > 0xD7)))
        ++end;
    }
    out.push_back({at, end - at, at + 2, 2, false});
    at = end;
  }
  return out;
}

// RIFF (WebP): "RIFF" size "WEBP", then [fourcc 4][size 4, little-endian][data, even].
std::vector<Chunk> riffChunks(const QByteArray& b) {
  std::vector<Chunk> out;
  if (b.size() < 12 || !b.startsWith("RIFF")) return out;
  qsizetype at = 12;
  while (at + 8 <= b.size()) {
    const quint32 n = quint32(quint8(b[at + 4])) | (quint32(quint8(b[at + 5])) << 8) |
                      (quint32(quint8(b[at + 6])) << 16) | (quint32(quint8(b[at + 7])) << 24);
    const qsizetype size = 8 + qsizetype(n) + qsizetype(n % 2);
    if (at + size > b.size()) break;
    out.push_back({at, size, at + 4, 4, true});
    at += size;
  }
  return out;
}

std::vector<Chunk> chunksOf(const QByteArray& b) {
  if (b.startsWith("\x89PNG")) return pngChunks(b);
  if (b.startsWith("\xFF\xD8")) return jpegSegments(b);
  if (b.startsWith("RIFF")) return riffChunks(b);
  return {};
}

void setLength(QByteArray& b, const Chunk& c, quint32 value) {
  for (int i = 0; i < c.lengthBytes; ++i) {
    const int shift = c.littleEndian ? 8 * i : 8 * (c.lengthBytes - 1 - i);
    b[c.lengthAt + i] = char((value >> shift) & 0xFF);
  }
}

struct Case {
  QString name;
  QByteArray bytes;
};

// Every mutation of `original` this suite knows, in a fixed order; `rng` seeds the flips.
std::vector<Case> mutationsOf(const QString& label, const QByteArray& original, std::mt19937& rng, int flipRounds) {
  std::vector<Case> out;
  auto add = [&](const QString& what, QByteArray bytes) { out.push_back({label + ": " + what, std::move(bytes)}); };
  add("empty", QByteArray());
  add("first byte only", original.left(1));
  for (int round = 0; round < flipRounds; ++round)
    for (int flips : {1, 8, 64}) {
      QByteArray b = original;
      for (int i = 0; i < flips && !b.isEmpty(); ++i) {
        const qsizetype at = qsizetype(rng() % quint64(b.size()));
        b[at] = char(quint8(b[at]) ^ quint8(1u << (rng() % 8)));
      }
      add(QStringLiteral("%1 bits flipped (round %2)").arg(flips).arg(round), b);
    }
  const auto chunks = chunksOf(original);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    add(QStringLiteral("cut before chunk %1").arg(i), original.left(c.offset));
    add(QStringLiteral("cut inside chunk %1").arg(i), original.left(c.offset + c.size / 2));
    if (c.lengthBytes) {
      QByteArray zero = original, huge = original;
      setLength(zero, c, 0);
      setLength(huge, c, c.lengthBytes == 2 ? 0xFFFFu : 0xFFFFFFFFu);
      add(QStringLiteral("chunk %1 length 0").arg(i), zero);
      add(QStringLiteral("chunk %1 length max").arg(i), huge);
    }
    if (i + 1 < chunks.size()) {
      const Chunk& d = chunks[i + 1];
      add(QStringLiteral("chunks %1 and %2 swapped").arg(i).arg(i + 1),
          original.left(c.offset) + original.mid(d.offset, d.size) + original.mid(c.offset, c.size) +
              original.mid(d.offset + d.size));
    }
  }
  if (chunks.empty())
    for (int k = 1; k <= 8; ++k)
      add(QStringLiteral("cut at %1/8").arg(k - 1), original.left(original.size() * (k - 1) / 8));
  static const std::pair<const char*, QByteArray> kMagic[] = {{"PNG", QByteArray("\x89PNG\r\n\x1a\n", 8)},
                                                              {"JPEG", QByteArray("\xFF\xD8\xFF\xE0", 4)},
                                                              {"WebP", QByteArray("RIFF\0\0\0\0WEBP", 12)},
                                                              {"TIFF", QByteArray("II*\0", 4)},
                                                              {"BMP", QByteArray("BM")},
                                                              {"GIF", QByteArray("GIF89a")}};
  for (const auto& [format, magic] : kMagic) {
    if (original.startsWith(magic.left(4))) continue;
    QByteArray b = original;
    b.replace(0, std::min<qsizetype>(magic.size(), b.size()), magic);
    add(QStringLiteral("%1 header").arg(QString::fromLatin1(format)), b);
  }
  return out;
}

// A sample of a case list: every k-th, so that each kind of mutation is represented.
std::vector<Case> sample(std::vector<Case> all, size_t keep) {
  if (all.size() <= keep) return all;
  std::vector<Case> out;
  const double step = double(all.size()) / double(keep);
  for (size_t i = 0; i < keep; ++i) out.push_back(std::move(all[size_t(double(i) * step)]));
  return out;
}

bool longMode() { return qEnvironmentVariable("DEPICTQA_MUTATIONS") == QStringLiteral("long"); }

QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeAll(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

}  // namespace

class TestMutatedFiles : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir temp_;
  QString cli_, model_, cleanA_;
  QStringList failures_;
  int answered_ = 0, refused_ = 0;

  struct Outcome {
    bool ok = false;
    QString why;
  };

  // Runs the CLI; an answer or a clear error naming `mustName` is fine, anything else is a
  // failure described in `why`.
  Outcome run(const QStringList& args, const QString& mustName) {
    QProcess p;
    p.start(cli_, args);
    if (!p.waitForStarted(10000)) return {false, QStringLiteral("the CLI did not start")};
    if (!p.waitForFinished(120000)) {
      p.kill();
      p.waitForFinished();
      return {false, QStringLiteral("hang: no result within 120 s")};
    }
    const QString err = QString::fromUtf8(p.readAllStandardError());
    if (err.contains(QStringLiteral("Sanitizer")) || err.contains(QStringLiteral("runtime error:")))
      return {false, QStringLiteral("sanitizer report: ") + err.left(2000)};
    if (p.exitStatus() != QProcess::NormalExit)
      return {false, QStringLiteral("crash (signal), stderr: ") + err.right(1000)};
    if (p.exitCode() == 0) {
      ++answered_;
      return {true, {}};
    }
    const QStringList lines = err.trimmed().split(QLatin1Char('\n'));
    const QString last = lines.isEmpty() ? QString() : lines.last();
    if (p.exitCode() != 1 || !last.startsWith(QStringLiteral("depictqa: ")))
      return {false, QStringLiteral("exit %1 without a clear error: %2").arg(p.exitCode()).arg(err.right(1000))};
    if (!last.contains(mustName)) return {false, QStringLiteral("the error does not name %1: %2").arg(mustName, last)};
    ++refused_;
    return {true, {}};
  }

  void record(const Case& c, const Outcome& o, const QString& file) {
    if (o.ok) return;
    QString kept;
    const QString artifacts = qEnvironmentVariable("DEPICTQA_MUTATION_ARTIFACTS");
    if (!artifacts.isEmpty() && QDir().mkpath(artifacts)) {
      kept = artifacts + QLatin1Char('/') +
             QString::fromLatin1(QCryptographicHash::hash(c.name.toUtf8(), QCryptographicHash::Sha1).toHex().left(12)) +
             QLatin1Char('-') + QFileInfo(file).fileName();
      writeAll(kept, c.bytes);
    }
    failures_ << QStringLiteral("%1 -> %2%3").arg(c.name, o.why, kept.isEmpty() ? QString() : " (kept: " + kept + ")");
  }

  // The description task: the damaged image alone goes through decoding, preprocessing,
  // both encoders and a few decoder steps (a second image would only add a size check).
  QStringList askArgs(const QString& model, const QString& a) const {
    return {QStringLiteral("--model"),
            model,
            QStringLiteral("--threads"),
            QStringLiteral("1"),
            QStringLiteral("--task"),
            QStringLiteral("description"),
            QStringLiteral("-a"),
            a,
            QStringLiteral("--max-new-tokens"),
            QStringLiteral("6"),
            QStringLiteral("--json"),
            QStringLiteral("--quiet")};
  }

  // The real image files this suite damages: name -> bytes.
  std::vector<std::pair<QString, QByteArray>> sourceImages() {
    std::vector<std::pair<QString, QByteArray>> out;
    const QString shots = QString::fromStdString(dqa::test::sourceDir() + "/docs/screenshots");
    for (const QString& name : {QStringLiteral("description.png"), QStringLiteral("whole-image-map-24mp.jpg")})
      out.emplace_back(name, readAll(shots + QLatin1Char('/') + name));
    cv::Mat shot = cv::imread((shots + QStringLiteral("/reasoning.png")).toStdString(), cv::IMREAD_COLOR);
    if (!shot.empty()) {
      const cv::Mat crop = shot(cv::Rect(0, 0, std::min(shot.cols, 360), std::min(shot.rows, 240))).clone();
      const std::vector<std::pair<const char*, std::vector<int>>> encodings = {
          {".png", {}},
          {".jpg", {cv::IMWRITE_JPEG_QUALITY, 85}},
          {".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}},
          {".webp", {cv::IMWRITE_WEBP_QUALITY, 80}},
          {".tif", {}},
          {".bmp", {}}};
      int i = 0;
      for (const auto& [ext, params] : encodings) {
        std::vector<uchar> bytes;
        if (cv::imencode(ext, crop, bytes, params))
          out.emplace_back(QStringLiteral("crop-%1%2").arg(i++).arg(QString::fromLatin1(ext)),
                           QByteArray(reinterpret_cast<const char*>(bytes.data()), qsizetype(bytes.size())));
      }
    }
    const QString photos = qEnvironmentVariable("DEPICTQA_PHOTOS");
    if (!photos.isEmpty()) {
      QDirIterator it(
          photos,
          {QStringLiteral("*.jpg"), QStringLiteral("*.jpeg"), QStringLiteral("*.png"), QStringLiteral("*.webp")},
          QDir::Files, QDirIterator::Subdirectories);
      for (int n = 0; it.hasNext() && n < 12; ++n) {
        const QString path = it.next();
        if (QFileInfo(path).size() < 8 * 1024 * 1024) out.emplace_back(QFileInfo(path).fileName(), readAll(path));
      }
    }
    return out;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(temp_.isValid());
    // A long run can take an hour: DEPICTQA_CLI and DEPICTQA_MODEL point it at frozen
    // copies, so that rebuilding build/ or retraining models/default meanwhile does not
    // turn cases into "the CLI did not start".
    const QString cliOverride = qEnvironmentVariable("DEPICTQA_CLI"),
                  modelOverride = qEnvironmentVariable("DEPICTQA_MODEL");
    cli_ = cliOverride.isEmpty() ? QString::fromStdString(dqa::test::binaryDir() + "/bin/depictqa") : cliOverride;
    QVERIFY2(QFileInfo(cli_).isExecutable(), qPrintable(cli_ + " is not built"));
    model_ =
        modelOverride.isEmpty() ? QString::fromStdString(dqa::test::sourceDir() + "/models/default") : modelOverride;
    cv::Mat clean(96, 128, CV_8UC3);
    cv::randu(clean, 0, 255);
    cv::GaussianBlur(clean, clean, cv::Size(9, 9), 3);
    cleanA_ = temp_.filePath(QStringLiteral("clean-a.png"));
    QVERIFY(cv::imwrite(cleanA_.toStdString(), clean));
    const Outcome sane = run(askArgs(model_, cleanA_), QString());
    QVERIFY2(sane.ok && answered_ == 1, qPrintable("the undamaged case does not answer: " + sane.why));
  }

  void damagedImagesAnswerOrSayWhy() {
    std::mt19937 rng(20261202);
    QElapsedTimer clock;
    clock.start();
    int cases = 0;
    const int before = failures_.size();
    for (const auto& [name, bytes] : sourceImages()) {
      QVERIFY2(!bytes.isEmpty(), qPrintable(name + " could not be read"));
      auto all = mutationsOf(name, bytes, rng, longMode() ? 6 : 1);
      if (!longMode()) all = sample(std::move(all), 6);
      for (const Case& c : all) {
        const QString file = temp_.filePath(QStringLiteral("damaged-") + name);
        QVERIFY(writeAll(file, c.bytes));
        record(c, run(askArgs(model_, file), QFileInfo(file).fileName()), file);
        if (++cases % 100 == 0) qInfo("%d image cases, %d failures", cases, int(failures_.size()) - before);
      }
    }
    qInfo("mutated images: %d cases in %.1f s (%d answered, %d refused with a clear error so far), %d failures", cases,
          clock.elapsed() / 1000.0, answered_, refused_, int(failures_.size()) - before);
    QVERIFY2(failures_.size() == before, qPrintable(failures_.mid(before).join(QLatin1Char('\n'))));
  }

  void damagedModelDirectoriesAnswerOrSayWhy() {
    std::mt19937 rng(1202);
    QElapsedTimer clock;
    clock.start();
    int cases = 0;
    const int before = failures_.size();
    const QString dir = temp_.filePath(QStringLiteral("damaged-model"));
    for (const QString& damagedFile :
         {QStringLiteral("config.json"), QStringLiteral("model.safetensors"), QStringLiteral("tokenizer.model")}) {
      const QByteArray original = readAll(model_ + QLatin1Char('/') + damagedFile);
      QVERIFY(!original.isEmpty());
      auto all = mutationsOf(damagedFile, original, rng, longMode() ? 110 : 1);
      if (damagedFile == QStringLiteral("model.safetensors")) {
        // Its own structure: an 8-byte little-endian header length, the JSON header, data.
        const quint64 headerLength = quint64(quint8(original[0])) | (quint64(quint8(original[1])) << 8) |
                                     (quint64(quint8(original[2])) << 16) | (quint64(quint8(original[3])) << 24);
        for (quint64 v : {quint64(0), headerLength - 1, headerLength + 1, quint64(1) << 40, ~quint64(0)}) {
          QByteArray b = original;
          for (int i = 0; i < 8; ++i) b[i] = char((v >> (8 * i)) & 0xFF);
          all.push_back({damagedFile + QStringLiteral(": header length %1").arg(v), b});
        }
        for (int k = 0; k < (longMode() ? 40 : 4); ++k) {  // flips inside the JSON header
          QByteArray b = original;
          const qsizetype at = 8 + qsizetype(rng() % headerLength);
          b[at] = char(quint8(b[at]) ^ quint8(1u << (rng() % 8)));
          all.push_back({damagedFile + QStringLiteral(": header byte %1 flipped").arg(at), b});
        }
        for (qsizetype cut :
             {qsizetype(8), qsizetype(8 + headerLength), qsizetype(8 + headerLength + 1000), original.size() - 1})
          all.push_back({damagedFile + QStringLiteral(": cut at %1").arg(cut), original.left(cut)});
      }
      if (!longMode()) all = sample(std::move(all), 10);
      for (const Case& c : all) {
        QDir(dir).removeRecursively();
        QVERIFY(QDir().mkpath(dir));
        for (const QString& f :
             {QStringLiteral("config.json"), QStringLiteral("model.safetensors"), QStringLiteral("tokenizer.model")})
          if (f != damagedFile) QVERIFY(QFile::copy(model_ + QLatin1Char('/') + f, dir + QLatin1Char('/') + f));
        QVERIFY(writeAll(dir + QLatin1Char('/') + damagedFile, c.bytes));
        // A model error names the model directory or the damaged file.
        const Outcome o = run(askArgs(dir, cleanA_), QStringLiteral("damaged-model"));
        record(c, o, dir + QLatin1Char('/') + damagedFile);
        if (++cases % 100 == 0) qInfo("%d model cases, %d failures", cases, int(failures_.size()) - before);
      }
    }
    qInfo("mutated model directories: %d cases in %.1f s (%d answered, %d refused so far), %d failures", cases,
          clock.elapsed() / 1000.0, answered_, refused_, int(failures_.size()) - before);
    QVERIFY2(failures_.size() == before, qPrintable(failures_.mid(before).join(QLatin1Char('\n'))));
  }
};

QTEST_GUILESS_MAIN(TestMutatedFiles)
#include "test_mutated_files.moc"
