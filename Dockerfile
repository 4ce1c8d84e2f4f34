# Corridor: a static, non-root image. Data (keys, database) lives in /data.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/corridor ./cmd/corridor \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/corridor /corridor
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV CORRIDOR_DATA=/data CORRIDOR_LISTEN=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD ["/corridor", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/corridor"]
CMD ["serve", "--role", "edge"]
