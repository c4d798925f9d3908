#!/usr/bin/env bash
# Installs everything lanevault needs to build, test and run, from Debian
# bookworm's own packages: the toolchain too, so a machine with nothing but
# git is enough. Safe to run again.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git openssl ca-certificates
  # LLVM's linker: it links a test program in about a quarter of GNU ld's
  # time, and the suite links about ninety of them twice (cmake/Linker.cmake)
  lld
  # libraries
  libopencv-dev libtesseract-dev libsodium-dev libsqlite3-dev libssl-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  # the vault's PostgreSQL store (libpq) and the server its tests start
  # (initdb and pg_ctl of PostgreSQL 15)
  libpq-dev postgresql
  # the PKCS#11 header (the token module itself is loaded at run time) and
  # SoftHSM2, the software token the token tests run against
  libp11-kit-dev softhsm2
  # the witness's HTTP (C2SP tlog-witness) and lanevaultd's client for it
  libcpp-httplib-dev
  # the alert webhook's client (src/alerts)
  libcurl4-openssl-dev
  # libjpeg-turbo itself, which the watermark's marking loop calls directly
  # (src/watermark/jpeg_codec.cc); OpenCV's headers only bring it by chance
  libjpeg62-turbo-dev
  # sd_notify for the daemons' systemd units, and systemd-analyze, which
  # the unit files' test runs
  libsystemd-dev systemd
  # both daemons' Prometheus endpoint (src/ops)
  prometheus-cpp-dev
  # clang, its runtime and its OpenMP: scripts/sanitize.sh builds its tree
  # with clang (and the contract fuzzer in it, with libFuzzer), and that
  # tree's capture library finds OpenMP
  clang libclang-rt-14-dev libomp-dev
  # data the programs and tests use: cascades, English OCR data, the fonts
  # the footage and the plate character model are rendered from, and
  # opencv-doc's sample photo that becomes the driver's face (Roboto
  # Condensed, Nimbus Sans Narrow, Bebas Neue, DIN and PT Sans Narrow are
  # the nearest to plate lettering)
  opencv-data tesseract-ocr-eng fonts-dejavu-core fonts-dejavu-extra
  fonts-liberation fonts-roboto-unhinted fonts-urw-base35 fonts-bebas-neue
  fonts-opendin fonts-paratype opencv-doc
  # the e2e scripts' helpers (a free port, the notify socket's reader)
  python3
)
# Retraining the learned plate reader (scripts/train-plate-ocr.sh) needs
# Debian's PyTorch and ONNX, a large download that neither the build
# nor the tests use (the model is committed), so only on request.
if [[ ${1:-} == --training ]]; then
  packages+=(python3-torch python3-onnx python3-opencv python3-numpy python3-pil)
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--training]" >&2
  exit 2
fi

sudo=
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing ${#missing[@]} Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Minimal images often exclude /usr/share/doc from installs (dpkg
# path-exclude); then take the one sample photo straight from the package.
face=/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg
fallback=/usr/local/share/lanevault/face.jpg
if [[ ! -s $face && ! -s $fallback ]]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download opencv-doc >/dev/null 2>&1)
  dpkg-deb --fsys-tarfile "$tmp"/opencv-doc_*.deb |
    tar -x -C "$tmp" ".$face"
  $sudo install -D -m 644 "$tmp$face" "$fallback"
  rm -rf "$tmp"
  echo "sample face photo extracted to $fallback"
fi
