# The three workloads' build contexts. Sourced by bench/run.sh; make_contexts writes them
# under BENCH_WORK/ctx/<workload>, each with a Dockerfile.in whose @REGISTRY@ render_dockerfile
# replaces before a build (every build gets a registry of its own, on its own port).
#
# Data is base64 of /dev/urandom: it compresses to about 76 % (gzip), so neither tool can win
# by compressing zeros, and neither pays for incompressible bytes only.

# random_text BYTES FILE: BYTES bytes of base64 text (76-column lines) from /dev/urandom.
random_text() {
    head -c $(( $1 * 3 / 4 + 64 )) /dev/urandom | base64 -w 76 | head -c "$1" >"$2" || true
}

# (i) FROM busybox, 5 RUN steps, COPY of 50 files (4 KiB to 200 KiB).
make_w1() {
    local ctx=$1 i
    mkdir -p "$ctx/files"
    for i in $(seq -w 1 50); do random_text $(( 4096 * (1 + (10#$i % 50)) )) "$ctx/files/f$i.txt"; done
    cat >"$ctx/Dockerfile.in" <<EOF
FROM @REGISTRY@/busybox:latest
RUN mkdir -p /app/bin /app/etc && echo hello >/app/etc/greeting
RUN echo 'svc:x:1001:1001:svc:/home/svc:/bin/sh' >>/etc/passwd && echo 'svc:x:1001:' >>/etc/group && mkdir -p /home/svc && chown 1001:1001 /home/svc
RUN i=0; while [ \$i -lt 200 ]; do echo "line \$i" >>/app/etc/log.txt; i=\$((i+1)); done
RUN cp /bin/busybox /app/bin/tool && chmod 0755 /app/bin/tool
RUN sha256sum /app/bin/tool >/app/etc/tool.sha256 && ln -s /app/etc/greeting /etc/motd
COPY files/ /app/files/
EOF
}

# (ii) FROM bookworm: a RUN creating 2,000 files and modifying 20 of the base's, a RUN deleting
# a directory, a 20 MB COPY, and a COPY --from of an earlier stage.
make_w2() {
    local ctx=$1 i
    mkdir -p "$ctx/big"
    for i in 1 2 3 4; do random_text $(( 5 * 1024 * 1024 )) "$ctx/big/part$i.txt"; done
    cat >"$ctx/Dockerfile.in" <<EOF
FROM @REGISTRY@/bookworm:latest AS tools
RUN mkdir -p /opt/tools && for i in \$(seq 1 100); do echo "#!/bin/sh\necho tool \$i" >/opt/tools/tool\$i; done && chmod 0755 /opt/tools/*

FROM @REGISTRY@/bookworm:latest
RUN mkdir -p /srv/gen && for d in \$(seq 1 20); do mkdir /srv/gen/d\$d; for f in \$(seq 1 100); do echo "file \$d/\$f" >/srv/gen/d\$d/f\$f; done; done \\
 && for f in \$(find /usr/share/common-licenses /etc -type f | sort | head -20); do echo "# modified" >>"\$f"; done
RUN rm -rf /usr/share/doc
COPY big/ /srv/big/
COPY --from=tools /opt/tools /opt/tools
EOF
}

# (iii) FROM scratch, COPY of a 10,000-file, 200 MB context (100 directories of 100 files).
make_w3() {
    local ctx=$1 blob d
    mkdir -p "$ctx/data"
    blob="$ctx/blob"
    random_text $(( 10000 * 20972 )) "$blob"
    (cd "$ctx/data" && split -b 20972 -a 4 -d "$blob" f)
    rm -f "$blob"
    for d in $(seq -w 0 99); do
        mkdir "$ctx/data/d$d"
        mv "$ctx/data/f$d"?? "$ctx/data/d$d/"
    done
    printf 'FROM scratch\nCOPY data/ /data/\n' >"$ctx/Dockerfile.in"
}

# render_dockerfile WORKLOAD: writes its Dockerfile for the current REGISTRY.
render_dockerfile() {
    sed "s|@REGISTRY@|$REGISTRY|g" "$BENCH_WORK/ctx/$1/Dockerfile.in" >"$BENCH_WORK/ctx/$1/Dockerfile"
}

make_contexts() {
    local w
    for w in w1 w2 w3; do
        mkdir -p "$BENCH_WORK/ctx/$w"
        "make_$w" "$BENCH_WORK/ctx/$w"
    done
    say "contexts: $(du -sh "$BENCH_WORK/ctx/w1" | cut -f1) / $(du -sh "$BENCH_WORK/ctx/w2" | cut -f1) / $(du -sh "$BENCH_WORK/ctx/w3" | cut -f1), $(find "$BENCH_WORK/ctx/w3/data" -type f | wc -l) files in (iii)"
}
