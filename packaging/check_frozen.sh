#!/usr/bin/env bash
# Check the frozen app (not part of CI):
#   1. the CLI runs: --version, presets, and trains the ring headless (metrics written);
#   2. under Xvfb the window appears; its time to first paint is measured (3 launches);
#   3. Space starts training and the canvas keeps changing (two screenshots differ).
# Needs Xvfb, xdotool and ImageMagick (apt-get install -y xvfb xdotool imagemagick).
#   packaging/check_frozen.sh [path/to/ganplay]      (default: packaging/dist/ganplay/ganplay)
# Screenshots and logs go to $OUT (default: a new temporary folder, printed at the end).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
APP="${1:-$HERE/dist/ganplay/ganplay}"
OUT="${OUT:-$(mktemp -d -t ganplay-check-XXXXXX)}"
mkdir -p "$OUT"
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
for tool in Xvfb xdotool import compare; do
    command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install -y xvfb xdotool imagemagick)"
done
[[ -x "$APP" ]] || fail "no frozen app at $APP (run packaging/build.sh)"
echo "app: $APP ($(du -sh "$(dirname "$APP")" | cut -f1))"

# ---------------------------------------------------------------- 1. the CLI
"$APP" --version
"$APP" presets | grep -q "^vanilla" || fail "'ganplay presets' does not list vanilla"
t0=$(now)
"$APP" train --steps 200 --set data.name=ring -o "$OUT/run" -q || fail "headless training failed"
echo "headless: 200 ring steps incl. start-up in $(since "$t0" "$(now)") s"
[[ -s "$OUT/run/metrics.json" && -s "$OUT/run/checkpoint.pt" ]] || fail "run folder incomplete"
grep -q '"modes_covered"' "$OUT/run/metrics.json" || fail "metrics.json has no modes_covered"
echo "metrics: $(tr -d '\n ' < "$OUT/run/metrics.json" | cut -c1-160)"
"$APP" eval "$OUT/run" > /dev/null || fail "'ganplay eval' cannot read the run"

# ---------------------------------------------------------------- 2. the window, under Xvfb
DISP=:$((90 + RANDOM % 100))
Xvfb "$DISP" -screen 0 1600x1000x24 -nolisten tcp > "$OUT/xvfb.log" 2>&1 &
XVFB=$!
APPPID=""
cleanup() {
    [[ -n "$APPPID" ]] && kill "$APPPID" 2>/dev/null || true
    kill "$XVFB" 2>/dev/null || true
}
trap cleanup EXIT
export DISPLAY="$DISP"
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done 2>/dev/null || true
sleep 1

# time from launch to the window's first paint (the app prints it when GANPLAY_REPORT_SHOWN is set)
for i in 1 2 3; do
    t0=$(now)
    shown=$(GANPLAY_REPORT_SHOWN=1 timeout 180 "$APP" 2>"$OUT/start_$i.err" | awk '/GANPLAY_SHOWN/ { print $2 }')
    [[ -n "$shown" ]] || fail "launch $i: the window never painted (see $OUT/start_$i.err)"
    echo "start-up $i (launch to first paint): $(since "$t0" "$shown") s"
done

"$APP" > "$OUT/gui.log" 2>&1 &
APPPID=$!
WID=""
for _ in $(seq 180); do
    WID=$(xdotool search --onlyvisible --name '^ganplay' 2>/dev/null | head -1 || true)
    [[ -n "$WID" ]] && break
    kill -0 "$APPPID" 2>/dev/null || fail "the app exited (see $OUT/gui.log)"
    sleep 0.5
done
[[ -n "$WID" ]] || fail "no ganplay window appeared"
echo "window: id $WID, $(xdotool getwindowgeometry "$WID" | tr '\n' ' ')"
sleep 3
shot() { import -window root "$OUT/$1.png"; }
# compare exits 1 when the images differ; only its pixel count matters here
changed() { { compare -metric AE "$OUT/$1.png" "$OUT/$2.png" null: 2>&1 || true; } | awk '{ print int($1) }'; }
shot idle1; sleep 2; shot idle2
idle=$(changed idle1 idle2)
xdotool windowfocus --sync "$WID" 2>/dev/null || true
xdotool key --window "$WID" space
sleep 6; shot train1; sleep 3; shot train2
moving=$(changed train1 train2)
echo "pixels changed over 2 s before Space: $idle; over 3 s while training: $moving"
(( moving > 500 )) || fail "the canvas does not change after Space (see $OUT/train*.png)"
kill -0 "$APPPID" 2>/dev/null || fail "the app died while training (see $OUT/gui.log)"
echo "OK: the frozen app trains the ring headless and in its window; screenshots in $OUT"
