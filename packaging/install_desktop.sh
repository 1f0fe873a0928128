#!/usr/bin/env bash
# Add the built app to the desktop's menu for the current user (no root needed):
#   packaging/install_desktop.sh            # after packaging/build.sh
#   PREFIX=/usr/local packaging/install_desktop.sh   (as root, for everyone)
# Copies packaging/dist/ganplay to $PREFIX/lib/ganplay, links $PREFIX/bin/ganplay to it and
# installs the .desktop file, the icon and the AppStream metadata.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PREFIX="${PREFIX:-$HOME/.local}"
ID=io.github.ganplay.Ganplay
DIST="$HERE/dist/ganplay"
[[ -x "$DIST/ganplay" ]] || { echo "error: build the app first (packaging/build.sh)" >&2; exit 1; }
SHARE="$PREFIX/share"
mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$SHARE/applications" "$SHARE/icons/hicolor/scalable/apps" "$SHARE/metainfo"
rm -rf "$PREFIX/lib/ganplay"
cp -a "$DIST" "$PREFIX/lib/ganplay"
ln -sf "$PREFIX/lib/ganplay/ganplay" "$PREFIX/bin/ganplay"
# Exec must find the binary even when $PREFIX/bin is not on the menu's PATH
sed -e "s|^Exec=ganplay|Exec=$PREFIX/bin/ganplay|" -e "s|^TryExec=ganplay|TryExec=$PREFIX/bin/ganplay|" \
    "$HERE/$ID.desktop" > "$SHARE/applications/$ID.desktop"
cp "$ROOT/assets/ganplay.svg" "$SHARE/icons/hicolor/scalable/apps/$ID.svg"
cp "$HERE/$ID.metainfo.xml" "$SHARE/metainfo/$ID.metainfo.xml"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
echo "installed: $PREFIX/bin/ganplay and the menu entry '$ID'"
