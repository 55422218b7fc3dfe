# Sourced at the start of a command on the lent GPU machine (see
# docs/BENCHMARKS.md): unpacks the Vulkan loader and the runtime libraries
# that were downloaded into .gl/ and .rt/ and points the loader at NVIDIA.
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
mkdir -p /opt/rt
for f in .rt/*.deb; do dpkg -x "$f" /opt/rt; done
export LD_LIBRARY_PATH=/opt/rt/usr/lib/x86_64-linux-gnu
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
