#!/usr/bin/env bash
# Sourceable helper that builds the offline test image `ergon-test/busybox:1`.
#
#   source Scripts/lib/test-image.sh
#   ergon_test_image     # builds the image when the engine does not have it yet
#
# No registry is reachable on the build machines, so the image is a busybox-static
# binary and its applet links, imported with `docker import` (TESTBED.md).

ERGON_TEST_IMAGE="${ERGON_TEST_IMAGE:-ergon-test/busybox:1}"

# Builds ERGON_TEST_IMAGE from /bin/busybox when the engine does not already have it.
ergon_test_image() {
    if docker image inspect "$ERGON_TEST_IMAGE" >/dev/null 2>&1; then
        return 0
    fi
    local busybox=/bin/busybox
    # Debian's plain busybox package is dynamically linked; only busybox-static runs alone in an image.
    if [ ! -x "$busybox" ] || ! LC_ALL=C ldd "$busybox" 2>&1 | grep -q 'not a dynamic executable'; then
        echo "ergon: installing busybox-static" >&2
        local sudo=""
        [ "$(id -u)" = "0" ] || sudo="sudo"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2 || return 1
    fi
    local dir
    dir="$(mktemp -d)" || return 1
    mkdir -p "$dir/bin" "$dir/tmp" "$dir/data" "$dir/etc"
    cp "$busybox" "$dir/bin/busybox"
    local applet
    for applet in sh echo cat sleep env ls printf seq wget true false yes head tail tr id mkdir \
        test date readlink pwd wc grep sed dd rm cp mv touch ln stat kill; do
        ln -s busybox "$dir/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
    echo 'root:x:0:' >"$dir/etc/group"
    chmod 1777 "$dir/tmp"
    local rc=0
    tar -C "$dir" -c . | docker import \
        --change 'ENV PATH=/bin' \
        --change 'CMD ["/bin/sh"]' \
        - "$ERGON_TEST_IMAGE" >/dev/null || rc=1
    rm -rf "$dir"
    if [ "$rc" -ne 0 ]; then
        echo "ergon: could not import $ERGON_TEST_IMAGE" >&2
        return 1
    fi
    echo "ergon: built $ERGON_TEST_IMAGE" >&2
}
