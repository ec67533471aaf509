#!/usr/bin/env bash
# Differential test of mavuno's `filter` against datatrove 0.10.1 (Gopher quality, Gopher
# repetition, C4 quality, FineWeb quality) on ~14,000 documents of ../shared/data; see
# scripts/filter_parity.py for what is compared. Prints a per-rule agreement table and both
# tools' CPU seconds.
#
# Usage: scripts/filter_parity.sh [extra args for filter_parity.py]
# Env:   DT_VENV (scratch venv, default /tmp/mavuno-dt-venv; created and filled from PyPI if
#        missing), MAVUNO (binary, default $CARGO_TARGET_DIR/release/mavuno; built if missing),
#        OUT (scratch output, default /tmp/mavuno-filter-parity).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${DT_VENV:-/tmp/mavuno-dt-venv}
TARGET=${CARGO_TARGET_DIR:-target}
MAVUNO=${MAVUNO:-$TARGET/release/mavuno}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import datatrove, spacy, indicnlp" 2>/dev/null; then
  echo "== making $VENV (datatrove 0.10.1, spaCy, indic-nlp-library)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "datatrove==0.10.1" spacy indic-nlp-library
fi
if [ ! -x "$MAVUNO" ]; then
  echo "== building $MAVUNO" >&2
  cargo build --release --bin mavuno
fi
exec "$VENV/bin/python" scripts/filter_parity.py --bin "$MAVUNO" --out "${OUT:-/tmp/mavuno-filter-parity}" "$@"
