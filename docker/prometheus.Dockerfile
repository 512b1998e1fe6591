# Debian's own Prometheus (package prometheus) for compose.yaml's `observability` profile,
# with docker/prometheus.yml as its configuration.
FROM debian:bookworm-slim
# The TSDB directory exists in the image, owned by prometheus, so that the named volume
# compose mounts on it starts with that owner (docker copies it into an empty volume).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o prometheus -g prometheus /var/lib/prometheus/metrics2
COPY docker/prometheus.yml /etc/prometheus/prometheus.yml
USER prometheus
EXPOSE 9090
# A TCP connect to its port, with bash's /dev/tcp as compose.yaml's other checks (the slim
# base has no curl or wget).
HEALTHCHECK --interval=5s --timeout=2s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9090"]
ENTRYPOINT ["/usr/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml", \
            "--storage.tsdb.path=/var/lib/prometheus/metrics2", \
            "--web.listen-address=0.0.0.0:9090"]
