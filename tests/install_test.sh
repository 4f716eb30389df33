#!/bin/bash
# tests/install_test.sh BUILD SOURCE - install into a staging directory and
# use it as a user would
# Runs `cmake --install BUILD` with DESTDIR set to a fresh temporary
# directory, checks that every file an installation needs is there (the
# programs, the library's symlink chain, the headers, zmgr.pc, the man
# pages, the systemd unit, the docs and examples), builds tests/install_client.c with
# nothing but `pkg-config --cflags --libs zmgr` of the staged tree, starts
# the STAGED zmgrd (no local workers, a private XDG_RUNTIME_DIR), runs the
# program against it, and stops the broker with SIGTERM, expecting exit 0.
# The prefix is the build's CMAKE_INSTALL_PREFIX (/usr/local by default):
# zmgr.pc and the unit name it when CMake configures, so installing
# elsewhere with --prefix would stage files the .pc does not point at.
# Exits 77 (ctest: skipped) without a C compiler or pkg-config. When the
# build used ZMGR_SANITIZE, the program is compiled with the same
# -fsanitize flags, as the installed library needs the sanitizer runtime.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cache=$build/CMakeCache.txt
[ -f "$cache" ] || { echo "install_test: no $cache" >&2; exit 1; }

# A cache entry's value ("" when absent).
cache_get () { sed -n "s/^$1:[A-Za-z]*=//p" "$cache" | head -n 1; }

cc=$(cache_get CMAKE_C_COMPILER)
[ -n "$cc" ] && command -v "$cc" >/dev/null || cc=cc
if ! command -v "$cc" >/dev/null || ! command -v pkg-config >/dev/null; then
    echo "install_test: skipped: needs a C compiler and pkg-config" >&2
    exit 77
fi
cmake=$(cache_get CMAKE_COMMAND)
[ -n "$cmake" ] || cmake=cmake

prefix=$(cache_get CMAKE_INSTALL_PREFIX)
prefix=${prefix:-/usr/local}
# A GNUInstallDirs directory: its cache value, or the default when the
# cache leaves it empty (CMake computes some from DATAROOTDIR); relative
# values are under the prefix.
gnu_dir () {
    local value
    value=$(cache_get "CMAKE_INSTALL_$1")
    value=${value:-$2}
    case $value in
        /*) echo "$value" ;;
        *) echo "$prefix/$value" ;;
    esac
}
bindir=$(gnu_dir BINDIR bin)
sbindir=$(gnu_dir SBINDIR sbin)
libdir=$(gnu_dir LIBDIR lib)
includedir=$(gnu_dir INCLUDEDIR include)
datarootdir=$(gnu_dir DATAROOTDIR share)
mandir=$(gnu_dir MANDIR "${datarootdir#"$prefix"/}/man")
docdir=$(gnu_dir DOCDIR "${datarootdir#"$prefix"/}/doc/zmgr")

sanitize=$(cache_get ZMGR_SANITIZE)
san_flags=()
if [ -n "$sanitize" ]; then
    san_flags=(-fsanitize="$sanitize" -fno-omit-frame-pointer)
fi

# ---- staging directory and cleanup -------------------------------------------
dest=$(mktemp -d "${TMPDIR:-/tmp}/zmgr-install.XXXXXX")
# The runtime directory holds the ipc socket: short path, under /tmp.
rundir=$(mktemp -d /tmp/zmgr-run.XXXXXX)
daemon_pid=
cleanup () {
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -KILL "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    rm -rf "$dest" "$rundir"
}
trap cleanup EXIT

fail () {
    echo "install_test: FAIL: $*" >&2
    exit 1
}

# ---- install -------------------------------------------------------------------
echo "install_test: cmake --install $build --prefix $prefix, DESTDIR=$dest"
DESTDIR=$dest "$cmake" --install "$build" --prefix "$prefix" >"$rundir/install.log" 2>&1 ||
    { cat "$rundir/install.log" >&2; fail "cmake --install failed"; }

# ---- the files -------------------------------------------------------------------
need_file () { [ -f "$dest$1" ] || fail "missing $1"; }
need_exec () { { [ -f "$dest$1" ] && [ -x "$dest$1" ]; } || fail "missing or not executable: $1"; }

need_exec "$sbindir/zmgrd"
need_exec "$bindir/zmgr"
need_exec "$bindir/zmgr-worker"
[ ! -e "$dest$bindir/zmgrd" ] || fail "zmgrd belongs in $sbindir, not $bindir"
for h in zmgr.h zmgr_codes.h zmgr_module.h; do
    need_file "$includedir/$h"
done
need_file "$libdir/pkgconfig/zmgr.pc"
need_file "$libdir/libzmgr.a"
need_file "$mandir/man1/zmgr.1"
need_file "$mandir/man1/zmgr-worker.1"
need_file "$mandir/man3/libzmgr.3"
need_file "$mandir/man8/zmgrd.8"
need_file "$docdir/README.md"
need_file "$docdir/install.md"
need_file "$docdir/deploy.md"
need_file "$docdir/examples/inventory.c"
if [ -f "$src/examples/zmgrd.conf" ]; then
    # Under the sysconfdir (a conffile) and with the docs (install.md says both).
    conf=$(find "$dest" -path '*/zmgr/zmgrd.conf.example' -not -path "$dest$docdir/*" | head -n 1)
    [ -n "$conf" ] || fail "examples/zmgrd.conf exists but no zmgr/zmgrd.conf.example was installed outside $docdir"
    cmp -s "$conf" "$src/examples/zmgrd.conf" || fail "${conf#"$dest"} differs from examples/zmgrd.conf"
    need_file "$docdir/zmgrd.conf.example"
    cmp -s "$dest$docdir/zmgrd.conf.example" "$src/examples/zmgrd.conf" ||
        fail "$docdir/zmgrd.conf.example differs from examples/zmgrd.conf"
fi
# The unit: wherever systemd/CMakeLists.txt puts it, in a systemd/system directory.
unit=$(find "$dest" -path '*/systemd/system/zmgrd.service' | head -n 1)
[ -n "$unit" ] || fail "no systemd/system/zmgrd.service installed"
grep -q "^ExecStart=$sbindir/zmgrd" "$unit" || fail "${unit#"$dest"}: ExecStart does not run $sbindir/zmgrd"

# libzmgr.so -> libzmgr.so.0 -> libzmgr.so.0.x.y (a file), SONAME libzmgr.so.0.
lib=$dest$libdir
[ -L "$lib/libzmgr.so" ] || fail "$libdir/libzmgr.so is not a symlink"
[ "$(readlink "$lib/libzmgr.so")" = libzmgr.so.0 ] ||
    fail "$libdir/libzmgr.so points at $(readlink "$lib/libzmgr.so"), not libzmgr.so.0"
[ -L "$lib/libzmgr.so.0" ] || fail "$libdir/libzmgr.so.0 is not a symlink"
real=$(readlink "$lib/libzmgr.so.0")
case $real in
    libzmgr.so.0.*) ;;
    *) fail "$libdir/libzmgr.so.0 points at $real, not libzmgr.so.0.MINOR.PATCH" ;;
esac
{ [ -f "$lib/$real" ] && [ ! -L "$lib/$real" ]; } || fail "$libdir/$real is not a regular file"
if command -v readelf >/dev/null; then
    readelf -d "$lib/$real" | grep -q 'SONAME.*\[libzmgr\.so\.0\]' || fail "$real: SONAME is not libzmgr.so.0"
fi
echo "install_test: files in place (libzmgr.so -> libzmgr.so.0 -> $real)"

# ---- build a user's program with pkg-config -----------------------------------------
# With DESTDIR the .pc still says prefix=$prefix: the sysroot prefixes its
# -I and -L; system directories are kept so that a /usr prefix works too.
# zmgr.pc requires no other .pc file (libzmq and msgpack-c are in its
# Libs.private only), so --cflags is our include directory and nothing of
# theirs, and the program links with -lzmgr alone.
pc () {
    PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$lib/pkgconfig \
        PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
        pkg-config "$@"
}
pc --exists zmgr || fail "pkg-config cannot use the staged zmgr.pc: $(pc --print-errors --exists zmgr 2>&1)"
[ "$(pc --modversion zmgr)" = "$(sed -n 's/^Version: *//p' "$lib/pkgconfig/zmgr.pc")" ] ||
    fail "pkg-config --modversion zmgr disagrees with zmgr.pc"
read -r -a pc_flags <<<"$(pc --cflags --libs zmgr)"
printf '%s\n' "${pc_flags[@]}" | grep -qx -- "-I$dest$includedir" ||
    fail "pkg-config --cflags zmgr lacks -I$dest$includedir: ${pc_flags[*]}"
cflags=$(pc --cflags zmgr)
[ "$(echo $cflags)" = "-I$dest$includedir" ] ||
    fail "pkg-config --cflags zmgr carries more than -I$dest$includedir: $cflags"
libs=$(pc --libs zmgr)
[ "$(echo $libs)" = "-L$dest$libdir -lzmgr" ] ||
    fail "pkg-config --libs zmgr is not just -L$dest$libdir -lzmgr: $libs"
echo "install_test: pkg-config --cflags --libs zmgr: ${pc_flags[*]}"
client=$rundir/install_client
"$cc" -std=c11 -Wall -Wextra -Wstrict-prototypes -Werror "${san_flags[@]}" \
    -o "$client" "$src/tests/install_client.c" "${pc_flags[@]}" ||
    fail "install_client.c did not build against the staged installation"

# In the build tree one include directory is enough too: the public
# headers are copied side by side into BUILD/include, as installed.
"$cc" -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" -fsyntax-only -I"$build/include" \
    "$src/tests/install_client.c" ||
    fail "install_client.c does not compile with -I $build/include alone"

# The staged binaries and the program take libzmgr from the staging dir.
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if command -v ldd >/dev/null; then
    for exe in "$client" "$dest$bindir/zmgr" "$dest$bindir/zmgr-worker"; do
        # (grep after ldd has finished: grep -q in a pipe would SIGPIPE it)
        deps=$(ldd "$exe")
        grep -F "libzmgr.so.0 => $lib/" <<<"$deps" >/dev/null ||
            fail "${exe#"$dest"} does not load libzmgr.so.0 from $libdir: $(grep libzmgr <<<"$deps")"
    done
fi

# ---- run the staged broker and the program ------------------------------------------
export XDG_RUNTIME_DIR=$rundir
export ZMGR_ENDPOINT=ipc://$rundir/zmgr/zmgrd.sock
unset ZMGR_WORKER ZMGR_SERVER_KEY ZMGR_CLIENT_KEY NOTIFY_SOCKET
# An empty --config file, so that a host's /etc/zmgr/zmgrd.conf stays out.
: >"$rundir/zmgrd.conf"
"$dest$sbindir/zmgrd" --workers 0 --config "$rundir/zmgrd.conf" >"$rundir/zmgrd.log" 2>&1 &
daemon_pid=$!
zmgr=$dest$bindir/zmgr
ready=0
for _ in $(seq 1 100); do
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$rundir/zmgrd.log" >&2; fail "the staged zmgrd exited at start"; }
    if "$zmgr" --timeout 0.5 ping >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.1
done
[ "$ready" = 1 ] || { cat "$rundir/zmgrd.log" >&2; fail "the staged zmgrd did not answer a ping within 10 s"; }
echo "install_test: staged zmgrd (pid $daemon_pid) answers on $ZMGR_ENDPOINT"

out=$("$client" 2>&1) || { echo "$out" >&2; cat "$rundir/zmgrd.log" >&2; fail "install_client failed"; }
[ "$out" = OK ] || { cat "$rundir/zmgrd.log" >&2; fail "install_client printed '$out', not OK"; }
[ "$("$zmgr" value get install.hits)" = 5 ] || fail "zmgr value get install.hits is not 5"
doc=$("$zmgr" dict get install.docs doc)
[ "$doc" = '{"name":"doc","n":[1,2,[3]]}' ] || fail "zmgr dict get install.docs doc printed $doc"
echo "install_test: install_client: $out"

# ---- stop it -------------------------------------------------------------------------
kill -TERM "$daemon_pid"
for _ in $(seq 1 150); do
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$daemon_pid" 2>/dev/null; then
    cat "$rundir/zmgrd.log" >&2
    fail "the staged zmgrd did not stop within 15 s of SIGTERM"
fi
set +e
wait "$daemon_pid"
rc=$?
set -e
daemon_pid=
[ "$rc" = 0 ] || { cat "$rundir/zmgrd.log" >&2; fail "the staged zmgrd exited $rc after SIGTERM, not 0"; }
echo "install_test: staged zmgrd stopped cleanly; PASS"
