#!/bin/sh
# scripts/deps.sh - install what zmgr needs to build, test and run, from
# Debian 12's packages. Run as root (or with sudo available).
set -eu
SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# tzdata: cron entries take a zone (zmgr cron add --tz), checked against
# the tz database, and the cron tests use New York's and Berlin's DST
# changes; Debian marks it required, but a pared-down root may lack it.
$SUDO apt-get install -y --no-install-recommends \
    build-essential cmake pkg-config \
    libzmq3-dev libmsgpack-dev libjansson-dev libcmocka-dev libinih-dev \
    libsystemd-dev libxxhash-dev iproute2 tzdata
# The fuzz targets (scripts/fuzz.sh, run by scripts/test.sh): clang and its
# libFuzzer runtime.
if [ "${ZMGR_FUZZ_DEPS:-0}" = 1 ]; then
    $SUDO apt-get install -y --no-install-recommends clang libclang-rt-14-dev
fi
# The benchmark's references (not needed to build or test):
if [ "${ZMGR_BENCH_DEPS:-0}" = 1 ]; then
    $SUDO apt-get install -y --no-install-recommends redis-server redis-tools python3 \
        gearman-job-server libgearman-dev valgrind
fi
