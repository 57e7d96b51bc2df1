#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the memtide test-guest image:
#
#   OUTDIR/vmlinuz             Debian's kernel (linux-image-*-amd64, the
#                              package linux-image-amd64 depends on)
#   OUTDIR/initramfs.cpio.gz   busybox-static + applet links, /init, the
#                              virtio modules of THAT kernel, the workload
#   OUTDIR/kernel-version      the kernel release the image was built for
#   OUTDIR/.kernel/            the kernel package (`apt-get download`) and,
#                              in root/, the files the image takes from it
#                              (boot/vmlinuz-*, modules.builtin, the virtio
#                              modules): the package is never installed, the
#                              host's /boot and boot loader are left alone
#   OUTDIR/vmlinux-pvh         the same kernel uncompressed (ELF with a PVH
#                              entry note), when it can be extracted: QEMU
#                              boots it directly, skipping the slow XZ
#                              decompression under TCG (guest ready in ~2 s
#                              instead of ~4 s). guests.py prefers it.
#
# Usage: build-image.sh [--force] [--stamp FILE] [--depfile FILE] OUTDIR
#
#   --stamp FILE    touch FILE when the image is complete (for build systems)
#   --depfile FILE  write a Makefile-style depfile naming every input, with
#                   the stamp (or OUTDIR/initramfs.cpio.gz) as its target
#
# Idempotent: does nothing when the outputs are newer than every input (this
# script, init, workload.c, the kernel, its modules, busybox) and were built
# from the same kernel. The kernel package is downloaded once (the cache is
# kept; delete it for a newer kernel). Missing build tools (busybox-static,
# gcc, cpio...) are installed with apt-get when run as root; otherwise the
# script says what to install and fails.
#
# Exit status: 0 built or up to date; 77 this machine cannot build it (no
# apt lists to find the kernel package, the download failed, packages missing
# and not root); anything else is an error.
#
# Environment:
#   MEMTIDE_KERNEL_CACHE   where the kernel package is unpacked (default OUTDIR/.kernel)
#   MEMTIDE_GUEST_KERNEL   a kernel image to use instead, e.g. /boot/vmlinuz-RELEASE
#                          (its modules from /lib/modules/RELEASE)
#   CC                     compiler for the static workload (default gcc)
#   MEMTIDE_IMAGE_OPTIONAL=1  when this machine cannot build the image (the
#                          exit-77 cases), warn and exit 0 instead (the
#                          integration tests then skip); errors still fail
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self=$here/$(basename "${BASH_SOURCE[0]}")
force=0
stamp=
depfile=
while [ $# -gt 0 ]; do
        case "$1" in
        --force) force=1; shift ;;
        --stamp) stamp=${2:?--stamp needs a file}; shift 2 ;;
        --depfile) depfile=${2:?--depfile needs a file}; shift 2 ;;
        --) shift; break ;;
        -*) echo "$0: unknown option $1" >&2; exit 2 ;;
        *) break ;;
        esac
done
if [ $# -ne 1 ]; then
        echo "usage: $0 [--force] [--stamp FILE] [--depfile FILE] OUTDIR" >&2
        exit 2
fi
outdir=$1
CC=${CC:-gcc}

log() { echo "build-image: $*" >&2; }
die() {
        log "error: $*"
        exit 1
}
# This machine cannot build the image (no kernel, unreadable kernel, missing
# packages and not root): exit 77, or 0 with MEMTIDE_IMAGE_OPTIONAL=1.
cannot() {
        log "cannot build the image: $*"
        if [ "${MEMTIDE_IMAGE_OPTIONAL:-0}" = 1 ]; then
                log "MEMTIDE_IMAGE_OPTIONAL=1: no image built, integration tests will skip"
                # No stamp: a build system retries next time. The depfile must exist.
                [ -z "$depfile" ] || printf '%s: %s\n' "${stamp:-$outdir/initramfs.cpio.gz}" "$self" >"$depfile"
                exit 0
        fi
        exit 77
}

# The virtio modules the guest loads, in load order (tests/guest/init).
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon
         virtio_mem virtio_blk)

# --- the kernel: Debian's package, unpacked, never installed -----------------
# (into $kcache, set below once OUTDIR exists)

# The kernel package linux-image-amd64 depends on, e.g. linux-image-6.1.0-57-amd64.
kernel_package() {
        apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
                sed -n 's/^Depends: \(linux-image-[^ ,]*\).*/\1/p' | head -n 1
}

# The members of the package that the image needs: the kernel, modules.builtin
# and the modules in $modules (under any directory, maybe compressed).
kernel_members() {
        local alt
        alt=$(IFS='|'; echo "${modules[*]}")
        grep -E "^\./boot/vmlinuz-|^\./lib/modules/[^/]+/modules\.builtin\$|/($alt)\.ko(\.xz|\.zst|\.gz)?\$"
}

# Downloads the package into $kcache (once; kept for unpacking again).
download_kernel() {
        local pkg dl sandbox=()
        pkg=$(kernel_package)
        if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
                apt-get update >&2 || true
                pkg=$(kernel_package)
        fi
        [ -n "$pkg" ] || cannot "linux-image-amd64 is not in the apt lists (apt-get update)"
        [ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
        dl=$(mktemp -d "$kcache/.download.XXXXXX")
        log "downloading $pkg (not installed: unpacked into $kcache)"
        if ! (cd "$dl" && apt-get download "${sandbox[@]}" "$pkg" >&2); then
                rm -rf "$dl"
                cannot "apt-get download $pkg failed"
        fi
        mv "$dl"/*.deb "$kcache/"
        rm -rf "$dl"
}

# Unpacks what the image takes from the package into $kcache/root, again
# when the list of modules changes.
unpack_kernel() {
        local deb=$1 want
        want="$(basename "$deb") ${modules[*]}"
        [ "$(cat "$kcache/unpacked" 2>/dev/null)" != "$want" ] || return 0
        rm -rf "$kcache/root" "$kcache/unpacked"
        mkdir "$kcache/root"
        dpkg-deb --fsys-tarfile "$deb" | tar -t | kernel_members >"$kcache/members" || true
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kcache/root" -T "$kcache/members"
        echo "$want" >"$kcache/unpacked"
}

# Sets kernel (the image) and moddir (its modules).
find_kernel() {
        local deb
        if [ -n "${MEMTIDE_GUEST_KERNEL:-}" ]; then
                kernel=$MEMTIDE_GUEST_KERNEL
                moddir=/lib/modules/${kernel##*/vmlinuz-}
                return
        fi
        mkdir -p "$kcache"
        exec 8>"$kcache/.lock"
        flock 8
        deb=$(ls -1 "$kcache"/linux-image-*.deb 2>/dev/null | sort -V | tail -n 1) || true
        if [ -z "$deb" ]; then
                download_kernel
                deb=$(ls -1 "$kcache"/linux-image-*.deb | sort -V | tail -n 1)
        fi
        unpack_kernel "$deb"
        exec 8>&-
        kernel=$(ls -1 "$kcache"/root/boot/vmlinuz-* 2>/dev/null | head -n 1) || true
        [ -n "$kernel" ] || die "no kernel in $deb"
        moddir=$kcache/root/lib/modules/${kernel##*/vmlinuz-}
}

busybox_is_static() {
        local bb
        bb=$(command -v busybox 2>/dev/null) || return 1
        # A static binary has no program interpreter.
        ! LC_ALL=C readelf -l "$bb" 2>/dev/null | grep -q 'Requesting program interpreter'
}

static_libc_present() {
        local libc_a
        command -v "$CC" >/dev/null 2>&1 || return 1
        libc_a=$("$CC" -print-file-name=libc.a 2>/dev/null) || return 1
        [ -f "$libc_a" ]
}

# --- packages -----------------------------------------------------------------
missing=()
busybox_is_static || missing+=(busybox-static)
command -v gcc >/dev/null 2>&1 || [ "$CC" != gcc ] || missing+=(gcc)
static_libc_present || missing+=(libc6-dev)
command -v cpio >/dev/null 2>&1 || missing+=(cpio)
command -v gzip >/dev/null 2>&1 || missing+=(gzip)
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" -ne 0 ]; then
                cannot "missing packages: ${missing[*]} (as root: apt-get install --no-install-recommends ${missing[*]})"
        fi
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >&2
        apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

# --- inputs -------------------------------------------------------------------
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
kcache=${MEMTIDE_KERNEL_CACHE:-$outdir/.kernel}
find_kernel
[ -e "$kernel" ] || cannot "no kernel image $kernel"
[ -r "$kernel" ] || cannot "$kernel is not readable (some distributions install it mode 0600: run as root)"
kver=${kernel##*/vmlinuz-}
[ "$kver" != "$kernel" ] || die "cannot tell the kernel release from the name $kernel"
[ -d "$moddir" ] || cannot "$moddir missing (modules of kernel $kver)"
busybox=$(command -v busybox)

# Resolve each module to its file (maybe compressed) or to "builtin".
declare -A modfile
for m in "${modules[@]}"; do
        f=$(find "$moddir/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \
                -o -name "$m.ko.gz" \) 2>/dev/null | head -n 1)
        if [ -n "$f" ]; then
                modfile[$m]=$f
        elif grep -q "/$m.ko\$" "$moddir/modules.builtin" 2>/dev/null; then
                modfile[$m]=builtin
        else
                cannot "module $m is neither in $moddir nor built in"
        fi
done

inputs=("$self" "$here/init" "$here/workload.c" "$kernel" "$busybox")
for m in "${modules[@]}"; do
        [ "${modfile[$m]}" = builtin ] || inputs+=("${modfile[$m]}")
done

# --- up to date? --------------------------------------------------------------
exec 9>"$outdir/.build-image.lock"
flock 9

up_to_date() {
        local o i
        [ "$force" = 0 ] || return 1
        for o in vmlinuz initramfs.cpio.gz kernel-version kernel-source; do
                [ -e "$outdir/$o" ] || return 1
        done
        [ "$(cat "$outdir/kernel-version")" = "$kver" ] || return 1
        [ "$(cat "$outdir/kernel-source")" = "$kernel" ] || return 1
        for i in "${inputs[@]}"; do
                [ "$i" -nt "$outdir/initramfs.cpio.gz" ] && return 1
                [ "$i" -nt "$outdir/vmlinuz" ] && return 1
        done
        return 0
}
finish() {
        if [ -n "$depfile" ]; then
                { printf '%s:' "${stamp:-$outdir/initramfs.cpio.gz}"
                  printf ' \\\n %s' "${inputs[@]}"
                  printf '\n'; } >"$depfile"
        fi
        if [ -n "$stamp" ]; then
                touch "$stamp"
        fi
}

if up_to_date; then
        log "image in $outdir is up to date (kernel $kver)"
        finish
        exit 0
fi

# --- build --------------------------------------------------------------------
log "building image for kernel $kver into $outdir"
stage=$(mktemp -d "$outdir/.stage.XXXXXX")
trap 'rm -rf "$stage" "$outdir/initramfs.cpio.gz.tmp" "$outdir/vmlinuz.tmp" "$outdir/vmlinux-pvh.tmp"' EXIT

mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules/virtio}
install -m 0755 "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
        [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet"
done
install -m 0755 "$here/init" "$stage/init"

for m in "${modules[@]}"; do
        f=${modfile[$m]}
        dst=$stage/lib/modules/virtio/$m.ko
        case "$f" in
        builtin) continue ;;
        *.ko) cp "$f" "$dst" ;;
        *.ko.xz) xz -dc "$f" >"$dst" ;;
        *.ko.zst) zstd -qdc "$f" >"$dst" ;;
        *.ko.gz) gzip -dc "$f" >"$dst" ;;
        esac
done
echo "$kver" >"$stage/etc/kernel-version"

"$CC" -static -O2 -s -Wall -o "$stage/bin/workload" "$here/workload.c"

# The kernel's own built-in initramfs already has /dev/console; add it anyway
# when we can, so an early console works with any kernel configuration.
if [ "$(id -u)" -eq 0 ]; then
        mknod -m 600 "$stage/dev/console" c 5 1
        mknod -m 666 "$stage/dev/null" c 1 3
fi

find "$stage" -exec touch -h -d @0 {} +  # reproducible archive
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9 -n >"$outdir/initramfs.cpio.gz.tmp"
cp "$kernel" "$outdir/vmlinuz.tmp"
# A distribution kernel is public: readable, so that tests may run unprivileged.
chmod 0644 "$outdir/vmlinuz.tmp" "$outdir/initramfs.cpio.gz.tmp"
mv -f "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"

# Uncompressed vmlinux for PVH boot, if the bzImage payload can be unpacked
# (XZ or gzip, as Debian's are) and the ELF has the PVH entry note
# (XEN_ELFNOTE_PHYS32_ENTRY = 18). Optional: without it guests boot vmlinuz.
rm -f "$outdir/vmlinux-pvh"
if python3 - "$outdir/vmlinuz" "$outdir/vmlinux-pvh.tmp" <<'PY'
import gzip, lzma, struct, sys
data = open(sys.argv[1], "rb").read()

def pvh_note(elf):
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        ptype, _, off, _, _, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if ptype != 4:  # PT_NOTE
            continue
        pos, end = off, off + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == 18:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False

for magic, unpack in ((b"\xfd7zXZ\x00", lambda b: lzma.LZMADecompressor().decompress(b)),
                      (b"\x1f\x8b\x08", lambda b: gzip.GzipFile(fileobj=__import__("io").BytesIO(b)).read())):
    i = data.find(magic)
    while i >= 0:
        try:
            elf = unpack(data[i:])
        except Exception:
            elf = b""
        if pvh_note(elf):
            open(sys.argv[2], "wb").write(elf)
            sys.exit(0)
        i = data.find(magic, i + 1)
sys.exit(1)
PY
then
        chmod 0644 "$outdir/vmlinux-pvh.tmp"
        mv -f "$outdir/vmlinux-pvh.tmp" "$outdir/vmlinux-pvh"
        pvh_size=$(stat -c %s "$outdir/vmlinux-pvh")
else
        rm -f "$outdir/vmlinux-pvh.tmp"
        log "no PVH-bootable vmlinux could be extracted; guests will boot vmlinuz (slower under TCG)"
fi
mv -f "$outdir/initramfs.cpio.gz.tmp" "$outdir/initramfs.cpio.gz"
echo "$kver" >"$outdir/kernel-version"
echo "$kernel" >"$outdir/kernel-source"

log "done: vmlinuz $(stat -c %s "$outdir/vmlinuz") bytes," \
        "initramfs.cpio.gz $(stat -c %s "$outdir/initramfs.cpio.gz") bytes${pvh_size:+,}" \
        "${pvh_size:+vmlinux-pvh $pvh_size bytes}"
finish
