#!/usr/bin/env bash
# Installs every Debian 12 package gimp-cascade needs to build, test and run.
# Idempotent and non-interactive; run as root (or through sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then
  exec sudo -E "$0" "$@"
fi
packages=(
  build-essential pkg-config meson ninja-build clang libclang-rt-14-dev
  libglib2.0-dev libjson-glib-dev libopenblas-dev libsentencepiece-dev libpng-dev
  libcmocka-dev
  glslc spirv-tools libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  librsvg2-bin ca-certificates
  libgtk-3-dev adwaita-icon-theme xvfb xauth gettext
  libgimp2.0-dev gimp
  python3-torch python3-numpy python3-pil python3-sentencepiece
)
missing=()
# npm fetches the pretrained upscalers; a machine may already have Node.js from elsewhere
# (whose nodejs package conflicts with Debian's npm), so only ask Debian when there is none.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all packages present"
