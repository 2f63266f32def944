#!/usr/bin/env bash
# Installs Debian's chromium for the browser test of the HTTP gateway, into a private cache
# folder, without touching the machine's apt state: the chromium package and those of its
# dependencies the machine lacks are unpacked there, and a launcher sets their library path.
# Prints the command to run chromium (its last line). Cached: a second run does nothing.
# A chromium already on PATH is used as it is.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && chromium --version >/dev/null 2>&1; then
  command -v chromium
  exit 0
fi

root="${PYRODENO_CHROMIUM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pyro-deno/chromium}"
launcher="$root/chromium"
stamp="$root/.installed"

if [ -f "$stamp" ] && "$launcher" --version >/dev/null 2>&1; then
  echo "$launcher"
  exit 0
fi

rm -rf "$root/debs" "$root/unpacked"
mkdir -p "$root/apt/lists/partial" "$root/apt/cache/archives/partial" "$root/debs" "$root/unpacked"
. /etc/os-release
codename="${VERSION_CODENAME:-bookworm}"
cat >"$root/apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security $codename-security main
SRC

apt_opts=(
  -o "Dir::Etc::SourceList=$root/apt/sources.list"
  -o "Dir::Etc::SourceParts=-"
  -o "Dir::State::Lists=$root/apt/lists"
  -o "Dir::Cache=$root/apt/cache"
  -o "APT::Get::List-Cleanup=0"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=root"
  -o "APT::Install-Recommends=0"
)
echo "install_chromium: fetching package lists" >&2
apt-get "${apt_opts[@]}" -qq update >&2

# What installing chromium would add to this machine (read from its dpkg status, not changed).
mapfile -t packages < <(
  apt-get "${apt_opts[@]}" -qq --print-uris install chromium 2>/dev/null |
    sed -nE "s/^'[^']*' ([^_]+)_([^_]+)_[^ ]+\.deb .*/\1/p"
)
[ "${#packages[@]}" -gt 0 ] || { echo "install_chromium: apt found nothing to install" >&2; exit 1; }
echo "install_chromium: fetching ${#packages[@]} packages: ${packages[*]}" >&2
(cd "$root/debs" && apt-get "${apt_opts[@]}" -qq download "${packages[@]}" >&2)
for deb in "$root"/debs/*.deb; do
  dpkg -x "$deb" "$root/unpacked"
done
rm -rf "$root/debs"

libs="$root/unpacked/usr/lib/x86_64-linux-gnu:$root/unpacked/usr/lib/x86_64-linux-gnu/pulseaudio:$root/unpacked/lib/x86_64-linux-gnu:$root/unpacked/usr/lib/chromium"
cat >"$launcher" <<SH
#!/bin/sh
LD_LIBRARY_PATH="$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$root/unpacked/usr/lib/chromium/chromium" "\$@"
SH
chmod +x "$launcher"
"$launcher" --version >&2
touch "$stamp"
echo "$launcher"
