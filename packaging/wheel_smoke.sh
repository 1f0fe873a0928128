#!/usr/bin/env bash
# The installed wheel at work, from a folder that is not the checkout: the assets come from the
# package, then train / eval / sample on MNIST and on the ring, and the window until its first
# trained frame (under xvfb-run when there is one, else Qt's offscreen platform).
#
#   packaging/wheel_smoke.sh VENV        (VENV: a venv where the wheel is installed)
set -euo pipefail
VENV=$(cd "$1" && pwd)
G="$VENV/bin/ganplay"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ganplay-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export PYTHONNOUSERSITE=1

"$VENV/bin/python" - <<'EOF'
import pathlib
import ganplay
from ganplay.assets import asset_path

pkg = pathlib.Path(ganplay.__file__).resolve().parent
assert "site-packages" in pkg.parts, f"ganplay imported from {pkg}, not from the installed wheel"
for name in ("mnist", "mnist_classifier.safetensors", "ganplay.svg"):
    p = asset_path(name)
    assert pkg in p.parents, f"{name} found at {p}, outside the package"
    print(f"asset {name}: {p}")
EOF

set -x
"$G" --version
"$G" train --set data.name=mnist --set data.limit=512 --steps 20 -o mnist-run -q
"$G" eval mnist-run
"$G" sample mnist-run -n 16 -o digits.png
"$G" train --steps 20 --set train.eval_every=0 -o ring-run -q
"$G" sample ring-run -n 500 -o ring.png
set +x
python_png_check='import sys; from PIL import Image; [print(p, Image.open(p).size) for p in sys.argv[1:]]'
"$VENV/bin/python" -c "$python_png_check" digits.png ring.png

# the window: GANPLAY_REPORT_SHOWN=frames makes it play, stamp its first trained frame and close
if command -v xvfb-run >/dev/null && [[ -z "${GANPLAY_SMOKE_OFFSCREEN:-}" ]]; then
    run_window=(xvfb-run -a "$G")
else
    run_window=(env QT_QPA_PLATFORM=offscreen "$G")
fi
out=$(GANPLAY_REPORT_SHOWN=frames timeout 180 "${run_window[@]}" 2>&1) || { echo "$out"; exit 1; }
echo "$out" | grep '^GANPLAY_'
echo "$out" | grep -q '^GANPLAY_TRAINED_FRAME' || { echo "the window trained no frame"; echo "$out"; exit 1; }
echo "wheel smoke test passed (${run_window[0]})"
