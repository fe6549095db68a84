# Sourced by the engine installers: `apt_download <state dir> <suite> <package>...` downloads
# Debian packages of another suite into <state dir>/debs (and cds there), with apt state of its
# own (sources list, lists, cache), so the system's apt sources and state are never touched.
apt_download() {
  local state=$1 suite=$2; shift 2
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
  cat >"$state/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main
SRC
  local opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache")
  echo "engine: fetching package lists for $suite" >&2
  apt-get "${opts[@]}" update -qq
  cd "$state/debs"
  rm -f ./*.deb
  apt-get "${opts[@]}" download "$@" >/dev/null
}
