#!/usr/bin/env bash
# Draws the project's library graph from the build itself (cmake --graphviz), as
# docs/library-graph.png: the core libraries, the UI and the programs, with the
# third-party libraries they link. Needs graphviz (apt-get install graphviz).
#   scripts/library_graph.sh [BUILD_DIR]      # default: build
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
command -v dot >/dev/null || { echo "library_graph.sh: needs graphviz's dot (apt-get install graphviz)" >&2; exit 1; }
[ -f "$BUILD/CMakeCache.txt" ] || { echo "library_graph.sh: $BUILD is not a configured build folder" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Tests, fuzz targets and the header check are left out; external libraries are
# collapsed to their names.
cat > "$BUILD/CMakeGraphVizOptions.cmake" <<'OPTS'
set(GRAPHVIZ_GRAPH_NAME "DepictQA libraries")
set(GRAPHVIZ_IGNORE_TARGETS "^test_;^fuzz_;depictqa_header_check;depictqa_spm;^Qt6::;^CLI11;^nlohmann;^Threads;^torch;^c10;^caffe2;^opencv;^protobuf;^gflags;^glog;^pthreadpool;^cpuinfo;^kineto;^-")
set(GRAPHVIZ_EXTERNAL_LIBS FALSE)
set(GRAPHVIZ_GENERATE_PER_TARGET FALSE)
set(GRAPHVIZ_GENERATE_DEPENDERS FALSE)
OPTS
cmake --graphviz="$out/libraries.dot" "$BUILD" >/dev/null
dot -Tpng -Grankdir=BT -Gdpi=80 "$out/libraries.dot" -o "$ROOT/docs/library-graph.png"
echo "wrote docs/library-graph.png"
