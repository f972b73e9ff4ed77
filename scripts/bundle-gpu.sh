#!/usr/bin/env bash
# Build .gpu/: a folder that runs the seqsch CLI on a bare Linux x86-64 GPU machine with no network and no
# Node.js installed:  bash .gpu/run.sh env --backend webgpu
# It holds this machine's Node runtime (xz), the Vulkan/GL loader .debs (Debian, unpacked on the GPU machine),
# Dawn (the `webgpu` optional dependency's native addon) and one esbuild bundle of src/cli.ts. ~30 MB; .gpu/
# is git-ignored.   usage: npm run bundle:gpu [-- OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.gpu}
dawn=node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$dawn" ] || { echo "bundle-gpu: $dawn missing (the optional 'webgpu' package did not install)" >&2; exit 1; }
mkdir -p "$out/debs" "$out/node_modules/webgpu/dist/linux-x64"

# Node runtime: the one running here, stripped
if [ ! -f "$out/node.xz" ]; then
  cp "$(readlink -f "$(command -v node)")" "$out/node"
  strip "$out/node" 2>/dev/null || true
  xz -T2 -6 -f "$out/node"
fi
# Vulkan + GL loaders as amd64 .debs, fetched through apt's own lists (no root needed for the download)
if ! ls "$out"/debs/*.deb >/dev/null 2>&1; then
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${apt[@]}" update -qq
  (cd "$out/debs" && apt-get "${apt[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>&1 | grep -v unsandboxed || true)
  rm -rf "$lists"
fi
# Dawn: the addon stays a separate file (esbuild cannot bundle a .node)
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
xz -T2 -6 -c "$dawn" > "$out/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
# The CLI as one ESM file; `require` is recreated for the CommonJS parts
node_modules/.bin/esbuild src/cli.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --ignore-annotations --log-level=warning \
  --banner:js="import { createRequire as __seqschRequire } from 'module'; const require = __seqschRequire(import.meta.url);" \
  --outfile="$out/app.mjs"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# On the GPU machine: unpack the loaders and the runtime once, point Vulkan at the NVIDIA ICD, run the CLI.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for deb in "$here"/debs/*.deb; do dpkg -x "$deb" /; done
ldconfig
[ -x "$here/node" ] || { xz -d -k "$here/node.xz"; chmod +x "$here/node"; }
addon="$here/node_modules/webgpu/dist/linux-x64"
[ -f "$addon/dawn.node" ] || xz -d -k "$addon/dawn.node.xz"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
done
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -f "$egl" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$egl; fi
exec "$here/node" "$here/app.mjs" "$@"
RUN
chmod +x "$out/run.sh"
echo "bundle-gpu: $out ready ($(du -sh "$out" | cut -f1)); carry it and run: bash $out/run.sh env --backend webgpu"
