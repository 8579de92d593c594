# Build: docker build -t driftwatch .
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cargo.toml names the storage bench; the manifest does not load without it.
COPY benches ./benches
COPY migrations ./migrations
# Frameworks are data compiled in by build.rs.
COPY build.rs ./
COPY frameworks ./frameworks
RUN cargo build --release --locked --bin driftwatch

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/driftwatch --create-home driftwatch
COPY --from=build /src/target/release/driftwatch /usr/local/bin/driftwatch
COPY config/driftwatch.toml /etc/driftwatch/driftwatch.toml
USER driftwatch
ENV DRIFTWATCH_CONFIG=/etc/driftwatch/driftwatch.toml
EXPOSE 9187
ENTRYPOINT ["driftwatch"]
CMD ["run"]
