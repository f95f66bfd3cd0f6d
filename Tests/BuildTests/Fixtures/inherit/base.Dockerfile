# Built by buildah (docker format, which keeps ONBUILD) and pushed as inherit-base: ENV, USER,
# WORKDIR, VOLUME, EXPOSE, LABEL, CMD and ONBUILD triggers for the child to inherit.
ARG REGISTRY
FROM ${REGISTRY}/busybox:latest
ENV BASE_ENV=from-base PATH=/opt/base/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /home/app/work /data && chown app:app /home/app/work
WORKDIR /home/app/work
USER app
VOLUME /data
EXPOSE 8080
LABEL base.label=base
STOPSIGNAL SIGINT
CMD ["sh", "-c", "echo base"]
ONBUILD RUN echo "onbuild as $(id -un) in $(pwd) with $BASE_ENV" > /home/app/work/onbuild.txt
ONBUILD ENV ONBUILD_ENV=set-by-trigger
