# Debian's own Prometheus (package prometheus) for compose.yaml's `observability` profile,
# with docker/prometheus.yml as its configuration.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/*
COPY docker/prometheus.yml /etc/prometheus/prometheus.yml
# The TSDB directory exists in the image, owned by prometheus, so that the named volume
# compose mounts on it starts with that owner (docker copies it into an empty volume).
RUN mkdir -p /var/lib/prometheus/metrics2 \
 && chown prometheus:prometheus /var/lib/prometheus/metrics2
USER prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml", \
            "--storage.tsdb.path=/var/lib/prometheus/metrics2", \
            "--web.listen-address=0.0.0.0:9090"]
