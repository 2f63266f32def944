#!/usr/bin/env bash
# Installs the reference peer, Python Pyro5 5.15 with serpent and msgpack, from Debian's
# packages into a private cache folder, without touching the machine's apt state.
# Prints the folder to put on PYTHONPATH (its last line). Cached: a second run does nothing.
set -euo pipefail

root="${PYRODENO_PEER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pyro-deno/peer}"
site="$root/unpacked/usr/lib/python3/dist-packages"
stamp="$root/.installed-5.15"

if [ -f "$stamp" ] && PYTHONPATH="$site" python3 -c 'import Pyro5, serpent, msgpack' 2>/dev/null; then
  echo "$site"
  exit 0
fi

mkdir -p "$root/apt/lists/partial" "$root/apt/cache/archives/partial" "$root/debs" "$root/unpacked"
cat >"$root/apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
SRC

apt_opts=(
  -o "Dir::Etc::SourceList=$root/apt/sources.list"
  -o "Dir::Etc::SourceParts=-"
  -o "Dir::State::Lists=$root/apt/lists"
  -o "Dir::Cache=$root/apt/cache"
  -o "Dir::State::Status=/dev/null"
  -o "APT::Get::List-Cleanup=0"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=root"
)
echo "install_peer: fetching package lists" >&2
apt-get "${apt_opts[@]}" -qq update >&2

(
  cd "$root/debs"
  rm -f ./*.deb
  # python3-pyro5 and python3-serpent are architecture-independent (trixie); python3-msgpack
  # carries a C extension, so it comes from bookworm, built for the same Python 3.11 ABI.
  apt-get "${apt_opts[@]}" -qq download \
    "python3-pyro5=5.15*" "python3-serpent/trixie" "python3-msgpack/bookworm" >&2
)
for deb in "$root"/debs/*.deb; do
  dpkg -x "$deb" "$root/unpacked"
done

PYTHONPATH="$site" python3 - <<'PY' >&2
import Pyro5, serpent, msgpack
assert Pyro5.__version__.startswith("5.15"), Pyro5.__version__
print("install_peer: Pyro5", Pyro5.__version__, "serpent", serpent.__version__, "msgpack", msgpack.version)
PY
touch "$stamp"
echo "$site"
