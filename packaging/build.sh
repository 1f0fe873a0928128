#!/usr/bin/env bash
# Build the one-folder Linux app: packaging/dist/ganplay/ganplay (CPU torch).
#   packaging/build.sh                 # uses ./venv, .venv or the python on PATH
#   PYTHON=/path/to/python packaging/build.sh
#   CLEAN= packaging/build.sh          # keep PyInstaller's cache in packaging/build (faster rebuild)
# The Python used must have ganplay's dependencies and PyInstaller (pip install -e ".[package]").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
if [[ -z "${PYTHON:-}" ]]; then
    for cand in "$ROOT/venv/bin/python" "$ROOT/.venv/bin/python" "$(command -v python3 || true)"; do
        if [[ -n "$cand" && -x "$cand" ]]; then PYTHON="$cand"; break; fi
    done
fi
echo "python: $PYTHON"
"$PYTHON" -c "import PyInstaller, torch; print('PyInstaller', PyInstaller.__version__, '| torch', torch.__version__)"
if "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.version.cuda else 1)"; then
    echo "warning: this torch is a CUDA build; the bundle will carry the CUDA libraries (several GB)." >&2
fi
if [[ ! -f "$ROOT/assets/mnist/t10k-images-idx3-ubyte.gz" ]]; then
    echo "error: assets/mnist is missing; the bundle would have no MNIST data" >&2
    exit 1
fi
cd "$HERE"
start=$(date +%s)
# CLEAN= (empty) reuses the analysis cached in packaging/build after a spec-only change
"$PYTHON" -m PyInstaller --noconfirm ${CLEAN---clean} \
    --workpath "$HERE/build" --distpath "$HERE/dist" "$HERE/ganplay.spec"
end=$(date +%s)
APP="$HERE/dist/ganplay"
echo "built $APP/ganplay in $((end - start)) s"
echo "size: $(du -sh "$APP" | cut -f1)"
"$APP/ganplay" --version
