// Whole-image mode without a model: the tile grid (coverage, native resolution, skipped
// tiles, refusals), the aggregation (winner, confidence, preference weights), the
// answer in words and the verdict map's colours.
#include <QtTest/QtTest>

#include <opencv2/imgproc.hpp>

#include "core/data/parser.h"
#include "core/tiled/aggregate.h"
#include "core/tiled/tiling.h"
#include "core/tiled/verdict_map.h"

using namespace dqa::tiled;

namespace {

cv::Mat texture(int w, int h, int seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(static_cast<uint64_t>(seed));
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(m, m, cv::Size(7, 7), 2.0);
  return m;
}

// Verdicts for a grid where the left half goes to B and the right half to A.
std::vector<TileVerdict> splitVerdicts(const TileGrid& grid, float sure) {
  std::vector<TileVerdict> v;
  for (const auto& t : grid.tiles) {
    TileVerdict tv;
    tv.tile = t;
    const bool left = t.rect.x + t.rect.width / 2 < grid.imageWidth / 2;
    tv.probabilityA = left ? 1 - sure : sure;
    tv.dominantAspect = static_cast<int>(left ? dqa::data::Aspect::Noise : dqa::data::Aspect::Blurriness);
    v.push_back(tv);
  }
  return v;
}

}  // namespace

class TestTiled : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void tilesCoverTheFrameAtNativeResolution() {
    const cv::Mat a = texture(250, 130, 1), b = texture(250, 130, 2);
    auto grid = planTiles(cv::Mat(), a, b, 98, 1.0);
    QVERIFY2(grid, grid ? "" : grid.message().c_str());
    QCOMPARE(grid->columns, 3);  // 0, 98, 152 (flush with the right border)
    QCOMPARE(grid->rows, 2);     // 0, 32
    cv::Mat covered = cv::Mat::zeros(130, 250, CV_8U);
    for (const auto& t : grid->tiles) {
      QCOMPARE(t.rect.width, 98);
      QCOMPARE(t.rect.height, 98);
      QVERIFY((t.rect & cv::Rect(0, 0, 250, 130)) == t.rect);
      covered(t.rect).setTo(1);
    }
    QCOMPARE(cv::countNonZero(covered), 250 * 130);
    QCOMPARE(grid->tiles.back().rect, cv::Rect(152, 32, 98, 98));
  }

  void tilesWhereAAndBAgreeAreSkipped() {
    cv::Mat a = texture(196, 98, 3), b = a.clone();
    b(cv::Rect(98, 0, 98, 98)) += cv::Scalar(20, 20, 20);
    auto grid = planTiles(cv::Mat(), a, b, 98, 1.0);
    QVERIFY(grid);
    QVERIFY(grid->tiles[0].skipped);
    QVERIFY(!grid->tiles[1].skipped);
    QCOMPARE(grid->skippedCount(), 1);
    QVERIFY(grid->tiles[1].difference > 15);
  }

  void sixteenBitImagesAreMeasuredInGreyLevels() {
    cv::Mat a8 = texture(98, 98, 4), b8 = a8 + cv::Scalar(10, 10, 10), a16, b16;
    a8.convertTo(a16, CV_16U, 257);
    b8.convertTo(b16, CV_16U, 257);
    auto g8 = planTiles(cv::Mat(), a8, b8, 98, 1.0), g16 = planTiles(cv::Mat(), a16, b16, 98, 1.0);
    QVERIFY(g8 && g16);
    QVERIFY(std::abs(g8->tiles[0].difference - g16->tiles[0].difference) < 0.5);
  }

  void badFramesAreRefusedWithAReason() {
    const cv::Mat a = texture(200, 200, 5);
    auto sizes = planTiles(cv::Mat(), a, texture(201, 200, 6), 98, 1.0);
    QVERIFY(!sizes);
    QVERIFY(sizes.message().find("same size") != std::string::npos);
    auto reference = planTiles(texture(100, 100, 7), a, a, 98, 1.0);
    QVERIFY(!reference);
    QVERIFY(reference.message().find("reference") != std::string::npos);
    auto small = planTiles(cv::Mat(), texture(50, 300, 8), texture(50, 300, 9), 98, 1.0);
    QVERIFY(!small);
    QVERIFY(small.message().find("smaller than one tile") != std::string::npos);
    QVERIFY(!planTiles(cv::Mat(), cv::Mat(), a, 98, 1.0));
  }

  void aggregationFollowsTheTilesAndTheirCertainty() {
    auto grid = planTiles(cv::Mat(), texture(588, 294, 10), texture(588, 294, 11), 98, 0.0);
    QVERIFY(grid);
    // Left half B (9 tiles), right half A (9 tiles), equally sure: a tie overall.
    auto tiles = splitVerdicts(grid.value(), 0.9f);
    AggregateOptions options;
    OverallVerdict v = aggregateTiles(tiles, options);
    QCOMPARE(v.tilesA, 9);
    QCOMPARE(v.tilesB, 9);
    QCOMPARE(v.winner, '=');
    QVERIFY(std::abs(v.confidence - 0.5f) < 1e-5f);
    // Every tile for A: sure as the tiles are.
    for (auto& t : tiles) t.probabilityA = 0.9f;
    v = aggregateTiles(tiles, options);
    QCOMPARE(v.winner, 'A');
    QVERIFY(std::abs(v.confidence - 0.9f) < 1e-5f);
    QCOMPARE(v.agreement, 1.0f);
    // Unsure tiles are too close to call and pull the confidence towards 0.5.
    for (auto& t : tiles) t.probabilityA = 0.55f;
    v = aggregateTiles(tiles, options);
    QCOMPARE(v.tilesClose, 18);
    QVERIFY(v.confidence < 0.6f);
  }

  void preferenceWeighsTheTilesWhoseLoserShowsItsAspect() {
    auto grid = planTiles(cv::Mat(), texture(588, 294, 12), texture(588, 294, 13), 98, 0.0);
    QVERIFY(grid);
    auto tiles = splitVerdicts(grid.value(), 0.8f);  // left: A noisy, B wins; right: B blurred, A wins
    AggregateOptions options;
    options.preference = dqa::data::parsePreference("I can't tolerate any noise.");
    QVERIFY(options.preference);
    OverallVerdict v = aggregateTiles(tiles, options);
    QCOMPARE(v.winner, 'B');  // the noisy half weighs three times
    QCOMPARE(v.tilesReweighted, 9);
    options.preference = dqa::data::parsePreference("I don't mind a bit of grain.");
    v = aggregateTiles(tiles, options);
    QCOMPARE(v.winner, 'A');
  }

  void answerInWordsSaysWhereEachImageIsBetter() {
    // 6x6 tiles; the split runs through the middle zone column, whose tiles go half each way.
    auto grid = planTiles(cv::Mat(), texture(588, 588, 14), texture(588, 588, 15), 98, 0.0);
    QVERIFY(grid);
    auto tiles = splitVerdicts(grid.value(), 0.85f);
    tiles[0].probabilityA = 0.95f;  // one dissenting tile top left
    AggregateOptions options;
    OverallVerdict v = aggregateTiles(tiles, options);
    const std::string text = describeWholeImage(grid.value(), tiles, v, options);
    QVERIFY2(text.find("B is better in the top left, left and bottom left") != std::string::npos, text.c_str());
    QVERIFY2(text.find("where the model describes A as showing noise") != std::string::npos, text.c_str());
    QVERIFY2(text.find("A is better in the top right, right and bottom right") != std::string::npos, text.c_str());
    QVERIFY2(text.find("where the model describes B as showing blur") != std::string::npos, text.c_str());
    QVERIFY2(text.find("In the top, centre and bottom the tiles are split") != std::string::npos, text.c_str());
    QVERIFY2(text.find("tiles disagree a lot") != std::string::npos, text.c_str());  // about half each way
    // Nothing to compare.
    for (auto& t : tiles) t.tile.skipped = true;
    v = aggregateTiles(tiles, options);
    QVERIFY(describeWholeImage(grid.value(), tiles, v, options).find("nothing to choose") != std::string::npos);
  }

  void verdictMapColoursTheWinners() {
    auto grid = planTiles(cv::Mat(), texture(196, 98, 16), texture(196, 98, 17), 98, 0.0);
    QVERIFY(grid);
    WholeImageResult r;
    r.grid = grid.value();
    r.tiles = splitVerdicts(grid.value(), 1.0f);
    aggregateTiles(r.tiles, {});
    cv::Mat map = verdictMapRgba(r, 2);
    QCOMPARE(map.cols, 98);
    QCOMPARE(map.rows, 49);
    const cv::Vec4b left = map.at<cv::Vec4b>(20, 20), right = map.at<cv::Vec4b>(20, 70);
    QCOMPARE(cv::Vec3b(left[0], left[1], left[2]), kColourB);
    QCOMPARE(cv::Vec3b(right[0], right[1], right[2]), kColourA);
    QCOMPARE(int(left[3]), 204);  // 0.2 + 0.6 * strength 1
    const cv::Mat picture = renderVerdictMap(texture(196, 98, 16), r);
    QCOMPARE(picture.cols, 196);
    QVERIFY(picture.rows > 98);  // legend strip
  }
};

QTEST_APPLESS_MAIN(TestTiled)
#include "test_tiled.moc"
